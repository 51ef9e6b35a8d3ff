"""The UniFi OS wiring under Pulumi mocks: one apply/remove command of the program's own
client, its stdin readable in a diff, its secrets only in its environment."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from tests.program_harness import REPO, Run, resolve, run_program, stack_config
from tests.pulumi_values import is_secret, unwrap, without_secrets
from tests.resources.conftest import with_small_manifest

BGP_PASSWORD = "bgp-pw-4711"
CONTROLLER_PASSWORD = "ctl-pw-0815"
COMPONENT = "metallb-unifi:gateway:UnifiOsGatewayConfig"


def udm_config(small_mirror: str, **overrides: Any) -> dict[str, str]:
    controller = {
        "url": "https://192.168.1.1",
        "flavor": "unifi-os",
        "username": "pulumi",
        "password": CONTROLLER_PASSWORD,
        "fingerprint": "cd" * 32,
    }
    settings: dict[str, Any] = {"bgp": {"password": BGP_PASSWORD}, "controller": controller}
    return with_small_manifest(stack_config(REPO / "Pulumi.udm.yaml", small_mirror, **(settings | overrides)))


def the_command(run: Run) -> dict[str, Any]:
    (component,) = run.of_type(COMPONENT)
    (command,) = [r for r in run.registrations if r.parent == component.urn]
    assert command.type == "command:local:Command" and command.name == "unifi-os-bgp-and-dns"
    return command.inputs


@pytest.mark.parametrize("preview", [True, False], ids=["preview", "up"])
def test_apply_and_remove_run_the_client_with_secrets_in_the_environment(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str, preview: bool
) -> None:
    run = run_program(monkeypatch, udm_config(small_mirror), preview=preview)
    inputs = the_command(run)

    prefix = "venv/bin/python -m components.unifi unifi-os"
    common = f"--url https://192.168.1.1 --site default --flavor unifi-os --fingerprint {'cd' * 32} --stack test"
    assert inputs["create"] == inputs["update"] == f"{prefix} apply {common}"
    assert inputs["delete"] == f"{prefix} remove {common}"
    assert "triggers" not in inputs  # a change is an update: a replacement would remove after applying
    assert inputs["logging"] == "stderr"  # stdout holds the state: not echoed
    environment = inputs["environment"]
    assert is_secret(environment)
    bgpd_conf = unwrap(environment)["UNIFI_BGPD_CONF"]
    assert f"password {BGP_PASSWORD}" in bgpd_conf and unwrap(environment)["UNIFI_PASSWORD"] == CONTROLLER_PASSWORD
    for registration in run.registrations:
        clear = json.dumps(without_secrets(registration.inputs), default=str)
        assert BGP_PASSWORD not in clear and CONTROLLER_PASSWORD not in clear, registration.name
    exported, _, secret = resolve(run.exports["bgpdConf"])
    assert secret and exported == bgpd_conf


def test_stdin_shows_the_redacted_config_and_the_records_line_by_line(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str
) -> None:
    run = run_program(monkeypatch, udm_config(small_mirror), preview=False)
    inputs = the_command(run)
    bgpd_conf = unwrap(inputs["environment"])["UNIFI_BGPD_CONF"]

    stdin = inputs["stdin"]
    assert isinstance(stdin, str) and not is_secret(stdin)
    document = json.loads(stdin)
    assert document["description"] == "metallb-unifi stack test"
    assert document["bgpd_conf_sha256"] == hashlib.sha256(bgpd_conf.encode()).hexdigest()
    redacted = bgpd_conf.replace(BGP_PASSWORD, "<secret: metallb-unifi:bgp.password>")
    assert document["bgpd_conf_preview"] == redacted.splitlines()
    records, _, _ = resolve(run.exports["dnsRecords"])
    assert document["records"] == records and records
    assert all(r["record_type"] == "A" for r in records)
    assert len(stdin.splitlines()) > len(bgpd_conf.splitlines())  # one config line per diff line


def test_a_changed_record_updates_the_command_in_place(monkeypatch: pytest.MonkeyPatch, small_mirror: str) -> None:
    first = the_command(run_program(monkeypatch, udm_config(small_mirror), preview=False))
    again = the_command(run_program(monkeypatch, udm_config(small_mirror), preview=False))
    gateway = json.loads(udm_config(small_mirror)["metallb-unifi:gateway"]) | {"dnsDomain": "lab"}
    changed = the_command(run_program(monkeypatch, udm_config(small_mirror, gateway=gateway), preview=False))

    assert unwrap(first) == unwrap(again)
    assert {k for k in first if unwrap(first[k]) != unwrap(changed[k])} == {"stdin"}


def test_without_controller_the_artifacts_are_outputs_only(monkeypatch: pytest.MonkeyPatch, small_mirror: str) -> None:
    config = with_small_manifest(stack_config(REPO / "Pulumi.udm.yaml", small_mirror))
    run = run_program(monkeypatch, config, preview=False)

    assert run.of_type(COMPONENT) == []
    assert "router bgp" in resolve(run.exports["bgpdConf"])[0]
    assert isinstance(resolve(run.exports["dnsRecords"])[0], list)
