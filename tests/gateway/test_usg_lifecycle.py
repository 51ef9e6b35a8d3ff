"""The USG upload's whole lifecycle, for real: the program runs under mocks, and the command
resources it registers are carried out like the Pulumi engine would (``tests/command_engine``)
against a real ``sshd`` on loopback, a temp dir standing in for the controller's data
directory, and the loopback controller stand-in that counts provisions.

create(v1) → update(v2) → update(v2 again: nothing runs) → delete, checking the live file and
the number of provisions after each step; and a gateway that does not come back with v2."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.command_engine import CommandEngine, StepFailed
from tests.gateway.conftest import with_small_manifest
from tests.program_harness import REPO, resolve, run_program, stack_config
from tests.unifi.conftest import FAST, Certs, FakeController, base_env
from tests.unifi.sshd import SshServer

ORIGINAL = b'{"service": {"dns": {"forwarding": {"options": ["host-record=nas.lan,192.168.1.5"]}}}}\n'
BGP_PASSWORD = "bgp-pw-4711"
SITE = "default"


class Lab:
    """One lab stack wired to the stand-ins; ``up(**bgp)`` deploys it with those BGP settings."""

    def __init__(
        self,
        monkeypatch: pytest.MonkeyPatch,
        small_mirror: str,
        tmp_path: Path,
        fake: FakeController,
        certs: Certs,
        sshd: SshServer,
    ) -> None:
        self.monkeypatch, self.small_mirror, self.fake = monkeypatch, small_mirror, fake
        self.data_dir = tmp_path / "data"
        self.data_dir.mkdir()
        self.live = self.data_dir / "sites" / SITE / "config.gateway.json"
        self.controller: dict[str, Any] = {
            "url": fake.url,
            "username": fake.scenario.username,
            "password": fake.scenario.password,
            "fingerprint": certs.server.fingerprint,
            "provisionTimeout": "30s",
            "ssh": {
                "host": sshd.host,
                "port": sshd.port,
                "user": sshd.user,
                "privateKey": sshd.clients["ed25519"].private,
                "hostKey": sshd.host_key,
                "dataDir": str(self.data_dir),
                "owner": f"{os.getuid()}:{os.getgid()}",
            },
        }
        self.sshd = sshd
        self.engine = CommandEngine(REPO, base_env(), rewrite_local=_fast_polls)

    def use_client_key(self, kind: str) -> None:
        self.controller["ssh"]["privateKey"] = self.sshd.clients[kind].private

    def config(self, **bgp: Any) -> dict[str, str]:
        return with_small_manifest(
            stack_config(
                REPO / "Pulumi.lab.yaml",
                self.small_mirror,
                bgp={"password": BGP_PASSWORD, **bgp},
                controller=self.controller,
            )
        )

    def up(self, **bgp: Any) -> tuple[list[tuple[str, str]], bytes]:
        run = run_program(self.monkeypatch, self.config(**bgp), preview=False)
        content, known, _ = resolve(run.exports["configGatewayJson"])
        assert known
        return self.engine.up(run.registrations), content.encode()


def _fast_polls(command: str) -> str:
    """The provision client polls every 5 s; the stand-in answers at once, so poll faster and
    give up sooner (argparse: a later option wins)."""
    if " -m components.unifi provision " in command:
        return f"{command} {' '.join(FAST)} --poll-interval 0.02 --timeout 3"
    return command


@pytest.fixture
def lab(
    monkeypatch: pytest.MonkeyPatch,
    small_mirror: str,
    tmp_path: Path,
    controller: Callable[..., FakeController],
    certs: Certs,
    sshd: SshServer,
) -> Callable[..., Lab]:
    def start(**scenario: Any) -> Lab:
        live = tmp_path / "data" / "sites" / SITE / "config.gateway.json"
        fake = controller(lag_polls=1, provisioning_polls=1, config_file=live, **scenario)
        return Lab(monkeypatch, small_mirror, tmp_path, fake, certs, sshd)

    return start


def test_create_update_noop_update_and_delete(lab: Callable[..., Lab]) -> None:
    env = lab()
    env.live.parent.mkdir(parents=True)
    env.live.write_bytes(ORIGINAL)  # the user's own file, from before this stack

    steps, v1 = env.up()
    assert steps == [
        ("create", "usg-reprovision-after-restore"),
        ("create", "usg-stage"),
        ("create", "usg-upload"),
        ("create", "usg-install"),
        ("create", "usg-provision"),
    ]
    assert env.live.read_bytes() == v1 and BGP_PASSWORD.encode() in v1
    assert stat.S_IMODE(env.live.stat().st_mode) == 0o600
    assert (env.live.parent / "config.gateway.json.metallb-unifi-original").read_bytes() == ORIGINAL
    assert env.fake.stats.provisioned_configs == [v1]

    steps, v2 = env.up(holdTime="30s")
    assert v2 != v1 and env.live.read_bytes() == v2
    # The install is updated in place: its delete (the restore) did not run.
    assert ("update", "usg-install") in steps and ("delete", "usg-install") not in steps
    assert ("update", "usg-provision") in steps
    assert env.fake.stats.provisioned_configs == [v1, v2]
    assert (env.live.parent / "config.gateway.json.metallb-unifi-original").read_bytes() == ORIGINAL

    steps, again = env.up(holdTime="30s")
    assert again == v2 and steps == []
    assert env.fake.provisions == 2

    # A new SSH key changes the connection, which replaces the remote commands: the install's
    # restore must run before the new install, and the file end up installed.
    env.use_client_key("ecdsa")
    steps, same = env.up(holdTime="30s")
    assert same == v2
    assert steps.index(("replaced", "usg-install")) < steps.index(("create", "usg-install"))
    assert env.live.read_bytes() == v2
    assert (env.live.parent / "config.gateway.json.metallb-unifi-original").read_bytes() == ORIGINAL
    assert env.fake.stats.provisioned_configs[-1] == v2

    steps = env.engine.destroy()
    assert ("delete", "usg-install") in steps
    assert steps[-1] == ("delete", "usg-reprovision-after-restore")  # after the restore
    assert env.live.read_bytes() == ORIGINAL
    assert sorted(p.name for p in env.live.parent.iterdir()) == ["config.gateway.json"]
    assert env.fake.stats.provisioned_configs[-1] == ORIGINAL


def test_without_an_original_destroy_removes_the_file(lab: Callable[..., Lab]) -> None:
    env = lab()

    _, v1 = env.up()
    assert env.live.read_bytes() == v1
    env.engine.destroy()
    assert not env.live.exists()
    assert list(env.live.parent.iterdir()) == []
    assert env.fake.stats.provisioned_configs == [v1, None]


def test_a_gateway_that_does_not_come_back_is_rolled_back_and_the_next_up_retries(lab: Callable[..., Lab]) -> None:
    env = lab()
    env.live.parent.mkdir(parents=True)
    env.live.write_bytes(ORIGINAL)
    _, v1 = env.up()
    env.fake.scenario.bad_config = _render_v2(env)  # provisioning with v2 never finishes

    with pytest.raises(StepFailed) as failure:
        env.up(holdTime="30s")
    assert failure.value.name == "usg-provision"
    assert "restored" in failure.value.stderr
    assert env.live.read_bytes() == ORIGINAL  # put back, and provisioned again
    assert env.fake.stats.provisioned_configs == [v1, env.fake.scenario.bad_config, ORIGINAL]

    env.fake.scenario.bad_config = None  # the gateway is fixed; the same config again
    steps, v2 = env.up(holdTime="30s")
    assert steps == [("update", "usg-provision")]  # the failed step, again: it reinstalls v2
    assert env.live.read_bytes() == v2
    assert env.fake.stats.provisioned_configs[-1] == v2


def _render_v2(env: Lab) -> bytes:
    run = run_program(env.monkeypatch, env.config(holdTime="30s"), preview=False)
    content, _, _ = resolve(run.exports["configGatewayJson"])
    return str(content).encode()
