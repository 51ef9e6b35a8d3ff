"""The names of a stack's BGP filter on the gateway: the id scheme, what EdgeOS and FRR take as
names, and the stack's name in the model, set once where the config is loaded."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.config import ConfigError, parse_lab
from components.config.stack_files import read_stack_config, stack_name_of
from components.config.stack_names import FRR_PREFIX_LIST_NAME_MAX, STACK_KEY, filter_names, stack_id

ROOT = Path(__file__).resolve().parents[2]

# vyos/vyatta-cfg-quagga@vyatta/VC6.3-2011.10.04/amd64: templates/policy/prefix-list/node.def and
# templates/policy/route-map/node.def, line 6.
EDGEOS_NAME = re.compile(r"^[-a-zA-Z0-9.]+$")


def test_a_plain_stack_name_is_its_own_id() -> None:
    names = filter_names("lab")
    assert (names.prefix_list, names.route_map_in, names.route_map_out, names.peer_group) == (
        "metallb-lab-pools",
        "metallb-lab-in",
        "metallb-lab-out",
        "metallb-lab",
    )
    assert stack_id("Dev-2") == "Dev-2"


@pytest.mark.parametrize("stack", ["dev_1", "dev.1", "-dev", "été", "a b", "dev\n"])
def test_any_other_name_is_dashed_and_hashed(stack: str) -> None:
    digest = hashlib.sha256(stack.encode()).hexdigest()[:8]
    assert stack_id(stack) == re.sub(r"[^A-Za-z0-9-]", "-", stack) + "-" + digest


def test_names_that_dash_alike_still_differ() -> None:
    assert stack_id("dev_1") != stack_id("dev.1")
    assert stack_id("dev_1").startswith("dev-1-") and stack_id("dev.1").startswith("dev-1-")
    assert stack_id("dev_1") != "dev-1"


@given(st.text(min_size=1, max_size=100))
def test_every_name_is_a_valid_edgeos_and_frr_name(stack: str) -> None:
    names = filter_names(stack)
    every = (
        names.prefix_list,
        names.prefix_list6,
        names.route_map_in,
        names.route_map_in6,
        names.route_map_out,
        names.peer_group,
        names.peer_group6,
    )
    for name in every:
        assert EDGEOS_NAME.fullmatch(name), name
        assert name.isascii() and not any(c.isspace() for c in name)
    assert len(names.prefix_list6) == max(len(name) for name in every)
    assert len(set(every)) == len(every)


@given(st.text(alphabet="abc_.-", min_size=1, max_size=6), st.text(alphabet="abc_.-", min_size=1, max_size=6))
def test_two_stack_names_never_share_an_id(one: str, other: str) -> None:
    # Only a name spelled like another's dashed-and-hashed id could; drawn names never are.
    if one != other:
        assert stack_id(one) != stack_id(other)


# --- in the parser ---------------------------------------------------------------------------


def lab_raw() -> dict[str, Any]:
    return read_stack_config(ROOT / "Pulumi.lab.yaml")


def test_the_lab_carries_its_stack() -> None:
    lab = parse_lab(lab_raw(), stack="dev_1")
    assert lab.stack == "dev_1"
    assert lab.filter_names == filter_names("dev_1")


def test_a_pulumi_stack_name_always_fits() -> None:
    # Pulumi's stack names are at most 100 characters of [A-Za-z0-9_.-].
    longest = "x_" * 50
    assert len(filter_names(longest).prefix_list6) <= FRR_PREFIX_LIST_NAME_MAX
    parse_lab(lab_raw(), stack=longest)


def test_a_stack_name_too_long_for_frr_is_refused_naming_the_stack() -> None:
    fits = "a" * (FRR_PREFIX_LIST_NAME_MAX - len("metallb--pools6"))
    assert len(parse_lab(lab_raw(), stack=fits).filter_names.prefix_list6) == FRR_PREFIX_LIST_NAME_MAX
    with pytest.raises(ConfigError) as caught:
        parse_lab(lab_raw(), stack=fits + "a")
    (problem,) = caught.value.problems
    assert problem.key == STACK_KEY
    assert problem.message.startswith(f"{fits + 'a'!r} makes the gateway's prefix-list name 129 characters long")
    assert "FRR takes at most 128; use a stack name of at most 113 letters, digits and '-'" in problem.message


def test_an_empty_stack_name_is_refused_with_the_configs_other_problems() -> None:
    raw = lab_raw()
    raw["gateway"] = {**raw["gateway"], "asn": "x"}
    with pytest.raises(ConfigError) as caught:
        parse_lab(raw, stack="")
    assert [p.key for p in caught.value.problems] == [STACK_KEY, "metallb-unifi:gateway.asn"]


@pytest.mark.parametrize(
    ("file", "stack"),
    [
        ("Pulumi.lab.yaml", "lab"),
        ("Pulumi.dev.1.yaml", "dev.1"),
        ("Pulumi.dev_1.yml", "dev_1"),
        ("ebgp-usg.yaml", "ebgp-usg"),
    ],
)
def test_a_stack_files_name_says_its_stack(file: str, stack: str) -> None:
    assert stack_name_of(Path("/somewhere") / file) == stack
