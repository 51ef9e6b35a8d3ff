"""The README's apt line and .ci/run install the same Debian packages: CI must test the machine a
newcomer builds from the README, no more and no less."""

from __future__ import annotations

import re

from tests.program_harness import REPO


def test_the_readmes_apt_line_names_exactly_what_ci_installs() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    (line,) = [line for line in readme.splitlines() if line.startswith("apt-get update && apt-get install -y ")]
    readme_packages = line.split("apt-get install -y ", 1)[1].split()
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    match = re.search(r"^PACKAGES=\(([^)]*)\)", ci, re.MULTILINE)
    assert match, ".ci/run has no PACKAGES=(…) line"
    assert sorted(readme_packages) == sorted(match.group(1).split())
    assert {"python3", "python3-venv"} <= set(readme_packages)
