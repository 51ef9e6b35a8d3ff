"""Services: created ones in full, existing ones as patches of only the fields this program
owns, with the address pinned the way the MetalLB release reads it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from components.artifacts.services import RenderedService, render_services, render_services_yaml
from components.config.model import Lab
from components.config.parse import parse_lab
from components.config.stack_files import read_stack_config

REPO = Path(__file__).resolve().parents[2]
PREFIXES = ("metallb.universe.tf", "metallb.io")


def lab_with(services: list[dict[str, Any]], version: str = "v0.16.1") -> Lab:
    return parse_lab(
        {
            "nodes": [{"name": "n1", "address": "10.0.0.11"}],
            "metallb": {
                "version": version,
                "asn": 64513,
                "pools": [
                    {"name": "routed", "protocol": "bgp", "addresses": ["10.10.10.0/24"]},
                    {"name": "lan", "protocol": "layer2", "addresses": ["10.0.0.200-10.0.0.210"], "autoAssign": False},
                ],
            },
            "gateway": {"kind": "usg", "asn": 64512, "peerAddress": "10.0.0.1", "dnsDomain": "lab.home"},
            "services": services,
        },
        stack="lab",
    )


def web(**options: Any) -> dict[str, Any]:
    return {
        "name": "web",
        "namespace": "apps",
        "ports": [{"port": 80, "targetPort": 8080}],
        "selector": {"app": "web"},
        **options,
    }


def existing(**options: Any) -> dict[str, Any]:
    return {
        "name": "dash",
        "namespace": "kube-dash",
        "serviceName": "kubernetes-dashboard",
        "existing": True,
        **options,
    }


def single(lab: Lab) -> RenderedService:
    (rendered,) = render_services(lab)
    return rendered


def annotations_of(manifest: dict[str, Any]) -> dict[str, str]:
    result: dict[str, str] = manifest["metadata"].get("annotations", {})
    return result


def pins(manifest: dict[str, Any]) -> list[str]:
    """Every place the manifest pins an address."""
    found = [f"annotation {k}" for k in annotations_of(manifest) if k.endswith("/loadBalancerIPs")]
    return found + (["spec.loadBalancerIP"] if "loadBalancerIP" in manifest["spec"] else [])


@pytest.mark.parametrize(
    ("version", "prefix"),
    [
        ("v0.13.2", "metallb.universe.tf"),
        ("v0.14.8", "metallb.universe.tf"),
        ("v0.14.9", "metallb.io"),
        ("v0.15.3", "metallb.io"),
        ("v0.16.1", "metallb.io"),
    ],
)
def test_crd_era_pins_the_address_with_the_annotation_of_its_prefix(version: str, prefix: str) -> None:
    manifest = single(lab_with([web(address="10.10.10.20")], version)).manifest

    assert annotations_of(manifest) == {f"{prefix}/loadBalancerIPs": "10.10.10.20"}
    assert pins(manifest) == [f"annotation {prefix}/loadBalancerIPs"]


def test_v0_12_pins_the_address_in_spec_load_balancer_ip() -> None:
    manifest = single(lab_with([web(address="10.10.10.20")], "v0.12.1")).manifest

    assert manifest["spec"]["loadBalancerIP"] == "10.10.10.20"
    assert pins(manifest) == ["spec.loadBalancerIP"]
    assert "annotations" not in manifest["metadata"]


@pytest.mark.parametrize(
    "version", ["v0.12.1", "v0.13.2", "v0.13.9", "v0.13.12", "v0.14.0", "v0.14.8", "v0.14.9", "v0.15.3", "v0.16.1"]
)
@pytest.mark.parametrize("is_existing", [False, True], ids=["created", "existing"])
def test_a_pinned_address_is_pinned_exactly_once(version: str, is_existing: bool) -> None:
    service = existing(address="10.10.10.30") if is_existing else web(address="10.10.10.30")

    assert len(pins(single(lab_with([service], version)).manifest)) == 1


def test_service_without_a_pinned_address_pins_nothing() -> None:
    for version in ("v0.12.1", "v0.16.1"):
        assert pins(single(lab_with([web()], version)).manifest) == []


def test_created_service_is_a_full_load_balancer_service() -> None:
    rendered = single(lab_with([web(address="10.10.10.20", externalTrafficPolicy="Local")]))

    assert (rendered.service_name, rendered.existing) == ("web", False)
    assert rendered.manifest == {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "web",
            "namespace": "apps",
            "labels": {"app.kubernetes.io/managed-by": "metallb-unifi"},
            "annotations": {"metallb.io/loadBalancerIPs": "10.10.10.20"},
        },
        "spec": {
            "type": "LoadBalancer",
            "externalTrafficPolicy": "Local",
            "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}],
            "selector": {"app": "web"},
        },
    }


def test_created_service_keeps_port_names_protocols_and_named_target_ports() -> None:
    ports = [
        {"name": "dns-udp", "port": 53, "protocol": "UDP"},
        {"name": "metrics", "port": 9153, "targetPort": "metrics"},
    ]
    manifest = single(lab_with([web(ports=ports, serviceName="coredns-lb")])).manifest

    assert manifest["metadata"]["name"] == "coredns-lb"
    assert manifest["spec"]["ports"] == [
        {"name": "dns-udp", "port": 53, "targetPort": 53, "protocol": "UDP"},
        {"name": "metrics", "port": 9153, "targetPort": "metrics", "protocol": "TCP"},
    ]
    assert "externalTrafficPolicy" not in manifest["spec"]


def test_lab_stack_patches_the_existing_dashboard_service_with_only_its_owned_fields() -> None:
    lab = parse_lab(read_stack_config(REPO / "Pulumi.lab.yaml"), stack="lab")
    (rendered,) = render_services(lab)

    assert (rendered.service_name, rendered.existing) == ("k8s-dashboard", True)
    assert rendered.manifest == {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "kubernetes-dashboard", "namespace": "kubernetes-dashboard"},
        "spec": {"type": "LoadBalancer", "loadBalancerIP": "10.10.10.10"},
    }


def test_existing_service_patch_never_touches_ports_selector_or_labels() -> None:
    rendered = single(
        lab_with([existing(address="10.0.0.201", pool="lan", sharedIP="k", externalTrafficPolicy="Cluster")])
    )

    assert rendered.existing
    assert rendered.manifest == {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "kubernetes-dashboard",
            "namespace": "kube-dash",
            "annotations": {
                "metallb.io/loadBalancerIPs": "10.0.0.201",
                "metallb.io/address-pool": "lan",
                "metallb.io/allow-shared-ip": "k",
            },
        },
        "spec": {"type": "LoadBalancer", "externalTrafficPolicy": "Cluster"},
    }


def test_existing_service_without_options_is_only_switched_to_load_balancer() -> None:
    manifest = single(lab_with([existing()])).manifest

    assert manifest["metadata"] == {"name": "kubernetes-dashboard", "namespace": "kube-dash"}
    assert manifest["spec"] == {"type": "LoadBalancer"}


@pytest.mark.parametrize(("version", "prefix"), [("v0.12.1", "metallb.universe.tf"), ("v0.14.9", "metallb.io")])
def test_pool_and_shared_ip_are_annotations_with_the_versions_prefix(version: str, prefix: str) -> None:
    services = [
        web(
            name="dns",
            address="10.0.0.200",
            pool="lan",
            sharedIP="dns",
            ports=[{"name": "udp", "port": 53, "protocol": "UDP"}],
        ),
        web(name="dns-tcp", address="10.0.0.200", sharedIP="dns", ports=[{"name": "tcp", "port": 53}]),
    ]
    udp, tcp = (r.manifest for r in render_services(lab_with(services, version)))

    assert annotations_of(udp)[f"{prefix}/address-pool"] == "lan"
    assert annotations_of(udp)[f"{prefix}/allow-shared-ip"] == "dns"
    assert annotations_of(tcp)[f"{prefix}/allow-shared-ip"] == "dns"
    assert f"{prefix}/address-pool" not in annotations_of(tcp)
    other = next(p for p in PREFIXES if p != prefix)
    assert [k for m in (udp, tcp) for k in annotations_of(m) if k.startswith(other)] == []


def test_services_come_in_config_order() -> None:
    services = [web(name="b"), existing(name="a"), web(name="c", serviceName="c-svc")]

    rendered = render_services(lab_with(services))

    assert [(r.service_name, r.existing, r.manifest["metadata"]["name"]) for r in rendered] == [
        ("b", False, "b"),
        ("a", True, "kubernetes-dashboard"),
        ("c", False, "c-svc"),
    ]


def test_yaml_marks_patch_documents_with_a_comment_and_round_trips() -> None:
    lab = lab_with([web(address="10.10.10.20"), existing(address="10.10.10.21")])
    text = render_services_yaml(lab)
    documents = text.split("---\n")[1:]

    assert [r.manifest for r in render_services(lab)] == list(yaml.safe_load_all(text))
    assert len(documents) == 2
    assert not documents[0].startswith("#")
    assert documents[1].startswith("# patch of existing Service kube-dash/kubernetes-dashboard\n")
    assert text.count("# patch of existing Service") == 1


def test_no_services_render_to_an_empty_file() -> None:
    assert render_services(lab_with([])) == []
    assert render_services_yaml(lab_with([])) == ""
