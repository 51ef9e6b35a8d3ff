"""Discovered names in config.gateway.json, the UniFi OS DNS records and the outputs: the same
shapes as declared ones, deterministic bytes, and never a file the gateway would refuse."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from ipaddress import IPv4Address, ip_address
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from components.artifacts.dns_records import dns_records_json, render_dns_records
from components.artifacts.outputs import render_outputs
from components.artifacts.usg_gateway import config_gateway_json, render_config_gateway
from components.discovery.rules import discover
from tests.artifacts.test_usg_gateway import USG_SCHEMA, leaves, usg_validator
from tests.discovery.labs import BASE_HOSTS, dual_lab, lab, named, service

SERVICES = [
    named("grafana", "grafana", ip="10.20.10.50", annotations={"metallb-unifi.io/aliases": "g"}),
    named("prom", "prom.apps.lab.example", ip="10.20.0.201"),
]


def test_the_usg_file_maps_discovered_names_beside_the_declared_ones() -> None:
    usg = lab()
    result = discover(usg, SERVICES)
    hosts = render_config_gateway(usg, usg.pinned_addresses, result.entries)["system"]["static-host-mapping"]
    assert hosts["host-name"] == {
        "dashboard.lab.example": {"alias": ["dashboard", "dash"], "inet": ["10.20.10.10"]},
        "grafana.lab.example": {"alias": ["grafana", "g"], "inet": ["10.20.10.50"]},
        "prom.apps.lab.example": {"inet": ["10.20.0.201"]},  # no alias: nothing written, not []
    }
    # Every leaf a string or a non-empty list of strings, as EdgeOS wants.
    for path, value in leaves(render_config_gateway(usg, usg.pinned_addresses, result.entries)):
        assert isinstance(value, str) or (isinstance(value, list) and value), path


def test_the_usg_file_with_discovered_names_validates_and_merges_into_the_base_file() -> None:
    usg = lab(base=True)
    services = [*SERVICES, named("nas", "nas", ip="10.20.10.99")]  # the base file's name: skipped
    result = discover(usg, services)
    document = json.loads(config_gateway_json(usg, usg.pinned_addresses, result.entries))
    assert document["system"]["static-host-mapping"]["host-name"]["nas.lab.example"] == BASE_HOSTS["nas.lab.example"]
    assert "grafana.lab.example" in document["system"]["static-host-mapping"]["host-name"]
    if USG_SCHEMA.exists():
        assert [e.message for e in usg_validator().iter_errors(document)] == []


def test_unifi_os_records_for_discovered_names_have_the_declared_shape() -> None:
    udm = lab(kind="unifi-os")
    records = render_dns_records(udm, udm.pinned_addresses, discover(udm, SERVICES).entries)
    assert [(r["key"], r["value"]) for r in records] == [
        ("dash", "10.20.10.10"),
        ("dashboard", "10.20.10.10"),
        ("dashboard.lab.example", "10.20.10.10"),
        ("g", "10.20.10.50"),
        ("grafana", "10.20.10.50"),
        ("grafana.lab.example", "10.20.10.50"),
        ("prom.apps.lab.example", "10.20.0.201"),
    ]
    # The same shape, plus the mark that lets the client leave someone else's record of the name alone.
    declared = {"key", "value", "record_type", "enabled"}
    assert {frozenset(r) for r in records} == {frozenset(declared), frozenset({*declared, "discovered"})}
    assert [r["key"] for r in records if r.get("discovered")] == [
        "g",
        "grafana",
        "grafana.lab.example",
        "prom.apps.lab.example",
    ]


def test_outputs_list_discovered_names_only_when_the_stack_discovers() -> None:
    usg = lab()
    outputs = render_outputs(usg, usg.pinned_addresses, discover(usg, SERVICES).entries)
    assert outputs["discovered"] == [
        {
            "service": "apps/grafana",
            "address": "10.20.10.50",
            "hostname": "grafana.lab.example",
            "aliases": ["grafana", "g"],
            "url": "http://grafana.lab.example/",
        },
        {
            "service": "apps/prom",
            "address": "10.20.0.201",
            "hostname": "prom.apps.lab.example",
            "aliases": [],
            "url": "http://prom.apps.lab.example/",
        },
    ]
    from dataclasses import replace

    assert "discovered" not in render_outputs(replace(usg, discovery=None), usg.pinned_addresses)
    assert render_outputs(usg, usg.pinned_addresses)["discovered"] == []


def test_a_dual_stack_name_maps_to_both_addresses_in_every_artifact() -> None:
    services = [named("web", "web", ip=["fd00:20:10::7", "10.20.10.7"]), named("v6", "v6", ip="fd00:20:10::8")]

    usg = dual_lab()
    hosts = render_config_gateway(usg, usg.pinned_addresses, discover(usg, services).entries)["system"]
    assert {h: v for h, v in hosts["static-host-mapping"]["host-name"].items() if h != "dashboard.lab.example"} == {
        "v6.lab.example": {"alias": ["v6"], "inet": ["fd00:20:10::8"]},
        "web.lab.example": {"alias": ["web"], "inet": ["10.20.10.7", "fd00:20:10::7"]},
    }

    udm = dual_lab(kind="unifi-os")
    records = render_dns_records(udm, udm.pinned_addresses, discover(udm, services).entries)
    assert [(r["key"], r["record_type"], r["value"]) for r in records if r.get("discovered")] == [
        ("v6", "AAAA", "fd00:20:10::8"),
        ("v6.lab.example", "AAAA", "fd00:20:10::8"),
        ("web", "A", "10.20.10.7"),
        ("web", "AAAA", "fd00:20:10::7"),
        ("web.lab.example", "A", "10.20.10.7"),
        ("web.lab.example", "AAAA", "fd00:20:10::7"),
    ]

    # `address` stays the first (IPv4 when there is one): readers of IPv4-only outputs keep working.
    assert render_outputs(usg, usg.pinned_addresses, discover(usg, services).entries)["discovered"] == [
        {
            "service": "apps/v6",
            "address": "fd00:20:10::8",
            "ips": {"IPv6": "fd00:20:10::8"},
            "hostname": "v6.lab.example",
            "aliases": ["v6"],
            "url": "http://v6.lab.example/",
        },
        {
            "service": "apps/web",
            "address": "10.20.10.7",
            "ips": {"IPv4": "10.20.10.7", "IPv6": "fd00:20:10::7"},
            "hostname": "web.lab.example",
            "aliases": ["web"],
            "url": "http://web.lab.example/",
        },
    ]


# --- properties ----------------------------------------------------------------------------

LABELS = ["grafana", "dash", "dashboard", "nas", "web", "db", "Bad_1", "x", "pihole"]
ADDRESSES = ["10.20.10.50", "10.20.10.51", "10.20.0.201", "192.168.7.7", None]
# With the dual-stack lab: IPv6 addresses in and out of its pools, and dual-stack ingresses.
ADDRESSES_6: list[str | list[str] | None] = [
    *ADDRESSES,
    "fd00:20:10::50",
    "fd00:99::1",
    ["10.20.10.50", "fd00:20:10::50"],
    ["fd00:20:10::51", "10.20.10.51"],
    ["10.20.10.50", "fd00:20:10::51"],
]


@st.composite
def cluster(draw: st.DrawFn, addresses: Sequence[Any] = ADDRESSES) -> list[dict[str, Any]]:
    services = []
    for index in range(draw(st.integers(0, 12))):
        annotations: dict[str, str] = {}
        if draw(st.booleans()):
            annotations["metallb-unifi.io/hostname"] = draw(st.sampled_from([*LABELS, "a.lab.example.", "*"]))
        if draw(st.booleans()):
            picked = draw(st.lists(st.sampled_from(LABELS), max_size=3))
            annotations["metallb-unifi.io/aliases"] = ",".join(picked)
        if draw(st.booleans()):
            picked = draw(st.lists(st.sampled_from(LABELS), max_size=3))
            domain = draw(st.sampled_from(["lab.example", "lab.example.", "example.com"]))
            annotations["external-dns.alpha.kubernetes.io/hostname"] = ",".join(f"{p}.{domain}" for p in picked)
        services.append(
            service(
                draw(st.sampled_from(LABELS)),
                f"ns{index}",  # one Service per namespace/name, as in a real listing
                ip=draw(st.sampled_from(addresses)),
                annotations=annotations,
                ports=[(draw(st.sampled_from([53, 80, 443, 8080])), draw(st.sampled_from(["TCP", "UDP"])))],
                type_=draw(st.sampled_from(["LoadBalancer", "LoadBalancer", "ClusterIP"])),
            )
        )
    return services


@settings(max_examples=150, deadline=None)
@given(
    st.booleans().flatmap(lambda dual: st.tuples(st.just(dual), cluster(ADDRESSES_6 if dual else ADDRESSES))),
    st.sampled_from(["annotated", "all"]),
    st.sampled_from(["usg", "unifi-os"]),
    st.randoms(),
)
def test_whatever_the_cluster_holds_the_files_render_and_every_name_is_served_once(
    drawn: tuple[bool, list[dict[str, Any]]], mode: str, kind: str, shuffler: random.Random
) -> None:
    dual, services = drawn
    stack = lab(kind=kind, mode=mode, base=kind == "usg", dual=dual)
    result = discover(stack, services)
    shuffled = list(services)
    shuffler.shuffle(shuffled)
    assert discover(stack, shuffled) == result, "the cluster's listing order does not matter"
    names = [name for entry in result.entries for name in entry.names]
    assert len(names) == len(set(names)), "each name has one set of addresses"
    declared = {"dashboard.lab.example", "dashboard", "dash"} | ({"nas.lab.example", "nas"} if kind == "usg" else set())
    assert not declared & set(names), "the stack's names stay the stack's"
    for entry in result.entries:
        assert all(any(a in pool for pool in stack.metallb.pools) for a in entry.addresses)
        assert [a.version for a in entry.addresses] in ([4], [6], [4, 6]), "one per family, IPv4 first"
        assert entry.hostname.endswith(".lab.example")
    # Never a file the gateway refuses: the USG file merges into the base file without conflict.
    if kind == "usg":
        text = config_gateway_json(stack, stack.pinned_addresses, result.entries)
        assert text == config_gateway_json(stack, stack.pinned_addresses, result.entries[::-1])
        hosts = json.loads(text)["system"]["static-host-mapping"]["host-name"]
        assert set(hosts) == {"dashboard.lab.example", "nas.lab.example"} | {e.hostname for e in result.entries}
        for entry in result.entries:
            assert hosts[entry.hostname]["inet"] == [str(a) for a in entry.addresses]
    else:
        text = dns_records_json(stack, stack.pinned_addresses, result.entries)
        keys = [(r["key"], r["record_type"]) for r in json.loads(text)]
        assert keys == sorted(keys) and len(keys) == len(set(keys)), "one record per name and family"
        assert {ip_address(r["value"]) for r in json.loads(text)} <= {IPv4Address("10.20.10.10")} | {
            a for e in result.entries for a in e.addresses
        }
