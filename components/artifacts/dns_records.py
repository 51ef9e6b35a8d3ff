"""Static DNS records for a UniFi OS gateway (its ``static-dns`` API): one A record (IPv4) or AAAA
record (IPv6) per host name and alias and per known address of every service; the API holds one
value per record (ubiquiti-community/go-unifi@2831d443:unifi/dns_record.generated.go), so a
dual-stack name has two. A USG has no such API; it gets
``static-host-mapping`` in config.gateway.json instead, so it has no records here."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from components.config.model import GatewayKind, IPFamily, Lab, Service, ServiceAddresses

if TYPE_CHECKING:
    from components.discovery.rules import DiscoveredName


RECORD_TYPES = {IPFamily.IPV4: "A", IPFamily.IPV6: "AAAA"}


def render_dns_records(
    lab: Lab, addresses: ServiceAddresses, discovered: Sequence[DiscoveredName] = ()
) -> list[dict[str, Any]]:
    """Records sorted by name, A before AAAA. ``addresses`` maps service names to their IPs
    (pinned and allocated); a service without one gets its records once MetalLB has allocated it.
    ``discovered`` names (components.discovery) get records of the same shape."""
    known = [(s, IPFamily.of(a), str(a)) for s in lab.services for a in addresses.get(s.name, ())]
    return _records(lab, known, discovered)


def known_dns_records(lab: Lab, discovered: Sequence[DiscoveredName] = ()) -> list[dict[str, Any]]:
    """The records ``render_dns_records`` renders once MetalLB has allocated every address, as far
    as they are known before the program registers any resource: a service without a pinned
    address has its records with ``"value": None`` (its address is allocated during ``up``), one
    per family it is expected to get (:attr:`Service.expected_families`)."""
    pinned = lab.pinned_addresses
    known: list[tuple[Service, IPFamily, str | None]] = []
    for service in lab.services:
        if service.name in pinned:
            known += [(service, IPFamily.of(a), str(a)) for a in pinned[service.name]]
        else:
            known += [(service, family, None) for family in service.expected_families]
    return _records(lab, known, discovered)


def _records(
    lab: Lab, services: Sequence[tuple[Service, IPFamily, str | None]], discovered: Sequence[DiscoveredName]
) -> list[dict[str, Any]]:
    if lab.gateway.kind is not GatewayKind.UNIFI_OS:
        return []
    ttl = lab.gateway.dns_ttl
    named: list[tuple[tuple[str, ...], IPFamily, str | None, bool]] = [
        ((service.hostname(lab.gateway.dns_domain), *service.all_aliases), family, address, False)
        for service, family, address in services
    ]
    named += [(entry.names, IPFamily.of(a), str(a), True) for entry in discovered for a in entry.addresses]
    records: list[dict[str, Any]] = []
    for names, family, address, was_discovered in named:
        for name in names:
            record: dict[str, Any] = {
                "key": name,
                "value": address,
                "record_type": RECORD_TYPES[family],
                "enabled": True,
            }
            if ttl is not None:  # otherwise the controller's default applies
                record["ttl"] = ttl
            if was_discovered:
                # The client leaves someone else's record of this name alone (external-dns may
                # have made it) instead of refusing, as it does for a declared name.
                record["discovered"] = True
            records.append(record)
    return sorted(records, key=lambda r: (str(r["key"]), str(r["record_type"])))


def dns_records_json(lab: Lab, addresses: ServiceAddresses, discovered: Sequence[DiscoveredName] = ()) -> str:
    return json.dumps(render_dns_records(lab, addresses, discovered), indent=2, sort_keys=True) + "\n"
