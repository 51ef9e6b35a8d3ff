"""The gateway's BGP filter read back from both rendered forms and evaluated the way Quagga and
FRR do (lib/plist.c, prefix_list_entry_match and prefix_list_apply: the first entry that
matches decides; no entry matching is a deny), on network values of either family, never on
text. An IPv4 list is ``ip prefix-list`` in bgpd.conf and ``policy.prefix-list`` in
config.gateway.json, an IPv6 one ``ipv6 prefix-list`` and ``policy.prefix-list6``."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from ipaddress import ip_network
from typing import Any

from components.config.model import IPFamily, IPNetwork, Lab


@dataclass(frozen=True)
class Entry:
    seq: int
    permit: bool
    prefix: IPNetwork
    ge: int | None = None
    le: int | None = None

    def matches(self, route: IPNetwork) -> bool:
        # FRRouting/frr@frr-8.4.4 lib/plist.c lines 721-733: without ge or le the exact length only.
        assert route.version == self.prefix.version, (route, self.prefix)  # one list holds one family
        if not _within(route, self.prefix):
            return False
        if self.ge is None and self.le is None:
            return route.prefixlen == self.prefix.prefixlen
        return (self.le is None or route.prefixlen <= self.le) and (self.ge is None or route.prefixlen >= self.ge)


def _within(route: IPNetwork, prefix: IPNetwork) -> bool:
    """``route.subnet_of(prefix)`` for two networks of one family."""
    return (
        int(prefix.network_address)
        <= int(route.network_address)
        <= int(route.broadcast_address)
        <= int(prefix.broadcast_address)
    )


def permits(entries: Iterable[Entry], route: IPNetwork) -> bool:
    for entry in sorted(entries, key=lambda e: e.seq):
        if entry.matches(route):
            return entry.permit
    return False


def _network(text: str, family: IPFamily) -> IPNetwork:
    network = ip_network(text)  # strict: a prefix with host bits set fails here
    assert network.version == family.version, (text, family)
    return network


def usg_prefix_list(document: Mapping[str, Any], name: str, family: IPFamily = IPFamily.IPV4) -> list[Entry]:
    """``policy.prefix-list.<name>`` (``prefix-list6`` for IPv6) of a config.gateway.json document."""
    kind = "prefix-list" if family is IPFamily.IPV4 else "prefix-list6"
    rules = document["policy"][kind][name]["rule"]
    entries = []
    for seq, rule in rules.items():
        assert set(rule) <= {"action", "prefix", "ge", "le"}, rule
        assert rule["action"] in ("permit", "deny")
        entries.append(
            Entry(
                int(seq),
                rule["action"] == "permit",
                _network(rule["prefix"], family),
                int(rule["ge"]) if "ge" in rule else None,
                int(rule["le"]) if "le" in rule else None,
            )
        )
    return entries


_FRR_ENTRY = re.compile(
    r"(?:ip|ipv6) prefix-list (?P<name>\S+) seq (?P<seq>\d+) (?P<action>permit|deny) (?P<prefix>\S+)"
    r"(?: ge (?P<ge>\d+))?(?: le (?P<le>\d+))?"
)


def frr_prefix_list(text: str, name: str, family: IPFamily = IPFamily.IPV4) -> list[Entry]:
    """The ``ip prefix-list <name>`` (``ipv6 prefix-list`` for IPv6) lines of a bgpd.conf."""
    command = "ip prefix-list" if family is IPFamily.IPV4 else "ipv6 prefix-list"
    entries = []
    for line in text.splitlines():
        if line.startswith(f"{command} {name} "):
            found = _FRR_ENTRY.fullmatch(line)
            assert found is not None, line
            entries.append(
                Entry(
                    int(found["seq"]),
                    found["action"] == "permit",
                    _network(found["prefix"], family),
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


def inside_a_pool(lab: Lab, route: IPNetwork) -> bool:
    """Every address of ``route`` lies in one BGP pool: its ranges of the route's family merged as
    integer intervals."""
    low, high = int(route.network_address), int(route.broadcast_address)
    for pool in lab.bgp_pools:
        spans = sorted((int(r.first), int(r.last)) for r in pool.ranges if r.first.version == route.version)
        merged: list[list[int]] = []
        for first, last in spans:
            if merged and first <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], last)
            else:
                merged.append([first, last])
        if any(first <= low and high <= last for first, last in merged):
            return True
    return False
