"""services.yaml → the LoadBalancer Services and their pinned addresses.

Modeled: the address pin (annotation, IPv4 and IPv6 comma-separated, or ``spec.loadBalancerIP``),
the pool annotation, a shared IP (several Services on one address), ports, the traffic policy,
``spec.ipFamilyPolicy`` and ``spec.ipFamilies``. The simulated nodes all
run an endpoint, so ``externalTrafficPolicy: Local`` behaves like ``Cluster`` here: every
selected node announces and answers.
"""

from __future__ import annotations

from ipaddress import ip_address

import yaml

from simulator.errors import UnmodeledField
from simulator.model import IPAddress, LoadBalancedService, TrafficPolicy
from simulator.strict import Fields

FILE = "services.yaml"
_PREFIXES = ("metallb.io/", "metallb.universe.tf/")
# Kubernetes' values (k8s.io/api core/v1 types.go, IPFamily and IPFamilyPolicy).
_FAMILIES = ("IPv4", "IPv6")
_FAMILY_POLICIES = ("SingleStack", "PreferDualStack", "RequireDualStack")


def read_services(text: str) -> tuple[LoadBalancedService, ...]:
    documents = [d for d in yaml.safe_load_all(text) if d is not None]
    return tuple(_service(Fields(raw, FILE, f"document[{i}]")) for i, raw in enumerate(documents))


def _service(document: Fields) -> LoadBalancedService:
    document.expect("apiVersion", "v1")
    document.expect("kind", "Service")
    metadata = document.nested("metadata")
    name = metadata.require_string("name")
    namespace = metadata.require_string("namespace")
    metadata.get("labels")
    annotations = _annotations(metadata.optional_nested("annotations"))
    metadata.finish()
    where = f"Service {namespace}/{name}"
    spec = Fields(document.require("spec"), FILE, f"{where}.spec")
    spec.expect("type", "LoadBalancer")
    pinned = spec.string("loadBalancerIP")
    addresses = annotations.get("loadBalancerIPs") or pinned
    policy = TrafficPolicy(spec.string("externalTrafficPolicy", TrafficPolicy.CLUSTER.value))
    spec.get("selector")  # which pods: the simulated endpoint is on every node
    families = _ip_families(spec)
    tcp_ports, udp_ports = _ports(spec)
    spec.finish()
    document.finish()
    return LoadBalancedService(
        namespace=namespace,
        name=name,
        addresses=_addresses(addresses, spec) if addresses else (),
        pool=annotations.get("address-pool"),
        tcp_ports=tcp_ports,
        udp_ports=udp_ports,
        traffic_policy=policy,
        ip_families=families,
    )


def _addresses(text: str, spec: Fields) -> tuple[IPAddress, ...]:
    try:
        return tuple(ip_address(part.strip()) for part in text.split(","))
    except ValueError as exc:
        raise UnmodeledField(FILE, spec.path, f"a pinned address: {exc}") from None


def _ip_families(spec: Fields) -> tuple[str, ...]:
    """``spec.ipFamilies`` (checked, in order); ``spec.ipFamilyPolicy`` is only checked: with
    pinned addresses, they and ``ipFamilies`` say which families the Service gets."""
    policy = spec.string("ipFamilyPolicy")
    if policy is not None and policy not in _FAMILY_POLICIES:
        raise UnmodeledField(FILE, spec.where("ipFamilyPolicy"), f"value {policy!r} is not a policy Kubernetes knows")
    families = tuple(str(family) for family in spec.sequence("ipFamilies"))
    if any(family not in _FAMILIES for family in families) or len(set(families)) != len(families):
        raise UnmodeledField(FILE, spec.where("ipFamilies"), f"{list(families)}: IPv4 and IPv6 at most once each")
    return families


def _annotations(fields: Fields | None) -> dict[str, str]:
    if fields is None:
        return {}
    result = {}
    for key, value in fields.items():
        prefix = next((p for p in _PREFIXES if key.startswith(p)), None)
        short = key.removeprefix(prefix) if prefix else key
        if short not in ("loadBalancerIPs", "address-pool", "allow-shared-ip"):
            raise UnmodeledField(FILE, fields.where(key), "this annotation is not modeled")
        result[short] = str(value)
    return result


def _ports(spec: Fields) -> tuple[tuple[int, ...], tuple[int, ...]]:
    tcp: list[int] = []
    udp: list[int] = []
    for index, raw in enumerate(spec.sequence("ports")):
        port = Fields(raw, FILE, f"{spec.where('ports')}[{index}]")
        number = port.require_integer("port")
        protocol = port.string("protocol", "TCP")
        if protocol not in ("TCP", "UDP"):
            raise UnmodeledField(FILE, port.where("protocol"), f"protocol {protocol!r} is not modeled")
        (tcp if protocol == "TCP" else udp).append(number)
        port.get("name")
        port.get("targetPort")  # kube-proxy's business: the simulated node answers on the port itself
        port.finish()
    return tuple(tcp), tuple(udp)
