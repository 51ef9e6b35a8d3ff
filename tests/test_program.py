"""`__main__.py` under Pulumi mocks, for every shipped stack, in preview and in up: what is
registered (types, names, parents, providers, ordering) and what is exported. MetalLB's manifest
is a one-object stand-in (tests/conftest.py), so that these run in a user's clone; the one test of
what MetalLB's own v0.12.1 manifest applies reads it from ../shared."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.blog_post import POST_METALLB_CONFIG
from tests.conftest import REFERENCE, with_small_manifest
from tests.program_harness import (
    ALLOCATED,
    REPO,
    Registration,
    resolve,
    run_program,
    run_program_until_refused,
    stack_config,
)

# The stacks this repository ships, by name: a user's own Pulumi.<stack>.yaml is not a test case.
STACKS = ["Pulumi.crds.yaml", "Pulumi.dualstack.yaml", "Pulumi.lab.yaml", "Pulumi.udm.yaml"]

needs_reference = pytest.mark.skipif(
    not REFERENCE.is_dir(),
    reason=f"MetalLB's upstream manifests not found at {REFERENCE}",
)


def shipped(stack: str, small_mirror: str, **overrides: object) -> dict[str, str]:
    """A shipped stack's config as the engine passes it, installing the one-object manifest."""
    return with_small_manifest(stack_config(REPO / stack, small_mirror, **overrides))


@pytest.mark.parametrize("preview", [True, False], ids=["preview", "up"])
@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_registers_metallb_and_its_services_in_order(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str, stack: str, preview: bool
) -> None:
    lab_stack = yaml.safe_load((REPO / stack).read_text())["config"]
    run = run_program(monkeypatch, shipped(stack, small_mirror), preview=preview)

    (component,) = run.of_type("metallb-unifi:kubernetes:MetalLB")
    adopting = run.one("pulumi:providers:kubernetes", "cluster")
    creating = run.one("pulumi:providers:kubernetes", "services")
    assert len(run.of_type("pulumi:providers:kubernetes")) == 2
    # Only MetalLB's provider adopts existing objects; both update ConfigMaps and Secrets in place.
    assert adopting.inputs["upsertExistingObjects"] == "true" and adopting.inputs["enablePatchForce"] == "true"
    # Off, not unset: unset, the SDK and the provider would read PULUMI_K8S_* (test_provider_settings).
    assert creating.inputs["upsertExistingObjects"] == creating.inputs["enablePatchForce"] == "false"
    for provider in (adopting, creating):
        assert provider.inputs["enableConfigMapMutable"] == provider.inputs["enableSecretMutable"] == "true"
    # A Patch (never taken over for, so users' labels stay), found under its former type's URN.
    (namespace,) = [r for r in run.of_type("kubernetes:core/v1:NamespacePatch") if r.parent == component.urn]
    assert namespace.inputs["metadata"]["name"] == "metallb-system"
    assert namespace.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    assert namespace.retain_on_delete
    assert namespace.aliases == [namespace.urn.replace("core/v1:NamespacePatch::", "core/v1:Namespace::")]
    assert run.of_type("kubernetes:core/v1:Namespace") == []
    (install,) = run.of_type("kubernetes:yaml/v2:ConfigGroup")
    assert install.name == "metallb" and install.inputs["resourcePrefix"] == "metallb"
    assert {namespace.parent, install.parent} == {component.urn}
    assert namespace.urn in install.dependencies
    assert all(o["kind"] != "Namespace" for o in install.inputs["objs"])
    services = run.of_type("metallb-unifi:kubernetes:LoadBalancedService")
    for registration in run.registrations:
        if registration.type.startswith("kubernetes:") and registration.custom:
            provider = creating if registration.parent in {s.urn for s in services} else adopting
            assert registration.provider.startswith(provider.urn + "::"), registration.name

    children = [r for r in run.registrations if r.parent == install.urn]
    assert len(children) == len(install.inputs["objs"])
    configuration = [r for r in run.registrations if r.parent == component.urn and r not in (namespace, install)]
    configuration = [r for r in configuration if r.type != "command:local:Command"]
    if lab_stack["metallb-unifi:metallb"]["version"] == "v0.12.1":
        assert [r.type for r in configuration] == ["kubernetes:core/v1:ConfigMap"]
        assert install.urn in configuration[0].dependencies
        assert [r for r in run.of_type("command:local:Command") if r.parent == component.urn] == []
    else:
        (gate,) = [r for r in run.of_type("command:local:Command") if r.parent == component.urn]
        assert gate.parent == component.urn and install.urn in gate.dependencies
        assert gate.inputs["create"].startswith("venv/bin/python -m components.kubernetes.webhook_gate --timeout 300")
        assert json.loads(gate.inputs["stdin"])["kind"] == "IPAddressPool"
        kinds = {r.inputs.get("kind") for r in configuration if r.type == "kubernetes:metallb.io/v1beta1:IPAddressPool"}
        assert kinds <= {"IPAddressPool"}
        assert {r.type.split(":")[1] for r in configuration} >= {"metallb.io/v1beta1", "metallb.io/v1beta2"}
        for registration in configuration:
            assert gate.urn in registration.dependencies, registration.name

    assert sorted(s.name for s in services) == sorted(s["name"] for s in lab_stack.get("metallb-unifi:services", []))
    config_urns = {r.urn for r in configuration}
    kube_services = run.of_type("kubernetes:core/v1:Service") + run.of_type("kubernetes:core/v1:ServicePatch")
    kube_services = [r for r in kube_services if r.parent != install.urn]
    assert len(kube_services) == len(services)
    for kube_service in kube_services:
        assert kube_service.parent in {s.urn for s in services}
        assert config_urns <= set(kube_service.dependencies)
        assert kube_service.inputs["spec"]["type"] == "LoadBalancer"
        annotations = kube_service.inputs["metadata"]["annotations"]
        # The provider's await is off (refresh would check the pods); a command waits for the address.
        assert annotations["pulumi.com/skipAwait"] == "true" and "pulumi.com/waitFor" not in annotations
        (address,) = [
            r
            for r in run.of_type("command:local:Command")
            if r.parent == kube_service.parent and r.name.endswith("-address")
        ]
        assert kube_service.urn in address.dependencies

    exported, known, _ = resolve(run.exports["services"])
    for name, outputs in exported.items():
        if not preview:
            assert outputs["hostname"].startswith(f"{name}.") and outputs["url"].startswith("http")
    if not preview:
        assert known


@needs_reference
def test_lab_applies_exactly_the_objects_of_metallbs_v0_12_1_manifest(
    monkeypatch: pytest.MonkeyPatch, mirror: str
) -> None:
    run = run_program(monkeypatch, stack_config(REPO / "Pulumi.lab.yaml", mirror), preview=False)

    # Exactly what would be applied from v0.12.1's manifest: no Namespace, no PodSecurityPolicy.
    (install,) = run.of_type("kubernetes:yaml/v2:ConfigGroup")
    children = sorted(r.name for r in run.registrations if r.parent == install.urn)
    assert children == sorted(
        f"metallb:metallb-system/{o['metadata']['name']}"
        if o["kind"] not in ("ClusterRole", "ClusterRoleBinding")
        else f"metallb:{o['metadata']['name']}"
        for o in install.inputs["objs"]
    )
    applied = sorted((o["kind"], o["metadata"]["name"]) for o in install.inputs["objs"])
    assert applied == sorted(
        [
            ("ServiceAccount", "controller"),
            ("ServiceAccount", "speaker"),
            ("ClusterRole", "metallb-system:controller"),
            ("ClusterRole", "metallb-system:speaker"),
            ("Role", "config-watcher"),
            ("Role", "pod-lister"),
            ("Role", "controller"),
            ("ClusterRoleBinding", "metallb-system:controller"),
            ("ClusterRoleBinding", "metallb-system:speaker"),
            ("RoleBinding", "config-watcher"),
            ("RoleBinding", "pod-lister"),
            ("RoleBinding", "controller"),
            ("DaemonSet", "speaker"),
            ("Deployment", "controller"),
        ]
    )


def test_lab_patches_the_dashboard_and_exports_the_posts_gateway_file(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str
) -> None:
    run = run_program(monkeypatch, shipped("Pulumi.lab.yaml", small_mirror), preview=False)

    (install,) = run.of_type("kubernetes:yaml/v2:ConfigGroup")
    (configmap,) = [r for r in run.of_type("kubernetes:core/v1:ConfigMap") if r.parent != install.urn]
    assert yaml.safe_load(configmap.inputs["data"]["config"]) == POST_METALLB_CONFIG

    patch = run.one("kubernetes:core/v1:ServicePatch", "k8s-dashboard")
    assert patch.inputs["metadata"]["name"] == "kubernetes-dashboard"
    assert patch.inputs["metadata"]["namespace"] == "kubernetes-dashboard"
    assert patch.inputs["metadata"]["annotations"] == {
        "pulumi.com/patchForce": "true",
        "pulumi.com/skipAwait": "true",
    }
    assert patch.inputs["spec"] == {"type": "LoadBalancer", "loadBalancerIP": "10.10.10.10"}
    services, known, _ = resolve(run.exports["services"])
    assert known
    assert services["k8s-dashboard"] == {
        "ip": "10.10.10.10",
        "hostname": "k8s-dashboard.service",
        "alias": "k8s-dashboard",
        "url": "http://k8s-dashboard.service/",
    }
    gateway, _, secret = resolve(run.exports["configGatewayJson"])
    assert not secret
    document = json.loads(gateway)
    assert set(document["protocols"]["bgp"]["64512"]["neighbor"]) == {
        "10.10.0.200",
        "10.10.0.101",
        "10.10.0.102",
        "10.10.0.103",
    }


@pytest.mark.parametrize("preview", [True, False], ids=["preview", "up"])
def test_an_allocated_address_reaches_outputs_and_gateway_file_once_known(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str, preview: bool
) -> None:
    run = run_program(monkeypatch, shipped("Pulumi.crds.yaml", small_mirror), preview=preview)

    services, _, _ = resolve(run.exports["services"])
    registry = services["registry"]
    gateway, gateway_known, _ = resolve(run.exports["configGatewayJson"])
    if preview:  # the IP is not known before the Service exists: unknown, and no crash
        assert registry["ip"] is None or not isinstance(registry["ip"], str)
        assert not gateway_known
    else:
        assert registry["ip"] == ALLOCATED
        assert registry["url"] == "https://registry.lab.home/"
        hosts = json.loads(gateway)["system"]["static-host-mapping"]["host-name"]
        assert hosts["registry.lab.home"] == {"alias": ["registry"], "inet": [ALLOCATED]}
        assert hosts["grafana.lab.home"]["inet"] == ["10.20.10.10"]


def test_running_twice_registers_identical_inputs(monkeypatch: pytest.MonkeyPatch, small_mirror: str) -> None:
    config = shipped("Pulumi.crds.yaml", small_mirror)
    first = run_program(monkeypatch, config, preview=False).registrations
    second = run_program(monkeypatch, config, preview=False).registrations

    def key(r: Registration) -> tuple[str, str, str, str]:
        return r.type, r.name, r.parent, json.dumps(r.inputs, sort_keys=True, default=str)

    # Registration order is up to the SDK's event loop; what is registered must not differ.
    assert sorted(map(key, first)) == sorted(map(key, second))
    # 2 providers, MetalLB and its 8 children, the one install object, 4 services with 4 Services,
    # the 4 checks that they do not exist yet and the 4 waits for their addresses
    assert len(first) == 28


@pytest.mark.parametrize("preview", [True, False], ids=["preview", "up"])
def test_a_bgp_password_stays_secret_in_resources_and_outputs(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str, preview: bool
) -> None:
    config = shipped("Pulumi.crds.yaml", small_mirror, bgp={"password": "pw-123", "holdTime": "30s"})

    run = run_program(monkeypatch, config, preview=preview)

    (secret,) = [r for r in run.of_type("kubernetes:core/v1:Secret") if not r.name.startswith("metallb:")]
    assert secret.inputs["type"] == "kubernetes.io/basic-auth"
    _, _, is_secret = resolve(run.exports["configGatewayJson"])
    assert is_secret
    for name in ("services", "metallb", "bgp", "gateway"):
        plain, _, _ = resolve(run.exports[name])
        assert "pw-123" not in json.dumps(plain, default=str)


def test_invalid_config_fails_before_any_resource_with_every_problem(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str
) -> None:
    config = shipped("Pulumi.lab.yaml", small_mirror) | {
        "metallb-unifi:servces": "[]",
        "metallb-unifi:gateway": json.dumps({"kind": "usg", "asn": 64512, "peerAddress": "192.168.1.300"}),
    }
    error, registered = run_program_until_refused(monkeypatch, config, preview=True)

    assert registered == []
    message = str(error)
    assert "metallb-unifi:servces: unknown key" in message
    assert "metallb-unifi:gateway.peerAddress" in message
    assert "metallb-unifi:gateway.dnsDomain: is required" in message


def test_a_changed_upstream_manifest_is_refused_before_any_resource(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str
) -> None:
    config = shipped("Pulumi.crds.yaml", small_mirror)
    metallb = json.loads(config["metallb-unifi:metallb"]) | {"manifestSha256": "0" * 64}
    config["metallb-unifi:metallb"] = json.dumps(metallb)
    error, registered = run_program_until_refused(monkeypatch, config, preview=True)
    assert "refusing to apply a changed upstream file" in str(error)
    assert registered == []


@pytest.mark.parametrize("preview", [True, False], ids=["preview", "up"])
def test_a_misspelt_namespace_fails_before_any_resource_instead_of_dropping_the_services(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str, preview: bool
) -> None:
    config = shipped("Pulumi.lab.yaml", small_mirror)
    config["metalb-unifi:services"] = config.pop("metallb-unifi:services")
    error, registered = run_program_until_refused(monkeypatch, config, preview=preview)

    assert registered == []
    assert str(error) == (
        "invalid stack config (1 problem):\n"
        "  - metalb-unifi:services: namespace 'metalb-unifi' is not this program's (it would be ignored); "
        "did you mean metallb-unifi:services?"
    )
