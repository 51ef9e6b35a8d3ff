"""Several stacks in the site's one BGP config text (components/unifi/unifi_os/shared_bgp.py):
each stack's blocks in and out, everything else byte for byte, every text valid FRR."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.artifacts.frr import render_bgpd_conf
from components.artifacts.shared_gateway import GatewayStack, compose_bgpd_conf
from components.config import Lab, parse_lab
from components.config.stack_names import stack_id
from components.unifi.unifi_os import shared_bgp as sb
from tests.artifacts.test_frr import bgpd_refusals, needs_bgpd, needs_vtysh, vtysh_check
from tests.artifacts.test_shared_gateway import raw_of, udm_test_raw


def udm() -> Lab:
    return parse_lab(raw_of("udm"), stack="udm")


def udm_test() -> Lab:
    return parse_lab(udm_test_raw(), stack="udm-test")


def third() -> Lab:
    """A third eBGP cluster with a hashed stack id (``dev_1`` is not an id as it is)."""
    raw = copy.deepcopy(udm_test_raw())
    raw["nodes"] = [{"name": "d1", "address": "192.168.50.11"}]
    raw["metallb"]["pools"] = [{"name": "dev", "protocol": "bgp", "addresses": ["10.99.2.0/28"]}]
    raw["bgp"] = {}
    raw["services"] = []
    return parse_lab(raw, stack="dev_1")


def dual_raw(v6: bool = True) -> dict[str, Any]:
    """A dual-stack eBGP cluster: its nodes and the gateway on fd00:60::/64 too, a pool of both
    families (``v6=False``: the same cluster after its last IPv6 pool went)."""
    raw = copy.deepcopy(udm_test_raw())
    raw["nodes"] = [
        {"name": "d1", "address": "192.168.60.11", "address6": "fd00:60::11"},
        {"name": "d2", "address": "192.168.60.12", "address6": "fd00:60::12"},
    ]
    raw["gateway"]["peerAddress6"] = "fd00:60::1"
    raw["metallb"]["pools"] = [
        {"name": "dual", "protocol": "bgp", "addresses": ["10.99.3.0/28", *(["fd00:99:3::/120"] if v6 else [])]}
    ]
    raw["services"] = []
    return raw


def dual() -> Lab:
    return parse_lab(dual_raw(), stack="dual")


LABS: dict[str, Callable[[], Lab]] = {"udm": udm, "udm-test": udm_test, "dev_1": third, "dual": dual}
CONF = {name: render_bgpd_conf(make()) for name, make in LABS.items()}
DUAL_V4 = render_bgpd_conf(parse_lab(dual_raw(v6=False), stack="dual"))  # "dual" without its IPv6 pool

FOREIGN = """frr defaults traditional
hostname udm
!
ip prefix-list mine seq 5 permit 10.1.0.0/24
!
router bgp 65000
 bgp router-id 192.168.30.1
 neighbor 10.0.0.9 remote-as 65001
 !
 address-family ipv4 unicast
  network 10.1.0.0/24
  neighbor 10.0.0.9 activate
 exit-address-family
exit
!
"""
FOREIGN_NO_AF = "router bgp 65000\n neighbor 10.0.0.9 remote-as 65001\n"
# The user's own IPv6 peering beside IPv4, and one with an IPv6 family only.
FOREIGN_V6 = """frr defaults traditional
!
ipv6 prefix-list mine6 seq 5 permit 2001:db8:1::/48
!
router bgp 65000
 bgp router-id 192.168.30.1
 neighbor 10.0.0.9 remote-as 65001
 neighbor 2001:db8::9 remote-as 65001
 !
 address-family ipv4 unicast
  neighbor 10.0.0.9 activate
 exit-address-family
 !
 address-family ipv6 unicast
  network 2001:db8:1::/48
  neighbor 2001:db8::9 activate
 exit-address-family
exit
!
"""
FOREIGN_V6_ONLY = """router bgp 65000
 neighbor 2001:db8::9 remote-as 65001
 !
 address-family ipv6 unicast
  neighbor 2001:db8::9 activate
 exit-address-family
exit
"""
# The user's lines with no router bgp: filters and a bfd profile kept in the BGP config (the last
# one not closed by 'exit', and no newline at the end).
FOREIGN_NO_ROUTER = """frr defaults traditional
!
ip prefix-list mine seq 5 permit 10.1.0.0/24
!
route-map mine permit 10
 match ip address prefix-list mine
exit
!
bfd
 profile slow
  detect-multiplier 5"""


def gateway_stack(name: str) -> GatewayStack:
    lab = LABS[name]()
    return GatewayStack(lab, lab.pinned_addresses)


def join(text: str | None, description: str, name: str) -> sb.Result:
    """What apply writes: a stack alone on an empty gateway, or with what is there."""
    if text is None:
        return sb.Result(CONF[name], sb.describe([name]))
    return sb.join(text, description, CONF[name], name)


def test_a_second_stack_composes_exactly_as_render_with_stack_does() -> None:
    both = join(CONF["udm"], sb.describe(["udm"]), "udm-test")
    assert both.text == compose_bgpd_conf([gateway_stack("udm"), gateway_stack("udm-test")])
    assert both.description == "metallb-unifi stacks udm, udm-test"
    # The first stack's next apply with nothing changed gives the same bytes: no write.
    assert sb.join(both.text, both.description, CONF["udm"], "udm") == both


def test_the_last_stack_but_one_leaving_gives_back_the_others_marker_less_file() -> None:
    both = join(CONF["udm"], sb.describe(["udm"]), "udm-test")
    assert sb.leave(both.text, both.description, "udm") == sb.Leave(
        "rewrite", CONF["udm-test"], "metallb-unifi stack udm-test"
    )
    assert sb.leave(both.text, both.description, "udm-test").text == CONF["udm"]


def test_a_foreign_config_of_the_same_as_is_kept_byte_for_byte() -> None:
    one = join(FOREIGN, "my bgp", "udm")
    assert one.description == "metallb-unifi stack udm + my bgp"
    assert sb.strip_stack(one.text, "udm") == FOREIGN
    assert "maximum-paths 3" in one.text and one.text.count("bgp router-id") == 1  # the user's router id
    two = join(one.text, one.description, "udm-test")
    assert two.description == "metallb-unifi stacks udm, udm-test + my bgp"
    left = sb.leave(two.text, two.description, "udm")
    assert left.kind == "rewrite" and left.description == "metallb-unifi stack udm-test + my bgp"
    assert sb.leave(left.text, left.description, "udm-test") == sb.Leave("kept", FOREIGN, "my bgp")


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (FOREIGN.replace("router bgp 65000", "router bgp 64512"), "runs 'router bgp 64512' (line 6)"),
        (FOREIGN.replace("router-id 192.168.30.1", "router-id 10.0.0.1"), "sets 'bgp router-id 10.0.0.1' (line 7)"),
        (FOREIGN.replace("  network 10", "  maximum-paths 8\n  network 10"), "sets 'maximum-paths 8' (line 11)"),
        (FOREIGN_NO_ROUTER + "\nroute-map metallb-udm-in permit 5\n", "line 12 'route-map metallb-udm-in …'"),
        (FOREIGN.replace("mine seq", "metallb-udm-pools seq"), "line 4 'ip prefix-list metallb-udm-pools …'"),
        (FOREIGN.replace("10.0.0.9 activate", "metallb-udm activate"), "line 12 'neighbor metallb-udm …'"),
        (FOREIGN.replace("10.0.0.9 remote", "192.168.30.12 remote"), "line 8 'neighbor 192.168.30.12 …'"),
        (FOREIGN.replace("hostname udm", "! metallb-unifi stack x begin"), "never closes it"),
    ],
)
def test_a_foreign_config_that_cannot_hold_the_stack_is_refused_naming_the_line(text: str, said: str) -> None:
    with pytest.raises(sb.SharedBgpRefusal, match="nothing was changed") as caught:
        join(text, "my bgp", "udm")
    assert said in str(caught.value)


def test_a_foreign_config_without_router_bgp_gets_the_stacks_shared_one_and_back_byte_for_byte() -> None:
    a = join(FOREIGN_NO_ROUTER, "my lists", "udm")
    assert a.description == "metallb-unifi stack udm + my lists"
    assert a.text.startswith(FOREIGN_NO_ROUTER + "\n! metallb-unifi stack udm begin\nip prefix-list metallb-udm-pools")
    shared = a.text.split("\n! metallb-unifi shared router begin\n")[1].split("\n")
    # The head compose_bgpd_conf writes, once; the filters before it, as FRR wants them.
    assert shared[:3] == compose_bgpd_conf([gateway_stack("udm"), gateway_stack("dev_1")]).split("\n")[24:27]
    assert a.text.count("router bgp") == 1 and a.text.count("bgp router-id") == 1
    assert a.text.endswith(" exit-address-family\nexit\n! metallb-unifi shared router end")
    assert join(a.text, a.description, "udm") == a  # the next apply with nothing changed: no write
    b = join(a.text, a.description, "udm-test")
    assert b.description == "metallb-unifi stacks udm, udm-test + my lists"
    assert b.text.count("router bgp") == 1 and b.text.count("! metallb-unifi shared router begin") == 1
    left = sb.leave(b.text, b.description, "udm")
    assert left == sb.Leave("rewrite", sb.strip_stack(b.text, "udm"), "metallb-unifi stack udm-test + my lists")
    assert "router bgp 65000" in left.text  # the stack still there keeps the shared router
    assert sb.leave(left.text, left.description, "udm-test") == sb.Leave("kept", FOREIGN_NO_ROUTER, "my lists")


def test_another_as_is_refused_by_the_stacks_shared_router_naming_the_key() -> None:
    a = join("ip prefix-list mine seq 5 permit 10.1.0.0/24\n", "my list", "udm")
    other = CONF["udm-test"].replace("router bgp 65000", "router bgp 64999")
    with pytest.raises(sb.SharedBgpRefusal) as caught:
        sb.join(a.text, a.description, other, "udm-test")
    said = str(caught.value)
    assert "the stacks on the gateway run 'router bgp 65000' (line 13)" in said
    assert "this stack's metallb-unifi:gateway.asn is 64999" in said and "nothing was changed" in said


def in_router(line: str) -> Callable[[str], str]:
    head = " no bgp default ipv4-unicast\n"
    return lambda text: text.replace(head, head + line + "\n")


@pytest.mark.parametrize(
    ("edit", "said", "on_remove"),
    [
        (in_router(" neighbor 10.0.0.9 remote-as 1"), "(line 16: 'neighbor 10.0.0.9 remote-as 1')", True),
        (in_router(" bgp log-neighbor-changes"), "(line 16: 'bgp log-neighbor-changes')", True),
        (lambda t: t.replace("! metallb-unifi shared router end", ""), "0 '! metallb-unifi shared router end'", True),
        (lambda t: t + "\nrouter bgp 65000\n", "a 'router bgp' of its own (line 36)", False),
    ],
)
def test_a_changed_shared_router_is_refused(edit: Callable[[str], str], said: str, on_remove: bool) -> None:
    a = join("ip prefix-list mine seq 5 permit 10.1.0.0/24\n", "my list", "udm")
    with pytest.raises(sb.SharedBgpRefusal, match="nothing was changed") as caught:
        sb.join(edit(a.text), a.description, CONF["udm-test"], "udm-test")
    assert said in str(caught.value)
    if on_remove:  # it goes when the last stack leaves: not with a line of the user's in it
        with pytest.raises(sb.SharedBgpRefusal, match="nothing was changed") as caught:
            sb.leave(edit(a.text), a.description, "udm")
        assert said in str(caught.value)


def test_stacks_that_cannot_share_the_gateway_are_refused_naming_both() -> None:
    raw = udm_test_raw()
    raw["nodes"] = [{"name": "t1", "address": "192.168.30.11"}]
    raw["metallb"]["pools"][0]["addresses"] = ["10.99.0.0/28"]
    raw["services"] = []
    conf = render_bgpd_conf(parse_lab(raw, stack="udm-test"))
    with pytest.raises(sb.SharedBgpRefusal) as caught:
        sb.join(CONF["udm"], sb.describe(["udm"]), conf, "udm-test")
    text = str(caught.value)
    assert "2 conflicts" in text and "192.168.30.11 is a neighbour of stack udm" in text
    assert "pool 10.99.0.0/28 overlaps stack udm's 10.99.0.0/26" in text


def test_stacks_in_a_kept_config_that_cannot_share_the_gateway_are_refused_too() -> None:
    raw = udm_test_raw()
    raw["nodes"] = [{"name": "t1", "address": "192.168.30.12"}]
    conf = render_bgpd_conf(parse_lab(raw, stack="udm-test"))
    one = join(FOREIGN, "my bgp", "udm")
    with pytest.raises(sb.SharedBgpRefusal, match=r"192\.168\.30\.12 is a neighbour of stack udm too"):
        sb.join(one.text, one.description, conf, "udm-test")


def test_another_stacks_hand_edited_file_is_refused() -> None:
    edited = CONF["udm"].replace(" neighbor 192.168.30.13", " neighbor 192.168.30.14")
    with pytest.raises(sb.SharedBgpRefusal, match="run pulumi up for stack udm first"):
        sb.join(edited + "! mine\n", sb.describe(["udm"]), CONF["udm-test"], "udm-test")


def test_the_description_says_who_is_there_whatever_the_order() -> None:
    assert sb.describe(["b", "a"]) == sb.describe(["a", "b"]) == "metallb-unifi stacks a, b"
    assert sb.owners("metallb-unifi stacks a, b + x + y") == (["a", "b"], "x + y")
    assert sb.owners("metallb-unifi stack a") == (["a"], None)
    assert sb.owners("metallb-unifi stack a + ") == (["a"], "")
    assert sb.owners("my bgp") is None


# --- IPv6 (issue 19) --------------------------------------------------------------------------


def test_a_dual_stack_stack_joins_as_render_with_stack_composes_it_and_leaves_the_other_as_it_was() -> None:
    both = join(CONF["udm"], sb.describe(["udm"]), "dual")
    assert both.text == compose_bgpd_conf([gateway_stack("udm"), gateway_stack("dual")])
    assert both.text.count(" address-family ipv6 unicast") == 1
    assert sb.join(both.text, both.description, CONF["udm"], "udm") == both  # nothing changed: no write
    (part,) = [p for p in sb.composed_parts(both.text) or [] if p.id == "dual"]
    assert part == sb.parse_rendered(CONF["dual"], "dual")  # its IPv6 family recovered from the markers
    assert part.nodes() == ["192.168.60.11", "192.168.60.12", "fd00:60::11", "fd00:60::12"]
    assert [str(pool) for pool in part.pools()] == ["10.99.3.0/28", "fd00:99:3::/120"]
    assert sb.leave(both.text, both.description, "udm").text == CONF["dual"]
    assert sb.leave(both.text, both.description, "dual").text == CONF["udm"]


@pytest.mark.parametrize(
    "base",
    [None, FOREIGN, FOREIGN_V6, FOREIGN_V6_ONLY, FOREIGN_NO_ROUTER],
    ids=["udm-alone", "foreign", "foreign-v6", "foreign-v6-only", "no-router"],
)
def test_removing_a_stacks_last_ipv6_pool_removes_its_ipv6_lines_and_nothing_else(base: str | None) -> None:
    text, description = (CONF["udm"], sb.describe(["udm"])) if base is None else (base, "my bgp")
    with_v6 = sb.join(text, description, CONF["dual"], "dual")
    without = sb.join(with_v6.text, with_v6.description, DUAL_V4, "dual")
    assert without == sb.join(text, description, DUAL_V4, "dual")  # as if it never had IPv6
    assert "metallb-dual-v6" in with_v6.text
    names = ("metallb-dual-v6", "metallb-dual-pools6", "metallb-dual-in6", "fd00:60::")
    assert not [line for line in without.text.split("\n") if any(name in line for name in names)]
    if base in (FOREIGN_V6, FOREIGN_V6_ONLY):
        assert sb.strip_stack(without.text, "dual") == base  # the user's IPv6 family stays, byte for byte
    elif base is None:
        assert " address-family ipv6 unicast" not in without.text  # no stack peers over IPv6 any more


def test_in_a_kept_config_the_ipv6_lines_go_into_the_users_ipv6_family_after_the_groups() -> None:
    one = join(FOREIGN_V6, "my bgp", "dual")
    assert sb.strip_stack(one.text, "dual") == FOREIGN_V6
    lines = one.text.split("\n")
    v4, v6 = lines.index(" address-family ipv4 unicast"), lines.index(" address-family ipv6 unicast")
    group = lines.index(" neighbor metallb-dual-v6 peer-group")
    assert group < v4 < lines.index("  neighbor metallb-dual activate") < v6
    assert v6 < lines.index("  neighbor metallb-dual-v6 activate") < lines.index(" exit-address-family", v6)
    assert lines.count(" address-family ipv6 unicast") == 1  # no family of its own beside the user's
    # The user's IPv6 family sets its own maximum-paths: the stack's must be the same (then it adds
    # none), or is refused.
    same = join(FOREIGN_V6.replace("  network 2001", "  maximum-paths 3\n  network 2001"), "my bgp", "dual").text
    same_lines = same.split("\n")
    (v6_block,) = [b for b in sb.blocks(same_lines) if b.section == sb.V6]
    assert same_lines[v6_block.begin + 1 : v6_block.end] == [
        "  neighbor metallb-dual-v6 activate",
        "  neighbor metallb-dual-v6 route-map metallb-dual-in6 in",
        "  neighbor metallb-dual-v6 route-map metallb-dual-out out",
    ]
    with pytest.raises(sb.SharedBgpRefusal, match="nothing was changed") as caught:
        join(FOREIGN_V6.replace("  network 2001", "  maximum-paths 8\n  network 2001"), "my bgp", "dual")
    assert "sets 'maximum-paths 8' (line 15)" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (FOREIGN_V6.replace("mine6 seq", "metallb-dual-pools6 seq"), "line 3 'ipv6 prefix-list metallb-dual-pools6 …'"),
        (
            FOREIGN_V6.replace("2001:db8::9 activate", "metallb-dual-v6 activate"),
            "line 16 'neighbor metallb-dual-v6 …'",
        ),
        (FOREIGN_V6.replace("2001:db8::9 remote", "fd00:60::12 remote"), "line 8 'neighbor fd00:60::12 …'"),
    ],
)
def test_a_users_line_on_the_stacks_ipv6_names_or_neighbours_is_refused(text: str, said: str) -> None:
    with pytest.raises(sb.SharedBgpRefusal, match="nothing was changed") as caught:
        join(text, "my bgp", "dual")
    assert said in str(caught.value)


def test_stacks_sharing_an_ipv6_neighbour_or_pool_are_refused() -> None:
    raw = dual_raw()
    raw["nodes"] = [{"name": "x", "address": "192.168.70.11", "address6": "fd00:60::12"}]
    raw["metallb"]["pools"][0]["addresses"] = ["10.99.4.0/28", "fd00:99:3::80/122"]
    conf = render_bgpd_conf(parse_lab(raw, stack="other"))
    for text, description in ((CONF["dual"], sb.describe(["dual"])), (join(FOREIGN_V6, "my bgp", "dual").text, "")):
        with pytest.raises(sb.SharedBgpRefusal) as caught:
            sb.join(text, description or sb.describe(["dual"], "my bgp"), conf, "other")
        said = str(caught.value)
        assert "fd00:60::12 is a neighbour of stack dual" in said
        assert "pool fd00:99:3::80/122 overlaps stack dual's fd00:99:3::/120" in said


# --- any order of joins and leaves, on any base -----------------------------------------------

BASES = st.sampled_from([None, FOREIGN, FOREIGN_NO_AF, FOREIGN_NO_ROUTER, FOREIGN_V6, FOREIGN_V6_ONLY])
STEPS = st.lists(st.tuples(st.sampled_from(sorted(LABS)), st.booleans()), min_size=1, max_size=8)


def run_steps(base: str | None, steps: list[tuple[str, bool]]) -> list[tuple[str | None, str, set[str]]]:
    """Each step: a stack applies (True) or is removed (False); the texts after each, with who is on."""
    text, description, on = base, "my bgp" if base is not None else "", set[str]()
    seen = []
    for name, applying in steps:
        if applying:
            alone = text is None or (sb.owners(description) == ([name], None) and not sb.has_markers(text))
            result = join(None, "", name) if alone else join(text, description, name)
            text, description = result.text, result.description
            on.add(name)
        elif name in on:
            left = sb.leave(text or "", description, name)
            on.discard(name)
            if left.kind == "original":
                text, description = None, ""
            else:
                text, description = left.text, left.description
        seen.append((text, description, set(on)))
    return seen


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=BASES, steps=STEPS)
def test_every_step_holds_exactly_the_stacks_on_and_every_other_line(
    base: str | None, steps: list[tuple[str, bool]]
) -> None:
    for text, description, on in run_steps(base, steps):
        if not on:
            assert text == base  # the last one out leaves what the first one found
            assert description == ("my bgp" if base is not None else "")
            continue
        assert text is not None
        assert sb.owners(description) is not None and set(sb.owners(description)[0]) == on  # type: ignore[index]
        if base is None and len(on) == 1:
            assert text == CONF[next(iter(on))]  # one stack alone: today's file
            continue
        ids = {stack_id(name) for name in on}
        assert sb.stack_ids(text) == ids
        rest = text
        for ident in ids:
            rest = sb.strip_stack(rest, ident)
        if base is not None:
            assert sb.without_shared_router(rest) == base  # every line of the user's, byte for byte
            assert text.count("router bgp") == 1
        else:
            assert text == compose_bgpd_conf([gateway_stack(name) for name in on])
        # Each stack's own lines are exactly its rendered ones.
        for name in on:
            part = sb.parse_rendered(CONF[name], stack_id(name))
            assert all(line in text.split("\n") for line in (*part.filter, *part.router, *part.af, *part.af6))


@settings(max_examples=20, deadline=None)
@given(base=BASES, order=st.permutations(sorted(LABS)))
def test_the_text_does_not_depend_on_the_order_the_stacks_came_in(base: str | None, order: list[str]) -> None:
    first = run_steps(base, [(name, True) for name in sorted(LABS)])[-1][:2]
    assert run_steps(base, [(name, True) for name in order])[-1][:2] == first


USER_LINES = st.sampled_from(
    [
        "",
        "!",
        "! kept by hand",
        "frr defaults traditional",
        "hostname udm",
        "log syslog informational",
        "ip prefix-list mine seq 5 permit 10.1.0.0/24",
        "ip route 10.9.0.0/24 192.168.1.1",
        "route-map mine permit 10",
        " match ip address prefix-list mine",
        "exit",
        "bfd",
        " profile slow",
        "  detect-multiplier 5",
    ]
)
NO_ROUTER = st.builds(
    lambda first, lines, end: "\n".join([first, *lines]) + end,
    USER_LINES.filter(str.strip),
    st.lists(USER_LINES, max_size=10),
    st.sampled_from(["", "\n", "\n\n"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=NO_ROUTER, steps=STEPS)
def test_any_config_of_the_users_without_router_bgp_comes_back_byte_for_byte(
    base: str, steps: list[tuple[str, bool]]
) -> None:
    for text, description, on in run_steps(base, [*steps, *((name, False) for name in sorted(LABS))]):
        assert text is not None
        if not on:
            assert (text, description) == (base, "my bgp")
            continue
        assert text.count("router bgp ") == 1 and text.startswith(base.removesuffix("\n"))
        rest = text
        for name in on:
            rest = sb.strip_stack(rest, stack_id(name))
        assert sb.without_shared_router(rest) == base


# --- FRR's own parser -------------------------------------------------------------------------


KINDS = {
    None: "empty",
    FOREIGN: "foreign",
    FOREIGN_NO_AF: "foreign-no-af",
    FOREIGN_NO_ROUTER: "no-router",
    FOREIGN_V6: "foreign-v6",
    FOREIGN_V6_ONLY: "foreign-v6-only",
}


def every_text(bases: Sequence[str | None] = tuple(KINDS)) -> list[Any]:
    texts = []
    for base in bases:
        kind = KINDS[base]
        steps = [("udm", True), ("dual", True), ("dev_1", True), ("udm-test", True), ("udm", False), ("dev_1", False)]
        steps += [("dual", False)]
        for index, (text, _, on) in enumerate(run_steps(base, steps)):
            if text is not None:
                texts.append(pytest.param(text, id=f"{kind}-{index}-{len(on)}"))
    return texts


def handed_on() -> Any:
    both = join(CONF["udm"], sb.describe(["udm"]), "udm-test")
    original = {"enabled": False, "description": "draft", "frr_bgpd_config": "router bgp 1\n"}
    left = sb.leave(both.text, both.description, "udm", handing=original)
    assert sb.split_original(left.text) == (CONF["udm-test"], original, left.text.split("\n")[0])
    assert sb.leave(left.text, left.description, "udm-test") == sb.Leave("original", original=original)
    return pytest.param(left.text, id="original-handed-on")


@needs_vtysh
@pytest.mark.parametrize("text", [*every_text(), handed_on()])
def test_vtysh_accepts_every_text_written(text: str, tmp_path: Path) -> None:
    result = vtysh_check(text, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_bgpd
# Not the base with a bfd profile: bfdd's lines, which bgpd alone does not know.
@pytest.mark.parametrize("text", every_text([base for base in KINDS if base != FOREIGN_NO_ROUTER]))
def test_bgpd_takes_every_line_of_every_text_written(text: str, tmp_path: Path) -> None:
    # Beyond the grammar: every group is defined before a family activates it, in every layout.
    # (A user's `network` line makes the dry run ask zebra, which is not running, about its next
    # hop: that log line is about the missing zebra, not about the config.)
    refused = [line for line in bgpd_refusals(text, tmp_path) if "zclient_send_message() failed" not in line]
    assert refused == []
