"""Run ``__main__.py`` under Pulumi mocks and record what it registers and exports."""

from __future__ import annotations

import asyncio
import json
import runpy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.stack import wait_for_rpcs

REPO = Path(__file__).resolve().parents[1]
ALLOCATED = "192.0.2.77"  # what the mocked MetalLB hands to Services without a pinned address


@dataclass
class Registration:
    type: str
    name: str
    urn: str
    parent: str
    dependencies: list[str]
    provider: str
    inputs: dict[str, Any]
    delete_before_replace: bool = False


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self, preview: bool = False) -> None:
        self.preview = preview

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        # As in a real preview, a Service that does not exist yet has no status.
        if not self.preview and args.typ in ("kubernetes:core/v1:Service", "kubernetes:core/v1:ServicePatch"):
            state["status"] = {"loadBalancer": {"ingress": [{"ip": ALLOCATED}]}}
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


class RecordingMonitor(MockMonitor):
    """Keeps what MockResourceArgs leaves out: parents, dependencies and providers."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            inputs = pulumi.runtime.rpc.deserialize_properties(request.object, keep_unknowns=True)
            self.registrations.append(
                Registration(
                    request.type,
                    request.name,
                    response.urn,
                    request.parent,
                    sorted(request.dependencies),
                    request.provider,
                    inputs,
                    request.deleteBeforeReplace,
                )
            )
        return response


def stack_config(stack_file: Path, mirror: str, **overrides: Any) -> dict[str, str]:
    """The config as the engine passes it (objects and lists as JSON text), reading MetalLB's
    manifests from the loopback mirror."""
    config = yaml.safe_load(stack_file.read_text())["config"]
    config["metallb-unifi:metallb"] = {**config["metallb-unifi:metallb"], "manifestMirror": mirror}
    config.update({f"metallb-unifi:{key}": value for key, value in overrides.items()})
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in config.items()}


def resolve(value: Any) -> tuple[Any, bool, bool]:
    """(plain value, is known, is secret) of an exported value, pulled out of any Output."""
    if isinstance(value, dict):
        items = {k: resolve(v) for k, v in value.items()}
        return (
            {k: v[0] for k, v in items.items()},
            all(v[1] for v in items.values()),
            any(v[2] for v in items.values()),
        )
    if not isinstance(value, pulumi.Output):
        return value, True, False
    loop = asyncio.get_event_loop()
    return (
        loop.run_until_complete(value.future(with_unknowns=True)),
        loop.run_until_complete(value.is_known()),
        loop.run_until_complete(value.is_secret()),
    )


@dataclass
class Run:
    registrations: list[Registration]
    exports: dict[str, Any]

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def one(self, type_: str, name: str) -> Registration:
        (found,) = [r for r in self.registrations if r.type == type_ and r.name == name]
        return found


def run_program(monkeypatch: pytest.MonkeyPatch, config: dict[str, str], *, preview: bool) -> Run:
    mocks = RecordingMocks(preview)
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project="metallb-unifi", stack="test", preview=preview, monitor=monitor)
    pulumi.runtime.set_all_config(config)
    exports: dict[str, Any] = {}
    monkeypatch.setattr(pulumi, "export", lambda name, value: exports.__setitem__(name, value))
    monkeypatch.chdir(REPO)
    try:
        runpy.run_path(str(REPO / "__main__.py"), run_name="__main__")
        # Let every registration reach the monitor before looking at it.
        asyncio.get_event_loop().run_until_complete(wait_for_rpcs())
    finally:
        pulumi.runtime.settings.reset_options()
    return Run(monitor.registrations, exports)
