"""The product's own ``verify`` against the simulated lab: the same command a user runs against
the real one, run in the workstation's namespace, reading the router over SSH as a gateway of
the stack's kind (simulator.gateway_shell answers its commands).

The stack's ``gatewaySsh`` is not used: the simulated router has its own host key and client
key, made per lab, so each stack's verify job names them instead."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from components.config.model import Lab
from components.contract import GATEWAY_KEY_ENV
from components.discovery.rules import DiscoveredName
from components.verify.expectations import expect
from components.verify.job import GatewaySshSettings, VerifyJob
from components.verify.report import Report

from .errors import SimulationError
from .gateway_ssh import GatewaySshEndpoint
from .lab import RunningLab
from .rendering import REPO_ROOT


def verify_job(stack: Lab, endpoint: GatewaySshEndpoint, discovered: Sequence[DiscoveredName] = ()) -> VerifyJob:
    """What ``verify`` checks for ``stack`` in the lab: its pinned and discovered addresses (the
    simulator simulates no allocation), the gateway read over the lab router's SSH."""
    ssh = GatewaySshSettings(endpoint.host, endpoint.port, endpoint.user, endpoint.host_key, "privateKey")
    return VerifyJob(expect(stack, stack.pinned_addresses, discovered), ssh, required=True)


def run_verify(lab: RunningLab, job: VerifyJob, *, retry_for_s: float = 0.0) -> Report:
    """``python -m components.verify --job FILE --json`` in the workstation's namespace."""
    path = lab.workdir / f"verify-{job.expectations.stack}.json"
    path.write_text(json.dumps(job.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return _run(lab.workstation_ns, path, lab.gateway_ssh.private_key, retry_for_s)


def _run(namespace: str, job_file: Path, private_key: str, retry_for_s: float) -> Report:
    command = [
        "ip", "netns", "exec", namespace,
        sys.executable, "-m", "components.verify", "--job", str(job_file), "--json", "--retry-for", f"{retry_for_s:g}",
    ]  # fmt: skip
    env = {**os.environ, GATEWAY_KEY_ENV: private_key}
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False, timeout=300)
    if result.returncode not in (0, 1):
        raise SimulationError(f"verify exited {result.returncode}: {result.stderr.strip()}")
    try:
        return Report.from_json(json.loads(result.stdout))
    except (ValueError, KeyError, TypeError) as exc:
        raise SimulationError(f"verify printed no report ({exc}): {result.stdout[:200]!r}") from None
