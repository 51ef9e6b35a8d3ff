"""Read a stack's config the way Pulumi would, without the Pulumi CLI: project defaults from
``Pulumi.yaml``, then the stack file's values (an object value replaces a default whole).

Encrypted values (``secure: v1:…``) stay encrypted: the model marks them as unknown secrets.
A key in a namespace one or two edits from ``metallb-unifi`` (``metalb-unifi:services``) is an
error, not another program's key: Pulumi would pass it on and the program would never see it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from .errors import NAMESPACE, ConfigError, Problem


def _project_key(name: str, project: str) -> str | None:
    """The key within this project's namespace, or None for another namespace's key."""
    namespace, sep, rest = str(name).partition(":")
    if not sep:
        return str(name) if project == NAMESPACE else None
    return rest if namespace == NAMESPACE else None


def _edit_distance(a: str, b: str, limit: int) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) from ``a`` to ``b``; ``limit + 1``
    once more than ``limit`` are needed."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    before: list[int] | None = None
    previous = list(range(len(b) + 1))
    for i, char in enumerate(a, 1):
        current = [i]
        for j, other in enumerate(b, 1):
            best = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != other))
            if before is not None and j > 1 and char == b[j - 2] and a[i - 2] == other:
                best = min(best, before[j - 2] + 1)
            current.append(best)
        before, previous = previous, current
    return min(previous[-1], limit + 1)


def mistyped_namespace_keys(names: Iterable[str]) -> list[Problem]:
    """A problem for every key whose namespace is one or two edits from this project's."""
    problems = []
    for name in names:
        namespace, sep, rest = str(name).partition(":")
        if sep and 1 <= _edit_distance(namespace, NAMESPACE, 2) <= 2:
            problems.append(
                Problem(
                    str(name),
                    f"namespace {namespace!r} is not this program's (it would be ignored); "
                    f"did you mean {NAMESPACE}:{rest}?",
                )
            )
    return sorted(problems)


def _load_yaml(path: Path) -> Any:
    try:
        # From a named stream, a syntax error's position names the file, not "<unicode string>".
        with path.open(encoding="utf-8") as stream:
            return yaml.safe_load(stream)
    except OSError as exc:
        raise ConfigError([Problem(str(path), f"cannot read: {exc.strerror or exc}")]) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError([Problem(str(path), f"is not UTF-8 text: {exc}")]) from exc
    except ValueError as exc:  # e.g. an integer too long for Python to convert
        raise ConfigError([Problem(str(path), f"cannot be read as YAML: {exc}")]) from exc
    except yaml.YAMLError as exc:
        raise ConfigError([Problem(str(path), f"is not valid YAML: {exc}")]) from exc


def _config_section(document: Any, path: Path) -> Mapping[str, Any]:
    if document is None:
        return {}
    if not isinstance(document, Mapping):
        raise ConfigError([Problem(str(path), "must be a YAML mapping")])
    section = document.get("config") or {}
    if not isinstance(section, Mapping):
        raise ConfigError([Problem(f"{path}: config", "must be a mapping of key: value")])
    return section


def project_defaults(project_file: Path) -> dict[str, Any]:
    """Defaults declared in ``Pulumi.yaml`` under ``config:`` (``default:`` or ``value:``)."""
    document = _load_yaml(project_file)
    project = str(document.get("name", NAMESPACE)) if isinstance(document, Mapping) else NAMESPACE
    defaults: dict[str, Any] = {}
    for name, declaration in _config_section(document, project_file).items():
        key = _project_key(name, project)
        if key is None:
            continue
        if isinstance(declaration, Mapping) and ({"default", "value"} & set(declaration)):
            defaults[key] = declaration.get("value", declaration.get("default"))
        elif not isinstance(declaration, Mapping) or "type" not in declaration:
            defaults[key] = declaration
    return defaults


def stack_name_of(stack_file: Path) -> str:
    """The stack a stack file configures: ``Pulumi.<stack>.yaml`` (or ``.yml``) is Pulumi's own
    naming, so ``Pulumi.lab.yaml`` is stack ``lab``; any other ``<name>.yaml`` is stack ``<name>``."""
    name = stack_file.name
    for suffix in (".yaml", ".yml"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return name.removeprefix("Pulumi.")


def read_stack_config(stack_file: Path, project_file: Path | None = None) -> dict[str, Any]:
    """The project's config keys (without the ``metallb-unifi:`` prefix) for one stack."""
    if project_file is None:
        project_file = stack_file.parent / "Pulumi.yaml"
    raw = project_defaults(project_file) if project_file.exists() else {}
    section = _config_section(_load_yaml(stack_file), stack_file)
    mistyped = mistyped_namespace_keys(section)
    if mistyped:
        raise ConfigError(mistyped)
    for name, value in section.items():
        key = _project_key(name, NAMESPACE)
        if key is not None:
            raw[key] = value
    return raw
