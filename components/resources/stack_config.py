"""The stack config as the Pulumi engine hands it to the program: the only place that reads
it. Everything after this works on the validated :class:`Lab`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from components.artifacts import parse_renderable_lab
from components.config import ConfigError, Lab
from components.config.errors import NAMESPACE
from components.config.stack_files import mistyped_namespace_keys


def _decode(value: Any) -> Any:
    # The engine passes object and list values as JSON text and scalars as plain strings.
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def raw_stack_config() -> dict[str, Any]:
    """Every ``metallb-unifi:`` key of the running stack, including ones the program does not
    know (so that a typo in a key name is reported, not ignored)."""
    values: dict[str, Any] = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    # The engine hands over every namespace's keys (pulumi/pulumi@v3.259.0:pkg/resource/deploy/source_eval.go
    # decrypts the whole stack config; sdk/python/cmd/pulumi-language-python/main.go puts all of it in
    # PULUMI_CONFIG): a misspelt `metallb-unifi` would pass silently.
    mistyped = mistyped_namespace_keys(values)
    if mistyped:
        raise ConfigError(mistyped)
    prefix = f"{NAMESPACE}:"
    return {key[len(prefix) :]: _decode(value) for key, value in values.items() if key.startswith(prefix)}


def load_stack_lab(project_dir: Path | None = None) -> Lab:
    """Validate the running stack's config, as the stack the engine runs (``pulumi.get_stack()``:
    the stack's own name, without organization or project); files it names are relative to the
    project."""
    base = project_dir or Path.cwd()
    return parse_renderable_lab(
        raw_stack_config(), stack=pulumi.get_stack(), read_file=lambda name: (base / name).read_text(encoding="utf-8")
    )
