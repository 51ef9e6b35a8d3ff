"""Listing the cluster's Services for discovery, against the loopback API stand-in, through a
kubeconfig resolved as the provider resolves it."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.config.model import KubernetesAccess
from components.kubernetes.service_list import ServiceListError, list_services
from tests.kubernetes.kube_api import TOKEN, free_port, lab_kubeconfig, lb_service, services_api

SERVICES = [
    lb_service("monitoring", "grafana", "192.168.50.201", annotations={"metallb-unifi.io/hostname": "grafana"}),
    lb_service("apps", "registry", "192.168.50.202"),
    lb_service("apps", "api", None),
    lb_service("apps", "internal", None, type_="ClusterIP"),
    lb_service("media", "jellyfin", "192.168.50.203", ports=((8096, "TCP"), (1900, "UDP"))),
]


def names(items: list[dict[str, object]]) -> list[str]:
    return [f"{i['metadata']['namespace']}/{i['metadata']['name']}" for i in items]  # type: ignore[index]


def test_cluster_wide_listing_pages_with_limit_and_continue(tmp_path: Path) -> None:
    with services_api(SERVICES) as api:
        access = KubernetesAccess(kubeconfig=str(api.kubeconfig(tmp_path / "config")))
        items = list_services(access, (), {}, page_size=2)
    # Every item, in the API's key order, exactly as the API sent it (raw dicts, status kept).
    assert names(items) == ["apps/api", "apps/internal", "apps/registry", "media/jellyfin", "monitoring/grafana"]
    assert items[-1] == SERVICES[0]
    assert [r.path for r in api.requests] == ["/api/v1/services"] * 3
    assert [r.query["limit"] for r in api.requests] == [["2"]] * 3
    assert "continue" not in api.requests[0].query
    assert all("continue" in r.query for r in api.requests[1:])
    assert {r.authorization for r in api.requests} == {f"Bearer {TOKEN}"}


def test_namespaces_are_listed_one_by_one_in_sorted_order(tmp_path: Path) -> None:
    with services_api(SERVICES, forbidden={None}) as api:  # a namespace-scoped account
        access = KubernetesAccess(kubeconfig=str(api.kubeconfig(tmp_path / "config")))
        items = list_services(access, ("monitoring", "apps"), {})
    assert names(items) == ["apps/api", "apps/internal", "apps/registry", "monitoring/grafana"]
    assert [r.path for r in api.requests] == [
        "/api/v1/namespaces/apps/services",
        "/api/v1/namespaces/monitoring/services",
    ]


def test_the_kubeconfig_comes_from_the_environment_like_the_providers(tmp_path: Path) -> None:
    with services_api(SERVICES) as api:
        config = api.kubeconfig(tmp_path / "config")
        items = list_services(KubernetesAccess(), (), {"KUBECONFIG": f"{tmp_path / 'missing'}:{config}"})
    assert len(items) == len(SERVICES)


def test_an_expired_continue_token_restarts_the_list(tmp_path: Path) -> None:
    with services_api(SERVICES, expire=1) as api:
        access = KubernetesAccess(kubeconfig=str(api.kubeconfig(tmp_path / "config")))
        items = list_services(access, (), {}, page_size=3)
    assert len(items) == len(SERVICES)  # not the first page twice
    assert ["continue" in r.query for r in api.requests] == [False, True, False, True]


def test_forbidden_cluster_wide_says_which_permission_is_missing(tmp_path: Path) -> None:
    with services_api(SERVICES, forbidden={None}) as api:
        access = KubernetesAccess(kubeconfig=str(api.kubeconfig(tmp_path / "config")))
        with pytest.raises(ServiceListError) as caught:
            list_services(access, (), {})
    assert str(caught.value) == (
        f"cannot list Services cluster-wide at {api.url}: HTTP 403: services is forbidden: User "
        '"system:serviceaccount:ci:lab" cannot list resource "services" in API group "" at the cluster scope '
        "(the kubeconfig's user needs list on services cluster-wide, or set discovery.namespaces)"
    )
    assert TOKEN not in str(caught.value)


def test_forbidden_in_one_namespace_names_it_and_lists_nothing(tmp_path: Path) -> None:
    with services_api(SERVICES, forbidden={"media"}) as api:
        access = KubernetesAccess(kubeconfig=str(api.kubeconfig(tmp_path / "config")))
        with pytest.raises(
            ServiceListError, match=r"the kubeconfig's user needs list on services in namespace media\)$"
        ):
            list_services(access, ("apps", "media"), {})


def test_an_unreachable_server_is_an_error_naming_it(tmp_path: Path) -> None:
    port = free_port()
    server = f"http://127.0.0.1:{port}"
    config = lab_kubeconfig(tmp_path / "c", server)
    with pytest.raises(ServiceListError) as caught:
        list_services(KubernetesAccess(kubeconfig=str(config)), (), {})
    assert str(caught.value) == f"cannot list Services cluster-wide at {server}: connection refused by 127.0.0.1:{port}"


def test_no_kubeconfig_is_an_error_not_an_empty_list(tmp_path: Path) -> None:
    with pytest.raises(ServiceListError, match=r"^cannot list Services: no kubeconfig found at "):
        list_services(KubernetesAccess(), (), {"KUBECONFIG": str(tmp_path / "none")})


def test_an_answer_that_is_not_a_service_list_is_an_error(tmp_path: Path) -> None:
    with services_api([]) as api:
        api.answer = lambda path, query: (200, {"kind": "Status", "items": None})  # type: ignore[method-assign]
        access = KubernetesAccess(kubeconfig=str(api.kubeconfig(tmp_path / "config")))
        with pytest.raises(ServiceListError, match=r"the answer is not a ServiceList$"):
            list_services(access, (), {})
