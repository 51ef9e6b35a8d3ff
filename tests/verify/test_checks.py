"""The four checks on what was read: each state of a session, each way a route or a name can be
wrong, and the lines and JSON a person or a program reads."""

from __future__ import annotations

import json
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from pathlib import Path

import pytest

from components.verify import checks
from components.verify.expectations import ExpectedEndpoint, ExpectedName, ExpectedNode, ExpectedRoute
from components.verify.gateway_output import (
    BgpNeighbor,
    BgpPath,
    Route,
    parse_bgp6_paths_json,
    parse_bgp6_paths_text,
    parse_routes6_json,
    parse_routes6_text,
)
from components.verify.probes import DnsAnswer, ReachAnswer
from components.verify.report import CheckResult, Report, Status

A = IPv4Address
NODES = (ExpectedNode("worker1", A("10.10.0.101")), ExpectedNode("worker2", A("10.10.0.102")))
DASHBOARD = A("10.10.10.10")


def neighbour(address: str, state: str = "Established", prefixes: int | None = 1) -> BgpNeighbor:
    established = state == "Established"
    return BgpNeighbor(
        A(address), 64512, state, "00:01:02" if established else "never", prefixes if established else None
    )


def test_established_sessions_pass_with_uptime_and_prefixes_per_node() -> None:
    result = checks.sessions(NODES, {n.address: neighbour(str(n.address)) for n in NODES})
    assert result.status is Status.OK
    assert result.line() == (
        "ok   sessions: worker1 (10.10.0.101): Established, up 00:01:02, 1 prefix received; "
        "worker2 (10.10.0.102): Established, up 00:01:02, 1 prefix received"
    )


@pytest.mark.parametrize(
    ("state", "cause"),
    [
        ("Active", "the node or its speaker is down, or the BGP passwords differ"),
        ("Connect", "the node or its speaker is down, or the BGP passwords differ"),
        ("Idle", "the gateway is not trying"),
        ("Idle (Admin)", "shut down on the gateway by hand"),
        ("OpenSent", "the ASNs do not match"),
        ("OpenConfirm", "the ASNs or the router ids do not match"),
    ],
)
def test_a_session_not_established_fails_naming_the_node_its_state_and_the_likely_cause(state: str, cause: str) -> None:
    result = checks.sessions(
        NODES, {A("10.10.0.101"): neighbour("10.10.0.101"), A("10.10.0.102"): neighbour("10.10.0.102", state)}
    )
    assert result.status is Status.FAIL
    assert f"worker2 (10.10.0.102): {state}: " in result.detail
    assert cause in result.detail
    assert "worker1" not in result.detail  # only what failed, then where to look
    assert "show ip bgp summary" in result.detail
    assert [item.ok for item in result.items] == [True, False]


def test_a_node_missing_from_the_gateway_is_no_such_neighbour() -> None:
    result = checks.sessions(NODES, {A("10.10.0.101"): neighbour("10.10.0.101")})
    assert result.status is Status.FAIL
    assert "worker2 (10.10.0.102): no such neighbour on the gateway" in result.detail


def test_another_stacks_neighbours_on_the_gateway_are_not_this_stacks_business() -> None:
    read = {n.address: neighbour(str(n.address)) for n in NODES} | {A("10.10.1.11"): neighbour("10.10.1.11", "Active")}
    assert checks.sessions(NODES, read).status is Status.OK


def bgp(prefix: str, *hops: str, selected: bool = True, protocol: str = "bgp") -> dict[IPv4Network, list[Route]]:
    network = IPv4Network(prefix)
    return {network: [Route(network, protocol, selected, tuple(A(h) for h in hops))]}


ROUTES = (ExpectedRoute(DASHBOARD, ("k8s-dashboard",)),)


def test_a_route_via_the_nodes_passes_with_its_paths() -> None:
    table = bgp("10.10.10.10/32", "10.10.0.101", "10.10.0.102") | bgp("0.0.0.0/0", "192.168.1.254", protocol="kernel")
    result = checks.routes(ROUTES, NODES, table)
    assert result.status is Status.OK
    assert result.detail == ("10.10.10.10 (k8s-dashboard): via worker1 (10.10.0.101), worker2 (10.10.0.102): 2 paths")


def test_an_aggregated_announcement_covers_the_address() -> None:
    result = checks.routes(ROUTES, NODES, bgp("10.10.10.0/24", "10.10.0.101"))
    assert result.status is Status.OK
    assert "as 10.10.10.0/24: 1 path" in result.detail


@pytest.mark.parametrize(
    ("table", "says"),
    [
        ({}, "no route on the gateway"),
        (
            bgp("0.0.0.0/0", "192.168.1.254", protocol="kernel"),
            "no route on the gateway",
        ),  # a default route does not count
        (bgp("10.10.10.10/32", "10.10.0.101", selected=False), "no route on the gateway"),
        (bgp("10.10.10.0/24", protocol="connected"), "routed by a connected route 10.10.10.0/24, not by BGP"),
        (bgp("10.10.10.10/32", "10.10.5.5"), "via 10.10.5.5, which is not a node of this stack"),
        (bgp("10.10.10.10/32", "10.10.0.101", "10.10.5.5"), "also via 10.10.5.5, not a node of this stack"),
    ],
)
def test_a_missing_or_wrong_route_fails_naming_the_address_and_its_service(
    table: dict[IPv4Network, list[Route]], says: str
) -> None:
    result = checks.routes(ROUTES, NODES, table)
    assert result.status is Status.FAIL
    assert result.detail.startswith("10.10.10.10 (k8s-dashboard): ")
    assert says in result.detail
    assert "docs/gateway-filter.md" in result.detail


def test_names_resolve_to_exactly_their_address() -> None:
    expected = (
        ExpectedName("k8s-dashboard.service", DASHBOARD, "k8s-dashboard"),
        ExpectedName("k8s-dashboard", DASHBOARD, "k8s-dashboard"),
    )
    answers = {
        "k8s-dashboard.service": DnsAnswer("k8s-dashboard.service", (DASHBOARD,), None),
        "k8s-dashboard": DnsAnswer("k8s-dashboard", (DASHBOARD, A("10.10.10.11")), None),
    }
    result = checks.names(expected, answers, A("192.168.1.1"))
    assert result.status is Status.FAIL
    assert result.detail.startswith("k8s-dashboard: resolves to 10.10.10.10, 10.10.10.11, not 10.10.10.10 (")
    answers["k8s-dashboard"] = DnsAnswer("k8s-dashboard", (), "NXDOMAIN")
    assert "k8s-dashboard: NXDOMAIN (expected 10.10.10.10)" in checks.names(expected, answers, A("192.168.1.1")).detail
    answers["k8s-dashboard"] = DnsAnswer("k8s-dashboard", (DASHBOARD,), None)
    assert checks.names(expected, answers, A("192.168.1.1")).line() == "ok   dns: 2 names resolve through 192.168.1.1"


def test_reach_reports_each_url_with_the_address_it_tried() -> None:
    url = "http://k8s-dashboard.service/"
    expected = (ExpectedEndpoint(url, DASHBOARD, 80, "http", "k8s-dashboard.service", "k8s-dashboard"),)
    ok = checks.reach(expected, {url: ReachAnswer(url, True, "HTTP 200 in 3 ms")})
    assert ok.line() == "ok   reach: 1 service answers"
    assert ok.items[0].detail == "HTTP 200 in 3 ms (10.10.10.10:80)"
    failed = checks.reach(expected, {url: ReachAnswer(url, False, "timed out after 3 s")})
    assert failed.detail.startswith("http://k8s-dashboard.service/: timed out after 3 s (10.10.10.10:80) (")


def test_nothing_to_check_is_a_skip_that_says_why() -> None:
    assert checks.sessions((), {}).status is Status.SKIP
    assert checks.routes((), NODES, {}).status is Status.SKIP
    assert checks.names((), {}, A("192.168.1.1")).status is Status.SKIP
    assert checks.reach((), {}).status is Status.SKIP


def test_the_json_report_has_the_documented_shape_and_reads_back() -> None:
    report = Report(
        (
            checks.sessions(NODES, {A("10.10.0.101"): neighbour("10.10.0.101")}),
            CheckResult.skipped("routes", "set metallb-unifi:gatewaySsh"),
        )
    )
    document = json.loads(json.dumps(report.to_json()))
    assert set(document) == {"checks"}
    assert [(c["name"], c["status"]) for c in document["checks"]] == [("sessions", "fail"), ("routes", "skip")]
    assert document["checks"][0]["items"][1] == {
        "subject": "worker2 (10.10.0.102)",
        "ok": False,
        "detail": "no such neighbour on the gateway: its config lacks this node",
    }
    assert Report.from_json(document) == report
    assert report.exit_code == 1
    assert report.summary()["routes"] == {"status": "skip", "detail": "set metallb-unifi:gatewaySsh"}


# --- IPv6 -------------------------------------------------------------------------------------

OUTPUTS = Path(__file__).resolve().parent / "outputs"
N6 = (
    ExpectedNode("n1", A("10.60.0.11"), IPv6Address("fd00:10::11")),
    ExpectedNode("n2", A("10.60.0.12"), IPv6Address("fd00:10::12")),
    ExpectedNode("n3", A("10.60.0.13"), IPv6Address("fd00:10::13")),
)


def neighbour6(address: str, state: str = "Established") -> BgpNeighbor:
    up = state == "Established"
    return BgpNeighbor(IPv6Address(address), 64512, state, "00:01:02" if up else "never", 1 if up else None)


def test_a_node_with_address6_has_a_session_per_family_each_named_by_its_address() -> None:
    v4 = {n.address: neighbour(str(n.address)) for n in N6}
    v6 = {n.address6: neighbour6(str(n.address6)) for n in N6 if n.address6 is not None}
    result = checks.sessions(N6, v4, v6)
    assert result.status is Status.OK
    assert [item.subject for item in result.items] == [
        "n1 (10.60.0.11)",
        "n1 (fd00:10::11)",
        "n2 (10.60.0.12)",
        "n2 (fd00:10::12)",
        "n3 (10.60.0.13)",
        "n3 (fd00:10::13)",
    ]


def test_a_missing_or_down_ipv6_session_fails_naming_the_node_and_its_ipv6_address() -> None:
    v4 = {n.address: neighbour(str(n.address)) for n in N6}
    v6 = {
        IPv6Address("fd00:10::11"): neighbour6("fd00:10::11"),
        IPv6Address("fd00:10::13"): neighbour6("fd00:10::13", "Active"),
    }
    result = checks.sessions(N6, v4, v6)
    assert result.status is Status.FAIL
    failed = {item.subject: item.detail for item in result.items if not item.ok}
    assert failed == {
        "n2 (fd00:10::12)": "no such IPv6 neighbour on the gateway: its config lacks this node's address6",
        "n3 (fd00:10::13)": "Active: no TCP session: the node or its speaker is down, or the BGP passwords differ",
    }
    assert "`show ipv6 bgp summary`" in result.detail and "gateway.peerAddress6" in result.detail
    # Its IPv4 session up does not stand in for the IPv6 one, nor the reverse.
    assert checks.sessions(N6, {}, v6).status is Status.FAIL


def test_an_ipv4_only_node_has_its_one_session_and_the_same_words_as_before() -> None:
    result = checks.sessions(NODES, {n.address: neighbour(str(n.address)) for n in NODES}, {})
    assert len(result.items) == 2 and "ipv6" not in result.detail.lower()


ECMP6, SINGLE6, GOBGP6 = (IPv6Address(f"2001:db8:100::{n}") for n in (10, 11, 12))
ROUTES6 = (
    ExpectedRoute(ECMP6, ("web",)),
    ExpectedRoute(SINGLE6, ("api",)),
    ExpectedRoute(GOBGP6, ("db",)),
)


def test_recorded_link_local_next_hops_are_named_by_the_bgp_paths_that_carry_them() -> None:
    """FRR 8.4 recorded (tests/verify/outputs/frr-uos-dual-*): n1 and n2 are FRR speakers, so the
    gateway routes via their link-local addresses; gobgpd (n3) sent only its global one."""
    table6 = parse_routes6_json((OUTPUTS / "frr-uos-dual-route6.json").read_text())
    paths6 = parse_bgp6_paths_json((OUTPUTS / "frr-uos-dual-bgp6-table.json").read_text())
    result = checks.routes(ROUTES6, N6, {}, table6, paths6)
    assert result.status is Status.OK, result.detail
    assert [item.detail for item in result.items] == [
        "via n1 (fd00:10::11), n2 (fd00:10::12): 2 paths",
        "via n1 (fd00:10::11): 1 path",
        "via n3 (fd00:10::13): 1 path",
    ]
    # Without the BGP paths, a link-local next hop names no node.
    without = checks.routes(ROUTES6[:1], N6, {}, table6, {})
    assert without.status is Status.FAIL
    assert "via fe80::248f:3eff:fef3:2d2b, fe80::94ba:fbff:fe4a:296b, which is not a node" in without.detail


def test_a_usg_reads_its_one_path_from_the_entry_of_the_address() -> None:
    table6 = parse_routes6_text((OUTPUTS / "quagga-usg-route6.txt").read_text())
    paths6 = parse_bgp6_paths_text((OUTPUTS / "quagga-usg-bgp6-path.txt").read_text())
    nodes = (ExpectedNode("worker1", A("10.10.0.101"), IPv6Address("fd00:10::11")),)
    result = checks.routes((ExpectedRoute(ECMP6, ("web",)),), nodes, {}, table6, paths6)
    assert result.line() == "ok   routes: 2001:db8:100::10 (web): via worker1 (fd00:10::11): 1 path"


def bgp6(prefix: str, *hops: str) -> dict[IPv6Network, list[Route]]:
    network = IPv6Network(prefix)
    return {network: [Route(network, "bgp", True, tuple(IPv6Address(h) for h in hops))]}


def path6(prefix: str, peer: str, *hops: str) -> dict[IPv6Network, list[BgpPath]]:
    network = IPv6Network(prefix)
    return {network: [BgpPath(network, IPv6Address(peer), tuple(IPv6Address(h) for h in hops), True, True)]}


@pytest.mark.parametrize(
    ("table6", "paths6", "says"),
    [
        ({}, {}, "2001:db8:100::10 (web): no route on the gateway"),
        # The IPv4 table does not route an IPv6 address, nor a ::/0 default.
        (bgp6("::/0", "fe80::1"), {}, "2001:db8:100::10 (web): no route on the gateway"),
        (
            bgp6("2001:db8:100::10/128", "fe80::99"),
            path6("2001:db8:100::10/128", "fd00:10::99", "fd00:10::99", "fe80::99"),
            "via fe80::99 (from fd00:10::99), which is not a node of this stack",
        ),
        (
            bgp6("2001:db8:100::10/128", "fd00:10::11", "fd00:10::99"),
            {},
            "via n1 (fd00:10::11): 1 path; also via fd00:10::99, not a node of this stack",
        ),
    ],
)
def test_a_missing_or_strange_ipv6_route_fails_naming_the_address(
    table6: dict[IPv6Network, list[Route]], paths6: dict[IPv6Network, list[BgpPath]], says: str
) -> None:
    v4_route = bgp("10.10.10.10/32", "10.60.0.11")
    result = checks.routes(
        (ExpectedRoute(ECMP6, ("web",)), ExpectedRoute(DASHBOARD, ("k8s-dashboard",))), N6, v4_route, table6, paths6
    )
    assert result.status is Status.FAIL
    assert says in result.detail
    assert [item.ok for item in result.items] == [False, True]


def test_an_aggregated_ipv6_announcement_says_its_prefix() -> None:
    table6 = bgp6("2001:db8:100::/120", "fd00:10::11")
    result = checks.routes((ExpectedRoute(ECMP6, ("web",)),), N6, {}, table6, {})
    assert result.detail == "2001:db8:100::10 (web): via n1 (fd00:10::11) as 2001:db8:100::/120: 1 path"


def test_a_dual_stack_name_resolves_per_family() -> None:
    v6 = IPv6Address("2001:db8:100::10")
    expected = (ExpectedName("web.lab", DASHBOARD, "web"), ExpectedName("web.lab", v6, "web"))
    answers = {"web.lab": DnsAnswer("web.lab", (DASHBOARD,), None)}
    result = checks.names(expected, answers, A("192.168.1.1"), {"web.lab": DnsAnswer("web.lab", (v6,), None)})
    assert result.line() == "ok   dns: 1 name resolves (1 A, 1 AAAA) through 192.168.1.1"
    missing = checks.names(expected, answers, A("192.168.1.1"), {"web.lab": DnsAnswer("web.lab", (), "no answer")})
    assert missing.detail.startswith("web.lab (AAAA): no answer (expected 2001:db8:100::10) (")
    assert checks.names(expected, answers, A("192.168.1.1")).items[1].detail == "not asked (expected 2001:db8:100::10)"


def test_reach_over_ipv6_names_the_bracketed_address() -> None:
    v6 = IPv6Address("2001:db8:100::10")
    expected = (
        ExpectedEndpoint("http://web.lab:8080/", DASHBOARD, 8080, "http", "web.lab", "web"),
        ExpectedEndpoint("http://[2001:db8:100::10]:8080/", v6, 8080, "http", "web.lab", "web"),
    )
    answers = {e.subject: ReachAnswer(e.subject, True, "HTTP 200 in 3 ms") for e in expected}
    result = checks.reach(expected, answers)
    assert result.line() == "ok   reach: 2 URLs answer (1 over IPv4, 1 over IPv6)"
    assert result.items[1].detail == "HTTP 200 in 3 ms ([2001:db8:100::10]:8080)"
