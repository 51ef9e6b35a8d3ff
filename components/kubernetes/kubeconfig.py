"""The one kubeconfig that the Kubernetes provider and the webhook gate both read.

Why: the SDK hands ``$KUBECONFIG`` to the provider as it is (``kubeconfig`` defaults to the
variable, pulumi/pulumi-kubernetes@v4.32.0:sdk/python/pulumi_kubernetes/provider.py), and the
provider takes a non-empty value as one path or as the contents themselves, loaded with
``clientcmd.Load``: a list ``a:b`` is parsed as YAML and fails, and relative paths in a file
given by path are not resolved against it
(pulumi/pulumi-kubernetes@v4.32.0:provider/pkg/provider/util.go ``parseKubeconfigString``; the
SDK and so the plugin are pinned at that version). So the program resolves the kubeconfig
itself, the way client-go's loading rules do (kubernetes/client-go@v0.36.1:tools/clientcmd/
loader.go, the client-go that provider tag pins), cuts it down to the one context used, and
gives the provider that as contents (a secret); the gate resolves the same files with the same
function. Pure: stdlib and PyYAML only, no Pulumi, no Kubernetes client.
"""

from __future__ import annotations

import json
import os
import pwd
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from components.config.model import KubernetesAccess

KUBECONFIG_ENV = "KUBECONFIG"

# client-go GetClusterFileReferences / GetAuthInfoFileReferences: the fields holding paths that
# are resolved against the directory of the file the entry came from (loader.go ResolveLocalPaths).
CLUSTER_PATH_FIELDS = ("certificate-authority",)
USER_PATH_FIELDS = ("client-certificate", "client-key", "tokenFile")


class KubeconfigError(Exception):
    """The kubeconfig cannot be read or does not name a usable context."""


@dataclass(frozen=True)
class ProviderKubeconfig:
    """Exactly what ``k8s.Provider`` gets: ``kubeconfig`` (to be wrapped as a secret) and ``context``.

    ``kubeconfig`` is a one-context kubeconfig as JSON with absolute paths, or "" when no
    kubeconfig file exists: the provider then uses client-go's own loading rules (in-cluster
    configuration inside a pod). "" and not None: None makes the SDK send ``$KUBECONFIG``.
    """

    kubeconfig: str = field(repr=False)
    context: str | None


@dataclass(frozen=True)
class Resolved:
    """One context's kubeconfig, as client-go would load it; ``files`` are the files read."""

    config: dict[str, Any] = field(repr=False)
    context: str
    files: tuple[str, ...]


def _home_of_user() -> str:
    # The provider expands "~" with Go's user.Current().HomeDir, the passwd entry, not $HOME.
    return pwd.getpwuid(os.getuid()).pw_dir


def expand_home(path: str) -> str:
    """Only ``~`` and ``~/…``, as the provider's parseKubeconfigString does (util.go)."""
    if path == "~":
        return _home_of_user()
    if path.startswith("~/"):
        return os.path.join(_home_of_user(), path[2:])
    return path


def kubeconfig_files(explicit: str | None, environ: Mapping[str, str]) -> tuple[list[str], bool]:
    """The files to read and whether they were asked for explicitly.

    client-go: an explicit file alone; else every entry of ``$KUBECONFIG`` (filepath.SplitList,
    duplicates dropped, no "~" expansion); else ``$HOME/.kube/config`` (loader.go
    NewDefaultClientConfigLoadingRules, RecommendedHomeFile).
    """
    if explicit:
        return [expand_home(explicit)], True
    listed = environ.get(KUBECONFIG_ENV, "")
    if listed:
        return list(dict.fromkeys(part for part in listed.split(os.pathsep) if part)), False
    return [os.path.join(environ.get("HOME", ""), ".kube", "config")], False


@dataclass
class _Merged:
    current_context: str = ""
    contexts: dict[str, dict[str, Any]] = field(default_factory=dict)
    clusters: dict[str, tuple[dict[str, Any], str]] = field(default_factory=dict)  # entry, origin file
    users: dict[str, tuple[dict[str, Any], str]] = field(default_factory=dict)


def _entries(data: Mapping[str, Any], section: str, key: str, path: str) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for entry in data.get(section) or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"]:
            raise KubeconfigError(f"kubeconfig {path}: every entry of {section} needs a name")
        body = entry.get(key) or {}
        if not isinstance(body, dict):
            raise KubeconfigError(f"kubeconfig {path}: {section} entry {entry['name']!r} is not a mapping")
        found.append((entry["name"], body))
    return found


def _merge(files: Sequence[str], explicit: bool) -> tuple[_Merged, list[str]]:
    """client-go ClientConfigLoadingRules.Load: missing files skipped (not an explicit one), an
    empty file is an empty config, the first file naming an entry wins it whole, and the first
    non-empty current-context wins."""
    merged = _Merged()
    read: list[str] = []
    for path in files:
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except FileNotFoundError:
            if explicit:
                raise KubeconfigError(f"kubeconfig {path} does not exist") from None
            continue
        except OSError as exc:
            raise KubeconfigError(f"cannot read kubeconfig {path}: {exc.strerror}") from exc
        read.append(path)
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise KubeconfigError(f"kubeconfig {path} is not valid YAML") from exc
        if not isinstance(data, dict):
            raise KubeconfigError(f"kubeconfig {path} is not a mapping")
        if not merged.current_context and isinstance(data.get("current-context"), str):
            merged.current_context = data["current-context"]
        for name, body in _entries(data, "contexts", "context", path):
            merged.contexts.setdefault(name, body)
        for name, body in _entries(data, "clusters", "cluster", path):
            merged.clusters.setdefault(name, (body, path))
        for name, body in _entries(data, "users", "user", path):
            merged.users.setdefault(name, (body, path))
    return merged, read


def _resolve(body: Mapping[str, Any], keys: Sequence[str], origin: str) -> dict[str, Any]:
    """loader.go ResolvePaths: a non-empty relative path joined to the origin file's absolute directory."""
    base = os.path.abspath(os.path.dirname(origin))
    resolved = dict(body)
    for key in keys:
        value = resolved.get(key)
        if isinstance(value, str) and value and not os.path.isabs(value):
            resolved[key] = os.path.normpath(os.path.join(base, value))
    return resolved


def _resolve_user(body: Mapping[str, Any], origin: str) -> dict[str, Any]:
    user = _resolve(body, USER_PATH_FIELDS, origin)
    exec_spec = user.get("exec")
    # Only an exec command with a path separator is resolved; a bare name is looked up in $PATH.
    if isinstance(exec_spec, dict) and isinstance(exec_spec.get("command"), str) and os.sep in exec_spec["command"]:
        user["exec"] = _resolve(exec_spec, ("command",), origin)
    return user


def resolve_kubeconfig(explicit: str | None, context: str | None, environ: Mapping[str, str]) -> Resolved | None:
    """The context ``context`` (default: current-context) with its cluster and user, paths made
    absolute; None when no kubeconfig file exists or all are empty (and none was named explicitly)."""
    files, explicit_file = kubeconfig_files(explicit, environ)
    merged, read = _merge(files, explicit_file)
    empty = not (merged.current_context or merged.contexts or merged.clusters or merged.users)
    if not read or (empty and not context):
        return None  # client-go then tries the in-cluster configuration
    where = os.pathsep.join(read)
    name = context or merged.current_context
    if not name:
        raise KubeconfigError(f"the kubeconfig ({where}) has no current-context: set kubernetes.context")
    if name not in merged.contexts:
        raise KubeconfigError(f"context {name!r} is not in the kubeconfig ({where})")
    ctx = merged.contexts[name]
    cluster_name, user_name = ctx.get("cluster"), ctx.get("user")
    if not isinstance(cluster_name, str) or cluster_name not in merged.clusters:
        raise KubeconfigError(f"context {name!r} names cluster {cluster_name!r}, which the kubeconfig lacks")
    cluster, cluster_origin = merged.clusters[cluster_name]
    if not isinstance(cluster.get("server"), str) or not cluster["server"]:
        raise KubeconfigError(f"cluster {cluster_name!r} has no server")  # client-go: ErrEmptyCluster
    config: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": name,
        "contexts": [{"name": name, "context": ctx}],
        "clusters": [{"name": cluster_name, "cluster": _resolve(cluster, CLUSTER_PATH_FIELDS, cluster_origin)}],
        "users": [],
    }
    if user_name:
        # client-go validation: a context naming a user the kubeconfig lacks is invalid.
        if not isinstance(user_name, str) or user_name not in merged.users:
            raise KubeconfigError(f"context {name!r} names user {user_name!r}, which the kubeconfig lacks")
        user, user_origin = merged.users[user_name]
        config["users"] = [{"name": user_name, "user": _resolve_user(user, user_origin)}]
    return Resolved(config, name, tuple(read))


def provider_kubeconfig(access: KubernetesAccess, environ: Mapping[str, str]) -> ProviderKubeconfig:
    """What the program passes to ``k8s.Provider``: the resolved one-context kubeconfig as
    deterministic JSON, and the configured context unchanged (no diff for deployed stacks).

    The provider replaces itself only when the active cluster entry (server, CA, TLS settings)
    differs between the old and the new kubeconfig (provider.go DiffConfig); new credentials are
    an update, and edits outside the context in use do not change this value at all.
    """
    resolved = resolve_kubeconfig(access.kubeconfig, access.context, environ)
    if resolved is None:
        return ProviderKubeconfig("", access.context)
    return ProviderKubeconfig(json.dumps(resolved.config, sort_keys=True, separators=(",", ":")), access.context)
