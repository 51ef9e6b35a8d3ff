"""The user's own config.gateway.json (``gateway.baseConfigFile``), read and checked before
anything is merged into it: a file the USG cannot apply takes the network down."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from . import values as v
from .errors import Problems

ReadFile = Callable[[str], str]


def read_base_config(
    path: str, key: str, problems: Problems, read_file: ReadFile | None, asn: int | None
) -> str | None:
    if read_file is None:
        problems.error(key, "cannot be read here: no project directory to read it from")
        return None
    try:
        text = read_file(path)
    except (OSError, UnicodeDecodeError) as exc:
        problems.error(key, f"cannot read '{path}': {exc}")
        return None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        problems.error(key, f"'{path}' is not valid JSON: {exc}")
        return None
    except RecursionError:
        problems.error(key, f"'{path}' is nested too deeply to be a config.gateway.json")
        return None
    if not isinstance(document, dict):
        problems.error(key, f"'{path}' must hold a JSON object, not {v.type_name(document)}")
        return None
    bad_leaf = _first_non_string_leaf(document, "")
    if bad_leaf is not None:
        problems.error(
            key,
            f"'{path}' has a non-string value at {bad_leaf}; EdgeOS expects every leaf as a "
            'string and multi-values as lists of strings (write "64512", not 64512)',
        )
        return None
    bgp = document.get("protocols", {}).get("bgp") if isinstance(document.get("protocols"), dict) else None
    if isinstance(bgp, dict) and asn is not None:
        others = sorted(str(a) for a in bgp if str(a) != str(asn))
        if others:
            problems.error(
                key,
                f"'{path}' already has a BGP instance under AS {', '.join(others)}, but "
                f"gateway.asn is {asn}; a router runs one BGP instance: set gateway.asn to "
                f"{others[0]} or remove that instance from the file",
            )
            return None
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


# EdgeOS config trees are a handful of levels deep; far deeper is not a gateway config.
_MAX_BASE_DEPTH = 32


def _first_non_string_leaf(node: Any, path: str, depth: int = 0) -> str | None:
    if depth > _MAX_BASE_DEPTH:
        return f"{path} (nested more than {_MAX_BASE_DEPTH} levels deep)"
    if isinstance(node, dict):
        for name, child in node.items():
            found = _first_non_string_leaf(child, f"{path}.{name}" if path else str(name), depth + 1)
            if found is not None:
                return found
        return None
    if isinstance(node, list):
        return next((f"{path}[{i}]" for i, item in enumerate(node) if not isinstance(item, str)), None)
    return None if isinstance(node, str) else path or "the top level"
