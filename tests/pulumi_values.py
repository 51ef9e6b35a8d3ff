"""Reading resource inputs as the mock monitor records them: secrets arrive wrapped in a
marker object, assets as objects that compare by identity."""

from __future__ import annotations

from typing import Any

import pulumi

SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
SIG_KEY = "4dabf18193072939515e22adb298388d"


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SIG_KEY) == SECRET_SIG


def unwrap(value: Any) -> Any:
    """The plain value: secret markers removed, string assets as ``{"asset": text}``."""
    if is_secret(value):
        return unwrap(value["value"])
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    if isinstance(value, pulumi.StringAsset):
        return {"asset": value.text}
    return value


def without_secrets(value: Any) -> Any:
    """The value with every secret-marked part cut out: what state and diffs show in clear."""
    if is_secret(value):
        return "[secret]"
    if isinstance(value, dict):
        return {k: without_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_secrets(v) for v in value]
    return value
