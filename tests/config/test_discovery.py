"""metallb-unifi:discovery: its defaults, its values, and every problem named by key."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from components.config import ConfigError, parse_lab
from components.config.model import Discovery, DiscoveryMode
from tests.discovery.labs import RAW


def parse(discovery: Any) -> Any:
    raw = copy.deepcopy(RAW)
    raw["discovery"] = discovery
    return parse_lab(raw, stack="lab")


def problems(discovery: Any) -> list[str]:
    with pytest.raises(ConfigError) as error:
        parse(discovery)
    return [str(p) for p in error.value.problems]


def test_absent_means_no_discovery_and_empty_means_the_defaults() -> None:
    raw = copy.deepcopy(RAW)
    del raw["discovery"]
    assert parse_lab(raw, stack="lab").discovery is None
    assert parse({}).discovery == Discovery(mode=DiscoveryMode.ANNOTATED, namespaces=())


def test_mode_all_and_namespaces_sorted() -> None:
    assert parse({"mode": "all", "namespaces": ["media", "apps"]}).discovery == Discovery(
        DiscoveryMode.ALL, ("apps", "media")
    )


def test_every_problem_is_named_by_its_key() -> None:
    assert problems({"mode": "some", "namespace": ["apps"]}) == [
        "metallb-unifi:discovery.namespace: unknown key; did you mean 'namespaces'? allowed keys: mode, namespaces",
        "metallb-unifi:discovery.mode: 'some' is not allowed; choose one of: annotated, all",
    ]
    assert problems({"namespaces": []}) == ["metallb-unifi:discovery.namespaces: must not be empty"]
    assert problems({"namespaces": ["apps", "Apps", "apps"]}) == [
        "metallb-unifi:discovery.namespaces[1]: 'Apps' is not a namespace name: 1-63 lowercase letters, digits or "
        "'-', starting and ending with a letter or digit",
        "metallb-unifi:discovery.namespaces[2]: duplicate namespace 'apps' (also at "
        "metallb-unifi:discovery.namespaces[0])",
    ]
    assert problems(["annotated"]) == ["metallb-unifi:discovery: must be an object, got a list"]


def test_a_misspelt_top_level_key_suggests_discovery() -> None:
    raw = copy.deepcopy(RAW)
    raw["discover"] = raw.pop("discovery")
    with pytest.raises(ConfigError) as error:
        parse_lab(raw, stack="lab")
    assert "did you mean 'metallb-unifi:discovery'?" in str(error.value.problems[0])
