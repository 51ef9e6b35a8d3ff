"""Drift of a UniFi OS gateway from what one stack writes there (its BGP configuration and its
DNS records): whether ``pulumi up`` puts something back.

Pure: no Pulumi, no I/O. The program (``components/resources/drift.py``) reads the controller
once at preview and up (login, ``GET bgp/config``, ``GET static-dns``) and hands the answers
here, before it registers the stack's command; the repair itself is that command's ``apply``,
which reads and plans again with the stack's state.

The program has no state of the stack (it lives in the command's secret stdout), so this asks
what ``apply`` would write without one, as far as it is known when the program decides:

* **BGP**: ``plan_bgp(current, inputs, None, stack)`` (the text is rendered from pinned
  addresses: known). "unchanged" is in sync: the stack's own text, or its marked blocks in a
  shared text, are as this run renders them, whatever else the text holds: the lines of a
  user or of another stack around them are theirs, never repaired. Anything else is drift,
  named by the fields that differ, never by their values (the text holds the BGP password): no
  config, one not in force that is no stack's, the stack's text or blocks edited or gone, the
  config disabled. A config the stack cannot add its part to (``BgpNotOursError``) is kept:
  reported, not repaired (``apply`` refuses it, before writing anything).
* **DNS**: for each record the stack writes, the records of its name and type (an A and an
  AAAA record of one name are two records; a user's AAAA record beside the stack's A record is
  not the stack's, and no drift): none → gone; one with other contents → edited (a record the
  stack did not create under its name and type is refused by ``apply``, never overwritten);
  several → doubled. An address MetalLB allocates is not known
  yet (it is an Output of this very run), so such a record is compared by its name, type, TTL
  and enabled flag only; a discovered name only by its presence (``apply`` leaves someone
  else's record of that name alone, so comparing its contents would run ``apply`` every time).

A record is never named by its value, and a refusal's text has every BGP password of both texts
blanked out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from components.config.stack_names import stack_id
from components.unifi.drift import IN_SYNC, SHOWN, Drift, Kind
from components.unifi.errors import BgpNotOursError
from components.unifi.unifi_os import shared_bgp
from components.unifi.unifi_os.bgp import BgpConfig, bgp_passwords, desired_bgp, plan_bgp
from components.unifi.unifi_os.dns import DnsRecord
from components.unifi.unifi_os.inputs import ApplyInputs, identity, record_ref
from components.unifi.unifi_os.state import default_description

# Neither the BGP config nor any of the stack's records: a first create, or everything removed.
NOT_INSTALLED: Final = Drift("repair", "hold no part of this stack")
BLANKED: Final = "<redacted>"


@dataclass(frozen=True)
class WantedRecord:
    """A record the stack writes, as known before its command is registered."""

    key: str
    value: str | None  # None: an address MetalLB allocates during up
    record_type: str = "A"
    ttl: int = 0  # 0: the controller's default
    enabled: bool = True
    discovered: bool = False

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> WantedRecord:
        """One record as ``known_dns_records`` renders it."""
        value, ttl = record.get("value"), record.get("ttl")
        return cls(
            key=str(record["key"]),
            value=None if value is None else str(value),
            record_type=str(record.get("record_type", "A")),
            ttl=ttl if isinstance(ttl, int) and not isinstance(ttl, bool) else 0,
            enabled=record.get("enabled", True) is not False,
            discovered=record.get("discovered") is True,
        )

    @property
    def ref(self) -> str:
        """How drift names it: its key, with its type unless it is an A record."""
        return record_ref(self.key, self.record_type)

    def differs(self, live: DnsRecord) -> list[str]:
        """The fields of ``live`` that ``apply`` would write (as its ``plan_dns`` compares them),
        of those known now."""
        fields = [
            ("key", live.key, self.key),
            ("value", live.value, self.value),
            ("record_type", live.record_type, self.record_type),
            ("ttl", live.ttl, self.ttl),
            ("enabled", live.enabled, self.enabled),
        ]
        return [name for name, now, wanted in fields if wanted is not None and now != wanted]


def _names(names: Sequence[str]) -> str:
    more = len(names) - SHOWN
    return ", ".join(names[:SHOWN]) + (f" and {more} more" if more > 0 else "")


def blank(text: str, secrets: Iterable[str]) -> str:
    """``text`` on one line, every one of ``secrets`` in it blanked out."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, BLANKED)
    return " ".join(text.split())


@dataclass(frozen=True)
class _Seen:
    kind: Kind
    what: str = ""
    ours_here: bool = True  # something of the stack is there (False: BGP config gone)


IN_SYNC_BGP: Final = _Seen("in sync")


def _bgp(current: BgpConfig | None, bgpd_conf: str, stack: str) -> _Seen:
    inputs = ApplyInputs(default_description(stack), bgpd_conf, ())
    try:
        plan = plan_bgp(current, inputs, None, stack)
    except (BgpNotOursError, shared_bgp.SharedBgpRefusal) as exc:
        passwords = [*bgp_passwords(bgpd_conf), *(bgp_passwords(current.text) if current is not None else [])]
        return _Seen("kept", f"BGP config: {blank(str(exc), passwords)}")
    if plan.body is None:
        return IN_SYNC_BGP
    if current is None:
        return _Seen("repair", "BGP config gone", ours_here=False)
    if plan.action == "take over":
        return _Seen("repair", "BGP config replaced by one not in force that is no stack's", ours_here=False)
    body = plan.body
    compared = desired_bgp(inputs) if plan.action == "update" else body
    fields = sorted(key for key in compared if current.raw.get(key) != body.get(key))
    if plan.action == "update":  # the stack's alone
        return _Seen("repair", f"BGP config edited at {', '.join(fields)}")
    ident = stack_id(stack)
    try:
        mine = ident in shared_bgp.stack_ids(current.text)
    except shared_bgp.SharedBgpRefusal:
        mine = False
    if not mine:
        return _Seen("repair", "BGP config: this stack's blocks gone", ours_here=False)
    if fields == ["frr_bgpd_config"] and _placed_elsewhere(current.text, str(body["frr_bgpd_config"]), ident):
        return IN_SYNC_BGP
    return _Seen("repair", f"BGP config (shared) edited at {', '.join(fields)}")


def _placed_elsewhere(live: str, joined: str, ident: str) -> bool:
    """Every line the same, only the stack's blocks placed elsewhere among lines of someone else's
    (one added right after a block: ``apply`` would put the block after it on its next write).
    Nothing of the stack's differs, so nothing is repaired."""

    def part(text: str) -> list[tuple[str, list[str]]]:
        lines = text.split("\n")
        return [(b.indent, lines[b.begin : b.end + 1]) for b in shared_bgp.blocks(lines) if b.stack == ident]

    return shared_bgp.strip_stack(live, ident) == shared_bgp.strip_stack(joined, ident) and part(live) == part(joined)


def _dns(live: Sequence[DnsRecord], wanted: Sequence[WantedRecord]) -> tuple[list[str], bool]:
    """(what differs, whether any record of the stack's names is there)."""
    gone: list[str] = []
    edited: list[str] = []
    doubled: list[str] = []
    present = False
    for record in wanted:
        same = [r for r in live if r.identity == identity(record.key, record.record_type)]
        if not same:
            gone.append(record.ref)
            continue
        present = True
        if record.discovered:
            continue
        if len(same) > 1:
            doubled.append(f"{record.ref} ({len(same)})")
            continue
        fields = record.differs(same[0])
        if fields:
            edited.append(f"{record.ref} ({', '.join(fields)})")
    said = []
    if gone:
        said.append(f"DNS record{'s' if len(gone) > 1 else ''} gone: {_names(gone)}")
    if edited:
        said.append(f"DNS record{'s' if len(edited) > 1 else ''} edited: {_names(edited)}")
    if doubled:
        said.append(f"DNS record{'s' if len(doubled) > 1 else ''} doubled: {_names(doubled)}")
    return said, present


def classify(
    current: BgpConfig | None,
    records: Sequence[DnsRecord],
    *,
    bgpd_conf: str,
    stack: str,
    wanted: Sequence[WantedRecord],
) -> Drift:
    """The site's BGP config (None: none) and DNS records against what ``stack`` writes:
    ``bgpd_conf`` and the ``wanted`` records."""
    bgp = _bgp(current, bgpd_conf, stack)
    dns, present = _dns(records, wanted)
    if bgp.kind == "kept":
        return Drift("kept", "; ".join([bgp.what, *dns]))
    if not bgp.ours_here and not present:
        return NOT_INSTALLED
    said = [*([bgp.what] if bgp.kind == "repair" else []), *dns]
    return Drift("repair", "; ".join(said)) if said else IN_SYNC
