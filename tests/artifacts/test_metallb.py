"""MetalLB's configuration: the post's ConfigMap exactly, only keys MetalLB's strict ConfigMap
parser knows, and CRs that MetalLB's own CRD schemas accept."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from components.artifacts.metallb import render_metallb, render_metallb_yaml
from components.config.model import Lab
from components.config.parse import parse_lab
from components.config.stack_files import read_stack_config
from components.config.versions import parse_version
from tests.blog_post import POST_METALLB_CONFIG as POST_CONFIG
from tests.config.raw_labs import dual_stack_lab

REPO = Path(__file__).resolve().parents[2]
REFERENCE = (REPO / ".." / "shared" / "reference").resolve()
METALLB_REFERENCE = REFERENCE / "metallb"
needs_reference = pytest.mark.skipif(
    not METALLB_REFERENCE.is_dir(),
    reason=f"upstream MetalLB reference data not found at {METALLB_REFERENCE} (only in the dev workspace)",
)


def stack_lab(name: str) -> Lab:
    raw = read_stack_config(REPO / f"Pulumi.{name}.yaml")
    return parse_lab(raw, read_file=lambda path: (REPO / path).read_text(encoding="utf-8"), stack="lab")


def maximal_config(version: str, *, ibgp: bool) -> dict[str, Any]:
    """Every MetalLB option the program can write. iBGP and eBGP each have options of their
    own (localPref is iBGP only, ebgpMultiHop eBGP only), so there are two variants."""
    bgp_pool: dict[str, Any] = {
        "name": "routed",
        "protocol": "bgp",
        "addresses": ["10.1.0.0/24", "10.2.0.10-10.2.0.20"],
        "autoAssign": False,
        "avoidBuggyIPs": True,
        "aggregationLength": 32,
        "communities": ["64512:100", "65535:65281"],
    }
    bgp: dict[str, Any] = {
        "password": "s3cret-Pass",
        "holdTime": "90s",
        "keepaliveTime": "30s",
        "nodeSelectors": [
            {
                "matchLabels": {"rack": "a"},
                "matchExpressions": [
                    {"key": "kubernetes.io/hostname", "operator": "In", "values": ["n1", "n2"]},
                    {"key": "node-role.kubernetes.io/control-plane", "operator": "DoesNotExist"},
                ],
            },
            {"matchLabels": {"rack": "b"}},
        ],
        "bfd": {"receiveInterval": 300, "transmitInterval": 250, "detectMultiplier": 5},
    }
    if ibgp:
        bgp_pool["localPref"] = 150
    else:
        bgp["ebgpMultiHop"] = True
    return {
        "nodes": [
            {"name": "n1", "address": "10.0.0.11", "labels": {"rack": "a"}},
            {"name": "n2", "address": "10.0.0.12", "labels": {"rack": "b"}},
        ],
        "metallb": {
            "version": version,
            "mode": "frr",
            "asn": 64512 if ibgp else 64513,
            "pools": [bgp_pool, {"name": "lan", "protocol": "layer2", "addresses": ["10.0.0.200-10.0.0.210"]}],
        },
        "bgp": bgp,
        # unifi-os: a USG has no BFD, and the maximal config sets it.
        "gateway": {"kind": "unifi-os", "asn": 64512, "peerAddress": "10.0.0.1", "dnsDomain": "lab.home"},
    }


def minimal_config(version: str, **metallb: Any) -> dict[str, Any]:
    return {
        "nodes": [{"name": "n1", "address": "10.0.0.11"}],
        "metallb": {
            "version": version,
            "asn": 64512,
            "pools": [{"name": "bgp", "protocol": "bgp", "addresses": ["10.10.10.0/24"]}],
            **metallb,
        },
        "gateway": {"kind": "usg", "asn": 64512, "peerAddress": "10.0.0.1", "dnsDomain": "lab.home"},
    }


def dual_stack_config(version: str, *, ibgp: bool) -> dict[str, Any]:
    """The maximal config made dual-stack, with every IPv6 option the program writes: the nodes and
    the gateway on fd00:10::/64, the BGP pool of both families (a CIDR and a range of each) with
    ``aggregationLengthV6``, an IPv4-only and an IPv6-only BGP pool beside it, and IPv6 addresses
    in the layer2 pool."""
    raw = maximal_config(version, ibgp=ibgp)
    for index, node in enumerate(raw["nodes"]):
        node["address6"] = f"fd00:10::{11 + index}"
    raw["gateway"]["peerAddress6"] = "fd00:10::1"
    routed, lan = raw["metallb"]["pools"]
    routed["addresses"] += ["fd00:1::/120", "fd00:2::10-fd00:2::1f"]
    routed["aggregationLengthV6"] = 124
    lan["addresses"].append("fd00:10::200-fd00:10::20f")
    raw["metallb"]["pools"] += [
        {"name": "routed4", "protocol": "bgp", "addresses": ["10.3.0.0/28"]},
        {"name": "routed6", "protocol": "bgp", "addresses": ["fd00:3::/124"]},
    ]
    return raw


def with_version(lab: Lab, version: str) -> Lab:
    parsed = parse_version(version)
    assert parsed is not None
    return replace(lab, metallb=replace(lab.metallb, version=parsed))


def only(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (found,) = [o for o in objects if o["kind"] == kind]
    return found


def legacy_config(lab: Lab) -> dict[str, Any]:
    (configmap,) = render_metallb(lab)
    config = yaml.safe_load(configmap["data"]["config"])
    assert isinstance(config, dict)
    return config


# --- ConfigMap era ------------------------------------------------------------------------


def test_lab_stack_renders_the_posts_configmap_key_for_key() -> None:
    (configmap,) = render_metallb(stack_lab("lab"))

    assert (configmap["apiVersion"], configmap["kind"]) == ("v1", "ConfigMap")
    assert (configmap["metadata"]["namespace"], configmap["metadata"]["name"]) == ("metallb-system", "config")
    assert list(configmap["data"]) == ["config"]
    config = yaml.safe_load(configmap["data"]["config"])
    assert config == POST_CONFIG
    # Same order as the post too, so the text reads like the post's.
    assert list(config) == ["peers", "address-pools"]
    assert list(config["peers"][0]) == ["peer-address", "peer-asn", "my-asn"]
    assert list(config["address-pools"][0]) == ["name", "protocol", "addresses"]


def test_legacy_yaml_file_holds_the_configmap_with_its_config_text_unchanged() -> None:
    lab = stack_lab("lab")
    text = render_metallb_yaml(lab)

    assert list(yaml.safe_load_all(text)) == render_metallb(lab)
    assert "config: |\n    peers:\n    - peer-address: 192.168.1.1\n" in text


def known_key_paths(node: Any, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], type]:
    """Every key path in a ConfigMap config (``[]`` stands for a list item), with the type of
    its value. Label maps are leaves: their keys are labels, not config keys."""
    found: dict[tuple[str, ...], type] = {}
    if isinstance(node, dict) and (not path or path[-1] != "match-labels"):
        for key, value in node.items():
            found[(*path, key)] = type(value)
            found.update(known_key_paths(value, (*path, key)))
    elif isinstance(node, list):
        for item in node:
            found.update(known_key_paths(item, (*path, "[]")))
    return found


@cache
def legacy_known_keys() -> dict[tuple[str, ...], type]:
    example = yaml.safe_load((METALLB_REFERENCE / "v0.12.1" / "example-config.yaml").read_text())
    known = known_key_paths(yaml.safe_load(example["data"]["config"]))
    # The example spells the peer's BFD key ``bfdProfile``, but the parser's peer struct reads
    # ``bfd-profile`` (yaml:"bfd-profile"; MetalLB's own config tests use that spelling).
    assert known.pop(("peers", "[]", "bfdProfile")) is str
    known[("peers", "[]", "bfd-profile")] = str
    return known


@needs_reference
@pytest.mark.parametrize("dual_stack", [False, True], ids=["ipv4", "dual-stack"])
@pytest.mark.parametrize("ibgp", [True, False], ids=["ibgp", "ebgp"])
def test_legacy_configmap_uses_only_keys_metallbs_strict_parser_knows(ibgp: bool, dual_stack: bool) -> None:
    config_of = dual_stack_config if dual_stack else maximal_config
    config = legacy_config(parse_lab(config_of("v0.12.1", ibgp=ibgp), stack="lab"))
    rendered = known_key_paths(config)
    known = legacy_known_keys()

    assert sorted(set(rendered) - set(known)) == []
    assert {path: kind for path, kind in rendered.items() if known[path] is not kind} == {}
    # The maximal config really does exercise the options (not a vacuous pass).
    expected = {
        ("peers", "[]", "password"),
        ("peers", "[]", "hold-time"),
        ("peers", "[]", "keepalive-time"),
        ("peers", "[]", "bfd-profile"),
        ("peers", "[]", "node-selectors", "[]", "match-labels"),
        ("peers", "[]", "node-selectors", "[]", "match-expressions", "[]", "values"),
        ("address-pools", "[]", "auto-assign"),
        ("address-pools", "[]", "avoid-buggy-ips"),
        ("address-pools", "[]", "bgp-advertisements", "[]", "aggregation-length"),
        ("address-pools", "[]", "bgp-advertisements", "[]", "communities"),
        ("bfd-profiles", "[]", "detect-multiplier"),
    }
    expected.add(
        ("address-pools", "[]", "bgp-advertisements", "[]", "localpref") if ibgp else ("peers", "[]", "ebgp-multihop")
    )
    if dual_stack:
        expected.add(("address-pools", "[]", "bgp-advertisements", "[]", "aggregation-length-v6"))
    assert expected <= set(rendered)


def test_legacy_maximal_config_carries_every_value() -> None:
    config = legacy_config(parse_lab(maximal_config("v0.12.1", ibgp=True), stack="lab"))

    assert config["peers"] == [
        {
            "peer-address": "10.0.0.1",
            "peer-asn": 64512,
            "my-asn": 64512,
            "hold-time": "90s",
            "keepalive-time": "30s",
            "password": "s3cret-Pass",
            "node-selectors": [
                {
                    "match-labels": {"rack": "a"},
                    "match-expressions": [
                        {"key": "kubernetes.io/hostname", "operator": "In", "values": ["n1", "n2"]},
                        {"key": "node-role.kubernetes.io/control-plane", "operator": "DoesNotExist"},
                    ],
                },
                {"match-labels": {"rack": "b"}},
            ],
            "bfd-profile": "gateway",
        }
    ]
    assert config["address-pools"] == [
        {
            "name": "routed",
            "protocol": "bgp",
            "addresses": ["10.1.0.0/24", "10.2.0.10-10.2.0.20"],
            "auto-assign": False,
            "avoid-buggy-ips": True,
            "bgp-advertisements": [
                {"aggregation-length": 32, "localpref": 150, "communities": ["64512:100", "65535:65281"]}
            ],
        },
        {"name": "lan", "protocol": "layer2", "addresses": ["10.0.0.200-10.0.0.210"]},
    ]
    assert config["bfd-profiles"] == [
        {"name": "gateway", "receive-interval": 300, "transmit-interval": 250, "detect-multiplier": 5}
    ]


@pytest.mark.parametrize("ibgp", [True, False], ids=["ibgp", "ebgp"])
def test_legacy_dual_stack_config_adds_the_ipv6_peer_and_carries_every_ipv6_value(ibgp: bool) -> None:
    ipv4_only = legacy_config(parse_lab(maximal_config("v0.12.1", ibgp=ibgp), stack="lab"))
    config = legacy_config(parse_lab(dual_stack_config("v0.12.1", ibgp=ibgp), stack="lab"))

    # The IPv4 peer as before, then the IPv6 one saying the same but for the address.
    assert config["peers"] == [*ipv4_only["peers"], {**ipv4_only["peers"][0], "peer-address": "fd00:10::1"}]
    routed, lan, routed4, routed6 = config["address-pools"]
    assert routed["addresses"] == ["10.1.0.0/24", "10.2.0.10-10.2.0.20", "fd00:1::/120", "fd00:2::10-fd00:2::1f"]
    assert routed["bgp-advertisements"] == [
        {**ipv4_only["address-pools"][0]["bgp-advertisements"][0], "aggregation-length-v6": 124}
    ]
    assert lan["addresses"] == ["10.0.0.200-10.0.0.210", "fd00:10::200-fd00:10::20f"]
    # v0.12 advertises a pool to every peer: nothing in a pool names them.
    assert routed4 == {"name": "routed4", "protocol": "bgp", "addresses": ["10.3.0.0/28"]}
    assert routed6 == {"name": "routed6", "protocol": "bgp", "addresses": ["fd00:3::/124"]}
    assert config["bfd-profiles"] == ipv4_only["bfd-profiles"]


def test_legacy_ipv6_peer_only_when_a_bgp_pool_holds_ipv6() -> None:
    raw = dual_stack_config("v0.12.1", ibgp=True)
    raw["metallb"]["pools"] = [p for p in raw["metallb"]["pools"] if p["name"] in ("lan", "routed4")]
    config = legacy_config(parse_lab(raw, stack="lab"))

    assert [peer["peer-address"] for peer in config["peers"]] == ["10.0.0.1"]


def test_legacy_pool_gets_bgp_advertisements_only_when_an_advertisement_option_is_set() -> None:
    raw = minimal_config("v0.12.1")
    plain = legacy_config(parse_lab(raw, stack="lab"))["address-pools"][0]
    raw["metallb"]["pools"][0]["aggregationLength"] = 28
    aggregated = legacy_config(parse_lab(raw, stack="lab"))["address-pools"][0]

    assert "bgp-advertisements" not in plain
    assert aggregated["bgp-advertisements"] == [{"aggregation-length": 28}]


def test_legacy_peer_writes_a_non_default_hold_time_without_keepalive_or_port() -> None:
    raw = minimal_config("v0.12.1")
    raw["bgp"] = {"holdTime": "3m"}

    assert legacy_config(parse_lab(raw, stack="lab"))["peers"] == [
        {"peer-address": "10.0.0.1", "peer-asn": 64512, "my-asn": 64512, "hold-time": "180s"}
    ]


def test_legacy_encrypted_password_is_written_as_a_visible_placeholder() -> None:
    raw = minimal_config("v0.12.1")
    raw["bgp"] = {"password": {"secure": "v1:AAAA"}}

    assert (
        legacy_config(parse_lab(raw, stack="lab"))["peers"][0]["password"] == "<encrypted: metallb-unifi:bgp.password>"
    )


# --- CRD era ------------------------------------------------------------------------------


@cache
def crd_schemas(version: str) -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) → openAPIV3Schema of every CRD in MetalLB's install manifest."""
    path = METALLB_REFERENCE / version / "metallb-native.yaml"
    schemas = {}
    for document in yaml.safe_load_all(path.read_text()):
        if not document or document.get("kind") != "CustomResourceDefinition":
            continue
        group, kind = document["spec"]["group"], document["spec"]["names"]["kind"]
        for served in document["spec"]["versions"]:
            schemas[(f"{group}/{served['name']}", kind)] = served["schema"]["openAPIV3Schema"]
    return schemas


def undeclared_fields(value: Any, schema: dict[str, Any], path: str = "") -> Iterator[str]:
    """Fields the schema does not declare. OpenAPI schemas accept unknown fields and the API
    server silently prunes them, so a misspelled field would pass validation and do nothing."""
    if isinstance(value, dict):
        properties = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, child in value.items():
            if properties is not None and key in properties:
                yield from undeclared_fields(child, properties[key], f"{path}.{key}")
            elif isinstance(extra, dict):
                yield from undeclared_fields(child, extra, f"{path}.{key}")
            elif properties is not None or extra is False:
                yield f"{path}.{key}"
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            yield from undeclared_fields(item, schema["items"], f"{path}[{index}]")


LAB_SOURCES = {
    "crds-stack": lambda: stack_lab("crds"),
    "udm-stack": lambda: stack_lab("udm"),
    "maximal-ibgp": lambda: parse_lab(maximal_config("v0.15.3", ibgp=True), stack="lab"),
    "maximal-ebgp": lambda: parse_lab(maximal_config("v0.15.3", ibgp=False), stack="lab"),
    "dual-stack-ibgp": lambda: parse_lab(dual_stack_config("v0.15.3", ibgp=True), stack="lab"),
    "dual-stack-ebgp": lambda: parse_lab(dual_stack_config("v0.15.3", ibgp=False), stack="lab"),
    "dual-stack-raw-lab": lambda: parse_lab(dual_stack_lab(), stack="lab"),
}


@needs_reference
@pytest.mark.parametrize("schema_version", ["v0.15.3", "v0.16.1"])
@pytest.mark.parametrize("source", sorted(LAB_SOURCES))
def test_custom_resources_validate_against_metallbs_crd_schemas(source: str, schema_version: str) -> None:
    objects = render_metallb(with_version(LAB_SOURCES[source](), schema_version))
    schemas = crd_schemas(schema_version)
    custom = [o for o in objects if o["apiVersion"].startswith("metallb.io/")]

    assert custom, "nothing to check"
    for obj in custom:
        schema = schemas[(obj["apiVersion"], obj["kind"])]
        errors = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(obj)]
        assert errors == [], f"{obj['kind']} {obj['metadata']['name']}"
        assert list(undeclared_fields(obj, schema)) == [], f"{obj['kind']} {obj['metadata']['name']}"


@needs_reference
def test_undeclared_field_check_catches_a_misspelled_field() -> None:
    peer = only(render_metallb(stack_lab("udm")), "BGPPeer")
    broken = copy.deepcopy(peer)
    broken["spec"]["holdtime"] = "9s"
    broken["spec"]["nodeSelectors"] = [{"matchLabel": {"a": "b"}}]
    schema = crd_schemas("v0.16.1")[("metallb.io/v1beta2", "BGPPeer")]

    assert list(undeclared_fields(peer, schema)) == []
    assert sorted(undeclared_fields(broken, schema)) == [".spec.holdtime", ".spec.nodeSelectors[0].matchLabel"]


def test_custom_resources_come_in_the_documented_order() -> None:
    objects = render_metallb(parse_lab(maximal_config("v0.15.3", ibgp=True), stack="lab"))

    assert [(o["kind"], o["metadata"]["name"]) for o in objects] == [
        ("Secret", "gateway-bgp-password"),
        ("BFDProfile", "gateway"),
        ("IPAddressPool", "routed"),
        ("IPAddressPool", "lan"),
        ("BGPPeer", "gateway"),
        ("BGPAdvertisement", "routed"),
        ("L2Advertisement", "lan"),
    ]
    assert {o["metadata"]["namespace"] for o in objects} == {"metallb-system"}
    assert {o["apiVersion"] for o in objects if o["kind"] != "Secret"} == {"metallb.io/v1beta1", "metallb.io/v1beta2"}
    assert only(objects, "BGPPeer")["apiVersion"] == "metallb.io/v1beta2"


def test_custom_resources_carry_every_configured_value() -> None:
    objects = render_metallb(parse_lab(maximal_config("v0.15.3", ibgp=False), stack="lab"))

    assert only(objects, "BGPPeer")["spec"] == {
        "myASN": 64513,
        "peerASN": 64512,
        "peerAddress": "10.0.0.1",
        "holdTime": "90s",
        "keepaliveTime": "30s",
        "nodeSelectors": [
            {
                "matchLabels": {"rack": "a"},
                "matchExpressions": [
                    {"key": "kubernetes.io/hostname", "operator": "In", "values": ["n1", "n2"]},
                    {"key": "node-role.kubernetes.io/control-plane", "operator": "DoesNotExist"},
                ],
            },
            {"matchLabels": {"rack": "b"}},
        ],
        "ebgpMultiHop": True,
        "bfdProfile": "gateway",
        "passwordSecret": {"name": "gateway-bgp-password", "namespace": "metallb-system"},
    }
    assert only(objects, "BFDProfile")["spec"] == {
        "receiveInterval": 300,
        "transmitInterval": 250,
        "detectMultiplier": 5,
    }
    pools = {o["metadata"]["name"]: o["spec"] for o in objects if o["kind"] == "IPAddressPool"}
    assert pools == {
        "routed": {"addresses": ["10.1.0.0/24", "10.2.0.10-10.2.0.20"], "autoAssign": False, "avoidBuggyIPs": True},
        "lan": {"addresses": ["10.0.0.200-10.0.0.210"], "autoAssign": True, "avoidBuggyIPs": False},
    }
    assert only(objects, "BGPAdvertisement")["spec"] == {
        "ipAddressPools": ["routed"],
        "peers": ["gateway"],
        "aggregationLength": 32,
        "communities": ["64512:100", "65535:65281"],
    }
    assert only(objects, "L2Advertisement")["spec"] == {"ipAddressPools": ["lan"]}


def test_ibgp_pool_local_pref_goes_into_its_bgp_advertisement() -> None:
    objects = render_metallb(parse_lab(maximal_config("v0.15.3", ibgp=True), stack="lab"))

    assert only(objects, "BGPAdvertisement")["spec"]["localPref"] == 150
    assert "ebgpMultiHop" not in only(objects, "BGPPeer")["spec"]


@pytest.mark.parametrize("config_of", [maximal_config, dual_stack_config], ids=["ipv4", "dual-stack"])
def test_every_reference_between_custom_resources_names_a_rendered_object(config_of: Any) -> None:
    objects = render_metallb(parse_lab(config_of("v0.16.1", ibgp=True), stack="lab"))
    names = {(o["kind"], o["metadata"]["name"]) for o in objects}
    peers = [o["spec"] for o in objects if o["kind"] == "BGPPeer"]

    assert len(peers) == (2 if config_of is dual_stack_config else 1)
    for peer in peers:
        assert ("BFDProfile", peer["bfdProfile"]) in names
        assert ("Secret", peer["passwordSecret"]["name"]) in names
    for advertisement in (o for o in objects if o["kind"].endswith("Advertisement")):
        assert {("IPAddressPool", p) for p in advertisement["spec"]["ipAddressPools"]} <= names
        assert {("BGPPeer", p) for p in advertisement["spec"].get("peers", [])} <= names
    assert len(names) == len(objects), "two objects of one kind share a name"


def test_bgp_peer_without_options_says_only_who_peers_with_whom() -> None:
    objects = render_metallb(parse_lab(minimal_config("v0.13.2"), stack="lab"))

    assert [o["kind"] for o in objects] == ["IPAddressPool", "BGPPeer", "BGPAdvertisement"]
    assert only(objects, "BGPPeer")["spec"] == {"myASN": 64512, "peerASN": 64512, "peerAddress": "10.0.0.1"}
    assert only(objects, "BGPAdvertisement")["spec"] == {"ipAddressPools": ["bgp"], "peers": ["gateway"]}


@pytest.mark.parametrize(
    ("version", "as_secret"), [("v0.13.9", False), ("v0.13.10", True), ("v0.14.0", True), ("v0.16.1", True)]
)
def test_password_is_a_basic_auth_secret_where_metallb_supports_one(version: str, as_secret: bool) -> None:
    raw = minimal_config(version)
    raw["bgp"] = {"password": "s3cret"}
    objects = render_metallb(parse_lab(raw, stack="lab"))
    peer = only(objects, "BGPPeer")["spec"]

    if as_secret:
        secret = only(objects, "Secret")
        assert objects[0] is secret  # created before the peer that needs it
        assert (secret["apiVersion"], secret["type"]) == ("v1", "kubernetes.io/basic-auth")
        assert secret["metadata"]["namespace"] == "metallb-system"
        assert secret["stringData"] == {"password": "s3cret"}
        assert peer["passwordSecret"] == {"name": secret["metadata"]["name"], "namespace": "metallb-system"}
        assert "password" not in peer
    else:
        assert [o["kind"] for o in objects if o["kind"] == "Secret"] == []
        assert peer["password"] == "s3cret"
        assert "passwordSecret" not in peer


def test_rendered_yaml_round_trips_with_sorted_keys() -> None:
    # Same bytes for the same lab across processes and hash seeds: tests/test_determinism.py.
    first = render_metallb_yaml(parse_lab(maximal_config("v0.16.1", ibgp=True), stack="lab"))

    assert first.startswith("---\n")
    assert list(yaml.safe_load_all(first)) == render_metallb(
        parse_lab(maximal_config("v0.16.1", ibgp=True), stack="lab")
    )
    # Keys are sorted in every document.
    for document in first.split("---\n")[1:]:
        top = [line.split(":")[0] for line in document.splitlines() if line and not line.startswith((" ", "-"))]
        assert top == sorted(top)


# --- dual-stack (issue 19) ------------------------------------------------------------------


def specs(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o["spec"] for o in objects if o["kind"] == kind}


@pytest.mark.parametrize("version", ["v0.13.9", "v0.14.9", "v0.15.3"])
@pytest.mark.parametrize("ibgp", [True, False], ids=["ibgp", "ebgp"])
def test_ipv6_peer_is_the_ipv4_peer_but_for_its_address(ibgp: bool, version: str) -> None:
    # v0.13.9 writes the password inline, later releases name the Secret: the IPv6 peer follows.
    ipv4_only = render_metallb(parse_lab(maximal_config(version, ibgp=ibgp), stack="lab"))
    objects = render_metallb(parse_lab(dual_stack_config(version, ibgp=ibgp), stack="lab"))
    peers = specs(objects, "BGPPeer")

    assert list(peers) == ["gateway", "gateway-v6"]
    assert peers["gateway"] == only(ipv4_only, "BGPPeer")["spec"]
    # No disableMP / dualStackAddressFamily (see components/artifacts/metallb.py _peer_addresses).
    assert peers["gateway-v6"] == {**peers["gateway"], "peerAddress": "fd00:10::1"}


def test_dual_stack_custom_resources_carry_every_ipv6_value() -> None:
    ipv4_only = render_metallb(parse_lab(maximal_config("v0.15.3", ibgp=False), stack="lab"))
    objects = render_metallb(parse_lab(dual_stack_config("v0.15.3", ibgp=False), stack="lab"))

    assert [(o["kind"], o["metadata"]["name"]) for o in objects] == [
        ("Secret", "gateway-bgp-password"),
        ("BFDProfile", "gateway"),
        ("IPAddressPool", "routed"),
        ("IPAddressPool", "lan"),
        ("IPAddressPool", "routed4"),
        ("IPAddressPool", "routed6"),
        ("BGPPeer", "gateway"),
        ("BGPPeer", "gateway-v6"),
        ("BGPAdvertisement", "routed"),
        ("L2Advertisement", "lan"),
        ("BGPAdvertisement", "routed4"),
        ("BGPAdvertisement", "routed6"),
    ]
    pools = specs(objects, "IPAddressPool")
    assert pools["routed"]["addresses"] == [
        "10.1.0.0/24",
        "10.2.0.10-10.2.0.20",
        "fd00:1::/120",
        "fd00:2::10-fd00:2::1f",
    ]
    assert pools["lan"]["addresses"] == ["10.0.0.200-10.0.0.210", "fd00:10::200-fd00:10::20f"]
    assert pools["routed6"]["addresses"] == ["fd00:3::/124"]
    advertisements = specs(objects, "BGPAdvertisement")
    assert advertisements["routed"] == {
        **only(ipv4_only, "BGPAdvertisement")["spec"],
        "peers": ["gateway", "gateway-v6"],
        "aggregationLengthV6": 124,
    }
    assert advertisements["routed6"] == {"ipAddressPools": ["routed6"], "peers": ["gateway", "gateway-v6"]}
    # An IPv4-only pool names the IPv4 peer alone: up to v0.14.9 FRR would put its routes on the
    # IPv6 sessions too (metallb.py _advertised_to).
    assert advertisements["routed4"] == {"ipAddressPools": ["routed4"], "peers": ["gateway"]}
    assert specs(objects, "L2Advertisement") == {"lan": {"ipAddressPools": ["lan"]}}


def test_ipv6_in_a_layer2_pool_alone_needs_no_ipv6_peer() -> None:
    raw = dual_stack_config("v0.15.3", ibgp=True)
    raw["metallb"]["pools"] = [p for p in raw["metallb"]["pools"] if p["name"] in ("lan", "routed4")]
    objects = render_metallb(parse_lab(raw, stack="lab"))

    assert list(specs(objects, "BGPPeer")) == ["gateway"]
    assert specs(objects, "BGPAdvertisement") == {"routed4": {"ipAddressPools": ["routed4"], "peers": ["gateway"]}}
