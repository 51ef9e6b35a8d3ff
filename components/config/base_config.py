"""The user's own config.gateway.json (``gateway.baseConfigFile``), read and checked before
anything is merged into it: a file the USG cannot apply takes the network down."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from .errors import Problems
from .model import Lab
from .values import type_name

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
        problems.error(key, f"'{path}' must hold a JSON object, not {type_name(document)}")
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


def base_document(lab: Lab) -> dict[str, Any]:
    """The base file as parsed (an empty object without one)."""
    text = lab.gateway.base_config_json
    document = json.loads(text) if text is not None else {}
    assert isinstance(document, dict), "the parser only accepts a JSON object as base file"
    return document


def base_hosts(base: Mapping[str, Any]) -> Mapping[str, Any]:
    """The base file's ``system.static-host-mapping.host-name`` entries (empty if it has none)."""
    node: Any = base
    for key in ("system", "static-host-mapping", "host-name"):
        node = node.get(key) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else {}


def base_host_names(lab: Lab) -> set[str]:
    """Every host name and alias the base file maps (empty without one)."""
    if lab.gateway.base_config_json is None:
        return set()
    names = set()
    for host, entry in base_hosts(base_document(lab)).items():
        names.add(host)
        aliases = entry.get("alias", []) if isinstance(entry, Mapping) else []
        names.update(a for a in (aliases if isinstance(aliases, list) else [aliases]) if isinstance(a, str))
    return names
