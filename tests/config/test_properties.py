"""Property tests of the config parser: valid configs parse, anything else is rejected with a
ConfigError whose problems name keys under ``metallb-unifi:`` — never with another exception —
and whatever it accepts, every renderer takes. (Same config, same bytes across processes and hash
seeds: tests/test_determinism.py.)"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.artifacts.gateway import GATEWAY_FILES
from components.config.errors import NAMESPACE, ConfigError
from components.config.model import GatewayKind, Lab
from components.config.parse import parse_lab
from components.render import render_artifacts
from tests.config.strategies import (
    guaranteed_invalid_configs,
    mutated_configs,
    number_like_leaf_configs,
    valid_configs,
    verify_warnings,
)

PREFIX = f"{NAMESPACE}:"
MAX_ASN = 2**32 - 1

_settings = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _parse_or_config_error(raw: dict[str, Any]) -> Lab | ConfigError:
    """Parse; a ConfigError is an answer, any other exception fails the test (it propagates)."""
    try:
        return parse_lab(raw, stack="lab")
    except ConfigError as error:
        return error


def _assert_renders(lab: Lab) -> None:
    """An accepted config is usable: real AS numbers, and every file of its gateway kind renders
    to text that reads back."""
    for asn in (lab.metallb.asn, lab.gateway.asn):
        assert type(asn) is int and 1 <= asn <= MAX_ASN, asn
    files = render_artifacts(lab, lab.pinned_addresses)
    assert sorted(files) == sorted(["metallb.yaml", "services.yaml", "outputs.json", *GATEWAY_FILES[lab.gateway.kind]])
    for name in ("metallb.yaml", "services.yaml"):
        assert all(isinstance(d, dict) for d in yaml.safe_load_all(files[name]) if d is not None), name
    assert set(json.loads(files["outputs.json"])["services"]) == {s.name for s in lab.services}
    # The gateway's BGP filter, in either kind's file (its rules: tests/artifacts/test_usg_gateway.py
    # and test_frr.py, on random labs too).
    gateway_file = files["config.gateway.json" if lab.gateway.kind is GatewayKind.USG else "bgpd.conf"]
    assert lab.filter_names.prefix_list in gateway_file and lab.filter_names.route_map_in in gateway_file
    # A lab announcing IPv6 over BGP: the gateway gets its IPv6 filter, and MetalLB a peer for it
    # (the dual-stack shapes: tests/artifacts/test_metallb.py, test_frr.py, test_usg_gateway.py).
    names6 = (lab.filter_names.prefix_list6, lab.filter_names.route_map_in6)
    assert all(name in gateway_file for name in names6) == lab.bgp_v6
    dialled = {line.split(": ")[-1] for line in files["metallb.yaml"].splitlines() if "peer-address: " in line}
    dialled |= {line.split(": ")[-1] for line in files["metallb.yaml"].splitlines() if "peerAddress: " in line}
    assert (str(lab.gateway.peer_address6) in dialled) == lab.bgp_v6


@_settings
@given(valid_configs())
def test_valid_configs_parse(raw: dict[str, Any]) -> None:
    snapshot = copy.deepcopy(raw)
    try:
        lab = parse_lab(raw, stack="lab")
    except ConfigError as error:  # pragma: no cover - a failure shows the problems
        pytest.fail(f"a valid config was rejected:\n{error.report()}\nconfig: {raw!r}")
    assert raw == snapshot, "parse_lab must not modify its input"
    assert len(lab.nodes) == len(raw["nodes"])
    assert [p.name for p in lab.metallb.pools] == [p["name"] for p in raw["metallb"]["pools"]]
    assert [s.name for s in lab.services] == [s["name"] for s in raw.get("services", [])]
    assert str(lab.metallb.version) == raw["metallb"]["version"]
    assert lab.gateway.kind.value == raw["gateway"]["kind"]
    _assert_renders(lab)
    assert (lab.gateway_ssh is None, lab.verify is None) == ("gatewaySsh" not in raw, "verify" not in raw)
    # The only warnings a valid config can draw are those of verify settings that cannot do what
    # they say, and about AS numbers outside the private ranges.
    expected = verify_warnings(raw)
    assert [w for w in lab.warnings if w.startswith(f"{PREFIX}verify")] == expected
    for warning in lab.warnings:
        if warning not in expected:
            assert warning.startswith((f"{PREFIX}metallb.asn: ", f"{PREFIX}gateway.asn: ")), warning
            assert "not a private AS number" in warning


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_configs())
def test_mutated_configs_parse_or_raise_config_error(raw: dict[str, Any]) -> None:
    result = _parse_or_config_error(raw)
    if isinstance(result, ConfigError):
        assert result.problems, "a ConfigError must carry at least one problem"
        for problem in result.problems:
            assert problem.key.startswith(PREFIX), problem
            assert problem.message, problem
    else:
        _assert_renders(result)


@_settings
@given(number_like_leaf_configs())
def test_number_like_text_at_any_leaf_parses_or_raises_config_error(raw: dict[str, Any]) -> None:
    result = _parse_or_config_error(raw)
    if isinstance(result, ConfigError):
        assert all(problem.key.startswith(PREFIX) for problem in result.problems), result.problems
    else:
        _assert_renders(result)


@_settings
@given(guaranteed_invalid_configs())
def test_guaranteed_invalid_configs_raise_config_error_at_the_key(case: tuple[dict[str, Any], str]) -> None:
    raw, key = case
    with pytest.raises(ConfigError) as caught:
        parse_lab(raw, stack="lab")
    keys = [problem.key for problem in caught.value.problems]
    assert all(k.startswith(PREFIX) for k in keys), keys
    assert key in keys, f"expected a problem at {key}, got {keys}"


@_settings
@given(st.dictionaries(st.text(max_size=12), st.none() | st.integers() | st.text(max_size=5), max_size=6))
def test_arbitrary_top_level_objects_raise_config_error(raw: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_lab(raw, stack="lab")
    assert all(problem.key.startswith(PREFIX) for problem in caught.value.problems)
