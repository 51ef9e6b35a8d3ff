"""The gateway's BGP summary and routing table read from what it prints: every recorded or
pasted output (tests/verify/outputs/, sources in its README) to exact values, text and JSON of
one moment to the same values, Quagga-layout tables of random neighbours and routes read back,
and anything that should be a row but cannot be read refused, naming the line."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from pathlib import Path
from typing import Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.verify.gateway_output import (
    BgpNeighbor,
    BgpPath,
    GatewayOutputError,
    Route,
    parse_bgp6_paths_json,
    parse_bgp6_paths_text,
    parse_bgp6_summary_json,
    parse_bgp6_summary_text,
    parse_bgp_summary_json,
    parse_bgp_summary_text,
    parse_routes6_json,
    parse_routes6_text,
    parse_routes_json,
    parse_routes_text,
)

OUTPUTS = Path(__file__).resolve().parent / "outputs"


def read(name: str) -> str:
    return (OUTPUTS / name).read_text(encoding="utf-8")


def neighbors(*rows: tuple[str, int | None, str, str | None, int | None]) -> dict[IPv4Address, BgpNeighbor]:
    return {IPv4Address(a): BgpNeighbor(IPv4Address(a), asn, state, up, pfx) for a, asn, state, up, pfx in rows}


def routes(*rows: tuple[str, str, bool, tuple[str, ...]]) -> dict[IPv4Network, list[Route]]:
    table: dict[IPv4Network, list[Route]] = {}
    for prefix, protocol, selected, hops in rows:
        network = IPv4Network(prefix)
        table.setdefault(network, []).append(Route(network, protocol, selected, tuple(map(IPv4Address, hops))))
    return table


def neighbors6(*rows: tuple[str, int | None, str, str | None, int | None]) -> dict[IPv6Address, BgpNeighbor]:
    return {IPv6Address(a): BgpNeighbor(IPv6Address(a), asn, state, up, pfx) for a, asn, state, up, pfx in rows}


def routes6(*rows: tuple[str, str, bool, tuple[str, ...]]) -> dict[IPv6Network, list[Route]]:
    table: dict[IPv6Network, list[Route]] = {}
    for prefix, protocol, selected, hops in rows:
        network = IPv6Network(prefix)
        table.setdefault(network, []).append(Route(network, protocol, selected, tuple(map(IPv6Address, hops))))
    return table


def paths6(*rows: tuple[str, str | None, tuple[str, ...], bool, bool]) -> dict[IPv6Network, list[BgpPath]]:
    """(prefix, neighbour, next hops, best, selected) per path."""
    table: dict[IPv6Network, list[BgpPath]] = {}
    for prefix, peer, hops, best, selected in rows:
        network = IPv6Network(prefix)
        neighbour = None if peer is None else ip_address(peer)
        table.setdefault(network, []).append(BgpPath(network, neighbour, tuple(map(ip_address, hops)), best, selected))
    return table


# --- the recorded FRR outputs: text and both JSON shapes give the same values ------------------

LAN = ("192.168.1.0/24", "connected", True, ())
FRR_SESSIONS = {
    "usg-established": neighbors(
        ("10.10.0.101", 64512, "Established", "00:00:04", 1),
        ("10.10.0.102", 64512, "Established", "00:00:04", 1),
        ("10.10.0.103", 64512, "Established", "00:00:04", 1),
        ("10.10.0.200", 64512, "Established", "00:00:04", 1),
    ),
    # Besides these, an IPv6 neighbour (fd00:10:10:0:1234:5678:9abc:def0, AS 4200000001): skipped.
    "usg-down": neighbors(
        ("10.10.0.101", 64512, "Established", "00:00:04", 1),
        ("10.10.0.102", 64512, "Established", "00:00:04", 1),
        ("10.10.0.103", 64512, "Idle", "00:00:00", None),
        ("10.10.0.200", 64512, "Idle (Admin)", "00:00:00", None),
    ),
    "usg-states": neighbors(
        ("10.10.0.101", 64512, "Established", "00:00:02", 0),
        ("10.10.0.102", 64512, "Active", "00:00:02", None),
        ("10.10.0.103", 64512, "OpenSent", "00:00:02", None),
        ("10.10.0.200", 64512, "OpenConfirm", "00:00:02", None),
    ),
    "password": neighbors(
        ("10.50.0.11", 64512, "Established", "00:00:07", 1),
        ("10.50.0.12", 64512, "Connect", "never", None),
        ("10.50.0.13", 64512, "Established", "00:00:07", 1),
    ),
    "udm-ecmp": neighbors(
        ("192.168.30.11", 65010, "Established", "00:00:02", 1),
        ("192.168.30.12", 65010, "Established", "00:00:02", 1),
        ("192.168.30.13", 65010, "Established", "00:00:02", 1),
    ),
    "udm-one-down": neighbors(
        ("192.168.30.11", 65010, "Established", "00:00:02", 1),
        ("192.168.30.12", 65010, "Idle", "00:00:00", None),
        ("192.168.30.13", 65010, "Established", "00:00:02", 1),
    ),
    # "(Policy)" in the text: up, and every route refused for want of an import policy.
    "no-import-policy": neighbors(
        ("10.40.0.11", 65010, "Established", "00:00:03", 0),
        ("10.40.0.12", 65010, "Established", "00:00:03", 0),
        ("10.40.0.13", 65010, "Established", "00:00:03", 0),
    ),
}
FRR_ROUTES = {
    "usg-established": routes(
        ("10.10.0.0/24", "connected", True, ()), ("10.10.10.10/32", "bgp", True, ("10.10.0.101",)), LAN
    ),
    # A kernel route to the service address wins; BGP's entry stays, unselected and out of the FIB.
    "usg-down": routes(
        ("10.10.0.0/24", "connected", True, ()),
        ("10.10.10.10/32", "kernel", True, ("10.10.0.102",)),
        ("10.10.10.10/32", "bgp", False, ()),
        LAN,
    ),
    "usg-states": routes(("10.10.0.0/24", "connected", True, ()), LAN),
    "password": routes(("10.50.0.0/24", "connected", True, ()), ("10.50.10.10/32", "bgp", True, ("10.50.0.11",)), LAN),
    "udm-ecmp": routes(
        ("10.99.0.10/32", "bgp", True, ("192.168.30.11", "192.168.30.12", "192.168.30.13")),
        ("192.168.30.0/24", "connected", True, ()),
    ),
    "udm-one-down": routes(
        ("10.99.0.10/32", "bgp", True, ("192.168.30.11", "192.168.30.13")),
        ("192.168.30.0/24", "connected", True, ()),
    ),
    "no-import-policy": routes(("10.40.0.0/24", "connected", True, ()), ("192.168.40.0/24", "connected", True, ())),
}


@pytest.mark.parametrize("state", sorted(FRR_SESSIONS))
def test_frr_sessions_read_the_same_from_text_and_both_json_shapes(state):
    expected = FRR_SESSIONS[state]
    assert parse_bgp_summary_text(read(f"frr-{state}-bgp-summary.txt")) == expected
    assert parse_bgp_summary_json(read(f"frr-{state}-bgp-summary.json")) == expected
    assert parse_bgp_summary_json(read(f"frr-{state}-bgp-summary-ipv4-unicast.json")) == expected


@pytest.mark.parametrize("state", sorted(FRR_ROUTES))
def test_frr_routes_read_the_same_from_text_and_json(state):
    expected = FRR_ROUTES[state]
    assert parse_routes_text(read(f"frr-{state}-route.txt")) == expected
    assert parse_routes_json(read(f"frr-{state}-route.json")) == expected


def test_every_session_state_was_recorded_in_text_and_json():
    wanted = {"Established", "Active", "Idle", "Idle (Admin)", "Connect", "OpenSent", "OpenConfirm"}
    for parse, suffix in ((parse_bgp_summary_text, "txt"), (parse_bgp_summary_json, "json")):
        seen = {n.state for state in FRR_SESSIONS for n in parse(read(f"frr-{state}-bgp-summary.{suffix}")).values()}
        assert seen == wanted, suffix


def test_established_means_the_state_established():
    table = FRR_SESSIONS["usg-states"]
    assert [n.established for n in table.values()] == [True, False, False, False]


def test_every_fixture_is_read_by_a_test():
    """A fixture no test reads proves nothing: each file is named in this module's tables."""
    named = {f"frr-{state}-{kind}" for state in FRR_SESSIONS for kind in ("bgp-summary.txt", "bgp-summary.json")}
    named |= {f"frr-{state}-bgp-summary-ipv4-unicast.json" for state in FRR_SESSIONS}
    named |= {f"frr-{state}-route.{suffix}" for state in FRR_ROUTES for suffix in ("txt", "json")}
    named |= set(PASTED_SESSIONS) | set(PASTED_ROUTES) | {"README.md"}
    named |= set(SESSIONS6) | set(ROUTES6) | set(PATHS6) | set(V4_BESIDE_V6)
    assert {path.name for path in OUTPUTS.iterdir()} == named


# --- EdgeOS (pasted) and Quagga (rendered from its source) -------------------------------------

ERX = "192.168.114.{}"
ERX_UPTIMES = ("00:55:28", "00:55:27", "00:55:25", "00:55:19", "00:55:26", "00:55:27", "00:55:27", "00:55:26")
PASTED_SESSIONS = {
    "edgeos-erx-bgp-summary.txt": neighbors(
        *((ERX.format(n), 65002, "Established", up, 11) for n, up in zip(range(11, 19), ERX_UPTIMES, strict=True))
    ),
    # The wrapped IPv6 neighbour (fd00:10:10::1234:5678) is skipped; AS 4200000001 widens its row.
    "quagga-usg-bgp-summary.txt": neighbors(
        ("10.10.0.101", 64512, "Established", "01:02:03", 1),
        ("10.10.0.102", 64512, "Established", "1d02h03m", 0),
        ("10.10.0.103", 64512, "Active", "00:00:31", None),
        ("10.10.0.104", 64512, "Connect", "never", None),
        ("10.10.0.105", 4200000001, "OpenSent", "00:00:02", None),
        ("10.10.0.200", 64512, "Idle (Admin)", "02w3d04h", None),
    ),
}
PASTED_ROUTES = {
    "edgeos-erx-route.txt": routes(
        ("0.0.0.0/0", "kernel", True, ()),  # "via pppoe0": an interface, no gateway address
        ("203.0.113.7/32", "connected", True, ()),
        ("127.0.0.0/8", "connected", True, ()),
        *((f"192.168.11{n}.0/24", "connected", True, ()) for n in range(5)),
        ("192.168.115.1/32", "bgp", True, tuple(ERX.format(n) for n in range(18, 10, -1))),
    ),
    "edgeos-er6p-route.txt": routes(
        ("0.0.0.0/0", "static", True, ()),
        ("22.22.23.0/24", "static", True, ("198.168.0.1",)),
        ("23.23.23.0/24", "static", True, ("198.168.0.1",)),
        ("23.90.232.243/32", "connected", True, ()),
        ("25.22.23.0/24", "static", True, ("198.168.0.1",)),
        ("100.95.11.96/32", "connected", True, ()),
        ("127.0.0.0/8", "connected", True, ()),
        ("192.100.111.0/24", "static", True, ("192.168.1.25", "192.168.1.20")),
    ),
    "quagga-usg-route.txt": routes(
        ("0.0.0.0/0", "kernel", True, ("203.0.113.1",)),
        ("10.10.0.0/24", "connected", True, ()),
        ("10.10.10.10/32", "bgp", True, ("10.10.0.101",)),
        ("10.10.10.11/32", "kernel", True, ("10.10.0.102",)),
        ("10.10.10.11/32", "bgp", False, ()),
        ("10.10.10.12/32", "bgp", False, ()),  # "inactive"
        ("10.10.10.13/32", "bgp", True, ("10.10.0.101", "10.10.0.102")),  # the third hop is not in the FIB
        ("127.0.0.0/8", "connected", True, ()),
        ("192.168.1.0/24", "connected", True, ()),
    ),
}


@pytest.mark.parametrize("name", sorted(PASTED_SESSIONS))
def test_edgeos_and_quagga_summaries(name):
    assert parse_bgp_summary_text(read(name)) == PASTED_SESSIONS[name]


@pytest.mark.parametrize("name", sorted(PASTED_ROUTES))
def test_edgeos_and_quagga_routing_tables(name):
    assert parse_routes_text(read(name)) == PASTED_ROUTES[name]


# --- FRR shapes from its source (frr-8.4.4 bgpd/bgp_vty.c bgp_show_summary) --------------------

FRR_HEADER = "Neighbor        V         AS   MsgRcvd   MsgSent   TblVer  InQ OutQ  Up/Down State/PfxRcd   PfxSnt Desc"


def test_frr_neighbour_names_dynamic_and_with_hostname():
    text = "\n".join(
        [
            FRR_HEADER,
            "*10.0.0.1       4      65010        10         7        0    0    0 00:00:09            2        0 N/A",
            "k2(10.0.0.2)    4      65010        10         7        0    0    0 1d02h03m        NoNeg    NoNeg N/A",
            "10.0.0.3        4      65010         0         0        0    0    0    never Idle (PfxCt)        0 a peer",
            "swp1            4      65010        10         7        0    0    0 00:00:09            2        0 N/A",
            "",
            "Total number of neighbors 4",
            "* - dynamic neighbor",
            "1 dynamic neighbor(s), limit 100",
        ]
    )
    assert parse_bgp_summary_text(text) == neighbors(
        ("10.0.0.1", 65010, "Established", "00:00:09", 2),
        ("10.0.0.2", 65010, "Established", "1d02h03m", 0),
        ("10.0.0.3", 65010, "Idle (PfxCt)", "never", None),
    )


def test_frr_wide_summary_counts_its_local_as_column():
    text = "\n".join(
        [
            "Neighbor        V         AS    LocalAS   MsgRcvd   MsgSent   TblVer  InQ OutQ  Up/Down State/PfxRcd   "
            "PfxSnt Desc",
            "10.0.0.1        4 4200000001      65000        10         7        0    0    0 00:00:09            5"
            "        0 a description with blanks",
        ]
    )
    assert parse_bgp_summary_text(text) == neighbors(("10.0.0.1", 4200000001, "Established", "00:00:09", 5))


def test_only_the_ipv4_unicast_table_counts():
    """The wildcard summary prints a table per address family; an IPv4 neighbour activated for
    IPv6 unicast too shows in both, with the other family's prefixes there."""
    row = "10.0.0.1        4      65010        10         7        0    0    0 00:00:09            {}        0 N/A"
    text = "\n".join(
        [
            "",
            "IPv4 Unicast Summary (VRF default):",
            "BGP router identifier 10.0.0.254, local AS number 65000 vrf-id 0",
            "",
            FRR_HEADER,
            row.format(3),
            "",
            "Total number of neighbors 1",
            "",
            "IPv6 Unicast Summary (VRF default):",
            "",
            FRR_HEADER,
            row.format(7),
            "fd00::1         4      65010        10         7        0    0    0 00:00:09            7        0 N/A",
            "",
            "Total number of neighbors 2",
        ]
    )
    assert parse_bgp_summary_text(text) == neighbors(("10.0.0.1", 65010, "Established", "00:00:09", 3))


def test_a_header_and_rows_wrapped_onto_indented_lines_read_as_one():
    text = "\n".join(
        [
            "Neighbor           V    AS     MsgRcv     MsgSen  TblVer    InQ   OutQ   Up/Down",
            "  State/PfxRcd   Desc",
            "172.16.1.0         4 64001         87         89       5      0      0  00:32:17",
            "            21",
            "2001:db8::1234:5678:9abc",
            "                   4 64001         87         89       5      0      0  00:32:17",
            "            21",
        ]
    )
    assert parse_bgp_summary_text(text) == neighbors(("172.16.1.0", 64001, "Established", "00:32:17", 21))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "% No BGP neighbors found in VRF default\n",  # FRR, no address family with a neighbour
        "No IPv4 Unicast neighbor is configured\n",  # FRR, a BGP instance without neighbours
        "% BGP instance not found\n",  # FRR, no router bgp
        "No IPv4 neighbor is configured\n",  # Quagga
        "% No such BGP instance exist\n",  # Quagga, an unknown view
        "BGP router identifier 10.0.0.1, local AS number 65000\n",
    ],
)
def test_no_neighbours_reads_as_none(text):
    assert parse_bgp_summary_text(text) == {}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{}\n",
        '{"ipv6Unicast": {"routerId": "10.0.0.1", "peers": {"fd00::1": {"state": "Established"}}}}',
    ],
)
def test_no_ipv4_neighbours_in_json_reads_as_none(text):
    assert parse_bgp_summary_json(text) == {}


def test_json_of_older_frr_counts_prefix_received_count():
    text = '{"peers": {"10.0.0.1": {"remoteAs": 65010, "state": "Established", "prefixReceivedCount": 4}}}'
    assert parse_bgp_summary_json(text) == neighbors(("10.0.0.1", 65010, "Established", None, 4))


# --- FRR route shapes from its source (frr-8.4.4 zebra/zebra_vty.c) and issues ---------------


def test_frr_rejected_and_queued_routes_have_no_next_hop_in_the_fib():
    # "B>r" and "  r" continuation lines: github.com/unifi-utilities/unifi-common/issues/289 (a UDM
    # whose kernel refused an ECMP route); "q": re_status_output_char for a route still queued.
    text = "\n".join(
        [
            "B>r 10.0.8.0/24 [20/0] via 10.32.100.17, br0, weight 1, 00:00:01",
            "  r                    via 10.32.100.20, br0, weight 1, 00:04:01",
            "B>q 10.0.9.0/24 [20/0] via 10.32.100.17, br0, weight 1, 00:00:01",
            "S   0.0.0.0/0 [250/0] unreachable (blackhole), weight 1, 1d21h15m",
            "L>* 10.32.100.1/32 is directly connected, br0, 00:04:01",
        ]
    )
    assert parse_routes_text(text) == routes(
        ("10.0.8.0/24", "bgp", True, ()),
        ("10.0.9.0/24", "bgp", True, ()),
        ("0.0.0.0/0", "static", False, ()),
        ("10.32.100.1/32", "local", True, ()),
    )


def test_frr_recursive_and_backup_next_hops_are_not_the_fib_ones():
    # The recursive shape of github.com/FRRouting/frr/issues/19370; the backup line ("  b")
    # as vty_show_ip_route prints a route's backup next hops.
    text = "\n".join(
        [
            "B>  0.0.0.0/0 [200/0] via 10.100.1.1 (recursive), weight 1, 1d21h15m",
            "  *                     via 10.100.101.129, gre1002, weight 1, 1d21h15m",
            "O[2]>* 10.1.0.0/24 [110/20] via 10.1.1.1, eth0, weight 1, 00:01:00",
            "  b                          via 10.1.2.1, eth1, weight 1",
        ]
    )
    assert parse_routes_text(text) == routes(
        ("0.0.0.0/0", "bgp", True, ("10.100.101.129",)),
        ("10.1.0.0/24", "ospf", True, ("10.1.1.1",)),
    )


def test_frr_json_counts_only_fib_next_hops_of_installed_routes():
    text = """{
      "10.0.8.0/24": [{"protocol": "bgp", "selected": true, "failed": true,
                       "nexthops": [{"fib": true, "ip": "10.32.100.17", "afi": "ipv4", "active": true}]}],
      "10.0.9.0/24": [{"protocol": "bgp", "selected": true, "queued": true,
                       "nexthops": [{"ip": "10.32.100.17", "afi": "ipv4", "active": true}]}],
      "0.0.0.0/0": [{"protocol": "bgp", "selected": true, "installed": true, "nexthops": [
                       {"fib": true, "ip": "10.100.1.1", "afi": "ipv4", "active": true, "recursive": true},
                       {"fib": true, "ip": "10.100.101.129", "afi": "ipv4", "active": true, "resolver": true},
                       {"fib": true, "ip": "10.100.101.129", "afi": "ipv4", "duplicate": true},
                       {"fib": true, "ip": "fe80::1", "afi": "ipv6", "active": true}]}],
      "fd00::/64": [{"protocol": "connected", "selected": true, "installed": true, "nexthops": []}]
    }"""
    assert parse_routes_json(text) == routes(
        ("10.0.8.0/24", "bgp", True, ()),
        ("10.0.9.0/24", "bgp", True, ()),
        ("0.0.0.0/0", "bgp", True, ("10.100.101.129",)),
    )


def test_ipv6_routes_and_their_next_hops_are_skipped():
    text = "\n".join(
        [
            "B>* fd00:10::/64 [20/0] via fe80::1, br0, weight 1, 00:00:01",
            "  *                     via fe80::2, br0, weight 1, 00:00:01",
            "B>* 10.0.0.0/24 [20/0] via fe80::1, br0, weight 1, 00:00:01",  # RFC 5549: no IPv4 gateway
        ]
    )
    assert parse_routes_text(text) == routes(("10.0.0.0/24", "bgp", True, ()))


# --- IPv6: recorded from FRR 8.4 (tests/verify/record_gateway_outputs6.py), rendered from Quagga
# 0.99.20's format strings, pasted from an EdgeRouter (sources: outputs/README.md) ------------

UOS_SESSIONS6 = neighbors6(
    ("fd00:10::11", 64512, "Established", "00:00:10", 2),
    ("fd00:10::12", 64512, "Established", "00:00:09", 1),
    ("fd00:10::13", 64512, "Established", "00:00:01", 1),  # gobgpd
    ("fd00:10::14", 64512, "Active", "never", None),  # the address answers, nothing listens
    ("fd00:10::15", 64512, "Idle (Admin)", "never", None),
)
SESSIONS6 = {
    "frr-uos-dual-bgp6-summary.txt": UOS_SESSIONS6,
    "frr-uos-dual-bgp6-summary.json": UOS_SESSIONS6,
    # Every family at once ({"ipv4Unicast": ..., "ipv6Unicast": ...}): the IPv6 table's.
    "frr-uos-dual-bgp-summary-all.json": UOS_SESSIONS6,
    "frr-usg-dual-bgp6-summary.txt": neighbors6(
        ("fd00:10::11", 64512, "Established", "00:00:02", 1),
        ("fd00:10::12", 64512, "Established", "00:00:02", 1),
        ("fd00:10::14", 64512, "Active", "never", None),
        ("fd00:10::15", 64512, "Idle (Admin)", "never", None),
    ),
    # The wrapped neighbour (21 characters) is read; 10.10.0.101, IPv4 activated for IPv6, is skipped.
    "quagga-usg-bgp6-summary.txt": neighbors6(
        ("fd00:10::11", 64512, "Established", "01:02:03", 1),
        ("fd00:10::12", 64512, "Established", "1d02h03m", 0),
        ("fd00:10::13", 64512, "Active", "00:00:31", None),
        ("fd00:10::14", 64512, "Connect", "never", None),
        ("fd00:10::15", 64512, "Idle (Admin)", "02w3d04h", None),
        ("fd00:10:10::1234:5678", 4200000001, "Established", "00:10:00", 2),
    ),
}
# The IPv4 commands on a dual-stack gateway: only the IPv4 neighbours. On the USG's translation
# every IPv6 neighbour is a row of the IPv4 table too (Established with IPv4 prefixes when its
# speaker activates IPv4 on that session, NoNeg when not, Active, Idle (Admin)): all skipped.
V4_SESSIONS = neighbors(
    ("10.60.0.11", 64512, "Established", "00:00:10", 1), ("10.60.0.12", 64512, "Established", "00:00:09", 1)
)
V4_BESIDE_V6 = {
    "frr-usg-dual-bgp-summary.txt": neighbors(
        ("10.60.0.11", 64512, "Established", "00:00:02", 1), ("10.60.0.12", 64512, "Established", "00:00:02", 1)
    ),
    "frr-uos-dual-bgp-summary.json": V4_SESSIONS,
}
LL1, LL2 = "fe80::94ba:fbff:fe4a:296b", "fe80::248f:3eff:fef3:2d2b"  # n1's, n2's link-local addresses
UOS_ROUTES6 = routes6(
    # Both FRR speakers' paths, installed with their link-local next hops; gobgpd's with its global one.
    ("2001:db8:100::10/128", "bgp", True, (LL2, LL1)),
    ("2001:db8:100::11/128", "bgp", True, (LL1,)),
    ("2001:db8:100::12/128", "bgp", True, ("fd00:10::13",)),
    ("fd00:10::/64", "connected", True, ()),
    *[("fe80::/64", "connected", False, ())] * 4,  # one per veth, not selected
    ("fe80::/64", "connected", True, ()),
)
QUAGGA_LL1, QUAGGA_LL2 = "fe80::7422:9eff:fe89:c857", "fe80::f0b7:37ff:fe9b:58fd"
ROUTES6 = {
    "frr-uos-dual-route6.txt": UOS_ROUTES6,
    "frr-uos-dual-route6.json": UOS_ROUTES6,
    "frr-usg-dual-route6.txt": routes6(
        ("2001:db8:100::10/128", "bgp", True, (QUAGGA_LL1,)),  # one path
        ("fd00:10::/64", "connected", True, ()),
        *[("fe80::/64", "connected", False, ())] * 3,
        ("fe80::/64", "connected", True, ()),
    ),
    "quagga-usg-route6.txt": routes6(
        ("::/0", "kernel", True, ("fe80::1",)),
        ("::1/128", "connected", True, ()),
        ("2001:db8:100::10/128", "bgp", True, (QUAGGA_LL1,)),
        ("2001:db8:100::11/128", "kernel", True, ("fd00:10::12",)),
        ("2001:db8:100::11/128", "bgp", False, ()),
        ("2001:db8:100::12/128", "bgp", False, ()),  # "inactive"
        ("2001:db8:100::13/128", "bgp", True, (QUAGGA_LL1, QUAGGA_LL2)),  # the third hop is not in the FIB
        ("fd00:10::/64", "connected", True, ()),
        ("fe80::/64", "connected", True, ()),
    ),
    # No marks column: every route selected and in the FIB; "via ::" is no gateway.
    "edgeos-er6p-route6.txt": routes6(
        ("::/0", "static", True, ()),
        ("::/64", "static", True, ("2a05:c100:1d::2",)),
        ("::1/128", "connected", True, ()),
        ("2a05:b780:0:1d::/64", "connected", True, ()),
        ("2a05:c100:1d::/64", "connected", True, ()),
        ("fe80::/10", "connected", True, ()),
        ("fe80::/64", "connected", True, ()),
    ),
}
ECMP6 = "2001:db8:100::10/128"
PATHS6 = {
    # The detail names each path's neighbour and both its next hops; "multipath" and "best" are
    # both handed to the routing table.
    "frr-uos-dual-bgp6-path-ecmp.txt": paths6(
        (ECMP6, "fd00:10::12", ("fd00:10::12", LL2), False, True),
        (ECMP6, "fd00:10::11", ("fd00:10::11", LL1), True, True),
    ),
    "frr-uos-dual-bgp6-path-gobgp.txt": paths6(("2001:db8:100::12/128", "fd00:10::13", ("fd00:10::13",), True, True)),
    "frr-uos-dual-bgp6-path-refused.txt": {},  # "% Network not in table"
    "frr-uos-dual-bgp6-table.json": paths6(
        (ECMP6, "fd00:10::12", ("fd00:10::12", LL2), False, True),
        (ECMP6, "fd00:10::11", ("fd00:10::11", LL1), True, True),
        ("2001:db8:100::11/128", "fd00:10::11", ("fd00:10::11", LL1), True, True),
        ("2001:db8:100::12/128", "fd00:10::13", ("fd00:10::13",), True, True),
    ),
    # maximum-paths 1: the path that is not best is not handed on.
    "frr-usg-dual-bgp6-path-ecmp.txt": paths6(
        (ECMP6, "fd00:10::12", ("fd00:10::12", QUAGGA_LL2), False, False),
        (ECMP6, "fd00:10::11", ("fd00:10::11", QUAGGA_LL1), True, True),
    ),
    "quagga-usg-bgp6-path.txt": paths6(
        (ECMP6, "fd00:10::12", ("fd00:10::12", QUAGGA_LL2), False, False),
        (ECMP6, "fd00:10::11", ("fd00:10::11", QUAGGA_LL1), True, True),
    ),
}


def _parser(name: str, text_parser, json_parser):
    return json_parser if name.endswith(".json") else text_parser


@pytest.mark.parametrize("name", sorted(SESSIONS6))
def test_ipv6_sessions(name):
    parse = _parser(name, parse_bgp6_summary_text, parse_bgp6_summary_json)
    assert parse(read(name)) == SESSIONS6[name]


@pytest.mark.parametrize("name", sorted(V4_BESIDE_V6))
def test_ipv4_sessions_of_a_dual_stack_gateway_skip_its_ipv6_neighbours(name):
    parse = _parser(name, parse_bgp_summary_text, parse_bgp_summary_json)
    assert parse(read(name)) == V4_BESIDE_V6[name]
    # ... and the wildcard JSON's IPv4 table is the IPv4 command's.
    assert parse_bgp_summary_json(read("frr-uos-dual-bgp-summary-all.json")) == V4_SESSIONS


@pytest.mark.parametrize("name", sorted(ROUTES6))
def test_ipv6_routing_tables(name):
    parse = _parser(name, parse_routes6_text, parse_routes6_json)
    assert parse(read(name)) == ROUTES6[name]


@pytest.mark.parametrize("name", sorted(PATHS6))
def test_ipv6_bgp_paths(name):
    parse = _parser(name, parse_bgp6_paths_text, parse_bgp6_paths_json)
    assert parse(read(name)) == PATHS6[name]


def test_every_ipv6_session_state_was_recorded_in_text_and_json():
    for name in ("frr-uos-dual-bgp6-summary.txt", "frr-uos-dual-bgp6-summary.json"):
        assert {n.state for n in SESSIONS6[name].values()} == {"Established", "Active", "Idle (Admin)"}, name


def test_the_families_do_not_mix():
    """The IPv4 parsers read no IPv6 route or neighbour from the IPv6 outputs, and the reverse."""
    assert parse_routes_text(read("frr-uos-dual-route6.txt")) == {}
    assert parse_routes_json(read("frr-uos-dual-route6.json")) == {}
    assert parse_routes6_text(read("frr-usg-established-route.txt")) == {}
    assert parse_routes6_json(read("frr-usg-established-route.json")) == {}
    assert parse_bgp_summary_text(read("frr-uos-dual-bgp6-summary.txt")) == {}
    assert parse_bgp6_summary_text(read("frr-usg-established-bgp-summary.txt")) == {}
    assert parse_bgp6_summary_json(read("frr-uos-dual-bgp-summary.json")) == {}


def test_refused_announcements_are_nowhere():
    """n1 announced 2001:db8:999::/48, ::/0 and the nodes' own /64 too: the import filter refused
    them, so neither the BGP table nor the routing table holds them (only the connected /64)."""
    refused = [ip_network(p) for p in ("2001:db8:999::/48", "::/0")]
    for table in (PATHS6["frr-uos-dual-bgp6-table.json"], UOS_ROUTES6):
        assert not set(refused) & set(table)
    assert [r.protocol for r in UOS_ROUTES6[IPv6Network("fd00:10::/64")]] == ["connected"]
    assert {p.prefix for ps in PATHS6["frr-uos-dual-bgp6-table.json"].values() for p in ps} == {
        IPv6Network(p) for p in (ECMP6, "2001:db8:100::11/128", "2001:db8:100::12/128")
    }


def test_frr_wide_ipv6_neighbour_names_and_json_of_one_entry():
    header = FRR_HEADER.replace("Neighbor        ", "Neighbor                              ")
    text = "\n".join(
        [
            header,
            "2001:db8:ffff:ffff:ffff:ffff:ffff:1    4      65010        10         7        0    0    0 00:00:09"
            "            3        0 N/A",
            "n2(fd00::2)                           4      65010        10         7        0    0    0 00:00:09"
            "        NoNeg    NoNeg N/A",
        ]
    )
    assert parse_bgp6_summary_text(text) == neighbors6(
        ("2001:db8:ffff:ffff:ffff:ffff:ffff:1", 65010, "Established", "00:00:09", 3),
        ("fd00::2", 65010, "Established", "00:00:09", 0),
    )
    one = """{"prefix": "2001:db8::1/128", "paths": [
      {"valid": true, "multipath": true, "bestpath": {"overall": true},
       "nexthops": [{"ip": "fd00::11", "scope": "global"}, {"ip": "fe80::1", "scope": "link-local", "used": true}],
       "peer": {"peerId": "fd00::11", "routerId": "10.0.0.11"}},
      {"valid": true, "nexthops": [{"ip": "fd00::12"}], "peer": {"peerId": "fd00::12"}}]}"""
    assert parse_bgp6_paths_json(one) == paths6(
        ("2001:db8::1/128", "fd00::11", ("fd00::11", "fe80::1"), True, True),
        ("2001:db8::1/128", "fd00::12", ("fd00::12",), False, False),
    )


def test_frr_path_details_name_the_neighbour_by_host_name_too():
    text = "\n".join(
        [
            "BGP routing table entry for 2001:db8::1/128, version 7",
            "Paths: (1 available, best #1, table default)",
            "  65010",
            "    fe80::1 from k1(fd00::11) (10.0.0.11)",
            "      Origin IGP, metric 0, valid, external, best (First path received)",
            "  Local",
            "    :: from :: (10.0.0.1)",
            "      Origin IGP, metric 0, weight 32768, valid, sourced, local",
        ]
    )
    assert parse_bgp6_paths_text(text) == paths6(
        ("2001:db8::1/128", "fd00::11", ("fe80::1",), True, True), ("2001:db8::1/128", None, (), False, False)
    )


# --- what cannot be read is refused, naming the line ---------------------------------------

QUAGGA_HEADER = "Neighbor        V    AS MsgRcvd MsgSent   TblVer  InQ OutQ Up/Down  State/PfxRcd"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("10.0.0.1        4 64512    12ab      14        0    0    0 00:00:31 Active", "MsgRcvd is '12ab'"),
        ("10.0.0.1        4 64512      12      14        0    0    0 yesterday Active", "Up/Down is 'yesterday'"),
        ("10.0.0.1        4 64512      12      14        0    0    0 00:00:31 12x", "State/PfxRcd is '12x'"),
        ("10.0.0.1        4 64512      12      14", "fewer columns than its header"),
        ("10.0.0.1        4 64512      12      14        0    0    0 00:00:31", "without its State/PfxRcd"),
        ("10.0.0.300      4 64512      12      14        0    0    0 00:00:31        1", "not an IPv4 address"),
    ],
)
def test_a_row_that_cannot_be_read_is_refused_naming_it(row, message):
    text = f"BGP router identifier 10.0.0.254, local AS number 64512\n\n{QUAGGA_HEADER}\n{row}\n"
    with pytest.raises(GatewayOutputError) as error:
        parse_bgp_summary_text(text)
    assert message in str(error.value)
    assert "line 4:" in str(error.value)
    assert " ".join(row.split())[:40] in str(error.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("% Unknown command.\n", "line 1: a message instead of a BGP summary: '% Unknown command.'"),
        ("bash: vtysh: command not found\n", "not the output of show ip bgp summary: 'bash: vtysh"),
        ("10.0.0.1 4 64512 12 14 0 0 0 00:00:31 1\n", "line 1: a neighbour row before any table header"),
        ("Neighbor V MsgRcvd\n", "line 1: a neighbour table header without the AS and Up/Down columns"),
        (f"{FRR_HEADER}\n10.0.0.1 4 65010 1 1 0 0 0 00:00:09 Idle (Admin) N/A\n", "without a PfxSnt count"),
    ],
)
def test_output_that_is_no_summary_is_refused(text, message):
    with pytest.raises(GatewayOutputError) as error:
        parse_bgp_summary_text(text)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not the JSON of show ip bgp summary json"),
        ("[]", "the top level is a list"),
        ('{"10.0.0.0/24": []}', "neither peers nor ipv4Unicast, but 10.0.0.0/24"),
        ('{"ipv4Unicast": {"routerId": "10.0.0.1"}}', "ipv4Unicast holds no peers"),
        ('{"peers": {"10.0.0.1": {"remoteAs": 1}}}', "peer '10.0.0.1' has no state"),
        ('{"peers": {"10.0.0.300": {"state": "Idle"}}}', "'10.0.0.300' is not an IPv4 address"),
    ],
)
def test_json_that_is_no_summary_is_refused(text, message):
    with pytest.raises(GatewayOutputError) as error:
        parse_bgp_summary_json(text)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty output"),
        ("% Unknown command.\n", "line 1: not a route: '% Unknown command.'"),
        (
            "B>* 10.0.0.0/24 [20/0] via 10.0.0.1, br0\nX>* 10.0.1.0/24 via 10.0.0.1",
            "line 2: a route of unknown code 'X'",
        ),
        ("B>* 10.0.0.0/24 [20/0] somewhere else", "line 1: cannot read the next hop of this route"),
        ("B>* 10.0.0.0/24 [20/0] via 10.0.0.300, br0", "line 1: the next hop '10.0.0.300' is not an IPv4 address"),
        ("B>* 10.0.0.0/33 [20/0] via 10.0.0.1, br0", "line 1: a route whose prefix is '10.0.0.0/33'"),
        ("  *   via 10.0.0.1, br0", "line 1: cannot read this next hop with no route before it"),
        ("B>* 10.0.0.0/24 via 10.0.0.1\n  *   10.0.0.2, br0", "line 2: cannot read this next hop"),
    ],
)
def test_a_routing_table_line_that_cannot_be_read_is_refused(text, message):
    with pytest.raises(GatewayOutputError) as error:
        parse_routes_text(text)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not the JSON of show ip route json"),
        ('{"ipv4Unicast": {"peers": {}}}', "'ipv4Unicast' is not a prefix"),
        ('{"10.0.0.0/24": {"protocol": "bgp"}}', "its routes are not a list"),
        ('{"10.0.0.0/24": [{"selected": true}]}', "a route without a protocol"),
    ],
)
def test_json_that_is_no_routing_table_is_refused(text, message):
    with pytest.raises(GatewayOutputError) as error:
        parse_routes_json(text)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("parse", "text", "message"),
    [
        (parse_bgp6_summary_text, "% Unknown command: show ipv6 bgp summary\n", "a message instead of a BGP summary"),
        (parse_bgp6_summary_text, "bash: vtysh: command not found\n", "not the output of show ipv6 bgp summary"),
        (
            parse_bgp6_summary_text,
            f"{QUAGGA_HEADER}\nfd00:::1        4 64512 1 1 0 0 0 00:00:31 Active\n",
            "line 2: the neighbour 'fd00:::1' is not an IPv6 address",
        ),
        (parse_bgp6_summary_json, '{"peers": {"fd00:::1": {"state": "Idle"}}}', "'fd00:::1' is not an IPv6 address"),
        (parse_bgp6_summary_json, '{"ipv6Unicast": {"routerId": "10.0.0.1"}}', "ipv6Unicast holds no peers"),
        (parse_routes6_text, "", "empty output: expected the output of show ipv6 route"),
        (parse_routes6_text, "B>* 2001:db8::/129 [20/0] via fe80::1, br0", "a route whose prefix is '2001:db8::/129'"),
        (parse_routes6_text, "B>* 2001:db8::/64 [20/0] via fe80:::1, br0", "the next hop 'fe80:::1' is not an IPv6"),
        (parse_routes6_json, '{"2001:db8::/64": [{"selected": true}]}', "a route without a protocol"),
        (parse_bgp6_paths_text, "% Unknown command: show ipv6 bgp 2001:db8::1\n", "a message instead of a BGP table"),
        (parse_bgp6_paths_text, "bash: vtysh: command not found\n", "not the output of show ipv6 bgp <address>"),
        (parse_bgp6_paths_text, "    fd00::1 from fd00::1 (10.0.0.1)\n", "line 1: a path before any table entry"),
        (parse_bgp6_paths_text, "BGP routing table entry for 2001:db8::/129\n", "an entry whose prefix is"),
        (parse_bgp6_paths_json, "[]", "the top level is a list"),
        (parse_bgp6_paths_json, '{"2001:db8::/64": []}', "neither routes nor paths, but 2001:db8::/64"),
        (parse_bgp6_paths_json, '{"routes": {"peers": []}}', "'peers' is not a prefix"),
        (parse_bgp6_paths_json, '{"routes": {"2001:db8::/64": {}}}', "its paths are not a list"),
        (parse_bgp6_paths_json, '{"routes": {"2001:db8::/64": [1]}}', "a path is not an object"),
    ],
)
def test_ipv6_output_that_cannot_be_read_is_refused(parse, text, message):
    with pytest.raises(GatewayOutputError) as error:
        parse(text)
    assert message in str(error.value)


@pytest.mark.parametrize("text", ["", "{}", '{"vrfId": 0, "routes": {}}'])
def test_no_ipv6_bgp_table_reads_as_no_paths(text):
    assert parse_bgp6_paths_json(text) == {}


# --- properties: Quagga's layout of random tables reads back ------------------------------------
# The format strings of quagga_0_99_20_release: bgpd/bgp_vty.c bgp_show_summary (rows),
# bgpd/bgpd.c peer_uptime (Up/Down), zebra/zebra_vty.c vty_show_ip_route (routes).

STATES = ("Idle", "Connect", "Active", "OpenSent", "OpenConfirm", "Idle (Admin)", "Idle (PfxCt)")
uptimes = st.one_of(
    st.just("never"),
    st.builds("{:02d}:{:02d}:{:02d}".format, st.integers(0, 23), st.integers(0, 59), st.integers(0, 59)),
    st.builds("{}d{:02d}h{:02d}m".format, st.integers(1, 6), st.integers(0, 23), st.integers(0, 59)),
    st.builds("{:02d}w{}d{:02d}h".format, st.integers(1, 99), st.integers(0, 6), st.integers(0, 23)),
)
peers = st.tuples(
    st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)),
    st.integers(1, 2**32 - 1),
    st.integers(0, 10**7),
    st.one_of(st.sampled_from(STATES), st.integers(0, 10**6)),
    uptimes,
)


def quagga_summary_row(address, asn, messages, state, uptime) -> str:
    host = str(address)
    row = host + (f"\n{' ' * 16}" if len(host) >= 16 else " " * (16 - len(host)))
    row += f"4 {asn:5d} {messages:7d} {messages:7d} {0:8d} {0:4d} {0:4d} {uptime:>8}"
    if isinstance(state, int):
        return row + f" {state:8d}"
    return row + (f" {state}" if "(" in state else f" {state:<11}")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(peers, max_size=12, unique_by=lambda peer: peer[0]))
def test_quagga_neighbour_tables_read_back(table):
    text = "BGP router identifier 192.168.1.1, local AS number 64512\nRIB entries 1, using 112 bytes of memory\n"
    text += f"Peers {len(table)}, using 9 KiB of memory\n\n{QUAGGA_HEADER}\n"
    text += "".join(quagga_summary_row(*peer) + "\n" for peer in table)
    text += f"\nTotal number of neighbors {len(table)}\n"
    expected = {
        address: BgpNeighbor(
            address,
            asn,
            "Established" if isinstance(state, int) else state,
            uptime,
            state if isinstance(state, int) else None,
        )
        for address, asn, _, state, uptime in table
    }
    # The same table read as show ip bgp summary and as show ipv6 bgp summary: each its family's rows.
    assert parse_bgp_summary_text(text) == {a: n for a, n in expected.items() if a.version == 4}
    assert parse_bgp6_summary_text(text) == {a: n for a, n in expected.items() if a.version == 6}


RouteEntry = tuple[IPv4Network | IPv6Network, str, bool, list[tuple[IPv4Address | IPv6Address, bool]]]


def route_entries(version: Literal[4, 6]) -> st.SearchStrategy[RouteEntry]:
    bits = 32 if version == 4 else 128
    prefixes = st.builds(
        lambda address, length: ip_network(f"{address}/{length}", strict=False),
        st.ip_addresses(v=version),
        st.integers(0, bits),
    )
    # Quagga prints "via ::" for no IPv6 gateway at all; not a next hop to draw.
    gateways = st.ip_addresses(v=version).filter(lambda a: not (a.version == 6 and a.is_unspecified))
    hops = st.lists(st.tuples(gateways, st.booleans()), min_size=1, max_size=4)
    return st.tuples(prefixes, st.sampled_from("KSROB"), st.booleans(), hops)


def quagga_route_lines(prefix, code, selected, next_hops) -> str:
    lines = []
    length = 0
    for index, (gateway, fib) in enumerate(next_hops):
        if index == 0:
            line = f"{code}{'>' if selected else ' '}{'*' if fib else ' '} {prefix}"
            if code != "K":
                line += " [20/0]"
            length = len(line)
        else:
            line = f"  {'*' if fib else ' '}{' ' * (length - 3)}"
        line += f" via {gateway}, eth1" + (", 00:01:02" if code in "ROB" else "")
        lines.append(line)
    return "".join(line + "\n" for line in lines)


# Quagga 0.99.20 zebra/zebra_vty.c: SHOW_ROUTE_V4_HEADER and SHOW_ROUTE_V6_HEADER (whose legend has no "> - selected").
LEGENDS = {
    4: "Codes: K - kernel route, C - connected, S - static, R - RIP, O - OSPF,\n"
    "       I - ISIS, B - BGP, > - selected route, * - FIB route\n\n",
    6: "Codes: K - kernel route, C - connected, S - static, R - RIPng, O - OSPFv3,\n"
    "       I - ISIS, B - BGP, * - FIB route.\n\n",
}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
@pytest.mark.parametrize(("version", "parse"), [(4, parse_routes_text), (6, parse_routes6_text)])
def test_quagga_routing_tables_read_back(version, parse, data):
    entries = data.draw(st.lists(route_entries(version), max_size=10))
    text = LEGENDS[version] + "".join(quagga_route_lines(*entry) for entry in entries)
    names = {"K": "kernel", "S": "static", "R": "rip", "O": "ospf", "B": "bgp"}
    expected: dict[IPv4Network | IPv6Network, list[Route]] = {}
    for prefix, code, selected, next_hops in entries:
        fib = tuple(gateway for gateway, in_fib in next_hops if in_fib)
        expected.setdefault(prefix, []).append(Route(prefix, names[code], selected, fib))
    assert parse(text) == expected
