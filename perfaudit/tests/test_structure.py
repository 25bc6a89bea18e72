"""The shape, enforced (no database): no import cycles in the project's packages, perfaudit
never imports the demo project, and no perfaudit module grows past ~300 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("perfaudit", "tasks", "taskproject", "benchmarks")
MAX_LINES = 300


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def imported_names(tree: ast.Module, module: str, *, top_level_only: bool) -> set[str]:
    """Dotted names a module imports: at import time only (module body), or anywhere."""
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names = set()
    package = module if module in PACKAGES else module.rsplit(".", 1)[0]
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names |= {f"{base}.{alias.name}" for alias in node.names}
    return names


def import_graph() -> dict[str, set[str]]:
    known = modules()
    graph = {}
    for module, path in known.items():
        tree = ast.parse(path.read_text(), str(path))
        targets = set()
        for name in imported_names(tree, module, top_level_only=False):
            if name not in known:
                continue
            targets.add(name)
            # Importing a.b.c runs a/__init__ and a/b/__init__ first: a cycle through a package
            # __init__ is a cycle too (unless the importer is inside that package already).
            parts = name.split(".")
            for i in range(1, len(parts)):
                parent = ".".join(parts[:i])
                if parent in known and not module.startswith(parent + "."):
                    targets.add(parent)
        graph[module] = targets - {module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, result = {}, {}, [], set(), []
    counter = [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return result


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_perfaudit_never_imports_the_demo_project():
    offenders = []
    for module, path in modules().items():
        if not module.startswith("perfaudit"):
            continue
        tree = ast.parse(path.read_text(), str(path))
        for name in imported_names(tree, module, top_level_only=False):
            if name.split(".")[0] in {"tasks", "taskproject", "benchmarks"}:
                offenders.append(f"{module} imports {name}")
    assert offenders == []


@pytest.mark.parametrize(
    "path",
    sorted((ROOT / "perfaudit").rglob("*.py")),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_perfaudit_modules_stay_small(path):
    assert len(path.read_text().splitlines()) <= MAX_LINES
