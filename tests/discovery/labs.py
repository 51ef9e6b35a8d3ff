"""Small labs and Service objects, shaped as the Kubernetes API returns them, for discovery tests."""

from __future__ import annotations

import copy
import json
from typing import Any

from components.config import Lab, parse_lab

DOMAIN = "lab.example"
BASE_FILE = "base.json"
BASE_HOSTS = {"nas.lab.example": {"alias": ["nas"], "inet": ["192.168.1.5"]}}

RAW: dict[str, Any] = {
    "nodes": [{"name": "node1", "address": "10.20.0.11"}, {"name": "node2", "address": "10.20.0.12"}],
    "metallb": {
        "version": "v0.14.9",
        "asn": 64513,
        "pools": [
            {"name": "routed", "protocol": "bgp", "addresses": ["10.20.10.0/24"]},
            {"name": "lan", "protocol": "layer2", "addresses": ["10.20.0.200-10.20.0.250"]},
        ],
    },
    "gateway": {"kind": "usg", "asn": 64512, "peerAddress": "10.20.0.1", "dnsDomain": DOMAIN},
    "services": [
        {
            "name": "dashboard",
            "namespace": "kubernetes-dashboard",
            "serviceName": "kubernetes-dashboard",
            "existing": True,
            "address": "10.20.10.10",
            "aliases": ["dash"],
        }
    ],
    "discovery": {},
}


def lab(*, kind: str = "usg", base: bool = False, dual: bool = False, **discovery: Any) -> Lab:
    """The lab; ``dual``: made dual-stack (frr mode, the nodes and the gateway with IPv6 addresses,
    the bgp pool with fd00:20:10::/120 beside 10.20.10.0/24)."""
    raw = copy.deepcopy(RAW)
    raw["discovery"] = discovery
    raw["gateway"]["kind"] = kind
    if base:
        raw["gateway"]["baseConfigFile"] = BASE_FILE
    if dual:
        raw["metallb"]["mode"] = "frr"
        for index, node in enumerate(raw["nodes"]):
            node["address6"] = f"fd00:20::{11 + index}"
        raw["gateway"]["peerAddress6"] = "fd00:20::1"
        raw["metallb"]["pools"][0]["addresses"] = ["10.20.10.0/24", "fd00:20:10::/120"]
    text = json.dumps({"system": {"static-host-mapping": {"host-name": BASE_HOSTS}}})
    return parse_lab(raw, read_file=lambda name: text, stack="lab")


def dual_lab(**options: Any) -> Lab:
    return lab(dual=True, **options)


def service(
    name: str,
    namespace: str = "apps",
    *,
    ip: str | list[str] | None = "10.20.10.50",
    annotations: dict[str, str] | None = None,
    ports: list[tuple[int, str]] | None = None,
    type_: str = "LoadBalancer",
) -> dict[str, Any]:
    """A Service as `kubectl get services -o json` shows it."""
    ips = [] if ip is None else [ip] if isinstance(ip, str) else ip
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "uid": f"uid-{namespace}-{name}"}
    if annotations:
        metadata["annotations"] = annotations
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata,
        "spec": {
            "type": type_,
            "ports": [{"port": p, "protocol": proto, "targetPort": p} for p, proto in (ports or [(80, "TCP")])],
        },
        "status": {"loadBalancer": {"ingress": [{"ip": a, "ipMode": "VIP"} for a in ips]} if ips else {}},
    }


def named(name: str, host: str, **kwargs: Any) -> dict[str, Any]:
    extra = kwargs.pop("annotations", {})
    return service(name, annotations={"metallb-unifi.io/hostname": host, **extra}, **kwargs)
