"""``metallb-unifi:controller``: how the program reaches the UniFi controller, and over SSH the
folder where a USG's config.gateway.json lives. Without it the gateway side is render-only."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from typing import Any

from . import values as v
from .errors import Problems, key_path
from .model import (
    DATA_DIR_PRESETS,
    ControllerAccess,
    ControllerFlavor,
    GatewayKind,
    SshAccess,
)

_SITE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_MAC = re.compile(r"([0-9a-f]{2}[:-]){5}[0-9a-f]{2}")
_HOST_KEY = re.compile(r"(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,3}")
_OWNER = re.compile(r"[a-z_][a-z0-9_-]{0,31}(:[a-z_][a-z0-9_-]{0,31})?|[0-9]{1,10}(:[0-9]{1,10})?")


def parse_controller(raw: Any, problems: Problems, kind: GatewayKind | None) -> ControllerAccess | None:
    key = key_path("controller")
    data = v.mapping(
        raw,
        key,
        problems,
        required=("url",),
        optional=(
            "site",
            "flavor",
            "username",
            "password",
            "apiKey",
            "caCertificate",
            "fingerprint",
            "insecure",
            "gatewayMac",
            "provisionTimeout",
            "ssh",
        ),
    )
    if data is None:
        return None
    url = _url(data.get("url"), f"{key}.url", problems)
    site = v.string(data.get("site", "default"), f"{key}.site", problems)
    if site is not None and not _SITE.fullmatch(site):
        problems.error(f"{key}.site", f"{v.show(site)} is not a site short name (the id in the controller's URL)")
        site = None
    flavor_text = v.choice(
        data.get("flavor", "auto"), f"{key}.flavor", problems, tuple(f.value for f in ControllerFlavor)
    )
    flavor = ControllerFlavor(flavor_text) if flavor_text else None
    username = v.string(data["username"], f"{key}.username", problems) if "username" in data else None
    password = v.secret(data["password"], f"{key}.password", problems) if "password" in data else None
    api_key = v.secret(data["apiKey"], f"{key}.apiKey", problems) if "apiKey" in data else None
    credentials_ok = _check_credentials(data, key, problems, flavor)
    ca, fingerprint, insecure = _tls(data, key, problems)
    mac = _mac(data["gatewayMac"], f"{key}.gatewayMac", problems) if "gatewayMac" in data else None
    timeout = v.duration_seconds(data.get("provisionTimeout", "10m"), f"{key}.provisionTimeout", problems)
    if timeout is not None and not 30 <= timeout <= 3600:
        problems.error(f"{key}.provisionTimeout", f"{timeout}s is out of range: allowed 30s..1h")
        timeout = None
    ssh = None
    if kind is GatewayKind.UNIFI_OS and "ssh" in data:
        problems.error(f"{key}.ssh", "a UniFi OS gateway is configured through the API only; remove ssh")
    elif kind is GatewayKind.USG:
        if "ssh" not in data:
            problems.error(f"{key}.ssh", "is required for a USG: config.gateway.json can only be uploaded over SSH")
        else:
            ssh = _ssh(data["ssh"], f"{key}.ssh", problems, url)
    parsed = (url, site, flavor, timeout, insecure)
    if None in parsed or not credentials_ok or (kind is GatewayKind.USG and ssh is None):
        return None
    if any(name in data and value is None for name, value in (("gatewayMac", mac), ("caCertificate", ca))):
        return None
    if ("fingerprint" in data and fingerprint is None) or ("username" in data and username is None):
        return None
    if ("password" in data and password is None) or ("apiKey" in data and api_key is None):
        return None
    assert url and site and flavor and timeout is not None and insecure is not None
    return ControllerAccess(
        url=url,
        site=site,
        flavor=flavor,
        username=username,
        password=password,
        api_key=api_key,
        ca_certificate=ca,
        fingerprint=fingerprint,
        insecure=insecure,
        gateway_mac=mac,
        provision_timeout_s=timeout,
        ssh=ssh,
    )


def _url(raw: Any, key: str, problems: Problems) -> str | None:
    text = v.string(raw, key, problems)
    if text is None:
        return None
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.path not in ("", "/") or parts.query:
        problems.error(
            key, f"{v.show(text)} is not a controller URL like https://unifi.lan:8443 or https://192.168.1.1"
        )
        return None
    if parts.scheme == "http":
        problems.warn(key, "plain http sends the controller password unencrypted; use https")
    return f"{parts.scheme}://{parts.netloc}"


def _check_credentials(data: Mapping[str, Any], key: str, problems: Problems, flavor: ControllerFlavor | None) -> bool:
    login = "username" in data or "password" in data
    if "apiKey" in data and login:
        problems.error(f"{key}.apiKey", "give either apiKey or username and password, not both")
        return False
    if "apiKey" in data:
        if flavor is ControllerFlavor.CLASSIC:
            problems.error(f"{key}.apiKey", "API keys exist on UniFi OS consoles only (Network 9.0.108+); use a login")
            return False
        return True
    if "username" not in data or "password" not in data:
        missing = "password" if "username" in data else "username"
        problems.error(f"{key}.{missing}", "is required: give username and password, or apiKey")
        return False
    return True


def _tls(data: Mapping[str, Any], key: str, problems: Problems) -> tuple[str | None, str | None, bool | None]:
    insecure = v.boolean(data.get("insecure", False), f"{key}.insecure", problems)
    chosen = [name for name in ("caCertificate", "fingerprint") if name in data] + (["insecure"] if insecure else [])
    if len(chosen) > 1:
        problems.error(f"{key}.{chosen[1]}", f"choose one way to trust the controller, not {' and '.join(chosen)}")
    if insecure:
        problems.warn(
            f"{key}.insecure",
            "TLS verification is off: anyone on the path can read the controller password; "
            "prefer caCertificate or fingerprint",
        )
    ca = None
    if "caCertificate" in data:
        ca = v.string(data["caCertificate"], f"{key}.caCertificate", problems)
        if ca is not None and "-----BEGIN CERTIFICATE-----" not in ca:
            problems.error(f"{key}.caCertificate", "must be the PEM text of the CA certificate (not a file path)")
            ca = None
    fingerprint = None
    if "fingerprint" in data:
        text = data["fingerprint"]
        digits = text.replace(":", "").strip().lower() if isinstance(text, str) else ""
        if re.fullmatch(r"[0-9a-f]{64}", digits):
            fingerprint = digits
        else:
            problems.error(
                f"{key}.fingerprint",
                f"{v.show(text)} is not a SHA-256 certificate fingerprint (64 hex digits, colons allowed)",
            )
    return ca, fingerprint, insecure


def _mac(raw: Any, key: str, problems: Problems) -> str | None:
    text = raw.strip().lower() if isinstance(raw, str) else ""
    if not _MAC.fullmatch(text):
        problems.error(key, f"{v.show(raw)} is not a MAC address like aa:bb:cc:dd:ee:ff")
        return None
    return text.replace("-", ":")


def _ssh(raw: Any, key: str, problems: Problems, url: str | None) -> SshAccess | None:
    data = v.mapping(
        raw,
        key,
        problems,
        required=("user", "privateKey", "hostKey", "dataDir"),
        optional=("host", "port", "sudo", "hostDataDir", "owner"),
    )
    if data is None:
        return None
    default_host = urllib.parse.urlsplit(url).hostname if url else None
    host = v.string(data.get("host", default_host or ""), f"{key}.host", problems)
    port = v.integer(data.get("port", 22), f"{key}.port", problems, 1, 65535)
    user = v.string(data["user"], f"{key}.user", problems) if data.get("user") is not None else None
    private_key = v.secret(data["privateKey"], f"{key}.privateKey", problems) if data.get("privateKey") else None
    if private_key is not None and private_key.value is not None and "PRIVATE KEY-----" not in private_key.value:
        problems.error(f"{key}.privateKey", "must be the text of a private key (-----BEGIN ... PRIVATE KEY-----)")
        private_key = None
    host_key = data.get("hostKey")
    if isinstance(host_key, str) and host_key.strip().startswith("ssh-rsa "):
        # pulumi-command offers only the pinned key's own type, here SHA-1 "ssh-rsa", which
        # OpenSSH >= 8.8 refuses (pulumi/pulumi-command@v1.2.1:provider/pkg/provider/remote/
        # connection.go: HostKeyAlgorithms = []string{publicKey.Type()}).
        problems.error(
            f"{key}.hostKey",
            "an ssh-rsa host key cannot be used: the SSH client of pulumi-command would offer only SHA-1 RSA "
            "signatures for it, which OpenSSH 8.8 and later refuse. Give the controller's ed25519 or ECDSA key: "
            "`ssh-keyscan -t ed25519 HOST` (or `-t ecdsa`), without the host name: 'ssh-ed25519 AAAA...'",
        )
        host_key = None
    elif host_key is not None and not (isinstance(host_key, str) and _HOST_KEY.fullmatch(host_key.strip())):
        problems.error(
            f"{key}.hostKey",
            "must be the controller's SSH host key, e.g. the output of `ssh-keyscan -t ed25519 HOST` without the "
            "host name: 'ssh-ed25519 AAAA...'",
        )
        host_key = None
    sudo = v.boolean(data.get("sudo", user not in (None, "root")), f"{key}.sudo", problems)
    data_dir, owner = _data_dir(data, key, problems)
    if None in (host, port, user, private_key, host_key, sudo, data_dir, owner):
        return None
    assert host and port and user and private_key and isinstance(host_key, str) and sudo is not None
    assert data_dir and owner
    return SshAccess(
        host=host,
        port=port,
        user=user,
        private_key=private_key,
        host_key=host_key.strip(),
        sudo=sudo,
        data_dir=data_dir,
        owner=owner,
    )


def _data_dir(data: Mapping[str, Any], key: str, problems: Problems) -> tuple[str | None, str | None]:
    text = v.string(data.get("dataDir"), f"{key}.dataDir", problems) if data.get("dataDir") is not None else None
    owner = v.string(data["owner"], f"{key}.owner", problems) if "owner" in data else None
    if owner is not None and not _OWNER.fullmatch(owner):
        problems.error(f"{key}.owner", f"{v.show(owner)} is not user[:group] or uid[:gid]")
        return None, None
    if text is None:
        return None, None
    preset = DATA_DIR_PRESETS.get(text)
    if preset is None:
        if not text.startswith("/"):
            problems.error(
                f"{key}.dataDir",
                f"{v.show(text)} is neither a preset ({', '.join(DATA_DIR_PRESETS)}) nor an absolute path",
            )
            return None, None
        if owner is None:
            problems.error(f"{key}.owner", "is required with a custom dataDir: the user the controller runs as")
        return text.rstrip("/"), owner
    data_dir = preset.data_dir
    if data_dir is None:  # a Docker image: SSH lands on the host, outside the container
        mount = data.get("hostDataDir")
        if not isinstance(mount, str) or not mount.startswith("/"):
            problems.error(
                f"{key}.hostDataDir",
                f"is required with dataDir {text}: the absolute host path bind-mounted into the container",
            )
            return None, None
        data_dir = f"{mount.rstrip('/')}/{preset.mount_subdir}"
    elif "hostDataDir" in data:
        problems.error(f"{key}.hostDataDir", f"only applies to Docker presets, not {text}")
    owner = owner or preset.owner
    if owner is None:
        problems.error(f"{key}.owner", f"is required with dataDir {text}: the numeric uid[:gid] the image runs as")
    return data_dir, owner
