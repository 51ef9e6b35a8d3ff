"""The BGP filter this program adds to a hand-written config.gateway.json, spelled out for tests
that compare whole files (components/artifacts/bgp_filter.py renders it)."""

from __future__ import annotations

import copy
from typing import Any

# The post's pool 10.10.10.10-10.10.10.250 as the fewest CIDR blocks: what the lab stack's gateway
# accepts from its nodes.
LAB_POOL_BLOCKS = [
    "10.10.10.10/31",
    "10.10.10.12/30",
    "10.10.10.16/28",
    "10.10.10.32/27",
    "10.10.10.64/26",
    "10.10.10.128/26",
    "10.10.10.192/27",
    "10.10.10.224/28",
    "10.10.10.240/29",
    "10.10.10.248/31",
    "10.10.10.250/32",
]


def with_filter(document: dict[str, Any], stack: str, blocks: list[str]) -> dict[str, Any]:
    """``document`` with the BGP filter of ``stack`` accepting ``blocks``, each neighbour importing
    and exporting through it: what this program adds to a hand-written file."""
    document = copy.deepcopy(document)
    rules = {
        str(10 * n): {"action": "permit", "prefix": block, **({} if block.endswith("/32") else {"le": "32"})}
        for n, block in enumerate(blocks, 1)
    }
    document["policy"] = {
        "prefix-list": {
            f"metallb-{stack}-pools": {"description": "metallb-unifi: the addresses of the BGP pools", "rule": rules}
        },
        "route-map": {
            f"metallb-{stack}-in": {
                "description": "metallb-unifi: accept only BGP pool prefixes from the nodes",
                "rule": {
                    "10": {"action": "permit", "match": {"ip": {"address": {"prefix-list": f"metallb-{stack}-pools"}}}}
                },
            },
            f"metallb-{stack}-out": {
                "description": "metallb-unifi: send the nodes nothing",
                "rule": {"10": {"action": "deny"}},
            },
        },
    }
    for instance in document["protocols"]["bgp"].values():
        for neighbor in instance["neighbor"].values():
            neighbor["route-map"] = {"import": f"metallb-{stack}-in", "export": f"metallb-{stack}-out"}
    return document
