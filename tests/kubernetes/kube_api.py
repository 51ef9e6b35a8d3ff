"""Loopback stand-ins for the Kubernetes API server, and what the tests need to reach them.

:func:`fake_api` answers every request with the next scripted (status, body), for the webhook
gate and the Service check. :func:`services_api` serves Service collections with paging, for the
Service listing.

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
import json
import socket
import ssl
import threading
import urllib.parse
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

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


# --- a scripted stand-in for the API server -------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeApi:
    """Answers each request with the next scripted (status, body); the last one repeats."""

    script: list[tuple[int, str]]
    seen: list[Seen] = field(default_factory=list)
    port: int = 0
    tls: ssl.SSLContext | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"


@contextlib.contextmanager
def fake_api(*script: tuple[int, str], tls: ssl.SSLContext | None = None) -> Iterator[FakeApi]:
    api = FakeApi(list(script), tls=tls)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def handle_any(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            parts = urllib.parse.urlsplit(self.path)
            with lock:
                headers = {key.lower(): value for key, value in self.headers.items()}
                seen = Seen(self.command, parts.path, urllib.parse.parse_qs(parts.query), headers, body)
                api.seen.append(seen)
                status, text = api.script[min(len(api.seen), len(api.script)) - 1]
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


# --- Service collections ------------------------------------------------------------------------


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


@dataclass
class ServicesApi:
    services: list[dict[str, Any]]
    forbidden: set[str | None] = field(default_factory=set)  # namespaces refused; None = cluster-wide
    expire: int = 0  # how many continued requests answer 410 first
    requests: list[Request] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kubeconfig(self, path: Path) -> Path:
        return write_kubeconfig(
            path, {"lab": {"server": self.url}}, {"ci": {"token": TOKEN}}, {"lab": ("lab", "ci")}, "lab"
        )

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
    api = ServicesApi(services, **options)
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
