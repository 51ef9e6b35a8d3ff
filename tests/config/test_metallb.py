"""`metallb-unifi:metallb`: the MetalLB release, its AS number and its speaker mode. (Its pools:
tests/config/test_pools.py; its manifest mirror and checksum: tests/config/test_kubernetes_access.py.)"""

from __future__ import annotations

import pytest

from components.config.parse import parse_lab
from tests.config.raw_labs import DROP, REQUIRED, Case, assert_problem, cases, edited, k

METALLB_ASN: dict[str, Case] = {
    "metallb asn 0": ("usg", [(("metallb", "asn"), 0)], "metallb.asn", "0 is out of range: allowed 1..4294967295"),
    "metallb asn negative": (
        "usg",
        [(("metallb", "asn"), -1)],
        "metallb.asn",
        "-1 is out of range: allowed 1..4294967295",
    ),
    "asn as a boolean": ("usg", [(("metallb", "asn"), True)], "metallb.asn", "must be a whole number"),
    "asn as a fraction": ("usg", [(("metallb", "asn"), 64512.5)], "metallb.asn", "must be a whole number"),
    # Regression: str.isdigit() accepts '²' and other non-ASCII digits that int() rejects (ValueError).
    "asn '²'": ("usg", [(("metallb", "asn"), "²")], "metallb.asn", "must be a whole number (an AS number)"),
    # Regression: int() of a string, and str() of an int, with more than 4300 digits raise ValueError.
    "asn of 5000 digits": ("usg", [(("metallb", "asn"), "9" * 5000)], "metallb.asn", "must be a whole number"),
    "asn 10**5000": ("usg", [(("metallb", "asn"), 10**5000)], "metallb.asn", "is out of range"),
}


@cases(METALLB_ASN)
def test_the_metallb_asn_must_be_an_as_number(base, edits, key, fragment):
    assert_problem(edited(base, *edits), k(key), fragment)


@pytest.mark.parametrize(
    ("asn", "warned"),
    [
        (64512, False),
        (65534, False),
        (4200000000, False),
        (4294967294, False),
        (1, True),
        (65001 - 1000, True),
        (65535, True),
        (4294967295, True),
    ],
)
def test_a_public_asn_is_a_warning_not_an_error(asn: int, warned: bool) -> None:
    lab = parse_lab(edited("usg", (("metallb", "asn"), asn)), stack="lab")
    expected = f"{k('metallb.asn')}: AS {asn} is not a private AS number (64512-65534 or 4200000000-4294967294)"
    if warned:
        assert len(lab.warnings) == 1
        assert lab.warnings[0].startswith(expected)
    else:
        assert lab.warnings == ()


SUPPORTED = "supported: v0.12.1, v0.13.2–v0.13.12, v0.14.0–v0.14.9, v0.15.0–v0.15.3, v0.16.0–v0.16.1"


@pytest.mark.parametrize("version", ["v0.13.1", "v0.13.13", "v0.11.0", "v0.17.0", "v1.0.0", "v0.15", "latest", "main"])
def test_an_unknown_metallb_version_is_an_error(version: str) -> None:
    assert_problem(
        edited("usg", (("metallb", "version"), version)),
        k("metallb.version"),
        f"'{version}' is not a supported MetalLB release; {SUPPORTED}",
    )


@pytest.mark.parametrize(
    ("written", "parsed"), [("v0.13.2", "v0.13.2"), ("0.14.0", "v0.14.0"), (" v0.16.1 ", "v0.16.1")]
)
def test_known_metallb_versions_parse(written: str, parsed: str) -> None:
    assert str(parse_lab(edited("usg", (("metallb", "version"), written)), stack="lab").metallb.version) == parsed


def test_a_version_that_is_not_a_string_is_an_error() -> None:
    assert_problem(
        edited("usg", (("metallb", "version"), 0.15)), k("metallb.version"), "must be a non-empty string, got a number"
    )


METALLB_KEYS: dict[str, Case] = {
    **{
        f"metallb.{name}": ("usg", [(("metallb", name), DROP)], f"metallb.{name}", REQUIRED)
        for name in ("version", "asn", "pools")
    },
    "unknown key in metallb": (
        "usg",
        [(("metallb", "verison"), "v0.15.3")],
        "metallb.verison",
        "did you mean 'version'?",
    ),
    # Regression: int() of a string with more than 4300 digits raises ValueError.
    "version of 5000 digits": (
        "usg",
        [(("metallb", "version"), "v0.12." + "1" * 5000)],
        "metallb.version",
        "is not a supported MetalLB release",
    ),
    "unknown mode": (
        "usg",
        [(("metallb", "mode"), "frr-k9s")],
        "metallb.mode",
        "'frr-k9s' is not allowed; choose one of: native, frr, frr-k8s",
    ),
    "frr-k8s on v0.13.12": (
        "unifi-os",
        [(("metallb", "version"), "v0.13.12")],
        "metallb.mode",
        "frr-k8s mode needs MetalLB v0.14.0 or later, not v0.13.12",
    ),
    "frr-k8s on v0.12.1": (
        "unifi-os",
        [(("metallb", "version"), "v0.12.1")],
        "metallb.mode",
        "frr-k8s mode needs MetalLB v0.14.0 or later, not v0.12.1",
    ),
}


@cases(METALLB_KEYS)
def test_metallb_keys_and_the_modes_each_release_has(base, edits, key, fragment):
    assert_problem(edited(base, *edits), k(key), fragment)
