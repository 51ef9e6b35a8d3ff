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

from components.unifi.errors import BgpUnsupportedError, UnifiError
from components.unifi.unifi_os.bgp import (
    BgpConfig,
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
from components.unifi.unifi_os.inputs import ApplyInputs, DesiredRecord
from components.unifi.unifi_os.state import StackState, default_description

Say = Callable[[str], None]
_DONE = {"create": "created", "update": "updated", "take over": "wrote", "unchanged": "kept"}


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
    undo.created.append((record.key, new_id))
    say(f"dns: replaced {current.describe()} -> {record.describe()} (new id)")
    return new_id


def apply(client: V2Api, site: str, stack: str, inputs: ApplyInputs, state: StackState | None, say: Say) -> StackState:
    current_bgp = read_bgp(client, site)
    bgp = plan_bgp(current_bgp, inputs, state)
    existing = list_records(client, site)
    dns = plan_dns(existing, inputs.records, *((state.records, state.contents) if state is not None else ({}, {})))
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
            undo.created.append((record.key, record_id))
            records[record.key] = record_id
            say(f"dns: created {record.describe()}")
        for current, record in dns.updates:
            records[record.key] = _update(client, site, current, record, undo, writes, say)
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
    contents = {record.key: contents_of(record) for record in inputs.records}
    return StackState(
        stack=stack, description=inputs.description, previous_bgp=bgp.previous_bgp, records=records, contents=contents
    )


def remove(client: V2Api, site: str, state: StackState, say: Say) -> None:
    """Delete the stack's records, then put back the BGP config it took over (or delete its own)."""
    by_id = {record.id: record for record in list_records(client, site)}
    for key, record_id in sorted(state.records.items()):
        record = by_id.get(record_id)
        if record is None:
            say(f"dns: {key} is gone already")
        elif record.key.lower() != key.lower():
            say(f"warning: DNS record {record_id} is now named {record.key!r}, not {key!r}: left as is")
        else:
            delete_record(client, site, record_id)
            say(f"dns: deleted {record.describe()}")
    try:
        current = read_bgp(client, site)
    except BgpUnsupportedError:
        say("warning: this site's gateway cannot run BGP (any more): no BGP config to remove")
        return
    if current is None:
        say("bgp: the gateway has no BGP config: nothing to remove")
    elif current.description != state.description:
        say(f"warning: the gateway's BGP config is not this stack's any more ({current.describe()}): left as is")
    elif state.previous_bgp is not None:
        write_bgp(client, site, restore_body(current, state.previous_bgp))
        say(f"bgp: put back the config the gateway had before ({BgpConfig(state.previous_bgp).describe()})")
    else:
        delete_bgp(client, site)
        say(f"bgp: deleted config {state.description!r}")


def _print_bgp(config: BgpConfig, description: str, say: Say) -> None:
    whose = "this stack's" if config.description == description else "not this stack's"
    say(f"bgp: {'enabled' if config.enabled else 'disabled'}, description {config.description!r} ({whose})")
    for line in mask_passwords(config.text).splitlines():
        say(f"  {line}")


def _print_records(records: list[DnsRecord], header: str, say: Say) -> None:
    say(header)
    for record in sorted(records, key=lambda r: r.key.lower()):
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
            _print_bgp(config, description, say)
    records = list_records(client, site)
    if state is not None:
        _print_records(
            owned(records, state.records, state.contents),
            f"dns: the stack's records ({len(state.records)} in its state)",
            say,
        )
    else:
        a_records = [r for r in records if r.record_type == "A"]
        _print_records(a_records, "dns: every A record (no state of the stack given)", say)
