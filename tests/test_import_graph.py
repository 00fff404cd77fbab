"""The package's import graph has no cycles.

Every ``import`` statement of every module under ``nnstructure/`` counts,
including the ones inside functions (which hide a cycle from Python's import
machinery but not from a reader): ``from a import b`` is an edge to ``a.b``
when ``b`` is a submodule and to ``a`` otherwise, and relative imports are
resolved against the importing module's package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "nnstructure"
ROOT = Path(__file__).resolve().parent.parent / PACKAGE


def module_files(root: Path = ROOT, package: str = PACKAGE) -> dict[str, Path]:
    """Every module of the package by its dotted name (a package is named by its ``__init__.py``)."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join((package, *parts))] = path
    return modules


def _package_of(module: str, path: Path) -> str:
    """The package a module's relative imports are resolved against."""
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def imported_modules(module: str, path: Path, known: set[str], package: str = PACKAGE) -> set[str]:
    """The package modules that ``module`` imports anywhere in its source (module level and inside functions)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()

    def add(name: str) -> None:
        # an import of a.b.c runs a, a.b and a.b.c; the deepest one known is the dependency
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name and name != module:
            found.add(name)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == package:
                    add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _package_of(module, path)
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            if source.split(".")[0] != package:
                continue
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                add(submodule if submodule in known else source)
    return found


def import_graph(root: Path = ROOT, package: str = PACKAGE) -> dict[str, set[str]]:
    """``{module: modules it imports}`` over every module of the package."""
    files = module_files(root, package)
    known = set(files)
    return {module: imported_modules(module, path, known, package) for module, path in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as ``[a, b, ..., a]``, or ``None`` when it is acyclic (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    for start in sorted(graph):
        if state.get(start):
            continue
        path = [start]
        stack = [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph.get(nxt, ()))))
    return None


def test_find_cycle_reports_a_cycle_and_accepts_a_dag():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "d"}, "b": set(), "d": {"e"}, "e": {"d"}}) == ["d", "e", "d"]


def test_imports_are_resolved_to_submodules_and_relative_imports(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("import os\nfrom pkg import sub\nfrom pkg.sub import thing\n")
    (pkg / "b.py").write_text("def f():\n    from .sub.c import name\n    import pkg.a\n")
    (pkg / "sub" / "__init__.py").write_text("from . import c\nfrom .. import b\n")
    (pkg / "sub" / "c.py").write_text("from pkg import b as bee, missing\n")
    assert import_graph(pkg, "pkg") == {
        "pkg": set(),
        "pkg.a": {"pkg.sub"},  # a package by name and a name defined in it: both the package
        "pkg.b": {"pkg.sub.c", "pkg.a"},  # function-level and relative imports count
        "pkg.sub": {"pkg.sub.c", "pkg.b"},  # "from . import c" is the submodule c
        "pkg.sub.c": {"pkg.b", "pkg"},  # a submodule and a name of the package
    }
    assert find_cycle(import_graph(pkg, "pkg")) == ["pkg.a", "pkg.sub", "pkg.b", "pkg.a"]


def test_package_import_graph_is_acyclic():
    graph = import_graph()
    assert len(graph) > 50 and "nnstructure.cli" in graph
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_aggregations_do_not_read_the_workflow_config():
    # they read their Snakemake inputs, and their labels are params
    graph = import_graph()
    aggregations = [m for m in graph if m.endswith(".aggregate")]
    assert aggregations and all(not any(d == "nnstructure.workflow" or d.startswith("nnstructure.workflow.") for d in graph[m]) for m in aggregations)
