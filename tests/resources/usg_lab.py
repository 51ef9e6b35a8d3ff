"""A USG lab for lifecycle tests: the program under mocks, its command resources carried out by
``tests/command_engine`` (which follows pulumi-command's and the engine's source) against a real
``sshd`` on loopback, a temp dir standing in for the controller's data directory, and the
loopback controller stand-in that counts provisions."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.command_engine import CommandEngine
from tests.program_harness import REPO, Registration, resolve, run_program, stack_config
from tests.resources.conftest import with_small_manifest
from tests.unifi.conftest import FAST, Certs, FakeController, base_env
from tests.unifi.sshd import SshServer, start_sshd, stop_sshd

# A user's own file with one setting the stack does not render.
ORIGINAL = b'{"service": {"dns": {"forwarding": {"options": ["host-record=nas.lan,192.168.1.5"]}}}}\n'
# The blog post's hand-written file: only the BGP neighbours and the dashboard's host name.
POSTS_FILE = (
    json.dumps(
        {
            "protocols": {
                "bgp": {
                    "64512": {
                        "neighbor": {ip: {"remote-as": "64512"} for ip in ("10.10.0.101", "10.10.0.102")},
                        "parameters": {"router-id": "192.168.1.1"},
                    }
                }
            },
            "system": {"static-host-mapping": {"host-name": {"k8s-dashboard.service": {"inet": ["10.10.10.10"]}}}},
        },
        indent=4,
    )
    + "\n"
).encode()
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
        fingerprint: str,
        sshd: SshServer,
        stack_file: Path = REPO / "Pulumi.lab.yaml",
        stack: str = "test",
    ) -> None:
        self.monkeypatch, self.small_mirror, self.fake, self.tmp_path = monkeypatch, small_mirror, fake, tmp_path
        self.stack_file, self.stack = stack_file, stack
        self.data_dir = tmp_path / "data"
        self.data_dir.mkdir()
        self.gateway: dict[str, Any] = dict(yaml.safe_load(stack_file.read_text())["config"]["metallb-unifi:gateway"])
        self.overrides: dict[str, Any] = {}  # other stack config keys, as the user changed them
        self.controller: dict[str, Any] = {
            "url": fake.url,
            "username": fake.scenario.username,
            "password": fake.scenario.password,
            "fingerprint": fingerprint,
            "provisionTimeout": "30s",
        }
        self.use_sshd(sshd)
        self.engine = CommandEngine(REPO, base_env(), rewrite_local=_fast_polls)

    @property
    def live(self) -> Path:
        return Path(self.controller["ssh"]["dataDir"]) / "sites" / SITE / "config.gateway.json"

    def use_sshd(self, sshd: SshServer, data_dir: Path | None = None) -> None:
        self.sshd = sshd
        self.controller["ssh"] = {
            "host": sshd.host,
            "port": sshd.port,
            "user": sshd.user,
            "privateKey": sshd.clients["ed25519"].private,
            "hostKey": sshd.host_key,
            "dataDir": str(data_dir or self.data_dir),
            "owner": f"{os.getuid()}:{os.getgid()}",
        }
        self.fake.scenario.config_file = self.live

    def config(self, **bgp: Any) -> dict[str, str]:
        return with_small_manifest(
            stack_config(
                self.stack_file,
                self.small_mirror,
                bgp={"password": BGP_PASSWORD, **bgp},
                controller=self.controller,
                gateway=self.gateway,
                **self.overrides,
            )
        )

    # Whether the cluster's commands (the Services', MetalLB's webhook gate) run too (they talk to
    # the cluster's API; see WholeLab in tests/test_day_one_and_two.py): here only the gateway's do.
    cluster_commands = False

    def registrations(self, **bgp: Any) -> tuple[list[Registration], bytes]:
        run = run_program(self.monkeypatch, self.config(**bgp), preview=False, stack=self.stack, observe_gateway=True)
        content, known, _ = resolve(run.exports["configGatewayJson"])
        assert known
        gateway = {r.urn for r in run.of_type("metallb-unifi:gateway:UsgGatewayConfig")}
        registrations = [
            r
            for r in run.registrations
            if self.cluster_commands or not (r.type.startswith("command:") and r.parent not in gateway)
        ]
        return registrations, content.encode()

    def up(self, env: dict[str, str] | None = None, **bgp: Any) -> tuple[list[tuple[str, str]], bytes]:
        registrations, content = self.registrations(**bgp)
        steps = self.engine.up(registrations, env)
        assert self.engine.warnings == []  # no SSH Setenv the server would refuse
        return steps, content

    def site_files(self, data_dir: Path | None = None) -> dict[str, bytes]:
        """Every file of the site directory by its path in it (the stacks' parts are in a folder)."""
        site = (data_dir or Path(self.controller["ssh"]["dataDir"])) / "sites" / SITE
        if not site.exists():
            return {}
        return {str(p.relative_to(site)): p.read_bytes() for p in sorted(site.rglob("*")) if not p.is_dir()}

    def put_original(self, data: bytes) -> None:
        self.live.parent.mkdir(parents=True, exist_ok=True)
        self.live.write_bytes(data)


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
        fake = controller(lag_polls=1, provisioning_polls=1, **scenario)
        return Lab(monkeypatch, small_mirror, tmp_path, fake, certs.server.fingerprint, sshd)

    return start


@pytest.fixture
def second_sshd(tmp_path: Path) -> Iterator[tuple[SshServer, Callable[[], None]]]:
    directory = tmp_path / "second-sshd"
    directory.mkdir()
    server, proc = start_sshd(directory)
    yield server, lambda: stop_sshd(proc)
    stop_sshd(proc)


BACKUP = "config.gateway.json.metallb-unifi-original"
STATE = ".metallb-unifi.state"
PARTS = ".metallb-unifi-parts"
