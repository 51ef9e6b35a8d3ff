"""Go durations as MetalLB writes and parses them (``90s``, ``1m30s``), in whole seconds."""

from __future__ import annotations

import re

from simulator.errors import UnmodeledField

_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def seconds(text: object, file: str, path: str) -> int:
    match = _DURATION.fullmatch(text) if isinstance(text, str) and text else None
    if match is None:
        raise UnmodeledField(file, path, f"duration {text!r} is not in whole hours, minutes and seconds")
    hours, minutes, secs = (int(group or 0) for group in match.groups())
    return hours * 3600 + minutes * 60 + secs
