"""What ``verify`` found: one result per check, each with an item per thing it looked at.

The same object prints as lines for a person (``ok``/``FAIL``/``skip``) and as the ``--json``
document the simulator and the ``verification`` stack output carry."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

CHECK_NAMES: Final = ("sessions", "routes", "dns", "reach")
EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2


class Status(enum.Enum):
    OK = "ok"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class Item:
    """One thing a check looked at: a node, a service address, a host name, a URL."""

    subject: str
    ok: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"subject": self.subject, "ok": self.ok, "detail": self.detail}


def listed(items: Sequence[Item]) -> str:
    """``subject: detail; …``: how a check's line names its items."""
    return "; ".join(f"{item.subject}: {item.detail}" for item in items)


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    detail: str  # one line: what passed, or for a failure what failed, its likely cause and where to look
    items: tuple[Item, ...] = ()

    @classmethod
    def skipped(cls, name: str, why: str) -> CheckResult:
        return cls(name, Status.SKIP, why)

    @classmethod
    def of_items(cls, name: str, items: Sequence[Item], passed: str, cause: str) -> CheckResult:
        """ok with ``passed`` when every item is; else fail naming the failed items, then ``cause``."""
        failed = [item for item in items if not item.ok]
        if not failed:
            return cls(name, Status.OK, passed, tuple(items))
        return cls(name, Status.FAIL, f"{listed(failed)} ({cause})", tuple(items))

    def line(self) -> str:
        label = {Status.OK: "ok", Status.FAIL: "FAIL", Status.SKIP: "skip"}[self.status]
        return f"{label:<4} {self.name}: {self.detail}"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status.value,
            "detail": self.detail,
            "items": [item.to_json() for item in self.items],
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> CheckResult:
        items = tuple(Item(str(i["subject"]), bool(i["ok"]), str(i["detail"])) for i in raw.get("items", ()))
        return cls(str(raw["name"]), Status(raw["status"]), str(raw["detail"]), items)


@dataclass(frozen=True)
class Report:
    checks: tuple[CheckResult, ...] = field(default_factory=tuple)

    @property
    def failed(self) -> tuple[CheckResult, ...]:
        return tuple(check for check in self.checks if check.status is Status.FAIL)

    @property
    def exit_code(self) -> int:
        return EXIT_FAILED if self.failed else EXIT_OK

    def lines(self) -> list[str]:
        return [check.line() for check in self.checks]

    def to_json(self) -> dict[str, Any]:
        return {"checks": [check.to_json() for check in self.checks]}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Report:
        return cls(tuple(CheckResult.from_json(check) for check in raw["checks"]))

    def summary(self) -> dict[str, dict[str, str]]:
        """Each check's status and detail: the ``verification`` stack output."""
        return {check.name: {"status": check.status.value, "detail": check.detail} for check in self.checks}
