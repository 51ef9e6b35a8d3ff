"""The validated lab: typed, frozen objects built once from the stack config.

Everything downstream (renderers, Pulumi components) reads these objects, never raw config.
Defaults of optional keys are applied by the parser, so a field here always holds the value
in force; ``None`` means "not set, let the other side use its own default".
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, collapse_addresses, summarize_address_range

from .stack_names import FilterNames, filter_names
from .versions import MetalLBVersion

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network


class IPFamily(enum.Enum):
    """An address family as Kubernetes names it (``spec.ipFamilies``)."""

    IPV4 = "IPv4"
    IPV6 = "IPv6"

    @property
    def version(self) -> int:
        return 4 if self is IPFamily.IPV4 else 6

    @staticmethod
    def of(address: IPAddress | IPNetwork) -> IPFamily:
        return IPFamily.IPV4 if address.version == 4 else IPFamily.IPV6


class IPFamilyPolicy(enum.Enum):
    """A Service's ``spec.ipFamilyPolicy``."""

    SINGLE_STACK = "SingleStack"
    PREFER_DUAL_STACK = "PreferDualStack"
    REQUIRE_DUAL_STACK = "RequireDualStack"


# Service name → its addresses (pinned, allocated or discovered), IPv4 first: what renderers take.
ServiceAddresses = Mapping[str, tuple[IPAddress, ...]]


def by_family(addresses: Iterable[IPAddress]) -> tuple[IPAddress, ...]:
    """Addresses in the order every output lists them: IPv4 first, then IPv6, each ascending."""
    return tuple(sorted(addresses, key=lambda a: (a.version, int(a))))


class Protocol(enum.Enum):
    BGP = "bgp"
    LAYER2 = "layer2"


class GatewayKind(enum.Enum):
    USG = "usg"  # config.gateway.json on the controller
    UNIFI_OS = "unifi-os"  # UDM/UCG/UXG: FRR bgpd.conf + DNS records through the API


class SpeakerMode(enum.Enum):
    """Which MetalLB BGP implementation the install manifests run."""

    NATIVE = "native"
    FRR = "frr"
    FRR_K8S = "frr-k8s"


class TrafficPolicy(enum.Enum):
    CLUSTER = "Cluster"
    LOCAL = "Local"


@dataclass(frozen=True)
class Secret:
    """A secret config value. ``value`` is None when it is encrypted in the stack file and so
    unknown without the Pulumi CLI. Never printed by repr."""

    key: str
    value: str | None = field(repr=False)

    @property
    def known(self) -> bool:
        return self.value is not None


@dataclass(frozen=True)
class LabelRequirement:
    key: str
    operator: str  # In, NotIn, Exists, DoesNotExist
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        if self.operator == "Exists":
            return self.key in labels
        if self.operator == "DoesNotExist":
            return self.key not in labels
        if self.operator == "In":
            return self.key in labels and labels[self.key] in self.values
        return self.key not in labels or labels[self.key] not in self.values  # NotIn


@dataclass(frozen=True)
class LabelSelector:
    """A Kubernetes label selector; all of its terms must match."""

    match_labels: tuple[tuple[str, str], ...] = ()
    match_expressions: tuple[LabelRequirement, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in self.match_labels) and all(
            requirement.matches(labels) for requirement in self.match_expressions
        )


@dataclass(frozen=True)
class Node:
    name: str
    address: IPv4Address
    labels: tuple[tuple[str, str], ...] = ()
    address6: IPv6Address | None = None  # on the nodes' network: its IPv6 BGP session's source

    @property
    def all_labels(self) -> dict[str, str]:
        """The node's labels as Kubernetes sets them, for selector matching."""
        return {"kubernetes.io/hostname": self.name, **dict(self.labels)}


@dataclass(frozen=True)
class BfdProfile:
    name: str
    receive_interval_ms: int | None = None
    transmit_interval_ms: int | None = None
    detect_multiplier: int | None = None


@dataclass(frozen=True)
class BgpSession:
    """The BGP session between every selected node's speaker and the gateway."""

    password: Secret | None = None
    hold_time_s: int | None = None
    keepalive_time_s: int | None = None
    node_selectors: tuple[LabelSelector, ...] = ()  # empty: every node peers
    ebgp_multihop: bool = False  # FRR modes only
    bfd: BfdProfile | None = None  # FRR modes only


@dataclass(frozen=True)
class AddressRange:
    """An inclusive range of addresses of one family, remembered as the user wrote it."""

    text: str
    first: IPAddress
    last: IPAddress

    @property
    def family(self) -> IPFamily:
        return IPFamily.of(self.first)

    def __contains__(self, address: object) -> bool:
        return (
            isinstance(address, IPv4Address | IPv6Address)
            and address.version == self.first.version
            and self.first <= address <= self.last  # type: ignore[operator]  # same family, checked above
        )

    def overlaps(self, other: AddressRange) -> bool:
        return other.first in self or self.first in other

    def within(self, network: IPNetwork) -> bool:
        return self.first in network and self.last in network

    def touches(self, network: IPNetwork) -> bool:
        return any(block.overlaps(network) for block in self.blocks)  # another family's: False

    @property
    def blocks(self) -> tuple[IPNetwork, ...]:
        """The fewest CIDR blocks that hold exactly these addresses, lowest first (MetalLB's
        ``ParseCIDR`` splits a range the same way)."""
        return tuple(summarize_address_range(self.first, self.last))


@dataclass(frozen=True)
class Pool:
    name: str
    protocol: Protocol
    ranges: tuple[AddressRange, ...]
    auto_assign: bool = True
    avoid_buggy_ips: bool = False
    aggregation_length: int | None = None  # BGP only
    aggregation_length_v6: int | None = None  # BGP only, the pool's IPv6 addresses
    local_pref: int | None = None  # BGP, iBGP only
    communities: tuple[str, ...] = ()  # BGP only

    def __contains__(self, address: object) -> bool:
        return any(address in r for r in self.ranges)

    @property
    def families(self) -> tuple[IPFamily, ...]:
        """The address families the pool holds, IPv4 first."""
        return tuple(f for f in IPFamily if any(r.family is f for r in self.ranges))

    @property
    def networks(self) -> tuple[IPNetwork, ...]:
        """The fewest CIDR blocks that hold exactly the pool's addresses, IPv4 first, each family
        lowest first: its ranges together (two adjacent ranges may make one block)."""
        return tuple(n for family in IPFamily for n in self.networks_of(family))

    def networks_of(self, family: IPFamily) -> tuple[IPNetwork, ...]:
        blocks = [block for r in self.ranges if r.family is family for block in r.blocks]
        return tuple(collapse_addresses(blocks))  # type: ignore[type-var]  # one family


@dataclass(frozen=True)
class MetalLB:
    version: MetalLBVersion
    mode: SpeakerMode
    asn: int
    pools: tuple[Pool, ...]
    manifest_mirror: str | None = None  # base URL or directory holding <version>/<file>
    manifest_sha256: str | None = None  # for releases without a checksum pinned in the program

    def pool(self, name: str) -> Pool:
        return next(p for p in self.pools if p.name == name)


@dataclass(frozen=True)
class Gateway:
    kind: GatewayKind
    asn: int
    peer_address: IPv4Address
    router_id: IPv4Address
    dns_domain: str
    peer_address6: IPv6Address | None = None  # the gateway's side of the nodes' IPv6 sessions
    maximum_paths: int | None = None  # unifi-os only (the USG rejects maximum-paths)
    base_config_file: str | None = None  # as written in the stack config
    base_config_json: str | None = None  # its content, canonical JSON (usg only)
    dns_ttl: int | None = None  # unifi-os DNS records; None: the controller's default


@dataclass(frozen=True)
class ServicePort:
    port: int
    target_port: int | str
    protocol: str = "TCP"
    name: str | None = None


@dataclass(frozen=True)
class Service:
    name: str  # the host name's first label and the first alias
    namespace: str
    service_name: str  # the Kubernetes Service
    existing: bool
    addresses: tuple[IPAddress, ...]  # pinned, at most one per family, IPv4 first; (): MetalLB allocates
    pool: str | None
    aliases: tuple[str, ...]  # extra aliases beyond ``name``
    external_traffic_policy: TrafficPolicy | None
    shared_ip_key: str | None
    ports: tuple[ServicePort, ...]
    selector: tuple[tuple[str, str], ...]
    scheme: str  # http | https, for the URL
    ip_family_policy: IPFamilyPolicy | None = None  # None: not set, Kubernetes' SingleStack
    ip_families: tuple[IPFamily, ...] = ()  # as set (or implied by pins), primary first; (): the cluster's

    def hostname(self, domain: str) -> str:
        return f"{self.name}.{domain}"

    @property
    def expected_families(self) -> tuple[IPFamily, ...]:
        """The families of the addresses the Service gets, as far as the config says: its pins',
        else its ``ipFamilies``, else both for RequireDualStack, else IPv4 (a SingleStack Service
        gets the cluster's primary family, and PreferDualStack may get one address only: IPv4 is
        what a cluster of the post's kind has)."""
        if self.addresses:
            return tuple(IPFamily.of(a) for a in self.addresses)
        if self.ip_families:
            return tuple(sorted(self.ip_families, key=lambda f: f.version))
        if self.ip_family_policy is IPFamilyPolicy.REQUIRE_DUAL_STACK:
            return (IPFamily.IPV4, IPFamily.IPV6)
        return (IPFamily.IPV4,)

    @property
    def all_aliases(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    def url(self, domain: str) -> str:
        return self._url(self.hostname(domain))

    def url_of(self, address: IPAddress) -> str:
        """The URL by address rather than by name (an IPv6 one in brackets, RFC 3986 3.2.2)."""
        return self._url(f"[{address}]" if address.version == 6 else str(address))

    def _url(self, host: str) -> str:
        default_port = 443 if self.scheme == "https" else 80
        port = self.ports[0].port if self.ports else default_port
        suffix = "" if port == default_port else f":{port}"
        return f"{self.scheme}://{host}{suffix}/"


@dataclass(frozen=True)
class KubernetesAccess:
    """How the program reaches the cluster; None fields mean the ambient kubeconfig."""

    kubeconfig: str | None = None
    context: str | None = None
    service_timeout_s: int = 600  # how long a Service may wait for its external IP
    webhook_timeout_s: int = 300  # how long MetalLB's admission webhook may take to serve


class DiscoveryMode(enum.Enum):
    ANNOTATED = "annotated"  # only Services annotated with a host name
    ALL = "all"  # every LoadBalancer Service in the pools; unannotated ones by their own name


@dataclass(frozen=True)
class Discovery:
    """Host names for cluster Services the stack does not declare (components/discovery)."""

    mode: DiscoveryMode = DiscoveryMode.ANNOTATED
    namespaces: tuple[str, ...] = ()  # sorted; empty: every namespace


class ControllerFlavor(enum.Enum):
    AUTO = "auto"
    CLASSIC = "classic"  # self-hosted or CloudKey Gen1 controller: /api/login
    UNIFI_OS = "unifi-os"  # UniFi OS console: /api/auth/login, /proxy/network


@dataclass(frozen=True)
class DataDirPreset:
    """Where a controller keeps ``sites/<site>/config.gateway.json``, as seen over SSH."""

    name: str
    data_dir: str | None  # None: below the host side of a Docker bind mount
    owner: str | None  # None: must be given (a Docker image's numeric user varies)
    mount_subdir: str = ""  # the data dir below the host side of the bind mount


DATA_DIR_PRESETS = {
    "cloudkey": DataDirPreset("cloudkey", "/srv/unifi/data", "unifi"),
    "debian": DataDirPreset("debian", "/usr/lib/unifi/data", "unifi"),
    "linuxserver": DataDirPreset("linuxserver", None, None, "data"),  # image's /config
    "jacobalberty": DataDirPreset("jacobalberty", None, "999", "data"),  # image's /unifi
}


@dataclass(frozen=True)
class SshAccess:
    """SSH to the controller, for uploading config.gateway.json (no API writes that file)."""

    host: str
    port: int
    user: str
    private_key: Secret
    host_key: str  # the expected host key ("ssh-ed25519 AAAA..."): never trust on first use
    sudo: bool
    data_dir: str  # absolute; holds sites/<site>/
    owner: str  # user[:group] or numeric uid[:gid] the controller runs as


@dataclass(frozen=True)
class ControllerAccess:
    url: str
    site: str
    flavor: ControllerFlavor
    username: str | None
    password: Secret | None
    api_key: Secret | None
    ca_certificate: str | None  # PEM text (not a path: nothing machine-specific in state)
    fingerprint: str | None  # sha256 of the server certificate, 64 lowercase hex digits
    insecure: bool
    gateway_mac: str | None
    provision_timeout_s: int
    ssh: SshAccess | None  # USG only


@dataclass(frozen=True)
class GatewaySshAccess:
    """SSH to the gateway device itself (a USG, or a UniFi OS console), for reading its BGP
    sessions and routing table: ``python -m components.verify``. Exactly one of ``private_key``
    and ``password`` is set."""

    host: str  # a host name or an IP address; default: the gateway's peer address
    port: int
    user: str
    host_key: str  # the expected host key, "TYPE BASE64" (ssh-ed25519, ecdsa-sha2-*, ssh-rsa)
    private_key: Secret | None  # PEM/OpenSSH text
    password: Secret | None


@dataclass(frozen=True)
class VerifySettings:
    """The checks of ``python -m components.verify`` run after ``pulumi up``."""

    after_up: bool  # run them at the end of every up
    timeout_s: int  # how long they may take in all
    required: bool  # a failed check fails the up (else it is a warning)


@dataclass(frozen=True)
class Lab:
    """One lab: a cluster, its MetalLB, its gateway and the services it exposes."""

    # The Pulumi stack's name (``Pulumi.<stack>.yaml``), set once where the config is loaded: the
    # gateway's names for this stack's BGP filter derive from it (``filter_names``).
    stack: str
    nodes: tuple[Node, ...]
    node_subnet: IPv4Network
    metallb: MetalLB
    bgp: BgpSession
    gateway: Gateway
    services: tuple[Service, ...]
    kubernetes: KubernetesAccess = KubernetesAccess()
    controller: ControllerAccess | None = None  # None: the gateway side is render-only
    discovery: Discovery | None = None  # None: only the declared services get host names
    gateway_ssh: GatewaySshAccess | None = None  # None: verify skips the gateway's sessions and routes
    verify: VerifySettings | None = None  # None: no checks after up
    node_subnet6: IPv6Network | None = None  # the nodes' IPv6 network, when they have addresses there
    warnings: tuple[str, ...] = ()

    @property
    def ebgp(self) -> bool:
        return self.metallb.asn != self.gateway.asn

    @property
    def peering_nodes(self) -> tuple[Node, ...]:
        """Nodes whose speaker peers with the gateway: the gateway's BGP neighbours."""
        if not self.bgp.node_selectors:
            return self.nodes
        return tuple(node for node in self.nodes if any(s.matches(node.all_labels) for s in self.bgp.node_selectors))

    @property
    def peering_nodes6(self) -> tuple[Node, ...]:
        """Peering nodes with an IPv6 address: the gateway's IPv6 neighbours when ``bgp_v6``."""
        return tuple(node for node in self.peering_nodes if node.address6 is not None) if self.bgp_v6 else ()

    @property
    def bgp_v6(self) -> bool:
        """Whether a BGP pool holds IPv6 addresses, so the nodes also peer over IPv6."""
        return any(IPFamily.IPV6 in p.families for p in self.bgp_pools)

    @property
    def pinned_addresses(self) -> dict[str, tuple[IPAddress, ...]]:
        """Service name → its pinned addresses, for services that pin any. Services without a pin
        get theirs from MetalLB once the Service exists; renderers take both as ``addresses``."""
        return {s.name: s.addresses for s in self.services if s.addresses}

    @property
    def has_bgp_pools(self) -> bool:
        return any(p.protocol is Protocol.BGP for p in self.metallb.pools)

    @property
    def bgp_pools(self) -> tuple[Pool, ...]:
        return tuple(p for p in self.metallb.pools if p.protocol is Protocol.BGP)

    @property
    def filter_names(self) -> FilterNames:
        """The names of this stack's BGP filter on the gateway (components.config.stack_names)."""
        return filter_names(self.stack)
