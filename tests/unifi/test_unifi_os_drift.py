"""Drift of a UniFi OS gateway from one stack (components/unifi/unifi_os/drift.py): the BGP config
and DNS records as the controller lists them (shapes: tests/unifi/conftest.py, the v2 API), told
apart into in sync, the stack's part changed or gone (repaired), and a config the stack cannot
join (kept); over the stack's real bgpd.conf, alone and shared with a user's config."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.artifacts.dns_records import known_dns_records
from components.artifacts.frr import render_bgpd_conf
from components.config import Lab, parse_lab
from components.unifi.drift import IN_SYNC
from components.unifi.unifi_os import shared_bgp
from components.unifi.unifi_os.bgp import BgpConfig, plan_bgp
from components.unifi.unifi_os.dns import DnsRecord
from components.unifi.unifi_os.drift import NOT_INSTALLED, WantedRecord, classify
from components.unifi.unifi_os.inputs import ApplyInputs
from tests.artifacts.test_shared_gateway import raw_of
from tests.config.raw_labs import dual_stack_lab
from tests.unifi.test_shared_bgp import FOREIGN, FOREIGN_V6

PASSWORD = "bgp-pw-4711"
STACK = "udm"


def udm() -> Lab:
    raw = copy.deepcopy(raw_of("udm"))
    raw["bgp"] = {**raw.get("bgp", {}), "password": PASSWORD}
    return parse_lab(raw, stack=STACK)


LAB = udm()
CONF = render_bgpd_conf(LAB)
WANTED = [WantedRecord.of(r) for r in known_dns_records(LAB)]
ALONE = {
    "_id": "65f0c0ffee0001",
    "site_id": "site-default",
    "enabled": True,
    "description": f"metallb-unifi stack {STACK}",
    "frr_bgpd_config": CONF,
    "uploaded_file_name": "bgpd.conf",
}
JOINED = shared_bgp.join(FOREIGN, "mine", CONF, STACK)
INPUTS = ApplyInputs(str(ALONE["description"]), CONF, ())  # apply's, records aside
SHARED = {**ALONE, "description": JOINED.description, "frr_bgpd_config": JOINED.text, "uploaded_file_name": "frr.conf"}


def records(**changed: dict[str, Any] | None) -> list[DnsRecord]:
    """The stack's records as apply leaves them (MetalLB gave jellyfin 10.99.0.33); ``changed``
    by key (dots and dashes as underscores): None drops a record, a dict is merged into it."""
    listed = []
    for index, wanted in enumerate(WANTED):
        raw = {
            "_id": f"rec{index}",
            "site_id": "site-default",
            "key": wanted.key,
            "value": wanted.value or "10.99.0.33",
            "record_type": "A",
            "ttl": 0,
            "enabled": True,
        }
        change = changed.get(wanted.key.replace(".", "_").replace("-", "_"), {})
        if change is not None:
            listed.append(DnsRecord({**raw, **change}))
    return listed


def look(bgp: dict[str, Any] | None, dns: list[DnsRecord], wanted: list[WantedRecord] = WANTED) -> tuple[str, str]:
    drift = classify(BgpConfig(bgp) if bgp is not None else None, dns, bgpd_conf=CONF, stack=STACK, wanted=wanted)
    assert PASSWORD not in drift.what
    return drift.kind, drift.what


def test_the_records_known_before_up_leave_the_allocated_address_open() -> None:
    assert [(w.key, w.value) for w in WANTED] == [
        ("ha", "10.99.0.10"),
        ("home-assistant", "10.99.0.10"),
        ("home-assistant.k8s.home", "10.99.0.10"),
        ("jellyfin", None),
        ("jellyfin.k8s.home", None),
    ]


def test_as_installed_is_in_sync_and_nothing_installed_is_a_first_install() -> None:
    assert classify(BgpConfig(ALONE), records(), bgpd_conf=CONF, stack=STACK, wanted=WANTED) == IN_SYNC
    assert classify(BgpConfig(SHARED), records(), bgpd_conf=CONF, stack=STACK, wanted=WANTED) == IN_SYNC
    assert classify(None, [], bgpd_conf=CONF, stack=STACK, wanted=WANTED) == NOT_INSTALLED
    users = {**ALONE, "enabled": False, "description": "", "frr_bgpd_config": ""}
    assert classify(BgpConfig(users), [], bgpd_conf=CONF, stack=STACK, wanted=WANTED) == NOT_INSTALLED


@pytest.mark.parametrize(
    ("bgp", "dns", "what"),
    [
        (None, records(), "BGP config gone"),
        (
            {**ALONE, "frr_bgpd_config": CONF.replace("remote-as 65010", "remote-as 65011")},
            records(),
            "BGP config edited at frr_bgpd_config",
        ),
        ({**ALONE, "enabled": False}, records(), "BGP config edited at enabled"),
        (
            {**ALONE, "enabled": False, "description": "draft"},
            records(),
            "BGP config replaced by one not in force that is no stack's",
        ),
        (
            {**SHARED, "frr_bgpd_config": JOINED.text.replace(" neighbor metallb-udm timers 3 9\n", "")},
            records(),
            "BGP config (shared) edited at frr_bgpd_config",
        ),
        (
            {**SHARED, "frr_bgpd_config": shared_bgp.strip_stack(JOINED.text, "udm")},
            records(),
            "BGP config: this stack's blocks gone",
        ),
        (ALONE, records(jellyfin_k8s_home=None), "DNS record gone: jellyfin.k8s.home"),
        (ALONE, records(ha=None, jellyfin=None), "DNS records gone: ha, jellyfin"),
        (ALONE, records(ha={"value": "10.99.0.11"}), "DNS record edited: ha (value)"),
        (
            ALONE,
            records(jellyfin={"enabled": False, "ttl": 60}, home_assistant={"key": "Home-Assistant"}),
            "DNS records edited: home-assistant (key), jellyfin (ttl, enabled)",
        ),
        (
            {**ALONE, "frr_bgpd_config": ""},
            records(ha=None),
            "BGP config edited at frr_bgpd_config; DNS record gone: ha",
        ),
    ],
)
def test_the_stacks_part_changed_or_gone_is_repaired_named_by_field_never_by_value(
    bgp: dict[str, Any] | None, dns: list[DnsRecord], what: str
) -> None:
    assert look(bgp, dns) == ("repair", what)
    assert "10.99.0.11" not in what


def test_an_allocated_address_is_not_known_yet_so_only_the_other_fields_are_compared() -> None:
    assert look(ALONE, records(jellyfin={"value": "10.99.0.44"})) == ("in sync", "as installed")


def test_a_discovered_name_counts_only_by_its_presence() -> None:
    grafana = WantedRecord("grafana.k8s.home", "10.99.0.50", discovered=True)
    theirs = DnsRecord({"_id": "x", "key": "grafana.k8s.home", "value": "10.0.0.5", "record_type": "A"})
    # Someone else's record of that name (external-dns): apply leaves it alone, so it is no drift.
    assert look(ALONE, [*records(), theirs], [*WANTED, grafana]) == ("in sync", "as installed")
    assert look(ALONE, records(), [*WANTED, grafana]) == ("repair", "DNS record gone: grafana.k8s.home")


def test_a_doubled_name_is_left_to_apply() -> None:
    twin = DnsRecord({"_id": "twin", "key": "HA", "value": "10.99.0.10", "record_type": "A"})
    assert look(ALONE, [*records(), twin]) == ("repair", "DNS record doubled: ha (2)")


def test_a_config_the_stack_cannot_join_is_kept_and_its_refusal_shows_no_password() -> None:
    other_as = {**ALONE, "description": "mine", "frr_bgpd_config": "router bgp 64999\n"}
    kind, what = look(other_as, records(ha=None))
    assert kind == "kept" and "'router bgp 64999' (line 1)" in what and what.endswith("; DNS record gone: ha")
    # A neighbour of the user's at one of the stack's nodes, with a password: named, never quoted.
    clash = FOREIGN.replace(" neighbor 10.0.0.9 remote-as 65001\n", " neighbor 192.168.30.11 password hunter2\n")
    kind, what = look({**ALONE, "description": "mine", "frr_bgpd_config": clash}, records())
    assert kind == "kept" and "line 8 'neighbor 192.168.30.11 …'" in what and "hunter2" not in what
    # A refusal that would quote a password (here one that reads like the AS it quotes) has it blanked.
    quoting = {**other_as, "frr_bgpd_config": "router bgp 64999\n neighbor 10.1.1.1 password 64999\n"}
    kind, what = look(quoting, records())
    assert kind == "kept" and "'router bgp <redacted>' (line 1)" in what and "64999" not in what


def stacks_blocks() -> set[int]:
    """Indexes of the lines inside the stack's blocks of the shared text (markers excluded)."""
    return {i for b in shared_bgp.blocks(JOINED.text.split("\n")) for i in range(b.begin + 1, b.end)}


@given(st.data())
def test_a_line_of_the_users_anywhere_outside_the_stacks_blocks_is_never_repaired(data: st.DataObject) -> None:
    lines = JOINED.text.split("\n")
    blocks = shared_bgp.blocks(lines)
    at = data.draw(st.integers(0, len(lines)))
    following = lines[at] if at < len(lines) else ""
    indent = following[: len(following) - len(following.lstrip(" "))]  # as deep as the line it precedes
    words = data.draw(st.lists(st.sampled_from(["upstream", "pw", "x1", "note", "10.0.0.9"]), min_size=1))
    text = "\n".join([*lines[:at], f"{indent}! {' '.join(words)}", *lines[at:]])

    inside = any(b.begin < at <= b.end for b in blocks)
    kind, what = look({**SHARED, "frr_bgpd_config": text}, records())
    if inside:
        assert (kind, what) == ("repair", "BGP config (shared) edited at frr_bgpd_config")
        plan = plan_bgp(BgpConfig({**SHARED, "frr_bgpd_config": text}), INPUTS, None, STACK)
        assert plan.body is not None and plan.body["frr_bgpd_config"] == JOINED.text  # exactly the stack's back
    else:
        assert (kind, what) == ("in sync", "as installed")


@given(st.data())
def test_any_change_of_a_line_of_the_stacks_is_repaired_and_apply_puts_back_exactly_that(data: st.DataObject) -> None:
    shared = data.draw(st.booleans())
    base = SHARED if shared else ALONE
    lines = str(base["frr_bgpd_config"]).split("\n")
    mine = sorted(stacks_blocks()) if shared else [i for i, line in enumerate(lines) if line.strip()]
    at = data.draw(st.sampled_from(mine))
    replacement = data.draw(st.sampled_from([None, " neighbor metallb-udm remote-as 65011", "  maximum-paths 1"]))
    edited = [*lines[:at], *([] if replacement is None else [replacement]), *lines[at + 1 :]]
    if edited == lines:
        return
    live = {**base, "frr_bgpd_config": "\n".join(edited)}
    kind, what = look(live, records())
    assert kind == "repair" and what.startswith("BGP config") and "frr_bgpd_config" in what
    plan = plan_bgp(BgpConfig(live), INPUTS, None, STACK)
    assert plan.body is not None and plan.body["frr_bgpd_config"] == base["frr_bgpd_config"]


# --- AAAA records and the IPv6 part (issue 19) -------------------------------------------------

DUAL = parse_lab(dual_stack_lab(), stack=STACK)
DUAL_CONF = render_bgpd_conf(DUAL)
DUAL_WANTED = [WantedRecord.of(r) for r in known_dns_records(DUAL)]


def dual_records(**changed: dict[str, Any] | None) -> list[DnsRecord]:
    """The dual-stack lab's records as apply leaves them; ``changed`` by ref ("grafana_AAAA")."""
    listed = []
    for index, wanted in enumerate(DUAL_WANTED):
        raw = {"_id": f"r{index}", "key": wanted.key, "value": wanted.value or "", "record_type": wanted.record_type}
        change = changed.get(wanted.ref.replace(".", "_").replace(" ", "_"), {})
        if change is not None:
            listed.append(DnsRecord({**raw, "ttl": 0, "enabled": True, **change}))
    return listed


def look_dual(dns: list[DnsRecord]) -> tuple[str, str]:
    alone = {**ALONE, "frr_bgpd_config": DUAL_CONF}
    drift = classify(BgpConfig(alone), dns, bgpd_conf=DUAL_CONF, stack=STACK, wanted=DUAL_WANTED)
    return drift.kind, drift.what


def test_a_dual_stack_names_a_and_aaaa_records_apart() -> None:
    # grafana pins an address of each family; registry is IPv4 only, its address not allocated yet.
    assert [(w.ref, w.value) for w in DUAL_WANTED] == [
        ("grafana", "10.20.10.10"),
        ("grafana AAAA", "fd00:20:10::10"),
        ("grafana.lab.home", "10.20.10.10"),
        ("grafana.lab.home AAAA", "fd00:20:10::10"),
        ("registry", None),
        ("registry.lab.home", None),
    ]
    assert look_dual(dual_records()) == ("in sync", "as installed")
    assert look_dual(dual_records(grafana_AAAA=None)) == ("repair", "DNS record gone: grafana AAAA")
    assert look_dual(dual_records(grafana_lab_home_AAAA={"value": "fd00:20:10::11"})) == (
        "repair",
        "DNS record edited: grafana.lab.home AAAA (value)",
    )
    assert look_dual(dual_records(grafana={"record_type": "AAAA", "value": "fd00::1"})) == (
        "repair",
        "DNS record gone: grafana; DNS record doubled: grafana AAAA (2)",
    )


def test_a_users_aaaa_record_beside_the_stacks_a_record_is_no_drift() -> None:
    theirs = DnsRecord({"_id": "u", "key": "HA", "value": "fd00::10", "record_type": "AAAA", "ttl": 0})
    assert look(ALONE, [*records(), theirs]) == ("in sync", "as installed")


def test_the_ipv6_part_of_the_stacks_bgp_text_edited_is_repaired() -> None:
    edited = DUAL_CONF.replace("  neighbor metallb-udm-v6 route-map metallb-udm-in6 in\n", "")
    assert edited != DUAL_CONF
    live = {**ALONE, "frr_bgpd_config": edited}
    drift = classify(BgpConfig(live), dual_records(), bgpd_conf=DUAL_CONF, stack=STACK, wanted=DUAL_WANTED)
    assert (drift.kind, drift.what) == ("repair", "BGP config edited at frr_bgpd_config")
    # In a user's config with an IPv6 family of its own, of the dual lab's AS and router id.
    users = FOREIGN_V6.replace("router bgp 65000", "router bgp 64512").replace("192.168.30.1", "192.168.1.1")
    joined = shared_bgp.join(users, "mine", DUAL_CONF, STACK)
    shared = {**SHARED, "description": joined.description, "frr_bgpd_config": joined.text}
    assert classify(BgpConfig(shared), dual_records(), bgpd_conf=DUAL_CONF, stack=STACK, wanted=DUAL_WANTED) == IN_SYNC
    shared["frr_bgpd_config"] = joined.text.replace("  neighbor metallb-udm-v6 activate\n", "")
    drift = classify(BgpConfig(shared), dual_records(), bgpd_conf=DUAL_CONF, stack=STACK, wanted=DUAL_WANTED)
    assert (drift.kind, drift.what) == ("repair", "BGP config (shared) edited at frr_bgpd_config")
