"""The package's import graph, read from the source, follows the layers of the design.

Data flows one way: readers → model → graph → store → crosswalk → uses → CLI. Read as
imports, a module may import its own layer and the layers before it, never one after it
(the readers build the model, so they import it; the graph builder takes models and must not
import the readers); nothing but the CLI imports ``ontomap.cli``; and no two modules import
each other, directly or round about. Imports inside functions count (they still make a
cycle when the function runs); imports under ``if TYPE_CHECKING:`` do not (they never run).
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ontomap"

#: The layers, first to last; a module is in the layer of its longest matching name prefix
#: (``ontomap.readers`` covers ``ontomap.readers.json_reader``). A module of no listed
#: prefix is a use: above the crosswalk and below the CLI.
LAYERS: dict[str, tuple[str, ...]] = {
    # what every stage shares: errors, vocabulary, code systems, the typed model
    "foundation": (
        "ontomap",
        "ontomap.errors",
        "ontomap.vocab",
        "ontomap._vocabulary",
        "ontomap.namespaces",
        "ontomap.resources",
        "ontomap.ntriples",
        "ontomap.terminology",
        "ontomap.lexical",
        "ontomap.progress",
        "ontomap.atomic",
        "ontomap.model",
        "ontomap.checks",
        "ontomap.sources",
        "ontomap.formats",
    ),
    "readers": ("ontomap.readers",),
    # the graph builder and the writers of a built graph (they read a KnowledgeGraph only)
    "graph": ("ontomap.graph", "ontomap.exporters"),
    "store": ("ontomap.store", "ontomap.generations", "ontomap.sparql", "ontomap.backends"),
    "crosswalk": ("ontomap.crosswalk",),
    "uses": (),
    "cli": ("ontomap.cli", "ontomap.__main__"),
}
ORDER = list(LAYERS)
#: Layers of the same rank that must not import each other.
SIBLINGS = {"readers": "graph", "graph": "readers"}
RANK = {"foundation": 0, "readers": 1, "graph": 1, "store": 2, "crosswalk": 3, "uses": 4, "cli": 5}

#: Imports against the layers that are still to be moved, each with the move that ends it.
#: Every other import is checked; :func:`test_each_pending_import_is_still_there` fails once
#: one of these is gone, so that it leaves this list too.
PENDING: dict[tuple[str, str], str] = {
    ("ontomap.store", "ontomap.crosswalk"): (
        "Store.load updates the materialised crosswalk (CrosswalkUpdate); the caller that "
        "loads (build, api) should run the update around the load instead"
    ),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(source: str, name: str, is_package: bool, known: set[str]) -> set[str]:
    """The ``ontomap`` modules that the module ``name`` imports (at any depth: in functions,
    class bodies, ``try`` blocks), leaving out what only ``if TYPE_CHECKING:`` imports.
    ``from ontomap.x import y`` imports ``ontomap.x.y`` where that is a module of ``known``."""
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()

    def add(target: str) -> None:
        if target == "ontomap" or target.startswith("ontomap."):
            found.add(target)

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child.test):
                for other in child.orelse:
                    visit_one(other)
                continue
            visit_one(child)

    def visit_one(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            add(module)
            for alias in node.names:
                if f"{module}.{alias.name}" in known:
                    add(f"{module}.{alias.name}")
        visit(node)

    visit(ast.parse(source))
    found.discard(name)
    return found


def import_graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    known = {module_name(path) for path in paths}
    return {
        module_name(path): imports_of(
            path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py", known
        )
        for path in paths
    }


def layer_of(module: str) -> str:
    best, length = "uses", -1
    for layer, prefixes in LAYERS.items():
        for prefix in prefixes:
            matches = module == prefix or module.startswith(prefix + ".")
            if matches and len(prefix) > length and (prefix != "ontomap" or module == prefix):
                best, length = layer, len(prefix)
    return best


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


# ------------------------------------------------------------------ the reader of imports


def test_the_reader_counts_imports_in_functions_and_not_under_type_checking() -> None:
    source = textwrap.dedent(
        """
        from typing import TYPE_CHECKING
        import ontomap.errors
        from . import graph
        from .readers import common
        if TYPE_CHECKING:
            from ontomap.cli import main
        else:
            from ontomap.vocab import OIFM
        class Thing:
            from ontomap.query import run_query as query
        def later():
            try:
                from ontomap.lookup import lookup
            except ImportError:
                pass
        """
    )
    known = {"ontomap.graph", "ontomap.readers.common", "ontomap.readers"}
    assert imports_of(source, "ontomap.store", False, known) == {
        "ontomap",
        "ontomap.errors",
        "ontomap.graph",
        "ontomap.readers",
        "ontomap.readers.common",
        "ontomap.vocab",
        "ontomap.query",
        "ontomap.lookup",
    }


def test_cycles_are_found_round_about_and_not_in_a_chain() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_layers_are_given_by_the_longest_prefix() -> None:
    assert layer_of("ontomap") == "foundation"
    assert layer_of("ontomap.readers.json_reader") == "readers"
    assert layer_of("ontomap.cli.lookup") == "cli"
    assert layer_of("ontomap.lookup") == "uses"  # not listed: a use
    assert layer_of("ontomap.storehouse") == "uses"  # a prefix is a whole name


# ------------------------------------------------------------------ the package


@pytest.fixture(scope="module")
def whole() -> dict[str, set[str]]:
    found = import_graph()
    assert "ontomap.store" in found and "ontomap.cli" in found  # the package was read
    return found


@pytest.fixture(scope="module")
def graph(whole: dict[str, set[str]]) -> dict[str, set[str]]:
    """The import graph without the :data:`PENDING` imports."""
    return {
        module: {target for target in targets if (module, target) not in PENDING}
        for module, targets in whole.items()
    }


def test_each_pending_import_is_still_there(whole: dict[str, set[str]]) -> None:
    gone = [edge for edge in PENDING if edge[1] not in whole.get(edge[0], set())]
    assert gone == [], "moved: remove them from PENDING"


def test_no_module_imports_a_later_layer(graph: dict[str, set[str]]) -> None:
    wrong = [
        f"{module} ({layer_of(module)}) imports {target} ({layer_of(target)})"
        for module, targets in sorted(graph.items())
        for target in sorted(targets)
        if RANK[layer_of(target)] > RANK[layer_of(module)]
    ]
    assert wrong == []


def test_the_readers_and_the_graph_builder_do_not_import_each_other(
    graph: dict[str, set[str]],
) -> None:
    wrong = [
        f"{module} imports {target}"
        for module, targets in sorted(graph.items())
        for target in sorted(targets)
        if SIBLINGS.get(layer_of(module)) == layer_of(target)
    ]
    assert wrong == []


def test_nothing_but_the_cli_imports_the_cli(graph: dict[str, set[str]]) -> None:
    wrong = [
        f"{module} imports {target}"
        for module, targets in sorted(graph.items())
        if layer_of(module) != "cli"
        for target in sorted(targets)
        if layer_of(target) == "cli"
    ]
    assert wrong == []


def test_there_is_no_import_cycle(graph: dict[str, set[str]]) -> None:
    assert cycles(graph) == []


def test_the_store_imports_nothing_that_queries_it(graph: dict[str, set[str]]) -> None:
    # the cycle once seen: store → query/lookup (class-body imports) → backends → store
    assert not graph["ontomap.store"] & {"ontomap.query", "ontomap.lookup", "ontomap.backends"}
