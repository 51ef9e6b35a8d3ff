"""The stack config as a whole: the valid labs every rule test edits, the top-level keys (missing,
unknown, misspelt), and every problem in every section reported at once."""

from __future__ import annotations

from components.config.errors import ConfigError
from components.config.parse import parse_lab
from tests.config.raw_labs import BASES, DROP, REQUIRED, Case, assert_problem, cases, edited, k, problems_of


def test_the_base_labs_are_valid() -> None:
    for base in BASES.values():
        lab = parse_lab(base(), stack="lab")
        assert lab.warnings == ()


TOP_LEVEL_KEYS: dict[str, Case] = {
    **{f"top-level {name}": ("usg", [((name,), DROP)], name, REQUIRED) for name in ("nodes", "metallb", "gateway")},
    "top level": (
        "usg",
        [(("metalb",), {})],
        "metalb",
        "unknown key; did you mean 'metallb-unifi:metallb'? allowed keys: metallb-unifi:nodes",
    ),
    "top level, no close key": ("usg", [(("zzz",), 1)], "zzz", "unknown key; allowed keys: metallb-unifi:nodes"),
}


@cases(TOP_LEVEL_KEYS)
def test_top_level_keys_missing_or_unknown(base, edits, key, fragment):
    assert_problem(edited(base, *edits), k(key), fragment)


def test_an_unknown_top_level_key_suggests_the_close_key() -> None:
    assert_problem(edited("usg", (("service",), [])), k("service"), "did you mean 'metallb-unifi:services'?")


def test_independent_mistakes_in_every_section_are_all_reported_at_once() -> None:
    raw = edited(
        "usg",
        (("nodes", 1, "address"), "10.20.0.300"),
        (("metallb", "asn"), 0),
        (("metallb", "pools", 0, "addresses", 0), "10.20.10.0/33"),
        (("metallb", "pools", 1, "autoAssign"), "yes"),
        (("gateway", "kind"), "udm"),
        (("gateway", "peerAdress"), "192.168.1.1"),
        (("gateway", "peerAddress"), DROP),
        (("bgp", "holdTime"), "soon"),
        (("services", 0, "name"), "Grafana"),
        (("services", 1, "ports", 0, "port"), 70000),
        (("extra",), True),
    )
    problems = problems_of(raw)
    assert sorted(p.key for p in problems) == sorted(
        k(key)
        for key in (
            "nodes[1].address",
            "metallb.asn",
            "metallb.pools[0].addresses[0]",
            "metallb.pools[1].autoAssign",
            "gateway.kind",
            "gateway.peerAdress",
            "gateway.peerAddress",
            "bgp.holdTime",
            "services[0].name",
            "services[1].ports[0].port",
            "extra",
        )
    )
    assert len(problems) == 11
    report = ConfigError(problems).report()
    assert report.startswith("invalid stack config (11 problems):")


def test_mistakes_found_across_sections_are_all_reported_at_once() -> None:
    raw = edited(
        "usg",
        (("metallb", "pools", 2), {"name": "more", "protocol": "bgp", "addresses": ["10.20.10.128/25"]}),
        (("metallb", "pools", 0, "localPref"), 100),
        (("metallb", "pools", 1, "addresses"), ["10.20.5.0/28"]),
        (("bgp", "holdTime"), 3),
        (("bgp", "ebgpMultiHop"), True),
        (("services", 0, "address"), "10.20.11.5"),
        (("services", 1, "aliases"), ["grafana"]),
    )
    keys = [p.key for p in problems_of(raw)]
    assert sorted(keys) == sorted(
        k(key)
        for key in (
            "metallb.pools[0].addresses[0]",
            "metallb.pools[0].localPref",
            "metallb.pools[1].addresses[0]",
            "bgp.holdTime",
            "bgp.ebgpMultiHop",
            "services[0].address",
            "services[1].aliases[0]",
        )
    )
