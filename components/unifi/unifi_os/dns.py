"""The site's DNS records (``/v2/api/site/<site>/static-dns[/<id>]``): listed, planned, written.

A record is known by its name and type together (``inputs.identity``): a name may have an A and
an AAAA record (one value per record: ubiquiti-community/go-unifi@2831d443:
unifi/dns_record.generated.go, ``DNSRecord``, ``record_type`` A|AAAA|CNAME|MX|NS|PTR|SOA|SRV|TXT).
A record is the stack's when its ``_id`` is one the stack created and its name and type are still
the ones it was created with; or, when that ``_id`` is gone, when the only record of that name
and type holds exactly what the state says the stack's held (an undo re-created it under a new
``_id``). ``apply`` never touches another record: a record of someone else's with the name and
type the stack wants, or a CNAME of that name (a name with a CNAME holds no other data: RFC 1034
section 3.6.2, RFC 2181 section 10.1), is a conflict, reported before anything is written. A
record of another type is left alone: a user's own AAAA record for a name the stack has only an
A record for stays as it is, and is never the stack's.

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
from components.unifi.unifi_os.inputs import DesiredRecord, identity, parse_ref, record_ref


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

    @property
    def identity(self) -> tuple[str, str]:
        return identity(self.key, self.record_type)

    @property
    def ref(self) -> str:
        return record_ref(self.key, self.record_type)

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
    """The records the stack created: id in the state, under the same name and type; or, for a
    state record whose id is gone, the one record of that name and type holding what the state
    remembers. ``state_records`` and ``contents`` are keyed by ``inputs.record_ref``."""
    records = list(records)
    identity_of_id = {record_id: identity(*parse_ref(ref)) for ref, record_id in state_records.items()}
    mine = [r for r in records if r.id and identity_of_id.get(r.id) == r.identity]
    listed = {r.id for r in records}
    for ref, record_id in state_records.items():
        remembered = (contents or {}).get(ref)
        if record_id in listed or remembered is None:
            continue
        wanted = identity(*parse_ref(ref))
        same = [r for r in records if r.identity == wanted and r.id not in identity_of_id]
        if len(same) == 1 and contents_of(same[0].as_desired()) == dict(remembered):
            mine.append(same[0])
    return mine


@dataclass
class DnsPlan:
    creates: list[DesiredRecord] = field(default_factory=list)
    updates: list[tuple[DnsRecord, DesiredRecord]] = field(default_factory=list)
    deletes: list[DnsRecord] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)  # record ref -> id, unchanged or updated
    left_alone: list[str] = field(default_factory=list)  # discovered names someone else's record has

    def writes(self) -> int:
        return len(self.creates) + len(self.updates) + len(self.deletes)


def plan_dns(
    existing: list[DnsRecord],
    desired: Iterable[DesiredRecord],
    state_records: Mapping[str, str],
    contents: Mapping[str, Mapping[str, Any]] | None = None,
) -> DnsPlan:
    """Creates, updates and deletes; raises ``DnsConflictError`` naming every declared record
    whose name and type (or whose name as a CNAME) a record of someone else's already has. A
    discovered record in that case is left alone (and not owned, so ``remove`` never deletes that
    record)."""
    mine = {id(r) for r in owned(existing, state_records, contents)}
    plan, conflicts, wanted = DnsPlan(), list[str](), set[tuple[str, str]]()
    for record in desired:
        wanted.add(record.identity)
        same = [r for r in existing if r.identity == record.identity]
        foreign = [r for r in same if id(r) not in mine] + [
            r for r in existing if r.identity == identity(record.key, "CNAME") and id(r) not in mine
        ]
        if foreign and record.discovered:
            plan.left_alone.append(f"{record.ref} (now {foreign[0].record_type} {foreign[0].value})")
            continue
        if foreign:
            conflicts.append(f"{record.ref} (now {foreign[0].record_type} {foreign[0].value})")
            continue
        if not same:
            plan.creates.append(record)
            continue
        current, *duplicates = same
        plan.deletes.extend(duplicates)
        plan.kept[record.ref] = current.id
        if current.as_desired() != record:
            plan.updates.append((current, record))
    if conflicts:
        raise DnsConflictError(
            f"the gateway has DNS records this stack did not create: {', '.join(conflicts)}; nothing was changed: "
            "delete them in UniFi Network, or drop these names from the stack"
        )
    plan.deletes.extend(r for r in existing if id(r) in mine and r.identity not in wanted)
    return plan


def create_record(client: V2Api, site: str, desired: DesiredRecord) -> str:
    """POST a record; its new ``_id`` (from the answer, else by listing the records again)."""
    answer = client.network_v2("POST", records_path(site), record_body(desired))
    if isinstance(answer, list) and len(answer) == 1:
        answer = answer[0]
    if isinstance(answer, dict) and isinstance(answer.get("_id"), str) and answer["_id"]:
        return str(answer["_id"])
    for record in list_records(client, site):
        if record.identity == desired.identity and record.value == desired.value:
            return record.id
    raise ApiError(f"site {site}: created the DNS record {desired.ref} but cannot find its id")


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
