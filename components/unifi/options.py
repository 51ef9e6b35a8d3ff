"""The SSH options of ``provision`` and ``status``: declared, checked, and turned into targets.

Each group is all or none: a partial group is a usage error rather than a silent fallback to
provisioning without the file check. Keys come from the environment, never from a path.
paramiko is imported only when a group is given: it adds a third of a second to every start.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, TextIO

from components.contract import API_KEY_ENV, BGPD_CONF_ENV, CONTENT_ENV, GATEWAY_KEY_ENV, PASSWORD_ENV, SSH_KEY_ENV
from components.unifi.errors import SshAuthError, UsageError
from components.unifi.unifi_os.bgp import bgp_passwords

if TYPE_CHECKING:
    import paramiko

    from components.unifi.shared_file import Part, SiteJob
    from components.unifi.ssh import SshTarget

# On a USG (EdgeOS/Vyatta) operational commands run through this wrapper outside its CLI.
BGP_SUMMARY_COMMAND: Final = "/opt/vyatta/bin/vyatta-op-cmd-wrapper show ip bgp summary"

_PROVISION_REQUIRED: Final = {
    "ssh_host": "--ssh-host",
    "ssh_user": "--ssh-user",
    "ssh_host_key": "--ssh-host-key",
    "site_dir": "--site-dir",
    "owner": "--owner",
    "stack": "--stack",
    "expect_sha256": "--expect-sha256",
}
_PROVISION_EXTRA: Final = {"ssh_port": "--ssh-port", "sudo": "--sudo"}
_GATEWAY_REQUIRED: Final = {
    "gateway_ssh_host": "--gateway-ssh-host",
    "gateway_ssh_user": "--gateway-ssh-user",
    "gateway_ssh_host_key": "--gateway-ssh-host-key",
}
_GATEWAY_EXTRA: Final = {"gateway_ssh_port": "--gateway-ssh-port"}
_SHA256 = re.compile(r"[0-9a-f]{64}")
_PLAIN_USER = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.-]*")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError("must be 1–65535")
    return port


def add_ssh_provision_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "config.gateway.json over SSH",
        "all of these but --ssh-port and --sudo, or none; the SSH private key's text in "
        f"{SSH_KEY_ENV}, the stack's file (its part of the site's file) in {CONTENT_ENV}, its claims as JSON "
        '{"claims": {...}} on stdin',
    )
    group.add_argument("--ssh-host", help="the controller's SSH host")
    group.add_argument("--ssh-port", type=_port, help="default 22")
    group.add_argument("--ssh-user", help="SSH user (also the owner of the SFTP upload)")
    group.add_argument("--ssh-host-key", help='the controller\'s SSH host key: "ssh-ed25519 AAAA..."')
    group.add_argument("--sudo", action="store_true", help="run the controller-side scripts with sudo -n")
    group.add_argument("--site-dir", help="<controller data dir>/sites/<site>")
    group.add_argument("--owner", help="the controller's user[:group] or uid[:gid], owner of the file")
    group.add_argument("--stack", help="the Pulumi stack the file belongs to")
    group.add_argument("--expect-sha256", help="sha256 of the stack's config.gateway.json")
    group.add_argument("--lock-poll-interval", type=float, default=2.0, help=argparse.SUPPRESS)


def add_gateway_ssh_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "the gateway's BGP summary over SSH",
        f"all of these but --gateway-ssh-port, or none; the SSH private key's text in {GATEWAY_KEY_ENV}",
    )
    group.add_argument("--gateway-ssh-host", help="the gateway's SSH host")
    group.add_argument("--gateway-ssh-port", type=_port, help="default 22")
    group.add_argument("--gateway-ssh-user", help="SSH user on the gateway")
    group.add_argument("--gateway-ssh-host-key", help='the gateway\'s SSH host key: "ssh-ed25519 AAAA..."')
    group.add_argument("--gateway-bgp-command", default=BGP_SUMMARY_COMMAND, help=argparse.SUPPRESS)


def _all_or_none(args: argparse.Namespace, required: Mapping[str, str], extra: Mapping[str, str]) -> bool:
    given = [flag for dest, flag in {**required, **extra}.items() if getattr(args, dest) not in (None, False)]
    if not given:
        return False
    missing = [flag for dest, flag in required.items() if getattr(args, dest) is None]
    if missing:
        raise UsageError(f"{given[0]} needs {', '.join(missing)} as well: these options go together")
    return True


def _private_key(env: Mapping[str, str], name: str) -> paramiko.PKey:
    from components.unifi.ssh import load_private_key

    text = env.get(name) or ""
    if not text.strip():
        raise SshAuthError(f"set {name} to the SSH private key (its PEM text)")
    return load_private_key(text, name)


def _target(host: str, port: int | None, user: str, host_key: str, option: str, args: argparse.Namespace) -> SshTarget:
    from components.unifi.ssh import HostKey, SshTarget

    return SshTarget(
        host=host, port=port or 22, user=user, host_key=HostKey.parse(host_key, option), timeout=args.ssh_timeout
    )


@dataclass(frozen=True)
class SshProvision:
    target: SshTarget
    key: paramiko.PKey
    site: SiteJob
    part: Part


def lock_hold_seconds(provision_timeout: float) -> int:
    """The longest a provision run holds the site's lock: two provisions (one more after a
    roll-back) and ten minutes for everything over SSH; the lock expires after it."""
    return int(2 * provision_timeout) + 600


def read_claims(stdin: TextIO, stack: str) -> dict[str, object]:
    """``{"claims": {...}}`` from stdin: what the stack holds on the gateway (no secret)."""
    try:
        document = json.load(stdin)
        claims = document["claims"]
        if not isinstance(claims, dict):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise UsageError('with the SSH options, stdin must be JSON {"claims": {...}} (the stack\'s claims)') from None
    if claims.get("stack") != stack:
        raise UsageError(f"the claims on stdin are stack {claims.get('stack')!r}'s, not --stack {stack!r}'s")
    return claims


def ssh_provision_from_args(args: argparse.Namespace, env: Mapping[str, str], stdin: TextIO) -> SshProvision | None:
    """The ``provision`` SSH options, the stack's file (``CONTENT_ENV``) and its claims (stdin),
    checked; None without the options."""
    if not _all_or_none(args, _PROVISION_REQUIRED, _PROVISION_EXTRA):
        return None
    from components.artifacts.stack_claims import StackClaims
    from components.unifi.scripts import GatewayScriptError, lock_script
    from components.unifi.shared_file import Part, SiteJob, sha256_hex

    target = _target(args.ssh_host, args.ssh_port, args.ssh_user, args.ssh_host_key, "--ssh-host-key", args)
    expected = args.expect_sha256.strip().lower()
    if not _SHA256.fullmatch(expected):
        raise UsageError("--expect-sha256 must be 64 hex digits")
    hold = lock_hold_seconds(args.timeout)
    site = SiteJob(
        site_dir=args.site_dir,
        stack=args.stack,
        sudo=args.sudo,
        owner=args.owner,
        hold_s=hold,
        wait_s=float(hold),
        poll_s=args.lock_poll_interval,
    )
    if not _PLAIN_USER.fullmatch(target.user):
        raise UsageError(f"SSH user {target.user!r} must be a plain user name (it owns the uploads)")
    try:  # every parameter checked before anything runs
        lock_script(
            site_dir=site.site_dir, owner=site.owner, upload_user=target.user, token="0" * 32, hold_s=hold, holder="x"
        )
    except GatewayScriptError as exc:
        raise UsageError(str(exc)) from None
    content = (env.get(CONTENT_ENV) or "").encode("utf-8")
    if not content:
        raise UsageError(f"set {CONTENT_ENV} to the stack's config.gateway.json")
    if sha256_hex(content) != expected:
        raise UsageError(f"{CONTENT_ENV} (sha256 {sha256_hex(content)}) is not --expect-sha256 {expected}")
    try:
        claims = StackClaims.from_json(read_claims(stdin, args.stack))
    except ValueError as exc:
        raise UsageError(f"the claims on stdin: {exc}") from None
    return SshProvision(target, _private_key(env, SSH_KEY_ENV), site, Part(content, claims))


def add_ssh_file_options(parser: argparse.ArgumentParser, *, ssh_timeout: bool = True) -> None:
    """``check-original`` and ``restore``: the controller's site directory over SSH, nothing else."""
    group = parser.add_argument_group(
        "the controller's config.gateway.json over SSH", f"the SSH private key's text in {SSH_KEY_ENV}"
    )
    group.add_argument("--ssh-host", required=True, help="the controller's SSH host")
    group.add_argument("--ssh-port", type=_port, default=22, help="default 22")
    group.add_argument("--ssh-user", required=True, help="SSH user")
    group.add_argument("--ssh-host-key", required=True, help='the controller\'s SSH host key: "ssh-ed25519 AAAA..."')
    group.add_argument("--sudo", action="store_true", help="run the controller-side scripts with sudo -n")
    group.add_argument("--site-dir", required=True, help="<controller data dir>/sites/<site>")
    group.add_argument("--stack", required=True, help="the Pulumi stack the file belongs to")
    if ssh_timeout:  # remove-part has the device options' own
        group.add_argument("--ssh-timeout", type=float, default=30.0, help=argparse.SUPPRESS)
    group.add_argument("--lock-wait", type=float, default=1800.0, help=argparse.SUPPRESS)
    group.add_argument("--lock-poll-interval", type=float, default=2.0, help=argparse.SUPPRESS)


@dataclass(frozen=True)
class SshFile:
    """Where the file lives and how to reach it, for ``check-original`` and ``restore``."""

    target: SshTarget
    key_text: str  # loaded only when connecting: a restore may be skipped without a usable key
    site_dir: str
    stack: str
    sudo: bool

    lock_wait: float = 1800.0
    lock_poll: float = 2.0

    def key(self) -> paramiko.PKey:
        return _private_key({SSH_KEY_ENV: self.key_text}, SSH_KEY_ENV)

    def site(self) -> SiteJob:
        from components.unifi.shared_file import SiteJob

        return SiteJob(
            site_dir=self.site_dir,
            stack=self.stack,
            sudo=self.sudo,
            hold_s=600,  # no provision under this lock: a few SSH round trips
            wait_s=self.lock_wait,
            poll_s=self.lock_poll,
        )


def ssh_file_from_args(args: argparse.Namespace, env: Mapping[str, str]) -> SshFile:
    from components.unifi.scripts import GatewayScriptError, lock_script, original_script

    target = _target(args.ssh_host, args.ssh_port, args.ssh_user, args.ssh_host_key, "--ssh-host-key", args)
    try:
        original_script(site_dir=args.site_dir, stack=args.stack)
        lock_script(site_dir=args.site_dir, owner=None, upload_user=target.user, token="0" * 32, hold_s=600, holder="x")
    except GatewayScriptError as exc:
        raise UsageError(str(exc)) from None
    return SshFile(
        target,
        env.get(SSH_KEY_ENV) or "",
        args.site_dir,
        args.stack,
        args.sudo,
        args.lock_wait,
        args.lock_poll_interval,
    )


@dataclass(frozen=True)
class GatewaySsh:
    target: SshTarget
    key: paramiko.PKey
    command: str


def gateway_ssh_from_args(args: argparse.Namespace, env: Mapping[str, str]) -> GatewaySsh | None:
    """The ``status`` gateway SSH options, checked; None without them."""
    if not _all_or_none(args, _GATEWAY_REQUIRED, _GATEWAY_EXTRA):
        return None
    target = _target(
        args.gateway_ssh_host,
        args.gateway_ssh_port,
        args.gateway_ssh_user,
        args.gateway_ssh_host_key,
        "--gateway-ssh-host-key",
        args,
    )
    return GatewaySsh(target, _private_key(env, GATEWAY_KEY_ENV), args.gateway_bgp_command)


def secret_fragments(env: Mapping[str, str]) -> list[str]:
    """What to blank out of error messages: passwords whole (the BGP passwords of the bgpd.conf
    too), private keys line by line (a key would never be quoted whole, but a line of it might)."""
    fragments = [value for value in (env.get(PASSWORD_ENV), env.get(API_KEY_ENV)) if value]
    fragments += bgp_passwords(env.get(BGPD_CONF_ENV) or "")
    for name in (SSH_KEY_ENV, GATEWAY_KEY_ENV):
        for line in (env.get(name) or "").splitlines():
            line = line.strip()
            if len(line) >= 16 and not line.startswith("-----"):
                fragments.append(line)
    return fragments
