"""Static DNS records for UniFi OS gateways."""

from __future__ import annotations

import copy
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from components.artifacts.dns_records import dns_records_json, known_dns_records, render_dns_records
from components.config import Lab, parse_lab
from components.config.stack_files import read_stack_config

ROOT = Path(__file__).resolve().parents[2]
JELLYFIN = IPv4Address("10.99.0.20")
JELLYFIN_NAMES = ("jellyfin", "jellyfin.k8s.home")  # Pulumi.udm.yaml: no pinned address


def stack_raw(stack: str) -> dict[str, Any]:
    return read_stack_config(ROOT / f"Pulumi.{stack}.yaml")


def udm(**gateway: Any) -> Lab:
    raw = copy.deepcopy(stack_raw("udm"))
    raw["gateway"] = {**raw["gateway"], **gateway}
    return parse_lab(raw, stack="lab")


def a_record(key: str, value: str) -> dict[str, Any]:
    return {"key": key, "value": value, "record_type": "A", "enabled": True}


def test_one_record_per_host_name_and_alias_sorted_by_name() -> None:
    lab = udm()
    assert render_dns_records(lab, lab.pinned_addresses) == [
        a_record("ha", "10.99.0.10"),
        a_record("home-assistant", "10.99.0.10"),
        a_record("home-assistant.k8s.home", "10.99.0.10"),
    ]


def test_services_without_a_known_address_have_no_records_until_allocated() -> None:
    lab = udm()
    assert not any("jellyfin" in r["key"] for r in render_dns_records(lab, lab.pinned_addresses))
    records = render_dns_records(lab, {**lab.pinned_addresses, "jellyfin": (JELLYFIN,)})
    assert [r["key"] for r in records] == [
        "ha",
        "home-assistant",
        "home-assistant.k8s.home",
        "jellyfin",
        "jellyfin.k8s.home",
    ]
    assert [r["value"] for r in records if r["key"].startswith("jellyfin")] == ["10.99.0.20", "10.99.0.20"]
    assert render_dns_records(lab, {}) == []


def test_ttl_is_set_only_when_configured() -> None:
    lab = udm(dnsTtl=300)
    records = render_dns_records(lab, lab.pinned_addresses)
    assert [r["ttl"] for r in records] == [300, 300, 300]
    assert all(set(r) == {"key", "value", "record_type", "enabled", "ttl"} for r in records)
    assert all("ttl" not in r for r in render_dns_records(udm(), udm().pinned_addresses))


def test_a_usg_gets_no_records() -> None:
    lab = parse_lab(stack_raw("lab"), stack="lab")
    assert render_dns_records(lab, lab.pinned_addresses) == []


def test_json_is_deterministic_whatever_the_address_order() -> None:
    lab = udm()
    addresses = {**lab.pinned_addresses, "jellyfin": (JELLYFIN,)}
    records = [
        ("ha", "10.99.0.10"),
        ("home-assistant", "10.99.0.10"),
        ("home-assistant.k8s.home", "10.99.0.10"),
        ("jellyfin", "10.99.0.20"),
        ("jellyfin.k8s.home", "10.99.0.20"),
    ]
    # Sorted keys, two-space indent, one record per host name in name order, a final newline.
    expected = (
        "[\n"
        + ",\n".join(
            f'  {{\n    "enabled": true,\n    "key": "{key}",\n    "record_type": "A",\n    "value": "{value}"\n  }}'
            for key, value in records
        )
        + "\n]\n"
    )
    assert dns_records_json(lab, addresses) == expected
    assert dns_records_json(lab, dict(reversed(addresses.items()))) == expected


@given(st.ip_addresses(v=4), st.sampled_from([None, 300]))
def test_the_records_known_before_up_are_the_rendered_ones_with_the_allocated_address_left_open(
    allocated: IPv4Address, ttl: int | None
) -> None:
    lab = udm(**({} if ttl is None else {"dnsTtl": ttl}))
    known = known_dns_records(lab)
    rendered = render_dns_records(lab, {**lab.pinned_addresses, "jellyfin": (allocated,)})
    assert [r["key"] for r in known] == [r["key"] for r in rendered]
    assert [r for r in known if r["value"] is not None] == [r for r in rendered if r["key"] not in JELLYFIN_NAMES]
    assert [{**r, "value": str(allocated)} for r in known if r["value"] is None] == [
        r for r in rendered if r["key"] in JELLYFIN_NAMES
    ]
