"""Reading a kubeconfig the way kubectl does, for the commands the program runs itself (the
webhook readiness gate): server, CA, client certificate or token, exec credential plugins.

Secret material from ``*-data`` fields and plugins is written to a private temporary
directory (0700, files 0600) that is removed afterwards; tokens never appear in repr().
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

EXEC_PLUGIN_TIMEOUT = 60.0
_STDERR_LIMIT = 500


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _STDERR_LIMIT else text[: _STDERR_LIMIT - 1] + "…"


class InputError(Exception):
    """Bad stdin, arguments or kubeconfig: exit 2."""


@dataclass(frozen=True)
class ApiAccess:
    """How to reach the API server. The token is kept out of repr()."""

    server: str
    token: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    insecure: bool = False


def kubeconfig_paths(explicit: str | None, environ: Mapping[str, str]) -> list[Path]:
    """``--kubeconfig``, else every file of ``$KUBECONFIG`` (os.pathsep-separated), else ~/.kube/config."""
    if explicit:
        return [Path(explicit).expanduser()]
    listed = [Path(part).expanduser() for part in environ.get("KUBECONFIG", "").split(os.pathsep) if part]
    if listed:
        return listed
    return [Path(environ.get("HOME") or Path.home()) / ".kube" / "config"]


@dataclass
class _Kubeconfig:
    current_context: str | None = None
    contexts: dict[str, dict[str, Any]] = field(default_factory=dict)
    clusters: dict[str, tuple[dict[str, Any], Path]] = field(default_factory=dict)
    users: dict[str, tuple[dict[str, Any], Path]] = field(default_factory=dict)


def _entries(data: Mapping[str, Any], section: str, key: str, path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    for entry in data.get(section) or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise InputError(f"kubeconfig {path}: every entry of {section} needs a name")
        body = entry.get(key) or {}
        if not isinstance(body, dict):
            raise InputError(f"kubeconfig {path}: {section} entry {entry['name']!r} is not a mapping")
        yield entry["name"], body


def _read_kubeconfigs(paths: Sequence[Path]) -> _Kubeconfig:
    """Merge like kubectl: the first file that names an entry (or current-context) wins."""
    merged = _Kubeconfig()
    found = False
    for path in paths:
        try:
            text = path.read_text()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise InputError(f"cannot read kubeconfig {path}: {exc.strerror}") from exc
        found = True
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise InputError(f"kubeconfig {path} is not valid YAML") from exc
        if not isinstance(data, dict):
            raise InputError(f"kubeconfig {path} is not a mapping")
        base = path.resolve().parent
        if merged.current_context is None and data.get("current-context"):
            merged.current_context = str(data["current-context"])
        for entry_name, body in _entries(data, "contexts", "context", path):
            merged.contexts.setdefault(entry_name, body)
        for entry_name, body in _entries(data, "clusters", "cluster", path):
            merged.clusters.setdefault(entry_name, (body, base))
        for entry_name, body in _entries(data, "users", "user", path):
            merged.users.setdefault(entry_name, (body, base))
    if not found:
        raise InputError(f"no kubeconfig found at {os.pathsep.join(map(str, paths))}")
    return merged


def _write_private(directory: Path, name: str, data: bytes) -> str:
    path = directory / name
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    return str(path)


def _file_or_data(entry: Mapping[str, Any], key: str, base: Path, secret_dir: Path, what: str) -> str | None:
    """``key`` (a path, relative to the kubeconfig's directory) or ``key-data`` (base64) → a file path."""
    data = entry.get(f"{key}-data")
    if data:
        try:
            decoded = base64.b64decode(str(data), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InputError(f"kubeconfig {what} {key}-data is not valid base64") from exc
        return _write_private(secret_dir, key, decoded)
    path = entry.get(key)
    if path:
        resolved = base / Path(str(path)).expanduser()
        if not resolved.is_file():
            raise InputError(f"kubeconfig {what} {key} {resolved} does not exist")
        return str(resolved)
    return None


def _run_exec_plugin(spec: Mapping[str, Any], base: Path, environ: Mapping[str, str]) -> dict[str, Any]:
    """Run a client-go credential plugin (``users[].user.exec``); its ExecCredential status."""
    command = spec.get("command")
    if not isinstance(command, str) or not command:
        raise InputError("kubeconfig user exec needs a command")
    if os.sep in command and not os.path.isabs(command):
        command = str(base / command)  # like client-go: relative to the kubeconfig's directory
    env = dict(environ)
    for item in spec.get("env") or []:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            env[item["name"]] = str(item.get("value", ""))
    api_version = str(spec.get("apiVersion") or "client.authentication.k8s.io/v1")
    exec_info = {"apiVersion": api_version, "kind": "ExecCredential", "spec": {"interactive": False}}
    env["KUBERNETES_EXEC_INFO"] = json.dumps(exec_info)
    args = [str(arg) for arg in spec.get("args") or []]
    try:
        done = subprocess.run(
            [command, *args],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=EXEC_PLUGIN_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InputError(f"kubeconfig credential plugin {command} could not run: {type(exc).__name__}") from exc
    if done.returncode != 0:
        # stderr is the plugin's own diagnostics; stdout may hold a credential, so it is not shown.
        raise InputError(f"kubeconfig credential plugin {command} exited {done.returncode}: {_shorten(done.stderr)}")
    try:
        status = json.loads(done.stdout).get("status")
    except (ValueError, AttributeError):
        status = None
    if not isinstance(status, dict):
        raise InputError(f"kubeconfig credential plugin {command} printed no ExecCredential status")
    return status


def parse_kubeconfig(
    paths: Sequence[Path],
    context: str | None,
    secret_dir: Path,
    environ: Mapping[str, str] = os.environ,
) -> ApiAccess:
    """The server, CA, client certificate and token of ``context`` (default: current-context).

    ``*-data`` fields are decoded into 0600 files in ``secret_dir``, which the caller removes.
    """
    config = _read_kubeconfigs(paths)
    name = context or config.current_context
    if not name:
        raise InputError("the kubeconfig has no current-context; pass --context")
    if name not in config.contexts:
        raise InputError(f"context {name!r} is not in the kubeconfig")
    ctx = config.contexts[name]
    cluster_name, user_name = ctx.get("cluster"), ctx.get("user")
    if cluster_name not in config.clusters:
        raise InputError(f"context {name!r} names cluster {cluster_name!r}, which the kubeconfig lacks")
    cluster, cluster_base = config.clusters[cluster_name]
    server = cluster.get("server")
    if not isinstance(server, str) or not server:
        raise InputError(f"cluster {cluster_name!r} has no server")
    for unsupported in ("proxy-url", "tls-server-name"):
        if cluster.get(unsupported):
            raise InputError(f"cluster {cluster_name!r} uses {unsupported}, which this gate does not support")
    what = f"cluster {cluster_name!r}"
    ca_file = _file_or_data(cluster, "certificate-authority", cluster_base, secret_dir, what)
    insecure = bool(cluster.get("insecure-skip-tls-verify"))

    token: str | None = None
    cert_file = key_file = None
    if user_name is not None:
        if user_name not in config.users:
            raise InputError(f"context {name!r} names user {user_name!r}, which the kubeconfig lacks")
        user, user_base = config.users[user_name]
        what = f"user {user_name!r}"
        if user.get("auth-provider") or user.get("username"):
            raise InputError(f"{what} uses auth-provider or basic auth, which this gate does not support")
        cert_file = _file_or_data(user, "client-certificate", user_base, secret_dir, what)
        key_file = _file_or_data(user, "client-key", user_base, secret_dir, what)
        if user.get("token"):
            token = str(user["token"])
        elif user.get("tokenFile"):
            token_path = user_base / Path(str(user["tokenFile"])).expanduser()
            try:
                token = token_path.read_text().strip()
            except OSError as exc:
                raise InputError(f"{what} tokenFile {token_path} cannot be read: {exc.strerror}") from exc
        elif isinstance(user.get("exec"), dict):
            status = _run_exec_plugin(user["exec"], user_base, environ)
            if status.get("token"):
                token = str(status["token"])
            elif status.get("clientCertificateData") and status.get("clientKeyData"):
                cert_file = _write_private(
                    secret_dir, "exec-client-certificate", str(status["clientCertificateData"]).encode()
                )
                key_file = _write_private(secret_dir, "exec-client-key", str(status["clientKeyData"]).encode())
            else:
                raise InputError(f"{what} credential plugin returned neither a token nor a client certificate")
        if bool(cert_file) != bool(key_file):
            raise InputError(f"{what} needs both a client certificate and a client key")
    return ApiAccess(server, token=token, ca_file=ca_file, cert_file=cert_file, key_file=key_file, insecure=insecure)


@contextlib.contextmanager
def kubeconfig_access(
    paths: Sequence[Path], context: str | None = None, environ: Mapping[str, str] = os.environ
) -> Iterator[ApiAccess]:
    """:func:`parse_kubeconfig` with a private temp dir (0700) that is removed afterwards."""
    secret_dir = Path(tempfile.mkdtemp(prefix="webhook-gate-"))
    try:
        yield parse_kubeconfig(paths, context, secret_dir, environ)
    finally:
        shutil.rmtree(secret_dir, ignore_errors=True)
