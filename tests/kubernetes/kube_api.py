"""Loopback stand-ins for the Kubernetes API server, and what the tests need to reach them.

:func:`fake_api` answers every request with the next scripted (status, body), for the webhook
gate, the Service check and the wait for a Service's address. :func:`services_api` serves Service
collections with paging, for the Service listing. :func:`objects_api` serves single Services (and
their Events) from a model of the cluster, as they are at each request, for the wait for an
address run by the lifecycle tests.

Service shapes: the ``kubernetes`` client 37.0.2 models (``kubernetes/client/models/v1_service_list.py``,
``v1_list_meta.py``, ``v1_service.py``, ``v1_service_spec.py``, ``v1_load_balancer_ingress.py``):
a ``ServiceList`` has apiVersion v1, kind ServiceList, metadata.resourceVersion, and
metadata.continue / remainingItemCount while more items remain; its items carry no kind or
apiVersion (the API server leaves them out of list items). Items come in key order
(namespace, name), as the API server's storage returns them. A refused list is a ``Status`` with
the API server's forbidden wording; an expired token a 410 ``Expired`` Status.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import socket
import ssl
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, TypeVar

import yaml

from tests.loopback_http import serving

TOKEN = "s3cr3t-token-value-0123456789"
RESOURCE_VERSION = "48213"


def write_kubeconfig(
    path: Path,
    clusters: dict[str, dict[str, object]],
    users: dict[str, dict[str, object]],
    contexts: dict[str, tuple[str, str]],
    current: str | None,
) -> Path:
    config: dict[str, object] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": body} for name, body in clusters.items()],
        "users": [{"name": name, "user": body} for name, body in users.items()],
        "contexts": [{"name": name, "context": {"cluster": c, "user": u}} for name, (c, u) in contexts.items()],
    }
    if current:
        config["current-context"] = current
    path.write_text(yaml.safe_dump(config))
    return path


# --- discovery --------------------------------------------------------------------------------
# What the official client's DynamicClient asks before it sends an object (kubernetes 37.0.2
# kubernetes/dynamic/discovery.py, LazyDiscoverer): /version and /apis when it starts and whenever
# a search finds nothing, then /apis/<group>/<version> (/api/v1 for the core group) the first time
# it searches that version.
#
# Document shapes: the Kubernetes API reference, meta/v1 (kubernetes.io/docs/reference/
# kubernetes-api/definitions/): APIVersions at /api (versions, serverAddressByClientCIDRs),
# APIGroupList and APIGroup at /apis and /apis/<group> (name, versions of {groupVersion, version},
# preferredVersion), APIResourceList at /api/v1 and /apis/<group>/<version> (groupVersion,
# resources of {name, singularName, namespaced, kind, verbs, shortNames, categories,
# storageVersionHash}); /version is version.Info (k8s.io/apimachinery pkg/version/types.go).
#
# What a CRD adds (kubernetes/kubernetes staging/src/k8s.io/apiextensions-apiserver/pkg/apiserver/
# customresource_discovery_controller.go, sync): nothing until it is Established; then its group
# at /apis with the served versions in kube-aware order, the first one preferred, and for each
# served version a resource named by spec.names.plural with the eight verbs below and the hash of
# the storage version (k8s.io/apiserver pkg/endpoints/discovery/storageversionhash.go), plus
# "<plural>/status" (singularName "", verbs get/patch/update) with the status subresource. A path
# nothing serves answers 404 with a NotFound Status that names no resource.

CRD_VERBS = ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"]
NOT_FOUND = {
    "kind": "Status",
    "apiVersion": "v1",
    "metadata": {},
    "status": "Failure",
    "message": "the server could not find the requested resource",
    "reason": "NotFound",
    "details": {},
    "code": 404,
}
# version.Info's fields; the values are made up (DynamicClient only keeps them).
VERSION = {
    "major": "1",
    "minor": "33",
    "emulationMajor": "1",
    "emulationMinor": "33",
    "minCompatibilityMajor": "1",
    "minCompatibilityMinor": "32",
    "gitVersion": "v1.33.1",
    "gitCommit": "0123456789abcdef0123456789abcdef01234567",
    "gitTreeState": "clean",
    "buildDate": "2025-05-15T00:00:00Z",
    "goVersion": "go1.24.2",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def storage_version_hash(group: str, version: str, kind: str) -> str:
    """The API server's opaque storage version hash: base64 of the first 8 bytes of sha256("group/version/kind")."""
    return base64.b64encode(hashlib.sha256(f"{group}/{version}/{kind}".encode()).digest()[:8]).decode()


# The core group's resource list, cut to the one resource the tests use (kubectl get --raw /api/v1
# lists ConfigMap this way: short name cm, every verb, the hash of /v1/ConfigMap).
CORE_V1 = {
    "kind": "APIResourceList",
    "groupVersion": "v1",
    "resources": [
        {
            "name": "configmaps",
            "singularName": "configmap",
            "namespaced": True,
            "kind": "ConfigMap",
            "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
            "shortNames": ["cm"],
            "storageVersionHash": storage_version_hash("", "v1", "ConfigMap"),
        }
    ],
}
API_VERSIONS = {
    "kind": "APIVersions",
    "versions": ["v1"],
    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "10.0.0.1:6443"}],
}


@dataclass(frozen=True)
class Crd:
    """What discovery shows of a CustomResourceDefinition: spec.group, spec.names, spec.scope, the
    served versions (spec.versions[].served) and the storage one."""

    group: str
    kind: str
    plural: str
    singular: str
    versions: tuple[str, ...]
    storage: str
    namespaced: bool = True
    status: bool = True  # the versions have the status subresource


def _metallb(kind: str, plural: str, *versions: str) -> Crd:
    return Crd("metallb.io", kind, plural, kind.lower(), versions or ("v1beta1",), (versions or ("v1beta1",))[-1])


# MetalLB v0.16.1's CRDs (config/manifests/metallb-native.yaml: every one namespaced, with the
# status subresource, no short names or categories; BGPPeer serves v1beta1 and stores v1beta2).
# test_webhook_gate compares this table with the reference manifests when they are at hand.
METALLB_CRDS = (
    _metallb("BFDProfile", "bfdprofiles"),
    _metallb("BGPAdvertisement", "bgpadvertisements"),
    _metallb("BGPPeer", "bgppeers", "v1beta1", "v1beta2"),
    _metallb("Community", "communities"),
    _metallb("ConfigurationState", "configurationstates"),
    _metallb("IPAddressPool", "ipaddresspools"),
    _metallb("L2Advertisement", "l2advertisements"),
    _metallb("ServiceBGPStatus", "servicebgpstatuses"),
    _metallb("ServiceL2Status", "servicel2statuses"),
)


def _kube_aware(version: str) -> tuple[int, int, int]:
    """Sort key, most preferred first: GA before beta before alpha, then higher numbers first
    (k8s.io/apimachinery pkg/version/helpers.go, CompareKubeAwareVersionStrings)."""
    match = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    assert match, version
    stage = {None: 0, "beta": 1, "alpha": 2}[match[2]]
    return stage, -int(match[1]), -int(match[3] or 0)


def _group(group: str, crds: Sequence[Crd]) -> dict[str, Any]:
    served = sorted({v for crd in crds if crd.group == group for v in crd.versions}, key=_kube_aware)
    versions = [{"groupVersion": f"{group}/{v}", "version": v} for v in served]
    return {"name": group, "versions": versions, "preferredVersion": versions[0]}


def _resources(group: str, version: str, crds: Sequence[Crd]) -> list[dict[str, Any]]:
    resources: list[dict[str, Any]] = []
    for crd in crds:
        if crd.group != group or version not in crd.versions:
            continue
        resources.append(
            {
                "name": crd.plural,
                "singularName": crd.singular,
                "namespaced": crd.namespaced,
                "kind": crd.kind,
                "verbs": CRD_VERBS,
                "storageVersionHash": storage_version_hash(group, crd.storage, crd.kind),
            }
        )
        if crd.status:
            resources.append(
                {
                    "name": f"{crd.plural}/status",
                    "singularName": "",
                    "namespaced": crd.namespaced,
                    "kind": crd.kind,
                    "verbs": ["get", "patch", "update"],
                }
            )
    return resources


def discovery_document(path: str, crds: Sequence[Crd]) -> tuple[int, dict[str, Any]] | None:
    """The answer to a GET of ``path`` if it is a discovery path, with ``crds`` established; None
    for any other path."""
    if path == "/version":
        return 200, VERSION
    if path == "/api":
        return 200, API_VERSIONS
    if path == "/api/v1":
        return 200, {"apiVersion": "v1", **CORE_V1}
    segments = path.strip("/").split("/")
    if segments[0] != "apis" or len(segments) > 3:
        return None
    groups = sorted({crd.group for crd in crds})
    if len(segments) == 1:
        return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group(g, crds) for g in groups]}
    group = segments[1]
    if group not in groups:
        return 404, NOT_FOUND
    if len(segments) == 2:
        return 200, {"kind": "APIGroup", "apiVersion": "v1", **_group(group, crds)}
    resources = _resources(group, segments[2], crds)
    if not resources:
        return 404, NOT_FOUND
    return 200, {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{segments[2]}",
        "resources": resources,
    }


# --- a scripted stand-in for the API server ---------------------------------------------------


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeApi:
    """Answers each object request with the next scripted (status, body), the last one repeating,
    and discovery (:func:`discovery_document`) as an API server with ``crds`` established, once
    ``hidden`` group lists (GET /apis) have left them out: a CRD that is being installed. A path
    in ``paths`` has a script of its own (e.g. a Service's events beside the Service). Object
    requests are in ``seen``, discovery requests in ``discovery``."""

    script: list[tuple[int, str]]
    crds: tuple[Crd, ...] = METALLB_CRDS
    hidden: int = 0
    seen: list[Seen] = field(default_factory=list)
    discovery: list[Seen] = field(default_factory=list)
    port: int = 0
    tls: ssl.SSLContext | None = None
    paths: dict[str, list[tuple[int, str]]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def answer(self, seen: Seen) -> tuple[int, str]:
        if seen.method == "GET":
            if seen.path == "/apis":
                self.hidden -= 1
            found = discovery_document(seen.path, self.crds if self.hidden < 0 else ())
            if found is not None:
                self.discovery.append(seen)
                return found[0], json.dumps(found[1])
        self.seen.append(seen)
        script = self.paths.get(seen.path, self.script)
        count = sum(
            1 for s in self.seen if (s.path == seen.path if seen.path in self.paths else s.path not in self.paths)
        )
        return script[min(count, len(script)) - 1]


@contextlib.contextmanager
def fake_api(
    *script: tuple[int, str],
    tls: ssl.SSLContext | None = None,
    crds: tuple[Crd, ...] = METALLB_CRDS,
    hidden: int = 0,
    paths: Mapping[str, Sequence[tuple[int, str]]] | None = None,
) -> Iterator[FakeApi]:
    api = FakeApi(list(script), crds, hidden, tls=tls, paths={p: list(s) for p, s in (paths or {}).items()})
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def handle_any(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            parts = urllib.parse.urlsplit(self.path)
            with lock:
                headers = {key.lower(): value for key, value in self.headers.items()}
                seen = Seen(self.command, parts.path, urllib.parse.parse_qs(parts.query), headers, body)
                status, text = api.answer(seen)
            payload = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_POST = do_PATCH = do_GET = handle_any

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serving(Handler, tls) as port:
        api.port = port
        yield api


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# --- Service collections ----------------------------------------------------------------------


def lb_service(
    namespace: str,
    name: str,
    ip: str | None,
    *,
    annotations: Mapping[str, str] | None = None,
    ports: Sequence[tuple[int, str]] = ((443, "TCP"),),
    type_: str = "LoadBalancer",
) -> dict[str, Any]:
    """One Service as the API returns it in a list."""
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{namespace}/{name}")),
        "resourceVersion": "41007",
        "creationTimestamp": "2024-05-02T09:14:11Z",
    }
    if annotations:
        metadata["annotations"] = dict(annotations)
    spec: dict[str, Any] = {
        "type": type_,
        "clusterIP": "10.96.14.7",
        "clusterIPs": ["10.96.14.7"],
        "ipFamilies": ["IPv4"],
        "ipFamilyPolicy": "SingleStack",
        "ports": [{"name": f"p{port}", "port": port, "protocol": proto, "targetPort": port} for port, proto in ports],
        "selector": {"app": name},
        "sessionAffinity": "None",
    }
    if type_ == "LoadBalancer":
        spec |= {"allocateLoadBalancerNodePorts": True, "externalTrafficPolicy": "Cluster"}
    status: dict[str, Any] = {"loadBalancer": {}}
    if ip is not None and type_ == "LoadBalancer":
        status = {"loadBalancer": {"ingress": [{"ip": ip, "ipMode": "VIP"}]}}
    return {"metadata": metadata, "spec": spec, "status": status}


def forbidden(namespace: str | None) -> dict[str, Any]:
    where = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f'services is forbidden: User "system:serviceaccount:ci:lab" cannot list resource "services" '
        f'in API group "" {where}',
        "reason": "Forbidden",
        "details": {"kind": "services"},
        "code": 403,
    }


EXPIRED = {
    "kind": "Status",
    "apiVersion": "v1",
    "metadata": {},
    "status": "Failure",
    "message": "The provided continue parameter is too old to display a consistent list result. You can start a "
    "new list without the continue parameter.",
    "reason": "Expired",
    "code": 410,
}


@dataclass(frozen=True)
class Request:
    path: str
    query: dict[str, list[str]]
    authorization: str


def lab_kubeconfig(path: Path, server: str) -> Path:
    """A kubeconfig of one context, ``lab``, reaching ``server`` as user ``ci`` with :data:`TOKEN`."""
    return write_kubeconfig(path, {"lab": {"server": server}}, {"ci": {"token": TOKEN}}, {"lab": ("lab", "ci")}, "lab")


@dataclass(kw_only=True)
class _Served:
    """A loopback API stand-in: what it was asked, and the port it answers on (see :func:`_answering`)."""

    requests: list[Request] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kubeconfig(self, path: Path) -> Path:
        return lab_kubeconfig(path, self.url)

    def answer(self, path: str, query: Mapping[str, list[str]]) -> tuple[int, dict[str, Any]]:
        raise NotImplementedError


@dataclass
class ServicesApi(_Served):
    services: list[dict[str, Any]]
    forbidden: set[str | None] = field(default_factory=set)  # namespaces refused; None = cluster-wide
    expire: int = 0  # how many continued requests answer 410 first

    def answer(self, path: str, query: Mapping[str, list[str]]) -> tuple[int, dict[str, Any]]:
        if path == "/api/v1/services":
            namespace = None
        elif path.startswith("/api/v1/namespaces/") and path.endswith("/services") and path.count("/") == 5:
            namespace = urllib.parse.unquote(path.split("/")[4])
        else:
            return 404, {"kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404}
        if namespace in self.forbidden:
            return 403, forbidden(namespace)
        token = query.get("continue", [""])[0]
        if token and self.expire > 0:
            self.expire -= 1
            return 410, EXPIRED
        keyed = sorted(
            (f"{s['metadata']['namespace']}/{s['metadata']['name']}", s)
            for s in self.services
            if namespace is None or s["metadata"]["namespace"] == namespace
        )
        start = json.loads(base64.b64decode(token))["start"] if token else ""
        remaining = [s for key, s in keyed if key >= start]
        limit = int(query.get("limit", ["0"])[0])
        page, rest = (remaining[:limit], remaining[limit:]) if limit else (remaining, [])
        metadata: dict[str, Any] = {"resourceVersion": RESOURCE_VERSION}
        if rest:
            first = f"{rest[0]['metadata']['namespace']}/{rest[0]['metadata']['name']}"
            # The API server's token: base64 of {"v", "rv", "start"} (opaque to clients).
            state = {"v": "meta.k8s.io/v1", "rv": int(RESOURCE_VERSION), "start": first}
            metadata |= {
                "continue": base64.b64encode(json.dumps(state).encode()).decode(),
                "remainingItemCount": len(rest),
            }
        return 200, {"kind": "ServiceList", "apiVersion": "v1", "metadata": metadata, "items": page}


@contextlib.contextmanager
def services_api(services: list[dict[str, Any]], **options: Any) -> Iterator[ServicesApi]:
    with _answering(ServicesApi(services, **options)) as api:
        yield api


# --- objects served from a model of the cluster -----------------------------------------------


def not_found(resource: str, name: str) -> dict[str, Any]:
    """The API server's 404 for an object that does not exist (a NotFound Status naming it)."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f'{resource} "{name}" not found',
        "reason": "NotFound",
        "details": {"name": name, "kind": resource},
        "code": 404,
    }


@dataclass
class ObjectsApi(_Served):
    """Serves GETs of Services from ``read`` ((namespace, name) → the object as a GET returns it,
    or None), at the time of each request, and each Service's Events from ``events`` (by
    (namespace, name), for ``involvedObject.name`` in the field selector)."""

    read: Callable[[str, str], dict[str, Any] | None]
    events: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)

    def answer(self, path: str, query: Mapping[str, list[str]]) -> tuple[int, dict[str, Any]]:
        segments = path.strip("/").split("/")
        if segments[:3] != ["api", "v1", "namespaces"] or len(segments) < 5:
            return 404, NOT_FOUND
        namespace = urllib.parse.unquote(segments[3])
        if segments[4] == "services" and len(segments) == 6:
            name = urllib.parse.unquote(segments[5])
            found = self.read(namespace, name)
            return (200, found) if found is not None else (404, not_found("services", name))
        if segments[4] == "events" and len(segments) == 5:
            selector = dict(term.split("=", 1) for term in query.get("fieldSelector", [""])[0].split(",") if term)
            items = self.events.get((namespace, selector.get("involvedObject.name", "")), [])
            return 200, {"kind": "EventList", "apiVersion": "v1", "metadata": {}, "items": items}
        return 404, NOT_FOUND


@contextlib.contextmanager
def objects_api(read: Callable[[str, str], dict[str, Any] | None], **options: Any) -> Iterator[ObjectsApi]:
    with _answering(ObjectsApi(read, **options)) as api:
        yield api


_A = TypeVar("_A", bound=_Served)


@contextlib.contextmanager
def _answering(api: _A) -> Iterator[_A]:
    """Serves ``api`` on a loopback port: each GET is recorded, then answered as JSON."""
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(parts.query)
            with lock:
                api.requests.append(Request(parts.path, query, self.headers.get("Authorization", "")))
                status, body = api.answer(parts.path, query)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serving(Handler) as port:
        api.port = port
        yield api
