"""Parse the raw stack config (top-level keys without the ``metallb-unifi:`` prefix) into a
validated :class:`Lab`, reporting every problem at once as a :class:`ConfigError`.

Each section is a table (:class:`~.fields.Section`) declaring each of its keys once; the small
functions above a table are its parsers and its rules across fields."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from ipaddress import ip_network
from string import ascii_letters, digits
from typing import Any

from .base_config import ReadFile, read_base_config
from .checks import LabCheck, check_lab
from .controller import parse_controller
from .errors import NAMESPACE, Problems, key_path
from .fields import (
    LEFT_OUT,
    Field,
    Parser,
    Reader,
    Reading,
    Rule,
    Section,
    between,
    each,
    list_of,
    member_of,
    named,
    no_duplicates,
    one_of,
    seconds_between,
)
from .model import (
    BfdProfile,
    BgpSession,
    Discovery,
    DiscoveryMode,
    Gateway,
    GatewayKind,
    IPAddress,
    IPFamily,
    IPFamilyPolicy,
    KubernetesAccess,
    Lab,
    LabelRequirement,
    LabelSelector,
    MetalLB,
    Node,
    Pool,
    Protocol,
    Secret,
    Service,
    ServicePort,
    SpeakerMode,
    TrafficPolicy,
    by_family,
)
from .stack_names import check_stack_name
from .values import (
    address_range,
    asn,
    boolean,
    close_key,
    dns_label,
    dns_name,
    duration_seconds,
    integer,
    ip_address,
    ipv4,
    ipv4_network,
    ipv6,
    ipv6_network,
    is_digits,
    kubernetes_service_name,
    label_key,
    label_value,
    labels,
    secret,
    sequence,
    sha256_hex,
    show,
    string,
)
from .verification import read_gateway_ssh, read_verify, verify_warnings
from .versions import MetalLBVersion, parse_version, supported_versions_text

# A USG puts the password into its config tree unquoted; keep to characters that survive it.
_PASSWORD_CHARS = set(ascii_letters + digits + "!#$%&()*+,-./:;<=>?@[]^_{|}~")

# --- nodes -----------------------------------------------------------------------------------------

_NODE = Section(
    Node,
    Field("name", named("a node name"), required=True, default=None),
    Field("address", ipv4, required=True, default=None),
    Field("address6", ipv6, skip_null=True),
    Field("labels", labels, absent=()),
)


def _nodes(raw: Any, key: str, problems: Problems) -> tuple[Node, ...] | None:
    nodes, ok = each(raw, key, problems, _NODE.read, allow_empty=False)
    no_duplicates([(n.name, f"{key}[{i}].name") for i, n in nodes], "node name", problems)
    no_duplicates([(str(n.address), f"{key}[{i}].address") for i, n in nodes], "node address", problems)
    no_duplicates([(str(n.address6), f"{key}[{i}].address6") for i, n in nodes if n.address6], "node address", problems)
    return tuple(n for _, n in nodes) if ok else None


def _around_the_nodes(family: IPFamily) -> Reader:
    """``nodeSubnet`` (IPv4) or ``nodeSubnet6``. Given, it must hold every node's address of the
    family; left out, the /24 around the nodes' IPv4 addresses or the /64 around their IPv6 ones
    (IPv6 LANs are /64s), if they share one. Without an IPv6 address on any node, no nodeSubnet6."""
    v4 = family is IPFamily.IPV4
    attribute, length = ("address", 24) if v4 else ("address6", 64)
    parse = ipv4_network if v4 else ipv6_network

    def read(r: Reading, name: str) -> Any:
        key = r.at(name)
        placed = [(i, getattr(n, attribute)) for i, n in enumerate(r.got.get("nodes") or ())]
        placed = [(i, address) for i, address in placed if address is not None]
        if r.data.get(name) is not None:
            subnet = parse(r.data[name], key, r.problems)
            for index, address in placed:
                if subnet is not None and address not in subnet:
                    r.problems.error(key_path("nodes", index, attribute), f"{address} is outside {name} {subnet}")
            return subnet
        if not placed:
            return None if v4 else LEFT_OUT  # no nodes is a problem reported already; no IPv6 is not
        around = {ip_network(f"{address}/{length}", strict=False) for _, address in placed}
        if len(around) > 1:
            what = "the nodes" if v4 else "the nodes' IPv6 addresses"
            r.problems.error(
                key,
                f"{what} are not all in one /{length} ("
                + ", ".join(sorted(str(n) for n in around))
                + f"); set {name} to the network that holds them all",
            )
            return None
        return around.pop()

    return read


# --- metallb and its pools -------------------------------------------------------------------------


def _community(raw: Any, key: str, problems: Problems) -> str | None:
    parts = raw.split(":") if isinstance(raw, str) else []
    if len(parts) == 2 and all(is_digits(p) and int(p) <= 65535 for p in parts):
        return f"{int(parts[0])}:{int(parts[1])}"
    problems.error(key, f"{show(raw)} is not a BGP community; write it as two numbers 0-65535, e.g. 64512:100")
    return None


# What only a BGP pool takes: MetalLB's BGP advertisement settings.
_BGP_POOL_FIELDS = (
    Field("aggregationLength", between(1, 32)),
    # MetalLB's limit (metallb/metallb@v0.15.3:internal/config/config.go:792-795; v0.12.1 :534-538).
    Field("aggregationLengthV6", between(1, 128)),
    Field("localPref", between(0, 2147483647)),
    Field("communities", list_of(_community), default=[]),
)


def _bgp_options_need_a_bgp_pool(r: Reading) -> bool:
    if r.got.get("protocol") is Protocol.LAYER2:
        for field in _BGP_POOL_FIELDS:
            if field.key in r.data:
                r.problems.error(r.at(field.key), "only applies to bgp pools, this pool is layer2")
    return True


_POOL = Section(
    Pool,
    Field("name", named("a pool name"), required=True, default=None),
    Field("protocol", member_of(Protocol), required=True, skip_null=True),
    Field("addresses", list_of(address_range, allow_empty=False), required=True, skip_null=True, attr="ranges"),
    Field("autoAssign", boolean, default=True),
    Field("avoidBuggyIPs", boolean, default=False),
    Rule(_bgp_options_need_a_bgp_pool),
    *_BGP_POOL_FIELDS,
)


def _pools(raw: Any, key: str, problems: Problems) -> tuple[Pool, ...] | None:
    pools, ok = each(raw, key, problems, _POOL.read, allow_empty=False)
    no_duplicates([(p.name, f"{key}[{i}].name") for i, p in pools], "pool name", problems)
    return tuple(p for _, p in pools) if ok else None


def _metallb_version(raw: Any, key: str, problems: Problems) -> MetalLBVersion | None:
    text = string(raw, key, problems)
    if text is None:
        return None
    version = parse_version(text)
    if version is None:
        problems.error(key, f"{show(text)} is not a supported MetalLB release; supported: {supported_versions_text()}")
    return version


def _frr_k8s_needs_v0_14(r: Reading) -> bool:
    version, mode = r.got.get("version"), r.got.get("mode")
    if version is not None and mode is SpeakerMode.FRR_K8S and not version.supports_frr_k8s:
        r.problems.error(r.at("mode"), f"frr-k8s mode needs MetalLB v0.14.0 or later, not {version}")
    return True


_METALLB = Section(
    MetalLB,
    Field("manifestMirror", string),
    Field("manifestSha256", sha256_hex),
    Field("version", _metallb_version, required=True, skip_null=True),
    Field("asn", asn, required=True, skip_null=True),
    Field("mode", member_of(SpeakerMode), default="native"),
    Rule(_frr_k8s_needs_v0_14),
    Field("pools", _pools, required=True, skip_null=True),
)

# --- bgp ------------------------------------------------------------------------------------------


def _bgp_password(raw: Any, key: str, problems: Problems) -> Secret | None:
    password = secret(raw, key, problems)
    if password is None or password.value is None:
        return password
    bad = sorted({c for c in password.value if c not in _PASSWORD_CHARS})
    if len(password.value) > 80 or bad:
        detail = f"it contains {', '.join(repr(c) for c in bad)}" if bad else f"it is {len(password.value)} long"
        problems.error(
            key,
            f"must be 1-80 printable ASCII characters without spaces, quotes or backslashes "
            f"(TCP MD5 keys are at most 80 bytes and the USG config does not quote them); {detail}",
        )
        return None
    return password


def _label_requirement(r: Reading) -> LabelRequirement | None:
    operator, values = r.got["operator"], tuple(sorted(r.got["values"]))
    if operator in ("In", "NotIn") and not values:
        r.problems.error(r.at("values"), f"operator {operator} needs at least one value")
        return None
    if operator in ("Exists", "DoesNotExist") and values:
        r.problems.error(r.at("values"), f"operator {operator} takes no values")
        return None
    return LabelRequirement(key=r.got["key"], operator=operator, values=values)


_EXPRESSION = Section(
    LabelRequirement,
    Field("key", label_key, required=True, default=None),
    Field("operator", one_of("In", "NotIn", "Exists", "DoesNotExist"), required=True, default=None),
    Field("values", list_of(label_value), default=[]),
    build=_label_requirement,
)


def _selector_not_empty(r: Reading) -> bool:
    if not r.data.get("matchLabels") and not r.data.get("matchExpressions"):
        r.problems.error(r.key, "an empty selector matches every node; give matchLabels or matchExpressions")
        return False
    return True


_SELECTOR = Section(
    LabelSelector,
    Rule(_selector_not_empty, stop=True),
    Field("matchLabels", labels, default={}),
    Field("matchExpressions", list_of(_EXPRESSION.read), default=[]),
)

_BFD = Section(
    partial(BfdProfile, name="gateway"),
    Field("receiveInterval", between(10, 60000), attr="receive_interval_ms"),
    Field("transmitInterval", between(10, 60000), attr="transmit_interval_ms"),
    Field("detectMultiplier", between(2, 255)),
)

_BGP = Section(
    BgpSession,
    Field("password", _bgp_password, skip_null=True),
    Field("holdTime", duration_seconds, skip_null=True, attr="hold_time_s"),
    Field("keepaliveTime", duration_seconds, skip_null=True, attr="keepalive_time_s"),
    Field("ebgpMultiHop", boolean, default=False, attr="ebgp_multihop"),
    Field("nodeSelectors", list_of(_SELECTOR.read), default=[]),
    Field("bfd", _BFD.read, skip_null=True),
)

# --- gateway --------------------------------------------------------------------------------------


def _router_id(r: Reading, name: str) -> Any:
    """The peer address unless given."""
    return ipv4(r.data[name], r.at(name), r.problems) if name in r.data else r.got.get("peer_address")


def _not_on_a_usg(parse: Parser, refusal: str) -> Reader:
    """A key for unifi-os gateways only: refused on a USG. A problem with it leaves it unset and
    the gateway is still built, so the checks across sections run too."""

    def read(r: Reading, name: str) -> Any:
        if name not in r.data:
            return LEFT_OUT
        if r.got.get("kind") is GatewayKind.USG:
            r.problems.error(r.at(name), refusal)
            return LEFT_OUT
        value = parse(r.data[name], r.at(name), r.problems)
        return LEFT_OUT if value is None else value

    return read


def _base_config(r: Reading) -> bool:
    """``baseConfigFile``, read last: the file is checked against the gateway's AS number. The
    context is the function that reads files of the project (None: there is none)."""
    if "baseConfigFile" not in r.data:
        return True
    key = r.at("baseConfigFile")
    if r.got.get("kind") is GatewayKind.UNIFI_OS:
        r.problems.error(
            key, "config.gateway.json exists only for a USG; unifi-os gateways take FRR config and DNS records"
        )
        return True
    path = string(r.data["baseConfigFile"], key, r.problems)
    if path is None:
        return True
    content = read_base_config(path, key, r.problems, r.context, r.got.get("asn"))
    r.got.update(base_config_file=path, base_config_json=content)
    return content is not None


_GATEWAY = Section(
    Gateway,
    Field("kind", member_of(GatewayKind), required=True, skip_null=True),
    Field("asn", asn, required=True, skip_null=True),
    Field("peerAddress", ipv4, required=True, skip_null=True),
    Field("peerAddress6", ipv6, skip_null=True),
    Field("routerId", read=_router_id),
    Field("dnsDomain", dns_name, required=True, skip_null=True),
    Field(
        "maximumPaths",
        read=_not_on_a_usg(
            between(1, 64),
            "a USG is reported to reject maximum-paths (provisioning loop) and keeps a single "
            "best path; remove this key (unifi-os gateways only)",
        ),
    ),
    Field("baseConfigFile"),  # read by _base_config
    Field(
        "dnsTtl",
        read=_not_on_a_usg(between(0, 2147483647), "a USG's static host names have no TTL; unifi-os gateways only"),
    ),
    Rule(_base_config),
)

# --- services -------------------------------------------------------------------------------------


def _target_port(raw: Any, key: str, problems: Problems) -> int | str | None:
    """A port number, or the name of a container port. None (``targetPort:`` without a value, which
    the key check reports) is unusable."""
    if raw is None:
        return None
    if isinstance(raw, str) and not is_digits(raw):
        return dns_label(raw, key, problems, what="a port name")
    return integer(raw, key, problems, 1, 65535)


_PORT = Section(
    ServicePort,
    Field("port", between(1, 65535), required=True, skip_null=True),
    Field("targetPort", _target_port, default=lambda r: r.got.get("port")),
    Field("protocol", one_of("TCP", "UDP", "SCTP"), default="TCP"),
    Field("name", named("a port name")),
)


def _ports(raw: Any, key: str, problems: Problems) -> tuple[ServicePort, ...] | None:
    ports, ok = each(raw, key, problems, _PORT.read, allow_empty=False)
    if ok and len(ports) > 1:
        for index, port in ports:
            if port.name is None:
                problems.error(f"{key}[{index}].name", "is required when a Service has more than one port")
                ok = False
    no_duplicates([(f"{p.port}/{p.protocol}", f"{key}[{i}].port") for i, p in ports], "port", problems)
    no_duplicates([(p.name, f"{key}[{i}].name") for i, p in ports if p.name], "port name", problems)
    return tuple(p for _, p in ports) if ok else None


def _aliases(raw: Any, key: str, problems: Problems) -> tuple[str, ...] | None:
    """Extra DNS names. One that is not a DNS name is reported and left out; the Service is still
    built, so the checks across sections run too."""
    items = sequence(raw, key, problems)
    if items is None:
        return None
    names = [dns_name(item, f"{key}[{index}]", problems) for index, item in enumerate(items)]
    return tuple(name for name in names if name is not None)


def _for_created_services(parse: Parser) -> Reader:
    """``ports`` and ``selector``: required for a Service this program creates, refused for an
    existing one (which keeps its own); none when ``existing`` itself is unusable."""

    def read(r: Reading, name: str) -> Any:
        existing = r.got.get("existing")
        if existing:
            if name in r.data:
                r.problems.error(
                    r.at(name),
                    "an existing Service keeps its own ports and selector; remove this key or set existing: false",
                )
                return None
            return ()
        if existing is False:
            if not r.data.get(name):
                r.problems.error(r.at(name), "is required for a Service this program creates (existing: false)")
                return None
            return parse(r.data[name], r.at(name), r.problems)
        return ()

    return read


def _default_scheme(r: Reading) -> str:
    ports = r.got.get("ports")
    return "https" if ports and ports[0].port == 443 else "http"


def _pinned(r: Reading) -> bool:
    """``address`` (one, either family) or ``addresses`` (one per family): the pins, IPv4 first."""
    given = [name for name in ("address", "addresses") if r.data.get(name) is not None]
    if len(given) == 2:
        r.problems.error(r.at("addresses"), "give either address (one) or addresses (one per family), not both")
        return False
    if not given:
        r.got["addresses"] = ()
        return True
    if given == ["address"]:
        address = ip_address(r.data["address"], r.at("address"), r.problems)
        r.got["addresses"] = (address,) if address is not None else ()
        return address is not None
    found: list[tuple[int, IPAddress]]
    found, ok = each(r.data["addresses"], r.at("addresses"), r.problems, ip_address, allow_empty=False)
    families = [IPFamily.of(a) for _, a in found]
    if len(found) > 2 or len(set(families)) < len(families):
        r.problems.error(
            r.at("addresses"),
            "holds at most one address per family (an IPv4 and an IPv6 one); " + ", ".join(str(a) for _, a in found),
        )
        return False
    r.got["addresses"] = by_family(a for _, a in found)
    return ok


def _families(r: Reading) -> bool:
    """``ipFamilyPolicy`` and ``ipFamilies`` as Kubernetes takes them (kubernetes/kubernetes@000f2605:
    pkg/apis/core/validation/validation.go ValidateServiceClusterIPsRelatedFields: no family twice,
    SingleStack with one family), and the pins they must admit: MetalLB gives a Service addresses
    of its cluster IPs' families only (metallb/metallb@v0.15.3:controller/service.go:272-273)."""
    policy: IPFamilyPolicy | None = r.got.get("ip_family_policy")
    families: tuple[IPFamily, ...] = r.got.get("ip_families", ())
    pins: tuple[Any, ...] = r.got.get("addresses", ())
    dual = policy in (IPFamilyPolicy.PREFER_DUAL_STACK, IPFamilyPolicy.REQUIRE_DUAL_STACK)
    ok = True
    if len(families) != len(set(families)):
        r.problems.error(r.at("ipFamilies"), "lists a family twice")
        ok = False
    elif len(families) == 2 and not dual:
        r.problems.error(
            r.at("ipFamilies"),
            "two families need ipFamilyPolicy PreferDualStack or RequireDualStack (the default is SingleStack)",
        )
        ok = False
    if len(pins) == 2 and not dual:
        r.problems.error(
            r.at("ipFamilyPolicy"),
            "two pinned addresses need a dual-stack Service: set ipFamilyPolicy to RequireDualStack "
            "(or PreferDualStack)",
        )
        ok = False
    for address in pins:
        if families and IPFamily.of(address) not in families:
            r.problems.error(
                r.at("addresses" if "addresses" in r.data else "address"),
                f"{address} is an {IPFamily.of(address).value} address, but ipFamilies is "
                + ", ".join(f.value for f in families),
            )
            ok = False
    if ok and not families and len(pins) == 1 and pins[0].version == 6:
        # The Service must be an IPv6 one for MetalLB to give it this address.
        r.got["ip_families"] = (IPFamily.IPV6,)
    return ok


_SERVICE = Section(
    Service,
    Field("name", named("a host name label"), required=True, default=None),
    Field("namespace", named("a namespace name"), default="default"),
    Field("serviceName", kubernetes_service_name, default=lambda r: r.got.get("name") or LEFT_OUT),
    Field("existing", boolean, default=False),
    Field("address"),  # read by _pinned
    Field("addresses"),
    Rule(_pinned),
    Field("ipFamilyPolicy", member_of(IPFamilyPolicy), skip_null=True),
    Field("ipFamilies", list_of(member_of(IPFamily), allow_empty=False), skip_null=True, absent=()),
    Rule(_families),
    Field("pool", named("a pool name")),
    Field("aliases", _aliases, default=[]),
    Field("externalTrafficPolicy", member_of(TrafficPolicy)),
    Field("sharedIP", string, attr="shared_ip_key"),
    Field("ports", read=_for_created_services(_ports)),
    Field("selector", read=_for_created_services(labels)),
    Field("scheme", one_of("http", "https"), default=_default_scheme),
)

# --- kubernetes and discovery ---------------------------------------------------------------------

_KUBERNETES = Section(
    KubernetesAccess,
    Field("kubeconfig", string),
    Field("context", string),
    Field("serviceTimeout", seconds_between(10, 3600, "10s..1h"), default=600, attr="service_timeout_s"),
    Field("webhookTimeout", seconds_between(10, 3600, "10s..1h"), default=300, attr="webhook_timeout_s"),
)


def _namespaces(raw: Any, key: str, problems: Problems) -> tuple[str, ...] | None:
    # An empty list would read as "no namespace" yet leaving the key out means "every one": refuse it.
    found, ok = each(raw, key, problems, named("a namespace name"), allow_empty=False)
    no_duplicates([(n, f"{key}[{i}]") for i, n in found], "namespace", problems)
    return tuple(sorted({n for _, n in found})) if ok else None


_DISCOVERY = Section(
    Discovery,
    Field("mode", member_of(DiscoveryMode), default="annotated"),
    Field("namespaces", _namespaces, absent=()),
)

# --- the top level --------------------------------------------------------------------------------


def _top_level_keys(
    raw: Any, key: str, problems: Problems, *, required: tuple[str, ...], optional: tuple[str, ...]
) -> dict[str, Any]:
    """Like values.mapping, but the keys are named with the project's prefix, listed in the order
    of the table, and a key without a value is only a problem when it is required."""
    known = required + optional
    for name in raw:
        if name not in known:
            close = close_key(name, known)
            hint = f"did you mean '{NAMESPACE}:{close}'? " if close else ""
            allowed = ", ".join(f"{NAMESPACE}:{k}" for k in known)
            problems.error(key_path(str(name)), f"unknown key; {hint}allowed keys: {allowed}")
    for name in required:
        if raw.get(name) is None:
            problems.error(key_path(name), "is required but missing")
    return dict(raw)


def _gateway(r: Reading, name: str) -> Gateway | None:
    """The context is the function that reads the project's files (for ``baseConfigFile``)."""
    raw = r.data.get(name)
    return _GATEWAY.read(raw, r.at(name), r.problems, context=r.context) if raw is not None else None


def _controller(r: Reading) -> bool:
    """``controller``, read last: what it needs depends on the gateway's kind."""
    if r.data.get("controller") is None:
        return True
    gateway = r.got.get("gateway")
    controller = parse_controller(r.data["controller"], r.problems, gateway.kind if gateway else None)
    r.got["controller"] = controller
    return controller is not None


_LAB = Section(
    Lab,
    Field("nodes", _nodes, required=True, skip_null=True),
    Field("nodeSubnet", read=_around_the_nodes(IPFamily.IPV4)),
    Field("nodeSubnet6", read=_around_the_nodes(IPFamily.IPV6)),
    Field("metallb", _METALLB.read, required=True, skip_null=True),
    Field("gateway", read=_gateway, required=True),
    Field("bgp", _BGP.read, default={}),
    Field("services", list_of(_SERVICE.read), default=[]),
    Field("kubernetes", _KUBERNETES.read, default={}),
    Field("controller"),  # read by _controller
    Field("discovery", _DISCOVERY.read, skip_null=True),
    Rule(_controller),
    Field("gatewaySsh", read=read_gateway_ssh),
    Field("verify", read_verify, skip_null=True),
    Rule(verify_warnings),
    check_keys=_top_level_keys,
)


def parse_lab(
    raw: Mapping[str, Any], *, stack: str, read_file: ReadFile | None = None, checks: Sequence[LabCheck] = ()
) -> Lab:
    """Validate ``raw`` and build the lab of the Pulumi stack named ``stack`` (the gateway's names
    for its BGP filter derive from it). ``read_file`` reads files the config names (the base
    ``config.gateway.json``), relative to the project directory. ``checks`` are rules of higher
    layers (the renderers' :func:`components.artifacts.parse_renderable_lab`), run last."""
    problems = Problems()
    check_stack_name(stack, problems)
    reading = _LAB.read_fields(raw, "", problems, context=read_file)
    assert reading is not None  # the top level is always read as an object
    if reading.failed:
        problems.raise_if_any()
    lab = Lab(stack=stack, **reading.got, warnings=tuple(str(w) for w in problems.warnings))
    check_lab(lab, problems)
    for check in checks:
        check(lab, problems)
    problems.raise_if_any()
    return lab
