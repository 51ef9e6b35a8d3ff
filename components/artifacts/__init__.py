"""Pure renderers: the lab model in, the artifacts users would otherwise write by hand out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.config import Lab, parse_lab
from components.config.base_config import ReadFile

from .usg_gateway import check_base_config


def parse_renderable_lab(raw: Mapping[str, Any], *, stack: str, read_file: ReadFile | None = None) -> Lab:
    """:func:`components.config.parse_lab` plus the checks only a render can make (a base
    ``config.gateway.json`` against what this stack writes into it): what the program and the
    ``render`` command read a stack with."""
    return parse_lab(raw, stack=stack, read_file=read_file, checks=(check_base_config,))
