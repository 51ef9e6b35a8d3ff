"""Reading one object of the stack config from a table that declares each of its keys once.

A :class:`Section` is the table of one object (a node, a pool, the gateway …): the model it builds
and its entries, read top to bottom. A :class:`Field` declares one key: its name, the parser of its
value, whether it is required, its default. A :class:`Rule` is a check across fields; it runs where
it stands in the table, after the fields above it, so problems come out in the order of the table.

:meth:`Section.read` checks the keys first (unknown keys with a "did you mean", missing required
keys, keys given without a value), then reads every entry, collecting every problem under its full
key path, and builds the frozen model only when every field parsed and every rule passed.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .errors import Problems, key_path
from .values import choice, dns_label, duration_seconds, integer, mapping, sequence

T = TypeVar("T")
M = TypeVar("M")

# (value, key path, problems) -> the parsed value, or None after reporting a problem.
Parser = Callable[[Any, str, Problems], Any]
# (the section being read, the key) -> the value, None after a problem, or LEFT_OUT.
Reader = Callable[["Reading", str], Any]


class _Sentinel(enum.Enum):
    LEFT_OUT = "left out"


LEFT_OUT = _Sentinel.LEFT_OUT
"""No value: as a field's default, "no default"; returned by a reader, "not set, and not a problem"."""


@dataclass(frozen=True)
class Field:
    """One key of a section.

    * ``parse`` reads the value given (see :data:`Parser`).
    * ``required``: leaving the key out (or giving it no value) is a problem.
    * ``default``: the value parsed when the key is left out; a function of the :class:`Reading`
      when it depends on fields above (it may return :data:`LEFT_OUT`: no default then). A default
      of None has the parser report the missing value in its own words too.
    * ``skip_null``: a key given without a value reads as left out (the key check has reported it).
    * ``absent``: the model's value when the key is left out and has no default.
    * ``read`` replaces ``parse`` for a key read in its own way (its value depends on fields above
      or on the section's context): ``read(reading, key)`` returns the value, None after a problem,
      or :data:`LEFT_OUT` for ``absent``.
    * Without ``parse`` or ``read`` the key is only declared: a :class:`Rule` below reads it.
    * ``attr``: the model's attribute, when it is not the key in snake_case.
    """

    key: str
    parse: Parser | None = None
    required: bool = False
    default: Any = LEFT_OUT
    skip_null: bool = False
    absent: Any = None
    read: Reader | None = None
    attr: str = ""

    @property
    def name(self) -> str:
        return self.attr or re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", self.key).lower()


@dataclass(frozen=True)
class Rule:
    """A check across the fields above it: reports its problems and returns False when the section
    must not be built. With ``stop``, a failed check also ends the reading of the section."""

    check: Callable[[Reading], bool]
    stop: bool = False


class Reading:
    """A section being read: its raw ``data``, the fields parsed so far (``got``, by model
    attribute; a field that failed is not in it), and the ``context`` its caller passed."""

    def __init__(self, data: dict[str, Any], key: str, problems: Problems, context: Any) -> None:
        self.data = data
        self.key = key
        self.problems = problems
        self.context = context
        self.got: dict[str, Any] = {}
        self.failed = False

    def at(self, name: str) -> str:
        """The full key path of ``name`` in this section (the top level has no key of its own)."""
        return f"{self.key}.{name}" if self.key else key_path(name)

    def read(self, field: Field) -> None:
        if field.parse is None and field.read is None:
            return  # declared only: a rule below reads it
        value = self._value(field)
        if value is None:
            self.failed = True
        elif value is LEFT_OUT:
            self.got[field.name] = field.absent
        else:
            self.got[field.name] = value

    def _value(self, field: Field) -> Any:
        if field.read is not None:
            return field.read(self, field.key)
        assert field.parse is not None
        given = self.data.get(field.key, LEFT_OUT)
        if given is LEFT_OUT or (given is None and field.skip_null):
            given = field.default(self) if callable(field.default) else field.default
            if given is LEFT_OUT:
                return None if field.required else LEFT_OUT
        return field.parse(given, self.at(field.key), self.problems)


class Section(Generic[M]):
    """The table of one object: ``model`` is called with the parsed fields by attribute, unless a
    ``build`` function makes the object (and may still refuse it, after reporting why).

    ``check_keys`` checks the keys of the raw object (values.mapping, or the top level's own)."""

    def __init__(
        self,
        model: Callable[..., M],
        *entries: Field | Rule,
        build: Callable[[Reading], M | None] | None = None,
        check_keys: Callable[..., dict[str, Any] | None] = mapping,
    ) -> None:
        self.model = model
        self.entries = entries
        self.build = build
        self.check_keys = check_keys
        fields = [entry for entry in entries if isinstance(entry, Field)]
        self.required = tuple(f.key for f in fields if f.required)
        self.optional = tuple(f.key for f in fields if not f.required)

    def read(self, raw: Any, key: str, problems: Problems, context: Any = None) -> M | None:
        reading = self.read_fields(raw, key, problems, context)
        if reading is None or reading.failed:
            return None
        return self.build(reading) if self.build else self.model(**reading.got)

    def read_fields(self, raw: Any, key: str, problems: Problems, context: Any = None) -> Reading | None:
        """Check the keys and read every entry; None when ``raw`` is not an object at all."""
        data = self.check_keys(raw, key, problems, required=self.required, optional=self.optional)
        if data is None:
            return None
        reading = Reading(data, key, problems, context)
        for entry in self.entries:
            if isinstance(entry, Rule):
                if not entry.check(reading):
                    reading.failed = True
                    if entry.stop:
                        break
            else:
                reading.read(entry)
        return reading


# --- parsers built from the ones in values.py ---------------------------------------------------


def between(low: int, high: int) -> Parser:
    """A whole number in [low, high]."""
    return lambda value, key, problems: integer(value, key, problems, low, high)


def seconds_between(low: int, high: int, shown: str) -> Parser:
    """A duration (values.duration_seconds) of ``low``..``high`` seconds, ``shown`` as written."""

    def parse(value: Any, key: str, problems: Problems) -> int | None:
        seconds = duration_seconds(value, key, problems)
        if seconds is not None and not low <= seconds <= high:
            problems.error(key, f"{seconds}s is out of range: allowed {shown}")
            return None
        return seconds

    return parse


def one_of(*allowed: str) -> Parser:
    return lambda value, key, problems: choice(value, key, problems, allowed)


def member_of(kind: type[enum.Enum]) -> Parser:
    """A member of an enum, written as its value."""
    allowed = tuple(member.value for member in kind)

    def parse(value: Any, key: str, problems: Problems) -> enum.Enum | None:
        text = choice(value, key, problems, allowed)
        return kind(text) if text is not None else None

    return parse


def named(what: str) -> Parser:
    """A DNS label, called ``what`` in problems ("a pool name")."""
    return lambda value, key, problems: dns_label(value, key, problems, what=what)


def list_of(parse_item: Callable[[Any, str, Problems], T | None], *, allow_empty: bool = True) -> Parser:
    """A list whose every item parses; the tuple of the parsed items."""

    def parse(value: Any, key: str, problems: Problems) -> tuple[T, ...] | None:
        items, ok = each(value, key, problems, parse_item, allow_empty=allow_empty)
        return tuple(item for _, item in items) if ok else None

    return parse


def each(
    raw: Any,
    key: str,
    problems: Problems,
    parse_item: Callable[[Any, str, Problems], T | None],
    *,
    allow_empty: bool = True,
) -> tuple[list[tuple[int, T]], bool]:
    """Parse every item of a list. Returns the valid items with their index in the list (so
    later checks name the right item) and whether the list and all its items were valid."""
    items = sequence(raw, key, problems, allow_empty=allow_empty)
    if items is None:
        return [], False
    parsed = [(index, parse_item(item, f"{key}[{index}]", problems)) for index, item in enumerate(items)]
    valid = [(index, item) for index, item in parsed if item is not None]
    return valid, len(valid) == len(parsed)


def no_duplicates(items: list[tuple[str, str]], what: str, problems: Problems) -> None:
    """Report every (value, key) whose value came before, naming the first key that had it."""
    seen: dict[str, str] = {}
    for value, key in items:
        if value in seen:
            problems.error(key, f"duplicate {what} '{value}' (also at {seen[value]})")
        seen.setdefault(value, key)
