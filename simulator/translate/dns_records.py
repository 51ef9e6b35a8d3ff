"""dns-records.json (UniFi OS static DNS) → the names the gateway answers for.

Modeled: ``key``, ``value``, ``record_type`` A or AAAA (the value an address of that family),
``enabled``, ``ttl``; anything else is refused."""

from __future__ import annotations

import json
from ipaddress import IPv4Address, IPv6Address

from simulator.errors import UnmodeledField
from simulator.model import HostEntry
from simulator.strict import Fields

FILE = "dns-records.json"
_FAMILY: dict[str, type[IPv4Address] | type[IPv6Address]] = {"A": IPv4Address, "AAAA": IPv6Address}


def read_dns_records(text: str) -> tuple[HostEntry, ...]:
    records = json.loads(text)
    if not isinstance(records, list):
        raise UnmodeledField(FILE, "(top level)", "expected a list of records")
    hosts = []
    for index, raw in enumerate(records):
        record = Fields(raw, FILE, f"[{index}]")
        record.expect("record_type", *_FAMILY)
        family = _FAMILY[record.require_string("record_type")]
        try:
            address = family(record.require_string("value"))
        except ValueError as exc:
            raise UnmodeledField(
                FILE, record.where("value"), f"not an {record.get('record_type')} value: {exc}"
            ) from None
        host = HostEntry(record.require_string("key"), address, record.integer("ttl"))
        enabled = record.boolean("enabled", True)
        record.finish()
        if enabled:  # a disabled record is not served by the gateway either
            hosts.append(host)
    return tuple(hosts)
