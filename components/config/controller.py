"""``metallb-unifi:controller``: how the program reaches the UniFi controller, and over SSH the
folder where a USG's config.gateway.json lives. Without it the gateway side is render-only."""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from .errors import Problems, key_path
from .fields import LEFT_OUT, Field, Reading, Rule, Section, between, member_of, seconds_between
from .model import (
    DATA_DIR_PRESETS,
    ControllerAccess,
    ControllerFlavor,
    GatewayKind,
    Secret,
    SshAccess,
)
from .values import boolean, secret, show, string

_SITE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_MAC = re.compile(r"([0-9a-f]{2}[:-]){5}[0-9a-f]{2}")
_HOST_KEY = re.compile(r"(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,3}")
_OWNER = re.compile(r"[a-z_][a-z0-9_-]{0,31}(:[a-z_][a-z0-9_-]{0,31})?|[0-9]{1,10}(:[0-9]{1,10})?")


def parse_controller(raw: Any, problems: Problems, kind: GatewayKind | None) -> ControllerAccess | None:
    return _CONTROLLER.read(raw, key_path("controller"), problems, context=kind)


# --- ssh ------------------------------------------------------------------------------------------


def _default_host(r: Reading) -> str:
    """The controller URL's host; the context is that URL (None when it is unusable)."""
    url = r.context
    return (urllib.parse.urlsplit(url).hostname if url else None) or ""


def private_key(raw: Any, key: str, problems: Problems) -> Secret | None:
    """A secret holding the text of a private key (PEM or OpenSSH format; unknown when encrypted)."""
    given = secret(raw, key, problems)  # an empty or non-string value is refused there
    if given is not None and given.value is not None and "PRIVATE KEY-----" not in given.value:
        problems.error(key, "must be the text of a private key (-----BEGIN ... PRIVATE KEY-----)")
        return None
    return given


def _host_key(raw: Any, key: str, problems: Problems) -> str | None:
    if isinstance(raw, str) and raw.strip().startswith("ssh-rsa "):
        # pulumi-command offers only the pinned key's own type, here SHA-1 "ssh-rsa", which
        # OpenSSH >= 8.8 refuses (pulumi/pulumi-command@v1.2.1:provider/pkg/provider/remote/
        # connection.go: HostKeyAlgorithms = []string{publicKey.Type()}).
        problems.error(
            key,
            "an ssh-rsa host key cannot be used: the SSH client of pulumi-command would offer only SHA-1 RSA "
            "signatures for it, which OpenSSH 8.8 and later refuse. Give the controller's ed25519 or ECDSA key: "
            "`ssh-keyscan -t ed25519 HOST` (or `-t ecdsa`), without the host name: 'ssh-ed25519 AAAA...'",
        )
        return None
    if not (isinstance(raw, str) and _HOST_KEY.fullmatch(raw.strip())):
        problems.error(
            key,
            "must be the controller's SSH host key, e.g. the output of `ssh-keyscan -t ed25519 HOST` without the "
            "host name: 'ssh-ed25519 AAAA...'",
        )
        return None
    return raw.strip()


def _data_dir(r: Reading) -> bool:
    """``dataDir`` (a preset or an absolute path), ``owner`` and ``hostDataDir``, read together."""
    data, key, problems = r.data, r.key, r.problems
    text = string(data["dataDir"], f"{key}.dataDir", problems) if data.get("dataDir") is not None else None
    owner = string(data["owner"], f"{key}.owner", problems) if "owner" in data else None
    if owner is not None and not _OWNER.fullmatch(owner):
        problems.error(f"{key}.owner", f"{show(owner)} is not user[:group] or uid[:gid]")
        return False
    if text is None:
        return False
    preset = DATA_DIR_PRESETS.get(text)
    if preset is None:
        if not text.startswith("/"):
            problems.error(
                f"{key}.dataDir",
                f"{show(text)} is neither a preset ({', '.join(DATA_DIR_PRESETS)}) nor an absolute path",
            )
            return False
        if owner is None:
            problems.error(f"{key}.owner", "is required with a custom dataDir: the user the controller runs as")
            return False
        r.got.update(data_dir=text.rstrip("/"), owner=owner)
        return True
    data_dir = preset.data_dir
    if data_dir is None:  # a Docker image: SSH lands on the host, outside the container
        mount = data.get("hostDataDir")
        if not isinstance(mount, str) or not mount.startswith("/"):
            problems.error(
                f"{key}.hostDataDir",
                f"is required with dataDir {text}: the absolute host path bind-mounted into the container",
            )
            return False
        data_dir = f"{mount.rstrip('/')}/{preset.mount_subdir}"
    elif "hostDataDir" in data:
        problems.error(f"{key}.hostDataDir", f"only applies to Docker presets, not {text}")
    owner = owner or preset.owner
    if owner is None:
        problems.error(f"{key}.owner", f"is required with dataDir {text}: the numeric uid[:gid] the image runs as")
        return False
    r.got.update(data_dir=data_dir, owner=owner)
    return True


_SSH = Section(
    SshAccess,
    Field("host", string, default=_default_host),
    Field("port", between(1, 65535), default=22),
    Field("user", string, required=True, skip_null=True),
    Field("privateKey", private_key, required=True, skip_null=True),
    Field("hostKey", _host_key, required=True, skip_null=True),
    Field("sudo", boolean, default=lambda r: r.got.get("user") not in (None, "root")),
    Field("dataDir", required=True, skip_null=True),  # read by _data_dir
    Field("hostDataDir"),  # read by _data_dir
    Field("owner"),  # read by _data_dir
    Rule(_data_dir),
)

# --- the controller -------------------------------------------------------------------------------


def _url(raw: Any, key: str, problems: Problems) -> str | None:
    text = string(raw, key, problems)
    if text is None:
        return None
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.path not in ("", "/") or parts.query:
        problems.error(key, f"{show(text)} is not a controller URL like https://unifi.lan:8443 or https://192.168.1.1")
        return None
    if parts.scheme == "http":
        problems.warn(key, "plain http sends the controller password unencrypted; use https")
    return f"{parts.scheme}://{parts.netloc}"


def _site(raw: Any, key: str, problems: Problems) -> str | None:
    site = string(raw, key, problems)
    if site is not None and not _SITE.fullmatch(site):
        problems.error(key, f"{show(site)} is not a site short name (the id in the controller's URL)")
        return None
    return site


def _credentials(r: Reading) -> bool:
    """Either apiKey (UniFi OS only) or username and password."""
    data, key, problems = r.data, r.key, r.problems
    login = "username" in data or "password" in data
    if "apiKey" in data and login:
        problems.error(f"{key}.apiKey", "give either apiKey or username and password, not both")
        return False
    if "apiKey" in data:
        if r.got.get("flavor") is ControllerFlavor.CLASSIC:
            problems.error(f"{key}.apiKey", "API keys exist on UniFi OS consoles only (Network 9.0.108+); use a login")
            return False
        return True
    if "username" not in data or "password" not in data:
        missing = "password" if "username" in data else "username"
        problems.error(f"{key}.{missing}", "is required: give username and password, or apiKey")
        return False
    return True


def _ca_certificate(raw: Any, key: str, problems: Problems) -> str | None:
    ca = string(raw, key, problems)
    if ca is not None and "-----BEGIN CERTIFICATE-----" not in ca:
        problems.error(key, "must be the PEM text of the CA certificate (not a file path)")
        return None
    return ca


def _fingerprint(raw: Any, key: str, problems: Problems) -> str | None:
    digits = raw.replace(":", "").strip().lower() if isinstance(raw, str) else ""
    if re.fullmatch(r"[0-9a-f]{64}", digits):
        return digits
    problems.error(key, f"{show(raw)} is not a SHA-256 certificate fingerprint (64 hex digits, colons allowed)")
    return None


def _trust(r: Reading) -> bool:
    """One way to trust the controller: caCertificate, fingerprint or insecure (read above)."""
    data, key, problems = r.data, r.key, r.problems
    insecure = r.got.get("insecure")
    chosen = [name for name in ("caCertificate", "fingerprint") if name in data] + (["insecure"] if insecure else [])
    if len(chosen) > 1:
        problems.error(f"{key}.{chosen[1]}", f"choose one way to trust the controller, not {' and '.join(chosen)}")
    if insecure:
        problems.warn(
            f"{key}.insecure",
            "TLS verification is off: anyone on the path can read the controller password; "
            "prefer caCertificate or fingerprint",
        )
    ca = _ca_certificate(data["caCertificate"], f"{key}.caCertificate", problems) if "caCertificate" in data else None
    fingerprint = _fingerprint(data["fingerprint"], f"{key}.fingerprint", problems) if "fingerprint" in data else None
    r.got.update(ca_certificate=ca, fingerprint=fingerprint)
    return ("caCertificate" not in data or ca is not None) and ("fingerprint" not in data or fingerprint is not None)


def _mac(raw: Any, key: str, problems: Problems) -> str | None:
    text = raw.strip().lower() if isinstance(raw, str) else ""
    if not _MAC.fullmatch(text):
        problems.error(key, f"{show(raw)} is not a MAC address like aa:bb:cc:dd:ee:ff")
        return None
    return text.replace("-", ":")


def _ssh(r: Reading, name: str) -> Any:
    """Required for a USG (config.gateway.json is uploaded over SSH), refused for a UniFi OS
    gateway. The context is the gateway's kind (None when it is unusable: ssh is not read)."""
    kind = r.context
    if kind is GatewayKind.UNIFI_OS and name in r.data:
        r.problems.error(r.at(name), "a UniFi OS gateway is configured through the API only; remove ssh")
        return LEFT_OUT
    if kind is not GatewayKind.USG:
        return LEFT_OUT
    if name not in r.data:
        r.problems.error(r.at(name), "is required for a USG: config.gateway.json can only be uploaded over SSH")
        return None
    return _SSH.read(r.data[name], r.at(name), r.problems, context=r.got.get("url"))


_CONTROLLER = Section(
    ControllerAccess,
    Field("url", _url, required=True, default=None),
    Field("site", _site, default="default"),
    Field("flavor", member_of(ControllerFlavor), default="auto"),
    Field("username", string),
    Field("password", secret),
    Field("apiKey", secret),
    Rule(_credentials),
    Field("caCertificate"),  # read by _trust
    Field("fingerprint"),  # read by _trust
    Field("insecure", boolean, default=False),
    Rule(_trust),
    Field("gatewayMac", _mac),
    Field("provisionTimeout", seconds_between(30, 3600, "30s..1h"), default="10m", attr="provision_timeout_s"),
    Field("ssh", read=_ssh),
)
