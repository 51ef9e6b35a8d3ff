"""The controller-side ``sh`` scripts around ``config.gateway.json``, rendered with their
parameters embedded safely. The controller client (``components/unifi/shared_file.py``, run by
the Pulumi program's commands) runs them over SSH; the program's read-back runs ``verify``.

A bad ``config.gateway.json`` leaves the USG in a provisioning loop, and several stacks may share
the file, so it is never written in place and never without the site's lock: :func:`lock_script`
takes it, :func:`read_script` prints what the client composes from, the client uploads what
changes into an area the SSH user owns, and :func:`commit_script` moves each file into place
(0600, given owner) after checking its sha256, the lock and the live file once more.
:func:`prepare_script` creates a missing site directory, :func:`original_script` shows the client
the user's original (for the kept-settings check), :func:`look_script` prints what
:func:`read_script` does without the lock (the program's look for drift, components/unifi/drift.py),
:func:`verify_script` prints the live file's sha256. The scripts are POSIX ``sh`` using only
coreutils/busybox tools (the controller may have neither python nor jq).

Each function returns a complete script text meant for ``sh -s`` on stdin (as sent over
SSH); parameters are checked here and embedded as ``shlex.quote``d assignments in place of
the ``# @PARAMETERS@`` line of the body in ``<name>.sh`` beside this file; ``# @COMMON@`` pulls in
the shared helpers of ``common.sh``. The scripts print messages on stderr and, except ``read``,
``look`` and ``original`` (which only the client runs, and which it never echoes), no file contents.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from importlib import resources

LIVE_NAME = "config.gateway.json"
BACKUP_NAME = "config.gateway.json.metallb-unifi-original"
STATE_NAME = ".metallb-unifi.state"

CHANGED = "changed"
UNCHANGED = "unchanged"
ABSENT = "absent"

EXIT_OK = 0
EXIT_BAD_PARAMETER = 2  # only if a script is run with parameters this module would reject
EXIT_SHA_MISMATCH = 3  # install: the staged file is not what was uploaded; it was removed
EXIT_REFUSED = 4  # hand edit, another stack's state, stray backup, damaged state
EXIT_MISSING = 5  # site/data directory or staged file missing

_RESERVED_NAMES = frozenset({LIVE_NAME, BACKUP_NAME, STATE_NAME, STATE_NAME + ".tmp", BACKUP_NAME + ".tmp"})
_SHA256 = re.compile(r"[0-9a-f]{64}")
_OWNER_PART = r"[A-Za-z0-9_.][A-Za-z0-9_.-]*"
_OWNER = re.compile(rf"{_OWNER_PART}(:{_OWNER_PART})?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class GatewayScriptError(ValueError):
    """A parameter the scripts must not be run with."""


def _site_dir(site_dir: str) -> str:
    if _CONTROL.search(site_dir):
        raise GatewayScriptError(f"site dir {site_dir!r} contains control characters")
    if not site_dir.startswith("/") or site_dir.startswith("//") or posixpath.normpath(site_dir) != site_dir:
        raise GatewayScriptError(f"site dir {site_dir!r} must be a normalized absolute path")
    # <data dir>/sites/<site>: the prepare script creates at most the last two levels.
    if site_dir.count("/") < 3:
        raise GatewayScriptError(f"site dir {site_dir!r} must look like <data dir>/sites/<site>")
    return site_dir


def _owner(owner: str) -> str:
    if not _OWNER.fullmatch(owner):
        raise GatewayScriptError(f"owner {owner!r} must be user[:group] or uid[:gid]")
    return owner


def _stack(stack: str) -> str:
    if not stack or _CONTROL.search(stack):
        raise GatewayScriptError(f"stack name {stack!r} must be non-empty without control characters")
    return stack


def _sha256(value: str) -> str:
    if not _SHA256.fullmatch(value):
        raise GatewayScriptError(f"expected sha256 {value!r} must be 64 lowercase hex digits")
    return value


def _body(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _render(name: str, **parameters: str) -> str:
    assignments = "".join(f"{key}={shlex.quote(value)}\n" for key, value in parameters.items())
    text = _body(name).replace("# @PARAMETERS@\n", assignments, 1)
    return text.replace("# @COMMON@\n", _body("common.sh"), 1)


def prepare_script(*, site_dir: str, owner: str) -> str:
    """Create ``sites/`` and ``sites/<site>`` if missing (0755, given owner); the data
    directory itself must exist (exit 5 otherwise). Prints ``changed``/``unchanged``."""
    return _render("prepare.sh", site_dir=_site_dir(site_dir), owner=_owner(owner))


def original_script(*, site_dir: str, stack: str) -> str:
    """Print ``absent``, or ``present`` and then the user's original file: the backup once a
    stack has installed, else the live file. Exit 4 on an older release's state of another stack
    or a backup that does not match the state. Unlike the others, this script prints a file's
    content: only the program's own client runs it (``check-original``), and it never echoes what
    it reads."""
    return _render("original.sh", site_dir=_site_dir(site_dir), stack=_stack(stack))


# Several stacks share the site's file (components/unifi/shared_file.py): the lock, the read of
# everything it is composed from, and the commit of the client's plan.

LOCK_NAME = ".metallb-unifi.lock"
PARTS_DIR = ".metallb-unifi-parts"
INCOMING_DIR = ".metallb-unifi-incoming"
_TOKEN = re.compile(r"[0-9a-f]{32}")
_HOLDER = re.compile(r"[A-Za-z0-9 ._:@,()/+-]{1,200}")
_PLAN_LINE = re.compile(
    r"(put [a-z0-9-]+\.[a-z0-9]+ [^ /]+(/[^ /]+)? [0-9a-f]{64}|remove [^ /]+(/[^ /]+)?|keep-original"
    r"|restore-original [0-9a-f]{64}|remove-live|remove-parts-dir)"
)


def _token(token: str) -> str:
    if not _TOKEN.fullmatch(token):
        raise GatewayScriptError("lock token must be 32 lowercase hex digits")
    return token


def _owner_or_default(owner: str | None) -> str:
    return "" if owner is None else _owner(owner)


def lock_script(
    *, site_dir: str, owner: str | None, upload_user: str | None, token: str, hold_s: int, holder: str
) -> str:
    """Take the site's lock until ``hold_s`` seconds from now; prints ``locked``, ``taken-over
    HOLDER`` or ``held SECONDS HOLDER``. Also makes the parts directory (owner, 0700; the site
    directory's owner when None) and a fresh upload area the SSH user owns."""
    if not _HOLDER.fullmatch(holder):
        raise GatewayScriptError(f"lock holder {holder!r} must be 1-200 plain characters")
    if not 0 < hold_s < 10**7:
        raise GatewayScriptError("lock hold time must be a positive number of seconds")
    return _render(
        "lock.sh",
        site_dir=_site_dir(site_dir),
        owner=_owner_or_default(owner),
        upload_user="" if upload_user is None else _owner(upload_user),
        token=_token(token),
        hold_s=str(hold_s),
        holder=holder,
    )


def unlock_script(*, site_dir: str, token: str) -> str:
    return _render("unlock.sh", site_dir=_site_dir(site_dir), token=_token(token))


def read_script(*, site_dir: str, token: str) -> str:
    return _render("read.sh", site_dir=_site_dir(site_dir), token=_token(token))


def look_script(*, site_dir: str) -> str:
    """What ``read_script`` prints, without the lock: the program's look for drift."""
    return _render("look.sh", site_dir=_site_dir(site_dir))


def commit_script(*, site_dir: str, owner: str | None, token: str, expect_live: str | None, plan: list[str]) -> str:
    """Carry out ``plan`` (lines of ``commit.sh``'s steps) if the live file is still
    ``expect_live`` (a sha256, None: absent); prints ``changed``/``unchanged`` about the live file."""
    for line in plan:
        if not _PLAN_LINE.fullmatch(line):
            raise GatewayScriptError(f"bad plan step {line!r}")
    return _render(
        "commit.sh",
        site_dir=_site_dir(site_dir),
        owner=_owner_or_default(owner),
        token=_token(token),
        expect_live=ABSENT if expect_live is None else _sha256(expect_live),
        plan="\n".join(plan),
    )


class Frames:
    """Reads what ``show`` and ``show_parts`` (common.sh) print: "LABEL ... SIZE" lines, each
    followed by SIZE bytes and a newline. Raises :class:`GatewayScriptError` on anything else."""

    def __init__(self, stdout: bytes) -> None:
        self.stdout, self.position = stdout, 0

    def line(self) -> list[str]:
        end = self.stdout.find(b"\n", self.position)
        if end < 0:
            raise GatewayScriptError("script output ends early")
        text = self.stdout[self.position : end]
        self.position = end + 1
        try:
            return text.decode("utf-8").split(" ")
        except UnicodeDecodeError:
            raise GatewayScriptError("script output is not UTF-8") from None

    def body(self, size: str) -> bytes:
        if not size.isdigit():
            raise GatewayScriptError(f"script output has size {size[:20]!r}")
        start, end = self.position, self.position + int(size)
        if self.stdout[end : end + 1] != b"\n":
            raise GatewayScriptError("script output is cut short")
        self.position = end + 1
        return self.stdout[start:end]

    def shown(self, label: str) -> bytes | None:
        """A ``show LABEL FILE`` (its bytes) or ``LABEL absent`` (None)."""
        fields = self.line()
        if fields == [label, "absent"]:
            return None
        if len(fields) != 2 or fields[0] != label:
            raise GatewayScriptError(f"expected {label!r} in script output, got {' '.join(fields)[:40]!r}")
        return self.body(fields[1])

    def parts(self) -> dict[str, bytes]:
        """``show_parts``: file name → bytes, through ``end``."""
        files: dict[str, bytes] = {}
        while (fields := self.line()) != ["end"]:
            if len(fields) != 3 or fields[0] != "part":
                raise GatewayScriptError(f"expected a part in script output, got {' '.join(fields)[:40]!r}")
            files[fields[1]] = self.body(fields[2])
        return files


def parse_original(stdout: bytes) -> tuple[bytes | None, dict[str, bytes]]:
    """The original's bytes (None when there is none) and the parts directory's files."""
    frames = Frames(stdout)
    return frames.shown("original"), frames.parts()


def verify_script(*, site_dir: str) -> str:
    """Print the live file's sha256, or ``absent``."""
    return _render("verify.sh", site_dir=_site_dir(site_dir))


def _last_line(stdout: str) -> str:
    lines = stdout.strip().splitlines()
    return lines[-1].strip() if lines else ""


def parse_outcome(stdout: str) -> bool:
    """True if an install/restore/prepare run changed the file (``changed``)."""
    last = _last_line(stdout)
    if last not in {CHANGED, UNCHANGED}:
        raise GatewayScriptError(f"unexpected script output, last line {last!r}")
    return last == CHANGED


def parse_verify(stdout: str) -> str | None:
    """The live file's sha256 from a verify run, or None when it is absent."""
    last = _last_line(stdout)
    if last == ABSENT:
        return None
    return _sha256(last)
