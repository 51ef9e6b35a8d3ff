"""The Kubernetes provider's own reading of its ``kubeconfig`` input and its DiffConfig, so tests
can tell what a change of that input does to a deployed stack.

Rules, from pulumi/pulumi-kubernetes@v4.32.0 (the version requirements.txt pins, so the plugin
that runs: tests/test_plugin_versions.py), loading by kubernetes/client-go@v0.36.1 (the version
that tag's provider/go.mod pins):
- ``provider/pkg/provider/util.go`` parseKubeconfigString: "" is an empty config; "~" and "~/"
  are expanded; a string naming an existing file is that file's contents, anything else is taken
  as the contents; either is decoded by ``clientcmd.Load`` (YAML or JSON), which resolves no
  relative path (``tools/clientcmd/loader.go``: only LoadFromFile sets LocationOfOrigin).
- ``provider/pkg/provider/provider.go`` DiffConfig: no change → DIFF_NONE before any parsing; a
  kubeconfig that fails to parse fails the diff (so the `up`); replacement only when both the old
  and the new active cluster are found (getActiveClusterFromConfig in util.go: current-context,
  overridden by ``context``) and differ, and then of the changed keys among kubeconfig, context,
  cluster; every other change is an update of the provider.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.kubernetes.kubeconfig import expand_home


class ParseError(Exception):
    """clientcmd.Load rejected the value: the provider's DiffConfig returns an error."""


def load_kubeconfig_input(value: str | None) -> dict[str, Any]:
    """parseKubeconfigPropertyValue: the provider's view of its ``kubeconfig`` input."""
    if not value:
        return {}
    path = expand_home(value)
    text = Path(path).read_text(encoding="utf-8") if os.path.exists(path) else value
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ParseError(str(exc)) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):  # e.g. "a.yaml:b.yaml", a YAML string, not a Config
        raise ParseError(f"cannot decode {type(data).__name__} into a Config")
    return data


def _normalised(cluster: dict[str, Any]) -> dict[str, Any]:
    # Decoded into a Go struct: an absent field and its zero value are the same (reflect.DeepEqual).
    return {key: value for key, value in cluster.items() if value not in (None, "", False, [], {})}


def active_cluster(config: dict[str, Any], context: str | None, cluster: str | None = None) -> dict[str, Any] | None:
    """getActiveClusterFromConfig; None when not found. ``cluster`` (the provider's input) names
    the cluster in place of the context's, once the context is found."""
    name = context or config.get("current-context")
    contexts = {entry["name"]: entry.get("context") or {} for entry in config.get("contexts") or []}
    clusters = {entry["name"]: entry.get("cluster") or {} for entry in config.get("clusters") or []}
    if not clusters or name not in contexts:
        return None
    chosen = cluster if cluster is not None else contexts[name].get("cluster")
    if chosen not in clusters:
        return None
    return _normalised(clusters[chosen])


@dataclass(frozen=True)
class ConfigDiff:
    changed: tuple[str, ...]
    replaces: tuple[str, ...]


def diff_config(
    old_kubeconfig: str | None,
    new_kubeconfig: str | None,
    old_context: str | None,
    new_context: str | None,
    *,
    old_cluster: str | None = None,
    new_cluster: str | None = None,
) -> ConfigDiff:
    """DiffConfig's kubeconfig, context and cluster rule: the changed ones among them replace when
    the old and the new active cluster are both found and differ."""
    changed = tuple(
        key
        for key, old, new in (
            ("kubeconfig", old_kubeconfig, new_kubeconfig),
            ("context", old_context, new_context),
            ("cluster", old_cluster, new_cluster),
        )
        if old != new
    )
    if not changed:
        return ConfigDiff((), ())
    old_active = active_cluster(load_kubeconfig_input(old_kubeconfig), old_context, old_cluster)
    new_active = active_cluster(load_kubeconfig_input(new_kubeconfig), new_context, new_cluster)
    if old_active is not None and new_active is not None and old_active != new_active:
        return ConfigDiff(changed, changed)
    return ConfigDiff(changed, ())


# The provider's boolean settings an environment variable can switch, with their default
# (pulumi/pulumi-kubernetes@v4.32.0:provider/pkg/provider/provider.go Configure). The SDK reads the
# same variables for an argument left None (sdk/python/pulumi_kubernetes/provider.py
# Provider._internal_init, _utilities.get_env_bool: "1", "t", "true", "True", "TRUE" → true,
# "0", "f", "false", … → false, anything else → unset); the provider compares with "true" only.
ENV_SETTINGS: dict[str, tuple[str, bool]] = {
    "enableServerSideApply": ("PULUMI_K8S_ENABLE_SERVER_SIDE_APPLY", True),
    "upsertExistingObjects": ("PULUMI_K8S_UPSERT_EXISTING_OBJECTS", False),
    "enablePatchForce": ("PULUMI_K8S_ENABLE_PATCH_FORCE", False),
    "enableConfigMapMutable": ("PULUMI_K8S_ENABLE_CONFIGMAP_MUTABLE", False),
    "enableSecretMutable": ("PULUMI_K8S_ENABLE_SECRET_MUTABLE", False),
    "deleteUnreachable": ("PULUMI_K8S_DELETE_UNREACHABLE", False),
    "skipUpdateUnreachable": ("PULUMI_K8S_SKIP_UPDATE_UNREACHABLE", False),
    "suppressDeprecationWarnings": ("PULUMI_K8S_SUPPRESS_DEPRECATION_WARNINGS", False),
    "suppressHelmHookWarnings": ("PULUMI_K8S_SUPPRESS_HELM_HOOK_WARNINGS", False),
}


def configured(inputs: dict[str, Any], key: str, environ: dict[str, str]) -> bool:
    """Configure's closure for ``key``: a value the provider was given wins (``== "true"``); an
    unset one falls back to the variable (``== "true"``), then to the default. ``inputs`` are the
    provider resource's plain inputs; the engine hands the set ones to Configure as
    ``kubernetes:config:<key>``."""
    variable, default = ENV_SETTINGS[key]
    value = inputs.get(key)
    if value is not None:
        return str(value) == "true"
    if variable in environ:
        return environ[variable] == "true"
    return default
