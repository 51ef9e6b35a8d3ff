"""What verify expects of a lab: the nodes, the BGP addresses, the names and the URLs."""

from __future__ import annotations

import copy
import json
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from components.config import parse_lab
from components.discovery.rules import discover
from components.render import load_lab
from components.verify.expectations import (
    Expectations,
    ExpectedEndpoint,
    ExpectedName,
    ExpectedNode,
    ExpectedRoute,
    allocated_addresses,
    expect,
)
from tests.config.raw_labs import edited
from tests.config.strategies import valid_configs
from tests.discovery import labs

ROOT = Path(__file__).resolve().parents[2]


def test_the_blog_posts_lab_expects_four_neighbours_one_route_two_names_and_the_dashboard() -> None:
    lab = load_lab(ROOT / "Pulumi.lab.yaml")
    expected = expect(lab, lab.pinned_addresses)
    dashboard = IPv4Address("10.10.10.10")
    assert expected.resolver == IPv4Address("192.168.1.1")
    assert [str(n) for n in expected.nodes] == [
        "master (10.10.0.200)",
        "worker1 (10.10.0.101)",
        "worker2 (10.10.0.102)",
        "worker3 (10.10.0.103)",
    ]
    assert expected.routes == (ExpectedRoute(dashboard, ("k8s-dashboard",)),)
    assert expected.names == (
        ExpectedName("k8s-dashboard", dashboard, "k8s-dashboard"),
        ExpectedName("k8s-dashboard.service", dashboard, "k8s-dashboard"),
    )
    assert expected.endpoints == (
        ExpectedEndpoint(
            "http://k8s-dashboard.service/", dashboard, 80, "http", "k8s-dashboard.service", "k8s-dashboard"
        ),
    )
    assert expected.not_known == ()


def _raw_lab() -> dict[str, Any]:
    raw = copy.deepcopy(labs.RAW)
    raw.pop("discovery")
    raw["services"] += [
        {"name": "db", "namespace": "data", "address": "10.20.10.20", "sharedIP": "s", "ports": [{"port": 5432}]},
        {"name": "db-ro", "namespace": "data", "address": "10.20.10.20", "sharedIP": "s", "ports": [{"port": 5433}]},
        {"name": "printer", "namespace": "lan", "address": "10.20.0.210", "ports": [{"port": 631}]},
        {"name": "later", "namespace": "apps", "ports": [{"port": 443}]},
        {"name": "dns", "namespace": "apps", "address": "10.20.10.53", "ports": [{"port": 53, "protocol": "UDP"}]},
    ]
    for service in raw["services"][1:]:
        service["selector"] = {"app": service["name"]}
    return raw


def test_layer2_addresses_get_names_but_no_route_and_a_shared_address_is_one_route() -> None:
    lab = parse_lab(_raw_lab(), stack="lab")
    expected = expect(lab, lab.pinned_addresses)
    assert [(str(r.address), r.services) for r in expected.routes] == [
        ("10.20.10.10", ("dashboard",)),
        ("10.20.10.20", ("db", "db-ro")),
        ("10.20.10.53", ("dns",)),
    ]
    assert ExpectedName("printer.lab.example", IPv4Address("10.20.0.210"), "printer") in expected.names
    # A UDP first port: no TCP or HTTP answer to wait for.
    assert [e.subject for e in expected.endpoints] == [
        "http://dashboard.lab.example/",
        "http://db-ro.lab.example:5433/",
        "http://db.lab.example:5432/",
        "http://printer.lab.example:631/",
    ]
    assert expected.not_known == ("later",)


def test_an_allocated_address_comes_from_the_services_status_and_is_then_checked() -> None:
    lab = parse_lab(_raw_lab(), stack="lab")
    dump = [labs.service("later", "apps", ip="10.20.10.77"), labs.service("other", "apps", ip="10.20.10.78")]
    addresses = allocated_addresses(lab, dump)
    assert addresses["later"] == (IPv4Address("10.20.10.77"),)
    assert "other" not in addresses  # not a declared service: only discovery names it
    expected = expect(lab, addresses)
    assert expected.not_known == ()
    assert (
        ExpectedEndpoint(
            "https://later.lab.example/", IPv4Address("10.20.10.77"), 443, "https", "later.lab.example", "later"
        )
        in expected.endpoints
    )


def test_discovered_names_are_checked_like_declared_ones() -> None:
    lab = labs.lab(mode="all")
    dump = [labs.service("grafana", "monitoring", ip="10.20.10.30", ports=[(3000, "TCP")])]
    found = discover(lab, dump).entries
    expected = expect(lab, lab.pinned_addresses, found)
    address = IPv4Address("10.20.10.30")
    assert ExpectedRoute(address, ("monitoring/grafana",)) in expected.routes
    assert {n.name for n in expected.names if n.address == address} == set(found[0].names)
    assert any(e.address == address and e.port == 3000 for e in expected.endpoints)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_configs())
def test_expectations_survive_json_as_pulumi_hands_it_over(raw: dict[str, Any]) -> None:
    lab = parse_lab(raw, stack="lab", read_file=lambda _name: "{}")
    expected = expect(lab, lab.pinned_addresses)
    document = json.loads(json.dumps(expected.to_json()))
    # Pulumi hands numbers over as floats.
    for endpoint in document["endpoints"]:
        endpoint["port"] = float(endpoint["port"])
    assert Expectations.from_json(document) == expected
    assert {n.address for n in expected.nodes} == {n.address for n in lab.peering_nodes}


def test_a_damaged_document_is_refused_naming_what_is_wrong() -> None:
    lab = load_lab(ROOT / "Pulumi.lab.yaml")
    document = expect(lab, lab.pinned_addresses).to_json()
    del document["nodes"]
    with pytest.raises(ValueError, match="nodes"):
        Expectations.from_json(document)
    with pytest.raises(ValueError, match="format"):
        Expectations.from_json({**expect(lab, lab.pinned_addresses).to_json(), "format": 9})


def test_expected_nodes_name_themselves_with_their_address() -> None:
    assert str(ExpectedNode("worker1", IPv4Address("10.0.0.1"))) == "worker1 (10.0.0.1)"


# --- dual-stack ---------------------------------------------------------------------------------

V4, V6 = IPv4Address("10.20.10.10"), IPv6Address("fd00:20:10::10")


def test_a_dual_stack_lab_expects_both_sessions_both_routes_both_records_and_both_urls() -> None:
    lab = parse_lab(edited("dual"), stack="lab")  # grafana pins 10.20.10.10 and fd00:20:10::10
    expected = expect(lab, lab.pinned_addresses)
    assert [(n.name, str(n.address), str(n.address6)) for n in expected.nodes] == [
        ("cp1", "10.20.0.10", "fd00:20::10"),
        ("node1", "10.20.0.11", "fd00:20::11"),
        ("node2", "10.20.0.12", "fd00:20::12"),
    ]
    assert expected.routes == (ExpectedRoute(V4, ("grafana",)), ExpectedRoute(V6, ("grafana",)))
    assert [(n.name, n.address) for n in expected.names] == [
        ("grafana", V4),
        ("grafana", V6),
        ("grafana.lab.home", V4),
        ("grafana.lab.home", V6),
    ]
    # The IPv4 address keeps the named URL; the IPv6 one is tried as a URL of its own, the
    # host name still sent.
    assert expected.endpoints == (
        ExpectedEndpoint("http://[fd00:20:10::10]/", V6, 80, "http", "grafana.lab.home", "grafana"),
        ExpectedEndpoint("http://grafana.lab.home/", V4, 80, "http", "grafana.lab.home", "grafana"),
    )
    assert Expectations.from_json(json.loads(json.dumps(expected.to_json()))) == expected


def test_an_ipv6_only_service_keeps_its_named_url() -> None:
    raw = edited("dual")
    raw["services"][0].update(addresses=["fd00:20:10::10"], ipFamilyPolicy="SingleStack")
    lab = parse_lab(raw, stack="lab")
    expected = expect(lab, lab.pinned_addresses)
    assert expected.endpoints == (
        ExpectedEndpoint("http://grafana.lab.home/", V6, 80, "http", "grafana.lab.home", "grafana"),
    )
    assert expected.routes == (ExpectedRoute(V6, ("grafana",)),)


def test_an_ipv4_only_lab_writes_no_address6_key() -> None:
    lab = load_lab(ROOT / "Pulumi.lab.yaml")
    document = expect(lab, lab.pinned_addresses).to_json()
    assert all(set(node) == {"name", "address"} for node in document["nodes"])


def test_a_dual_stack_services_allocated_addresses_are_both_read_from_its_status() -> None:
    raw = edited("dual")
    raw["services"][0].pop("addresses")
    raw["services"][0]["ipFamilyPolicy"] = "RequireDualStack"
    lab = parse_lab(raw, stack="lab")
    dump = [
        {
            "metadata": {"namespace": "monitoring", "name": "grafana"},
            "status": {"loadBalancer": {"ingress": [{"ip": "fd00:20:10::7"}, {"ip": "10.20.10.7"}, {"hostname": "x"}]}},
        }
    ]
    assert allocated_addresses(lab, dump)["grafana"] == (IPv4Address("10.20.10.7"), IPv6Address("fd00:20:10::7"))


def test_the_shipped_dual_stack_lab_expects_each_check_in_both_families() -> None:
    lab = load_lab(ROOT / "Pulumi.dualstack.yaml")
    expected = expect(lab, lab.pinned_addresses)
    assert [str(n.address6) for n in expected.nodes] == ["fd00:30::11", "fd00:30::12", "fd00:30::13"]
    assert [str(r.address) for r in expected.routes] == ["10.99.0.10", "fd00:99::10"]
    assert {(n.name, n.address.version) for n in expected.names} == {
        (name, version) for name in ("ha", "home-assistant", "home-assistant.k8s.home") for version in (4, 6)
    }
    assert [e.subject for e in expected.endpoints] == [
        "http://[fd00:99::10]:8123/",
        "http://home-assistant.k8s.home:8123/",
    ]
