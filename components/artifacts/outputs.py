"""What the stack outputs say about a lab: per service its IP, host name, aliases and URL, and
the MetalLB and BGP facts a user needs when checking the gateway by hand."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from components.config.model import IPAddress, IPFamily, IPFamilyPolicy, Lab, Pool, Service, ServiceAddresses

if TYPE_CHECKING:
    from components.discovery.rules import DiscoveredName

NOT_YET_KNOWN = "not yet known: MetalLB allocates this Service's address when it is created"


def service_pools(lab: Lab, service: Service) -> tuple[Pool, ...]:
    """The pools MetalLB may take the service's addresses from: those holding its pins (an
    address of the other family comes from the same pool: metallb/metallb@v0.15.3:
    controller/service.go convergeBalancer, AllocateFromPoolForAdditionalFamily), else the pool
    it names, else every pool with autoAssign (internal/allocator/allocator.go Allocate)."""
    if service.addresses:
        return tuple(p for p in lab.metallb.pools if any(a in p for a in service.addresses))
    if service.pool is not None:
        return (lab.metallb.pool(service.pool),)
    return tuple(p for p in lab.metallb.pools if p.auto_assign)


def possible_families(lab: Lab, service: Service) -> tuple[IPFamily, ...]:
    """The families the service has or may get an address of, IPv4 first: a single-stack
    Service whose pins or ``ipFamilies`` say its family gets only that one; any other the
    families it is expected to get (:attr:`Service.expected_families`) and those of the pools
    it may draw from (a cluster's primary family may be IPv6, and PreferDualStack adds the other
    family on a dual-stack cluster)."""
    dual = service.ip_family_policy in (IPFamilyPolicy.PREFER_DUAL_STACK, IPFamilyPolicy.REQUIRE_DUAL_STACK)
    if not dual and (service.addresses or service.ip_families):
        return service.expected_families
    pooled = {f for pool in service_pools(lab, service) for f in pool.families}
    return tuple(f for f in IPFamily if f in pooled or f in service.expected_families)


def may_get_ipv6(lab: Lab, service: Service) -> bool:
    """Whether the service's outputs say its addresses by family (``ips``, ``urls``)."""
    return IPFamily.IPV6 in possible_families(lab, service)


def family_outputs(service: Service, addresses: Sequence[IPAddress]) -> dict[str, dict[str, str]]:
    """``ips`` and ``urls``: the service's address of each family and a URL per address
    (``http://[fd00::10]/``), for reaching it by family; families it has no address of are left out."""
    by_family = {IPFamily.of(a).value: a for a in addresses}
    return {
        "ips": {family: str(address) for family, address in by_family.items()},
        "urls": {family: service.url_of(address) for family, address in by_family.items()},
    }


def service_output(lab: Lab, service: Service, addresses: tuple[IPAddress, ...]) -> dict[str, Any]:
    """A service's outputs. Without an address the host name does not resolve yet, so it is
    reported as unknown rather than as a name that would not work. ``ip`` is its first address
    (IPv4 when it has one); a service that has or may get an IPv6 address (:func:`may_get_ipv6`)
    also says its address of each family and a URL per address (:func:`family_outputs`)."""
    domain = lab.gateway.dns_domain
    known = bool(addresses)
    output: dict[str, Any] = {
        "namespace": service.namespace,
        "serviceName": service.service_name,
        "ip": str(addresses[0]) if known else None,
        "hostname": service.hostname(domain) if known else None,
        "alias": service.name if known else None,
        "aliases": list(service.all_aliases) if known else [],
        "url": service.url(domain) if known else None,
        "address": "pinned" if service.addresses else ("allocated" if known else NOT_YET_KNOWN),
    }
    if may_get_ipv6(lab, service) or any(a.version == 6 for a in addresses):
        output |= family_outputs(service, addresses)
    return output


def discovered_output(discovered: Sequence[DiscoveredName]) -> list[dict[str, Any]]:
    """The ``discovered`` output: one item per discovered host name, by host name. ``address``
    is its first address (IPv4 when it has one); a name with an IPv6 address also says its
    address of each family in ``ips``, as a service's outputs do."""
    items = []
    for entry in sorted(discovered, key=lambda e: e.hostname):
        item: dict[str, Any] = {
            "service": entry.service,
            "address": str(entry.addresses[0]),
            "hostname": entry.hostname,
            "aliases": list(entry.aliases),
            "url": entry.url,
        }
        if any(a.version == 6 for a in entry.addresses):
            item["ips"] = {IPFamily.of(a).value: str(a) for a in entry.addresses}
        items.append(item)
    return items


def render_outputs(lab: Lab, addresses: ServiceAddresses, discovered: Sequence[DiscoveredName] = ()) -> dict[str, Any]:
    """The stack outputs; ``discovered`` only when the stack sets ``discovery`` (absent, the
    outputs stay as they were before it existed)."""
    metallb = lab.metallb
    outputs: dict[str, Any] = {
        "services": {s.name: service_output(lab, s, addresses.get(s.name, ())) for s in lab.services},
        "metallb": {
            "version": str(metallb.version),
            "configuration": "ConfigMap" if metallb.version.uses_configmap else "CRDs",
            "mode": metallb.mode.value,
            "pools": {
                p.name: {"protocol": p.protocol.value, "addresses": [r.text for r in p.ranges]} for p in metallb.pools
            },
        },
        "bgp": {
            "session": "eBGP" if lab.ebgp else "iBGP",
            "routerAddress": str(lab.gateway.peer_address),
            "routerAsn": lab.gateway.asn,
            "metallbAsn": metallb.asn,
            "nodes": {n.name: str(n.address) for n in lab.peering_nodes},
            **(
                {
                    "routerAddress6": str(lab.gateway.peer_address6),
                    "nodes6": {n.name: str(n.address6) for n in lab.peering_nodes6},
                }
                if lab.bgp_v6
                else {}
            ),
        },
        "gateway": {"kind": lab.gateway.kind.value, "dnsDomain": lab.gateway.dns_domain},
    }
    if lab.discovery is not None:
        outputs["discovered"] = discovered_output(discovered)
    return outputs
