"""The lab to build: addresses, what each namespace runs, and what the checks expect.

Pure: built from the rendered directory and the stack's facts, without touching the system.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from ipaddress import IPv4Address, IPv4Network, summarize_address_range
from pathlib import Path
from urllib.parse import urlsplit

from components.config.model import GatewayKind, Lab

from .configs import usg_router_bgpd_conf
from .errors import SimulationError
from .model import (
    AddressPool,
    ExpectedService,
    HostEntry,
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
    bgp_addresses: tuple[IPv4Address, ...]  # announced as /32, next hop the node
    layer2_addresses: tuple[IPv4Address, ...]  # answered on the node's LAN (the elected node)
    http_ports: tuple[int, ...]
    rogue_routes: tuple[RogueRoute, ...] = ()  # announced besides, the gateway must not take them from it
    stack: str = ""  # the stack (cluster) the node belongs to
    qualified: bool = False  # several stacks are simulated: reports name the node with its stack

    @property
    def key(self) -> NodeKey:
        return NodeKey(self.stack, self.name)

    @property
    def label(self) -> str:
        """How reports name the node: ``<stack>/<name>`` beside other stacks, else its name."""
        return str(self.key) if self.qualified else self.name

    @property
    def rogue_prefixes(self) -> tuple[IPv4Network, ...]:
        return tuple(route.prefix for route in self.rogue_routes)


@dataclass(frozen=True)
class Segment:
    """One nodes' subnet: a bridge in the router, which holds ``router_address`` on it."""

    subnet: IPv4Network
    router_address: IPv4Address  # the nodes' default gateway


@dataclass(frozen=True)
class Topology:
    segments: tuple[Segment, ...]  # one per distinct nodes' subnet, the first stack's first
    lan: IPv4Network  # the workstation's side; a nodes' subnet itself when the gateway is on it
    router_lan_address: IPv4Address  # the gateway's peerAddress, where DNS answers too
    workstation_address: IPv4Address

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


@dataclass(frozen=True)
class HttpCheck:
    service: str
    url: str
    answering_nodes: tuple[str, ...]  # their labels, as each node's HTTP server names itself


@dataclass(frozen=True)
class RogueRoute:
    """A prefix a rogue (or misconfigured) speaker announces that the gateway must not take
    from it. ``owners``: the nodes of another stack that announce it rightly (its service
    address), whose routes the gateway must keep; empty: nobody should route it."""

    prefix: IPv4Network
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
        """The nodes that announce this stack's BGP service addresses."""
        return frozenset(node.address for node in self.nodes if node.bgp_addresses)

    @property
    def bgp_services(self) -> tuple[ExpectedService, ...]:
        announced = {address for node in self.nodes for address in node.bgp_addresses}
        return tuple(service for service in self.services if service.address in announced)


@dataclass(frozen=True)
class LabPlan:
    kind: GatewayKind
    topology: Topology
    router_bgpd_conf: str  # the gateway's files, composed with every stack installed
    router_config_source: str
    hosts: tuple[HostEntry, ...]
    stacks: tuple[StackPlan, ...]  # the first is the one of --stack-file
    notes: tuple[str, ...]  # what is not simulated or not checked, and why

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
    reports name each node ``<stack>/<name>`` (:attr:`NodePlan.label`)."""
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
    topology = _topology([cluster.lab for cluster in clusters])
    planned = []
    qualified = len(clusters) > 1
    for cluster in clusters:
        nodes = _nodes(cluster.lab, cluster.metallb, cluster.services, cluster.expected, notes, qualified)
        planned.append(
            StackPlan(
                name=cluster.lab.stack,
                peer=cluster.metallb.peer,
                nodes=nodes,
                services=cluster.expected,
                http_checks=_http_checks(cluster.expected, cluster.services, nodes, notes),
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
    )


def _read_cluster(rendered: Path, lab: Lab) -> _Cluster:
    metallb = read_metallb((rendered / "metallb.yaml").read_text(encoding="utf-8"))
    services = read_services((rendered / "services.yaml").read_text(encoding="utf-8"))
    outputs = (rendered / "outputs.json").read_text(encoding="utf-8")
    # Discovered Services exist in the cluster already: MetalLB announces their addresses too.
    services += tuple(_discovered_service(d) for d in read_discovered(outputs))
    return _Cluster(lab, metallb, services, read_expected_services(outputs))


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
    subnets = {lab.node_subnet for lab in labs}
    for one in subnets:
        for other in subnets:
            if one != other and one.overlaps(other):
                raise SimulationError(
                    f"the nodes' subnets {one} and {other} overlap without being equal: the simulator builds "
                    "one segment per subnet; refusing to simulate"
                )


def rogue_routes(
    topology: Topology,
    pools: tuple[AddressPool, ...],
    others: Sequence[tuple[tuple[AddressPool, ...], StackPlan]] = (),
) -> tuple[RogueRoute, ...]:
    """What a rogue speaker announces: a default route, the workstation's LAN, an address just
    outside every pool, and an aggregate one bit wider than the first BGP pool's first block.
    Alone, it also announces an address in a block another stack's pool could hold; beside other
    stacks (``others``: each one's pools and plan), each other stack's first BGP service address
    (its nodes' routes to it must stay) and its first pool block instead."""
    blocks = [block for pool in pools for first, last in pool.ranges for block in summarize_address_range(first, last)]
    bgp_blocks = _bgp_blocks(pools)
    if not bgp_blocks:
        raise SimulationError("a rogue speaker needs a BGP pool to announce around: the stack has none")
    other_blocks = [
        block
        for other_pools, _ in others
        for pool in other_pools
        for first, last in pool.ranges
        for block in summarize_address_range(first, last)
    ]
    taken = [*blocks, *other_blocks, topology.lan, *(segment.subnet for segment in topology.segments)]

    def free(network: IPv4Network) -> bool:
        return not any(network.overlaps(other) for other in taken)

    edges = [address for pool in pools for first, last in pool.ranges for address in (last + 1, first - 1)]
    outside = next((IPv4Network(address) for address in edges if free(IPv4Network(address))), None)
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
        block = next((candidate for candidate in candidates if free(candidate)), None)
        if block is None:
            raise SimulationError("no addresses outside the pools, the LAN and the nodes' subnet for a rogue speaker")
        what = f"an address in {block}, a pool another stack could own"
        routes.append(RogueRoute(IPv4Network(block.network_address + 10), what))
    routes.append(RogueRoute(first.supernet(), f"an aggregate wider than the pool's {first}"))
    return tuple(routes)


def _bgp_blocks(pools: tuple[AddressPool, ...]) -> list[IPv4Network]:
    return [
        block
        for pool in pools
        if pool.protocol is PoolProtocol.BGP
        for first, last in pool.ranges
        for block in summarize_address_range(first, last)
    ]


def _other_stacks_routes(pools: tuple[AddressPool, ...], other: StackPlan) -> list[RogueRoute]:
    """Another stack's real addresses: its first BGP service address, which its own nodes
    announce too (or, without one, its first BGP pool's first address), and that pool's block."""
    routes = []
    blocks = _bgp_blocks(pools) or [
        block for pool in pools for first, last in pool.ranges for block in summarize_address_range(first, last)
    ]
    service = next(iter(other.bgp_services), None)
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
        nodes = tuple(replace(node, rogue_routes=routes) if node.key in rogues else node for node in stack.nodes)
        result.append(replace(stack, nodes=nodes))
    return result


def _discovered_service(discovered: ExpectedService) -> LoadBalancedService:
    url = urlsplit(discovered.url)
    ports = (url.port or 80,) if url.scheme == "http" else ()
    return LoadBalancedService(
        discovered.namespace, discovered.service_name, (discovered.address,), None, ports, (), TrafficPolicy.CLUSTER
    )


def _topology(stacks: Sequence[Lab]) -> Topology:
    """One router: a bridge per distinct nodes' subnet (two stacks on one subnet share it), and
    the LAN: the subnet the gateway's address is on, or else its own /24 with the workstation."""
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
    return Topology(tuple(segments), lan, peer, workstation)


def _service_addresses(
    metallb: MetalLBSettings, services: tuple[LoadBalancedService, ...], notes: list[str]
) -> tuple[list[IPv4Address], list[IPv4Address]]:
    """(BGP-announced, layer2) addresses of the pinned services, in file order, no repeats."""
    bgp: list[IPv4Address] = []
    layer2: list[IPv4Address] = []
    for service in services:
        if not service.addresses:
            notes.append(
                f"{service.namespace}/{service.name}: no pinned address (MetalLB allocates one): not simulated"
            )
        for address in service.addresses:
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


def _nodes(
    stack: Lab,
    metallb: MetalLBSettings,
    services: tuple[LoadBalancedService, ...],
    expected: tuple[ExpectedService, ...],
    notes: list[str],
    qualified: bool = False,
) -> tuple[NodePlan, ...]:
    bgp_addresses, layer2_addresses = _service_addresses(metallb, services, notes)
    ports = _http_ports(expected, services)
    eligible = [node for node in stack.nodes if EXCLUDE_LABEL not in node.all_labels]
    # MetalLB elects one node per layer2 address by a hash; the simulator picks the first by name.
    layer2_owner = min((node.name for node in eligible), default=None)
    plans = []
    for node in stack.nodes:
        peers = metallb.peer.selects(node.all_labels)
        announces = peers and node in eligible
        layer2 = tuple(layer2_addresses) if node.name == layer2_owner else ()
        plans.append(
            NodePlan(
                name=node.name,
                address=node.address,
                peers=peers,
                bgp_addresses=tuple(bgp_addresses) if announces else (),
                layer2_addresses=layer2,
                http_ports=ports if (announces and bgp_addresses) or layer2 else (),
                stack=stack.stack,
                qualified=qualified,
            )
        )
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
) -> tuple[HttpCheck, ...]:
    checks = []
    for service in expected:
        holders = tuple(
            node.label
            for node in nodes
            if service.address in node.bgp_addresses or service.address in node.layer2_addresses
        )
        if _http_port(service, services) is None:
            notes.append(f"{service.name}: {service.url} is not a plain-HTTP TCP port: the URL is not checked")
        elif not holders:
            notes.append(f"{service.name}: no node announces {service.address}: the URL is not checked")
        else:
            checks.append(HttpCheck(service.name, service.url, holders))
    return tuple(checks)
