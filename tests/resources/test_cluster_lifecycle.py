"""Day 1 and day 2 on the cluster: each test runs the program under mocks (ConfigGroup children
registered as the provider names them) and carries the deployment out with
tests/cluster_engine.py against a model of the cluster's objects."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
import yaml

from tests.blog_post import POST_METALLB_CONFIG
from tests.cluster_engine import Cluster, Deployment, Key, KubernetesEngine, Path, key_of
from tests.conftest import REFERENCE
from tests.program_harness import CONFIG_GROUP, REPO, Registration, run_program, stack_config

pytestmark = pytest.mark.skipif(
    not REFERENCE.is_dir(), reason=f"MetalLB's upstream manifests (served as a mirror) not found at {REFERENCE}"
)

LAB = REPO / "Pulumi.lab.yaml"
CRDS = REPO / "Pulumi.crds.yaml"
CONFIG: Key = ("ConfigMap", "metallb-system", "config")
DASHBOARD: Key = ("Service", "kubernetes-dashboard", "kubernetes-dashboard")
NAMESPACE: Key = ("Namespace", "", "metallb-system")
NAMESPACE_PATCH = "kubernetes:core/v1:NamespacePatch"
NAMESPACE_RESOURCE = "kubernetes:core/v1:Namespace"


def program(monkeypatch: pytest.MonkeyPatch, mirror: str, stack: Any = LAB, **overrides: Any) -> list[Registration]:
    if "metallb" in overrides:
        overrides["metallb"] = {**overrides["metallb"], "manifestMirror": mirror}
    return run_program(monkeypatch, stack_config(stack, mirror, **overrides), preview=False).registrations


def metallb_config(stack: Any = LAB, **changes: Any) -> dict[str, Any]:
    return {**yaml.safe_load(stack.read_text())["config"]["metallb-unifi:metallb"], **changes}


def posts_lab() -> Cluster:
    """The post's cluster as its reader left it: namespace.yaml and metallb.yaml of v0.12.1 applied
    with kubectl (the PodSecurityPolicies fail on Kubernetes ≥ 1.25), the `config` ConfigMap, and
    the dashboard's Service turned into a LoadBalancer with `kubectl patch`."""
    cluster = Cluster()
    cluster.kubectl_apply(yaml.safe_load((REFERENCE / "v0.12.1" / "namespace.yaml").read_text()))
    for doc in yaml.safe_load_all((REFERENCE / "v0.12.1" / "metallb.yaml").read_text()):
        if doc and doc["kind"] != "PodSecurityPolicy":
            cluster.kubectl_apply(doc)
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "config", "namespace": "metallb-system"}}
    cluster.kubectl_apply({**config, "data": {"config": yaml.safe_dump(POST_METALLB_CONFIG, sort_keys=False)}})
    cluster.kubectl_apply(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "kubernetes-dashboard", "namespace": "kubernetes-dashboard"},
            "spec": {"ports": [{"port": 443, "targetPort": 8443}], "selector": {"k8s-app": "kubernetes-dashboard"}},
        }
    )
    cluster.kubectl_patch(DASHBOARD, {("spec", "type"): "LoadBalancer", ("spec", "loadBalancerIP"): "10.10.10.10"})
    return cluster


def uids(cluster: Cluster) -> dict[Key, int]:
    return {key: live.uid for key, live in cluster.objects.items()}


def with_provider(registrations: list[Registration], name: str, **inputs: Any) -> list[Registration]:
    return [
        dataclasses.replace(r, inputs={**r.inputs, **inputs})
        if r.type == "pulumi:providers:kubernetes" and r.name == name
        else r
        for r in registrations
    ]


def todays_registrations(registrations: list[Registration], version: str) -> list[Registration]:
    """What the program before this change registered: the ConfigGroup named after the version
    (children `metallb-<version>:…`), one provider `cluster` without adoption or mutable flags for
    everything, no aliases, nothing retained, Services without `pulumi.com/skipAwait` (nor the
    `pulumi.com/waitFor` that came between), the Namespace a Namespace resource (not a NamespacePatch)."""
    (cluster,) = [r for r in registrations if r.type == "pulumi:providers:kubernetes" and r.name == "cluster"]
    old_name = f"metallb-{version}"
    out = []
    for r in registrations:
        if r.type == "pulumi:providers:kubernetes":
            if r.name == "services":
                continue
            r = dataclasses.replace(r, inputs={})
        name, urn = r.name, r.urn
        if r.type == CONFIG_GROUP:
            name, urn = old_name, urn.rpartition("::")[0] + f"::{old_name}"
        elif name.startswith("metallb:"):
            name = old_name + name[len("metallb") :]
            urn = urn.rpartition("::")[0] + "::" + name
        inputs = r.inputs
        if r.type == NAMESPACE_PATCH:
            r = dataclasses.replace(r, type=NAMESPACE_RESOURCE)
            urn = urn.replace(f"{NAMESPACE_PATCH}::", f"{NAMESPACE_RESOURCE}::")
        if r.type.startswith("kubernetes:core/v1:Service") and "metallb-system" not in str(r.inputs["metadata"]):
            annotations = {k: v for k, v in r.inputs["metadata"]["annotations"].items() if k != "pulumi.com/skipAwait"}
            metadata = {**r.inputs["metadata"], "annotations": annotations}
            if not annotations:
                del metadata["annotations"]
            inputs = {**r.inputs, "metadata": metadata}
        provider = cluster.urn + "::" + cluster.urn.rpartition("::")[2] + "-id" if r.provider else ""
        out.append(
            dataclasses.replace(
                r, name=name, urn=urn, inputs=inputs, aliases=[], retain_on_delete=False, provider=provider
            )
        )
    return out


def test_up_adopts_the_posts_lab_as_it_stands(monkeypatch: pytest.MonkeyPatch, mirror: str) -> None:
    cluster = posts_lab()
    before = uids(cluster)
    registrations = program(monkeypatch, mirror)

    deployment = KubernetesEngine(cluster).up(registrations)

    assert deployment.error is None
    assert cluster.deleted() == [] and cluster.created() == []
    assert {key: uid for key, uid in uids(cluster).items() if key in before} == before
    # The stack's configuration is what MetalLB now reads, and the speaker runs on control planes.
    (configmap,) = [r for r in registrations if r.type == "kubernetes:core/v1:ConfigMap"]
    assert cluster.objects[CONFIG].value("data", "config") == configmap.inputs["data"]["config"]
    tolerations = cluster.objects[("DaemonSet", "metallb-system", "speaker")].value(
        "spec", "template", "spec", "tolerations"
    )
    assert {"effect": "NoSchedule", "key": "node-role.kubernetes.io/control-plane", "operator": "Exists"} in tolerations
    dashboard = cluster.objects[DASHBOARD]
    assert dashboard.value("spec", "type") == "LoadBalancer"
    assert dashboard.value("metadata", "annotations", "pulumi.com/skipAwait") == "true"


def test_adopting_without_force_conflicts_with_kubectls_fields(monkeypatch: pytest.MonkeyPatch, mirror: str) -> None:
    # Why the adopting provider forces: the upsert's apply is not forced by itself.
    registrations = with_provider(program(monkeypatch, mirror), "cluster", enablePatchForce="false")

    deployment = KubernetesEngine(posts_lab()).up(registrations)

    assert deployment.error is not None and "field conflict" in deployment.error
    assert "kubectl-client-side-apply" in deployment.error


def test_a_service_the_stack_creates_that_exists_fails_and_is_not_adopted(
    monkeypatch: pytest.MonkeyPatch, mirror: str
) -> None:
    cluster = Cluster()
    helm_grafana = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "grafana", "namespace": "monitoring", "labels": {"helm.sh/chart": "grafana"}},
        "spec": {"type": "ClusterIP", "ports": [{"port": 80}]},
    }
    cluster.kubectl_apply(helm_grafana)
    before = dict(cluster.objects[("Service", "monitoring", "grafana")].fields)

    deployment = KubernetesEngine(cluster).up(program(monkeypatch, mirror, CRDS))

    assert deployment.error is not None and "AlreadyExists" in deployment.error
    assert "monitoring/grafana" in deployment.error
    assert cluster.objects[("Service", "monitoring", "grafana")].fields == before
    assert cluster.deleted() == []


def test_upgrades_keep_every_object_the_new_release_still_has(monkeypatch: pytest.MonkeyPatch, mirror: str) -> None:
    cluster = posts_lab()
    engine = KubernetesEngine(cluster)
    assert engine.up(program(monkeypatch, mirror)).error is None
    crd_era = metallb_config(version="v0.15.3")

    to_15 = engine.up(program(monkeypatch, mirror, metallb=crd_era))

    assert to_15.error is None
    assert sorted(cluster.deleted()) == sorted(
        [
            ("Role", "metallb-system", "config-watcher"),  # v0.15.3 no longer has these
            ("RoleBinding", "metallb-system", "config-watcher"),
            CONFIG,  # replaced by the CRs
        ]
    )
    crds = {key: live.uid for key, live in cluster.objects.items() if key[0] == "CustomResourceDefinition"}
    assert len(crds) == 9
    assert ("IPAddressPool", "metallb-system", "bgp") in cluster.objects
    kept = uids(cluster)

    to_16 = engine.up(program(monkeypatch, mirror, metallb=crd_era | {"version": "v0.16.1"}))

    assert to_16.error is None
    assert len(cluster.deleted()) == 3 and uids(cluster) == kept
    assert to_16.ops("create") == [] and to_16.ops("delete") == []


@pytest.mark.parametrize(("stack", "version"), [(LAB, "v0.12.1"), (CRDS, "v0.15.3")], ids=["lab", "crds"])
def test_a_stack_deployed_with_todays_names_migrates_without_create_or_delete(
    monkeypatch: pytest.MonkeyPatch, mirror: str, stack: Any, version: str
) -> None:
    cluster = Cluster()
    if stack == LAB:  # the Service the lab patches exists; MetalLB was installed by the stack
        cluster.objects[DASHBOARD] = posts_lab().objects[DASHBOARD]
    engine = KubernetesEngine(cluster)
    registrations = program(monkeypatch, mirror, stack)
    assert engine.up(todays_registrations(registrations, version)).error is None
    before, log = uids(cluster), len(cluster.log)

    migration = engine.up(registrations)

    assert migration.error is None
    assert migration.ops("create") == [] and migration.ops("delete") == [] and migration.ops("replace") == []
    assert [verb for verb, _ in cluster.log[log:] if verb in ("create", "delete")] == []
    assert uids(cluster) == before
    # Turning the mutable flags on updated the providers only: MetalLB's objects are unchanged.
    assert {urn.rpartition("::")[2] for urn in migration.ops("update")} <= {
        r.name for r in registrations if r.type in ("kubernetes:core/v1:Service", "kubernetes:core/v1:ServicePatch")
    }
    # The Namespace resource became a NamespacePatch: found by its alias, same inputs, no step.
    (namespace,) = [urn for op, urn in migration.steps if urn.endswith("::metallb-system")]
    assert (NAMESPACE_PATCH in namespace) and ("same", namespace) in migration.steps
    again = engine.up(registrations)
    assert {op for op, _ in again.steps} == {"same"}


def test_a_changed_configmap_is_updated_in_place(monkeypatch: pytest.MonkeyPatch, mirror: str) -> None:
    cluster = posts_lab()
    engine = KubernetesEngine(cluster)
    assert engine.up(program(monkeypatch, mirror)).error is None
    uid = cluster.objects[CONFIG].uid
    pools = [{"name": "bgp", "protocol": "bgp", "addresses": ["10.10.10.10-10.10.10.200"]}]

    changed = engine.up(program(monkeypatch, mirror, metallb=metallb_config(pools=pools)))

    assert changed.error is None and changed.ops("replace") == []
    assert cluster.objects[CONFIG].uid == uid and cluster.deleted() == []
    assert "10.10.10.10-10.10.10.200" in cluster.objects[CONFIG].value("data", "config")


def test_without_the_mutable_flag_a_changed_configmap_is_deleted_then_created(
    monkeypatch: pytest.MonkeyPatch, mirror: str
) -> None:
    cluster = posts_lab()
    engine = KubernetesEngine(cluster)
    assert (
        engine.up(with_provider(program(monkeypatch, mirror), "cluster", enableConfigMapMutable="false")).error is None
    )
    pools = [{"name": "bgp", "protocol": "bgp", "addresses": ["10.10.10.10-10.10.10.200"]}]
    registrations = program(monkeypatch, mirror, metallb=metallb_config(pools=pools))

    changed = engine.up(with_provider(registrations, "cluster", enableConfigMapMutable="false"))

    assert len(changed.ops("replace")) == 1
    assert [entry for entry in cluster.log if entry[1] == CONFIG][-2:] == [("delete", CONFIG), ("create", CONFIG)]


def test_destroy_keeps_the_namespace_the_crds_and_the_dashboard(monkeypatch: pytest.MonkeyPatch, mirror: str) -> None:
    cluster = posts_lab()
    engine = KubernetesEngine(cluster)
    assert engine.up(program(monkeypatch, mirror)).error is None
    assert engine.up(program(monkeypatch, mirror, metallb=metallb_config(version="v0.15.3"))).error is None
    kept = {k: v for k, v in uids(cluster).items() if k[0] in ("Namespace", "CustomResourceDefinition")}

    destroy: Deployment = engine.destroy()

    assert {k: v for k, v in uids(cluster).items() if k[0] in ("Namespace", "CustomResourceDefinition")} == kept
    assert len(kept) == 10 and len(destroy.ops("retain")) == 10
    left = sorted(k for k in cluster.objects if k[0] not in ("Namespace", "CustomResourceDefinition"))
    assert left == [DASHBOARD]
    # The patch lets go of its fields: the ones `kubectl patch` also set stay, its annotations go.
    dashboard = cluster.objects[DASHBOARD]
    assert dashboard.value("spec", "type") == "LoadBalancer"
    assert dashboard.subtree("metadata", "annotations") == {
        "kubectl.kubernetes.io/last-applied-configuration": dashboard.value(
            "metadata", "annotations", "kubectl.kubernetes.io/last-applied-configuration"
        )
    }
    assert json.loads(dashboard.value("metadata", "annotations", "kubectl.kubernetes.io/last-applied-configuration"))


def services_config(stack: Any, **changes: Any) -> list[dict[str, Any]]:
    """The stack's services, the first one changed by ``changes``."""
    services: list[dict[str, Any]] = yaml.safe_load(stack.read_text())["config"]["metallb-unifi:services"]
    return [{**services[0], **changes}, *services[1:]]


def relabelled(registrations: list[Registration], type_: str, **labels: str) -> list[Registration]:
    """A later program whose Namespace sets more labels (an update of it in place), registered as
    ``type_``: the NamespacePatch of this program, or the Namespace resource it used to be."""
    out = []
    for r in registrations:
        if r.type == NAMESPACE_PATCH:
            metadata = {**r.inputs["metadata"], "labels": {**r.inputs["metadata"]["labels"], **labels}}
            urn = r.urn.replace(f"{NAMESPACE_PATCH}::", f"{type_}::")
            r = dataclasses.replace(r, type=type_, urn=urn, inputs={**r.inputs, "metadata": metadata})
        out.append(r)
    return out


USERS_LABEL = ("metadata", "labels", "monitoring")
USERS_ANNOTATION = ("metadata", "annotations", "owner")
LAST_APPLIED = ("metadata", "annotations", "kubectl.kubernetes.io/last-applied-configuration")


def label_by_hand(cluster: Cluster, key: Key) -> None:
    """`kubectl label … monitoring=prometheus` and `kubectl annotate … owner=me`."""
    cluster.kubectl_patch(key, {USERS_LABEL: "prometheus"}, manager="kubectl-label/Update")
    cluster.kubectl_patch(key, {USERS_ANNOTATION: "me"}, manager="kubectl-annotate/Update")


def test_hand_made_labels_of_the_namespace_survive_every_up(monkeypatch: pytest.MonkeyPatch, mirror: str) -> None:
    cluster = posts_lab()
    label_by_hand(cluster, NAMESPACE)
    engine = KubernetesEngine(cluster)
    kept = {USERS_LABEL: "prometheus", USERS_ANNOTATION: "me", ("metadata", "labels", "app"): "metallb"}

    def hand_made() -> dict[Path, Any]:
        live = cluster.objects[NAMESPACE]
        assert live.value(*LAST_APPLIED) is not None  # kubectl's own, from namespace.yaml
        assert live.value("metadata", "labels", "pod-security.kubernetes.io/enforce") == "privileged"
        return {path: live.fields.get(path) for path in kept}

    assert engine.up(program(monkeypatch, mirror)).error is None  # adoption: an apply, nothing taken over
    assert hand_made() == kept
    assert {op for op, _ in engine.up(program(monkeypatch, mirror)).steps} == {"same"}
    assert engine.up(program(monkeypatch, mirror, metallb=metallb_config(version="v0.15.3"))).error is None
    assert hand_made() == kept
    # A later release that changes the Namespace's own labels updates it in place: still kept.
    later = relabelled(program(monkeypatch, mirror, metallb=metallb_config(version="v0.15.3")), NAMESPACE_PATCH, a="b")
    updated = engine.up(later)
    assert updated.error is None and [u.rpartition("::")[2] for u in updated.ops("update")] == ["metallb-system"]
    assert hand_made() == kept
    assert cluster.objects[NAMESPACE].value("metadata", "labels", "a") == "b"


def test_a_namespace_resource_updated_in_place_removes_kubectls_labels(
    monkeypatch: pytest.MonkeyPatch, mirror: str
) -> None:
    # Why the Namespace is a Patch: the same update of a Namespace resource takes over every
    # kubectl* "Update" manager (await.go fixCSAFieldManagers, prefix match) and its apply then
    # removes what the stack does not set.
    cluster = posts_lab()
    label_by_hand(cluster, NAMESPACE)
    engine = KubernetesEngine(cluster)
    assert engine.up(relabelled(program(monkeypatch, mirror), NAMESPACE_RESOURCE)).error is None
    assert cluster.objects[NAMESPACE].value(*USERS_LABEL) == "prometheus"  # create: an apply, no takeover

    assert engine.up(relabelled(program(monkeypatch, mirror), NAMESPACE_RESOURCE, a="b")).error is None

    live = cluster.objects[NAMESPACE]
    assert live.value(*USERS_LABEL) is None and live.value(*USERS_ANNOTATION) is None
    assert live.value(*LAST_APPLIED) is None and live.value("metadata", "labels", "app") is None


def test_an_update_of_an_adopted_object_drops_what_only_kubectl_set(
    monkeypatch: pytest.MonkeyPatch, mirror: str
) -> None:
    cluster = posts_lab()
    engine = KubernetesEngine(cluster)
    assert engine.up(program(monkeypatch, mirror)).error is None
    assert cluster.objects[CONFIG].value(*LAST_APPLIED) is not None  # the adoption's apply kept it
    pools = [{"name": "bgp", "protocol": "bgp", "addresses": ["10.10.10.10-10.10.10.200"]}]

    assert engine.up(program(monkeypatch, mirror, metallb=metallb_config(pools=pools))).error is None

    # kubectl-client-side-apply was taken over by the update (prefix "kubectl"), then not applied.
    assert cluster.objects[CONFIG].value(*LAST_APPLIED) is None
    assert set(cluster.objects[CONFIG].managers) == {engine.state[_urn(engine, CONFIG)].manager}


def _urn(engine: KubernetesEngine, key: Key) -> str:
    return next(urn for urn, entry in engine.state.items() if key_of(entry.inputs) == key)


def test_a_service_the_stack_created_loses_hand_made_labels_at_its_next_update(
    monkeypatch: pytest.MonkeyPatch, mirror: str
) -> None:
    cluster = Cluster()
    engine = KubernetesEngine(cluster)
    assert engine.up(program(monkeypatch, mirror, CRDS)).error is None
    grafana: Key = ("Service", "monitoring", "grafana")
    label_by_hand(cluster, grafana)
    assert {op for op, _ in engine.up(program(monkeypatch, mirror, CRDS)).steps} == {"same"}
    assert cluster.objects[grafana].value(*USERS_LABEL) == "prometheus"  # no update, nothing taken

    changed = engine.up(program(monkeypatch, mirror, CRDS, services=services_config(CRDS, address="10.20.10.11")))

    assert changed.error is None and [u.rpartition("::")[2] for u in changed.ops("update")] == ["grafana"]
    assert "10.20.10.11" in cluster.objects[grafana].fields.values()  # the address pin (an annotation)
    assert cluster.objects[grafana].value(*USERS_LABEL) is None
    assert cluster.objects[grafana].value(*USERS_ANNOTATION) is None


def test_a_patched_service_keeps_hand_made_labels_through_updates(monkeypatch: pytest.MonkeyPatch, mirror: str) -> None:
    cluster = posts_lab()
    engine = KubernetesEngine(cluster)
    assert engine.up(program(monkeypatch, mirror)).error is None
    label_by_hand(cluster, DASHBOARD)

    changed = engine.up(program(monkeypatch, mirror, services=services_config(LAB, address="10.10.10.11")))

    assert changed.error is None and changed.ops("update")
    dashboard = cluster.objects[DASHBOARD]
    assert dashboard.value("spec", "loadBalancerIP") == "10.10.10.11"
    assert dashboard.value(*USERS_LABEL) == "prometheus" and dashboard.value(*USERS_ANNOTATION) == "me"
    assert (
        dashboard.value(*LAST_APPLIED) is not None
        and dashboard.value("spec", "selector", "k8s-app") == "kubernetes-dashboard"
    )
