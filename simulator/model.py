"""What the translators read out of the rendered files, in the simulator's own terms."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

from components.config.model import LabelSelector

# MetalLB's defaults when the peer leaves them unset: hold 90 s, keepalive a third of it.
METALLB_DEFAULT_HOLD_TIME_S = 90


class PoolProtocol(enum.Enum):
    BGP = "bgp"
    LAYER2 = "layer2"


@dataclass(frozen=True)
class SpeakerPeer:
    """MetalLB's BGP peer (the gateway), as every selected node's speaker sees it."""

    address: IPv4Address
    my_asn: int
    peer_asn: int
    password: str | None
    hold_time_s: int
    keepalive_time_s: int
    ebgp_multihop: bool
    node_selectors: tuple[LabelSelector, ...]  # empty: every node

    @property
    def ebgp(self) -> bool:
        return self.my_asn != self.peer_asn

    def selects(self, labels: dict[str, str]) -> bool:
        return not self.node_selectors or any(s.matches(labels) for s in self.node_selectors)


@dataclass(frozen=True)
class AddressPool:
    name: str
    protocol: PoolProtocol
    ranges: tuple[tuple[IPv4Address, IPv4Address], ...]  # inclusive
    advertised: bool  # an advertisement (BGP to our peer, or layer2) selects it

    def __contains__(self, address: object) -> bool:
        return isinstance(address, IPv4Address) and any(first <= address <= last for first, last in self.ranges)


@dataclass(frozen=True)
class MetalLBSettings:
    peer: SpeakerPeer
    pools: tuple[AddressPool, ...]

    def pool_of(self, address: IPv4Address) -> AddressPool | None:
        return next((pool for pool in self.pools if address in pool), None)


class TrafficPolicy(enum.Enum):
    CLUSTER = "Cluster"
    LOCAL = "Local"


@dataclass(frozen=True)
class LoadBalancedService:
    """A Service of type LoadBalancer from services.yaml (new or a patch of an existing one)."""

    namespace: str
    name: str
    addresses: tuple[IPv4Address, ...]  # pinned; empty: MetalLB allocates one later
    pool: str | None
    tcp_ports: tuple[int, ...]  # None known for a patch of an existing Service
    udp_ports: tuple[int, ...]
    traffic_policy: TrafficPolicy


@dataclass(frozen=True)
class RouterNeighbor:
    address: IPv4Address
    remote_asn: int
    password: str | None
    timers: tuple[int, int] | None  # (keepalive, hold)
    ebgp_multihop_ttl: int | None
    route_map_in: str | None = None  # the neighbour's ``route-map import``
    route_map_out: str | None = None  # ``route-map export``


class PolicyAction(enum.Enum):
    PERMIT = "permit"
    DENY = "deny"


@dataclass(frozen=True)
class PrefixListRule:
    number: int
    action: PolicyAction
    prefix: IPv4Network
    ge: int | None
    le: int | None


@dataclass(frozen=True)
class PrefixList:
    name: str
    rules: tuple[PrefixListRule, ...]  # by rule number, as Quagga orders them


@dataclass(frozen=True)
class RouteMapRule:
    number: int
    action: PolicyAction
    match_prefix_list: str | None  # ``match ip address prefix-list``; None: every route


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
    address: IPv4Address
    ttl: int | None = None


@dataclass(frozen=True)
class ExpectedService:
    """What outputs.json promises a user: names that resolve, and a URL that answers."""

    name: str
    namespace: str
    service_name: str
    address: IPv4Address
    names: tuple[str, ...]  # host name and aliases
    url: str
