"""`metallb-unifi:metallb.pools`: each pool's address ranges (their form, overlaps, and where they
lie against the nodes and the gateway) and its options."""

from __future__ import annotations

from components.config.parse import parse_lab
from tests.config.raw_labs import DROP, REQUIRED, Case, assert_problem, cases, edited, k, problems_of

ADDRESS_FORMS: dict[str, Case] = {
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
}


@cases(ADDRESS_FORMS)
def test_malformed_ranges_and_networks(base, edits, key, fragment):
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


@cases(POOL_CONFLICTS)
def test_pools_must_not_overlap_or_contain_nodes_or_the_gateway(base, edits, key, fragment):
    assert_problem(edited(base, *edits), k(key), fragment)


AGAINST_NODE_SUBNET: dict[str, Case] = {
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
}


@cases(AGAINST_NODE_SUBNET)
def test_layer2_pools_inside_and_bgp_pools_outside_the_node_subnet(base, edits, key, fragment):
    assert_problem(edited(base, *edits), k(key), fragment)


POOL_OPTIONS: dict[str, Case] = {
    **{
        f"pools[0].{name}": ("usg", [(("metallb", "pools", 0, name), DROP)], f"metallb.pools[0].{name}", REQUIRED)
        for name in ("name", "protocol", "addresses")
    },
    "no pools": ("usg", [(("metallb", "pools"), [])], "metallb.pools", "must not be empty"),
    "unknown key in a pool": (
        "usg",
        [(("metallb", "pools", 1, "autoAsign"), False)],
        "metallb.pools[1].autoAsign",
        "did you mean 'autoAssign'?",
    ),
    # Regression: str() of an int with more than 4300 digits raises ValueError.
    "protocol 10**5000": (
        "usg",
        [(("metallb", "pools", 0, "protocol"), 10**5000)],
        "metallb.pools[0].protocol",
        "is not allowed; choose one of: bgp, layer2",
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
    # Regression: str.isdigit() accepts '²' and other non-ASCII digits that int() rejects (ValueError).
    "community '²:1'": (
        "usg",
        [(("metallb", "pools", 0, "communities"), ["²:1"])],
        "metallb.pools[0].communities[0]",
        "is not a BGP community",
    ),
    "community listed twice": (
        "usg",
        [(("metallb", "pools", 0, "communities"), ["64512:1", "64512:01"])],
        "metallb.pools[0].communities[1]",
        "64512:1 is listed twice; MetalLB refuses a duplicate community",
    ),
    "aggregationLength out of range": (
        "usg",
        [(("metallb", "pools", 0, "aggregationLength"), 33)],
        "metallb.pools[0].aggregationLength",
        "33 is out of range",
    ),
}


@cases(POOL_OPTIONS)
def test_pool_keys_and_options(base, edits, key, fragment):
    assert_problem(edited(base, *edits), k(key), fragment)


def test_local_pref_is_fine_with_ibgp() -> None:
    lab = parse_lab(
        edited("usg", (("metallb", "asn"), 64512), (("metallb", "pools", 0, "localPref"), 100)), stack="lab"
    )
    assert lab.metallb.pools[0].local_pref == 100


def test_aggregation_length_must_not_be_shorter_than_the_pool_prefix() -> None:
    # MetalLB refuses "prefix 24 in this pool is more specific than the aggregation length".
    raw = edited("usg", (("metallb", "pools", 0, "aggregationLength"), 16))  # the pool is 10.20.10.0/24
    assert_problem(raw, k("metallb.pools[0].aggregationLength"), "/16 is shorter than the /24 block of 10.20.10.0/24")
    lab = parse_lab(edited("usg", (("metallb", "pools", 0, "aggregationLength"), 24)), stack="lab")
    assert lab.metallb.pools[0].aggregation_length == 24


def test_aggregation_length_must_keep_every_announcement_inside_the_pool() -> None:
    # 10.20.10.10-10.20.10.250 is /31 /30 /29 /28 /27 /26 /26 /27 /28 /29 /31 /32: MetalLB takes
    # /26 (its widest block), and would announce 10.20.10.0/26 for 10.20.10.10, past the pool.
    ranged = (("metallb", "pools", 0, "addresses"), ["10.20.10.10-10.20.10.250"])
    raw = edited("usg", ranged, (("metallb", "pools", 0, "aggregationLength"), 26))
    assert_problem(
        raw,
        k("metallb.pools[0].aggregationLength"),
        "/26 would have MetalLB announce 10.20.10.0/26 for 10.20.10.10, reaching past the pool's addresses "
        "(its block there is 10.20.10.10/31); the gateway accepts from the nodes only prefixes inside a BGP "
        "pool, so it would drop that route. Use aggregationLength 32 or more",
    )
    # Shorter than MetalLB takes: MetalLB's own refusal, and only that one.
    raw = edited("usg", ranged, (("metallb", "pools", 0, "aggregationLength"), 25))
    assert [p.message for p in problems_of(raw)] == [
        "/25 is shorter than the /26 block of 10.20.10.10-10.20.10.250; MetalLB requires at least /26 for this pool"
    ]
    assert parse_lab(edited("usg", ranged, (("metallb", "pools", 0, "aggregationLength"), 32)), stack="lab")


def test_adjacent_ranges_of_a_pool_count_as_one_block() -> None:
    # Two /25 halves make the /24: an aggregate /24 lies inside the pool. MetalLB refuses it per
    # entry (each is a /25), so /25 is the shortest; and a /25 of either half is inside too.
    halves = (("metallb", "pools", 0, "addresses"), ["10.20.10.0-10.20.10.127", "10.20.10.128/25"])
    lab = parse_lab(edited("usg", halves, (("metallb", "pools", 0, "aggregationLength"), 25)), stack="lab")
    assert [str(n) for n in lab.metallb.pools[0].networks] == ["10.20.10.0/24"]
    # A range's narrower tail next to another range's block: the /25 around 10.20.10.130 is
    # 10.20.10.128/25, all of it in the pool.
    tail = (("metallb", "pools", 0, "addresses"), ["10.20.10.0-10.20.10.191", "10.20.10.192-10.20.11.127"])
    lab = parse_lab(edited("usg", tail, (("metallb", "pools", 0, "aggregationLength"), 25)), stack="lab")
    assert [str(n) for n in lab.metallb.pools[0].networks] == ["10.20.10.0/24", "10.20.11.0/25"]
