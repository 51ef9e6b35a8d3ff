"""What ``provision`` and ``status`` do over SSH (loaded only when their SSH options are given)."""

from __future__ import annotations

from collections.abc import Callable

from components.contract import GATEWAY_KEY_ENV, SSH_KEY_ENV
from components.unifi.errors import RemoteCommandError
from components.unifi.gateway_file import ensure_installed, provision_or_roll_back
from components.unifi.options import GatewaySsh, SshProvision
from components.unifi.ssh import SshSession


def provision_with_file(
    provision: Callable[[], None], ssh: SshProvision, say: Callable[[str], None], *, already: bool = False
) -> bool:
    """Check (and if needed install again) the live file, then provision with roll-back, unless
    ``already`` provisioned with this file and it is still live. True if it provisioned."""

    def connect() -> SshSession:
        session = SshSession.open(ssh.target, ssh.key, SSH_KEY_ENV)
        say(f"ssh {ssh.target}: connected (host key {ssh.target.host_key})")
        return session

    with connect() as remote:
        reinstalled = ensure_installed(remote, ssh.job, say)
    if already and not reinstalled:
        say(f"already provisioned with sha256 {ssh.job.expected_sha256}, nothing to do")
        return False
    provision_or_roll_back(provision, connect, ssh.job, say)
    return True


def print_bgp_summary(gateway: GatewaySsh, say: Callable[[str], None]) -> None:
    """The blog post's check: the gateway's own view of its BGP sessions."""
    with SshSession.open(gateway.target, gateway.key, GATEWAY_KEY_ENV) as session:
        result = session.run(gateway.command)
    say(f"{gateway.command} on {gateway.target}:")
    for line in result.stdout.rstrip("\n").splitlines():
        say(line)
    if result.exit_code != 0:
        message = " ".join(result.stderr.split()) or "no message"
        raise RemoteCommandError(f"{gateway.command!r} on {gateway.target} exited {result.exit_code}: {message}")
