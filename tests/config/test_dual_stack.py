"""IPv6 and dual-stack in the stack config: nodes' and the gateway's IPv6 addresses, pools of both
families, a Service's families and pins, and the refusals that name their key."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, IPv6Network
from typing import Any

import pytest

from components.config.model import IPFamily, IPFamilyPolicy
from components.config.parse import parse_lab
from tests.config.raw_labs import DROP, Case, assert_problem, cases, edited, k

POOL = ("metallb", "pools", 0, "addresses")
SERVICE = ("services", 0)


def test_a_dual_stack_lab_parses_into_both_families() -> None:
    lab = parse_lab(edited("dual"), stack="lab")
    assert [n.address6 for n in lab.nodes] == [IPv6Address(f"fd00:20::{i}") for i in (10, 11, 12)]
    assert lab.node_subnet6 == IPv6Network("fd00:20::/64")
    assert lab.gateway.peer_address6 == IPv6Address("fd00:20::1")
    routed = lab.metallb.pools[0]
    assert routed.families == (IPFamily.IPV4, IPFamily.IPV6)
    assert [str(n) for n in routed.networks] == ["10.20.10.0/24", "fd00:20:10::/120"]
    assert lab.bgp_v6 and lab.peering_nodes6 == lab.nodes
    grafana = lab.services[0]
    assert grafana.addresses == (IPv4Address("10.20.10.10"), IPv6Address("fd00:20:10::10"))
    assert grafana.ip_family_policy is IPFamilyPolicy.REQUIRE_DUAL_STACK
    assert lab.pinned_addresses["grafana"] == grafana.addresses


def test_addresses_are_kept_ipv4_first_whatever_the_order_written() -> None:
    lab = parse_lab(edited("dual", ((*SERVICE, "addresses"), ["fd00:20:10::10", "10.20.10.10"])), stack="lab")
    assert [a.version for a in lab.services[0].addresses] == [4, 6]


def test_an_ipv6_pin_alone_makes_an_ipv6_service() -> None:
    raw = edited("dual", ((*SERVICE, "addresses"), DROP), ((*SERVICE, "ipFamilyPolicy"), DROP))
    lab = parse_lab(edited_with(raw, ((*SERVICE, "address"), "fd00:20:10::20")), stack="lab")
    assert lab.services[0].addresses == (IPv6Address("fd00:20:10::20"),)
    assert lab.services[0].ip_families == (IPFamily.IPV6,)


def test_an_ipv4_only_lab_keeps_its_shape() -> None:
    lab = parse_lab(edited("usg"), stack="lab")
    assert lab.node_subnet6 is None and not lab.bgp_v6 and lab.peering_nodes6 == ()
    assert all(s.ip_families == () and s.ip_family_policy is None for s in lab.services)


def test_a_layer2_ipv6_pool_on_native_v0_15_is_fine() -> None:
    raw = edited(
        "usg",
        (("metallb", "pools", 1, "addresses"), ["10.20.0.200-10.20.0.220", "fd00:20::200-fd00:20::2ff"]),
        (("nodes", 0, "address6"), "fd00:20::10"),
    )
    lab = parse_lab(raw, stack="lab")
    assert IPFamily.IPV6 in lab.metallb.pools[1].families and not lab.bgp_v6


def edited_with(raw: dict[str, Any], *edits: tuple[tuple[str | int, ...], Any]) -> dict[str, Any]:
    from tests.config.raw_labs import edit

    for path, value in edits:
        edit(raw, path, value)
    return raw


REFUSALS: dict[str, Case] = {
    "v6 bgp pool in native mode": (
        "dual",
        [(("metallb", "mode"), "native")],
        "metallb.pools[0].addresses[1]",
        "native MetalLB never announces IPv6 over BGP",
    ),
    "v6 bgp pool with native v0.12.1": (
        "dual",
        [(("metallb", "mode"), "native"), (("metallb", "version"), "v0.12.1")],
        "metallb.pools[0].addresses[1]",
        "set metallb.mode to frr",
    ),
    "v6 layer2 pool on native v0.14.8 with bgp pools": (
        "usg",
        [
            (("metallb", "version"), "v0.14.8"),
            (("metallb", "pools", 1, "addresses"), ["10.20.0.200-10.20.0.220", "fd00:20::200/120"]),
        ],
        "metallb.pools[1].addresses[1]",
        "refuses any IPv6 pool once a BGP advertisement exists",
    ),
    "v6 bgp pool without peerAddress6": (
        "dual",
        [(("gateway", "peerAddress6"), DROP)],
        "gateway.peerAddress6",
        "is required: bgp pool(s) routed hold IPv6 addresses",
    ),
    "peering node without address6": (
        "dual",
        [(("nodes", 1, "address6"), DROP)],
        "nodes[1].address6",
        "is required: node node1 peers with the gateway",
    ),
    "pinned v6 address outside every pool of its family": (
        "dual",
        [((*SERVICE, "addresses"), ["10.20.10.10", "fd00:99::10"])],
        "services[0].addresses",
        "fd00:99::10 is outside every pool holding IPv6 addresses",
    ),
    "pinned v6 address with no v6 pool at all": (
        "usg",
        [((*SERVICE, "address"), "fd00:99::10")],
        "services[0].address",
        "fd00:99::10 is outside every pool (none holds IPv6 addresses)",
    ),
    "pins in two pools": (
        "dual",
        [
            (("metallb", "pools", 1), {"name": "routed6", "protocol": "bgp", "addresses": ["fd00:20:11::/120"]}),
            (("metallb", "pools", 0, "addresses"), ["10.20.10.0/24"]),
            ((*SERVICE, "addresses"), ["10.20.10.10", "fd00:20:11::10"]),
        ],
        "services[0].addresses",
        "must be in one pool",
    ),
    "two pins of one family": (
        "dual",
        [((*SERVICE, "addresses"), ["10.20.10.10", "10.20.10.11"])],
        "services[0].addresses",
        "at most one address per family",
    ),
    "address and addresses": (
        "dual",
        [((*SERVICE, "address"), "10.20.10.10")],
        "services[0].addresses",
        "not both",
    ),
    "two pins as SingleStack": (
        "dual",
        [((*SERVICE, "ipFamilyPolicy"), "SingleStack")],
        "services[0].ipFamilyPolicy",
        "two pinned addresses need a dual-stack Service",
    ),
    "two families as SingleStack": (
        "dual",
        [
            ((*SERVICE, "ipFamilyPolicy"), DROP),
            ((*SERVICE, "addresses"), DROP),
            ((*SERVICE, "ipFamilies"), ["IPv4", "IPv6"]),
        ],
        "services[0].ipFamilies",
        "two families need ipFamilyPolicy PreferDualStack or RequireDualStack",
    ),
    "a family twice": (
        "dual",
        [((*SERVICE, "ipFamilies"), ["IPv6", "IPv6"])],
        "services[0].ipFamilies",
        "lists a family twice",
    ),
    "unknown family": (
        "dual",
        [((*SERVICE, "ipFamilies"), ["IPv5"])],
        "services[0].ipFamilies[0]",
        "IPv4, IPv6",
    ),
    "unknown policy": (
        "dual",
        [((*SERVICE, "ipFamilyPolicy"), "DualStack")],
        "services[0].ipFamilyPolicy",
        "PreferDualStack",
    ),
    "pin of a family not listed": (
        "dual",
        [
            ((*SERVICE, "ipFamilies"), ["IPv4"]),
            ((*SERVICE, "addresses"), ["fd00:20:10::10"]),
            ((*SERVICE, "ipFamilyPolicy"), DROP),
        ],
        "services[0].addresses",
        "fd00:20:10::10 is an IPv6 address, but ipFamilies is IPv4",
    ),
    "RequireDualStack without a pool of both families": (
        "dual",
        [((*SERVICE, "addresses"), DROP), ((*SERVICE, "pool"), "lan")],
        "services[0].ipFamilyPolicy",
        "RequireDualStack needs a pool holding IPv4 and IPv6 addresses",
    ),
    "unpinned IPv4 service in an IPv6-only pool": (
        "dual",
        [
            (("metallb", "pools", 2), {"name": "only6", "protocol": "bgp", "addresses": ["fd00:20:11::/120"]}),
            (("services", 1, "pool"), "only6"),
        ],
        "services[1].pool",
        "pool 'only6' holds only IPv6 addresses, but the Service gets IPv4 ones (the default)",
    ),
    "mixed-family range": (
        "dual",
        [(POOL, ["10.20.10.0-fd00:20:10::ff"])],
        "metallb.pools[0].addresses[0]",
        "mixes IPv4 and IPv6; a range is of one family",
    ),
    "v6 range backwards": (
        "dual",
        [(POOL, ["10.20.10.0/24", "fd00:20:10::ff-fd00:20:10::1"])],
        "metallb.pools[0].addresses[1]",
        "is backwards",
    ),
    "v6 CIDR with host bits": (
        "dual",
        [(POOL, ["10.20.10.0/24", "fd00:20:10::1/120"])],
        "metallb.pools[0].addresses[1]",
        "has host bits set; did you mean fd00:20:10::/120?",
    ),
    "v6 bgp pool inside the nodes' v6 network": (
        "dual",
        [(POOL, ["10.20.10.0/24", "fd00:20::100/120"])],
        "metallb.pools[0].addresses[1]",
        "must lie outside the nodes' IPv6 network fd00:20::/64",
    ),
    "v6 layer2 pool outside the nodes' v6 network": (
        "dual",
        [(("metallb", "pools", 1, "addresses"), ["10.20.0.200-10.20.0.220", "fd00:99::/120"])],
        "metallb.pools[1].addresses[1]",
        "must lie inside the nodes' IPv6 network fd00:20::/64",
    ),
    "pool holding a node's address6": (
        "dual",
        [(("metallb", "pools", 1, "addresses"), ["10.20.0.200-10.20.0.220", "fd00:20::/120"])],
        "metallb.pools[1].addresses[1]",
        "contains fd00:20::10, node cp1's address6",
    ),
    "peerAddress6 outside the nodes' v6 network": (
        "dual",
        [(("gateway", "peerAddress6"), "fd00:99::1")],
        "gateway.peerAddress6",
        "is outside the nodes' IPv6 network fd00:20::/64",
    ),
    "node address6 is peerAddress6": (
        "dual",
        [(("nodes", 0, "address6"), "fd00:20::1")],
        "nodes[0].address6",
        "is also gateway.peerAddress6",
    ),
    "duplicate address6": (
        "dual",
        [(("nodes", 1, "address6"), "fd00:20::10")],
        "nodes[1].address6",
        "duplicate node address 'fd00:20::10'",
    ),
    "address6 not IPv6": (
        "dual",
        [(("nodes", 0, "address6"), "10.20.0.10")],
        "nodes[0].address6",
        "is not an IPv6 address",
    ),
    "nodes' v6 addresses in two /64s": (
        "dual",
        [(("nodes", 2, "address6"), "fd00:21::12")],
        "nodeSubnet6",
        "not all in one /64",
    ),
    "nodeSubnet6 not holding a node": (
        "dual",
        [(("nodeSubnet6",), "fd00:21::/64")],
        "nodes[0].address6",
        "is outside nodeSubnet6 fd00:21::/64",
    ),
    "aggregationLengthV6 too long": (
        "dual",
        [(("metallb", "pools", 0, "aggregationLengthV6"), 129)],
        "metallb.pools[0].aggregationLengthV6",
        "129",
    ),
    "aggregationLengthV6 shorter than a block": (
        "dual",
        [(("metallb", "pools", 0, "aggregationLengthV6"), 112)],
        "metallb.pools[0].aggregationLengthV6",
        "/112 is shorter than the /120 block of fd00:20:10::/120",
    ),
    "peerAddress6 not IPv6": (
        "dual",
        [(("gateway", "peerAddress6"), "10.20.0.1")],
        "gateway.peerAddress6",
        "is not an IPv6 address",
    ),
}


@cases(REFUSALS)
def test_dual_stack_refusals_name_their_key(base, edits, key, fragment):  # typed by the table
    assert_problem(edited(base, *edits), k(key), fragment)


@pytest.mark.parametrize("mode", ["frr", "frr-k8s"])
def test_ipv6_bgp_is_allowed_in_the_frr_modes(mode: str) -> None:
    lab = parse_lab(edited("dual", (("metallb", "mode"), mode)), stack="lab")
    assert lab.bgp_v6


def test_ipv6_bgp_on_the_v0_12_configmap_needs_frr_mode() -> None:
    lab = parse_lab(edited("dual", (("metallb", "version"), "v0.12.1"), (("metallb", "mode"), "frr")), stack="lab")
    assert lab.bgp_v6 and lab.metallb.version.uses_configmap


def test_a_node_left_out_by_the_selectors_needs_no_address6() -> None:
    raw = edited(
        "dual",
        (("nodes", 0, "address6"), DROP),
        (("nodes", 1, "labels"), {"bgp": "yes"}),
        (("nodes", 2, "labels"), {"bgp": "yes"}),
        (("bgp", "nodeSelectors"), [{"matchLabels": {"bgp": "yes"}}]),
    )
    lab = parse_lab(raw, stack="lab")
    assert [n.name for n in lab.peering_nodes6] == ["node1", "node2"]
