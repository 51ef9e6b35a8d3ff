"""The UniFi OS wiring's lifecycle, for real: the program runs under mocks and its command is
carried out like the Pulumi engine would (``tests/command_engine``) against the loopback
controller stand-in, which holds a user's BGP config and DNS records from before the stack.

create → no-op → change → destroy, checking the gateway's BGP config and DNS records."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.command_engine import CommandEngine, StepFailed
from tests.program_harness import REPO, resolve, run_program, stack_config
from tests.pulumi_values import unwrap
from tests.resources.conftest import with_small_manifest
from tests.resources.previous_release import as_previous_release
from tests.unifi.conftest import FAST, Certs, FakeController, base_env

BGP_PASSWORD = "bgp-pw-4711"
USERS_BGP = {"enabled": False, "description": "", "frr_bgpd_config": "", "uploaded_file_name": ""}
FOREIGN_RECORD = {"_id": "nas", "key": "nas.lan", "value": "192.168.1.5", "record_type": "A", "enabled": True}


def _fast(command: str) -> str:
    return f"{command} {' '.join(FAST)}" if " -m components.unifi unifi-os " in command else command


class Udm:
    def __init__(self, monkeypatch: pytest.MonkeyPatch, small_mirror: str, fake: FakeController, certs: Certs) -> None:
        self.monkeypatch, self.small_mirror, self.fake = monkeypatch, small_mirror, fake
        self.controller = {
            "url": fake.url,
            "flavor": "unifi-os",
            "username": fake.scenario.username,
            "password": fake.scenario.password,
            "fingerprint": certs.server.fingerprint,
        }
        self.engine = CommandEngine(REPO, base_env(), rewrite_local=_fast)

    def config(self, **gateway: Any) -> dict[str, str]:
        config = stack_config(
            REPO / "Pulumi.udm.yaml",
            self.small_mirror,
            bgp={"password": BGP_PASSWORD},
            controller=self.controller,
        )
        if gateway:
            config["metallb-unifi:gateway"] = json.dumps(json.loads(config["metallb-unifi:gateway"]) | gateway)
        return with_small_manifest(config)

    def up(self, **gateway: Any) -> tuple[list[tuple[str, str]], str, list[dict[str, Any]]]:
        # The program looks at the stand-in for drift, as at every up (components/resources/drift.py).
        run = run_program(self.monkeypatch, self.config(**gateway), preview=False, observe_gateway=True)
        bgpd_conf, _, _ = resolve(run.exports["bgpdConf"])
        records, _, _ = resolve(run.exports["dnsRecords"])
        (component,) = run.of_type("metallb-unifi:gateway:UnifiOsGatewayConfig")
        # Only the gateway's commands: the MetalLB webhook gate would need a cluster.
        commands = [r for r in run.registrations if r.parent == component.urn]
        return self.engine.up(commands), bgpd_conf, records

    def records(self) -> dict[str, str]:
        return {str(r["key"]): str(r["value"]) for r in self.fake.dns.values()}


@pytest.fixture
def udm(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str, controller: Callable[..., FakeController], certs: Certs
) -> Callable[..., Udm]:
    def start(**scenario: Any) -> Udm:
        fake = controller(flavor="unifi-os", **scenario)
        return Udm(monkeypatch, small_mirror, fake, certs)

    return start


def test_create_noop_change_and_destroy(udm: Callable[..., Udm]) -> None:
    env = udm(bgp_config=dict(USERS_BGP), dns_records=[dict(FOREIGN_RECORD)])

    steps, bgpd_conf, records = env.up()
    assert steps == [("create", "unifi-os-bgp-and-dns")]
    assert env.fake.bgp is not None and env.fake.bgp["frr_bgpd_config"] == bgpd_conf and env.fake.bgp["enabled"]
    wanted = {str(r["key"]): str(r["value"]) for r in records}
    assert wanted and env.records() == wanted | {"nas.lan": "192.168.1.5"}

    steps, _, _ = env.up()
    assert steps == []

    # A new controller password: an update (state keeps the new one), and nothing written.
    writes = list(env.fake.stats.v2_writes)
    env.fake.scenario.password = env.controller["password"] = "rotated-pw-0042"
    steps, _, _ = env.up()
    assert steps == [("update", "unifi-os-bgp-and-dns")]
    assert env.fake.stats.v2_writes == writes
    assert unwrap(env.engine.state["unifi-os-bgp-and-dns"].inputs["environment"])["UNIFI_PASSWORD"] == "rotated-pw-0042"

    steps, _, changed = env.up(dnsDomain="lab")
    assert steps == [("update", "unifi-os-bgp-and-dns")]
    renamed = {str(r["key"]): str(r["value"]) for r in changed}
    assert renamed != wanted and env.records() == renamed | {"nas.lan": "192.168.1.5"}

    steps = env.engine.destroy()
    assert steps == [("delete", "unifi-os-bgp-and-dns")]
    assert env.records() == {"nas.lan": "192.168.1.5"}  # the user's record, untouched
    assert env.fake.bgp is not None
    assert {k: env.fake.bgp[k] for k in USERS_BGP} == USERS_BGP  # the user's config is back


def test_a_foreign_bgp_config_of_another_as_is_refused_and_nothing_changes(udm: Callable[..., Udm]) -> None:
    theirs = {
        "enabled": True,
        "description": "mine",
        "frr_bgpd_config": "router bgp 64999\n",
        "uploaded_file_name": "bgpd.conf",
    }
    env = udm(bgp_config=dict(theirs), dns_records=[dict(FOREIGN_RECORD)])

    with pytest.raises(StepFailed) as failure:
        env.up()
    assert "'router bgp 64999' (line 1)" in failure.value.stderr and "'mine'" in failure.value.stderr
    assert env.fake.bgp is not None and env.fake.bgp["frr_bgpd_config"] == theirs["frr_bgpd_config"]
    assert env.records() == {"nas.lan": "192.168.1.5"}


def test_a_foreign_bgp_config_of_the_same_as_is_kept_and_comes_back_on_destroy(udm: Callable[..., Udm]) -> None:
    theirs = {
        "enabled": True,
        "description": "mine",
        "frr_bgpd_config": "router bgp 65000\n neighbor 192.168.5.1 remote-as 65001\nexit\n",
        "uploaded_file_name": "frr.conf",
    }
    env = udm(bgp_config=dict(theirs), dns_records=[dict(FOREIGN_RECORD)])

    steps, _, _ = env.up()
    assert steps == [("create", "unifi-os-bgp-and-dns")]
    assert env.fake.bgp is not None and env.fake.bgp["description"] == "metallb-unifi stack test + mine"
    live = env.fake.bgp["frr_bgpd_config"]
    assert " neighbor 192.168.5.1 remote-as 65001\n" in live and "! metallb-unifi stack test begin" in live
    assert BGP_PASSWORD in live and "route-map metallb-test-in permit 10" in live

    writes = len(env.fake.stats.v2_writes)
    steps, _, _ = env.up()
    assert steps == [] and len(env.fake.stats.v2_writes) == writes

    env.engine.destroy()
    assert env.fake.bgp == {**theirs, "_id": env.fake.bgp["_id"], "site_id": "site-default"}  # byte for byte
    assert env.records() == {"nas.lan": "192.168.1.5"}


def test_a_deployed_stack_gets_the_filter_with_one_apply_and_nothing_else(
    udm: Callable[..., Udm], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = udm(bgp_config=dict(USERS_BGP), dns_records=[dict(FOREIGN_RECORD)])
    with monkeypatch.context() as previous:
        as_previous_release(previous)
        steps, old_conf, records = env.up()
    assert steps == [("create", "unifi-os-bgp-and-dns")]
    assert " no bgp ebgp-requires-policy\n" in old_conf and "peer-group" not in old_conf
    assert env.fake.bgp is not None and env.fake.bgp["frr_bgpd_config"] == old_conf
    dns = copy.deepcopy(env.fake.dns)
    writes = len(env.fake.stats.v2_writes)

    steps, new_conf, same_records = env.up()
    assert steps == [("update", "unifi-os-bgp-and-dns")]
    assert "route-map metallb-test-in permit 10" in new_conf and "ebgp-requires-policy" not in new_conf
    # One write: the BGP config, replaced whole; the DNS records are as they were.
    assert env.fake.stats.v2_writes[writes:] == [("POST", "bgp/config")]
    assert env.fake.bgp["frr_bgpd_config"] == new_conf and env.fake.bgp["enabled"]
    assert same_records == records and env.fake.dns == dns

    steps, _, _ = env.up()
    assert steps == []

    env.engine.destroy()
    assert {k: env.fake.bgp[k] for k in USERS_BGP} == USERS_BGP  # the user's config is back
    assert env.records() == {"nas.lan": "192.168.1.5"}
