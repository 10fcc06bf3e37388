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
import hashlib
import io
import json
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox
import rdflib.plugins.sparql.parser  # noqa: F401 - built once, in the process that forks workers

from ontomap.crosswalk import CrosswalkReader
from ontomap.errors import OntomapError, StoreError
from ontomap.lookup import (
    DEFAULT_LIMIT,
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

    ``accept`` is the client's ``Accept`` header and ``format`` a ``format=`` parameter;
    ``default_graphs`` and ``named_graphs`` are the protocol's ``default-graph-uri`` and
    ``named-graph-uri`` (none given: the default graph is the union of all graphs).
    """

    text: str
    accept: str | None = None
    format: str | None = None
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()


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
    format: str | None = None


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
    """A SPARQL 1.1 Update (run only by the writer process)."""

    text: str


Job = QueryJob | LookupJob | GraphJob | FhirJob | UpdateJob

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
        if store.read_only:
            check_safe("ASK {}")  # load rdflib's parser now, not on the first query

    def check(self, text: str) -> Response | None:
        """The refusal of a query that fails :func:`~ontomap.query.safety.check_safe` (400,
        403 for an update), ``None`` for a query that may run. Passed queries are remembered
        by digest, so a repeated query is checked once."""
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
        if digest in self._checked:
            self._checked.move_to_end(digest)
            return None
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

    def query(self, job: QueryJob) -> Response:
        refused = self.check(job.text)
        if refused is not None:
            return refused
        options: dict[str, Any] = {"prefixes": self.prefixes}
        try:
            if job.default_graphs or job.named_graphs:
                options["default_graph"] = [_graph_name(g) for g in job.default_graphs]
                options["named_graphs"] = [_graph_name(g) for g in job.named_graphs]
            else:
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
        offer = choose(offers, job.accept, job.format)
        if offer is None:
            kind = "graph" if offers is GRAPH_FORMATS else "SELECT/ASK"
            wanted = f"format={job.format}" if job.format else f"Accept: {job.accept}"
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
        return Response(200, content_type(offer), body, self._headers(truncated))

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
        offer = choose(GRAPH_FORMATS, job.accept, job.format)
        if offer is None:
            wanted = f"format={job.format}" if job.format else f"Accept: {job.accept}"
            return Response.text(
                406, f"cannot write a graph as {wanted}; available: {names(GRAPH_FORMATS)}"
            )
        store = self.store.oxigraph
        if job.graph is None:
            triples: Iterator[ox.Triple] = iter(
                store.query(  # type: ignore[arg-type]
                    "CONSTRUCT { ?s ?p ?o } WHERE { SELECT DISTINCT ?s ?p ?o { ?s ?p ?o } }",
                    use_default_graph_as_union=True,
                )
            )
        else:
            try:
                name = _graph_name(job.graph)
            except OntomapError as exc:
                return Response.text(400, f"bad graph IRI: {exc}")
            if not store.contains_named_graph(name):
                return Response.text(404, f"no graph <{job.graph}> in this store")
            triples = (
                ox.Triple(q.subject, q.predicate, q.object)
                for q in store.quads_for_pattern(None, None, None, name)
            )
        buffer = io.BytesIO()
        ox.serialize(triples, buffer, offer.format, prefixes=self.prefixes)  # type: ignore[arg-type]
        return Response(200, content_type(offer), buffer.getvalue(), (("Vary", "Accept"),))

    # -------------------------------------------------------------- updates

    def update(self, job: UpdateJob) -> Response:
        try:
            check_nesting(job.text)
        except QueryRefusedError as exc:
            return Response.text(400, f"update refused: {exc}")
        try:
            self.store.oxigraph.update(job.text, prefixes=self.prefixes)
        except SyntaxError as exc:
            return Response.text(400, f"SPARQL Update syntax error: {exc}")
        except (RuntimeError, ValueError) as exc:
            return Response.text(400, f"the update failed: {exc}")
        self.store.oxigraph.flush()
        return Response(204, "text/plain; charset=utf-8", b"")
