"""What the gateway prints about BGP, read into values: ``show ip bgp summary`` and
``show ip route`` and their IPv6 counterparts (``show ipv6 bgp summary`` / FRR's ``show bgp
ipv6 unicast summary``, ``show ipv6 route``), as text and as FRR's JSON; and for IPv6 the
BGP paths behind a route (``show ipv6 bgp <address>``, FRR's ``show bgp ipv6 unicast json``),
which name the neighbour a link-local next hop belongs to.

Text comes from three routing stacks that share an ancestry (GNU Zebra) and a column layout,
and differ in the details this module reads around:

- a USG (``/opt/vyatta/bin/vyatta-op-cmd-wrapper``): Vyatta's patched Quagga 0.99.x; the
  shapes are those of Quagga's ``bgpd/bgp_vty.c`` ``bgp_show_summary`` and
  ``zebra/zebra_vty.c`` ``vty_show_ip_route`` (tag ``quagga_0_99_20_release``);
- an EdgeRouter (EdgeOS 1.x and 2.x): a ZebOS-derived stack whose summary counts
  "Established sessions" and whose route lines put the code and the ``*>`` marks in
  separate columns (``C    *> 10.0.0.0/24 ...``);
- FRR's vtysh (UniFi OS, the lab simulator; FRR 8.4 ``bgpd/bgp_vty.c`` ``bgp_show_summary``,
  ``zebra/zebra_vty.c`` ``vty_show_ip_route``): address-family headings, ``PfxSnt`` and
  ``Desc`` columns, ``(Policy)`` for an eBGP session without a policy.

The tables are read by their header, not by character positions: the columns before
``Up/Down`` are counted from the header, so widened columns (a long AS number, FRR's
Neighbor column grown for a long address) and lines wrapped onto an indented next line (Quagga
puts a neighbour address of 16 characters or more on a line of its own) read the same.

Each parser reads one family: the IPv4 ones skip IPv6 neighbours and routes (a USG activates
its IPv6 neighbours for IPv4 unicast too, so they are rows of ``show ip bgp summary``), the IPv6
ones skip IPv4 neighbours and routes; neighbours named by an interface are skipped by both.
A line that should be a row but cannot be read raises :class:`GatewayOutputError` naming it,
and so does output that is not the command's at all, so that neither reads as "no sessions" or
"no route".

IPv6 next hops: a speaker on the gateway's own network (MetalLB's FRR speaker) announces a
global and a link-local next hop, and the gateway installs the link-local one (FRR 8.4
``bgpd/bgp_zebra.c`` ``update_ipv6nh_for_route_install``; Quagga 0.99.20 ``bgp_zebra_announce``;
recorded: ``tests/verify/outputs/frr-uos-dual-route6.*``). Only the BGP paths
(:class:`BgpPath`) tie such a next hop to its neighbour.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Any, Literal

from components.config.model import IPAddress, IPNetwork

ESTABLISHED = "Established"
Version = Literal[4, 6]


class GatewayOutputError(ValueError):
    """The gateway's output could not be read; the message names what and where."""


@dataclass(frozen=True)
class BgpNeighbor:
    address: IPAddress
    remote_as: int | None
    state: str  # "Established", or the state as printed: "Active", "Idle (Admin)", "OpenSent"...
    uptime: str | None  # as printed ("00:01:02", "1d02h03m", "never"); None when not given
    prefixes_received: int | None  # when Established; None otherwise

    @property
    def established(self) -> bool:
        return self.state == ESTABLISHED


@dataclass(frozen=True)
class Route:
    prefix: IPNetwork
    protocol: str  # "bgp", "connected", "kernel", "static", "ospf"... lower-case
    selected: bool  # the selected route ('>' in text; FRR JSON "selected")
    next_hops: tuple[IPAddress, ...]  # the next hops in the FIB, in printed order (IPv6: link-local too)


@dataclass(frozen=True)
class BgpPath:
    """One path of the gateway's BGP table for a prefix: who announced it, with which next hops."""

    prefix: IPNetwork
    peer: IPAddress | None  # the neighbour it came from; None for the gateway's own
    next_hops: tuple[IPAddress, ...]  # as announced: the global one, then the link-local one if any
    best: bool
    selected: bool  # handed to the routing table: the best path, or one installed beside it (multipath)


# --- shared ---------------------------------------------------------------------------------


def _quote(line: str, limit: int = 80) -> str:
    """The line for a message: its runs of blanks closed up, shortened."""
    text = " ".join(line.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _first_line(text: str) -> str:
    return next((line for line in text.splitlines() if line.strip()), "")


def _address(name: str, what: str, where: str, line: str | None = None) -> IPAddress | None:
    """``name`` as an IP address; None for any other name (an interface, a host name). What
    looks like an address but is none raises (quoting ``line`` if given): dotted digits that
    are no IPv4 address, hex digits and colons that are no IPv6 address."""
    try:
        return ip_address(name)
    except ValueError:
        quoted = "" if line is None else f": {_quote(line)}"
        if re.fullmatch(r"[\d.]+", name):
            raise GatewayOutputError(f"{where}: {what} {name!r} is not an IPv4 address{quoted}") from None
        if ":" in name and re.fullmatch(r"[0-9A-Fa-f:.]+", name):
            raise GatewayOutputError(f"{where}: {what} {name!r} is not an IPv6 address{quoted}") from None
        return None


def _of(version: Version, name: str, what: str, where: str, line: str | None = None) -> IPAddress | None:
    """``name`` as an address of IP ``version``; None for the other family or another name."""
    address = _address(name, what, where, line)
    return address if address is not None and address.version == version else None


def _family(version: Version) -> str:
    return f"IPv{version} Unicast"


# --- show ip bgp summary: text -----------------------------------------------------------

# FRR prints one table per address family under a heading ("IPv4 Unicast Summary (VRF default):");
# Quagga and EdgeOS print the IPv4 unicast table alone, without one.
_FAMILY_HEADING = re.compile(r"(?P<family>\S+(?: \S+)*?) Summary(?: \([^)]*\))?:")
# What each stack prints instead of a table when there is none: FRR bgp_show_summary and
# bgp_show_summary_afi_safi ("No IPv4 Unicast neighbor is configured", "% No BGP neighbors found
# in VRF default"), bgp_show_summary_vty ("% BGP instance not found"), Quagga ("No IPv4 neighbor
# is configured", "% No such BGP instance exist"), ZebOS ("% No such BGP instance exists").
_NO_NEIGHBORS = re.compile(
    r"No (?:\S+ )*?neighbou?rs? (?:is configured|found)|BGP instance not found|No such BGP instance"
    r"|No BGP process is configured"
)
_ROUTER_ID = re.compile(r"BGP router identifier \S+, local AS number")
# The lines that close a table: FRR "Total number of neighbors 4", "Displayed neighbors 2",
# "* - dynamic neighbor", "2 dynamic neighbor(s), limit 100", "% No matching neighbor"; Quagga
# 1.x "Total num. Established sessions 3"; EdgeOS "Total number of Established sessions 3".
_TABLE_END = re.compile(r"Total num|Displayed neighbors|\* - dynamic neighbor|\d+ dynamic neighbor|% No matching")
# FRR, Quagga and ZebOS peer_uptime: "never", "00:01:02", "1d02h03m", "03w6d21h", "01y02w3d".
_UPTIME = re.compile(r"never|\d+:\d\d:\d\d|(?:\d+[ywdhms])+")
# A session state as bgp_status_msg names it; "Idle" may carry why: "(Admin)", "(PfxCt)".
_STATE = re.compile(r"[A-Z][A-Za-z]+")
_STATE_REASON = re.compile(r"\([A-Za-z-]+\)")
# FRR, established: the PfxRcd column says "(Policy)" when RFC 8212 (ebgp-requires-policy) drops
# every route for want of an import policy, "NoNeg" when the address family was not negotiated;
# none of the neighbour's routes is accepted either way (its JSON pfxRcd is 0).
_ESTABLISHED_NO_PREFIXES = ("(Policy)", "NoNeg")
_PFX_SNT = re.compile(r"\d+|\(Policy\)|NoNeg")


@dataclass(frozen=True)
class _Header:
    columns: tuple[str, ...]

    @classmethod
    def read(cls, text: str, number: int) -> _Header:
        columns = tuple(text.split())
        if "AS" not in columns or "Up/Down" not in columns:
            raise GatewayOutputError(
                f"line {number}: a neighbour table header without the AS and Up/Down columns: {_quote(text)}"
            )
        return cls(columns)

    @property
    def as_index(self) -> int:
        return self.columns.index("AS")

    @property
    def uptime_index(self) -> int:
        return self.columns.index("Up/Down")


def _is_header(line: str) -> bool:
    return line.split(maxsplit=1)[0] in ("Neighbor", "Neighbour")


def _joined(lines: list[str], index: int) -> tuple[str, int]:
    """Line ``index`` and the indented lines that continue it (a wrapped row or header), as
    one line; and the index past them."""
    text = lines[index].strip()
    index += 1
    while index < len(lines) and lines[index][:1].isspace() and lines[index].strip():
        text += " " + lines[index].strip()
        index += 1
    return text, index


def _summary_state(cells: list[str], header: _Header, number: int, row: str) -> tuple[str, int | None]:
    """The State/PfxRcd column (and what follows it) of a row: (state, prefixes received)."""
    where = f"line {number}"
    if not cells:
        raise GatewayOutputError(f"{where}: a neighbour row without its State/PfxRcd column: {_quote(row)}")
    first, used = cells[0], 1
    prefixes: int | None = None
    if first.isdigit():
        state, prefixes = ESTABLISHED, int(first)
    elif first in _ESTABLISHED_NO_PREFIXES:
        state, prefixes = ESTABLISHED, 0
    elif _STATE.fullmatch(first):
        state = first
        if len(cells) > 1 and _STATE_REASON.fullmatch(cells[1]):
            state, used = f"{first} {cells[1]}", 2
    else:
        raise GatewayOutputError(f"{where}: a neighbour row whose State/PfxRcd is {first!r}: {_quote(row)}")
    if "PfxSnt" in header.columns and not (len(cells) > used and _PFX_SNT.fullmatch(cells[used])):
        raise GatewayOutputError(f"{where}: a neighbour row without a PfxSnt count after its state: {_quote(row)}")
    return state, prefixes


def _summary_row(row: str, header: _Header, number: int, version: Version) -> BgpNeighbor | None:
    """One neighbour row; None for a neighbour that is not an address of IP ``version``."""
    where = f"line {number}"
    cells = row.split()
    uptime_at = header.uptime_index
    if len(cells) <= uptime_at:
        raise GatewayOutputError(f"{where}: a neighbour row with fewer columns than its header: {_quote(row)}")
    for column, cell in zip(header.columns[1:uptime_at], cells[1:uptime_at], strict=True):
        if not cell.isdigit():
            raise GatewayOutputError(f"{where}: a neighbour row whose {column} is {cell!r}: {_quote(row)}")
    uptime = cells[uptime_at]
    if not _UPTIME.fullmatch(uptime):
        raise GatewayOutputError(f"{where}: a neighbour row whose Up/Down is {uptime!r}: {_quote(row)}")
    state, prefixes = _summary_state(cells[uptime_at + 1 :], header, number, row)
    # FRR marks a dynamic neighbour "*10.0.0.1" and, with show-hostname, names it "k1(10.0.0.1)".
    name = cells[0].removeprefix("*")
    if named := re.fullmatch(r"[^()]*\(([^()]+)\)", name):
        name = named[1]
    address = _of(version, name, "the neighbour", where, row)
    if address is None:
        return None
    return BgpNeighbor(address, int(cells[header.as_index]), state, uptime, prefixes)


def _looks_like_row(line: str) -> bool:
    first = line.split(maxsplit=1)[0].removeprefix("*")
    try:
        IPv4Address(first)
    except ValueError:
        try:
            IPv6Address(first)
        except ValueError:
            return False
    return True


def parse_bgp_summary_text(text: str) -> dict[IPv4Address, BgpNeighbor]:
    """``show ip bgp summary`` as a USG (Quagga), an EdgeRouter or FRR prints it: the IPv4
    neighbours of its IPv4 unicast table by address (an IPv6 neighbour activated for IPv4
    unicast is a row there too: skipped). Empty output (Quagga without BGP) and the "no
    neighbour" messages give no neighbours."""
    neighbors = _summary_text(text, 4, "show ip bgp summary")
    return {n.address: n for n in neighbors if isinstance(n.address, IPv4Address)}


def parse_bgp6_summary_text(text: str) -> dict[IPv6Address, BgpNeighbor]:
    """``show ipv6 bgp summary`` as a USG (Quagga) prints it, or FRR's ``show bgp ipv6 unicast
    summary`` (the same table; FRR 8.4 no longer knows the ``show ipv6 bgp`` form): the IPv6
    neighbours of the IPv6 unicast table by address. An IPv4 neighbour activated for IPv6 too
    (multiprotocol over an IPv4 session) is skipped: the sessions checked are the IPv6 ones."""
    neighbors = _summary_text(text, 6, "show ipv6 bgp summary")
    return {n.address: n for n in neighbors if isinstance(n.address, IPv6Address)}


def _summary_text(text: str, version: Version, command: str) -> list[BgpNeighbor]:
    """The neighbours of IP ``version`` in the table of that family's unicast: a table under
    its family's heading (FRR's wildcard summary prints one per family), or the table without
    a heading (the one the command asked for)."""
    lines = text.splitlines()
    neighbors: list[BgpNeighbor] = []
    recognised = not text.strip()
    wanted = True
    index = 0
    while index < len(lines):
        number, stripped = index + 1, lines[index].strip()
        if not stripped:
            index += 1
        elif heading := _FAMILY_HEADING.fullmatch(stripped):
            wanted = heading["family"] == _family(version)
            recognised = True
            index += 1
        elif _is_header(stripped):
            header_text, index = _joined(lines, index)
            header = _Header.read(header_text, number)
            recognised = True
            while index < len(lines) and lines[index].strip() and not _TABLE_END.match(lines[index].strip()):
                row_number = index + 1
                row, index = _joined(lines, index)
                neighbor = _summary_row(row, header, row_number, version)
                if neighbor is not None and wanted:
                    neighbors.append(neighbor)
        elif _NO_NEIGHBORS.search(stripped) or _ROUTER_ID.match(stripped):
            recognised = True
            index += 1
        elif stripped.startswith("%"):
            raise GatewayOutputError(f"line {number}: a message instead of a BGP summary: {_quote(stripped)}")
        elif _looks_like_row(stripped):
            raise GatewayOutputError(f"line {number}: a neighbour row before any table header: {_quote(stripped)}")
        else:
            index += 1  # the lines around the tables: table version, RIB entries, peers, totals
    if not recognised:
        raise GatewayOutputError(f"not the output of {command}: {_quote(_first_line(text))}")
    return neighbors


# --- show ip bgp summary json (FRR) -----------------------------------------------------------

# The keys of the wildcard summary's address families (FRR get_afi_safi_str, json=true).
_FAMILY_KEY = re.compile(r"(?:ipv4|ipv6|l2Vpn)[A-Z]\w*")


def _json_document(text: str, command: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise GatewayOutputError(f"not the JSON of {command} ({exc}): {_quote(_first_line(text))}") from exc


def _peers(document: Any, version: Version, command: str) -> Mapping[str, Any]:
    """The unicast peers of IP ``version`` in a summary's JSON, wrapped in its family's key
    (``ipv4Unicast``, ``ipv6Unicast``: the wildcard summary) or not (one family asked for)."""
    family_key = f"ipv{version}Unicast"
    if not isinstance(document, Mapping):
        raise GatewayOutputError(f"{command}: the top level is a {type(document).__name__}")
    if "peers" in document:
        table = document
    elif family_key in document:
        table = document[family_key]
        if not isinstance(table, Mapping) or "peers" not in table:
            raise GatewayOutputError(f"{command}: {family_key} holds no peers")
    else:
        others = sorted(str(key) for key in document if not _FAMILY_KEY.fullmatch(str(key)))
        if others:
            raise GatewayOutputError(f"{command}: neither peers nor {family_key}, but {', '.join(others[:5])}")
        return {}  # {} (no BGP, or no neighbour of this family), or other address families only
    peers = table["peers"]
    if not isinstance(peers, Mapping):
        raise GatewayOutputError(f"{command}: peers is not an object")
    return peers


def _json_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_bgp_summary_json(text: str) -> dict[IPv4Address, BgpNeighbor]:
    """FRR's ``show ip bgp summary json``: with the address-family wrapper (``"ipv4Unicast":
    {"peers": ...}``, the wildcard summary) or without it (one family asked for); ``{}`` or
    empty output give no neighbours."""
    neighbors = _summary_json(text, 4, "show ip bgp summary json")
    return {n.address: n for n in neighbors if isinstance(n.address, IPv4Address)}


def parse_bgp6_summary_json(text: str) -> dict[IPv6Address, BgpNeighbor]:
    """FRR's ``show bgp ipv6 unicast summary json`` (no wrapper), or a summary holding
    ``"ipv6Unicast"`` (``show bgp summary json``, every family): the IPv6 neighbours of the
    IPv6 unicast table; ``{}`` or empty output give none."""
    neighbors = _summary_json(text, 6, "show bgp ipv6 unicast summary json")
    return {n.address: n for n in neighbors if isinstance(n.address, IPv6Address)}


def _summary_json(text: str, version: Version, command: str) -> list[BgpNeighbor]:
    if not text.strip():
        return []
    neighbors = []
    for key, peer in _peers(_json_document(text, command), version, command).items():
        where = f"{command}: peer {key!r}"
        address = _of(version, str(key), "the peer", where)
        if address is None:
            continue
        if not isinstance(peer, Mapping) or not isinstance(peer.get("state"), str):
            raise GatewayOutputError(f"{where} has no state")
        state = peer["state"]
        uptime = peer.get("peerUptime")
        prefixes = None
        if state == ESTABLISHED:
            # pfxRcd since FRR 7.5; prefixReceivedCount before.
            prefixes = _json_int(peer.get("pfxRcd", peer.get("prefixReceivedCount")))
        neighbors.append(
            BgpNeighbor(
                address, _json_int(peer.get("remoteAs")), state, uptime if isinstance(uptime, str) else None, prefixes
            )
        )
    return neighbors


# --- show ip route: text ------------------------------------------------------------------------

# The route codes: FRR 8.4 lib/route_types.txt (their letters) and zebra_route_string (the
# names its JSON gives); Quagga's are a subset. EdgeOS (ZebOS) prints IS-IS as "i". FRR 9 added
# "L" (local: the router's own addresses), which FRR 8.4 gave LDP; no LDP route reaches the RIB.
_PROTOCOLS = {
    "K": "kernel",
    "C": "connected",
    "L": "local",
    "S": "static",
    "R": "rip",
    "O": "ospf",
    "I": "isis",
    "i": "isis",
    "B": "bgp",
    "P": "pim",
    "E": "eigrp",
    "N": "nhrp",
    "H": "hsls",
    "o": "olsr",
    "T": "table",
    "v": "vnc",
    "V": "vnc-direct",
    "A": "babel",
    "D": "sharp",
    "F": "pbr",
    "f": "openfabric",
}
# A route's first line: its codes, its prefix, and the rest (distance/metric, the first next hop).
_ROUTE = re.compile(r"(?P<codes>\S.*?)\s+(?P<prefix>[0-9A-Fa-f:.]+/\d{1,3})(?P<rest>\s.*)?")
# FRR and Quagga: one word, the code letter, FRR's "[instance]", then '>' (selected) and the
# first next hop's mark ('*' in the FIB, 'q' queued, 'r' rejected; 'b' a backup).
_FRR_CODES = re.compile(r"(?P<code>[A-Za-z])(?:\[\d+\])?(?P<marks>[>*qrtob]*)")
# EdgeOS: a code column ("B", "O IA", "O E2") and then the marks column ("*>", "p" stale).
_EDGEOS_MARKS = re.compile(r"[*>p]+")
# EdgeOS's IPv6 table (v2.0.6, pasted: tests/verify/outputs/README.md) opens with this line and
# prints no marks column at all ("S      ::/0 [50/0] via ::, pppoe4, 01w0d05h"): every route it
# lists is read as selected and in the FIB.
_EDGEOS_IPV6_TABLE = "IPv6 Routing Table"
# A further next hop: indented, its marks, then (EdgeOS) the distance/metric again.
_NEXT_HOP_LINE = re.compile(
    r"\s+(?P<marks>[*>qrtobp]*)\s*(?:\[\d+/\d+\]\s*)?(?P<hop>(?:via|is directly connected|unreachable)\b.*)"
)
_HOP = re.compile(r"(?:\[\d+/\d+\]\s*)?(?:\(\d+\)\s*)?(?P<hop>(?:via|is directly connected|unreachable)\b.*)")
# Lines that are neither routes nor next hops: FRR's per-VRF headings ("VRF default:", "IPv4
# unicast VRF default:"), EdgeOS's "IP Route Table for VRF "default"", and the lines EdgeOS puts
# around the legend of its IPv6 table ("IPv6 Routing Table", "Timers: Uptime").
_ROUTE_HEADINGS = re.compile(
    r"(?:IPv[46] unicast )?VRF \S+:|IP Route Table for VRF .*|Routing table for VRF.*|Timers: .*|" + _EDGEOS_IPV6_TABLE
)


def _protocol(code: str, number: int, line: str) -> str:
    try:
        return _PROTOCOLS[code]
    except KeyError:
        raise GatewayOutputError(f"line {number}: a route of unknown code {code!r}: {_quote(line)}") from None


def _route_codes(codes: str, number: int, line: str) -> tuple[str, bool, bool]:
    """(protocol, selected, first next hop in the FIB) from the codes before the prefix."""
    words = codes.split()
    if len(words) == 1 and (frr := _FRR_CODES.fullmatch(words[0])):
        marks = frr["marks"]
        return _protocol(frr["code"], number, line), ">" in marks, "*" in marks and "b" not in marks
    marks = words[-1] if len(words) > 1 and _EDGEOS_MARKS.fullmatch(words[-1]) else ""
    code = words[0]
    if len(code) != 1:
        raise GatewayOutputError(f"line {number}: a route line whose codes are {codes!r}: {_quote(line)}")
    return _protocol(code, number, line), ">" in marks, "*" in marks


def _next_hop(hop: str, number: int, line: str, version: Version) -> IPAddress | None:
    """The gateway of "via 10.0.0.1, eth0, ..." if of IP ``version``; None for a directly
    connected or unreachable route, "via pppoe0" (an interface), a gateway of the other family
    and EdgeOS's "via ::" (its IPv6 table's connected routes)."""
    if not hop.startswith("via"):
        return None
    words = hop.split()
    if len(words) < 2:
        raise GatewayOutputError(f"line {number}: a next hop without an address: {_quote(line)}")
    address = _of(version, words[1].rstrip(",)"), "the next hop", f"line {number}", line)
    return None if isinstance(address, IPv6Address) and address.is_unspecified else address


@dataclass
class _Building:
    prefix: IPNetwork
    protocol: str
    selected: bool
    next_hops: list[IPAddress]

    def route(self) -> Route:
        return Route(self.prefix, self.protocol, self.selected, tuple(self.next_hops))


def _route_lines(text: str) -> Iterator[tuple[int, str]]:
    """The numbered lines of the table: without the codes legend ("Codes: ..." and its
    indented lines) and without blank lines."""
    in_legend = False
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            in_legend = False
        elif line.startswith("Codes:"):
            in_legend = True
        elif not (in_legend and line[:1].isspace()):
            in_legend = False
            yield number, line


def parse_routes_text(text: str) -> dict[IPv4Network, list[Route]]:
    """``show ip route`` as a USG (Quagga), an EdgeRouter or FRR prints it: every IPv4 route by
    prefix, in printed order (a prefix can have several: the selected one and the others),
    each with the next hops that are in the FIB."""
    routes = _routes_text(text, 4, "show ip route")
    return {prefix: entries for prefix, entries in routes.items() if isinstance(prefix, IPv4Network)}


def parse_routes6_text(text: str) -> dict[IPv6Network, list[Route]]:
    """``show ipv6 route`` as a USG (Quagga 0.99: ``zebra/zebra_vty.c`` ``vty_show_ipv6_route``,
    the layout of ``show ip route``), an EdgeRouter (no marks column) or FRR prints it: every
    IPv6 route by prefix, each with the next hops in the FIB, link-local ones included."""
    routes = _routes_text(text, 6, "show ipv6 route")
    return {prefix: entries for prefix, entries in routes.items() if isinstance(prefix, IPv6Network)}


def _routes_text(text: str, version: Version, command: str) -> dict[IPNetwork, list[Route]]:
    if not text.strip():
        raise GatewayOutputError(f"empty output: expected the output of {command}")
    routes: dict[IPNetwork, list[Route]] = {}
    building: _Building | None = None
    skipping = False  # the next hops of a route of the other family
    recognised = "Codes:" in text
    unmarked = any(line.strip() == _EDGEOS_IPV6_TABLE for line in text.splitlines())

    def finish() -> None:
        if building is not None:
            routes.setdefault(building.prefix, []).append(building.route())

    for number, line in _route_lines(text):
        if line[:1].isspace():
            if skipping:
                continue
            further = _NEXT_HOP_LINE.fullmatch(line)
            if further is None or building is None:
                what = "next hop" if building is not None else "next hop with no route before it"
                raise GatewayOutputError(f"line {number}: cannot read this {what}: {_quote(line)}")
            address = _next_hop(further["hop"], number, line, version)
            marks = further["marks"]
            if address is not None and ("*" in marks or (unmarked and not marks)) and "b" not in marks:
                building.next_hops.append(address)
            continue
        if _ROUTE_HEADINGS.fullmatch(line.strip()):
            recognised = True
            continue
        found = _ROUTE.fullmatch(line.rstrip())
        if found is None:
            raise GatewayOutputError(f"line {number}: not a route: {_quote(line)}")
        try:
            network = ip_network(found["prefix"])
        except ValueError:
            raise GatewayOutputError(
                f"line {number}: a route whose prefix is {found['prefix']!r}: {_quote(line)}"
            ) from None
        finish()
        building, recognised = None, True
        skipping = network.version != version
        if skipping:
            continue  # a route of the other family: its next-hop lines are skipped too
        protocol, selected, in_fib = _route_codes(found["codes"], number, line)
        if unmarked and found["codes"].strip() in _PROTOCOLS:
            selected = in_fib = True
        hop = _HOP.fullmatch((found["rest"] or "").strip())
        if hop is None:
            raise GatewayOutputError(f"line {number}: cannot read the next hop of this route: {_quote(line)}")
        address = _next_hop(hop["hop"], number, line, version)
        building = _Building(network, protocol, selected, [address] if address is not None and in_fib else [])
    finish()
    if not recognised:
        raise GatewayOutputError(f"not the output of {command}: {_quote(_first_line(text))}")
    return routes


# --- show ip route json (FRR) -------------------------------------------------------------------


def _fib_next_hops(entry: Mapping[str, Any], where: str, version: Version) -> tuple[IPAddress, ...]:
    """The next hops FRR's text marks '*' (zebra_vty.c re_status_output_char): those of an
    installed route that are in the FIB, neither duplicates nor the recursive next hop (the
    next hops resolving it follow it in the list, each in the FIB itself)."""
    nexthops = entry.get("nexthops", [])
    if not isinstance(nexthops, list):
        raise GatewayOutputError(f"{where}: nexthops is not a list")
    if entry.get("installed") is not True:
        return ()
    hops = []
    for nexthop in nexthops:
        if not isinstance(nexthop, Mapping):
            raise GatewayOutputError(f"{where}: a next hop is not an object")
        if nexthop.get("fib") is not True or nexthop.get("duplicate") or nexthop.get("recursive"):
            continue
        ip = nexthop.get("ip")
        if isinstance(ip, str) and (address := _of(version, ip, "the next hop", where)) is not None:
            hops.append(address)
    return tuple(hops)


def parse_routes_json(text: str) -> dict[IPv4Network, list[Route]]:
    """FRR's ``show ip route json``: ``{prefix: [route, ...]}``, every IPv4 route of each
    prefix in printed order."""
    routes = _routes_json(text, 4, "show ip route json")
    return {prefix: entries for prefix, entries in routes.items() if isinstance(prefix, IPv4Network)}


def parse_routes6_json(text: str) -> dict[IPv6Network, list[Route]]:
    """FRR's ``show ipv6 route json``: every IPv6 route of each prefix, each with its next
    hops in the FIB (a link-local one as FRR gives it, without its interface)."""
    routes = _routes_json(text, 6, "show ipv6 route json")
    return {prefix: entries for prefix, entries in routes.items() if isinstance(prefix, IPv6Network)}


def _routes_json(text: str, version: Version, command: str) -> dict[IPNetwork, list[Route]]:
    document = _json_document(text, command)
    if not isinstance(document, Mapping):
        raise GatewayOutputError(f"{command}: the top level is a {type(document).__name__}")
    routes: dict[IPNetwork, list[Route]] = {}
    for network, entries, where in _by_prefix(document, command, version, "routes", " (the JSON of another command?)"):
        for entry in entries:
            if not isinstance(entry, Mapping) or not isinstance(entry.get("protocol"), str):
                raise GatewayOutputError(f"{where}: a route without a protocol")
            route = Route(
                network,
                entry["protocol"].lower(),
                entry.get("selected") is True,
                _fib_next_hops(entry, where, version),
            )
            routes.setdefault(network, []).append(route)
    return routes


def _by_prefix(
    table: Mapping[Any, Any], command: str, version: Version, items: str, hint: str = ""
) -> Iterator[tuple[IPNetwork, list[Any], str]]:
    """The entries of a JSON table keyed by prefix (FRR's ``{prefix: [route or path, ...]}``),
    those of one IP version, each with the text that names it in an error."""
    for key, entries in table.items():
        where = f"{command}: {key!r}"
        try:
            network = ip_network(str(key))
        except ValueError:
            raise GatewayOutputError(f"{where} is not a prefix{hint}") from None
        if network.version != version:
            continue
        if not isinstance(entries, list):
            raise GatewayOutputError(f"{where}: its {items} are not a list")
        yield network, entries, where


# --- the BGP paths behind an IPv6 route ---------------------------------------------------------

# ``show ipv6 bgp <address>`` (Quagga 0.99.20 bgpd/bgp_route.c route_vty_out_detail_header and
# route_vty_out_detail; FRR 8.4 the same lines, FRR's ``show bgp ipv6 unicast <address>``):
#   BGP routing table entry for 2001:db8:100::10/128[, version 3]
#   Paths: (2 available, best #2, table Default-IP-Routing-Table)
#     Local                                                  <- the AS path
#       fd00:10::12 from fd00:10::12 (10.60.0.12)            <- global next hop, neighbour, its id
#       (fe80::248f:3eff:fef3:2d2b)[ (used)]                 <- the link-local next hop, if sent
#         Origin IGP, metric 0, localpref 100, valid, internal[, multipath][, best[ (reason)]]
_ENTRY = re.compile(r"BGP routing table entry for (?P<prefix>\S+?)(?:, version \d+)?")
_FROM = re.compile(
    r"(?P<hop>\S+)(?: \((?:inaccessible|metric \d+)\))?(?: \(inaccessible\))? from (?P<peer>\S+)(?: \(.*\))?"
)
_LINK_LOCAL = re.compile(r"\((?P<hop>[0-9A-Fa-f:.]+)\)(?: \(used\))?")
_ORIGIN = re.compile(r"Origin (?P<rest>.*)")
_NOT_IN_TABLE = "% Network not in table"


@dataclass
class _PathBuilding:
    prefix: IPNetwork
    peer: IPAddress | None
    next_hops: list[IPAddress]
    best: bool = False
    multipath: bool = False

    def path(self) -> BgpPath:
        return BgpPath(self.prefix, self.peer, tuple(self.next_hops), self.best, self.best or self.multipath)


def _peer_name(name: str, where: str, line: str) -> IPAddress | None:
    """``fd00::11``, or FRR's ``n1(fd00::11)`` with show-hostname; None for the router's own
    (``::``, ``0.0.0.0``) or a neighbour named by an interface."""
    if named := re.fullmatch(r"[^()]*\(([^()]+)\)", name):
        name = named[1]
    address = _address(name, "the neighbour", where, line)
    return None if address is None or address.is_unspecified else address


def parse_bgp6_paths_text(text: str) -> dict[IPv6Network, list[BgpPath]]:
    """``show ipv6 bgp <address>`` as a USG (Quagga) prints it, or FRR's ``show bgp ipv6
    unicast <address>``: the paths of the entry that holds the address, each with its
    neighbour and next hops. "% Network not in table" gives none."""
    paths: dict[IPNetwork, list[BgpPath]] = {}
    prefix: IPNetwork | None = None
    building: _PathBuilding | None = None
    recognised = False

    def finish() -> None:
        if building is not None:
            paths.setdefault(building.prefix, []).append(building.path())

    for number, line in enumerate(text.splitlines(), start=1):
        stripped, where = line.strip(), f"line {number}"
        if entry := _ENTRY.fullmatch(stripped):
            finish()
            building, recognised = None, True
            try:
                prefix = ip_network(entry["prefix"])
            except ValueError:
                raise GatewayOutputError(f"{where}: an entry whose prefix is {entry['prefix']!r}") from None
        elif stripped == _NOT_IN_TABLE:
            recognised = True
        elif (found := _FROM.fullmatch(stripped)) and line[:1].isspace():
            if prefix is None:
                raise GatewayOutputError(f"{where}: a path before any table entry: {_quote(line)}")
            finish()
            hop = _address(found["hop"], "the next hop", where, line)
            hops = [hop] if hop is not None and not hop.is_unspecified else []
            building = _PathBuilding(prefix, _peer_name(found["peer"], where, line), hops)
        elif (local := _LINK_LOCAL.fullmatch(stripped)) and building is not None:
            hop = _address(local["hop"], "the link-local next hop", where, line)
            if hop is not None:
                building.next_hops.append(hop)
        elif (origin := _ORIGIN.fullmatch(stripped)) and building is not None:
            flags = [flag.strip() for flag in origin["rest"].split(",")]
            building.best = any(flag == "best" or flag.startswith("best (") for flag in flags)
            building.multipath = "multipath" in flags
        elif stripped.startswith("%"):
            raise GatewayOutputError(f"{where}: a message instead of a BGP table entry: {_quote(stripped)}")
    finish()
    if not recognised:
        raise GatewayOutputError(f"not the output of show ipv6 bgp <address>: {_quote(_first_line(text))}")
    return {prefix: entries for prefix, entries in paths.items() if isinstance(prefix, IPv6Network)}


def parse_bgp6_paths_json(text: str) -> dict[IPv6Network, list[BgpPath]]:
    """FRR's ``show bgp ipv6 unicast json`` (``{"routes": {prefix: [path, ...]}}``), or one
    entry's ``show bgp ipv6 unicast <address> json`` (``{"prefix": ..., "paths": [...]}``):
    each path with its neighbour (``peerId``) and next hops. ``{}`` gives none."""
    command = "show bgp ipv6 unicast json"
    document = _json_document(text, command) if text.strip() else {}
    if not isinstance(document, Mapping):
        raise GatewayOutputError(f"{command}: the top level is a {type(document).__name__}")
    if "paths" in document:
        table: Any = {document.get("prefix"): document["paths"]}
    elif "routes" in document:
        table = document["routes"]
    elif document:
        raise GatewayOutputError(f"{command}: neither routes nor paths, but {', '.join(sorted(document)[:5])}")
    else:
        table = {}  # no BGP instance
    if not isinstance(table, Mapping):
        raise GatewayOutputError(f"{command}: routes is not an object")
    paths: dict[IPNetwork, list[BgpPath]] = {}
    for network, entries, where in _by_prefix(table, command, 6, "paths"):
        for entry in entries:
            paths.setdefault(network, []).append(_json_path(network, entry, where))
    return {prefix: entries for prefix, entries in paths.items() if isinstance(prefix, IPv6Network)}


def _json_path(network: IPNetwork, entry: Any, where: str) -> BgpPath:
    if not isinstance(entry, Mapping) or not isinstance(entry.get("nexthops", []), list):
        raise GatewayOutputError(f"{where}: a path is not an object with a list of next hops")
    peer = entry.get("peer")
    peer_id = peer.get("peerId") if isinstance(peer, Mapping) else entry.get("peerId")
    address = _address(peer_id, "the peer", where) if isinstance(peer_id, str) else None
    hops = []
    for nexthop in entry.get("nexthops", []):
        ip = nexthop.get("ip") if isinstance(nexthop, Mapping) else None
        hop = _address(ip, "the next hop", where) if isinstance(ip, str) else None
        if hop is not None and not hop.is_unspecified:
            hops.append(hop)
    best = entry.get("bestpath")  # true in the table, {"overall": true, ...} for one entry
    is_best = best is True or (isinstance(best, Mapping) and best.get("overall") is True)
    peer_address = None if address is None or address.is_unspecified else address
    # FRR's table marks "multipath" on the paths beside the best one; one entry's JSON on the best too.
    return BgpPath(network, peer_address, tuple(hops), is_best, is_best or entry.get("multipath") is True)
