"""A user's own config.gateway.json settings: what an install would drop, outside what the stack
owns; the blog post's file and a file with one extra setting; the rules for leaves, arrays, empty
objects and type changes; paths and the refusal line."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from components.artifacts.usg_gateway import config_gateway_document, merge_base, render_config_gateway
from components.config import Lab, parse_lab
from components.config.stack_files import read_stack_config
from components.config.stack_names import filter_names
from components.unifi.kept_settings import (
    describe_refusal,
    dropped_settings,
    owned_paths,
    setting_path,
)
from tests.blog_post import POST_CONFIG_GATEWAY
from tests.config.strategies import valid_configs

ROOT = Path(__file__).resolve().parents[2]

Part = str | int
Parts = tuple[Part, ...]


def lab_stack(base: dict[str, Any] | None = None) -> Lab:
    """The post's lab (Pulumi.lab.yaml); with ``base``, as if gateway.baseConfigFile held it."""
    raw = read_stack_config(ROOT / "Pulumi.lab.yaml")
    if base is None:
        return parse_lab(raw, stack="lab")
    raw["gateway"]["baseConfigFile"] = "original-copy.json"
    files = {"original-copy.json": json.dumps(base)}
    return parse_lab(raw, read_file=files.__getitem__, stack="lab")


def owned_by(lab: Lab) -> list[tuple[str, ...]]:
    domain = lab.gateway.dns_domain
    return owned_paths(lab.gateway.asn, [service.hostname(domain) for service in lab.services], lab.filter_names)


def with_dns_option(document: dict[str, Any], option: str) -> dict[str, Any]:
    return {**copy.deepcopy(document), "service": {"dns": {"forwarding": {"options": [option]}}}}


# --- the post's lab -------------------------------------------------------------------------


def test_the_posts_own_file_installs_without_dropping_anything() -> None:
    lab = lab_stack()
    installed = config_gateway_document(lab, lab.pinned_addresses)
    assert dropped_settings(POST_CONFIG_GATEWAY, installed, owned_by(lab)) == []


def test_one_extra_dns_forwarding_option_is_reported_by_its_path_until_the_base_file_is_given() -> None:
    original = with_dns_option(POST_CONFIG_GATEWAY, "server=/corp.example/10.0.0.53")
    lab = lab_stack()
    installed = config_gateway_document(lab, lab.pinned_addresses)
    dropped = dropped_settings(original, installed, owned_by(lab))
    assert dropped == ["service.dns.forwarding.options[0]"]

    with_base = lab_stack(base=original)
    installed = config_gateway_document(with_base, with_base.pinned_addresses)
    assert dropped_settings(original, installed, owned_by(with_base)) == []


def test_the_stacks_bgp_instance_and_host_names_are_its_own_but_a_users_other_hosts_are_not() -> None:
    original = copy.deepcopy(POST_CONFIG_GATEWAY)
    original["protocols"]["bgp"]["64512"]["neighbor"]["10.10.0.50"] = {"remote-as": "64512"}
    hosts = original["system"]["static-host-mapping"]["host-name"]
    hosts["k8s-dashboard.service"]["alias"].append("dash")
    hosts["nas.lan"] = {"inet": ["192.168.1.20"]}
    lab = lab_stack()
    installed = config_gateway_document(lab, lab.pinned_addresses)
    assert dropped_settings(original, installed, owned_by(lab)) == [
        'system.static-host-mapping.host-name."nas.lan".inet[0]'
    ]


def test_owned_paths_are_the_filter_the_bgp_instance_and_each_host_name_once_in_order() -> None:
    assert owned_paths(64512, ["b.lab", "a.lab", "b.lab"], filter_names("lab")) == [
        ("policy", "prefix-list", "metallb-lab-pools"),
        ("policy", "route-map", "metallb-lab-in"),
        ("policy", "route-map", "metallb-lab-out"),
        ("protocols", "bgp", "64512"),
        ("system", "static-host-mapping", "host-name", "a.lab"),
        ("system", "static-host-mapping", "host-name", "b.lab"),
    ]
    assert owned_paths(4200000000, [], filter_names("dev_1"))[3:] == [("protocols", "bgp", "4200000000")]


def test_the_stacks_filter_is_its_own_but_a_users_other_policies_are_not() -> None:
    # An original that already has this stack's filter names (a copy of an earlier install) and
    # a prefix-list and route-map of the user's own: the stack rewrites its own names, and keeps
    # the user's only if the installed file still has them.
    lab = lab_stack()
    installed = config_gateway_document(lab, lab.pinned_addresses)
    names = lab.filter_names
    original = copy.deepcopy(POST_CONFIG_GATEWAY)
    original["policy"] = {
        "prefix-list": {
            names.prefix_list: {"rule": {"10": {"action": "permit", "prefix": "0.0.0.0/0", "le": "32"}}},
            "vpn-in": {"rule": {"10": {"action": "permit", "prefix": "172.16.0.0/12", "le": "32"}}},
        },
        "route-map": {names.route_map_in: {"rule": {"10": {"action": "permit"}}}},
    }
    assert dropped_settings(original, installed, owned_by(lab)) == [
        "policy.prefix-list.vpn-in.rule.10.action",
        "policy.prefix-list.vpn-in.rule.10.le",
        "policy.prefix-list.vpn-in.rule.10.prefix",
    ]
    assert installed["policy"]["prefix-list"][names.prefix_list]["rule"] == {
        "10": {"action": "permit", "prefix": "10.10.10.10/31", "le": "32"},
        "20": {"action": "permit", "prefix": "10.10.10.12/30", "le": "32"},
        "30": {"action": "permit", "prefix": "10.10.10.16/28", "le": "32"},
        "40": {"action": "permit", "prefix": "10.10.10.32/27", "le": "32"},
        "50": {"action": "permit", "prefix": "10.10.10.64/26", "le": "32"},
        "60": {"action": "permit", "prefix": "10.10.10.128/26", "le": "32"},
        "70": {"action": "permit", "prefix": "10.10.10.192/27", "le": "32"},
        "80": {"action": "permit", "prefix": "10.10.10.224/28", "le": "32"},
        "90": {"action": "permit", "prefix": "10.10.10.240/29", "le": "32"},
        "100": {"action": "permit", "prefix": "10.10.10.248/31", "le": "32"},
        "110": {"action": "permit", "prefix": "10.10.10.250/32"},
    }


# --- what a leaf is and what keeps it ---------------------------------------------------------


@pytest.mark.parametrize(
    ("original", "installed", "dropped"),
    [
        # Strings, "''" included, are kept only by the same string of the same type.
        ({"a": {"b": "''"}}, {"a": {"b": "''"}}, []),
        ({"a": {"b": "''"}}, {"a": {}}, ["a.b"]),
        ({"a": "64512"}, {"a": "64513"}, ["a"]),
        ({"a": "64512"}, {"a": 64512}, ["a"]),
        ({"a": 1}, {"a": True}, ["a"]),
        # Array items are leaves: order and repeats do not matter, extra items are fine.
        ({"o": ["x", "y"]}, {"o": ["y", "x", "x", "z"]}, []),
        ({"o": ["x", "y", "z"]}, {"o": ["y"]}, ["o[0]", "o[2]"]),
        ({"o": ["x"]}, {"o": []}, ["o[0]"]),
        # An empty array replaces the generated values: only an empty array keeps it.
        ({"o": []}, {"o": []}, []),
        ({"o": []}, {"o": ["x"]}, ["o"]),
        ({"o": []}, {}, ["o"]),
        # An empty object adds nothing to the generated config: not a setting.
        ({"firewall": {"group": {}}}, {}, []),
        ({"firewall": {"group": {}}}, {"firewall": "''"}, []),
        # Type changes drop every leaf of the original under the path.
        ({"a": "x"}, {"a": {"x": "''"}}, ["a"]),
        ({"a": {"b": "x", "c": ["y"]}}, {"a": "x"}, ["a.b", "a.c[0]"]),
        ({"o": ["x", "y"]}, {"o": "x"}, ["o[0]", "o[1]"]),
        ({"o": "x"}, {"o": ["x"]}, ["o"]),
        # Extra settings in the installed file drop nothing.
        ({"a": "x"}, {"a": "x", "b": {"c": "y"}}, []),
    ],
)
def test_leaves_and_what_keeps_them(original: dict[str, Any], installed: dict[str, Any], dropped: list[str]) -> None:
    assert dropped_settings(original, installed, []) == dropped


def test_values_are_never_shown_only_their_paths() -> None:
    original = {
        "vpn": {
            "ipsec": {"site-to-site": {"peer": {"203.0.113.9": {"authentication": {"pre-shared-secret": "hunter2"}}}}}
        }
    }
    dropped = dropped_settings(original, {}, [])
    assert dropped == ['vpn.ipsec.site-to-site.peer."203.0.113.9".authentication.pre-shared-secret']
    assert "hunter2" not in describe_refusal(dropped)


def test_results_are_in_document_order_with_indices_by_number() -> None:
    original = {"b": "x", "a": {"z": "x", "o": [str(i) for i in range(12)]}, "a.b": "x"}
    assert dropped_settings(original, {}, []) == [
        *(f"a.o[{i}]" for i in range(12)),
        "a.z",
        '"a.b"',
        "b",
    ]


# --- paths and the refusal --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "text"),
    [
        (("service", "dns", "forwarding", "options", 0), "service.dns.forwarding.options[0]"),
        (
            ("protocols", "bgp", "64512", "neighbor", "10.10.0.101", "remote-as"),
            'protocols.bgp.64512.neighbor."10.10.0.101".remote-as',
        ),
        (("interfaces", "ethernet", "eth1", "vif", "eth1.10"), 'interfaces.ethernet.eth1.vif."eth1.10"'),
        (("firewall", "name", "WAN_IN", "rule", "20"), "firewall.name.WAN_IN.rule.20"),
        (("a b", 'q"uote', "x[0]", "", "é\n"), r'"a b"."q\"uote"."x[0]"."".' + r'"\u00e9\n"'),
        (("route", "0.0.0.0/0", "next-hop", "fd00::1"), 'route."0.0.0.0/0".next-hop.fd00::1'),
        ((), ""),
    ],
)
def test_paths_quote_every_key_that_is_not_a_plain_word(parts: Parts, text: str) -> None:
    assert setting_path(parts) == text


PARTS = st.lists(st.one_of(st.text(max_size=4), st.integers(0, 12)), max_size=4).map(tuple)


@given(PARTS, PARTS)
def test_different_paths_never_read_the_same_and_fit_on_one_line(a: Parts, b: Parts) -> None:
    assume(a != b)
    assert setting_path(a) != setting_path(b)
    assert "\n" not in setting_path(a) and setting_path(a).isascii()


def test_refusal_names_the_first_paths_counts_the_rest_and_points_at_the_base_file_key() -> None:
    dropped = [f"service.dns.forwarding.options[{i}]" for i in range(7)]
    line = describe_refusal(dropped)
    assert line == (
        "the controller's config.gateway.json has 7 settings this stack would drop: "
        + ", ".join(dropped[:5])
        + " and 2 more; copy that file into the project and point metallb-unifi:gateway.baseConfigFile at the "
        "copy, so that it is kept and this stack's part is merged into it"
    )
    assert "options[5]" not in line


def test_refusal_of_few_paths_lists_them_all_without_a_remainder() -> None:
    one = describe_refusal(["service.gui.https-port"])
    assert "has 1 setting this stack would drop: service.gui.https-port;" in one
    assert " more" not in describe_refusal([f"a{i}" for i in range(5)])
    assert "a0, a1 and 3 more" in describe_refusal([f"a{i}" for i in range(5)], limit=2)
    assert "\n" not in describe_refusal(dropped_settings({"k\ney": "v"}, {}, []))


def test_refusal_needs_something_to_refuse_and_a_positive_limit() -> None:
    with pytest.raises(ValueError, match="nothing is dropped"):
        describe_refusal([])
    with pytest.raises(ValueError, match="limit"):
        describe_refusal(["a"], limit=0)


# --- properties -------------------------------------------------------------------------------

ASN = "64512"
OWNED_HOSTS = ("k8s-dashboard.service", "grafana.lab.home")
OWNED = owned_paths(int(ASN), OWNED_HOSTS, filter_names("lab"))
POLICIES = [("prefix-list", "metallb-lab-pools"), ("route-map", "metallb-lab-out"), ("route-map", "mine")]
KEYS = st.sampled_from(["a", "b", "options", "eth1.10", "a b", "", 'q"', "x[0]", "é", "20", "10.10.0.101"])
SCALAR = st.sampled_from(["x", "y", "''", "64512"])
# EdgeOS multi-value nodes hold each value once, so drawn arrays have no repeats.
ARRAY = st.lists(st.sampled_from(["p", "q", "r", "''"]), max_size=3, unique=True)
TREE = st.recursive(
    st.one_of(SCALAR, ARRAY), lambda children: st.dictionaries(KEYS, children, max_size=3), max_leaves=10
)
DOC = st.dictionaries(KEYS, TREE, max_size=4)


@st.composite
def originals(draw: st.DrawFn) -> dict[str, Any]:
    """A user's file: arbitrary settings beside a BGP instance (the stack's AS or another), host
    names and routing policies, the stack's and others, all with arbitrary children."""
    document = draw(DOC)
    policies = draw(st.lists(st.sampled_from(POLICIES), unique=True))
    if policies:
        policy: dict[str, dict[str, Any]] = {}
        for kind, name in policies:
            policy.setdefault(kind, {})[name] = draw(DOC)
        document["policy"] = policy
    asns = draw(st.lists(st.sampled_from([ASN, "65000"]), unique=True))
    if asns:
        document["protocols"] = {"bgp": {asn: draw(DOC) for asn in asns}, **draw(DOC)}
    hosts = draw(st.lists(st.sampled_from([*OWNED_HOSTS, "nas.lan", "k8s-dashboard"]), unique=True))
    if hosts:
        document["system"] = {"static-host-mapping": {"host-name": {h: draw(DOC) for h in hosts}}, **draw(DOC)}
    return document


def leaves(node: Any, path: Parts = ()) -> Iterator[Parts]:
    """The test's own walk: non-empty arrays by item, everything else not an object whole."""
    if isinstance(node, dict):
        for key, child in node.items():
            yield from leaves(child, (*path, key))
    elif isinstance(node, list) and node:
        yield from ((*path, i) for i in range(len(node)))
    else:
        yield path


def is_owned(path: Parts) -> bool:
    return any(path[: len(owned)] == owned for owned in OWNED)


def unowned_leaves(document: dict[str, Any]) -> list[Parts]:
    return [path for path in leaves(document) if not is_owned(path)]


def without(document: dict[str, Any], path: Parts) -> dict[str, Any]:
    copied = copy.deepcopy(document)
    node: Any = copied
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]  # a dict key, or an array item (the others shift: membership counts)
    return copied


def reversed_order(node: Any) -> Any:
    if isinstance(node, dict):
        return {key: reversed_order(node[key]) for key in reversed(list(node))}
    return node


@st.composite
def usg_labs(draw: st.DrawFn) -> Lab:
    raw = draw(valid_configs().filter(lambda r: r["gateway"]["kind"] == "usg"))
    return parse_lab(raw, stack="lab")


_settings = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_settings
@given(usg_labs(), DOC, st.data())
def test_merging_a_rendered_file_into_the_original_never_drops_anything(
    lab: Lab, users: Any, data: st.DataObject
) -> None:
    # The original: the user's own settings, and (if drawn) part of what this stack renders, as a
    # user who copied an earlier render would have; merging it with the render never conflicts.
    rendered = render_config_gateway(lab, lab.pinned_addresses)
    original = copy.deepcopy(users)
    if data.draw(st.booleans()) and rendered:
        # Whole leaves only: an array that is a part of ours would conflict (arrays replace).
        earlier = rendered
        for path in data.draw(st.lists(st.sampled_from([p for p in leaves(rendered) if isinstance(p[-1], str)]))):
            if path in set(leaves(earlier)):
                earlier = without(earlier, path)
        original.update(earlier)
    installed = merge_base(original, rendered)
    assert dropped_settings(original, installed, owned_by(lab)) == []
    assert dropped_settings(original, installed, []) == []


@given(originals(), st.data())
def test_removing_any_leaf_outside_the_owned_subtrees_is_reported_exactly(original: Any, data: st.DataObject) -> None:
    candidates = unowned_leaves(original)
    assume(candidates)
    removed = data.draw(st.sampled_from(candidates))
    assert dropped_settings(original, without(original, removed), OWNED) == [setting_path(removed)]


@given(originals(), st.data())
def test_removing_any_leaf_inside_an_owned_subtree_is_never_reported(original: Any, data: st.DataObject) -> None:
    candidates = [path for path in leaves(original) if is_owned(path)]
    assume(candidates)
    removed = data.draw(st.sampled_from(candidates))
    assert dropped_settings(original, without(original, removed), OWNED) == []


@given(originals(), st.one_of(st.just({}), originals()))
def test_owned_subtrees_are_never_reported_and_an_empty_install_drops_every_other_leaf(
    original: Any, installed: Any
) -> None:
    expected = {setting_path(path) for path in unowned_leaves(original)}
    dropped = dropped_settings(original, installed, OWNED)
    assert set(dropped) <= expected
    if not installed:
        assert set(dropped) == expected and len(dropped) == len(expected)


@given(originals(), originals())
def test_the_result_is_sorted_in_document_order_and_independent_of_key_order(original: Any, installed: Any) -> None:
    dropped = dropped_settings(original, installed, OWNED)
    assert dropped_settings(reversed_order(original), reversed_order(installed), reversed(OWNED)) == dropped
    by_text = {setting_path(path): path for path in leaves(original)}
    structured = [by_text[text] for text in dropped]

    def order(path: Parts) -> list[tuple[int, Part]]:
        return [(1, p) if isinstance(p, int) else (0, p) for p in path]

    assert structured == sorted(structured, key=order)
