"""Raw stack configs for the config rule tests, and the helpers every rule test uses.

A rule test takes one of two valid labs (:func:`usg_lab`, :func:`unifi_lab`), makes a few
:func:`edited` changes, and checks with :func:`assert_problem` that the parser reports a problem
at the exact key path with a distinctive part of its message. Table-driven tests write each case
as ``(base, edits, key, fragment)`` and decorate one test function with :func:`cases`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from components.config.errors import ConfigError, Problem
from components.config.parse import parse_lab

ROOT = Path(__file__).resolve().parents[2]
NS = "metallb-unifi"
DROP = object()  # an edit that deletes the key

PathT = tuple[str | int, ...]


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


def dual_stack_lab() -> dict[str, Any]:
    """The UniFi OS lab made dual-stack: the nodes and the gateway with IPv6 addresses on the nodes'
    /64, a bgp pool of both families, a service pinning one address of each."""
    raw = unifi_lab()
    for index, node in enumerate(raw["nodes"]):
        node["address6"] = f"fd00:20::{10 + index}"
    raw["gateway"]["peerAddress6"] = "fd00:20::1"
    raw["metallb"]["pools"][0]["addresses"] = ["10.20.10.0/24", "fd00:20:10::/120"]
    raw["services"][0].pop("address")
    raw["services"][0].update(addresses=["10.20.10.10", "fd00:20:10::10"], ipFamilyPolicy="RequireDualStack")
    return raw


BASES: dict[str, Callable[[], dict[str, Any]]] = {"usg": usg_lab, "unifi-os": unifi_lab, "dual": dual_stack_lab}


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
        parse_lab(raw, read_file=read_file, stack="lab")
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


# One rule each: (base, edits, key, fragment).
Case = tuple[str, list[tuple[PathT, Any]], str, str]


def cases(table: dict[str, Case]) -> Any:
    """Parametrize a test over ``table``: its keys are the test ids."""
    return pytest.mark.parametrize(("base", "edits", "key", "fragment"), list(table.values()), ids=list(table.keys()))


REQUIRED = "is required but missing"
LABEL_RULE = "1-63 lowercase letters, digits or '-', starting and ending with a letter or digit"
