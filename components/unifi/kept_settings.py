"""Which of a user's own config.gateway.json settings a file about to be installed would drop.

Pure: no Pulumi, no I/O. The controller client reads the live file, calls
:func:`dropped_settings` with what it would install, and refuses with :func:`describe_refusal`
when the list is not empty: the controller applies only the installed file, so every setting
missing from it silently stops applying at the next provision.

What counts (the controller overlays the file on the config it generates; objects merge, arrays
replace rather than extend; leaves are strings, value-less nodes ``"''"``):

* A **leaf** is a value that is not an object: a string (``"''"`` included), any other JSON
  scalar a hand-written file may hold, or an array. Objects are only where leaves live.
* A string or other scalar is **kept** when the installed file has a value of the same JSON type
  and the same value at the same path (no normalisation: ``"64512"`` is not ``64512``).
* An array's **items** are leaves of their own, reported as ``path[i]`` (the index in the
  original). An item is kept when the installed value at that path is an array holding an equal
  item. Order and repeats are not compared: EdgeOS multi-value nodes (``inet``, ``alias``,
  ``options``, ``name-server``) hold each value once as a child node, so ``["a", "b"]`` and
  ``["b", "a", "a"]`` configure the same. Extra items in the installed array are fine: each
  value of a multi-value node is a setting of its own (a dnsmasq option line, an address, a
  name), and the user's values all still apply. The one case where an extra item changes the
  meaning is an empty array: since arrays replace, ``[]`` is the setting "none of the values the
  controller would generate", so it is kept only by an empty array and is reported as ``path``.
* An **empty object** is not a setting: overlaying ``{}`` onto the generated config adds
  nothing, so ``{"firewall": {"group": {}}}`` keeps nothing that could be dropped. (Presence
  nodes without a value are written ``"''"``, a leaf.)
* A **type change** drops: a leaf that became an object or an array (or the other way round)
  reports every leaf of the original under that path.

Whatever lies in or under an owned path (:func:`owned_paths`) is the stack's to rewrite and is
never reported. Values never appear in the result (they may be VPN keys or BGP passwords).

Paths (:func:`setting_path`) join keys with ``.`` and write array indices as ``[i]``. A key is
written bare when it is non-empty and made only of ASCII letters, digits and ``_-/:@+``;
any other key (``10.10.0.101``, ``eth1.10``, a space, a quote, a bracket, non-ASCII) is written
as a JSON string, ASCII-escaped: ``protocols.bgp.64512.neighbor."10.10.0.101".remote-as``. So a
path is unambiguous, stays on one line, and reads like the merge conflicts of
``components/artifacts/usg_gateway.py`` (which quote keys holding dots, spaces or quotes).
Results are sorted in document order: keys by code point, indices by number.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from components.artifacts.usg_gateway import policy_paths
from components.config.stack_names import FilterNames

PathPart = str | int

BASE_CONFIG_KEY = "metallb-unifi:gateway.baseConfigFile"

_BARE_KEY = re.compile(r"[A-Za-z0-9_\-/:@+]+")


def owned_paths(
    gateway_asn: int, host_names: Iterable[str], filter_names: FilterNames, *, ipv6: bool = False
) -> list[tuple[str, ...]]:
    """What the stack owns in config.gateway.json: the prefix-list and route-maps of its BGP filter
    (named after the stack; with ``ipv6``, a BGP pool holding IPv6 addresses, its prefix-list6 and
    IPv6 import route-map too), its BGP instance and one static host name per service. Sorted and
    without repeats, so the same inputs give the same list."""
    hosts = [("system", "static-host-mapping", "host-name", h) for h in set(host_names)]
    return sorted({*policy_paths(filter_names, ipv6=ipv6), ("protocols", "bgp", str(gateway_asn)), *hosts})


def dropped_settings(
    original: Mapping[str, Any], installed: Mapping[str, Any], owned: Iterable[Sequence[str]]
) -> list[str]:
    """Every leaf of ``original`` outside the ``owned`` subtrees that ``installed`` does not keep
    (see the module docstring for what leaf and kept mean), as sorted :func:`setting_path`
    texts; ``[]`` when nothing is dropped."""
    owned_set = {tuple(str(part) for part in path) for path in owned}
    found = sorted(_dropped(original, installed, (), owned_set), key=_order)
    return [setting_path(path) for path in found]


def setting_path(parts: Sequence[PathPart]) -> str:
    """A readable, unambiguous path: ``service.dns.forwarding.options[0]``, with keys that are not
    plain words quoted as JSON strings (``neighbor."10.10.0.101"``)."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            key = part if _BARE_KEY.fullmatch(part) else json.dumps(part)
            text += f".{key}" if text else key
    return text


def describe_refusal(dropped: list[str], limit: int = 5) -> str:
    """One line refusing an install that would drop ``dropped`` (paths from
    :func:`dropped_settings`): the first ``limit`` of them, how many more, and the way out."""
    if not dropped:
        raise ValueError("nothing is dropped: there is nothing to refuse")
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    shown = ", ".join(dropped[:limit])
    rest = len(dropped) - limit
    more = f" and {rest} more" if rest > 0 else ""
    count = f"{len(dropped)} setting{'s' if len(dropped) != 1 else ''}"
    return (
        f"the controller's config.gateway.json has {count} this stack would drop: {shown}{more}; "
        f"copy that file into the project and point {BASE_CONFIG_KEY} at the copy, so that it is kept "
        "and this stack's part is merged into it"
    )


def _dropped(
    original: Any, installed: Any, path: tuple[PathPart, ...], owned: set[tuple[str, ...]]
) -> Iterator[tuple[PathPart, ...]]:
    if path in owned:  # checked at every level, so anything below an owned path never gets here
        return
    if isinstance(original, Mapping):
        there = installed if isinstance(installed, Mapping) else {}
        for key, child in original.items():
            name = str(key)
            yield from _dropped(child, there.get(name, _MISSING), (*path, name), owned)
    elif isinstance(original, list):
        if not original:
            # [] replaces the values the controller would generate: only another [] keeps that.
            if not (isinstance(installed, list) and not installed):
                yield path
        else:
            kept = {_canonical(item) for item in installed} if isinstance(installed, list) else set()
            yield from ((*path, i) for i, item in enumerate(original) if _canonical(item) not in kept)
    elif installed is _MISSING or _canonical(original) != _canonical(installed):
        yield path


def _canonical(value: Any) -> str:
    """Equal JSON values of the same type give the same text (``True`` is not ``1``)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _order(path: tuple[PathPart, ...]) -> tuple[tuple[int, int, str], ...]:
    # Tagged so that keys and indices always compare, whatever the shapes.
    return tuple((1, p, "") if isinstance(p, int) else (0, 0, p) for p in path)


class _Missing:
    pass


_MISSING: Any = _Missing()
