"""The gateway's BGP filter read back from both rendered forms and evaluated the way Quagga and
FRR do (lib/plist.c, prefix_list_entry_match and prefix_list_apply: the first entry that
matches decides; no entry matching is a deny), on IPv4Network values, never on text."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Network
from typing import Any

from components.config.model import Lab


@dataclass(frozen=True)
class Entry:
    seq: int
    permit: bool
    prefix: IPv4Network
    ge: int | None = None
    le: int | None = None

    def matches(self, route: IPv4Network) -> bool:
        if not route.subnet_of(self.prefix):
            return False
        if self.ge is None and self.le is None:
            return route.prefixlen == self.prefix.prefixlen
        return (self.le is None or route.prefixlen <= self.le) and (self.ge is None or route.prefixlen >= self.ge)


def permits(entries: Iterable[Entry], route: IPv4Network) -> bool:
    for entry in sorted(entries, key=lambda e: e.seq):
        if entry.matches(route):
            return entry.permit
    return False


def usg_prefix_list(document: Mapping[str, Any], name: str) -> list[Entry]:
    """``policy.prefix-list.<name>`` of a config.gateway.json document."""
    rules = document["policy"]["prefix-list"][name]["rule"]
    entries = []
    for seq, rule in rules.items():
        assert set(rule) <= {"action", "prefix", "ge", "le"}, rule
        assert rule["action"] in ("permit", "deny")
        entries.append(
            Entry(
                int(seq),
                rule["action"] == "permit",
                IPv4Network(rule["prefix"]),  # strict: a prefix with host bits set fails here
                int(rule["ge"]) if "ge" in rule else None,
                int(rule["le"]) if "le" in rule else None,
            )
        )
    return entries


_FRR_ENTRY = re.compile(
    r"ip prefix-list (?P<name>\S+) seq (?P<seq>\d+) (?P<action>permit|deny) (?P<prefix>\S+)"
    r"(?: ge (?P<ge>\d+))?(?: le (?P<le>\d+))?"
)


def frr_prefix_list(text: str, name: str) -> list[Entry]:
    """The ``ip prefix-list <name>`` lines of a bgpd.conf."""
    entries = []
    for line in text.splitlines():
        if line.startswith(f"ip prefix-list {name} "):
            found = _FRR_ENTRY.fullmatch(line)
            assert found is not None, line
            entries.append(
                Entry(
                    int(found["seq"]),
                    found["action"] == "permit",
                    IPv4Network(found["prefix"]),
                    int(found["ge"]) if found["ge"] else None,
                    int(found["le"]) if found["le"] else None,
                )
            )
    return entries


def quagga_accepts_entry(entry: Entry) -> bool:
    """Quagga's check of a new entry (lib/plist.c, quagga-1.2.3 lines 753-761): len < ge <= le."""
    length = entry.prefix.prefixlen
    ge, le = entry.ge or 0, entry.le or 0
    return not ((ge and ge <= length) or (le and le <= length) or (le and ge > le))


def inside_a_pool(lab: Lab, route: IPv4Network) -> bool:
    """Every address of ``route`` lies in one BGP pool: its ranges merged as integer intervals."""
    low, high = int(route.network_address), int(route.broadcast_address)
    for pool in lab.bgp_pools:
        merged: list[list[int]] = []
        for first, last in sorted((int(r.first), int(r.last)) for r in pool.ranges):
            if merged and first <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], last)
            else:
                merged.append([first, last])
        if any(first <= low and high <= last for first, last in merged):
            return True
    return False
