"""``components.unifi.original`` on its own: ``check-original``'s inputs and its refusal, and
``restore`` with ``METALLB_UNIFI_SKIP_RESTORE_ON``: which failures it may skip, on which hosts,
and the message that names the variable when it does not. ``SshSession.open`` is replaced by a
fake that answers the original and restore scripts by their exact text; the scripts run for real
in tests/unifi/test_scripts.py, a whole lifecycle in tests/resources/test_usg_lifecycle.py."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from components.contract import CONTENT_ENV, SKIP_RESTORE_ENV, SSH_KEY_ENV
from components.unifi.errors import (
    EXIT_SETTINGS_DROPPED,
    HostKeyMismatchError,
    RemoteCommandError,
    SettingsDroppedError,
    SshAuthError,
    SshConnectionError,
    UnifiError,
    UsageError,
)
from components.unifi.options import SshFile
from components.unifi.original import check_original, read_owned, restore
from components.unifi.scripts import original_script
from components.unifi.ssh import HostKey, RemoteResult, SshSession, SshTarget

HOST_KEY = HostKey.parse("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl")
TARGET = SshTarget("unifi.lan", 22, "root", HOST_KEY)
SITE = "/srv/unifi/data/sites/default"
OWNED = [("protocols", "bgp", "64512")]
INSTALLED = {"protocols": {"bgp": {"64512": {"neighbor": {"10.20.0.11": {"remote-as": "64513"}}}}}}
_KEY = ed25519.Ed25519PrivateKey.generate()
KEY_TEXT = _KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
).decode()
PUBLIC_KEY = _KEY.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def ssh_file(*, key_text: str = KEY_TEXT, sudo: bool = False) -> SshFile:
    return SshFile(TARGET, key_text, SITE, "lab", sudo)


@dataclass
class Ssh:
    """The fake SSH side: the sessions opened (or the error opening one raises), and what ran."""

    answers: dict[str, RemoteResult] = field(default_factory=dict)  # by script name
    fail: UnifiError | None = None
    opened: list[tuple[SshTarget, Any, str]] = field(default_factory=list)
    events: list[str] = field(default_factory=list)

    def open(self, target: SshTarget, key: Any, key_source: str) -> FakeSession:
        if self.fail is not None:
            raise self.fail
        self.opened.append((target, key, key_source))
        return FakeSession(self, target)


@dataclass
class FakeSession:
    ssh: Ssh
    target: SshTarget

    def __str__(self) -> str:
        return str(self.target)

    def __enter__(self) -> FakeSession:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.ssh.events.append("close")

    def run_script(self, script: str, *, sudo: bool) -> RemoteResult:
        names = {
            original_script(site_dir=SITE, stack="lab"): "original",
        }
        name = names[script]  # any other script is a failure
        self.ssh.events.append(name + (" (sudo)" if sudo else ""))
        return self.ssh.answers[name]


@pytest.fixture
def ssh(monkeypatch: pytest.MonkeyPatch) -> Ssh:
    fake = Ssh()
    monkeypatch.setattr(SshSession, "open", fake.open)
    return fake


def installing(document: Any = INSTALLED) -> dict[str, str]:
    return {CONTENT_ENV: json.dumps(document)}


def present(original: Any) -> RemoteResult:
    text = original if isinstance(original, str) else json.dumps(original)
    return RemoteResult(0, f"original {len(text.encode())}\n{text}\nend\n", "")


# --- the owned paths on stdin ---------------------------------------------------------------------


def test_owned_paths_are_read_as_tuples() -> None:
    stdin = io.StringIO('{"owned": [["protocols", "bgp", "64512"], ["system", "static-host-mapping"]]}')
    assert read_owned(stdin) == [("protocols", "bgp", "64512"), ("system", "static-host-mapping")]
    assert read_owned(io.StringIO('{"owned": []}')) == []


@pytest.mark.parametrize(
    "text", ["", "owned", "[]", "{}", '{"owned": {}}', '{"owned": ["protocols"]}', '{"owned": [["bgp", 64512]]}']
)
def test_anything_else_on_stdin_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        read_owned(io.StringIO(text))
    assert caught.value.args[0] == 'stdin must be JSON {"owned": [[key, ...], ...]}'


# --- check-original -------------------------------------------------------------------------------


@pytest.mark.parametrize("env", [{}, {CONTENT_ENV: ""}, {CONTENT_ENV: "{not json"}, installing([INSTALLED])])
def test_the_file_to_install_must_be_given_before_anything_connects(ssh: Ssh, env: dict[str, str]) -> None:
    with pytest.raises(UsageError) as caught:
        check_original(ssh_file(), env, OWNED, lambda _: None)
    assert caught.value.args[0] == (
        f"set {CONTENT_ENV} to the config.gateway.json about to be installed (a JSON object)"
    )
    assert ssh.opened == []


@pytest.mark.parametrize("sudo", [False, True])
def test_no_original_means_nothing_to_keep(ssh: Ssh, sudo: bool) -> None:
    ssh.answers["original"] = RemoteResult(0, "original absent\nend\n", "")
    said: list[str] = []

    check_original(ssh_file(sudo=sudo), installing(), OWNED, said.append)

    assert said == [f"no config.gateway.json of yours in {SITE}: nothing to keep"]
    ((target, key, source),) = ssh.opened
    assert (target, source, f"{key.get_name()} {key.get_base64()}") == (TARGET, SSH_KEY_ENV, PUBLIC_KEY)
    assert ssh.events == ["original (sudo)" if sudo else "original", "close"]


def test_an_original_whose_settings_are_all_kept_or_owned_passes(ssh: Ssh) -> None:
    # The original's own BGP neighbour is under the owned path: the stack rewrites it.
    ssh.answers["original"] = present(
        {
            "protocols": {"bgp": {"64512": {"neighbor": {"10.0.0.9": {"remote-as": "64512"}}}}},
            "service": {"gui": {"https-port": "8443"}},
        }
    )
    said: list[str] = []
    installed = {**INSTALLED, "service": {"gui": {"https-port": "8443"}}}

    check_original(ssh_file(), installing(installed), OWNED, said.append)

    assert said == [f"every setting of your config.gateway.json in {SITE} is kept"]


def test_a_dropped_setting_is_refused_by_path_never_by_value(ssh: Ssh) -> None:
    ssh.answers["original"] = present(
        {
            "protocols": {"bgp": {"64512": {"parameters": {"router-id": "192.168.1.1"}}}},  # owned
            "service": {"dns": {"forwarding": {"options": ["address=/nas/10.1.2.3"]}}, "gui": {"https-port": "8443"}},
            "vpn": {
                "ipsec": {"site-to-site": {"peer": {"203.0.113.7": {"authentication": {"pre-shared-secret": "psk"}}}}}
            },
        }
    )

    with pytest.raises(SettingsDroppedError) as caught:
        check_original(ssh_file(), installing(), OWNED, lambda _: None)

    assert caught.value.exit_code == EXIT_SETTINGS_DROPPED
    assert caught.value.args[0] == (
        "the controller's config.gateway.json has 3 settings this stack would drop: "
        "service.dns.forwarding.options[0], service.gui.https-port, "
        'vpn.ipsec.site-to-site.peer."203.0.113.7".authentication.pre-shared-secret; '
        "copy that file into the project and point metallb-unifi:gateway.baseConfigFile at the copy, "
        "so that it is kept and this stack's part is merged into it"
    )
    for value in ("address=/nas/10.1.2.3", "8443", "psk"):
        assert value not in str(caught.value)


@pytest.mark.parametrize("text", ["", "[1, 2]\n", '"text"\n', "{not json\n"])
def test_an_original_that_is_not_a_json_object_is_refused(ssh: Ssh, text: str) -> None:
    ssh.answers["original"] = present(text)

    with pytest.raises(SettingsDroppedError) as caught:
        check_original(ssh_file(), installing(), OWNED, lambda _: None)

    assert caught.value.args[0] == (
        f"your config.gateway.json in {SITE} is not a JSON object, so this stack cannot tell which of its settings "
        "to keep; fix it, or copy it into the project, fix the copy and point "
        "metallb-unifi:gateway.baseConfigFile at it"
    )


@pytest.mark.parametrize(
    ("result", "message"),
    [
        (
            RemoteResult(0, "garbage\n", ""),
            "the original script on root@unifi.lan:22: expected 'original' in script output, got 'garbage'",
        ),
        (
            RemoteResult(4, "", "another stack's\n state\n"),
            "the original script on root@unifi.lan:22 exited 4: another stack's state",
        ),
    ],
)
def test_an_original_script_that_fails_or_says_nonsense_is_a_remote_command_error(
    ssh: Ssh, result: RemoteResult, message: str
) -> None:
    ssh.answers["original"] = result
    with pytest.raises(RemoteCommandError) as caught:
        check_original(ssh_file(), installing(), OWNED, lambda _: None)
    assert caught.value.args[0].startswith(message)


# --- restore --------------------------------------------------------------------------------------


UNREACHABLE = [
    SshConnectionError("cannot connect to unifi.lan:22 (Connection refused)"),
    HostKeyMismatchError("unifi.lan:22 presented host key ssh-ed25519 SHA256:x, not the expected one"),
    SshAuthError("root@unifi.lan:22 refused the ssh-ed25519 key from UNIFI_SSH_PRIVATE_KEY"),
]


@pytest.mark.parametrize("error", UNREACHABLE, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("skip", [None, "", " , ", "unifi.lan:2222", "other.lan", "unifi", "192.168.1.2,other.lan"])
def test_a_host_it_cannot_reach_fails_naming_the_variable_that_skips_it(
    ssh: Ssh, error: UnifiError, skip: str | None
) -> None:
    ssh.fail = error
    env = {} if skip is None else {SKIP_RESTORE_ENV: skip}

    with pytest.raises(UnifiError) as caught:
        restore(ssh_file(), env, lambda _: None)

    assert type(caught.value) is type(error)  # the same exit code
    assert caught.value.args[0] == (
        f"{error.args[0]}; cannot restore your original config.gateway.json on unifi.lan. "
        "If that controller is gone for good, run: METALLB_UNIFI_SKIP_RESTORE_ON=unifi.lan pulumi up "
        "(or pulumi destroy)"
    )


@pytest.mark.parametrize("error", UNREACHABLE, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("skip", ["unifi.lan", "unifi.lan:22", "other.lan, unifi.lan ", " unifi.lan:22,"])
def test_a_host_it_cannot_reach_is_skipped_with_a_warning_when_the_variable_names_it(
    ssh: Ssh, error: UnifiError, skip: str
) -> None:
    ssh.fail = error
    said: list[str] = []

    restore(ssh_file(), {SKIP_RESTORE_ENV: skip}, said.append)

    assert said == [
        f"warning: {error}; NOT taking stack 'lab''s part out of config.gateway.json in {SITE} on unifi.lan "
        "(METALLB_UNIFI_SKIP_RESTORE_ON=unifi.lan): put your original back by hand if that controller comes back"
    ]
    assert ssh.events == []


def test_a_key_that_cannot_be_loaded_is_skippable_too(ssh: Ssh) -> None:
    said: list[str] = []
    restore(ssh_file(key_text=""), {SKIP_RESTORE_ENV: "unifi.lan"}, said.append)
    assert said[0].startswith(f"warning: SSH authentication: set {SSH_KEY_ENV} to the SSH private key")

    with pytest.raises(SshAuthError) as caught:
        restore(ssh_file(key_text=""), {}, lambda _: None)
    assert caught.value.args[0].endswith(f"run: {SKIP_RESTORE_ENV}=unifi.lan pulumi up (or pulumi destroy)")
    assert ssh.opened == []
