"""`metallb-unifi:gatewaySsh` (SSH to the gateway itself, for `python -m components.verify`) and
`metallb-unifi:verify` (its checks after `pulumi up`): defaults, every refusal at its key, both
forms of a secret, the warnings, the host key rule shared with components.unifi.ssh, redaction."""

from __future__ import annotations

import base64
import dataclasses
import re
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from components.config.errors import ConfigError, Problems
from components.config.model import GatewaySshAccess, Lab, Secret, VerifySettings
from components.config.parse import parse_lab
from components.config.secrets import redact_secrets, secret_values
from components.config.verification import HOST_KEY_TYPES, host_key
from components.render import main as render_main
from components.unifi.errors import UsageError
from components.unifi.ssh import HOST_KEY_ALGORITHMS, HostKey
from tests.config.raw_labs import DROP, REQUIRED, Case, assert_problem, cases, edited, k
from tests.config.strategies import HOST_KEYS, PRIVATE_KEY_TEXT
from tests.unifi.sshd import start_sshd, stop_sshd

ROOT = Path(__file__).resolve().parents[2]
ED25519 = HOST_KEYS["ssh-ed25519"]
ECDSA = HOST_KEYS["ecdsa-sha2-nistp256"]


def gateway_ssh(**overrides: Any) -> dict[str, Any]:
    """A valid gatewaySsh with a key; an override of DROP leaves that key out."""
    given = {"user": "admin", "hostKey": ED25519, "privateKey": PRIVATE_KEY_TEXT} | overrides
    return {name: value for name, value in given.items() if value is not DROP}


def with_keys(base: str = "usg", ssh: Any = DROP, verify: Any = DROP) -> dict[str, Any]:
    edits = [(("gatewaySsh",), ssh)] if ssh is not DROP else []
    edits += [(("verify",), verify)] if verify is not DROP else []
    return edited(base, *edits)


def parsed(raw: dict[str, Any]) -> Lab:
    return parse_lab(raw, stack="lab")


# --- defaults -----------------------------------------------------------------------------------


def test_without_the_keys_there_is_no_gateway_ssh_and_no_check_after_up() -> None:
    lab = parsed(with_keys())
    assert (lab.gateway_ssh, lab.verify, lab.warnings) == (None, None, ())
    # A key given without a value reads as left out, as discovery does.
    assert parsed(with_keys(ssh=None, verify=None)).verify is None


def test_defaults_host_from_the_gateway_port_22_and_the_checks_on_for_two_minutes() -> None:
    lab = parsed(with_keys(ssh=gateway_ssh(), verify={}))
    assert lab.gateway_ssh == GatewaySshAccess(
        host="192.168.1.1",
        port=22,
        user="admin",
        host_key=ED25519,
        private_key=Secret("metallb-unifi:gatewaySsh.privateKey", PRIVATE_KEY_TEXT),
        password=None,
    )
    assert lab.verify == VerifySettings(after_up=True, timeout_s=120, required=False)
    assert lab.warnings == ()


def test_every_key_given() -> None:
    ssh = gateway_ssh(host="USG.lab.example", port="2222", hostKey=ECDSA, privateKey=DROP, password="pw")
    lab = parsed(with_keys("unifi-os", ssh=ssh, verify={"afterUp": False, "timeout": "1m30s", "required": False}))
    assert lab.gateway_ssh is not None and lab.verify is not None
    access = lab.gateway_ssh
    assert (access.host, access.port, access.host_key, access.private_key) == ("USG.lab.example", 2222, ECDSA, None)
    assert access.password == Secret("metallb-unifi:gatewaySsh.password", "pw")
    assert lab.verify == VerifySettings(after_up=False, timeout_s=90, required=False)


@pytest.mark.parametrize("host", ["10.0.0.1", "fd00::1", "gw", "usg.lab.home"])
def test_the_host_is_a_name_or_an_address(host: str) -> None:
    access = parsed(with_keys(ssh=gateway_ssh(host=host))).gateway_ssh
    assert access is not None and access.host == host


@pytest.mark.parametrize("kind", sorted(HOST_KEYS))
def test_every_host_key_type_paramiko_checks_is_taken_even_rsa(kind: str) -> None:
    access = parsed(with_keys(ssh=gateway_ssh(hostKey=HOST_KEYS[kind]))).gateway_ssh
    assert access is not None and access.host_key == HOST_KEYS[kind]


def test_an_ssh_keyscan_line_or_a_comment_is_kept_as_type_and_key() -> None:
    for given_text in (f"192.168.1.1 {ECDSA}", f"[usg.lab]:2222 {ECDSA}", f"{ECDSA} root@usg", f"  {ECDSA}\n"):
        access = parsed(with_keys(ssh=gateway_ssh(hostKey=given_text))).gateway_ssh
        assert access is not None and access.host_key == ECDSA, given_text


def test_what_ssh_keyscan_prints_for_a_real_server_is_taken_as_it_is(tmp_path: Path) -> None:
    if shutil.which("ssh-keyscan") is None:
        pytest.skip("ssh-keyscan is missing: apt-get install openssh-client")
    server, proc = start_sshd(tmp_path)
    try:
        scan = subprocess.run(
            ["ssh-keyscan", "-T", "5", "-p", str(server.port), "-t", "ed25519,ecdsa,rsa", server.host],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    finally:
        stop_sshd(proc)
    lines = sorted(scan.stdout.splitlines())
    assert len(lines) == 3 and all(line.startswith(f"[127.0.0.1]:{server.port} ") for line in lines), scan.stdout
    for line in lines:
        access = parsed(with_keys(ssh=gateway_ssh(host="127.0.0.1", hostKey=line))).gateway_ssh
        assert access is not None
        kind = access.host_key.split()[0]
        assert access.host_key == " ".join(server.host_keys[kind].split()[:2])


# --- secrets --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["privateKey", "password"])
def test_an_encrypted_secret_is_an_unknown_value_named_by_its_key(name: str) -> None:
    ssh = {"user": "root", "hostKey": ED25519, name: {"secure": "v1:AAAA"}}
    access = parsed(with_keys("unifi-os", ssh=ssh)).gateway_ssh
    assert access is not None
    secret = access.private_key if name == "privateKey" else access.password
    other = access.password if name == "privateKey" else access.private_key
    assert secret == Secret(f"metallb-unifi:gatewaySsh.{name}", None) and not secret.known
    assert other is None


def test_secrets_never_show_in_repr() -> None:
    lab = parsed(with_keys(ssh=gateway_ssh(privateKey=DROP, password="hunter2-very-secret")))
    assert "hunter2" not in repr(lab)
    lab = parsed(with_keys(ssh=gateway_ssh()))
    assert "OPENSSH" not in repr(lab)


def test_redaction_covers_the_gateway_ssh_secrets_with_every_other() -> None:
    raw = with_keys(ssh=gateway_ssh())
    raw["bgp"] = {"password": "bgp-pw"}
    raw["controller"] = {
        "url": "https://unifi.lan:8443",
        "username": "admin",
        "password": "controller-pw",
        "ssh": {"user": "root", "privateKey": PRIVATE_KEY_TEXT + " ", "hostKey": ED25519, "dataDir": "cloudkey"},
    }
    lab = parsed(raw)
    assert sorted(secret_values(lab)) == sorted([PRIVATE_KEY_TEXT, "bgp-pw", "controller-pw", PRIVATE_KEY_TEXT + " "])
    shown = redact_secrets(lab)
    assert secret_values(shown) == tuple(f"<secret: {s.key}>" for s in _secrets(lab))
    assert shown.gateway_ssh is not None
    assert shown.gateway_ssh.private_key == Secret(
        "metallb-unifi:gatewaySsh.privateKey", "<secret: metallb-unifi:gatewaySsh.privateKey>"
    )
    # Everything else is the same, and a lab without secrets comes back as it is.
    assert dataclasses.replace(shown, bgp=lab.bgp, controller=lab.controller, gateway_ssh=lab.gateway_ssh) == lab
    plain = parsed(with_keys(verify={}))
    assert redact_secrets(plain) is plain


def _secrets(lab: Lab) -> list[Secret]:
    assert lab.controller is not None and lab.controller.ssh is not None and lab.gateway_ssh is not None
    found = [lab.bgp.password, lab.controller.password, lab.controller.ssh.private_key, lab.gateway_ssh.private_key]
    return [s for s in found if s is not None]


def test_render_with_gateway_ssh_writes_no_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: metallb-unifi\nruntime: python\n")
    raw = with_keys(ssh=gateway_ssh(privateKey=DROP, password="gw-password-1"), verify={"required": True})
    raw["bgp"] = {"password": "bgp-password-2"}
    stack = tmp_path / "Pulumi.test.yaml"
    stack.write_text(yaml.safe_dump({"config": {f"metallb-unifi:{key}": value for key, value in raw.items()}}))
    assert render_main(["--stack-file", str(stack), "--out", str(tmp_path / "out")]) == 0
    written = "".join(path.read_text() for path in (tmp_path / "out").iterdir())
    assert "<secret: metallb-unifi:bgp.password>" in written
    assert "password-1" not in written + capsys.readouterr().out and "password-2" not in written


# --- refusals -------------------------------------------------------------------------------------

WRONG_TYPE = base64.b64encode(struct.pack(">I", 11) + b"ssh-ed25519" + bytes(32)).decode()

REFUSALS: dict[str, Case] = {
    "not an object": ("usg", [(("gatewaySsh",), "root@192.168.1.1")], "gatewaySsh", "must be an object, got a string"),
    "unknown key": ("usg", [(("gatewaySsh",), gateway_ssh(hostkey=ED25519))], "gatewaySsh.hostkey", "did you mean"),
    "no user": ("usg", [(("gatewaySsh",), gateway_ssh(user=None))], "gatewaySsh.user", REQUIRED),
    "blank user": ("usg", [(("gatewaySsh",), gateway_ssh(user=" "))], "gatewaySsh.user", "non-empty string"),
    "no host key": ("usg", [(("gatewaySsh",), {"user": "a", "password": "p"})], "gatewaySsh.hostKey", REQUIRED),
    "host not an address": ("usg", [(("gatewaySsh",), gateway_ssh(host="300.1.2.3"))], "gatewaySsh.host", "neither"),
    "host with a space": ("usg", [(("gatewaySsh",), gateway_ssh(host="my usg"))], "gatewaySsh.host", "neither"),
    "host a URL": ("usg", [(("gatewaySsh",), gateway_ssh(host="ssh://usg"))], "gatewaySsh.host", "neither"),
    "port 0": ("usg", [(("gatewaySsh",), gateway_ssh(port=0))], "gatewaySsh.port", "out of range"),
    "port too high": ("usg", [(("gatewaySsh",), gateway_ssh(port=65536))], "gatewaySsh.port", "out of range"),
    "port text": ("usg", [(("gatewaySsh",), gateway_ssh(port="ssh"))], "gatewaySsh.port", "whole number"),
    "host key type": (
        "usg",
        [(("gatewaySsh",), gateway_ssh(hostKey="ssh-dss AAAAB3NzaC1kc3M="))],
        "gatewaySsh.hostKey",
        "with TYPE one of ssh-ed25519, ecdsa-sha2-nistp256",
    ),
    "host key without its data": (
        "usg",
        [(("gatewaySsh",), gateway_ssh(hostKey="ssh-ed25519"))],
        "gatewaySsh.hostKey",
        "`ssh-keyscan -t ecdsa HOST`",
    ),
    "host key a number": ("usg", [(("gatewaySsh",), gateway_ssh(hostKey=7))], "gatewaySsh.hostKey", "got 7"),
    "host key base64": (
        "usg",
        [(("gatewaySsh",), gateway_ssh(hostKey="ssh-ed25519 AAAA!"))],
        "gatewaySsh.hostKey",
        "the key after ssh-ed25519 is not valid base64",
    ),
    "host key of another type": (
        "usg",
        [(("gatewaySsh",), gateway_ssh(hostKey=f"ecdsa-sha2-nistp256 {WRONG_TYPE}"))],
        "gatewaySsh.hostKey",
        "the key data is not a ecdsa-sha2-nistp256 key",
    ),
    "private key not a key": (
        "usg",
        [(("gatewaySsh",), gateway_ssh(privateKey="~/.ssh/id_ed25519"))],
        "gatewaySsh.privateKey",
        "PRIVATE KEY-----",
    ),
    "private key empty": ("usg", [(("gatewaySsh",), gateway_ssh(privateKey=""))], "gatewaySsh.privateKey", "empty"),
    "password a number": (
        "usg",
        [(("gatewaySsh",), gateway_ssh(privateKey=DROP, password=1234))],
        "gatewaySsh.password",
        "must be a string (set it with `pulumi config set --secret`), got a number",
    ),
    "both ways to log in": (
        "usg",
        [(("gatewaySsh",), gateway_ssh(password="pw"))],
        "gatewaySsh.password",
        "give either privateKey or password, not both",
    ),
    "no way to log in": (
        "usg",
        [(("gatewaySsh",), {"user": "a", "hostKey": ED25519})],
        "gatewaySsh.privateKey",
        "is required: give privateKey (a private key's text) or password",
    ),
    "verify not an object": ("usg", [(("verify",), True)], "verify", "must be an object, got a boolean"),
    "verify unknown key": ("usg", [(("verify",), {"afterup": True})], "verify.afterup", "did you mean 'afterUp'?"),
    "afterUp text": ("usg", [(("verify",), {"afterUp": "yes"})], "verify.afterUp", "must be true or false"),
    "required text": ("usg", [(("verify",), {"required": "no"})], "verify.required", "must be true or false"),
    "timeout short": ("usg", [(("verify",), {"timeout": "9s"})], "verify.timeout", "out of range: allowed 10s..30m"),
    "timeout long": ("usg", [(("verify",), {"timeout": "30m1s"})], "verify.timeout", "1801s is out of range"),
    "timeout text": ("usg", [(("verify",), {"timeout": "soon"})], "verify.timeout", "must be a duration"),
    "timeout null": ("usg", [(("verify",), {"timeout": None})], "verify.timeout", "has no value"),
    "top-level typo": ("usg", [(("gatewaySSH",), {})], "gatewaySSH", "did you mean 'metallb-unifi:gatewaySsh'?"),
}


@cases(REFUSALS)
def test_each_refusal_names_its_key(base, edits, key, fragment):
    assert_problem(edited(base, *edits), k(key), fragment)


def test_a_key_given_without_a_value_is_one_problem_not_two() -> None:
    problems = assert_problem(with_keys(ssh=gateway_ssh(privateKey=None)), k("gatewaySsh.privateKey"), "has no value")
    assert [p.key for p in problems] == [k("gatewaySsh.privateKey")]


def test_gateway_ssh_is_still_checked_when_the_gateway_is_unusable() -> None:
    raw = with_keys(ssh=gateway_ssh(port=0))
    del raw["gateway"]["peerAddress"]
    problems = assert_problem(raw, k("gatewaySsh.port"), "out of range")
    assert sorted(p.key for p in problems) == [k("gateway.peerAddress"), k("gatewaySsh.port")]


# --- warnings -------------------------------------------------------------------------------------


def test_checks_after_up_without_gateway_ssh_are_warned_to_skip_sessions_and_routes() -> None:
    warning = "metallb-unifi:verify: sessions and routes will be skipped: set metallb-unifi:gatewaySsh"
    assert parsed(with_keys(verify={})).warnings == (warning,)
    assert parsed(with_keys(verify={"afterUp": True, "required": True})).warnings == (warning,)
    assert parsed(with_keys(ssh=gateway_ssh(), verify={})).warnings == ()
    assert parsed(with_keys(verify={"afterUp": False})).warnings == ()


def test_required_without_checks_after_up_is_warned() -> None:
    lab = parsed(with_keys(ssh=gateway_ssh(), verify={"afterUp": False, "required": True}))
    (warning,) = lab.warnings
    assert warning == "metallb-unifi:verify.required: has no effect with afterUp: false (no checks run after up)"


# --- the host key rule is components.unifi.ssh's ----------------------------------------------------


def test_the_host_key_types_are_those_components_unifi_ssh_checks() -> None:
    assert set(HOST_KEY_TYPES) == set(HOST_KEY_ALGORITHMS)


def _config_reads(text: str) -> str | None:
    return host_key(text, "k", Problems())


def _ssh_reads(text: str) -> HostKey | None:
    try:
        return HostKey.parse(text)
    except UsageError:
        return None


_PARTS = st.sampled_from(
    [*HOST_KEY_TYPES, *(v.split()[1] for v in HOST_KEYS.values()), "ssh-dss", "[h]:22", "10.0.0.1", "root@x", "AAAA"]
)


@given(
    st.one_of(
        st.lists(_PARTS, max_size=4).map(" ".join),
        st.sampled_from(sorted(HOST_KEYS.values())).map(lambda v: v[: len(v) // 2]),  # cut short
        st.text(max_size=40),
    )
)
def test_the_config_takes_exactly_the_host_keys_host_key_parse_takes(text: str) -> None:
    config, ssh = _config_reads(text), _ssh_reads(text)
    assert (config is None) == (ssh is None), text
    if config is not None and ssh is not None:
        assert HostKey.parse(config) == ssh  # what the config keeps reads back as the same key


# --- documentation --------------------------------------------------------------------------------


def _allowed_keys(raw: dict[str, Any], key: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parsed(raw)
    (message,) = [p.message for p in caught.value.problems if p.key == key]
    return message.split("allowed keys: ")[1].split(", ")


def test_every_top_level_key_and_every_key_of_the_new_sections_is_documented() -> None:
    docs = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## `(metallb-unifi:[A-Za-z0-9]+)`", docs, flags=re.M)
    assert sorted(headings) == sorted(_allowed_keys(edited("usg", (("zzz",), 1)), k("zzz")))
    for section, raw in (
        ("gatewaySsh", with_keys(ssh=gateway_ssh(zzz=1))),
        ("verify", with_keys(verify={"zzz": 1})),
    ):
        text = docs.split(f"## `metallb-unifi:{section}`")[1].split("\n## ")[0]
        rows = re.findall(r"^\| `([A-Za-z]+)` \|", text, flags=re.M)
        assert sorted(rows) == sorted(_allowed_keys(raw, k(f"{section}.zzz"))), section
