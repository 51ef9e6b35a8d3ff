"""Several stacks on one gateway (components/artifacts/shared_gateway.py): every conflict refused
with both stacks and their keys named, and the composed files: the USG's config.gateway.json
(against the USG schema), the UniFi OS bgpd.conf (FRR's own parser and daemon) and DNS records,
and on random pairs, each stack's routes accepted only from its own nodes."""

from __future__ import annotations

import copy
import json
import re
import tempfile
from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from components.artifacts.frr import render_bgpd_conf
from components.artifacts.gateway import BGPD_CONF, CONFIG_GATEWAY_JSON, DNS_RECORDS, render_gateway_files
from components.artifacts.shared_gateway import (
    GatewayStack,
    SharedGatewayConflict,
    compose_gateway_files,
    marker,
    shared_gateway_conflicts,
)
from components.config import ConfigError, parse_lab
from components.config.model import GatewayKind
from components.config.stack_files import read_stack_config
from components.config.stack_names import filter_names, stack_id
from components.render import load_lab
from tests.artifacts.prefix_lists import frr_prefix_list, inside_a_pool, permits, usg_prefix_list
from tests.artifacts.test_frr import BGPD, VTYSH, bgpd_refusals, needs_bgpd, needs_vtysh, vtysh_check
from tests.artifacts.test_usg_gateway import USG_SCHEMA, needs_usg_schema, schema_errors
from tests.config.strategies import valid_configs

ROOT = Path(__file__).resolve().parents[2]


def shipped(name: str) -> GatewayStack:
    lab = load_lab(ROOT / f"Pulumi.{name}.yaml")
    return GatewayStack(lab, lab.pinned_addresses, (), f"Pulumi.{name}.yaml")


def stack_of(raw: dict[str, Any], stack: str, file: str | None = None) -> GatewayStack:
    lab = parse_lab(raw, stack=stack)
    return GatewayStack(lab, lab.pinned_addresses, (), file)


def raw_of(name: str) -> dict[str, Any]:
    return read_stack_config(ROOT / f"Pulumi.{name}.yaml")


def udm_test_raw() -> dict[str, Any]:
    """A second UniFi OS cluster beside Pulumi.udm.yaml: eBGP from its own AS, its own nodes,
    pool and names, a password and BFD (frr-k8s)."""
    raw = raw_of("udm")
    raw["nodes"] = [{"name": "t1", "address": "192.168.40.11"}, {"name": "t2", "address": "192.168.40.12"}]
    raw["metallb"] = {
        "version": "v0.16.1",
        "asn": 65020,
        "mode": "frr-k8s",
        "manifestSha256": "0" * 64,
        "pools": [{"name": "test", "protocol": "bgp", "addresses": ["10.99.1.0/27"]}],
    }
    raw["bgp"] = {"password": "test-pw", "holdTime": "30s", "bfd": {"detectMultiplier": 3}}
    raw["gateway"] = {**raw["gateway"], "dnsDomain": "test.k8s.home"}
    raw["services"] = [
        {"name": "grafana", "namespace": "monitoring", "address": "10.99.1.10", "ports": [{"port": 3000}]}
        | {"selector": {"app": "grafana"}, "aliases": ["dashboards"]}
    ]
    return raw


def udm_pair() -> list[GatewayStack]:
    return [shipped("udm"), stack_of(udm_test_raw(), "udm-test", "Pulumi.udm-test.yaml")]


# --- one stack: today's files -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["lab", "crds", "udm", "lab-test"])
def test_one_stack_alone_gets_exactly_todays_files(name: str) -> None:
    stack = shipped(name)
    assert compose_gateway_files([stack]) == render_gateway_files(stack.lab, stack.addresses)


# --- USG --------------------------------------------------------------------------------------


def test_the_lab_and_its_test_cluster_compose_into_one_config_gateway_json() -> None:
    lab, test = shipped("lab"), shipped("lab-test")
    files = compose_gateway_files([lab, test])
    assert list(files) == [CONFIG_GATEWAY_JSON]
    assert compose_gateway_files([test, lab]) == files  # the order given does not matter
    document = json.loads(files[CONFIG_GATEWAY_JSON])
    neighbors = document["protocols"]["bgp"]["64512"]["neighbor"]
    assert sorted(neighbors) == sorted(
        ["10.10.0.200", "10.10.0.101", "10.10.0.102", "10.10.0.103", "10.10.1.11", "10.10.1.12"]
    )
    assert neighbors["10.10.0.101"]["route-map"] == {"import": "metallb-lab-in", "export": "metallb-lab-out"}
    assert neighbors["10.10.1.11"]["route-map"] == {"import": "metallb-lab-test-in", "export": "metallb-lab-test-out"}
    assert document["protocols"]["bgp"]["64512"]["parameters"] == {"router-id": "192.168.1.1"}
    assert sorted(document["policy"]["prefix-list"]) == ["metallb-lab-pools", "metallb-lab-test-pools"]
    assert document["system"]["static-host-mapping"]["host-name"] == {
        "k8s-dashboard.service": {"alias": ["k8s-dashboard"], "inet": ["10.10.10.10"]},
        "whoami.test.service": {"alias": ["whoami"], "inet": ["10.10.11.10"]},
    }
    # The lab's nodes take only the lab's pool, the test nodes only theirs.
    for stack, own, other in ((lab, "10.10.10.20/32", "10.10.11.20/32"), (test, "10.10.11.20/32", "10.10.10.20/32")):
        entries = usg_prefix_list(document, stack.lab.filter_names.prefix_list)
        assert permits(entries, IPv4Network(own)) and not permits(entries, IPv4Network(other))
    if USG_SCHEMA.exists():
        assert schema_errors(document) == []


def test_the_composed_config_gateway_json_validates_against_the_usg_schema() -> None:
    needs_usg_schema()
    document = json.loads(compose_gateway_files([shipped("lab"), shipped("lab-test")])[CONFIG_GATEWAY_JSON])
    assert schema_errors(document) == []


BASE = {"service": {"dns": {"forwarding": {"options": ["all-servers"]}}}}


def with_base(tmp_path: Path, name: str, base: Any, file: str = "config.gateway.base.json") -> GatewayStack:
    (tmp_path / file).write_text(json.dumps(base))
    raw = raw_of(name)
    raw["gateway"] = {**raw["gateway"], "baseConfigFile": file}
    lab = parse_lab(raw, stack=name, read_file=lambda path: (tmp_path / path).read_text())
    return GatewayStack(lab, lab.pinned_addresses, (), f"Pulumi.{name}.yaml")


def test_the_base_file_is_merged_once_with_every_stack(tmp_path: Path) -> None:
    lab, test = with_base(tmp_path, "lab", BASE), with_base(tmp_path, "lab-test", BASE, "copy.json")
    document = json.loads(compose_gateway_files([lab, test])[CONFIG_GATEWAY_JSON])
    assert document["service"] == BASE["service"]  # same content under another name: one file
    assert len(document["protocols"]["bgp"]["64512"]["neighbor"]) == 6


def test_different_base_files_are_refused(tmp_path: Path) -> None:
    lab = with_base(tmp_path, "lab", BASE)
    other = with_base(
        tmp_path, "lab-test", {"service": {"dns": {"forwarding": {"options": ["strict-order"]}}}}, "b.json"
    )
    for stacks in ([lab, other], [lab, shipped("lab-test")]):
        (conflict,) = shared_gateway_conflicts(stacks)
        assert conflict.startswith("metallb-unifi:gateway.baseConfigFile: stack 'lab' (Pulumi.lab.yaml) has ")
        assert "stack 'lab-test' (Pulumi.lab-test.yaml) has " in conflict


# --- UniFi OS ----------------------------------------------------------------------------------


def test_two_unifi_os_stacks_share_one_router_bgp_each_part_between_its_markers() -> None:
    files = compose_gateway_files(udm_pair())
    assert list(files) == [BGPD_CONF, DNS_RECORDS]
    assert compose_gateway_files(udm_pair()[::-1]) == files
    text = files[BGPD_CONF]
    lines = text.splitlines()
    assert lines.count("router bgp 65000") == 1 and sum(line.startswith("router bgp") for line in lines) == 1
    assert lines.count(" bgp router-id 192.168.30.1") == 1
    # Both eBGP: one maximum-paths, the one both set (3).
    assert [line for line in lines if "maximum-paths" in line] == ["  maximum-paths 3"]
    # Each stack's filter comes before router bgp (frr.py says why), each part marked three times.
    router = lines.index("router bgp 65000")
    for sid in ("udm", "udm-test"):
        for indent in ("", " ", "  "):
            assert lines.count(marker(sid, "begin", indent)) == 1 and lines.count(marker(sid, "end", indent)) == 1
        assert lines.index(f"route-map metallb-{sid}-in permit 10") < router
        assert (
            lines.index(
                f"ip prefix-list metallb-{sid}-pools seq 10 permit "
                + ("10.99.0.0/26 le 32" if sid == "udm" else "10.99.1.0/27 le 32")
            )
            < router
        )
    assert lines.index(marker("udm", "begin")) < lines.index(marker("udm-test", "begin"))  # by stack id
    assert " neighbor metallb-udm-test password test-pw" in lines
    assert " neighbor metallb-udm-test bfd" in lines
    assert " neighbor metallb-udm timers 3 9" in lines and " neighbor metallb-udm-test timers 10 30" in lines


def parts(text: str, sid: str) -> list[list[str]]:
    """The lines between each pair of ``sid``'s markers."""
    found: list[list[str]] = []
    current: list[str] | None = None
    for line in text.splitlines():
        if line.strip() == f"! metallb-unifi stack {sid} begin":
            current = []
        elif line.strip() == f"! metallb-unifi stack {sid} end":
            assert current is not None
            found.append(current)
            current = None
        elif current is not None:
            current.append(line)
    return found


def test_the_markers_hold_exactly_one_stacks_lines() -> None:
    text = compose_gateway_files(udm_pair())[BGPD_CONF]
    for stack in udm_pair():
        filter_part, group_part, family_part = parts(text, stack.id)
        alone = render_bgpd_conf(stack.lab).splitlines()
        router = next(i for i, line in enumerate(alone) if line.startswith("router bgp "))
        assert filter_part == alone[2 : router - 1]
        assert all(line in alone for line in group_part + family_part)
        other = filter_names(({"udm", "udm-test"} - {stack.id}).pop())
        theirs = {other.prefix_list, other.route_map_in, other.route_map_out, other.peer_group}
        assert not theirs & {word for line in filter_part + group_part + family_part for word in line.split()}


def test_dns_records_are_the_union_of_every_stacks() -> None:
    records = json.loads(compose_gateway_files(udm_pair())[DNS_RECORDS])
    assert [(r["key"], r["value"]) for r in records] == [
        ("dashboards", "10.99.1.10"),
        ("grafana", "10.99.1.10"),
        ("grafana.test.k8s.home", "10.99.1.10"),
        ("ha", "10.99.0.10"),
        ("home-assistant", "10.99.0.10"),
        ("home-assistant.k8s.home", "10.99.0.10"),
    ]


def test_ibgp_and_ebgp_stacks_each_get_their_maximum_paths_and_unset_takes_the_largest_node_count() -> None:
    udm, _ = udm_pair()
    ibgp_raw = udm_test_raw()
    ibgp_raw["metallb"] = {**ibgp_raw["metallb"], "asn": 65000}
    del ibgp_raw["gateway"]["maximumPaths"]
    text = compose_gateway_files([udm, stack_of(ibgp_raw, "udm-test")])[BGPD_CONF]
    assert [line for line in text.splitlines() if "maximum-paths" in line] == [
        "  maximum-paths 3",
        "  maximum-paths ibgp 2",
    ]
    raw_a, raw_b = raw_of("udm"), udm_test_raw()
    for raw in (raw_a, raw_b):
        del raw["gateway"]["maximumPaths"]
    text = compose_gateway_files([stack_of(raw_a, "udm"), stack_of(raw_b, "udm-test")])[BGPD_CONF]
    assert [line for line in text.splitlines() if "maximum-paths" in line] == ["  maximum-paths 3"]  # 3 nodes and 2


def test_different_maximum_paths_for_one_session_type_are_refused() -> None:
    raw = udm_test_raw()
    raw["gateway"]["maximumPaths"] = 2
    (conflict,) = shared_gateway_conflicts([shipped("udm"), stack_of(raw, "udm-test", "Pulumi.udm-test.yaml")])
    assert conflict.startswith(
        "metallb-unifi:gateway.maximumPaths: stack 'udm' (Pulumi.udm.yaml) has 3, "
        "stack 'udm-test' (Pulumi.udm-test.yaml) has 2; "
    )
    del raw["gateway"]["maximumPaths"]
    (conflict,) = shared_gateway_conflicts([shipped("udm"), stack_of(raw, "udm-test")])
    assert "has 3, stack 'udm-test' has none; " in conflict


def udm_dual_raw() -> dict[str, Any]:
    """udm_test_raw made dual-stack: its nodes and the gateway on fd00:40::/64, its pool with an
    IPv6 block beside the IPv4 one, its service pinned to one address of each."""
    raw = udm_test_raw()
    for index, node in enumerate(raw["nodes"]):
        node["address6"] = f"fd00:40::{0x11 + index:x}"
    raw["gateway"]["peerAddress6"] = "fd00:40::1"
    raw["metallb"]["pools"][0]["addresses"] = ["10.99.1.0/27", "fd00:99:1::/120"]
    service = raw["services"][0]
    del service["address"]
    service.update(addresses=["10.99.1.10", "fd00:99:1::10"], ipFamilyPolicy="RequireDualStack")
    return raw


def udm_and_dual() -> list[GatewayStack]:
    return [shipped("udm"), stack_of(udm_dual_raw(), "udm-test", "Pulumi.udm-test.yaml")]


def test_an_ipv6_family_holds_the_part_of_each_stack_that_peers_over_ipv6_and_nothing_else() -> None:
    files = compose_gateway_files(udm_and_dual())
    assert compose_gateway_files(udm_and_dual()[::-1]) == files
    text = files[BGPD_CONF]
    lines = text.splitlines()
    v4, v6 = lines.index(" address-family ipv4 unicast"), lines.index(" address-family ipv6 unicast")
    assert lines.count(" address-family ipv6 unicast") == 1
    # The IPv4-only stack's three parts are what they were; the dual stack's IPv6 family is a fourth.
    assert len(parts(text, "udm")) == 3 and len(parts(text, "udm-test")) == 4
    assert parts(text, "udm") == parts(compose_gateway_files(udm_pair())[BGPD_CONF], "udm")
    assert lines[v6 - 1 :] == [
        " !",
        " address-family ipv6 unicast",
        marker("udm-test", "begin", "  "),
        "  neighbor metallb-udm-test-v6 activate",
        "  neighbor metallb-udm-test-v6 route-map metallb-udm-test-in6 in",
        "  neighbor metallb-udm-test-v6 route-map metallb-udm-test-out out",
        marker("udm-test", "end", "  "),
        "  maximum-paths 3",
        " exit-address-family",
        "exit",
    ]
    assert "  neighbor metallb-udm-test activate" in lines[v4:v6]
    assert not [line for line in lines[v4:v6] if "-v6" in line]  # never an IPv6 group in the IPv4 family
    filter_part, group_part, _, _ = parts(text, "udm-test")
    assert "ipv6 prefix-list metallb-udm-test-pools6 seq 10 permit fd00:99:1::/120 le 128" in filter_part
    assert " neighbor fd00:40::11 peer-group metallb-udm-test-v6" in group_part
    assert " neighbor metallb-udm-test-v6 password test-pw" in group_part
    records = json.loads(files[DNS_RECORDS])
    assert [(r["key"], r["record_type"], r["value"]) for r in records if r["key"] == "grafana"] == [
        ("grafana", "A", "10.99.1.10"),
        ("grafana", "AAAA", "fd00:99:1::10"),
    ]


def test_ipv6_maximum_paths_are_per_session_type_and_unset_takes_the_largest_ipv6_neighbour_count() -> None:
    ibgp = udm_dual_raw()
    ibgp["metallb"] = {**ibgp["metallb"], "asn": 65000}
    del ibgp["gateway"]["maximumPaths"]
    other = udm_dual_raw()
    other["nodes"] = [
        {"name": f"o{i}", "address": f"192.168.50.{11 + i}", "address6": f"fd00:50::{11 + i}"} for i in range(3)
    ]
    other["gateway"]["peerAddress6"] = "fd00:50::1"
    other["metallb"]["pools"][0]["addresses"] = ["10.99.2.0/27", "fd00:99:2::/120"]
    other["services"] = []
    del other["gateway"]["maximumPaths"]
    stacks = [stack_of(ibgp, "udm-test"), stack_of(other, "other")]
    lines = compose_gateway_files(stacks)[BGPD_CONF].splitlines()
    v6 = lines.index(" address-family ipv6 unicast")
    # eBGP: "other" alone (3 nodes); iBGP: udm-test (2): in each family, eBGP first as FRR writes them.
    assert [line for line in lines[:v6] if "maximum-paths" in line] == ["  maximum-paths 3", "  maximum-paths ibgp 2"]
    assert [line for line in lines[v6:] if "maximum-paths" in line] == ["  maximum-paths 3", "  maximum-paths ibgp 2"]


COMPOSED = {
    "ebgp-pair": udm_pair,
    "ipv4-and-dual-stack": udm_and_dual,
    "ibgp-and-ebgp": lambda: [
        shipped("udm"),
        stack_of({**udm_test_raw(), "metallb": {**udm_test_raw()["metallb"], "asn": 65000}}, "ibgp"),
    ],
    "three-stacks-one-hashed": lambda: [
        *udm_pair(),
        stack_of(
            {
                **udm_test_raw(),
                "nodes": [{"name": "x", "address": "192.168.50.11"}],
                "metallb": {
                    **udm_test_raw()["metallb"],
                    "pools": [{"name": "x", "protocol": "layer2", "addresses": ["192.168.50.200/29"]}],
                },
                "services": [],
            },
            "dev_1.é",
        ),
    ],
}


@needs_vtysh
@pytest.mark.parametrize("make", COMPOSED.values(), ids=COMPOSED.keys())
def test_vtysh_accepts_the_composed_config(make: Callable[[], list[GatewayStack]], tmp_path: Path) -> None:
    assert VTYSH is not None
    result = vtysh_check(compose_gateway_files(make())[BGPD_CONF], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_bgpd
@pytest.mark.parametrize("make", COMPOSED.values(), ids=COMPOSED.keys())
def test_bgpd_takes_every_line_of_the_composed_config(make: Callable[[], list[GatewayStack]], tmp_path: Path) -> None:
    assert BGPD is not None
    assert bgpd_refusals(compose_gateway_files(make())[BGPD_CONF], tmp_path) == []


@needs_vtysh
def test_vtysh_rejects_a_broken_composed_line(tmp_path: Path) -> None:
    # Negative control: the markers are comments, but a broken command inside a part still fails.
    text = compose_gateway_files(udm_pair())[BGPD_CONF].replace(
        "neighbor metallb-udm-test bfd", "neighbor metallb-udm-test bfdx"
    )
    assert vtysh_check(text, tmp_path).returncode != 0


# --- conflicts ---------------------------------------------------------------------------------


def lab_test_with(**changes: Any) -> GatewayStack:
    raw = raw_of("lab-test")
    for key, value in changes.items():
        raw[key] = value(raw[key]) if callable(value) else value
    return stack_of(raw, "lab-test", "Pulumi.lab-test.yaml")


CONFLICTS: dict[str, tuple[Callable[[], GatewayStack], list[str]]] = {
    "asn": (
        lambda: lab_test_with(gateway=lambda g: {**g, "asn": 64513}),
        [
            "metallb-unifi:gateway.asn: stack 'lab' (Pulumi.lab.yaml) has 64512, stack 'lab-test' "
            "(Pulumi.lab-test.yaml) has 64513; "
        ],
    ),
    "router-id": (
        lambda: lab_test_with(gateway=lambda g: {**g, "routerId": "192.168.1.2"}),
        [
            "metallb-unifi:gateway.routerId: stack 'lab' (Pulumi.lab.yaml) has 192.168.1.1, stack 'lab-test' "
            "(Pulumi.lab-test.yaml) has 192.168.1.2 "
        ],
    ),
    "kind": (
        lambda: lab_test_with(gateway=lambda g: {**g, "kind": "unifi-os"}),
        [
            "metallb-unifi:gateway.kind: stack 'lab' (Pulumi.lab.yaml) has usg, stack 'lab-test' "
            "(Pulumi.lab-test.yaml) has unifi-os; "
        ],
    ),
    "pool": (
        lambda: lab_test_with(
            metallb=lambda m: {
                **m,
                "pools": [
                    *m["pools"],
                    {"name": "l2", "protocol": "layer2", "addresses": ["10.10.1.200/29"]},
                    {"name": "more", "protocol": "bgp", "addresses": ["10.10.10.248/29"]},
                ],
            }
        ),
        [
            "metallb-unifi:metallb.pools[0].addresses[0] of stack 'lab' (Pulumi.lab.yaml) (10.10.10.10-10.10.10.250, "
            "pool 'bgp') "
            "overlaps metallb-unifi:metallb.pools[2].addresses[0] of stack 'lab-test' (Pulumi.lab-test.yaml) "
            "(10.10.10.248/29, pool 'more'); "
        ],
    ),
    "node": (
        lambda: lab_test_with(
            nodes=[{"name": "test1", "address": "10.10.0.103"}, {"name": "test2", "address": "10.10.0.104"}]
        ),
        [
            "metallb-unifi:nodes[3].address of stack 'lab' (Pulumi.lab.yaml) (10.10.0.103, node 'worker3') is "
            "metallb-unifi:nodes[0].address of stack 'lab-test' (Pulumi.lab-test.yaml) too; "
        ],
    ),
    "name-across-domains": (
        lambda: lab_test_with(services=lambda s: [{**s[0], "name": "k8s-dashboard"}]),
        [
            "the name 'k8s-dashboard' is metallb-unifi:services[0].name (its alias) of stack 'lab' (Pulumi.lab.yaml) "
            "and metallb-unifi:services[0].name (its alias) of stack 'lab-test' (Pulumi.lab-test.yaml); "
        ],
    ),
    "alias-is-a-host-name": (
        lambda: lab_test_with(services=lambda s: [{**s[0], "aliases": ["k8s-dashboard.service"]}]),
        [
            "the name 'k8s-dashboard.service' is metallb-unifi:services[0].name (its host name) of stack 'lab' "
            "(Pulumi.lab.yaml) and metallb-unifi:services[0].aliases[0] of stack 'lab-test' (Pulumi.lab-test.yaml); "
        ],
    ),
    "node-in-the-others-pool": (
        lambda: lab_test_with(
            metallb=lambda m: {**m, "pools": [{"name": "test", "protocol": "bgp", "addresses": ["10.10.0.96/28"]}]},
            services=[],
        ),
        [
            "metallb-unifi:nodes[1].address of stack 'lab' (Pulumi.lab.yaml) (10.10.0.101) lies in "
            "metallb-unifi:metallb.pools[0].addresses[0] of stack 'lab-test' (Pulumi.lab-test.yaml) (10.10.0.96/28, "
            "pool 'test'); ",
            "metallb-unifi:nodes[2].address of stack 'lab' (Pulumi.lab.yaml) (10.10.0.102) lies in ",
            "metallb-unifi:nodes[3].address of stack 'lab' (Pulumi.lab.yaml) (10.10.0.103) lies in ",
        ],
    ),
    "peer-in-the-others-pool": (
        lambda: lab_test_with(gateway=lambda g: {**g, "peerAddress": "10.10.10.100"}),
        [
            "metallb-unifi:gateway.peerAddress of stack 'lab-test' (Pulumi.lab-test.yaml) (10.10.10.100) lies in "
            "metallb-unifi:metallb.pools[0].addresses[0] of stack 'lab' (Pulumi.lab.yaml) (10.10.10.10-10.10.10.250"
        ],
    ),
}


@pytest.mark.parametrize("case", CONFLICTS, ids=CONFLICTS)
def test_each_conflict_is_refused_naming_both_stacks_and_the_keys(case: str) -> None:
    make, expected = CONFLICTS[case]
    lab, other = shipped("lab"), make()
    conflicts = shared_gateway_conflicts([other, lab])
    assert len(conflicts) == len(expected), conflicts
    for conflict, start in zip(conflicts, expected, strict=True):
        assert conflict.startswith(start), conflict
    with pytest.raises(SharedGatewayConflict) as raised:
        compose_gateway_files([lab, other])
    assert raised.value.conflicts == tuple(conflicts)
    assert raised.value.report().startswith(f"these stacks cannot share one gateway ({len(conflicts)} conflict")


def test_the_same_stack_id_is_refused_and_every_conflict_is_collected() -> None:
    lab = shipped("lab")
    twin = GatewayStack(lab.lab, lab.addresses, (), "../other-project/Pulumi.lab.yaml")
    conflicts = shared_gateway_conflicts([lab, twin])
    assert conflicts[0].startswith(
        "stack: stack 'lab' (../other-project/Pulumi.lab.yaml) and stack 'lab' (Pulumi.lab.yaml) both "
        "name "
        "their BGP filter on the gateway after stack id 'lab' (metallb-lab-pools, metallb-lab-in, metallb-lab-out)"
    )
    # Four nodes, one pool range, a host name and its alias: all of them, not the first only.
    assert len(conflicts) == 1 + 4 + 1 + 2
    # Different names with one id: dev_1 and dev.1 hash apart, so only a literal twin collides.
    assert stack_id("dev_1") != stack_id("dev.1")


def test_a_discovered_name_of_one_stack_is_a_declared_name_of_another() -> None:
    from components.discovery.rules import DiscoveredName

    lab = shipped("lab")
    name = DiscoveredName("web", "whoami", (IPv4Address("10.10.10.20"),), "whoami.test.service", ("whoami",), None)
    conflicts = shared_gateway_conflicts([GatewayStack(lab.lab, lab.addresses, (name,), lab.file), shipped("lab-test")])
    assert len(conflicts) == 2
    assert "metallb-unifi:discovery (Service web/whoami) of stack 'lab' (Pulumi.lab.yaml)" in conflicts[0]


# --- random pairs ------------------------------------------------------------------------------

_IP = re.compile(r"\b(\d+)\.(\d+)\.(\d+)\.(\d+)\b")


def _moved(text: str, nodes: Callable[[IPv4Address], IPv4Address | None]) -> str:
    """``text`` with the strategy's BGP pool space 172.16-19.x.x moved to 172.20-23.x.x and the
    node networks moved by ``nodes`` (None: unchanged)."""

    def move(found: re.Match[str]) -> str:
        address = IPv4Address(found[0])
        if address in IPv4Network("172.16.0.0/14"):
            return str(address + (4 << 16))
        return str(nodes(address) or address)

    return _IP.sub(move, text)


def _apart(address: IPv4Address) -> IPv4Address | None:
    """The strategy's node networks (192.168.x.0/24, 10.0-99.x.0/24) moved where it draws none."""
    if address in IPv4Network("192.168.0.0/16"):
        return IPv4Address(f"10.200.{address.packed[2]}.{address.packed[3]}")
    if address in IPv4Network("10.0.0.0/8") and address.packed[1] <= 99:
        return address + (100 << 16)
    return None


def _walk(value: Any, change: Callable[[str], str]) -> Any:
    if isinstance(value, dict):
        return {k: _walk(v, change) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, change) for v in value]
    return change(value) if isinstance(value, str) else value


def beside(
    raw_a: dict[str, Any], raw_b: dict[str, Any], nodes: Callable[[IPv4Address], IPv4Address | None] = _apart
) -> dict[str, Any]:
    """``raw_b`` made to share ``raw_a``'s gateway: its addresses moved off A's, its names its own,
    the gateway's instance-wide settings A's."""
    gateway_b = raw_b["gateway"]
    raw: dict[str, Any] = _walk(
        {k: v for k, v in raw_b.items() if k not in ("gateway", "discovery")}, lambda t: _moved(t, nodes)
    )
    gateway_a = raw_a["gateway"]
    gateway = {k: v for k, v in gateway_a.items() if k in ("kind", "asn", "peerAddress", "routerId")}
    gateway["routerId"] = gateway_a.get("routerId", gateway_a["peerAddress"])
    gateway["dnsDomain"] = gateway_b["dnsDomain"]
    if "dnsTtl" in gateway_b and gateway["kind"] == "unifi-os":
        gateway["dnsTtl"] = gateway_b["dnsTtl"]
    # Keep B's session type, now against A's AS.
    ibgp_b = raw_b["metallb"]["asn"] == gateway_b["asn"]
    if ibgp_b:
        raw["metallb"]["asn"] = gateway_a["asn"]
    elif raw["metallb"]["asn"] == gateway_a["asn"]:
        raw["metallb"]["asn"] = gateway_a["asn"] % 4294967295 + 1
    ibgp_a = raw_a["metallb"]["asn"] == gateway_a["asn"]
    if gateway_a["kind"] == "unifi-os" and ibgp_a == ibgp_b and "maximumPaths" in gateway_a:
        gateway["maximumPaths"] = gateway_a["maximumPaths"]
    elif gateway_a["kind"] == "unifi-os" and ibgp_a != ibgp_b and "maximumPaths" in gateway_b:
        gateway["maximumPaths"] = gateway_b["maximumPaths"]
    raw["gateway"] = gateway
    if gateway["kind"] == "usg":  # what a USG cannot take: BFD, a hold time of 3 s
        bgp = raw.get("bgp", {})
        bgp.pop("bfd", None)
        if bgp.get("holdTime") in (3, "3s"):
            bgp["holdTime"] = 4
    # The strategy's labels have at most one '-': these never equal one of A's names.
    for i, service in enumerate(raw.get("services", [])):
        service["name"] = f"o-{i}-{service['name']}"
        if "aliases" in service:
            service["aliases"] = [f"o-{i}-alias-{j}" for j in range(len(service["aliases"]))]
    return raw


@st.composite
def compatible_pairs(draw: st.DrawFn) -> tuple[GatewayStack, GatewayStack]:
    # IPv4 labs: beside() moves B's IPv4 addresses away from A's, not its IPv6 ones.
    raw_a = draw(valid_configs(dual_stack=False))
    raw_b = draw(valid_configs(dual_stack=False))
    names = draw(st.lists(st.text(min_size=1, max_size=20), min_size=2, max_size=2, unique_by=stack_id))
    a = stack_of(raw_a, names[0])
    b = stack_of(beside(raw_a, raw_b), names[1])
    return a, b


def routes_near(stacks: list[GatewayStack]) -> st.SearchStrategy[list[IPv4Network]]:
    edges = [int(a) for s in stacks for p in s.lab.metallb.pools for r in p.ranges for a in (r.first, r.last)]
    near = st.sampled_from(edges).flatmap(lambda e: st.integers(max(0, e - 3), min(2**32 - 1, e + 3)))
    return st.lists(
        st.tuples(st.one_of(near, st.integers(0, 2**32 - 1)), st.integers(0, 32)).map(
            lambda r: IPv4Network(r, strict=False)
        ),
        min_size=1,
        max_size=20,
    )


def imports_usg(document: dict[str, Any], stack: GatewayStack, route: IPv4Network) -> dict[str, bool]:
    """Per neighbour of ``stack``'s nodes: whether its import route-map lets ``route`` in."""
    (instance,) = document["protocols"]["bgp"].values()
    route_maps, result = document["policy"]["route-map"], {}
    for node in stack.lab.peering_nodes:
        neighbor = instance["neighbor"][str(node.address)]
        maps = neighbor["route-map"]
        assert route_maps[maps["export"]]["rule"] == {"10": {"action": "deny"}}
        (rule,) = route_maps[maps["import"]]["rule"].values()
        assert rule["action"] == "permit"
        prefix_list = rule["match"]["ip"]["address"]["prefix-list"]
        result[str(node.address)] = permits(usg_prefix_list(document, prefix_list), route)
    return result


_PEER = re.compile(r" neighbor (?P<node>[\d.]+) peer-group (?P<group>\S+)")
_MAP = re.compile(r"  neighbor (?P<group>\S+) route-map (?P<map>\S+) (?P<direction>in|out)")


def imports_frr(text: str, stack: GatewayStack, route: IPv4Network) -> dict[str, bool]:
    """Per neighbour of ``stack``'s nodes: its group's in-map's prefix-list applied to ``route``."""
    lines = text.splitlines()
    groups = {m["node"]: m["group"] for line in lines if (m := _PEER.fullmatch(line))}
    maps = {(m["group"], m["direction"]): m["map"] for line in lines if (m := _MAP.fullmatch(line))}
    result = {}
    for node in stack.lab.peering_nodes:
        group = groups[str(node.address)]
        in_map, out_map = maps[(group, "in")], maps[(group, "out")]
        assert f"route-map {out_map} deny 10\nexit\n" in text
        found = re.search(
            rf"^route-map {re.escape(in_map)} permit 10\n match ip address prefix-list (\S+)\nexit$", text, re.M
        )
        assert found is not None
        result[str(node.address)] = permits(frr_prefix_list(text, found[1]), route)
    return result


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.data())
def test_compatible_pairs_compose_and_each_stacks_routes_come_only_from_its_own_nodes(data: st.DataObject) -> None:
    a, b = data.draw(compatible_pairs())
    assert shared_gateway_conflicts([a, b]) == []
    files = compose_gateway_files([a, b])
    assert compose_gateway_files([b, a]) == files
    routes = data.draw(routes_near([a, b]))
    if a.lab.gateway.kind is GatewayKind.USG:
        document = json.loads(files[CONFIG_GATEWAY_JSON])
        neighbours = document.get("protocols", {}).get("bgp", {})
        assert sum(len(i["neighbor"]) for i in neighbours.values()) == len(a.lab.peering_nodes) + len(
            b.lab.peering_nodes
        )
        if USG_SCHEMA.exists():
            assert schema_errors(document) == []

        def imports(stack: GatewayStack, route: IPv4Network) -> dict[str, bool]:
            return imports_usg(document, stack, route)
    else:
        text = files[BGPD_CONF]
        assert sum(line.startswith("router bgp ") for line in text.splitlines()) == 1
        # FRR's parser and daemon on it; an encrypted password's placeholder is not FRR's to read.
        real = text.replace("<encrypted: metallb-unifi:bgp.password>", "encrypted-in-the-stack-file")
        with tempfile.TemporaryDirectory() as scratch:
            if VTYSH is not None:
                checked = vtysh_check(real, Path(scratch))
                assert checked.returncode == 0, checked.stdout + checked.stderr
            if BGPD is not None:
                assert bgpd_refusals(real, Path(scratch)) == []
        # Filter, groups, IPv4 family, and the IPv6 family for a stack that peers over IPv6.
        assert len(parts(text, a.id)) == 3 + a.lab.bgp_v6 and len(parts(text, b.id)) == 3 + b.lab.bgp_v6
        records = json.loads(files[DNS_RECORDS])
        assert len(records) == len({(r["key"], r["record_type"]) for r in records})

        def imports(stack: GatewayStack, route: IPv4Network) -> dict[str, bool]:
            return imports_frr(text, stack, route)

    for stack in (a, b):
        for route in routes:
            wanted = inside_a_pool(stack.lab, route)
            assert set(imports(stack, route).values()) <= {wanted}, (stack, route)
        # The other stack's pool addresses are never taken from this stack's nodes.
        other = b if stack is a else a
        for pool in other.lab.bgp_pools:
            route = IPv4Network((pool.ranges[0].first, 32))
            assert not any(imports(stack, route).values())


INJECTIONS = ("asn", "routerId", "kind", "pool", "node", "name", "stack")


@pytest.mark.parametrize("injection", INJECTIONS)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_conflicting_pairs_are_refused_naming_both(injection: str, data: st.DataObject) -> None:
    raw_a = data.draw(valid_configs(dual_stack=False))  # as in compatible_pairs
    raw_b = data.draw(valid_configs(dual_stack=False))
    names = data.draw(st.lists(st.text(min_size=1, max_size=20), min_size=2, max_size=2, unique_by=stack_id))
    a_base = int(IPv4Network(raw_a["nodes"][0]["address"] + "/24", strict=False).network_address)
    b_base = int(IPv4Network(raw_b["nodes"][0]["address"] + "/24", strict=False).network_address)
    if injection == "node":
        # B's nodes in A's network, its first node on A's first node's address.
        raw = beside(
            raw_a,
            raw_b,
            lambda address: (
                IPv4Address(a_base + int(address) - b_base) if int(address) - b_base in range(256) else None
            ),
        )
        raw.pop("nodeSubnet", None)
        raw["nodes"][0]["address"] = raw_a["nodes"][0]["address"]
    else:
        raw = beside(raw_a, raw_b)
    expected = {
        "asn": "metallb-unifi:gateway.asn: ",
        "routerId": "metallb-unifi:gateway.routerId: ",
        "kind": "metallb-unifi:gateway.kind: ",
        "pool": "of stack",
        "node": "metallb-unifi:nodes[",
        "name": "the name ",
        "stack": "stack: ",
    }[injection]
    if injection == "asn":
        raw["gateway"]["asn"] = raw_a["gateway"]["asn"] % 4294967295 + 1
    elif injection == "routerId":
        raw["gateway"]["routerId"] = "10.255.255.2"
    elif injection == "kind":
        raw["gateway"]["kind"] = "usg" if raw["gateway"]["kind"] == "unifi-os" else "unifi-os"
        raw["gateway"].pop("maximumPaths", None)
        raw["gateway"].pop("dnsTtl", None)
        raw.get("bgp", {}).pop("bfd", None)
    elif injection == "pool":
        first = raw_a["metallb"]["pools"][0]
        raw["metallb"]["pools"].append({"name": "o-copied-pool", "protocol": "bgp", "addresses": first["addresses"]})
        expected = f"{'metallb-unifi:metallb.pools[0].addresses[0]'} of stack"
    elif injection == "name":
        # B declares a service of A's first service's name (both get one), in A's domain.
        raw_a = copy.deepcopy(raw_a)
        service = {"name": "shared", "ports": [{"port": 1}], "selector": {"app": "shared"}}
        raw_a.setdefault("services", [])
        if not raw_a["services"]:
            raw_a["services"].append(service)
        raw.setdefault("services", []).append({**service, "name": raw_a["services"][0]["name"]})
        raw["gateway"]["dnsDomain"] = raw_a["gateway"]["dnsDomain"]
    elif injection == "stack":
        names = [names[0], names[0]]
    try:
        a = stack_of(raw_a, names[0], "a/Pulumi.one.yaml")
        b = stack_of(raw, names[1], "b/Pulumi.two.yaml")
    except ConfigError:
        assume(False)
        raise
    conflicts = shared_gateway_conflicts([b, a])
    assert conflicts
    assert any(expected in conflict for conflict in conflicts), (expected, conflicts)
    for conflict in conflicts:
        assert "(a/Pulumi.one.yaml)" in conflict and "(b/Pulumi.two.yaml)" in conflict, conflict
    with pytest.raises(SharedGatewayConflict):
        compose_gateway_files([a, b])


def test_compatible_pairs_can_be_drawn_of_both_kinds() -> None:
    # The pair strategy is not vacuous: both kinds are drawn and compose.
    seen: set[GatewayKind] = set()

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(compatible_pairs())
    def draw(pair: tuple[GatewayStack, GatewayStack]) -> None:
        seen.add(pair[0].lab.gateway.kind)
        compose_gateway_files(list(pair))

    draw()
    assert seen == {GatewayKind.USG, GatewayKind.UNIFI_OS}


def test_copy_is_not_shared() -> None:
    # beside() must not change the configs it is given (hypothesis reuses them).
    raw_a, raw_b = raw_of("lab"), raw_of("lab-test")
    before = copy.deepcopy((raw_a, raw_b))
    beside(raw_a, raw_b)
    assert (raw_a, raw_b) == before
