"""Render a batch of stacks (a JSON list of ``{"stack": name, "config": raw config}`` on stdin) and
print every artifact, for comparing the output of separate processes (run as
``python -m tests.render_batch``)."""

from __future__ import annotations

import json
import sys

from components.artifacts import parse_renderable_lab
from components.render import render_artifacts


def main() -> None:
    for item in json.load(sys.stdin):
        lab = parse_renderable_lab(item["config"], stack=item["stack"])
        for name, content in sorted(render_artifacts(lab, lab.pinned_addresses).items()):
            sys.stdout.write(f"=== {name}\n{content}")


if __name__ == "__main__":
    main()
