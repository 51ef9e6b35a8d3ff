"""Run ``render`` for a stack, as a user would, and read the stack's facts the rendered files
do not hold (the nodes, their subnet, the gateway's address) with the program's own parser."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from components.config import ConfigError
from components.config.model import Lab
from components.render import load_lab

from .errors import RenderRefused

REPO_ROOT = Path(__file__).resolve().parent.parent
PROJECT_FILE = REPO_ROOT / "Pulumi.yaml"


def render_stack(stack_file: Path, out: Path, services_from: Path | None = None) -> None:
    """``python -m components.render --show-secrets`` into ``out`` (with ``--services-from``
    when given); refusal raises."""
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


def stack_facts(stack_file: Path) -> Lab:
    try:
        return load_lab(stack_file, PROJECT_FILE)
    except ConfigError as error:
        raise RenderRefused(f"{stack_file} is invalid; no lab was built:\n{error.report()}") from error
