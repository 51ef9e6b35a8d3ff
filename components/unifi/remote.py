"""What ``provision``, ``restore``/``remove-part`` and ``status`` do over SSH (loaded only when
their SSH options are given). The site's file is composed under the site's lock
(``shared_file``); the lock is held through the provision, so that another stack's run neither
changes the file under a provisioning gateway nor is rolled back by this one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import paramiko

from components.contract import GATEWAY_KEY_ENV, SSH_KEY_ENV
from components.unifi.errors import (
    GatewayDownError,
    ProvisionTimeoutError,
    RemoteCommandError,
    RolledBackError,
    StuckProvisioningError,
    UnifiError,
)
from components.unifi.options import GatewaySsh, SshProvision
from components.unifi.scripts import look_script
from components.unifi.shared_file import (
    Part,
    Site,
    SiteJob,
    acquire_lock,
    commit,
    parse_read,
    plan_install,
    plan_provisioned,
    plan_remove,
    read_site,
    release_lock,
    run_checked,
)
from components.unifi.ssh import SshSession, SshTarget

Connect = Callable[[], SshSession]


def connector(target: SshTarget, key: paramiko.PKey, say: Callable[[str], None]) -> Connect:
    def connect() -> SshSession:
        session = SshSession.open(target, key, SSH_KEY_ENV)
        say(f"ssh {target}: connected (host key {target.host_key})")
        return session

    return connect


@contextmanager
def locked(connect: Connect, job: SiteJob, say: Callable[[str], None]) -> Iterator[str]:
    """The site's lock, held across SSH sessions (a provision takes minutes; no session idles)."""
    with connect() as remote:
        token = acquire_lock(remote, job, say)
    try:
        yield token
    finally:
        with connect() as remote:
            release_lock(remote, job, token)


def _record(connect: Connect, job: SiteJob, token: str, sha: str) -> None:
    with connect() as remote:
        commit(remote, job, token, plan_provisioned(read_site(remote, job, token), sha))


def provision_with_file(
    provision: Callable[[], None],
    ssh: SshProvision,
    say: Callable[[str], None],
    *,
    provisioned_before: Callable[[str], bool] = lambda _sha: False,
) -> str:
    """Put this stack's part in, compose the live file, and provision unless the gateway already
    has that file (the state says so, or ``provisioned_before(sha)``: the previous run's stdout,
    which a release before the state's record wrote). If the gateway does not come back, take the
    part out again and provision; that ends in an error. Returns the live file's sha256."""
    connect = connector(ssh.target, ssh.key, say)
    job, part = ssh.site, ssh.part
    with locked(connect, job, say) as token:
        with connect() as remote:
            plan = plan_install(read_site(remote, job, token), part)
            changed = commit(remote, job, token, plan)
        live = plan.live_after or ""
        stacks = ", ".join(plan.state_after.stacks) if plan.state_after else job.stack
        say(
            f"{'installed' if changed else 'live is already'} config.gateway.json sha256 {live} in {job.site_dir} "
            f"(the parts of: {stacks})"
        )
        recorded = plan.state_after is not None and plan.state_after.provisioned == live
        if not changed and (recorded or provisioned_before(live)):
            say(f"already provisioned with sha256 {live}, nothing to do")
            if not recorded:
                _record(connect, job, token, live)
            return live
        _provision_or_take_out(provision, connect, job, token, part, say)
        _record(connect, job, token, live)
    return live


def _provision_or_take_out(
    provision: Callable[[], None], connect: Connect, job: SiteJob, token: str, part: Part, say: Callable[[str], None]
) -> None:
    """Provision; if the gateway does not come back, take this stack's part out (the user's
    original comes back when it was the only one), provision again and end in an error."""
    try:
        provision()
        return
    except (ProvisionTimeoutError, StuckProvisioningError) as exc:
        failure = f"gateway did not come back with the new config.gateway.json ({exc})"
    say(f"{failure}; taking stack {job.stack!r}'s part out over SSH")
    try:
        with connect() as remote:
            plan = plan_remove(read_site(remote, job, token), job.stack)
            commit(remote, job, token, plan)
    except UnifiError as exc:
        raise GatewayDownError(f"{failure}; taking the part out failed ({exc}): check the gateway") from None
    what = "restored the original file" if plan.state_after is None else "took this stack's part out"
    say("provisioning again")
    try:
        provision()
    except UnifiError as exc:
        raise GatewayDownError(
            f"{failure}; {what}, but the gateway did not come back either ({exc}): check the gateway"
        ) from None
    if plan.live_after is not None:
        _record(connect, job, token, plan.live_after)
    raise RolledBackError(f"{failure}; {what} and provisioned again: fix the config and run pulumi up again")


def remove_part(connect: Connect, job: SiteJob, say: Callable[[str], None]) -> bool:
    """Take ``job.stack``'s part out of the site's file; True if the live file changed."""
    with locked(connect, job, say) as token, connect() as remote:
        plan = plan_remove(read_site(remote, job, token), job.stack)
        changed = commit(remote, job, token, plan)
    if plan.state_after is None and plan.steps:
        say(f"no stack left in {job.site_dir}: your original config.gateway.json is back")
    elif changed:
        say(f"took stack {job.stack!r}'s part out of config.gateway.json in {job.site_dir}")
    else:
        say(f"nothing of stack {job.stack!r} in {job.site_dir}")
    return changed


def look_site(target: SshTarget, key: paramiko.PKey, site_dir: str, *, sudo: bool) -> Site:
    """What the site holds now, without the lock (``look.sh``): the program's look for drift."""
    with SshSession.open(target, key, SSH_KEY_ENV) as session:
        stdout = run_checked(session, "look", look_script(site_dir=site_dir), sudo=sudo)
    return parse_read(stdout.encode("utf-8"))


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
