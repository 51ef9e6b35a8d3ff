"""The four checks on what was read: each state of a session, each way a route or a name can be
wrong, and the lines and JSON a person or a program reads."""

from __future__ import annotations

import json
from ipaddress import IPv4Address, IPv4Network

import pytest

from components.verify import checks
from components.verify.expectations import ExpectedEndpoint, ExpectedName, ExpectedNode, ExpectedRoute
from components.verify.gateway_output import BgpNeighbor, Route
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
