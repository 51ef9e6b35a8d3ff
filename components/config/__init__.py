"""The stack config: one validated, frozen model of a lab."""

from .errors import ConfigError, Problem
from .model import Lab
from .parse import parse_lab

__all__ = ["ConfigError", "Lab", "Problem", "parse_lab"]
