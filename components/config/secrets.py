"""How secrets appear in rendered artifacts.

Renderers always write :func:`secret_text`. For output a person may see (``render`` without
``--show-secrets``, preview diffs), render a lab passed through :func:`redact_secrets` first.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from .model import Lab, Secret

T = TypeVar("T")


def secret_text(secret: Secret) -> str:
    """The secret's value, or a visible placeholder when it is encrypted in the stack file."""
    return secret.value if secret.value is not None else f"<encrypted: {secret.key}>"


def redacted(secret: Secret) -> Secret:
    return Secret(key=secret.key, value=f"<secret: {secret.key}>")


def _each_secret(value: Any) -> list[Secret]:
    """Every secret in ``value`` (a lab or a part of it), wherever it is held."""
    if isinstance(value, Secret):
        return [value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [s for f in dataclasses.fields(value) for s in _each_secret(getattr(value, f.name))]
    if isinstance(value, tuple):
        return [s for item in value for s in _each_secret(item)]
    return []


def _redact(value: T) -> T:
    """``value`` with every secret in it redacted; the same object when it holds none."""
    if isinstance(value, Secret):
        return redacted(value)  # type: ignore[return-value]  # T is Secret here
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for f in dataclasses.fields(value):
            old = getattr(value, f.name)
            new = _redact(old)
            if new is not old:
                changes[f.name] = new
        return dataclasses.replace(value, **changes) if changes else value
    if isinstance(value, tuple):
        items = tuple(_redact(item) for item in value)
        changed = any(new is not old for new, old in zip(items, value, strict=True))
        return items if changed else value  # type: ignore[return-value]
    return value


def redact_secrets(lab: Lab) -> Lab:
    """The same lab with every secret (the BGP password, the controller's and the gateway's
    credentials) replaced by a visible placeholder naming its key."""
    return _redact(lab)


def secret_values(lab: Lab) -> tuple[str, ...]:
    """Every known secret value, e.g. to check that none leaks into logs or output."""
    return tuple(s.value for s in _each_secret(lab) if s.value is not None)
