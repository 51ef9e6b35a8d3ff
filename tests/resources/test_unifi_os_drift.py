"""Drift of a UniFi OS gateway under the stack's lifecycle, for real (as test_unifi_os_lifecycle.py:
the program under mocks, its command carried out by tests/command_engine.py against the loopback
controller stand-in, which counts every v2 write). The program looks at the console at preview and
up (components/resources/drift.py: one login, the BGP config, the DNS records); the stack's part
changed or gone makes ``unifi-os-bgp-and-dns`` run once, and the next up runs nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from components.contract import REPAIR_ENV
from tests.command_engine import StepFailed
from tests.program_harness import Registration, run_program
from tests.pulumi_values import unwrap
from tests.resources.test_unifi_os_lifecycle import BGP_PASSWORD, FOREIGN_RECORD, USERS_BGP, Udm, udm

__all__ = ["udm"]  # fixture

COMMAND = "unifi-os-bgp-and-dns"
IGNORED = (f"environment.{REPAIR_ENV}",)
# A user's BGP config in force, of the stack's AS: the stack joins it (docs/unifi-os.md).
USERS_IN_FORCE = {
    "enabled": True,
    "description": "mine",
    "frr_bgpd_config": "router bgp 65000\n neighbor 192.168.5.1 remote-as 65001\nexit\n",
    "uploaded_file_name": "frr.conf",
}


def preview(env: Udm, monkeypatch: pytest.MonkeyPatch) -> tuple[Registration, list[str]]:
    """`pulumi preview`: the command as registered, and what the program said (warnings and
    infos); neither a marker nor a message holds a secret."""
    said: list[str] = []
    with monkeypatch.context() as patch:
        for level in ("warn", "info"):
            patch.setattr(f"pulumi.log.{level}", lambda message, *_args, **_kwargs: said.append(message))
        run = run_program(monkeypatch, env.config(), preview=True, observe_gateway=True)
    command = run.one("command:local:Command", COMMAND)
    shown = [*said, str(unwrap(command.inputs["environment"]).get(REPAIR_ENV, ""))]
    for secret in (BGP_PASSWORD, env.controller["password"], env.fake.scenario.password):
        assert all(secret not in text for text in shown)
    return command, said


def where(env: Udm) -> str:
    return f"the BGP config and DNS records of site default on {env.fake.url}"


def record_id(env: Udm, key: str) -> str:
    (found,) = [i for i, r in env.fake.dns.items() if r["key"] == key]
    return found


def edit_bgp(env: Udm, old: str, new: str) -> None:
    assert env.fake.bgp is not None and old in env.fake.bgp["frr_bgpd_config"]
    env.fake.bgp = {**env.fake.bgp, "frr_bgpd_config": env.fake.bgp["frr_bgpd_config"].replace(old, new)}


@pytest.mark.parametrize(
    ("change", "what", "writes"),
    [
        (
            "record deleted, BGP text edited",
            "BGP config edited at frr_bgpd_config; DNS record gone: jellyfin.k8s.home",
            [("POST", "bgp/config"), ("POST", "static-dns")],
        ),
        ("BGP disabled", "BGP config edited at enabled", [("POST", "bgp/config")]),
        ("pinned address changed", "DNS record edited: home-assistant.k8s.home (value)", [("PUT", "static-dns/")]),
    ],
)
def test_drift_shows_at_preview_is_put_back_with_one_update_and_the_next_up_runs_nothing(
    udm: Callable[..., Udm], monkeypatch: pytest.MonkeyPatch, change: str, what: str, writes: list[tuple[str, str]]
) -> None:
    env = udm(bgp_config=dict(USERS_BGP), dns_records=[dict(FOREIGN_RECORD)])
    steps, bgpd_conf, records = env.up()
    assert steps == [("create", COMMAND)]
    installed_bgp, installed_dns = dict(env.fake.bgp or {}), env.records()
    if change == "record deleted, BGP text edited":
        del env.fake.dns[record_id(env, "jellyfin.k8s.home")]
        edit_bgp(env, " neighbor metallb-test remote-as 65010\n", " neighbor metallb-test remote-as 65099\n")
    elif change == "BGP disabled":
        env.fake.bgp = {**installed_bgp, "enabled": False}
    else:
        env.fake.dns[record_id(env, "home-assistant.k8s.home")]["value"] = "10.99.0.11"

    requests = len(env.fake.stats.requests)
    command, said = preview(env, monkeypatch)
    # The look: one login and two reads, nothing written.
    assert [path.rsplit("/", 1)[1] for _, path in env.fake.stats.requests[requests:]] == [
        "login",
        "config",
        "static-dns",
    ]
    marker = unwrap(command.inputs["environment"])[REPAIR_ENV]
    assert marker.startswith(f"{where(env)}: {what} (seen ") and command.ignore_changes == ()
    assert said == [f"{where(env)}: {what}; pulumi up puts the stack's part back (one update of {COMMAND})"]
    # The only change preview shows: the marker (the create stored the first install's).
    stored = env.engine.state[COMMAND].inputs["environment"]
    assert stored[REPAIR_ENV].startswith(f"{where(env)}: hold no part of this stack (seen ")
    assert {**unwrap(command.inputs["environment"]), REPAIR_ENV: stored[REPAIR_ENV]} == stored

    done = len(env.fake.stats.v2_writes)
    steps, _, _ = env.up()
    assert steps == [("update", COMMAND)]
    assert [(method, path.rstrip("0123456789abcdef")) for method, path in env.fake.stats.v2_writes[done:]] == writes
    assert env.fake.bgp == installed_bgp and env.fake.bgp["frr_bgpd_config"] == bgpd_conf
    assert env.records() == installed_dns == {r["key"]: r["value"] for r in records} | {"nas.lan": "192.168.1.5"}

    command, said = preview(env, monkeypatch)
    assert REPAIR_ENV not in unwrap(command.inputs["environment"]) and said == []
    assert command.ignore_changes == IGNORED
    steps, _, _ = env.up()
    assert steps == [] and len(env.fake.stats.v2_writes) == done + len(writes)
    assert env.engine.state[COMMAND].inputs["environment"][REPAIR_ENV].startswith(f"{where(env)}: {what}")


def test_a_line_of_the_users_in_a_shared_text_is_never_put_back_the_stacks_blocks_are(
    udm: Callable[..., Udm], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = udm(bgp_config=dict(USERS_IN_FORCE), dns_records=[dict(FOREIGN_RECORD)])
    env.up()
    assert env.fake.bgp is not None and env.fake.bgp["description"] == "metallb-unifi stack test + mine"
    mine = " neighbor 192.168.5.1 description upstream\n"
    edit_bgp(env, " neighbor 192.168.5.1 remote-as 65001\n", f" neighbor 192.168.5.1 remote-as 65001\n{mine}")
    users = env.fake.bgp["frr_bgpd_config"]

    command, said = preview(env, monkeypatch)
    assert REPAIR_ENV not in unwrap(command.inputs["environment"]) and said == []
    steps, _, _ = env.up()
    assert steps == [] and env.fake.bgp["frr_bgpd_config"] == users

    # The stack's own block edited as well: that block goes back, the user's line stays.
    edit_bgp(env, " neighbor metallb-test remote-as 65010\n", " neighbor metallb-test remote-as 65099\n")
    _, said = preview(env, monkeypatch)
    assert said == [
        f"{where(env)}: BGP config (shared) edited at frr_bgpd_config; pulumi up puts the stack's part back "
        f"(one update of {COMMAND})"
    ]
    done = len(env.fake.stats.v2_writes)
    steps, _, _ = env.up()
    assert steps == [("update", COMMAND)] and env.fake.stats.v2_writes[done:] == [("POST", "bgp/config")]
    assert env.fake.bgp["frr_bgpd_config"] == users
    steps, _, _ = env.up()
    assert steps == []


def test_a_record_of_someone_elses_under_the_stacks_name_is_refused_never_overwritten(
    udm: Callable[..., Udm], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = udm(bgp_config=dict(USERS_BGP), dns_records=[dict(FOREIGN_RECORD)])
    env.up()
    del env.fake.dns[record_id(env, "home-assistant.k8s.home")]
    theirs = {"_id": "theirs", "key": "home-assistant.k8s.home", "value": "192.168.1.9", "record_type": "A"}
    env.fake.dns["theirs"] = {**theirs, "ttl": 0, "enabled": True, "site_id": "site-default"}
    dns = {i: dict(r) for i, r in env.fake.dns.items()}

    command, said = preview(env, monkeypatch)
    what = f"{where(env)}: DNS record edited: home-assistant.k8s.home (value)"
    assert unwrap(command.inputs["environment"])[REPAIR_ENV].startswith(f"{what} (seen ")
    assert said == [f"{what}; pulumi up puts the stack's part back (one update of {COMMAND})"]
    # The repair's apply knows it did not create that record: it refuses before any write, as ever.
    done = len(env.fake.stats.v2_writes)
    with pytest.raises(StepFailed) as refused:
        env.up()
    assert refused.value.name == COMMAND and "home-assistant.k8s.home (now A 192.168.1.9)" in refused.value.stderr
    assert env.fake.dns == dns and len(env.fake.stats.v2_writes) == done


@pytest.mark.parametrize("failure", ["controller down", "password refused"])
def test_a_console_that_cannot_be_read_is_a_warning_and_nothing_runs(
    udm: Callable[..., Udm], monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    env = udm(bgp_config=dict(USERS_BGP), dns_records=[dict(FOREIGN_RECORD)])
    env.up()
    del env.fake.dns[record_id(env, "jellyfin.k8s.home")]  # drift that cannot be seen
    if failure == "controller down":
        env.fake.stop()
    else:
        env.fake.scenario.password = "changed-on-the-console-0042"

    command, said = preview(env, monkeypatch)
    (line,) = said
    assert line.startswith(f"could not check {where(env)} for drift (") and "nothing is repaired in this run" in line
    assert REPAIR_ENV not in unwrap(command.inputs["environment"]) and command.ignore_changes == IGNORED
    said_at_up: list[str] = []
    monkeypatch.setattr("pulumi.log.warn", lambda message, *_args, **_kwargs: said_at_up.append(message))
    steps, _, _ = env.up()
    assert steps == [] and said_at_up == [line]


def test_a_first_preview_says_the_stack_is_not_installed_yet(
    udm: Callable[..., Udm], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = udm(bgp_config=dict(USERS_BGP), dns_records=[dict(FOREIGN_RECORD)])
    command, said = preview(env, monkeypatch)
    assert said == [f"{where(env)}: hold no part of this stack yet; pulumi up installs it"]
    assert REPAIR_ENV in unwrap(command.inputs["environment"])  # no matter: a create runs anyway
    assert env.fake.stats.v2_writes == []
