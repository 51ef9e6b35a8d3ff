"""Dual-stack labs (issue 19) for the simulator's tests: the stacks in ``stacks/dual-stack-*.yaml``
rendered by the program's own renderers, optionally with the stack's facts changed after the
render (another gateway IPv6 address, nodes left without one) to see what the lab makes of files
and facts that disagree."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv6Address
from pathlib import Path

from components.config.model import Lab
from components.render import load_lab, render_artifacts
from tests.simulator.conftest import REPO, stack_path


def dual_stack_lab(name: str, peer_address6: str | None = None, without_address6: tuple[str, ...] = ()) -> Lab:
    """The stack ``name``, with ``peer_address6`` instead of its own and the nodes named in
    ``without_address6`` without one (changes the parser would refuse: the simulator must still
    make sense of them)."""
    lab = load_lab(stack_path(name), REPO / "Pulumi.yaml")
    nodes = tuple(replace(n, address6=None) if n.name in without_address6 else n for n in lab.nodes)
    gateway = lab.gateway
    if peer_address6 is not None:
        gateway = replace(gateway, peer_address6=IPv6Address(peer_address6))
    return replace(lab, nodes=nodes, gateway=gateway)


def dual_stack_rendered(
    name: str, directory: Path, peer_address6: str | None = None, without_address6: tuple[str, ...] = ()
) -> tuple[Path, Lab]:
    """What ``render --show-secrets`` writes for ``name`` in ``directory``, and its lab changed as
    :func:`dual_stack_lab` says."""
    rendered = dual_stack_lab(name)
    directory.mkdir(parents=True, exist_ok=True)
    for file, content in render_artifacts(rendered, rendered.pinned_addresses).items():
        (directory / file).write_text(content)
    return directory, dual_stack_lab(name, peer_address6, without_address6)
