"""Imports go one way: no cycle between files or packages, and each layer imports only below.

Every module under src/argos_cloud is parsed, not imported. Every import counts:
at the top, inside a function (a lazy import is still a dependency, only a later
one), and under `TYPE_CHECKING` (a type names what a module is built on, and mypy
loads the one to check the other; a cycle there is a cycle in meaning). Importing
`a.b.c` also runs the packages `a` and `a.b`, so those count too, unless the
importer is already inside them. Imports made by `importlib` cannot be seen here.

A *unit* is a first-level subpackage (`kinds`, `engine`, `cli`, …) or a
top-level module (`clock`, `waiting`, `discovery`, …); units are the packages of
"no cycle at package level".
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import pytest

import argos_cloud

PACKAGE = Path(argos_cloud.__file__).resolve().parent
ROOT = "argos_cloud"

# What each lower unit may import besides itself: the layers of DESIGN.md §4, lowest
# first. Units above these (discovery, provision, sandbox, workflows, cli, and wherever
# build_plan lands) are held by the cycle tests and the rules after this table.
VALUES = frozenset({"errors", "secret", "clock"})
MAY_IMPORT: Mapping[str, frozenset[str]] = {
    "errors": frozenset(),
    "secret": frozenset(),
    "clock": frozenset(),
    "processes": frozenset(),
    "waiting": frozenset({"clock", "errors"}),
    "config": VALUES,
    "plan": VALUES | {"config"},
    "model": VALUES | {"config", "plan"},
    "aws": VALUES | {"config", "model", "waiting", "processes"},
    "engine": VALUES | {"config", "model", "plan", "waiting", "processes"},
    "kinds": VALUES | {"config", "model", "plan", "aws", "waiting", "processes"},
    "sandbox": VALUES | {"aws", "waiting", "processes"},
}
# Files held tighter than their unit: plain values every layer passes around.
FILE_MAY_IMPORT: Mapping[str, frozenset[str]] = {
    "argos_cloud.plan.types": VALUES,
}
# Third-party packages only one unit may import.
OWNED_BY = {"boto3": "aws", "botocore": "aws"}


def module_files() -> dict[str, tuple[Path, bool]]:
    """Module name → (file, is a package), for every .py inside a package of ours.

    Folders without `__init__.py` (the Jinja templates under templates/) hold data.
    """
    out: dict[str, tuple[Path, bool]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        folders = path.relative_to(PACKAGE).parents
        if not all((PACKAGE / folder / "__init__.py").is_file() for folder in folders):
            continue
        parts = [ROOT, *path.relative_to(PACKAGE).with_suffix("").parts]
        is_package = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return out


def imported_names(module: str, path: Path, is_package: bool) -> Iterator[str]:
    """Every dotted name `module` imports, anywhere in its file, relative ones resolved."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = module.split(".") if is_package else module.split(".")[:-1]
                here = here[:len(here) - node.level + 1]
                base = ".".join([*here, *([node.module] if node.module else [])])
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def ancestors(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def file_graph() -> dict[str, set[str]]:
    """Module → the modules of ours it imports (and the packages importing them runs)."""
    modules = module_files()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, (path, is_package) in modules.items():
        inside = {name, *ancestors(name)}
        for imported in imported_names(name, path, is_package):
            target = imported
            while target and target not in modules:  # `from pkg import name` of a value
                target = target.rpartition(".")[0]
            if not target:
                continue
            graph[name].update(t for t in (target, *ancestors(target)) if t not in inside)
    return graph


def third_party(graph_modules: Iterable[str]) -> dict[str, set[str]]:
    """Module → the first names of outside packages it imports."""
    modules = module_files()
    return {name: {imported.split(".")[0]
                   for imported in imported_names(name, *modules[name])
                   if imported and imported.split(".")[0] != ROOT}
            for name in graph_modules}


def unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ROOT


def unit_graph(graph: Mapping[str, set[str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for name, targets in graph.items():
        out.setdefault(unit(name), set()).update(
            unit(t) for t in targets if unit(t) != unit(name))
    return out


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Each group of nodes that reach one another (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def explain(graph: Mapping[str, set[str]], group: list[str]) -> str:
    members = set(group)
    edges = [f"{a} -> {b}" for a in group for b in sorted(graph.get(a, ())) if b in members]
    return "\n  ".join(edges)


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return file_graph()


def test_no_file_imports_itself_back(graph: dict[str, set[str]]) -> None:
    found = cycles(graph)
    assert not found, "import cycles between files:\n  " + "\n\n  ".join(
        explain(graph, group) for group in found)


def test_no_package_imports_itself_back(graph: dict[str, set[str]]) -> None:
    units = unit_graph(graph)
    found = cycles(units)
    assert not found, "import cycles between packages:\n  " + "\n\n  ".join(
        explain(units, group) for group in found)


def test_each_lower_layer_imports_only_below_it(graph: dict[str, set[str]]) -> None:
    wrong = []
    for name, targets in sorted(graph.items()):
        allowed = FILE_MAY_IMPORT.get(name, MAY_IMPORT.get(unit(name)))
        if allowed is None:
            continue
        own = {name} if name in FILE_MAY_IMPORT else {unit(name)}
        wrong += [f"{name} -> {t}" for t in sorted(targets)
                  if unit(t) not in allowed | own | {ROOT}]
    assert not wrong, "imports up the layers:\n  " + "\n  ".join(wrong)


def test_nothing_imports_the_cli_and_workflows_stay_above_the_rest(
        graph: dict[str, set[str]]) -> None:
    wrong = [f"{name} -> {t}" for name, targets in sorted(graph.items())
             for t in sorted(targets)
             if (unit(t) == "cli" and unit(name) not in ("cli", "__main__"))
             or (unit(t) == "workflows" and unit(name) not in ("workflows", "cli"))]
    assert not wrong, "imports of cli/ or workflows/ from below:\n  " + "\n  ".join(wrong)


def test_boto3_is_imported_only_in_aws(graph: dict[str, set[str]]) -> None:
    wrong = [f"{name} imports {package}"
             for name, packages in sorted(third_party(graph).items())
             for package in sorted(packages)
             if package in OWNED_BY and unit(name) != OWNED_BY[package]]
    assert not wrong, "\n".join(wrong)


def test_the_walk_sees_lazy_and_type_only_imports_and_finds_a_cycle() -> None:
    """The walker itself: what it must count, on a made-up graph and on our own files."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    whole = file_graph()
    # a lazy import inside a function (kinds load boto3 only when called)
    assert "argos_cloud.waiting" in whole["argos_cloud.kinds.instance"]
    # a type-only import under TYPE_CHECKING
    assert "argos_cloud.aws.session" in whole["argos_cloud.workflows.session"]
    # importing a submodule runs its package: sandbox/__init__ is run by its users
    assert "argos_cloud.sandbox" in whole["argos_cloud.workflows.session"]
    assert "argos_cloud.templates" not in {unit(m) for m in whole}  # Jinja, not Python
