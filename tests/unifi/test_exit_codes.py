"""The exit codes of ``python -m components.unifi`` are one table (components/unifi/errors.py):
the docs and ``--help`` show that table, and each failure class has a code of its own."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from components.unifi import errors
from components.unifi.__main__ import build_parser
from components.unifi.errors import EXIT_CODES, UnifiError

DOCS = Path(__file__).resolve().parents[2] / "docs" / "controller-client.md"


def docs_table() -> dict[int, str]:
    rows = re.findall(r"^\| (\d+) \| (.*) \|$", DOCS.read_text(encoding="utf-8"), flags=re.M)
    table = {int(code): meaning for code, meaning in rows}
    assert len(table) == len(rows), "a code appears twice in the docs' table"
    return table


def test_the_docs_table_is_the_errors_modules_table() -> None:
    assert docs_table() == dict(EXIT_CODES)


def test_help_lists_every_code_with_its_meaning() -> None:
    text = " ".join(build_parser().format_help().split())
    for code, meaning in EXIT_CODES.items():
        assert f" {code} {meaning}" in text


def test_every_failure_class_exits_with_a_code_of_the_table() -> None:
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, UnifiError)]
    codes = {c.exit_code for c in classes}
    assert codes <= set(EXIT_CODES) - {errors.EXIT_OK}
    # Every failure code but "internal" belongs to a class that raises it.
    assert set(EXIT_CODES) - {errors.EXIT_OK} == codes
