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


@dataclass(frozen=True)
class NodePlan:
    name: str
    address: IPv4Address
    peers: bool  # selected by the BGP peer's node selectors: the router must see its session
    bgp_addresses: tuple[IPv4Address, ...]  # announced as /32, next hop the node
    layer2_addresses: tuple[IPv4Address, ...]  # answered on the node's LAN (the elected node)
    http_ports: tuple[int, ...]
    rogue_prefixes: tuple[IPv4Network, ...] = ()  # announced besides, no gateway should take them


@dataclass(frozen=True)
class Topology:
    node_subnet: IPv4Network
    lan: IPv4Network  # the workstation's side; the node subnet itself when the gateway is on it
    router_lan_address: IPv4Address  # the gateway's peerAddress, where DNS answers too
    router_node_address: IPv4Address  # the nodes' default gateway
    workstation_address: IPv4Address

    @property
    def shared_segment(self) -> bool:
        return self.lan == self.node_subnet


@dataclass(frozen=True)
class HttpCheck:
    service: str
    url: str
    answering_nodes: tuple[str, ...]


@dataclass(frozen=True)
class RogueRoute:
    """A prefix a rogue (or misconfigured) speaker announces that the gateway must not take."""

    prefix: IPv4Network
    what: str


@dataclass(frozen=True)
class LabPlan:
    kind: GatewayKind
    topology: Topology
    router_bgpd_conf: str
    router_config_source: str
    hosts: tuple[HostEntry, ...]
    peer: SpeakerPeer
    nodes: tuple[NodePlan, ...]
    services: tuple[ExpectedService, ...]
    http_checks: tuple[HttpCheck, ...]
    notes: tuple[str, ...]  # what is not simulated or not checked, and why
    rogue_routes: tuple[RogueRoute, ...] = ()  # what the rogue nodes announce besides the services

    @property
    def rogue_nodes(self) -> tuple[NodePlan, ...]:
        return tuple(node for node in self.nodes if node.rogue_prefixes)

    @property
    def peering_nodes(self) -> tuple[NodePlan, ...]:
        return tuple(node for node in self.nodes if node.peers)

    @property
    def bgp_services(self) -> tuple[ExpectedService, ...]:
        announced = {address for node in self.nodes for address in node.bgp_addresses}
        return tuple(service for service in self.services if service.address in announced)

    def node(self, name: str) -> NodePlan:
        return next(node for node in self.nodes if node.name == name)


def plan_lab(rendered: Path, stack: Lab, rogue_nodes: Sequence[str] = ()) -> LabPlan:
    """Translate the rendered files (refusing what is not modeled) into a lab plan.

    ``rogue_nodes``: the scenario of a rogue speaker. Each node named announces, besides the
    service addresses, the prefixes of :func:`rogue_routes`, which the gateway must refuse."""
    metallb = read_metallb((rendered / "metallb.yaml").read_text(encoding="utf-8"))
    services = read_services((rendered / "services.yaml").read_text(encoding="utf-8"))
    outputs = (rendered / "outputs.json").read_text(encoding="utf-8")
    expected = read_expected_services(outputs)
    # Discovered Services exist in the cluster already: MetalLB announces their addresses too.
    services += tuple(_discovered_service(d) for d in read_discovered(outputs))
    if stack.gateway.kind is GatewayKind.USG:
        bgp, hosts = read_config_gateway((rendered / "config.gateway.json").read_text(encoding="utf-8"))
        if bgp is None:
            raise SimulationError("config.gateway.json has no BGP section: no node peers with the gateway")
        bgpd_conf = usg_router_bgpd_conf(bgp)
        source = "config.gateway.json translated to FRR (maximum-paths 1, like the USG)"
    else:
        hosts = read_dns_records((rendered / "dns-records.json").read_text(encoding="utf-8"))
        bgpd_conf = (rendered / "bgpd.conf").read_text(encoding="utf-8")
        source = "bgpd.conf as rendered"
    notes: list[str] = []
    topology = _topology(stack)
    nodes = _nodes(stack, metallb, services, expected, notes)
    rogue = rogue_routes(topology, metallb.pools) if rogue_nodes else ()
    nodes = _with_rogues(nodes, rogue_nodes, tuple(route.prefix for route in rogue))
    return LabPlan(
        kind=stack.gateway.kind,
        topology=topology,
        router_bgpd_conf=bgpd_conf,
        router_config_source=source,
        hosts=hosts,
        peer=metallb.peer,
        nodes=nodes,
        services=expected,
        http_checks=_http_checks(expected, services, nodes, notes),
        notes=tuple(notes),
        rogue_routes=rogue,
    )


def rogue_routes(topology: Topology, pools: tuple[AddressPool, ...]) -> tuple[RogueRoute, ...]:
    """What a rogue speaker announces: a default route, the workstation's LAN, an address just
    outside the pools, an address in a block another stack's pool could hold (no second stack
    is simulated yet), and an aggregate one bit wider than the first BGP pool's first block."""
    blocks = [block for pool in pools for first, last in pool.ranges for block in summarize_address_range(first, last)]
    bgp_blocks = [
        block
        for pool in pools
        if pool.protocol is PoolProtocol.BGP
        for first, last in pool.ranges
        for block in summarize_address_range(first, last)
    ]
    if not bgp_blocks:
        raise SimulationError("a rogue speaker needs a BGP pool to announce around: the stack has none")
    taken = [*blocks, topology.lan, topology.node_subnet]

    def free(network: IPv4Network) -> bool:
        return not any(network.overlaps(other) for other in taken)

    edges = [address for pool in pools for first, last in pool.ranges for address in (last + 1, first - 1)]
    outside = next((IPv4Network(address) for address in edges if free(IPv4Network(address))), None)
    if outside is not None:
        taken.append(outside)
    first = bgp_blocks[0]
    start = IPv4Network(f"{first.network_address}/24", strict=False).network_address
    candidates = (IPv4Network(f"{start + step * 256}/24") for step in range(1, 256))
    other = next((block for block in candidates if free(block)), None)
    if outside is None or other is None:
        raise SimulationError("no addresses outside the pools, the LAN and the nodes' subnet for a rogue speaker")
    return (
        RogueRoute(IPv4Network("0.0.0.0/0"), "a default route"),
        RogueRoute(topology.lan, "the workstation's LAN"),
        RogueRoute(outside, "an address outside every pool"),
        RogueRoute(IPv4Network(other.network_address + 10), f"an address in {other}, a pool another stack could own"),
        RogueRoute(first.supernet(), f"an aggregate wider than the pool's {first}"),
    )


def _with_rogues(
    nodes: tuple[NodePlan, ...], rogue_nodes: Sequence[str], prefixes: tuple[IPv4Network, ...]
) -> tuple[NodePlan, ...]:
    by_name = {node.name: node for node in nodes}
    for name in rogue_nodes:
        if name not in by_name:
            raise SimulationError(f"rogue node {name!r}: no such node (the nodes: {', '.join(by_name)})")
        if not by_name[name].peers:
            raise SimulationError(f"rogue node {name!r} does not peer with the gateway: nothing it says arrives")
    return tuple(replace(node, rogue_prefixes=prefixes) if node.name in rogue_nodes else node for node in nodes)


def _discovered_service(discovered: ExpectedService) -> LoadBalancedService:
    url = urlsplit(discovered.url)
    ports = (url.port or 80,) if url.scheme == "http" else ()
    return LoadBalancedService(
        discovered.namespace, discovered.service_name, (discovered.address,), None, ports, (), TrafficPolicy.CLUSTER
    )


def _topology(stack: Lab) -> Topology:
    subnet = stack.node_subnet
    peer = stack.gateway.peer_address
    taken = {node.address for node in stack.nodes} | {peer}
    if peer in subnet:
        lan, router_node_address = subnet, peer
    else:
        lan = IPv4Network(f"{peer}/24", strict=False)
        router_node_address = next(host for host in subnet.hosts() if host not in taken)
    taken.add(router_node_address)
    workstation = next(host for host in reversed(list(lan.hosts())) if host not in taken)
    return Topology(subnet, lan, peer, router_node_address, workstation)


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
            node.name
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
