"""Single rules of tests/cluster_engine.py, each against the provider source it cites (issue 16
item 5), on hand-made registrations rather than the program's."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.cluster_engine import Cluster, KubernetesEngine, taken_over
from tests.program_harness import Registration

PROVIDER = "urn:pulumi:test::p::pulumi:providers:kubernetes::k"
MUTABLE = {"enableConfigMapMutable": "true", "enableSecretMutable": "true"}


def provider(**inputs: Any) -> Registration:
    return Registration("pulumi:providers:kubernetes", "k", PROVIDER, "", [], "", inputs)


def resource(type_: str, obj: dict[str, Any], name: str = "r") -> Registration:
    return Registration(
        f"kubernetes:core/v1:{type_}", name, f"urn:pulumi:test::p::{type_}::{name}", "", [], PROVIDER + "::id", obj
    )


def secret(type_: str, value: str) -> dict[str, Any]:
    meta = {"name": "s", "namespace": "ns"}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": type_, "stringData": {"k": value}}


def service(cluster_ip: str | None = None, **spec: Any) -> dict[str, Any]:
    spec = {"ports": [{"port": 80}], **spec}
    if cluster_ip:
        spec["clusterIP"] = cluster_ip
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "ns"}, "spec": spec}


def ops(engine: KubernetesEngine, *registrations: Registration, **config: Any) -> list[str]:
    deployment = engine.up([provider(**config), *registrations])
    assert deployment.error is None, deployment.error
    return [op for op, _ in deployment.steps]


def test_a_secrets_type_replaces_it_even_when_secrets_are_mutable() -> None:
    # provider/pkg/provider/diff.go forceNewProperties: core/v1 Secret lists .type, used when
    # enableSecretMutable is on; only .stringData/.data become updates.
    engine = KubernetesEngine(Cluster())
    ops(engine, resource("Secret", secret("Opaque", "a")), **MUTABLE)
    assert ops(engine, resource("Secret", secret("Opaque", "b")), **MUTABLE) == ["update"]
    assert ops(engine, resource("Secret", secret("kubernetes.io/basic-auth", "b")), **MUTABLE) == ["replace"]


def test_a_services_cluster_ip_replaces_it_but_not_a_patchs() -> None:
    # diff.go forceNew core/v1 Service: .spec.clusterIP; Patch resources: only name and namespace.
    engine = KubernetesEngine(Cluster())
    ops(engine, resource("Service", service("10.96.0.10")))
    assert ops(engine, resource("Service", service("10.96.0.11"))) == ["replace"]
    assert ops(engine, resource("Service", service("10.96.0.11", type="NodePort"))) == ["update"]
    patch = KubernetesEngine(Cluster())
    ops(patch, resource("ServicePatch", service("10.96.0.10")))
    assert ops(patch, resource("ServicePatch", service("10.96.0.11"))) == ["update"]


def test_a_patch_of_a_missing_object_is_an_apply_that_creates_or_fails_validation() -> None:
    # await.go Creation: a Patch resource is a server-side apply, which creates a missing object.
    cluster = Cluster()
    engine = KubernetesEngine(cluster)
    patch = service(type="LoadBalancer")
    del patch["spec"]["ports"]
    deployment = engine.up([provider(), resource("ServicePatch", patch)])
    assert deployment.error is not None and "spec.ports: Required value" in deployment.error
    assert "not found" not in deployment.error and cluster.objects == {}
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "metallb-system", "labels": {"a": "b"}}}
    assert ops(engine, resource("NamespacePatch", namespace)) == ["create"]
    assert cluster.objects[("Namespace", "", "metallb-system")].value("metadata", "labels", "a") == "b"


def kubeconfig(*clusters: str, current: str = "a") -> str:
    return yaml.safe_dump(
        {
            "clusters": [{"name": name, "cluster": {"server": f"https://{name}:6443"}} for name in clusters],
            "contexts": [{"name": "lab", "context": {"cluster": current, "user": "u"}}],
            "current-context": "lab",
            "users": [{"name": "u", "user": {}}],
        }
    )


@pytest.mark.parametrize(
    ("old", "new", "replaced"),
    [
        ({"cluster": "a"}, {}, False),  # the same active cluster, named or not
        ({}, {"cluster": "b"}, True),  # another active cluster
        ({}, {"clusterIdentifier": "one"}, False),  # set for the first time
        ({"clusterIdentifier": "one"}, {}, False),  # unset
        ({"clusterIdentifier": "one"}, {"clusterIdentifier": "two"}, True),  # updated
        ({"clusterIdentifier": "one"}, {"clusterIdentifier": "one", "cluster": "b"}, False),  # kept: no replace
        ({"renderYamlToDirectory": "x"}, {}, True),
    ],
)
def test_the_providers_cluster_and_identifier_replace_only_as_diffconfig_says(
    old: dict[str, str], new: dict[str, str], replaced: bool
) -> None:
    # provider/pkg/provider/provider.go DiffConfig; util.go getActiveClusterFromConfig.
    engine = KubernetesEngine(Cluster())
    config = {"kubeconfig": kubeconfig("a", "b")}
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}}
    ops(engine, resource("Namespace", namespace), **config, **old)
    assert ops(engine, resource("Namespace", namespace), **config, **new) == (["replace"] if replaced else ["same"])


def test_the_diff_compares_the_recorded_live_object_with_the_new_inputs() -> None:
    # provider.go Diff: pruneLiveState(oldLive, oldInputs) against the new inputs. The recorded
    # live object changes only with an operation or a refresh; here a refresh is written by hand.
    cluster = Cluster()
    engine = KubernetesEngine(cluster)
    configmap = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "ns"}}
    registration = resource("ConfigMap", {**configmap, "data": {"k": "a"}})
    ops(engine, registration, **MUTABLE)
    cluster.kubectl_patch(("ConfigMap", "ns", "c"), {("data", "k"): "by hand"})
    assert ops(engine, registration, **MUTABLE) == ["same"]  # not refreshed: the state says "a"

    (entry,) = engine.state.values()
    entry.live[("data", "k")] = "by hand"  # what a refresh records
    entry.live[("data", "other")] = "not in the inputs"  # pruned away: no diff of its own
    assert ops(engine, registration, **MUTABLE) == ["update"]
    assert cluster.objects[("ConfigMap", "ns", "c")].value("data", "k") == "a"

    # Old inputs differ from the new ones, the live object already matches them: no change.
    entry = engine.state[registration.urn]
    entry.live[("data", "k")] = "b"
    assert ops(engine, resource("ConfigMap", {**configmap, "data": {"k": "b"}}), **MUTABLE) == ["same"]


@pytest.mark.parametrize(
    ("manager", "taken"),
    [
        ("kubectl-client-side-apply/Update", True),
        ("kubectl-label/Update", True),
        ("kubectl-annotate/Update", True),
        ("kubectl-edit/Update", True),
        ("kubectl-patch/Update", True),
        ("kubectl/Apply", True),
        ("kubectl-foo/Apply", True),  # "kubectl"/Apply is a prefix too
        ("pulumi-kubernetes.exe/Update", True),
        ("before-first-apply/Update", True),
        ("helm/Update", False),
        ("pulumi-kubernetes-abc123/Apply", False),  # another stack's SSA manager
        ("kube-controller-manager/Update", False),
    ],
)
def test_an_update_takes_over_managers_by_prefix_and_operation(manager: str, taken: bool) -> None:
    # await.go fixCSAFieldManagers (no ExactMatch) and fluxcd/pkg ssa/patch.go matchFieldManager.
    assert taken_over(manager) is taken
