"""Dual-stack labs (issue 19) from hand-written rendered files, until the stack config and the
renderers take IPv6: ``rendered/<stack>/`` holds what render is to write for the stack (issue
19's rendered shapes: BGPPeer ``gateway-v6``, the ``loadBalancerIPs`` "v4,v6" pin,
``prefix-list6``, the ``-v6`` peer-group, AAAA records…), ``stacks/<stack>.yaml`` its IPv4 half,
and :data:`IPV6` the IPv6 facts the stack config will hold (``nodes[i].address6``,
``gateway.peerAddress6``).

Once the model has those keys: move them into ``stacks/<stack>.yaml``, build the stack with
:func:`~simulator.rendering.stack_facts` and its files with
:func:`~simulator.rendering.render_stack` (or ``conftest.write_rendered``), and delete this
module and ``rendered/``."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, fields, replace
from ipaddress import IPv6Address
from pathlib import Path
from typing import Any

from components.config.model import Gateway, Lab, Node
from components.render import load_lab
from tests.simulator.conftest import REPO, stack_path

RENDERED = Path(__file__).resolve().parent / "rendered"


@dataclass(frozen=True)
class StackIPv6:
    peer_address6: str
    nodes: dict[str, str]  # name → address6


IPV6 = {
    "dual-stack-usg": StackIPv6("fd00:60::1", {"n1": "fd00:60::11", "n2": "fd00:60::12"}),
    "dual-stack-unifi-os": StackIPv6("fd00:70::1", {"k1": "fd00:70::11", "k2": "fd00:70::12", "k3": "fd00:70::13"}),
}


# Stand-ins for the model's Node.address6 and Gateway.peer_address6 (the simulator reads them
# by those names: simulator.plan.StackV6.of).
@dataclass(frozen=True)
class _Node6(Node):
    address6: IPv6Address | None = None


@dataclass(frozen=True)
class _Gateway6(Gateway):
    peer_address6: IPv6Address | None = None


def _copy(value: Node | Gateway) -> dict[str, Any]:
    return {f.name: getattr(value, f.name) for f in fields(value)}


def dual_stack_lab(name: str, peer_address6: str | None = None, without_address6: tuple[str, ...] = ()) -> Lab:
    """The stack ``name`` with its IPv6 facts (another gateway IPv6 address, or nodes left
    without an IPv6 address, for tests of what the lab makes of them)."""
    lab = load_lab(stack_path(name), REPO / "Pulumi.yaml")
    facts = IPV6[name]
    nodes = tuple(
        node if node.name in without_address6 else _Node6(**_copy(node), address6=IPv6Address(facts.nodes[node.name]))
        for node in lab.nodes
    )
    gateway = _Gateway6(**_copy(lab.gateway), peer_address6=IPv6Address(peer_address6 or facts.peer_address6))
    return replace(lab, nodes=nodes, gateway=gateway)


def dual_stack_rendered(name: str, directory: Path, **facts: Any) -> tuple[Path, Lab]:
    """The hand-written rendered files of ``name`` copied into ``directory``, and its stack
    (``facts``: as :func:`dual_stack_lab` takes them)."""
    shutil.copytree(RENDERED / name, directory, dirs_exist_ok=True)
    return directory, dual_stack_lab(name, **facts)
