"""outputs.json → what the user is promised: per service its address, names and URL.

These are the checks' expectations, not daemon configuration, so only the fields the checks
need are read."""

from __future__ import annotations

import json
from ipaddress import IPv4Address
from typing import Any

from simulator.model import ExpectedService


def read_expected_services(text: str) -> tuple[ExpectedService, ...]:
    """Services with a known address (the others get theirs from MetalLB, later)."""
    services: dict[str, Any] = json.loads(text)["services"]
    return tuple(
        ExpectedService(
            name=name,
            namespace=str(entry["namespace"]),
            service_name=str(entry["serviceName"]),
            address=IPv4Address(entry["ip"]),
            names=(str(entry["hostname"]), *(str(alias) for alias in entry["aliases"])),
            url=str(entry["url"]),
        )
        for name, entry in sorted(services.items())
        if entry.get("ip")
    )
