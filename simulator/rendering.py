"""Run ``render`` for a stack, as a user would, and read the stack's facts the rendered files
do not hold (the nodes, their subnet, the gateway's address) with the program's own parser."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from components.config import ConfigError
from components.config.model import Lab
from components.render import load_lab

from .errors import RenderRefused

REPO_ROOT = Path(__file__).resolve().parent.parent
PROJECT_FILE = REPO_ROOT / "Pulumi.yaml"


def render_stack(
    stack_file: Path, out: Path, services_from: Path | None = None, with_stacks: Sequence[Path] = ()
) -> None:
    """``python -m components.render --show-secrets`` into ``out`` (with ``--services-from``
    and ``--with-stack`` when given); refusal raises, with what render printed (a conflict
    between the stacks too)."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "components.render",
            "--stack-file",
            str(stack_file),
            "--project-file",
            str(PROJECT_FILE),
            "--out",
            str(out),
            "--show-secrets",
            *(["--services-from", str(services_from)] if services_from is not None else []),
            *(argument for other in with_stacks for argument in ("--with-stack", str(other))),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RenderRefused(
            f"render refused {stack_file} (exit {result.returncode}); no lab was built:\n{result.stderr.strip()}"
        )


def render_stacks(stack_files: Sequence[Path], outs: Sequence[Path], services_from: Path | None = None) -> None:
    """Several stacks on one gateway, rendered as a user would: the first with ``--with-stack``
    every other into ``outs[0]`` (its cluster's files, and the gateway's files composed with
    every stack installed, by :func:`~components.artifacts.shared_gateway.compose_gateway_files`),
    then each other stack alone into its own directory (its cluster's files). A conflict between
    the stacks stops the first render, before anything is built."""
    first, *others = stack_files
    render_stack(first, outs[0], services_from, others)
    for stack_file, out in zip(others, outs[1:], strict=True):
        render_stack(stack_file, out)


def stack_facts(stack_file: Path) -> Lab:
    try:
        return load_lab(stack_file, PROJECT_FILE)
    except ConfigError as error:
        raise RenderRefused(f"{stack_file} is invalid; no lab was built:\n{error.report()}") from error
