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

Only SPARQL 1.1 Update is used, not the Graph Store Protocol: ``INSERT DATA`` carries several
graphs per request, and ``MOVE`` (which GSP lacks) is needed for batching anyway, so one
protocol serves every case. Any endpoint that takes updates works, ``ontomap serve
--allow-update`` too.
"""

from __future__ import annotations

import contextlib
import queue
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
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

__all__ = ["DEFAULT_BATCH", "PushSummary", "push", "staged_store"]

#: Triples per INSERT DATA request by default (a few MB of text).
DEFAULT_BATCH = 50_000
_UPDATE = "application/sparql-update"


@dataclass(frozen=True, slots=True)
class PushSummary:
    """What :func:`push` did: graphs and triples sent, requests made, seconds taken."""

    graphs: int
    triples: int
    requests: int
    seconds: float


@dataclass(frozen=True, slots=True)
class _Graph:
    target: str
    lines: Sequence[str]


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


def _prefetch(steps: Iterator[tuple[str, int]], depth: int = 2) -> Iterator[tuple[str, int]]:
    """``steps`` computed by a background thread, up to ``depth`` ahead: the next request is
    read from the store and written while the endpoint works on the current one."""
    buffer: queue.Queue[tuple[str, int] | BaseException | None] = queue.Queue(depth)
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
    """The requests of one push, and the staging graphs they create (dropped on failure)."""

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

    def staged(self, graph: _Graph, stage: str) -> Iterator[tuple[str, int]]:
        """``graph`` sent to ``stage`` in batches."""
        for chunk in _chunks(graph, self.size):
            yield _insert([(stage, _ntriples(chunk))]), len(chunk.lines)

    def per_graph(self) -> Iterator[tuple[str, int]]:
        """Requests that replace each graph atomically (the default)."""
        pending: list[_Graph] = []
        count = 0

        def replace() -> str:
            drops = "".join(f"DROP SILENT GRAPH <{g.target}> ;\n" for g in pending)
            return drops + _insert([(g.target, _ntriples(g)) for g in pending])

        for graph in self.graphs:
            if len(graph.lines) > self.size:
                stage = self.stage_name()
                yield from self.staged(graph, stage)
                yield f"MOVE <{stage}> TO <{graph.target}>\n", 0
                continue
            if pending and count + len(graph.lines) > self.size:
                yield replace(), count
                pending, count = [], 0
            pending.append(graph)
            count += len(graph.lines)
        if pending:
            yield replace(), count

    def all_at_once(self, whole_layout: bool) -> Iterator[tuple[str, int]]:
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
        operations.extend(f"DROP GRAPH <{stage}>" for stage, _target in pairs)
        yield " ;\n".join(operations) + "\n", 0

    def remove_stale(self) -> str:
        """The update deleting the endpoint's ontomap graphs that were not pushed."""
        names = " ".join(f"<{target}>" for target in self.targets)
        return (
            "DELETE { GRAPH ?g { ?s ?p ?o } } WHERE { GRAPH ?g { ?s ?p ?o } "
            f'FILTER (STRSTARTS(STR(?g), "{GRAPH_NS}")) MINUS {{ VALUES ?g {{ {names} }} }} }}\n'
        )


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
    of triples sent so far and the total. Raises :class:`~ontomap.backends.EndpointError`
    (unreachable, refused) or :class:`~ontomap.query.QueryError` (an update was rejected).
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
    requests = sent = 0

    def send(update: str) -> None:
        nonlocal requests
        http_request(endpoint, update.encode(), _UPDATE, "*/*", token=token, timeout=timeout)
        requests += 1

    steps = _prefetch(
        plan.all_at_once(graph is None) if atomic and graph is None else plan.per_graph()
    )
    try:
        for update, count in steps:
            send(update)
            sent += count
            if progress is not None:
                progress(sent, total)
        if graph is None and not atomic:
            send(plan.remove_stale())
    except BaseException:
        steps.close()
        if plan.staging:
            with contextlib.suppress(EndpointError, QueryError, OSError):
                drops = " ;\n".join(f"DROP SILENT GRAPH <{name}>" for name in plan.staging)
                send(drops)
        raise
    return PushSummary(len(targets), sent, requests, time.perf_counter() - started)


@contextlib.contextmanager
def staged_store(sources: Iterable[SourceModel], base_iri: str | None = None) -> Iterator[Store]:
    """A temporary store holding ``sources`` (for pushing files without building a store)."""
    with tempfile.TemporaryDirectory(prefix="ontomap-push-") as folder:
        path = Path(folder) / "store"
        with Store(path) as store:
            store.load(sources, base_iri)
            yield store
