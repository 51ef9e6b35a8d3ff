"""The gateway's own view of BGP, read over one SSH connection to the gateway itself (not the
controller): its neighbours' sessions and its routing table, through the commands each kind
offers a non-interactive login."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from typing import TYPE_CHECKING, Final

from components.config.model import GatewayKind
from components.unifi.options import BGP_SUMMARY_COMMAND

from .gateway_output import (
    BgpNeighbor,
    Route,
    parse_bgp_summary_json,
    parse_bgp_summary_text,
    parse_routes_json,
    parse_routes_text,
)

if TYPE_CHECKING:
    import paramiko

    from components.unifi.ssh import Password, SshTarget

# A USG (EdgeOS/Vyatta): operational commands outside its CLI go through the op-command wrapper.
_USG_ROUTES: Final = "/opt/vyatta/bin/vyatta-op-cmd-wrapper show ip route"
# UniFi OS: FRR's vtysh, as root; its JSON is FRR's own.
_FRR_SUMMARY: Final = "vtysh -c 'show ip bgp summary json'"
_FRR_ROUTES: Final = "vtysh -c 'show ip route json'"

Parser = Callable[[str], Mapping[IPv4Address, BgpNeighbor]]
RoutesParser = Callable[[str], Mapping[IPv4Network, list[Route]]]

COMMANDS: Final[dict[GatewayKind, tuple[tuple[str, Parser], tuple[str, RoutesParser]]]] = {
    GatewayKind.USG: ((BGP_SUMMARY_COMMAND, parse_bgp_summary_text), (_USG_ROUTES, parse_routes_text)),
    GatewayKind.UNIFI_OS: ((_FRR_SUMMARY, parse_bgp_summary_json), (_FRR_ROUTES, parse_routes_json)),
}


@dataclass(frozen=True)
class GatewayAccess:
    """SSH to the gateway: where, and the key or password (``source`` names where it came from)."""

    target: SshTarget
    credential: paramiko.PKey | Password
    source: str

    def __str__(self) -> str:
        return str(self.target)


@dataclass(frozen=True)
class GatewayView:
    neighbours: Mapping[IPv4Address, BgpNeighbor]
    routes: Mapping[IPv4Network, list[Route]]


class GatewayReadError(Exception):
    """The gateway could not be read; the message says how far it got."""


def read_gateway(access: GatewayAccess, kind: GatewayKind) -> GatewayView:
    """Both commands over one connection; any failure is a :class:`GatewayReadError`."""
    from components.unifi.errors import UnifiError
    from components.unifi.ssh import SshSession

    from .gateway_output import GatewayOutputError

    (summary_command, parse_summary), (routes_command, parse_table) = COMMANDS[kind]
    try:
        with SshSession.open(access.target, access.credential, access.source) as session:
            outputs = []
            for command in (summary_command, routes_command):
                result = session.run(command)
                if result.exit_code != 0:
                    message = " ".join(result.stderr.split())[:200] or "no message"
                    raise GatewayReadError(f"{command!r} on {access} exited {result.exit_code}: {message}")
                outputs.append(result.stdout)
        return GatewayView(parse_summary(outputs[0]), parse_table(outputs[1]))
    except UnifiError as exc:
        raise GatewayReadError(f"ssh {access}: {exc}") from None
    except GatewayOutputError as exc:
        raise GatewayReadError(f"the gateway's output could not be read: {exc}") from None
