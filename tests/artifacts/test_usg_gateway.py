"""config.gateway.json: the post's golden file, the USG schema, EdgeOS's string leaves, and
merging into a user's base file."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import replace
from functools import cache
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import given
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
from components.config import ConfigError, Lab
from components.config.model import Secret
from components.config.stack_files import read_stack_config
from tests.blog_post import POST_CONFIG_GATEWAY

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
def usg_validator() -> jsonschema.Draft7Validator:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the schema is 1.4 MB: C parser when present
    schema = yaml.load(USG_SCHEMA.read_text(encoding="utf-8"), Loader=loader)
    return jsonschema.Draft7Validator(schema)


# --- what is rendered ---------------------------------------------------------------------


def test_lab_stack_renders_exactly_the_posts_config_gateway_json() -> None:
    lab = parse(stack_raw("lab"))
    assert render_config_gateway(lab, lab.pinned_addresses) == POST_CONFIG_GATEWAY
    assert json.loads(config_gateway_json(lab, lab.pinned_addresses)) == POST_CONFIG_GATEWAY


def test_file_text_is_sorted_four_space_json_with_trailing_newline() -> None:
    lab = parse(stack_raw("lab"))
    text = config_gateway_json(lab, lab.pinned_addresses)
    assert text == json.dumps(POST_CONFIG_GATEWAY, indent=4, sort_keys=True) + "\n"
    assert config_gateway_json(lab, dict(reversed(lab.pinned_addresses.items()))) == text


@pytest.mark.parametrize("name", ["lab", "crds", "udm", "maximal"])
def test_rendered_file_validates_against_the_usg_schema(name: str) -> None:
    if not USG_SCHEMA.exists():
        pytest.skip(f"USG schema not available at {USG_SCHEMA} (reference data lives outside the repo)")
    lab = labs()[name]
    document = json.loads(config_gateway_json(lab, {**lab.pinned_addresses, "registry": IPv4Address("10.30.10.77")}))
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in usg_validator().iter_errors(document)]
    assert errors == []


def test_usg_schema_check_can_fail() -> None:
    # Negative control: the schema is loose, but a non-numeric AS must not pass.
    if not USG_SCHEMA.exists():
        pytest.skip(f"USG schema not available at {USG_SCHEMA} (reference data lives outside the repo)")
    broken = copy.deepcopy(POST_CONFIG_GATEWAY)
    broken["protocols"]["bgp"]["64512"]["neighbor"]["10.10.0.101"]["remote-as"] = "AS64512"
    assert list(usg_validator().iter_errors(broken)) != []
    assert list(usg_validator().iter_errors(POST_CONFIG_GATEWAY)) == []


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
    allocated = {**lab.pinned_addresses, "registry": IPv4Address("10.30.10.77")}
    hosts = render_config_gateway(lab, allocated)["system"]["static-host-mapping"]["host-name"]
    assert hosts["registry.lab.home"] == {"alias": ["registry"], "inet": ["10.30.10.77"]}


def test_no_known_addresses_means_no_system_section() -> None:
    lab = parse(MAXIMAL)
    assert set(render_config_gateway(lab, {})) == {"protocols"}


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
    assert document == {**POST_CONFIG_GATEWAY, "service": {"gui": {"https-port": "8443"}}}


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
