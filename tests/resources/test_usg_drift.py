"""Drift of the live config.gateway.json under the USG lifecycle, for real (as test_usg_lifecycle.py:
the program under mocks, its commands carried out by tests/command_engine.py against a real sshd on
loopback and the controller stand-in that counts provisions). The program looks at the controller at
preview and up (components/resources/drift.py); a drift inside what the stacks own makes
``usg-provision`` run once, and the next up runs nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from components.contract import REPAIR_ENV
from tests.command_engine import StepFailed
from tests.program_harness import Registration, run_program
from tests.pulumi_values import unwrap
from tests.resources.usg_lab import BACKUP, POSTS_FILE, SITE, Lab, lab, second_sshd
from tests.unifi.sshd import SshServer

__all__ = ["lab", "second_sshd"]  # fixtures


def preview(env: Lab, monkeypatch: pytest.MonkeyPatch, **bgp: Any) -> tuple[Registration, list[str]]:
    """`pulumi preview`: the provision as registered, and the warnings the program logged."""
    said: list[str] = []
    with monkeypatch.context() as patch:
        patch.setattr("pulumi.log.warn", lambda message, *_args, **_kwargs: said.append(message))
        run = run_program(monkeypatch, env.config(**bgp), preview=True, stack=env.stack, observe_gateway=True)
    return run.one("command:local:Command", "usg-provision"), said


def neighbour_edited(live: bytes) -> bytes:
    document = json.loads(live)
    neighbors = document["protocols"]["bgp"]["64512"]["neighbor"]
    neighbors["10.10.0.101"]["remote-as"] = "65000"
    return json.dumps(document).encode()


@pytest.mark.parametrize("change", ["removed", "edited", "replaced by an older one"])
def test_drift_shows_at_preview_is_put_back_with_one_provision_and_the_next_up_runs_nothing(
    lab: Callable[..., Lab], monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    env = lab()
    env.put_original(POSTS_FILE)
    _, older = env.up()
    _, current = env.up(holdTime="30s")
    assert env.fake.stats.provisioned_configs == [older, current]
    if change == "removed":
        env.live.unlink()
        what = "missing"
    elif change == "edited":
        env.live.write_bytes(neighbour_edited(current))
        what = "edited at protocols.bgp.64512"
    else:
        env.live.write_bytes(older)  # the stack's own file of the up before
        what = "edited at protocols.bgp.64512"
    where = f"config.gateway.json on {env.sshd.host}:{env.sshd.port}{env.data_dir}/sites/{SITE}"

    provision, said = preview(env, monkeypatch, holdTime="30s")
    marker = unwrap(provision.inputs["environment"])[REPAIR_ENV]
    assert marker.startswith(f"{where}: {what} (seen ") and provision.ignore_changes == ()
    assert said == [f"{where}: {what}; pulumi up puts the stacks' part back (one provision)"]
    stored = env.engine.state["usg-provision"].inputs
    changed = {key for key in {*stored, *provision.inputs} if stored.get(key) != provision.inputs.get(key)}
    assert changed == {"environment"}  # the only change preview shows: the marker

    steps, _ = env.up(holdTime="30s")
    assert steps == [("update", "usg-provision")]
    assert env.live.read_bytes() == current
    assert env.fake.stats.provisioned_configs == [older, current, current]  # one provision
    assert env.site_files()[BACKUP] == POSTS_FILE

    provision, said = preview(env, monkeypatch, holdTime="30s")
    assert REPAIR_ENV not in unwrap(provision.inputs["environment"]) and said == []
    assert provision.ignore_changes == (f"environment.{REPAIR_ENV}",)
    steps, _ = env.up(holdTime="30s")
    assert steps == [] and env.fake.provisions == 3
    assert env.engine.state["usg-provision"].inputs["environment"][REPAIR_ENV].startswith(f"{where}: {what}")


def test_a_users_edit_outside_what_the_stack_owns_is_never_put_back(
    lab: Callable[..., Lab], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = lab()
    env.put_original(POSTS_FILE)
    _, v1 = env.up()
    document = json.loads(v1)
    document["service"] = {"gui": {"https-port": "8443"}}
    env.live.write_text(json.dumps(document, indent=2))
    edited = env.live.read_bytes()

    provision, said = preview(env, monkeypatch)
    assert REPAIR_ENV not in unwrap(provision.inputs["environment"])
    (line,) = said
    assert "edited outside what the stacks own, at service.gui.https-port. Not repaired" in line
    assert "8443" not in line  # paths, never values
    steps, _ = env.up()
    assert steps == [] and env.live.read_bytes() == edited and env.fake.provisions == 1

    # The next change of the stack's part would drop it: refused, naming it, nothing changed.
    with pytest.raises(StepFailed) as refused:
        env.up(holdTime="30s")
    assert refused.value.name == "usg-provision" and "service.gui.https-port" in refused.value.stderr
    assert env.live.read_bytes() == edited and env.fake.provisions == 1


def test_a_controller_that_cannot_be_read_is_a_warning_and_nothing_runs(
    lab: Callable[..., Lab],
    monkeypatch: pytest.MonkeyPatch,
    second_sshd: tuple[SshServer, Callable[[], None]],
) -> None:
    other, stop_other = second_sshd
    env = lab()
    env.use_sshd(other)
    env.up()
    stop_other()

    provision, said = preview(env, monkeypatch)
    (line,) = said
    assert line.startswith(f"could not check config.gateway.json on {other.host}:{other.port}")
    assert "nothing is repaired in this run" in line
    assert REPAIR_ENV not in unwrap(provision.inputs["environment"])
    steps, _ = env.up()
    assert steps == []
