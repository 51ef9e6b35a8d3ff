"""Strict reading of rendered documents: every key must be read by a translator, or the
translation fails naming the key (a new renderer option must not vanish from the simulation)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import UnmodeledField


class Fields:
    """A mapping read key by key; :meth:`finish` refuses the keys nobody read."""

    def __init__(self, value: object, file: str, path: str) -> None:
        if not isinstance(value, Mapping):
            raise UnmodeledField(file, path or "(top level)", f"expected a mapping, got {type(value).__name__}")
        self._value: Mapping[str, Any] = value
        self._read: set[str] = set()
        self.file = file
        self.path = path

    def where(self, key: str | int) -> str:
        suffix = f"[{key}]" if isinstance(key, int) else str(key)
        if not self.path:
            return suffix
        return f"{self.path}{suffix}" if isinstance(key, int) else f"{self.path}.{suffix}"

    def get(self, key: str) -> Any:
        self._read.add(key)
        return self._value.get(key)

    def require(self, key: str) -> Any:
        if key not in self._value:
            raise UnmodeledField(self.file, self.where(key), "missing")
        return self.get(key)

    def nested(self, key: str) -> Fields:
        return Fields(self.require(key), self.file, self.where(key))

    def optional_nested(self, key: str) -> Fields | None:
        return None if key not in self._value else self.nested(key)

    def items(self) -> list[tuple[str, Any]]:
        """Every entry, all counted as read (for maps keyed by data, e.g. neighbour addresses)."""
        self._read.update(self._value)
        return list(self._value.items())

    def string(self, key: str, default: str | None = None) -> str | None:
        value = self.get(key)
        if value is None:
            return default
        if not isinstance(value, str):
            raise UnmodeledField(self.file, self.where(key), f"expected a string, got {value!r}")
        return value

    def require_string(self, key: str) -> str:
        self.require(key)
        value = self.string(key)
        assert value is not None
        return value

    def integer(self, key: str) -> int | None:
        """An integer, also accepted as a decimal string (EdgeOS writes every leaf as a string)."""
        value = self.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
            raise UnmodeledField(self.file, self.where(key), f"expected an integer, got {value!r}")
        return int(value)

    def require_integer(self, key: str) -> int:
        self.require(key)
        value = self.integer(key)
        assert value is not None
        return value

    def boolean(self, key: str, default: bool = False) -> bool:
        value = self.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise UnmodeledField(self.file, self.where(key), f"expected true or false, got {value!r}")
        return value

    def sequence(self, key: str) -> list[Any]:
        value = self.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise UnmodeledField(self.file, self.where(key), f"expected a list, got {value!r}")
        return value

    def expect(self, key: str, *allowed: object) -> None:
        """The key must hold one of ``allowed`` (e.g. a fixed ``kind``); anything else is refused."""
        value = self.get(key)
        if value not in allowed:
            expected = " or ".join(repr(a) for a in allowed)
            raise UnmodeledField(self.file, self.where(key), f"value {value!r} is not modeled (only {expected})")

    def refuse(self, key: str, why: str = "not modeled by the simulator") -> None:
        """Refuse ``key`` if it is present: an option the simulator knows of but cannot run."""
        if key in self._value:
            raise UnmodeledField(self.file, self.where(key), why)

    def finish(self) -> None:
        unread = sorted(set(self._value) - self._read)
        if unread:
            raise UnmodeledField(self.file, self.where(unread[0]))
