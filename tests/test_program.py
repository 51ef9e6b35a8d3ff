"""`__main__.py` under Pulumi mocks, for every shipped stack, in preview and in up."""

from __future__ import annotations

import asyncio
import json
import runpy
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
STACKS = sorted(p.name for p in REPO.glob("Pulumi.*.yaml"))


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append(args)
        return f"{args.name}-id", args.inputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


def stack_config(stack_file: Path) -> dict[str, str]:
    """The config as the engine passes it: objects and lists as JSON text."""
    config = yaml.safe_load(stack_file.read_text())["config"]
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in config.items()}


def resolve(value: Any) -> tuple[Any, bool]:
    """(plain value, is secret) of an export, pulled out of any Output."""
    if not isinstance(value, pulumi.Output):
        return value, False
    loop = asyncio.get_event_loop()
    return loop.run_until_complete(value.future()), loop.run_until_complete(value.is_secret())


def run_program(
    monkeypatch: pytest.MonkeyPatch, config: dict[str, str], *, preview: bool, mocks: RecordingMocks | None = None
) -> tuple[RecordingMocks, dict[str, Any]]:
    mocks = mocks or RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="metallb-unifi", stack="test", preview=preview)
    pulumi.runtime.set_all_config(config)
    exports: dict[str, Any] = {}
    monkeypatch.setattr(pulumi, "export", lambda name, value: exports.__setitem__(name, value))
    monkeypatch.chdir(REPO)
    runpy.run_path(str(REPO / "__main__.py"), run_name="__main__")
    return mocks, exports


@pytest.mark.parametrize("preview", [True, False], ids=["preview", "up"])
@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_exports_its_outputs(monkeypatch: pytest.MonkeyPatch, stack: str, preview: bool) -> None:
    _, exports = run_program(monkeypatch, stack_config(REPO / stack), preview=preview)

    assert {"services", "metallb", "bgp", "gateway"} <= set(exports)
    services, _ = resolve(exports["services"])
    for name, service in services.items():
        assert service["hostname"] is None or service["hostname"].startswith(f"{name}.")
    bgp, _ = resolve(exports["bgp"])
    assert bgp["nodes"]


def test_lab_exports_the_posts_gateway_file_and_dashboard_url(monkeypatch: pytest.MonkeyPatch) -> None:
    _, exports = run_program(monkeypatch, stack_config(REPO / "Pulumi.lab.yaml"), preview=False)

    services, _ = resolve(exports["services"])
    assert services["k8s-dashboard"]["url"] == "http://k8s-dashboard.service/"
    assert services["k8s-dashboard"]["ip"] == "10.10.10.10"
    gateway_json, secret = resolve(exports["configGatewayJson"])
    assert not secret
    document = json.loads(gateway_json)
    assert set(document["protocols"]["bgp"]["64512"]["neighbor"]) == {
        "10.10.0.200",
        "10.10.0.101",
        "10.10.0.102",
        "10.10.0.103",
    }


@pytest.mark.parametrize("preview", [True, False], ids=["preview", "up"])
def test_gateway_file_with_a_password_is_a_secret_output(monkeypatch: pytest.MonkeyPatch, preview: bool) -> None:
    config = stack_config(REPO / "Pulumi.lab.yaml") | {"metallb-unifi:bgp": json.dumps({"password": "pw-123"})}

    _, exports = run_program(monkeypatch, config, preview=preview)

    gateway_json, secret = resolve(exports["configGatewayJson"])
    assert secret
    assert "pw-123" in gateway_json
    for name in ("services", "metallb", "bgp", "gateway"):
        plain, _ = resolve(exports[name])
        assert "pw-123" not in json.dumps(plain)


def test_invalid_config_fails_before_any_resource_with_every_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    config = stack_config(REPO / "Pulumi.lab.yaml") | {
        "metallb-unifi:servces": "[]",
        "metallb-unifi:gateway": json.dumps({"kind": "usg", "asn": 64512, "peerAddress": "192.168.1.300"}),
    }

    mocks = RecordingMocks()
    with pytest.raises(pulumi.RunError) as error:
        run_program(monkeypatch, config, preview=True, mocks=mocks)

    assert mocks.resources == []
    message = str(error.value)
    assert "metallb-unifi:servces: unknown key" in message
    assert "metallb-unifi:gateway.peerAddress" in message
    assert "metallb-unifi:gateway.dnsDomain: is required" in message
