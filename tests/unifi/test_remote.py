"""``components.unifi.remote`` on its own: which SSH session each step opens (target, key and the
variable named in key errors), when it is closed, when ``provision`` runs, and what the gateway's
BGP summary prints. ``SshSession.open`` is replaced by a fake that answers the controller-side
scripts by their exact text; the scripts themselves run for real in tests/unifi/test_scripts.py,
and the whole path against OpenSSH in tests/unifi/test_gateway_file.py."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import pytest

from components.contract import GATEWAY_KEY_ENV, SSH_KEY_ENV
from components.unifi.errors import ProvisionTimeoutError, RemoteCommandError, RolledBackError
from components.unifi.gateway_file import GatewayFileJob
from components.unifi.options import GatewaySsh, SshProvision
from components.unifi.remote import print_bgp_summary, provision_with_file
from components.unifi.scripts import install_script, prepare_script, restore_script, staged_path, verify_script
from components.unifi.ssh import HostKey, RemoteResult, SshSession, SshTarget

HOST_KEY = HostKey.parse("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl")
CONTROLLER = SshTarget("unifi.lan", 22, "root", HOST_KEY)
GATEWAY = SshTarget("usg.lan", 2222, "ubnt", HOST_KEY)
KEY: Any = object()  # stands for the loaded paramiko key: only passed through
CONTENT = b'{"protocols": {}}\n'
SHA = hashlib.sha256(CONTENT).hexdigest()
SITE = "/srv/unifi/data/sites/default"


def job(*, sudo: bool = False, content: bytes | None = CONTENT) -> GatewayFileJob:
    return GatewayFileJob(site_dir=SITE, owner="unifi", stack="lab", expected_sha256=SHA, content=content, sudo=sudo)


@dataclass
class Ssh:
    """The fake SSH side: every session opened, and one event list for everything that happens
    (``provision`` appends to it too, so the order of sessions and provisions shows)."""

    answers: dict[str, RemoteResult] = field(default_factory=dict)  # by script name or command
    opened: list[tuple[SshTarget, Any, str]] = field(default_factory=list)
    events: list[str] = field(default_factory=list)

    def open(self, target: SshTarget, key: Any, key_source: str) -> FakeSession:
        self.opened.append((target, key, key_source))
        self.events.append("open")
        return FakeSession(self, target)


@dataclass
class FakeSession:
    ssh: Ssh
    target: SshTarget

    @property
    def user(self) -> str:
        return self.target.user

    def __str__(self) -> str:
        return str(self.target)

    def __enter__(self) -> FakeSession:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.ssh.events.append("close")

    def run_script(self, script: str, *, sudo: bool) -> RemoteResult:
        names = {
            verify_script(site_dir=SITE): "verify",
            prepare_script(site_dir=SITE, owner="unifi", upload_user=self.user): "prepare",
            install_script(site_dir=SITE, expected_sha256=SHA, owner="unifi", stack="lab"): "install",
            restore_script(site_dir=SITE, stack="lab"): "restore",
        }
        name = names[script]  # any other script is a failure
        self.ssh.events.append(name + (" (sudo)" if sudo else ""))
        return self.ssh.answers.get(name, RemoteResult(0, "", ""))

    def upload(self, data: bytes, path: str) -> None:
        assert (data, path) == (CONTENT, staged_path(SITE))
        self.ssh.events.append("upload")

    def run(self, command: str, stdin: bytes = b"") -> RemoteResult:
        self.ssh.events.append(f"run {command}")
        return self.ssh.answers[command]


@pytest.fixture
def ssh(monkeypatch: pytest.MonkeyPatch) -> Ssh:
    fake = Ssh()
    monkeypatch.setattr(SshSession, "open", fake.open)
    return fake


def live(sha: str | None) -> RemoteResult:
    return RemoteResult(0, f"{sha or 'absent'}\n", "")


# --- provision_with_file --------------------------------------------------------------------------


def test_the_live_file_is_checked_in_a_session_closed_before_provisioning(ssh: Ssh) -> None:
    ssh.answers["verify"] = live(SHA)
    said: list[str] = []

    done = provision_with_file(
        lambda: ssh.events.append("provision"), SshProvision(CONTROLLER, KEY, job()), said.append
    )

    assert done is True
    assert ssh.events == ["open", "verify", "close", "provision"]
    assert ssh.opened == [(CONTROLLER, KEY, SSH_KEY_ENV)]
    assert said == [
        f"ssh root@unifi.lan:22: connected (host key ssh-ed25519 {HOST_KEY.fingerprint})",
        f"live config.gateway.json is the one stack 'lab' expects (sha256 {SHA})",
    ]


def test_already_provisioned_with_the_live_file_provisions_nothing(ssh: Ssh) -> None:
    ssh.answers["verify"] = live(SHA)
    said: list[str] = []

    done = provision_with_file(
        lambda: ssh.events.append("provision"), SshProvision(CONTROLLER, KEY, job()), said.append, already=True
    )

    assert done is False
    assert ssh.events == ["open", "verify", "close"]
    assert said[-1] == f"already provisioned with sha256 {SHA}, nothing to do"


@pytest.mark.parametrize("already", [False, True])
def test_a_file_installed_again_is_provisioned_even_if_already_provisioned(ssh: Ssh, already: bool) -> None:
    ssh.answers["verify"] = live(None)  # removed behind the stack's back
    provision = SshProvision(CONTROLLER, KEY, job(sudo=True))

    done = provision_with_file(lambda: ssh.events.append("provision"), provision, lambda _: None, already=already)

    assert done is True
    assert ssh.events == [
        "open",
        "verify (sudo)",
        "prepare (sudo)",
        "upload",
        "install (sudo)",
        "close",
        "provision",
    ]


def test_a_roll_back_opens_a_new_session_with_the_same_target_and_key(ssh: Ssh) -> None:
    ssh.answers["verify"] = live(SHA)
    ssh.answers["restore"] = RemoteResult(0, "changed\n", "")
    outcomes: list[Exception | None] = [ProvisionTimeoutError("no new cfgversion after 600s"), None]

    def provision() -> None:
        ssh.events.append("provision")
        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome

    with pytest.raises(RolledBackError):
        provision_with_file(provision, SshProvision(CONTROLLER, KEY, job()), lambda _: None)

    assert ssh.events == ["open", "verify", "close", "provision", "open", "restore", "close", "provision"]
    assert ssh.opened == [(CONTROLLER, KEY, SSH_KEY_ENV)] * 2


# --- print_bgp_summary ----------------------------------------------------------------------------

SUMMARY = "BGP router identifier 192.168.1.1, local AS number 64512\nNeighbor  V  AS\n10.20.0.11  4  64513\n"


def test_the_bgp_summary_runs_the_command_with_the_gateway_key_and_prints_each_line(ssh: Ssh) -> None:
    ssh.answers["show bgp"] = RemoteResult(0, SUMMARY + "\n", "")
    said: list[str] = []

    print_bgp_summary(GatewaySsh(GATEWAY, KEY, "show bgp"), said.append)

    assert ssh.opened == [(GATEWAY, KEY, GATEWAY_KEY_ENV)]
    assert ssh.events == ["open", "run show bgp", "close"]
    assert said == ["show bgp on ubnt@usg.lan:2222:", *SUMMARY.splitlines()]


@pytest.mark.parametrize(("stderr", "reason"), [("no such\n  command\n", "no such command"), ("", "no message")])
def test_a_failing_bgp_summary_prints_its_output_then_fails_with_its_stderr(ssh: Ssh, stderr: str, reason: str) -> None:
    ssh.answers["show bgp"] = RemoteResult(9, "partial\n", stderr)
    said: list[str] = []

    with pytest.raises(RemoteCommandError) as caught:
        print_bgp_summary(GatewaySsh(GATEWAY, KEY, "show bgp"), said.append)

    assert caught.value.args[0] == f"'show bgp' on ubnt@usg.lan:2222 exited 9: {reason}"
    assert said == ["show bgp on ubnt@usg.lan:2222:", "partial"]
    assert ssh.events[-1] == "close"
