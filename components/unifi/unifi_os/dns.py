"""The site's DNS records (``/v2/api/site/<site>/static-dns[/<id>]``): listed, planned, written.

A record is the stack's when its ``_id`` is one the stack created and its key is still the one
it was created with. ``apply`` never touches another record: a desired name that another record
already has is a conflict, reported before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from components.unifi.client import ApiError, DnsConflictError
from components.unifi.unifi_os.bgp import V2Api
from components.unifi.unifi_os.inputs import DesiredRecord


def records_path(site: str, record_id: str | None = None) -> str:
    return f"/v2/api/site/{site}/static-dns" + (f"/{record_id}" if record_id else "")


@dataclass(frozen=True)
class DnsRecord:
    raw: dict[str, Any]

    def _str(self, name: str) -> str:
        value = self.raw.get(name)
        return value if isinstance(value, str) else ""

    @property
    def id(self) -> str:
        return self._str("_id")

    @property
    def key(self) -> str:
        return self._str("key")

    @property
    def value(self) -> str:
        return self._str("value")

    @property
    def record_type(self) -> str:
        return self._str("record_type")

    @property
    def ttl(self) -> int:
        ttl = self.raw.get("ttl")
        return ttl if isinstance(ttl, int) and not isinstance(ttl, bool) else 0

    @property
    def enabled(self) -> bool:
        return self.raw.get("enabled") is not False

    def as_desired(self) -> DesiredRecord:
        return DesiredRecord(self.key, self.value, self.record_type, self.ttl, self.enabled)

    def describe(self) -> str:
        return self.as_desired().describe()


def record_body(desired: DesiredRecord) -> dict[str, Any]:
    """ttl 0 is sent as 0, which the controller takes as its default (what its UI sends for "auto")."""
    return {
        "key": desired.key,
        "value": desired.value,
        "record_type": desired.record_type,
        "ttl": desired.ttl,
        "enabled": desired.enabled,
    }


def list_records(client: V2Api, site: str) -> list[DnsRecord]:
    body = client.network_v2("GET", records_path(site))
    if body is None:
        return []
    if not isinstance(body, list):
        raise ApiError(f"site {site}: the DNS record list is not a JSON list")
    return [DnsRecord(dict(item)) for item in body if isinstance(item, dict)]


def owned(records: Iterable[DnsRecord], state_records: Mapping[str, str]) -> list[DnsRecord]:
    """The records the stack created: id in the state, under the same key."""
    key_of_id = {record_id: key.lower() for key, record_id in state_records.items()}
    return [r for r in records if r.id and key_of_id.get(r.id) == r.key.lower()]


@dataclass
class DnsPlan:
    creates: list[DesiredRecord] = field(default_factory=list)
    updates: list[tuple[DnsRecord, DesiredRecord]] = field(default_factory=list)
    deletes: list[DnsRecord] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)  # key -> id, unchanged or updated

    def writes(self) -> int:
        return len(self.creates) + len(self.updates) + len(self.deletes)


def plan_dns(existing: list[DnsRecord], desired: Iterable[DesiredRecord], state_records: Mapping[str, str]) -> DnsPlan:
    """Creates, updates and deletes; raises ``DnsConflictError`` naming every desired key that a
    record of someone else's already has."""
    mine = {id(r) for r in owned(existing, state_records)}
    plan, conflicts, wanted = DnsPlan(), list[str](), set[str]()
    for record in desired:
        wanted.add(record.key.lower())
        same_key = [r for r in existing if r.key.lower() == record.key.lower()]
        foreign = [r for r in same_key if id(r) not in mine]
        if foreign:
            conflicts.append(f"{record.key} (now {foreign[0].record_type} {foreign[0].value})")
            continue
        if not same_key:
            plan.creates.append(record)
            continue
        current, *duplicates = same_key
        plan.deletes.extend(duplicates)
        plan.kept[record.key] = current.id
        if current.as_desired() != record:
            plan.updates.append((current, record))
    if conflicts:
        raise DnsConflictError(
            f"the gateway has DNS records this stack did not create: {', '.join(conflicts)}; nothing was changed: "
            "delete them in UniFi Network, or drop these names from the stack"
        )
    plan.deletes.extend(r for r in existing if id(r) in mine and r.key.lower() not in wanted)
    return plan


def create_record(client: V2Api, site: str, desired: DesiredRecord) -> str:
    """POST a record; its new ``_id`` (from the answer, else by listing the records again)."""
    answer = client.network_v2("POST", records_path(site), record_body(desired))
    if isinstance(answer, list) and len(answer) == 1:
        answer = answer[0]
    if isinstance(answer, dict) and isinstance(answer.get("_id"), str) and answer["_id"]:
        return str(answer["_id"])
    for record in list_records(client, site):
        if record.key.lower() == desired.key.lower() and record.value == desired.value:
            return record.id
    raise ApiError(f"site {site}: created the DNS record {desired.key} but cannot find its id")


def update_record(client: V2Api, site: str, current: DnsRecord, desired: DesiredRecord) -> None:
    client.network_v2("PUT", records_path(site, current.id), {**current.raw, **record_body(desired)})


def delete_record(client: V2Api, site: str, record_id: str) -> None:
    client.network_v2("DELETE", records_path(site, record_id))
