"""Several stacks, one gateway: what each stack's part must not share with another's, and the
gateway's files as they would be with every stack installed (issue 17).

A home lab often runs two clusters (production and test), each its own Pulumi stack, behind one
gateway. Each stack renders only its own part (its neighbours or peer-group, its BGP filter, its
host names); :func:`compose_gateway_files` puts every stack's part into one file after
:func:`shared_gateway_conflicts` found nothing that the gateway could not hold twice. The checks
read each stack's :class:`~components.artifacts.stack_claims.StackClaims` (:func:`claims_conflicts`),
not its lab, so a stack can be checked against claims documents other stacks stored on the
controller, whose stack configs are not at hand.

**What one gateway holds once** (so every stack must agree on it; anything else is per stack):

* the gateway kind: one file format per gateway.
* the BGP instance. EdgeOS has one: ``protocols bgp`` is ``tag:1``, at most one AS
  (vyos/vyatta-cfg-quagga@vyatta/VC6.3-2011.10.04/amd64: templates/protocols/bgp/node.def line 1),
  and the router id is that instance's ``parameters router-id``
  (templates/protocols/bgp/node.tag/parameters/router-id/node.def). FRR could run more than one
  instance only in VRFs, which this program does not render: ``bgp router-id`` is a command of
  the ``router bgp`` node (FRRouting/frr@frr-8.4.4: bgpd/bgp_vty.c line 1660, installed on
  BGP_NODE at line 18298). So ``gateway.asn`` and ``gateway.routerId`` must be equal.
* ``maximum-paths`` (UniFi OS only; a USG never gets it): a setting of the instance's address
  family, one for eBGP and one for iBGP paths (``struct bgp`` holds ``maxpaths[afi][safi]``
  with ``maxpaths_ebgp`` and ``maxpaths_ibgp``: bgpd/bgpd.h lines 625-630; the commands
  bgpd/bgp_vty.c lines 2409-2436, installed on BGP_IPV4_NODE at line 18351). Stacks whose
  sessions are of the same type (both eBGP or both iBGP) share that one number, so their
  ``gateway.maximumPaths`` must be equal, or both unset: unset means "one path per peering
  node", and then the composed file takes the largest such count, which gives each stack's
  service addresses as many paths as it has nodes, as it would alone.
  The IPv6 family has its own ``maximum-paths`` (``maxpaths[AFI_IP6][SAFI_UNICAST]``), from the
  same ``gateway.maximumPaths``, or unset the largest count of IPv6 neighbours of the stacks
  that peer over IPv6.
* ``no bgp default ipv4-unicast`` is instance-wide too, but every stack renders it alike.
* USG: the user's base ``config.gateway.json`` (``gateway.baseConfigFile``): there is one file
  per site, so every stack must merge into the same content (or none).

**Per neighbour or peer-group, free to differ between stacks:** the remote AS (MetalLB's
``metallb.asn``), the password, the timers, eBGP multihop, BFD (FRR: ``neighbor … password``,
``ebgp-multihop``, ``timers`` take a peer or peer-group, bgpd/bgp_vty.c lines 5022, 6452 and
7104; ``neighbor … bfd`` bgpd/bgp_bfd.c line 439; EdgeOS: templates/protocols/bgp/node.tag/
neighbor/node.tag/{password,timers,ebgp-multihop}/node.def), and the peer address the nodes
use. ``gateway.dnsDomain`` and ``gateway.dnsTtl`` are per name.

**What two stacks must not share:** an address of a pool (any protocol, either family: the same
address in two clusters; nor may one stack's node address, IPv4 or IPv6, or gateway peer address,
``peerAddress`` or ``peerAddress6``, lie in the other's pool), a node's address or ``address6``
(one neighbour cannot be two stacks' peer), a host name or alias (one name, one address), and
the filter's names (two stacks of the same id would overwrite each other's prefix-lists and
route-maps, the IPv6 ones included).

**The composed files.** USG: the base file deep-merged with every stack's part
(:func:`~components.artifacts.usg_gateway.render_config_gateway`), by the merge that refuses
different values for one path. UniFi OS: one ``bgpd.conf`` with one ``router bgp``: each stack's
filter before it, its peer-groups inside, its address-family lines (IPv6's in an ``address-family
ipv6 unicast`` that is there while a stack peers over IPv6), and ``maximum-paths`` once per
session type and family; each stack's lines between ``! metallb-unifi stack <id> begin`` and ``… end``
so that one stack's part can be found and replaced. The DNS records are the union of every
stack's. Stacks are in the order of their ids, so the bytes do not depend on the order the
stacks are given in. One stack alone gets exactly the file it gets today, without markers: the
controller already knows the whole file as that stack's (its description names it), and a
deployed stack's next ``up`` must not rewrite its gateway for no change in what it does.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from components.config.base_config import base_document
from components.config.errors import key_path
from components.config.model import GatewayKind, IPAddress, IPFamily, Lab, ServiceAddresses
from components.config.stack_names import STACK_KEY

from .dns_records import render_dns_records
from .frr import (
    AF_END,
    HEADER,
    MAX_PATHS,
    ROUTER_END,
    address_family_head,
    address_family_lines,
    families,
    filter_lines,
    maximum_paths,
    maximum_paths_line,
    peer_group_lines,
    router_head_lines,
)
from .gateway import BGPD_CONF, CONFIG_GATEWAY_JSON, DNS_RECORDS, render_gateway_files
from .stack_claims import StackClaims, lab_claims
from .usg_gateway import MergeConflict, merge_base, render_config_gateway

if TYPE_CHECKING:
    from components.discovery.rules import DiscoveredName


@dataclass(frozen=True)
class GatewayStack:
    """One stack on the gateway: its lab, the addresses its services have (pinned, and allocated
    where known), the names it discovered, and the stack file it was read from, where known."""

    lab: Lab
    addresses: ServiceAddresses = field(default_factory=dict)
    discovered: Sequence[DiscoveredName] = ()
    file: str | None = None

    @property
    def id(self) -> str:
        return self.lab.filter_names.id

    def __str__(self) -> str:
        return f"stack {self.lab.stack!r}" + (f" ({self.file})" if self.file else "")


class SharedGatewayConflict(ValueError):
    """The stacks cannot share one gateway; carries every conflict found."""

    def __init__(self, conflicts: Sequence[str]) -> None:
        self.conflicts = tuple(conflicts)
        super().__init__(self.report())

    def report(self) -> str:
        count = len(self.conflicts)
        lines = [f"these stacks cannot share one gateway ({count} conflict{'s' if count != 1 else ''}):"]
        lines += [f"  - {conflict}" for conflict in self.conflicts]
        return "\n".join(lines)


def in_order(stacks: Iterable[GatewayStack]) -> list[GatewayStack]:
    """The stacks by id (then stack name and file, so equal ids still sort the same way)."""
    return sorted(stacks, key=lambda s: (s.id, s.lab.stack, s.file or ""))


# --- conflicts ---------------------------------------------------------------------------------


def stack_claims(stack: GatewayStack) -> StackClaims:
    """What ``stack`` holds on the gateway, as the conflict checks read it."""
    return lab_claims(stack.lab, stack.discovered, stack.file)


def shared_gateway_conflicts(stacks: Sequence[GatewayStack]) -> list[str]:
    """Every reason the stacks cannot share one gateway, each naming both stacks and their keys;
    empty when they can. Every pair of stacks is compared; nothing stops at the first."""
    return claims_conflicts([stack_claims(stack) for stack in stacks])


def claims_conflicts(claims: Sequence[StackClaims]) -> list[str]:
    """:func:`shared_gateway_conflicts` of the stacks these are the claims of (from their labs,
    or read back from the documents stored on the controller)."""
    ordered = sorted(claims, key=lambda c: (c.id, c.stack, c.file or ""))  # as in_order
    conflicts: list[str] = []
    for a, b in itertools.combinations(ordered, 2):
        for check in _PAIR_CHECKS:
            conflicts += check(a, b)
    return conflicts


def _differs(a: StackClaims, b: StackClaims, key: str, value_a: object, value_b: object, why: str) -> list[str]:
    if value_a == value_b:
        return []
    return [f"{key}: {a} has {_show(value_a)}, {b} has {_show(value_b)}; {why}"]


def _show(value: object) -> str:
    return "none" if value is None else str(value)


def _same_gateway(a: StackClaims, b: StackClaims) -> list[str]:
    conflicts = _differs(
        a,
        b,
        key_path("gateway", "kind"),
        a.gateway_kind,
        b.gateway_kind,
        "one gateway is of one kind; set the same kind",
    )
    conflicts += _differs(
        a,
        b,
        key_path("gateway", "asn"),
        a.asn,
        b.asn,
        "a gateway runs one BGP instance, of one AS; set the same gateway.asn in both",
    )
    if a.router_id != b.router_id:
        conflicts.append(
            f"{key_path('gateway', 'routerId')}: {a} has {a.router_id}, {b} has {b.router_id} "
            "(the router id defaults to gateway.peerAddress); a gateway's one BGP instance has one "
            "router id: set the same gateway.routerId in both"
        )
    return conflicts


def _maximum_paths(a: StackClaims, b: StackClaims) -> list[str]:
    if GatewayKind.UNIFI_OS.value not in (a.gateway_kind, b.gateway_kind) or a.gateway_kind != b.gateway_kind:
        return []
    if a.ebgp != b.ebgp:
        return []  # eBGP and iBGP paths are two settings of the instance
    session = "eBGP" if a.ebgp else "iBGP"
    return _differs(
        a,
        b,
        key_path("gateway", "maximumPaths"),
        a.maximum_paths,
        b.maximum_paths,
        f"the gateway's one BGP instance has one maximum-paths for {session} sessions; set the same "
        "gateway.maximumPaths in both, or leave it unset in both (one path per peering node)",
    )


def _base_file(a: StackClaims, b: StackClaims) -> list[str]:
    if a.gateway_kind != GatewayKind.USG.value or b.gateway_kind != GatewayKind.USG.value:
        return []
    if a.base_file_sha256 == b.base_file_sha256:
        return []
    key = key_path("gateway", "baseConfigFile")

    def which(claims: StackClaims) -> str:
        return "no base file" if claims.base_file is None else repr(claims.base_file)

    same_name = " with different content" if a.base_file == b.base_file else ""
    return [
        f"{key}: {a} has {which(a)}, {b} has {which(b)}{same_name}; a site has one config.gateway.json, "
        "so every stack on its gateway must merge into the same base file: give both a copy of it"
    ]


def _pools(a: StackClaims, b: StackClaims) -> list[str]:
    conflicts = []
    for i, pool_a in enumerate(a.pools):
        for j, range_a in enumerate(pool_a.ranges):
            for k, pool_b in enumerate(b.pools):
                for m, range_b in enumerate(pool_b.ranges):
                    if range_a.overlaps(range_b):
                        conflicts.append(
                            f"{key_path('metallb', 'pools', i, 'addresses', j)} of {a} ({range_a.text}, pool "
                            f"{pool_a.name!r}) overlaps {key_path('metallb', 'pools', k, 'addresses', m)} of {b} "
                            f"({range_b.text}, pool {pool_b.name!r}); two clusters must not hand out the same "
                            "addresses"
                        )
    return conflicts


def _node_addresses(claims: StackClaims) -> list[tuple[str, int, str, IPAddress]]:
    """(key, node index, node name, address) of every node address: IPv4, then IPv6."""
    found: list[tuple[str, int, str, IPAddress]] = [
        ("address", i, node.name, node.address) for i, node in enumerate(claims.nodes)
    ]
    found += [("address6", i, node.name, node.address6) for i, node in enumerate(claims.nodes) if node.address6]
    return found


def _nodes(a: StackClaims, b: StackClaims) -> list[str]:
    """A node address of one stack (either family) that is a node address of the other."""
    others = {address: (key, m) for key, m, _, address in _node_addresses(b)}
    return [
        f"{key_path('nodes', i, key)} of {a} ({address}, node {name!r}) is "
        f"{key_path('nodes', others[address][1], others[address][0])} of {b} too; one address is one "
        "neighbour of the gateway, in one cluster"
        for key, i, name, address in _node_addresses(a)
        if address in others
    ]


def _addresses_in_pools(a: StackClaims, b: StackClaims) -> list[str]:
    """A node's or the gateway's address (either family) of one stack inside a pool of the other
    (both ways)."""
    conflicts = []
    for mine, theirs in ((a, b), (b, a)):
        nodes = _node_addresses(mine)
        reserved = [(key_path("nodes", i, key), address) for key, i, _, address in nodes if key == "address"]
        reserved.append((key_path("gateway", "peerAddress"), mine.peer_address))
        reserved += [(key_path("nodes", i, key), address) for key, i, _, address in nodes if key == "address6"]
        if mine.peer_address6 is not None:
            reserved.append((key_path("gateway", "peerAddress6"), mine.peer_address6))
        for key, address in reserved:
            for k, pool in enumerate(theirs.pools):
                for m, address_range in enumerate(pool.ranges):
                    if address in address_range:
                        conflicts.append(
                            f"{key} of {mine} ({address}) lies in {key_path('metallb', 'pools', k, 'addresses', m)} "
                            f"of {theirs} ({address_range.text}, pool {pool.name!r}); the other cluster could hand "
                            "that address to a Service"
                        )
    return conflicts


def _host_names(a: StackClaims, b: StackClaims) -> list[str]:
    names_a, names_b = a.names, b.names
    return [
        f"the name {name!r} is {names_a[name]} of {a} and {names_b[name]} of {b}; "
        "a name on the gateway has one address: rename one of them"
        for name in sorted(names_a.keys() & names_b.keys())
    ]


def _filter_names(a: StackClaims, b: StackClaims) -> list[str]:
    if a.id != b.id:
        return []
    names = a.filter_names
    listed = [names.prefix_list, names.route_map_in, names.route_map_out]
    if a.bgp_v6 or b.bgp_v6:
        listed += [names.prefix_list6, names.route_map_in6]
    return [
        f"{STACK_KEY}: {a} and {b} both name their BGP filter on the gateway after stack id "
        f"{a.id!r} ({', '.join(listed)}); each would overwrite the other's: give one of them another stack name"
    ]


_PAIR_CHECKS: tuple[Callable[[StackClaims, StackClaims], list[str]], ...] = (
    _filter_names,
    _same_gateway,
    _maximum_paths,
    _base_file,
    _nodes,
    _pools,
    _addresses_in_pools,
    _host_names,
)


# --- the composed files -----------------------------------------------------------------------


def compose_gateway_files(stacks: Sequence[GatewayStack]) -> dict[str, str]:
    """File name → content of the gateway's files with every stack installed (the files of their
    one gateway kind). Raises :class:`SharedGatewayConflict` with every conflict first."""
    if not stacks:
        raise ValueError("no stack to compose")
    conflicts = shared_gateway_conflicts(stacks)
    if conflicts:
        raise SharedGatewayConflict(conflicts)
    ordered = in_order(stacks)
    if len(ordered) == 1:
        only = ordered[0]
        return render_gateway_files(only.lab, only.addresses, only.discovered)
    if ordered[0].lab.gateway.kind is GatewayKind.USG:
        return {CONFIG_GATEWAY_JSON: compose_config_gateway_json(ordered)}
    return {BGPD_CONF: compose_bgpd_conf(ordered), DNS_RECORDS: compose_dns_records_json(ordered)}


def compose_config_gateway_json(stacks: Sequence[GatewayStack]) -> str:
    """The base file with every stack's part merged in (call after the conflict checks)."""
    ordered = in_order(stacks)
    document: dict[str, Any] = base_document(ordered[0].lab)
    for stack in ordered:
        try:
            document = merge_base(document, render_config_gateway(stack.lab, stack.addresses, stack.discovered))
        except MergeConflict as exc:  # not expected once the checks passed; never let one side win
            others = ", ".join(str(s) for s in ordered if s is not stack)
            raise SharedGatewayConflict(
                [f"config.gateway.json: {stack} conflicts with the base file or {others} at {c}" for c in exc.conflicts]
            ) from exc
    return json.dumps(document, indent=4, sort_keys=True) + "\n"


def marker(stack_id: str, edge: str, indent: str = "") -> str:
    """The comment line that opens (``begin``) or closes (``end``) one stack's lines."""
    return f"{indent}! metallb-unifi stack {stack_id} {edge}"


def _marked(stack: GatewayStack, lines: Sequence[str], indent: str = "") -> list[str]:
    return [marker(stack.id, "begin", indent), *lines, marker(stack.id, "end", indent)]


def composed_maximum_paths(stacks: Sequence[GatewayStack], family: IPFamily = IPFamily.IPV4) -> list[str]:
    """The ``maximum-paths`` lines of ``family``'s address family: eBGP first, then iBGP, as FRR
    writes them, each once, for the stacks that peer in that family."""
    lines = []
    for ebgp in (True, False):
        labs = [s.lab for s in stacks if s.lab.ebgp is ebgp and family in families(s.lab)]
        if labs:
            # Equal when set (the checks); unset, the largest node count (each stack's own default).
            paths = min(MAX_PATHS, max(maximum_paths(lab, family) for lab in labs))
            lines.append(maximum_paths_line(ebgp, paths))
    return lines


def compose_bgpd_conf(stacks: Sequence[GatewayStack]) -> str:
    """One bgpd.conf for every stack (call after the conflict checks): each stack's filter before
    ``router bgp`` (frr.py says why), its peer-groups and address-family lines in the one router
    block, each part between its stack's markers. The IPv6 address family is there when a stack
    peers over IPv6, holding the part of each stack that does (a stack's IPv4 and IPv6 lines in
    the address families are two blocks between the same markers, told apart by the family they
    are in)."""
    ordered = in_order(stacks)
    gateway = ordered[0].lab.gateway
    lines = [HEADER, "!"]
    for stack in ordered:
        lines += [*_marked(stack, filter_lines(stack.lab)), "!"]
    lines += router_head_lines(gateway.asn, str(gateway.router_id))
    for stack in ordered:
        lines += _marked(stack, peer_group_lines(stack.lab), " ")
    for family in (IPFamily.IPV4, IPFamily.IPV6):
        peering = [stack for stack in ordered if family in families(stack.lab)]
        if not peering:
            continue
        lines += [" !", address_family_head(family)]
        for stack in peering:
            lines += _marked(stack, address_family_lines(stack.lab, family), "  ")
        lines += [*composed_maximum_paths(peering, family), AF_END]
    lines += ROUTER_END
    return "\n".join(lines)


def compose_dns_records(stacks: Sequence[GatewayStack]) -> list[dict[str, Any]]:
    """Every stack's records, by name, A before AAAA (no name is in two stacks once the checks passed)."""
    records = [r for s in stacks for r in render_dns_records(s.lab, s.addresses, s.discovered)]
    return sorted(records, key=lambda r: (str(r["key"]), str(r["record_type"])))


def compose_dns_records_json(stacks: Sequence[GatewayStack]) -> str:
    return json.dumps(compose_dns_records(stacks), indent=2, sort_keys=True) + "\n"
