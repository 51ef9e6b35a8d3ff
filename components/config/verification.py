"""``metallb-unifi:gatewaySsh`` and ``metallb-unifi:verify``: what ``python -m components.verify``
needs beyond the lab itself, SSH to the gateway device (its BGP sessions and routing table), and
whether its checks run after ``pulumi up``.

``gatewaySsh`` is not ``controller.ssh``: that one reaches the machine running the controller to
write config.gateway.json, this one the gateway, as the device SSH user of the site's settings
(a USG) or root (a UniFi OS console). Its SSH client is paramiko, which signs RSA with SHA-2, so
unlike ``controller.ssh`` an ``ssh-rsa`` host key is fine here.
"""

from __future__ import annotations

import base64
import binascii
import struct
from ipaddress import ip_address
from typing import Any, Final

from .controller import private_key
from .errors import Problems, key_path
from .fields import LEFT_OUT, Field, Reading, Rule, Section, between, seconds_between
from .model import GatewaySshAccess, VerifySettings
from .values import boolean, is_dns_name, secret, show, string

# The host key types components.unifi.ssh accepts (its HOST_KEY_ALGORITHMS; a test keeps the two
# equal): this package imports no paramiko.
HOST_KEY_TYPES: Final = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa")
_KEYSCAN = (
    "`ssh-keyscan -t ed25519 HOST` on a UniFi OS console; a USG's older SSH server may have no ed25519 key: "
    "`ssh-keyscan -t ecdsa HOST`"
)


def _host(raw: Any, key: str, problems: Problems) -> str | None:
    text = string(raw, key, problems)
    if text is None:
        return None
    try:
        return str(ip_address(text))
    except ValueError:
        pass
    if not is_dns_name(text.lower()):
        problems.error(key, f"{show(text)} is neither a host name nor an IP address")
        return None
    return text


def _default_host(r: Reading) -> Any:
    """The gateway's peer address: the context (None when the gateway is unusable, and then
    nothing is built)."""
    return str(r.context) if r.context is not None else LEFT_OUT


def host_key(raw: Any, key: str, problems: Problems) -> str | None:
    """``TYPE BASE64`` with an optional comment after it, or an ``ssh-keyscan`` line (the host
    first), read as components.unifi.ssh.HostKey.parse reads them; kept as ``TYPE BASE64``."""
    fields = raw.split() if isinstance(raw, str) else []
    if len(fields) >= 3 and fields[0] not in HOST_KEY_TYPES and fields[1] in HOST_KEY_TYPES:
        fields = fields[1:]
    if len(fields) < 2 or fields[0] not in HOST_KEY_TYPES:
        problems.error(
            key,
            f"must be the gateway's SSH host key 'TYPE BASE64' with TYPE one of {', '.join(HOST_KEY_TYPES)}, "
            f"got {show(raw)}: the output of {_KEYSCAN}",
        )
        return None
    kind, data = fields[0], fields[1]
    try:
        blob = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        problems.error(key, f"the key after {kind} is not valid base64")
        return None
    # The blob starts with its own type name (RFC 4253 section 6.6); it must be the one before it.
    (length,) = struct.unpack(">I", blob[:4]) if len(blob) >= 4 else (0,)
    if blob[4 : 4 + length].decode("ascii", "replace") != kind:
        problems.error(key, f"the key data is not a {kind} key")
        return None
    return f"{kind} {data}"


def _one_way_to_log_in(r: Reading) -> bool:
    """Exactly one of privateKey and password."""
    given = [name for name in ("privateKey", "password") if r.data.get(name) is not None]
    if len(given) == 2:
        r.problems.error(r.at("password"), "give either privateKey or password, not both")
    elif not given and "privateKey" not in r.data and "password" not in r.data:
        r.problems.error(r.at("privateKey"), "is required: give privateKey (a private key's text) or password")
    return len(given) == 1


_GATEWAY_SSH = Section(
    GatewaySshAccess,
    Field("host", _host, default=_default_host),
    Field("port", between(1, 65535), default=22),
    Field("user", string, required=True, skip_null=True),
    Field("hostKey", host_key, required=True, skip_null=True),
    Field("privateKey", private_key, skip_null=True),
    Field("password", secret, skip_null=True),
    Rule(_one_way_to_log_in),
)


def read_gateway_ssh(r: Reading, name: str) -> Any:
    """``gatewaySsh``, read after ``gateway``: its host defaults to the gateway's peer address."""
    raw = r.data.get(name)
    if raw is None:
        return LEFT_OUT
    gateway = r.got.get("gateway")
    if gateway is None:  # reported: check gatewaySsh for its own problems, build nothing
        _GATEWAY_SSH.read_fields(raw, r.at(name), r.problems)
        return None
    return _GATEWAY_SSH.read(raw, r.at(name), r.problems, context=gateway.peer_address)


_VERIFY = Section(
    VerifySettings,
    Field("afterUp", boolean, default=True),
    Field("timeout", seconds_between(10, 1800, "10s..30m"), default="2m", attr="timeout_s"),
    Field("required", boolean, default=False),
)


def read_verify(raw: Any, key: str, problems: Problems) -> VerifySettings | None:
    return _VERIFY.read(raw, key, problems)


def verify_warnings(r: Reading) -> bool:
    """Settings of ``verify`` that cannot do what they say: warned, never refused."""
    verify = r.got.get("verify")
    if verify is None:
        return True
    if verify.after_up and r.data.get("gatewaySsh") is None:
        r.problems.warn(key_path("verify"), f"sessions and routes will be skipped: set {key_path('gatewaySsh')}")
    if verify.required and not verify.after_up:
        r.problems.warn(key_path("verify", "required"), "has no effect with afterUp: false (no checks run after up)")
    return True
