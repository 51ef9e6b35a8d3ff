"""A saved Service listing (``kubectl get services -A -o json``) in place of the cluster, for
``render --services-from`` and the simulator. Anything that is not such a listing is refused
with a message saying what is wrong and where, so that a typo never reads as "no Services"."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# kubectl prints a v1 List of Services; the API itself answers a ServiceList.
LIST_KINDS = ("List", "ServiceList")


class ServiceDumpError(ValueError):
    """The file is not a Service listing."""


def read_service_dump(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ServiceDumpError(f"{path}: cannot read it: {getattr(exc, 'strerror', None) or exc}") from exc
    return parse_service_dump(text, str(path))


def parse_service_dump(text: str, source: str) -> list[dict[str, Any]]:
    """The listing's Services, as the API returns them."""
    hint = "expected the output of `kubectl get services -A -o json`"
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ServiceDumpError(f"{source}: not JSON ({exc}); {hint}") from exc
    if not isinstance(document, Mapping):
        raise ServiceDumpError(f"{source}: the top level is not an object; {hint}")
    if document.get("kind") not in LIST_KINDS:
        raise ServiceDumpError(f"{source}: kind is {document.get('kind')!r}, not List or ServiceList; {hint}")
    items = document.get("items")
    if not isinstance(items, list):
        raise ServiceDumpError(f"{source}: items is not a list; {hint}")
    services = []
    for index, item in enumerate(items):
        where = f"{source}: items[{index}]"
        if not isinstance(item, Mapping):
            raise ServiceDumpError(f"{where} is not an object")
        if item.get("kind", "Service") != "Service":  # a ServiceList's items carry no kind
            raise ServiceDumpError(f"{where} is a {item.get('kind')!r}, not a Service")
        metadata = item.get("metadata")
        if not isinstance(metadata, Mapping) or not all(
            isinstance(metadata.get(key), str) and metadata.get(key) for key in ("namespace", "name")
        ):
            raise ServiceDumpError(f"{where} has no metadata.namespace and metadata.name")
        for part in ("spec", "status"):
            if not isinstance(item.get(part, {}), Mapping):
                raise ServiceDumpError(f"{where}.{part} is not an object")
        services.append(dict(item))
    return services
