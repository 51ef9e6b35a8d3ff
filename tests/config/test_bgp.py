"""`metallb-unifi:bgp`: the session's timers, password, BFD and multihop (and which speaker mode
and gateway can express them), and the node selectors that choose which nodes peer."""

from __future__ import annotations

from typing import Any

import pytest

from components.config.parse import parse_lab
from tests.config.raw_labs import REQUIRED, Case, assert_problem, cases, edit, edited, k

SESSION: dict[str, Case] = {
    "bgp not an object": ("usg", [(("bgp",), [])], "bgp", "must be an object, got a list"),
    "unknown key in bgp": ("usg", [(("bgp", "holdtime"), "90s")], "bgp.holdtime", "did you mean 'holdTime'?"),
    "unknown key in bgp.bfd": (
        "unifi-os",
        [(("bgp", "bfd"), {"detectMultiplyer": 3})],
        "bgp.bfd.detectMultiplyer",
        "did you mean 'detectMultiplier'?",
    ),
    "bgp.peerPort (usg)": ("usg", [(("bgp", "peerPort"), 1179)], "bgp.peerPort", "unknown key"),
    "bgp.peerPort (unifi-os)": ("unifi-os", [(("bgp", "peerPort"), 1179)], "bgp.peerPort", "unknown key"),
    "ebgpMultiHop in native mode": (
        "usg",
        [(("bgp", "ebgpMultiHop"), True)],
        "bgp.ebgpMultiHop",
        "is an FRR-mode feature (native MetalLB always allows multihop); set metallb.mode to frr or frr-k8s",
    ),
    "bfd in native mode": (
        "unifi-os",
        [(("metallb", "mode"), "native"), (("bgp", "bfd"), {"detectMultiplier": 3})],
        "bgp.bfd",
        "BFD needs MetalLB's FRR mode; set metallb.mode to frr or frr-k8s",
    ),
    "keepaliveTime in native mode": (
        "unifi-os",
        [(("metallb", "mode"), "native"), (("bgp", "holdTime"), "9s"), (("bgp", "keepaliveTime"), "3s")],
        "bgp.keepaliveTime",
        "native MetalLB refuses keepalive-time (FRR modes only)",
    ),
    "bfd with a USG": (
        "usg",
        [(("metallb", "mode"), "frr"), (("bgp", "bfd"), {})],
        "bgp.bfd",
        "a USG has no BFD for BGP; unifi-os gateways only",
    ),
    # Regression: str.isdigit() accepts '²' and other non-ASCII digits that int() rejects (ValueError).
    "holdTime '²'": ("usg", [(("bgp", "holdTime"), "²")], "bgp.holdTime", "must be a duration in whole seconds"),
    # Regression: int() of a string with more than 4300 digits raises ValueError.
    "holdTime of 5000 digits": (
        "usg",
        [(("bgp", "holdTime"), "1" * 5000 + "s")],
        "bgp.holdTime",
        "must be a duration in whole seconds",
    ),
}


@cases(SESSION)
def test_session_options_and_what_the_mode_or_gateway_can_express(base, edits, key, fragment):
    assert_problem(edited(base, *edits), k(key), fragment)


def test_every_unusable_bfd_value_is_reported_not_only_the_first() -> None:
    bfd = {"receiveInterval": 5, "transmitInterval": 70000, "detectMultiplier": 1}
    raw = edited("unifi-os", (("metallb", "mode"), "frr"), (("bgp", "bfd"), bfd))
    for key in bfd:
        assert_problem(raw, k(f"bgp.bfd.{key}"), "")


MAX_HOLD = "BGP hold time is at most 65535 seconds"
USG_HOLD = "a USG accepts a hold time of 0 or 4-65535 seconds"
METALLB_HOLD = "MetalLB accepts 0 (no keepalives) or at least 3s"


@pytest.mark.parametrize(
    ("kind", "hold", "expected"),
    [
        ("usg", 0, 0),
        ("usg", "0s", 0),
        ("usg", 1, f"1s: {METALLB_HOLD}"),
        ("usg", 3, f"3s: {USG_HOLD}"),
        ("usg", "3s", f"3s: {USG_HOLD}"),
        ("usg", 4, 4),
        ("usg", "1m30s", 90),
        ("usg", "70000s", f"70000s: {USG_HOLD}"),
        ("unifi-os", 0, 0),
        ("unifi-os", 2, f"2s: {METALLB_HOLD}"),
        ("unifi-os", 3, 3),
        ("unifi-os", "3s", 3),
        ("unifi-os", 65535, 65535),
        ("unifi-os", "70000s", f"70000s: {MAX_HOLD}"),
        ("unifi-os", 70000, "70000 is out of range: allowed 0..65535 of seconds"),
        ("unifi-os", "90x", "must be a duration in whole seconds like 90s, 1m30s or 90, got '90x'"),
        ("unifi-os", True, "must be a duration in whole seconds"),
    ],
)
def test_hold_time_limits_of_metallb_and_the_gateway(kind: str, hold: Any, expected: int | str) -> None:
    """``expected``: the hold time in seconds the lab gets, or a fragment of the problem."""
    raw = edited(kind, (("bgp", "holdTime"), hold))
    if isinstance(expected, int):
        assert parse_lab(raw, stack="lab").bgp.hold_time_s == expected
    else:
        assert_problem(raw, k("bgp.holdTime"), expected)


@pytest.mark.parametrize(
    ("hold", "keepalive", "fragment"),
    [
        ("9s", "10s", "10s is longer than holdTime (9s)"),
        ("9s", "1m", "60s is longer than holdTime (9s)"),
        (None, "3s", "needs bgp.holdTime too"),
        ("9s", "3s", None),
    ],
)
def test_keepalive_time_must_not_exceed_the_hold_time(hold: Any, keepalive: Any, fragment: str | None) -> None:
    raw = edited("unifi-os", (("bgp", "keepaliveTime"), keepalive))
    if hold is not None:
        edit(raw, ("bgp", "holdTime"), hold)
    if fragment is None:
        assert parse_lab(raw, stack="lab").bgp.keepalive_time_s == 3
    else:
        assert_problem(raw, k("bgp.keepaliveTime"), fragment)


def test_keepalive_time_must_not_exceed_a_hold_time_of_zero() -> None:
    # MetalLB refuses keepaliveTime > holdTime, also when holdTime is 0.
    raw = edited("unifi-os", (("bgp", "holdTime"), 0), (("bgp", "keepaliveTime"), "10s"))
    assert_problem(raw, k("bgp.keepaliveTime"), "10s is longer than holdTime (0s)")
    lab = parse_lab(edited("unifi-os", (("bgp", "holdTime"), 0), (("bgp", "keepaliveTime"), 0)), stack="lab")
    assert (lab.bgp.hold_time_s, lab.bgp.keepalive_time_s) == (0, 0)


PASSWORDS: dict[str, Case] = {
    "password with a space": (
        "usg",
        [(("bgp", "password"), "has space")],
        "bgp.password",
        "must be 1-80 printable ASCII characters without spaces, quotes or backslashes",
    ),
    "password too long": ("usg", [(("bgp", "password"), "x" * 81)], "bgp.password", "it is 81 long"),
    "password not a string": ("usg", [(("bgp", "password"), 1234)], "bgp.password", "must be a string"),
}


@cases(PASSWORDS)
def test_the_password_is_what_both_ends_accept(base, edits, key, fragment):
    assert_problem(edited(base, *edits), k(key), fragment)


def test_an_encrypted_password_is_an_unknown_secret() -> None:
    lab = parse_lab(edited("usg", (("bgp", "password"), {"secure": "v1:AAAAbbbb"})), stack="lab")
    assert lab.bgp.password is not None
    assert lab.bgp.password.value is None and not lab.bgp.password.known
    assert lab.bgp.password.key == k("bgp.password")
    assert "AAAAbbbb" not in repr(lab)


def test_a_password_never_shows_in_repr() -> None:
    lab = parse_lab(edited("usg", (("bgp", "password"), "s3cr3t-Pa55")), stack="lab")
    assert lab.bgp.password is not None and lab.bgp.password.value == "s3cr3t-Pa55"
    assert "s3cr3t" not in repr(lab)


NODE_SELECTORS: dict[str, Case] = {
    "selector selects no node": (
        "usg",
        [(("bgp", "nodeSelectors"), [{"matchLabels": {"role": "none"}}])],
        "bgp.nodeSelectors",
        "selects no configured node: nothing would peer with the gateway",
    ),
    "empty selector": (
        "usg",
        [(("bgp", "nodeSelectors"), [{}])],
        "bgp.nodeSelectors[0]",
        "an empty selector matches every node",
    ),
    "In without values": (
        "usg",
        [(("bgp", "nodeSelectors"), [{"matchExpressions": [{"key": "zone", "operator": "In"}]}])],
        "bgp.nodeSelectors[0].matchExpressions[0].values",
        "operator In needs at least one value",
    ),
    "matchExpressions[0].operator": (
        "usg",
        [(("bgp", "nodeSelectors"), [{"matchExpressions": [{"key": "zone"}]}])],
        "bgp.nodeSelectors[0].matchExpressions[0].operator",
        REQUIRED,
    ),
    "unknown key in bgp.nodeSelectors[0]": (
        "usg",
        [(("bgp", "nodeSelectors"), [{"matchLabels": {"kubernetes.io/hostname": "cp1"}, "matchLabel": {}}])],
        "bgp.nodeSelectors[0].matchLabel",
        "did you mean 'matchLabels'?",
    ),
    "unknown key in bgp.nodeSelectors[0].matchExpressions[0]": (
        "usg",
        [
            (
                ("bgp", "nodeSelectors"),
                [{"matchExpressions": [{"key": "zone", "operator": "Exists", "operater": "In"}]}],
            )
        ],
        "bgp.nodeSelectors[0].matchExpressions[0].operater",
        "did you mean 'operator'?",
    ),
}


@cases(NODE_SELECTORS)
def test_node_selectors_and_their_match_expressions(base, edits, key, fragment):
    assert_problem(edited(base, *edits), k(key), fragment)
