"""Reading a stack file's keys: a namespace one or two edits from ``metallb-unifi`` is a typo."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.config.errors import ConfigError
from components.config.stack_files import mistyped_namespace_keys, read_stack_config


@pytest.mark.parametrize(
    "namespace",
    [
        "metalb-unifi",  # a deletion
        "metallb-unif",
        "metallb_unifi",  # a substitution
        "mteallb-unifi",  # two neighbours swapped: one edit
        "metallb-unifii",  # an insertion
        "metal-unifi",  # two deletions
        "metalb-unfi",
        "Metallb-Unifi",  # two substitutions
    ],
)
def test_a_namespace_one_or_two_edits_away_is_an_error_with_the_key_meant(namespace: str) -> None:
    (problem,) = mistyped_namespace_keys([f"{namespace}:services", "metallb-unifi:nodes"])

    assert problem.key == f"{namespace}:services"
    assert problem.message.endswith("did you mean metallb-unifi:services?")


@pytest.mark.parametrize(
    "name", ["metallb-unifi:services", "kubernetes:context", "command:x", "metallb:services", "metal-unif:x", "nodes"]
)
def test_this_projects_keys_and_other_programs_namespaces_pass(name: str) -> None:
    assert mistyped_namespace_keys([name]) == []


def test_a_stack_file_with_a_misspelt_namespace_is_refused_naming_each_key(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.test.yaml"
    stack.write_text("config:\n  metalb-unifi:services: []\n  metallb-unif:bgp: {}\n  kubernetes:context: lab\n")

    with pytest.raises(ConfigError) as caught:
        read_stack_config(stack)

    assert caught.value.report() == (
        "invalid stack config (2 problems):\n"
        "  - metalb-unifi:services: namespace 'metalb-unifi' is not this program's (it would be ignored); "
        "did you mean metallb-unifi:services?\n"
        "  - metallb-unif:bgp: namespace 'metallb-unif' is not this program's (it would be ignored); "
        "did you mean metallb-unifi:bgp?"
    )
