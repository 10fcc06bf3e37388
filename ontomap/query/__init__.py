"""SPARQL over a store: free queries and a library of named, documented ones.

>>> from ontomap.store import Store
>>> from ontomap.query import named_query, run_query
>>> with Store("./kg", read_only=True) as store:  # doctest: +SKIP
...     result = run_query(store, named_query("findings-with-code"), {"code": "RADLEX:RID5791"})
...     len(result.rows)
1994

Queries run on a :class:`~ontomap.backends.SparqlBackend`: the store's Oxigraph database
(pass a :class:`~ontomap.store.Store`) or a remote SPARQL 1.1 endpoint
(:class:`~ontomap.backends.RemoteBackend`), with the same answers. The default graph is the
union of the store's graphs: one named
graph per finding model, the codes graph, and the bookkeeping graph (``oifm:SourceRecord``
resources naming each model's source file, in ``<https://w3id.org/ontomap/graph/_meta>``).
A triple held by several graphs (a code's display, repeated in each model that uses it) is
seen once per graph: use DISTINCT where that matters. The standard prefixes
(:func:`prefixes`: ``oifm``, ``rdfs``, ``skos``, ``radlex``, ``sct``, ``loinc``, ``gamuts``,
``fm``...) are pre-declared by the engine, so a query may use them without PREFIX lines; a
query's own PREFIX declarations win.

Parameters are bound by the engine (SPARQL 1.1 substitution, SEP-0007; on a remote endpoint a
VALUES block written from the RDF terms): a parameter replaces a variable that the query
*selects*, so ``SELECT ?code ...`` can take ``code``. No text is ever pasted into a query: a
value such as ``"} ; DROP ALL ; {"`` is just a string that matches nothing. Updates are
refused: a store is changed through ``ontomap build`` (or ``ontomap push`` for an endpoint).

The result type depends on the query form, never on a flag: :class:`SelectResult`,
:class:`AskResult` or :class:`GraphResult` (CONSTRUCT and DESCRIBE), each with a ``form``
discriminant; :func:`select`, :func:`ask` and :func:`construct` return one type or raise.

Named queries are the ``*.rq`` files of this package. Each starts with a comment header::

    # name: code-pairs
    # description: Co-indexed code pairs between two code systems ...
    # param: source (system, default RADLEX) the first code system
    # param: code (code, required) the code ...
    # example: ontomap query --name code-pairs --param source=RADLEX

Continuation lines start with ``#`` and at least two spaces. Parameter types are the keys of
:data:`PARAM_TYPES`; a parameter is ``required``, ``optional`` (left unbound: matches all) or
has a ``default``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox

from ontomap.graph import KnowledgeGraph, known_prefixes
from ontomap.lookup import parse_code
from ontomap.namespaces import Compactor
from ontomap.sparql import (
    GRAPH_FORMATS,
    RESULT_FORMATS,
    UPDATE_KEYWORDS,
    AskResult,
    GraphResult,
    QueryError,
    QueryFormError,
    QueryParameterError,
    QueryResult,
    QuerySyntaxError,
    SelectResult,
    Term,
    UpdateRefusedError,
    leading_keyword,
    query_error,
)
from ontomap.terminology import default_registry
from ontomap.vocab import DEFAULT_BASE_IRI, XSD_NS

if TYPE_CHECKING:
    from ontomap.backends import SparqlBackend
    from ontomap.store import Store

__all__ = [
    "GRAPH_FORMATS",
    "PARAM_TYPES",
    "RESULT_FORMATS",
    "UPDATE_KEYWORDS",
    "AskResult",
    "GraphResult",
    "NamedQuery",
    "QueryError",
    "QueryFormError",
    "QueryParam",
    "QueryParameterError",
    "QueryResult",
    "QuerySyntaxError",
    "SelectResult",
    "UnknownQueryError",
    "UpdateRefusedError",
    "ask",
    "compact",
    "construct",
    "format_table",
    "leading_keyword",
    "load_query",
    "named_queries",
    "named_query",
    "parse_query",
    "prefixes",
    "query_error",
    "render_term",
    "run_query",
    "select",
    "table_compactor",
]

QUERY_DIR = Path(__file__).resolve().parent

# ------------------------------------------------------------------ errors


class UnknownQueryError(QueryError):
    """No named query by that name."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = known
        super().__init__(
            f"no named query {name!r}; known: {', '.join(known)} (see 'ontomap query --list')"
        )


# ------------------------------------------------------------------ parameters


def _code_term(value: str) -> Term:
    return ox.NamedNode(parse_code(value).iri)


def _system_term(value: str) -> Term:
    return ox.NamedNode(default_registry().get(value).scheme_iri)


def _integer_term(value: str) -> Term:
    try:
        return ox.Literal(str(int(value)), datatype=ox.NamedNode(XSD_NS + "integer"))
    except ValueError:
        raise QueryParameterError(f"expected an integer, got {value!r}") from None


def _iri_term(value: str) -> Term:
    try:
        return ox.NamedNode(value.strip().removeprefix("<").removesuffix(">"))
    except ValueError as exc:
        raise QueryParameterError(f"{value!r} is not an IRI: {exc}") from None


#: Parameter types of named queries: how a ``--param`` value becomes an RDF term.
#: ``code`` accepts every form :func:`ontomap.lookup.parse_code` does and gives the concept
#: IRI; ``system`` takes a registry key or alias and gives the scheme IRI.
PARAM_TYPES: dict[str, Callable[[str], Term]] = {
    "code": _code_term,
    "system": _system_term,
    "string": ox.Literal,
    "integer": _integer_term,
    "iri": _iri_term,
}


@dataclass(frozen=True, slots=True)
class QueryParam:
    """A declared parameter of a named query: binds the selected variable of the same name."""

    name: str
    type: str
    required: bool = False
    default: str | None = None
    description: str = ""

    def term(self, value: str | Term) -> Term:
        """``value`` as the RDF term to bind (terms pass through unchanged)."""
        if not isinstance(value, str):
            return value
        return PARAM_TYPES[self.type](value)


def _free_term(value: str | Term, prefix_map: Mapping[str, str]) -> Term:
    """A parameter value for a query that declares no parameters: ``<IRI>`` or a CURIE with a
    known prefix gives an IRI, anything else a string literal."""
    if not isinstance(value, str):
        return value
    if value.startswith("<") and value.endswith(">"):
        return _iri_term(value)
    match = re.fullmatch(r"([A-Za-z][\w.-]*):([^\s<>\"{}|^`\\]*)", value)
    if match and match.group(1) in prefix_map and "//" not in value:
        return ox.NamedNode(prefix_map[match.group(1)] + match.group(2))
    return ox.Literal(value)


# ------------------------------------------------------------------ named queries


@dataclass(frozen=True, slots=True)
class NamedQuery:
    """A documented SPARQL query: a shipped ``.rq`` file or one loaded with :func:`load_query`."""

    name: str
    description: str
    text: str
    params: tuple[QueryParam, ...] = ()
    example: str | None = None
    source: str = "<query>"
    #: Whether a comment header documents the query: then it takes exactly ``params``;
    #: otherwise any selected variable may be bound (values typed as for free queries).
    documented: bool = False

    def param(self, name: str) -> QueryParam | None:
        return next((p for p in self.params if p.name == name), None)


_HEADER = re.compile(r"#\s?(name|description|param|example):\s*(.*)")
_CONTINUED = re.compile(r"#\s{2,}(\S.*)")
_PARAM = re.compile(r"(\w+)\s*\(([^)]*)\)\s*(.*)")


def _parse_param(spec: str, source: str) -> QueryParam:
    match = _PARAM.fullmatch(spec)
    if match is None:
        raise QueryError(f"{source}: bad param line {spec!r}; expected 'NAME (TYPE, ...) text'")
    name, options, description = match.groups()
    kind, *flags = [part.strip() for part in options.split(",")]
    if kind not in PARAM_TYPES:
        raise QueryError(
            f"{source}: param {name}: unknown type {kind!r} ({', '.join(PARAM_TYPES)})"
        )
    required, default = False, None
    for flag in flags:
        if flag == "required":
            required = True
        elif flag.startswith("default "):
            default = flag.removeprefix("default ").strip()
        elif flag != "optional":
            raise QueryError(f"{source}: param {name}: unknown option {flag!r}")
    return QueryParam(name, kind, required, default, description.strip())


def parse_query(text: str, name: str, source: str = "<query>") -> NamedQuery:
    """A query with the documentation its comment header gives (see the module doc)."""
    fields: dict[str, list[str]] = {"name": [], "description": [], "param": [], "example": []}
    current: list[str] | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            break
        header = _HEADER.fullmatch(stripped)
        if header is not None:
            current = fields[header.group(1)]
            current.append(header.group(2).strip())
            continue
        continued = _CONTINUED.fullmatch(stripped)
        if continued is not None and current:
            current[-1] = f"{current[-1]} {continued.group(1).strip()}"
        else:
            current = None
    params = tuple(_parse_param(spec, source) for spec in fields["param"])
    return NamedQuery(
        name=fields["name"][0] if fields["name"] else name,
        description=fields["description"][0] if fields["description"] else "",
        text=text,
        params=params,
        example=fields["example"][0] if fields["example"] else None,
        source=source,
        documented=any(fields.values()),
    )


def load_query(path: Path | str) -> NamedQuery:
    """A query from a ``.rq`` file; its comment header (if any) documents and types it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise QueryError(f"cannot read the query file {path}: {exc}") from None
    return parse_query(text, path.stem, str(path))


@cache
def named_queries() -> dict[str, NamedQuery]:
    """The shipped named queries, by name (sorted)."""
    queries = [load_query(path) for path in sorted(QUERY_DIR.glob("*.rq"))]
    return {query.name: query for query in sorted(queries, key=lambda q: q.name)}


def named_query(name: str) -> NamedQuery:
    """The shipped named query called ``name``; raises :class:`UnknownQueryError`."""
    try:
        return named_queries()[name]
    except KeyError:
        raise UnknownQueryError(name, list(named_queries())) from None


# ------------------------------------------------------------------ running


def prefixes(base_iri: str | None = None) -> dict[str, str]:
    """The prefixes pre-declared for queries: ontomap's vocabularies, each registered code
    system (``radlex``, ``sct``, ``loinc``, ``gamuts``...), ``scheme`` and ``fm`` (the base)."""
    return known_prefixes(base_iri or DEFAULT_BASE_IRI)


def _substitutions(
    query: NamedQuery, params: Mapping[str, str | Term], prefix_map: Mapping[str, str]
) -> dict[str, Term]:
    bound: dict[str, Term] = {}
    if query.documented:
        declared = ", ".join(p.name for p in query.params) or "none"
        for name in params:
            if query.param(name) is None:
                raise QueryParameterError(
                    f"{query.name} takes no parameter {name!r}; its parameters: {declared}"
                )
        for param in query.params:
            value = params.get(param.name, param.default)
            if value is None:
                if param.required:
                    raise QueryParameterError(
                        f"{query.name} needs --param {param.name}=... ({param.description})"
                    )
                continue
            bound[param.name] = param.term(value)
    else:
        for name, value in params.items():
            if not re.fullmatch(r"\w+", name):
                raise QueryParameterError(f"bad parameter name {name!r}: use a variable name")
            bound[name] = _free_term(value, prefix_map)
    return bound


def run_query(
    target: Store | SparqlBackend,
    query: str | NamedQuery,
    params: Mapping[str, str | Term] | None = None,
) -> QueryResult:
    """Run a read-only SPARQL query on ``target``: a :class:`~ontomap.store.Store` or any
    :class:`~ontomap.backends.SparqlBackend` (e.g. a remote endpoint).

    ``query`` is SPARQL text or a :class:`NamedQuery`; ``params`` maps variable names to
    values, bound by the engine. A named query converts each value by its declared type
    (a ``code`` parameter takes ``RADLEX:RID5791``...); a query without declarations takes
    ``<IRI>``, ``prefix:local`` (known prefix) or a string. Raises :class:`QuerySyntaxError`,
    :class:`UpdateRefusedError`, :class:`QueryParameterError`, or a
    :class:`~ontomap.lookup.CodeLookupError` for a bad ``code`` parameter; a backend that
    cannot be read raises :class:`~ontomap.errors.StoreError`.
    """
    from ontomap.backends import as_backend

    named = query if isinstance(query, NamedQuery) else NamedQuery("query", "", query)
    keyword = leading_keyword(named.text)
    if keyword in UPDATE_KEYWORDS:
        raise UpdateRefusedError(keyword)  # type: ignore[arg-type]
    backend = as_backend(target)
    prefix_map = prefixes(backend.base_iri)
    bound = _substitutions(named, params or {}, prefix_map)
    try:
        return backend.query(named.text, bound, prefix_map)
    except QuerySyntaxError as exc:  # say where: the query's file or name
        raise QuerySyntaxError(named.source, exc.line, exc.column, exc.reason, named.text) from None


def _expect(result: QueryResult, kind: type, what: str) -> None:
    if not isinstance(result, kind):
        raise QueryFormError(f"expected a {what} query, got a {result.form} query")


def select(
    target: Store | SparqlBackend,
    query: str | NamedQuery,
    params: Mapping[str, str | Term] | None = None,
) -> SelectResult:
    """Run a SELECT query (raises :class:`QueryFormError` for another form)."""
    result = run_query(target, query, params)
    _expect(result, SelectResult, "SELECT")
    return result  # type: ignore[return-value]


def ask(
    target: Store | SparqlBackend,
    query: str | NamedQuery,
    params: Mapping[str, str | Term] | None = None,
) -> bool:
    """Run an ASK query (raises :class:`QueryFormError` for another form)."""
    result = run_query(target, query, params)
    _expect(result, AskResult, "ASK")
    return result.value  # type: ignore[union-attr]


def construct(
    target: Store | SparqlBackend,
    query: str | NamedQuery,
    params: Mapping[str, str | Term] | None = None,
) -> KnowledgeGraph:
    """Run a CONSTRUCT or DESCRIBE query (raises :class:`QueryFormError` for another form)."""
    result = run_query(target, query, params)
    _expect(result, GraphResult, "CONSTRUCT or DESCRIBE")
    return result.graph  # type: ignore[union-attr]


# ------------------------------------------------------------------ table

_PLAIN_DATATYPES = frozenset(
    XSD_NS + name for name in ("string", "integer", "decimal", "double", "boolean", "anyURI")
)
_NUMERIC_DATATYPES = frozenset(XSD_NS + name for name in ("integer", "decimal", "double"))
_LOCAL = re.compile(r"[\w%-]*(?:[\w.%-]*[\w%-])?")


def compact(iri: str, prefix_map: Mapping[str, str] | Compactor) -> str:
    """``iri`` as a CURIE with the longest matching prefix whose local name is plain (word
    characters, ``%``, ``-``, inner dots), else ``<iri>``. Give a :class:`Compactor` built
    with :func:`table_compactor` to compact many IRIs with one prefix map."""
    compactor = prefix_map if isinstance(prefix_map, Compactor) else table_compactor(prefix_map)
    curie = compactor.compact(iri)
    return f"<{iri}>" if curie is None else curie


def table_compactor(prefix_map: Mapping[str, str]) -> Compactor:
    """The compactor of query tables: ``prefix_map`` with the local names of :func:`compact`."""
    return Compactor(prefix_map, _LOCAL)


def render_term(
    term: Term | None, prefix_map: Mapping[str, str] | Compactor, max_width: int = 60
) -> str:
    """A term as one line for a table: IRIs as CURIEs where a prefix fits, else ``<iri>`` cut in
    its namespace to ``max_width`` characters (its last segment, which tells rows apart, stays
    whole); literals by their value (cut at ``max_width``; ``@lang`` or ``^^type`` where not
    plain)."""
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        return _cut_iri(compact(term.value, prefix_map), max_width)
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if not isinstance(term, ox.Literal):
        return str(term)
    text = term.value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")
    if max_width > 1 and len(text) > max_width:
        text = text[: max_width - 1] + "…"
    if term.language:
        return f"{text}@{term.language}"
    if term.datatype.value not in _PLAIN_DATATYPES:
        return f"{text}^^{compact(term.datatype.value, prefix_map)}"
    return text


def _cut_iri(text: str, width: int) -> str:
    """``<iri>`` in ``width`` characters where its last segment leaves room: the namespace cut
    with ``…`` after the scheme and host's first characters (``<http://exa…/RID5791>``); a
    trailing ``/`` belongs to the last segment. Anything else, or too narrow, stays whole."""
    if len(text) <= width or not text.startswith("<"):
        return text  # a CURIE is an identifier: whole
    iri = text[1:-1]
    split = max(iri.rfind("/", 0, len(iri) - 1), iri.rfind("#"))
    room = width - (len(iri) - split) - 3  # "<", "…", ">"
    if split <= 0 or room < 1:
        return text
    return f"<{iri[:room]}…{iri[split:]}>"


def format_table(
    result: SelectResult | AskResult, prefix_map: Mapping[str, str], max_width: int = 60
) -> str:
    """A result as an aligned text table (CURIEs, long literals cut at ``max_width``) ending
    with a row count; an ASK answer as ``true`` or ``false``."""
    if isinstance(result, AskResult):
        return "true" if result.value else "false"
    header = [f"?{name}" for name in result.variables]
    compactor = table_compactor(prefix_map)
    cells = [[render_term(term, compactor, max_width) for term in row] for row in result.rows]
    numeric = [
        bool(result.rows)
        and all(
            row[i] is None
            or (isinstance(row[i], ox.Literal) and row[i].datatype.value in _NUMERIC_DATATYPES)  # type: ignore[union-attr]
            for row in result.rows
        )
        for i in range(len(header))
    ]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(header)]

    def line(values: list[str]) -> str:
        parts = [
            value.rjust(width) if right else value.ljust(width)
            for value, width, right in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out = [line(header), "  ".join("-" * w for w in widths)] if header else []
    out.extend(line(row) for row in cells)
    count = len(cells)
    out.append(f"({count} row{'s' * (count != 1)})")
    return "\n".join(out)
