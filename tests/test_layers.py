"""The import graph of ``components/`` and ``__main__.py`` follows the layer order that
docs/development.md states: no module imports one of a later layer (lazily, or only for type
checking, either), the commands of one layer do not import each other, only the Pulumi layer
imports Pulumi, and no module takes part in an import circle."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "development.md"
PULUMI_PACKAGES = ("pulumi", "pulumi_kubernetes", "pulumi_command")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def program_modules() -> dict[str, Path]:
    files = [*sorted((ROOT / "components").rglob("*.py")), ROOT / "__main__.py"]
    # components/__init__.py only holds the others (a docstring): it belongs to no layer.
    return {module_name(path): path for path in files if path != ROOT / "components" / "__init__.py"}


def imports_of(name: str, path: Path, known: set[str]) -> Iterator[str]:
    """Every module ``path`` imports, anywhere in it (function bodies and TYPE_CHECKING blocks too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                yield submodule if submodule in known else source


def stated_layers() -> list[list[str]]:
    """The numbered list under "## Layers" in docs/development.md: each item's `paths`, in order."""
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("\n## Layers\n", 1)[1].split("\n## ", 1)[0]
    items = re.findall(r"^\d+\. (.*)$", section, flags=re.M)
    return [
        [p.removesuffix(".py").removesuffix("/").replace("/", ".") for p in re.findall(r"`([^`]+)`", item)]
        for item in items
    ]


def unit_of(module: str, layers: list[list[str]]) -> tuple[int, str]:
    """(layer index, the unit of that layer the module belongs to) for a stated path prefix."""
    for index, units in enumerate(layers):
        for unit in units:
            if module == unit or module.startswith(unit + "."):
                return index, unit
    raise AssertionError(f"{module} is in no layer of {DOCS.name}: add it there")


def graph() -> dict[str, set[str]]:
    modules = program_modules()
    known = set(modules)
    return {name: set(imports_of(name, path, known)) for name, path in modules.items()}


def test_the_docs_state_a_layer_for_every_module() -> None:
    layers = stated_layers()
    assert len(layers) >= 5, "docs/development.md lists the layers as a numbered list under '## Layers'"
    for module in program_modules():
        unit_of(module, layers)


def test_no_module_imports_a_later_layer_or_another_command_of_its_own() -> None:
    layers = stated_layers()
    wrong = []
    for module, imported in graph().items():
        layer, unit = unit_of(module, layers)
        for target in sorted(i for i in imported if i in program_modules()):
            target_layer, target_unit = unit_of(target, layers)
            if target_layer > layer or (target_layer == layer and target_unit != unit):
                wrong.append(f"{module} imports {target}")
    assert wrong == []


def test_only_the_pulumi_layer_imports_pulumi() -> None:
    layers = stated_layers()
    pulumi_layers = {unit_of("components.resources", layers)[0], unit_of("__main__", layers)[0]}
    wrong = [
        f"{module} imports {target}"
        for module, imported in graph().items()
        for target in sorted(imported)
        if target.split(".")[0] in PULUMI_PACKAGES and unit_of(module, layers)[0] not in pulumi_layers
    ]
    assert wrong == []


def find_circle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import circle, as the modules along it, or None."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == "open":
                return [*stack[stack.index(target) :], target]
            if target not in state and (circle := visit(target)) is not None:
                return circle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(edges):
        if node not in state and (circle := visit(node)) is not None:
            return circle
    return None


def test_no_import_circle() -> None:
    modules = set(program_modules())
    # A package's __init__ is imported with each of its modules: an import of it is an edge.
    edges = {module: {t for t in targets if t in modules and t != module} for module, targets in graph().items()}
    assert find_circle(edges) is None


@pytest.mark.parametrize(
    ("edges", "circle"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
        ({"a": {"b"}, "b": {"a"}}, ["a", "b", "a"]),
        ({"a": {"b"}, "b": {"c"}, "c": {"b"}}, ["b", "c", "b"]),
    ],
)
def test_the_circle_finder_finds_circles(edges: dict[str, set[str]], circle: list[str] | None) -> None:
    assert find_circle(edges) == circle
