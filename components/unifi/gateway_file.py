"""Around a provision: make sure the controller holds this stack's ``config.gateway.json``
first, and put the user's original back when the gateway does not come back with it.

Why here and not only in the Pulumi program: the program installs the file when its content
changes, but the live file can change behind its back (restored after an earlier failure,
removed by hand, a controller restored from backup). Provisioning then would push the wrong
config, so ``provision`` checks the live sha256 first and installs the stack's content again
when it has it. And a bad file leaves a USG in a provisioning loop until the file is removed
and the gateway provisioned again: that is what the roll-back does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from components.contract import CONTENT_ENV
from components.unifi.errors import (
    GatewayDownError,
    GatewayFileDriftError,
    ProvisionTimeoutError,
    RemoteCommandError,
    RolledBackError,
    StuckProvisioningError,
    UnifiError,
    UsageError,
)
from components.unifi.scripts import (
    GatewayScriptError,
    install_script,
    parse_outcome,
    parse_verify,
    prepare_script,
    restore_script,
    staged_path,
    verify_script,
)

if TYPE_CHECKING:
    from components.unifi.ssh import RemoteResult


class Remote(Protocol):
    """What this module needs of an SSH session (``ssh.SshSession``)."""

    @property
    def user(self) -> str: ...

    def run_script(self, script: str, *, sudo: bool) -> RemoteResult: ...

    def upload(self, data: bytes, path: str) -> None: ...


@dataclass(frozen=True)
class GatewayFileJob:
    site_dir: str
    owner: str
    stack: str
    expected_sha256: str
    content: bytes | None  # the stack's file, to install again if the live one differs
    sudo: bool

    def check(self, upload_user: str) -> None:
        """Render every script once, so a bad parameter is a usage error before anything runs."""
        try:  # the SSH user alone first, for a message that names it
            prepare_script(site_dir="/d/sites/x", owner="0", upload_user=upload_user)
        except GatewayScriptError:
            raise UsageError(f"SSH user {upload_user!r} must be a plain user name (it owns the upload)") from None
        try:
            verify_script(site_dir=self.site_dir)
            prepare_script(site_dir=self.site_dir, owner=self.owner, upload_user=upload_user)
            install_script(
                site_dir=self.site_dir, expected_sha256=self.expected_sha256, owner=self.owner, stack=self.stack
            )
            restore_script(site_dir=self.site_dir, stack=self.stack)
        except GatewayScriptError as exc:
            raise UsageError(str(exc)) from None


def run_checked(remote: Remote, name: str, script: str, *, sudo: bool) -> str:
    """Run a controller-side script; a non-zero exit becomes one line with its stderr message
    (the scripts never print file contents, so the message holds no secret)."""
    result = remote.run_script(script, sudo=sudo)
    if result.exit_code != 0:
        message = " ".join(result.stderr.split()) or "no message"
        raise RemoteCommandError(f"the {name} script on {remote} exited {result.exit_code}: {message}")
    return result.stdout


def ensure_installed(remote: Remote, job: GatewayFileJob, report: Callable[[str], None]) -> bool:
    """Leave the stack's file live: check its sha256, install the content again if it differs.
    True if it installed it again."""
    stdout = run_checked(remote, "verify", verify_script(site_dir=job.site_dir), sudo=job.sudo)
    try:
        live = parse_verify(stdout)
    except GatewayScriptError as exc:
        raise RemoteCommandError(f"the verify script on {remote}: {exc}") from None
    if live == job.expected_sha256:
        report(f"live config.gateway.json is the one stack {job.stack!r} expects (sha256 {live})")
        return False
    seen = "absent" if live is None else f"sha256 {live}"
    wanted = f"stack {job.stack!r} expects sha256 {job.expected_sha256}"
    if job.content is None:
        raise GatewayFileDriftError(
            f"the live file in {job.site_dir} ({seen}) is not the one {wanted}, and {CONTENT_ENV} is not set "
            "to install it again"
        )
    content_sha = hashlib.sha256(job.content).hexdigest()
    if content_sha != job.expected_sha256:
        raise GatewayFileDriftError(
            f"the live file in {job.site_dir} ({seen}) is not the one {wanted}, and {CONTENT_ENV} "
            f"(sha256 {content_sha}) is not it either"
        )
    report(f"live config.gateway.json differs ({seen}; {wanted}): installing it again")
    prepare = prepare_script(site_dir=job.site_dir, owner=job.owner, upload_user=remote.user)
    run_checked(remote, "prepare", prepare, sudo=job.sudo)
    remote.upload(job.content, staged_path(job.site_dir))
    install = install_script(
        site_dir=job.site_dir, expected_sha256=job.expected_sha256, owner=job.owner, stack=job.stack
    )
    run_checked(remote, "install", install, sudo=job.sudo)
    report(f"installed config.gateway.json (sha256 {job.expected_sha256}) in {job.site_dir}")
    return True


def restore_original(remote: Remote, job: GatewayFileJob, report: Callable[[str], None]) -> bool:
    """Put the user's original back (or remove the file); False if this stack had nothing there."""
    stdout = run_checked(remote, "restore", restore_script(site_dir=job.site_dir, stack=job.stack), sudo=job.sudo)
    try:
        changed = parse_outcome(stdout)
    except GatewayScriptError as exc:
        raise RemoteCommandError(f"the restore script on {remote}: {exc}") from None
    report("restored the original config.gateway.json" if changed else "nothing of this stack's to restore")
    return changed


def provision_or_roll_back(
    provision: Callable[[], object],
    connect: Callable[[], AbstractContextManager[Remote]],
    job: GatewayFileJob,
    report: Callable[[str], None],
) -> None:
    """Provision; if the gateway does not come back, restore the original and provision again.

    Always ends in an error after a roll-back: the stack's file is not live any more.
    """
    try:
        provision()
        return
    except (ProvisionTimeoutError, StuckProvisioningError) as exc:
        failure = f"gateway did not come back with the new config.gateway.json ({exc})"
    report(f"{failure}; restoring the original over SSH")
    try:
        with connect() as remote:
            restored = restore_original(remote, job, report)
    except UnifiError as exc:
        raise GatewayDownError(f"{failure}; restoring the original failed ({exc}): check the gateway") from None
    what = "restored the original file" if restored else "found nothing of this stack's to restore"
    report("provisioning again")
    try:
        provision()
    except UnifiError as exc:
        raise GatewayDownError(
            f"{failure}; {what}, but the gateway did not come back either ({exc}): check the gateway"
        ) from None
    raise RolledBackError(f"{failure}; {what} and provisioned again: fix the config and run pulumi up again")
