"""The checks after ``pulumi up`` (metallb-unifi:verify) for real: the program runs under mocks,
its ``verify-checks`` command is carried out as the engine would (tests/command_engine.py) on
the workstation of a simulated lab, whose router answers SSH as the gateway. Retried until the
sessions come up; a failure fails the ``up`` when required and is a warning otherwise; a no-op
``up`` runs nothing."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pulumi
import pytest

from simulator.lab import LabOptions, RunningLab, running_lab
from simulator.netns import ip
from simulator.plan import LabPlan, plan_lab
from simulator.rendering import render_stack, stack_facts
from tests.command_engine import CommandEngine, StepFailed
from tests.conftest import with_small_manifest
from tests.program_harness import REPO, Run, resolve, run_program, stack_config
from tests.simulator.conftest import stack_path
from tests.unifi.conftest import base_env

pytestmark = pytest.mark.usefixtures("lab_environment")

COMMAND = "verify-checks"


def _plan(stack: str, tmp_path: Path) -> LabPlan:
    render_stack(stack_path(stack), tmp_path)
    return plan_lab(tmp_path, stack_facts(stack_path(stack)))


def _config(stack: str, small_mirror: str, lab: RunningLab, **verify: Any) -> dict[str, str]:
    ssh = lab.gateway_ssh
    gateway_ssh = {"user": ssh.user, "hostKey": ssh.host_key, "privateKey": ssh.private_key}
    return with_small_manifest(stack_config(stack_path(stack), small_mirror, gatewaySsh=gateway_ssh, verify=verify))


def _engine(lab: RunningLab) -> CommandEngine:
    """Commands run on the lab's workstation, as `pulumi up` runs them on the user's machine."""
    return CommandEngine(
        REPO, base_env(), rewrite_local=lambda command: f"ip netns exec {lab.workstation_ns} {command}"
    )


def _checks(run: Run) -> list[Any]:
    return [r for r in run.registrations if r.name == COMMAND]


def test_the_checks_retry_until_a_late_session_is_up_then_a_no_op_up_runs_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_mirror: str
) -> None:
    with running_lab(_plan("Pulumi.lab.yaml", tmp_path)) as lab:
        # worker3 cannot reach the gateway while `up` starts checking, and can a few seconds later.
        worker3 = lab.node_ns[lab.plan.node("worker3").key]
        blocked = ("route", "add", "prohibit", f"{lab.plan.topology.router_lan_address}/32")
        ip("-n", worker3, *blocked)
        threading.Timer(6.0, lambda: ip("-n", worker3, "route", "del", *blocked[2:])).start()
        config = _config("Pulumi.lab.yaml", small_mirror, lab, timeout="60s", required=True)
        engine = _engine(lab)
        run = run_program(monkeypatch, config, preview=False)
        assert engine.up(_checks(run)) == [("create", COMMAND)]
        done = engine.state[COMMAND]
        assert "attempt 1: sessions" in done.stderr, done.stderr  # it did not pass at once
        report = json.loads(done.stdout)
        assert [c["status"] for c in report["checks"]] == ["ok", "ok", "ok", "ok"]

        # The next run hands the recorded report back: the output; then a no-op `up` runs nothing.
        run = run_program(monkeypatch, config, preview=False, command_stdouts={COMMAND: done.stdout})
        summary, known, _ = resolve(run.exports["verification"])
        assert known and {name: s["status"] for name, s in summary.items()} == {
            "sessions": "ok",
            "routes": "ok",
            "dns": "ok",
            "reach": "ok",
        }
        assert engine.up(_checks(run)) == []


@pytest.mark.parametrize("required", [True, False], ids=["required", "warning"])
def test_a_failing_check_fails_the_up_when_required_and_is_a_warning_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_mirror: str, required: bool
) -> None:
    plan = _plan("password", tmp_path)
    with running_lab(plan, LabOptions(speaker_passwords={"node2": "not-the-password"})) as lab:
        config = _config("password", small_mirror, lab, timeout="10s", required=required)
        engine = _engine(lab)
        run = run_program(monkeypatch, config, preview=False)
        if required:
            with pytest.raises(StepFailed) as failure:
                engine.up(_checks(run))
            assert failure.value.code == 1
            assert "node2 (10.50.0.12)" in failure.value.stderr  # the lines, for the up's error
            assert COMMAND not in engine.state  # a failed create: the next `up` checks again
            return
        assert engine.up(_checks(run)) == [("create", COMMAND)]
        stdout = engine.state[COMMAND].stdout
    warnings: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *args, **kwargs: warnings.append(message))
    run = run_program(monkeypatch, config, preview=False, command_stdouts={COMMAND: stdout})
    summary, _, _ = resolve(run.exports["verification"])
    assert summary["sessions"]["status"] == "fail" and "node2 (10.50.0.12)" in summary["sessions"]["detail"]
    (warning,) = [w for w in warnings if w.startswith("metallb-unifi:verify")]
    assert "FAIL sessions: node2 (10.50.0.12)" in warning
