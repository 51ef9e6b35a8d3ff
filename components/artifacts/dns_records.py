"""Static DNS records for a UniFi OS gateway (its ``static-dns`` API): one A record per host name
and per alias of every service whose address is known. A USG has no such API; it gets
``static-host-mapping`` in config.gateway.json instead, so it has no records here."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from ipaddress import IPv4Address
from typing import TYPE_CHECKING, Any

from components.config.model import GatewayKind, Lab

if TYPE_CHECKING:
    from components.discovery.rules import DiscoveredName


def render_dns_records(
    lab: Lab, addresses: Mapping[str, IPv4Address], discovered: Sequence[DiscoveredName] = ()
) -> list[dict[str, Any]]:
    """Records sorted by name. ``addresses`` maps service names to their IPs (pinned and
    allocated); a service without one gets its records once MetalLB has allocated it.
    ``discovered`` names (components.discovery) get records of the same shape."""
    if lab.gateway.kind is not GatewayKind.UNIFI_OS:
        return []
    ttl = lab.gateway.dns_ttl
    named: list[tuple[tuple[str, ...], IPv4Address, bool]] = []
    for service in lab.services:
        address = addresses.get(service.name)
        if address is not None:
            named.append(((service.hostname(lab.gateway.dns_domain), *service.all_aliases), address, False))
    named += [(entry.names, entry.address, True) for entry in discovered]
    records: list[dict[str, Any]] = []
    for names, address, was_discovered in named:
        for name in names:
            record: dict[str, Any] = {"key": name, "value": str(address), "record_type": "A", "enabled": True}
            if ttl is not None:  # otherwise the controller's default applies
                record["ttl"] = ttl
            if was_discovered:
                # The client leaves someone else's record of this name alone (external-dns may
                # have made it) instead of refusing, as it does for a declared name.
                record["discovered"] = True
            records.append(record)
    return sorted(records, key=lambda r: str(r["key"]))


def dns_records_json(lab: Lab, addresses: Mapping[str, IPv4Address], discovered: Sequence[DiscoveredName] = ()) -> str:
    return json.dumps(render_dns_records(lab, addresses, discovered), indent=2, sort_keys=True) + "\n"
