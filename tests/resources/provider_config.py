"""The Kubernetes provider's own reading of its ``kubeconfig`` input and its DiffConfig, so tests
can tell what a change of that input does to a deployed stack.

Rules, from pulumi/pulumi-kubernetes@v4.32.0 (the SDK we pin is 4.34.2; v4.32.0 is the newest tag
mirrored), loading by kubernetes/client-go@v0.36.1 (the version that tag's provider/go.mod pins):
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
