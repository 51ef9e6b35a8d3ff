"""Polling with deadlines: the lab is checked until it is right or time is up, never slept on."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from .errors import CheckFailed

POLL_INTERVAL_S = 0.1


@dataclass(frozen=True)
class Outcome:
    ok: bool
    detail: str


def wait_for(check: str, probe: Callable[[], Outcome], timeout_s: float) -> Outcome:
    """Call ``probe`` until it is ok; raise :class:`CheckFailed` with its last detail after
    ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        outcome = probe()
        if outcome.ok:
            return outcome
        if time.monotonic() >= deadline:
            raise CheckFailed(check, f"{outcome.detail} (still so after {timeout_s:g}s)")
        time.sleep(POLL_INTERVAL_S)  # the pace of polling, not a synchronization


def holds_for(check: str, probe: Callable[[], Outcome], duration_s: float) -> Outcome:
    """``probe`` must stay ok for ``duration_s`` (e.g. a session that must stay down)."""
    deadline = time.monotonic() + duration_s
    while True:
        outcome = probe()
        if not outcome.ok:
            raise CheckFailed(check, outcome.detail)
        if time.monotonic() >= deadline:
            return outcome
        time.sleep(POLL_INTERVAL_S)
