"""Fixtures for the lab simulator's tests: rendered files in-process for the translators, and
the gate of the network scenarios (skipped without root, ``ip netns`` or the daemons, unless
METALLB_UNIFI_REQUIRE_NETNS=1 makes that a failure)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.artifacts.shared_gateway import GatewayStack, compose_gateway_files
from components.config.model import Lab
from components.render import load_lab, render_artifacts
from simulator import netns
from simulator.environment import missing_requirements

REPO = Path(__file__).resolve().parents[2]
STACKS = Path(__file__).resolve().parent / "stacks"
REQUIRE_NETNS = "METALLB_UNIFI_REQUIRE_NETNS"


def stack_path(name: str) -> Path:
    """A test stack by name, or a top-level example (``Pulumi.lab.yaml``)."""
    return REPO / name if name.startswith("Pulumi.") else STACKS / f"{name}.yaml"


def rendered_files(name: str) -> dict[str, str]:
    """What ``render --show-secrets`` writes for a stack, without the subprocess."""
    lab = load_lab(stack_path(name), REPO / "Pulumi.yaml")
    return render_artifacts(lab, lab.pinned_addresses)


def write_rendered(name: str, directory: Path) -> Path:
    for file, content in rendered_files(name).items():
        (directory / file).write_text(content)
    return directory


def write_rendered_stacks(names: list[str], directory: Path) -> list[tuple[Path, Lab]]:
    """What ``render --stack-file A --with-stack B …`` (into the first directory: A's cluster files
    and the composed gateway's) and ``render --stack-file B`` write, without the subprocesses."""
    labs = [load_lab(stack_path(name), REPO / "Pulumi.yaml") for name in names]
    result = []
    for index, (name, lab) in enumerate(zip(names, labs, strict=True)):
        out = directory / str(index)
        out.mkdir()
        result.append((write_rendered(name, out), lab))
    composed = compose_gateway_files([GatewayStack(lab, lab.pinned_addresses) for lab in labs])
    for file, content in composed.items():
        (result[0][0] / file).write_text(content)
    return result


@pytest.fixture(scope="session")
def lab_environment() -> Iterator[None]:
    """Skip (or, when required, fail) where the lab cannot run; afterwards, make sure no
    namespace of this process is left behind."""
    problems = missing_requirements(gobgp=True)
    if problems:
        reason = "lab simulator needs: " + "; ".join(problems)
        if os.environ.get(REQUIRE_NETNS) == "1":
            pytest.fail(f"{reason} ({REQUIRE_NETNS}=1)")
        pytest.skip(reason)
    yield
    leftovers = netns.existing(f"mlu-{os.getpid()}-")
    for name in leftovers:
        netns.run(["ip", "netns", "del", name])
    assert not leftovers, f"namespaces left behind: {leftovers}"
