"""The lab to build: addresses, what each namespace runs, and what the checks expect.

Pure: built from the rendered directory and the stack's facts, without touching the system.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network, summarize_address_range
from pathlib import Path
from urllib.parse import urlsplit

from components.config.model import GatewayKind, Lab

from .configs import usg_router_bgpd_conf
from .errors import SimulationError
from .model import (
    AddressPool,
    ExpectedService,
    HostEntry,
    IPAddress,
    IPNetwork,
    LoadBalancedService,
    MetalLBSettings,
    PoolProtocol,
    SpeakerPeer,
    TrafficPolicy,
)
from .translate.dns_records import read_dns_records
from .translate.metallb import read_metallb
from .translate.outputs import read_discovered, read_expected_services
from .translate.services import read_services
from .translate.usg import read_config_gateway

# MetalLB never announces from nodes carrying this label (v0.14.2+; harmless before).
EXCLUDE_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"
# The LAN's IPv6 prefix when the gateway's IPv6 address is on a nodes' subnet and the workstation
# is not (RFC 4193 unique local addresses; the first of these that overlaps nothing).
LAN6_CANDIDATES = tuple(IPv6Network(f"fd00:{n:x}::/64") for n in range(0x1A, 0x1A + 64))
V6_SUBNET_LENGTH = 64  # a nodes' IPv6 subnet the stack does not name (RFC 4291 section 2.5.4)


@dataclass(frozen=True)
class StackV6:
    """A stack's IPv6 facts the rendered files do not hold: the gateway's IPv6 address
    (``gateway.peerAddress6``), the nodes' (``nodes[i].address6``, by name) and their subnet."""

    peer_address6: IPv6Address | None
    subnet6: IPv6Network | None
    nodes: Mapping[str, IPv6Address]

    @staticmethod
    def of(lab: Lab) -> StackV6:
        nodes = {node.name: node.address6 for node in lab.nodes if node.address6 is not None}
        subnet6 = lab.node_subnet6
        if subnet6 is None:  # a lab changed after parsing (tests): the /64 around its first node
            first = next(iter(nodes.values()), None)
            subnet6 = None if first is None else IPv6Network(f"{first}/{V6_SUBNET_LENGTH}", strict=False)
        return StackV6(lab.gateway.peer_address6, subnet6, nodes)


@dataclass(frozen=True, order=True)
class NodeKey:
    """A node as the lab keys it: two stacks' clusters may each have a node of one name."""

    stack: str
    name: str

    def __str__(self) -> str:
        return f"{self.stack}/{self.name}"


@dataclass(frozen=True)
class NodePlan:
    name: str
    address: IPv4Address
    peers: bool  # selected by the BGP peer's node selectors: the router must see its session
    bgp_addresses: tuple[IPAddress, ...]  # announced as /32 (/128), next hop the node (its address6)
    layer2_addresses: tuple[IPAddress, ...]  # answered on the node's LAN (the elected node)
    http_ports: tuple[int, ...]
    rogue_routes: tuple[RogueRoute, ...] = ()  # announced besides, the gateway must not take them from it
    stack: str = ""  # the stack (cluster) the node belongs to
    qualified: bool = False  # several stacks are simulated: reports name the node with its stack
    address6: IPv6Address | None = None  # on its eth0 beside ``address``
    peers6: bool = False  # it also has an IPv6 session, from address6 to the gateway's IPv6 address

    @property
    def key(self) -> NodeKey:
        return NodeKey(self.stack, self.name)

    @property
    def label(self) -> str:
        """How reports name the node: ``<stack>/<name>`` beside other stacks, else its name."""
        return str(self.key) if self.qualified else self.name

    @property
    def rogue_prefixes(self) -> tuple[IPNetwork, ...]:
        return tuple(route.prefix for route in self.rogue_routes)

    def address_of(self, version: int) -> IPAddress | None:
        """The node's address of that family: where its session of that family starts."""
        return self.address if version == 4 else self.address6

    def peers_in(self, version: int) -> bool:
        """It has a session of that family to the router."""
        return self.peers if version == 4 else self.peers6


@dataclass(frozen=True)
class Segment:
    """One nodes' subnet: a bridge in the router, which holds ``router_address`` on it (and
    ``router_address6`` in ``subnet6``, the nodes' IPv6 subnet, in a dual-stack lab)."""

    subnet: IPv4Network
    router_address: IPv4Address  # the nodes' default gateway
    subnet6: IPv6Network | None = None
    router_address6: IPv6Address | None = None  # the gateway's IPv6 address when it is on the subnet


@dataclass(frozen=True)
class Topology:
    segments: tuple[Segment, ...]  # one per distinct nodes' subnet, the first stack's first
    lan: IPv4Network  # the workstation's side; a nodes' subnet itself when the gateway is on it
    router_lan_address: IPv4Address  # the gateway's peerAddress, where DNS answers too
    workstation_address: IPv4Address
    # A dual-stack lab: the LAN's IPv6 prefix, the router's and the workstation's address in it.
    lan6: IPv6Network | None = None
    router_lan_address6: IPv6Address | None = None
    workstation_address6: IPv6Address | None = None

    @property
    def node_subnet(self) -> IPv4Network:
        return self.segments[0].subnet

    @property
    def router_node_address(self) -> IPv4Address:
        return self.segments[0].router_address

    @property
    def shared_segment(self) -> bool:
        """The workstation (and the gateway's address) sits on a nodes' subnet."""
        return any(self.lan == segment.subnet for segment in self.segments)

    def segment_of(self, address: IPv4Address) -> Segment:
        return next(segment for segment in self.segments if address in segment.subnet)

    @property
    def ipv6(self) -> bool:
        return self.lan6 is not None


@dataclass(frozen=True)
class HttpCheck:
    service: str
    url: str  # the service's own (its host name), or ``http://[<its IPv6 address>]:<port>/``
    answering_nodes: tuple[str, ...]  # their labels, as each node's HTTP server names itself


@dataclass(frozen=True)
class RogueRoute:
    """A prefix a rogue (or misconfigured) speaker announces that the gateway must not take
    from it. ``owners``: the nodes of another stack that announce it rightly (its service
    address), whose routes the gateway must keep; empty: nobody should route it."""

    prefix: IPNetwork
    what: str
    owners: tuple[IPv4Address, ...] = ()


@dataclass(frozen=True)
class StackPlan:
    """One cluster behind the router: its speakers' peer, its nodes and what they serve."""

    name: str
    peer: SpeakerPeer
    nodes: tuple[NodePlan, ...]
    services: tuple[ExpectedService, ...]
    http_checks: tuple[HttpCheck, ...]

    @property
    def announcing(self) -> frozenset[IPv4Address]:
        """The nodes that announce this stack's IPv4 BGP service addresses."""
        return frozenset(node.address for node in self.nodes if any(a.version == 4 for a in node.bgp_addresses))

    def announcing_in(self, version: int) -> frozenset[IPAddress]:
        """The nodes (their address of that family) that announce this stack's BGP service
        addresses of that family."""
        return frozenset(
            address
            for node in self.nodes
            if any(a.version == version for a in node.bgp_addresses)
            and (address := node.address_of(version)) is not None
        )

    @property
    def announced(self) -> frozenset[IPAddress]:
        return frozenset(address for node in self.nodes for address in node.bgp_addresses)

    @property
    def bgp_services(self) -> tuple[ExpectedService, ...]:
        announced = self.announced
        return tuple(service for service in self.services if any(a in announced for a in service.addresses))


@dataclass(frozen=True)
class LabPlan:
    kind: GatewayKind
    topology: Topology
    router_bgpd_conf: str  # the gateway's files, composed with every stack installed
    router_config_source: str
    hosts: tuple[HostEntry, ...]
    stacks: tuple[StackPlan, ...]  # the first is the one of --stack-file
    notes: tuple[str, ...]  # what is not simulated or not checked, and why
    # The router's ``maximum-paths`` per (family, "ebgp" or "ibgp"); absent: FRR's default, as
    # many as it has (multipath_num: FRRouting/frr@frr-8.4.4 bgpd/bgpd.c:3184-3188).
    maximum_paths: Mapping[tuple[int, str], int] = dataclass_field(default_factory=dict)

    @property
    def peer(self) -> SpeakerPeer:
        """The first stack's peer (with one stack, the peer)."""
        return self.stacks[0].peer

    @property
    def nodes(self) -> tuple[NodePlan, ...]:
        return tuple(node for stack in self.stacks for node in stack.nodes)

    @property
    def services(self) -> tuple[ExpectedService, ...]:
        return tuple(service for stack in self.stacks for service in stack.services)

    @property
    def http_checks(self) -> tuple[HttpCheck, ...]:
        return tuple(check for stack in self.stacks for check in stack.http_checks)

    @property
    def rogue_routes(self) -> tuple[RogueRoute, ...]:
        """What the rogue nodes announce besides the services (each route once)."""
        return tuple(dict.fromkeys(route for node in self.nodes for route in node.rogue_routes))

    @property
    def rogue_nodes(self) -> tuple[NodePlan, ...]:
        return tuple(node for node in self.nodes if node.rogue_routes)

    @property
    def peering_nodes(self) -> tuple[NodePlan, ...]:
        return tuple(node for node in self.nodes if node.peers)

    @property
    def sessions(self) -> tuple[tuple[NodePlan, IPAddress], ...]:
        """Every session the router must see: (node, the node's address it comes from), the
        IPv4 ones first."""
        return tuple(
            (node, address)
            for version in (4, 6)
            for node in self.nodes
            if node.peers_in(version) and (address := node.address_of(version)) is not None
        )

    def paths_allowed(self, version: int, stack: StackPlan) -> int | None:
        """How many next hops the router may install for one of ``stack``'s addresses of that
        family (None: no limit of its own)."""
        return self.maximum_paths.get((version, "ebgp" if stack.peer.ebgp else "ibgp"))

    @property
    def bgp_services(self) -> tuple[ExpectedService, ...]:
        return tuple(service for stack in self.stacks for service in stack.bgp_services)

    def node(self, reference: str | NodeKey, what: str = "node") -> NodePlan:
        """The node ``reference`` names (:func:`find_node`)."""
        return find_node(self.nodes, reference, what)

    def stack_of(self, node: NodePlan) -> StackPlan:
        return next(stack for stack in self.stacks if stack.name == node.stack)


def find_node(nodes: Sequence[NodePlan], reference: str | NodeKey, what: str = "node") -> NodePlan:
    """The node ``reference`` names: a :class:`NodeKey`, ``<stack>/<name>``, or a bare name
    that only one stack's nodes have. Raises :class:`SimulationError` (its first words
    ``what``) for no such node or a name several stacks have."""
    if isinstance(reference, NodeKey):
        found = [node for node in nodes if node.key == reference]
    elif "/" in reference:
        stack, _, name = reference.rpartition("/")
        found = [node for node in nodes if (node.stack, node.name) == (stack, name)]
    else:
        found = [node for node in nodes if node.name == reference]
    if len(found) > 1:
        choices = " or ".join(str(node.key) for node in found)
        raise SimulationError(
            f"{what} {str(reference)!r}: ambiguous, stacks {', '.join(node.stack for node in found)} each have "
            f"a node of that name: say {choices}"
        )
    if not found:
        raise SimulationError(
            f"{what} {str(reference)!r}: no such node (the nodes: {', '.join(n.label for n in nodes)})"
        )
    return found[0]


def plan_lab(rendered: Path, stack: Lab, rogue_nodes: Sequence[str] = ()) -> LabPlan:
    """Translate the rendered files (refusing what is not modeled) into a lab plan.

    ``rogue_nodes``: the scenario of a rogue speaker. Each node named announces, besides the
    service addresses, the prefixes of :func:`rogue_routes`, which the gateway must refuse."""
    return plan_stacks([(rendered, stack)], rogue_nodes)


@dataclass(frozen=True)
class _Cluster:
    """One stack's side, read from its rendered directory."""

    lab: Lab
    v6: StackV6
    metallb: MetalLBSettings
    services: tuple[LoadBalancedService, ...]
    expected: tuple[ExpectedService, ...]


def plan_stacks(stacks: Sequence[tuple[Path, Lab]], rogue_nodes: Sequence[str] = ()) -> LabPlan:
    """Several clusters behind one router: each ``(rendered directory, stack)`` gives its
    cluster's side (``metallb.yaml``, ``services.yaml``, ``outputs.json``); the gateway's files
    are the first directory's, which ``render --with-stack`` composed with every stack installed.
    ``rogue_nodes`` may name nodes of any stack (``<stack>/<name>``, or a name only one stack's
    nodes have); with several stacks a rogue node also announces the other stacks' service
    addresses and pools. Two stacks' nodes may share names (not addresses): beside other stacks,
    reports name each node ``<stack>/<name>`` (:attr:`NodePlan.label`).

    A stack whose nodes have IPv6 addresses (:class:`StackV6`) makes the lab dual-stack: IPv6 on
    every segment and the LAN, and a second session from each such node when MetalLB has a peer
    at the gateway's IPv6 address."""
    if not stacks:
        raise SimulationError("no stack to simulate")
    clusters = [_read_cluster(rendered, lab) for rendered, lab in stacks]
    _refuse_unmodeled(clusters)
    first_dir, first = stacks[0]
    if first.gateway.kind is GatewayKind.USG:
        bgp, hosts = read_config_gateway((first_dir / "config.gateway.json").read_text(encoding="utf-8"))
        if bgp is None:
            raise SimulationError("config.gateway.json has no BGP section: no node peers with the gateway")
        bgpd_conf = usg_router_bgpd_conf(bgp)
        source = "config.gateway.json translated to FRR (maximum-paths 1, like the USG)"
    else:
        hosts = read_dns_records((first_dir / "dns-records.json").read_text(encoding="utf-8"))
        bgpd_conf = (first_dir / "bgpd.conf").read_text(encoding="utf-8")
        source = "bgpd.conf as rendered"
    if len(stacks) > 1:
        source += f", composed with every stack installed ({', '.join(c.lab.stack for c in clusters)})"
    notes: list[str] = []
    topology = _topology(clusters)
    planned = []
    qualified = len(clusters) > 1
    for cluster in clusters:
        nodes = _nodes(cluster, notes, qualified)
        planned.append(
            StackPlan(
                name=cluster.lab.stack,
                peer=cluster.metallb.peer,
                nodes=nodes,
                services=cluster.expected,
                http_checks=_http_checks(cluster.expected, cluster.services, nodes, notes, topology.ipv6),
            )
        )
    planned = _with_rogues(planned, clusters, topology, rogue_nodes)
    return LabPlan(
        kind=first.gateway.kind,
        topology=topology,
        router_bgpd_conf=bgpd_conf,
        router_config_source=source,
        hosts=hosts,
        stacks=tuple(planned),
        notes=tuple(notes),
        maximum_paths=maximum_paths(bgpd_conf),
    )


_ADDRESS_FAMILY = re.compile(r"^\s*address-family (ipv4|ipv6) unicast\s*$")
_MAXIMUM_PATHS = re.compile(r"^\s*maximum-paths (?:(ibgp) )?(\d+)\b")


def maximum_paths(bgpd_conf: str) -> dict[tuple[int, str], int]:
    """``maximum-paths [ibgp] N`` per address family of an FRR config: (4 or 6, "ebgp" or
    "ibgp") → N. Each family has its own (FRRouting/frr@frr-8.4.4 bgpd/bgp_vty.c:18353, :18361);
    outside ``address-family`` the line is IPv4 unicast's."""
    result: dict[tuple[int, str], int] = {}
    family = 4
    for line in bgpd_conf.splitlines():
        if (opened := _ADDRESS_FAMILY.match(line)) is not None:
            family = 4 if opened[1] == "ipv4" else 6
        elif line.strip() == "exit-address-family":
            family = 4
        elif (paths := _MAXIMUM_PATHS.match(line)) is not None:
            result[(family, "ibgp" if paths[1] else "ebgp")] = int(paths[2])
    return result


def _read_cluster(rendered: Path, lab: Lab) -> _Cluster:
    metallb = read_metallb((rendered / "metallb.yaml").read_text(encoding="utf-8"))
    services = read_services((rendered / "services.yaml").read_text(encoding="utf-8"))
    outputs = (rendered / "outputs.json").read_text(encoding="utf-8")
    # Discovered Services exist in the cluster already: MetalLB announces their addresses too.
    services += tuple(_discovered_service(d) for d in read_discovered(outputs))
    expected = tuple(_with_pinned(e, services) for e in read_expected_services(outputs))
    return _Cluster(lab, StackV6.of(lab), metallb, services, expected)


def _with_pinned(expected: ExpectedService, services: tuple[LoadBalancedService, ...]) -> ExpectedService:
    """outputs.json names one address per service: its Service's pin of the other family joins it."""
    service = _matching(expected, services)
    families = {address.version for address in expected.addresses}
    extra = [a for a in (service.addresses if service is not None else ()) if a.version not in families]
    if not extra:
        return expected
    return replace(expected, addresses=tuple(sorted((*expected.addresses, *extra), key=lambda a: a.version)))


def _refuse_unmodeled(clusters: Sequence[_Cluster]) -> None:
    """What two stacks may share on a real gateway but the lab cannot build (render refuses the
    rest: different kinds, ASNs, router ids, overlapping pools, one node address twice). Node
    names may repeat across stacks: the lab keys nodes by stack and name (:class:`NodeKey`)."""
    labs = [cluster.lab for cluster in clusters]
    peers = {lab.gateway.peer_address for lab in labs}
    if len(peers) > 1:
        raise SimulationError(
            f"the stacks peer with the gateway at different addresses ({', '.join(map(str, sorted(peers)))}): "
            "the simulator models one gateway address; refusing to simulate"
        )
    peers6 = {cluster.v6.peer_address6 for cluster in clusters if cluster.v6.peer_address6 is not None}
    if len(peers6) > 1:
        raise SimulationError(
            f"the stacks peer with the gateway at different IPv6 addresses ({', '.join(map(str, sorted(peers6)))}): "
            "the simulator models one gateway address per family; refusing to simulate"
        )
    subnets = {lab.node_subnet for lab in labs}
    for one in subnets:
        for other in subnets:
            if one != other and one.overlaps(other):
                raise SimulationError(
                    f"the nodes' subnets {one} and {other} overlap without being equal: the simulator builds "
                    "one segment per subnet; refusing to simulate"
                )
    for subnet in subnets:
        subnets6 = {c.v6.subnet6 for c in clusters if c.lab.node_subnet == subnet and c.v6.subnet6 is not None}
        if len(subnets6) > 1:
            raise SimulationError(
                f"the stacks on {subnet} have different IPv6 subnets ({', '.join(map(str, sorted(subnets6)))}): "
                "the simulator builds one segment per subnet; refusing to simulate"
            )
    for cluster in clusters:
        pinned6 = cluster.metallb.peer.address6
        if pinned6 is not None and cluster.v6.peer_address6 not in (None, pinned6):
            raise SimulationError(
                f"stack {cluster.lab.stack}: MetalLB peers with {pinned6} but the gateway's IPv6 address is "
                f"{cluster.v6.peer_address6}; refusing to simulate"
            )


def _blocks(
    pools: Iterable[AddressPool], version: int, protocol: PoolProtocol | None = None
) -> list[IPv4Network | IPv6Network]:
    """The CIDR blocks of the pools' ranges of one family (of one protocol's pools, if given)."""
    return [
        block
        for pool in pools
        if protocol is None or pool.protocol is protocol
        for first, last in pool.ranges
        if first.version == version
        for block in summarize_address_range(first, last)
    ]


def rogue_routes(
    topology: Topology,
    pools: tuple[AddressPool, ...],
    others: Sequence[tuple[tuple[AddressPool, ...], StackPlan]] = (),
) -> tuple[RogueRoute, ...]:
    """What a rogue speaker announces: a default route, the workstation's LAN, an address just
    outside every pool, and an aggregate one bit wider than the first BGP pool's first block.
    Alone, it also announces an address in a block another stack's pool could hold; beside other
    stacks (``others``: each one's pools and plan), each other stack's first BGP service address
    (its nodes' routes to it must stay) and its first pool block instead. In a dual-stack lab it
    announces over its IPv6 session an IPv6 default route and the LAN's IPv6 prefix too, and with
    an IPv6 BGP pool an IPv6 address outside every pool and an aggregate wider than its block."""
    blocks = _blocks(pools, 4)
    bgp_blocks = _bgp_blocks(pools)
    if not bgp_blocks and not _blocks(pools, 6, PoolProtocol.BGP):
        raise SimulationError("a rogue speaker needs a BGP pool to announce around: the stack has none")
    other_blocks = [block for other_pools, _ in others for block in _blocks(other_pools, 4)]
    taken: list[IPNetwork] = [*blocks, *other_blocks, topology.lan, *(segment.subnet for segment in topology.segments)]
    routes: list[RogueRoute] = []
    if bgp_blocks:
        routes += _rogue_routes4(topology, pools, others, taken, bgp_blocks)
    if topology.lan6 is not None:
        routes += _rogue_routes6(topology, pools, topology.lan6)
    return tuple(routes)


def _free(network: IPNetwork, taken: Sequence[IPNetwork]) -> bool:
    return not any(network.version == other.version and network.overlaps(other) for other in taken)


def _next_to_a_pool(pools: Iterable[AddressPool], version: int, taken: Sequence[IPNetwork]) -> IPNetwork | None:
    """The first single address of one family just past the end, or just before the start, of a
    pool's range that no ``taken`` network holds."""
    edges = [
        address
        for pool in pools
        for first, last in pool.ranges
        if first.version == version
        for address in (last + 1, first - 1)
    ]
    return next((network for network in map(ip_network, edges) if _free(network, taken)), None)


def _rogue_routes4(
    topology: Topology,
    pools: tuple[AddressPool, ...],
    others: Sequence[tuple[tuple[AddressPool, ...], StackPlan]],
    taken: list[IPNetwork],
    bgp_blocks: list[IPv4Network],
) -> list[RogueRoute]:
    outside = _next_to_a_pool(pools, 4, taken)
    if outside is None:
        raise SimulationError("no addresses outside the pools, the LAN and the nodes' subnet for a rogue speaker")
    taken.append(outside)
    first = bgp_blocks[0]
    routes = [
        RogueRoute(IPv4Network("0.0.0.0/0"), "a default route"),
        RogueRoute(topology.lan, "the workstation's LAN"),
        RogueRoute(outside, "an address outside every pool"),
    ]
    if others:
        for other_pools, other in others:
            routes += _other_stacks_routes(other_pools, other)
    else:
        start = IPv4Network(f"{first.network_address}/24", strict=False).network_address
        candidates = (IPv4Network(f"{start + step * 256}/24") for step in range(1, 256))
        block = next((candidate for candidate in candidates if _free(candidate, taken)), None)
        if block is None:
            raise SimulationError("no addresses outside the pools, the LAN and the nodes' subnet for a rogue speaker")
        what = f"an address in {block}, a pool another stack could own"
        routes.append(RogueRoute(IPv4Network(block.network_address + 10), what))
    routes.append(RogueRoute(first.supernet(), f"an aggregate wider than the pool's {first}"))
    return routes


def _rogue_routes6(topology: Topology, pools: tuple[AddressPool, ...], lan6: IPv6Network) -> list[RogueRoute]:
    routes = [
        RogueRoute(IPv6Network("::/0"), "an IPv6 default route"),
        RogueRoute(lan6, "the workstation's IPv6 LAN"),
    ]
    bgp_blocks6 = _blocks(pools, 6, PoolProtocol.BGP)
    if not bgp_blocks6:
        return routes
    taken: list[IPNetwork] = [*_blocks(pools, 6), lan6]
    taken += [segment.subnet6 for segment in topology.segments if segment.subnet6 is not None]
    outside = _next_to_a_pool(pools, 6, taken)
    if outside is not None:
        routes.append(RogueRoute(outside, "an IPv6 address outside every pool"))
    first = bgp_blocks6[0]
    routes.append(RogueRoute(first.supernet(), f"an aggregate wider than the pool's {first}"))
    return routes


def _bgp_blocks(pools: tuple[AddressPool, ...]) -> list[IPv4Network]:
    return [block for block in _blocks(pools, 4, PoolProtocol.BGP) if isinstance(block, IPv4Network)]


def _other_stacks_routes(pools: tuple[AddressPool, ...], other: StackPlan) -> list[RogueRoute]:
    """Another stack's real addresses: its first BGP service address, which its own nodes
    announce too (or, without one, its first BGP pool's first address), and that pool's block."""
    routes = []
    blocks = _bgp_blocks(pools) or [block for block in _blocks(pools, 4) if isinstance(block, IPv4Network)]
    service = next((s for s in other.bgp_services if s.address.version == 4), None)
    if service is not None:
        what = f"stack {other.name}'s service address ({service.name})"
        routes.append(RogueRoute(IPv4Network(service.address), what, tuple(sorted(other.announcing))))
    elif blocks:
        routes.append(RogueRoute(IPv4Network(blocks[0].network_address), f"an address of stack {other.name}'s pool"))
    if blocks and not (service is not None and blocks[0] == IPv4Network(service.address)):
        routes.append(RogueRoute(blocks[0], f"stack {other.name}'s pool block"))
    return routes


def _with_rogues(
    stacks: list[StackPlan], clusters: Sequence[_Cluster], topology: Topology, rogue_nodes: Sequence[str]
) -> list[StackPlan]:
    everyone = [node for stack in stacks for node in stack.nodes]
    rogues = set()
    for reference in rogue_nodes:
        node = find_node(everyone, reference, "rogue node")
        if not node.peers:
            raise SimulationError(f"rogue node {reference!r} does not peer with the gateway: nothing it says arrives")
        rogues.add(node.key)
    result = []
    for index, (stack, cluster) in enumerate(zip(stacks, clusters, strict=True)):
        if not any(node.key in rogues for node in stack.nodes):
            result.append(stack)
            continue
        others = [(c.metallb.pools, s) for i, (s, c) in enumerate(zip(stacks, clusters, strict=True)) if i != index]
        routes = rogue_routes(topology, cluster.metallb.pools, others)
        nodes = tuple(
            # IPv6 prefixes go over the node's IPv6 session: without one it cannot announce them.
            replace(node, rogue_routes=tuple(r for r in routes if r.prefix.version == 4 or node.peers6))
            if node.key in rogues
            else node
            for node in stack.nodes
        )
        result.append(replace(stack, nodes=nodes))
    return result


def _discovered_service(discovered: ExpectedService) -> LoadBalancedService:
    url = urlsplit(discovered.url)
    ports = (url.port or 80,) if url.scheme == "http" else ()
    return LoadBalancedService(
        discovered.namespace, discovered.service_name, discovered.addresses, None, ports, (), TrafficPolicy.CLUSTER
    )


def _topology(clusters: Sequence[_Cluster]) -> Topology:
    """One router: a bridge per distinct nodes' subnet (two stacks on one subnet share it), and
    the LAN: the subnet the gateway's address is on, or else its own /24 with the workstation.
    In a dual-stack lab (:func:`_topology6`) IPv6 beside it."""
    stacks = [cluster.lab for cluster in clusters]
    peer = stacks[0].gateway.peer_address
    taken = {node.address for stack in stacks for node in stack.nodes} | {peer}
    subnets = list(dict.fromkeys(stack.node_subnet for stack in stacks))
    segments = []
    lan = IPv4Network(f"{peer}/24", strict=False)
    for subnet in subnets:
        if peer in subnet:
            lan, router_address = subnet, peer
        else:
            router_address = next(host for host in subnet.hosts() if host not in taken)
        taken.add(router_address)
        segments.append(Segment(subnet, router_address))
    workstation = next(host for host in reversed(list(lan.hosts())) if host not in taken)
    return _topology6(Topology(tuple(segments), lan, peer, workstation), clusters)


def _topology6(topology: Topology, clusters: Sequence[_Cluster]) -> Topology:
    """IPv6 beside IPv4 when any stack's nodes have IPv6 addresses: each segment gets the IPv6
    subnet of its stacks' nodes, the router there the gateway's IPv6 address when it lies in it
    (else a free address of it, as for IPv4); the LAN is the nodes' segment the workstation
    shares, or else the gateway's IPv6 address's /64 when no segment holds it, or else a unique
    local /64 of its own."""
    facts = [cluster.v6 for cluster in clusters]
    if not any(fact.subnet6 is not None for fact in facts):
        return topology
    peer6 = next((fact.peer_address6 for fact in facts if fact.peer_address6 is not None), None)
    if peer6 is None:
        peer6 = next((c.metallb.peer.address6 for c in clusters if c.metallb.peer.address6 is not None), None)
    taken: set[IPv6Address] = {address for fact in facts for address in fact.nodes.values()}
    taken |= {peer6} if peer6 is not None else set()
    segments = []
    for segment in topology.segments:
        subnet6 = next(
            (c.v6.subnet6 for c in clusters if c.lab.node_subnet == segment.subnet and c.v6.subnet6 is not None), None
        )
        router6 = None
        if subnet6 is not None:
            router6 = peer6 if peer6 is not None and peer6 in subnet6 else _free_host(subnet6, taken)
            taken.add(router6)
        segments.append(replace(segment, subnet6=subnet6, router_address6=router6))
    shared = next((s for s in segments if s.subnet == topology.lan and s.subnet6 is not None), None)
    subnets6 = [s.subnet6 for s in segments if s.subnet6 is not None]
    if shared is not None and shared.subnet6 is not None and shared.router_address6 is not None:
        lan6, router_lan6 = shared.subnet6, shared.router_address6
    elif peer6 is not None and not any(peer6 in subnet for subnet in subnets6):
        lan6, router_lan6 = IPv6Network(f"{peer6}/{V6_SUBNET_LENGTH}", strict=False), peer6
    else:
        pools6 = [b for c in clusters for b in _blocks(c.metallb.pools, 6)]
        lan6 = next(n for n in LAN6_CANDIDATES if _free(n, [*subnets6, *pools6]))
        router_lan6 = _free_host(lan6, taken)
    taken.add(router_lan6)
    workstation6 = _free_host(lan6, taken, from_end=True)
    return replace(
        topology,
        segments=tuple(segments),
        lan6=lan6,
        router_lan_address6=router_lan6,
        workstation_address6=workstation6,
    )


def _free_host(network: IPv6Network, taken: set[IPv6Address], from_end: bool = False) -> IPv6Address:
    """The first address of ``network`` (``::1`` on), or from ``::fe`` down, not in ``taken``."""
    steps = range(0xFE, 0, -1) if from_end else range(1, 0xFF)
    return next(network.network_address + step for step in steps if network.network_address + step not in taken)


def _service_addresses(
    metallb: MetalLBSettings, services: tuple[LoadBalancedService, ...], notes: list[str]
) -> tuple[list[IPAddress], list[IPAddress]]:
    """(BGP-announced, layer2) addresses of the pinned services, in file order, no repeats."""
    bgp: list[IPAddress] = []
    layer2: list[IPAddress] = []
    for service in services:
        if not service.addresses:
            notes.append(
                f"{service.namespace}/{service.name}: no pinned address (MetalLB allocates one): not simulated"
            )
        for address in service.addresses:
            family = f"IPv{address.version}"
            if service.ip_families and family not in service.ip_families:
                # The Service has no cluster IP of that family: MetalLB refuses the pin ("does not
                # match the ipFamily of the service", metallb/metallb@v0.15.3:controller/service.go:272-273).
                notes.append(
                    f"{service.namespace}/{service.name}: {address} is {family}, the Service's ipFamilies are "
                    f"{', '.join(service.ip_families)}: MetalLB would not assign it"
                )
                continue
            pool = metallb.pool_of(address)
            if pool is None or not pool.advertised:
                reason = "in no pool" if pool is None else f"pool {pool.name!r} has no advertisement"
                notes.append(
                    f"{service.namespace}/{service.name}: {address} is {reason}: MetalLB would not announce it"
                )
                continue
            target = bgp if pool.protocol is PoolProtocol.BGP else layer2
            if address not in target:
                target.append(address)
    return bgp, layer2


def _nodes(cluster: _Cluster, notes: list[str], qualified: bool = False) -> tuple[NodePlan, ...]:
    stack, metallb = cluster.lab, cluster.metallb
    bgp_addresses, layer2_addresses = _service_addresses(metallb, cluster.services, notes)
    ports = _http_ports(cluster.expected, cluster.services)
    eligible = [node for node in stack.nodes if EXCLUDE_LABEL not in node.all_labels]
    # MetalLB elects one node per layer2 address by a hash; the simulator picks the first by name.
    layer2_owner = min((node.name for node in eligible), default=None)
    plans = []
    for node in stack.nodes:
        peers = metallb.peer.selects(node.all_labels)
        address6 = cluster.v6.nodes.get(node.name)
        # MetalLB's IPv6 peer has the IPv4 one's node selectors (one BGPPeer per family).
        peers6 = peers and address6 is not None and metallb.peer.address6 is not None
        announces = peers and node in eligible
        # An address goes over the session of its family: no IPv6 session, no IPv6 announcement.
        announced = tuple(a for a in bgp_addresses if a.version == 4 or peers6) if announces else ()
        layer2 = tuple(layer2_addresses) if node.name == layer2_owner else ()
        plans.append(
            NodePlan(
                name=node.name,
                address=node.address,
                peers=peers,
                bgp_addresses=announced,
                layer2_addresses=layer2,
                http_ports=ports if announced or layer2 else (),
                stack=stack.stack,
                qualified=qualified,
                address6=address6,
                peers6=peers6,
            )
        )
    unannounced = [a for a in bgp_addresses if not any(a in plan.bgp_addresses for plan in plans)]
    for address in unannounced:
        notes.append(f"{address}: no node announces it (none has a session of its family to the gateway)")
    return tuple(plans)


def _matching(expected: ExpectedService, services: tuple[LoadBalancedService, ...]) -> LoadBalancedService | None:
    return next(
        (s for s in services if (s.namespace, s.name) == (expected.namespace, expected.service_name)),
        None,
    )


def _http_port(expected: ExpectedService, services: tuple[LoadBalancedService, ...]) -> int | None:
    """The URL's port if a plain-HTTP URL points at a TCP port of the Service (a patch of an
    existing Service names no ports: its URL's port is taken as served)."""
    url = urlsplit(expected.url)
    if url.scheme != "http":
        return None
    port = url.port or 80
    service = _matching(expected, services)
    if service is None or ((service.tcp_ports or service.udp_ports) and port not in service.tcp_ports):
        return None
    return port


def _http_ports(expected: tuple[ExpectedService, ...], services: tuple[LoadBalancedService, ...]) -> tuple[int, ...]:
    ports = {port for e in expected if (port := _http_port(e, services)) is not None}
    return tuple(sorted(ports))


def _http_checks(
    expected: tuple[ExpectedService, ...],
    services: tuple[LoadBalancedService, ...],
    nodes: tuple[NodePlan, ...],
    notes: list[str],
    ipv6: bool = False,
) -> tuple[HttpCheck, ...]:
    """Each service's URL, answered by a node holding one of its addresses; in a dual-stack lab
    also ``http://[<its IPv6 address>]:<port>/``, answered by a node holding that address."""
    checks = []

    def holders(addresses: Iterable[IPAddress]) -> tuple[str, ...]:
        wanted = set(addresses)
        return tuple(node.label for node in nodes if wanted & {*node.bgp_addresses, *node.layer2_addresses})

    for service in expected:
        port = _http_port(service, services)
        answering = holders(service.addresses)
        if port is None:
            notes.append(f"{service.name}: {service.url} is not a plain-HTTP TCP port: the URL is not checked")
            continue
        if not answering:
            notes.append(f"{service.name}: no node announces {service.address}: the URL is not checked")
        else:
            checks.append(HttpCheck(service.name, service.url, answering))
        for address in service.of_version(6) if ipv6 else ():
            url = f"http://[{address}]:{port}{urlsplit(service.url).path or '/'}"
            if holders([address]):
                checks.append(HttpCheck(service.name, url, holders([address])))
            else:
                notes.append(f"{service.name}: no node announces {address}: {url} is not checked")
    return tuple(checks)
