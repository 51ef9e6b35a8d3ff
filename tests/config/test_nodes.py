"""`metallb-unifi:nodes` and `metallb-unifi:nodeSubnet`: each node's name, address and labels, and
the network the nodes (and the layer2 pools, tests/config/test_pools.py) live in."""

from __future__ import annotations

from ipaddress import IPv4Network

from components.config.parse import parse_lab
from tests.config.raw_labs import (
    DROP,
    LABEL_RULE,
    REQUIRED,
    Case,
    assert_problem,
    cases,
    edited,
    k,
    problems_of,
    usg_lab,
)

NODES: dict[str, Case] = {
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
    "node name": (
        "usg",
        [(("nodes", 0, "name"), "Node_1")],
        "nodes[0].name",
        f"'Node_1' is not a node name: {LABEL_RULE}",
    ),
    "label value not a string": (
        "usg",
        [(("nodes", 0, "labels"), {"rack": 1})],
        "nodes[0].labels.rack",
        "label values are strings; quote 1",
    ),
    # Regression: the name patterns ended in '$', which also matches before a trailing newline.
    "label key prefix with a newline": (
        "usg",
        [(("nodes", 0, "labels"), {"example\n/rack": "a"})],
        "nodes[0].labels.example\n/rack",
        "is not a valid Kubernetes label key",
    ),
    "unknown key in a node": (
        "usg",
        [(("nodes", 0, "adress"), "10.20.0.10")],
        "nodes[0].adress",
        "unknown key; did you mean 'address'? allowed keys: address, address6, labels, name",
    ),
    **{
        f"nodes[0].{name}": ("usg", [(("nodes", 0, name), DROP)], f"nodes[0].{name}", REQUIRED)
        for name in ("name", "address")
    },
    "no nodes": ("usg", [(("nodes",), [])], "nodes", "must not be empty"),
}


@cases(NODES)
def test_node_names_addresses_and_labels(base, edits, key, fragment):
    assert_problem(edited(base, *edits), k(key), fragment)


NODE_SUBNET: dict[str, Case] = {
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


@cases(NODE_SUBNET)
def test_nodes_against_the_node_subnet(base, edits, key, fragment):
    assert_problem(edited(base, *edits), k(key), fragment)


def test_every_node_outside_node_subnet_is_reported() -> None:
    problems = problems_of(edited("usg", (("nodeSubnet",), "10.20.0.0/29")))
    outside = {p.key for p in problems if "is outside nodeSubnet" in p.message}
    assert outside == {k("nodes[0].address"), k("nodes[1].address"), k("nodes[2].address")}


def test_node_subnet_may_span_more_than_a_24() -> None:
    lab = parse_lab(
        edited("usg", (("nodes", 2, "address"), "10.20.1.12"), (("nodeSubnet",), "10.20.0.0/23")), stack="lab"
    )
    assert lab.node_subnet == IPv4Network("10.20.0.0/23")


def test_node_subnet_defaults_to_the_nodes_24() -> None:
    assert parse_lab(usg_lab(), stack="lab").node_subnet == IPv4Network("10.20.0.0/24")
