"""Errors and warnings of the stack config, each tied to the key that caused it."""

from __future__ import annotations

from dataclasses import dataclass

NAMESPACE = "metallb-unifi"


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the config: where (full key path) and what."""

    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


class ConfigError(Exception):
    """The stack config is invalid. Carries every problem found, not only the first."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__(self.report())

    def report(self) -> str:
        count = len(self.problems)
        lines = [f"invalid stack config ({count} problem{'s' if count != 1 else ''}):"]
        lines.extend(f"  - {problem}" for problem in self.problems)
        return "\n".join(lines)


def key_path(*parts: str | int) -> str:
    """Build a key path like ``metallb-unifi:services[0].address``.

    The first part is the top-level key; strings after it are object keys, ints are list indexes.
    """
    head, *rest = parts
    path = f"{NAMESPACE}:{head}"
    for part in rest:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


class Problems:
    """Collects problems and warnings while a config is parsed."""

    def __init__(self) -> None:
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []

    def error(self, key: str, message: str) -> None:
        self.errors.append(Problem(key, message))

    def warn(self, key: str, message: str) -> None:
        self.warnings.append(Problem(key, message))

    def raise_if_any(self) -> None:
        if self.errors:
            raise ConfigError(self.errors)
