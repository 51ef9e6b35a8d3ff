"""Several stacks in the site's one BGP configuration text (issue 17): pure functions, no I/O.

The controller holds one ``frr_bgpd_config`` per site, so every stack on the gateway shares one
text. Each stack owns its lines between ``! metallb-unifi stack <id> begin`` / ``… end`` markers,
in the format :mod:`components.artifacts.shared_gateway` composes (its :func:`marker`), three
times: its filter before ``router bgp``, its peer-group in the router block, its address-family
lines; a stack that peers over IPv6 too has a fourth block, its lines in ``address-family ipv6
unicast`` (a block's address family is the section it is in: :class:`Block`). ``router bgp``
stays one.

Three shapes of text, told apart by what the text itself holds:

* **one stack alone, without markers**: exactly the stack's rendered ``bgpd.conf`` (today's
  file), owned as today through the description ``metallb-unifi stack <stack>``. It stays
  marker-less until a second stack arrives, as :func:`compose_gateway_files` renders one stack
  alone: an upgraded deployment is recognised by its description and text and needs no write.
* **stacks only**: the composition :func:`compose` of every stack's part, byte for byte as
  ``compose_bgpd_conf`` lays it out (shared ``router bgp`` head and ``maximum-paths`` outside
  the markers, the IPv6 address family only while a stack peers over IPv6). Recognised by
  reparsing it: every stack's part is recovered from its markers and composing them again
  gives the text back. When a stack leaves and one is left, the text goes
  back to that stack's marker-less file.
* **a configuration of someone else's, kept** (its ``router bgp`` has the stack's AS, or it has
  none): every line of it stays byte for byte; each stack's lines, including ``bgp router-id``
  and ``maximum-paths`` when the user's lines do not set them, are inside the stack's markers.
  Without a ``router bgp`` of the user's, the stacks share one of their own, added at the end
  of the text (after the user's lines and the stacks' filters, which FRR wants before it) between
  ``! metallb-unifi shared router begin`` / ``… end``: the head ``compose_bgpd_conf`` writes
  and an empty ``address-family ipv4 unicast``, every stack's router and address-family blocks
  inside (:func:`shared_router`). A stack's IPv6 lines go into the user's ``address-family ipv6
  unicast`` when there is one (its peer-groups then go before the first of the user's address
  families, which FRR wants: a group is defined before it is activated), else into an IPv6
  address family of its own inside its router block; that section is the stack's, and goes
  with it, or with its last IPv6 pool. The last stack out removes it, so removing every stack's
  blocks and that one gives back exactly the user's text. Refused, before anything is written:
  a ``router bgp`` of another AS (naming it and ``metallb-unifi:gateway.asn``), a router id or
  ``maximum-paths`` of the user's that differs, a line of the user's that uses a name of the
  stack's filter or peer-group or is a neighbour at one of its nodes (:func:`_clashes`), a line
  changed inside the shared router, a ``router bgp`` of the user's beside it.

Who owns the text is said by the description: ``metallb-unifi stack <name>`` (one stack),
``metallb-unifi stacks <a>, <b>`` (several, by name), each followed by `` + <the user's
description>`` when a configuration of the user's is kept. Names are sorted, so the description
depends only on who is there. A stack's lines are found by its markers (its id is
``stack_id(<name>)``), never by the description alone.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from ipaddress import IPv4Network, IPv6Network
from typing import Any, Final, Literal

from components.artifacts.frr import AF_END, HEADER, ROUTER_END, address_family_head, router_head_lines
from components.artifacts.shared_gateway import marker
from components.config.errors import key_path
from components.config.model import IPFamily
from components.config.stack_names import STACK_KEY, FilterNames, stack_id

ONE: Final = "metallb-unifi stack "
SEVERAL: Final = "metallb-unifi stacks "
KEPT: Final = " + "
ORIGINAL: Final = "! metallb-unifi original "
SHARED_BEGIN: Final = "! metallb-unifi shared router begin"
SHARED_END: Final = "! metallb-unifi shared router end"
_ROUTER = re.compile(r"^router bgp (\d+)(.*)$")
_ROUTER_ID = re.compile(r"^\s+bgp router-id (\S+)\s*$")
_MAX_PATHS = re.compile(r"^\s+maximum-paths (ibgp )?(\d+)\b.*$")
_AF_V4 = address_family_head(IPFamily.IPV4)
_AF_V6 = address_family_head(IPFamily.IPV6)
_AF_END = AF_END
_AF_HEAD = re.compile(r"^ address-family (\S.*?)\s*$")
# A block's section: "" at the top level or in the router block, else the address family it is in.
V4: Final = _AF_V4.removeprefix(" address-family ")
V6: Final = _AF_V6.removeprefix(" address-family ")


class SharedBgpRefusal(ValueError):
    """The stack's part cannot go into (or come out of) the live text; the message says why and
    what to do. Nothing was written."""


# --- the description --------------------------------------------------------------------------


def describe(names: Sequence[str], kept: str | None = None) -> str:
    """The description of a text holding ``names``' parts (and a kept configuration's)."""
    ordered = sorted(set(names))
    head = ONE + ordered[0] if len(ordered) == 1 else SEVERAL + ", ".join(ordered)
    return head if kept is None else head + KEPT + kept


def owners(description: str) -> tuple[list[str], str | None] | None:
    """(the stacks' names, the kept configuration's description or None); None when the
    description is none of ours."""
    head, sep, kept = description.partition(KEPT)
    if head.startswith(SEVERAL):
        names = [n for n in head.removeprefix(SEVERAL).split(", ") if n]
    elif head.startswith(ONE):
        names = [head.removeprefix(ONE)]
    else:
        return None
    if not names or any(not n or " " in n or "," in n for n in names):
        return None
    return names, (kept if sep else None)


# --- the original a leaving stack hands on ------------------------------------------------------


def split_original(text: str) -> tuple[str, dict[str, Any] | None, str | None]:
    """(the text without its first line ``! metallb-unifi original <base64 JSON>``, that config,
    the line); the text as it is, None, None without one. The first stack that took over a
    config not in force keeps it in its state; when it leaves before the others, it hands it on
    in this comment line (FRR ignores it), and the last one out puts it back."""
    first, _, rest = text.partition("\n")
    if not first.startswith(ORIGINAL):
        return text, None, None
    try:
        config = json.loads(base64.b64decode(first.removeprefix(ORIGINAL), validate=True))
    except (ValueError, binascii.Error):
        config = None
    if not isinstance(config, dict):
        raise SharedBgpRefusal(
            "the gateway's BGP config starts with a metallb-unifi original line that cannot be read; nothing was "
            "changed: remove that line in UniFi Network's BGP settings, then run again"
        )
    return rest, config, first


def original_line(config: dict[str, Any]) -> str:
    encoded = base64.b64encode(json.dumps(config, sort_keys=True, separators=(",", ":")).encode()).decode()
    return ORIGINAL + encoded


def with_original(text: str, line: str | None) -> str:
    return text if line is None else f"{line}\n{text}"


# --- markers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    stack: str  # the stack id
    indent: str
    begin: int  # index of the begin marker line
    end: int  # index of the end marker line
    section: str = ""  # the address family it is in ("ipv4 unicast", "ipv6 unicast"), "" outside one


def sections(lines: Sequence[str]) -> list[str]:
    """Each line's address family section, as FRR reads it: from `` address-family X`` (X as
    written) to its `` exit-address-family`` or the next line at the top level; "" elsewhere."""
    found, current = [], ""
    for line in lines:
        head = _AF_HEAD.match(line)
        if head:
            current = head.group(1)
        elif line == _AF_END or (line and not line.startswith((" ", "!"))):
            current = ""
        found.append(current)
    return found


def _marker_of(line: str) -> tuple[str, str, str] | None:
    stripped = line.lstrip(" ")
    indent = line[: len(line) - len(stripped)]
    for edge in ("begin", "end"):
        head, _, tail = marker("\0", edge).partition("\0")
        if stripped.startswith(head) and stripped.endswith(tail) and len(stripped) > len(head) + len(tail):
            ident = stripped[len(head) : -len(tail)]
            if marker(ident, edge, indent) == line:
                return ident, edge, indent
    return None


def blocks(lines: Sequence[str]) -> list[Block]:
    """Every stack's marked blocks, in order; a marker without its pair is refused."""
    found: list[Block] = []
    open_: tuple[str, str, int] | None = None
    section = sections(lines)
    for index, line in enumerate(lines):
        mark = _marker_of(line)
        if mark is None:
            continue
        ident, edge, indent = mark
        if edge == "begin" and open_ is None:
            open_ = (ident, indent, index)
        elif edge == "end" and open_ is not None and open_[:2] == (ident, indent):
            found.append(Block(ident, indent, open_[2], index, section[open_[2]]))
            open_ = None
        else:
            raise SharedBgpRefusal(
                f"the gateway's BGP config has a metallb-unifi marker out of place at line {index + 1} "
                f"({line.strip()!r}); nothing was changed: fix or remove that marker in UniFi Network's BGP "
                "settings, then run again"
            )
    if open_ is not None:
        raise SharedBgpRefusal(
            f"the gateway's BGP config opens stack {open_[0]}'s block at line {open_[2] + 1} and never closes it; "
            "nothing was changed: fix it in UniFi Network's BGP settings, then run again"
        )
    return found


def has_markers(text: str) -> bool:
    return any(_marker_of(line) is not None or line in (SHARED_BEGIN, SHARED_END) for line in text.split("\n"))


def stack_ids(text: str) -> set[str]:
    return {block.stack for block in blocks(text.split("\n"))}


# --- one stack's part -------------------------------------------------------------------------


@dataclass(frozen=True)
class StackPart:
    """One stack's lines, recovered from its rendered bgpd.conf or from its marked blocks."""

    id: str
    asn: int
    router_id: str
    filter: tuple[str, ...]
    router: tuple[str, ...]
    af: tuple[str, ...]
    max_paths: str  # its maximum-paths line
    af6: tuple[str, ...] = ()  # its lines in the IPv6 address family; () when it does not peer over IPv6
    max_paths6: str = ""  # its maximum-paths line there

    @property
    def remote_as(self) -> int | None:
        for line in self.router:
            match = re.fullmatch(rf" neighbor metallb-{re.escape(self.id)} remote-as (\d+)", line)
            if match:
                return int(match.group(1))
        return None

    @property
    def ebgp(self) -> bool:
        return self.remote_as != self.asn

    def nodes(self) -> list[str]:
        """Its neighbours' addresses: the members of its IPv4 group, then of its IPv6 group."""
        names = FilterNames(self.id)
        return [
            words[1]
            for group in (names.peer_group, names.peer_group6)
            for words in map(str.split, self.router)
            if len(words) == 4 and words[2:] == ["peer-group", group]
        ]

    def pools(self) -> list[IPv4Network | IPv6Network]:
        """The prefixes its prefix-lists permit, IPv4's then IPv6's."""
        found: list[IPv4Network | IPv6Network] = []
        for line in self.filter:
            words = line.split()
            if len(words) < 7 or words[1] != "prefix-list" or words[5] != "permit":
                continue
            if words[0] == "ip":
                found.append(IPv4Network(words[6], strict=False))
            elif words[0] == "ipv6":
                found.append(IPv6Network(words[6], strict=False))
        return found

    def families(self) -> list[tuple[str, tuple[str, ...], str]]:
        """(address family head, its lines there, its maximum-paths line) for each family it peers in."""
        found = [(_AF_V4, self.af, self.max_paths)]
        return [*found, (_AF_V6, self.af6, self.max_paths6)] if self.af6 else found


def render_alone(part: StackPart) -> str:
    """The stack's marker-less file (what ``render_bgpd_conf`` renders)."""
    lines = [HEADER, "!", *part.filter, "!", *router_head_lines(part.asn, part.router_id), *part.router]
    for head, af, max_paths in part.families():
        lines += [" !", head, *af, max_paths, _AF_END]
    return "\n".join([*lines, *ROUTER_END])


def parse_rendered(conf: str, ident: str) -> StackPart:
    """The part of a stack's rendered (marker-less) bgpd.conf; refused unless rendering the part
    again gives ``conf`` back byte for byte."""
    lines = conf.split("\n")
    routers = [i for i, line in enumerate(lines) if _ROUTER.match(line)]
    try:
        r = routers[0]
        asn = int(_ROUTER.match(lines[r]).group(1))  # type: ignore[union-attr]
        router_id = _ROUTER_ID.match(lines[r + 1]).group(1)  # type: ignore[union-attr]
        af = lines.index(_AF_V4, r)
        max_line = next(i for i in range(af, len(lines)) if _MAX_PATHS.match(lines[i]))
        af6, max_line6 = -1, -1
        if _AF_V6 in lines[max_line:]:
            af6 = lines.index(_AF_V6, max_line)
            max_line6 = next(i for i in range(af6, len(lines)) if _MAX_PATHS.match(lines[i]))
        part = StackPart(
            id=ident,
            asn=asn,
            router_id=router_id,
            filter=tuple(lines[2 : r - 1]),
            router=tuple(lines[r + 3 : af - 1]),
            af=tuple(lines[af + 1 : max_line]),
            max_paths=lines[max_line],
            af6=tuple(lines[af6 + 1 : max_line6]) if af6 >= 0 else (),
            max_paths6=lines[max_line6] if af6 >= 0 else "",
        )
    except (IndexError, AttributeError, ValueError, StopIteration):
        raise SharedBgpRefusal(f"stack {ident}'s bgpd.conf is not laid out as metallb-unifi renders it") from None
    if len(routers) != 1 or render_alone(part) != conf or part.remote_as is None:
        raise SharedBgpRefusal(f"stack {ident}'s bgpd.conf is not laid out as metallb-unifi renders it")
    return part


# --- several stacks, no one else's lines ------------------------------------------------------


def _marked(ident: str, lines: Sequence[str], indent: str) -> list[str]:
    return [marker(ident, "begin", indent), *lines, marker(ident, "end", indent)]


def _max_paths_lines(parts: Sequence[StackPart], v6: bool = False) -> list[str]:
    lines = [(p.max_paths6 if v6 else p.max_paths, p.ebgp) for p in parts]
    ebgp = sorted({line for line, e in lines if e})
    ibgp = sorted({line for line, e in lines if not e})
    return [*ebgp, *ibgp]


def compose(parts: Sequence[StackPart]) -> str:
    """Several stacks' parts in one text, laid out as ``compose_bgpd_conf`` lays them out."""
    ordered = sorted(parts, key=lambda p: p.id)
    lines = [HEADER, "!"]
    for part in ordered:
        lines += [*_marked(part.id, part.filter, ""), "!"]
    lines += router_head_lines(ordered[0].asn, ordered[0].router_id)
    for part in ordered:
        lines += _marked(part.id, part.router, " ")
    lines += [" !", _AF_V4]
    for part in ordered:
        lines += _marked(part.id, part.af, "  ")
    lines += [*_max_paths_lines(ordered), _AF_END]
    v6 = [part for part in ordered if part.af6]
    if v6:
        lines += [" !", _AF_V6]
        for part in v6:
            lines += _marked(part.id, part.af6, "  ")
        lines += [*_max_paths_lines(v6, v6=True), _AF_END]
    return "\n".join([*lines, *ROUTER_END])


def composed_parts(text: str) -> list[StackPart] | None:
    """Every stack's part when ``text`` is exactly a composition of stacks' parts (no line of
    anyone else's); None otherwise."""
    lines = text.split("\n")
    found = blocks(lines)
    routers = [line for line in lines if _ROUTER.match(line)]
    ids = sorted({b.stack for b in found})
    if len(ids) < 2 or len(routers) != 1:
        return None
    asn = int(_ROUTER.match(routers[0]).group(1))  # type: ignore[union-attr]
    router_ids = [m.group(1) for m in map(_ROUTER_ID.match, lines) if m]
    section = sections(lines)
    shared_max = [(line, section[i]) for i, line in enumerate(lines) if _MAX_PATHS.match(line)]
    if len(router_ids) != 1:
        return None
    parts = []
    for ident in ids:
        mine = {(b.indent, b.section): tuple(lines[b.begin + 1 : b.end]) for b in found if b.stack == ident}
        part = StackPart(
            ident,
            asn,
            router_ids[0],
            mine.get(("", ""), ()),
            mine.get((" ", ""), ()),
            mine.get(("  ", V4), ()),
            "",
            mine.get(("  ", V6), ()),
        )
        if part.remote_as is None:
            return None
        wanted = [line for line, af in shared_max if af == V4 and ("ibgp" not in line) == part.ebgp]
        wanted6 = [line for line, af in shared_max if af == V6 and ("ibgp" not in line) == part.ebgp]
        if len(wanted) != 1 or (part.af6 and len(wanted6) != 1):
            return None
        parts.append(replace(part, max_paths=wanted[0], max_paths6=wanted6[0] if part.af6 else ""))
    return parts if compose(parts) == text else None


def _conflicts(ours: StackPart, others: Sequence[StackPart]) -> list[str]:
    found = []
    for other in others:
        if other.asn != ours.asn:
            found.append(
                f"stack {other.id}'s router bgp {other.asn} is not this stack's gateway.asn {ours.asn}; a gateway "
                "runs one BGP instance: set the same gateway.asn in both stacks"
            )
        if other.router_id != ours.router_id:
            found.append(
                f"stack {other.id} sets bgp router-id {other.router_id}, this stack {ours.router_id}; the one "
                "instance has one router id: set the same gateway.routerId in both stacks"
            )
        if other.ebgp == ours.ebgp and other.max_paths != ours.max_paths:
            found.append(
                f"stack {other.id} has '{other.max_paths.strip()}', this stack '{ours.max_paths.strip()}'; the "
                "instance has one for each session type: set the same gateway.maximumPaths in both stacks"
            )
        elif other.ebgp == ours.ebgp and other.af6 and ours.af6 and other.max_paths6 != ours.max_paths6:
            found.append(
                f"stack {other.id} has '{other.max_paths6.strip()}' for IPv6, this stack "
                f"'{ours.max_paths6.strip()}'; the instance has one for each session type: set the same "
                "gateway.maximumPaths in both stacks"
            )
    return found + _overlaps(ours, others)


def _overlaps(ours: StackPart, others: Sequence[StackPart]) -> list[str]:
    """A node address or a pool another stack on the gateway has too."""
    found = []
    for other in others:
        for node in sorted(set(ours.nodes()) & set(other.nodes())):
            found.append(
                f"the node address {node} is a neighbour of stack {other.id} too; one address is one neighbour"
            )
        for mine in ours.pools():
            for theirs in other.pools():
                if mine.version == theirs.version and mine.overlaps(theirs):
                    found.append(f"this stack's pool {mine} overlaps stack {other.id}'s {theirs}")
    return found


def _refuse_conflicts(conflicts: Sequence[str]) -> None:
    if conflicts:
        raise SharedBgpRefusal(
            f"this stack cannot share the gateway with the stacks on it ({len(conflicts)} conflict"
            f"{'s' if len(conflicts) != 1 else ''}): {'; '.join(conflicts)}; nothing was changed "
            "(render --with-stack shows every conflict offline)"
        )


# --- a configuration of someone else's, kept --------------------------------------------------


def _inside(found: Sequence[Block]) -> set[int]:
    return {i for b in found for i in range(b.begin, b.end + 1)}


def strip_stack(text: str, ident: str) -> str:
    """``text`` without stack ``ident``'s blocks (markers included)."""
    lines = text.split("\n")
    gone = {i for b in blocks(lines) if b.stack == ident for i in range(b.begin, b.end + 1)}
    return "\n".join(line for i, line in enumerate(lines) if i not in gone)


def _position(found: Sequence[Block], indent: str, ident: str, default: int, section: str | None = None) -> int:
    """Where stack ``ident``'s block of this ``indent`` (in this address family ``section``, when
    given) goes: in id order among the others'."""
    same = [b for b in found if b.indent == indent and section in (None, b.section)]
    later = [b for b in same if b.stack > ident]
    if later:
        return later[0].begin
    if same:
        return same[-1].end + 1
    return default


def _shared_lines(asn: int, router_id: str) -> list[str]:
    """The stacks' own ``router bgp`` in a config of the user's that had none: the head
    ``compose_bgpd_conf`` writes, an empty address family for the stacks' blocks, all of it
    between the shared markers."""
    return [SHARED_BEGIN, *router_head_lines(asn, router_id), " !", _AF_V4, _AF_END, "exit", SHARED_END]


def shared_router(lines: Sequence[str], found: Sequence[Block]) -> tuple[int, int] | None:
    """(begin, end) of the stacks' shared router block (its marker lines); None without one.
    Refused: its markers out of place, or a line between them, other than the stacks' blocks,
    not as the stacks wrote it (it goes when the last stack leaves, so no line of the user's may
    be in it)."""
    begins = [i for i, line in enumerate(lines) if line == SHARED_BEGIN]
    ends = [i for i, line in enumerate(lines) if line == SHARED_END]
    if not begins and not ends:
        return None
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        raise SharedBgpRefusal(
            f"the gateway's BGP config has {len(begins)} {SHARED_BEGIN!r} and {len(ends)} {SHARED_END!r} lines, "
            "expected one of each in that order; nothing was changed: fix them in UniFi Network's BGP settings, "
            "then run again"
        )
    begin, end = begins[0], ends[0]
    inside = _inside(found)
    ours = [i for i in range(begin + 1, end) if i not in inside]
    match = _ROUTER.match(lines[ours[0]]) if ours else None
    router_id = _ROUTER_ID.match(lines[ours[1]]) if len(ours) > 1 else None
    expected = (
        _shared_lines(int(match.group(1)), router_id.group(1))[1:-1]
        if match is not None and not match.group(2) and router_id is not None
        else []
    )
    astray = [b for b in found if begin < b.begin < end and b.indent == ""] + [
        b for b in found if b.begin < begin < b.end or b.begin < end < b.end
    ]
    if [lines[i] for i in ours] != expected or astray:
        at = next((i for i, want in zip(ours, expected, strict=False) if lines[i] != want), ours[-1] if ours else end)
        at = min([at, *(b.begin for b in astray)])
        raise SharedBgpRefusal(
            f"the stacks' shared 'router bgp' in the gateway's BGP config (lines {begin + 1}-{end + 1}) was changed "
            f"(line {at + 1}: {lines[at].strip()!r}); it goes when the last stack leaves, so it holds no line of "
            "anyone else's; nothing was changed: move your lines out of it (or undo the change) in UniFi Network's "
            "BGP settings, then run again"
        )
    return begin, end


def without_shared_router(text: str) -> str:
    """``text`` (no stack's block left in it) without the stacks' shared router block."""
    lines = text.split("\n")
    shared = shared_router(lines, blocks(lines))
    if shared is None:
        return text
    return "\n".join(lines[: shared[0]] + lines[shared[1] + 1 :])


def _same_as(lines: Sequence[str], routers: Sequence[int], asn: int, shared: tuple[int, int] | None = None) -> None:
    key = key_path("gateway", "asn")
    for index in routers:
        theirs = int(_ROUTER.match(lines[index]).group(1))  # type: ignore[union-attr]
        if theirs == asn:
            continue
        if shared is not None and shared[0] < index < shared[1]:
            raise SharedBgpRefusal(
                f"the stacks on the gateway run 'router bgp {theirs}' (line {index + 1}) and this stack's {key} is "
                f"{asn}; a gateway runs one BGP instance; nothing was changed: set {key} to {theirs} (as the other "
                "stacks have it), then run again"
            )
        raise SharedBgpRefusal(
            f"the gateway's BGP config runs 'router bgp {theirs}' (line {index + 1}) and this stack's {key} "
            f"is {asn}; a gateway runs one BGP instance, and the controller's upload replaces the whole config; "
            f"nothing was changed: set {key} to {theirs}, or remove that config in UniFi Network's BGP "
            "settings (or copy what you need of it into the stack), then run again"
        )


def _clashes(lines: Sequence[str], theirs: Sequence[int], ours: StackPart) -> None:
    """Refuse a line of the user's that names the stack's filter or peer-group, or is a neighbour
    at one of its nodes' addresses: the stack would change what that line does, and take it
    along when it leaves."""
    names = FilterNames(ours.id)
    taken = {
        names.prefix_list,
        names.prefix_list6,
        names.route_map_in,
        names.route_map_in6,
        names.route_map_out,
        names.peer_group,
        names.peer_group6,
    }
    nodes = set(ours.nodes())
    found = []
    for index in theirs:
        words = lines[index].split()
        if not words or words[0].startswith("!"):
            continue
        named = next((n for n, word in enumerate(words) if word in taken), None)
        if named is not None:
            found.append(
                f"{key_path(STACK_KEY)}: line {index + 1} '{' '.join(words[: named + 1])} …' of the gateway's BGP "
                f"config uses {words[named]}, a name of this stack's BGP filter and peer-group (named after stack "
                f"id {ours.id!r})"
            )
        elif words[0] == "neighbor" and len(words) > 1 and words[1] in nodes:
            found.append(
                f"{key_path('nodes')}: line {index + 1} 'neighbor {words[1]} …' of the gateway's BGP config is a "
                f"neighbour of its own at a node address of this stack's; one address is one neighbour"
            )
    if found:
        count = len(found)
        raise SharedBgpRefusal(
            f"this stack's lines clash with the gateway's BGP config ({count} clash{'es' if count != 1 else ''}): "
            f"{'; '.join(found)}; nothing was changed: rename or remove those lines in UniFi Network's BGP "
            f"settings, or give this stack another name ({key_path(STACK_KEY)}) or other nodes, then run again"
        )


def splice(text: str, ours: StackPart) -> str:
    """``text`` (the user's lines, other stacks' blocks, maybe ours) with our blocks in place;
    every other line kept byte for byte. Without a ``router bgp`` of the user's, the stacks'
    shared one (:func:`shared_router`) is added at the end of the text, after the user's lines
    and the stacks' filters. Refused: a ``router bgp`` of another AS, a ``bgp router-id`` or
    ``maximum-paths`` that differs from ours, a line of the user's that clashes with ours."""
    lines = strip_stack(text, ours.id).split("\n")
    found = blocks(lines)
    inside = _inside(found)
    shared = shared_router(lines, found)
    held = set() if shared is None else set(range(shared[0], shared[1] + 1))
    users = [i for i in range(len(lines)) if i not in inside and i not in held]
    routers = [i for i in users if _ROUTER.match(lines[i]) and "vrf" not in lines[i].split()]
    _same_as(lines, routers, ours.asn)
    if shared is not None:
        _same_as(lines, [shared[0] + 1], ours.asn, shared)
        if routers:
            raise SharedBgpRefusal(
                f"the gateway's BGP config has a 'router bgp' of its own (line {routers[0] + 1}) besides the stacks' "
                f"shared one (line {shared[0] + 2}); a gateway runs one BGP instance; nothing was changed: remove "
                "yours in UniFi Network's BGP settings (or remove every stack, then add them back), then run again"
            )
    _clashes(lines, users, ours)
    if not routers and shared is None:
        at = len(lines) - 1 if lines[-1] == "" else len(lines)  # before the text's last newline
        added = _shared_lines(ours.asn, ours.router_id)
        lines[at:at] = added
        shared = (at, at + len(added) - 1)
        held = set(range(shared[0], shared[1] + 1))
    r = routers[0] if shared is None else shared[0] + 1

    def whose(index: int) -> str:
        if index in inside or index in held:
            return "another stack on the gateway"
        return "the gateway's BGP config"

    end = next((i for i in range(r + 1, len(lines)) if lines[i] and not lines[i].startswith(" ")), len(lines))
    while end > r + 1 and not lines[end - 1]:
        end -= 1  # a router block running to the end of the text: before its trailing newline
    body = [i for i in range(r + 1, end) if i not in inside]
    head: list[str] = []
    for index in [*body, *sorted(inside)]:
        match = _ROUTER_ID.match(lines[index])
        if match and match.group(1) != ours.router_id:
            key = key_path("gateway", "routerId")
            raise SharedBgpRefusal(
                f"{whose(index)} sets '{lines[index].strip()}' (line {index + 1}) and this stack's router "
                f"id is {ours.router_id}; nothing was changed: set {key} to {match.group(1)}, or change "
                "that line in UniFi Network's BGP settings, then run again"
            )
    if not any(_ROUTER_ID.match(lines[i]) for i in body):
        head.append(f" bgp router-id {ours.router_id}")  # in each stack's block: any one may leave first
    section = sections(lines)
    spans: dict[str, tuple[int, int]] = {}  # the user's sections of the families a stack may have lines in
    for af_head in (_AF_V4, _AF_V6):
        start = next((i for i in body if lines[i] == af_head), None)
        stop = None if start is None else next((i for i in body if i > start and lines[i] == _AF_END), None)
        if start is not None and stop is not None:
            spans[af_head] = (start, stop)
    own: list[str] = []  # its address families of its own, in its router block
    in_users: list[tuple[str, int, list[str]]] = []  # (family, end, lines) in the user's sections
    for af_head, af, paths in ours.families():
        family = af_head.removeprefix(" address-family ")
        start, stop = spans.get(af_head, (None, None))
        max_paths = [paths]
        users_af = [] if start is None or stop is None else [i for i in range(start + 1, stop) if i not in inside]
        for index in [*users_af, *(i for i in sorted(inside) if section[i] == family)]:
            match = _MAX_PATHS.match(lines[index])
            if not match or (match.group(1) is None) != ours.ebgp:
                continue
            if lines[index].strip() != paths.strip():
                raise SharedBgpRefusal(
                    f"{whose(index)} sets '{lines[index].strip()}' (line {index + 1}) and this stack "
                    f"'{paths.strip()}'; the instance has one for each session type; nothing was changed: "
                    f"set {key_path('gateway', 'maximumPaths')} to the same, or change that line in UniFi Network's "
                    "BGP settings"
                )
            if index not in inside:
                max_paths = []
        if start is None or stop is None:
            own += [af_head, *af, *max_paths, _AF_END]
        else:
            in_users.append((family, stop, [*af, *max_paths]))
    others = []
    for ident in sorted({b.stack for b in found}):
        mine_of = {b.indent: tuple(lines[b.begin + 1 : b.end]) for b in found if b.stack == ident and b.indent != "  "}
        others.append(replace(ours, id=ident, filter=mine_of.get("", ()), router=mine_of.get(" ", ())))
    _refuse_conflicts(_overlaps(ours, others))
    inserts: list[tuple[int, list[str]]] = []
    filter_at = _position(found, "", ours.id, r if shared is None else shared[0])
    inserts.append((filter_at, _marked(ours.id, ours.filter, "")))
    router_lines = _marked(ours.id, [*head, *ours.router, *own], " ")
    if spans:
        # Before the user's first address family (in the shared router, before its " !", as
        # compose_bgpd_conf has it), whichever families the stack has: a group is defined before
        # a family activates it (FRR refuses it otherwise), and every stack's block is in one place.
        first = min(start for start, _ in spans.values()) - (0 if shared is None else 1)
        inserts.append((min(_position(found, " ", ours.id, first), first), router_lines))
    else:
        inserts.append((_position(found, " ", ours.id, end), router_lines))
    for family, stop, af_lines in in_users:
        inserts.append((_position(found, "  ", ours.id, stop, family), _marked(ours.id, af_lines, "  ")))
    for at, new in sorted(inserts, key=lambda item: item[0], reverse=True):
        lines[at:at] = new
    return "\n".join(lines)


# --- the whole step ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    text: str
    description: str


def join(text: str, description: str, ours_conf: str, stack: str) -> Result:
    """The live text (in force, not this stack's alone) with this stack's part in it."""
    text, _, line = split_original(text)
    result = _join(text, description, ours_conf, stack)
    return Result(with_original(result.text, line), result.description)


def _join(text: str, description: str, ours_conf: str, stack: str) -> Result:
    ident = stack_id(stack)
    lines = text.split("\n")
    found = blocks(lines)
    wanted = next((m for m in map(_ROUTER.match, ours_conf.split("\n")) if m), None)
    if wanted is not None:  # another AS is refused first, whatever else the text holds
        inside = _inside(found)
        routers = [i for i, line in enumerate(lines) if i not in inside and _ROUTER.match(line)]
        shared = shared_router(lines, found)
        _same_as(lines, [i for i in routers if "vrf" not in lines[i].split()], int(wanted.group(1)), shared)
    ours = parse_rendered(ours_conf, ident)
    named = owners(description)
    names, kept = named if named is not None else ([], description)
    if named is not None and kept is None and not found:
        # Another stack alone, marker-less: recover its part from its description and text.
        other = names[0]
        if len(names) != 1 or stack_id(other) == ident:
            raise SharedBgpRefusal(
                f"the gateway's BGP config (description {description!r}) is not laid out as expected"
            )
        try:
            theirs = parse_rendered(text, stack_id(other))
        except SharedBgpRefusal:
            raise SharedBgpRefusal(
                f"the gateway's BGP config is stack {other}'s, but not as this release renders it (edited by hand, or "
                f"from an older release?); nothing was changed: run pulumi up for stack {other} first, then this one"
            ) from None
        return _stacks([theirs, ours], [other, stack], ours)
    parts = composed_parts(text) if kept is None else None
    if parts is not None:
        others = [p for p in parts if p.id != ident]
        names = [n for n in names if stack_id(n) != ident]
        if not others:
            return Result(ours_conf, describe([stack]))
        return _stacks([*others, ours], [*names, stack], ours)
    # Someone else's configuration (maybe with stacks' blocks in it): keep every line of it.
    new_text = splice(text, ours)
    return Result(new_text, describe([*[n for n in names if n != stack], stack], kept))


def _stacks(parts: Sequence[StackPart], names: Sequence[str], ours: StackPart) -> Result:
    _refuse_conflicts(_conflicts(ours, [p for p in parts if p.id != ours.id]))
    return Result(compose(parts), describe(names))


@dataclass(frozen=True)
class Leave:
    """What a stack's ``remove`` writes: ``rewrite`` the text (other stacks stay), put back the
    user's kept configuration (``kept``), or the original the first stack found (``original``:
    the caller's state says what that was)."""

    kind: Literal["rewrite", "kept", "original"]
    text: str = ""
    description: str = ""
    original: dict[str, Any] | None = None  # handed on in the text by a stack that left before


def leave(text: str, description: str, stack: str, handing: dict[str, Any] | None = None) -> Leave:
    """What is left when the stack goes; ``handing``: the original it holds, handed on in the
    text when other stacks stay."""
    text, original, line = split_original(text)
    left = _leave(text, description, stack)
    if left.kind == "rewrite":
        if line is None and handing is not None:
            line = original_line(handing)
        return replace(left, text=with_original(left.text, line))
    return replace(left, original=original)


def _leave(text: str, description: str, stack: str) -> Leave:
    ident = stack_id(stack)
    named = owners(description)
    names, kept = named if named is not None else ([], description)
    names = [n for n in names if n != stack]
    lines = text.split("\n")
    shared_router(lines, blocks(lines))  # refused as the live text has it, naming its lines
    parts = composed_parts(text) if kept is None else None
    if parts is not None:
        left = [p for p in parts if p.id != ident]
        if len(left) == 1:
            name = next((n for n in names if stack_id(n) == left[0].id), left[0].id)
            return Leave("rewrite", render_alone(left[0]), describe([name]))
        return Leave("rewrite", compose(left), describe(names))
    stripped = strip_stack(text, ident)
    if stack_ids(stripped):
        return Leave("rewrite", stripped, describe(names, kept))
    if kept is not None:
        return Leave("kept", without_shared_router(stripped), kept)
    return Leave("original")
