"""Graph checks (``graph/…``): the SHACL shapes of ``ontologies/shapes.ttl`` on ontomap's graph.

Two engines run the same shapes file:

- ``oxigraph`` (the default): each constraint is compiled to one SPARQL query and run by
  Oxigraph. It handles the SHACL subset the shapes file uses (targets by class; property
  shapes with an IRI or inverse path; sh:minCount, sh:maxCount, sh:datatype, sh:class,
  sh:pattern, sh:minInclusive, sh:maxInclusive, sh:lessThanOrEquals; SHACL-SPARQL
  constraints) and refuses anything else with :class:`UnsupportedShapeError`.
- ``pyshacl``: the reference implementation, for any SHACL. On the full OIFM corpus (334k
  triples) it takes minutes where the compiled queries take about a second; the tests check
  that both engines report the same results.

A result is a :class:`ShaclResult`: the rule (``graph/`` + the shape's local name), severity,
message, the focus node and the offending values.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

import pyoxigraph as ox

from ontomap.errors import OntomapError
from ontomap.namespaces import Term
from ontomap.resources import ontologies_dir
from ontomap.validate.report import Severity
from ontomap.validate.rules import Rule

if TYPE_CHECKING:
    from ontomap.graph import KnowledgeGraph

SH = "http://www.w3.org/ns/shacl#"
SHAPES_NS = "https://w3id.org/ontomap/shapes#"
_RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
_SUBCLASS = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#subClassOf")
_SEVERITIES: dict[str, Severity] = {
    SH + "Violation": "error",
    SH + "Warning": "warning",
    SH + "Info": "info",
}
#: The SHACL engines, by name (the CLI's choices).
ENGINES = ("oxigraph", "pyshacl")

# Predicates of a shape that carry no constraint (or are read separately).
_NOT_CONSTRAINTS = {
    SH + name
    for name in (
        "path",
        "message",
        "severity",
        "name",
        "description",
        "targetClass",
        "property",
        "sparql",
        "order",
        "group",
        "declare",
        "prefixes",
    )
} | {
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#type",
    "http://www.w3.org/2000/01/rdf-schema#label",
    "http://www.w3.org/2000/01/rdf-schema#comment",
}
_VALUE_CONSTRAINTS = {
    "datatype",
    "class",
    "pattern",
    "minInclusive",
    "maxInclusive",
    "lessThanOrEquals",
}


#: The terms a shapes graph is made of (SHACL has no use for RDF-star quoted triples).
_Node: TypeAlias = ox.NamedNode | ox.BlankNode | ox.Literal


class UnsupportedShapeError(OntomapError):
    """A shape uses SHACL the compiled (oxigraph) engine does not handle."""

    def __init__(self, shape: str, construct: str) -> None:
        self.shape = shape
        self.construct = construct
        super().__init__(
            f"shape {shape} uses {construct}, which the oxigraph SHACL engine does not handle; "
            "use the pyshacl engine (--shacl-engine pyshacl), or express it as sh:sparql"
        )


@dataclass(frozen=True, slots=True)
class Shape:
    """A named shape with its constraints, as far as validation needs it."""

    iri: str
    severity: Severity
    message: str
    targets: tuple[str, ...]
    path: str | None = None
    inverse: bool = False
    constraints: tuple[tuple[str, _Node], ...] = ()
    selects: tuple[str, ...] = ()
    #: ``PREFIX`` lines for ``selects`` (the shapes file's sh:declare).
    prefixes: str = ""

    @property
    def rule_id(self) -> str:
        return "graph/" + _local(self.iri)


@dataclass(frozen=True, slots=True)
class ShaclResult:
    """One focus node that breaks one shape (values: the offending values, if any)."""

    rule: str
    severity: Severity
    message: str
    focus: str
    values: tuple[str, ...] = ()


def _local(iri: str) -> str:
    for separator in ("#", "/"):
        if separator in iri:
            iri = iri.rsplit(separator, 1)[1]
    return iri


def default_shapes_path() -> Path:
    """``ontologies/shapes.ttl``."""
    return ontologies_dir() / "shapes.ttl"


class _Index:
    def __init__(self, triples: Iterable[ox.Triple]) -> None:
        self.by: dict[_Node, dict[str, list[_Node]]] = defaultdict(lambda: defaultdict(list))
        for triple in triples:
            subject, obj = triple.subject, triple.object
            if isinstance(subject, ox.Triple) or isinstance(obj, ox.Triple):
                raise UnsupportedShapeError(str(subject), "an RDF-star quoted triple")
            self.by[subject][triple.predicate.value].append(obj)

    def all(self, subject: _Node, predicate: str) -> list[_Node]:
        return self.by.get(subject, {}).get(predicate, [])

    def one(self, subject: _Node, predicate: str) -> _Node | None:
        found = self.all(subject, predicate)
        return found[0] if found else None


@cache
def load_shapes(path: Path | None = None) -> tuple[Shape, ...]:
    """The named shapes of a shapes file (default: ``ontologies/shapes.ttl``), sorted by IRI.

    Property shapes get the targets of the node shapes that use them. Raises
    :class:`OntomapError` for an unnamed shape with constraints (its findings need a rule ID).
    """
    path = path or default_shapes_path()
    index = _Index(ox.parse(path=str(path), format=ox.RdfFormat.TURTLE))
    prefixes = _prefixes(index)
    targets: dict[_Node, list[str]] = defaultdict(list)
    for subject, props in index.by.items():
        classes = [t.value for t in props.get(SH + "targetClass", [])]
        targets[subject].extend(classes)
        for prop in props.get(SH + "property", []):
            targets[prop].extend(classes)
    shape_types = {SH + "NodeShape", SH + "PropertyShape"}
    referenced = {prop for props in index.by.values() for prop in props.get(SH + "property", [])}
    shapes = []
    for subject, props in index.by.items():
        has_path = SH + "path" in props
        typed = any(t.value in shape_types for t in props.get(_RDF_TYPE.value, []))
        if not (typed or has_path or subject in referenced or SH + "targetClass" in props):
            continue  # not a shape: sh:declare, an sh:sparql constraint node, the ontology...
        constraints = [
            (predicate, value)
            for predicate, values in props.items()
            if predicate not in _NOT_CONSTRAINTS and predicate.startswith(SH)
            for value in values
        ]
        sparql = props.get(SH + "sparql", [])
        for unsupported in ("targetNode", "targetSubjectsOf", "targetObjectsOf", "target"):
            if SH + unsupported in props:
                raise UnsupportedShapeError(str(subject), f"sh:{unsupported}")
        if SH + "deactivated" in props or (not has_path and not sparql and not constraints):
            continue
        if not has_path and constraints:
            names = ", ".join(sorted({"sh:" + p.removeprefix(SH) for p, _v in constraints}))
            raise UnsupportedShapeError(str(subject), f"constraints on a node shape ({names})")
        if not isinstance(subject, ox.NamedNode):
            raise OntomapError(f"{path}: every constrained shape must be named (an IRI)")
        path_term = index.one(subject, SH + "path")
        inverse = False
        if isinstance(path_term, ox.BlankNode):
            inner = index.one(path_term, SH + "inversePath")
            if not isinstance(inner, ox.NamedNode):
                raise UnsupportedShapeError(subject.value, "a complex sh:path")
            path_term, inverse = inner, True
        severity_term = index.one(subject, SH + "severity")
        message = index.one(subject, SH + "message")
        selects = []
        for constraint in sparql:
            select = index.one(constraint, SH + "select")
            if select is None:
                raise UnsupportedShapeError(subject.value, "an sh:sparql without sh:select")
            selects.append(select.value)
        shapes.append(
            Shape(
                iri=subject.value,
                severity=_SEVERITIES.get(severity_term.value if severity_term else "", "error"),
                message=message.value if message is not None else _local(subject.value),
                targets=tuple(sorted(set(targets[subject]))),
                path=path_term.value if path_term is not None else None,
                inverse=inverse,
                constraints=tuple(
                    sorted(
                        ((p.removeprefix(SH), v) for p, v in constraints),
                        key=lambda c: (c[0], str(c[1])),
                    )
                ),
                selects=tuple(selects),
                prefixes=prefixes if selects else "",
            )
        )
    return tuple(sorted(shapes, key=lambda s: s.iri))


def _prefixes(index: _Index) -> str:
    """``PREFIX`` lines of every sh:declare in the shapes file."""
    lines = []
    for props in index.by.values():
        for declaration in props.get(SH + "declare", []):
            prefix = index.one(declaration, SH + "prefix")
            namespace = index.one(declaration, SH + "namespace")
            if prefix is not None and namespace is not None:
                lines.append(f"PREFIX {prefix.value}: <{namespace.value}>\n")
    return "".join(sorted(set(lines)))


def graph_rules(path: Path | None = None) -> dict[str, Rule]:
    """A :class:`Rule` per shape of the shapes file (``graph/<local name>``)."""
    return {
        shape.rule_id: Rule(
            shape.rule_id,
            shape.severity,
            shape.message,
            f"the graph breaks shape oifmsh:{_local(shape.iri)} of ontologies/shapes.ttl: "
            "fix the model in the file given",
        )
        for shape in load_shapes(path)
    }


# -- the compiled (oxigraph) engine -----------------------------------------------------------


# Separator of the offending values a compiled query joins into one string (U+001F).
_SEPARATOR = "\x1f"
_SEPARATOR_LITERAL = '"\\u001F"'


def compile_shape(shape: Shape) -> str | None:
    """One SPARQL SELECT whose rows are the focus nodes that break a property shape.

    Each row binds ``?this`` and ``?bads``: the offending values joined by U+001F (empty for a
    count constraint). All constraints of the shape are checked in one pass over its targets:
    sh:minCount and sh:maxCount as a count of the path's values per focus node, the value
    constraints as a test per value. ``None`` for a shape without path or targets.
    """
    if shape.path is None or not shape.targets:
        return None
    target = _target_pattern(shape.targets)
    predicate = str(ox.NamedNode(shape.path))
    step = f"?value {predicate} ?this ." if shape.inverse else f"?this {predicate} ?value ."
    tests, having, optional = [], [], False
    for name, value in shape.constraints:
        if name == "minCount":
            having.append(f"COUNT(DISTINCT ?value) < {int(value.value)}")
            optional = True
        elif name == "maxCount":
            having.append(f"COUNT(DISTINCT ?value) > {int(value.value)}")
        else:
            tests.append(_value_test(shape, name, value))
    pattern = step
    if tests:
        failed = " || ".join(f"({test})" for test in tests)
        pattern += f" BIND (IF({failed}, ?value, ?unbound) AS ?bad)"
        having.append("COUNT(?bad) > 0")
    if optional:
        pattern = f"OPTIONAL {{ {pattern} }}"
    return (
        f'SELECT ?this (GROUP_CONCAT(DISTINCT COALESCE(STR(?bad), ""); '
        f"SEPARATOR={_SEPARATOR_LITERAL}) AS ?bads)"
        f" WHERE {{ {target} {pattern} }} GROUP BY ?this HAVING ({' || '.join(having)})"
    )


def _target_pattern(targets: tuple[str, ...]) -> str:
    """The graph pattern binding ``?this`` to every instance of the target classes."""
    if len(targets) == 1:
        return f"?this {_RDF_TYPE} {ox.NamedNode(targets[0])} ."
    classes = " ".join(str(ox.NamedNode(t)) for t in targets)
    return f"VALUES ?class {{ {classes} }} ?this {_RDF_TYPE} ?class ."


def _value_test(shape: Shape, name: str, value: _Node) -> str:
    """A SPARQL expression true when ``?value`` breaks the constraint ``sh:name value``."""
    if name == "datatype":
        return f"!isLITERAL(?value) || DATATYPE(?value) != {value}"
    if name == "class":
        return f"NOT EXISTS {{ ?value {_RDF_TYPE}/{_SUBCLASS}* {value} }}"
    if name == "pattern":
        return f"isBLANK(?value) || !REGEX(STR(?value), {ox.Literal(value.value)})"
    if name == "minInclusive":
        return f"!COALESCE(?value >= {value}, false)"
    if name == "maxInclusive":
        return f"!COALESCE(?value <= {value}, false)"
    if name == "lessThanOrEquals":
        return f"EXISTS {{ ?this {value} ?other FILTER (!COALESCE(?value <= ?other, false)) }}"
    raise UnsupportedShapeError(shape.iri, f"sh:{name}")


def run_oxigraph(store: ox.Store, shapes: Iterable[Shape]) -> list[ShaclResult]:
    """Run compiled ``shapes`` on a pyoxigraph store's default graph."""
    found: dict[tuple[Shape, str], set[str]] = defaultdict(set)
    for shape in shapes:
        query = compile_shape(shape)
        if query is not None:
            for row in store.query(query):  # type: ignore[union-attr]
                bads = row["bads"]
                values = bads.value.split(_SEPARATOR) if bads is not None else []
                found[(shape, row["this"].value)].update(v for v in values if v)
        if shape.targets:
            target = _target_pattern(shape.targets)
            for select in shape.selects:
                # the constraint's query, joined with the shape's targets (SHACL binds $this
                # to each focus node; here the join does it for all of them at once)
                query = f"{shape.prefixes}SELECT ?this ?value WHERE {{ {target} {{ {select} }} }}"
                for row in store.query(query):  # type: ignore[union-attr]
                    value = _get(row, "value")
                    found[(shape, row["this"].value)].update(
                        [_show(value)] if value is not None else []
                    )
    return _results(found)


def _get(row: ox.QuerySolution, name: str) -> Term | None:
    try:
        return row[name]
    except (KeyError, IndexError):
        return None


def _show(term: Term) -> str:
    return term.value if isinstance(term, ox.NamedNode | ox.Literal) else str(term)


def _results(found: dict[tuple[Shape, str], set[str]]) -> list[ShaclResult]:
    return sorted(
        (
            ShaclResult(shape.rule_id, shape.severity, shape.message, focus, tuple(sorted(values)))
            for (shape, focus), values in found.items()
        ),
        key=lambda r: (r.rule, r.focus),
    )


def store_of(lines: Iterable[str]) -> ox.Store:
    """An in-memory store holding N-Triples ``lines``."""
    store = ox.Store()
    store.bulk_load("".join(lines).encode(), format=ox.RdfFormat.N_TRIPLES)
    return store


# -- the reference (pyshacl) engine -----------------------------------------------------------


def run_pyshacl(graph: KnowledgeGraph, shapes_path: Path | None = None) -> list[ShaclResult]:
    """Run the shapes file with pySHACL on ``graph`` (as an rdflib graph)."""
    try:
        import pyshacl
    except ImportError:  # pragma: no cover - depends on the environment
        raise OntomapError(
            "the pyshacl engine needs pySHACL: pip install 'ontomap[validate]' "
            "(or use --shacl-engine oxigraph)"
        ) from None
    import rdflib

    path = shapes_path or default_shapes_path()
    by_iri = {shape.iri: shape for shape in load_shapes(shapes_path)}
    shapes_graph = rdflib.Graph().parse(str(path), format="turtle")
    _conforms, results, _text = pyshacl.validate(
        graph.to_rdflib(),
        shacl_graph=shapes_graph,
        inference="none",
        advanced=False,
        allow_warnings=True,
    )
    assert isinstance(results, rdflib.Graph)  # pySHACL's results graph (not its text or bytes)
    sh = rdflib.Namespace(SH)
    found: dict[tuple[Shape, str], set[str]] = defaultdict(set)
    for result in results.subjects(rdflib.RDF.type, sh.ValidationResult):
        source = results.value(result, sh.sourceShape)
        shape = by_iri.get(str(source))
        if shape is None:
            raise OntomapError(f"pySHACL reported an unnamed shape {source}; name every shape")
        focus = str(results.value(result, sh.focusNode))
        value = results.value(result, sh.value)
        found[(shape, focus)].update([str(value)] if value is not None else [])
    return _results(found)


def run_shacl(
    engine: str,
    lines: Callable[[], Iterable[str]],
    graph: Callable[[], KnowledgeGraph],
    shapes_path: Path | None = None,
) -> list[ShaclResult]:
    """Run the shapes with ``engine`` on a graph given lazily as N-Triples lines (oxigraph) or
    as a :class:`KnowledgeGraph` (pyshacl)."""
    if engine == "oxigraph":
        return run_oxigraph(store_of(lines()), load_shapes(shapes_path))
    if engine == "pyshacl":
        return run_pyshacl(graph(), shapes_path)
    raise OntomapError(f"unknown SHACL engine {engine!r}; known: {', '.join(ENGINES)}")
