"""config.gateway.json: the post's golden file, the USG schema, EdgeOS's string leaves, and
merging into a user's base file."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator
from dataclasses import replace
from functools import cache
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.artifacts import parse_renderable_lab
from components.artifacts.usg_gateway import (
    MergeConflict,
    base_config_conflicts,
    config_gateway_json,
    format_path,
    merge_base,
    render_config_gateway,
)
from components.config import ConfigError, Lab, parse_lab
from components.config.model import IPAddress, IPFamily, Protocol, Secret
from components.config.stack_files import read_stack_config
from components.config.stack_names import filter_names
from tests.artifacts.prefix_lists import inside_a_pool, permits, quagga_accepts_entry, usg_prefix_list
from tests.blog_post import POST_CONFIG_GATEWAY
from tests.config.strategies import valid_configs
from tests.gateway_filter import LAB_POOL_BLOCKS, with_filter

ROOT = Path(__file__).resolve().parents[2]
USG_SCHEMA = ROOT.parent / "shared" / "reference" / "usg" / "schema.usg-3p.4.4.56.yaml"
BASE_KEY = "metallb-unifi:gateway.baseConfigFile"

PASSWORD = "s3cr3t!#$%&()*+,-./:;<=>?@[]^_{|}~"

# Every option the USG side renders: password, hold time without keepalive, node selectors,
# eBGP multihop (FRR mode), several services, one of them unpinned.
MAXIMAL: dict[str, Any] = {
    "nodes": [
        {"name": "cp1", "address": "10.30.0.10", "labels": {"node-role.kubernetes.io/control-plane": ""}},
        {"name": "w1", "address": "10.30.0.11", "labels": {"bgp": "yes"}},
        {"name": "w2", "address": "10.30.0.12", "labels": {"bgp": "yes"}},
    ],
    "metallb": {
        "version": "v0.15.3",
        "mode": "frr",
        "asn": 64513,
        "pools": [{"name": "routed", "protocol": "bgp", "addresses": ["10.30.10.0/24"]}],
    },
    "bgp": {
        "password": PASSWORD,
        "holdTime": "90s",
        "ebgpMultiHop": True,
        "nodeSelectors": [{"matchLabels": {"bgp": "yes"}}],
    },
    "gateway": {"kind": "usg", "asn": 64512, "peerAddress": "192.168.1.1", "dnsDomain": "lab.home"},
    "services": [
        {
            "name": "grafana",
            "namespace": "monitoring",
            "address": "10.30.10.10",
            "aliases": ["dashboards", "metrics.lab.home"],
            "ports": [{"port": 80, "targetPort": 3000}],
            "selector": {"app": "grafana"},
        },
        {"name": "registry", "namespace": "registry", "ports": [{"port": 443}], "selector": {"app": "registry"}},
    ],
}


def stack_raw(stack: str) -> dict[str, Any]:
    return read_stack_config(ROOT / f"Pulumi.{stack}.yaml")


def parse(raw: dict[str, Any], base: Any = None) -> Lab:
    """Parse ``raw``; with ``base``, as if gateway.baseConfigFile named a file holding it."""
    if base is None:
        return parse_renderable_lab(raw, stack="lab")
    raw = copy.deepcopy(raw)
    raw["gateway"]["baseConfigFile"] = "base.json"
    files = {"base.json": json.dumps(base)}
    return parse_renderable_lab(raw, read_file=files.__getitem__, stack="lab")


def labs() -> dict[str, Lab]:
    return {**{s: parse(stack_raw(s)) for s in ("lab", "crds", "udm")}, "maximal": parse(MAXIMAL)}


def leaves(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(node, dict):
        for key, child in node.items():
            yield from leaves(child, (*path, key))
    else:
        yield path, node


def keys(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, child in node.items():
            yield key
            yield from keys(child)


@cache
def usg_schema() -> dict[str, Any]:
    """The schema, with every multi-value node's item schema applied to each item: the generator
    writes a multi node as ``items: [X]`` (robin-thoni/unifi-config-json-schema@39faf0a5:
    builder.py, handle_folder), which Draft7 reads as a tuple and applies to the first item only,
    so a second ``inet`` value (the IPv6 address) would go unchecked."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the schema is 1.4 MB: C parser when present
    schema: dict[str, Any] = every_item(yaml.load(USG_SCHEMA.read_text(encoding="utf-8"), Loader=loader))
    return schema


def every_item(node: Any) -> Any:
    if isinstance(node, dict):
        items = node.get("items")
        if isinstance(items, list) and len(items) == 1:
            node = {**node, "items": items[0]}
        return {key: every_item(value) for key, value in node.items()}
    if isinstance(node, list):
        return [every_item(value) for value in node]
    return node


@cache
def usg_validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(usg_schema())


def needs_usg_schema() -> None:
    if not USG_SCHEMA.exists():
        pytest.skip(f"USG schema not available at {USG_SCHEMA} (reference data lives outside the repo)")


def schema_errors(document: Any) -> list[str]:
    """The schema's own errors, and every key it does not know: it is loose (no
    additionalProperties: false), so a misspelled key would pass Draft7 alone."""
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in usg_validator().iter_errors(document)]
    schema = usg_schema()
    return errors + unknown_keys(document, schema, schema["$defs"])


def _object_branches(node: dict[str, Any], defs: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if "$ref" in node:
        yield from _object_branches(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
    elif "oneOf" in node:
        for branch in node["oneOf"]:
            yield from _object_branches(branch, defs)
    elif node.get("type") == "object":
        yield node


def unknown_keys(document: Any, node: dict[str, Any], defs: dict[str, Any], path: str = "") -> list[str]:
    if not isinstance(document, dict):
        return []
    branches = list(_object_branches(node, defs))
    found = []
    for key, child in document.items():
        where = f"{path}/{key}"
        known = [b["properties"][key] for b in branches if key in b.get("properties", {})]
        known += [b["additionalProperties"] for b in branches if isinstance(b.get("additionalProperties"), dict)]
        if not known:
            found.append(f"{where}: not a key of the USG's config tree")
        else:
            found += unknown_keys(child, known[0], defs, where)
    return found


# --- what is rendered ---------------------------------------------------------------------


LAB_FILE = with_filter(POST_CONFIG_GATEWAY, "lab", LAB_POOL_BLOCKS)


def test_lab_stack_renders_the_posts_config_gateway_json_with_the_filter() -> None:
    lab = parse(stack_raw("lab"))
    assert render_config_gateway(lab, lab.pinned_addresses) == LAB_FILE
    assert json.loads(config_gateway_json(lab, lab.pinned_addresses)) == LAB_FILE
    # The post's own file is what is left without the filter.
    bare = copy.deepcopy(LAB_FILE)
    del bare["policy"]
    for neighbor in bare["protocols"]["bgp"]["64512"]["neighbor"].values():
        del neighbor["route-map"]
    assert bare == POST_CONFIG_GATEWAY


def test_the_contracts_example_pools() -> None:
    # The example agreed with the simulator side: stack "lab", a /28 pool and a two-address range.
    raw = stack_raw("lab")
    raw["metallb"]["pools"] = [
        {"name": "one", "protocol": "bgp", "addresses": ["192.168.1.240/28"]},
        {"name": "two", "protocol": "bgp", "addresses": ["192.168.2.10-192.168.2.11"]},
    ]
    raw["services"][0]["address"] = "192.168.1.241"
    raw["gateway"] = {**raw["gateway"], "peerAddress": "10.10.0.1", "routerId": "10.10.0.1"}
    document = render_config_gateway(parse(raw), {})
    assert document["policy"]["prefix-list"]["metallb-lab-pools"]["rule"] == {
        "10": {"action": "permit", "prefix": "192.168.1.240/28", "le": "32"},
        "20": {"action": "permit", "prefix": "192.168.2.10/31", "le": "32"},
    }


def test_file_text_is_sorted_four_space_json_with_trailing_newline() -> None:
    lab = parse(stack_raw("lab"))
    text = config_gateway_json(lab, lab.pinned_addresses)
    assert text == json.dumps(LAB_FILE, indent=4, sort_keys=True) + "\n"
    assert config_gateway_json(lab, dict(reversed(lab.pinned_addresses.items()))) == text


@pytest.mark.parametrize("name", ["lab", "crds", "udm", "maximal"])
def test_rendered_file_validates_against_the_usg_schema(name: str) -> None:
    needs_usg_schema()
    lab = labs()[name]
    document = json.loads(config_gateway_json(lab, {**lab.pinned_addresses, "registry": (IPv4Address("10.30.10.77"),)}))
    assert "policy" in document and schema_errors(document) == []


def test_usg_schema_key_check_can_fail() -> None:
    # Negative control: Draft7 alone passes a misspelled key; the key check does not.
    needs_usg_schema()
    broken = copy.deepcopy(LAB_FILE)
    broken["protocols"]["bgp"]["64512"]["neighbor"]["10.10.0.101"]["route-maps"] = {"import": "metallb-lab-in"}
    broken["policy"]["prefix-list"]["metallb-lab-pools"]["rule"]["10"]["lt"] = "32"
    assert list(usg_validator().iter_errors(broken)) == []
    assert sorted(schema_errors(broken)) == [
        "/policy/prefix-list/metallb-lab-pools/rule/10/lt: not a key of the USG's config tree",
        "/protocols/bgp/64512/neighbor/10.10.0.101/route-maps: not a key of the USG's config tree",
    ]
    assert schema_errors(LAB_FILE) == []


def test_usg_schema_check_can_fail() -> None:
    # Negative control: the schema is loose, but a non-numeric AS must not pass.
    needs_usg_schema()
    broken = copy.deepcopy(POST_CONFIG_GATEWAY)
    broken["protocols"]["bgp"]["64512"]["neighbor"]["10.10.0.101"]["remote-as"] = "AS64512"
    assert list(usg_validator().iter_errors(broken)) != []
    assert list(usg_validator().iter_errors(POST_CONFIG_GATEWAY)) == []


def test_usg_schema_check_reaches_every_value_of_a_multi_node() -> None:
    # Negative control: the schema as generated checks only the first inet value; the tests' copy
    # checks each, so a second value that is no address fails, and an IPv6 one passes.
    needs_usg_schema()
    document = copy.deepcopy(POST_CONFIG_GATEWAY)
    entry = document["system"]["static-host-mapping"]["host-name"]["k8s-dashboard.service"]
    entry["inet"] = ["10.10.10.10", "fd00:10:10::10"]
    assert schema_errors(document) == []
    entry["inet"] = ["10.10.10.10", "no-address"]
    raw = yaml.load(USG_SCHEMA.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    assert list(jsonschema.Draft7Validator(raw).iter_errors(document)) == []
    assert schema_errors(document) != []  # (reported at the root: the tree is a oneOf of objects)


@pytest.mark.parametrize("name", ["lab", "crds", "udm", "maximal"])
def test_every_leaf_is_a_string_or_list_of_strings_and_maximum_paths_never_appears(name: str) -> None:
    lab = labs()[name]
    document = render_config_gateway(lab, lab.pinned_addresses)
    found = list(leaves(document))
    assert found
    for path, value in found:
        assert isinstance(value, str) or (
            isinstance(value, list) and value and all(isinstance(item, str) for item in value)
        ), f"{'.'.join(path)} = {value!r}"
    assert "maximum-paths" not in set(keys(document))


def test_maximal_neighbours_carry_password_timers_and_multihop_for_selected_nodes_only() -> None:
    lab = parse(MAXIMAL)
    bgp = render_config_gateway(lab, lab.pinned_addresses)["protocols"]["bgp"]
    expected = {
        "remote-as": "64513",
        "password": PASSWORD,
        "timers": {"holdtime": "90", "keepalive": "30"},  # MetalLB's default: a third of the hold time
        "ebgp-multihop": "255",
        "route-map": {"import": "metallb-lab-in", "export": "metallb-lab-out"},
    }
    assert bgp == {
        "64512": {
            "neighbor": {"10.30.0.11": expected, "10.30.0.12": expected},
            "parameters": {"router-id": "192.168.1.1"},
        }
    }


def test_explicit_keepalive_is_used_as_is() -> None:
    raw = copy.deepcopy(MAXIMAL)
    raw["bgp"]["keepaliveTime"] = "20s"  # not the default 90 // 3
    neighbors = render_config_gateway(parse(raw), {})["protocols"]["bgp"]["64512"]["neighbor"]
    assert [n["timers"] for n in neighbors.values()] == [{"holdtime": "90", "keepalive": "20"}] * 2


def test_node_selectors_pick_the_neighbours() -> None:
    lab = parse(stack_raw("crds"))
    neighbors = render_config_gateway(lab, {})["protocols"]["bgp"]["64512"]["neighbor"]
    assert sorted(neighbors) == ["10.20.0.11", "10.20.0.12"]  # cp1 is excluded by the selector


def test_ibgp_session_gets_no_ebgp_multihop() -> None:
    # The parser refuses ebgpMultiHop for iBGP; the renderer must not write it even so.
    raw = copy.deepcopy(MAXIMAL)
    raw["metallb"]["asn"] = 64512
    del raw["bgp"]["ebgpMultiHop"]
    lab = parse(raw)
    lab = replace(lab, bgp=replace(lab.bgp, ebgp_multihop=True))
    for neighbor in render_config_gateway(lab, {})["protocols"]["bgp"]["64512"]["neighbor"].values():
        assert "ebgp-multihop" not in neighbor
        assert neighbor["remote-as"] == "64512"


def test_encrypted_password_renders_as_a_placeholder_naming_its_key() -> None:
    lab = parse(MAXIMAL)
    lab = replace(lab, bgp=replace(lab.bgp, password=Secret(key="metallb-unifi:bgp.password", value=None)))
    neighbors = render_config_gateway(lab, {})["protocols"]["bgp"]["64512"]["neighbor"]
    assert {n["password"] for n in neighbors.values()} == {"<encrypted: metallb-unifi:bgp.password>"}


def test_services_without_a_known_address_get_their_host_name_once_allocated() -> None:
    lab = parse(MAXIMAL)
    hosts = render_config_gateway(lab, lab.pinned_addresses)["system"]["static-host-mapping"]["host-name"]
    assert hosts == {
        "grafana.lab.home": {"alias": ["grafana", "dashboards", "metrics.lab.home"], "inet": ["10.30.10.10"]}
    }
    allocated = {**lab.pinned_addresses, "registry": (IPv4Address("10.30.10.77"),)}
    hosts = render_config_gateway(lab, allocated)["system"]["static-host-mapping"]["host-name"]
    assert hosts["registry.lab.home"] == {"alias": ["registry"], "inet": ["10.30.10.77"]}


def test_no_known_addresses_means_no_system_section() -> None:
    lab = parse(MAXIMAL)
    assert set(render_config_gateway(lab, {})) == {"policy", "protocols"}


# --- merging with a base file -------------------------------------------------------------


def test_disjoint_base_is_kept_and_ours_added_without_mutating_either() -> None:
    base = {
        "service": {"dns": {"forwarding": {"options": ["domain=lan"]}}},
        "system": {"static-host-mapping": {"host-name": {"nas.lan": {"alias": ["nas"], "inet": ["192.168.1.5"]}}}},
    }
    ours = copy.deepcopy(POST_CONFIG_GATEWAY)
    base_before, ours_before = copy.deepcopy(base), copy.deepcopy(ours)
    merged = merge_base(base, ours)
    assert base == base_before and ours == ours_before
    assert merged["service"] == base["service"]
    assert merged["protocols"] == ours["protocols"]
    assert merged["system"]["static-host-mapping"]["host-name"] == {
        "nas.lan": {"alias": ["nas"], "inet": ["192.168.1.5"]},
        "k8s-dashboard.service": {"alias": ["k8s-dashboard"], "inet": ["10.10.10.10"]},
    }
    merged["service"]["dns"]["forwarding"]["options"].append("x")  # the result shares nothing with base
    assert base == base_before


def test_equal_overlapping_values_merge() -> None:
    base = {"protocols": {"bgp": {"64512": {"parameters": {"router-id": "192.168.1.1"}, "network": {"x": "''"}}}}}
    merged = merge_base(base, POST_CONFIG_GATEWAY)
    assert merged["protocols"]["bgp"]["64512"]["parameters"] == {"router-id": "192.168.1.1"}
    assert merged["protocols"]["bgp"]["64512"]["network"] == {"x": "''"}
    assert merge_base(POST_CONFIG_GATEWAY, POST_CONFIG_GATEWAY) == POST_CONFIG_GATEWAY


def test_every_conflict_is_reported_with_an_unambiguous_path() -> None:
    base = {
        "protocols": {
            "bgp": {
                "64512": {
                    "neighbor": {"10.10.0.101": {"remote-as": "65000"}, "10.10.0.102": "''"},
                    "parameters": {"router-id": "192.168.1.254"},
                }
            }
        },
        "system": {
            "static-host-mapping": {
                "host-name": {"k8s-dashboard.service": {"alias": ["dash"], "inet": ["10.10.10.10"]}}
            }
        },
    }
    with pytest.raises(MergeConflict) as caught:
        merge_base(base, POST_CONFIG_GATEWAY)
    assert sorted(caught.value.conflicts) == sorted(
        [
            'protocols.bgp.64512.neighbor."10.10.0.101".remote-as: base has "65000", this stack sets "64512"',
            'protocols.bgp.64512.neighbor."10.10.0.102": base has "\'\'", this stack sets an object (keys: remote-as)',
            'protocols.bgp.64512.parameters.router-id: base has "192.168.1.254", this stack sets "192.168.1.1"',
            'system.static-host-mapping.host-name."k8s-dashboard.service".alias: '
            'base has ["dash"], this stack sets ["k8s-dashboard"]',
        ]
    )
    assert str(caught.value).count("\n") == 4


def test_password_conflicts_never_show_either_password() -> None:
    lab = parse(MAXIMAL)
    base = {"protocols": {"bgp": {"64512": {"neighbor": {"10.30.0.11": {"password": "base-secret"}}}}}}
    with pytest.raises(MergeConflict) as caught:
        merge_base(base, render_config_gateway(lab, {}))
    assert caught.value.conflicts == [
        'protocols.bgp.64512.neighbor."10.30.0.11".password: '
        "base has a password (not shown), this stack sets a password (not shown)"
    ]
    assert "base-secret" not in str(caught.value) and PASSWORD not in str(caught.value)


JSON_LEAF = st.one_of(st.sampled_from(["a", "b", "''"]), st.lists(st.sampled_from(["a", "b"]), max_size=2))
JSON_TREE = st.recursive(
    JSON_LEAF, lambda children: st.dictionaries(st.sampled_from(["x", "y", "z.1"]), children, max_size=3), max_leaves=8
)
JSON_DOC = st.dictionaries(st.sampled_from(["x", "y", "z.1"]), JSON_TREE, max_size=3)


def clashes(base: Any, ours: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Paths both set where at least one side holds a value and the two differ."""
    found = []
    for key in set(base) & set(ours):
        if isinstance(base[key], dict) and isinstance(ours[key], dict):
            found += clashes(base[key], ours[key], (*path, key))
        elif base[key] != ours[key]:
            found.append((*path, key))
    return found


@given(JSON_DOC, JSON_DOC)
def test_merge_keeps_every_leaf_of_both_or_reports_exactly_the_clashes(base: Any, ours: Any) -> None:
    base_before = copy.deepcopy(base)
    base_leaves, our_leaves = dict(leaves(base)), dict(leaves(ours))
    try:
        merged = merge_base(base, ours)
    except MergeConflict as exc:
        assert base == base_before
        prefixes = sorted(format_path(path) + ": " for path in clashes(base, ours))
        assert prefixes
        assert [p for p, c in zip(prefixes, sorted(exc.conflicts), strict=True) if not c.startswith(p)] == []
        return
    assert base == base_before
    merged_leaves = dict(leaves(merged))
    assert {p: v for p, v in merged_leaves.items() if p in our_leaves} == our_leaves
    assert {p: v for p, v in merged_leaves.items() if p in base_leaves} == base_leaves
    assert set(merged_leaves) == set(base_leaves) | set(our_leaves)


# --- a base file through the parser ---------------------------------------------------------


def problems_of(raw: dict[str, Any], base: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(raw, base)
    return [p.message for p in caught.value.problems if p.key == BASE_KEY]


def test_parser_accepts_a_compatible_base_and_the_file_holds_both() -> None:
    base = {
        "protocols": {"bgp": {"64512": {"parameters": {"router-id": "192.168.1.1"}}}},
        "service": {"gui": {"https-port": "8443"}},
    }
    lab = parse(stack_raw("lab"), base)
    assert base_config_conflicts(lab) == []
    document = json.loads(config_gateway_json(lab, lab.pinned_addresses))
    assert document == {**LAB_FILE, "service": {"gui": {"https-port": "8443"}}}


def test_parser_rejects_a_base_with_a_bgp_instance_of_another_as() -> None:
    base = {"protocols": {"bgp": {"65000": {"neighbor": {"192.168.1.50": {"remote-as": "65001"}}}}}}
    messages = problems_of(stack_raw("lab"), base)
    assert len(messages) == 1
    assert "AS 65000" in messages[0] and "64512" in messages[0]


def test_parser_reports_each_conflicting_path_of_the_base() -> None:
    base = {
        "protocols": {"bgp": {"64512": {"neighbor": {"10.10.0.101": {"remote-as": "65000"}}}}},
        "system": {"static-host-mapping": {"host-name": {"k8s-dashboard.service": {"inet": ["10.10.10.99"]}}}},
    }
    messages = problems_of(stack_raw("lab"), base)
    assert len(messages) == 2
    assert any('neighbor."10.10.0.101".remote-as: base has "65000", this stack sets "64512"' in m for m in messages)
    assert any(
        '"k8s-dashboard.service".inet: base has ["10.10.10.99"], this stack sets ["10.10.10.10"]' in m for m in messages
    )
    assert all(m.startswith("'base.json' conflicts with this stack at ") for m in messages)


def test_parser_rejects_a_base_defining_the_host_name_of_an_unpinned_service() -> None:
    base = {"system": {"static-host-mapping": {"host-name": {"registry.lab.home": {"inet": ["10.30.10.5"]}}}}}
    messages = problems_of(MAXIMAL, base)
    assert messages == [
        "'base.json' defines host name 'registry.lab.home' at "
        'system.static-host-mapping.host-name."registry.lab.home", but this stack maps it to the address '
        "MetalLB allocates to service 'registry'; remove that entry from 'base.json'"
    ]


def test_parser_rejects_a_base_reusing_a_services_alias_for_another_host() -> None:
    base = {
        "system": {"static-host-mapping": {"host-name": {"old.lan": {"alias": ["dashboards"], "inet": ["1.2.3.4"]}}}}
    }
    messages = problems_of(MAXIMAL, base)
    assert len(messages) == 1
    assert "'dashboards'" in messages[0] and "service 'grafana'" in messages[0]


def test_no_base_file_means_no_conflicts() -> None:
    assert base_config_conflicts(parse(MAXIMAL)) == []


@pytest.mark.parametrize(
    ("kind", "name"),
    [("prefix-list", "metallb-lab-pools"), ("route-map", "metallb-lab-in"), ("route-map", "metallb-lab-out")],
)
def test_parser_rejects_a_base_defining_a_name_of_the_filter_even_with_the_same_content(kind: str, name: str) -> None:
    same = copy.deepcopy(LAB_FILE["policy"][kind][name])
    messages = problems_of(stack_raw("lab"), {"policy": {kind: {name: same}}})
    assert messages == [
        f"'base.json' defines policy {kind} {name!r} at policy.{kind}.{name}, a name of this stack's BGP filter "
        "(what the gateway accepts from the nodes); rename or remove it in 'base.json'"
    ]


def test_a_bases_own_policies_are_kept_beside_the_filter() -> None:
    theirs = {
        "prefix-list": {"vpn": {"rule": {"10": {"action": "permit", "prefix": "172.16.0.0/12", "le": "32"}}}},
        "route-map": {"vpn-in": {"rule": {"10": {"action": "permit"}}}},
    }
    lab = parse(stack_raw("lab"), {"policy": theirs})
    document = json.loads(config_gateway_json(lab, lab.pinned_addresses))
    assert document["policy"]["prefix-list"] == {**theirs["prefix-list"], **LAB_FILE["policy"]["prefix-list"]}
    assert document["policy"]["route-map"] == {**theirs["route-map"], **LAB_FILE["policy"]["route-map"]}


def test_a_base_whose_policy_is_not_an_object_conflicts() -> None:
    messages = problems_of(stack_raw("lab"), {"policy": "''"})
    assert messages == [
        "'base.json' conflicts with this stack at policy: base has \"''\", this stack sets an object "
        "(keys: prefix-list, route-map); change or remove it there"
    ]


def test_layer2_pools_are_not_accepted_and_without_a_bgp_pool_nothing_is() -> None:
    raw = copy.deepcopy(MAXIMAL)
    raw["metallb"]["pools"].append({"name": "lan", "protocol": "layer2", "addresses": ["10.30.0.200-10.30.0.220"]})
    rules = render_config_gateway(parse(raw), {})["policy"]["prefix-list"]["metallb-lab-pools"]["rule"]
    assert rules == {"10": {"action": "permit", "prefix": "10.30.10.0/24", "le": "32"}}

    raw["metallb"]["pools"] = raw["metallb"]["pools"][1:]  # only the layer2 pool
    raw["services"] = []
    del raw["bgp"]["nodeSelectors"]
    document = render_config_gateway(parse(raw), {})
    # The neighbours stay (as before the filter), and accept nothing.
    assert sorted(document["protocols"]["bgp"]["64512"]["neighbor"]) == ["10.30.0.10", "10.30.0.11", "10.30.0.12"]
    assert document["policy"]["prefix-list"]["metallb-lab-pools"]["rule"] == {
        "10": {"action": "deny", "prefix": "0.0.0.0/0", "le": "32"}
    }


def test_names_follow_the_stack() -> None:
    raw = stack_raw("lab")
    document = render_config_gateway(parse_renderable_lab(raw, stack="dev_1"), {})
    dev = f"dev-1-{hashlib.sha256(b'dev_1').hexdigest()[:8]}"
    assert sorted(document["policy"]["prefix-list"]) == [f"metallb-{dev}-pools"]
    assert sorted(document["policy"]["route-map"]) == [f"metallb-{dev}-in", f"metallb-{dev}-out"]
    neighbor = document["protocols"]["bgp"]["64512"]["neighbor"]["10.10.0.101"]
    assert neighbor["route-map"] == {"import": f"metallb-{dev}-in", "export": f"metallb-{dev}-out"}
    assert document["policy"]["route-map"][f"metallb-{dev}-in"]["rule"]["10"]["match"] == {
        "ip": {"address": {"prefix-list": f"metallb-{dev}-pools"}}
    }


# --- the filter on random labs ----------------------------------------------------------------


def imported(document: dict[str, Any], stack: str, route: IPv4Network) -> bool:
    """Whether a neighbour's import route-map lets ``route`` in: the in-map is exactly one permit
    rule matching the prefix-list (no match: the route-map's implicit deny)."""
    names = filter_names(stack)
    for neighbor in document["protocols"]["bgp"][next(iter(document["protocols"]["bgp"]))]["neighbor"].values():
        assert neighbor["route-map"] == {"import": names.route_map_in, "export": names.route_map_out}
    route_maps = document["policy"]["route-map"]
    assert route_maps[names.route_map_in]["rule"] == {
        "10": {"action": "permit", "match": {"ip": {"address": {"prefix-list": names.prefix_list}}}}
    }
    assert route_maps[names.route_map_out]["rule"] == {"10": {"action": "deny"}}  # nothing out
    return permits(usg_prefix_list(document, names.prefix_list), route)


@st.composite
def labs_and_routes(draw: st.DrawFn) -> tuple[Lab, str, list[IPv4Network]]:
    """A valid lab of either kind under a drawn stack name, and routes a speaker might announce:
    around the pools' edges, in the layer2 pools, at the nodes and anywhere, at any length."""
    stack = draw(st.text(min_size=1, max_size=20))
    # IPv4 labs: the routes drawn here are IPv4 ones (the IPv6 filter: dual_labs_and_routes below).
    lab = parse_lab(draw(valid_configs(dual_stack=False)), stack=stack)
    edges = [int(a) for pool in lab.metallb.pools for r in pool.ranges for a in (r.first, r.last)]
    near = st.sampled_from(edges).flatmap(lambda edge: st.integers(max(0, edge - 3), min(2**32 - 1, edge + 3)))
    addresses = st.one_of(near, st.integers(0, 2**32 - 1), st.sampled_from([int(n.address) for n in lab.nodes]))
    routes = draw(
        st.lists(
            st.tuples(addresses, st.integers(0, 32)).map(lambda r: IPv4Network((r[0], r[1]), strict=False)),
            min_size=1,
            max_size=20,
        )
    )
    return lab, stack, routes


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(labs_and_routes())
def test_the_gateway_imports_exactly_the_routes_inside_a_bgp_pool(case: tuple[Lab, str, list[IPv4Network]]) -> None:
    lab, stack, routes = case
    document = render_config_gateway(lab, lab.pinned_addresses)
    entries = usg_prefix_list(document, filter_names(stack).prefix_list)
    assert [e.seq for e in entries] == [10 * n for n in range(1, len(entries) + 1)]
    assert all(quagga_accepts_entry(e) for e in entries)  # what the USG's Quagga takes
    for route in routes:
        assert imported(document, stack, route) == inside_a_pool(lab, route), route
    # Every address MetalLB may announce from a BGP pool, at the pool's aggregation length.
    for pool in lab.bgp_pools:
        for address_range in pool.ranges:
            for address in {address_range.first, address_range.last}:
                length = pool.aggregation_length or 32
                assert imported(document, stack, IPv4Network((address, length), strict=False)), (address, length)
                assert imported(document, stack, IPv4Network((address, 32)))
    for pool in lab.metallb.pools:
        if pool.protocol is Protocol.LAYER2:
            assert not imported(document, stack, IPv4Network((pool.ranges[0].first, 32)))
    for outside in ("0.0.0.0/0", str(lab.node_subnet), f"{lab.nodes[0].address}/32"):
        assert not imported(document, stack, IPv4Network(outside))
    if USG_SCHEMA.exists():
        assert schema_errors(json.loads(config_gateway_json(lab, lab.pinned_addresses))) == []


# --- IPv6: dual-stack labs --------------------------------------------------------------------

# MAXIMAL made dual-stack: every node and the gateway on fd00:30::/64, the BGP pool with an IPv6
# /120 and a two-address IPv6 range, an IPv6-only BGP pool, an IPv6 layer2 pool on the nodes'
# LAN, grafana pinned to one address of each family.
DUAL: dict[str, Any] = copy.deepcopy(MAXIMAL)
for _i, _node in enumerate(DUAL["nodes"]):
    _node["address6"] = f"fd00:30::{10 + _i}"
DUAL["gateway"]["peerAddress6"] = "fd00:30::1"
DUAL["metallb"]["pools"] = [
    {
        "name": "routed",
        "protocol": "bgp",
        "addresses": ["10.30.10.0/24", "fd00:30:10::/120", "fd00:30:11::5-fd00:30:11::6"],
    },
    {"name": "lan6", "protocol": "layer2", "addresses": ["fd00:30::200-fd00:30::2ff"]},
    {"name": "routed6", "protocol": "bgp", "addresses": ["fd00:30:12::/127"]},
]
DUAL["services"][0].pop("address")
DUAL["services"][0].update(addresses=["10.30.10.10", "fd00:30:10::10"], ipFamilyPolicy="RequireDualStack")
REGISTRY = (IPv4Address("10.30.10.77"), IPv6Address("fd00:30:12::1"))


def test_dual_stack_neighbours_one_per_node_address_and_family_with_the_same_session() -> None:
    lab = parse(DUAL)
    bgp = render_config_gateway(lab, lab.pinned_addresses)["protocols"]["bgp"]
    v4 = {
        "remote-as": "64513",
        "password": PASSWORD,
        "timers": {"holdtime": "90", "keepalive": "30"},
        "ebgp-multihop": "255",
        "route-map": {"import": "metallb-lab-in", "export": "metallb-lab-out"},
    }
    # The IPv6 session is IPv4-activated on EdgeOS too, so it carries the IPv4 filter as well.
    v6 = {
        **v4,
        "address-family": {"ipv6-unicast": {"route-map": {"import": "metallb-lab-in6", "export": "metallb-lab-out"}}},
    }
    assert bgp == {
        "64512": {
            # cp1 is not selected: neither of its addresses is a neighbour.
            "neighbor": {"10.30.0.11": v4, "10.30.0.12": v4, "fd00:30::11": v6, "fd00:30::12": v6},
            "parameters": {"router-id": "192.168.1.1"},
        }
    }


def test_dual_stack_prefix_list6_holds_the_ipv6_blocks_of_every_bgp_pool_and_its_import_map_matches_it() -> None:
    lab = parse(DUAL)
    policy = render_config_gateway(lab, lab.pinned_addresses)["policy"]
    assert policy["prefix-list6"] == {
        "metallb-lab-pools6": {
            "description": "metallb-unifi: the IPv6 addresses of the BGP pools",
            "rule": {
                "10": {"action": "permit", "prefix": "fd00:30:10::/120", "le": "128"},
                "20": {"action": "permit", "prefix": "fd00:30:11::5/128"},  # a host route: no le (Quagga)
                "30": {"action": "permit", "prefix": "fd00:30:11::6/128"},
                "40": {"action": "permit", "prefix": "fd00:30:12::/127", "le": "128"},
                # not the layer2 pool's fd00:30::200-2ff
            },
        }
    }
    assert policy["route-map"]["metallb-lab-in6"] == {
        "description": "metallb-unifi: accept only BGP pool IPv6 prefixes from the nodes",
        "rule": {"10": {"action": "permit", "match": {"ipv6": {"address": {"prefix-list": "metallb-lab-pools6"}}}}},
    }
    # The IPv4 side is what it is without IPv6, and the out map serves both families.
    assert policy["prefix-list"] == render_config_gateway(parse(MAXIMAL), {})["policy"]["prefix-list"]
    assert sorted(policy["route-map"]) == ["metallb-lab-in", "metallb-lab-in6", "metallb-lab-out"]


def test_dual_stack_host_names_list_ipv4_then_ipv6_whatever_order_they_are_given_in() -> None:
    lab = parse(DUAL)
    given_ = {"grafana": lab.pinned_addresses["grafana"][::-1], "registry": REGISTRY[::-1]}
    hosts = render_config_gateway(lab, given_)["system"]["static-host-mapping"]["host-name"]
    assert hosts == {
        "grafana.lab.home": {
            "alias": ["grafana", "dashboards", "metrics.lab.home"],
            "inet": ["10.30.10.10", "fd00:30:10::10"],
        },
        "registry.lab.home": {"alias": ["registry"], "inet": ["10.30.10.77", "fd00:30:12::1"]},
    }


def test_dual_stack_file_validates_against_the_usg_schema_with_every_leaf_a_string() -> None:
    lab = parse(DUAL)
    document = json.loads(config_gateway_json(lab, {**lab.pinned_addresses, "registry": REGISTRY}))
    for path, value in leaves(document):
        assert isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value)), path
    assert "maximum-paths" not in set(keys(document))
    needs_usg_schema()
    assert schema_errors(document) == []


def test_node_addresses6_without_an_ipv6_bgp_pool_change_nothing() -> None:
    # IPv6 only on the LAN (a layer2 pool): no IPv6 session, no IPv6 filter, the file of MAXIMAL.
    raw = copy.deepcopy(DUAL)
    raw["metallb"]["pools"] = [MAXIMAL["metallb"]["pools"][0], DUAL["metallb"]["pools"][1]]
    raw["services"] = copy.deepcopy(MAXIMAL["services"])
    lab = parse(raw)
    assert not lab.bgp_v6 and all(node.address6 for node in lab.nodes)
    maximal = parse(MAXIMAL)
    assert config_gateway_json(lab, lab.pinned_addresses) == config_gateway_json(maximal, maximal.pinned_addresses)


@pytest.mark.parametrize(("kind", "name"), [("prefix-list6", "metallb-lab-pools6"), ("route-map", "metallb-lab-in6")])
@pytest.mark.parametrize("stack", ["lab", "dual"])
def test_parser_rejects_a_base_defining_an_ipv6_name_of_the_filter(stack: str, kind: str, name: str) -> None:
    # Refused on an IPv4-only stack too: the names are the stack's, and an IPv6 pool added later
    # must not clash with the base file.
    raw = stack_raw("lab") if stack == "lab" else DUAL
    messages = problems_of(raw, {"policy": {kind: {name: {"rule": {"10": {"action": "permit"}}}}}})
    assert messages == [
        f"'base.json' defines policy {kind} {name!r} at policy.{kind}.{name}, a name of this stack's BGP filter "
        "(what the gateway accepts from the nodes); rename or remove it in 'base.json'"
    ]


def imported6(document: dict[str, Any], stack: str, route: IPv6Network) -> bool:
    """Whether every IPv6 neighbour's import route-map lets ``route`` in."""
    names = filter_names(stack)
    in6 = document["policy"]["route-map"][names.route_map_in6]["rule"]
    assert in6 == {"10": {"action": "permit", "match": {"ipv6": {"address": {"prefix-list": names.prefix_list6}}}}}
    return permits(usg_prefix_list(document, names.prefix_list6, IPFamily.IPV6), route)


def without_ipv6(lab: Lab) -> Lab:
    """The same lab with every IPv6 address taken out."""
    pools = tuple(
        replace(pool, ranges=tuple(r for r in pool.ranges if r.first.version == 4)) for pool in lab.metallb.pools
    )
    return replace(
        lab,
        nodes=tuple(replace(node, address6=None) for node in lab.nodes),
        gateway=replace(lab.gateway, peer_address6=None),
        metallb=replace(lab.metallb, pools=pools),
    )


@st.composite
def dual_labs_and_routes(draw: st.DrawFn) -> tuple[Lab, str, dict[str, tuple[IPAddress, ...]], list[IPv6Network]]:
    """A dual-stack lab (tests/config/strategies.py; some peer over IPv4 only) under a drawn stack
    name, the addresses its services may have, and IPv6 routes near the pools' edges and anywhere."""
    stack = draw(st.text(min_size=1, max_size=20))
    lab = parse_lab(draw(valid_configs(dual_stack=True)), stack=stack)
    # Addresses as MetalLB might allocate them: the pinned ones, and an IPv6 one of a BGP pool.
    v6 = [r for pool in lab.bgp_pools for r in pool.ranges if r.first.version == 6]
    addresses: dict[str, tuple[IPAddress, ...]] = dict(lab.pinned_addresses)
    for service in lab.services if v6 else ():
        pinned = addresses.get(service.name, ())
        if all(a.version == 4 for a in pinned) and draw(st.booleans()):  # at most one per family
            extra: IPAddress = draw(st.sampled_from(v6)).first
            addresses[service.name] = tuple(draw(st.permutations([*pinned, extra])))
    edges = [int(a) for r in v6 for a in (r.first, r.last)] or [int(lab.gateway.peer_address6 or 0)]
    near = st.sampled_from(edges).flatmap(lambda edge: st.integers(max(0, edge - 3), min(2**128 - 1, edge + 3)))
    routes = draw(
        st.lists(
            st.tuples(st.one_of(near, st.integers(0, 2**128 - 1)), st.integers(0, 128)).map(
                lambda r: IPv6Network((r[0], r[1]), strict=False)
            ),
            min_size=1,
            max_size=20,
        )
    )
    return lab, stack, addresses, routes


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dual_labs_and_routes())
def test_dual_stack_file_on_random_labs(
    case: tuple[Lab, str, dict[str, tuple[IPAddress, ...]], list[IPv6Network]],
) -> None:
    lab, stack, addresses, routes = case
    document = render_config_gateway(lab, addresses)
    names = filter_names(stack)

    # Without an IPv6 BGP pool the file is the IPv4 one; with one, the IPv4 part is still exactly
    # the IPv4 file, and IPv6 adds the IPv6 neighbours, the prefix-list6 and its import map.
    plain = render_config_gateway(
        without_ipv6(lab), {n: tuple(a for a in found if a.version == 4) for n, found in addresses.items()}
    )
    ipv6_part = copy.deepcopy(document)
    for entry in ipv6_part.get("system", {}).get("static-host-mapping", {}).get("host-name", {}).values():
        entry["inet"] = [a for a in entry["inet"] if ":" not in a]
    hosts = ipv6_part.get("system", {}).get("static-host-mapping", {}).get("host-name", {})
    for host in [h for h, entry in hosts.items() if not entry["inet"]]:
        del hosts[host]
    if "system" in ipv6_part and not hosts:
        del ipv6_part["system"]
    if not lab.bgp_v6:
        assert not lab.peering_nodes6 and ipv6_part == plain
        assert "prefix-list6" not in document["policy"] and names.route_map_in6 not in document["policy"]["route-map"]
        return
    ipv6_part["policy"].pop("prefix-list6")
    ipv6_part["policy"]["route-map"].pop(names.route_map_in6)
    neighbors = ipv6_part["protocols"]["bgp"][str(lab.gateway.asn)]["neighbor"]
    six = {str(node.address6) for node in lab.peering_nodes6}
    assert six == {str(node.address6) for node in lab.peering_nodes}  # the parser requires one per peering node
    for address in six:
        v6 = neighbors.pop(address)
        assert v6 == {
            **neighbors[str(lab.peering_nodes[0].address)],
            "address-family": {
                "ipv6-unicast": {"route-map": {"import": names.route_map_in6, "export": names.route_map_out}}
            },
        }
    assert ipv6_part == plain

    # Host names: every known address, IPv4 first.
    for service in lab.services:
        if addresses.get(service.name):
            entry = document["system"]["static-host-mapping"]["host-name"][service.hostname(lab.gateway.dns_domain)]
            assert entry["inet"] == [str(a) for a in sorted(addresses[service.name], key=lambda a: a.version)]

    # The IPv6 filter: what Quagga takes, exactly the routes inside an IPv6 range of a BGP pool.
    entries = usg_prefix_list(document, names.prefix_list6, IPFamily.IPV6)
    assert [e.seq for e in entries] == [10 * n for n in range(1, len(entries) + 1)]
    assert all(e.permit and e.ge is None and (e.le is None) == (e.prefix.prefixlen == 128) for e in entries)
    assert all(e.le in (None, 128) for e in entries)  # Quagga: len < le, so no le on a /128
    for route in routes:
        assert imported6(document, stack, route) == inside_a_pool(lab, route), route
    for pool in lab.bgp_pools:
        for address_range in pool.ranges:
            if address_range.first.version == 6:
                for end in {address_range.first, address_range.last}:
                    length = pool.aggregation_length_v6 or 128
                    assert imported6(document, stack, IPv6Network((end, length), strict=False)), (end, length)
    for pool in lab.metallb.pools:
        for address_range in pool.ranges:
            if pool.protocol is Protocol.LAYER2 and address_range.first.version == 6:
                assert not imported6(document, stack, IPv6Network((address_range.first, 128)))
    assert lab.node_subnet6 is not None
    for outside in ("::/0", str(lab.node_subnet6), f"{lab.peering_nodes6[0].address6}/128"):
        assert not imported6(document, stack, IPv6Network(outside))
    if USG_SCHEMA.exists():
        assert schema_errors(json.loads(config_gateway_json(lab, addresses))) == []
