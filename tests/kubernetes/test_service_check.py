"""The check that a Service the stack creates does not exist yet: the CLI end to end against the
loopback API stand-in (through a kubeconfig, as the program runs it), and its wiring under mocks."""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REFERENCE
from tests.kubernetes.kube_api import TOKEN, FakeApi, fake_api, free_port, lab_kubeconfig
from tests.program_harness import REPO, run_program, stack_config

KEY = "metallb-unifi:services[2]"
PATH = "/api/v1/namespaces/apps/services/registry"
NOT_FOUND = json.dumps(
    {
        "kind": "Status",
        "status": "Failure",
        "message": 'services "registry" not found',
        "reason": "NotFound",
        "code": 404,
    }
)
FORBIDDEN = json.dumps(
    {
        "kind": "Status",
        "status": "Failure",
        "message": 'services "registry" is forbidden: User "ci" cannot get resource "services" in the namespace "apps"',
        "reason": "Forbidden",
        "code": 403,
    }
)


def live_service(labels: dict[str, str]) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "registry", "namespace": "apps", "labels": labels},
            "spec": {"type": "ClusterIP"},
        }
    )


def run_check(kubeconfig: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    arguments = ["--namespace", "apps", "--name", "registry", "--stack-key", KEY, "--kubeconfig", str(kubeconfig)]
    return subprocess.run(
        [sys.executable, "-m", "components.kubernetes.service_check", *arguments, *extra],
        cwd=REPO,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )


def kubeconfig_for(tmp_path: Path, server: str) -> Path:
    return lab_kubeconfig(tmp_path / "config", server)


def check_against(tmp_path: Path, status: int, body: str) -> tuple[subprocess.CompletedProcess[str], FakeApi]:
    with fake_api((status, body)) as api:
        done = run_check(kubeconfig_for(tmp_path, api.url))
    assert TOKEN not in done.stdout + done.stderr
    return done, api


def test_an_absent_service_passes_after_one_get(tmp_path: Path) -> None:
    done, api = check_against(tmp_path, 404, NOT_FOUND)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Service apps/registry does not exist yet: the stack creates it\n"
    (seen,) = api.seen
    assert (seen.method, seen.path, seen.body) == ("GET", PATH, b"")
    assert seen.headers["authorization"] == f"Bearer {TOKEN}"


def test_a_service_someone_else_made_fails_with_one_line_naming_the_key(tmp_path: Path) -> None:
    done, _ = check_against(tmp_path, 200, live_service({"app.kubernetes.io/managed-by": "Helm"}))
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (
        "Service apps/registry already exists and this stack did not create it: set existing: true on "
        "metallb-unifi:services[2] to patch it instead (the stack then never deletes it), or delete it first\n"
    )


def test_a_service_with_this_programs_label_passes(tmp_path: Path) -> None:
    # A stack that created its Services before the check existed creates the check over them.
    done, _ = check_against(tmp_path, 200, live_service({"app.kubernetes.io/managed-by": "metallb-unifi"}))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Service apps/registry exists with app.kubernetes.io/managed-by=metallb-unifi")


def test_forbidden_is_not_taken_as_absent(tmp_path: Path) -> None:
    done, api = check_against(tmp_path, 403, FORBIDDEN)
    assert (done.returncode, len(api.seen)) == (3, 1)
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("cannot check whether Service apps/registry already exists at ")
    assert 'HTTP 403: services "registry" is forbidden' in lines[0]
    assert "needs get on services in apps" in lines[0]


def test_a_404_that_is_not_the_service_is_not_taken_as_absent(tmp_path: Path) -> None:
    done, _ = check_against(tmp_path, 404, "404 page not found")  # e.g. a proxy in front of the API
    assert done.returncode == 3
    assert "not assuming it is absent" in done.stderr


def test_an_unreachable_cluster_fails_at_once(tmp_path: Path) -> None:
    port = free_port()
    done = run_check(kubeconfig_for(tmp_path, f"http://127.0.0.1:{port}"))
    assert done.returncode == 3
    assert done.stderr.strip() == (
        f"cannot check whether Service apps/registry already exists at http://127.0.0.1:{port}: "
        f"connection refused by 127.0.0.1:{port} (not assuming it is absent)"
    )


def test_an_api_server_that_never_answers_is_bounded_by_the_timeout(tmp_path: Path) -> None:
    with socket.socket() as silent:  # accepts connections (backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        started = time.monotonic()
        done = run_check(kubeconfig_for(tmp_path, f"http://127.0.0.1:{port}"), "--timeout", "1")
        elapsed = time.monotonic() - started
    assert done.returncode == 3
    assert "within 1.0s (timeout)" in done.stderr
    assert elapsed < 8


def test_a_missing_kubeconfig_is_a_usage_error(tmp_path: Path) -> None:
    done = run_check(tmp_path / "absent")
    assert done.returncode == 2
    assert done.stderr == f"service check of apps/registry: kubeconfig {tmp_path / 'absent'} does not exist\n"


# --- wiring under mocks -------------------------------------------------------------------------

needs_manifests = pytest.mark.skipif(
    not REFERENCE.is_dir(), reason=f"MetalLB's upstream manifests (served as a mirror) not found at {REFERENCE}"
)


@needs_manifests
@pytest.mark.parametrize("preview", [True, False], ids=["preview", "up"])
@pytest.mark.parametrize("patched", [None, 1], ids=["all-created", "second-patched"])
def test_each_created_service_depends_on_its_check_and_patches_have_none(
    monkeypatch: pytest.MonkeyPatch, mirror: str, tmp_path: Path, patched: int | None, preview: bool
) -> None:
    kubeconfig = kubeconfig_for(tmp_path, "https://192.0.2.1:6443")
    crds = stack_config(REPO / "Pulumi.crds.yaml", mirror)
    configured = json.loads(crds["metallb-unifi:services"])
    if patched is not None:  # the keys of the services after it keep their own index
        configured[patched] = {
            **{k: v for k, v in configured[patched].items() if k not in ("ports", "selector")},
            "existing": True,
        }
    access = {"kubeconfig": str(kubeconfig), "context": "lab"}
    config = stack_config(REPO / "Pulumi.crds.yaml", mirror, kubernetes=access, services=configured)
    run = run_program(monkeypatch, config, preview=preview)

    components = {r.name: r for r in run.of_type("metallb-unifi:kubernetes:LoadBalancedService")}
    checks = {
        r.parent: r
        for r in run.of_type("command:local:Command")
        if r.parent in {c.urn for c in components.values()} and r.name.endswith("-not-taken")
    }
    for index, service in enumerate(configured):
        component = components[service["name"]]
        if service.get("existing"):
            assert component.urn not in checks
            patch = run.one("kubernetes:core/v1:ServicePatch", service["name"])
            assert not any(c.urn in patch.dependencies for c in checks.values())
            continue
        check = checks[component.urn]
        created = run.one("kubernetes:core/v1:Service", service["name"])
        assert check.name == f"{service['name']}-not-taken"
        assert check.urn in created.dependencies
        namespace, name = created.inputs["metadata"]["namespace"], created.inputs["metadata"]["name"]
        assert shlex.split(check.inputs["create"]) == [
            "venv/bin/python",
            "-m",
            "components.kubernetes.service_check",
            "--namespace",
            namespace,
            "--name",
            name,
            "--stack-key",
            f"metallb-unifi:services[{index}]",
            "--timeout",
            "30",
            "--kubeconfig",
            str(kubeconfig),
            "--context",
            "lab",
        ]
        # Created (and run) again only when the Service is renamed: both are replaced then.
        assert check.inputs["triggers"] == [namespace, name]
        assert "update" not in check.inputs and "delete" not in check.inputs
        assert TOKEN not in json.dumps(check.inputs)
    assert len(checks) == sum(not s.get("existing") for s in configured)
