"""The checks after ``pulumi up`` under Pulumi mocks: registered only with verify.afterUp, after
the Services and the gateway's last step, the job on stdin without secrets, the key only in the
environment; the report read back into the ``verification`` output, a warning or nothing."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pulumi
import pytest

from components.verify.report import CheckResult, Item, Report, Status
from tests.program_harness import REPO, Run, resolve, run_program, stack_config
from tests.pulumi_values import is_secret, unwrap, without_secrets
from tests.resources.conftest import with_small_manifest
from tests.resources.test_usg import SECRETS, controller

GATEWAY_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\ngateway-key-material-5678\n-----END OPENSSH PRIVATE KEY-----\n"
GATEWAY_HOST_KEY = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBOv"
COMPONENT = "metallb-unifi:verify:Verification"
COMMAND = "verify-checks"


def _host_key() -> str:
    # A well-formed ECDSA host key: its blob starts with its own type name.
    import base64
    import struct

    name = b"ecdsa-sha2-nistp256"
    blob = (
        struct.pack(">I", len(name))
        + name
        + struct.pack(">I", 8)
        + b"nistp256"
        + struct.pack(">I", 65)
        + b"\x04"
        + b"k" * 64
    )
    return "ecdsa-sha2-nistp256 " + base64.b64encode(blob).decode()


def config(small_mirror: str, *, gateway_controller: bool = True, **overrides: Any) -> dict[str, str]:
    settings: dict[str, Any] = {
        "bgp": {"password": "bgp-pw-4711"},
        "gatewaySsh": {"user": "admin", "hostKey": _host_key(), "privateKey": GATEWAY_KEY},
        "verify": {"timeout": "90s", "required": True},
    }
    if gateway_controller:
        settings["controller"] = controller()
    return with_small_manifest(stack_config(REPO / "Pulumi.lab.yaml", small_mirror, **(settings | overrides)))


def the_command(run: Run) -> Any:
    (component,) = run.of_type(COMPONENT)
    (command,) = [r for r in run.registrations if r.parent == component.urn]
    assert (command.type, command.name) == ("command:local:Command", COMMAND)
    return command


def test_without_verify_or_with_after_up_off_nothing_checks_the_lab(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str
) -> None:
    for overrides in ({"verify": None}, {"verify": {"afterUp": False}}):
        settings = config(small_mirror, **overrides)
        if overrides["verify"] is None:
            del settings["metallb-unifi:verify"]
        run = run_program(monkeypatch, settings, preview=False)
        assert not run.of_type(COMPONENT) and "verification" not in run.exports


@pytest.mark.parametrize("preview", [True, False], ids=["preview", "up"])
def test_the_checks_follow_the_services_and_the_gateway_with_the_key_only_in_the_environment(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str, preview: bool
) -> None:
    run = run_program(monkeypatch, config(small_mirror), preview=preview)
    command = the_command(run)
    inputs = command.inputs
    assert inputs["create"] == inputs["update"] == "venv/bin/python -m components.verify --job - --json"
    assert "delete" not in inputs and inputs["addPreviousOutputInEnv"] is False
    # After the gateway's last step and every Service's resources.
    urns = {r.name: r.urn for r in run.registrations}
    assert urns["usg-install"] in command.dependencies
    assert urns["k8s-dashboard-address"] in command.dependencies  # the Service has its address
    environment = inputs["environment"]
    assert is_secret(environment) and unwrap(environment) == {"UNIFI_GATEWAY_SSH_KEY": GATEWAY_KEY}
    for registration in run.registrations:
        clear = json.dumps(without_secrets(registration.inputs), default=str)
        for secret in (*SECRETS, "gateway-key-material-5678"):
            assert secret not in clear, registration.name
    if preview:
        # The addresses of a preview are known here (pinned), the gateway file too; no report yet.
        _, known, _ = resolve(run.exports["verification"])
        assert not known
        return
    job = json.loads(inputs["stdin"])
    assert job["gatewaySsh"] == {
        "host": "192.168.1.1",
        "port": 22,
        "user": "admin",
        "hostKey": _host_key(),
        "auth": "privateKey",
    }
    assert (job["retryFor"], job["required"]) == (90.0, True)
    expected = job["expectations"]
    assert [n["address"] for n in expected["nodes"]] == ["10.10.0.200", "10.10.0.101", "10.10.0.102", "10.10.0.103"]
    assert expected["routes"] == [{"address": "10.10.10.10", "services": ["k8s-dashboard"]}]
    gateway_file, _, _ = resolve(run.exports["configGatewayJson"])
    assert unwrap(inputs["triggers"]) == [hashlib.sha256(gateway_file.encode()).hexdigest()]


def test_a_unifi_os_gateway_is_checked_after_its_apply(monkeypatch: pytest.MonkeyPatch, small_mirror: str) -> None:
    settings = with_small_manifest(
        stack_config(
            REPO / "Pulumi.udm.yaml",
            small_mirror,
            controller={
                "url": "https://192.168.1.1",
                "flavor": "unifi-os",
                "apiKey": "k" * 32,
                "fingerprint": "cd" * 32,
            },
            gatewaySsh={"user": "root", "hostKey": _host_key(), "password": "gw-pw-0042"},
            verify={},
        )
    )
    run = run_program(monkeypatch, settings, preview=False)
    command = the_command(run)
    urns = {r.name: r.urn for r in run.registrations}
    assert urns["unifi-os-bgp-and-dns"] in command.dependencies
    assert unwrap(command.inputs["environment"]) == {"UNIFI_GATEWAY_SSH_PASSWORD": "gw-pw-0042"}
    job = json.loads(command.inputs["stdin"])
    assert job["gatewaySsh"]["auth"] == "password" and (job["retryFor"], job["required"]) == (120.0, False)


def test_without_a_controller_the_checks_follow_the_services(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str
) -> None:
    run = run_program(monkeypatch, config(small_mirror, gateway_controller=False), preview=False)
    command = the_command(run)
    assert command.dependencies and all("usg" not in urn for urn in command.dependencies)


def _report(*statuses: Status) -> str:
    checks = [
        CheckResult(name, status, f"{name} {status.value}", (Item("subject", status is not Status.FAIL, "detail"),))
        for name, status in zip(("sessions", "routes", "dns", "reach"), statuses, strict=True)
    ]
    return json.dumps(Report(tuple(checks)).to_json())


def test_the_report_becomes_the_verification_output_and_a_failure_a_warning(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str
) -> None:
    warnings: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *args, **kwargs: warnings.append(message))
    passed = _report(Status.OK, Status.OK, Status.OK, Status.SKIP)
    run = run_program(monkeypatch, config(small_mirror), preview=False, command_stdouts={COMMAND: passed})
    summary, known, secret = resolve(run.exports["verification"])
    assert known and not secret
    assert summary == {
        "sessions": {"status": "ok", "detail": "sessions ok"},
        "routes": {"status": "ok", "detail": "routes ok"},
        "dns": {"status": "ok", "detail": "dns ok"},
        "reach": {"status": "skip", "detail": "reach skip"},
    }
    assert not [w for w in warnings if "metallb-unifi:verify" in w]

    failed = _report(Status.FAIL, Status.OK, Status.OK, Status.OK)
    run = run_program(monkeypatch, config(small_mirror), preview=False, command_stdouts={COMMAND: failed})
    summary, _, _ = resolve(run.exports["verification"])
    assert summary["sessions"] == {"status": "fail", "detail": "sessions fail"}
    (warning,) = [w for w in warnings if "metallb-unifi:verify" in w]
    assert "FAIL sessions: sessions fail" in warning and "routes" not in warning


def test_output_that_is_no_report_reads_as_a_failed_check(monkeypatch: pytest.MonkeyPatch, small_mirror: str) -> None:
    monkeypatch.setattr(pulumi.log, "warn", lambda *args, **kwargs: None)
    run = run_program(monkeypatch, config(small_mirror), preview=False, command_stdouts={COMMAND: "Traceback ..."})
    summary, _, _ = resolve(run.exports["verification"])
    assert summary["verify"]["status"] == "fail"


def test_a_repair_of_the_gateway_runs_the_checks_again_and_a_look_in_sync_keeps_them_still(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str
) -> None:
    import tests.program_harness as harness
    from components.resources.drift import Observation
    from components.unifi.drift import Drift

    where = "config.gateway.json on unifi.lan:22/srv/unifi/data/sites/default"
    looks = {
        "repair": Observation(where, Drift("repair", "missing"), seen="2026-12-05T01:00:00.000000+00:00"),
        "in sync": Observation(where, Drift("in sync", "as installed"), seen="2026-12-05T01:00:00.000000+00:00"),
    }
    for kind, look in looks.items():
        monkeypatch.setattr(harness, "_OBSERVE_USG", lambda *_args, look=look, **_kwargs: look)
        run = run_program(monkeypatch, config(small_mirror), preview=True, observe_gateway=True)
        checks, provision = the_command(run), run.one("command:local:Command", "usg-provision")
        for command in (checks, provision):  # the same rule as the gateway command's
            marker = unwrap(command.inputs["environment"]).get("METALLB_UNIFI_REPAIR")
            if kind == "repair":
                assert marker == f"{where}: missing (seen 2026-12-05T01:00:00.000000+00:00)"
                assert command.ignore_changes == ()
            else:
                assert marker is None
                assert command.ignore_changes == ("environment.METALLB_UNIFI_REPAIR",)
