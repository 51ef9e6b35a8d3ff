"""The blog post's reader, from the first `pulumi up` over the lab they built by hand to an upgrade
and a destroy: each step is one run of the program under mocks, carried out on the cluster by
tests/cluster_engine.py (a model of the cluster's objects) and on the controller by
tests/command_engine.py (a real sshd, the controller stand-in), both following the providers'
own rules."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cluster_engine import Cluster, KubernetesEngine, metallb_allocates
from tests.command_engine import StepFailed
from tests.conftest import REFERENCE
from tests.kubernetes.kube_api import objects_api
from tests.program_harness import REPO, stack_config
from tests.resources.conftest import certs, controller, sshd
from tests.resources.test_cluster_lifecycle import CONFIG, DASHBOARD, posts_lab, uids
from tests.resources.usg_lab import BACKUP, BGP_PASSWORD, POSTS_FILE, Lab
from tests.unifi.conftest import Certs, FakeController
from tests.unifi.sshd import SshServer

__all__ = ["certs", "controller", "sshd"]  # fixtures

pytestmark = pytest.mark.skipif(
    not REFERENCE.is_dir(), reason=f"MetalLB's upstream manifests (served as a mirror) not found at {REFERENCE}"
)

# The post's own config.gateway.json plus one setting of the reader's that the stack does not render.
WITH_DNS_FORWARDING = json.loads(POSTS_FILE)
WITH_DNS_FORWARDING["service"] = {"dns": {"forwarding": {"options": ["host-record=nas.lan,192.168.1.5"]}}}
USERS_FILE = (json.dumps(WITH_DNS_FORWARDING, indent=4) + "\n").encode()


class WholeLab(Lab):
    """The lab stack with MetalLB's real manifests, so the cluster model sees every object; the
    Services' commands run too, against an API server that serves the model's objects."""

    cluster_commands = True
    cluster: Cluster
    metallb: dict[str, Any] = yaml.safe_load((REPO / "Pulumi.lab.yaml").read_text())["config"]["metallb-unifi:metallb"]

    def config(self, **bgp: Any) -> dict[str, str]:
        return stack_config(
            REPO / "Pulumi.lab.yaml",
            self.small_mirror,
            bgp={"password": BGP_PASSWORD, **bgp},
            controller=self.controller,
            gateway=self.gateway,
            metallb={**self.metallb, "manifestMirror": self.small_mirror},
        )


def _stub_cluster_commands(rewrite: Callable[[str], str]) -> Callable[[str], str]:
    """The webhook gate talks to a real API server (its own tests run it against a loopback one);
    here the cluster is a model, whose CRs are accepted once MetalLB's objects are in it."""

    def rewritten(command: str) -> str:
        return "true" if " -m components.kubernetes.webhook_gate " in command else rewrite(command)

    return rewritten


@pytest.fixture
def whole_lab(
    monkeypatch: pytest.MonkeyPatch,
    mirror: str,
    tmp_path: Path,
    controller: Callable[..., FakeController],
    certs: Certs,
    sshd: SshServer,
) -> Iterator[WholeLab]:
    fake = controller(lag_polls=1, provisioning_polls=1)
    lab = WholeLab(monkeypatch, mirror, tmp_path, fake, certs.server.fingerprint, sshd)
    lab.engine.rewrite_local = _stub_cluster_commands(lab.engine.rewrite_local)
    # The post's cluster, where MetalLB had given the dashboard its address; `pulumi up` runs with
    # $KUBECONFIG pointing at it (the address command reads it, as the provider would).
    lab.cluster = posts_lab()
    assert metallb_allocates(lab.cluster, "10.10.10.99") == {DASHBOARD: "10.10.10.10"}
    with objects_api(lambda namespace, name: lab.cluster.get(("Service", namespace, name))) as api:
        lab.engine.base_env["KUBECONFIG"] = str(api.kubeconfig(tmp_path / "kubeconfig"))
        yield lab


def ops(steps: list[tuple[str, str]]) -> set[str]:
    return {op for op, _ in steps}


def test_the_posts_lab_is_adopted_kept_upgraded_and_handed_back(whole_lab: WholeLab) -> None:
    env = whole_lab
    cluster = env.cluster
    kube = KubernetesEngine(cluster)
    env.put_original(USERS_FILE)
    before = uids(cluster)

    # Day 1: the cluster is adopted as it stands; the gateway refuses to drop the DNS forwarding.
    registrations, _ = env.registrations()
    adopted = kube.up(registrations)
    assert adopted.error is None and cluster.created() == [] and cluster.deleted() == []
    assert {k: v for k, v in uids(cluster).items() if k in before} == before
    with pytest.raises(StepFailed) as refused:
        env.engine.up(registrations)
    assert (refused.value.name, refused.value.code) == ("usg-original", 22)
    assert "service.dns.forwarding.options[0]" in refused.value.stderr
    assert env.site_files() == {"config.gateway.json": USERS_FILE} and env.fake.provisions == 0

    # The reader points baseConfigFile at a copy: installed keeping it, provisioned once; the
    # cluster has nothing left to do.
    base = env.tmp_path / "config.gateway.base.json"
    base.write_bytes(USERS_FILE)
    env.gateway["baseConfigFile"] = str(base)
    registrations, content = env.registrations()
    assert ops(kube.up(registrations).steps) == {"same"}
    env.engine.up(registrations)
    # The dashboard's address was waited for (MetalLB had given it long ago).
    assert env.engine.state["k8s-dashboard-address"].stdout == "10.10.10.10"
    installed = json.loads(env.live.read_bytes())
    assert env.live.read_bytes() == content
    assert installed["service"] == WITH_DNS_FORWARDING["service"]
    assert set(installed["protocols"]["bgp"]["64512"]["neighbor"]) == {
        "10.10.0.200",
        "10.10.0.101",
        "10.10.0.102",
        "10.10.0.103",
    }
    assert env.site_files()[BACKUP] == USERS_FILE and env.fake.stats.provisioned_configs == [content]

    # Day 2, nothing changed: nothing runs anywhere.
    registrations, _ = env.registrations()
    assert ops(kube.up(registrations).steps) == {"same"}
    assert env.engine.up(registrations) == []

    # Upgrade to a CRD release in one `up`: only what v0.15.3 no longer has goes; the gateway's
    # file does not change, so it is not provisioned again.
    env.metallb = {**env.metallb, "version": "v0.15.3"}
    registrations, same = env.registrations()
    upgraded = kube.up(registrations)
    assert upgraded.error is None
    assert sorted(cluster.deleted()) == sorted(
        [("Role", "metallb-system", "config-watcher"), ("RoleBinding", "metallb-system", "config-watcher"), CONFIG]
    )
    steps = env.engine.up(registrations)
    # The dashboard's patch pins with the annotation now: its address is waited for again.
    assert sorted(steps) == [
        ("create", "k8s-dashboard-address"),
        ("create", "metallb-webhook-ready"),
        ("replaced", "k8s-dashboard-address"),
    ]
    assert env.engine.state["k8s-dashboard-address"].stdout == "10.10.10.10"
    assert same == content and env.fake.provisions == 1

    # Destroy: the reader's file back (and provisioned), MetalLB's Namespace and CRDs kept.
    kube.destroy()
    env.engine.destroy()
    assert env.site_files() == {"config.gateway.json": USERS_FILE}
    assert env.fake.stats.provisioned_configs[-1] == USERS_FILE
    assert ("Namespace", "", "metallb-system") in cluster.objects
    assert len([key for key in cluster.objects if key[0] == "CustomResourceDefinition"]) == 9
    assert ("Deployment", "metallb-system", "controller") not in cluster.objects
