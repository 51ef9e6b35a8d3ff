"""The site's DNS records (``/v2/api/site/<site>/static-dns[/<id>]``): listed, planned, written.

A record is the stack's when its ``_id`` is one the stack created and its key is still the one
it was created with; or, when that ``_id`` is gone, when the only record with its key holds
exactly what the state says the stack's held (an undo re-created it under a new ``_id``).
``apply`` never touches another record: a desired name that another record already has is a
conflict, reported before anything is written.

The list is a bare array; POST answers the new record with its ``_id``
(kashalls/external-dns-unifi-webhook@9672b5f:internal/unifi/client.go, GetEndpoints and
createSingleDNSRecord). An update is a PUT of the record with its ``_id`` and ``site_id``
(ubiquiti-community/go-unifi@b2bf4ce:unifi/dns_record.generated.go, updateDNSRecord); tools that
say the API has no PUT update by delete + create instead (the webhook's provider.go: UpdateOld
deleted, UpdateNew created), so a console refusing the PUT is updated that way. A TTL of 0 means
the console's default and is left out, as go-unifi's ``ttl,omitempty`` and the webhook's do.
Every write reloads the console's dnsmasq: only what changed is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from components.unifi.errors import ApiError, DnsConflictError, V2ApiError
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


# A PUT the console does not serve: no route (404), or the method refused (405, 501).
PUT_REFUSED: Final = frozenset({404, 405, 501})
_SERVER_FIELDS: Final = ("_id", "site_id")


def record_body(desired: DesiredRecord) -> dict[str, Any]:
    """The writable fields; ttl 0 (the console's default) is left out."""
    body: dict[str, Any] = {
        "key": desired.key,
        "value": desired.value,
        "record_type": desired.record_type,
        "enabled": desired.enabled,
    }
    if desired.ttl:
        body["ttl"] = desired.ttl
    return body


def contents_of(desired: DesiredRecord) -> dict[str, Any]:
    """What the state remembers of a record besides its ``_id``."""
    return {"value": desired.value, "record_type": desired.record_type, "ttl": desired.ttl, "enabled": desired.enabled}


def list_records(client: V2Api, site: str) -> list[DnsRecord]:
    body = client.network_v2("GET", records_path(site))
    if body is None:
        return []
    if not isinstance(body, list):
        raise ApiError(f"site {site}: the DNS record list is not a JSON list")
    return [DnsRecord(dict(item)) for item in body if isinstance(item, dict)]


def owned(
    records: Iterable[DnsRecord],
    state_records: Mapping[str, str],
    contents: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[DnsRecord]:
    """The records the stack created: id in the state, under the same key; or, for a state key
    whose id is gone, the one record with that key holding what the state remembers."""
    records = list(records)
    key_of_id = {record_id: key.lower() for key, record_id in state_records.items()}
    mine = [r for r in records if r.id and key_of_id.get(r.id) == r.key.lower()]
    listed = {r.id for r in records}
    for key, record_id in state_records.items():
        remembered = (contents or {}).get(key)
        if record_id in listed or remembered is None:
            continue
        same_key = [r for r in records if r.key.lower() == key.lower() and r.id not in key_of_id]
        if len(same_key) == 1 and contents_of(same_key[0].as_desired()) == dict(remembered):
            mine.append(same_key[0])
    return mine


@dataclass
class DnsPlan:
    creates: list[DesiredRecord] = field(default_factory=list)
    updates: list[tuple[DnsRecord, DesiredRecord]] = field(default_factory=list)
    deletes: list[DnsRecord] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)  # key -> id, unchanged or updated
    left_alone: list[str] = field(default_factory=list)  # discovered names someone else's record has

    def writes(self) -> int:
        return len(self.creates) + len(self.updates) + len(self.deletes)


def plan_dns(
    existing: list[DnsRecord],
    desired: Iterable[DesiredRecord],
    state_records: Mapping[str, str],
    contents: Mapping[str, Mapping[str, Any]] | None = None,
) -> DnsPlan:
    """Creates, updates and deletes; raises ``DnsConflictError`` naming every declared key that a
    record of someone else's already has. A discovered key in that case is left alone (and not
    owned, so ``remove`` never deletes that record)."""
    mine = {id(r) for r in owned(existing, state_records, contents)}
    plan, conflicts, wanted = DnsPlan(), list[str](), set[str]()
    for record in desired:
        wanted.add(record.key.lower())
        same_key = [r for r in existing if r.key.lower() == record.key.lower()]
        foreign = [r for r in same_key if id(r) not in mine]
        if foreign and record.discovered:
            plan.left_alone.append(f"{record.key} (now {foreign[0].record_type} {foreign[0].value})")
            continue
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


def update_record(client: V2Api, site: str, current: DnsRecord, desired: DesiredRecord) -> bool:
    """PUT the record in place; False when the console does not serve PUT (nothing changed then)."""
    server = {k: current.raw[k] for k in _SERVER_FIELDS if k in current.raw}
    try:
        client.network_v2("PUT", records_path(site, current.id), {**server, **record_body(desired)})
    except V2ApiError as exc:
        if exc.status in PUT_REFUSED:
            return False
        raise
    return True


def delete_record(client: V2Api, site: str, record_id: str) -> None:
    # go-unifi sends {} with its DELETEs (unifi/dns_record.generated.go, deleteDNSRecord).
    client.network_v2("DELETE", records_path(site, record_id), {})
