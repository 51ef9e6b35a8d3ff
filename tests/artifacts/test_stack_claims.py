"""A stack's claims on a shared gateway (components/artifacts/stack_claims.py): the JSON document
round-trips, is deterministic and holds no secret, a damaged one is refused naming the field,
and conflicts found from documents read back equal those found from the labs."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from collections.abc import Callable
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.artifacts.shared_gateway import (
    GatewayStack,
    claims_conflicts,
    shared_gateway_conflicts,
    stack_claims,
)
from components.artifacts.stack_claims import FORMAT, FORMAT_V4, StackClaims
from components.config import parse_lab
from components.config.model import Secret
from components.config.stack_names import stack_id
from components.discovery.rules import DiscoveredName
from tests.artifacts.test_shared_gateway import (
    BASE,
    CONFLICTS,
    compatible_pairs,
    raw_of,
    shipped,
    stack_of,
    udm_pair,
    udm_test_raw,
    with_base,
)
from tests.config.strategies import valid_configs

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)

_label = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)
_base_documents = st.recursive(
    st.text(max_size=8),
    lambda inner: st.dictionaries(_label, inner, max_size=3) | st.lists(st.text(max_size=8), max_size=3),
    max_leaves=8,
).filter(lambda d: not isinstance(d, list))  # leaves are strings, lists hold strings (EdgeOS)


@st.composite
def discovered_names(draw: st.DrawFn) -> tuple[DiscoveredName, ...]:
    names = []
    for i in range(draw(st.integers(0, 3))):
        host = f"{draw(_label)}.{draw(_label)}"
        aliases = tuple(draw(st.lists(_label, max_size=2)))
        names.append(DiscoveredName("ns", f"svc{i}", (IPv4Address(f"10.250.0.{i + 1}"),), host, aliases, None))
    return tuple(names)


@st.composite
def gateway_stacks(draw: st.DrawFn) -> GatewayStack:
    """A stack of a drawn lab: sometimes a USG base file, discovered names and a stack file."""
    raw = draw(valid_configs())
    base: dict[str, Any] | None = None
    if raw["gateway"]["kind"] == "usg" and draw(st.booleans()):
        base = draw(st.dictionaries(_label.filter(lambda k: k != "protocols"), _base_documents, max_size=3))
        raw["gateway"]["baseConfigFile"] = "base.json"
    indent = draw(st.sampled_from((None, 2)))  # the fingerprint is of the canonical JSON, not the text
    lab = parse_lab(
        raw, stack=draw(st.text(min_size=1, max_size=20)), read_file=lambda _: json.dumps(base, indent=indent)
    )
    file = draw(st.none() | st.sampled_from(("Pulumi.x.yaml", "../other/Pulumi.lab.yaml")))
    return GatewayStack(lab, lab.pinned_addresses, draw(discovered_names()), file)


def through_json(claims: StackClaims) -> StackClaims:
    """The claims as another stack's install reads them back from the controller."""
    return StackClaims.from_json(json.loads(json.dumps(claims.to_json())))


def only_json_types(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and only_json_types(v) for k, v in value.items())
    if isinstance(value, list):
        return all(only_json_types(v) for v in value)
    return value is None or isinstance(value, str | int | bool)


# --- round trip and determinism --------------------------------------------------------------


@SETTINGS
@given(gateway_stacks())
def test_claims_survive_json_unchanged(stack: GatewayStack) -> None:
    claims = stack_claims(stack)
    document = claims.to_json()
    assert only_json_types(document)
    assert StackClaims.from_json(document) == claims
    assert through_json(claims) == claims
    assert str(claims) == str(stack)
    assert claims.id == stack.id == stack_id(stack.lab.stack)


@SETTINGS
@given(gateway_stacks())
def test_the_document_is_deterministic_and_sorted(stack: GatewayStack) -> None:
    text = json.dumps(stack_claims(stack).to_json())
    again = GatewayStack(copy.deepcopy(stack.lab), dict(stack.addresses), stack.discovered, stack.file)
    assert json.dumps(stack_claims(again).to_json()) == text
    assert json.dumps(stack_claims(stack).to_json(), sort_keys=True) == text  # sorted at every level
    assert json.dumps(through_json(stack_claims(stack)).to_json()) == text  # read back, written again


def test_a_shipped_stacks_document() -> None:
    document = stack_claims(shipped("lab")).to_json()
    assert document == {
        "asn": 64512,
        "baseFile": None,
        "baseFileSha256": None,
        "ebgp": False,
        "file": "Pulumi.lab.yaml",
        "filterNames": {
            "prefixList": "metallb-lab-pools",
            "routeMapIn": "metallb-lab-in",
            "routeMapOut": "metallb-lab-out",
        },
        "format": 1,  # nothing of IPv6: what the release before wrote, byte for byte
        "gatewayKind": "usg",
        "hostNames": {
            "k8s-dashboard": "metallb-unifi:services[0].name (its alias)",
            "k8s-dashboard.service": "metallb-unifi:services[0].name (its host name)",
        },
        "id": "lab",
        "maximumPaths": None,
        "nodes": [
            {"address": "10.10.0.200", "name": "master"},
            {"address": "10.10.0.101", "name": "worker1"},
            {"address": "10.10.0.102", "name": "worker2"},
            {"address": "10.10.0.103", "name": "worker3"},
        ],
        "peerAddress": "192.168.1.1",
        "pools": [
            {
                "name": "bgp",
                "protocol": "bgp",
                "ranges": [{"first": "10.10.10.10", "last": "10.10.10.250", "text": "10.10.10.10-10.10.10.250"}],
            }
        ],
        "routerId": "192.168.1.1",
        "stack": "lab",
    }


def usg_with_base_text(name: str, file: str, text: str) -> GatewayStack:
    raw = raw_of(name)
    raw["gateway"] = {**raw["gateway"], "baseConfigFile": file}
    return GatewayStack(parse_lab(raw, stack=name, read_file=lambda _: text), file=f"Pulumi.{name}.yaml")


def test_the_base_file_is_known_by_its_canonical_jsons_sha256() -> None:
    one = stack_claims(usg_with_base_text("lab", "config.gateway.base.json", json.dumps(BASE)))
    # The same content, written another way under another name: the same fingerprint.
    copied = stack_claims(usg_with_base_text("lab-test", "b.json", json.dumps(BASE, indent=4) + "\n"))
    assert (one.base_file, copied.base_file) == ("config.gateway.base.json", "b.json")
    canonical = json.dumps(BASE, sort_keys=True, separators=(",", ":")).encode()
    assert one.base_file_sha256 == copied.base_file_sha256 == hashlib.sha256(canonical).hexdigest()
    other = stack_claims(usg_with_base_text("lab-test", "b.json", json.dumps({"service": {}})))
    assert other.base_file_sha256 != one.base_file_sha256
    assert stack_claims(shipped("lab")).base_file_sha256 is None
    assert claims_conflicts([one, copied]) == [] and len(claims_conflicts([one, other])) == 1


# --- no secret ----------------------------------------------------------------------------------

KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LXNzaC1rZXk=\n-----END OPENSSH PRIVATE KEY-----\n"
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"


def secret_values_in(value: object) -> set[str]:
    """Every value of a :class:`Secret` anywhere in ``value`` (a lab, its parts)."""
    if isinstance(value, Secret):
        return {value.value} if value.value is not None else set()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return set().union(*(secret_values_in(getattr(value, f.name)) for f in dataclasses.fields(value)))
    if isinstance(value, tuple | list):
        return set().union(*(secret_values_in(v) for v in value))
    return set()


def with_every_secret(tmp_path: Path, kind: str) -> tuple[GatewayStack, list[str]]:
    """A lab with every secret it can hold set (each a distinct value), and those values."""
    if kind == "usg":
        raw = raw_of("lab")
        raw["controller"] = {
            "url": "https://unifi.lan:8443",
            "username": "admin",
            "password": "secret-controller-password",
            "ssh": {"user": "root", "privateKey": KEY, "hostKey": HOST_KEY, "dataDir": "cloudkey"},
        }
        # A base file may hold secrets of its own (a VPN's pre-shared key): only its hash is kept.
        base = {"vpn": {"ipsec": {"site-to-site": {"peer": {"x": {"pre-shared-secret": "secret-vpn-psk"}}}}}}
        (tmp_path / "base.json").write_text(json.dumps(base))
        raw["gateway"] = {**raw["gateway"], "baseConfigFile": "base.json"}
        secrets = ["secret-controller-password", KEY, "secret-vpn-psk"]
    else:
        raw = udm_test_raw()
        raw["controller"] = {"url": "https://udm.lan", "apiKey": "secret-api-key"}
        secrets = ["secret-api-key"]
    raw["bgp"] = {**raw.get("bgp", {}), "password": "secret-bgp-password"}
    lab = parse_lab(raw, stack="lab", read_file=lambda path: (tmp_path / path).read_text())
    return GatewayStack(lab, lab.pinned_addresses, (), "Pulumi.lab.yaml"), [*secrets, "secret-bgp-password"]


@pytest.mark.parametrize("kind", ["usg", "unifi-os"])
def test_no_secret_is_in_the_document(tmp_path: Path, kind: str) -> None:
    stack, secrets = with_every_secret(tmp_path, kind)
    # The lab does hold them, and no other (else this test proves less than it says) ...
    held = secret_values_in(stack.lab)
    assert held == set(secrets) - {"secret-vpn-psk"}
    assert kind == "unifi-os" or "secret-vpn-psk" in str(stack.lab.gateway.base_config_json)
    # ... and the document none of them, nor a piece of one.
    text = json.dumps(stack_claims(stack).to_json())
    for secret in [*secrets, "c2VjcmV0LXNzaC1rZXk="]:  # the key's body too
        assert secret not in text
    assert "secret" not in text


# --- damaged documents -----------------------------------------------------------------------


def document() -> dict[str, Any]:
    return stack_claims(udm_pair()[1]).to_json()


def damaged(change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    doc = document()
    change(doc)
    return doc


FIELDS = sorted(document())


@pytest.mark.parametrize("name", FIELDS)
def test_a_missing_field_is_named(name: str) -> None:
    doc = document()
    del doc[name]
    with pytest.raises(ValueError, match=rf"^stack claims: {name}: is missing$"):
        StackClaims.from_json(doc)


WRONG: dict[str, tuple[Callable[[dict[str, Any]], object], str]] = {
    "asn as text": (lambda d: d.update(asn="65000"), "asn: expected a whole number"),
    "asn a float": (lambda d: d.update(asn=65000.0), "asn: expected a whole number"),
    "asn a bool": (lambda d: d.update(asn=True), "asn: expected a whole number"),
    "asn out of range": (lambda d: d.update(asn=2**32), "asn: 4294967296 is not in 1..4294967295"),
    "ebgp a number": (lambda d: d.update(ebgp=1), "ebgp: expected true or false"),
    "stack empty": (lambda d: d.update(stack=""), "stack: is empty"),
    "stack a list": (lambda d: d.update(stack=["udm-test"]), "stack: expected text, got a list"),
    "id not the stack's": (lambda d: d.update(id="other"), 'id: "other" is not the id of stack "udm-test"'),
    "filter name not the id's": (
        lambda d: d["filterNames"].update(routeMapIn="metallb-x-in"),
        "filterNames.routeMapIn: \"metallb-x-in\" is not stack id 'udm-test'",
    ),
    "filter names a list": (lambda d: d.update(filterNames=[]), "filterNames: expected an object, got a list"),
    "unknown kind": (lambda d: d.update(gatewayKind="edgerouter"), 'gatewayKind: "edgerouter" is not one of'),
    "router id not an address": (lambda d: d.update(routerId="1.2.3"), 'routerId: "1.2.3" is not an IPv4 address'),
    "peer address a number": (lambda d: d.update(peerAddress=3232235777), "peerAddress: expected text"),
    "maximum paths zero": (lambda d: d.update(maximumPaths=0), "maximumPaths: 0 is not in 1..64"),
    "sha not hex": (lambda d: d.update(baseFileSha256="ab" * 31), 'baseFileSha256: "abab'),
    "file a number": (lambda d: d.update(file=1), "file: expected text"),
    "nodes an object": (lambda d: d.update(nodes={}), "nodes: expected a list, got an object"),
    "node address bad": (lambda d: d["nodes"][1].update(address="192.168.40.300"), r"nodes\[1\].address: "),
    "node name missing": (lambda d: d["nodes"][0].pop("name"), r"nodes\[0\].name: is missing"),
    "node field unknown": (lambda d: d["nodes"][0].update(asn=1), r"nodes\[0\].asn: is not a field"),
    "pool protocol unknown": (
        lambda d: d["pools"][0].update(protocol="ospf"),
        r"pools\[0\].protocol: \"ospf\" is not one of bgp, layer2",
    ),
    "range backwards": (
        lambda d: d["pools"][0]["ranges"][0].update(first="10.99.1.31", last="10.99.1.0"),
        r"pools\[0\].ranges\[0\].last: 10.99.1.0 comes before",
    ),
    "range text missing": (
        lambda d: d["pools"][0]["ranges"][0].pop("text"),
        r"pools\[0\].ranges\[0\].text: is missing",
    ),
    "host names a list": (lambda d: d.update(hostNames=["grafana"]), "hostNames: expected an object"),
    "host name key not text": (lambda d: d["hostNames"].update(grafana=None), "hostNames.grafana: expected text"),
    "unknown field": (lambda d: d.update(secrets={}), "secrets: is not a field of a claims document"),
}


@pytest.mark.parametrize("case", WRONG, ids=WRONG)
def test_a_damaged_field_is_named(case: str) -> None:
    change, message = WRONG[case]
    with pytest.raises(ValueError, match=rf"^stack claims: {message}"):
        StackClaims.from_json(damaged(change))


@pytest.mark.parametrize("version", [0, 3, "1", 1.0, 2.0, True, None])
def test_an_unknown_format_is_refused_before_anything_else(version: object) -> None:
    doc = damaged(lambda d: d.update(format=version, nodes="a later format's nodes"))
    with pytest.raises(
        ValueError, match=r"^stack claims: format: .* is not a format this program reads \(it reads 1 and 2\)"
    ):
        StackClaims.from_json(doc)


@pytest.mark.parametrize("value", [None, [], "{}", 1])
def test_a_document_that_is_not_an_object_is_refused(value: object) -> None:
    with pytest.raises(ValueError, match=r"^stack claims: the document: expected an object"):
        StackClaims.from_json(value)


def test_the_undamaged_document_is_read() -> None:
    assert StackClaims.from_json(document()) == stack_claims(udm_pair()[1])


# --- conflicts from documents ------------------------------------------------------------------


def conflicts_through_json(stacks: list[GatewayStack]) -> list[str]:
    return claims_conflicts([through_json(stack_claims(s)) for s in stacks])


@pytest.mark.parametrize("case", CONFLICTS, ids=CONFLICTS)
def test_conflicts_from_documents_are_those_from_the_labs(case: str) -> None:
    make, _ = CONFLICTS[case]
    stacks = [make(), shipped("lab")]
    conflicts = shared_gateway_conflicts(stacks)
    assert conflicts
    assert conflicts_through_json(stacks) == conflicts
    assert conflicts_through_json(stacks[::-1]) == conflicts


def test_conflicts_from_documents_of_twins_base_files_and_discovered_names(tmp_path: Path) -> None:
    lab = shipped("lab")
    name = DiscoveredName("web", "whoami", (IPv4Address("10.10.10.20"),), "whoami.test.service", ("whoami",), None)
    other_base = with_base(tmp_path, "lab-test", {"service": {"dns": {}}}, "b.json")
    for stacks in (
        [lab, GatewayStack(lab.lab, lab.addresses, (), "../other-project/Pulumi.lab.yaml")],
        [GatewayStack(lab.lab, lab.addresses, (name,), lab.file), shipped("lab-test")],
        [with_base(tmp_path, "lab", BASE), other_base],
        [with_base(tmp_path, "lab", BASE), shipped("lab-test")],
        [*udm_pair(), stack_of({**raw_of("udm"), "gateway": {**raw_of("udm")["gateway"], "maximumPaths": 2}}, "x")],
    ):
        conflicts = shared_gateway_conflicts(stacks)
        assert conflicts
        assert conflicts_through_json(stacks) == conflicts


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.lists(gateway_stacks(), min_size=2, max_size=3))
def test_conflicts_of_random_stacks_are_the_same_from_documents(stacks: list[GatewayStack]) -> None:
    assert conflicts_through_json(stacks) == shared_gateway_conflicts(stacks)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(compatible_pairs())
def test_compatible_pairs_have_no_conflict_from_documents_either(pair: tuple[GatewayStack, GatewayStack]) -> None:
    assert conflicts_through_json(list(pair)) == conflicts_through_json(list(pair)[::-1]) == []


# --- IPv6 ----------------------------------------------------------------------------------------

# The document of Pulumi.lab.yaml as the release before wrote it (format 1, before IPv6).
PREVIOUS_RELEASE_LAB = (
    '{"asn": 64512, "baseFile": null, "baseFileSha256": null, "ebgp": false, "file": "Pulumi.lab.yaml", '
    '"filterNames": {"prefixList": "metallb-lab-pools", "routeMapIn": "metallb-lab-in", "routeMapOut": '
    '"metallb-lab-out"}, "format": 1, "gatewayKind": "usg", "hostNames": {"k8s-dashboard": "metallb-unifi:'
    'services[0].name (its alias)", "k8s-dashboard.service": "metallb-unifi:services[0].name (its host name)"}, '
    '"id": "lab", "maximumPaths": null, "nodes": [{"address": "10.10.0.200", "name": "master"}, {"address": '
    '"10.10.0.101", "name": "worker1"}, {"address": "10.10.0.102", "name": "worker2"}, {"address": "10.10.0.103", '
    '"name": "worker3"}], "peerAddress": "192.168.1.1", "pools": [{"name": "bgp", "protocol": "bgp", "ranges": '
    '[{"first": "10.10.10.10", "last": "10.10.10.250", "text": "10.10.10.10-10.10.10.250"}]}], "routerId": '
    '"192.168.1.1", "stack": "lab"}'
)


def test_a_document_of_the_release_before_is_read_and_written_back_the_same() -> None:
    claims = StackClaims.from_json(json.loads(PREVIOUS_RELEASE_LAB))
    assert claims == stack_claims(shipped("lab"))
    assert not claims.ipv6 and claims.peer_address6 is None and all(n.address6 is None for n in claims.nodes)
    assert json.dumps(claims.to_json()) == PREVIOUS_RELEASE_LAB


def dual_raw(name: str, lan: str, pool6: str) -> dict[str, Any]:
    """A shipped USG stack made dual-stack: its nodes ``<lan>::10``, ``::11``…, the gateway
    ``<lan>::1``, ``pool6`` added to its BGP pool, MetalLB in FRR mode."""
    raw = raw_of(name)
    for i, node in enumerate(raw["nodes"]):
        node["address6"] = f"{lan}::{10 + i}"
    raw["gateway"] = {**raw["gateway"], "peerAddress6": f"{lan}::1"}
    raw["metallb"] = {**raw["metallb"], "mode": "frr"}
    raw["metallb"]["pools"][0]["addresses"] = [*raw["metallb"]["pools"][0]["addresses"], pool6]
    return raw


def dual_lab() -> GatewayStack:
    return stack_of(dual_raw("lab", "fd00:10", "fd00:10:10::/120"), "lab", "Pulumi.lab.yaml")


def test_a_dual_stack_document_is_of_format_2_with_the_ipv6_fields() -> None:
    claims = stack_claims(dual_lab())
    document = claims.to_json()
    previous = json.loads(PREVIOUS_RELEASE_LAB)
    assert document == {
        **previous,
        "filterNames": {
            **previous["filterNames"],
            "prefixList6": "metallb-lab-pools6",
            "routeMapIn6": "metallb-lab-in6",
        },
        "format": FORMAT,
        "nodes": [
            {"address": "10.10.0.200", "address6": "fd00:10::10", "name": "master"},
            {"address": "10.10.0.101", "address6": "fd00:10::11", "name": "worker1"},
            {"address": "10.10.0.102", "address6": "fd00:10::12", "name": "worker2"},
            {"address": "10.10.0.103", "address6": "fd00:10::13", "name": "worker3"},
        ],
        "peerAddress6": "fd00:10::1",
        "pools": [
            {
                "name": "bgp",
                "protocol": "bgp",
                "ranges": [
                    {"first": "10.10.10.10", "last": "10.10.10.250", "text": "10.10.10.10-10.10.10.250"},
                    {"first": "fd00:10:10::", "last": "fd00:10:10::ff", "text": "fd00:10:10::/120"},
                ],
            }
        ],
    }
    assert through_json(claims) == claims and claims.ipv6 and claims.bgp_v6
    assert list(document) == sorted(document) and list(document["filterNames"]) == sorted(document["filterNames"])


def test_a_node_without_address6_is_written_null_in_format_2() -> None:
    raw = dual_raw("lab", "fd00:10", "fd00:10:10::/120")
    del raw["nodes"][0]["address6"]
    raw["bgp"] = {
        "nodeSelectors": [
            {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "NotIn", "values": ["master"]}]}
        ]
    }
    claims = stack_claims(stack_of(raw, "lab"))
    assert claims.to_json()["nodes"][0] == {"address": "10.10.0.200", "address6": None, "name": "master"}
    assert through_json(claims) == claims


def test_ipv6_on_the_lan_only_is_format_2_without_the_ipv6_filter() -> None:
    # A layer2 IPv6 pool: claims of IPv6 (its range, the node addresses), no IPv6 BGP.
    raw = dual_raw("lab-test", "fd00:11", "fd00:11::200/120")
    raw["metallb"]["pools"][0]["addresses"].pop()
    raw["metallb"]["pools"].append({"name": "lan6", "protocol": "layer2", "addresses": ["fd00:11::200/120"]})
    claims = stack_claims(stack_of(raw, "lab-test"))
    assert claims.ipv6 and not claims.bgp_v6
    assert claims.to_json()["format"] == FORMAT and through_json(claims) == claims


def document6() -> dict[str, Any]:
    return stack_claims(dual_lab()).to_json()


WRONG6: dict[str, tuple[Callable[[dict[str, Any]], object], str]] = {
    "address6 an IPv4 address": (
        lambda d: d["nodes"][1].update(address6="10.10.0.101"),
        r'nodes\[1\].address6: "10.10.0.101" is not an IPv6 address',
    ),
    "address6 missing in format 2": (lambda d: d["nodes"][0].pop("address6"), r"nodes\[0\].address6: is missing"),
    "peerAddress6 missing in format 2": (lambda d: d.pop("peerAddress6"), "peerAddress6: is missing"),
    "peerAddress6 bad": (lambda d: d.update(peerAddress6="fd00::1::2"), 'peerAddress6: "fd00::1::2" is not an IPv6'),
    "prefixList6 not the id's": (
        lambda d: d["filterNames"].update(prefixList6="metallb-x-pools6"),
        "filterNames.prefixList6: \"metallb-x-pools6\" is not stack id 'lab'",
    ),
    "routeMapIn6 missing": (lambda d: d["filterNames"].pop("routeMapIn6"), "filterNames.routeMapIn6: is missing"),
    "range of two families": (
        lambda d: d["pools"][0]["ranges"][1].update(last="10.10.10.255"),
        r"pools\[0\].ranges\[1\].last: 10.10.10.255 is not of the family of the first address fd00:10:10::",
    ),
    "range backwards": (
        lambda d: d["pools"][0]["ranges"][1].update(first="fd00:10:10::ff", last="fd00:10:10::"),
        r"pools\[0\].ranges\[1\].last: fd00:10:10:: comes before",
    ),
    "range not an address": (
        lambda d: d["pools"][0]["ranges"][1].update(first="fd00:10:10::/120"),
        r'pools\[0\].ranges\[1\].first: "fd00:10:10::/120" is not an IPv4 or IPv6 address',
    ),
    # Format 1 is what it always was: IPv4 only, no IPv6 field.
    "format 1 with peerAddress6": (
        lambda d: d.update(format=1),
        "peerAddress6: is not a field of a claims document",
    ),
    "format 1 with the IPv6 filter names": (
        lambda d: (d.update(format=1), d.pop("peerAddress6")),
        "filterNames.prefixList6: is not a field",
    ),
    "format 1 with address6": (
        lambda d: (
            d.update(format=1, filterNames=json.loads(PREVIOUS_RELEASE_LAB)["filterNames"]),
            d.pop("peerAddress6"),
        ),
        r"nodes\[0\].address6: is not a field",
    ),
    "format 1 with an IPv6 pool range": (
        lambda d: (
            d.update(
                format=1,
                nodes=[{"address": "10.10.0.200", "name": "master"}],
                filterNames=json.loads(PREVIOUS_RELEASE_LAB)["filterNames"],
            ),
            d.pop("peerAddress6"),
        ),
        r'pools\[0\].ranges\[1\].first: "fd00:10:10::" is not an IPv4 address',
    ),
}


@pytest.mark.parametrize("case", WRONG6, ids=WRONG6)
def test_a_damaged_ipv6_field_is_named(case: str) -> None:
    change, message = WRONG6[case]
    doc = document6()
    change(doc)
    with pytest.raises(ValueError, match=rf"^stack claims: {message}"):
        StackClaims.from_json(doc)


@st.composite
def dual_gateway_stacks(draw: st.DrawFn) -> GatewayStack:
    """A stack of a drawn dual-stack lab (tests/config/strategies.py)."""
    lab = parse_lab(draw(valid_configs(dual_stack=True)), stack=draw(st.text(min_size=1, max_size=20)))
    return GatewayStack(lab, lab.pinned_addresses, draw(discovered_names()), draw(st.none() | st.just("Pulumi.x.yaml")))


@SETTINGS
@given(dual_gateway_stacks())
def test_dual_stack_claims_survive_json_unchanged_and_deterministic(stack: GatewayStack) -> None:
    claims = stack_claims(stack)
    document = claims.to_json()
    assert only_json_types(document)
    assert document["format"] == (FORMAT if claims.ipv6 else FORMAT_V4) == FORMAT  # its peering nodes have address6
    assert through_json(claims) == claims
    assert claims.bgp_v6 == stack.lab.bgp_v6
    assert [n.address6 for n in claims.nodes] == [n.address6 for n in stack.lab.nodes]
    assert claims.peer_address6 == stack.lab.gateway.peer_address6
    text = json.dumps(document)
    assert json.dumps(through_json(claims).to_json()) == text == json.dumps(document, sort_keys=True)


# Conflicts of IPv6 parts, beside the dual-stack lab (fd00:10::/64, pool fd00:10:10::/120).
CONFLICTS6: dict[str, tuple[Callable[[], GatewayStack], list[str]]] = {
    "overlapping IPv6 pools": (
        lambda: stack_of(dual_raw("lab-test", "fd00:11", "fd00:10:10::80/124"), "lab-test", "Pulumi.lab-test.yaml"),
        [
            "metallb-unifi:metallb.pools[0].addresses[1] of stack 'lab' (Pulumi.lab.yaml) (fd00:10:10::/120, pool "
            "'bgp') overlaps metallb-unifi:metallb.pools[0].addresses[1] of stack 'lab-test' (Pulumi.lab-test.yaml) "
            "(fd00:10:10::80/124, pool 'test'); two clusters must not hand out the same addresses"
        ],
    ),
    "one address6 in both": (
        lambda: stack_of(dual_raw("lab-test", "fd00:10", "fd00:11:10::/120"), "lab-test", "Pulumi.lab-test.yaml"),
        [
            "metallb-unifi:nodes[0].address6 of stack 'lab' (Pulumi.lab.yaml) (fd00:10::10, node 'master') is "
            "metallb-unifi:nodes[0].address6 of stack 'lab-test' (Pulumi.lab-test.yaml) too; one address is one "
            "neighbour of the gateway, in one cluster",
            "metallb-unifi:nodes[1].address6 of stack 'lab' (Pulumi.lab.yaml) (fd00:10::11, node 'worker1') is "
            "metallb-unifi:nodes[1].address6 of stack 'lab-test' (Pulumi.lab-test.yaml) too; ",
        ],
    ),
    "address6 and peerAddress6 in the other's pool": (
        lambda: stack_of(dual_raw("lab-test", "fd00:11", "fd00:10::/120"), "lab-test", "Pulumi.lab-test.yaml"),
        [
            *(
                f"metallb-unifi:nodes[{i}].address6 of stack 'lab' (Pulumi.lab.yaml) (fd00:10::{10 + i}) lies in "
                "metallb-unifi:metallb.pools[0].addresses[1] of stack 'lab-test' (Pulumi.lab-test.yaml) "
                "(fd00:10::/120, pool 'test'); the other cluster could hand that address to a Service"
                for i in range(4)
            ),
            "metallb-unifi:gateway.peerAddress6 of stack 'lab' (Pulumi.lab.yaml) (fd00:10::1) lies in "
            "metallb-unifi:metallb.pools[0].addresses[1] of stack 'lab-test'",
        ],
    ),
}


@pytest.mark.parametrize("case", CONFLICTS6, ids=CONFLICTS6)
def test_ipv6_conflicts_name_both_stacks_and_keys_and_read_the_same_from_documents(case: str) -> None:
    make, expected = CONFLICTS6[case]
    stacks = [make(), dual_lab()]
    conflicts = shared_gateway_conflicts(stacks)
    assert len(conflicts) == len(expected), conflicts
    for conflict, start in zip(conflicts, expected, strict=True):
        assert conflict.startswith(start), conflict
    assert conflicts_through_json(stacks) == conflicts_through_json(stacks[::-1]) == conflicts


def test_a_peer_address6_in_the_others_pool_conflicts() -> None:
    # lab-test on fd00:10:10::/64 with its gateway at fd00:10:10::5, inside the lab's /120.
    raw = dual_raw("lab-test", "fd00:10:10", "fd00:11:10::/120")
    for i, node in enumerate(raw["nodes"]):
        node["address6"] = f"fd00:10:10::1:{11 + i}"
    raw["gateway"]["peerAddress6"] = "fd00:10:10::5"
    stacks = [stack_of(raw, "lab-test", "Pulumi.lab-test.yaml"), dual_lab()]
    assert shared_gateway_conflicts(stacks) == [
        "metallb-unifi:gateway.peerAddress6 of stack 'lab-test' (Pulumi.lab-test.yaml) (fd00:10:10::5) lies in "
        "metallb-unifi:metallb.pools[0].addresses[1] of stack 'lab' (Pulumi.lab.yaml) (fd00:10:10::/120, pool "
        "'bgp'); the other cluster could hand that address to a Service"
    ]
    assert conflicts_through_json(stacks) == shared_gateway_conflicts(stacks)


def test_a_dual_stack_and_an_ipv4_stack_of_the_release_before_share_a_gateway() -> None:
    test = stack_of(dual_raw("lab-test", "fd00:11", "fd00:11:10::/120"), "lab-test", "Pulumi.lab-test.yaml")
    old = StackClaims.from_json(json.loads(PREVIOUS_RELEASE_LAB))
    assert claims_conflicts([old, through_json(stack_claims(test))]) == []
    assert claims_conflicts([old, through_json(stack_claims(dual_lab()))]) != []  # the same stack id


def test_twins_of_a_dual_stack_name_the_ipv6_filter_too() -> None:
    lab = dual_lab()
    twin = GatewayStack(lab.lab, lab.addresses, (), "../other-project/Pulumi.lab.yaml")
    conflicts = claims_conflicts([through_json(stack_claims(s)) for s in (lab, twin)])
    assert conflicts[0] == (
        "stack: stack 'lab' (../other-project/Pulumi.lab.yaml) and stack 'lab' (Pulumi.lab.yaml) both "
        "name their BGP filter on the gateway after stack id 'lab' (metallb-lab-pools, metallb-lab-in, "
        "metallb-lab-out, metallb-lab-pools6, metallb-lab-in6); each would overwrite the other's: give one of them "
        "another stack name"
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.lists(st.one_of(gateway_stacks(), dual_gateway_stacks()), min_size=2, max_size=3))
def test_conflicts_of_random_dual_stack_and_ipv4_stacks_are_the_same_from_documents(stacks: list[GatewayStack]) -> None:
    assert conflicts_through_json(stacks) == shared_gateway_conflicts(stacks)
