"""Parse the raw stack config (top-level keys without the ``metallb-unifi:`` prefix) into a
validated :class:`Lab`, reporting every problem at once as a :class:`ConfigError`."""

from __future__ import annotations

import difflib
import string as _string
from collections.abc import Callable, Mapping, Sequence
from ipaddress import IPv4Network
from typing import Any, TypeVar

from . import values as v
from .base_config import ReadFile, read_base_config
from .checks import LabCheck, check_lab
from .controller import parse_controller
from .errors import ConfigError, Problems, key_path
from .model import (
    BfdProfile,
    BgpSession,
    Discovery,
    DiscoveryMode,
    Gateway,
    GatewayKind,
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
)
from .versions import parse_version, supported_versions_text

REQUIRED_KEYS = ("nodes", "metallb", "gateway")
OPTIONAL_KEYS = ("nodeSubnet", "bgp", "services", "kubernetes", "controller", "discovery")

# A USG puts the password into its config tree unquoted; keep to characters that survive it.
_PASSWORD_CHARS = set(_string.ascii_letters + _string.digits + "!#$%&()*+,-./:;<=>?@[]^_{|}~")

T = TypeVar("T")


def parse_lab(raw: Mapping[str, Any], *, read_file: ReadFile | None = None, checks: Sequence[LabCheck] = ()) -> Lab:
    """Validate ``raw`` and build the lab. ``read_file`` reads files the config names (the base
    ``config.gateway.json``), relative to the project directory. ``checks`` are rules of higher
    layers (the renderers' :func:`components.artifacts.parse_renderable_lab`), run last."""
    problems = Problems()
    for name in raw:
        if name not in REQUIRED_KEYS + OPTIONAL_KEYS:
            known = REQUIRED_KEYS + OPTIONAL_KEYS
            close = difflib.get_close_matches(str(name), known, n=1)
            hint = f"did you mean 'metallb-unifi:{close[0]}'? " if close else ""
            allowed = ", ".join(f"metallb-unifi:{k}" for k in known)
            problems.error(key_path(str(name)), f"unknown key; {hint}allowed keys: {allowed}")
    for name in REQUIRED_KEYS:
        if raw.get(name) is None:
            problems.error(key_path(name), "is required but missing")

    nodes = _nodes(raw["nodes"], problems) if raw.get("nodes") is not None else None
    node_subnet = _node_subnet(raw.get("nodeSubnet"), nodes, problems)
    metallb = _metallb(raw["metallb"], problems) if raw.get("metallb") is not None else None
    gateway = _gateway(raw["gateway"], problems, read_file) if raw.get("gateway") is not None else None
    bgp = _bgp(raw.get("bgp", {}), problems)
    services = _services(raw.get("services", []), problems)
    kubernetes = _kubernetes(raw.get("kubernetes", {}), problems)
    discovery = _discovery(raw["discovery"], problems) if raw.get("discovery") is not None else None
    controller = None
    if raw.get("controller") is not None:
        controller = parse_controller(raw["controller"], problems, gateway.kind if gateway else None)

    if nodes is None or node_subnet is None or metallb is None or gateway is None:
        problems.raise_if_any()
        raise ConfigError(problems.errors)  # unreachable: a missing section is always an error
    if bgp is None or services is None or kubernetes is None or (raw.get("controller") is not None and not controller):
        problems.raise_if_any()
    if raw.get("discovery") is not None and discovery is None:
        problems.raise_if_any()
    assert bgp is not None and services is not None and kubernetes is not None

    lab = Lab(
        nodes=nodes,
        node_subnet=node_subnet,
        metallb=metallb,
        bgp=bgp,
        gateway=gateway,
        services=services,
        kubernetes=kubernetes,
        controller=controller,
        discovery=discovery,
        warnings=tuple(str(w) for w in problems.warnings),
    )
    check_lab(lab, problems)
    for check in checks:
        check(lab, problems)
    problems.raise_if_any()
    return lab


# --- sections ---------------------------------------------------------------------------


def _nodes(raw: Any, problems: Problems) -> tuple[Node, ...] | None:
    key = key_path("nodes")
    nodes, ok = _each(raw, key, problems, _node, allow_empty=False)
    _no_duplicates([(n.name, f"{key}[{i}].name") for i, n in nodes], "node name", problems)
    _no_duplicates([(str(n.address), f"{key}[{i}].address") for i, n in nodes], "node address", problems)
    return tuple(n for _, n in nodes) if ok else None


def _node(raw: Any, key: str, problems: Problems) -> Node | None:
    data = v.mapping(raw, key, problems, required=("name", "address"), optional=("labels",))
    if data is None:
        return None
    name = v.dns_label(data.get("name"), f"{key}.name", problems, what="a node name")
    address = v.ipv4(data.get("address"), f"{key}.address", problems)
    labels = v.labels(data["labels"], f"{key}.labels", problems) if "labels" in data else ()
    if name is None or address is None or labels is None:
        return None
    return Node(name=name, address=address, labels=labels)


def _node_subnet(raw: Any, nodes: tuple[Node, ...] | None, problems: Problems) -> IPv4Network | None:
    key = key_path("nodeSubnet")
    if raw is not None:
        subnet = v.ipv4_network(raw, key, problems)
        if subnet is not None and nodes:
            for index, node in enumerate(nodes):
                if node.address not in subnet:
                    problems.error(
                        key_path("nodes", index, "address"),
                        f"{node.address} is outside nodeSubnet {subnet}",
                    )
        return subnet
    if not nodes:
        return None
    around = {IPv4Network(f"{node.address}/24", strict=False) for node in nodes}
    if len(around) > 1:
        problems.error(
            key,
            "the nodes are not all in one /24 ("
            + ", ".join(sorted(str(n) for n in around))
            + "); set nodeSubnet to the network that holds them all",
        )
        return None
    return around.pop()


def _metallb(raw: Any, problems: Problems) -> MetalLB | None:
    key = key_path("metallb")
    data = v.mapping(
        raw,
        key,
        problems,
        required=("version", "asn", "pools"),
        optional=("mode", "manifestMirror", "manifestSha256"),
    )
    if data is None:
        return None
    mirror = sha256 = None
    if "manifestMirror" in data:
        mirror = v.string(data["manifestMirror"], f"{key}.manifestMirror", problems)
    if "manifestSha256" in data:
        sha256 = v.sha256_hex(data["manifestSha256"], f"{key}.manifestSha256", problems)
    version = None
    if data.get("version") is not None:
        text = v.string(data["version"], f"{key}.version", problems)
        if text is not None:
            version = parse_version(text)
            if version is None:
                problems.error(
                    f"{key}.version",
                    f"{v.show(text)} is not a supported MetalLB release; supported: {supported_versions_text()}",
                )
    asn = v.asn(data["asn"], f"{key}.asn", problems) if data.get("asn") is not None else None
    mode_text = v.choice(data.get("mode", "native"), f"{key}.mode", problems, tuple(m.value for m in SpeakerMode))
    mode = SpeakerMode(mode_text) if mode_text is not None else None
    if version is not None and mode is SpeakerMode.FRR_K8S and not version.supports_frr_k8s:
        problems.error(f"{key}.mode", f"frr-k8s mode needs MetalLB v0.14.0 or later, not {version}")
    pools = _pools(data.get("pools"), problems) if data.get("pools") is not None else None
    if version is None or asn is None or mode is None or pools is None:
        return None
    if ("manifestMirror" in data and mirror is None) or ("manifestSha256" in data and sha256 is None):
        return None
    return MetalLB(version=version, mode=mode, asn=asn, pools=pools, manifest_mirror=mirror, manifest_sha256=sha256)


def _kubernetes(raw: Any, problems: Problems) -> KubernetesAccess | None:
    key = key_path("kubernetes")
    data = v.mapping(raw, key, problems, optional=("kubeconfig", "context", "serviceTimeout", "webhookTimeout"))
    if data is None:
        return None
    kubeconfig = v.string(data["kubeconfig"], f"{key}.kubeconfig", problems) if "kubeconfig" in data else None
    context = v.string(data["context"], f"{key}.context", problems) if "context" in data else None
    timeouts: dict[str, int | None] = {}
    for name, default in (("serviceTimeout", 600), ("webhookTimeout", 300)):
        seconds = v.duration_seconds(data.get(name, default), f"{key}.{name}", problems)
        if seconds is not None and not 10 <= seconds <= 3600:
            problems.error(f"{key}.{name}", f"{seconds}s is out of range: allowed 10s..1h")
            seconds = None
        timeouts[name] = seconds
    if None in timeouts.values():
        return None
    if ("kubeconfig" in data and kubeconfig is None) or ("context" in data and context is None):
        return None
    return KubernetesAccess(
        kubeconfig=kubeconfig,
        context=context,
        service_timeout_s=int(timeouts["serviceTimeout"] or 0),
        webhook_timeout_s=int(timeouts["webhookTimeout"] or 0),
    )


def _discovery(raw: Any, problems: Problems) -> Discovery | None:
    key = key_path("discovery")
    data = v.mapping(raw, key, problems, optional=("mode", "namespaces"))
    if data is None:
        return None
    mode_text = v.choice(data.get("mode", "annotated"), f"{key}.mode", problems, tuple(m.value for m in DiscoveryMode))
    namespaces: tuple[str, ...] | None = ()
    if "namespaces" in data:
        # An empty list would read as "no namespace" yet leaving the key out means "every one": refuse it.
        found, ok = _each(data["namespaces"], f"{key}.namespaces", problems, _namespace, allow_empty=False)
        _no_duplicates([(n, f"{key}.namespaces[{i}]") for i, n in found], "namespace", problems)
        namespaces = tuple(sorted({n for _, n in found})) if ok else None
    if mode_text is None or namespaces is None:
        return None
    return Discovery(mode=DiscoveryMode(mode_text), namespaces=namespaces)


def _namespace(raw: Any, key: str, problems: Problems) -> str | None:
    return v.dns_label(raw, key, problems, what="a namespace name")


def _pools(raw: Any, problems: Problems) -> tuple[Pool, ...] | None:
    key = key_path("metallb", "pools")
    pools, ok = _each(raw, key, problems, _pool, allow_empty=False)
    _no_duplicates([(p.name, f"{key}[{i}].name") for i, p in pools], "pool name", problems)
    return tuple(p for _, p in pools) if ok else None


def _pool(raw: Any, key: str, problems: Problems) -> Pool | None:
    bgp_only = ("aggregationLength", "localPref", "communities")
    data = v.mapping(
        raw,
        key,
        problems,
        required=("name", "protocol", "addresses"),
        optional=("autoAssign", "avoidBuggyIPs", *bgp_only),
    )
    if data is None:
        return None
    name = v.dns_label(data.get("name"), f"{key}.name", problems, what="a pool name")
    protocol_text = (
        v.choice(data["protocol"], f"{key}.protocol", problems, ("bgp", "layer2"))
        if data.get("protocol") is not None
        else None
    )
    protocol = Protocol(protocol_text) if protocol_text else None
    ranges = None
    if data.get("addresses") is not None:
        items = v.sequence(data["addresses"], f"{key}.addresses", problems, allow_empty=False)
        if items is not None:
            parsed = [v.address_range(a, f"{key}.addresses[{i}]", problems) for i, a in enumerate(items)]
            ranges = tuple(r for r in parsed if r is not None) if None not in parsed else None
    auto_assign = v.boolean(data.get("autoAssign", True), f"{key}.autoAssign", problems)
    avoid_buggy = v.boolean(data.get("avoidBuggyIPs", False), f"{key}.avoidBuggyIPs", problems)
    if protocol is Protocol.LAYER2:
        for option in bgp_only:
            if option in data:
                problems.error(f"{key}.{option}", "only applies to bgp pools, this pool is layer2")
    aggregation = (
        v.integer(data["aggregationLength"], f"{key}.aggregationLength", problems, 1, 32)
        if "aggregationLength" in data
        else None
    )
    local_pref = (
        v.integer(data["localPref"], f"{key}.localPref", problems, 0, 2147483647) if "localPref" in data else None
    )
    communities = _communities(data.get("communities", []), f"{key}.communities", problems)
    if None in (name, protocol, ranges, auto_assign, avoid_buggy, communities):
        return None
    if ("aggregationLength" in data and aggregation is None) or ("localPref" in data and local_pref is None):
        return None
    assert name and protocol and ranges is not None and communities is not None
    return Pool(
        name=name,
        protocol=protocol,
        ranges=ranges,
        auto_assign=bool(auto_assign),
        avoid_buggy_ips=bool(avoid_buggy),
        aggregation_length=aggregation,
        local_pref=local_pref,
        communities=communities,
    )


def _communities(raw: Any, key: str, problems: Problems) -> tuple[str, ...] | None:
    communities, ok = _each(raw, key, problems, _community)
    return tuple(c for _, c in communities) if ok else None


def _community(raw: Any, key: str, problems: Problems) -> str | None:
    parts = raw.split(":") if isinstance(raw, str) else []
    if len(parts) == 2 and all(v.is_digits(p) and int(p) <= 65535 for p in parts):
        return f"{int(parts[0])}:{int(parts[1])}"
    problems.error(key, f"{v.show(raw)} is not a BGP community; write it as two numbers 0-65535, e.g. 64512:100")
    return None


def _bgp(raw: Any, problems: Problems) -> BgpSession | None:
    key = key_path("bgp")
    data = v.mapping(
        raw,
        key,
        problems,
        optional=(
            "password",
            "holdTime",
            "keepaliveTime",
            "nodeSelectors",
            "ebgpMultiHop",
            "bfd",
        ),
    )
    if data is None:
        return None
    ok = True
    password = None
    if data.get("password") is not None:
        password = _bgp_password(data["password"], f"{key}.password", problems)
        ok = ok and password is not None
    hold = keepalive = None
    if data.get("holdTime") is not None:
        hold = v.duration_seconds(data["holdTime"], f"{key}.holdTime", problems)
        ok = ok and hold is not None
    if data.get("keepaliveTime") is not None:
        keepalive = v.duration_seconds(data["keepaliveTime"], f"{key}.keepaliveTime", problems)
        ok = ok and keepalive is not None
    multihop = v.boolean(data.get("ebgpMultiHop", False), f"{key}.ebgpMultiHop", problems)
    selectors = _selectors(data.get("nodeSelectors", []), f"{key}.nodeSelectors", problems)
    bfd = _bfd(data["bfd"], f"{key}.bfd", problems) if data.get("bfd") is not None else None
    if data.get("bfd") is not None and bfd is None:
        ok = False
    if not ok or multihop is None or selectors is None:
        return None
    return BgpSession(
        password=password,
        hold_time_s=hold,
        keepalive_time_s=keepalive,
        node_selectors=selectors,
        ebgp_multihop=multihop,
        bfd=bfd,
    )


def _bgp_password(raw: Any, key: str, problems: Problems) -> Secret | None:
    secret = v.secret(raw, key, problems)
    if secret is None or secret.value is None:
        return secret
    bad = sorted({c for c in secret.value if c not in _PASSWORD_CHARS})
    if len(secret.value) > 80 or bad:
        detail = f"it contains {', '.join(repr(c) for c in bad)}" if bad else f"it is {len(secret.value)} long"
        problems.error(
            key,
            f"must be 1-80 printable ASCII characters without spaces, quotes or backslashes "
            f"(TCP MD5 keys are at most 80 bytes and the USG config does not quote them); {detail}",
        )
        return None
    return secret


def _selectors(raw: Any, key: str, problems: Problems) -> tuple[LabelSelector, ...] | None:
    selectors, ok = _each(raw, key, problems, _selector)
    return tuple(s for _, s in selectors) if ok else None


def _selector(raw: Any, key: str, problems: Problems) -> LabelSelector | None:
    data = v.mapping(raw, key, problems, optional=("matchLabels", "matchExpressions"))
    if data is None:
        return None
    if not data.get("matchLabels") and not data.get("matchExpressions"):
        problems.error(key, "an empty selector matches every node; give matchLabels or matchExpressions")
        return None
    match_labels = v.labels(data.get("matchLabels", {}), f"{key}.matchLabels", problems)
    expressions, ok = _each(data.get("matchExpressions", []), f"{key}.matchExpressions", problems, _expression)
    if match_labels is None or not ok:
        return None
    return LabelSelector(match_labels=match_labels, match_expressions=tuple(e for _, e in expressions))


def _expression(raw: Any, key: str, problems: Problems) -> LabelRequirement | None:
    data = v.mapping(raw, key, problems, required=("key", "operator"), optional=("values",))
    if data is None:
        return None
    label = v.label_key(data.get("key"), f"{key}.key", problems)
    operator = v.choice(data.get("operator"), f"{key}.operator", problems, ("In", "NotIn", "Exists", "DoesNotExist"))
    values, ok = _each(data.get("values", []), f"{key}.values", problems, v.label_value)
    if label is None or operator is None or not ok:
        return None
    label_values = tuple(sorted(x for _, x in values))
    if operator in ("In", "NotIn") and not label_values:
        problems.error(f"{key}.values", f"operator {operator} needs at least one value")
        return None
    if operator in ("Exists", "DoesNotExist") and label_values:
        problems.error(f"{key}.values", f"operator {operator} takes no values")
        return None
    return LabelRequirement(key=label, operator=operator, values=label_values)


def _bfd(raw: Any, key: str, problems: Problems) -> BfdProfile | None:
    data = v.mapping(raw, key, problems, optional=("receiveInterval", "transmitInterval", "detectMultiplier"))
    if data is None:
        return None
    fields: dict[str, int | None] = {}
    for name, low, high in (
        ("receiveInterval", 10, 60000),
        ("transmitInterval", 10, 60000),
        ("detectMultiplier", 2, 255),
    ):
        fields[name] = v.integer(data[name], f"{key}.{name}", problems, low, high) if name in data else None
        if name in data and fields[name] is None:
            return None
    return BfdProfile(
        name="gateway",
        receive_interval_ms=fields["receiveInterval"],
        transmit_interval_ms=fields["transmitInterval"],
        detect_multiplier=fields["detectMultiplier"],
    )


def _gateway(raw: Any, problems: Problems, read_file: ReadFile | None) -> Gateway | None:
    key = key_path("gateway")
    data = v.mapping(
        raw,
        key,
        problems,
        required=("kind", "asn", "peerAddress", "dnsDomain"),
        optional=("routerId", "maximumPaths", "baseConfigFile", "dnsTtl"),
    )
    if data is None:
        return None
    kind_text = (
        v.choice(data["kind"], f"{key}.kind", problems, tuple(k.value for k in GatewayKind))
        if data.get("kind") is not None
        else None
    )
    kind = GatewayKind(kind_text) if kind_text else None
    asn = v.asn(data["asn"], f"{key}.asn", problems) if data.get("asn") is not None else None
    peer = v.ipv4(data["peerAddress"], f"{key}.peerAddress", problems) if data.get("peerAddress") is not None else None
    router_id = v.ipv4(data["routerId"], f"{key}.routerId", problems) if "routerId" in data else peer
    domain = v.dns_name(data["dnsDomain"], f"{key}.dnsDomain", problems) if data.get("dnsDomain") is not None else None
    maximum_paths = ttl = None
    base_file = base_json = None
    if "maximumPaths" in data:
        if kind is GatewayKind.USG:
            problems.error(
                f"{key}.maximumPaths",
                "a USG is reported to reject maximum-paths (provisioning loop) and keeps a single "
                "best path; remove this key (unifi-os gateways only)",
            )
        else:
            maximum_paths = v.integer(data["maximumPaths"], f"{key}.maximumPaths", problems, 1, 64)
    if "dnsTtl" in data:
        if kind is GatewayKind.USG:
            problems.error(f"{key}.dnsTtl", "a USG's static host names have no TTL; unifi-os gateways only")
        else:
            ttl = v.integer(data["dnsTtl"], f"{key}.dnsTtl", problems, 0, 2147483647)
    if "baseConfigFile" in data:
        if kind is GatewayKind.UNIFI_OS:
            problems.error(
                f"{key}.baseConfigFile",
                "config.gateway.json exists only for a USG; unifi-os gateways take FRR config and DNS records",
            )
        else:
            base_file = v.string(data["baseConfigFile"], f"{key}.baseConfigFile", problems)
            if base_file is not None:
                base_json = read_base_config(base_file, f"{key}.baseConfigFile", problems, read_file, asn)
    if None in (kind, asn, peer, router_id, domain):
        return None
    if base_file is not None and base_json is None:
        return None
    assert kind and asn and peer and router_id and domain
    return Gateway(
        kind=kind,
        asn=asn,
        peer_address=peer,
        router_id=router_id,
        dns_domain=domain,
        maximum_paths=maximum_paths,
        base_config_file=base_file,
        base_config_json=base_json,
        dns_ttl=ttl,
    )


def _services(raw: Any, problems: Problems) -> tuple[Service, ...] | None:
    services, ok = _each(raw, key_path("services"), problems, _service)
    return tuple(s for _, s in services) if ok else None


def _service(raw: Any, key: str, problems: Problems) -> Service | None:
    data = v.mapping(
        raw,
        key,
        problems,
        required=("name",),
        optional=(
            "namespace",
            "serviceName",
            "existing",
            "address",
            "pool",
            "aliases",
            "externalTrafficPolicy",
            "sharedIP",
            "ports",
            "selector",
            "scheme",
        ),
    )
    if data is None:
        return None
    name = v.dns_label(data.get("name"), f"{key}.name", problems, what="a host name label")
    namespace = v.dns_label(data.get("namespace", "default"), f"{key}.namespace", problems, what="a namespace name")
    service_name = (
        v.kubernetes_service_name(data.get("serviceName", name or ""), f"{key}.serviceName", problems)
        if name or "serviceName" in data
        else None
    )
    existing = v.boolean(data.get("existing", False), f"{key}.existing", problems)
    address = v.ipv4(data["address"], f"{key}.address", problems) if data.get("address") is not None else None
    pool = v.dns_label(data["pool"], f"{key}.pool", problems, what="a pool name") if "pool" in data else None
    alias_items = v.sequence(data.get("aliases", []), f"{key}.aliases", problems)
    aliases = (
        [v.dns_name(a, f"{key}.aliases[{i}]", problems) for i, a in enumerate(alias_items)]
        if alias_items is not None
        else None
    )
    policy_text = (
        v.choice(data["externalTrafficPolicy"], f"{key}.externalTrafficPolicy", problems, ("Cluster", "Local"))
        if "externalTrafficPolicy" in data
        else None
    )
    shared = v.string(data["sharedIP"], f"{key}.sharedIP", problems) if "sharedIP" in data else None
    ports: tuple[ServicePort, ...] | None = ()
    selector: tuple[tuple[str, str], ...] | None = ()
    if existing:
        for option in ("ports", "selector"):
            if option in data:
                problems.error(
                    f"{key}.{option}",
                    "an existing Service keeps its own ports and selector; remove this key or set existing: false",
                )
                ports = None
    elif existing is False:
        if not data.get("ports"):
            problems.error(f"{key}.ports", "is required for a Service this program creates (existing: false)")
            ports = None
        else:
            ports = _ports(data["ports"], f"{key}.ports", problems)
        if not data.get("selector"):
            problems.error(f"{key}.selector", "is required for a Service this program creates (existing: false)")
            selector = None
        else:
            selector = v.labels(data["selector"], f"{key}.selector", problems)
    first_port = ports[0].port if ports else None
    scheme = v.choice(
        data.get("scheme", "https" if first_port == 443 else "http"), f"{key}.scheme", problems, ("http", "https")
    )
    if (
        None in (name, namespace, service_name, existing, aliases, ports, selector, scheme)
        or (data.get("address") is not None and address is None)
        or ("pool" in data and pool is None)
        or ("externalTrafficPolicy" in data and policy_text is None)
        or ("sharedIP" in data and shared is None)
    ):
        return None
    assert name and namespace and service_name and aliases is not None and ports is not None
    assert selector is not None and scheme is not None
    return Service(
        name=name,
        namespace=namespace,
        service_name=service_name,
        existing=bool(existing),
        address=address,
        pool=pool,
        aliases=tuple(a for a in aliases if a is not None),
        external_traffic_policy=TrafficPolicy(policy_text) if policy_text else None,
        shared_ip_key=shared,
        ports=ports,
        selector=selector,
        scheme=scheme,
    )


def _ports(raw: Any, key: str, problems: Problems) -> tuple[ServicePort, ...] | None:
    ports, ok = _each(raw, key, problems, _port, allow_empty=False)
    if ok and len(ports) > 1:
        for index, port in ports:
            if port.name is None:
                problems.error(f"{key}[{index}].name", "is required when a Service has more than one port")
                ok = False
    _no_duplicates([(f"{p.port}/{p.protocol}", f"{key}[{i}].port") for i, p in ports], "port", problems)
    _no_duplicates([(p.name, f"{key}[{i}].name") for i, p in ports if p.name], "port name", problems)
    return tuple(p for _, p in ports) if ok else None


def _port(raw: Any, key: str, problems: Problems) -> ServicePort | None:
    data = v.mapping(raw, key, problems, required=("port",), optional=("targetPort", "protocol", "name"))
    if data is None:
        return None
    port = v.integer(data["port"], f"{key}.port", problems, 1, 65535) if data.get("port") is not None else None
    target: int | str | None
    raw_target = data.get("targetPort", port)
    if isinstance(raw_target, str) and not v.is_digits(raw_target):
        target = v.dns_label(raw_target, f"{key}.targetPort", problems, what="a port name")
    else:
        target = v.integer(raw_target, f"{key}.targetPort", problems, 1, 65535) if raw_target is not None else None
    protocol = v.choice(data.get("protocol", "TCP"), f"{key}.protocol", problems, ("TCP", "UDP", "SCTP"))
    name = v.dns_label(data["name"], f"{key}.name", problems, what="a port name") if "name" in data else None
    if port is None or target is None or protocol is None or ("name" in data and name is None):
        return None
    return ServicePort(port=port, target_port=target, protocol=protocol, name=name)


def _no_duplicates(items: list[tuple[str, str]], what: str, problems: Problems) -> None:
    seen: dict[str, str] = {}
    for value, key in items:
        if value in seen:
            problems.error(key, f"duplicate {what} '{value}' (also at {seen[value]})")
        seen.setdefault(value, key)


def _each(
    raw: Any,
    key: str,
    problems: Problems,
    parse_item: Callable[[Any, str, Problems], T | None],
    *,
    allow_empty: bool = True,
) -> tuple[list[tuple[int, T]], bool]:
    """Parse every item of a list. Returns the valid items with their index in the list (so
    later checks name the right item) and whether the list and all its items were valid."""
    items = v.sequence(raw, key, problems, allow_empty=allow_empty)
    if items is None:
        return [], False
    parsed = [(index, parse_item(item, f"{key}[{index}]", problems)) for index, item in enumerate(items)]
    valid = [(index, item) for index, item in parsed if item is not None]
    return valid, len(valid) == len(parsed)
