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

Two looks, one per gateway kind: a USG's controller over SSH (its site's files, classified by
components/unifi/shared_file.site_drift), a UniFi OS console over its API (login, the BGP config,
the DNS records, classified by components/unifi/unifi_os/drift.classify). A controller that
cannot be read is a warning, never an error: nothing is repaired then.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pulumi

from components.config.model import ControllerAccess, ControllerFlavor, SshAccess
from components.contract import REPAIR_ENV
from components.resources import gateway_commands
from components.unifi import drift as usg_drift
from components.unifi.drift import Drift
from components.unifi.errors import UnifiError
from components.unifi.unifi_os import drift as unifi_os_drift

LOOK_TIMEOUT_S = 10.0  # connect, handshake and the look itself: a preview waits no longer
# What a repair does, and why a kept change is not repaired, as each gateway kind's warning says.
USG_REPAIR = "pulumi up puts the stacks' part back (one provision)"
USG_KEPT = (
    "Not repaired: it is your change, and the next change of this stack's part is refused until you put it in "
    "metallb-unifi:gateway.baseConfigFile or drop it"
)
UNIFI_OS_REPAIR = "pulumi up puts the stack's part back (one update of unifi-os-bgp-and-dns)"
UNIFI_OS_KEPT = (
    "Not repaired: the stack cannot put its part into that BGP config, and any run of unifi-os-bgp-and-dns "
    "(the stack's next change) is refused the same way, before anything is written"
)
_FIRST_INSTALLS = (usg_drift.NOT_INSTALLED, unifi_os_drift.NOT_INSTALLED)


@dataclass(frozen=True)
class Observation:
    where: str  # "config.gateway.json on host:port/dir", "the BGP config and DNS records of site S on URL"
    drift: Drift | None  # None: not checked
    reason: str = ""  # why not (one line, no secret)
    seen: str = ""  # UTC time of the look
    repair: str = USG_REPAIR  # what pulumi up does about a drift it repairs
    kept: str = USG_KEPT  # why a kept change is not repaired

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
            return "warn", f"{self.where}: {self.drift.what}. {self.kept}"
        if self.drift in _FIRST_INSTALLS:
            return "info", f"{self.where}: {self.drift.what} yet; pulumi up installs it"
        return "warn", f"{self.where}: {self.drift.what}; {self.repair}"


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


def unifi_os_where(controller: ControllerAccess) -> str:
    scheme, _, rest = controller.url.partition("://")
    host = rest.rpartition("@")[2]  # never a user or password a URL may carry
    return f"the BGP config and DNS records of site {controller.site} on {scheme}://{host}"


def observe_unifi_os(
    controller: ControllerAccess,
    stack: str,
    bgpd_conf: str,
    records: Sequence[Mapping[str, Any]],
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Observation:
    """One API session to the console: login, ``GET bgp/config``, ``GET static-dns``, classified
    against ``bgpd_conf`` and ``records`` (as ``known_dns_records`` renders them: a value None is
    an address allocated during up). Bounded: one attempt per request, ``LOOK_TIMEOUT_S`` each,
    a rate-limited login not waited for."""
    # requests: only when there is a UniFi OS controller
    from components.unifi.client import (
        ControllerClient,
        Credentials,
        FlavorChoice,
        RetryPolicy,
        TlsTrust,
        normalize_fingerprint,
    )
    from components.unifi.unifi_os.bgp import bgp_passwords, read_bgp
    from components.unifi.unifi_os.dns import list_records

    where = unifi_os_where(controller)
    said = {"repair": UNIFI_OS_REPAIR, "kept": UNIFI_OS_KEPT}
    secrets = bgp_passwords(bgpd_conf)
    try:
        credentials = Credentials.from_env(gateway_commands.client_environment(controller))
        secrets += credentials.secrets()
        if controller.fingerprint:
            trust = TlsTrust(fingerprint=normalize_fingerprint(controller.fingerprint))
        else:
            trust = TlsTrust(insecure=True) if controller.insecure else TlsTrust(ca_pem=controller.ca_certificate)
        # A UniFi OS gateway has a UniFi OS console: no probe of GET / (one request less); a
        # classic controller answers this login with 404, and the look says so.
        flavor: FlavorChoice = "classic" if controller.flavor is ControllerFlavor.CLASSIC else "unifi-os"
        retry = RetryPolicy(attempts=1, login_wait=0.0)
        with ControllerClient(
            controller.url, credentials, flavor=flavor, trust=trust, request_timeout=LOOK_TIMEOUT_S, retry=retry
        ) as client:
            client.require_unifi_os()
            client.login()
            current = read_bgp(client, controller.site)
            live = list_records(client, controller.site)
        found = unifi_os_drift.classify(
            current,
            live,
            bgpd_conf=bgpd_conf,
            stack=stack,
            wanted=[unifi_os_drift.WantedRecord.of(record) for record in records],
        )
    except (UnifiError, ValueError) as exc:
        reason = unifi_os_drift.blank(str(exc), secrets) or type(exc).__name__
        return Observation(where, None, reason, **said)
    return Observation(where, found, seen=clock().isoformat(timespec="microseconds"), **said)


def report(observation: Observation) -> None:
    said = observation.message()
    if said is not None:
        level, text = said
        (pulumi.log.warn if level == "warn" else pulumi.log.info)(text)
