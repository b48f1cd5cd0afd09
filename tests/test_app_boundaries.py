"""Who may import whom, read from the source with `ast` (nothing is imported):
`fellowships` stands alone, the modules of both apps form no import cycle
(function-level imports count: they run too), HTML views do not import API
modules, and tests import neither bench code nor other test modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Edges of cycles being removed on other branches right now; the lead empties
# these at merge. Each is (importer, imported). Nothing else may close a cycle.
# None left: history_revert moved to services and locks.py imports no write
# service (wt/import), so services -> history -> feeds.locks -> services is gone.
KNOWN_CYCLE_EDGES: frozenset[tuple[str, str]] = frozenset()
# Non-API modules that import meetings.api today; the lead's rewrite of the
# read path removes them. Each is (importer, imported).
KNOWN_API_IMPORTS: frozenset[tuple[str, str]] = frozenset()
# The one module tests share besides conftest.py (which nothing imports): the builders.
SHARED_TEST_MODULES = frozenset({"tests.factories"})


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules_of(*packages: str) -> dict[str, Path]:
    return {module_name(path): path for package in packages for path in sorted((ROOT / package).rglob("*.py"))}


def imported_names(path: Path) -> list[tuple[str, int]]:
    """Every name an import statement anywhere in the file reaches (module
    level, inside functions, under conditions): `from a.b import c` gives
    `a.b` and `a.b.c` (c may be a module), each with its line."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}:{node.lineno}: relative import; the checks below read absolute names"
            names.append((node.module, node.lineno))
            names += [(f"{node.module}.{alias.name}", node.lineno) for alias in node.names]
    return names


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the modules of `modules` it imports."""
    graph = {}
    for name, path in modules.items():
        targets = set()
        for imported, _ in imported_names(path):
            # The longest known module the name starts with: `meetings.feeds.locks.FEED_FIELDS` -> `meetings.feeds.locks`.
            parts = imported.split(".")
            for end in range(len(parts), 0, -1):
                if ".".join(parts[:end]) in modules:
                    targets.add(".".join(parts[:end]))
                    break
        graph[name] = targets - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path that ends where it starts, or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return path[path.index(node):] + [node]
        if node in done:
            return None
        for target in sorted(graph.get(node, ())):
            found = visit(target, path + [node])
            if found:
                return found
        done.add(node)
        return None

    for start in sorted(graph):
        found = visit(start, [])
        if found:
            return found
    return None


def without(graph: dict[str, set[str]], edges) -> dict[str, set[str]]:
    return {name: {t for t in targets if (name, t) not in edges} for name, targets in graph.items()}


def test_fellowships_imports_nothing_from_meetings():
    found = [
        f"{path.relative_to(ROOT)}:{line}: {imported}"
        for path in modules_of("fellowships").values()
        for imported, line in imported_names(path)
        if imported == "meetings" or imported.startswith("meetings.")
    ]
    assert found == []


def test_the_apps_import_graph_has_no_cycle():
    graph = import_graph(modules_of("meetings", "fellowships"))
    assert find_cycle(without(graph, KNOWN_CYCLE_EDGES)) is None


def test_known_cycle_edges_still_exist_and_are_all_that_close_a_cycle():
    """The allow-list holds only edges that exist (remove each as its cycle
    goes), and each of them is really part of a cycle."""
    graph = import_graph(modules_of("meetings", "fellowships"))
    for edge in KNOWN_CYCLE_EDGES:
        importer, imported = edge
        assert imported in graph[importer], f"{edge} is gone: remove it from KNOWN_CYCLE_EDGES"
        assert find_cycle(without(graph, KNOWN_CYCLE_EDGES - {edge})) is not None, f"{edge} closes no cycle"


def test_cycle_finder_sees_function_level_imports(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "a.py").write_text("from pkg import b\n")
    (package / "b.py").write_text("def later():\n    from pkg.c import thing\n")
    (package / "c.py").write_text("import pkg.a\nthing = 1\n")
    modules = {f"pkg.{name}": package / f"{name}.py" for name in "abc"}
    assert import_graph(modules) == {"pkg.a": {"pkg.b"}, "pkg.b": {"pkg.c"}, "pkg.c": {"pkg.a"}}
    assert find_cycle(import_graph(modules)) == ["pkg.a", "pkg.b", "pkg.c", "pkg.a"]
    (package / "c.py").write_text("thing = 1\n")
    assert find_cycle(import_graph(modules)) is None


def test_only_the_api_imports_api_modules():
    modules = modules_of("meetings")
    graph = import_graph(modules)
    found = {
        (name, target)
        for name, targets in graph.items()
        if not (name == "meetings.api" or name.startswith("meetings.api."))
        for target in targets
        if target == "meetings.api" or target.startswith("meetings.api.")
    }
    assert found - KNOWN_API_IMPORTS == set()
    assert KNOWN_API_IMPORTS <= found, "an allowed import is gone: remove it from KNOWN_API_IMPORTS"


@pytest.mark.parametrize("path", sorted((ROOT / "tests").glob("*.py")), ids=lambda path: path.name)
def test_tests_import_neither_bench_nor_other_test_modules(path):
    found = [
        f"{path.name}:{line}: {imported}"
        for imported, line in imported_names(path)
        if imported.split(".")[0] == "bench"
        or (imported.startswith("tests.") and ".".join(imported.split(".")[:2]) not in SHARED_TEST_MODULES)
    ]
    assert found == []
