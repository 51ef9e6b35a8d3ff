"""The controller-side ``sh`` scripts that install ``config.gateway.json`` carefully, rendered with
their parameters embedded safely. Both the Pulumi program's remote commands
(``components/resources/gateway_commands.py``) and the controller client run them.

A bad ``config.gateway.json`` leaves the USG in a provisioning loop, so the file is never
written in place: the caller uploads it (SFTP) to a staged name inside the site directory and
runs :func:`install_script`, which checks the upload's sha256, refuses to overwrite a file
someone else edited or another stack owns, keeps the user's original once, and moves the file
into place atomically (0600, given owner). :func:`restore_script` undoes it on destroy,
:func:`original_script` shows the client the user's original (for the kept-settings check),
:func:`verify_script` lets a provision notice drift, :func:`prepare_script` creates a missing
site directory before the upload. The scripts are POSIX ``sh`` using only coreutils/busybox
tools (the controller may have neither python nor jq).

Each function returns a complete script text meant for ``sh -s`` on stdin (as sent over
SSH); parameters are checked here and embedded as ``shlex.quote``d assignments in place of
the ``# @PARAMETERS@`` line of the body in ``<name>.sh`` beside this file; ``# @COMMON@`` pulls in
the shared helpers of ``common.sh``. The scripts print messages on stderr, never
file contents, and the outcome (``changed``/``unchanged``, or a sha256/``absent`` for
verify) as the last line of stdout.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from importlib import resources

LIVE_NAME = "config.gateway.json"
BACKUP_NAME = "config.gateway.json.metallb-unifi-original"
STATE_NAME = ".metallb-unifi.state"
STAGED_NAME = ".config.gateway.json.metallb-unifi-staged"

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


def _staged_name(name: str) -> str:
    if not name or "/" in name or name in {".", ".."} or _CONTROL.search(name) or name in _RESERVED_NAMES:
        raise GatewayScriptError(f"staged file name {name!r} must be a plain file name of its own")
    return name


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


def staged_path(site_dir: str, staged_name: str = STAGED_NAME) -> str:
    """Where the caller uploads the rendered file before running :func:`install_script`."""
    return posixpath.join(_site_dir(site_dir), _staged_name(staged_name))


def prepare_script(*, site_dir: str, owner: str, upload_user: str | None = None) -> str:
    """Create ``sites/`` and ``sites/<site>`` if missing (0755, given owner); the data
    directory itself must exist (exit 5 otherwise). With ``upload_user``, (re)create the
    staged file empty, 0600, owned by that user, so an SFTP upload without sudo can write
    it into a directory it cannot write (exit 4 if the staged path is a symlink or a
    directory). Prints ``changed``/``unchanged`` about the directories."""
    return _render(
        "prepare.sh",
        site_dir=_site_dir(site_dir),
        owner=_owner(owner),
        staged_name=STAGED_NAME,
        upload_user="" if upload_user is None else _owner(upload_user),
    )


def install_script(
    *, site_dir: str, expected_sha256: str, owner: str, stack: str, staged_name: str = STAGED_NAME
) -> str:
    """Move the staged upload into place as ``config.gateway.json``. Exit 3 if its sha256
    is not ``expected_sha256`` (the staged file is removed); exit 4 on a hand edit or another
    stack's state (the staged file is kept, so the next run installs it once that is fixed);
    exit 5 if the site directory is missing, or the staged file is and the content is not
    already installed by this stack (then it prints ``unchanged``: a re-run after an input
    change that needed no upload). Prints ``changed``/``unchanged`` last."""
    return _render(
        "install.sh",
        site_dir=_site_dir(site_dir),
        staged_name=_staged_name(staged_name),
        expected_sha256=_sha256(expected_sha256),
        owner=_owner(owner),
        stack=_stack(stack),
    )


def restore_script(*, site_dir: str, stack: str) -> str:
    """Put the user's original back (or remove the file if there was none) and drop the
    backup and state; exit 4 on a hand edit or another stack's state; nothing to do
    without state. Prints ``changed``/``unchanged`` last."""
    return _render("restore.sh", site_dir=_site_dir(site_dir), stack=_stack(stack))


def original_script(*, site_dir: str, stack: str) -> str:
    """Print ``absent``, or ``present`` and then the user's original file: the backup once this
    stack has installed, else the live file. Exit 4 on another stack's state or a backup that
    does not match the state. Unlike the others, this script prints a file's content: only the
    program's own client runs it (``check-original``), and it never echoes what it reads."""
    return _render("original.sh", site_dir=_site_dir(site_dir), stack=_stack(stack))


def parse_original(stdout: str) -> str | None:
    """The original's text from an original run, or None when there is none."""
    first, _, rest = stdout.partition("\n")
    if first == ABSENT and not rest.strip():
        return None
    if first != "present":
        raise GatewayScriptError(f"unexpected original script output, first line {first[:40]!r}")
    return rest


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
