"""The MetalLB oracle (tests/artifacts/metallb_rules.py) checked on its own: for every rule an
input MetalLB accepts and one it refuses, where the rule changed between releases both sides
of the change, MetalLB's shipped example config, the CRD schemas the inputs must also satisfy,
and the program's current renders (which must all pass).

The CRD inputs follow MetalLB's own samples (metallb/metallb@v0.15.3:configsamples/): the
dual-stack one is deployment_bgp.yaml's shape (one pool holding both families, an empty
BGPAdvertisement, a peer per family)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from components.artifacts.metallb import render_metallb
from components.artifacts.services import render_services
from components.config.model import Lab
from components.config.parse import parse_lab
from components.config.versions import supported_versions
from tests.artifacts.metallb_rules import (
    RULES,
    Violation,
    configmap_config_errors,
    go_duration_seconds,
    go_parse_cidr,
    go_parse_ip,
    kubernetes_service_errors,
    load_config_text,
    metallb_config_errors,
    metallb_service_errors,
    parse_pool_entry,
    rules_of,
    service_ip_families,
)
from tests.artifacts.test_metallb import (
    METALLB_REFERENCE,
    crd_schemas,
    maximal_config,
    minimal_config,
    needs_reference,
    stack_lab,
    undeclared_fields,
)
from tests.config.raw_labs import edited
from tests.config.strategies import valid_configs

NS = "metallb-system"


def cr(kind: str, name: str, spec: dict[str, Any] | None, api: str = "v1beta1", **labels: str) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": f"metallb.io/{api}", "kind": kind, "metadata": {"name": name, "namespace": NS}}
    if labels:
        obj["metadata"]["labels"] = dict(labels)
    if spec is not None:
        obj["spec"] = spec
    return obj


def pool(name: str, *addresses: str, labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    return cr("IPAddressPool", name, {"addresses": list(addresses), **spec}, **(labels or {}))


def peer(name: str, address: str, **spec: Any) -> dict[str, Any]:
    return cr("BGPPeer", name, {"myASN": 64512, "peerASN": 64512, "peerAddress": address, **spec}, api="v1beta2")


def bgp_adv(name: str, **spec: Any) -> dict[str, Any]:
    return cr("BGPAdvertisement", name, spec or None)


def l2_adv(name: str, **spec: Any) -> dict[str, Any]:
    return cr("L2Advertisement", name, spec or None)


def bfd(name: str, **spec: Any) -> dict[str, Any]:
    return cr("BFDProfile", name, spec)


def basic_auth(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": NS},
        "type": "kubernetes.io/basic-auth",
        "stringData": {"password": "s3cret"},
    }


V4, V6 = "192.168.10.0/24", "fc00:f853:ccd:e799::/124"  # deployment_bgp.yaml's pool


def dual_stack() -> list[dict[str, Any]]:
    """deployment_bgp.yaml's MetalLB objects."""
    return [
        pool("example", V4, V6),
        bgp_adv("empty"),
        peer("peer", "172.30.0.3"),
        peer("peerv6", "fc00:f853:ccd:e793::5"),
    ]


def v4_only() -> list[dict[str, Any]]:
    """simple_pool_adv_bgp.yaml's shape: one IPv4 pool, its advertisement, one peer."""
    return [pool("example", V4), bgp_adv("adv", ipAddressPools=["example"]), peer("peer", "172.30.0.3")]


def edit(objects: list[dict[str, Any]], kind: str, name: str, **spec: Any) -> list[dict[str, Any]]:
    """A copy of ``objects`` with ``spec`` merged into one object's spec (None removes a key)."""
    result = copy.deepcopy(objects)
    (target,) = [o for o in result if o["kind"] == kind and o["metadata"]["name"] == name]
    target.setdefault("spec", {})
    for key, value in spec.items():
        if value is None:
            target["spec"].pop(key, None)
        else:
            target["spec"][key] = value
    return result


@dataclass(frozen=True)
class Case:
    """Objects and the rules MetalLB (``version``, ``mode``) breaks with them; () = accepted."""

    id: str
    objects: list[dict[str, Any]]
    expected: tuple[str, ...] = ()
    version: str = "v0.15.3"
    mode: str = "frr"
    nodes: list[dict[str, Any]] | None = None
    schema_valid: bool = True  # the CRD schemas accept every object
    schemas: tuple[str, ...] = ("v0.15.3", "v0.16.1")  # the releases whose schemas have its fields


NODES = [{"name": "n1", "labels": {"rack": "a"}}, {"name": "n2", "labels": {"rack": "b"}}]
ECHO = [bfd("echo", echoMode=True)]


def crd_cases() -> list[Case]:
    dual, v4 = dual_stack(), v4_only()
    two_advs = [*dual[:1], *dual[2:], bgp_adv("a", localPref=100), bgp_adv("b", localPref=200)]
    v4_two_advs = [v4[0], v4[2], bgp_adv("a", localPref=100), bgp_adv("b", localPref=200, aggregationLength=24)]
    selected = [
        bgp_adv("a", localPref=100, nodeSelectors=[{"matchLabels": {"rack": "a"}}]),
        bgp_adv("b", localPref=200, nodeSelectors=[{"matchLabels": {"rack": "b"}}]),
    ]
    layer2_v6 = [*v4, pool("l2", "fc00:f853:ccd:e800::/120"), l2_adv("l2", ipAddressPools=["l2"])]
    return [
        # The samples themselves.
        Case("deployment_bgp-frr", dual),
        Case("deployment_bgp-frr-k8s", dual, version="v0.14.0", mode="frr-k8s"),
        Case("deployment_bgp-oldest-crd-release", dual, version="v0.13.2"),
        Case("simple_pool_adv_bgp-native", v4, mode="native"),
        Case("simple_pool_adv_bgp-native-oldest", v4, version="v0.13.2", mode="native"),
        Case("object-duplicate", [*dual, pool("example", "10.9.0.0/24")], ("object-duplicate", "pool-name")),
        # Peers.
        Case("peer-asn", edit(v4, "BGPPeer", "peer", peerASN=0), ("peer-asn",)),
        Case("peer-ebgp-multihop-ibgp", edit(v4, "BGPPeer", "peer", ebgpMultiHop=True), ("peer-ebgp-multihop-ibgp",)),
        Case("peer-ebgp-multihop-ebgp", edit(v4, "BGPPeer", "peer", ebgpMultiHop=True, peerASN=64513)),
        Case("peer-address", edit(v4, "BGPPeer", "peer", peerAddress="172.30.0.300"), ("peer-address",)),
        Case("peer-address-v6-zone", edit(v4, "BGPPeer", "peer", peerAddress="fe80::1%eth0"), ("peer-address",)),
        Case("peer-router-id", edit(v4, "BGPPeer", "peer", routerID="10.0.0"), ("peer-router-id",)),
        Case("peer-router-id-v6-parses", edit(v4, "BGPPeer", "peer", routerID="fc00::1")),
        Case("peer-source-address", edit(v4, "BGPPeer", "peer", sourceAddress="fc00::g"), ("peer-source-address",)),
        Case("peer-timers-hold", edit(v4, "BGPPeer", "peer", holdTime="2s"), ("peer-timers",)),
        Case(
            "peer-timers-keepalive-only-before-v0.14.9",
            edit(v4, "BGPPeer", "peer", keepaliveTime="100s"),  # hold stays 90s: 100s > 90s
            ("peer-timers",),
            version="v0.14.8",
        ),
        Case(
            "peer-timers-keepalive-only-from-v0.14.9",
            edit(v4, "BGPPeer", "peer", keepaliveTime="100s"),  # hold becomes 300s
            version="v0.14.9",
        ),
        Case(
            "peer-password-both",
            [*edit(v4, "BGPPeer", "peer", password="x", passwordSecret={"name": "pw"}), basic_auth("pw")],
            ("peer-password",),
        ),
        Case(
            "peer-password-secret",
            [*edit(v4, "BGPPeer", "peer", passwordSecret={"name": "pw", "namespace": NS}), basic_auth("pw")],
        ),
        Case(
            "peer-password-secret-missing",
            edit(v4, "BGPPeer", "peer", passwordSecret={"name": "pw", "namespace": NS}),
            ("peer-password",),
        ),
        Case("peer-bfd-profile-missing", edit(v4, "BGPPeer", "peer", bfdProfile="nope"), ("peer-bfd-profile-missing",)),
        Case("peer-duplicate", [*v4, copy.deepcopy(v4[2])], ("object-duplicate", "peer-duplicate"), mode="native"),
        # FRR modes: one routerID, one myASN, no address twice.
        *(
            Case(f"frr-peers-router-id-{v}", edit(dual, "BGPPeer", "peerv6", routerID="10.0.0.1"), (rule,), version=v)
            for v in ("v0.13.2", "v0.15.3", "v0.16.1")
            for rule in ["frr-peers-router-id"]
        ),
        *(
            Case(
                f"frr-peers-my-asn-{v}", edit(dual, "BGPPeer", "peerv6", myASN=64513), ("frr-peers-my-asn",), version=v
            )
            for v in ("v0.13.2", "v0.15.3", "v0.16.1")
        ),
        Case(
            "frr-peers-my-asn-other-vrf",
            edit(dual, "BGPPeer", "peerv6", myASN=64513, vrf="red"),
            version="v0.13.8",
        ),
        Case(
            "frr-peers-my-asn-other-vrf-oldest",
            edit(dual, "BGPPeer", "peerv6", myASN=64513, vrf="red"),
            ("frr-peers-my-asn",),
            version="v0.13.7",
        ),
        Case(
            "frr-peers-my-asn-disjoint-nodes-v0.16",
            edit(
                edit(dual, "BGPPeer", "peerv6", myASN=64513, nodeSelectors=[{"matchLabels": {"rack": "b"}}]),
                "BGPPeer",
                "peer",
                nodeSelectors=[{"matchLabels": {"rack": "a"}}],
            ),
            version="v0.16.1",
            nodes=NODES,
        ),
        Case(
            "frr-peers-duplicate-address",
            [*dual, peer("again", "172.30.0.3")],
            ("frr-peers-duplicate-address",),
        ),
        Case("frr-peers-duplicate-address-native", [*v4, peer("again", "172.30.0.3")], mode="native"),
        # Native mode.
        Case(
            "native-frr-only-option-bfd",
            [*edit(v4, "BGPPeer", "peer", bfdProfile="b"), bfd("b")],
            ("native-frr-only-option",),
            mode="native",
        ),
        Case(
            "native-frr-only-option-keepalive",
            edit(v4, "BGPPeer", "peer", keepaliveTime="30s"),
            ("native-frr-only-option",),
            mode="native",
        ),
        Case(
            "native-frr-only-option-disable-mp",
            edit(v4, "BGPPeer", "peer", disableMP=True),
            ("native-frr-only-option",),
            version="v0.14.4",
            mode="native",
        ),
        Case("native-disable-mp-before-v0.14.4", edit(v4, "BGPPeer", "peer", disableMP=True), (), "v0.14.3", "native"),
        Case(
            "native-frr-only-option-dual-stack-address-family",
            edit(v4, "BGPPeer", "peer", dualStackAddressFamily=True),
            ("native-frr-only-option",),
            mode="native",
        ),
        Case(
            "native-non-legacy-community",
            edit(v4, "BGPAdvertisement", "adv", communities=["large:64512:1:2"]),
            ("native-non-legacy-community",),
            mode="native",
        ),
        Case("large-community-frr", edit(v4, "BGPAdvertisement", "adv", communities=["large:64512:1:2"])),
        Case(
            "large-community-before-v0.13.10",
            edit(v4, "BGPAdvertisement", "adv", communities=["large:64512:1:2"]),
            ("community",),
            version="v0.13.9",
        ),
        Case(
            "native-v6-bgp-pool",
            [*dual_stack()[:3]],
            ("native-v6-bgp-pool",),
            mode="native",
        ),
        Case(
            "native-v6-layer2-pool-before-v0.14.9",
            layer2_v6,
            ("native-v6-bgp-pool",),
            version="v0.14.8",
            mode="native",
        ),
        Case("native-v6-layer2-pool-from-v0.14.9", layer2_v6, version="v0.14.9", mode="native"),
        Case(
            "native-v6-bgp-pool-selected-by-label",
            [
                pool("example", V4),
                pool("v6", V6, labels={"bgp": "yes"}),
                bgp_adv("adv", ipAddressPoolSelectors=[{"matchLabels": {"bgp": "yes"}}]),
                peer("peer", "172.30.0.3"),
            ],
            ("native-v6-bgp-pool",),
            version="v0.16.1",
            mode="native",
        ),
        Case(
            "ours-native-v6-peer",
            [*v4, peer("peerv6", "fc00:f853:ccd:e793::5")],
            ("ours-native-v6-peer",),
            mode="native",
        ),
        # BFD profiles.
        Case("bfd-profile", [*v4, bfd("b", detectMultiplier=1)], ("bfd-profile",), schema_valid=False),
        Case("bfd-profile-in-range", [*v4, bfd("b", detectMultiplier=2, receiveInterval=10, transmitInterval=60000)]),
        # Pools.
        Case("pool-empty", edit(v4, "IPAddressPool", "example", addresses=[]), ("pool-empty",)),
        Case(
            "pool-entry-backwards-range",
            edit(v4, "IPAddressPool", "example", addresses=["192.168.10.20-192.168.10.10"]),
            ("pool-entry",),
        ),
        Case(
            "pool-entry-bare-address",  # net.ParseCIDR wants a prefix length, even for one address
            edit(v4, "IPAddressPool", "example", addresses=["192.168.10.10"]),
            ("pool-entry",),
        ),
        Case(
            "pool-entry-v6-prefix",
            edit(v4, "IPAddressPool", "example", addresses=["fc00::/129"]),
            ("pool-entry",),
        ),
        Case(
            "pool-entry-host-bits",  # ParseCIDR masks them off
            edit(v4, "IPAddressPool", "example", addresses=["192.168.10.7/24", "fc00::7/120"]),
        ),
        Case(
            "pool-overlap-within-a-pool",
            edit(dual, "IPAddressPool", "example", addresses=[V4, V6, "fc00:f853:ccd:e799::8-fc00:f853:ccd:e799::9"]),
            ("pool-overlap",),
        ),
        Case("pool-overlap-across-pools", [*dual, pool("more", "fc00:f853:ccd:e799::/120")], ("pool-overlap",)),
        Case("pool-adjacent", [*dual, pool("more", "fc00:f853:ccd:e799::10/124", "192.168.11.0/24")]),
        # Advertisements.
        Case(
            "advertisement-duplicate",
            edit(dual, "BGPAdvertisement", "empty", peers=["peer", "peer"]),
            ("advertisement-duplicate",),
        ),
        Case("community", edit(v4, "BGPAdvertisement", "adv", communities=["65536:1"]), ("community",)),
        Case(
            "community-alias",
            [
                *edit(v4, "BGPAdvertisement", "adv", communities=["no-export"]),
                cr("Community", "aliases", {"communities": [{"name": "no-export", "value": "65535:65281"}]}),
            ],
        ),
        Case(
            "aggregation-length-bounds-v4",
            edit(v4, "BGPAdvertisement", "adv", aggregationLength=33),
            ("aggregation-length-bounds",),
        ),
        Case(
            "aggregation-length-bounds-v6",
            edit(dual, "BGPAdvertisement", "empty", aggregationLengthV6=129),
            ("aggregation-length-bounds",),
        ),
        Case(
            "aggregation-length-vs-v6-entry",
            edit(dual, "BGPAdvertisement", "empty", aggregationLengthV6=120),  # the entry is a /124
            ("aggregation-length-vs-entry",),
        ),
        Case("aggregation-length-v6-at-the-entry", edit(dual, "BGPAdvertisement", "empty", aggregationLengthV6=124)),
        Case(
            "aggregation-length-v6-without-v6",
            edit(v4, "BGPAdvertisement", "adv", aggregationLengthV6=64),  # only IPv4 entries: nothing to check
        ),
        Case(
            "aggregation-length-vs-v4-range",
            # 192.168.10.1-192.168.10.4 is .1/32, .2/31, .4/32: the widest block is a /31.
            edit(
                edit(v4, "IPAddressPool", "example", addresses=["192.168.10.1-192.168.10.4"]),
                "BGPAdvertisement",
                "adv",
                aggregationLength=30,
            ),
            ("aggregation-length-vs-entry",),
        ),
        Case("local-pref-conflict", two_advs, ("local-pref-conflict",)),
        Case("local-pref-before-v0.13.10", two_advs, version="v0.13.9"),
        Case(
            "local-pref-disjoint-peers",
            [*two_advs[:3], bgp_adv("a", localPref=100, peers=["peer"]), bgp_adv("b", localPref=200, peers=["peerv6"])],
        ),
        Case("local-pref-v4-pool-v4-length-differs-v0.15", v4_two_advs, version="v0.15.0"),
        Case("local-pref-v4-pool-v4-length-differs-v0.14", v4_two_advs, ("local-pref-conflict",), version="v0.14.9"),
        Case(
            "local-pref-dual-pool-v4-length-differs-v0.15",
            [*two_advs[:3], bgp_adv("a", localPref=100), bgp_adv("b", localPref=200, aggregationLength=24)],
            ("local-pref-conflict",),
        ),
        Case("local-pref-disjoint-nodes", [*two_advs[:3], *selected], nodes=NODES),
        Case("local-pref-nodes-unknown", [*two_advs[:3], *selected], ("local-pref-conflict",)),
        Case(
            "local-pref-service-selectors-v0.16",
            [*two_advs[:3], *edit(two_advs[3:], "BGPAdvertisement", "b", serviceSelectors=[{}])],
            version="v0.16.1",
            schemas=("v0.16.1",),
        ),
        # BFD echo and IPv6.
        Case("bfd-echo-v6", [*edit(dual, "BGPPeer", "peerv6", bfdProfile="echo"), *ECHO], ("bfd-echo-v6",)),
        Case(
            "bfd-echo-v6-before-v0.13.10", [*edit(dual, "BGPPeer", "peerv6", bfdProfile="echo"), *ECHO], (), "v0.13.9"
        ),
        Case("bfd-echo-v4-pool", [*edit(v4, "BGPPeer", "peer", bfdProfile="echo"), *ECHO]),
        # The program's own refusals.
        Case(
            "ours-mixed-family-range",
            edit(v4, "IPAddressPool", "example", addresses=["192.168.10.1-fc00::1"]),
            ("ours-mixed-family-range",),
        ),
        Case(
            "pool-entry-v6-to-v4-range",  # 16-byte compare: every IPv6 above ::ffff:0:0/96 sorts after IPv4
            edit(v4, "IPAddressPool", "example", addresses=["fc00::1-192.168.10.1"]),
            ("pool-entry",),
        ),
        Case(
            "ours-v4-mapped-entry",
            edit(v4, "IPAddressPool", "example", addresses=["::ffff:192.168.20.0/120"]),
            ("ours-v4-mapped-entry",),
        ),
    ]


CRD_CASES = crd_cases()


@pytest.mark.parametrize("case", CRD_CASES, ids=[c.id for c in CRD_CASES])
def test_crd_rules_accept_and_refuse_as_metallb_does(case: Case) -> None:
    errors = metallb_config_errors(case.objects, version=case.version, mode=case.mode, nodes=case.nodes)

    assert sorted(rules_of(errors)) == sorted(set(case.expected)), [str(e) for e in errors]


@needs_reference
@pytest.mark.parametrize("schema_version", ["v0.15.3", "v0.16.1"])
def test_crd_inputs_are_objects_metallbs_crd_schemas_accept(schema_version: str) -> None:
    """The oracle's inputs are real CRs: the schema refuses only the cases marked so, and no
    object carries a field the schema does not declare (it would be pruned silently)."""
    schemas = crd_schemas(schema_version)
    refused = set()
    cases = [case for case in CRD_CASES if schema_version in case.schemas]
    for case in cases:
        for obj in case.objects:
            if not obj["apiVersion"].startswith("metallb.io/"):
                continue
            schema = schemas[(obj["apiVersion"], obj["kind"])]
            if list(jsonschema.Draft7Validator(schema).iter_errors(obj)):
                refused.add(case.id)
            assert list(undeclared_fields(obj, schema)) == [], (case.id, obj)

    assert refused == {c.id for c in cases if not c.schema_valid}


# --- the legacy ConfigMap (v0.12.1) --------------------------------------------------------------


def legacy(**changes: Any) -> dict[str, Any]:
    """A dual-stack ConfigMap config in the shape of MetalLB's example-config.yaml."""
    config: dict[str, Any] = {
        "peers": [
            {"peer-address": "10.0.0.1", "peer-asn": 64512, "my-asn": 64512},
            {"peer-address": "fc00:10::1", "peer-asn": 64512, "my-asn": 64512},
        ],
        "address-pools": [
            {
                "name": "dual",
                "protocol": "bgp",
                "addresses": ["198.51.100.0/24", "2001:db8:100::/120"],
                "bgp-advertisements": [{"aggregation-length": 32, "aggregation-length-v6": 128}],
            },
            {"name": "lan", "protocol": "layer2", "addresses": ["10.0.0.200-10.0.0.210", "fc00:10::200/125"]},
        ],
    }
    config.update(changes)
    return config


def legacy_with(path: Sequence[str | int], value: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    config = copy.deepcopy(base or legacy())
    node: Any = config
    for step in path[:-1]:
        node = node[step]
    if isinstance(node, list) and path[-1] == len(node):
        node.append(value)
    else:
        node[path[-1]] = value
    return config


V4_PEER_ONLY = legacy(peers=[{"peer-address": "10.0.0.1", "peer-asn": 64512, "my-asn": 64512}])


@dataclass(frozen=True)
class LegacyCase:
    id: str
    config: dict[str, Any] | str
    expected: tuple[str, ...] = ()
    mode: str = "frr"


def legacy_cases() -> list[LegacyCase]:
    v4_pool_native = legacy_with(["address-pools", 0, "addresses"], ["198.51.100.0/24"], V4_PEER_ONLY)
    return [
        LegacyCase("dual-stack-frr", legacy()),
        LegacyCase("v4-bgp-v6-layer2-native", v4_pool_native, mode="native"),
        LegacyCase("configmap-yaml", "- a list\n", ("configmap-yaml",)),
        LegacyCase(
            "configmap-unknown-field-example-spelling",
            legacy_with(["peers", 0, "bfdProfile"], "p"),
            ("configmap-unknown-field",),
        ),
        LegacyCase(
            "configmap-unknown-field-camel-case-v6-length",
            legacy_with(["address-pools", 0, "bgp-advertisements", 0, "aggregationLengthV6"], 64),
            ("configmap-unknown-field",),
        ),
        LegacyCase("configmap-field-type", legacy_with(["peers", 0, "my-asn"], -1), ("configmap-field-type",)),
        LegacyCase(
            "native-v6-bgp-pool-and-peer",
            legacy(),
            ("native-v6-bgp-pool", "ours-native-v6-peer"),
            mode="native",
        ),
        LegacyCase(
            "native-frr-only-option",
            legacy_with(["peers", 0, "keepalive-time"], "30s", v4_pool_native),
            ("native-frr-only-option",),
            mode="native",
        ),
        LegacyCase("frr-peers-router-id", legacy_with(["peers", 1, "router-id"], "10.0.0.9"), ("frr-peers-router-id",)),
        LegacyCase("frr-peers-my-asn", legacy_with(["peers", 1, "my-asn"], 64513), ("frr-peers-my-asn",)),
        LegacyCase(
            "frr-peers-duplicate-address",
            legacy_with(["peers", 1, "peer-address"], "10.0.0.1"),
            ("frr-peers-duplicate-address", "peer-duplicate"),
        ),
        LegacyCase(
            "peer-duplicate-with-defaults-spelled-out",
            legacy_with(
                ["peers", 1],
                {"peer-address": "10.0.0.1", "peer-asn": 64512, "my-asn": 64512, "hold-time": "90s"},
                v4_pool_native,
            ),
            ("peer-duplicate",),
            mode="native",
        ),
        LegacyCase("peer-address", legacy_with(["peers", 1, "peer-address"], "fc00:10::1%eth0"), ("peer-address",)),
        LegacyCase("peer-timers", legacy_with(["peers", 0, "hold-time"], "1s"), ("peer-timers",)),
        LegacyCase(
            "peer-timers-keepalive",
            legacy_with(["peers", 0, "keepalive-time"], "2m"),  # hold-time defaults to 90s
            ("peer-timers",),
        ),
        LegacyCase(
            "bfd-profile",
            legacy(**{"bfd-profiles": [{"name": "b", "detect-multiplier": 256}]}),
            ("bfd-profile",),
        ),
        LegacyCase(
            "peer-bfd-profile-missing", legacy_with(["peers", 0, "bfd-profile"], "b"), ("peer-bfd-profile-missing",)
        ),
        LegacyCase(
            "pool-protocol-layer2-advertisements",
            legacy_with(["address-pools", 1, "bgp-advertisements"], [{"aggregation-length": 32}]),
            ("pool-protocol",),
        ),
        LegacyCase("pool-protocol-missing", legacy_with(["address-pools", 1, "protocol"], None), ("pool-protocol",)),
        LegacyCase("pool-name", legacy_with(["address-pools", 1, "name"], "dual"), ("pool-name",)),
        LegacyCase(
            "pool-overlap",
            legacy_with(["address-pools", 1, "addresses"], ["2001:db8:100::80/121"]),
            ("pool-overlap",),
        ),
        LegacyCase(
            "aggregation-length-bounds",
            legacy_with(["address-pools", 0, "bgp-advertisements", 0, "aggregation-length-v6"], 129),
            ("aggregation-length-bounds",),
        ),
        LegacyCase(
            "aggregation-length-vs-entry",
            legacy_with(["address-pools", 0, "bgp-advertisements", 0, "aggregation-length-v6"], 64),
            ("aggregation-length-vs-entry",),
        ),
        LegacyCase(
            "advertisement-duplicate",
            legacy_with(["address-pools", 0, "bgp-advertisements"], [{"localpref": 1}, {"localpref": 1}]),
            ("advertisement-duplicate",),
        ),
        LegacyCase(
            "community-alias",
            legacy_with(
                ["address-pools", 0, "bgp-advertisements", 0, "communities"],
                ["no-export", "64512:1"],
                legacy(**{"bgp-communities": {"no-export": "65535:65281"}}),
            ),
        ),
        LegacyCase(
            "community",
            legacy_with(["address-pools", 0, "bgp-advertisements", 0, "communities"], ["no-export"]),
            ("community",),
        ),
        LegacyCase(
            "ours-mixed-family-range",
            legacy_with(["address-pools", 1, "addresses"], ["10.0.0.200-fc00:10::200"]),
            ("ours-mixed-family-range",),
        ),
    ]


LEGACY_CASES = legacy_cases()


@pytest.mark.parametrize("case", LEGACY_CASES, ids=[c.id for c in LEGACY_CASES])
def test_configmap_rules_accept_and_refuse_as_metallb_v0_12_1_does(case: LegacyCase) -> None:
    text = case.config if isinstance(case.config, str) else yaml.safe_dump(case.config, sort_keys=False)
    errors = configmap_config_errors(text, mode=case.mode)

    assert sorted(rules_of(errors)) == sorted(set(case.expected)), [str(e) for e in errors]


def test_configmap_text_is_read_as_go_yaml_reads_it() -> None:
    # yaml.v2 has no base-60 numbers: an unquoted community stays a string (PyYAML: 3870721).
    assert load_config_text("communities: [64512:1, 65535:65281]\nn: 12\nb: yes") == {
        "communities": ["64512:1", "65535:65281"],
        "n": 12,
        "b": True,
    }


@needs_reference
def test_metallbs_own_example_config_fails_its_own_strict_parser() -> None:
    """v0.12.1's example-config.yaml, the ConfigMap's reference: it spells the peer's BFD key
    ``bfdProfile`` (the parser reads ``bfd-profile``), and with that fixed still names a BFD
    profile it does not define and sets ebgp-multihop on an iBGP peer."""
    document = yaml.safe_load((METALLB_REFERENCE / "v0.12.1" / "example-config.yaml").read_text())
    text = document["data"]["config"]
    fixed = text.replace("bfdProfile:", "bfd-profile:")

    assert [str(e) for e in configmap_config_errors(text, mode="frr")] == [
        "configmap-unknown-field: peers[0].bfdProfile: not in the parser's struct"
    ]
    assert rules_of(configmap_config_errors(fixed, mode="frr")) == {
        "peer-ebgp-multihop-ibgp",
        "peer-bfd-profile-missing",
    }
    assert rules_of(configmap_config_errors(fixed.replace("bfdProfile1", "bfdprofilename"), mode="frr")) == {
        "peer-ebgp-multihop-ibgp"
    }
    assert rules_of(configmap_config_errors(fixed, mode="native")) == {
        "native-frr-only-option",  # bfd-profile, keepalive-time and the bfd-profiles section
        "peer-ebgp-multihop-ibgp",
        "peer-bfd-profile-missing",
    }


# --- Go's parsers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("10.0.0.1", "10.0.0.1"),
        ("fc00:f853:0ccd:e799::1", "fc00:f853:ccd:e799::1"),
        ("::ffff:10.0.0.1", "10.0.0.1"),  # IPv4 to Go (To4() != nil)
        ("010.0.0.1", None),  # no leading zeros since Go 1.17
        ("fe80::1%eth0", None),  # ParseIP takes no zone
        ("10.0.0.1 ", None),
        ("", None),
    ],
)
def test_addresses_parse_as_go_net_parseip(text: str, parsed: str | None) -> None:
    result = go_parse_ip(text)

    assert (None if result is None else str(result)) == parsed


@pytest.mark.parametrize(
    ("text", "blocks"),
    [
        ("10.0.0.7/24", ["10.0.0.0/24"]),
        ("fc00::7/120", ["fc00::/120"]),
        ("10.0.0.0/024", ["10.0.0.0/24"]),  # dtoi accepts leading zeros in the length
        ("10.0.0.1-10.0.0.4", ["10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/32"]),
        (" fc00::1 - fc00::2 ", ["fc00::1/128", "fc00::2/128"]),  # each side is trimmed
        ("10.0.0.1-fc00::1", []),  # both families: no prefixes at all
        ("::1:0:0-10.0.0.1", []),  # bytes.Compare on 16 bytes: 10.0.0.1 is ::ffff:a00:1, after ::1:0:0
        ("fc00::1-10.0.0.1", None),  # ... and before fc00::1
        ("10.0.0.0/255.255.255.0", None),
        ("10.0.0.1", None),
        ("10.0.0.4-10.0.0.1", None),
    ],
)
def test_pool_entries_parse_as_metallbs_parsecidr(text: str, blocks: list[str] | None) -> None:
    entry = parse_pool_entry(text)

    assert (None if isinstance(entry, str) else [str(b) for b in entry.blocks]) == blocks


def test_go_duration_and_cidr_helpers() -> None:
    assert go_duration_seconds("1m30s") == 90
    assert go_duration_seconds("1.5h") == 5400
    assert go_duration_seconds("0") == 0
    assert go_duration_seconds("90") is None  # Go wants a unit
    assert go_parse_cidr("10.0.0.1") is None


# --- Kubernetes Service dual-stack fields --------------------------------------------------------


def service(annotations: dict[str, str] | None = None, /, **spec: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "web", "namespace": "default"}
    if annotations:
        metadata["annotations"] = annotations
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata,
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}], "selector": {"app": "web"}, **spec},
    }


V4_CLUSTER, DUAL_CLUSTER, V6_FIRST_CLUSTER = ("IPv4",), ("IPv4", "IPv6"), ("IPv6", "IPv4")


@pytest.mark.parametrize(
    ("spec", "cluster", "families"),
    [
        ({}, V4_CLUSTER, ("IPv4",)),
        ({}, V6_FIRST_CLUSTER, ("IPv6",)),  # unset policy: SingleStack of the cluster's default family
        ({"ipFamilyPolicy": "PreferDualStack"}, V4_CLUSTER, ("IPv4",)),
        ({"ipFamilyPolicy": "PreferDualStack"}, DUAL_CLUSTER, ("IPv4", "IPv6")),
        ({"ipFamilyPolicy": "PreferDualStack", "ipFamilies": ["IPv6"]}, DUAL_CLUSTER, ("IPv6", "IPv4")),
        ({"ipFamilyPolicy": "RequireDualStack"}, V6_FIRST_CLUSTER, ("IPv6", "IPv4")),
        ({"ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv6"]}, DUAL_CLUSTER, ("IPv6",)),
        ({"ipFamilies": ["IPv6", "IPv4"], "ipFamilyPolicy": "RequireDualStack"}, DUAL_CLUSTER, ("IPv6", "IPv4")),
    ],
)
def test_service_ip_families_after_the_api_servers_defaulting(
    spec: dict[str, Any], cluster: tuple[str, ...], families: tuple[str, ...]
) -> None:
    assert service_ip_families(service(**spec), cluster_families=cluster) == families
    assert kubernetes_service_errors(service(**spec), cluster_families=cluster) == []


@pytest.mark.parametrize(
    ("spec", "cluster", "rule"),
    [
        ({"ipFamilyPolicy": "DualStack"}, DUAL_CLUSTER, "k8s-ip-family-policy"),
        ({"ipFamilies": ["IPv4", "IPv4"], "ipFamilyPolicy": "PreferDualStack"}, DUAL_CLUSTER, "k8s-ip-families"),
        ({"ipFamilies": ["IPv5"]}, DUAL_CLUSTER, "k8s-ip-families"),
        ({"ipFamilies": ["IPv4", "IPv6"]}, DUAL_CLUSTER, "k8s-single-stack-two-families"),  # unset = SingleStack
        (
            {"ipFamilies": ["IPv4", "IPv6"], "ipFamilyPolicy": "SingleStack"},
            DUAL_CLUSTER,
            "k8s-single-stack-two-families",
        ),
        ({"ipFamilyPolicy": "RequireDualStack"}, V4_CLUSTER, "k8s-require-dual-stack"),
        ({"ipFamilies": ["IPv6"]}, V4_CLUSTER, "k8s-family-not-configured"),
        ({"clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10", "10.96.0.11"]}, DUAL_CLUSTER, "k8s-cluster-ips"),
        ({"clusterIPs": ["10.96.0.10"]}, DUAL_CLUSTER, "k8s-cluster-ips"),
    ],
)
def test_services_the_api_server_refuses(spec: dict[str, Any], cluster: tuple[str, ...], rule: str) -> None:
    errors = kubernetes_service_errors(service(**spec), cluster_families=cluster)

    assert rules_of(errors) == {rule}, [str(e) for e in errors]
    with pytest.raises(ValueError, match=rule):
        service_ip_families(service(**spec), cluster_families=cluster)


# --- MetalLB's controller on Services ------------------------------------------------------------

IPS = "metallb.io/loadBalancerIPs"
OLD_IPS = "metallb.universe.tf/loadBalancerIPs"
POOL = "metallb.io/address-pool"
PREFER = {"ipFamilyPolicy": "PreferDualStack"}
REQUIRE = {"ipFamilyPolicy": "RequireDualStack"}
SPLIT_POOLS = [pool("v4", V4), pool("v6", V6), bgp_adv("adv"), peer("peer", "172.30.0.3")]
BUGGY = [pool("buggy", "192.168.30.0/24", avoidBuggyIPs=True)]


@dataclass(frozen=True)
class ServiceCase:
    id: str
    service: dict[str, Any]
    expected: tuple[str, ...] = ()
    cluster: tuple[str, ...] = DUAL_CLUSTER
    objects: list[dict[str, Any]] = field(default_factory=dual_stack)
    version: str = "v0.15.3"


def legacy_objects(config: dict[str, Any]) -> list[dict[str, Any]]:
    text = yaml.safe_dump(config, sort_keys=False)
    return [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "config"}, "data": {"config": text}}]


SERVICE_CASES = [
    ServiceCase("pinned-dual", service({IPS: "192.168.10.5,fc00:f853:ccd:e799::5"}, **PREFER)),
    ServiceCase("pinned-dual-v6-first", service({IPS: "fc00:f853:ccd:e799::5, 192.168.10.5"}, **REQUIRE)),
    ServiceCase(
        "pinned-dual-single-stack-cluster",
        service({IPS: "192.168.10.5,fc00:f853:ccd:e799::5"}, **PREFER),
        ("lb-ip-family-mismatch",),
        cluster=V4_CLUSTER,
    ),
    ServiceCase(
        "pinned-one-prefer-dual-cluster",  # the Service has two cluster IPs, one address is not enough
        service({IPS: "192.168.10.5"}, **PREFER),
        ("lb-ip-family-mismatch",),
    ),
    ServiceCase("pinned-v6-single-stack", service({IPS: "fc00:f853:ccd:e799::5"}, ipFamilies=["IPv6"])),
    ServiceCase(
        "pinned-v6-on-a-v4-service",
        service({IPS: "fc00:f853:ccd:e799::5"}),
        ("lb-ip-family-mismatch",),
    ),
    ServiceCase(
        "pinned-dual-two-pools",
        service({IPS: "192.168.10.5,fc00:f853:ccd:e799::5"}, **PREFER),
        ("lb-ip-no-pool",),
        objects=SPLIT_POOLS,
    ),
    ServiceCase("pinned-same-family", service({IPS: "192.168.10.5,192.168.10.6"}, **PREFER), ("lb-ip-families",)),
    ServiceCase(
        "pinned-three", service({IPS: "192.168.10.5,fc00:f853:ccd:e799::5,192.168.10.6"}, **PREFER), ("lb-ip-families",)
    ),
    ServiceCase(
        "annotation-and-spec",
        service({IPS: "192.168.10.5"}, loadBalancerIP="192.168.10.5"),
        ("lb-annotation-and-spec",),
    ),
    ServiceCase("pinned-unparsable", service({IPS: "192.168.10.5,"}), ("lb-ip-parse",)),
    ServiceCase("spec-pin", service(loadBalancerIP="192.168.10.5")),
    ServiceCase("pinned-outside-pools", service({IPS: "192.168.99.5"}), ("lb-ip-no-pool",)),
    ServiceCase(
        "pinned-buggy-address", service({IPS: "192.168.30.255"}), ("lb-ip-no-pool",), objects=[*dual_stack(), *BUGGY]
    ),
    ServiceCase("pinned-v6-in-buggy-pool", service({IPS: "192.168.30.5"}), objects=[*dual_stack(), *BUGGY]),
    ServiceCase(
        "pinned-other-pool-than-annotated",
        service({IPS: "192.168.10.5", POOL: "buggy"}),
        ("lb-ip-pool-annotation",),
        objects=[*dual_stack(), *BUGGY],
    ),
    ServiceCase(
        "pinned-other-pool-than-annotated-before-v0.13.10",
        service({OLD_IPS: "192.168.10.5", "metallb.universe.tf/address-pool": "buggy"}),
        objects=[*dual_stack(), *BUGGY],
        version="v0.13.9",
    ),
    ServiceCase(
        "annotation-prefix-before-v0.14.9",
        service({IPS: "192.168.10.5"}),
        ("lb-annotation-ignored",),
        version="v0.14.8",
    ),
    ServiceCase("old-annotation-prefix-still-read", service({OLD_IPS: "192.168.10.5"})),
    ServiceCase("unpinned-require-dual-one-pool", service(**REQUIRE)),
    ServiceCase(
        "unpinned-require-dual-split-pools", service(**REQUIRE), ("lb-no-pool-for-family",), objects=SPLIT_POOLS
    ),
    ServiceCase("unpinned-prefer-dual-split-pools-v0.14.9", service(**PREFER), objects=SPLIT_POOLS, version="v0.14.9"),
    ServiceCase(
        "unpinned-prefer-dual-split-pools-v0.14.8",
        service(**PREFER),
        ("lb-no-pool-for-family",),
        objects=SPLIT_POOLS,
        version="v0.14.8",
    ),
    ServiceCase(
        "unpinned-v6-no-auto-assign",
        service(ipFamilies=["IPv6"]),
        ("lb-no-pool-for-family",),
        objects=[pool("v4", V4), pool("v6", V6, autoAssign=False)],
    ),
    ServiceCase(
        "unpinned-v6-named-pool",
        service({POOL: "v6"}, ipFamilies=["IPv6"]),
        objects=[pool("v4", V4), pool("v6", V6, autoAssign=False)],
    ),
    ServiceCase("unpinned-unknown-pool", service({POOL: "nope"}), ("lb-unknown-pool",)),
    ServiceCase(
        "legacy-pinned-dual",
        service({OLD_IPS: "198.51.100.5,2001:db8:100::5"}, **REQUIRE),
        objects=legacy_objects(legacy()),
        version="v0.12.1",
    ),
    ServiceCase(
        "legacy-pinned-dual-across-pools",
        service({OLD_IPS: "198.51.100.5,fc00:10::201"}, **REQUIRE),
        ("lb-ip-no-pool",),
        objects=legacy_objects(legacy()),
        version="v0.12.1",
    ),
]


@pytest.mark.parametrize("case", SERVICE_CASES, ids=[c.id for c in SERVICE_CASES])
def test_services_as_metallbs_controller_sees_them(case: ServiceCase) -> None:
    assert kubernetes_service_errors(case.service, cluster_families=case.cluster) == []
    errors = metallb_service_errors(
        case.service, version=case.version, objects=case.objects, cluster_families=case.cluster
    )

    assert sorted(rules_of(errors)) == sorted(set(case.expected)), [str(e) for e in errors]


def test_a_service_the_api_server_refuses_never_reaches_metallb() -> None:
    refused = service({IPS: "192.168.10.5,fc00:f853:ccd:e799::5"}, **REQUIRE)

    assert rules_of(kubernetes_service_errors(refused, cluster_families=V4_CLUSTER)) == {"k8s-require-dual-stack"}
    assert metallb_service_errors(refused, version="v0.15.3", objects=dual_stack(), cluster_families=V4_CLUSTER) == []


# --- coverage of the rule table, and the program's renders ---------------------------------------


def test_every_rule_is_shown_refusing_something_and_cites_its_source() -> None:
    k8s_rules = {
        "k8s-ip-family-policy",
        "k8s-ip-families",
        "k8s-cluster-ips",
        "k8s-single-stack-two-families",
        "k8s-require-dual-stack",
        "k8s-family-not-configured",
    }  # test_services_the_api_server_refuses
    shown = {
        *(rule for case in CRD_CASES for rule in case.expected),
        *(rule for case in LEGACY_CASES for rule in case.expected),
        *(rule for case in SERVICE_CASES for rule in case.expected),
        *k8s_rules,
    }

    assert set(RULES) - shown == set()
    for name, rule in RULES.items():
        assert rule.source.startswith(("metallb/metallb@", "kubernetes/kubernetes@", "https://")), name
        if rule.source.startswith("metallb/metallb@"):
            assert ":" in rule.source.split("@", 1)[1], name  # a path with a line or function


def test_violations_name_only_known_rules() -> None:
    with pytest.raises(AssertionError):
        Violation("no-such-rule", "x", "y")


def rendered_lab_configs() -> dict[str, dict[str, Any] | str]:
    """The stack files, and the maximal and minimal configs of every release and mode."""
    configs: dict[str, dict[str, Any] | str] = {f"{name}-stack": name for name in ("lab", "crds", "udm", "dualstack")}
    for v in supported_versions():
        for ibgp in (True, False):
            configs[f"maximal-{'ibgp' if ibgp else 'ebgp'}-{v}"] = maximal_config(str(v), ibgp=ibgp)
        for mode in ("native", "frr", *(["frr-k8s"] if v.supports_frr_k8s else [])):
            configs[f"minimal-{mode}-{v}"] = minimal_config(str(v), mode=mode)
    return configs


RENDERED_LABS = rendered_lab_configs()


def oracle_errors(lab: Lab) -> list[str]:
    """Everything MetalLB and the API server would refuse in ``lab``'s renders, on a cluster with
    the lab's families (dual-stack when its nodes have an IPv6 prefix)."""
    objects = render_metallb(lab)
    version, mode = lab.metallb.version, lab.metallb.mode
    cluster = DUAL_CLUSTER if lab.node_subnet6 is not None else V4_CLUSTER
    nodes = [{"name": n.name, "labels": dict(n.labels)} for n in lab.nodes]
    errors = metallb_config_errors(objects, version=version, mode=mode, nodes=nodes)
    for rendered in render_services(lab):
        if rendered.existing:
            continue  # a patch: what it merges into is not known here
        errors += kubernetes_service_errors(rendered.manifest, cluster_families=cluster)
        errors += metallb_service_errors(rendered.manifest, version=version, objects=objects, cluster_families=cluster)
    return [str(e) for e in errors]


@pytest.mark.parametrize("source", sorted(RENDERED_LABS))
def test_the_programs_renders_pass_the_oracle(source: str) -> None:
    config = RENDERED_LABS[source]
    lab = stack_lab(config) if isinstance(config, str) else parse_lab(config, stack="lab")

    assert oracle_errors(lab) == []


DUAL_LAB_RELEASES = [
    (str(v), mode) for v in supported_versions() for mode in ("frr", *(["frr-k8s"] if v.supports_frr_k8s else []))
]


@pytest.mark.parametrize(("version", "mode"), DUAL_LAB_RELEASES)
def test_the_dual_stack_lab_renders_what_metallb_accepts_on_every_frr_release(version: str, mode: str) -> None:
    """tests/config/raw_labs.py's dual-stack lab (a pool of both families, a Service pinned to one
    address of each) on every release and FRR mode: native refuses IPv6 over BGP (the parser
    says so, tests/config/test_dual_stack.py)."""
    lab = parse_lab(edited("dual", (("metallb", "version"), version), (("metallb", "mode"), mode)), stack="lab")

    assert lab.node_subnet6 is not None and any(len(s.addresses) == 2 for s in lab.services)
    assert oracle_errors(lab) == []


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_configs())
def test_random_labs_render_the_same_objects_twice_and_metallb_accepts_them(raw: dict[str, Any]) -> None:
    """Issue 19's property: whatever the parser accepts (both families, every release and mode
    the strategy draws) renders deterministically and passes MetalLB's own rules. (Same bytes
    across processes and hash seeds: tests/test_determinism.py.)"""
    lab = parse_lab(copy.deepcopy(raw), stack="lab")

    assert render_metallb(parse_lab(copy.deepcopy(raw), stack="lab")) == render_metallb(lab)
    assert oracle_errors(lab) == []
