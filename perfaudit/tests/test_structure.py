"""The shape, enforced (no database): no import cycles in the project's packages, perfaudit
never imports the demo project, no perfaudit module grows past ~300 lines nor any function
past ~80; and perfaudit's layers depend one way: catalog and rules both read snapshots, never
each other; snapshots import no other layer; the sandbox knows no catalog, rules or service;
every topic has ``collect(connection, selection)`` and ``evaluate(snapshot, conf)``; no module
imports another's private names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("perfaudit", "tasks", "taskproject", "benchmarks")
MAX_LINES = 300
MAX_FUNCTION_LINES = 80


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


@pytest.mark.parametrize(
    "path",
    sorted((ROOT / "perfaudit").rglob("*.py")),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_perfaudit_functions_stay_short(path):
    tree = ast.parse(path.read_text(), str(path))
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long == []


def test_the_length_check_measures_whole_functions():
    body = "\n".join(f"    x{n} = {n}" for n in range(MAX_FUNCTION_LINES))
    [node] = ast.parse(f"def f():\n{body}\n").body
    assert node.end_lineno - node.lineno + 1 == MAX_FUNCTION_LINES + 1


def perfaudit_code() -> dict[str, tuple[Path, ast.Module]]:
    """perfaudit's modules (tests excluded), parsed."""
    return {
        module: (path, ast.parse(path.read_text(), str(path)))
        for module, path in modules().items()
        if module.startswith("perfaudit") and not module.startswith("perfaudit.tests")
    }


def layer_offenders(source: str, forbidden: tuple[str, ...]) -> list[str]:
    """``source`` modules importing (at any level) a module under one of ``forbidden``."""
    offenders = []
    for module, (_path, tree) in perfaudit_code().items():
        if not (module == source or module.startswith(source + ".")):
            continue
        for name in imported_names(tree, module, top_level_only=False):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                offenders.append(f"{module} imports {name}")
    return sorted(offenders)


def test_the_layer_check_sees_an_import():
    tree = ast.parse(
        "from perfaudit.rules import indexes\ndef f():\n    import perfaudit.catalog\n"
    )
    names = imported_names(tree, "perfaudit.x", top_level_only=False)
    assert {"perfaudit.rules.indexes", "perfaudit.catalog"} <= names


def test_catalog_never_imports_rules():
    assert layer_offenders("perfaudit.catalog", ("perfaudit.rules",)) == []


def test_rules_never_import_catalog():
    assert layer_offenders("perfaudit.rules", ("perfaudit.catalog",)) == []


def test_snapshots_import_no_other_layer():
    others = ("catalog", "rules", "services", "sandbox", "whatif", "render", "management")
    assert layer_offenders("perfaudit.snapshots", tuple(f"perfaudit.{o}" for o in others)) == []


def test_the_sandbox_runs_what_it_is_given():
    # Probes return snapshots; what they run comes from the services, never a catalog read or
    # a rule of their own.
    forbidden = ("perfaudit.catalog", "perfaudit.rules", "perfaudit.services")
    assert layer_offenders("perfaudit.sandbox", forbidden) == []
    assert layer_offenders("perfaudit.whatif", forbidden) == []
    assert layer_offenders("perfaudit.urlcapture", forbidden) == []


def functions_named(prefix: str, name: str):
    for module, (_path, tree) in perfaudit_code().items():
        if module == prefix or module.startswith(prefix + "."):
            for node in tree.body:
                if isinstance(node, ast.FunctionDef) and node.name == name:
                    yield module, tree, node


def test_catalog_and_rules_both_read_snapshots():
    missing = []
    for module, tree, _node in [
        *functions_named("perfaudit.catalog", "collect"),
        *functions_named("perfaudit.rules", "evaluate"),
    ]:
        names = imported_names(tree, module, top_level_only=True)
        if not any(n.startswith("perfaudit.snapshots.") for n in names):
            missing.append(module)
    assert missing == []


def positional(node: ast.FunctionDef) -> list[str]:
    return [a.arg for a in (*node.args.posonlyargs, *node.args.args)]


def test_every_collect_takes_a_connection_and_a_selection():
    found = {m: positional(n) for m, _t, n in functions_named("perfaudit.catalog", "collect")}
    assert len(found) >= 10
    assert {m: args for m, args in found.items() if len(args) != 2 or args[0] != "connection"} == {}
    # Nothing but the selection: no thresholds, no options beside it.
    extra = [m for m, _t, n in functions_named("perfaudit.catalog", "collect") if n.args.kwonlyargs]
    assert extra == []


def test_every_evaluate_takes_a_snapshot_and_the_settings():
    # The advisor is a pipeline instead (rules.advisor.propose and .decide, its two pure
    # stages), tested in test_advisor_stages.py.
    found = {
        m: positional(n)
        for m, _t, n in functions_named("perfaudit.rules", "evaluate")
        if not m.startswith("perfaudit.rules.advisor")
    }
    assert len(found) >= 10
    assert {m: args for m, args in found.items() if len(args) != 2 or args[1] != "conf"} == {}


def test_no_module_imports_another_modules_private_names():
    offenders = []
    for module, (_path, tree) in perfaudit_code().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("perfaudit"):
                offenders += [f"{module}: {a.name}" for a in node.names if a.name.startswith("_")]
    assert offenders == []
