"""The provider plugins that run are the versions whose source the program's rules were read from.

The engine runs, for each resource, the plugin version its registration names; the Python SDKs name
their own package version (pulumi/pulumi-kubernetes@v4.32.0:sdk/python/pulumi_kubernetes/
_utilities.py get_resource_opts_defaults, get_version from the installed package's metadata; the
same in pulumi/pulumi-command@v1.2.1:sdk/python/pulumi_command/_utilities.py), and install the
plugin their pulumi-plugin.json names. So the pin in requirements.in, both locks, the installed
SDKs, what the program registers, and every ``pulumi/pulumi-<name>@v<version>`` cited in the
repository must be one version per package."""

from __future__ import annotations

import importlib.metadata
import json
import re
import subprocess
from pathlib import Path

import pulumi_command
import pulumi_kubernetes
import pytest

from tests.program_harness import CONFIG_GROUP, REPO, run_program, stack_config
from tests.resources.conftest import small_mirror, with_small_manifest

__all__ = ["small_mirror"]

PACKAGES = {"kubernetes": pulumi_kubernetes, "command": pulumi_command}
# A version named next to the package: a citation (pulumi/pulumi-kubernetes@v4.32.0), a pin
# (pulumi-kubernetes==4.32.0) or prose (pulumi_kubernetes 4.32.0).
MENTION = re.compile(r"pulumi[-_/](kubernetes|command)(?:@v|==| )(\d+\.\d+\.\d+)")
LOCKS = ("requirements.in", "requirements.txt", "requirements-dev.txt")


def pinned(name: str) -> str:
    (pin,) = re.findall(rf"^pulumi-{name}==(\S+)", (REPO / "requirements.in").read_text(), re.MULTILINE)
    return str(pin)


def tracked_text_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    return [REPO / p for p in listed.splitlines() if p.endswith((".py", ".md", ".in", ".txt", ".yaml"))]


def mentions(files: list[Path]) -> dict[tuple[str, str], list[str]]:
    found: dict[tuple[str, str], list[str]] = {}
    for path in files:
        if not path.is_file():
            continue
        for match in MENTION.finditer(path.read_text(encoding="utf-8", errors="replace")):
            found.setdefault((match[1], match[2]), []).append(str(path.relative_to(REPO)))
    return found


@pytest.mark.parametrize("name", sorted(PACKAGES))
def test_locks_and_installed_sdk_and_plugin_agree_with_the_pin(name: str) -> None:
    pin = pinned(name)
    for lock in LOCKS[1:]:
        assert re.findall(rf"^pulumi-{name}==(\S+) ", (REPO / lock).read_text(), re.MULTILINE) == [pin], lock
    assert importlib.metadata.version(f"pulumi-{name}") == pin
    plugin = json.loads((Path(str(PACKAGES[name].__file__)).parent / "pulumi-plugin.json").read_text())
    assert (plugin["name"], plugin["version"]) == (name, pin)


def test_every_version_the_repository_cites_is_the_pinned_one() -> None:
    found = mentions(tracked_text_files())
    assert {key for key in found if key[0] in PACKAGES} == {(name, pinned(name)) for name in PACKAGES}, found


def test_the_program_asks_the_engine_for_the_pinned_plugins(monkeypatch: pytest.MonkeyPatch, small_mirror: str) -> None:
    # A stack with Services to create: their checks are pulumi-command resources.
    config = with_small_manifest(stack_config(REPO / "Pulumi.crds.yaml", small_mirror))
    registrations = run_program(monkeypatch, config, preview=False).registrations
    # A ConfigGroup's children are registered by the plugin the ConfigGroup names (here by the
    # harness, without a version): the ConfigGroup's own registration is what counts.
    groups = {r.urn for r in registrations if r.type == CONFIG_GROUP}
    asked: dict[str, set[str]] = {}
    for r in registrations:
        package = r.type.split(":")[2] if r.type.startswith("pulumi:providers:") else r.type.split(":")[0]
        if package in PACKAGES and r.parent not in groups:
            asked.setdefault(package, set()).add(r.version)
    assert asked == {name: {pinned(name)} for name in PACKAGES}
