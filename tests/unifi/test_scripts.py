"""The install/restore/verify/prepare scripts, run for real by dash and bash (``sh -s``, the
script text on stdin as over SSH) against a temp dir standing in for the controller's data
directory. The owner is the current uid:gid, so ``chown`` works with or without root."""

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
    EXIT_SHA_MISMATCH,
    LIVE_NAME,
    STAGED_NAME,
    STATE_NAME,
    GatewayScriptError,
    install_script,
    original_script,
    parse_original,
    parse_outcome,
    parse_verify,
    prepare_script,
    restore_script,
    staged_path,
    verify_script,
)

SHELLS = [name for name in ("dash", "bash") if shutil.which(name)]
# The only external tools the scripts may use (busybox has them all); every run gets a PATH
# with nothing else, so a script that needs more fails here rather than on a controller.
ALLOWED_TOOLS = ("sha256sum", "mv", "cp", "chmod", "chown", "mkdir", "cat", "rm", "test", "printf")
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

    @property
    def staged(self) -> Path:
        return Path(staged_path(str(self.site)))

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

    def upload(self, data: bytes) -> None:
        self.staged.write_bytes(data)
        self.staged.chmod(0o644)  # as an SFTP upload might leave it

    def install(self, data: bytes, *, expected: bytes | None = None, stack: str | None = None) -> Run:
        self.upload(data)
        return self.run(
            install_script(
                site_dir=str(self.site),
                expected_sha256=sha(data if expected is None else expected),
                owner=OWNER,
                stack=stack or self.stack,
            )
        )

    def restore(self, stack: str | None = None) -> Run:
        return self.run(restore_script(site_dir=str(self.site), stack=stack or self.stack))

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
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ALLOWED_TOOLS:
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    return Controller(shell=request.param, site=site, bin_dir=bin_dir)


def without_staged(snapshot: dict[str, tuple[bytes, int]]) -> dict[str, tuple[bytes, int]]:
    return {name: entry for name, entry in snapshot.items() if name != STAGED_NAME}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_shells_available() -> None:
    assert "dash" in SHELLS
    assert "bash" in SHELLS


def test_lifecycle_without_original(ctl: Controller) -> None:
    assert ctl.verify().last == "absent"

    run = ctl.install(V1)
    assert (run.code, run.last) == (0, "changed"), run.stderr
    assert parse_outcome(run.stdout) is True
    assert ctl.live.read_bytes() == V1
    assert mode(ctl.live) == 0o600
    assert not ctl.staged.exists()
    assert not ctl.backup.exists()
    state = ctl.read_state()
    assert state["stack"] == "lab"
    assert state["installed_sha256"] == sha(V1)
    assert state["original"] == "absent"
    assert mode(ctl.state) == 0o600
    assert parse_verify(ctl.verify().stdout) == sha(V1)

    run = ctl.install(V2)
    assert (run.code, run.last) == (0, "changed"), run.stderr
    assert ctl.live.read_bytes() == V2
    assert ctl.read_state()["installed_sha256"] == sha(V2)
    assert ctl.read_state()["original"] == "absent"

    run = ctl.install(V2)
    assert (run.code, run.last) == (0, "unchanged"), run.stderr
    assert parse_outcome(run.stdout) is False
    assert not ctl.staged.exists()
    assert ctl.live.read_bytes() == V2

    run = ctl.restore()
    assert (run.code, run.last) == (0, "changed"), run.stderr
    assert sorted(p.name for p in ctl.site.iterdir()) == []
    assert ctl.verify().last == "absent"

    run = ctl.restore()
    assert (run.code, run.last) == (0, "unchanged"), run.stderr


def test_lifecycle_with_original(ctl: Controller) -> None:
    ctl.live.write_bytes(ORIGINAL)
    ctl.live.chmod(0o640)

    run = ctl.install(V1)
    assert (run.code, run.last) == (0, "changed"), run.stderr
    assert ctl.live.read_bytes() == V1
    assert mode(ctl.live) == 0o600
    assert ctl.backup.read_bytes() == ORIGINAL
    assert mode(ctl.backup) == 0o640  # cp -p: the original's attributes are kept
    state = ctl.read_state()
    assert state["original"] == "present"
    assert state["original_sha256"] == sha(ORIGINAL)

    for data, outcome in ((V2, "changed"), (V2, "unchanged"), (V1, "changed")):
        run = ctl.install(data)
        assert (run.code, run.last) == (0, outcome), run.stderr
        assert ctl.live.read_bytes() == data
        assert ctl.backup.read_bytes() == ORIGINAL  # never overwritten by later installs

    run = ctl.restore()
    assert (run.code, run.last) == (0, "changed"), run.stderr
    assert ctl.live.read_bytes() == ORIGINAL
    assert mode(ctl.live) == 0o640
    assert sorted(p.name for p in ctl.site.iterdir()) == [LIVE_NAME]


def test_sha_mismatch_changes_nothing(ctl: Controller) -> None:
    ctl.live.write_bytes(ORIGINAL)
    assert ctl.install(V1).code == 0
    before = ctl.snapshot()

    run = ctl.install(V2 + b"corrupted", expected=V2)
    assert run.code == EXIT_SHA_MISMATCH
    assert "does not match the expected" in run.stderr
    assert run.stdout == ""
    assert not ctl.staged.exists()
    assert ctl.snapshot() == before


def test_sha_mismatch_on_first_install_changes_nothing(ctl: Controller) -> None:
    ctl.live.write_bytes(ORIGINAL)
    before = ctl.snapshot()
    run = ctl.install(b"truncat", expected=V1)
    assert run.code == EXIT_SHA_MISMATCH
    assert not ctl.staged.exists()
    assert ctl.snapshot() == before


def test_hand_edit_refused(ctl: Controller) -> None:
    ctl.live.write_bytes(ORIGINAL)
    assert ctl.install(V1).code == 0
    ctl.live.write_bytes(V1 + b" ")  # a hand edit
    before = ctl.snapshot()

    run = ctl.install(V2)
    assert run.code == EXIT_REFUSED
    assert "changed outside stack 'lab'" in run.stderr
    assert BACKUP_NAME in run.stderr and STATE_NAME in run.stderr  # what to do
    # The verified upload stays for the next run (the upload does not run again); nothing else changed.
    assert ctl.staged.read_bytes() == V2 and mode(ctl.staged) == 0o644
    assert without_staged(ctl.snapshot()) == before

    run = ctl.restore()
    assert run.code == EXIT_REFUSED
    assert "refusing to overwrite" in run.stderr
    assert without_staged(ctl.snapshot()) == before

    shutil.copyfile(ctl.backup, ctl.live)  # the user drops the hand edit, as the message says
    run = ctl.run(install_script(site_dir=str(ctl.site), expected_sha256=sha(V2), owner=OWNER, stack="lab"))
    assert (run.code, run.last) == (0, "changed"), run.stderr
    assert ctl.live.read_bytes() == V2 and not ctl.staged.exists()


def test_hand_edit_reverted_to_original_is_accepted(ctl: Controller) -> None:
    ctl.live.write_bytes(ORIGINAL)
    assert ctl.install(V1).code == 0
    shutil.copyfile(ctl.backup, ctl.live)  # "copy the backup over it", as the message says
    run = ctl.install(V2)
    assert (run.code, run.last) == (0, "changed"), run.stderr
    assert ctl.backup.read_bytes() == ORIGINAL


def test_adopt_after_removing_state_and_backup(ctl: Controller) -> None:
    ctl.live.write_bytes(ORIGINAL)
    assert ctl.install(V1).code == 0
    ctl.live.write_bytes(b"hand edit\n")
    ctl.state.unlink()
    before = ctl.snapshot()
    # A backup without state is never overwritten: refused until the user decides.
    run = ctl.install(V2)
    assert run.code == EXIT_REFUSED
    assert without_staged(ctl.snapshot()) == before
    ctl.backup.unlink()
    run = ctl.install(V2)
    assert (run.code, run.last) == (0, "changed"), run.stderr
    assert ctl.backup.read_bytes() == b"hand edit\n"


def test_other_stack_refused(ctl: Controller) -> None:
    assert ctl.install(V1, stack="other").code == 0
    before = ctl.snapshot()

    run = ctl.install(V2)
    assert run.code == EXIT_REFUSED
    assert "managed by stack 'other'" in run.stderr
    assert without_staged(ctl.snapshot()) == before
    run = ctl.install(V1)  # even with identical content
    assert run.code == EXIT_REFUSED
    assert without_staged(ctl.snapshot()) == before

    run = ctl.restore()
    assert run.code == EXIT_REFUSED
    assert without_staged(ctl.snapshot()) == before


def test_restore_without_state_does_nothing(ctl: Controller) -> None:
    ctl.live.write_bytes(ORIGINAL)
    before = ctl.snapshot()
    run = ctl.restore()
    assert (run.code, run.last) == (0, "unchanged")
    assert ctl.snapshot() == before


def test_restore_refuses_without_a_valid_backup(ctl: Controller) -> None:
    ctl.live.write_bytes(ORIGINAL)
    assert ctl.install(V1).code == 0
    ctl.backup.write_bytes(b"tampered\n")
    before = ctl.snapshot()
    run = ctl.restore()
    assert run.code == EXIT_REFUSED
    assert ctl.snapshot() == before


def test_restore_finishes_an_interrupted_restore(ctl: Controller) -> None:
    ctl.live.write_bytes(ORIGINAL)
    assert ctl.install(V1).code == 0
    os.replace(ctl.backup, ctl.live)  # as if the restore stopped before removing the state
    run = ctl.restore()
    assert (run.code, run.last) == (0, "unchanged"), run.stderr
    assert sorted(p.name for p in ctl.site.iterdir()) == [LIVE_NAME]
    assert ctl.live.read_bytes() == ORIGINAL


def test_install_with_live_file_already_equal(ctl: Controller) -> None:
    ctl.live.write_bytes(V1)
    run = ctl.install(V1)
    assert (run.code, run.last) == (0, "unchanged"), run.stderr  # nothing for the USG to do
    assert ctl.read_state()["original"] == "present"
    assert ctl.backup.read_bytes() == V1


def test_missing_site_dir_prepared_then_installed(ctl: Controller) -> None:
    site = ctl.site.parent.parent / "sites" / "new site"
    shutil.rmtree(ctl.site.parent)
    ctl.site = site

    # Without the staged file (the upload needs the directory) install creates nothing.
    run = ctl.run(install_script(site_dir=str(site), expected_sha256=sha(V1), owner=OWNER, stack="lab"))
    assert run.code == EXIT_MISSING
    assert not site.parent.exists()

    run = ctl.run(prepare_script(site_dir=str(site), owner=OWNER))
    assert (run.code, run.last) == (0, "changed"), run.stderr
    assert mode(site) == 0o755 and mode(site.parent) == 0o755
    assert ctl.run(prepare_script(site_dir=str(site), owner=OWNER)).last == "unchanged"

    run = ctl.install(V1)
    assert (run.code, run.last) == (0, "changed"), run.stderr
    assert ctl.live.read_bytes() == V1


def test_prepare_refuses_a_missing_data_dir(ctl: Controller) -> None:
    site = ctl.site.parent.parent.parent / "no such data" / "sites" / "default"
    run = ctl.run(prepare_script(site_dir=str(site), owner=OWNER))
    assert run.code == EXIT_MISSING
    assert not site.parent.parent.exists()


def test_install_missing_staged_file(ctl: Controller) -> None:
    run = ctl.run(install_script(site_dir=str(ctl.site), expected_sha256=sha(V1), owner=OWNER, stack="lab"))
    assert run.code == EXIT_MISSING
    assert "pulumi up --replace" in run.stderr  # how to upload again
    assert list(ctl.site.iterdir()) == []


def test_install_without_staged_file_of_the_content_already_installed_is_unchanged(ctl: Controller) -> None:
    assert ctl.install(V1).code == 0
    before = ctl.snapshot()
    again = install_script(site_dir=str(ctl.site), expected_sha256=sha(V1), owner=OWNER, stack="lab")
    run = ctl.run(again)
    assert (run.code, run.last) == (0, "unchanged"), run.stderr
    assert ctl.snapshot() == before
    # Not for another content, nor for another stack's state.
    other = ctl.run(install_script(site_dir=str(ctl.site), expected_sha256=sha(V2), owner=OWNER, stack="lab"))
    assert other.code == EXIT_MISSING
    theirs = ctl.run(install_script(site_dir=str(ctl.site), expected_sha256=sha(V1), owner=OWNER, stack="other"))
    assert theirs.code == EXIT_MISSING
    assert ctl.snapshot() == before


def test_original_shows_the_live_file_first_then_the_backup(ctl: Controller) -> None:
    def original(stack: str = "lab") -> Run:
        return ctl.run(original_script(site_dir=str(ctl.site), stack=stack))

    run = original()
    assert run.code == 0 and parse_original(run.stdout) is None  # nothing of the user's
    ctl.live.write_bytes(ORIGINAL)
    assert parse_original(original().stdout) == ORIGINAL.decode()
    assert ctl.install(V1).code == 0
    before = ctl.snapshot()
    assert parse_original(original().stdout) == ORIGINAL.decode()  # the backup, not the live file
    assert original("other").code == EXIT_REFUSED
    ctl.backup.write_bytes(b"changed\n")
    run = original()
    assert run.code == EXIT_REFUSED and "does not match the recorded original" in run.stderr
    ctl.backup.write_bytes(ORIGINAL)
    assert ctl.snapshot() == before  # read-only
    assert ctl.restore().code == 0
    assert ctl.install(V1).code == 0 and ctl.restore().code == 0
    ctl.live.unlink()
    assert ctl.install(V1).code == 0
    assert parse_original(original().stdout) is None  # installed over no file: nothing to keep


def test_secret_never_printed(ctl: Controller) -> None:
    ctl.live.write_bytes(ORIGINAL)
    runs = [ctl.install(V1), ctl.install(V2, expected=V1), ctl.verify(), ctl.restore()]
    for run in runs:
        assert b"s3cret" not in (run.stdout + run.stderr).encode()
        assert "address=/x" not in run.stdout + run.stderr


def test_scripts_are_posix_and_quote_parameters() -> None:
    script = install_script(
        site_dir="/d/sites/it's $(reboot)", expected_sha256="0" * 64, owner="unifi:unifi", stack="a b'c"
    )
    assert script.startswith("set -eu\numask 077\n")
    assert "site_dir='/d/sites/it'\"'\"'s $(reboot)'\n" in script
    assert "@PARAMETERS@" not in script and "@COMMON@" not in script
    assert "sudo" not in script
    for render in (restore_script(site_dir="/d/sites/x", stack="s"), verify_script(site_dir="/d/sites/x")):
        assert render.startswith("set -eu\numask 077\n")


def test_constants_match_the_scripts() -> None:
    script = verify_script(site_dir="/d/sites/x")
    assert f"live_name={LIVE_NAME}\n" in script
    assert f"backup_name={BACKUP_NAME}\n" in script
    assert f"state_name={STATE_NAME}\n" in script
    assert staged_path("/d/sites/x") == f"/d/sites/x/{STAGED_NAME}"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"site_dir": "relative/sites/x"},
        {"site_dir": "/d/sites/x/"},
        {"site_dir": "/d/../sites/x"},
        {"site_dir": "/x"},
        {"site_dir": "/d/sites/new\nline"},
        {"expected_sha256": "A" * 64},
        {"expected_sha256": "0" * 63},
        {"owner": "unifi;reboot"},
        {"owner": ""},
        {"stack": ""},
        {"stack": "a\nb"},
        {"staged_name": "../x"},
        {"staged_name": LIVE_NAME},
        {"staged_name": STATE_NAME},
    ],
)
def test_bad_parameters_rejected(kwargs: dict[str, str]) -> None:
    params = {"site_dir": "/d/sites/x", "expected_sha256": "0" * 64, "owner": "999", "stack": "lab"} | kwargs
    with pytest.raises(GatewayScriptError):
        install_script(**params)


def test_parse_helpers() -> None:
    assert parse_outcome("warning\nchanged\n") is True
    assert parse_outcome("unchanged\n") is False
    with pytest.raises(GatewayScriptError):
        parse_outcome("")
    assert parse_verify("absent\n") is None
    assert parse_verify(sha(V1) + "\n") == sha(V1)
    with pytest.raises(GatewayScriptError):
        parse_verify("garbage")


def test_install_interrupted_before_the_move_is_not_drift(ctl: Controller) -> None:
    assert ctl.install(V1).code == 0
    state = ctl.read_state() | {"installed_sha256": sha(V2), "previous_sha256": sha(V1)}
    ctl.state.write_text("".join(f"{key}={value}\n" for key, value in state.items()))
    run = ctl.install(V2)  # the state was written, the mv never happened
    assert (run.code, run.last) == (0, "changed"), run.stderr
    assert ctl.live.read_bytes() == V2
    assert ctl.read_state()["previous_sha256"] == ""


UPLOADER = str(os.getuid())  # the SSH user that uploads over SFTP; the current uid so chown works


def test_prepare_leaves_an_empty_staged_file_for_the_uploader(ctl: Controller) -> None:
    ctl.staged.write_bytes(b"left over from an interrupted upload")
    ctl.staged.chmod(0o644)
    run = ctl.run(prepare_script(site_dir=str(ctl.site), owner=OWNER, upload_user=UPLOADER))
    assert (run.code, run.last) == (0, "unchanged"), run.stderr  # about the directories
    info = ctl.staged.lstat()
    assert stat.S_ISREG(info.st_mode) and info.st_size == 0
    assert stat.S_IMODE(info.st_mode) == 0o600
    assert info.st_uid == os.getuid()

    # The upload overwrites the file in place; install then moves it and leaves no staged file.
    with ctl.staged.open("r+b") as handle:
        handle.write(V1)
    run = ctl.run(install_script(site_dir=str(ctl.site), expected_sha256=sha(V1), owner=OWNER, stack="lab"))
    assert (run.code, run.last) == (0, "changed"), run.stderr
    assert ctl.live.read_bytes() == V1
    assert not ctl.staged.exists()


def test_prepare_creates_the_site_dir_and_the_staged_file(ctl: Controller) -> None:
    site = ctl.site.parent / "new site"
    run = ctl.run(prepare_script(site_dir=str(site), owner=OWNER, upload_user=f"{UPLOADER}:{os.getgid()}"))
    assert (run.code, run.last) == (0, "changed"), run.stderr
    staged = Path(staged_path(str(site)))
    assert sorted(p.name for p in site.iterdir()) == [STAGED_NAME]
    assert staged.stat().st_size == 0 and mode(staged) == 0o600
    assert mode(site) == 0o755


def test_prepare_without_upload_user_leaves_no_staged_file(ctl: Controller) -> None:
    run = ctl.run(prepare_script(site_dir=str(ctl.site), owner=OWNER))
    assert (run.code, run.last) == (0, "unchanged"), run.stderr
    assert list(ctl.site.iterdir()) == []


def test_prepare_refuses_a_symlink_or_directory_as_staged_file(ctl: Controller, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_bytes(ORIGINAL)
    ctl.staged.symlink_to(target)
    run = ctl.run(prepare_script(site_dir=str(ctl.site), owner=OWNER, upload_user=UPLOADER))
    assert run.code == EXIT_REFUSED
    assert "symlink or a directory" in run.stderr
    assert run.stdout == ""
    assert ctl.staged.is_symlink() and target.read_bytes() == ORIGINAL

    ctl.staged.unlink()
    ctl.staged.mkdir()
    run = ctl.run(prepare_script(site_dir=str(ctl.site), owner=OWNER, upload_user=UPLOADER))
    assert run.code == EXIT_REFUSED
    assert ctl.staged.is_dir()


@pytest.mark.parametrize("upload_user", ["", "admin;reboot", "a b", "-x"])
def test_prepare_rejects_a_bad_upload_user(upload_user: str) -> None:
    with pytest.raises(GatewayScriptError):
        prepare_script(site_dir="/d/sites/x", owner="unifi", upload_user=upload_user)
