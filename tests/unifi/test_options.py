"""``components.unifi.options`` on its own: the SSH option groups of ``provision`` and ``status``
are all or none, ports are checked as they are parsed, every option is checked before a key is
read, and the private keys come from the environment only. The options are parsed by the CLI's
own parser; nothing connects anywhere."""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from components.artifacts.stack_claims import lab_claims
from components.contract import CONTENT_ENV, GATEWAY_KEY_ENV, SSH_KEY_ENV
from components.render import load_lab
from components.unifi.__main__ import build_parser
from components.unifi.errors import SshAuthError, UsageError
from components.unifi.options import (
    BGP_SUMMARY_COMMAND,
    gateway_ssh_from_args,
    lock_hold_seconds,
    secret_fragments,
    ssh_file_from_args,
    ssh_provision_from_args,
)
from components.unifi.ssh import HostKey

REPO = Path(__file__).resolve().parents[2]

URL = ["--url", "https://unifi.lan:8443"]
SHA = hashlib.sha256(b"{}\n").hexdigest()
PROVISION_REQUIRED = ["--ssh-user", "--ssh-host-key", "--site-dir", "--owner", "--stack", "--expect-sha256"]


def _key_pair() -> tuple[str, str]:
    """A fresh ed25519 key: (private key text, public key "ssh-ed25519 AAAA...")."""
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return private, public.decode()


PRIVATE_KEY, PUBLIC_KEY = _key_pair()
_, HOST_KEY = _key_pair()


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


def provision_args(*extra: str, **values: str) -> argparse.Namespace:
    """``provision`` with the whole SSH group; ``values`` replace options by name (ssh_host=...)."""
    options = {
        "ssh_host": "unifi.lan",
        "ssh_user": "root",
        "ssh_host_key": HOST_KEY,
        "site_dir": "/srv/unifi/data/sites/default",
        "owner": "unifi",
        "stack": "lab",
        "expect_sha256": SHA,
    } | values
    flags = [item for name, value in options.items() for item in ("--" + name.replace("_", "-"), value)]
    return parse("provision", *URL, *flags, *extra)


def claims(**changes: object) -> io.StringIO:
    """The lab's claims on stdin, as the program sends them (tests: changed)."""
    document = lab_claims(load_lab(REPO / "Pulumi.lab.yaml")).to_json() | changes
    return io.StringIO(json.dumps({"claims": document}))


def status_args(*extra: str) -> argparse.Namespace:
    group = ["--gateway-ssh-host", "usg.lan", "--gateway-ssh-user", "ubnt", "--gateway-ssh-host-key", HOST_KEY]
    return parse("status", *URL, *group, *extra)


# --- all or none ----------------------------------------------------------------------------------


def test_without_ssh_options_there_is_no_ssh_and_no_key_is_needed() -> None:
    assert ssh_provision_from_args(parse("provision", *URL), {}, claims()) is None
    assert gateway_ssh_from_args(parse("status", *URL), {}) is None


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (["--ssh-host", "h"], f"--ssh-host needs {', '.join(PROVISION_REQUIRED)} as well"),
        # An optional member alone is no reason to ignore the group: it is half a group too.
        (["--sudo"], f"--sudo needs --ssh-host, {', '.join(PROVISION_REQUIRED)} as well"),
        (["--ssh-port", "2222"], f"--ssh-port needs --ssh-host, {', '.join(PROVISION_REQUIRED)} as well"),
        (
            ["--stack", "lab", "--ssh-user", "root"],
            "--ssh-user needs --ssh-host, --ssh-host-key, --site-dir, --owner, --expect-sha256 as well",
        ),
    ],
)
def test_a_partial_provision_group_is_a_usage_error_naming_what_is_missing(given: list[str], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        ssh_provision_from_args(parse("provision", *URL, *given), {SSH_KEY_ENV: PRIVATE_KEY}, claims())
    assert caught.value.args[0] == f"{message}: these options go together"


@pytest.mark.parametrize("left_out", ["ssh_host", "owner", "expect_sha256"])
def test_a_provision_group_missing_one_option_names_just_that_one(left_out: str) -> None:
    args = provision_args()
    setattr(args, left_out, None)
    flag = "--" + left_out.replace("_", "-")
    with pytest.raises(UsageError, match=f" needs {flag} as well: these options go together$"):
        ssh_provision_from_args(args, {SSH_KEY_ENV: PRIVATE_KEY}, claims())


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            ["--gateway-ssh-port", "22"],
            "--gateway-ssh-port needs --gateway-ssh-host, --gateway-ssh-user, --gateway-ssh-host-key as well",
        ),
        (
            ["--gateway-ssh-host", "g", "--gateway-ssh-user", "u"],
            "--gateway-ssh-host needs --gateway-ssh-host-key as well",
        ),
    ],
)
def test_a_partial_gateway_group_is_a_usage_error_naming_what_is_missing(given: list[str], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        gateway_ssh_from_args(parse("status", *URL, *given), {GATEWAY_KEY_ENV: PRIVATE_KEY})
    assert caught.value.args[0] == f"{message}: these options go together"


def test_the_gateway_bgp_command_alone_is_not_a_gateway_group() -> None:
    # It has a default, so it is always "given"; it must not make every status need SSH.
    assert gateway_ssh_from_args(parse("status", *URL, "--gateway-bgp-command", "true"), {}) is None


# --- what a whole group gives ---------------------------------------------------------------------


def test_a_whole_provision_group_gives_the_target_the_site_the_part_and_the_key() -> None:
    args = provision_args("--ssh-port", "2222", "--sudo", "--ssh-timeout", "7", expect_sha256=f" {SHA.upper()} ")
    ssh = ssh_provision_from_args(args, {SSH_KEY_ENV: PRIVATE_KEY, CONTENT_ENV: "{}\n"}, claims())
    assert ssh is not None
    assert (ssh.target.host, ssh.target.port, ssh.target.user, ssh.target.timeout) == ("unifi.lan", 2222, "root", 7)
    assert ssh.target.host_key == HostKey.parse(HOST_KEY)
    site = ssh.site
    assert (site.site_dir, site.owner, site.stack, site.sudo) == ("/srv/unifi/data/sites/default", "unifi", "lab", True)
    assert site.hold_s == lock_hold_seconds(args.timeout) and site.wait_s == site.hold_s
    assert ssh.part.content == b"{}\n" and ssh.part.claims.stack == "lab"
    assert f"{ssh.key.get_name()} {ssh.key.get_base64()}" == PUBLIC_KEY


@pytest.mark.parametrize(
    ("env", "stdin", "message"),
    [
        ({}, claims, "set UNIFI_CONFIG_GATEWAY_JSON to the stack's config.gateway.json"),
        ({CONTENT_ENV: "{ }\n"}, claims, "is not --expect-sha256"),
        ({CONTENT_ENV: "{}\n"}, lambda: io.StringIO("{}"), "stdin must be JSON"),
        ({CONTENT_ENV: "{}\n"}, lambda: claims(stack="other"), "stack 'other''s, not --stack 'lab''s"),
        ({CONTENT_ENV: "{}\n"}, lambda: claims(asn="x"), "the claims on stdin: "),
    ],
    ids=["no content", "other content", "no claims", "other stack", "damaged claims"],
)
def test_the_part_and_its_claims_are_checked_before_anything_connects(
    env: dict[str, str], stdin: Callable[[], io.StringIO], message: str
) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        ssh_provision_from_args(provision_args(), {SSH_KEY_ENV: PRIVATE_KEY, **env}, stdin())


def test_a_whole_gateway_group_gives_the_target_the_key_and_the_command() -> None:
    gateway = gateway_ssh_from_args(status_args("--gateway-ssh-port", "2200"), {GATEWAY_KEY_ENV: PRIVATE_KEY})
    assert gateway is not None
    assert (gateway.target.host, gateway.target.port, gateway.target.user) == ("usg.lan", 2200, "ubnt")
    assert gateway.command == BGP_SUMMARY_COMMAND
    assert f"{gateway.key.get_name()} {gateway.key.get_base64()}" == PUBLIC_KEY


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (lambda: provision_args(expect_sha256="abc"), "--expect-sha256 must be 64 hex digits"),
        (lambda: provision_args(ssh_host_key="ssh-ed25519 not-base64!"), "--ssh-host-key: the key is not valid base64"),
        (lambda: provision_args(ssh_user="a b"), "SSH user 'a b' must be a plain user name"),
        (lambda: provision_args(site_dir="relative/sites/x"), "must be a normalized absolute path"),
    ],
    ids=["sha256", "host key", "user", "site dir"],
)
def test_every_option_is_checked_before_the_key_is_read(args, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        ssh_provision_from_args(args(), {}, claims())  # no key: a usage error comes first


def test_a_bad_gateway_host_key_names_the_gateway_option() -> None:
    args = parse("status", *URL, "--gateway-ssh-host", "g", "--gateway-ssh-user", "u", "--gateway-ssh-host-key", "x")
    with pytest.raises(UsageError) as caught:
        gateway_ssh_from_args(args, {GATEWAY_KEY_ENV: PRIVATE_KEY})
    assert caught.value.args[0].startswith("--gateway-ssh-host-key must be 'TYPE BASE64'")


# --- ports ----------------------------------------------------------------------------------------


def _parse_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as caught:
        parse(*argv)
    assert caught.value.code == 2
    return capsys.readouterr().err.splitlines()[-1]


FILE_ARGS = [
    "--ssh-host",
    "h",
    "--ssh-user",
    "u",
    "--ssh-host-key",
    HOST_KEY,
    "--site-dir",
    "/d/sites/x",
    "--stack",
    "s",
]
PORT_OPTIONS = [
    ("provision", "--ssh-port", URL),
    ("status", "--gateway-ssh-port", URL),
    ("check-original", "--ssh-port", FILE_ARGS),
    ("restore", "--ssh-port", FILE_ARGS),
]


@pytest.mark.parametrize(("command", "option", "rest"), PORT_OPTIONS)
@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("0", "must be 1–65535"),
        ("65536", "must be 1–65535"),
        ("-22", "must be 1–65535"),
        ("ssh", "must be a port number"),
        ("22.0", "must be a port number"),
        ("", "must be a port number"),
    ],
)
def test_a_port_outside_1_to_65535_is_refused_as_it_is_parsed(
    capsys: pytest.CaptureFixture[str], command: str, option: str, rest: list[str], text: str, error: str
) -> None:
    assert _parse_error(capsys, command, *rest, f"{option}={text}").endswith(f"argument {option}: {error}")


@pytest.mark.parametrize(("command", "option", "rest"), PORT_OPTIONS)
@pytest.mark.parametrize("port", [1, 22, 65535])
def test_ports_1_to_65535_parse_as_numbers(command: str, option: str, rest: list[str], port: int) -> None:
    args = parse(command, *rest, option, str(port))
    assert getattr(args, option.removeprefix("--").replace("-", "_")) == port


def test_check_original_and_restore_need_their_options_and_default_to_port_22(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for command in ("check-original", "restore"):
        assert parse(command, *FILE_ARGS).ssh_port == 22
        assert "the following arguments are required: --stack" in _parse_error(capsys, command, *FILE_ARGS[:-2])


# --- keys from the environment only ---------------------------------------------------------------


@pytest.mark.parametrize("env", [{}, {SSH_KEY_ENV: ""}, {SSH_KEY_ENV: " \n"}, {GATEWAY_KEY_ENV: PRIVATE_KEY}])
def test_without_its_variable_provision_asks_for_the_key_text(env: dict[str, str]) -> None:
    with pytest.raises(SshAuthError) as caught:
        ssh_provision_from_args(provision_args(), {CONTENT_ENV: "{}\n", **env}, claims())
    assert caught.value.args[0] == f"set {SSH_KEY_ENV} to the SSH private key (its PEM text)"


def test_the_gateway_key_comes_from_its_own_variable() -> None:
    with pytest.raises(SshAuthError) as caught:
        gateway_ssh_from_args(status_args(), {SSH_KEY_ENV: PRIVATE_KEY})
    assert caught.value.args[0] == f"set {GATEWAY_KEY_ENV} to the SSH private key (its PEM text)"


def test_a_path_in_the_variable_is_not_followed(tmp_path) -> None:
    path = tmp_path / "id_ed25519"
    path.write_text(PRIVATE_KEY)
    with pytest.raises(SshAuthError) as caught:
        ssh_provision_from_args(provision_args(), {SSH_KEY_ENV: str(path), CONTENT_ENV: "{}\n"}, claims())
    assert caught.value.args[0] == f"{SSH_KEY_ENV} is not an ed25519, ecdsa or rsa private key (PEM or OpenSSH format)"


def test_no_option_takes_a_private_key_or_its_file() -> None:
    """The only key options are host keys (public, pinned): a private key never goes on a
    command line, where ``ps`` and Pulumi's state would show it."""
    subcommands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    seen: set[str] = set()
    for name in ("provision", "status", "check-original", "restore"):
        for action in subcommands.choices[name]._actions:
            seen |= {flag for flag in action.option_strings if "key" in flag or "identity" in flag}
    assert seen == {"--ssh-host-key", "--gateway-ssh-host-key"}


def test_check_original_and_restore_keep_the_key_text_unread_until_connecting() -> None:
    args = parse("restore", *FILE_ARGS)
    ssh_file = ssh_file_from_args(args, {})  # a restore may be skipped: no key needed yet
    assert (ssh_file.key_text, ssh_file.site_dir, ssh_file.stack, ssh_file.sudo) == ("", "/d/sites/x", "s", False)
    with pytest.raises(SshAuthError) as caught:
        ssh_file.key()
    assert caught.value.args[0] == f"set {SSH_KEY_ENV} to the SSH private key (its PEM text)"
    loaded = ssh_file_from_args(args, {SSH_KEY_ENV: PRIVATE_KEY}).key()
    assert f"{loaded.get_name()} {loaded.get_base64()}" == PUBLIC_KEY


@pytest.mark.parametrize(
    ("site_dir", "stack", "message"),
    [
        ("/d/sites/x", "bad\nstack", "stack name 'bad\\\\nstack' must be non-empty without control characters"),
        ("/srv/x", "s", "site dir '/srv/x' must look like <data dir>/sites/<site>"),
    ],
)
def test_check_original_and_restore_refuse_what_their_scripts_would(site_dir: str, stack: str, message: str) -> None:
    args = parse("check-original", *FILE_ARGS)
    args.site_dir, args.stack = site_dir, stack
    with pytest.raises(UsageError, match=message):
        ssh_file_from_args(args, {})


def test_secret_fragments_are_passwords_whole_and_key_lines() -> None:
    short = "-----BEGIN X-----\nshort\n" + "A" * 16 + "\n-----END X-----\n"
    env = {
        "UNIFI_PASSWORD": "pw",
        "UNIFI_API_KEY": "api-key",
        SSH_KEY_ENV: PRIVATE_KEY,
        GATEWAY_KEY_ENV: short,
        "UNIFI_USERNAME": "admin",
    }
    fragments = secret_fragments(env)
    key_lines = [line for line in PRIVATE_KEY.splitlines() if not line.startswith("-----")]
    assert all(len(line) >= 16 for line in key_lines)  # an ed25519 key's lines: long enough to blank
    assert fragments == ["pw", "api-key", *key_lines, "A" * 16]
