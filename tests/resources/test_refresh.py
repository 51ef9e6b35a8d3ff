"""`pulumi refresh` of a deployed lab under the model (tests/cluster_engine.py refresh): what the
provider's Read reports for the Services. They carry `pulumi.com/skipAwait: "true"`, so Read does
not run the provider's Service check (which also wants every endpoint Ready); `up` waits for the
address with its own command instead (components/resources/service.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.cluster_engine import Cluster, KubernetesEngine, key_of, metallb_allocates, refresh
from tests.program_harness import ALLOCATED, REPO, Registration, run_program, stack_config
from tests.resources.conftest import small_mirror, with_small_manifest
from tests.resources.test_service_lifecycle import before_skip_await

__all__ = ["small_mirror"]

GRAFANA = ("Service", "monitoring", "grafana")
SERVICE_TYPES = ("kubernetes:core/v1:Service", "kubernetes:core/v1:ServicePatch")


def registrations(monkeypatch: pytest.MonkeyPatch, mirror: str, **overrides: Any) -> list[Registration]:
    config = with_small_manifest(stack_config(REPO / "Pulumi.crds.yaml", mirror, **overrides))
    return run_program(monkeypatch, config, preview=False).registrations


def deployed_lab(
    monkeypatch: pytest.MonkeyPatch, mirror: str, cluster: Cluster | None = None, **overrides: Any
) -> KubernetesEngine:
    engine = KubernetesEngine(cluster or Cluster())
    deployment = engine.up(registrations(monkeypatch, mirror, **overrides))
    assert deployment.error is None
    assert metallb_allocates(engine.cluster, ALLOCATED)  # MetalLB gave every Service its address
    return engine


def stored_annotations(engine: KubernetesEngine, key: tuple[str, str, str]) -> dict[str, Any]:
    (entry,) = [e for e in engine.state.values() if e.type in SERVICE_TYPES and key_of(e.inputs) == key]
    annotations: dict[str, Any] = entry.inputs["metadata"]["annotations"]
    return annotations


def test_refresh_of_a_healthy_lab_reports_nothing(monkeypatch: pytest.MonkeyPatch, small_mirror: str) -> None:
    engine = deployed_lab(monkeypatch, small_mirror)
    before = dict(engine.state)

    result = refresh(engine)

    assert result.gone == [] and result.unhealthy == {}
    assert engine.state == before


@pytest.mark.parametrize("patched", [False, True], ids=["created", "patched"])
def test_refresh_is_quiet_about_a_service_whose_pods_are_not_ready(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str, patched: bool
) -> None:
    # Crash-looping, still pulling, scaled to zero: `up` accepted the Service once it had its
    # address, and refresh does not second-guess it. Fails if the Services lost skipAwait.
    cluster, overrides = Cluster(), {}
    if patched:  # someone else's grafana, patched: Read awaits by the live kind, v1/Service
        cluster.kubectl_apply(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "grafana", "namespace": "monitoring"},
                "spec": {
                    "ports": [{"port": 80, "targetPort": 3000}],
                    "selector": {"app.kubernetes.io/name": "grafana"},
                },
            }
        )
        services = json.loads(stack_config(REPO / "Pulumi.crds.yaml", small_mirror)["metallb-unifi:services"])
        services[0] = {"name": "grafana", "namespace": "monitoring", "address": "10.20.10.10", "existing": True}
        overrides["services"] = services
    engine = deployed_lab(monkeypatch, small_mirror, cluster, **overrides)
    (entry,) = [e for e in engine.state.values() if e.type in SERVICE_TYPES and key_of(e.inputs) == GRAFANA]
    assert entry.type == SERVICE_TYPES[patched]
    assert stored_annotations(engine, GRAFANA)["pulumi.com/skipAwait"] == "true"

    result = refresh(engine, not_ready=frozenset({GRAFANA}))

    assert result.gone == [] and result.unhealthy == {}


def test_a_stack_deployed_before_skip_await_reports_such_a_service_until_its_next_up(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str
) -> None:
    # What refresh said before: Read ignores pulumi.com/waitFor and runs the Service check
    # (pulumi/pulumi-kubernetes@v4.32.0:provider/pkg/await/await.go Read; await/service.go).
    current = registrations(monkeypatch, small_mirror)
    engine = KubernetesEngine(Cluster())
    assert engine.up(before_skip_await(current)).error is None
    metallb_allocates(engine.cluster, ALLOCATED)

    before = refresh(engine, not_ready=frozenset({GRAFANA}))

    (urn,) = before.unhealthy
    assert urn.endswith("::grafana") and before.unhealthy[urn] == ["Service does not target any Pods"]
    upgraded = engine.up(current)  # updates the Services' annotations
    assert upgraded.error is None
    assert refresh(engine, not_ready=frozenset({GRAFANA})).unhealthy == {}


@pytest.mark.parametrize(
    "stored",
    [{"pulumi.com/skipAwait": "True"}, {"pulumi.com/skipAwait": "yes"}, {}],
    ids=["True", "yes", "absent"],
)
def test_only_skip_await_true_in_the_stored_inputs_skips_the_check(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str, stored: dict[str, str]
) -> None:
    # metadata.SkipAwaitLogic: IsAnnotationTrue, the value == "true", of the inputs Read gets
    # (the stored ones: provider.go Read, oldInputs), not of the live object
    # (pulumi/pulumi-kubernetes@v4.32.0:provider/pkg/metadata/annotations.go, overrides.go).
    engine = deployed_lab(monkeypatch, small_mirror)
    annotations = stored_annotations(engine, GRAFANA)
    del annotations["pulumi.com/skipAwait"]
    annotations.update(stored)
    assert engine.cluster.objects[GRAFANA].value("metadata", "annotations", "pulumi.com/skipAwait") == "true"

    result = refresh(engine, not_ready=frozenset({GRAFANA}))

    (urn,) = result.unhealthy
    assert urn.endswith("::grafana")


def test_refresh_still_reports_a_service_without_its_address_only_through_up(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str
) -> None:
    # With the check off, refresh records the Service as it is live, address or not; `up`'s
    # command is what fails when MetalLB gives none (tests/resources/test_service_lifecycle.py).
    engine = deployed_lab(monkeypatch, small_mirror)
    del engine.cluster.objects[GRAFANA].fields[("status", "loadBalancer", "ingress")]

    assert refresh(engine).unhealthy == {}


def test_refresh_drops_what_was_deleted_behind_the_stacks_back(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str
) -> None:
    engine = deployed_lab(monkeypatch, small_mirror)
    engine.cluster.delete(GRAFANA)

    result = refresh(engine)

    (urn,) = result.gone
    assert urn.endswith("::grafana") and urn not in engine.state
