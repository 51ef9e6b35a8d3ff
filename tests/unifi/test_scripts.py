"""The controller-side scripts, run for real by dash and bash (``sh -s``, the script text on stdin
as over SSH) with a PATH of only the tools busybox has, against a temp dir standing in for the
controller's data directory (spaces and quotes in its path). The owner is the current uid:gid, so
``chown`` works with or without root. The shared-file flow through them: test_shared_file.py."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from components.unifi.scripts import (
    BACKUP_NAME,
    EXIT_MISSING,
    EXIT_REFUSED,
    LIVE_NAME,
    STATE_NAME,
    GatewayScriptError,
    commit_script,
    lock_script,
    look_script,
    original_script,
    parse_original,
    parse_outcome,
    parse_verify,
    prepare_script,
    read_script,
    unlock_script,
    verify_script,
)
from components.unifi.shared_file import Site, parse_read

SHELLS = [name for name in ("dash", "bash") if shutil.which(name)]
# The only external tools the scripts may use (busybox has them all); every run gets a PATH
# with nothing else, so a script that needs more fails here rather than on a controller.
ALLOWED_TOOLS = (
    "sha256sum", "mv", "cp", "chmod", "chown", "mkdir", "cat", "rm", "test", "printf",
    "ln", "readlink", "date", "stat", "wc", "rmdir",
)  # fmt: skip
OWNER = f"{os.getuid()}:{os.getgid()}"
V1 = b'{"protocols": {"bgp": {"64512": {"neighbor": {"10.0.0.2": {"password": "s3cret"}}}}}}\n'
V2 = b'{"protocols": {"bgp": {"64512": {"neighbor": {"10.0.0.3": {"remote-as": "64513"}}}}}}\n'
ORIGINAL = b'{"service": {"dns": {"forwarding": {"options": ["address=/x/1.2.3.4"]}}}}\n'


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def last(self) -> str:
        return self.stdout.strip().splitlines()[-1]


@dataclass
class Controller:
    shell: str
    site: Path
    bin_dir: Path
    stack: str = "lab"

    @property
    def live(self) -> Path:
        return self.site / LIVE_NAME

    @property
    def backup(self) -> Path:
        return self.site / BACKUP_NAME

    @property
    def state(self) -> Path:
        return self.site / STATE_NAME

    def run(self, script: str) -> Run:
        proc = subprocess.run(
            [self.shell, "-s"],
            input=script,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            env={"PATH": str(self.bin_dir), "LC_ALL": "C"},
            executable=shutil.which(self.shell),
        )
        return Run(proc.returncode, proc.stdout, proc.stderr)

    def verify(self) -> Run:
        return self.run(verify_script(site_dir=str(self.site)))

    def read_state(self) -> dict[str, str]:
        lines = self.state.read_text().splitlines()
        return dict(line.split("=", 1) for line in lines)

    def snapshot(self) -> dict[str, tuple[bytes, int]]:
        return {p.name: (p.read_bytes(), stat.S_IMODE(p.stat().st_mode)) for p in sorted(self.site.iterdir())}


@pytest.fixture(params=SHELLS)
def ctl(request: pytest.FixtureRequest, tmp_path: Path) -> Controller:
    # Spaces and quotes in the path: every parameter goes through shlex.quote.
    site = tmp_path / "data dir 'x'" / "sites" / 'de"fault $HOME'
    site.mkdir(parents=True)
    return Controller(shell=request.param, site=site, bin_dir=busybox_tools(tmp_path))


def busybox_tools(tmp_path: Path) -> Path:
    """A directory of only the tools busybox has (symlinks to this machine's), for PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ALLOWED_TOOLS:
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    return bin_dir


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_shells_available() -> None:
    assert "dash" in SHELLS
    assert "bash" in SHELLS


def test_prepare_refuses_a_missing_data_dir(ctl: Controller) -> None:
    site = ctl.site.parent.parent.parent / "no such data" / "sites" / "default"
    run = ctl.run(prepare_script(site_dir=str(site), owner=OWNER))
    assert run.code == EXIT_MISSING
    assert not site.parent.parent.exists()


def test_scripts_are_posix_and_quote_parameters() -> None:
    script = original_script(site_dir="/d/sites/it's $(reboot)", stack="a b'c")
    assert script.startswith("set -eu\numask 077\n")
    assert "site_dir='/d/sites/it'\"'\"'s $(reboot)'\n" in script
    assert "stack='a b'\"'\"'c'\n" in script
    assert "@PARAMETERS@" not in script and "@COMMON@" not in script
    assert "sudo" not in script
    token = "0" * 32
    for render in (
        verify_script(site_dir="/d/sites/x"),
        prepare_script(site_dir="/d/sites/x", owner="unifi"),
        lock_script(site_dir="/d/sites/x", owner=None, upload_user="admin", token=token, hold_s=60, holder="stack a"),
        read_script(site_dir="/d/sites/x", token=token),
        unlock_script(site_dir="/d/sites/x", token=token),
        commit_script(site_dir="/d/sites/x", owner="unifi", token=token, expect_live=None, plan=["remove-live"]),
    ):
        assert render.startswith("set -eu\numask 077\n") and "@PARAMETERS@" not in render


def test_constants_match_the_scripts() -> None:
    script = verify_script(site_dir="/d/sites/x")
    assert f"live_name={LIVE_NAME}\n" in script
    assert f"backup_name={BACKUP_NAME}\n" in script
    assert f"state_name={STATE_NAME}\n" in script


@pytest.mark.parametrize(
    "kwargs",
    [
        {"site_dir": "relative/sites/x"},
        {"site_dir": "/d/sites/x/"},
        {"site_dir": "/d/../sites/x"},
        {"site_dir": "/x"},
        {"site_dir": "/d/sites/new\nline"},
        {"token": "A" * 32},
        {"token": "0" * 31},
        {"owner": "unifi;reboot"},
        {"upload_user": "a b"},
        {"holder": "x\ny"},
        {"holder": "$(reboot)"},
        {"hold_s": 0},
    ],
)
def test_bad_lock_parameters_rejected(kwargs: dict[str, object]) -> None:
    params: dict[str, object] = {
        "site_dir": "/d/sites/x",
        "owner": "999",
        "upload_user": "admin",
        "token": "0" * 32,
        "hold_s": 60,
        "holder": "stack lab",
    } | kwargs
    with pytest.raises(GatewayScriptError):
        lock_script(**params)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "step",
    [
        "put ../x config.gateway.json " + "0" * 64,
        "put part.json /etc/passwd " + "0" * 64,
        "put part.json config.gateway.json nothex",
        "remove ../../x",
        "remove a/b/c",
        "restore-original abc",
        "reboot",
        "remove-live; reboot",
    ],
)
def test_bad_plan_steps_rejected(step: str) -> None:
    with pytest.raises(GatewayScriptError):
        commit_script(site_dir="/d/sites/x", owner=None, token="0" * 32, expect_live=None, plan=[step])


def test_original_reads_the_live_file_first_then_the_backup_of_any_stack(ctl: Controller) -> None:
    def original(stack: str = "lab") -> Run:
        return ctl.run(original_script(site_dir=str(ctl.site), stack=stack))

    run = original()
    assert run.code == 0 and parse_original(run.stdout.encode()) == (None, {})  # nothing of the user's
    ctl.live.write_bytes(ORIGINAL)
    assert parse_original(original().stdout.encode())[0] == ORIGINAL
    # Installed (format 2, several stacks): the backup, for every stack.
    ctl.backup.write_bytes(ORIGINAL)
    ctl.live.write_bytes(V1)
    ctl.state.write_text(f"format=2\nstack=lab,other\noriginal=present\noriginal_sha256={sha(ORIGINAL)}\n")
    assert parse_original(original().stdout.encode())[0] == ORIGINAL
    assert parse_original(original("other").stdout.encode())[0] == ORIGINAL
    # An older release's state (format 1) is that stack's alone.
    ctl.state.write_text(f"stack=lab\noriginal=present\noriginal_sha256={sha(ORIGINAL)}\n")
    assert parse_original(original().stdout.encode())[0] == ORIGINAL
    assert original("other").code == EXIT_REFUSED
    ctl.backup.write_bytes(b"changed\n")
    run = original()
    assert run.code == EXIT_REFUSED and "does not match the recorded original" in run.stderr
    ctl.state.write_text("format=2\nstack=lab\noriginal=absent\noriginal_sha256=\n")
    assert parse_original(original().stdout.encode())[0] is None  # installed over no file: nothing to keep
    # The stacks' parts come after the original: another stack's settings are not this one's to keep.
    parts = ctl.site / ".metallb-unifi-parts"
    parts.mkdir()
    (parts / "other.json").write_bytes(V2)
    assert parse_original(original().stdout.encode()) == (None, {"other.json": V2})


def test_commit_moves_only_checked_uploads_and_only_while_holding_the_lock(ctl: Controller) -> None:
    token, other = "a" * 32, "b" * 32
    site = str(ctl.site)
    lock = ctl.run(lock_script(site_dir=site, owner=OWNER, upload_user=None, token=token, hold_s=60, holder="t"))
    assert (lock.code, lock.last) == (0, "locked"), lock.stderr
    incoming = ctl.site / ".metallb-unifi-incoming"
    (incoming / "live.json").write_bytes(V1)
    wrong = commit_script(
        site_dir=site, owner=OWNER, token=token, expect_live=None, plan=[f"put live.json {LIVE_NAME} {sha(V2)}"]
    )
    run = ctl.run(wrong)
    assert run.code == 3 and not ctl.live.exists()  # not what was sent
    good = commit_script(
        site_dir=site, owner=OWNER, token=token, expect_live=None, plan=[f"put live.json {LIVE_NAME} {sha(V1)}"]
    )
    assert ctl.run(good.replace(token, other)).code == EXIT_REFUSED  # not the holder
    ctl.live.write_bytes(V2)
    run = ctl.run(good)
    assert run.code == EXIT_REFUSED and "changed while this run held the lock" in run.stderr
    ctl.live.unlink()
    run = ctl.run(good)
    assert (run.code, run.last) == (0, "changed"), run.stderr
    assert ctl.live.read_bytes() == V1 and mode(ctl.live) == 0o600
    read = ctl.run(read_script(site_dir=site, token=token))
    assert read.stdout == f"state absent\nlive {len(V1)}\n{V1.decode()}\nbackup absent\nend\n"
    assert parse_read(read.stdout.encode()) == Site(None, sha(V1), None, {}, V1)
    assert ctl.run(unlock_script(site_dir=site, token=other)).last == "not-held"
    assert ctl.run(unlock_script(site_dir=site, token=token)).last == "unlocked"
    assert sorted(p.name for p in ctl.site.iterdir()) == [".metallb-unifi-parts", LIVE_NAME]
    assert ctl.run(read_script(site_dir=site, token=token)).code == EXIT_REFUSED  # the lock is given back
    assert ctl.run(look_script(site_dir=site)).stdout == read.stdout  # the program's look needs none


def test_parse_helpers() -> None:
    assert parse_outcome("warning\nchanged\n") is True
    assert parse_outcome("unchanged\n") is False
    with pytest.raises(GatewayScriptError):
        parse_outcome("")
    assert parse_verify("absent\n") is None
    assert parse_verify(sha(V1) + "\n") == sha(V1)
    with pytest.raises(GatewayScriptError):
        parse_verify("garbage")
