"""The engine emulation's own rules (``tests/command_engine``), each as pulumi/pulumi-command@v1.2.1 and
the Pulumi engine behave (the sources are cited in that module), on small local commands and
one remote one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.command_engine import CommandEngine, StepFailed
from tests.program_harness import Registration
from tests.unifi.conftest import base_env
from tests.unifi.sshd import SshServer

LOCAL = "command:local:Command"


def command(name: str, type_: str = LOCAL, *, dbr: bool = False, **inputs: Any) -> Registration:
    return Registration(
        type_, name, f"urn:{name}", "", [], "", inputs, delete_before_replace=dbr, replace_on_changes=("triggers[*]",)
    )


def test_previous_outputs_are_set_only_when_not_empty_and_lose_one_newline(tmp_path: Path) -> None:
    engine = CommandEngine(tmp_path, base_env())
    probe = 'printf "%s|%s\\n\\n" "${PULUMI_COMMAND_STDOUT-unset}" "${PULUMI_COMMAND_STDERR-unset}"'
    engine.up([command("a", create="true", update=probe, environment={"X": "1"})])
    assert engine.state["a"].stdout == ""
    engine.up([command("a", create="true", update=probe, environment={"X": "2"})])
    assert engine.state["a"].stdout == "unset|unset\n"  # exactly one newline trimmed
    engine.up([command("a", create="true", update=probe, environment={"X": "3"})])
    assert engine.state["a"].stdout == "unset|unset\n|unset\n"
    engine.up([command("a", create="true", update=probe, environment={"X": "4"}, addPreviousOutputInEnv=False)])
    assert engine.state["a"].stdout == "unset|unset\n"


def test_only_triggers_replace_create_first_unless_delete_before_replace(tmp_path: Path) -> None:
    engine = CommandEngine(tmp_path, base_env())

    def deploy(version: str, other: str) -> list[tuple[str, str]]:
        return engine.up(
            [
                command("a", create=f"echo {version}", delete="true", triggers=[version]),
                command("b", create="true", delete="true", triggers=[version], dbr=True),
                command("c", create=f"echo {other}", delete="true"),
            ]
        )

    deploy("1", "x")
    assert deploy("2", "y") == [
        ("create", "a"),
        ("replaced", "b"),
        ("create", "b"),
        ("update", "c"),  # no update command: create runs again; no replacement
        ("replaced", "a"),  # at the end
    ]
    assert deploy("2", "y") == []


def test_failures_stop_the_deployment_a_failed_create_leaves_no_state_an_update_keeps_the_old(
    tmp_path: Path,
) -> None:
    engine = CommandEngine(tmp_path, base_env())
    with pytest.raises(StepFailed):
        engine.up([command("a", create="exit 3"), command("b", create="true")])
    assert engine.state == {} and engine.steps == [("create", "a")]

    engine.up([command("a", create="echo one")])
    with pytest.raises(StepFailed):
        engine.up([command("a", create="echo one", update="exit 4", stdin="new\n")])
    assert engine.state["a"].inputs.get("stdin") is None and engine.state["a"].stdout == "one"
    with pytest.raises(StepFailed):  # the same change is still pending: the update runs again
        engine.up([command("a", create="echo one", update="exit 4", stdin="new\n")])


def test_a_delete_runs_with_the_stored_inputs_and_todays_engine_environment(tmp_path: Path) -> None:
    engine = CommandEngine(tmp_path, base_env())
    out = tmp_path / "seen"
    delete = f'printf "%s %s" "$OLD" "${{TODAY-}}" > {out}'
    engine.up([command("a", create="true", delete=delete, environment={"OLD": "stored"})])
    engine.up([], env={"TODAY": "set-by-user"})
    assert out.read_text() == "stored set-by-user"


def test_remote_previous_outputs_go_by_setenv_and_warn_without_accept_env(tmp_path: Path, sshd: SshServer) -> None:
    engine = CommandEngine(tmp_path, base_env())
    connection = {
        "host": sshd.host,
        "port": sshd.port,
        "user": sshd.user,
        "privateKey": sshd.clients["ed25519"].private,
        "hostKey": sshd.host_key,
    }
    remote = "command:remote:Command"
    engine.up([command("r", remote, connection=connection, create="echo hi", stdin="x")])
    assert engine.warnings == []
    engine.up([command("r", remote, connection=connection, create="echo hi", stdin="y")])
    assert engine.warnings == [("r", "Unable to set 'PULUMI_COMMAND_STDOUT'")]
    engine.up([command("r", remote, connection=connection, create="echo hi", stdin="z", addPreviousOutputInEnv=False)])
    assert engine.warnings == []
    rsa = {**connection, "hostKey": sshd.host_keys["ssh-rsa"]}
    with pytest.raises(StepFailed, match="ssh-rsa"):  # the provider offers only SHA-1 RSA for it
        engine.up([command("r", remote, connection=rsa, create="echo hi", stdin="z", addPreviousOutputInEnv=False)])
