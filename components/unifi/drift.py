"""Drift of the live config.gateway.json: whose change it is, and so whether ``pulumi up`` puts it back.

Pure: no Pulumi, no I/O. ``shared_file.site_drift`` feeds it what the controller holds; the
program (``components/resources/drift.py``) calls that at preview and up, and the client calls it
again under the site's lock before it writes anything.

The file installed is every stack's part composed (``shared_file.compose``). A live file that is
not that file is one of:

* **missing**, or **replaced** by a file metallb-unifi itself wrote or kept (the one before the
  last install, the user's original): the stacks' file goes back;
* **edited only inside what the stacks own** (each stack's BGP instance, host names and filter:
  ``kept_settings.owned_paths``): the stacks' part goes back, for every stack at once (one file);
* **edited anywhere else** (a leaf added, changed or removed outside every owned path, by
  ``kept_settings.dropped_settings`` in both directions), not JSON any more, or not comparable
  (the stored parts do not compose to the installed file): the user's change. It is never
  overwritten (the kept-settings rule): it is reported, and an install that would drop it is
  refused, naming the paths.

Descriptions name paths only, never values (a value may be a BGP password or a VPN key).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from components.unifi.kept_settings import dropped_settings, setting_path

Kind = Literal["in sync", "repair", "kept"]

# How many paths a description names before it says how many more.
SHOWN: Final = 5


@dataclass(frozen=True)
class Drift:
    kind: Kind
    what: str  # one line, paths only: "missing", "edited at protocols.bgp.64512", ...

    @property
    def repairs(self) -> bool:
        return self.kind == "repair"


IN_SYNC: Final = Drift("in sync", "as installed")
# No stack's file on the controller: a first install, or everything removed by hand.
NOT_INSTALLED: Final = Drift("repair", "holds no stack's part")


def _paths(paths: Sequence[str]) -> str:
    more = len(paths) - SHOWN
    return ", ".join(paths[:SHOWN]) + (f" and {more} more" if more > 0 else "")


def _at(document: Any, path: Sequence[str]) -> Any:
    for key in path:
        if not isinstance(document, Mapping) or key not in document:
            return None
        document = document[key]
    return document


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def classify_file(
    live: bytes | None,
    *,
    installed: str,
    known: Mapping[str, str],
    expected: bytes | None,
    owned: Iterable[Sequence[str]],
) -> Drift:
    """The live file (None: absent) against the installed one (its sha256 ``installed``).
    ``known``: sha256 → what that file is, for the files metallb-unifi wrote or kept;
    ``expected``: the installed file's bytes when the stored parts compose to it, else None;
    ``owned``: every stack's owned paths."""
    if live is None:
        return Drift("repair", "missing")
    sha = hashlib.sha256(live).hexdigest()
    if sha == installed:
        return IN_SYNC
    if sha in known:
        return Drift("repair", f"replaced by {known[sha]}")
    if expected is None:
        return Drift("kept", "changed, and the stacks' stored parts do not compose to the installed file")
    try:
        current = json.loads(live)
    except ValueError:
        current = None
    if not isinstance(current, dict):
        return Drift("kept", "changed into something that is not a JSON object")
    wanted = json.loads(expected)
    owned_paths = sorted({tuple(str(key) for key in path) for path in owned})
    users = sorted({*dropped_settings(current, wanted, owned_paths), *dropped_settings(wanted, current, owned_paths)})
    if users:
        return Drift("kept", f"edited outside what the stacks own, at {_paths(users)}")
    stacks = [
        setting_path(path) for path in owned_paths if _canonical(_at(current, path)) != _canonical(_at(wanted, path))
    ]
    if not stacks:  # the same settings, written otherwise (key order, spacing, repeats)
        return Drift("repair", "rewritten with the same settings")
    return Drift("repair", f"edited at {_paths(stacks)}")
