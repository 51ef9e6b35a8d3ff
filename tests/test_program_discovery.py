"""`__main__.py` with `metallb-unifi:discovery` under Pulumi mocks, for both gateway kinds, in
preview and in up: the cluster is listed (the loopback API stand-in, through the kubeconfig the
provider gets), the discovered names reach the gateway as the declared ones do, and a listing
that fails stops `up` before any resource and leaves a preview's gateway content unknown."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.output import Unknown

from components.config import parse_lab
from components.discovery.rules import discover
from tests.kubernetes.kube_api import ServicesApi, lb_service, services_api
from tests.program_harness import REPO, Registration, Run, resolve, run_program, run_program_until_refused
from tests.pulumi_values import unwrap
from tests.resources.test_unifi_os import udm_config
from tests.resources.test_usg import lab_config, upload_resources

# The USG lab's pool is 10.10.10.10-10.10.10.250 (dnsDomain "service"); the UDM's 10.99.0.0/26.
USG_SERVICES = [
    lb_service("monitoring", "grafana", "10.10.10.20", annotations={"metallb-unifi.io/hostname": "grafana"}),
    lb_service("media", "jellyfin", "10.10.10.21", annotations={"metallb-unifi.io/hostname": "tv"}),
    lb_service("apps", "outside", "172.16.0.5", annotations={"metallb-unifi.io/hostname": "outside"}),
    lb_service("apps", "pending", None, annotations={"metallb-unifi.io/hostname": "pending"}),
]
UDM_SERVICES = [
    lb_service("monitoring", "grafana", "10.99.0.20", annotations={"metallb-unifi.io/hostname": "grafana"}),
]
# The UDM stack's pinned service alone, so that its records are known in a preview too.
UDM_DECLARED = [
    {
        "name": "home-assistant",
        "namespace": "home",
        "address": "10.99.0.10",
        "ports": [{"port": 8123}],
        "selector": {"app": "ha"},
    }
]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[ServicesApi]:
    with services_api(list(USG_SERVICES)) as api:
        api.kubeconfig(tmp_path / "kubeconfig")
        yield api


def kube(api: ServicesApi, tmp_path: Path, **discovery: Any) -> dict[str, Any]:
    return {"kubernetes": {"kubeconfig": str(tmp_path / "kubeconfig")}, "discovery": discovery}


def warnings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    said: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *args, **kwargs: said.append(message))
    return said


def expected_warnings(config: dict[str, str], services: list[dict[str, Any]]) -> list[str]:
    raw = {
        key.removeprefix("metallb-unifi:"): json.loads(value) if value[:1] in "{[" else value
        for key, value in config.items()
    }
    lab = parse_lab(raw, read_file=lambda name: (REPO / name).read_text(encoding="utf-8"), stack="lab")
    return list(discover(lab, services).warnings)


def hosts(run: Run) -> dict[str, Any]:
    text, known, _ = resolve(run.exports["configGatewayJson"])
    assert known
    return dict(json.loads(text)["system"]["static-host-mapping"]["host-name"])


@pytest.mark.parametrize("preview", [True, False], ids=["preview", "up"])
def test_usg_discovered_names_reach_the_gateway_file_the_owned_paths_and_the_outputs(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str, tmp_path: Path, cluster: ServicesApi, preview: bool
) -> None:
    said = warnings(monkeypatch)
    config = lab_config(small_mirror, **kube(cluster, tmp_path))
    run = run_program(monkeypatch, config, preview=preview)

    assert [r.path for r in cluster.requests] == ["/api/v1/services"]
    found = hosts(run)
    assert found["grafana.service"] == {"alias": ["grafana"], "inet": ["10.10.10.20"]}
    assert found["tv.service"] == {"alias": ["tv"], "inet": ["10.10.10.21"]}
    assert found["k8s-dashboard.service"]["inet"] == ["10.10.10.10"]  # the declared one, unchanged
    assert "outside.service" not in found and "pending.service" not in found
    owned = json.loads(upload_resources(run)["usg-original"].inputs["stdin"])["owned"]
    assert ["system", "static-host-mapping", "host-name", "grafana.service"] in owned
    assert ["system", "static-host-mapping", "host-name", "tv.service"] in owned
    discovered, known, _ = resolve(run.exports["discovered"])
    assert known
    assert [(d["service"], d["hostname"]) for d in discovered] == [
        ("monitoring/grafana", "grafana.service"),
        ("media/jellyfin", "tv.service"),
    ]
    # Every warning of the rules reaches the user (the pending Service's among them).
    rule_warnings = expected_warnings(config, USG_SERVICES)
    assert any("apps/pending" in w for w in rule_warnings)
    assert [w for w in said if w in rule_warnings] == rule_warnings


@pytest.mark.parametrize("preview", [True, False], ids=["preview", "up"])
def test_unifi_os_discovered_names_become_dns_records(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str, tmp_path: Path, preview: bool
) -> None:
    with services_api(list(UDM_SERVICES)) as api:
        api.kubeconfig(tmp_path / "kubeconfig")
        config = udm_config(small_mirror, services=UDM_DECLARED, **kube(api, tmp_path))
        run = run_program(monkeypatch, config, preview=preview)

    records, known, _ = resolve(run.exports["dnsRecords"])
    assert known
    by_name = {r["key"]: r["value"] for r in records}
    assert by_name["grafana.k8s.home"] == by_name["grafana"] == "10.99.0.20"
    assert by_name["home-assistant.k8s.home"] == "10.99.0.10"  # the declared ones, unchanged
    assert set(by_name) == {"grafana.k8s.home", "grafana", "home-assistant.k8s.home", "home-assistant"}
    (component,) = run.of_type("metallb-unifi:gateway:UnifiOsGatewayConfig")
    (command,) = [r for r in run.registrations if r.parent == component.urn]
    assert json.loads(command.inputs["stdin"])["records"] == records
    discovered, _, _ = resolve(run.exports["discovered"])
    assert [d["hostname"] for d in discovered] == ["grafana.k8s.home"]


def dual_stack_udm(small_mirror: str, api: ServicesApi, tmp_path: Path) -> dict[str, str]:
    """The UDM stack made dual-stack (FRR mode, IPv6 on the nodes and the gateway, the pool with
    fd00:99::/120 too), discovering."""
    plain = udm_config(small_mirror)
    nodes = [
        {**node, "address6": f"fd00:30::{11 + i}"} for i, node in enumerate(json.loads(plain["metallb-unifi:nodes"]))
    ]
    metallb = json.loads(plain["metallb-unifi:metallb"])
    metallb |= {"mode": "frr", "pools": [{**metallb["pools"][0], "addresses": ["10.99.0.0/26", "fd00:99::/120"]}]}
    gateway = {**json.loads(plain["metallb-unifi:gateway"]), "peerAddress6": "fd00:30::1"}
    edits = {"nodes": nodes, "metallb": metallb, "gateway": gateway, "services": UDM_DECLARED}
    return udm_config(small_mirror, **edits, **kube(api, tmp_path))


@pytest.mark.parametrize("preview", [True, False], ids=["preview", "up"])
def test_a_discovered_dual_stack_service_gets_an_a_and_an_aaaa_record_per_name(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str, tmp_path: Path, preview: bool
) -> None:
    grafana = lb_service("monitoring", "grafana", None, annotations={"metallb-unifi.io/hostname": "grafana"})
    grafana["status"] = {"loadBalancer": {"ingress": [{"ip": "fd00:99::20"}, {"ip": "10.99.0.20"}]}}
    with services_api([grafana]) as api:
        api.kubeconfig(tmp_path / "kubeconfig")
        run = run_program(monkeypatch, dual_stack_udm(small_mirror, api, tmp_path), preview=preview)

    records, known, _ = resolve(run.exports["dnsRecords"])
    assert known
    assert [(r["key"], r["record_type"], r["value"]) for r in records if r.get("discovered")] == [
        ("grafana", "A", "10.99.0.20"),
        ("grafana", "AAAA", "fd00:99::20"),
        ("grafana.k8s.home", "A", "10.99.0.20"),
        ("grafana.k8s.home", "AAAA", "fd00:99::20"),
    ]
    discovered, _, _ = resolve(run.exports["discovered"])
    assert [(d["address"], d["ips"]) for d in discovered] == [
        ("10.99.0.20", {"IPv4": "10.99.0.20", "IPv6": "fd00:99::20"})
    ]


def test_namespaces_are_listed_one_by_one(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str, tmp_path: Path, cluster: ServicesApi
) -> None:
    cluster.forbidden = {None}  # a namespace-scoped account
    config = lab_config(small_mirror, **kube(cluster, tmp_path, namespaces=["monitoring", "apps"]))
    run = run_program(monkeypatch, config, preview=False)

    assert [r.path for r in cluster.requests] == [
        "/api/v1/namespaces/apps/services",
        "/api/v1/namespaces/monitoring/services",
    ]
    assert "grafana.service" in hosts(run) and "tv.service" not in hosts(run)


def test_a_second_up_on_the_same_cluster_registers_identical_inputs(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str, tmp_path: Path, cluster: ServicesApi
) -> None:
    config = lab_config(small_mirror, **kube(cluster, tmp_path))
    first = run_program(monkeypatch, config, preview=False).registrations
    second = run_program(monkeypatch, config, preview=False).registrations

    def key(r: Registration) -> tuple[str, str, str]:
        return r.type, r.name, json.dumps(unwrap(r.inputs), sort_keys=True, default=str)

    assert sorted(map(key, first)) == sorted(map(key, second))
    assert len(cluster.requests) == 2


def test_up_with_a_failing_listing_registers_nothing_and_says_why(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str, tmp_path: Path, cluster: ServicesApi
) -> None:
    cluster.forbidden = {None}
    config = lab_config(small_mirror, **kube(cluster, tmp_path))
    error, registered = run_program_until_refused(monkeypatch, config, preview=False)

    assert registered == []
    assert str(error) == (
        f"metallb-unifi:discovery: cannot list Services cluster-wide at {cluster.url}: HTTP 403: services is "
        'forbidden: User "system:serviceaccount:ci:lab" cannot list resource "services" in API group "" at the '
        "cluster scope (the kubeconfig's user needs list on services cluster-wide, or set discovery.namespaces). "
        "Nothing was changed: without the cluster's Services the gateway would lose every discovered host name"
    )


@pytest.mark.parametrize("kind", ["usg", "unifi-os"])
def test_a_preview_with_a_failing_listing_warns_and_shows_the_gateway_content_unknown(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str, tmp_path: Path, cluster: ServicesApi, kind: str
) -> None:
    cluster.forbidden = {None}
    said = warnings(monkeypatch)
    if kind == "usg":
        config = lab_config(small_mirror, **kube(cluster, tmp_path))
    else:  # only pinned services: without discovery the records would be known in this preview
        config = udm_config(small_mirror, services=UDM_DECLARED, **kube(cluster, tmp_path))
    run = run_program(monkeypatch, config, preview=True)

    (warning,) = [w for w in said if w.startswith("metallb-unifi:discovery:")]
    assert warning.endswith(
        "(the kubeconfig's user needs list on services cluster-wide, or set discovery.namespaces). The discovered "
        "host names are unknown in this preview; `pulumi up` fails until the Services can be listed"
    )
    _, known, _ = resolve(run.exports["discovered"])
    assert not known
    if kind == "usg":
        _, known, _ = resolve(run.exports["configGatewayJson"])
        assert not known
        install = upload_resources(run)["usg-install"]
        assert isinstance(install.inputs["stdin"], Unknown)
        # The claims hold the discovered names: unknown too.
        assert isinstance(upload_resources(run)["usg-provision"].inputs["stdin"], Unknown)
    else:
        _, known, _ = resolve(run.exports["dnsRecords"])
        assert not known
        (component,) = run.of_type("metallb-unifi:gateway:UnifiOsGatewayConfig")
        (command,) = [r for r in run.registrations if r.parent == component.urn]
        assert isinstance(command.inputs["stdin"], Unknown)


def test_without_the_discovery_key_the_cluster_is_not_listed(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str, tmp_path: Path, cluster: ServicesApi
) -> None:
    config = lab_config(small_mirror, kubernetes={"kubeconfig": str(tmp_path / "kubeconfig")})
    run = run_program(monkeypatch, config, preview=False)

    assert cluster.requests == []
    assert "discovered" not in run.exports
    assert set(hosts(run)) == {"k8s-dashboard.service"}
