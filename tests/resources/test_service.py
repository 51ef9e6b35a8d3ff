"""``LoadBalancedService`` under mocks, in preview and in up: the provider's await is off on the
Service (so that refresh does not check its pods), a command waits for MetalLB's address instead,
and the component's outputs come from the Service's status when it has one, else from what that
command printed."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest

from components.resources.service import printed_ips
from tests.kubernetes.kube_api import TOKEN, write_kubeconfig
from tests.program_harness import ALLOCATED, REPO, Registration, Run, resolve, run_program, stack_config
from tests.resources.conftest import small_mirror, with_small_manifest

__all__ = ["small_mirror"]

CRDS = REPO / "Pulumi.crds.yaml"
SERVICE_TYPES = ("kubernetes:core/v1:Service", "kubernetes:core/v1:ServicePatch")
# Pulumi.crds.yaml: grafana and dns/dns-tcp are pinned, registry is not.
PINNED = {"grafana": "10.20.10.10", "registry": None, "dns": "10.20.0.200", "dns-tcp": "10.20.0.200"}


def crds_config(small_mirror: str, tmp_path: Path, **overrides: Any) -> dict[str, str]:
    kubeconfig = write_kubeconfig(
        tmp_path / "config",
        {"lab": {"server": "https://192.0.2.1:6443"}},
        {"ci": {"token": TOKEN}},
        {"lab": ("lab", "ci")},
        "lab",
    )
    access = {"kubeconfig": str(kubeconfig), "context": "lab", **overrides.pop("kubernetes", {})}
    return with_small_manifest(stack_config(CRDS, small_mirror, kubernetes=access, **overrides))


def services_of(run: Run) -> dict[str, tuple[Registration, Registration]]:
    """Per configured service: (its Service or ServicePatch, its address command)."""
    components = {r.urn: r.name for r in run.of_type("metallb-unifi:kubernetes:LoadBalancedService")}
    kube = {components[r.parent]: r for r in run.registrations if r.type in SERVICE_TYPES and r.parent in components}
    commands = {
        components[r.parent]: r
        for r in run.of_type("command:local:Command")
        if r.parent in components and r.name.endswith("-address")
    }
    assert set(kube) == set(commands) == set(components.values())
    return {name: (kube[name], commands[name]) for name in kube}


def exported(run: Run) -> tuple[dict[str, dict[str, Any]], bool]:
    services, known, _ = resolve(run.exports["services"])
    return services, known


@pytest.mark.parametrize("preview", [True, False], ids=["preview", "up"])
@pytest.mark.parametrize("patched", [None, 1], ids=["all-created", "registry-patched"])
def test_each_service_skips_the_providers_await_and_a_command_waits_for_its_address(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str, tmp_path: Path, preview: bool, patched: int | None
) -> None:
    configured = json.loads(crds_config(small_mirror, tmp_path)["metallb-unifi:services"])
    if patched is not None:
        configured[patched] = {
            **{k: v for k, v in configured[patched].items() if k not in ("ports", "selector")},
            "existing": True,
        }
    config = crds_config(small_mirror, tmp_path, services=configured, kubernetes={"serviceTimeout": "2m"})

    run = run_program(monkeypatch, config, preview=preview)

    registered = services_of(run)
    assert set(registered) == {s["name"] for s in configured}
    for index, name in enumerate(s["name"] for s in configured):
        kube, address = registered[name]
        assert kube.type == SERVICE_TYPES[1 if configured[index].get("existing") else 0]
        metadata, spec = kube.inputs["metadata"], kube.inputs["spec"]
        assert metadata["annotations"]["pulumi.com/skipAwait"] == "true"
        assert "pulumi.com/waitFor" not in metadata["annotations"]
        # Nothing to bound: the create and update return at once; the command bounds the wait.
        assert kube.custom_timeouts == {}

        assert address.name == f"{name}-address"
        assert kube.urn in address.dependencies
        expected = ["venv/bin/python", "-m", "components.kubernetes.service_address"]
        expected += ["--namespace", metadata["namespace"], "--name", metadata["name"]]
        expected += ["--stack-key", f"metallb-unifi:services[{index}]", "--timeout", "120"]
        if (pinned := PINNED[name]) is not None:
            expected += ["--expect", pinned]
        expected += ["--kubeconfig", str(tmp_path / "config"), "--context", "lab"]
        assert shlex.split(address.inputs["create"]) == expected
        assert "update" not in address.inputs and "delete" not in address.inputs
        # Re-created (so run again) on any change of what is applied to the Service.
        (applied,) = address.inputs["triggers"]
        assert json.loads(applied) == {"kind": kube.type.rpartition(":")[2], "metadata": metadata, "spec": spec}
        assert applied == json.dumps(json.loads(applied), sort_keys=True, separators=(",", ":"))
        assert "triggers[*]" in address.replace_on_changes
        assert TOKEN not in json.dumps(address.inputs)


def test_after_a_create_the_address_is_what_the_command_printed(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str, tmp_path: Path
) -> None:
    # skipAwait: the create's answer is the Service as created, without an address.
    run = run_program(monkeypatch, crds_config(small_mirror, tmp_path), preview=False)

    services, known = exported(run)
    assert known
    assert services["registry"] == {
        "ip": ALLOCATED,
        "hostname": "registry.lab.home",
        "alias": "registry",
        "url": "https://registry.lab.home/",
    }
    assert {name: services[name]["ip"] for name in PINNED if PINNED[name]} == {k: v for k, v in PINNED.items() if v}
    gateway, _, _ = resolve(run.exports["configGatewayJson"])
    hosts = json.loads(gateway)["system"]["static-host-mapping"]["host-name"]
    assert hosts["registry.lab.home"]["inet"] == [ALLOCATED]


def test_when_the_services_outputs_have_an_address_it_wins_over_the_commands(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str, tmp_path: Path
) -> None:
    # After an update or a refresh the Service's outputs are the live object: its status is the
    # newer word (the command ran when it was created).
    live = {"registry/registry": "192.0.2.78", "monitoring/grafana": "10.20.10.99"}
    run = run_program(monkeypatch, crds_config(small_mirror, tmp_path), preview=False, service_ips=live)

    services, known = exported(run)
    assert known
    assert services["registry"]["ip"] == "192.0.2.78" and services["registry"]["hostname"] == "registry.lab.home"
    assert services["grafana"]["ip"] == "10.20.10.10"  # a pinned service's IP is its pin


def test_in_preview_an_allocated_address_is_unknown_and_a_pinned_one_known(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str, tmp_path: Path
) -> None:
    # No command runs in preview (pulumi/pulumi-command@v1.2.1:provider/pkg/provider/local/
    # commandController.go Create) and a Service to create has no status: `.apply` callbacks do not run.
    run = run_program(monkeypatch, crds_config(small_mirror, tmp_path), preview=True)

    _, known = exported(run)
    assert not known
    for field in ("ip", "hostname", "alias", "url"):
        _, field_known, _ = resolve(run.exports["services"]["registry"][field])
        assert not field_known, field
    grafana = {field: resolve(run.exports["services"]["grafana"][field]) for field in ("ip", "hostname", "url")}
    assert {field: (value, is_known) for field, (value, is_known, _) in grafana.items()} == {
        "ip": ("10.20.10.10", True),
        "hostname": ("grafana.lab.home", True),
        "url": ("http://grafana.lab.home/", True),
    }
    _, gateway_known, _ = resolve(run.exports["configGatewayJson"])
    assert not gateway_known


def test_the_printed_address_is_read_strictly() -> None:
    assert printed_ips("192.0.2.77") == ["192.0.2.77"]
    assert printed_ips(" 192.0.2.77\n") == ["192.0.2.77"]
    assert printed_ips("") == [] and printed_ips(None) == []
    with pytest.raises(ValueError, match="the address command printed 'waiting…', not IP addresses"):
        printed_ips("waiting…")
