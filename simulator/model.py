"""What the translators read out of the rendered files, in the simulator's own terms."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from components.config.model import LabelSelector

# Either family (components/config/model.py defines the same once issue 19's model is there).
IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

# MetalLB's defaults when the peer leaves them unset: hold 90 s, keepalive a third of it.
METALLB_DEFAULT_HOLD_TIME_S = 90


def in_range(address: IPAddress, first: IPAddress, last: IPAddress) -> bool:
    """``first <= address <= last``; never across families."""
    if isinstance(address, IPv4Address):
        return isinstance(first, IPv4Address) and isinstance(last, IPv4Address) and first <= address <= last
    return isinstance(first, IPv6Address) and isinstance(last, IPv6Address) and first <= address <= last


class PoolProtocol(enum.Enum):
    BGP = "bgp"
    LAYER2 = "layer2"


@dataclass(frozen=True)
class SpeakerPeer:
    """MetalLB's BGP peer (the gateway), as every selected node's speaker sees it. With IPv6
    pools MetalLB has a second BGPPeer for the gateway's IPv6 address (one per family,
    metallb/metallb@v0.15.3:configsamples/deployment_bgp.yaml), with the same settings."""

    address: IPv4Address
    my_asn: int
    peer_asn: int
    password: str | None
    hold_time_s: int
    keepalive_time_s: int
    ebgp_multihop: bool
    node_selectors: tuple[LabelSelector, ...]  # empty: every node
    address6: IPv6Address | None = None  # the gateway's IPv6 address: a session per node from its address6

    @property
    def ebgp(self) -> bool:
        return self.my_asn != self.peer_asn

    def selects(self, labels: dict[str, str]) -> bool:
        return not self.node_selectors or any(s.matches(labels) for s in self.node_selectors)


@dataclass(frozen=True)
class AddressPool:
    name: str
    protocol: PoolProtocol
    ranges: tuple[tuple[IPAddress, IPAddress], ...]  # inclusive, each of one family
    advertised: bool  # an advertisement (BGP to our peer, or layer2) selects it

    def __contains__(self, address: object) -> bool:
        return isinstance(address, IPv4Address | IPv6Address) and any(
            in_range(address, first, last) for first, last in self.ranges
        )


@dataclass(frozen=True)
class MetalLBSettings:
    peer: SpeakerPeer
    pools: tuple[AddressPool, ...]

    def pool_of(self, address: IPAddress) -> AddressPool | None:
        return next((pool for pool in self.pools if address in pool), None)


class TrafficPolicy(enum.Enum):
    CLUSTER = "Cluster"
    LOCAL = "Local"


@dataclass(frozen=True)
class LoadBalancedService:
    """A Service of type LoadBalancer from services.yaml (new or a patch of an existing one)."""

    namespace: str
    name: str
    addresses: tuple[IPAddress, ...]  # pinned, at most one per family; empty: MetalLB allocates later
    pool: str | None
    tcp_ports: tuple[int, ...]  # None known for a patch of an existing Service
    udp_ports: tuple[int, ...]
    traffic_policy: TrafficPolicy
    # ``spec.ipFamilies`` ("IPv4"/"IPv6", primary first); empty: unset (the cluster's default).
    # MetalLB assigns a pinned address only of the Service's families (ipfamily.go, see plan).
    ip_families: tuple[str, ...] = ()


@dataclass(frozen=True)
class RouterNeighbor:
    address: IPAddress
    remote_asn: int
    password: str | None
    timers: tuple[int, int] | None  # (keepalive, hold)
    ebgp_multihop_ttl: int | None
    route_map_in: str | None = None  # the neighbour's ``route-map import``
    route_map_out: str | None = None  # ``route-map export``
    # ``address-family.ipv6-unicast``: present activates the neighbour for IPv6 unicast; its
    # ``route-map import``/``export`` filter that family (the ones above IPv4 unicast only).
    ipv6_unicast: bool = False
    route_map_in6: str | None = None
    route_map_out6: str | None = None


class PolicyAction(enum.Enum):
    PERMIT = "permit"
    DENY = "deny"


@dataclass(frozen=True)
class PrefixListRule:
    number: int
    action: PolicyAction
    prefix: IPNetwork
    ge: int | None
    le: int | None


@dataclass(frozen=True)
class PrefixList:
    name: str
    rules: tuple[PrefixListRule, ...]  # by rule number, as Quagga orders them
    version: int = 4  # ``policy.prefix-list`` (4) or ``policy.prefix-list6`` (6): separate trees


@dataclass(frozen=True)
class RouteMapRule:
    number: int
    action: PolicyAction
    match_prefix_list: str | None  # ``match ip[v6] address prefix-list``; None: every route
    match_version: int = 4  # 4: ``match ip address``, 6: ``match ipv6 address``


@dataclass(frozen=True)
class RouteMap:
    name: str
    rules: tuple[RouteMapRule, ...]  # by rule number


@dataclass(frozen=True)
class RouterBgp:
    """The BGP part of a USG's config.gateway.json, with the policies its neighbours use."""

    asn: int
    router_id: IPv4Address | None
    neighbors: tuple[RouterNeighbor, ...]
    prefix_lists: tuple[PrefixList, ...] = ()
    route_maps: tuple[RouteMap, ...] = ()


@dataclass(frozen=True)
class HostEntry:
    """One DNS name the gateway answers for."""

    name: str
    address: IPAddress  # an A or an AAAA record
    ttl: int | None = None


@dataclass(frozen=True)
class ExpectedService:
    """What outputs.json promises a user: names that resolve, and a URL that answers."""

    name: str
    namespace: str
    service_name: str
    addresses: tuple[IPAddress, ...]  # at most one per family, IPv4 first
    names: tuple[str, ...]  # host name and aliases
    url: str

    @property
    def address(self) -> IPAddress:
        """The first (with both families, the IPv4 address)."""
        return self.addresses[0]

    def of_version(self, version: int) -> tuple[IPAddress, ...]:
        return tuple(address for address in self.addresses if address.version == version)
