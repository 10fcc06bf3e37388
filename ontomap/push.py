"""``ontomap push``: upload a store's knowledge graph to a SPARQL 1.1 Update endpoint.

Two layouts:

- **the store's own** (default): every named graph of the store (one per finding model, plus
  ``…/graph/_codes`` and ``…/graph/_meta``) under the same name. This is what ``ontomap query
  --endpoint`` and ``ontomap lookup --endpoint`` need. The endpoint's ontomap graphs (those
  named under ``https://w3id.org/ontomap/graph/``) end up exactly the store's: graphs of models
  no longer in the store are removed at the end.
- **one named graph** (``graph=IRI``): the knowledge graph as ``ontomap export`` writes it (all
  models and codes, no bookkeeping), for tools that want it in one graph.

Requests are SPARQL 1.1 Update, ``batch_size`` triples at most each, and each graph is
replaced atomically on servers that run an update request as one transaction (Oxigraph, Jena
Fuseki/TDB2, GraphDB, RDF4J): a reader sees a graph's old triples or its new ones, never a mix.

- Graphs that fit in a batch are packed together: ``DROP SILENT GRAPH <g> ; … ; INSERT DATA
  { GRAPH <g> { … } … }`` in one request.
- A graph larger than a batch (the single graph of ``graph=IRI``, typically) is sent in
  batches to a *staging* graph ``urn:ontomap:push:<uuid>:<n>``, then put in place by one
  ``MOVE <staging> TO <g>``. If a batch fails, the staging graphs are dropped and the graph
  is untouched.

With ``atomic=True`` every graph goes to staging first and one last request swaps them all in
(deleting the old ontomap graphs in the same transaction): the whole dataset changes at once.
That costs the server a second copy of every triple (on Oxigraph 0.5, about 3× the time of the
default), so it is not the default. Without it, a reader may see some models already new and
others still old while a push runs; with it, the staging graphs are visible to queries over
the union of all graphs while the push runs.

Engines limit the size of one request in their own ways (Virtuoso 7.2 refuses large ones with
``SP030 memory exhausted`` or ``SP031`` "generated SQL too long"; others answer HTTP 413). A
request refused as too large is sent again in two halves, and the rest of the push keeps the
smaller batch, down to :data:`MIN_BATCH` triples; :class:`PushSummary` says what was done. The
final clean-up names every pushed graph in one request; when that is refused as too large, the
pushed graphs are listed in a temporary graph (in batches) and the clean-up reads them there
(also when the engine rejects that request's ``MINUS { VALUES … }``, as Virtuoso 7.2 does
with an ``SP031`` internal error).

Only SPARQL 1.1 Update is used, not the Graph Store Protocol: ``INSERT DATA`` carries several
graphs per request, and ``MOVE`` (which GSP lacks) is needed for batching anyway, so one
protocol serves every case. Any endpoint that takes updates works, ``ontomap serve
--allow-update`` too.
"""

from __future__ import annotations

import contextlib
import queue
import re
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from ontomap.backends import EndpointError, http_request
from ontomap.errors import OntomapError
from ontomap.graph import CODES_GRAPH, META_GRAPH
from ontomap.ntriples import lines_of
from ontomap.query import QueryError
from ontomap.readers.common import SourceModel
from ontomap.store import Store
from ontomap.vocab import GRAPH_NS

__all__ = ["DEFAULT_BATCH", "MIN_BATCH", "PushSummary", "push", "staged_store", "too_large"]

#: Triples per INSERT DATA request by default (a few MB of text).
DEFAULT_BATCH = 50_000
#: The smallest batch :func:`push` goes down to when an endpoint refuses requests as too large.
MIN_BATCH = 100
_UPDATE = "application/sparql-update"

#: What engines say when one request is too large for them: Virtuoso's SPARQL compiler
#: (``SP030`` memory exhausted, ``SP031`` generated SQL too long), HTTP 413, and the words
#: other servers use.
_TOO_LARGE = re.compile(
    r"\bSP03[01]\b|\bHTTP 413\b|memory exhausted|too (?:large|long|big)|payload|request entity",
    re.IGNORECASE,
)


def too_large(error: BaseException) -> bool:
    """Whether ``error`` (from :func:`~ontomap.backends.http_request`) is an endpoint saying
    that a request was too large for it, rather than wrong."""
    if not isinstance(error, EndpointError | QueryError):
        return False
    said = str(error).split("SPARQL query:", 1)[0]  # Virtuoso quotes the request after this
    return bool(_TOO_LARGE.search(said))


@dataclass(frozen=True, slots=True)
class PushSummary:
    """What :func:`push` did: graphs and triples sent, requests made, seconds taken.

    ``batch_size`` is the batch the push ended with: smaller than asked when the endpoint
    refused ``refused`` requests as too large (each was sent again in halves). ``cleanup`` is
    how the endpoint's ontomap graphs that were not pushed were removed: ``"one request"``
    (every pushed graph named in it), ``"listed"`` (the pushed graphs listed in a temporary
    graph first, for an endpoint that refused the one request) or ``None`` (no clean-up:
    ``graph=`` and ``atomic=`` pushes replace what they replace in their own requests).
    """

    graphs: int
    triples: int
    requests: int
    seconds: float
    batch_size: int = DEFAULT_BATCH
    refused: int = 0
    cleanup: str | None = None


@dataclass(frozen=True, slots=True)
class _Graph:
    target: str
    lines: Sequence[str]


@dataclass(frozen=True, slots=True)
class _Step:
    """One request: its text, the triples it carries, and what it carries, so that a request
    refused as too large can be sent again in smaller parts. ``stage`` is the staging graph of
    a batch of a large graph (``None``: whole graphs replaced, or a request not to split)."""

    update: str
    count: int
    parts: tuple[_Graph, ...] = ()
    stage: str | None = None


def _graph_names(store: Store) -> list[str]:
    """The store's named graphs: the codes graph first, then the models, the bookkeeping
    graph last (a reader during a push never finds a model whose codes are not there yet)."""
    first, last = CODES_GRAPH.value, META_GRAPH.value
    names = [graph.value for graph in store.oxigraph.named_graphs()]  # type: ignore[union-attr]
    return sorted(names, key=lambda name: (name != first, name == last, name))


def _store_graphs(store: Store, names: list[str]) -> Iterator[_Graph]:
    """The named graphs ``names`` of ``store`` as N-Triples lines, read one by one."""
    for name in names:
        data = store.oxigraph.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(name))
        yield _Graph(name, lines_of(data))  # type: ignore[arg-type]


def _prefetch(steps: Iterator[_Step], depth: int = 2) -> Generator[_Step, None, None]:
    """``steps`` computed by a background thread, up to ``depth`` ahead: the next request is
    read from the store and written while the endpoint works on the current one."""
    buffer: queue.Queue[_Step | BaseException | None] = queue.Queue(depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for step in steps:
                if stop.is_set():
                    return
                buffer.put(step)
            buffer.put(None)
        except BaseException as exc:
            buffer.put(exc)

    worker = threading.Thread(target=produce, name="ontomap-push-read", daemon=True)
    worker.start()
    try:
        while True:
            item = buffer.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        with contextlib.suppress(queue.Empty):
            buffer.get_nowait()


def _ntriples(graph: _Graph) -> str:
    for line in graph.lines:
        if line.startswith("_:") or " _:" in line:
            raise OntomapError(
                f"graph <{graph.target}> holds blank nodes, which batches would split; "
                "ontomap's graphs have none: rebuild the store with 'ontomap build'"
            )
    return "".join(graph.lines)


def _insert(blocks: list[tuple[str, str]]) -> str:
    """``INSERT DATA`` of N-Triples ``blocks``, each ``(graph IRI, lines)``."""
    graphs = "".join(f"GRAPH <{name}> {{\n{lines}}}\n" for name, lines in blocks)
    return f"INSERT DATA {{\n{graphs}}}\n"


def _chunks(graph: _Graph, size: int) -> Iterator[_Graph]:
    for start in range(0, len(graph.lines), size):
        yield _Graph(graph.target, graph.lines[start : start + size])


class _Plan:
    """The requests of one push, and the staging graphs they create (dropped on failure).

    ``size`` is read each time a request is written, so a smaller batch set while the push
    runs applies to every request written after."""

    def __init__(self, graphs: Iterable[_Graph], targets: list[str], batch_size: int) -> None:
        self.graphs = graphs
        self.targets = targets
        self.size = batch_size
        self.run = uuid.uuid4()
        self.staging: list[str] = []

    def stage_name(self) -> str:
        name = f"urn:ontomap:push:{self.run}:{len(self.staging)}"
        self.staging.append(name)
        return name

    def staged(self, graph: _Graph, stage: str) -> Iterator[_Step]:
        """``graph`` sent to ``stage`` in batches."""
        for chunk in _chunks(graph, self.size):
            yield _Step(_insert([(stage, _ntriples(chunk))]), len(chunk.lines), (chunk,), stage)

    def per_graph(self, graphs: Iterable[_Graph] | None = None) -> Iterator[_Step]:
        """Requests that replace each graph atomically (the default)."""
        pending: list[_Graph] = []
        count = 0

        def replace() -> _Step:
            drops = "".join(f"DROP SILENT GRAPH <{g.target}> ;\n" for g in pending)
            update = drops + _insert([(g.target, _ntriples(g)) for g in pending])
            return _Step(update, count, tuple(pending))

        for graph in self.graphs if graphs is None else graphs:
            if len(graph.lines) > self.size:
                stage = self.stage_name()
                yield from self.staged(graph, stage)
                yield _Step(f"MOVE <{stage}> TO <{graph.target}>\n", 0)
                continue
            if pending and count + len(graph.lines) > self.size:
                yield replace()
                pending, count = [], 0
            pending.append(graph)
            count += len(graph.lines)
        if pending:
            yield replace()

    def smaller(self, step: _Step) -> Iterator[_Step]:
        """``step`` as requests of the current (smaller) batch size."""
        if step.stage is None:
            yield from self.per_graph(step.parts)
            return
        for part in step.parts:
            yield from self.staged(part, step.stage)

    def all_at_once(self, whole_layout: bool) -> Iterator[_Step]:
        """Requests that stage every graph, then swap them all in with one update."""
        pairs = []
        for graph in self.graphs:
            stage = self.stage_name()
            pairs.append((stage, graph.target))
            yield from self.staged(graph, stage)
        operations = []
        if whole_layout:
            operations.append(_DELETE_ONTOMAP_GRAPHS)
        values = " ".join(f"(<{stage}> <{target}>)" for stage, target in pairs)
        operations.append(
            "INSERT { GRAPH ?target { ?s ?p ?o } } WHERE { "
            f"VALUES (?stage ?target) {{ {values} }} GRAPH ?stage {{ ?s ?p ?o }} }}"
        )
        operations.extend(f"DROP SILENT GRAPH <{stage}>" for stage, _target in pairs)
        yield _Step(" ;\n".join(operations) + "\n", 0)

    def remove_stale(self) -> str:
        """The update deleting the endpoint's ontomap graphs that were not pushed."""
        names = " ".join(f"<{target}>" for target in self.targets)
        return (
            "DELETE { GRAPH ?g { ?s ?p ?o } } WHERE { GRAPH ?g { ?s ?p ?o } "
            f'FILTER (STRSTARTS(STR(?g), "{GRAPH_NS}")) MINUS {{ VALUES ?g {{ {names} }} }} }}\n'
        )

    def listing(self) -> tuple[str, list[_Step], str]:
        """The clean-up for an endpoint that refuses :meth:`remove_stale` as too large: the
        name of a temporary graph, the requests listing the pushed graphs in it (one triple
        each, in batches), and the update deleting the ontomap graphs not listed there (and
        the list)."""
        listed = self.stage_name()
        lines = [f"<{target}> <{_PUSHED}> <{listed}> .\n" for target in self.targets]
        steps = list(self.staged(_Graph(listed, lines), listed))
        delete = (
            "DELETE { GRAPH ?g { ?s ?p ?o } } WHERE { GRAPH ?g { ?s ?p ?o } "
            f'FILTER (STRSTARTS(STR(?g), "{GRAPH_NS}")) '
            f"FILTER NOT EXISTS {{ GRAPH <{listed}> {{ ?g <{_PUSHED}> <{listed}> }} }} }} ;\n"
            f"DROP SILENT GRAPH <{listed}>\n"
        )
        return listed, steps, delete


#: The predicate of the temporary list of pushed graphs.
_PUSHED = "urn:ontomap:push:pushed"


_DELETE_ONTOMAP_GRAPHS = (
    "DELETE { GRAPH ?g { ?s ?p ?o } } WHERE { GRAPH ?g { ?s ?p ?o } "
    f'FILTER (STRSTARTS(STR(?g), "{GRAPH_NS}")) }}'
)


def push(
    store: Store,
    endpoint: str,
    *,
    graph: str | None = None,
    batch_size: int = DEFAULT_BATCH,
    atomic: bool = False,
    token: str | None = None,
    timeout: float = 300.0,
    progress: Callable[[int, int], None] | None = None,
) -> PushSummary:
    """Upload ``store`` to the SPARQL Update ``endpoint`` (see the module doc).

    ``graph`` names the one graph to put everything in (default: the store's own layout);
    ``atomic`` swaps all graphs in at once at the end. ``progress`` is called with the number
    of triples sent so far and the total. A request the endpoint refuses as too large is sent
    again in halves (down to :data:`MIN_BATCH` triples). Raises
    :class:`~ontomap.backends.EndpointError` (unreachable, refused) or
    :class:`~ontomap.query.QueryError` (an update was rejected).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if graph is not None:
        try:
            target = ox.NamedNode(graph).value
        except ValueError:
            raise OntomapError(f"--graph {graph!r} is not an IRI") from None
        knowledge = store.graph()
        targets, total = [target], len(knowledge)
        graphs: Iterable[_Graph] = [_Graph(target, knowledge.lines)]
    else:
        targets, total = _graph_names(store), len(store)
        graphs = _store_graphs(store, targets)
    plan = _Plan(graphs, targets, batch_size)
    started = time.perf_counter()
    requests = sent = refused = 0
    cleanup: str | None = None

    def send(update: str) -> None:
        nonlocal requests
        requests += 1
        http_request(endpoint, update.encode(), _UPDATE, "*/*", token=token, timeout=timeout)

    def shrink(step: _Step, error: BaseException) -> bool:
        """Halve the batch after ``error``; whether ``step`` can be sent in smaller parts."""
        nonlocal refused
        size = sum(len(part.lines) for part in step.parts)
        if not too_large(error) or size <= MIN_BATCH:
            return False
        refused += 1
        plan.size = max(MIN_BATCH, min(plan.size, size) // 2)
        return True

    def carry(step: _Step) -> None:
        """Send ``step``, or its parts in smaller requests when it is refused as too large."""
        nonlocal sent
        try:
            send(step.update)
        except (EndpointError, QueryError) as exc:
            if not shrink(step, exc):
                raise _at_smallest(exc, plan.size, refused) from None
            for part in plan.smaller(step):
                carry(part)
            return
        sent += step.count
        if progress is not None:
            progress(sent, total)

    steps = _prefetch(
        plan.all_at_once(graph is None) if atomic and graph is None else plan.per_graph()
    )
    try:
        for step in steps:
            carry(step)
        if graph is None and not atomic:
            try:
                send(plan.remove_stale())
                cleanup = "one request"
            except (EndpointError, QueryError) as exc:
                if not (isinstance(exc, QueryError) or too_large(exc)):
                    raise  # unreachable, refused access: not a matter of the request's form
                _listed, listing, delete = plan.listing()
                for step in listing:
                    _carry_quietly(carry, step)
                send(delete)
                cleanup = "listed"
    except BaseException:
        steps.close()
        if plan.staging:
            with contextlib.suppress(EndpointError, QueryError, OSError):
                drops = " ;\n".join(f"DROP SILENT GRAPH <{name}>" for name in plan.staging)
                send(drops)
        raise
    return PushSummary(
        len(targets),
        sent,
        requests,
        time.perf_counter() - started,
        batch_size=plan.size,
        refused=refused,
        cleanup=cleanup,
    )


def _carry_quietly(carry: Callable[[_Step], None], step: _Step) -> None:
    """``carry(step)`` for a request of the clean-up, whose triples are no part of the push."""
    carry(_Step(step.update, 0, step.parts, step.stage))


def _at_smallest(error: EndpointError | QueryError, size: int, refused: int) -> BaseException:
    """``error``, saying so when the endpoint refused even the smallest batches."""
    if not too_large(error) or refused == 0:
        return error
    message = (
        f"{error} (refused as too large even at {size} triples per request; "
        "see the endpoint's settings in ontomap's docs/engines.md)"
    )
    if isinstance(error, EndpointError):
        return EndpointError(error.url, message)
    return QueryError(message)


@contextlib.contextmanager
def staged_store(sources: Iterable[SourceModel], base_iri: str | None = None) -> Iterator[Store]:
    """A temporary store holding ``sources`` (for pushing files without building a store)."""
    with tempfile.TemporaryDirectory(prefix="ontomap-push-") as folder:
        path = Path(folder) / "store"
        with Store(path) as store:
            store.load(sources, base_iri)
            yield store
