"""``LoadBalancedService`` for a dual-stack lab, under mocks in preview and in up, and with the
real address command against a loopback API server answering dual-stack ingress: the wait asks
for every pin and each expected family, and the component's addresses (IPv4 first) reach the
``services`` output by family and the gateway's host names. Services that cannot get IPv6 keep
exactly the outputs and command lines they had (tests/resources/test_service.py)."""

from __future__ import annotations

import copy
import json
import re
import shlex
from collections.abc import Iterator
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings

from components.artifacts.outputs import may_get_ipv6, possible_families, render_outputs, service_output
from components.config import parse_lab
from components.config.model import IPFamily
from components.resources.service import address_command, ingress_ips, printed_ips
from tests.command_engine import CommandEngine
from tests.config.strategies import valid_configs
from tests.discovery.labs import RAW
from tests.kubernetes.kube_api import ObjectsApi, objects_api
from tests.program_harness import ALLOCATED, ALLOCATED6, REPO, Run, resolve, run_program, stack_config
from tests.resources.conftest import small_mirror, with_small_manifest
from tests.resources.test_service import crds_config, exported, services_of
from tests.unifi.conftest import base_env

__all__ = ["small_mirror"]

CRDS = REPO / "Pulumi.crds.yaml"
GRAFANA6 = "fd00:20:10::10"


def dual_stack(services: list[dict[str, Any]], nodes: list[dict[str, Any]], metallb: dict[str, Any]) -> dict[str, Any]:
    """Pulumi.crds.yaml made dual-stack: FRR mode, the nodes and the USG with IPv6 addresses, the
    routed pool with fd00:20:10::/120 too; grafana pins one address of each family, registry is
    RequireDualStack without a pin; dns and dns-tcp stay on the IPv4-only layer2 pool."""
    pools = [
        {**pool, "addresses": [*pool["addresses"], "fd00:20:10::/120"]} if pool["name"] == "routed" else pool
        for pool in metallb["pools"]
    ]
    by_name = {s["name"]: s for s in services}
    grafana = {k: v for k, v in by_name["grafana"].items() if k != "address"}
    return {
        "nodes": [{**node, "address6": f"fd00:20::{10 + i}"} for i, node in enumerate(nodes)],
        "metallb": {**metallb, "mode": "frr", "pools": pools},
        "services": [
            {**grafana, "addresses": ["10.20.10.10", GRAFANA6], "ipFamilyPolicy": "RequireDualStack"},
            {**by_name["registry"], "ipFamilyPolicy": "RequireDualStack"},
            by_name["dns"],
            by_name["dns-tcp"],
        ],
    }


@pytest.fixture
def dual(small_mirror: str, tmp_path: Path) -> dict[str, str]:
    base = crds_config(small_mirror, tmp_path)
    edits = dual_stack(
        json.loads(base["metallb-unifi:services"]),
        json.loads(base["metallb-unifi:nodes"]),
        json.loads(base["metallb-unifi:metallb"]),
    )
    gateway = {**json.loads(base["metallb-unifi:gateway"]), "peerAddress6": "fd00:20::1"}
    return {**base, **{f"metallb-unifi:{k}": json.dumps(v) for k, v in {**edits, "gateway": gateway}.items()}}


def hosts_of(run: Run) -> dict[str, list[str]]:
    gateway, known, _ = resolve(run.exports["configGatewayJson"])
    assert known
    mapping = json.loads(gateway)["system"]["static-host-mapping"]["host-name"]
    return {host: entry["inet"] for host, entry in mapping.items()}


@pytest.mark.parametrize("preview", [True, False], ids=["preview", "up"])
def test_the_wait_asks_for_every_pin_and_for_both_families_of_a_dual_stack_service(
    monkeypatch: pytest.MonkeyPatch, dual: dict[str, str], preview: bool
) -> None:
    run = run_program(monkeypatch, dual, preview=preview)

    waits = {name: shlex.split(address.inputs["create"]) for name, (_, address) in services_of(run).items()}
    options = {
        name: [a for a in line[line.index("--timeout") + 2 :] if a != "--kubeconfig"][:-3]
        for name, line in waits.items()
    }
    assert options == {
        "grafana": ["--expect", "10.20.10.10", "--expect", GRAFANA6],
        "registry": ["--family", "IPv4", "--family", "IPv6"],
        "dns": ["--expect", "10.20.0.200"],
        "dns-tcp": ["--expect", "10.20.0.200"],
    }


def test_in_preview_the_pinned_pair_is_known_by_family_and_the_allocated_pair_unknown(
    monkeypatch: pytest.MonkeyPatch, dual: dict[str, str]
) -> None:
    run = run_program(monkeypatch, dual, preview=True)

    grafana, known, _ = resolve(run.exports["services"]["grafana"])
    assert known
    assert grafana == {
        "ip": "10.20.10.10",
        "hostname": "grafana.lab.home",
        "alias": "grafana",
        "url": "http://grafana.lab.home/",
        "ips": {"IPv4": "10.20.10.10", "IPv6": GRAFANA6},
        "urls": {"IPv4": "http://10.20.10.10/", "IPv6": f"http://[{GRAFANA6}]/"},
    }
    registry = run.exports["services"]["registry"]
    assert set(registry) == {"ip", "hostname", "alias", "url", "ips", "urls"}
    assert not any(resolve(registry[field])[1] for field in registry)
    # On the IPv4-only pool: no IPv6 to come, so the outputs are what they always were.
    assert set(run.exports["services"]["dns"]) == {"ip", "hostname", "alias", "url"}


def test_after_up_both_printed_addresses_reach_the_outputs_and_the_gateway(
    monkeypatch: pytest.MonkeyPatch, dual: dict[str, str]
) -> None:
    run = run_program(monkeypatch, dual, preview=False)

    services, known = exported(run)
    assert known
    assert services["registry"] == {
        "ip": ALLOCATED,
        "hostname": "registry.lab.home",
        "alias": "registry",
        "url": "https://registry.lab.home/",
        "ips": {"IPv4": ALLOCATED, "IPv6": ALLOCATED6},
        "urls": {"IPv4": f"https://{ALLOCATED}/", "IPv6": f"https://[{ALLOCATED6}]/"},
    }
    # The same by-family outputs `render` writes for the same addresses.
    lab = parse_lab({k.removeprefix("metallb-unifi:"): json.loads(v) for k, v in dual.items()}, stack="test")
    rendered = render_outputs(
        lab, {"registry": (ip_address(ALLOCATED), ip_address(ALLOCATED6)), **lab.pinned_addresses}
    )
    for name, service in services.items():
        for field in ("ip", "hostname", "url", "ips", "urls"):
            assert service.get(field) == rendered["services"][name].get(field), (name, field)
    hosts = hosts_of(run)
    assert hosts["registry.lab.home"] == [ALLOCATED, ALLOCATED6]
    assert hosts["grafana.lab.home"] == ["10.20.10.10", GRAFANA6]
    assert hosts["dns.lab.home"] == ["10.20.0.200"]


def test_the_live_status_wins_and_its_addresses_are_ordered_ipv4_first(
    monkeypatch: pytest.MonkeyPatch, dual: dict[str, str]
) -> None:
    # MetalLB may write the IPv6 address first (the Service's primary family's comes first).
    live = {"registry/registry": ["fd00:20:10::99", "10.20.10.99"]}
    run = run_program(monkeypatch, dual, preview=False, service_ips=live)

    services, _ = exported(run)
    assert services["registry"]["ip"] == "10.20.10.99"
    assert services["registry"]["ips"] == {"IPv4": "10.20.10.99", "IPv6": "fd00:20:10::99"}
    assert hosts_of(run)["registry.lab.home"] == ["10.20.10.99", "fd00:20:10::99"]


def test_addresses_are_read_ipv4_first_and_strictly() -> None:
    assert printed_ips("fd00::1\n10.0.0.1") == ["10.0.0.1", "fd00::1"]
    assert printed_ips("192.0.2.77") == ["192.0.2.77"]
    status = {"loadBalancer": {"ingress": [{"ip": "fd00::1"}, {"hostname": "x.example"}, {"ip": "10.0.0.1"}]}}
    assert ingress_ips(status) == ["10.0.0.1", "fd00::1"]
    with pytest.raises(
        ValueError, match=re.escape("the address command printed '10.0.0.1 waiting…', not IP addresses")
    ):
        printed_ips("10.0.0.1\nwaiting…")


# --- the real address command, against a loopback API server ------------------------------------


class DualStackMetalLB:
    """MetalLB's controller as the address commands see it through the API: each Service the
    program registered, without an address at its first read, then with its pins (the
    loadBalancerIPs annotation, metallb.io/ or metallb.universe.tf/) or, unpinned, one address of
    each family it asks for, written IPv6 first (metallb/metallb@v0.15.3:controller/service.go
    convergeBalancer: one ingress entry per address, in the order of the Service's families)."""

    def __init__(self, run: Run) -> None:
        self.services = {
            (kube.inputs["metadata"]["namespace"], kube.inputs["metadata"]["name"]): kube.inputs
            for kube, _ in services_of(run).values()
        }
        self.reads: dict[tuple[str, str], int] = {}

    def read(self, namespace: str, name: str) -> dict[str, Any] | None:
        inputs = self.services.get((namespace, name))
        if inputs is None:
            return None
        self.reads[(namespace, name)] = self.reads.get((namespace, name), 0) + 1
        metadata = {**inputs["metadata"], "uid": f"uid-{namespace}-{name}"}
        service = {"kind": "Service", "apiVersion": "v1", "metadata": metadata, "spec": inputs["spec"]}
        if self.reads[(namespace, name)] == 1:
            return {**service, "status": {"loadBalancer": {}}}
        annotations = metadata.get("annotations", {})
        pinned = next((v for k, v in annotations.items() if k.endswith("/loadBalancerIPs")), None)
        spec_ip = inputs["spec"].get("loadBalancerIP")
        if pinned:
            ips = pinned.split(",")
        elif spec_ip:
            ips = [spec_ip]
        else:
            families = inputs["spec"].get("ipFamilies") or ["IPv4", "IPv6"]
            ips = [{"IPv4": "10.20.10.50", "IPv6": "fd00:20:10::50"}[f] for f in families]
        return {**service, "status": {"loadBalancer": {"ingress": [{"ip": a, "ipMode": "VIP"} for a in ips[::-1]]}}}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[ObjectsApi, list[DualStackMetalLB]]]:
    models: list[DualStackMetalLB] = []

    def read(namespace: str, name: str) -> dict[str, Any] | None:
        return models[0].read(namespace, name) if models else None

    with objects_api(read) as served:
        yield served, models


def test_the_real_wait_prints_both_addresses_and_the_next_run_outputs_them(
    monkeypatch: pytest.MonkeyPatch,
    small_mirror: str,
    tmp_path: Path,
    api: tuple[ObjectsApi, list[DualStackMetalLB]],
) -> None:
    served, models = api
    base = stack_config(CRDS, small_mirror)
    edits = dual_stack(
        json.loads(base["metallb-unifi:services"]),
        json.loads(base["metallb-unifi:nodes"]),
        json.loads(base["metallb-unifi:metallb"]),
    )
    gateway = {**json.loads(base["metallb-unifi:gateway"]), "peerAddress6": "fd00:20::1"}
    kubernetes = {"kubeconfig": str(served.kubeconfig(tmp_path / "kubeconfig")), "context": "lab"}
    config = with_small_manifest(stack_config(CRDS, small_mirror, **edits, gateway=gateway, kubernetes=kubernetes))
    first = run_program(monkeypatch, config, preview=False)
    models.append(DualStackMetalLB(first))
    waits = [address for _, address in services_of(first).values()]

    def fast(command: str) -> str:  # poll every 50 ms; fail in 20 s, not 10 min (a later option wins)
        return f"{command} --interval 0.05 --timeout 20"

    engine = CommandEngine(REPO, base_env(), rewrite_local=fast)
    steps = engine.up(waits)

    assert sorted(steps) == sorted(("create", w.name) for w in waits)
    printed = {name: r.stdout for name, r in engine.state.items()}
    # Stored as pulumi-command stores it: one trailing newline trimmed.
    assert printed == {
        "grafana-address": f"10.20.10.10\n{GRAFANA6}",
        "registry-address": "10.20.10.50\nfd00:20:10::50",
        "dns-address": "10.20.0.200",
        "dns-tcp-address": "10.20.0.200",
    }
    assert all(reads >= 2 for reads in models[0].reads.values())  # each waited past the empty status

    # The next run of the program gets what the commands printed (the engine's state).
    after = run_program(monkeypatch, config, preview=False, command_stdouts=printed)
    services, known = exported(after)
    assert known
    assert services["registry"]["ips"] == {"IPv4": "10.20.10.50", "IPv6": "fd00:20:10::50"}
    assert services["registry"]["urls"] == {"IPv4": "https://10.20.10.50/", "IPv6": "https://[fd00:20:10::50]/"}
    assert hosts_of(after)["registry.lab.home"] == ["10.20.10.50", "fd00:20:10::50"]


# --- which families a service may get: what decides its outputs and when its pins are all -------

V4, V6 = IPFamily.IPV4, IPFamily.IPV6


@pytest.mark.parametrize(
    ("edits", "families"),
    [
        ({}, (V4, V6)),  # the cluster's primary family may be IPv6, and the pool has both
        ({"pool": "lan"}, (V4,)),  # the pool it names has IPv4 only
        ({"address": "10.20.10.5"}, (V4,)),  # a single-stack pin: its family alone
        ({"address": "10.20.10.5", "ipFamilyPolicy": "PreferDualStack"}, (V4, V6)),  # the pin's pool adds IPv6
        ({"address": "10.20.0.205", "ipFamilyPolicy": "PreferDualStack"}, (V4,)),  # ... not the IPv4-only one
        ({"addresses": ["10.20.10.5", "fd00:20:10::5"], "ipFamilyPolicy": "RequireDualStack"}, (V4, V6)),
        ({"ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack"}, (V4,)),
        ({"ipFamilies": ["IPv6"], "ipFamilyPolicy": "SingleStack"}, (V6,)),
        ({"ipFamilyPolicy": "RequireDualStack"}, (V4, V6)),
    ],
)
def test_the_families_a_service_may_get(edits: dict[str, Any], families: tuple[IPFamily, ...]) -> None:
    raw = copy.deepcopy(RAW) | {"discovery": None}
    raw["metallb"] |= {"mode": "frr"}
    raw["metallb"]["pools"][0]["addresses"] = ["10.20.10.0/24", "fd00:20:10::/120"]
    raw["nodes"] = [{**node, "address6": f"fd00:20::{11 + i}"} for i, node in enumerate(raw["nodes"])]
    raw["gateway"] |= {"peerAddress6": "fd00:20::1"}
    raw["services"].append(
        {"name": "web", "namespace": "apps", "ports": [{"port": 80}], "selector": {"a": "b"}} | edits
    )
    lab = parse_lab({k: v for k, v in raw.items() if v is not None}, stack="lab")
    service = lab.services[-1]

    assert possible_families(lab, service) == families
    assert may_get_ipv6(lab, service) == (V6 in families)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_configs())
def test_in_an_ipv4_only_lab_every_service_keeps_its_ipv4_only_outputs_and_command(raw: dict[str, Any]) -> None:
    lab = parse_lab(raw, stack="lab", read_file=lambda _name: "{}")
    assume(not lab.bgp_v6 and all(f is V4 for pool in lab.metallb.pools for f in pool.families))
    for service in lab.services:
        assert possible_families(lab, service) == (V4,)
        assert set(service_output(lab, service, service.addresses)) == IPV4_OUTPUTS
        assert "--family" not in shlex.split(address_command(lab, service))


IPV4_OUTPUTS = {"namespace", "serviceName", "ip", "hostname", "alias", "aliases", "url", "address"}
