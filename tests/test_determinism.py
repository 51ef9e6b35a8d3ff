"""Same config, same bytes: rendering must not depend on hash seeds or on the process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.config.stack_names import filter_names
from tests.config.strategies import valid_configs

REPO = Path(__file__).resolve().parents[1]


def render_in_new_process(configs: list[dict[str, Any]], hash_seed: str) -> str:
    """Render ``{"stack", "config"}`` items in a fresh interpreter with the given hash seed."""
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-m", "tests.render_batch"],
        input=json.dumps(configs),
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


# Small batches: Hypothesis cannot draw long lists of whole labs (its buffer overruns), and each
# batch costs two interpreter starts.
# Stack names: the gateway filter's names derive from them (plain, or dashed and hashed).
STACKS = st.one_of(st.sampled_from(["lab", "dev_1", "dev.1"]), st.text(min_size=1, max_size=12))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.fixed_dictionaries({"stack": STACKS, "config": valid_configs()}), min_size=3, max_size=3))
def test_rendering_is_byte_identical_across_processes(configs: list[dict[str, Any]]) -> None:
    first = render_in_new_process(configs, hash_seed="1")
    second = render_in_new_process(configs, hash_seed="4242")

    assert first.count("=== metallb.yaml") == len(configs)
    # Every gateway file holds its filter, named after its stack.
    assert all(filter_names(item["stack"]).prefix_list in first for item in configs)
    assert first == second
