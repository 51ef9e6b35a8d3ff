"""The inputs of ``apply``: the stack's description and DNS records as JSON on stdin, the
bgpd.conf text in ``UNIFI_BGPD_CONF`` (it may hold the BGP password: never on stdin or the
command line), checked against the sha256 stdin carries so that both come from the same render.

A record is one name, one type, one value (the static-dns API's ``key``, ``record_type`` and
``value``: ubiquiti-community/go-unifi@2831d443:unifi/dns_record.generated.go, ``DNSRecord``), so a
name with an IPv4 and an IPv6 address is an A and an AAAA record; a record is known by its name
(case-insensitive, as DNS names are) and type together (:func:`identity`)."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from components.contract import BGPD_CONF_ENV
from components.unifi.errors import UsageError

BGPD_FILE_NAME: Final = "bgpd.conf"
_SHA256 = re.compile(r"[0-9a-f]{64}")
_SPACE = re.compile(r"\s")


def identity(key: str, record_type: str) -> tuple[str, str]:
    """What tells records apart: the name (case-insensitive) and the type."""
    return key.lower(), record_type.upper()


def record_ref(key: str, record_type: str) -> str:
    """How the stack's state names a record: its key for an A record (as states written before
    AAAA records existed name theirs), ``<key> <type>`` for another type (a key has no space)."""
    return key if record_type.upper() == "A" else f"{key} {record_type}"


def parse_ref(ref: str) -> tuple[str, str]:
    """(key, record_type) of a :func:`record_ref`."""
    key, space, record_type = ref.rpartition(" ")
    return (key, record_type) if space else (ref, "A")


@dataclass(frozen=True)
class DesiredRecord:
    key: str
    value: str
    record_type: str = "A"
    ttl: int = 0  # 0: the controller's default
    enabled: bool = True
    # A name found on a cluster Service, not declared in the stack: a record of someone else's
    # with this name (external-dns may have made it) is left alone instead of refused. Not part
    # of the record itself, so it never causes a write.
    discovered: bool = field(default=False, compare=False)

    @property
    def ref(self) -> str:
        return record_ref(self.key, self.record_type)

    @property
    def identity(self) -> tuple[str, str]:
        return identity(self.key, self.record_type)

    def describe(self) -> str:
        ttl = f"ttl {self.ttl}" if self.ttl else "default ttl"
        return f"{self.key} {self.record_type} {self.value} ({ttl}{'' if self.enabled else ', disabled'})"


@dataclass(frozen=True)
class ApplyInputs:
    description: str
    bgpd_conf: str
    records: tuple[DesiredRecord, ...]


def _record(raw: Any, index: int) -> DesiredRecord:
    where = f"stdin: records[{index}]"
    if not isinstance(raw, dict):
        raise UsageError(f"{where} is not an object")
    key, value, record_type = raw.get("key"), raw.get("value"), raw.get("record_type", "A")
    ttl, enabled, discovered = raw.get("ttl", 0), raw.get("enabled", True), raw.get("discovered", False)
    if not isinstance(key, str) or not key.strip() or _SPACE.search(key):
        raise UsageError(f"{where}.key must be a host name")
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{where}.value must be a string")
    if not isinstance(record_type, str) or not record_type:
        raise UsageError(f"{where}.record_type must be a string such as A")
    if ttl is None:
        ttl = 0
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 0:
        raise UsageError(f"{where}.ttl must be a whole number of seconds, 0 for the controller's default")
    if not isinstance(enabled, bool):
        raise UsageError(f"{where}.enabled must be true or false")
    if not isinstance(discovered, bool):
        raise UsageError(f"{where}.discovered must be true or false")
    return DesiredRecord(key=key, value=value, record_type=record_type, ttl=ttl, enabled=enabled, discovered=discovered)


def read_apply_inputs(stdin_text: str, env: Mapping[str, str]) -> ApplyInputs:
    try:
        raw = json.loads(stdin_text)
    except ValueError:
        raise UsageError("stdin must be the JSON object with description, bgpd_conf_sha256 and records") from None
    if not isinstance(raw, dict):
        raise UsageError("stdin must be a JSON object")
    description, expected = raw.get("description"), raw.get("bgpd_conf_sha256")
    if not isinstance(description, str) or not description.strip():
        raise UsageError("stdin: description must be a non-empty string")
    if not isinstance(expected, str) or not _SHA256.fullmatch(expected.lower()):
        raise UsageError("stdin: bgpd_conf_sha256 must be 64 hex digits")
    conf = env.get(BGPD_CONF_ENV) or ""
    if not conf.strip():
        raise UsageError(f"set {BGPD_CONF_ENV} to the bgpd.conf text")
    if hashlib.sha256(conf.encode("utf-8")).hexdigest() != expected.lower():
        raise UsageError(f"inputs out of sync: the sha256 of {BGPD_CONF_ENV} is not stdin's bgpd_conf_sha256")
    records_raw = raw.get("records", [])
    if not isinstance(records_raw, list):
        raise UsageError("stdin: records must be a list")
    records = tuple(_record(item, i) for i, item in enumerate(records_raw))
    counts = Counter(record.identity for record in records)
    duplicates = sorted(f"{key} {record_type}" for (key, record_type), count in counts.items() if count > 1)
    if duplicates:
        raise UsageError(f"stdin: records name {', '.join(duplicates)} more than once")
    return ApplyInputs(description=description, bgpd_conf=conf, records=records)
