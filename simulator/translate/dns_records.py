"""dns-records.json (UniFi OS static DNS) → the names the gateway answers for.

Modeled: ``key``, ``value``, ``record_type`` A, ``enabled``, ``ttl``; anything else is refused."""

from __future__ import annotations

import json
from ipaddress import IPv4Address

from simulator.errors import UnmodeledField
from simulator.model import HostEntry
from simulator.strict import Fields

FILE = "dns-records.json"


def read_dns_records(text: str) -> tuple[HostEntry, ...]:
    records = json.loads(text)
    if not isinstance(records, list):
        raise UnmodeledField(FILE, "(top level)", "expected a list of records")
    hosts = []
    for index, raw in enumerate(records):
        record = Fields(raw, FILE, f"[{index}]")
        record.expect("record_type", "A")
        host = HostEntry(
            record.require_string("key"), IPv4Address(record.require_string("value")), record.integer("ttl")
        )
        enabled = record.boolean("enabled", True)
        record.finish()
        if enabled:  # a disabled record is not served by the gateway either
            hosts.append(host)
    return tuple(hosts)
