"""Drift at preview and up: one look at what the controller holds, and how the gateway command is
registered so that a repair runs it exactly once (the thin shell around components/unifi/drift.py).

pulumi-command runs a command only when its inputs change, and the observation itself cannot be
an input: "in sync" after a repair would change it back and run the command a second time. So
the command gets ``METALLB_UNIFI_REPAIR`` (what and where, and when it was seen: a new value
each time) only when there is something to put back; otherwise it is registered with
``ignore_changes`` on that entry, and the engine keeps whatever the state holds (the last
repair's text, or nothing), so nothing differs and nothing runs. The engine resets an ignored
input to its old value, or deletes it when the old inputs do not have it, before it diffs
(pulumi/pulumi@v3.259.0: pkg/resource/deploy/step_generator.go, processIgnoreChanges;
sdk/go/common/resource/properties_path.go, Reset).

A controller that cannot be read is a warning, never an error: nothing is repaired then.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pulumi

from components.config.model import ControllerAccess, SshAccess
from components.contract import REPAIR_ENV
from components.resources import gateway_commands
from components.unifi.drift import NOT_INSTALLED, Drift
from components.unifi.errors import UnifiError

LOOK_TIMEOUT_S = 10.0  # connect, handshake and the look itself: a preview waits no longer


@dataclass(frozen=True)
class Observation:
    where: str  # "config.gateway.json on host:port/dir"
    drift: Drift | None  # None: not checked
    reason: str = ""  # why not (one line, no secret)
    seen: str = ""  # UTC time of the look

    @property
    def marker(self) -> str | None:
        """The value that makes the gateway command run once; None: keep the stored one."""
        if self.drift is None or not self.drift.repairs:
            return None
        return f"{self.where}: {self.drift.what} (seen {self.seen})"

    def message(self) -> tuple[str, str] | None:
        """(level, text) for the preview and up output; None when in sync."""
        if self.drift is None:
            return "warn", f"could not check {self.where} for drift ({self.reason}); nothing is repaired in this run"
        if self.drift.kind == "in sync":
            return None
        if self.drift.kind == "kept":
            return "warn", (
                f"{self.where}: {self.drift.what}. Not repaired: it is your change, and the next change of this "
                "stack's part is refused until you put it in metallb-unifi:gateway.baseConfigFile or drop it"
            )
        if self.drift == NOT_INSTALLED:
            return "info", f"{self.where}: {self.drift.what} yet; pulumi up installs it"
        return "warn", f"{self.where}: {self.drift.what}; pulumi up puts the stacks' part back (one provision)"


NOT_CHECKED = Observation("the gateway", None, "not checked")


def command_options(observation: Observation) -> tuple[dict[str, str], list[str]]:
    """The environment entry and the ignore_changes paths for the gateway command."""
    marker = observation.marker
    if marker is not None:
        return {REPAIR_ENV: marker}, []
    return {}, [f"environment.{REPAIR_ENV}"]


def usg_where(controller: ControllerAccess, ssh: SshAccess) -> str:
    return f"config.gateway.json on {ssh.host}:{ssh.port}{gateway_commands.site_dir(controller, ssh)}"


def observe_usg(
    controller: ControllerAccess, ssh: SshAccess, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> Observation:
    """One SSH session to the controller: the site's files as look.sh prints them, classified."""
    from components.unifi.remote import look_site  # paramiko: only when there is an SSH controller
    from components.unifi.shared_file import site_drift
    from components.unifi.ssh import HostKey, SshTarget, load_private_key

    where = usg_where(controller, ssh)
    try:
        key = load_private_key(gateway_commands.secret_value(ssh.private_key), "metallb-unifi:controller.ssh")
        host_key = HostKey.parse(ssh.host_key, "metallb-unifi:controller.ssh.hostKey")
        target = SshTarget(ssh.host, ssh.port, ssh.user, host_key, timeout=LOOK_TIMEOUT_S)
        site = look_site(target, key, gateway_commands.site_dir(controller, ssh), sudo=ssh.sudo)
        drift = site_drift(site)
    except (UnifiError, ValueError) as exc:
        return Observation(where, None, " ".join(str(exc).split()) or type(exc).__name__)
    return Observation(where, drift, seen=clock().isoformat(timespec="microseconds"))


def report(observation: Observation) -> None:
    said = observation.message()
    if said is not None:
        level, text = said
        (pulumi.log.warn if level == "warn" else pulumi.log.info)(text)
