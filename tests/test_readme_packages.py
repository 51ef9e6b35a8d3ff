"""One list of the Debian packages the tests use, `./test`'s PACKAGES line, which `./test` installs
and CI gets by calling `./test`: the README names exactly those packages, docs/development.md says
what each is for, and nothing else installs its own list. CI must test the machine a newcomer
builds with the README's two commands, no more and no less."""

from __future__ import annotations

import re

from tests.program_harness import REPO


def the_list() -> list[str]:
    match = re.search(r"^PACKAGES=\(([^)]*)\)", (REPO / "test").read_text(encoding="utf-8"), re.MULTILINE)
    assert match, "./test has no PACKAGES=(…) line"
    return match.group(1).split()


def section(text: str, heading: str) -> str:
    return text.split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0]


def test_the_readme_names_exactly_the_packages_test_installs() -> None:
    two_commands = section((REPO / "README.md").read_text(encoding="utf-8"), "## The two commands")
    match = re.search(r"the packages the tests use:\s*`([^`]+)`", two_commands)
    assert match, "the README's two commands do not name the packages the tests use"
    assert sorted(match.group(1).split()) == sorted(the_list())
    assert {"python3", "python3-venv"} <= set(the_list())


def test_the_readmes_two_commands_are_setup_and_test() -> None:
    two_commands = section((REPO / "README.md").read_text(encoding="utf-8"), "## The two commands")
    block = two_commands.split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if line.strip() and not line.startswith("#")]
    assert commands == ["./setup", "./test"]


def test_development_says_what_each_package_is_for() -> None:
    needs = section((REPO / "docs" / "development.md").read_text(encoding="utf-8"), "## What the tests need")
    rows = [line.split("|")[1] for line in needs.splitlines() if line.startswith("| `")]
    explained = [name for row in rows for name in re.findall(r"`([^`]+)`", row)]
    assert sorted(explained) == sorted(the_list())


def test_only_test_installs_the_packages_and_ci_calls_it() -> None:
    ci = [line for line in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines() if line[:1] != "#"]
    assert not [line for line in ci if "apt-get" in line or "PACKAGES" in line]
    assert any(line.startswith("./test") for line in ci)
    # ./setup installs one package, the one without which no venv can be made.
    setup = (REPO / "setup").read_text(encoding="utf-8")
    installs = [words.split() for words in re.findall(r"apt-get install -y ([^;\"\n]*)", setup)]
    assert installs and all([w for w in words if not w.startswith("-")] == ["python3-venv"] for words in installs)
