"""Which commands a gateway read runs, and how their outputs make one view: an IPv4-only lab runs
exactly the two commands it always ran; IPv6 adds the gateway kind's IPv6 commands only for what
the lab expects."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv6Address, IPv6Network
from pathlib import Path

import pytest

from components.config.model import GatewayKind
from components.verify.gateway import GatewayView, gateway_reads
from components.verify.gateway_output import parse_bgp6_paths_text

OUTPUTS = Path(__file__).resolve().parent / "outputs"
WRAPPER = "/opt/vyatta/bin/vyatta-op-cmd-wrapper"
ECMP, OTHER = IPv6Address("2001:db8:100::10"), IPv6Address("2001:db8:100::99")


def commands(kind: GatewayKind, sessions6: bool = False, routes6: Sequence[IPv6Address] = ()) -> list[str]:
    return [read.command for read in gateway_reads(kind, sessions6=sessions6, routes6=routes6)]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (GatewayKind.USG, [f"{WRAPPER} show ip bgp summary", f"{WRAPPER} show ip route"]),
        (GatewayKind.UNIFI_OS, ["vtysh -c 'show ip bgp summary json'", "vtysh -c 'show ip route json'"]),
    ],
)
def test_an_ipv4_only_lab_runs_the_two_commands_it_always_ran(kind: GatewayKind, expected: list[str]) -> None:
    assert commands(kind) == expected


def test_a_usg_asks_ipv6_sessions_the_ipv6_table_and_each_addresses_bgp_entry() -> None:
    assert commands(GatewayKind.USG, sessions6=True, routes6=[ECMP, OTHER, ECMP])[2:] == [
        f"{WRAPPER} show ipv6 bgp summary",
        f"{WRAPPER} show ipv6 route",
        f"{WRAPPER} show ipv6 bgp 2001:db8:100::10",
        f"{WRAPPER} show ipv6 bgp 2001:db8:100::99",
    ]
    # Sessions only: no table; addresses only: no summary.
    assert commands(GatewayKind.USG, sessions6=True)[2:] == [f"{WRAPPER} show ipv6 bgp summary"]
    assert f"{WRAPPER} show ipv6 bgp summary" not in commands(GatewayKind.USG, routes6=[ECMP])


def test_unifi_os_asks_its_whole_ipv6_bgp_table_once() -> None:
    assert commands(GatewayKind.UNIFI_OS, sessions6=True, routes6=[ECMP, OTHER])[2:] == [
        "vtysh -c 'show bgp ipv6 unicast summary json'",
        "vtysh -c 'show ipv6 route json'",
        "vtysh -c 'show bgp ipv6 unicast json'",
    ]


def test_the_view_reads_each_output_by_its_commands_parser_and_merges_the_usg_entries() -> None:
    reads = gateway_reads(GatewayKind.USG, sessions6=True, routes6=[ECMP, OTHER])
    files = ["frr-usg-dual-bgp-summary.txt", "quagga-usg-route.txt", "frr-usg-dual-bgp6-summary.txt"]
    files += ["frr-usg-dual-route6.txt", "frr-usg-dual-bgp6-path-ecmp.txt", "frr-uos-dual-bgp6-path-refused.txt"]
    view = GatewayView.of(reads, [(OUTPUTS / name).read_text() for name in files])
    assert sorted(map(str, view.neighbours)) == ["10.60.0.11", "10.60.0.12"]
    assert sorted(map(str, view.neighbours6)) == ["fd00:10::11", "fd00:10::12", "fd00:10::14", "fd00:10::15"]
    assert IPv6Network("2001:db8:100::10/128") in view.routes6
    assert view.paths6 == parse_bgp6_paths_text((OUTPUTS / "frr-usg-dual-bgp6-path-ecmp.txt").read_text())
    # An IPv4-only read leaves the IPv6 fields empty.
    v4 = GatewayView.of(reads[:2], [(OUTPUTS / name).read_text() for name in files[:2]])
    assert (v4.neighbours6, v4.routes6, v4.paths6) == ({}, {}, {})
