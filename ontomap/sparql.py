"""SPARQL answers and errors, as every backend gives them: the result types of a query
(:class:`SelectResult`, :class:`AskResult`, :class:`GraphResult`), the :class:`QueryError`
hierarchy, and Oxigraph's errors translated into it (:func:`query_error`).

They sit beside the store, below everything that runs queries (:mod:`ontomap.backends`,
:mod:`ontomap.crosswalk`, :mod:`ontomap.query`, :mod:`ontomap.lookup`), so that data flows one
way; :mod:`ontomap.query` re-exports them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from typing import BinaryIO, ClassVar, Literal, TypeAlias

import pyoxigraph as ox

from ontomap.errors import ExitCode, OntomapError
from ontomap.formats import Format, FormatRegistry, LazyImport
from ontomap.graph import KnowledgeGraph
from ontomap.vocab import XSD_NS

__all__ = [
    "GRAPH_FORMATS",
    "RESULT_FORMATS",
    "UPDATE_KEYWORDS",
    "AskResult",
    "GraphResult",
    "QueryError",
    "QueryFormError",
    "QueryParameterError",
    "QueryResult",
    "QuerySyntaxError",
    "SelectResult",
    "Term",
    "UpdateRefusedError",
    "leading_keyword",
    "query_error",
    "sparql_text",
]

#: An RDF term as pyoxigraph gives it (pyoxigraph has no class of its own for the union).
Term: TypeAlias = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple


def sparql_text(package: str, name: str) -> str:
    """The text of the query file ``name`` (``*.rq``) shipped in ``package`` beside the code
    that runs it; read once by each caller at import (the wheel carries the files)."""
    return resources.files(package).joinpath(name).read_text(encoding="utf-8")


#: SELECT/ASK output formats written by Oxigraph (W3C SPARQL 1.1 Query Results), in the order
#: the SPARQL endpoint prefers them (:mod:`ontomap.server.formats`); the handler is Oxigraph's
#: format. The second media type of JSON and XML is the generic one clients also send.
RESULT_FORMATS: FormatRegistry[Format[ox.QueryResultsFormat]] = FormatRegistry(
    [
        Format(
            "json",
            ox.QueryResultsFormat.JSON,
            (".srj",),
            ("application/sparql-results+json", "application/json"),
            ("srj", "sparql-results+json"),
            "SPARQL 1.1 Query Results JSON",
        ),
        Format(
            "xml",
            ox.QueryResultsFormat.XML,
            (".srx",),
            ("application/sparql-results+xml", "application/xml"),
            ("srx", "sparql-results+xml", "text/xml"),
            "SPARQL Query Results XML",
        ),
        Format(
            "csv",
            ox.QueryResultsFormat.CSV,
            (".csv",),
            ("text/csv",),
            description="SPARQL 1.1 Query Results CSV (values only)",
        ),
        Format(
            "tsv",
            ox.QueryResultsFormat.TSV,
            (".tsv",),
            ("text/tab-separated-values",),
            description="SPARQL 1.1 Query Results TSV (terms in Turtle syntax)",
        ),
    ]
)

#: Writes a graph as ``write(graph, binary_handle)``.
GraphWriter = Callable[[KnowledgeGraph, BinaryIO], object]

#: CONSTRUCT/DESCRIBE output formats (written like ``ontomap export``: sorted, fixed prefixes);
#: the writers are the exporters', imported on first use.
GRAPH_FORMATS: FormatRegistry[Format[LazyImport[GraphWriter]]] = FormatRegistry(
    [
        Format(
            "turtle",
            LazyImport("ontomap.exporters.rdf", "write_turtle"),
            (".ttl", ".turtle"),
            ("text/turtle", "application/x-turtle"),
            ("ttl",),
            "Turtle, grouped by subject, only the prefixes used",
        ),
        Format(
            "ntriples",
            LazyImport("ontomap.exporters.rdf", "write_ntriples"),
            (".nt",),
            ("application/n-triples",),
            ("nt", "n-triples"),
            "N-Triples, one triple per line, lines sorted",
        ),
    ]
)

# ------------------------------------------------------------------ errors


class QueryError(OntomapError):
    """A query that cannot be run."""

    exit_code = ExitCode.USAGE

    exit_code = ExitCode.USAGE


class QuerySyntaxError(QueryError):
    """The query is not valid SPARQL; ``line`` and ``column`` are 1-based."""

    def __init__(self, source: str, line: int, column: int, reason: str, text: str) -> None:
        self.source = source
        self.line = line
        self.column = column
        self.reason = reason
        lines = text.split("\n")  # as Oxigraph counts lines (not str.splitlines)
        excerpt = ""
        if 1 <= line <= len(lines):
            gutter = f"{line:4d} | "
            shown = lines[line - 1].removesuffix("\r")
            excerpt = f"\n{gutter}{shown}\n{' ' * (len(gutter) - 2)}| {' ' * (column - 1)}^"
        super().__init__(
            f"SPARQL syntax error at line {line}, column {column} of {source}: {reason}{excerpt}"
        )


class UpdateRefusedError(QueryError):
    """A SPARQL UPDATE: ``ontomap query`` only reads."""

    def __init__(self, keyword: str) -> None:
        self.keyword = keyword
        super().__init__(
            f"{keyword} is a SPARQL update; queries are read-only "
            "(change a store with 'ontomap build')"
        )


class QueryParameterError(QueryError):
    """A parameter that the query does not take, a missing one, or a bad value."""


class QueryFormError(QueryError):
    """A query of another form than the caller asked for (e.g. ASK given to :func:`select`)."""


# ------------------------------------------------------------------ results


@dataclass(frozen=True)
class SelectResult:
    """The solutions of a SELECT query.

    ``data`` holds them as W3C SPARQL 1.1 Query Results JSON, as Oxigraph wrote them;
    :attr:`rows` decodes them on first use, and :meth:`serialize` re-serialises them with
    Oxigraph (JSON is returned as is).
    """

    form: ClassVar[Literal["select"]] = "select"
    variables: tuple[str, ...]
    data: bytes = field(repr=False)

    @classmethod
    def from_rows(
        cls, variables: Sequence[str], rows: Iterable[Sequence[Term | None]]
    ) -> SelectResult:
        """Solutions given as rows of terms in ``variables`` order (``None``: unbound)."""
        names = tuple(variables)
        bindings = [
            {
                name: _json_term(term)
                for name, term in zip(names, row, strict=True)
                if term is not None
            }
            for row in rows
        ]
        document = {"head": {"vars": list(names)}, "results": {"bindings": bindings}}
        return cls(names, json.dumps(document, ensure_ascii=False).encode())

    @cached_property
    def rows(self) -> tuple[tuple[Term | None, ...], ...]:
        """The solutions, each a tuple of terms in :attr:`variables` order (``None`` unbound)."""
        solutions = ox.parse_query_results(self.data, format=ox.QueryResultsFormat.JSON)
        return tuple(tuple(solution) for solution in solutions)  # type: ignore[arg-type]

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[tuple[Term | None, ...]]:
        return iter(self.rows)

    def dicts(self) -> list[dict[str, Term]]:
        """The solutions as ``{variable: term}`` dicts (unbound variables left out)."""
        return [
            {name: term for name, term in zip(self.variables, row, strict=True) if term is not None}
            for row in self.rows
        ]

    def serialize(self, fmt: str) -> bytes:
        """The results in a :data:`RESULT_FORMATS` format, written by Oxigraph."""
        return _serialize_results(self.data, fmt)


@dataclass(frozen=True)
class AskResult:
    """The answer of an ASK query."""

    form: ClassVar[Literal["ask"]] = "ask"
    value: bool
    data: bytes = field(repr=False)

    def __bool__(self) -> bool:
        return self.value

    def serialize(self, fmt: str) -> bytes:
        """The answer in a :data:`RESULT_FORMATS` format, written by Oxigraph."""
        return _serialize_results(self.data, fmt)


@dataclass(frozen=True)
class GraphResult:
    """The triples of a CONSTRUCT or DESCRIBE query, as a :class:`KnowledgeGraph`."""

    form: ClassVar[Literal["graph"]] = "graph"
    graph: KnowledgeGraph

    def __len__(self) -> int:
        return len(self.graph)

    def serialize(self, fmt: str) -> bytes:
        """The triples as ``turtle`` or ``ntriples`` (sorted; Turtle declares only the
        prefixes it uses), like ``ontomap export``; ``fmt`` is a :data:`GRAPH_FORMATS`
        spelling."""
        import io

        found = GRAPH_FORMATS.find(fmt)
        if found is None:
            raise QueryFormError(
                f"a CONSTRUCT or DESCRIBE result is written as {' or '.join(GRAPH_FORMATS)}, "
                f"not {fmt}"
            )
        buffer = io.BytesIO()
        found.handler.load()(self.graph, buffer)
        return buffer.getvalue()


def _json_term(term: Term) -> dict[str, object]:
    """A term as W3C SPARQL 1.1 Query Results JSON (with RDF 1.2 triple terms)."""
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        found: dict[str, object] = {"type": "literal", "value": term.value}
        if term.language:
            found["xml:lang"] = term.language
        elif term.datatype.value != XSD_NS + "string":
            found["datatype"] = term.datatype.value
        return found
    if isinstance(term, ox.Triple):
        parts = {"subject": term.subject, "predicate": term.predicate, "object": term.object}
        return {"type": "triple", "value": {k: _json_term(v) for k, v in parts.items()}}
    raise TypeError(f"not an RDF term: {term!r}")


#: What :func:`run_query` returns; tell the kinds apart by ``form`` or ``isinstance``.
QueryResult = SelectResult | AskResult | GraphResult


def _serialize_results(data: bytes, fmt: str) -> bytes:
    found = RESULT_FORMATS.find(fmt)
    if found is None:
        raise QueryFormError(
            f"SELECT and ASK results are written as {', '.join(RESULT_FORMATS)}, not {fmt}"
        )
    if found.handler == ox.QueryResultsFormat.JSON:
        return data
    parsed = ox.parse_query_results(data, format=ox.QueryResultsFormat.JSON)
    return parsed.serialize(format=found.handler)  # type: ignore[union-attr,return-value]


# ------------------------------------------------------------------ running

#: First keywords of SPARQL 1.1 Update operations (refused by queries).
UPDATE_KEYWORDS = frozenset(
    {"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "ADD", "MOVE", "COPY", "WITH"}
)
_PROLOGUE = re.compile(
    r"\s+|#[^\n]*|PREFIX\s+[\w.-]*:\s*<[^>]*>|BASE\s*<[^>]*>", re.IGNORECASE | re.ASCII
)


def leading_keyword(text: str) -> str | None:
    """The first keyword after the prologue (comments, PREFIX and BASE), upper-cased."""
    position = 0
    while True:
        match = _PROLOGUE.match(text, position)
        if match is None or match.end() == position:
            break
        position = match.end()
    word = re.match(r"[A-Za-z]+", text[position:])
    return word.group(0).upper() if word else None


_SYNTAX = re.compile(r"error at (\d+):(\d+): (.*)", re.DOTALL)


def query_error(
    exc: Exception, text: str, prefix_map: Mapping[str, str], source: str = "<query>"
) -> QueryError:
    """Oxigraph's error for a query as ours: a :class:`QuerySyntaxError` with line and column
    (an unknown prefix named, with the pre-declared ones listed), a
    :class:`QueryParameterError` for a bound variable the query does not select, else a
    :class:`QueryError`.

    The exception's type tells the kinds apart (pyoxigraph 0.5 raises ``SyntaxError`` for a
    query it cannot parse, ``RuntimeError`` for one it cannot evaluate, ``OSError`` for a
    store it cannot read, which the backends turn into a
    :class:`~ontomap.errors.StoreError`). What the type does not carry is read from the
    message, here alone: the line and column of a syntax error (``error at L:C: ...``; the
    ``SyntaxError`` has no ``lineno``), an unknown prefix, and the unselected variable of a
    substitution (pyoxigraph has no exception class for these).
    """
    message = str(exc)
    if not isinstance(exc, SyntaxError):
        if isinstance(exc, RuntimeError) and "projection" in message:
            variable = re.search(r"\?(\w+)", message)
            name = variable.group(1) if variable else "?"
            return QueryParameterError(
                f"cannot bind parameter {name!r}: ?{name} must be a variable the query "
                "selects (add it to the SELECT clause)"
            )
        return QueryError(f"the query failed: {message}")
    match = _SYNTAX.match(message)
    if match is None:
        return QuerySyntaxError(source, 1, 1, message, text)
    line, column, reason = int(match.group(1)), int(match.group(2)), match.group(3)
    if "Prefix not found" in reason:
        lines = text.split("\n")
        before = lines[line - 1][: column - 1] if 1 <= line <= len(lines) else ""
        name = re.search(r"([A-Za-z][\w.-]*)?:[\w.-]*$", before)
        prefix = (name.group(1) or "") if name else "?"
        if name is not None:
            column = name.start() + 1
        reason = (
            f"unknown prefix '{prefix}:'; declare it (PREFIX {prefix}: <...>) or use one of "
            f"the pre-declared prefixes: {', '.join(sorted(prefix_map))}"
        )
    else:
        reason = " ".join(reason.split())
        if len(reason) > 300:
            reason = reason[:299] + "…"
    return QuerySyntaxError(source, line, column, reason, text)
