"""The offline parts of ``unifi-os``: inputs, state lines, password masking and the plans."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.unifi.errors import BgpNotOursError, DnsConflictError, UsageError
from components.unifi.options import secret_fragments
from components.unifi.unifi_os.bgp import BgpConfig, mask_passwords, plan_bgp
from components.unifi.unifi_os.dns import DnsRecord, owned, plan_dns
from components.unifi.unifi_os.inputs import ApplyInputs, DesiredRecord, parse_ref, read_apply_inputs, record_ref
from components.unifi.unifi_os.state import StackState, parse_state, removed_line

CONF = "router bgp 64512\n neighbor 10.0.0.1 password s3cret pw\n neighbor PEERS password  other\n"


def test_mask_passwords_and_secret_fragments() -> None:
    masked = mask_passwords(CONF)
    assert "s3cret" not in masked and "other" not in masked
    assert " neighbor 10.0.0.1 password <redacted>\n neighbor PEERS password  <redacted>\n" in masked
    assert {"s3cret pw", "other"} <= set(secret_fragments({"UNIFI_BGPD_CONF": CONF}))


def stdin(conf: str, records: object, sha: str | None = None) -> str:
    digest = sha or hashlib.sha256(conf.encode()).hexdigest()
    return json.dumps({"description": "metallb-unifi stack lab", "bgpd_conf_sha256": digest, "records": records})


def test_read_apply_inputs() -> None:
    env = {"UNIFI_BGPD_CONF": CONF}
    inputs = read_apply_inputs(stdin(CONF, [{"key": "a.lan", "value": "10.0.0.9", "ttl": 0}]), env)
    assert inputs.records == (DesiredRecord("a.lan", "10.0.0.9", "A", 0, True),)
    with pytest.raises(UsageError, match="out of sync"):
        read_apply_inputs(stdin(CONF, [], sha="ab" * 32), env)
    with pytest.raises(UsageError, match="UNIFI_BGPD_CONF"):
        read_apply_inputs(stdin(CONF, []), {})
    with pytest.raises(UsageError, match="more than once"):
        read_apply_inputs(stdin(CONF, [{"key": "a.lan", "value": "1"}, {"key": "A.lan", "value": "2"}]), env)
    with pytest.raises(UsageError, match=r"records\[0\].ttl"):
        read_apply_inputs(stdin(CONF, [{"key": "a.lan", "value": "1", "ttl": -1}]), env)


def test_state_lines_round_trip() -> None:
    state = StackState("lab", "metallb-unifi stack lab", {"enabled": False}, {"a.lan": "id1"})
    stdout = f"progress\n{state.line()}\n"
    assert parse_state(stdout, "lab") == state
    assert parse_state(None, "lab") is None and parse_state("no state here\n", "lab") is None
    assert parse_state(stdout + removed_line("lab") + "\n", "lab") is None
    with pytest.raises(UsageError, match="belongs to stack 'lab'"):
        parse_state(stdout, "prod")
    with pytest.raises(UsageError, match="not JSON"):
        parse_state("metallb-unifi-state: {oops\n", "lab")


INPUTS = ApplyInputs("metallb-unifi stack lab", CONF, (DesiredRecord("a.lan", "10.0.0.9"),))


def test_plan_bgp() -> None:
    assert plan_bgp(None, INPUTS, None, "lab").action == "create"
    ours = BgpConfig({"_id": "x", "enabled": True, "description": INPUTS.description, "frr_bgpd_config": "old"})
    plan = plan_bgp(ours, INPUTS, None, "lab")  # a create that failed after writing it: adopted, not refused
    assert plan.action == "update" and plan.body is not None and plan.body["_id"] == "x"
    theirs = BgpConfig({"enabled": True, "description": "mine", "frr_bgpd_config": "router bgp 1\n"})
    with pytest.raises(BgpNotOursError, match="'mine'"):
        plan_bgp(theirs, INPUTS, None, "lab")
    # the config first taken over stays the one to put back
    state = StackState("lab", INPUTS.description, {"description": "first"}, {})
    assert plan_bgp(ours, INPUTS, state, "lab").previous_bgp == {"description": "first"}


def test_plan_dns() -> None:
    mine = DnsRecord({"_id": "m1", "key": "old.lan", "value": "10.0.0.1", "record_type": "A"})
    renamed = DnsRecord({"_id": "m2", "key": "moved.lan", "value": "10.0.0.2", "record_type": "A"})
    state = {"old.lan": "m1", "b.lan": "m2"}
    plan = plan_dns([mine, renamed], INPUTS.records, state)
    assert plan.creates == list(INPUTS.records) and plan.deletes == [mine] and plan.updates == []
    with pytest.raises(DnsConflictError, match=r"A\.LAN \(now A 10\.0\.0\.3\)"):
        plan_dns(
            [DnsRecord({"_id": "u", "key": "a.lan", "value": "10.0.0.3", "record_type": "A"})],
            [DesiredRecord("A.LAN", "1")],
            {},
        )


def test_a_record_recreated_by_an_undo_is_known_by_its_contents_only() -> None:
    state = {"a.lan": "gone-id"}
    contents = {"a.lan": {"value": "10.0.0.9", "record_type": "A", "ttl": 0, "enabled": True}}
    recreated = DnsRecord({"_id": "new", "key": "a.lan", "value": "10.0.0.9", "record_type": "A"})
    assert owned([recreated], state, contents) == [recreated]
    users = DnsRecord({"_id": "new", "key": "a.lan", "value": "10.0.0.7", "record_type": "A"})
    assert owned([users], state, contents) == []  # same name, other contents: someone else's
    assert owned([recreated], state, {}) == []  # a state line from before contents were kept
    with pytest.raises(DnsConflictError):
        plan_dns([users], [DesiredRecord("a.lan", "10.0.0.9")], state, contents)


def test_a_discovered_name_someone_else_has_is_left_alone_a_declared_one_refused() -> None:
    theirs = DnsRecord({"_id": "x1", "key": "grafana.lan", "value": "10.0.0.5", "record_type": "A"})
    discovered = DesiredRecord("grafana.lan", "10.10.10.20", discovered=True)

    plan = plan_dns([theirs], [discovered, DesiredRecord("k8s.lan", "10.10.10.10")], {})

    assert plan.left_alone == ["grafana.lan (now A 10.0.0.5)"]
    assert [r.key for r in plan.creates] == ["k8s.lan"]
    assert plan.updates == [] and plan.deletes == [] and "grafana.lan" not in plan.kept  # never owned
    with pytest.raises(DnsConflictError, match=r"grafana\.lan \(now A 10\.0\.0\.5\)"):
        plan_dns([theirs], [DesiredRecord("grafana.lan", "10.10.10.20")], {})


def test_the_discovered_mark_is_read_from_stdin_and_never_causes_a_write() -> None:
    records = [{"key": "grafana.lan", "value": "10.10.10.20", "discovered": True}]
    (record,) = read_apply_inputs(stdin(CONF, records), {"UNIFI_BGPD_CONF": CONF}).records
    assert record.discovered
    assert record == DesiredRecord("grafana.lan", "10.10.10.20")  # the mark is not the record's
    with pytest.raises(UsageError, match=r"records\[0\].discovered"):
        read_apply_inputs(stdin(CONF, [{**records[0], "discovered": "yes"}]), {"UNIFI_BGPD_CONF": CONF})


# --- AAAA records beside A records (issue 19) ---------------------------------------------------


def aaaa(key: str, value: str) -> DesiredRecord:
    return DesiredRecord(key, value, "AAAA")


def listed(record_id: str, key: str, value: str, record_type: str = "A") -> DnsRecord:
    return DnsRecord({"_id": record_id, "key": key, "value": value, "record_type": record_type})


def test_a_record_is_known_by_its_name_and_type_and_a_users_aaaa_record_is_left_alone() -> None:
    mine_a = listed("m1", "g.lan", "10.0.0.1")
    mine_aaaa = listed("m2", "g.lan", "fd00::1", "AAAA")
    users_aaaa = listed("u1", "nas.lan", "fd00::5", "AAAA")  # a name the stack has an A record for only
    state = {"g.lan": "m1", "g.lan AAAA": "m2"}
    wanted = [DesiredRecord("g.lan", "10.0.0.1"), aaaa("g.lan", "fd00::2"), DesiredRecord("nas.lan", "10.0.0.5")]
    plan = plan_dns([mine_a, mine_aaaa, users_aaaa], wanted, state)
    assert plan.creates == [DesiredRecord("nas.lan", "10.0.0.5")]
    assert plan.updates == [(mine_aaaa, aaaa("g.lan", "fd00::2"))]  # the AAAA record only, in place
    assert plan.deletes == [] and plan.kept == {"g.lan": "m1", "g.lan AAAA": "m2"}
    # The stack's last IPv6 pool gone: its AAAA record goes, its A record and the user's stay.
    plan = plan_dns([mine_a, mine_aaaa, users_aaaa], [DesiredRecord("g.lan", "10.0.0.1")], state)
    assert plan.deletes == [mine_aaaa] and plan.creates == [] and plan.updates == []
    # A state line from before AAAA records existed names an A record by its key alone.
    assert owned([mine_a, mine_aaaa], {"g.lan": "m1"}) == [mine_a]
    assert owned([mine_a, mine_aaaa], {"g.lan": "m2"}) == []  # that id is an AAAA record now: not the stack's


@pytest.mark.parametrize(
    ("theirs", "said"),
    [
        (listed("u", "G.lan", "fd00::9", "AAAA"), r"g\.lan AAAA \(now AAAA fd00::9\)"),
        (listed("u", "g.lan", "elsewhere.lan", "CNAME"), r"g\.lan AAAA \(now CNAME elsewhere\.lan\)"),
    ],
)
def test_a_users_record_of_the_same_name_and_type_or_a_cname_of_the_name_is_a_conflict(
    theirs: DnsRecord, said: str
) -> None:
    with pytest.raises(DnsConflictError, match=said):
        plan_dns([theirs], [aaaa("g.lan", "fd00::1")], {})
    discovered = DesiredRecord("g.lan", "fd00::1", "AAAA", discovered=True)
    assert plan_dns([theirs], [discovered], {}).left_alone == [said.replace("\\", "")]
    # Of another type and not a CNAME, it is no conflict.
    other = listed("u", "g.lan", "v=spf1 -all", "TXT")
    assert plan_dns([other], [aaaa("g.lan", "fd00::1")], {}).creates == [aaaa("g.lan", "fd00::1")]


def test_an_aaaa_record_recreated_by_an_undo_is_known_by_its_name_type_and_contents() -> None:
    state = {"a.lan AAAA": "gone-id"}
    contents = {"a.lan AAAA": {"value": "fd00::9", "record_type": "AAAA", "ttl": 0, "enabled": True}}
    recreated = listed("new", "a.lan", "fd00::9", "AAAA")
    assert owned([recreated, listed("a", "a.lan", "10.0.0.9")], state, contents) == [recreated]


def test_an_a_and_an_aaaa_record_of_one_name_are_two_records_of_stdin() -> None:
    env = {"UNIFI_BGPD_CONF": CONF}
    both = [{"key": "a.lan", "value": "10.0.0.9"}, {"key": "A.lan", "value": "fd00::9", "record_type": "AAAA"}]
    inputs = read_apply_inputs(stdin(CONF, both), env)
    assert [r.ref for r in inputs.records] == ["a.lan", "A.lan AAAA"]
    with pytest.raises(UsageError, match=r"a\.lan AAAA more than once"):
        read_apply_inputs(stdin(CONF, [both[1], {**both[1], "value": "fd00::8"}]), env)
    with pytest.raises(UsageError, match=r"records\[0\].key must be a host name"):
        read_apply_inputs(stdin(CONF, [{"key": "a lan", "value": "10.0.0.9"}]), env)


@given(
    key=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9.-]{0,30}", fullmatch=True),
    record_type=st.sampled_from(["A", "AAAA", "CNAME", "TXT"]),
)
def test_a_records_state_name_gives_back_its_name_and_type(key: str, record_type: str) -> None:
    assert parse_ref(record_ref(key, record_type)) == (key, record_type)
    state = StackState("lab", "metallb-unifi stack lab", None, {record_ref(key, record_type): "id1"})
    assert parse_state(state.line(), "lab") == state
