"""The gateway's own view of BGP, read over one SSH connection to the gateway itself (not the
controller): its neighbours' sessions and its routing table, through the commands each kind
offers a non-interactive login. IPv6 is read only when the lab expects it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import TYPE_CHECKING, Any, Final

from components.config.model import GatewayKind
from components.unifi.options import BGP_SUMMARY_COMMAND

from .gateway_output import (
    BgpNeighbor,
    BgpPath,
    Route,
    parse_bgp6_paths_json,
    parse_bgp6_paths_text,
    parse_bgp6_summary_json,
    parse_bgp6_summary_text,
    parse_bgp_summary_json,
    parse_bgp_summary_text,
    parse_routes6_json,
    parse_routes6_text,
    parse_routes_json,
    parse_routes_text,
)

if TYPE_CHECKING:
    import paramiko

    from components.unifi.ssh import Password, SshTarget

# A USG (EdgeOS/Vyatta): operational commands outside its CLI go through the op-command wrapper.
# Its IPv6 templates hand the words to vtysh as they are (vyos/vyatta-op-quagga@vyatta/VC6.6R1/amd64:
# templates/show/ipv6/bgp/summary/node.def, show/ipv6/route/node.def, show/ipv6/bgp/node.tag/node.def).
USG_WRAPPER: Final = "/opt/vyatta/bin/vyatta-op-cmd-wrapper"
_USG_ROUTES: Final = f"{USG_WRAPPER} show ip route"
_USG_SUMMARY6: Final = f"{USG_WRAPPER} show ipv6 bgp summary"
_USG_ROUTES6: Final = f"{USG_WRAPPER} show ipv6 route"
# UniFi OS: FRR's vtysh, as root; its JSON is FRR's own.
_FRR_SUMMARY: Final = "vtysh -c 'show ip bgp summary json'"
_FRR_ROUTES: Final = "vtysh -c 'show ip route json'"
_FRR_SUMMARY6: Final = "vtysh -c 'show bgp ipv6 unicast summary json'"
_FRR_ROUTES6: Final = "vtysh -c 'show ipv6 route json'"
_FRR_PATHS6: Final = "vtysh -c 'show bgp ipv6 unicast json'"

Parser = Callable[[str], Mapping[IPv4Address, BgpNeighbor]]
RoutesParser = Callable[[str], Mapping[IPv4Network, list[Route]]]

COMMANDS: Final[dict[GatewayKind, tuple[tuple[str, Parser], tuple[str, RoutesParser]]]] = {
    GatewayKind.USG: ((BGP_SUMMARY_COMMAND, parse_bgp_summary_text), (_USG_ROUTES, parse_routes_text)),
    GatewayKind.UNIFI_OS: ((_FRR_SUMMARY, parse_bgp_summary_json), (_FRR_ROUTES, parse_routes_json)),
}


@dataclass(frozen=True)
class Read:
    """One command of a gateway read: what its output is read into (a field of GatewayView)."""

    command: str
    into: str  # neighbours | routes | neighbours6 | routes6 | paths6
    parse: Callable[[str], Mapping[Any, Any]]


def gateway_reads(kind: GatewayKind, *, sessions6: bool = False, routes6: Sequence[IPv6Address] = ()) -> list[Read]:
    """The commands a read runs, in order: the IPv4 summary and table always; the IPv6 summary
    when a node peers over IPv6 (``sessions6``); for IPv6 service addresses (``routes6``) the IPv6
    table and the BGP paths that tie its link-local next hops to neighbours: on UniFi OS the whole
    IPv6 BGP table (one command), on a USG the entry of each address (Quagga's ``show ipv6 bgp``
    table shows no neighbour)."""
    (summary, parse_summary), (table, parse_table) = COMMANDS[kind]
    reads = [Read(summary, "neighbours", parse_summary), Read(table, "routes", parse_table)]
    usg = kind is GatewayKind.USG
    if sessions6:
        reads.append(
            Read(_USG_SUMMARY6, "neighbours6", parse_bgp6_summary_text)
            if usg
            else Read(_FRR_SUMMARY6, "neighbours6", parse_bgp6_summary_json)
        )
    if routes6:
        if usg:
            reads.append(Read(_USG_ROUTES6, "routes6", parse_routes6_text))
            reads += [
                Read(f"{USG_WRAPPER} show ipv6 bgp {address}", "paths6", parse_bgp6_paths_text)
                for address in dict.fromkeys(routes6)
            ]
        else:
            reads += [
                Read(_FRR_ROUTES6, "routes6", parse_routes6_json),
                Read(_FRR_PATHS6, "paths6", parse_bgp6_paths_json),
            ]
    return reads


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
    neighbours6: Mapping[IPv6Address, BgpNeighbor] = field(default_factory=dict)
    routes6: Mapping[IPv6Network, list[Route]] = field(default_factory=dict)
    paths6: Mapping[IPv6Network, list[BgpPath]] = field(default_factory=dict)

    @classmethod
    def of(cls, reads: Sequence[Read], outputs: Sequence[str]) -> GatewayView:
        """Each output read by its command's parser; the entries of several commands that read
        into one field (a USG's per-address BGP entries) merged, the first of a prefix kept."""
        fields: dict[str, dict[Any, Any]] = {}
        for read, output in zip(reads, outputs, strict=True):
            merged = fields.setdefault(read.into, {})
            for key, value in read.parse(output).items():
                merged.setdefault(key, value)
        return cls(**fields)


class GatewayReadError(Exception):
    """The gateway could not be read; the message says how far it got."""


def read_gateway(
    access: GatewayAccess, kind: GatewayKind, *, sessions6: bool = False, routes6: Sequence[IPv6Address] = ()
) -> GatewayView:
    """The commands of :func:`gateway_reads` over one connection; any failure is a :class:`GatewayReadError`."""
    from components.unifi.errors import UnifiError
    from components.unifi.ssh import SshSession

    from .gateway_output import GatewayOutputError

    reads = gateway_reads(kind, sessions6=sessions6, routes6=routes6)
    try:
        with SshSession.open(access.target, access.credential, access.source) as session:
            outputs = []
            for read in reads:
                result = session.run(read.command)
                if result.exit_code != 0:
                    message = " ".join(result.stderr.split())[:200] or "no message"
                    raise GatewayReadError(f"{read.command!r} on {access} exited {result.exit_code}: {message}")
                outputs.append(result.stdout)
        return GatewayView.of(reads, outputs)
    except UnifiError as exc:
        raise GatewayReadError(f"ssh {access}: {exc}") from None
    except GatewayOutputError as exc:
        raise GatewayReadError(f"the gateway's output could not be read: {exc}") from None
