"""Static DNS records for a UniFi OS gateway (its ``static-dns`` API): one A record per host name
and per alias of every service whose address is known. A USG has no such API; it gets
``static-host-mapping`` in config.gateway.json instead, so it has no records here."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from ipaddress import IPv4Address
from typing import TYPE_CHECKING, Any

from components.config.model import GatewayKind, Lab, Service

if TYPE_CHECKING:
    from components.discovery.rules import DiscoveredName


def render_dns_records(
    lab: Lab, addresses: Mapping[str, IPv4Address], discovered: Sequence[DiscoveredName] = ()
) -> list[dict[str, Any]]:
    """Records sorted by name. ``addresses`` maps service names to their IPs (pinned and
    allocated); a service without one gets its records once MetalLB has allocated it.
    ``discovered`` names (components.discovery) get records of the same shape."""
    named = [(s, addresses.get(s.name)) for s in lab.services]
    return _records(lab, [(s, str(a)) for s, a in named if a is not None], discovered)


def known_dns_records(lab: Lab, discovered: Sequence[DiscoveredName] = ()) -> list[dict[str, Any]]:
    """The records ``render_dns_records`` renders once MetalLB has allocated every address, as far
    as they are known before the program registers any resource: a service without a pinned
    address has its records with ``"value": None`` (its address is allocated during ``up``)."""
    pinned = lab.pinned_addresses
    return _records(lab, [(s, str(pinned[s.name]) if s.name in pinned else None) for s in lab.services], discovered)


def _records(
    lab: Lab, services: Sequence[tuple[Service, str | None]], discovered: Sequence[DiscoveredName]
) -> list[dict[str, Any]]:
    if lab.gateway.kind is not GatewayKind.UNIFI_OS:
        return []
    ttl = lab.gateway.dns_ttl
    named: list[tuple[tuple[str, ...], str | None, bool]] = [
        ((service.hostname(lab.gateway.dns_domain), *service.all_aliases), address, False)
        for service, address in services
    ]
    named += [(entry.names, str(entry.address), True) for entry in discovered]
    records: list[dict[str, Any]] = []
    for names, address, was_discovered in named:
        for name in names:
            record: dict[str, Any] = {"key": name, "value": address, "record_type": "A", "enabled": True}
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
