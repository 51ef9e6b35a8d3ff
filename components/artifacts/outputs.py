"""What the stack outputs say about a lab: per service its IP, host name, aliases and URL, and
the MetalLB and BGP facts a user needs when checking the gateway by hand."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from components.config.model import IPAddress, IPFamily, Lab, Service, ServiceAddresses

if TYPE_CHECKING:
    from components.discovery.rules import DiscoveredName

NOT_YET_KNOWN = "not yet known: MetalLB allocates this Service's address when it is created"


def service_output(lab: Lab, service: Service, addresses: tuple[IPAddress, ...]) -> dict[str, Any]:
    """A service's outputs. Without an address the host name does not resolve yet, so it is
    reported as unknown rather than as a name that would not work. ``ip`` is its first address
    (IPv4 when it has one); a service that has or may get an IPv6 address also says its address
    of each family and a URL per address (``http://[fd00::10]/``), for reaching it by family."""
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
    if IPFamily.IPV6 in service.expected_families or any(a.version == 6 for a in addresses):
        by_family = {IPFamily.of(a).value: a for a in addresses}
        output["ips"] = {family: str(address) for family, address in by_family.items()}
        output["urls"] = {family: service.url_of(address) for family, address in by_family.items()}
    return output


def discovered_output(discovered: Sequence[DiscoveredName]) -> list[dict[str, Any]]:
    """The ``discovered`` output: one item per discovered host name, by host name."""
    return [
        {
            "service": entry.service,
            "address": str(entry.address),
            "hostname": entry.hostname,
            "aliases": list(entry.aliases),
            "url": entry.url,
        }
        for entry in sorted(discovered, key=lambda e: e.hostname)
    ]


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
