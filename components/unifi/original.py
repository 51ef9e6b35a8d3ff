"""``check-original`` and ``restore``: the user's own config.gateway.json, before and after.

``check-original`` (create and update of ``usg-original``) reads the user's original over SSH
(the backup once this stack has installed, else the live file) and refuses, changing nothing,
when installing the stack's content would drop one of its settings outside what the stack owns
(``kept_settings``). ``restore`` (its delete) puts the original back. A delete runs with the
stored inputs, so after a change of host it reaches the old one; when that host is gone for
good, ``METALLB_UNIFI_SKIP_RESTORE_ON=<host>`` lets the restore end with a warning instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

from components.config.stack_names import stack_id
from components.contract import CONTENT_ENV, SKIP_RESTORE_ENV, SSH_KEY_ENV
from components.unifi.errors import (
    HostKeyMismatchError,
    RemoteCommandError,
    SettingsDroppedError,
    SshAuthError,
    SshConnectionError,
    UsageError,
)
from components.unifi.kept_settings import describe_refusal, dropped_settings
from components.unifi.options import SshFile
from components.unifi.scripts import GatewayScriptError, original_script, parse_original
from components.unifi.shared_file import run_checked, with_other_parts


def read_owned(stdin: TextIO) -> list[tuple[str, ...]]:
    """``{"owned": [["protocols", "bgp", "64512"], ...]}`` from stdin."""
    try:
        document = json.load(stdin)
        owned = document["owned"]
        if not isinstance(owned, list) or not all(
            isinstance(path, list) and all(isinstance(p, str) for p in path) for path in owned
        ):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise UsageError('stdin must be JSON {"owned": [[key, ...], ...]}') from None
    return [tuple(path) for path in owned]


def _content(env: Mapping[str, str]) -> dict[str, Any]:
    text = env.get(CONTENT_ENV) or ""
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise UsageError(f"set {CONTENT_ENV} to the config.gateway.json about to be installed (a JSON object)")
    return document


def check_original(
    ssh: SshFile, env: Mapping[str, str], owned: Sequence[Sequence[str]], say: Callable[[str], None]
) -> None:
    from components.unifi.ssh import SshSession  # paramiko: loaded only when used

    installed = _content(env)
    with SshSession.open(ssh.target, ssh.key(), SSH_KEY_ENV) as remote:
        stdout = run_checked(remote, "original", original_script(site_dir=ssh.site_dir, stack=ssh.stack), sudo=ssh.sudo)
    try:
        text, parts = parse_original(stdout.encode("utf-8"))
    except GatewayScriptError as exc:
        raise RemoteCommandError(f"the original script on {ssh.target}: {exc}") from None
    if text is None:
        say(f"no config.gateway.json of yours in {ssh.site_dir}: nothing to keep")
        return
    try:
        original = json.loads(text)
    except ValueError:
        original = None
    if not isinstance(original, dict):
        raise SettingsDroppedError(
            f"your config.gateway.json in {ssh.site_dir} is not a JSON object, so this stack cannot tell "
            "which of its settings to keep; fix it, or copy it into the project, fix the copy and point "
            "metallb-unifi:gateway.baseConfigFile at it"
        )
    composed, theirs = with_other_parts(installed, parts, stack_id(ssh.stack))
    dropped = dropped_settings(original, composed, [*owned, *theirs])
    if dropped:
        raise SettingsDroppedError(describe_refusal(dropped))
    say(f"every setting of your config.gateway.json in {ssh.site_dir} is kept")


def _skipped_hosts(env: Mapping[str, str]) -> set[str]:
    return {part.strip() for part in (env.get(SKIP_RESTORE_ENV) or "").split(",") if part.strip()}


def restore(ssh: SshFile, env: Mapping[str, str], say: Callable[[str], None]) -> None:
    """Take the stack's part out of the site's file; the user's original comes back with the last."""
    from components.unifi.remote import remove_part
    from components.unifi.ssh import SshSession

    host, port = ssh.target.host, ssh.target.port
    try:
        first = SshSession.open(ssh.target, ssh.key(), SSH_KEY_ENV)
    except (SshConnectionError, HostKeyMismatchError, SshAuthError) as exc:
        if _skipped_hosts(env) & {host, f"{host}:{port}"}:
            say(
                f"warning: {exc}; NOT taking stack {ssh.stack!r}'s part out of config.gateway.json in {ssh.site_dir} "
                f"on {host} ({SKIP_RESTORE_ENV}={host}): put your original back by hand if that controller comes back"
            )
            return
        raise type(exc)(
            f"{exc.args[0] if exc.args else exc}; cannot restore your original config.gateway.json on {host}. "
            f"If that controller is gone for good, run: {SKIP_RESTORE_ENV}={host} pulumi up (or pulumi destroy)"
        ) from None
    sessions = iter([first])

    def connect() -> SshSession:  # the first session is the one that was just checked
        return next(sessions, None) or SshSession.open(ssh.target, ssh.key(), SSH_KEY_ENV)

    remove_part(connect, ssh.site(), say)
