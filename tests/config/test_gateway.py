"""`metallb-unifi:gateway`: its kind, AS number, peer address, DNS domain, the options only one
kind of gateway has, and a USG's `baseConfigFile` (each rejected before the USG renderer is
consulted)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from components.config.model import GatewayKind, SpeakerMode
from components.config.parse import parse_lab
from tests.config.raw_labs import DROP, REQUIRED, Case, assert_problem, cases, edited, k

GATEWAY: dict[str, Case] = {
    **{
        f"gateway.{name}": ("usg", [(("gateway", name), DROP)], f"gateway.{name}", REQUIRED)
        for name in ("kind", "asn", "peerAddress", "dnsDomain")
    },
    "null counts as missing": ("usg", [(("gateway", "kind"), None)], "gateway.kind", REQUIRED),
    "unknown gateway kind": (
        "usg",
        [(("gateway", "kind"), "udm")],
        "gateway.kind",
        "'udm' is not allowed; choose one of: usg, unifi-os",
    ),
    "unknown key in gateway": (
        "usg",
        [(("gateway", "dnsdomain"), "lab.home")],
        "gateway.dnsdomain",
        "did you mean 'dnsDomain'?",
    ),
    "gateway asn 2**32": (
        "usg",
        [(("gateway", "asn"), 2**32)],
        "gateway.asn",
        "4294967296 is out of range: allowed 1..4294967295 (an AS number)",
    ),
    "asn as text": (
        "usg",
        [(("gateway", "asn"), "sixty-four")],
        "gateway.asn",
        "must be a whole number (an AS number), got a string 'sixty-four'",
    ),
    # Regression: str.isdigit() accepts non-ASCII digits that int() rejects (ValueError).
    "asn Ethiopic one": ("usg", [(("gateway", "asn"), "፩")], "gateway.asn", "must be a whole number"),
    "peer address": (
        "usg",
        [(("gateway", "peerAddress"), "192.168.1")],
        "gateway.peerAddress",
        "'192.168.1' is not an IPv4 address",
    ),
    "router id": (
        "usg",
        [(("gateway", "routerId"), "192.168.1.256")],
        "gateway.routerId",
        "'192.168.1.256' is not an IPv4 address",
    ),
    "uppercase domain": (
        "usg",
        [(("gateway", "dnsDomain"), "Lab.Home")],
        "gateway.dnsDomain",
        "'Lab.Home' is not a DNS name",
    ),
    # Regression: the name patterns ended in '$', which also matches before a trailing newline.
    "dnsDomain with a newline": (
        "usg",
        [(("gateway", "dnsDomain"), "lab\n.home")],
        "gateway.dnsDomain",
        "is not a DNS name",
    ),
}


@cases(GATEWAY)
def test_gateway_kind_asn_addresses_and_domain(base, edits, key, fragment):
    assert_problem(edited(base, *edits), k(key), fragment)


ONE_KIND_ONLY: dict[str, Case] = {
    "maximumPaths with a USG": (
        "usg",
        [(("gateway", "maximumPaths"), 3)],
        "gateway.maximumPaths",
        "a USG is reported to reject maximum-paths",
    ),
    "dnsTtl with a USG": (
        "usg",
        [(("gateway", "dnsTtl"), 300)],
        "gateway.dnsTtl",
        "a USG's static host names have no TTL; unifi-os gateways only",
    ),
    "baseConfigFile with unifi-os": (
        "unifi-os",
        [(("gateway", "baseConfigFile"), "config.gateway.json")],
        "gateway.baseConfigFile",
        "config.gateway.json exists only for a USG",
    ),
    "maximumPaths out of range": (
        "unifi-os",
        [(("gateway", "maximumPaths"), 0)],
        "gateway.maximumPaths",
        "0 is out of range: allowed 1..64",
    ),
}


@cases(ONE_KIND_ONLY)
def test_options_the_gateway_kind_cannot_express(base, edits, key, fragment):
    assert_problem(edited(base, *edits), k(key), fragment)


def test_options_fine_for_their_gateway_and_mode() -> None:
    raw = edited(
        "unifi-os",
        (("gateway", "maximumPaths"), 3),
        (("gateway", "dnsTtl"), 300),
        (("bgp", "bfd"), {"receiveInterval": 300, "transmitInterval": 300, "detectMultiplier": 3}),
        (("bgp", "ebgpMultiHop"), True),
    )
    lab = parse_lab(raw, stack="lab")
    assert lab.gateway.kind is GatewayKind.UNIFI_OS and lab.metallb.mode is SpeakerMode.FRR_K8S
    assert lab.gateway.maximum_paths == 3 and lab.gateway.dns_ttl == 300
    assert lab.bgp.bfd is not None and lab.bgp.bfd.detect_multiplier == 3 and lab.bgp.ebgp_multihop


def _reads(text: str) -> Callable[[str], str]:
    def read(path: str) -> str:
        assert path == "base.json"
        return text

    return read


def _unreadable(path: str) -> str:
    raise FileNotFoundError(2, "No such file or directory", path)


@pytest.mark.parametrize(
    ("read_file", "fragment"),
    [
        (_reads("{not json"), "'base.json' is not valid JSON"),
        (_reads("[]"), "'base.json' must hold a JSON object, not a list"),
        (
            _reads('{"protocols": {"bgp": {"64512": {"parameters": {"router-id": 1}}}}}'),
            "'base.json' has a non-string value at protocols.bgp.64512.parameters.router-id; "
            "EdgeOS expects every leaf as a string",
        ),
        (
            _reads('{"protocols": {"bgp": {"65000": {"parameters": {"router-id": "192.168.1.1"}}}}}'),
            "'base.json' already has a BGP instance under AS 65000, but gateway.asn is 64512; "
            "a router runs one BGP instance: set gateway.asn to 65000",
        ),
        (_unreadable, "cannot read 'base.json'"),
        (None, "cannot be read here: no project directory to read it from"),
    ],
    ids=["not JSON", "not an object", "non-string leaf", "BGP under another AS", "unreadable", "no project dir"],
)
def test_a_bad_base_config_gateway_json_is_an_error(read_file: Callable[[str], str] | None, fragment: str) -> None:
    raw = edited("usg", (("gateway", "baseConfigFile"), "base.json"))
    assert_problem(raw, k("gateway.baseConfigFile"), fragment, read_file=read_file)


def test_base_config_file_must_be_a_string() -> None:
    raw = edited("usg", (("gateway", "baseConfigFile"), 5))
    assert_problem(raw, k("gateway.baseConfigFile"), "must be a non-empty string, got a number", read_file=_unreadable)


def test_a_deeply_nested_base_config_is_a_config_error() -> None:
    # ~600 nested objects passed json.loads and the leaf check, then the USG renderer's merge
    # recursed past Python's recursion limit (RecursionError out of parse_lab).
    depth = 600
    text = '{"a":' + '{"b":' * depth + '"x"' + "}" * depth + "}"
    raw = edited("usg", (("gateway", "baseConfigFile"), "base.json"))
    assert_problem(raw, k("gateway.baseConfigFile"), "levels deep", read_file=_reads(text))
