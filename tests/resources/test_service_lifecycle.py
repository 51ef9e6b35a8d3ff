"""The Services' lifecycle, for real: the program runs under mocks, its Kubernetes resources are
carried out against the cluster model (tests/cluster_engine.py) and its commands by
tests/command_engine.py, the address commands against a loopback API server that serves the
model's Services as they are at each request (tests/kubernetes/kube_api.py objects_api), with
MetalLB's controller answering a moment late (cluster_engine.metallb_allocates). Each test is
what successive `pulumi up`s (and a refresh) do; the last one starts from a stack deployed before
the Services skipped the provider's await, with a USG gateway that must not be provisioned again."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cluster_engine import Cluster, Key, KubernetesEngine, metallb_allocates, refresh
from tests.command_engine import CommandEngine, StepFailed
from tests.kubernetes.kube_api import ObjectsApi, objects_api
from tests.program_harness import ALLOCATED, REPO, Registration, resolve, run_program, stack_config
from tests.resources.conftest import certs, controller, small_mirror, sshd, with_small_manifest
from tests.resources.usg_lab import Lab
from tests.unifi.conftest import Certs, FakeController, base_env
from tests.unifi.sshd import SshServer

__all__ = ["certs", "controller", "small_mirror", "sshd"]  # fixtures

CRDS = REPO / "Pulumi.crds.yaml"
SERVICE_TYPES = ("kubernetes:core/v1:Service", "kubernetes:core/v1:ServicePatch")
GRAFANA: Key = ("Service", "monitoring", "grafana")
REGISTRY: Key = ("Service", "registry", "registry")
# What MetalLB gives Pulumi.crds.yaml's Services: the pinned addresses, and one from the pool.
GIVEN = {
    GRAFANA: "10.20.10.10",
    REGISTRY: ALLOCATED,
    ("Service", "dns", "dns"): "10.20.0.200",
    ("Service", "dns", "dns-tcp"): "10.20.0.200",
}
# MetalLB's event when a pool is exhausted (metallb/metallb@v0.15.3:controller/service.go
# convergeBalancer; internal/allocator/allocator.go Allocate).
NO_IPS = 'Failed to allocate IP for "registry/registry": no available IPs'


@dataclass
class LateMetalLB:
    """MetalLB's controller on the cluster model, converging at the second read of a Service
    through the API since the last `up`: the address command sees the Service without its (new)
    address first. ``pool`` is what an unpinned Service gets (None: exhausted)."""

    cluster: Cluster
    pool: str | None = ALLOCATED
    reads: dict[Key, int] = field(default_factory=dict)

    def read(self, namespace: str, name: str) -> dict[str, Any] | None:
        key: Key = ("Service", namespace, name)
        self.reads[key] = self.reads.get(key, 0) + 1
        if self.reads[key] >= 2:
            metallb_allocates(self.cluster, self.pool)
        return self.cluster.get(key)

    def new_up(self) -> None:
        self.reads.clear()


def service_commands(registrations: list[Registration]) -> list[Registration]:
    """The commands of the LoadBalancedServices (the checks and the waits), in order."""
    services = {r.urn for r in registrations if r.type == "metallb-unifi:kubernetes:LoadBalancedService"}
    return [r for r in registrations if r.type == "command:local:Command" and r.parent in services]


def fast(command: str) -> str:
    """The waits poll every 50 ms (argparse: a later option wins); MetalLB's webhook is the
    model's (its gate runs against a real API server in tests/kubernetes/test_webhook_gate.py)."""
    if " -m components.kubernetes.webhook_gate " in command:
        return "true"
    if " -m components.kubernetes.service_address " in command:
        return f"{command} --interval 0.05"
    return command


@dataclass
class Deployed:
    """One lab: the cluster model behind a loopback API, and the engines that deploy to it."""

    monkeypatch: pytest.MonkeyPatch
    small_mirror: str
    metallb: LateMetalLB
    api: ObjectsApi
    kubeconfig: Path
    kube: KubernetesEngine = field(init=False)
    commands: CommandEngine = field(init=False)

    def __post_init__(self) -> None:
        self.kube = KubernetesEngine(self.metallb.cluster)
        self.commands = CommandEngine(REPO, base_env(), rewrite_local=fast)

    def config(self, **overrides: Any) -> dict[str, str]:
        access = {"kubeconfig": str(self.kubeconfig), "context": "lab", **overrides.pop("kubernetes", {})}
        return with_small_manifest(stack_config(CRDS, self.small_mirror, kubernetes=access, **overrides))

    def up(self, **overrides: Any) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """(the Kubernetes steps, the command steps) of one `up`."""
        registrations = run_program(self.monkeypatch, self.config(**overrides), preview=False).registrations
        self.metallb.new_up()
        kube = self.kube.up(registrations)
        assert kube.error is None
        return kube.steps, self.commands.up(service_commands(registrations))

    def printed(self) -> dict[str, str]:
        return {name: r.stdout for name, r in self.commands.state.items() if name.endswith("-address")}


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch, small_mirror: str, tmp_path: Path) -> Iterator[Deployed]:
    metallb = LateMetalLB(Cluster())
    with objects_api(metallb.read) as api:
        yield Deployed(monkeypatch, small_mirror, metallb, api, api.kubeconfig(tmp_path / "kubeconfig"))


def test_up_waits_for_each_address_and_an_up_without_changes_runs_nothing(deployed: Deployed) -> None:
    kube_steps, steps = deployed.up()

    assert {op for op, _ in kube_steps if op != "create"} == set()
    assert sorted(steps) == sorted(
        [
            ("create", f"{name}-{what}")
            for name in ("grafana", "registry", "dns", "dns-tcp")
            for what in ("not-taken", "address")
        ]
    )
    assert deployed.printed() == {f"{key[2]}-address": ip for key, ip in GIVEN.items()}
    # Each wait read its Service at least twice: without its address, then with it.
    assert all(deployed.metallb.reads[key] >= 2 for key in GIVEN)

    again_kube, again = deployed.up()

    assert {op for op, _ in again_kube} == {"same"} and again == []


def test_a_changed_pin_waits_for_the_new_address(deployed: Deployed) -> None:
    deployed.up()
    services = yaml.safe_load(CRDS.read_text())["config"]["metallb-unifi:services"]
    services[0] = {**services[0], "address": "10.20.10.11"}

    kube_steps, steps = deployed.up(services=services)

    assert [(op, urn.rpartition("::")[2]) for op, urn in kube_steps if op != "same"] == [("update", "grafana")]
    # The applied Service changed: the wait is created again (the old one goes), and it waited
    # past the old address until MetalLB had moved the Service to the new one.
    assert sorted(steps) == [("create", "grafana-address"), ("replaced", "grafana-address")]
    assert deployed.printed()["grafana-address"] == "10.20.10.11"
    assert deployed.metallb.reads[GRAFANA] >= 2


def test_a_longer_timeout_runs_the_waits_again_without_replacing_them(deployed: Deployed) -> None:
    deployed.up()

    kube_steps, steps = deployed.up(kubernetes={"serviceTimeout": "20m"})

    assert {op for op, _ in kube_steps} == {"same"}
    # Not a trigger: an update, which runs `create` again (commandController.go Update).
    assert sorted(steps) == sorted(("update", f"{key[2]}-address") for key in GIVEN)


def test_without_an_address_up_fails_with_metallbs_reason(deployed: Deployed) -> None:
    deployed.metallb.pool = None  # the pool is exhausted
    deployed.api.events[("registry", "registry")] = [
        {
            "metadata": {"name": "registry.1", "namespace": "registry"},
            "involvedObject": {"kind": "Service", "namespace": "registry", "name": "registry"},
            "reason": "AllocationFailed",
            "message": NO_IPS,
            "source": {"component": "metallb-controller"},
            "lastTimestamp": "2025-06-01T10:00:00Z",
            "type": "Warning",
        }
    ]
    deployed.commands.rewrite_local = lambda command: f"{fast(command)} --timeout 1"

    with pytest.raises(StepFailed) as failed:
        deployed.up()

    assert (failed.value.name, failed.value.code) == ("registry-address", 1)
    assert failed.value.stderr == (
        "metallb-unifi:services[1]: Service registry/registry got no external IP from MetalLB within 1s; "
        f"newest Warning event: AllocationFailed: {NO_IPS} (kubectl -n registry describe service registry)\n"
    )


# --- day 2: a stack deployed before this change, with its gateway -------------------------------


def before_skip_await(registrations: list[Registration]) -> list[Registration]:
    """What the program registered before its Services skipped the provider's await: they
    carried `pulumi.com/waitFor` on MetalLB's address, and there were no address commands."""
    out = []
    for r in registrations:
        if r.type == "command:local:Command" and r.name.endswith("-address"):
            continue
        if r.type in SERVICE_TYPES:
            r = copy.deepcopy(r)
            annotations = r.inputs["metadata"]["annotations"]
            del annotations["pulumi.com/skipAwait"]
            annotations["pulumi.com/waitFor"] = "jsonpath={.status.loadBalancer.ingress[0].ip}"
        out.append(r)
    return out


class CrdsLab(Lab):
    """Pulumi.crds.yaml with a USG controller to install and provision its gateway file, and the
    cluster's API at ``kubeconfig``; every command runs."""

    cluster_commands = True
    kubeconfig: Path
    service_ips: dict[str, str]  # the Services' outputs at this `up` (see RecordingMocks)

    def config(self, **bgp: Any) -> dict[str, str]:
        return with_small_manifest(
            stack_config(
                CRDS,
                self.small_mirror,
                controller=self.controller,
                kubernetes={"kubeconfig": str(self.kubeconfig), "context": "lab"},
            )
        )

    def run(self) -> tuple[list[Registration], bytes]:
        run = run_program(self.monkeypatch, self.config(), preview=False, service_ips=self.service_ips)
        content, known, _ = resolve(run.exports["configGatewayJson"])
        assert known
        return run.registrations, content.encode()


@pytest.fixture
def crds_lab(
    monkeypatch: pytest.MonkeyPatch,
    small_mirror: str,
    tmp_path: Path,
    controller: Callable[..., FakeController],
    certs: Certs,
    sshd: SshServer,
) -> Iterator[tuple[CrdsLab, LateMetalLB]]:
    fake = controller(lag_polls=1, provisioning_polls=1)
    lab = CrdsLab(monkeypatch, small_mirror, tmp_path, fake, certs.server.fingerprint, sshd)
    rewrite = lab.engine.rewrite_local
    lab.engine.rewrite_local = lambda command: rewrite(fast(command))
    metallb = LateMetalLB(Cluster())
    with objects_api(metallb.read) as api:
        lab.kubeconfig = api.kubeconfig(tmp_path / "kubeconfig")
        yield lab, metallb


def test_the_first_up_after_the_change_waits_for_addresses_already_there_and_leaves_the_gateway(
    crds_lab: tuple[CrdsLab, LateMetalLB],
) -> None:
    lab, metallb = crds_lab
    cluster, kube = metallb.cluster, KubernetesEngine(metallb.cluster)
    ips = {f"{key[1]}/{key[2]}": ip for key, ip in GIVEN.items()}

    # Yesterday: the provider waited for each address itself, so the Services' outputs had them.
    lab.service_ips = ips
    registrations, yesterday = lab.run()
    assert kube.up(before_skip_await(registrations)).error is None
    assert metallb_allocates(cluster, ALLOCATED) == GIVEN
    lab.engine.up(before_skip_await(registrations))
    assert lab.fake.provisions == 1 and lab.live.read_bytes() == yesterday
    hosts = json.loads(yesterday)["system"]["static-host-mapping"]["host-name"]
    assert hosts["registry.lab.home"]["inet"] == [ALLOCATED]

    # Today: each Service is updated (its outputs, the live object, have the address), the waits
    # are created and find the addresses already there; the gateway's file is the same.
    hand_made = ("metadata", "labels", "team")
    cluster.kubectl_patch(GRAFANA, {hand_made: "observability"}, manager="kubectl-label/Update")
    live = {key: cluster.objects[key].value("status", "loadBalancer", "ingress")[0]["ip"] for key in GIVEN}
    lab.service_ips = {f"{key[1]}/{key[2]}": ip for key, ip in live.items()}
    registrations, today = lab.run()
    metallb.new_up()
    upgraded = kube.up(registrations)
    steps = lab.engine.up(registrations)

    assert upgraded.error is None
    assert sorted(urn.rpartition("::")[2] for op, urn in upgraded.steps if op != "same") == sorted(k[2] for k in GIVEN)
    assert {op for op, _ in upgraded.steps} == {"same", "update"}
    for key in GIVEN:
        annotations = cluster.objects[key].subtree("metadata", "annotations")
        assert annotations["pulumi.com/skipAwait"] == "true" and "pulumi.com/waitFor" not in annotations
    # An update in place of a Service the stack created drops what kubectl added (docs/cluster.md).
    assert cluster.objects[GRAFANA].value(*hand_made) is None
    assert sorted(steps) == sorted(("create", f"{key[2]}-address") for key in GIVEN)
    assert {name: r.stdout for name, r in lab.engine.state.items() if name.endswith("-address")} == {
        f"{key[2]}-address": hosts[f"{key[2]}.lab.home"]["inet"][0] for key in GIVEN
    }
    assert all(metallb.reads[key] == 1 for key in GIVEN)  # there at the first look
    assert today == yesterday and lab.fake.provisions == 1 and lab.live.read_bytes() == yesterday

    # Refresh is quiet now, also about a Service whose pods are not Ready; the next up does nothing.
    assert refresh(kube, not_ready=frozenset({GRAFANA})).unhealthy == {}
    registrations, again = lab.run()
    assert {op for op, _ in kube.up(registrations).steps} == {"same"}
    assert lab.engine.up(registrations) == [] and again == yesterday and lab.fake.provisions == 1
