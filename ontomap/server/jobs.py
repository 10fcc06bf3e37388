"""What a worker process does: the jobs the HTTP front end hands it and how they are answered.

A job is a small picklable value (:class:`QueryJob`, :class:`LookupJob`, :class:`GraphJob`,
:class:`FhirJob`, :class:`UpdateJob`); an :class:`Executor` owns the worker's store and turns
each job into a complete :class:`Response` (status, content type, body), so the front end only
relays bytes.
Every serialisation is pyoxigraph's own; result sizes are capped at ``max_rows`` rows (SELECT)
or triples (CONSTRUCT, DESCRIBE), with a header saying so. Every query passes
:func:`ontomap.query.safety.check_safe` first (no SERVICE, no update, a bounded nesting), here in
the worker, so that the check too is bound by the server's timeout.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import io
import json
import re
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox

# built once, in the process that forks workers (the parser for check_safe, the algebra for
# may_read)
import rdflib.plugins.sparql.algebra
import rdflib.plugins.sparql.parser  # noqa: F401

from ontomap.crosswalk import CrosswalkReader
from ontomap.errors import OntomapError, StoreError
from ontomap.graph import CROSSWALK_GRAPH, META_GRAPH
from ontomap.lookup import (
    DEFAULT_LIMIT,
    AmbiguousCodeError,
    CodeNotFoundError,
    MalformedCodeError,
    lookup,
    parse_code,
)
from ontomap.query import UpdateRefusedError, prefixes
from ontomap.query.safety import QueryRefusedError, check_nesting, check_safe
from ontomap.server.formats import (
    GRAPH_FORMATS,
    RESULT_FORMATS,
    Offer,
    choose,
    content_type,
    names,
)
from ontomap.store import Store
from ontomap.terminology import default_registry

__all__ = [
    "BOOKKEEPING_GRAPHS",
    "MAX_ROWS_HEADER",
    "TRUNCATED_HEADER",
    "Executor",
    "FhirJob",
    "GraphJob",
    "Job",
    "LookupJob",
    "QueryJob",
    "Response",
    "UpdateJob",
    "lookup_json",
]

#: Response header carrying the server's row cap on query answers.
MAX_ROWS_HEADER = "X-Ontomap-Max-Rows"
#: Response header present (``true``) when an answer was cut at the row cap.
TRUNCATED_HEADER = "X-Ontomap-Truncated"
#: How many queries that passed the safety check an executor remembers (by digest).
CHECKED_QUERIES = 1024
#: The largest FHIR request (path, parameters and body, in characters and bytes) whose answer
#: the server's answer cache keeps.
FHIR_KEY_BYTES = 4096


@dataclass(frozen=True, slots=True)
class Response:
    """A complete HTTP answer: status, content type, body and extra headers."""

    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def text(cls, status: int, message: str) -> Response:
        """A plain-text answer (errors of the SPARQL endpoints), ending with a newline."""
        return cls(status, "text/plain; charset=utf-8", (message.rstrip("\n") + "\n").encode())

    @classmethod
    def json(cls, status: int, data: Any) -> Response:
        """A JSON answer, written like ``ontomap lookup --format json`` (indented, UTF-8)."""
        body = (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode()
        return cls(status, "application/json", body)


@dataclass(frozen=True, slots=True)
class QueryJob:
    """A SPARQL query from the SPARQL 1.1 Protocol.

    ``accept`` is the client's ``Accept`` header and ``formats`` the values of its ``format=``,
    ``output=`` and ``results=`` parameters, in order (``format``: one more, read first);
    ``default_graphs`` and ``named_graphs``
    are the protocol's ``default-graph-uri`` and ``named-graph-uri`` (none given: the default
    graph is the union of the store's graphs but the bookkeeping ones, see
    :data:`BOOKKEEPING_GRAPHS`); relative IRIs in the query are resolved against ``base_iri``
    (the endpoint's URL).
    """

    text: str
    accept: str | None = None
    format: str | None = None
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    formats: tuple[str, ...] = ()
    base_iri: str | None = None


@dataclass(frozen=True, slots=True)
class LookupJob:
    """A code lookup (``/lookup?code=...&to=...&offset=...&limit=...&descendants=true``): the
    code, the system of the matches, the page of uses to list (``limit`` ``None``: all of them)
    and whether the codes under it are looked up too. Its answer
    depends on nothing else but the generation served."""

    code: str
    to: str | None = None
    offset: int = 0
    limit: int | None = DEFAULT_LIMIT
    #: Also the codes under ``code`` in the latest loaded release of its system.
    descendants: bool = False

    def answer_key(self) -> tuple[str, str, str | None, int, int | None, bool] | None:
        """What a found code's answer depends on besides the generation: the code and the
        system ``to`` as parsed (every spelling of a code has the same answer), and the page.
        ``None`` for text that is no code or names an unknown system."""
        try:
            code = parse_code(self.code)
            to = default_registry().get(self.to).key if self.to is not None else None
        except OntomapError:
            return None
        return code.system, code.code, to, self.offset, self.limit, self.descendants


@dataclass(frozen=True, slots=True)
class GraphJob:
    """A Graph Store Protocol read: one named graph, or the default graph when ``graph`` is
    ``None``."""

    graph: str | None
    accept: str | None = None
    formats: tuple[str, ...] = ()
    #: A ``HEAD``: check the graph and the format, write nothing (the length is left out).
    head: bool = False

    def answer_key(self) -> tuple[object, ...] | None:
        """What the answer depends on besides the generation: the graph and the format
        chosen (``None`` when no format is acceptable). Only graphs of the store answer 200,
        so the keys are bounded by the store's graphs."""
        offer = choose(GRAPH_FORMATS, self.accept, self.formats)
        return None if offer is None else ("graph", self.graph, offer.name, offer.media_type)


@dataclass(frozen=True, slots=True)
class FhirJob:
    """A FHIR terminology request (``/fhir/r4/...``, ``/fhir/r5/...``): the FHIR version, the
    method, the path below the version's base, the URL parameters and a POSTed body. Its
    answer depends on nothing else but the generation served."""

    version: str
    method: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None

    def answer_key(self) -> tuple[object, ...] | None:
        """What the answer depends on besides the generation: the whole request; ``None`` for
        a request of over :data:`FHIR_KEY_BYTES` (the cache counts answers, not keys)."""
        size = len(self.path) + len(self.body or b"") + sum(len(n) + len(v) for n, v in self.query)
        if size > FHIR_KEY_BYTES:
            return None
        return ("fhir", self.version, self.method, self.path, self.query, self.body)


@dataclass(frozen=True, slots=True)
class UpdateJob:
    """A SPARQL 1.1 Update (run only by the writer process); relative IRIs in it are resolved
    against ``base_iri``."""

    text: str
    base_iri: str | None = None


Job = QueryJob | LookupJob | GraphJob | FhirJob | UpdateJob

#: The graphs left out of the default graph a query sees (and of ``/store?default``): the
#: bookkeeping (each model's source file, format and base IRI) and the materialised crosswalk
#: (records of ontomap's own lookups). They stay readable with ``GRAPH`` patterns.
BOOKKEEPING_GRAPHS = frozenset({META_GRAPH.value, CROSSWALK_GRAPH.value})

#: The media type of FHIR answers.
FHIR_JSON = "application/fhir+json; charset=utf-8"


def lookup_json(result_json: dict[str, Any]) -> bytes:
    """A lookup's JSON exactly as ``ontomap lookup --format json`` prints it
    (:meth:`~ontomap.lookup.LookupResult.dumps`)."""
    return (json.dumps(result_json, ensure_ascii=False, indent=2) + "\n").encode()


class _Stop(Exception):
    """Raised into pyoxigraph's serializer to stop it at the row cap."""


class _LineCap:
    """A binary sink that keeps the first ``limit`` lines and stops the writer after them."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.lines = 0
        self.parts: list[bytes] = []
        self.truncated = False

    def write(self, data: bytes) -> int:
        chunk = bytes(data)
        count = chunk.count(b"\n")
        if self.lines + count > self.limit:
            end = -1
            for _ in range(self.limit - self.lines):
                end = chunk.index(b"\n", end + 1)
            self.parts.append(chunk[: end + 1])
            self.lines = self.limit
            self.truncated = True
            raise _Stop
        self.parts.append(chunk)
        self.lines += count
        return len(chunk)

    def flush(self) -> None:
        """Nothing to flush (the lines are kept in memory)."""

    def value(self) -> bytes:
        return b"".join(self.parts)


class _TripleCap:
    """Passes at most ``limit`` triples through, noting whether there were more."""

    def __init__(self, triples: Iterator[ox.Triple], limit: int) -> None:
        self.triples = triples
        self.limit = limit
        self.truncated = False

    def __iter__(self) -> Iterator[ox.Triple]:
        for count, triple in enumerate(self.triples):
            if count >= self.limit:
                self.truncated = True
                return
            yield triple


def _graph_name(value: str) -> ox.NamedNode:
    try:
        return ox.NamedNode(value)
    except ValueError:
        raise OntomapError(f"{value!r} is not an IRI") from None


class _ServedDataset:
    """The default graph served for one generation (every graph but the bookkeeping ones, and
    the store's own default graph) and the predicates and ``rdf:type`` classes that the
    bookkeeping graphs use."""

    def __init__(self, store: ox.Store) -> None:
        self.default_graph: list[ox.NamedNode | ox.BlankNode | ox.DefaultGraph] = [
            ox.DefaultGraph(),
            *(g for g in store.named_graphs() if g.value not in BOOKKEEPING_GRAPHS),
        ]
        self.predicates: set[str] = set()
        self.classes: set[str] = set()
        for graph in sorted(BOOKKEEPING_GRAPHS):
            name = ox.NamedNode(graph)
            for row in store.query(  # type: ignore[union-attr]
                "SELECT DISTINCT ?g ?p { GRAPH ?g { ?s ?p ?o } }",
                substitutions={ox.Variable("g"): name},
            ):
                self.predicates.add(row["p"].value)  # type: ignore[index,union-attr]
            for row in store.query(  # type: ignore[union-attr]
                f"SELECT DISTINCT ?g ?c {{ GRAPH ?g {{ ?s <{_RDF_TYPE}> ?c }} }}",
                substitutions={ox.Variable("g"): name},
            ):
                self.classes.add(row["c"].value)  # type: ignore[index,union-attr]


_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
#: A dataset description for warming the query reader up.
_NO_BOOKKEEPING = _ServedDataset(ox.Store())


def _leaves(node: Any) -> Iterator[Any]:
    """The terms below a parsed path (IRIs, variables, nested paths' parts)."""
    values = node.values() if isinstance(node, dict) else node
    for value in values:
        if isinstance(value, dict | list | tuple):
            yield from _leaves(value)
        elif not isinstance(value, str) or hasattr(value, "n3"):
            yield value


#: A run of white space; one with a line break in it (``br``) may end a comment, so it keeps one.
_SPACES = re.compile(r"(?P<br>[ \t]*[\r\n]\s*)|[ \t]{2,}")


def _squeezed(text: str) -> str:
    """``text`` with each run of white space made one character: a line break where the run
    holds one (it may end a comment), else a space. Tokens and comments stay as they were; only
    the contents of literals change, which do not decide what a query reads. rdflib's parser
    takes 2.9 s for a query of 8 MiB of spaces; squeezing it first and parsing take 0.27 s."""
    return _SPACES.sub(lambda run: "\n" if run["br"] else " ", text)


def may_read(text: str, prefixes: dict[str, str], served: _ServedDataset) -> bool:
    """Whether a pattern of the query ``text`` outside ``GRAPH`` could match a triple of the
    bookkeeping graphs: a variable predicate, a negated property set, a predicate those graphs
    use (``rdf:type`` only with one of their classes or a variable class), or a ``DESCRIBE``.
    When it could not, the union of all graphs gives the same answers as the served default
    graph, faster (Oxigraph evaluates a list of default graphs one graph at a time). A text
    that cannot be read here counts as reading them."""
    from rdflib.paths import NegatedPath, Path
    from rdflib.plugins.sparql.algebra import translateQuery
    from rdflib.plugins.sparql.parser import parseQuery
    from rdflib.plugins.sparql.parserutils import CompValue
    from rdflib.term import URIRef, Variable

    def path_reads(path: Any) -> bool:
        if isinstance(path, NegatedPath):
            return True
        if isinstance(path, URIRef):
            return str(path) in served.predicates
        if isinstance(path, Path):  # sequence, alternative, inverse, ?, *, +
            parts = getattr(path, "args", None) or [
                getattr(path, "path", None) or getattr(path, "arg", None)
            ]
            return any(path_reads(part) for part in parts)
        if isinstance(path, CompValue):  # a path as parsed (inside EXISTS)
            if path.name == "PathNegatedPropertySet":
                return True
            return any(path_reads(part) for part in _leaves(path))
        return True

    def pattern_reads(triple: tuple[Any, Any, Any]) -> bool:
        _subject, predicate, obj = triple
        if isinstance(predicate, Variable):
            return True
        if isinstance(predicate, URIRef):
            if str(predicate) == _RDF_TYPE and isinstance(obj, URIRef):
                return str(obj) in served.classes
            return str(predicate) in served.predicates
        return path_reads(predicate)

    def reads(node: Any) -> bool:
        if isinstance(node, CompValue):
            if node.name == "Graph":
                return False  # a named graph, not the default graph
            if node.name == "DescribeQuery":
                return True
            if node.name == "BGP":
                return any(pattern_reads(t) for t in node.get("triples") or ())
            if node.name == "GraphGraphPattern":
                return False
            if node.name == "TriplesBlock":  # as parsed (inside EXISTS): s p o s p o ...
                return any(
                    pattern_reads(tuple(terms[i : i + 3]))  # type: ignore[arg-type]
                    for terms in node.get("triples") or ()
                    for i in range(0, len(terms) - 2, 3)
                )
            return any(reads(value) for value in node.values())
        if isinstance(node, list | tuple):
            return any(reads(value) for value in node)
        return False

    try:
        query = translateQuery(parseQuery(_squeezed(text)), initNs=prefixes)
        return reads(query.algebra)
    except Exception:  # unreadable here: the exact, slower dataset
        return True


class Executor:
    """Answers jobs against one open store (read-only in readers, writable in the writer)."""

    def __init__(self, store: Store, max_rows: int) -> None:
        self.store = store
        self.max_rows = max_rows
        self.prefixes = prefixes(store.base_iri)
        self._checked: OrderedDict[bytes, None] = OrderedDict()
        #: One crosswalk reader for the store's generation (it checks the graph once).
        self.crosswalk = CrosswalkReader(store)
        #: The FHIR terminology service of the store's generation (made on the first FHIR job).
        self._fhir: Any = None
        #: The served dataset of the store's generation (read when a reader opens it).
        self._served: _ServedDataset | None = None
        #: Whether a checked query may read the bookkeeping graphs, by digest.
        self._reads_bookkeeping: OrderedDict[bytes, bool] = OrderedDict()
        if store.read_only:
            check_safe("ASK {}")  # load rdflib's parser now, not on the first query
            may_read("ASK { ?s ?p ?o }", self.prefixes, _NO_BOOKKEEPING)  # and its algebra
            self._served = _ServedDataset(store.oxigraph)  # with the store, as it is opened

    def check(self, text: str) -> Response | None:
        """The refusal of a query that fails :func:`~ontomap.query.safety.check_safe` (400,
        403 for an update), ``None`` for a query that may run. Passed queries are remembered
        by digest, so a repeated query is checked once."""
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
        if digest in self._checked:
            self._checked.move_to_end(digest)
            return None
        # No garbage collection while the parser's thread runs: a pyoxigraph object left in a
        # reference cycle must be freed on the thread that made it, this one.
        collecting = gc.isenabled()
        gc.disable()
        try:
            check_safe(text)
        except UpdateRefusedError:
            return Response.text(
                403,
                "updates are not run by the query endpoint (/update takes them, on a server "
                "started with --allow-update)",
            )
        except QueryRefusedError as exc:
            return Response.text(400, f"query refused: {exc}")
        finally:
            if collecting:
                gc.enable()
        self._checked[digest] = None
        if len(self._checked) > CHECKED_QUERIES:
            self._checked.popitem(last=False)
        return None

    def run(self, job: Job) -> Response:
        """The answer to ``job``; unexpected failures become a 500 with the reason."""
        try:
            if isinstance(job, QueryJob):
                return self.query(job)
            if isinstance(job, LookupJob):
                return self.lookup(job)
            if isinstance(job, GraphJob):
                return self.graph(job)
            if isinstance(job, FhirJob):
                return self.fhir(job)
            return self.update(job)
        except OSError as exc:
            return Response.text(500, f"cannot read the store: {exc}")

    # -------------------------------------------------------------- SPARQL queries

    def _headers(self, truncated: bool) -> tuple[tuple[str, str], ...]:
        headers = [(MAX_ROWS_HEADER, str(self.max_rows)), ("Vary", "Accept")]
        if truncated:
            headers.append((TRUNCATED_HEADER, "true"))
        return tuple(headers)

    @property
    def served(self) -> _ServedDataset:
        """The graphs of the served default graph and what the bookkeeping graphs hold."""
        if self._served is None:
            self._served = _ServedDataset(self.store.oxigraph)
        return self._served

    def reads_bookkeeping(self, text: str) -> bool:
        """Whether the (checked) query ``text`` may match a triple of the bookkeeping graphs
        through its default graph (:func:`may_read`); remembered by digest."""
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
        known = self._reads_bookkeeping.get(digest)
        if known is None:
            known = may_read(text, self.prefixes, self.served)
            self._reads_bookkeeping[digest] = known
            if len(self._reads_bookkeeping) > CHECKED_QUERIES:
                self._reads_bookkeeping.popitem(last=False)
        return known

    def query(self, job: QueryJob) -> Response:
        refused = self.check(job.text)
        if refused is not None:
            return refused
        options: dict[str, Any] = {"prefixes": self.prefixes, "base_iri": job.base_iri}
        try:
            if job.default_graphs or job.named_graphs:
                options["default_graph"] = [_graph_name(g) for g in job.default_graphs]
                options["named_graphs"] = [_graph_name(g) for g in job.named_graphs]
            elif self.reads_bookkeeping(job.text):
                options["default_graph"] = self.served.default_graph
            else:
                # the same answers as the list of graphs above, found through the union's
                # indexes: no pattern of the query can match a bookkeeping triple
                options["use_default_graph_as_union"] = True
        except OntomapError as exc:
            return Response.text(400, f"bad graph URI: {exc}")
        try:
            result = self.store.oxigraph.query(job.text, **options)
        except SyntaxError as exc:
            return Response.text(400, f"SPARQL syntax error: {exc}")
        except (RuntimeError, ValueError) as exc:
            return Response.text(400, f"the query cannot run: {exc}")
        offers = GRAPH_FORMATS if isinstance(result, ox.QueryTriples) else RESULT_FORMATS
        offer = choose(
            offers, job.accept, (job.format, *job.formats) if job.format else job.formats
        )
        if offer is None:
            kind = "graph" if offers is GRAPH_FORMATS else "SELECT/ASK"
            wanted = f"Accept: {job.accept}"
            return Response.text(
                406, f"cannot write a {kind} answer as {wanted}; available: {names(offers)}"
            )
        try:
            if isinstance(result, ox.QueryBoolean):
                body, truncated = result.serialize(format=offer.format), False  # type: ignore[arg-type]
            elif isinstance(result, ox.QuerySolutions):
                body, truncated = self._solutions(result, offer)
            else:
                body, truncated = self._triples(iter(result), offer)
        except (RuntimeError, ValueError) as exc:
            return Response.text(400, f"the query failed: {exc}")
        return Response(200, content_type(offer), body or b"", self._headers(truncated))

    def _solutions(self, solutions: ox.QuerySolutions, offer: Offer) -> tuple[bytes, bool]:
        """SELECT results in ``offer``'s format, at most ``max_rows`` of them.

        They are written once as TSV (lossless: terms in N-Triples syntax, one solution per
        line) into a sink that stops Oxigraph after the header and ``max_rows`` lines; other
        formats are then re-written by Oxigraph from that TSV.
        """
        sink = _LineCap(self.max_rows + 1)
        with contextlib.suppress(_Stop):
            solutions.serialize(sink, format=ox.QueryResultsFormat.TSV)  # type: ignore[arg-type]
        data = sink.value()
        if offer.format == ox.QueryResultsFormat.TSV:
            return data, sink.truncated
        parsed = ox.parse_query_results(data, format=ox.QueryResultsFormat.TSV)
        return parsed.serialize(format=offer.format), sink.truncated  # type: ignore[arg-type,return-value]

    def _triples(self, triples: Iterator[ox.Triple], offer: Offer) -> tuple[bytes, bool]:
        capped = _TripleCap(triples, self.max_rows)
        buffer = io.BytesIO()
        ox.serialize(capped, buffer, offer.format, prefixes=self.prefixes)  # type: ignore[arg-type]
        return buffer.getvalue(), capped.truncated

    # -------------------------------------------------------------- lookup

    def lookup(self, job: LookupJob) -> Response:
        try:
            result = lookup(self.crosswalk, job.code, to=job.to, descendants=job.descendants)
        except (CodeNotFoundError, MalformedCodeError) as exc:
            return Response.json(404, {"error": str(exc), "status": 404})
        except AmbiguousCodeError as exc:
            choices = [
                {"system": code.system, "code": code.code, "curie": code.curie}
                for code in exc.candidates
            ]
            return Response.json(400, {"error": str(exc), "status": 400, "candidates": choices})
        except StoreError as exc:
            return Response.json(500, {"error": str(exc), "status": 500})
        except OntomapError as exc:
            return Response.json(400, {"error": str(exc), "status": 400})
        body = result.dumps(job.offset, job.limit).encode()
        return Response(200, "application/json", body)

    # -------------------------------------------------------------- FHIR

    def fhir(self, job: FhirJob) -> Response:
        """A FHIR request, answered by :class:`ontomap.fhir.FhirService` (an
        OperationOutcome for every error)."""
        if self._fhir is None:
            from ontomap.fhir import FhirService, TerminologySource

            self._fhir = FhirService(TerminologySource(self.store))
        status, resource = self._fhir.handle(job.version, job.method, job.path, job.query, job.body)
        body = json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode()
        return Response(status, FHIR_JSON, body + b"\n")

    # -------------------------------------------------------------- Graph Store Protocol

    def graph(self, job: GraphJob) -> Response:
        offer = choose(GRAPH_FORMATS, job.accept, job.formats)
        if offer is None:
            return Response.text(
                406,
                f"cannot write a graph as Accept: {job.accept}; available: {names(GRAPH_FORMATS)}",
            )
        store = self.store.oxigraph
        if job.graph is None:
            graphs = self.served.default_graph
        else:
            try:
                name = _graph_name(job.graph)
            except OntomapError as exc:
                return Response.text(400, f"bad graph IRI: {exc}")
            if not store.contains_named_graph(name):
                return Response.text(404, f"no graph <{job.graph}> in this store")
            graphs = [name]
        if job.head:
            return Response(200, content_type(offer), b"", (("Vary", "Accept"),))
        # Each graph written by Oxigraph as N-Triples, the lines of all of them kept once (the
        # default graph is a set of triples): far faster than a SELECT DISTINCT over the union.
        buffer = io.BytesIO()
        for graph in graphs:
            store.dump(buffer, format=ox.RdfFormat.N_TRIPLES, from_graph=graph)
        data = buffer.getvalue()
        if len(graphs) > 1:
            data = b"".join(dict.fromkeys(data.splitlines(keepends=True)))
        if offer.format != ox.RdfFormat.N_TRIPLES:
            triples = ox.parse(data, format=ox.RdfFormat.N_TRIPLES)
            out = io.BytesIO()
            ox.serialize(triples, out, offer.format, prefixes=self.prefixes)  # type: ignore[arg-type]
            data = out.getvalue()
        return Response(200, content_type(offer), data, (("Vary", "Accept"),))

    # -------------------------------------------------------------- updates

    def update(self, job: UpdateJob) -> Response:
        try:
            check_nesting(job.text)
        except QueryRefusedError as exc:
            return Response.text(400, f"update refused: {exc}")
        try:
            self.store.oxigraph.update(job.text, prefixes=self.prefixes, base_iri=job.base_iri)
        except SyntaxError as exc:
            return Response.text(400, f"SPARQL Update syntax error: {exc}")
        except (RuntimeError, ValueError) as exc:
            return Response.text(400, f"the update failed: {exc}")
        self.store.oxigraph.flush()
        return Response(204, "text/plain; charset=utf-8", b"")
