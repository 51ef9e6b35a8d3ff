"""Static DNS records for a UniFi OS gateway (its ``static-dns`` API): one A record per host name
and per alias of every service whose address is known. A USG has no such API; it gets
``static-host-mapping`` in config.gateway.json instead, so it has no records here."""

from __future__ import annotations

import json
from collections.abc import Mapping
from ipaddress import IPv4Address
from typing import Any

from components.config.model import GatewayKind, Lab


def render_dns_records(lab: Lab, addresses: Mapping[str, IPv4Address]) -> list[dict[str, Any]]:
    """Records sorted by name. ``addresses`` maps service names to their IPs (pinned and
    allocated); a service without one gets its records once MetalLB has allocated it."""
    if lab.gateway.kind is not GatewayKind.UNIFI_OS:
        return []
    ttl = lab.gateway.dns_ttl
    records: list[dict[str, Any]] = []
    for service in lab.services:
        address = addresses.get(service.name)
        if address is None:
            continue
        for name in (service.hostname(lab.gateway.dns_domain), *service.all_aliases):
            record: dict[str, Any] = {"key": name, "value": str(address), "record_type": "A", "enabled": True}
            if ttl is not None:  # otherwise the controller's default applies
                record["ttl"] = ttl
            records.append(record)
    return sorted(records, key=lambda r: str(r["key"]))


def dns_records_json(lab: Lab, addresses: Mapping[str, IPv4Address]) -> str:
    return json.dumps(render_dns_records(lab, addresses), indent=2, sort_keys=True) + "\n"
