"""The product's ``verify`` against simulated labs: the router answers SSH as a USG or a UniFi
OS gateway, so verify reads it as it reads the real one. Passing labs of both kinds, the failure
scenarios (a wrong password, a node down, a neighbour missing on the gateway), and the command
run on a stack file as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.verify.report import Report, Status
from simulator.__main__ import main as simulate
from simulator.checks import Deadlines, run_checks
from simulator.errors import CheckFailed
from simulator.lab import LabOptions, RunningLab, running_lab
from simulator.plan import LabPlan, plan_lab
from simulator.polling import Outcome, wait_for
from simulator.rendering import REPO_ROOT, render_stack, stack_facts
from simulator.verification import run_verify, verify_job
from tests.simulator.conftest import stack_path

pytestmark = pytest.mark.usefixtures("lab_environment")


def _plan(stack: str, tmp_path: Path) -> LabPlan:
    render_stack(stack_path(stack), tmp_path)
    return plan_lab(tmp_path, stack_facts(stack_path(stack)))


def _verify(lab: RunningLab, stack: str) -> Report:
    return run_verify(lab, verify_job(stack_facts(stack_path(stack)), lab.gateway_ssh))


def _check(report: Report, name: str) -> Any:
    (check,) = [c for c in report.checks if c.name == name]
    return check


def test_make_simulate_writes_verifys_json_for_the_posts_lab(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "verify.json"
    assert simulate(["--stack-file", str(stack_path("Pulumi.lab.yaml")), "--verify-json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "verify, as python -m components.verify says it:" in printed
    document = json.loads(out.read_text())
    assert [(c["name"], c["status"]) for c in document["checks"]] == [
        ("sessions", "ok"),
        ("routes", "ok"),
        ("dns", "ok"),
        ("reach", "ok"),
    ]
    sessions = document["checks"][0]
    assert [i["subject"] for i in sessions["items"]] == [
        "master (10.10.0.200)",
        "worker1 (10.10.0.101)",
        "worker2 (10.10.0.102)",
        "worker3 (10.10.0.103)",
    ]
    # The USG keeps one best path (maximum-paths 1, as the simulator's translation does).
    assert document["checks"][1]["items"][0]["detail"].endswith(": 1 path")
    assert {i["subject"] for i in document["checks"][2]["items"]} == {"k8s-dashboard", "k8s-dashboard.service"}
    assert document["checks"][3]["items"][0]["subject"] == "http://k8s-dashboard.service/"
    assert f"  {Report.from_json(document).checks[2].line()}" in printed


def test_a_unifi_os_gateway_is_read_through_vtysh_json_with_every_path(tmp_path: Path) -> None:
    with running_lab(_plan("Pulumi.udm.yaml", tmp_path)) as lab:
        run_checks(lab)
        report = _verify(lab, "Pulumi.udm.yaml")
    assert not report.failed, report.lines()
    assert _check(report, "routes").detail == (
        "10.99.0.10 (home-assistant): via k1 (192.168.30.11), k2 (192.168.30.12), k3 (192.168.30.13): 3 paths"
    )


@pytest.mark.parametrize("stack", ["Pulumi.dualstack.yaml", "dual-stack-usg"])
def test_a_dual_stack_lab_passes_every_check_in_both_families(tmp_path: Path, stack: str) -> None:
    with running_lab(_plan(stack, tmp_path)) as lab:
        run_checks(lab)
        report = _verify(lab, stack)
    assert not report.failed, report.lines()
    lab_stack = stack_facts(stack_path(stack))
    sessions = {item.subject for item in _check(report, "sessions").items}
    assert sessions == {f"{n.name} ({n.address})" for n in lab_stack.nodes} | {
        f"{n.name} ({n.address6})" for n in lab_stack.nodes
    }
    routes = {item.subject.split()[0]: item.detail for item in _check(report, "routes").items}
    v6_routes = [detail for address, detail in routes.items() if ":" in address]
    assert v6_routes, routes
    # UniFi OS spreads each family over every node; the USG keeps one best path.
    paths = "3 paths" if stack == "Pulumi.dualstack.yaml" else "1 path"
    assert all(detail.endswith(paths) for detail in routes.values()), routes
    answers = _check(report, "dns").detail
    assert "AAAA" in answers, answers
    reached = [item.subject for item in _check(report, "reach").items]
    assert any("[" in url or "v6only" in url for url in reached), reached


def test_a_wrong_password_fails_sessions_naming_that_node_only(tmp_path: Path) -> None:
    plan = _plan("password", tmp_path)
    with running_lab(plan, LabOptions(speaker_passwords={"node2": "not-the-password"})) as lab:
        with pytest.raises(CheckFailed):
            run_checks(lab, Deadlines(sessions_s=5.0))
        report = _verify(lab, "password")
    sessions = _check(report, "sessions")
    assert sessions.status is Status.FAIL
    assert "node2 (10.50.0.12): Connect: " in sessions.detail or "node2 (10.50.0.12): Active: " in sessions.detail
    assert "the BGP passwords differ" in sessions.detail
    assert "node1" not in sessions.detail and "node3" not in sessions.detail
    assert report.exit_code == 1


def test_a_node_down_fails_sessions_naming_it_while_its_route_moves(tmp_path: Path) -> None:
    plan = _plan("failover", tmp_path)
    with running_lab(plan) as lab:
        run_checks(lab)
        (hop,) = lab.router_routes()[plan.services[0].address]
        used = lab.node_of(hop)
        lab.link_down(used)
        lab.kill_speaker(used)

        def expired() -> Outcome:
            state = lab.router_sessions().get(hop)
            return Outcome(state != "Established", f"{used}: {state}")

        wait_for("the hold timer to expire", expired, timeout_s=plan.peer.hold_time_s + 3.0)
        report = run_verify(lab, verify_job(stack_facts(stack_path("failover")), lab.gateway_ssh), retry_for_s=10)
    sessions = _check(report, "sessions")
    assert sessions.status is Status.FAIL and sessions.detail.startswith(f"{used} ({hop}): ")
    # The other nodes still carry the address: routes pass (via the ones left).
    assert _check(report, "routes").status is Status.OK, report.lines()
    assert _check(report, "reach").status is Status.OK


def test_a_neighbour_missing_on_the_gateway_is_named(tmp_path: Path) -> None:
    with running_lab(_plan("Pulumi.lab.yaml", tmp_path)) as lab:
        run_checks(lab)
        # Someone removes worker3 from the gateway's BGP configuration by hand.
        subprocess.run(
            ["vtysh", "--vty_socket", str(lab.workdir / "router"), "-c", "configure terminal", "-c",
             "router bgp 64512", "-c", "no neighbor 10.10.0.103"],
            check=True, capture_output=True,
        )  # fmt: skip
        report = _verify(lab, "Pulumi.lab.yaml")
    sessions = _check(report, "sessions")
    assert sessions.status is Status.FAIL
    assert sessions.detail.startswith("worker3 (10.10.0.103): no such neighbour on the gateway")


def _stack_with_gateway_ssh(tmp_path: Path, lab: RunningLab, *, encrypted: bool) -> Path:
    """Pulumi.lab.yaml with metallb-unifi:gatewaySsh naming the simulated router."""
    document = yaml.safe_load((REPO_ROOT / "Pulumi.lab.yaml").read_text())
    ssh = lab.gateway_ssh
    key: Any = {"secure": "v1:AAAA"} if encrypted else ssh.private_key
    document["config"]["metallb-unifi:gatewaySsh"] = {"user": ssh.user, "hostKey": ssh.host_key, "privateKey": key}
    path = tmp_path / "Pulumi.lab.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain-key", "encrypted-key"])
def test_the_command_on_a_stack_file_checks_the_lab_from_the_workstation(tmp_path: Path, encrypted: bool) -> None:
    with running_lab(_plan("Pulumi.lab.yaml", tmp_path)) as lab:
        run_checks(lab)
        stack_file = _stack_with_gateway_ssh(tmp_path, lab, encrypted=encrypted)
        env = {**os.environ}
        if encrypted:
            env["UNIFI_GATEWAY_SSH_KEY"] = lab.gateway_ssh.private_key
        command = ["ip", "netns", "exec", lab.workstation_ns, sys.executable, "-m", "components.verify"]
        arguments = ["--stack-file", str(stack_file), "--project-file", str(REPO_ROOT / "Pulumi.yaml")]
        started = time.monotonic()
        done = subprocess.run([*command, *arguments], cwd=REPO_ROOT, env=env, capture_output=True, text=True)
        elapsed = time.monotonic() - started
        assert done.returncode == 0, done.stdout + done.stderr
        lines = done.stdout.splitlines()
        assert [line.split(":")[0] for line in lines] == ["ok   sessions", "ok   routes", "ok   dns", "ok   reach"]
        assert elapsed < 5, f"verify took {elapsed:.1f}s"
        if encrypted:  # without the variable: a usage error naming the key and the variable
            env.pop("UNIFI_GATEWAY_SSH_KEY")
            refused = subprocess.run([*command, *arguments], cwd=REPO_ROOT, env=env, capture_output=True, text=True)
            assert refused.returncode == 2
            assert "metallb-unifi:gatewaySsh.privateKey" in refused.stderr
            assert "UNIFI_GATEWAY_SSH_KEY" in refused.stderr


def test_without_gateway_ssh_sessions_and_routes_are_skipped_saying_which_key(tmp_path: Path) -> None:
    with running_lab(_plan("Pulumi.lab.yaml", tmp_path)) as lab:
        run_checks(lab)
        command = ["ip", "netns", "exec", lab.workstation_ns, sys.executable, "-m", "components.verify"]
        arguments = ["--stack-file", str(REPO_ROOT / "Pulumi.lab.yaml"), "--json"]
        done = subprocess.run([*command, *arguments], cwd=REPO_ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    statuses = {c["name"]: (c["status"], c["detail"]) for c in document["checks"]}
    assert statuses["sessions"][0] == statuses["routes"][0] == "skip"
    assert "metallb-unifi:gatewaySsh" in statuses["sessions"][1]
    assert statuses["dns"][0] == statuses["reach"][0] == "ok"
