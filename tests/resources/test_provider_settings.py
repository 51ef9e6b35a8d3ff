"""What the user's environment can change about the two Kubernetes providers: nothing the design
depends on. Every such setting is passed on both providers, so neither the SDK nor the provider
falls back to a PULUMI_K8S_… variable (tests/resources/provider_config.py, sources cited there)."""

from __future__ import annotations

from typing import Any

import pytest

from components.resources.providers import design_settings
from tests.cluster_engine import Cluster, KubernetesEngine
from tests.program_harness import REPO, Registration, run_program, stack_config
from tests.pulumi_values import unwrap
from tests.resources.conftest import small_mirror, with_small_manifest
from tests.resources.provider_config import ENV_SETTINGS, configured

__all__ = ["small_mirror"]

# The SDK's argument names, as the provider's inputs spell them.
DESIGN_KEYS = {
    "enable_server_side_apply": "enableServerSideApply",
    "enable_config_map_mutable": "enableConfigMapMutable",
    "enable_secret_mutable": "enableSecretMutable",
    "upsert_existing_objects": "upsertExistingObjects",
    "enable_patch_force": "enablePatchForce",
    "delete_unreachable": "deleteUnreachable",
    "skip_update_unreachable": "skipUpdateUnreachable",
}
DESIGNED = [ENV_SETTINGS[key][0] for key in DESIGN_KEYS.values()]


def _providers(monkeypatch: pytest.MonkeyPatch, mirror: str) -> dict[str, dict[str, Any]]:
    config = with_small_manifest(stack_config(REPO / "Pulumi.lab.yaml", mirror))
    run = run_program(monkeypatch, config, preview=False)
    providers: list[Registration] = run.of_type("pulumi:providers:kubernetes")
    return {p.name: unwrap(p.inputs) for p in providers}


def _clear(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable, _ in ENV_SETTINGS.values():
        monkeypatch.delenv(variable, raising=False)


def test_every_setting_the_design_depends_on_is_passed_on_both_providers(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str
) -> None:
    _clear(monkeypatch)
    providers = _providers(monkeypatch, small_mirror)
    for name, adopt in (("cluster", True), ("services", False)):
        inputs = providers[name]
        expected = design_settings(adopt=adopt)
        for argument, key in DESIGN_KEYS.items():
            assert inputs.get(key) == ("true" if expected[argument] else "false"), (name, key)  # type: ignore[literal-required]
            # What the provider then runs with, whatever the environment says.
            for value in ("true", "false"):
                assert configured(inputs, key, {ENV_SETTINGS[key][0]: value}) is expected[argument]  # type: ignore[literal-required]


@pytest.mark.parametrize("value", ["true", "false"])
def test_exported_variables_change_nothing(monkeypatch: pytest.MonkeyPatch, small_mirror: str, value: str) -> None:
    _clear(monkeypatch)
    baseline = _providers(monkeypatch, small_mirror)
    for variable in DESIGNED:
        monkeypatch.setenv(variable, value)
    monkeypatch.setenv("KUBE_CONTEXT", "elsewhere")  # read by neither the SDK nor the provider

    exported = _providers(monkeypatch, small_mirror)

    assert exported == baseline


def test_the_provider_prefers_its_config_to_the_environment() -> None:
    # provider.go Configure: set → that value; unset → the variable; neither → the default.
    assert (
        configured(
            {"upsertExistingObjects": "false"}, "upsertExistingObjects", {"PULUMI_K8S_UPSERT_EXISTING_OBJECTS": "true"}
        )
        is False
    )
    assert configured({}, "upsertExistingObjects", {"PULUMI_K8S_UPSERT_EXISTING_OBJECTS": "true"}) is True
    assert configured({}, "enableServerSideApply", {"PULUMI_K8S_ENABLE_SERVER_SIDE_APPLY": "false"}) is False
    assert configured({}, "enableServerSideApply", {}) is True
    # The provider compares with "true" only (the SDK would also have read "1" as true).
    assert configured({}, "enablePatchForce", {"PULUMI_K8S_ENABLE_PATCH_FORCE": "1"}) is False


def _service_to_create() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "grafana", "namespace": "monitoring"},
        "spec": {"type": "ClusterIP", "ports": [{"port": 80}]},
    }


def _services_only(registrations: list[Registration]) -> list[Registration]:
    kinds = ("pulumi:providers:kubernetes", "kubernetes:core/v1:Service", "kubernetes:core/v1:ServicePatch")
    return [r for r in registrations if r.type in kinds]


@pytest.mark.parametrize("exported", [False, True], ids=["no-variables", "variables-exported"])
def test_under_the_model_exported_variables_neither_adopt_nor_break_patches(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str, exported: bool
) -> None:
    _clear(monkeypatch)
    config = with_small_manifest(
        stack_config(
            REPO / "Pulumi.lab.yaml",
            small_mirror,
            services=[
                {
                    "name": "k8s-dashboard",
                    "namespace": "kubernetes-dashboard",
                    "serviceName": "kubernetes-dashboard",
                    "existing": True,
                    "address": "10.10.10.10",
                },
                {"name": "grafana", "namespace": "monitoring", "ports": [{"port": 80}], "selector": {"app": "g"}},
            ],
        )
    )
    registrations = _services_only(run_program(monkeypatch, config, preview=False).registrations)
    if exported:
        monkeypatch.setenv("PULUMI_K8S_UPSERT_EXISTING_OBJECTS", "true")
        monkeypatch.setenv("PULUMI_K8S_ENABLE_PATCH_FORCE", "true")
        monkeypatch.setenv("PULUMI_K8S_ENABLE_SERVER_SIDE_APPLY", "false")
    cluster = Cluster()
    cluster.kubectl_apply(
        {**_service_to_create(), "metadata": {"name": "kubernetes-dashboard", "namespace": "kubernetes-dashboard"}}
    )
    cluster.kubectl_apply(_service_to_create())

    patch_only = [r for r in registrations if r.type != "kubernetes:core/v1:Service"]
    patched = KubernetesEngine(cluster).up(patch_only)
    before = dict(cluster.objects[("Service", "monitoring", "grafana")].fields)
    deployment = KubernetesEngine(cluster).up(registrations)

    # The patch went through with server-side apply; `grafana` was not adopted.
    assert patched.error is None
    assert ("apply", ("Service", "kubernetes-dashboard", "kubernetes-dashboard")) in cluster.log
    assert deployment.error is not None and "AlreadyExists" in deployment.error
    assert "monitoring/grafana" in deployment.error
    assert cluster.objects[("Service", "monitoring", "grafana")].fields == before
