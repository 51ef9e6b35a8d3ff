"""Two stacks on one UniFi OS gateway, end to end: ``unifi-os apply|remove`` of each against the
HTTPS stand-in (its shapes: tests/unifi/conftest.py), the live BGP text and DNS records checked
after every step; a config of the user's kept; one of another AS refused; another writer caught
between the read and the write."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest

from components.artifacts.frr import render_bgpd_conf
from components.artifacts.shared_gateway import GatewayStack, compose_bgpd_conf
from components.unifi.errors import EXIT_BGP_CHANGED, EXIT_BGP_NOT_OURS, EXIT_DNS_CONFLICT
from components.unifi.unifi_os import shared_bgp
from tests.unifi.conftest import Certs, CliResult, FakeController, one_error_line, run_cli
from tests.unifi.test_shared_bgp import FOREIGN, FOREIGN_NO_ROUTER, udm, udm_test

Start = Callable[..., FakeController]
LABS = {"udm": udm(), "udm-test": udm_test()}
CONF = {name: render_bgpd_conf(lab) for name, lab in LABS.items()}
COMPOSED = compose_bgpd_conf([GatewayStack(lab, lab.pinned_addresses) for lab in LABS.values()])
USERS_NOT_IN_FORCE = {
    "_id": "bgp-1",
    "enabled": False,
    "description": "draft",
    "frr_bgpd_config": "router bgp 1\n neighbor 10.0.0.1 password draft-secret\n",
    "uploaded_file_name": "frr.conf",
}
NAS = {"_id": "nas", "key": "nas.lan", "value": "192.168.1.5", "record_type": "A", "ttl": 0, "enabled": True}


def record(key: str, value: str) -> dict[str, Any]:
    return {"key": key, "value": value, "record_type": "A", "ttl": 0, "enabled": True}


A_RECORDS = [record("web.k8s.home", "10.99.0.10")]
B_RECORDS = [record("grafana.test.k8s.home", "10.99.1.10"), record("dashboards", "10.99.1.10")]


def run(
    fake: FakeController,
    certs: Certs,
    action: str,
    stack: str,
    *,
    records: list[dict[str, Any]] | None = None,
    previous: CliResult | None = None,
) -> CliResult:
    conf = CONF[stack]
    env = {"UNIFI_BGPD_CONF": conf}
    if previous is not None:
        env["PULUMI_COMMAND_STDOUT"] = previous.stdout
    stdin = json.dumps(
        {
            "description": f"metallb-unifi stack {stack}",
            "bgpd_conf_sha256": hashlib.sha256(conf.encode()).hexdigest(),
            "records": records or [],
        }
    )
    result = run_cli(
        f"unifi-os {action}",
        fake.url,
        *("--site", "default", "--ca-file", str(certs.server.cert), "--stack", stack),
        env=env,
        scenario=fake.scenario,
        timeout=None,
        stdin=stdin if action == "apply" else "",
    )
    assert "test-pw" not in result.stdout + result.stderr, "stack udm-test's BGP password was printed"
    return result


def live(fake: FakeController) -> tuple[str, str]:
    assert fake.bgp is not None
    return fake.bgp["frr_bgpd_config"], fake.bgp["description"]


def names(fake: FakeController) -> dict[str, str]:
    return {r["key"]: r["value"] for r in fake.dns.values()}


def test_two_stacks_share_the_gateway_and_the_last_one_out_puts_back_the_original(
    controller: Start, certs: Certs
) -> None:
    fake = controller(flavor="unifi-os", bgp_config=dict(USERS_NOT_IN_FORCE), dns_records=[dict(NAS)])

    a1 = run(fake, certs, "apply", "udm", records=A_RECORDS)
    assert a1.returncode == 0, a1.stderr
    assert live(fake) == (CONF["udm"], "metallb-unifi stack udm")  # alone: today's file, no markers
    assert names(fake) == {"nas.lan": "192.168.1.5", "web.k8s.home": "10.99.0.10"}

    b1 = run(fake, certs, "apply", "udm-test", records=B_RECORDS)
    assert b1.returncode == 0, b1.stderr
    assert live(fake) == (COMPOSED, "metallb-unifi stacks udm, udm-test")
    shown = run(fake, certs, "status", "udm", previous=a1).stdout
    assert "description 'metallb-unifi stacks udm, udm-test' (shared: this stack's blocks are in it)" in shown
    assert names(fake) == {
        "nas.lan": "192.168.1.5",
        "web.k8s.home": "10.99.0.10",
        "grafana.test.k8s.home": "10.99.1.10",
        "dashboards": "10.99.1.10",
    }

    writes = len(fake.stats.v2_writes)
    a2 = run(fake, certs, "apply", "udm", records=[*A_RECORDS, record("api.k8s.home", "10.99.0.11")], previous=a1)
    assert a2.returncode == 0, a2.stderr
    assert fake.stats.v2_writes[writes:] == [("POST", "static-dns")]  # its new name; the BGP text is the same
    assert live(fake) == (COMPOSED, "metallb-unifi stacks udm, udm-test")
    assert names(fake)["api.k8s.home"] == "10.99.0.11" and names(fake)["dashboards"] == "10.99.1.10"

    a3 = run(fake, certs, "remove", "udm", previous=a2)
    assert a3.returncode == 0, a3.stderr
    # udm took over the config not in force: it hands it on to the stack still there, in the text.
    text, description = live(fake)
    rest, original, _ = shared_bgp.split_original(text)
    assert (rest, description) == (CONF["udm-test"], "metallb-unifi stack udm-test")
    assert original == {k: v for k, v in USERS_NOT_IN_FORCE.items() if k != "_id"}
    status = run(fake, certs, "status", "udm-test", previous=b1)
    assert "! metallb-unifi original <kept, " in status.stdout and "draft-secret" not in status.stdout
    writes = len(fake.stats.v2_writes)
    assert run(fake, certs, "apply", "udm-test", records=B_RECORDS, previous=b1).returncode == 0
    assert len(fake.stats.v2_writes) == writes  # alone again: nothing to write
    assert names(fake) == {"nas.lan": "192.168.1.5", "grafana.test.k8s.home": "10.99.1.10", "dashboards": "10.99.1.10"}

    b2 = run(fake, certs, "remove", "udm-test", previous=b1)
    assert b2.returncode == 0, b2.stderr
    assert names(fake) == {"nas.lan": "192.168.1.5"}
    assert fake.bgp is not None and {k: fake.bgp.get(k) for k in USERS_NOT_IN_FORCE} == USERS_NOT_IN_FORCE


def test_a_name_of_the_other_stack_is_refused_before_anything_is_written(controller: Start, certs: Certs) -> None:
    fake = controller(flavor="unifi-os")
    assert run(fake, certs, "apply", "udm", records=A_RECORDS).returncode == 0
    before, writes = dict(fake.bgp or {}), len(fake.stats.v2_writes)
    result = run(fake, certs, "apply", "udm-test", records=[*B_RECORDS, record("web.k8s.home", "10.99.1.11")])
    assert result.returncode == EXIT_DNS_CONFLICT
    assert "web.k8s.home (now A 10.99.0.10)" in one_error_line(result)
    assert len(fake.stats.v2_writes) == writes and fake.bgp == before


def test_a_config_of_the_users_is_kept_line_for_line(controller: Start, certs: Certs) -> None:
    users = {"_id": "bgp-1", "enabled": True, "description": "my peering", "frr_bgpd_config": FOREIGN}
    fake = controller(flavor="unifi-os", bgp_config=dict(users))
    a = run(fake, certs, "apply", "udm", records=A_RECORDS)
    b = run(fake, certs, "apply", "udm-test", records=B_RECORDS)
    assert a.returncode == b.returncode == 0, a.stderr + b.stderr
    text, description = live(fake)
    assert description == "metallb-unifi stacks udm, udm-test + my peering"
    assert shared_bgp.strip_stack(shared_bgp.strip_stack(text, "udm"), "udm-test") == FOREIGN
    assert run(fake, certs, "remove", "udm-test", previous=b).returncode == 0
    assert run(fake, certs, "remove", "udm", previous=a).returncode == 0
    assert fake.bgp is not None and {k: fake.bgp.get(k) for k in users} == users


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (
            {"frr_bgpd_config": FOREIGN.replace("65000", "64999")},
            "runs 'router bgp 64999' (line 6) and this stack's metallb-unifi:gateway.asn is 65000",
        ),
        ({"frr_bgpd_config": FOREIGN.replace("192.168.30.1", "10.0.0.1")}, "sets 'bgp router-id 10.0.0.1' (line 7)"),
        (
            {"frr_bgpd_config": "ip prefix-list metallb-udm-pools seq 5 deny any\n"},
            "metallb-unifi:stack: line 1 'ip prefix-list metallb-udm-pools …'",
        ),
    ],
)
def test_a_config_of_the_users_that_cannot_hold_the_stack_is_refused(
    controller: Start, certs: Certs, change: dict[str, Any], said: str
) -> None:
    users = {"_id": "bgp-1", "enabled": True, "description": "my peering", **change}
    fake = controller(flavor="unifi-os", bgp_config=dict(users))
    result = run(fake, certs, "apply", "udm", records=A_RECORDS)
    assert result.returncode == EXIT_BGP_NOT_OURS
    line = one_error_line(result)
    assert said in line and "nothing was changed" in line and "'my peering'" in line
    assert fake.bgp == users and fake.stats.v2_writes == []


def test_another_writer_between_the_read_and_the_write_is_planned_from_not_overwritten(
    controller: Start, certs: Certs
) -> None:
    # udm-test's apply lands between udm's read and its write.
    other = {"enabled": True, "description": "metallb-unifi stack udm-test", "frr_bgpd_config": CONF["udm-test"]}
    fake = controller(flavor="unifi-os", bgp_after_gets=(other,))
    result = run(fake, certs, "apply", "udm", records=A_RECORDS)
    assert result.returncode == 0, result.stderr
    assert "the config changed since this run read it" in result.stdout
    assert live(fake) == (COMPOSED, "metallb-unifi stacks udm, udm-test")


def test_a_config_that_keeps_changing_stops_the_run_without_writing_it(controller: Start, certs: Certs) -> None:
    drafts = tuple({"enabled": False, "description": f"draft {n}", "frr_bgpd_config": ""} for n in range(4))
    fake = controller(flavor="unifi-os", bgp_after_gets=drafts, dns_records=[dict(NAS)])
    result = run(fake, certs, "apply", "udm", records=A_RECORDS)
    assert result.returncode == EXIT_BGP_CHANGED
    line = one_error_line(result)
    assert "changed between this run's read and its write 3 times in a row" in line and "run again" in line
    assert fake.stats.v2_writes == [] and fake.bgp is not None and fake.bgp["description"] == "draft 3"


def test_a_config_of_the_users_without_router_bgp_is_kept_and_given_back(controller: Start, certs: Certs) -> None:
    users = {
        "_id": "bgp-1",
        "enabled": True,
        "description": "my lists",
        "frr_bgpd_config": FOREIGN_NO_ROUTER,
        "uploaded_file_name": "lists.conf",
    }
    fake = controller(flavor="unifi-os", bgp_config=dict(users))
    a = run(fake, certs, "apply", "udm", records=A_RECORDS)
    assert a.returncode == 0, a.stderr
    text, description = live(fake)
    assert description == "metallb-unifi stack udm + my lists" and text.startswith(FOREIGN_NO_ROUTER + "\n")
    assert text.count("router bgp 65000") == 1
    b = run(fake, certs, "apply", "udm-test", records=B_RECORDS)
    assert b.returncode == 0, b.stderr
    text, description = live(fake)
    assert description == "metallb-unifi stacks udm, udm-test + my lists" and text.count("router bgp") == 1
    rest = shared_bgp.strip_stack(shared_bgp.strip_stack(text, "udm"), "udm-test")
    assert shared_bgp.without_shared_router(rest) == FOREIGN_NO_ROUTER
    assert run(fake, certs, "remove", "udm", previous=a).returncode == 0
    assert live(fake)[1] == "metallb-unifi stack udm-test + my lists"
    removed = run(fake, certs, "remove", "udm-test", previous=b)
    assert removed.returncode == 0, removed.stderr
    assert "your own config is as it was ('my lists')" in removed.stdout
    assert fake.bgp is not None and {k: fake.bgp.get(k) for k in users} == users


def test_a_change_of_the_users_config_without_router_bgp_between_read_and_write_is_not_overwritten(
    controller: Start, certs: Certs
) -> None:
    users = {"_id": "bgp-1", "enabled": True, "description": "my lists", "frr_bgpd_config": FOREIGN_NO_ROUTER}
    edited = FOREIGN_NO_ROUTER.replace("10.1.0.0/24", "10.2.0.0/24")
    # The user saves an edit in UniFi Network between udm's read and its write.
    fake = controller(flavor="unifi-os", bgp_config=dict(users), bgp_after_gets=({"frr_bgpd_config": edited},))
    a = run(fake, certs, "apply", "udm", records=A_RECORDS)
    assert a.returncode == 0, a.stderr
    assert "the config changed since this run read it" in a.stdout
    text, _ = live(fake)
    assert shared_bgp.without_shared_router(shared_bgp.strip_stack(text, "udm")) == edited
    # The user's edit is what comes back when the stack leaves.
    assert run(fake, certs, "remove", "udm", previous=a).returncode == 0
    assert fake.bgp is not None and (fake.bgp["frr_bgpd_config"], fake.bgp["description"]) == (edited, "my lists")
