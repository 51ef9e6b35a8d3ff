"""Validation of the stack config: one test per rule, each checking the exact key path of the
problem and a distinctive part of its message; every problem reported at once; the example
stacks; and reading a stack's config from Pulumi.yaml and Pulumi.<stack>.yaml."""

from __future__ import annotations

import copy
from collections.abc import Callable
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import pytest

from components.config.errors import ConfigError, Problem
from components.config.model import GatewayKind, Lab, SpeakerMode
from components.config.parse import parse_lab
from components.config.stack_files import read_stack_config

ROOT = Path(__file__).resolve().parents[2]
NS = "metallb-unifi"
DROP = object()  # an edit that deletes the key

PathT = tuple[str | int, ...]


# --- helpers ----------------------------------------------------------------------------------


def usg_lab() -> dict[str, Any]:
    """A valid lab: MetalLB v0.15.3 (native) over eBGP (64513 → 64512) with a USG."""
    return {
        "nodes": [
            {"name": "cp1", "address": "10.20.0.10"},
            {"name": "node1", "address": "10.20.0.11"},
            {"name": "node2", "address": "10.20.0.12"},
        ],
        "metallb": {
            "version": "v0.15.3",
            "asn": 64513,
            "pools": [
                {"name": "routed", "protocol": "bgp", "addresses": ["10.20.10.0/24"]},
                {"name": "lan", "protocol": "layer2", "addresses": ["10.20.0.200-10.20.0.220"]},
            ],
        },
        "gateway": {"kind": "usg", "asn": 64512, "peerAddress": "192.168.1.1", "dnsDomain": "lab.home"},
        "services": [
            {
                "name": "grafana",
                "namespace": "monitoring",
                "address": "10.20.10.10",
                "ports": [{"port": 80, "targetPort": 3000}],
                "selector": {"app": "grafana"},
            },
            {
                "name": "registry",
                "namespace": "registry",
                "ports": [{"port": 443, "targetPort": 5000}],
                "selector": {"app": "registry"},
            },
        ],
    }


def unifi_lab() -> dict[str, Any]:
    """The same lab behind a UniFi OS gateway, MetalLB in frr-k8s mode."""
    raw = usg_lab()
    raw["gateway"]["kind"] = "unifi-os"
    raw["metallb"]["mode"] = "frr-k8s"
    return raw


BASES: dict[str, Callable[[], dict[str, Any]]] = {"usg": usg_lab, "unifi-os": unifi_lab}


def edit(raw: dict[str, Any], path: PathT, value: Any) -> dict[str, Any]:
    """Set (or with DROP delete) the value at ``path``, creating missing objects on the way."""
    target: Any = raw
    for part in path[:-1]:
        if isinstance(part, str) and part not in target:
            target[part] = {}
        target = target[part]
    if value is DROP:
        del target[path[-1]]
    elif isinstance(target, list) and path[-1] == len(target):
        target.append(copy.deepcopy(value))
    else:
        target[path[-1]] = copy.deepcopy(value)
    return raw


def edited(base: str, *edits: tuple[PathT, Any]) -> dict[str, Any]:
    raw = BASES[base]()
    for path, value in edits:
        edit(raw, path, value)
    return raw


def problems_of(raw: dict[str, Any], read_file: Callable[[str], str] | None = None) -> tuple[Problem, ...]:
    with pytest.raises(ConfigError) as caught:
        parse_lab(raw, read_file=read_file)
    problems = caught.value.problems
    assert problems, "a ConfigError must carry its problems"
    for problem in problems:
        assert problem.key.startswith(f"{NS}:"), problem
    return problems


def assert_problem(
    raw: dict[str, Any], key: str, fragment: str, read_file: Callable[[str], str] | None = None
) -> tuple[Problem, ...]:
    problems = problems_of(raw, read_file)
    listing = "\n".join(f"  {p}" for p in problems)
    assert any(p.key == key for p in problems), f"no problem at {key}; got:\n{listing}"
    assert any(p.key == key and fragment in p.message for p in problems), (
        f"no problem at {key} saying {fragment!r}; got:\n{listing}"
    )
    return problems


def k(path: str) -> str:
    return f"{NS}:{path}"


def test_the_base_labs_are_valid() -> None:
    for base in BASES.values():
        lab = parse_lab(base())
        assert lab.warnings == ()


# --- one rule each: (base, edits, key, fragment) -------------------------------------------------

Case = tuple[str, list[tuple[PathT, Any]], str, str]


def _cases(cases: dict[str, Case]) -> Any:
    return pytest.mark.parametrize(("base", "edits", "key", "fragment"), list(cases.values()), ids=list(cases.keys()))


MALFORMED_ADDRESSES: dict[str, Case] = {
    "node address": (
        "usg",
        [(("nodes", 1, "address"), "10.20.0.300")],
        "nodes[1].address",
        "'10.20.0.300' is not an IPv4 address (expected e.g. 192.168.1.1)",
    ),
    "node address not a string": (
        "usg",
        [(("nodes", 1, "address"), 168034315)],
        "nodes[1].address",
        "must be an IPv4 address like 192.168.1.1, got a number",
    ),
    "peer address": (
        "usg",
        [(("gateway", "peerAddress"), "192.168.1")],
        "gateway.peerAddress",
        "'192.168.1' is not an IPv4 address",
    ),
    "router id": (
        "usg",
        [(("gateway", "routerId"), "192.168.1.256")],
        "gateway.routerId",
        "'192.168.1.256' is not an IPv4 address",
    ),
    "service address": (
        "usg",
        [(("services", 0, "address"), "10.20.10.x")],
        "services[0].address",
        "'10.20.10.x' is not an IPv4 address",
    ),
    "range with a bad end": (
        "usg",
        [(("metallb", "pools", 0, "addresses", 0), "10.20.10.10-10.20.10")],
        "metallb.pools[0].addresses[0]",
        "'10.20.10.10-10.20.10' is not a range of two IPv4 addresses 'first-last'",
    ),
    "range backwards": (
        "usg",
        [(("metallb", "pools", 0, "addresses", 0), "10.20.10.20-10.20.10.10")],
        "metallb.pools[0].addresses[0]",
        "is backwards: 10.20.10.20 comes after 10.20.10.10",
    ),
    "range is a single address": (
        "usg",
        [(("metallb", "pools", 0, "addresses", 0), "10.20.10.5")],
        "metallb.pools[0].addresses[0]",
        "is neither a CIDR nor a range; a single address is written 10.20.10.5/32",
    ),
    "CIDR with host bits": (
        "usg",
        [(("metallb", "pools", 0, "addresses", 0), "10.20.10.1/24")],
        "metallb.pools[0].addresses[0]",
        "has host bits set; did you mean 10.20.10.0/24?",
    ),
    "CIDR prefix too long": (
        "usg",
        [(("metallb", "pools", 0, "addresses", 0), "10.20.10.0/33")],
        "metallb.pools[0].addresses[0]",
        "'10.20.10.0/33' is not an IPv4 CIDR network",
    ),
    "addresses not a list": (
        "usg",
        [(("metallb", "pools", 0, "addresses"), "10.20.10.0/24")],
        "metallb.pools[0].addresses",
        "must be a list, got a string",
    ),
    "nodeSubnet without a prefix": (
        "usg",
        [(("nodeSubnet",), "10.20.0.0")],
        "nodeSubnet",
        "must be an IPv4 network in CIDR form like 10.10.0.0/24",
    ),
    "nodeSubnet with host bits": (
        "usg",
        [(("nodeSubnet",), "10.20.0.1/24")],
        "nodeSubnet",
        "has host bits set; did you mean 10.20.0.0/24?",
    ),
}


@_cases(MALFORMED_ADDRESSES)
def test_malformed_addresses_ranges_and_networks(base, edits, key, fragment):
    assert_problem(edited(base, *edits), k(key), fragment)


POOL_CONFLICTS: dict[str, Case] = {
    "overlaps another pool": (
        "usg",
        [(("metallb", "pools", 2), {"name": "more", "protocol": "bgp", "addresses": ["10.20.10.128/25"]})],
        "metallb.pools[0].addresses[0]",
        "10.20.10.0/24 overlaps with pool 'more' (10.20.10.128/25); pools must not share addresses",
    ),
    "overlaps within its pool": (
        "usg",
        [(("metallb", "pools", 0, "addresses"), ["10.20.10.0/25", "10.20.10.100-10.20.10.110"])],
        "metallb.pools[0].addresses[0]",
        "overlaps within the same pool (10.20.10.100-10.20.10.110)",
    ),
    "contains a node": (
        "usg",
        [(("metallb", "pools", 1, "addresses"), ["10.20.0.5-10.20.0.20"])],
        "metallb.pools[1].addresses[0]",
        "10.20.0.5-10.20.0.20 contains 10.20.0.10, node cp1's address",
    ),
    "contains the peer address": (
        "usg",
        [(("metallb", "pools", 0, "addresses"), ["192.168.1.0/24"])],
        "metallb.pools[0].addresses[0]",
        "192.168.1.0/24 contains 192.168.1.1, the gateway's peerAddress",
    ),
    "contains the router id": (
        "usg",
        [(("gateway", "routerId"), "10.20.10.1")],
        "metallb.pools[0].addresses[0]",
        "10.20.10.0/24 contains 10.20.10.1, the gateway's routerId",
    ),
    "duplicate pool name": (
        "usg",
        [(("metallb", "pools", 1, "name"), "routed")],
        "metallb.pools[1].name",
        "duplicate pool name 'routed' (also at metallb-unifi:metallb.pools[0].name)",
    ),
}


@_cases(POOL_CONFLICTS)
def test_pools_must_not_overlap_or_contain_nodes_or_the_gateway(base, edits, key, fragment):
    assert_problem(edited(base, *edits), k(key), fragment)


SERVICE_ADDRESSES: dict[str, Case] = {
    "outside every pool": (
        "usg",
        [(("services", 0, "address"), "10.20.11.5")],
        "services[0].address",
        "10.20.11.5 is outside every pool",
    ),
    "outside its chosen pool": (
        "usg",
        [(("services", 0, "pool"), "lan")],
        "services[0].address",
        "10.20.10.10 is outside pool 'lan'",
    ),
    "chosen pool does not exist": (
        "usg",
        [(("services", 0, "pool"), "nope")],
        "services[0].pool",
        "no pool named 'nope'; pools: lan, routed",
    ),
    "pinned twice": (
        "usg",
        [(("services", 1, "address"), "10.20.10.10")],
        "services[1].address",
        "10.20.10.10 is also pinned by metallb-unifi:services[0]; to share one address, "
        "give every such service the same sharedIP key",
    ),
    "pinned twice with different sharedIP keys": (
        "usg",
        [
            (("services", 0, "sharedIP"), "one"),
            (("services", 1, "sharedIP"), "two"),
            (("services", 1, "address"), "10.20.10.10"),
        ],
        "services[1].address",
        "10.20.10.10 is also pinned by metallb-unifi:services[0]",
    ),
    "pinned twice, only one with sharedIP": (
        "usg",
        [(("services", 0, "sharedIP"), "one"), (("services", 1, "address"), "10.20.10.10")],
        "services[1].address",
        "give every such service the same sharedIP key",
    ),
    "shared address, same port": (
        "usg",
        [
            (("services", 0, "sharedIP"), "web"),
            (("services", 1, "sharedIP"), "web"),
            (("services", 1, "address"), "10.20.10.10"),
            (("services", 1, "ports"), [{"port": 80}]),
        ],
        "services[1].ports",
        "shares 10.20.10.10 with metallb-unifi:services[0] but both use 80/TCP",
    ),
    "no pool assigns automatically": (
        "usg",
        [(("metallb", "pools", 0, "autoAssign"), False), (("metallb", "pools", 1, "autoAssign"), False)],
        "services[1].address",
        "no pool assigns addresses automatically (autoAssign: false everywhere)",
    ),
}


@_cases(SERVICE_ADDRESSES)
def test_pinned_service_addresses(base, edits, key, fragment):
    assert_problem(edited(base, *edits), k(key), fragment)


def test_services_may_share_an_address_with_the_same_shared_ip_key_and_distinct_ports() -> None:
    raw = edited(
        "usg",
        (("services", 0, "sharedIP"), "web"),
        (("services", 1, "sharedIP"), "web"),
        (("services", 1, "address"), "10.20.10.10"),
    )
    lab = parse_lab(raw)
    assert lab.services[0].address == lab.services[1].address
    assert {s.shared_ip_key for s in lab.services} == {"web"}


HOST_NAMES: dict[str, Case] = {
    "duplicate service name": (
        "usg",
        [(("services", 1, "name"), "grafana")],
        "services[1].name",
        "duplicate service name 'grafana'",
    ),
    "alias is another service's name": (
        "usg",
        [(("services", 1, "aliases"), ["grafana"])],
        "services[1].aliases[0]",
        "host name 'grafana' is already used by metallb-unifi:services[0].name",
    ),
    "alias is another service's name.domain": (
        "usg",
        [(("services", 1, "aliases"), ["grafana.lab.home"])],
        "services[1].aliases[0]",
        "host name 'grafana.lab.home' is already used by metallb-unifi:services[0].name",
    ),
    "alias is another service's alias": (
        "usg",
        [(("services", 0, "aliases"), ["dash"]), (("services", 1, "aliases"), ["dash"])],
        "services[1].aliases[0]",
        "host name 'dash' is already used by metallb-unifi:services[0].aliases[0]",
    ),
    "alias repeated in one service": (
        "usg",
        [(("services", 0, "aliases"), ["dash", "dash"])],
        "services[0].aliases[1]",
        "host name 'dash' is already used by metallb-unifi:services[0].aliases[0]",
    ),
    "alias is the service's own name": (
        "usg",
        [(("services", 0, "aliases"), ["grafana"])],
        "services[0].aliases[0]",
        "host name 'grafana' is already this service's name",
    ),
    "same Kubernetes Service twice": (
        "usg",
        [(("services", 1, "namespace"), "monitoring"), (("services", 1, "serviceName"), "grafana")],
        "services[1].serviceName",
        "Service monitoring/grafana is already configured by metallb-unifi:services[0]",
    ),
    "duplicate node name": (
        "usg",
        [(("nodes", 1, "name"), "cp1")],
        "nodes[1].name",
        "duplicate node name 'cp1' (also at metallb-unifi:nodes[0].name)",
    ),
    "duplicate node address": (
        "usg",
        [(("nodes", 2, "address"), "10.20.0.10")],
        "nodes[2].address",
        "duplicate node address '10.20.0.10' (also at metallb-unifi:nodes[0].address)",
    ),
    # The duplicate is named by its place in the list, even after an invalid item.
    "duplicate node name after an invalid node": (
        "usg",
        [(("nodes", 0, "address"), "not-an-ip"), (("nodes", 2, "name"), "node1")],
        "nodes[2].name",
        "duplicate node name 'node1' (also at metallb-unifi:nodes[1].name)",
    ),
    "duplicate port after an invalid port": (
        "usg",
        [
            (("services", 0, "ports"), [{"port": 0}, {"name": "a", "port": 80}, {"name": "b", "port": 80}]),
        ],
        "services[0].ports[2].port",
        "duplicate port '80/TCP' (also at metallb-unifi:services[0].ports[1].port)",
    ),
}


@_cases(HOST_NAMES)
def test_duplicate_names(base, edits, key, fragment):
    assert_problem(edited(base, *edits), k(key), fragment)


LABEL_RULE = "1-63 lowercase letters, digits or '-', starting and ending with a letter or digit"

DNS_NAMES: dict[str, Case] = {
    "uppercase service name": (
        "usg",
        [(("services", 0, "name"), "Grafana")],
        "services[0].name",
        f"'Grafana' is not a host name label: {LABEL_RULE}",
    ),
    "service name starts with '-'": (
        "usg",
        [(("services", 0, "name"), "-grafana")],
        "services[0].name",
        "'-grafana' is not a host name label",
    ),
    "service name with '_'": (
        "usg",
        [(("services", 0, "name"), "graf_ana")],
        "services[0].name",
        "'graf_ana' is not a host name label",
    ),
    "service name with a dot": (
        "usg",
        [(("services", 0, "name"), "graf.ana")],
        "services[0].name",
        "'graf.ana' is not a host name label",
    ),
    "service name of 64 characters": (
        "usg",
        [(("services", 0, "name"), "a" * 64)],
        "services[0].name",
        "is not a host name label",
    ),
    "service name not a string": (
        "usg",
        [(("services", 0, "name"), 42)],
        "services[0].name",
        "must be a non-empty string, got a number",
    ),
    "alias with '_'": (
        "usg",
        [(("services", 0, "aliases"), ["bad_alias"])],
        "services[0].aliases[0]",
        "'bad_alias' is not a DNS name: dot-separated labels",
    ),
    "alias with an empty label": (
        "usg",
        [(("services", 0, "aliases"), ["ok..double"])],
        "services[0].aliases[0]",
        "'ok..double' is not a DNS name",
    ),
    "uppercase domain": (
        "usg",
        [(("gateway", "dnsDomain"), "Lab.Home")],
        "gateway.dnsDomain",
        "'Lab.Home' is not a DNS name",
    ),
    "node name": (
        "usg",
        [(("nodes", 0, "name"), "Node_1")],
        "nodes[0].name",
        f"'Node_1' is not a node name: {LABEL_RULE}",
    ),
    "host name longer than 253": (
        "usg",
        [(("services", 0, "name"), "s" * 63), (("gateway", "dnsDomain"), ".".join(["d" * 63] * 3))],
        "services[0].name",
        "is longer than 253 characters",
    ),
}


@_cases(DNS_NAMES)
def test_host_names_must_be_dns_names(base, edits, key, fragment):
    assert_problem(edited(base, *edits), k(key), fragment)


ASNS: dict[str, Case] = {
    "metallb asn 0": ("usg", [(("metallb", "asn"), 0)], "metallb.asn", "0 is out of range: allowed 1..4294967295"),
    "metallb asn negative": (
        "usg",
        [(("metallb", "asn"), -1)],
        "metallb.asn",
        "-1 is out of range: allowed 1..4294967295",
    ),
    "gateway asn 2**32": (
        "usg",
        [(("gateway", "asn"), 2**32)],
        "gateway.asn",
        "4294967296 is out of range: allowed 1..4294967295 (an AS number)",
    ),
    "asn as text": (
        "usg",
        [(("gateway", "asn"), "sixty-four")],
        "gateway.asn",
        "must be a whole number (an AS number), got a string 'sixty-four'",
    ),
    "asn as a boolean": ("usg", [(("metallb", "asn"), True)], "metallb.asn", "must be a whole number"),
    "asn as a fraction": ("usg", [(("metallb", "asn"), 64512.5)], "metallb.asn", "must be a whole number"),
}


@_cases(ASNS)
def test_asns_must_be_in_range(base, edits, key, fragment):
    assert_problem(edited(base, *edits), k(key), fragment)


@pytest.mark.parametrize(
    ("asn", "warned"),
    [
        (64512, False),
        (65534, False),
        (4200000000, False),
        (4294967294, False),
        (1, True),
        (65001 - 1000, True),
        (65535, True),
        (4294967295, True),
    ],
)
def test_a_public_asn_is_a_warning_not_an_error(asn: int, warned: bool) -> None:
    lab = parse_lab(edited("usg", (("metallb", "asn"), asn)))
    expected = f"{k('metallb.asn')}: AS {asn} is not a private AS number (64512-65534 or 4200000000-4294967294)"
    if warned:
        assert len(lab.warnings) == 1
        assert lab.warnings[0].startswith(expected)
    else:
        assert lab.warnings == ()


UNKNOWN_KEYS: dict[str, Case] = {
    "nodes[0]": (
        "usg",
        [(("nodes", 0, "adress"), "10.20.0.10")],
        "nodes[0].adress",
        "unknown key; did you mean 'address'? allowed keys: address, labels, name",
    ),
    "metallb": ("usg", [(("metallb", "verison"), "v0.15.3")], "metallb.verison", "did you mean 'version'?"),
    "metallb.pools[1]": (
        "usg",
        [(("metallb", "pools", 1, "autoAsign"), False)],
        "metallb.pools[1].autoAsign",
        "did you mean 'autoAssign'?",
    ),
    "bgp": ("usg", [(("bgp", "holdtime"), "90s")], "bgp.holdtime", "did you mean 'holdTime'?"),
    "bgp.nodeSelectors[0]": (
        "usg",
        [(("bgp", "nodeSelectors"), [{"matchLabels": {"kubernetes.io/hostname": "cp1"}, "matchLabel": {}}])],
        "bgp.nodeSelectors[0].matchLabel",
        "did you mean 'matchLabels'?",
    ),
    "bgp.nodeSelectors[0].matchExpressions[0]": (
        "usg",
        [
            (
                ("bgp", "nodeSelectors"),
                [{"matchExpressions": [{"key": "zone", "operator": "Exists", "operater": "In"}]}],
            )
        ],
        "bgp.nodeSelectors[0].matchExpressions[0].operater",
        "did you mean 'operator'?",
    ),
    "bgp.bfd": (
        "unifi-os",
        [(("bgp", "bfd"), {"detectMultiplyer": 3})],
        "bgp.bfd.detectMultiplyer",
        "did you mean 'detectMultiplier'?",
    ),
    "gateway": (
        "usg",
        [(("gateway", "dnsdomain"), "lab.home")],
        "gateway.dnsdomain",
        "did you mean 'dnsDomain'?",
    ),
    "services[0]": (
        "usg",
        [(("services", 0, "aliasses"), ["dash"])],
        "services[0].aliasses",
        "did you mean 'aliases'?",
    ),
    "services[0].ports[0]": (
        "usg",
        [(("services", 0, "ports", 0, "targetport"), 3000)],
        "services[0].ports[0].targetport",
        "did you mean 'targetPort'?",
    ),
    "top level": (
        "usg",
        [(("metalb",), {})],
        "metalb",
        "unknown key; did you mean 'metallb-unifi:metallb'? allowed keys: metallb-unifi:nodes",
    ),
    "top level, no close key": ("usg", [(("zzz",), 1)], "zzz", "unknown key; allowed keys: metallb-unifi:nodes"),
    "bgp.peerPort (usg)": ("usg", [(("bgp", "peerPort"), 1179)], "bgp.peerPort", "unknown key"),
    "bgp.peerPort (unifi-os)": ("unifi-os", [(("bgp", "peerPort"), 1179)], "bgp.peerPort", "unknown key"),
}


@_cases(UNKNOWN_KEYS)
def test_unknown_keys_are_errors_at_every_level(base, edits, key, fragment):
    assert_problem(edited(base, *edits), k(key), fragment)


def test_an_unknown_top_level_key_suggests_the_close_key() -> None:
    assert_problem(edited("usg", (("service",), [])), k("service"), "did you mean 'metallb-unifi:services'?")


SUPPORTED = "supported: v0.12.1, v0.13.2–v0.13.12, v0.14.0–v0.14.9, v0.15.0–v0.15.3, v0.16.0–v0.16.1"


@pytest.mark.parametrize("version", ["v0.13.1", "v0.13.13", "v0.11.0", "v0.17.0", "v1.0.0", "v0.15", "latest", "main"])
def test_an_unknown_metallb_version_is_an_error(version: str) -> None:
    assert_problem(
        edited("usg", (("metallb", "version"), version)),
        k("metallb.version"),
        f"'{version}' is not a supported MetalLB release; {SUPPORTED}",
    )


@pytest.mark.parametrize(
    ("written", "parsed"), [("v0.13.2", "v0.13.2"), ("0.14.0", "v0.14.0"), (" v0.16.1 ", "v0.16.1")]
)
def test_known_metallb_versions_parse(written: str, parsed: str) -> None:
    assert str(parse_lab(edited("usg", (("metallb", "version"), written))).metallb.version) == parsed


def test_a_version_that_is_not_a_string_is_an_error() -> None:
    assert_problem(
        edited("usg", (("metallb", "version"), 0.15)), k("metallb.version"), "must be a non-empty string, got a number"
    )


REQUIRED = "is required but missing"

MISSING_KEYS: dict[str, Case] = {
    **{f"top-level {name}": ("usg", [((name,), DROP)], name, REQUIRED) for name in ("nodes", "metallb", "gateway")},
    **{
        f"metallb.{name}": ("usg", [(("metallb", name), DROP)], f"metallb.{name}", REQUIRED)
        for name in ("version", "asn", "pools")
    },
    **{
        f"pools[0].{name}": ("usg", [(("metallb", "pools", 0, name), DROP)], f"metallb.pools[0].{name}", REQUIRED)
        for name in ("name", "protocol", "addresses")
    },
    **{
        f"nodes[0].{name}": ("usg", [(("nodes", 0, name), DROP)], f"nodes[0].{name}", REQUIRED)
        for name in ("name", "address")
    },
    **{
        f"gateway.{name}": ("usg", [(("gateway", name), DROP)], f"gateway.{name}", REQUIRED)
        for name in ("kind", "asn", "peerAddress", "dnsDomain")
    },
    "services[0].name": ("usg", [(("services", 0, "name"), DROP)], "services[0].name", REQUIRED),
    "ports[0].port": ("usg", [(("services", 0, "ports", 0, "port"), DROP)], "services[0].ports[0].port", REQUIRED),
    "matchExpressions[0].operator": (
        "usg",
        [(("bgp", "nodeSelectors"), [{"matchExpressions": [{"key": "zone"}]}])],
        "bgp.nodeSelectors[0].matchExpressions[0].operator",
        REQUIRED,
    ),
    "null counts as missing": ("usg", [(("gateway", "kind"), None)], "gateway.kind", REQUIRED),
    "services[0].ports of a created Service": (
        "usg",
        [(("services", 0, "ports"), DROP)],
        "services[0].ports",
        "is required for a Service this program creates (existing: false)",
    ),
    "services[0].selector of a created Service": (
        "usg",
        [(("services", 0, "selector"), DROP)],
        "services[0].selector",
        "is required for a Service this program creates (existing: false)",
    ),
    "no nodes": ("usg", [(("nodes",), [])], "nodes", "must not be empty"),
    "no pools": ("usg", [(("metallb", "pools"), [])], "metallb.pools", "must not be empty"),
}


@_cases(MISSING_KEYS)
def test_missing_required_keys(base, edits, key, fragment):
    assert_problem(edited(base, *edits), k(key), fragment)


INEXPRESSIBLE: dict[str, Case] = {
    "ebgpMultiHop in native mode": (
        "usg",
        [(("bgp", "ebgpMultiHop"), True)],
        "bgp.ebgpMultiHop",
        "is an FRR-mode feature (native MetalLB always allows multihop); set metallb.mode to frr or frr-k8s",
    ),
    "bfd in native mode": (
        "unifi-os",
        [(("metallb", "mode"), "native"), (("bgp", "bfd"), {"detectMultiplier": 3})],
        "bgp.bfd",
        "BFD needs MetalLB's FRR mode; set metallb.mode to frr or frr-k8s",
    ),
    "keepaliveTime in native mode": (
        "unifi-os",
        [(("metallb", "mode"), "native"), (("bgp", "holdTime"), "9s"), (("bgp", "keepaliveTime"), "3s")],
        "bgp.keepaliveTime",
        "native MetalLB refuses keepalive-time (FRR modes only)",
    ),
    "frr-k8s on v0.13.12": (
        "unifi-os",
        [(("metallb", "version"), "v0.13.12")],
        "metallb.mode",
        "frr-k8s mode needs MetalLB v0.14.0 or later, not v0.13.12",
    ),
    "frr-k8s on v0.12.1": (
        "unifi-os",
        [(("metallb", "version"), "v0.12.1")],
        "metallb.mode",
        "frr-k8s mode needs MetalLB v0.14.0 or later, not v0.12.1",
    ),
    "unknown mode": (
        "usg",
        [(("metallb", "mode"), "frr-k9s")],
        "metallb.mode",
        "'frr-k9s' is not allowed; choose one of: native, frr, frr-k8s",
    ),
    "maximumPaths with a USG": (
        "usg",
        [(("gateway", "maximumPaths"), 3)],
        "gateway.maximumPaths",
        "a USG is reported to reject maximum-paths",
    ),
    "dnsTtl with a USG": (
        "usg",
        [(("gateway", "dnsTtl"), 300)],
        "gateway.dnsTtl",
        "a USG's static host names have no TTL; unifi-os gateways only",
    ),
    "baseConfigFile with unifi-os": (
        "unifi-os",
        [(("gateway", "baseConfigFile"), "config.gateway.json")],
        "gateway.baseConfigFile",
        "config.gateway.json exists only for a USG",
    ),
    "bfd with a USG": (
        "usg",
        [(("metallb", "mode"), "frr"), (("bgp", "bfd"), {})],
        "bgp.bfd",
        "a USG has no BFD for BGP; unifi-os gateways only",
    ),
    "maximumPaths out of range": (
        "unifi-os",
        [(("gateway", "maximumPaths"), 0)],
        "gateway.maximumPaths",
        "0 is out of range: allowed 1..64",
    ),
    "unknown gateway kind": (
        "usg",
        [(("gateway", "kind"), "udm")],
        "gateway.kind",
        "'udm' is not allowed; choose one of: usg, unifi-os",
    ),
    "localPref with eBGP": (
        "usg",
        [(("metallb", "pools", 0, "localPref"), 100)],
        "metallb.pools[0].localPref",
        "localPref is only sent to iBGP peers, but metallb.asn 64513 and gateway.asn 64512 differ (eBGP)",
    ),
    "bgp-only option on a layer2 pool": (
        "usg",
        [(("metallb", "pools", 1, "communities"), ["64512:1"])],
        "metallb.pools[1].communities",
        "only applies to bgp pools, this pool is layer2",
    ),
    "malformed community": (
        "usg",
        [(("metallb", "pools", 0, "communities"), ["64512:70000"])],
        "metallb.pools[0].communities[0]",
        "'64512:70000' is not a BGP community; write it as two numbers 0-65535",
    ),
    "aggregationLength out of range": (
        "usg",
        [(("metallb", "pools", 0, "aggregationLength"), 33)],
        "metallb.pools[0].aggregationLength",
        "33 is out of range",
    ),
}


@_cases(INEXPRESSIBLE)
def test_options_the_version_mode_or_gateway_cannot_express(base, edits, key, fragment):
    assert_problem(edited(base, *edits), k(key), fragment)


def test_options_fine_for_their_gateway_and_mode() -> None:
    raw = edited(
        "unifi-os",
        (("gateway", "maximumPaths"), 3),
        (("gateway", "dnsTtl"), 300),
        (("bgp", "bfd"), {"receiveInterval": 300, "transmitInterval": 300, "detectMultiplier": 3}),
        (("bgp", "ebgpMultiHop"), True),
    )
    lab = parse_lab(raw)
    assert lab.gateway.kind is GatewayKind.UNIFI_OS and lab.metallb.mode is SpeakerMode.FRR_K8S
    assert lab.gateway.maximum_paths == 3 and lab.gateway.dns_ttl == 300
    assert lab.bgp.bfd is not None and lab.bgp.bfd.detect_multiplier == 3 and lab.bgp.ebgp_multihop


def test_local_pref_is_fine_with_ibgp() -> None:
    lab = parse_lab(edited("usg", (("metallb", "asn"), 64512), (("metallb", "pools", 0, "localPref"), 100)))
    assert lab.metallb.pools[0].local_pref == 100


MAX_HOLD = "BGP hold time is at most 65535 seconds"
USG_HOLD = "a USG accepts a hold time of 0 or 4-65535 seconds"
METALLB_HOLD = "MetalLB accepts 0 (no keepalives) or at least 3s"


@pytest.mark.parametrize(
    ("kind", "hold", "expected"),
    [
        ("usg", 0, 0),
        ("usg", "0s", 0),
        ("usg", 1, f"1s: {METALLB_HOLD}"),
        ("usg", 3, f"3s: {USG_HOLD}"),
        ("usg", "3s", f"3s: {USG_HOLD}"),
        ("usg", 4, 4),
        ("usg", "1m30s", 90),
        ("usg", "70000s", f"70000s: {USG_HOLD}"),
        ("unifi-os", 0, 0),
        ("unifi-os", 2, f"2s: {METALLB_HOLD}"),
        ("unifi-os", 3, 3),
        ("unifi-os", "3s", 3),
        ("unifi-os", 65535, 65535),
        ("unifi-os", "70000s", f"70000s: {MAX_HOLD}"),
        ("unifi-os", 70000, "70000 is out of range: allowed 0..65535 of seconds"),
        ("unifi-os", "90x", "must be a duration in whole seconds like 90s, 1m30s or 90, got '90x'"),
        ("unifi-os", True, "must be a duration in whole seconds"),
    ],
)
def test_hold_time_limits_of_metallb_and_the_gateway(kind: str, hold: Any, expected: int | str) -> None:
    """``expected``: the hold time in seconds the lab gets, or a fragment of the problem."""
    raw = edited(kind, (("bgp", "holdTime"), hold))
    if isinstance(expected, int):
        assert parse_lab(raw).bgp.hold_time_s == expected
    else:
        assert_problem(raw, k("bgp.holdTime"), expected)


@pytest.mark.parametrize(
    ("hold", "keepalive", "fragment"),
    [
        ("9s", "10s", "10s is longer than holdTime (9s)"),
        ("9s", "1m", "60s is longer than holdTime (9s)"),
        (None, "3s", "needs bgp.holdTime too"),
        ("9s", "3s", None),
    ],
)
def test_keepalive_time_must_not_exceed_the_hold_time(hold: Any, keepalive: Any, fragment: str | None) -> None:
    raw = edited("unifi-os", (("bgp", "keepaliveTime"), keepalive))
    if hold is not None:
        edit(raw, ("bgp", "holdTime"), hold)
    if fragment is None:
        assert parse_lab(raw).bgp.keepalive_time_s == 3
    else:
        assert_problem(raw, k("bgp.keepaliveTime"), fragment)


SUBNETS: dict[str, Case] = {
    "layer2 pool outside the node subnet": (
        "usg",
        [(("metallb", "pools", 1, "addresses"), ["10.20.5.0/28"])],
        "metallb.pools[1].addresses[0]",
        "layer2 pool range 10.20.5.0/28 must lie inside the nodes' subnet 10.20.0.0/24",
    ),
    "layer2 pool across the node subnet's edge": (
        "usg",
        [(("metallb", "pools", 1, "addresses"), ["10.20.0.250-10.20.1.5"])],
        "metallb.pools[1].addresses[0]",
        "must lie inside the nodes' subnet 10.20.0.0/24",
    ),
    "layer2 pool with the broadcast address": (
        "usg",
        [(("metallb", "pools", 1, "addresses"), ["10.20.0.240/28"])],
        "metallb.pools[1].addresses[0]",
        "10.20.0.240/28 contains 10.20.0.255, the broadcast address of 10.20.0.0/24",
    ),
    "bgp pool inside the node subnet": (
        "usg",
        [(("metallb", "pools", 0, "addresses"), ["10.20.0.128/26"])],
        "metallb.pools[0].addresses[0]",
        "bgp pool range 10.20.0.128/26 must lie outside the nodes' subnet 10.20.0.0/24",
    ),
    "bgp pool touching the node subnet": (
        "usg",
        [(("metallb", "pools", 0, "addresses"), ["10.19.255.0-10.20.0.5"])],
        "metallb.pools[0].addresses[0]",
        "must lie outside the nodes' subnet 10.20.0.0/24",
    ),
    "node outside nodeSubnet": (
        "usg",
        [(("nodeSubnet",), "10.20.0.0/29")],
        "nodes[0].address",
        "10.20.0.10 is outside nodeSubnet 10.20.0.0/29",
    ),
    "nodes in two /24s without nodeSubnet": (
        "usg",
        [(("nodes", 2, "address"), "10.20.1.12")],
        "nodeSubnet",
        "the nodes are not all in one /24 (10.20.0.0/24, 10.20.1.0/24); set nodeSubnet to the network",
    ),
    "node is the gateway": (
        "usg",
        [(("gateway", "peerAddress"), "10.20.0.10")],
        "nodes[0].address",
        "10.20.0.10 is also gateway.peerAddress",
    ),
}


@_cases(SUBNETS)
def test_pools_and_nodes_against_the_node_subnet(base, edits, key, fragment):
    assert_problem(edited(base, *edits), k(key), fragment)


def test_every_node_outside_node_subnet_is_reported() -> None:
    problems = problems_of(edited("usg", (("nodeSubnet",), "10.20.0.0/29")))
    outside = {p.key for p in problems if "is outside nodeSubnet" in p.message}
    assert outside == {k("nodes[0].address"), k("nodes[1].address"), k("nodes[2].address")}


def test_node_subnet_may_span_more_than_a_24() -> None:
    lab = parse_lab(edited("usg", (("nodes", 2, "address"), "10.20.1.12"), (("nodeSubnet",), "10.20.0.0/23")))
    assert lab.node_subnet == IPv4Network("10.20.0.0/23")


def test_node_subnet_defaults_to_the_nodes_24() -> None:
    assert parse_lab(usg_lab()).node_subnet == IPv4Network("10.20.0.0/24")


# --- gateway.baseConfigFile (each rejected before the USG renderer is consulted) -----------------


def _reads(text: str) -> Callable[[str], str]:
    def read(path: str) -> str:
        assert path == "base.json"
        return text

    return read


def _unreadable(path: str) -> str:
    raise FileNotFoundError(2, "No such file or directory", path)


@pytest.mark.parametrize(
    ("read_file", "fragment"),
    [
        (_reads("{not json"), "'base.json' is not valid JSON"),
        (_reads("[]"), "'base.json' must hold a JSON object, not a list"),
        (
            _reads('{"protocols": {"bgp": {"64512": {"parameters": {"router-id": 1}}}}}'),
            "'base.json' has a non-string value at protocols.bgp.64512.parameters.router-id; "
            "EdgeOS expects every leaf as a string",
        ),
        (
            _reads('{"protocols": {"bgp": {"65000": {"parameters": {"router-id": "192.168.1.1"}}}}}'),
            "'base.json' already has a BGP instance under AS 65000, but gateway.asn is 64512; "
            "a router runs one BGP instance: set gateway.asn to 65000",
        ),
        (_unreadable, "cannot read 'base.json'"),
        (None, "cannot be read here: no project directory to read it from"),
    ],
    ids=["not JSON", "not an object", "non-string leaf", "BGP under another AS", "unreadable", "no project dir"],
)
def test_a_bad_base_config_gateway_json_is_an_error(read_file: Callable[[str], str] | None, fragment: str) -> None:
    raw = edited("usg", (("gateway", "baseConfigFile"), "base.json"))
    assert_problem(raw, k("gateway.baseConfigFile"), fragment, read_file=read_file)


def test_base_config_file_must_be_a_string() -> None:
    raw = edited("usg", (("gateway", "baseConfigFile"), 5))
    assert_problem(raw, k("gateway.baseConfigFile"), "must be a non-empty string, got a number", read_file=_unreadable)


# --- more rules of single values ------------------------------------------------------------------

MORE: dict[str, Case] = {
    "password with a space": (
        "usg",
        [(("bgp", "password"), "has space")],
        "bgp.password",
        "must be 1-80 printable ASCII characters without spaces, quotes or backslashes",
    ),
    "password too long": ("usg", [(("bgp", "password"), "x" * 81)], "bgp.password", "it is 81 long"),
    "password not a string": ("usg", [(("bgp", "password"), 1234)], "bgp.password", "must be a string"),
    "selector selects no node": (
        "usg",
        [(("bgp", "nodeSelectors"), [{"matchLabels": {"role": "none"}}])],
        "bgp.nodeSelectors",
        "selects no configured node: nothing would peer with the gateway",
    ),
    "empty selector": (
        "usg",
        [(("bgp", "nodeSelectors"), [{}])],
        "bgp.nodeSelectors[0]",
        "an empty selector matches every node",
    ),
    "In without values": (
        "usg",
        [(("bgp", "nodeSelectors"), [{"matchExpressions": [{"key": "zone", "operator": "In"}]}])],
        "bgp.nodeSelectors[0].matchExpressions[0].values",
        "operator In needs at least one value",
    ),
    "label value not a string": (
        "usg",
        [(("nodes", 0, "labels"), {"rack": 1})],
        "nodes[0].labels.rack",
        "label values are strings; quote 1",
    ),
    "existing Service with ports": (
        "usg",
        [(("services", 0, "existing"), True)],
        "services[0].ports",
        "an existing Service keeps its own ports and selector",
    ),
    "second port without a name": (
        "usg",
        [(("services", 0, "ports"), [{"port": 80, "name": "http"}, {"port": 443}])],
        "services[0].ports[1].name",
        "is required when a Service has more than one port",
    ),
    "port twice": (
        "usg",
        [(("services", 0, "ports"), [{"port": 80, "name": "a"}, {"port": 80, "name": "b"}])],
        "services[0].ports[1].port",
        "duplicate port '80/TCP'",
    ),
    "port out of range": (
        "usg",
        [(("services", 0, "ports", 0, "port"), 70000)],
        "services[0].ports[0].port",
        "70000 is out of range: allowed 1..65535",
    ),
    "bad target port name": (
        "usg",
        [(("services", 0, "ports", 0, "targetPort"), "HTTP")],
        "services[0].ports[0].targetPort",
        "'HTTP' is not a port name",
    ),
    "bad traffic policy": (
        "usg",
        [(("services", 0, "externalTrafficPolicy"), "local")],
        "services[0].externalTrafficPolicy",
        "'local' is not allowed; choose one of: Cluster, Local",
    ),
    "services not a list": ("usg", [(("services",), {"grafana": {}})], "services", "must be a list, got an object"),
    "bgp not an object": ("usg", [(("bgp",), [])], "bgp", "must be an object, got a list"),
}


@_cases(MORE)
def test_more_single_value_rules(base, edits, key, fragment):
    assert_problem(edited(base, *edits), k(key), fragment)


def test_an_encrypted_password_is_an_unknown_secret() -> None:
    lab = parse_lab(edited("usg", (("bgp", "password"), {"secure": "v1:AAAAbbbb"})))
    assert lab.bgp.password is not None
    assert lab.bgp.password.value is None and not lab.bgp.password.known
    assert lab.bgp.password.key == k("bgp.password")
    assert "AAAAbbbb" not in repr(lab)


def test_a_password_never_shows_in_repr() -> None:
    lab = parse_lab(edited("usg", (("bgp", "password"), "s3cr3t-Pa55")))
    assert lab.bgp.password is not None and lab.bgp.password.value == "s3cr3t-Pa55"
    assert "s3cr3t" not in repr(lab)


# --- every problem at once ------------------------------------------------------------------------


def test_independent_mistakes_in_every_section_are_all_reported_at_once() -> None:
    raw = edited(
        "usg",
        (("nodes", 1, "address"), "10.20.0.300"),
        (("metallb", "asn"), 0),
        (("metallb", "pools", 0, "addresses", 0), "10.20.10.0/33"),
        (("metallb", "pools", 1, "autoAssign"), "yes"),
        (("gateway", "kind"), "udm"),
        (("gateway", "peerAdress"), "192.168.1.1"),
        (("gateway", "peerAddress"), DROP),
        (("bgp", "holdTime"), "soon"),
        (("services", 0, "name"), "Grafana"),
        (("services", 1, "ports", 0, "port"), 70000),
        (("extra",), True),
    )
    problems = problems_of(raw)
    assert sorted(p.key for p in problems) == sorted(
        k(key)
        for key in (
            "nodes[1].address",
            "metallb.asn",
            "metallb.pools[0].addresses[0]",
            "metallb.pools[1].autoAssign",
            "gateway.kind",
            "gateway.peerAdress",
            "gateway.peerAddress",
            "bgp.holdTime",
            "services[0].name",
            "services[1].ports[0].port",
            "extra",
        )
    )
    assert len(problems) == 11
    report = ConfigError(problems).report()
    assert report.startswith("invalid stack config (11 problems):")


def test_mistakes_found_across_sections_are_all_reported_at_once() -> None:
    raw = edited(
        "usg",
        (("metallb", "pools", 2), {"name": "more", "protocol": "bgp", "addresses": ["10.20.10.128/25"]}),
        (("metallb", "pools", 0, "localPref"), 100),
        (("metallb", "pools", 1, "addresses"), ["10.20.5.0/28"]),
        (("bgp", "holdTime"), 3),
        (("bgp", "ebgpMultiHop"), True),
        (("services", 0, "address"), "10.20.11.5"),
        (("services", 1, "aliases"), ["grafana"]),
    )
    keys = [p.key for p in problems_of(raw)]
    assert sorted(keys) == sorted(
        k(key)
        for key in (
            "metallb.pools[0].addresses[0]",
            "metallb.pools[0].localPref",
            "metallb.pools[1].addresses[0]",
            "bgp.holdTime",
            "bgp.ebgpMultiHop",
            "services[0].address",
            "services[1].aliases[0]",
        )
    )


# --- the example stacks ---------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["lab", "crds", "udm"])
def test_the_example_stacks_parse_without_warnings(stack: str) -> None:
    raw = read_stack_config(ROOT / f"Pulumi.{stack}.yaml")
    lab = parse_lab(raw, read_file=lambda path: (ROOT / path).read_text(encoding="utf-8"))
    assert isinstance(lab, Lab)
    assert lab.warnings == ()


def test_the_example_stacks_say_what_they_claim() -> None:
    lab = parse_lab(read_stack_config(ROOT / "Pulumi.lab.yaml"))
    assert str(lab.metallb.version) == "v0.12.1" and not lab.ebgp and lab.gateway.kind is GatewayKind.USG
    assert lab.pinned_addresses == {"k8s-dashboard": lab.services[0].address}
    crds = parse_lab(read_stack_config(ROOT / "Pulumi.crds.yaml"))
    assert crds.ebgp and [s.name for s in crds.services] == ["grafana", "registry", "dns", "dns-tcp"]
    udm = parse_lab(read_stack_config(ROOT / "Pulumi.udm.yaml"))
    assert udm.gateway.kind is GatewayKind.UNIFI_OS and udm.metallb.mode is SpeakerMode.NATIVE


# --- reading the stack files ----------------------------------------------------------------------

PROJECT = """\
name: metallb-unifi
runtime: python
config:
  metallb-unifi:services:
    default: []
  metallb-unifi:bgp:
    value: {holdTime: 30s, keepaliveTime: 10s}
  nodeSubnet: 10.20.0.0/24
  gateway:
    default: {kind: usg, asn: 64512, peerAddress: 192.168.1.1, dnsDomain: lab.home}
  metallb-unifi:metallb:
    type: object
    description: declared without a default
  aws:region: us-east-1
"""

STACK = """\
config:
  metallb-unifi:nodes:
    - {name: cp1, address: 10.20.0.10}
  metallb-unifi:metallb:
    version: v0.15.3
    asn: 64513
    pools: [{name: routed, protocol: bgp, addresses: ["10.20.10.0/24"]}]
  metallb-unifi:bgp:
    holdTime: 9s
    password:
      secure: v1:c2VjcmV0Y2lwaGVydGV4dA==
  other-project:nodes: ignored
  kubernetes:context: lab
"""


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_stack_values_over_project_defaults(tmp_path: Path) -> None:
    _write(tmp_path, "Pulumi.yaml", PROJECT)
    raw = read_stack_config(_write(tmp_path, "Pulumi.dev.yaml", STACK))
    assert raw == {
        "services": [],  # a project default (metallb-unifi:key with default:)
        "nodeSubnet": "10.20.0.0/24",  # a bare key of this project
        "gateway": {"kind": "usg", "asn": 64512, "peerAddress": "192.168.1.1", "dnsDomain": "lab.home"},
        "nodes": [{"name": "cp1", "address": "10.20.0.10"}],
        "metallb": {
            "version": "v0.15.3",
            "asn": 64513,
            "pools": [{"name": "routed", "protocol": "bgp", "addresses": ["10.20.10.0/24"]}],
        },
        # an object value replaces the default whole: keepaliveTime is not merged in
        "bgp": {"holdTime": "9s", "password": {"secure": "v1:c2VjcmV0Y2lwaGVydGV4dA=="}},
    }


def test_a_secure_value_becomes_an_unknown_secret(tmp_path: Path) -> None:
    _write(tmp_path, "Pulumi.yaml", PROJECT)
    lab = parse_lab(read_stack_config(_write(tmp_path, "Pulumi.dev.yaml", STACK)))
    assert lab.bgp.password is not None
    assert lab.bgp.password.value is None
    assert lab.bgp.password.key == k("bgp.password")
    assert lab.bgp.hold_time_s == 9 and lab.bgp.keepalive_time_s is None


def test_an_explicit_project_file_and_another_project_name(tmp_path: Path) -> None:
    (tmp_path / "stacks").mkdir()
    stack = _write(tmp_path / "stacks", "Pulumi.dev.yaml", "config:\n  metallb-unifi:services: [x]\n")
    project = _write(
        tmp_path,
        "Pulumi.yaml",
        "name: something-else\nconfig:\n  services: {default: []}\n  metallb-unifi:nodeSubnet: 10.0.0.0/24\n",
    )
    # Without the project file (none next to the stack file) only the stack's values count.
    assert read_stack_config(stack) == {"services": ["x"]}
    # Bare keys of a project with another name are not in the metallb-unifi namespace.
    assert read_stack_config(stack, project) == {"nodeSubnet": "10.0.0.0/24", "services": ["x"]}


def test_an_empty_stack_file_has_no_values(tmp_path: Path) -> None:
    assert read_stack_config(_write(tmp_path, "Pulumi.dev.yaml", "")) == {}
    assert read_stack_config(_write(tmp_path, "Pulumi.dev.yaml", "config:\n")) == {}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("config:\n  metallb-unifi:nodes: [a\n", "is not valid YAML"),
        ("config: {metallb-unifi:nodes: [a, b}\n", "is not valid YAML"),
        ("config:\n\tmetallb-unifi:nodes: []\n", "is not valid YAML"),
        ("- config\n", "must be a YAML mapping"),
    ],
)
def test_a_malformed_stack_file_is_a_config_error(tmp_path: Path, text: str, fragment: str) -> None:
    stack = _write(tmp_path, "Pulumi.dev.yaml", text)
    with pytest.raises(ConfigError) as caught:
        read_stack_config(stack)
    [problem] = caught.value.problems
    assert problem.key == str(stack)
    assert fragment in problem.message


def test_a_config_section_that_is_not_a_mapping_is_a_config_error(tmp_path: Path) -> None:
    stack = _write(tmp_path, "Pulumi.dev.yaml", "config: [1, 2]\n")
    with pytest.raises(ConfigError) as caught:
        read_stack_config(stack)
    assert caught.value.problems == (Problem(f"{stack}: config", "must be a mapping of key: value"),)


def test_a_malformed_project_file_is_a_config_error(tmp_path: Path) -> None:
    project = _write(tmp_path, "Pulumi.yaml", "name: metallb-unifi\nconfig: {a: [\n")
    with pytest.raises(ConfigError) as caught:
        read_stack_config(_write(tmp_path, "Pulumi.dev.yaml", "config: {}\n"))
    assert caught.value.problems[0].key == str(project)
    assert "is not valid YAML" in caught.value.problems[0].message


def test_a_missing_stack_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        read_stack_config(tmp_path / "Pulumi.nope.yaml")
    assert "cannot read" in caught.value.problems[0].message


# --- regressions: minimal inputs that once crashed the parser or passed wrongly ------------------

REGRESSIONS: dict[str, Case] = {
    # str.isdigit() accepts '²' and other non-ASCII digits that int() rejects (ValueError).
    "asn '²'": ("usg", [(("metallb", "asn"), "²")], "metallb.asn", "must be a whole number (an AS number)"),
    "asn Ethiopic one": ("usg", [(("gateway", "asn"), "፩")], "gateway.asn", "must be a whole number"),
    "holdTime '²'": ("usg", [(("bgp", "holdTime"), "²")], "bgp.holdTime", "must be a duration in whole seconds"),
    "community '²:1'": (
        "usg",
        [(("metallb", "pools", 0, "communities"), ["²:1"])],
        "metallb.pools[0].communities[0]",
        "is not a BGP community",
    ),
    "targetPort '²'": (
        "usg",
        [(("services", 0, "ports", 0, "targetPort"), "²")],
        "services[0].ports[0].targetPort",
        "'²' is not a port name",
    ),
    # int() of a string, and str() of an int, with more than 4300 digits raise ValueError.
    "asn of 5000 digits": ("usg", [(("metallb", "asn"), "9" * 5000)], "metallb.asn", "must be a whole number"),
    "version of 5000 digits": (
        "usg",
        [(("metallb", "version"), "v0.12." + "1" * 5000)],
        "metallb.version",
        "is not a supported MetalLB release",
    ),
    "holdTime of 5000 digits": (
        "usg",
        [(("bgp", "holdTime"), "1" * 5000 + "s")],
        "bgp.holdTime",
        "must be a duration in whole seconds",
    ),
    "asn 10**5000": ("usg", [(("metallb", "asn"), 10**5000)], "metallb.asn", "is out of range"),
    "protocol 10**5000": (
        "usg",
        [(("metallb", "pools", 0, "protocol"), 10**5000)],
        "metallb.pools[0].protocol",
        "is not allowed; choose one of: bgp, layer2",
    ),
    # targetPort: null made the port invalid without a problem; parse_lab then failed an assert.
    "targetPort null": (
        "usg",
        [(("services", 0, "ports", 0, "targetPort"), None)],
        "services[0].ports[0].targetPort",
        "has no value",
    ),
    # The name patterns ended in '$', which also matches before a trailing newline.
    "alias with a newline": (
        "usg",
        [(("services", 0, "aliases"), ["dash\n.x"])],
        "services[0].aliases[0]",
        "is not a DNS name",
    ),
    "dnsDomain with a newline": (
        "usg",
        [(("gateway", "dnsDomain"), "lab\n.home")],
        "gateway.dnsDomain",
        "is not a DNS name",
    ),
    "label value with a newline": (
        "usg",
        [(("services", 0, "selector"), {"app": "grafana\n"})],
        "services[0].selector.app",
        "is not a valid Kubernetes label value",
    ),
    "label key prefix with a newline": (
        "usg",
        [(("nodes", 0, "labels"), {"example\n/rack": "a"})],
        "nodes[0].labels.example\n/rack",
        "is not a valid Kubernetes label key",
    ),
}


@_cases(REGRESSIONS)
def test_regressions(base, edits, key, fragment):
    assert_problem(edited(base, *edits), k(key), fragment)


def test_regression_stack_file_not_utf8(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.dev.yaml"
    stack.write_bytes(b"config:\n  metallb-unifi:nodes: \xff\n")
    with pytest.raises(ConfigError) as caught:
        read_stack_config(stack)
    assert caught.value.problems[0].key == str(stack)
    assert "is not UTF-8 text" in caught.value.problems[0].message


def test_regression_stack_file_with_a_huge_number(tmp_path: Path) -> None:
    stack = _write(tmp_path, "Pulumi.dev.yaml", "config:\n  metallb-unifi:nodes: " + "1" * 5000 + "\n")
    with pytest.raises(ConfigError) as caught:
        read_stack_config(stack)
    assert caught.value.problems[0].key == str(stack)


# --- more regressions: wrong acceptances and a crash found after the first round ------------------


def test_regression_deeply_nested_base_config_is_a_config_error() -> None:
    # ~600 nested objects passed json.loads and the leaf check, then the USG renderer's merge
    # recursed past Python's recursion limit (RecursionError out of parse_lab).
    depth = 600
    text = '{"a":' + '{"b":' * depth + '"x"' + "}" * depth + "}"
    raw = edited("usg", (("gateway", "baseConfigFile"), "base.json"))
    assert_problem(raw, k("gateway.baseConfigFile"), "levels deep", read_file=_reads(text))


def test_regression_aggregation_length_shorter_than_the_pool_prefix() -> None:
    # MetalLB refuses "prefix 24 in this pool is more specific than the aggregation length".
    raw = edited("usg", (("metallb", "pools", 0, "aggregationLength"), 16))  # the pool is 10.20.10.0/24
    assert_problem(raw, k("metallb.pools[0].aggregationLength"), "/16 is shorter than the /24 block of 10.20.10.0/24")
    lab = parse_lab(edited("usg", (("metallb", "pools", 0, "aggregationLength"), 24)))
    assert lab.metallb.pools[0].aggregation_length == 24


def test_regression_keepalive_with_hold_time_zero() -> None:
    # MetalLB refuses keepaliveTime > holdTime, also when holdTime is 0.
    raw = edited("unifi-os", (("bgp", "holdTime"), 0), (("bgp", "keepaliveTime"), "10s"))
    assert_problem(raw, k("bgp.keepaliveTime"), "10s is longer than holdTime (0s)")
    lab = parse_lab(edited("unifi-os", (("bgp", "holdTime"), 0), (("bgp", "keepaliveTime"), 0)))
    assert (lab.bgp.hold_time_s, lab.bgp.keepalive_time_s) == (0, 0)
