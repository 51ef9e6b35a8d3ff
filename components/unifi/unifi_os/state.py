"""What ``apply`` remembers between runs: the last stdout line ``metallb-unifi-state: {...}``.

pulumi-command hands a resource's previous stdout to its update and delete in
``PULUMI_COMMAND_STDOUT``; the last state line in it says which DNS records (by id) this stack
created, and the BGP config the gateway had before the stack first took it over (restored on
``remove``), and what each of its records held, so that a record an undo had to re-create
under a new ``_id`` (see ``commands``) is still known as the stack's. That config is kept
whole, password lines included, because it must be restorable: the state line is the one place
where it is printed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from components.contract import PREVIOUS_STDOUT_ENV
from components.unifi.errors import UsageError

STATE_PREFIX: Final = "metallb-unifi-state: "


def default_description(stack: str) -> str:
    """The BGP config description marking it as a stack's (what the Pulumi program sends)."""
    return f"metallb-unifi stack {stack}"


@dataclass(frozen=True)
class StackState:
    stack: str
    description: str
    previous_bgp: dict[str, Any] | None = None
    # Both keyed by inputs.record_ref: the DNS key of an A record, "<key> <type>" of another.
    records: dict[str, str] = field(default_factory=dict)  # record ref -> record _id
    contents: dict[str, dict[str, Any]] = field(default_factory=dict)  # record ref -> value, type, ttl, enabled

    def line(self) -> str:
        body = {
            "stack": self.stack,
            "description": self.description,
            "previous_bgp": self.previous_bgp,
            "records": dict(sorted(self.records.items())),
            "contents": dict(sorted(self.contents.items())),
        }
        return STATE_PREFIX + json.dumps(body, separators=(",", ":"), sort_keys=True)


def removed_line(stack: str) -> str:
    return STATE_PREFIX + json.dumps({"stack": stack, "removed": True}, separators=(",", ":"), sort_keys=True)


def _bad(why: str) -> UsageError:
    return UsageError(f"{PREVIOUS_STDOUT_ENV}: the last state line {why}")


def parse_state(previous_stdout: str | None, stack: str) -> StackState | None:
    """The state in the last state line of a previous run's stdout; None without one (first
    create, a run that printed none) or after a ``remove``. Another stack's state is refused."""
    lines = [line for line in (previous_stdout or "").splitlines() if line.startswith(STATE_PREFIX)]
    if not lines:
        return None
    try:
        raw = json.loads(lines[-1].removeprefix(STATE_PREFIX))
    except ValueError:
        raise _bad("is not JSON") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("stack"), str):
        raise _bad("has no stack")
    if raw["stack"] != stack:
        raise _bad(f"belongs to stack {raw['stack']!r}, not {stack!r}")
    if raw.get("removed") is True:
        return None
    previous, records = raw.get("previous_bgp"), raw.get("records", {})
    if previous is not None and not isinstance(previous, dict):
        raise _bad("has a previous_bgp that is not an object")
    if not isinstance(records, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in records.items()
    ):
        raise _bad("has records that are not a map of DNS keys to record ids")
    contents = raw.get("contents", {})  # absent in lines written before it existed
    if not isinstance(contents, Mapping) or not all(isinstance(v, dict) for v in contents.values()):
        raise _bad("has contents that are not a map of DNS keys to records")
    description = raw.get("description")
    return StackState(
        stack=stack,
        description=description if isinstance(description, str) else default_description(stack),
        previous_bgp=previous,
        records=dict(records),
        contents={str(k): dict(v) for k, v in contents.items()},
    )
