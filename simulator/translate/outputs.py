"""outputs.json → what the user is promised: per service its address, names and URL.

These are the checks' expectations, not daemon configuration, so only the fields the checks
need are read. A service's address there is one (``ip``); the plan adds the Service's other pinned
address (its other family) from services.yaml."""

from __future__ import annotations

import json
from ipaddress import ip_address
from typing import Any

from simulator.model import ExpectedService


def read_expected_services(text: str) -> tuple[ExpectedService, ...]:
    """Services with a known address (the others get theirs from MetalLB, later)."""
    services: dict[str, Any] = json.loads(text)["services"]
    return _declared(services) + read_discovered(text)


def read_discovered(text: str) -> tuple[ExpectedService, ...]:
    """The cluster's other Services that got host names (``discovered``, absent without discovery)."""
    return tuple(
        ExpectedService(
            name=str(entry["service"]),
            namespace=str(entry["service"]).split("/", 1)[0],
            service_name=str(entry["service"]).split("/", 1)[1],
            addresses=(ip_address(entry["address"]),),
            names=(str(entry["hostname"]), *(str(alias) for alias in entry["aliases"])),
            url=str(entry["url"] or ""),  # no TCP port: no URL to check
        )
        for entry in json.loads(text).get("discovered", [])
    )


def _declared(services: dict[str, Any]) -> tuple[ExpectedService, ...]:
    return tuple(
        ExpectedService(
            name=name,
            namespace=str(entry["namespace"]),
            service_name=str(entry["serviceName"]),
            addresses=(ip_address(entry["ip"]),),
            names=(str(entry["hostname"]), *(str(alias) for alias in entry["aliases"])),
            url=str(entry["url"]),
        )
        for name, entry in sorted(services.items())
        if entry.get("ip")
    )
