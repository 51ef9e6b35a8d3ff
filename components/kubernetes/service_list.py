"""List the cluster's Services, as raw API dicts, for discovery (components/discovery).

Why here and not in a command: the gateway's host names depend on the listing, so the program
needs it while it evaluates (preview and up). The kubeconfig is the one the provider gets
(:func:`components.kubernetes.api_client.kubeconfig_configuration`, resolved like client-go);
the official ``kubernetes`` client's typed API sends the requests
(:meth:`components.kubernetes.api_client.ApiClient.list_services`).

Paging: ``limit``/``continue`` as the API defines them (kubernetes-client/python 37.0.2
``kubernetes/client/api/core_v1_api.py`` list_service_for_all_namespaces, ``limit`` and
``continue``): a page's ``metadata.continue`` is set while more items remain; a continued list
is the same snapshot as one unpaged list; an expired token answers 410 ResourceExpired and a
client wanting a consistent list restarts without ``continue``. With ``namespaces`` set, each
is listed on its own (``/api/v1/namespaces/<ns>/services``): a namespace-scoped account cannot
list cluster-wide.

Every failure is a :class:`ServiceListError` whose message says what to fix; a failed listing
is never an empty one. No Pulumi import.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from components.config.model import KubernetesAccess
from components.kubernetes.api_client import ApiClient, InputError, Response, kubeconfig_configuration

PAGE_SIZE = 250
REQUEST_TIMEOUT = 10.0  # seconds per request
DEADLINE = 60.0  # seconds for the whole listing, every page and namespace
MAX_RESTARTS = 2  # fresh starts after an expired continue token (410), per collection


class ServiceListError(Exception):
    """The Services could not be listed; the message names the server and what is missing."""


def _scope(namespace: str | None) -> str:
    return f"in namespace {namespace}" if namespace is not None else "cluster-wide"


def _failure(response: Response, namespace: str | None, server: str) -> ServiceListError:
    what = f"cannot list Services {_scope(namespace)} at {server}: {response.describe()}"
    if response.status == 403:
        hint = (
            f"the kubeconfig's user needs list on services in namespace {namespace}"
            if namespace is not None
            else "the kubeconfig's user needs list on services cluster-wide, or set discovery.namespaces"
        )
        return ServiceListError(f"{what} ({hint})")
    if response.status == 401:
        return ServiceListError(f"{what} (the kubeconfig's credentials were not accepted)")
    return ServiceListError(what)


def _page(response: Response, namespace: str | None, server: str) -> tuple[list[dict[str, Any]], str]:
    """(items, continue token or "") of one 200 answer; anything else is an error."""
    try:
        data = json.loads(response.body)
    except ValueError:
        data = None
    items = data.get("items") if isinstance(data, dict) else None
    metadata = data.get("metadata") if isinstance(data, dict) else None
    if not isinstance(data, dict) or data.get("kind") != "ServiceList" or not isinstance(items, list):
        raise ServiceListError(f"listing Services {_scope(namespace)} at {server}: the answer is not a ServiceList")
    token = metadata.get("continue") if isinstance(metadata, dict) else None
    return [item for item in items if isinstance(item, dict)], token if isinstance(token, str) else ""


def list_collection(
    list_page: Callable[[str | None, int, str], Response],
    namespace: str | None,
    server: str,
    *,
    page_size: int = PAGE_SIZE,
) -> list[dict[str, Any]]:
    """Every Service of one collection, page by page. ``list_page(namespace, limit, token)`` sends
    one GET (:meth:`components.kubernetes.api_client.ApiClient.list_services`)."""
    for _ in range(MAX_RESTARTS + 1):
        items: list[dict[str, Any]] = []
        token, seen = "", set()
        while True:
            response = list_page(namespace, page_size, token)
            if response.status == 410 and token:
                break  # the snapshot expired mid-way: start again for a consistent list
            if response.status != 200:
                raise _failure(response, namespace, server)
            page, token = _page(response, namespace, server)
            items += page
            if not token:
                return items
            if token in seen:  # a server handing out the same token again would loop for ever
                raise ServiceListError(f"listing Services {_scope(namespace)} at {server}: a continue token repeated")
            seen.add(token)
    raise ServiceListError(
        f"listing Services {_scope(namespace)} at {server}: the list kept expiring (410) while paging; retry later"
    )


def list_services(
    access: KubernetesAccess,
    namespaces: Sequence[str],
    environ: Mapping[str, str],
    *,
    page_size: int = PAGE_SIZE,
    request_timeout: float = REQUEST_TIMEOUT,
    deadline: float = DEADLINE,
) -> list[dict[str, Any]]:
    """The Services of ``namespaces`` (each listed on its own, in sorted order), or of the whole
    cluster when it is empty, as the API's JSON objects in the API's order."""
    try:
        with contextlib.ExitStack() as stack:
            configuration = stack.enter_context(kubeconfig_configuration(access.kubeconfig, access.context, environ))
            server = configuration.host
            ends = time.monotonic() + deadline

            def timeout() -> float:
                left = ends - time.monotonic()
                if left <= 0:
                    raise ServiceListError(f"listing Services at {server} took longer than {deadline:.0f}s")
                return min(request_timeout, left)

            client = ApiClient(configuration, request_timeout=timeout)
            stack.callback(client.close)

            def list_page(namespace: str | None, limit: int, token: str) -> Response:
                return client.list_services(namespace, limit=limit, token=token)

            scopes: list[str | None] = list(sorted(set(namespaces))) if namespaces else [None]
            return [item for scope in scopes for item in list_collection(list_page, scope, server, page_size=page_size)]
    except InputError as exc:
        raise ServiceListError(f"cannot list Services: {exc}") from None
