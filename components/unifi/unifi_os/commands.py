"""``apply``, ``remove`` and ``status``: what each reads, checks and writes, in that order.

``apply`` reads the BGP config and the DNS records and plans every change before it writes
anything, so a refusal (a BGP config or a record that is not the stack's) changes nothing. The
BGP POST is its first write, so a gateway that refuses BGP only there (exit 20) leaves nothing
written. If a later write fails, the writes of this run are undone as far as possible (records
it created are deleted, records it updated or replaced are put back, the BGP config is put back
as it was), so the state Pulumi keeps from the last successful run still describes the gateway:
a record replaced by delete + create and re-created by the undo has a new ``_id``, and is known
again by the contents the state remembers (see ``dns.owned``). Each run prints how many writes
it made: every DNS write reloads the console's dnsmasq (reported: 1-2 s without DNS each).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from components.config.stack_names import stack_id
from components.unifi.errors import BgpChangedError, BgpUnsupportedError, UnifiError
from components.unifi.unifi_os import shared_bgp
from components.unifi.unifi_os.bgp import (
    BgpConfig,
    BgpPlan,
    V2Api,
    delete_bgp,
    mask_passwords,
    plan_bgp,
    read_bgp,
    restore_body,
    write_bgp,
)
from components.unifi.unifi_os.dns import (
    DnsRecord,
    contents_of,
    create_record,
    delete_record,
    list_records,
    owned,
    plan_dns,
    update_record,
)
from components.unifi.unifi_os.inputs import ApplyInputs, DesiredRecord, identity, parse_ref
from components.unifi.unifi_os.state import StackState, default_description

Say = Callable[[str], None]
_DONE = {
    "create": "created",
    "update": "updated",
    "take over": "wrote",
    "join": "wrote its part of",
    "unchanged": "kept",
}
# How many times a run plans again from a BGP config that changed between its read and its write.
REPLANS: Final = 2
Plan = TypeVar("Plan")


def recheck(
    client: V2Api, site: str, seen: BgpConfig | None, plan: Plan, plan_of: Callable[[BgpConfig | None], Plan], say: Say
) -> tuple[BgpConfig | None, Plan]:
    """Read the BGP config again just before writing it: unchanged, the plan stands; changed (by
    another stack's run, or in UniFi Network), plan again from what is there now, up to
    ``REPLANS`` times, then give up without writing. The API has no revision or condition on its
    POST, so what is left is the time between this read and the write that follows it."""
    for attempt in range(REPLANS + 1):
        now = read_bgp(client, site)
        if now == seen:
            return seen, plan
        if attempt == REPLANS:
            break
        say("bgp: the config changed since this run read it (another stack, or UniFi Network): planning again")
        seen, plan = now, plan_of(now)
    raise BgpChangedError(
        f"the gateway's BGP config changed between this run's read and its write {REPLANS + 1} times in a row "
        "(another stack's up or destroy, or someone in UniFi Network); nothing of it was overwritten: run again "
        "once the other writer is done"
    )


@dataclass
class _Undo:
    """The writes of one ``apply`` run, to take back when a later one fails."""

    client: V2Api
    site: str
    say: Say
    bgp_before: BgpConfig | None = None
    bgp_written: bool = False
    created: list[tuple[str, str]] = field(default_factory=list)  # (key, id)
    updated: list[DnsRecord] = field(default_factory=list)  # as they were before their PUT
    replaced: list[DnsRecord] = field(default_factory=list)  # deleted to be created anew

    def run(self) -> None:
        try:
            for key, record_id in reversed(self.created):
                delete_record(self.client, self.site, record_id)
                self.say(f"undo: deleted the DNS record {key} created by this run")
            for before in reversed(self.updated):
                update_record(self.client, self.site, before, before.as_desired())
                self.say(f"undo: put back {before.describe()}")
            for before in reversed(self.replaced):
                create_record(self.client, self.site, before.as_desired())
                self.say(f"undo: re-created {before.describe()} (under a new id)")
            if self.bgp_written and read_bgp(self.client, self.site) != self.bgp_before:
                if self.bgp_before is None:
                    delete_bgp(self.client, self.site)
                else:
                    write_bgp(self.client, self.site, self.bgp_before.raw)
                self.say("undo: the BGP config is back as it was before this run")
        except UnifiError as exc:
            self.say(f"undo failed ({exc}): check the gateway's BGP config and DNS records")


@dataclass
class _Writes:
    bgp: int = 0
    dns: int = 0
    put_refused: bool = False

    def line(self) -> str:
        if not self.bgp and not self.dns:
            return "writes: none"
        return f"writes: {self.bgp} BGP, {self.dns} DNS" + (
            " (each DNS write reloads the console's dnsmasq)" if self.dns else ""
        )


def _update(
    client: V2Api, site: str, current: DnsRecord, record: DesiredRecord, undo: _Undo, writes: _Writes, say: Say
) -> str:
    """PUT ``current`` to ``record``, or delete + create it where the console serves no PUT; its id now."""
    if not writes.put_refused:
        writes.dns += 1
        if update_record(client, site, current, record):
            undo.updated.append(current)
            say(f"dns: updated {current.describe()} -> {record.describe()}")
            return current.id
        writes.put_refused = True
        say("dns: this console does not update records in place (PUT refused): replacing by delete + create")
    delete_record(client, site, current.id)
    writes.dns += 1
    undo.replaced.append(current)
    new_id = create_record(client, site, record)
    writes.dns += 1
    undo.created.append((record.ref, new_id))
    say(f"dns: replaced {current.describe()} -> {record.describe()} (new id)")
    return new_id


def apply(client: V2Api, site: str, stack: str, inputs: ApplyInputs, state: StackState | None, say: Say) -> StackState:
    def plan_of(current: BgpConfig | None) -> BgpPlan:
        return plan_bgp(current, inputs, state, stack)

    current_bgp = read_bgp(client, site)
    bgp = plan_of(current_bgp)
    existing = list_records(client, site)
    dns = plan_dns(existing, inputs.records, *((state.records, state.contents) if state is not None else ({}, {})))
    if bgp.body is not None:
        current_bgp, bgp = recheck(client, site, current_bgp, bgp, plan_of, say)
    for name in dns.left_alone:
        # stderr: the console shows it (stdout carries the state, not echoed).
        print(
            f"warning: dns: {name} exists and this stack did not create it (external-dns?): left alone",
            file=sys.stderr,
            flush=True,
        )
    undo = _Undo(client, site, say, bgp_before=current_bgp)
    writes = _Writes()
    records = dict(dns.kept)
    try:
        if bgp.body is not None:
            undo.bgp_written = True  # a failed POST may still have been applied
            writes.bgp += 1
            write_bgp(client, site, bgp.body)
            if bgp.action == "take over" and current_bgp is not None:
                say(f"bgp: replaced the config not in force ({current_bgp.describe()}); remove puts it back")
            say(f"bgp: {_DONE[bgp.action]} config {inputs.description!r}")
        for record in dns.creates:
            writes.dns += 1
            record_id = create_record(client, site, record)
            undo.created.append((record.ref, record_id))
            records[record.ref] = record_id
            say(f"dns: created {record.describe()}")
        for current, record in dns.updates:
            records[record.ref] = _update(client, site, current, record, undo, writes, say)
        for gone in dns.deletes:
            writes.dns += 1
            delete_record(client, site, gone.id)
            say(f"dns: deleted {gone.describe()}")
    except BgpUnsupportedError:
        say("writes: none (the BGP POST was refused)")
        raise  # refused on the first write: nothing to undo
    except UnifiError:
        undo.run()
        raise
    if bgp.body is None:
        say("bgp: unchanged")
    if not dns.writes():
        say(f"dns: unchanged ({len(records)} records)")
    say(writes.line())
    if bgp.body is None and not dns.writes():
        say("unchanged")
    contents = {record.ref: contents_of(record) for record in inputs.records}
    return StackState(
        stack=stack, description=inputs.description, previous_bgp=bgp.previous_bgp, records=records, contents=contents
    )


@dataclass(frozen=True)
class _Removal:
    """What ``remove`` does to the BGP config: ``("post", body)``, ``("delete", None)``, or nothing."""

    kind: str  # "post" | "delete" | "none"
    body: dict[str, Any] | None
    said: str


def _plan_removal(current: BgpConfig | None, state: StackState, stack: str) -> _Removal:
    if current is None:
        return _Removal("none", None, "bgp: the gateway has no BGP config: nothing to remove")
    alone = current.description == state.description and not shared_bgp.has_markers(current.text)
    if not alone:
        try:
            on = shared_bgp.stack_ids(current.text)
            mine = stack_id(stack) in on
            left = shared_bgp.leave(current.text, current.description, stack, state.previous_bgp) if mine else None
        except shared_bgp.SharedBgpRefusal as exc:
            return _Removal("none", None, f"warning: {exc}: the BGP config was left as is")
        if left is None:
            return _Removal(
                "none",
                None,
                f"warning: the gateway's BGP config is not this stack's any more ({current.describe()}): left as is",
            )
        if left.kind == "rewrite":
            body = {**current.raw, "description": left.description, "frr_bgpd_config": left.text}
            if not shared_bgp.has_markers(left.text):
                body["uploaded_file_name"] = "bgpd.conf"
            said = f"bgp: took this stack's part out; left: {left.description!r}"
            if state.previous_bgp is not None:
                said += "; the config it took over goes back when the last stack leaves"
            return _Removal("post", body, said)
        if left.kind == "kept":
            body = {**current.raw, "description": left.description, "frr_bgpd_config": left.text}
            said = f"bgp: took this stack's part out; your own config is as it was ({left.description!r})"
            return _Removal("post", body, said)
        handed = left.original
    else:
        handed = shared_bgp.split_original(current.text)[1]
    previous = state.previous_bgp if state.previous_bgp is not None else handed
    if previous is not None:
        return _Removal(
            "post",
            restore_body(current, previous),
            f"bgp: put back the config the gateway had before ({BgpConfig(previous).describe()})",
        )
    return _Removal("delete", None, f"bgp: deleted config {current.description!r}")


def remove(client: V2Api, site: str, state: StackState, say: Say) -> None:
    """Delete the stack's records, then take its part out of the BGP config: other stacks' parts
    stay; the last stack out puts back the config the first one found (or deletes it)."""
    by_id = {record.id: record for record in list_records(client, site)}
    for ref, record_id in sorted(state.records.items()):
        record = by_id.get(record_id)
        if record is None:
            say(f"dns: {ref} is gone already")
        elif record.identity != identity(*parse_ref(ref)):
            say(f"warning: DNS record {record_id} is now named {record.ref!r}, not {ref!r}: left as is")
        else:
            delete_record(client, site, record_id)
            say(f"dns: deleted {record.describe()}")
    try:
        current = read_bgp(client, site)
    except BgpUnsupportedError:
        say("warning: this site's gateway cannot run BGP (any more): no BGP config to remove")
        return

    def plan_of(config: BgpConfig | None) -> _Removal:
        return _plan_removal(config, state, state.stack)

    removal = plan_of(current)
    if removal.kind != "none":
        current, removal = recheck(client, site, current, removal, plan_of, say)
    if removal.kind == "post":
        assert removal.body is not None
        write_bgp(client, site, removal.body)
    elif removal.kind == "delete":
        delete_bgp(client, site)
    say(removal.said)


def _print_bgp(config: BgpConfig, description: str, stack: str, say: Say) -> None:
    try:
        shared = stack_id(stack) in shared_bgp.stack_ids(config.text)
    except shared_bgp.SharedBgpRefusal:
        shared = False
    if shared:
        whose = "shared: this stack's blocks are in it"
    elif config.description == description:
        whose = "this stack's"
    else:
        whose = "not this stack's"
    say(f"bgp: {'enabled' if config.enabled else 'disabled'}, description {config.description!r} ({whose})")
    for line in mask_passwords(config.text).splitlines():
        say(f"  {line}")


def _print_records(records: list[DnsRecord], header: str, say: Say) -> None:
    say(header)
    for record in sorted(records, key=lambda r: r.identity):
        say(f"  {record.describe()}")


def status(client: V2Api, site: str, stack: str, state: StackState | None, say: Say) -> None:
    description = state.description if state is not None else default_description(stack)
    config: BgpConfig | None = None
    try:
        config = read_bgp(client, site)
    except BgpUnsupportedError:
        say("bgp: this site's gateway cannot run BGP (UniFi OS gateway required)")
    else:
        if config is None:
            say("bgp: no config")
        else:
            _print_bgp(config, description, stack, say)
    records = list_records(client, site)
    if state is not None:
        _print_records(
            owned(records, state.records, state.contents),
            f"dns: the stack's records ({len(state.records)} in its state)",
            say,
        )
    else:
        addresses = [r for r in records if r.identity[1] in ("A", "AAAA")]
        _print_records(addresses, "dns: every A and AAAA record (no state of the stack given)", say)
