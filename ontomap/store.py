"""The on-disk knowledge-graph store (an embedded Oxigraph database).

Each finding model lives in its own named graph, so loading a model again replaces it whole
(no duplicates, no stale triples). The concepts and schemes of index codes live in a shared
graph; a bookkeeping graph records the base IRI and which file each model came from.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import pyoxigraph as ox

from ontomap.errors import StoreError
from ontomap.generations import (
    GenerationGoneError,
    ReadLease,
    StoreBusyError,
    WriteLease,
    current_generation,
    is_store,
)
from ontomap.graph import (
    CODES_GRAPH,
    META_GRAPH,
    Dataset,
    GraphBuilder,
    KnowledgeGraph,
    is_model_content,
    model_graph_iri,
)
from ontomap.model import IndexCode
from ontomap.ntriples import Block, canonical_order, iri, lines_of, literal, typed_literal
from ontomap.readers.common import SourceModel
from ontomap.sparql import sparql_text
from ontomap.vocab import DEFAULT_BASE_IRI, OIFM, RDF, XSD

__all__ = [
    "STORE_ENV",
    "GenerationGoneError",
    "LoadSummary",
    "SourceInfo",
    "Store",
    "StoreBusyError",
    "current_generation",
    "default_store_path",
    "is_store",
]

#: Environment variable naming the default store folder.
STORE_ENV = "ONTOMAP_STORE"


def _batches(items: Iterable[SourceModel], size: int) -> Iterator[list[SourceModel]]:
    batch: list[SourceModel] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def default_store_path() -> Path:
    """``$ONTOMAP_STORE``, else ``$XDG_DATA_HOME/ontomap/store``, else
    ``~/.local/share/ontomap/store``."""
    configured = os.environ.get(STORE_ENV)
    if configured:
        return Path(configured)
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "ontomap" / "store"


@dataclass(frozen=True, slots=True)
class LoadSummary:
    """What :meth:`Store.load` did."""

    added: int
    replaced: int
    quads: int


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """Where a model in the store came from."""

    oifm_id: str
    path: str
    format: str


_META = f"<{META_GRAPH.value}>"
_CODES = f"<{CODES_GRAPH.value}>"

#: Batches converted but not yet bulk-loaded, at most: each holds its N-Quads in memory, so
#: without a bound a fast reader queues the whole corpus (3.9 GB at 238,000 models).
_IN_FLIGHT = 2

#: A load of at least this many batches ends by compacting the database (``optimize``). Each
#: bulk load adds its own files, each spanning the whole key space, and a read looks into every
#: one: on the corpus (7 batches) compacting takes 0.66 s and makes reading the whole store 1.9x
#: as fast (`findings-with-code` 1.86x, `findings-by-tag` 2.05x); at 10x, 5.9 s and 2.4x. A
#: load of one batch (a few models added to a large store) skips it, since compacting rewrites
#: the whole database.
_COMPACT_AFTER = 2
#: Removes the concepts no model links to any more, then the schemes left without a concept.
_PRUNE_CODES = sparql_text("ontomap", "store-prune-codes.rq")
#: Each model's OIFM ID, source file and format.
_SOURCES = sparql_text("ontomap", "store-sources.rq")
#: One model's graph (``?graph``) with the concepts and schemes it uses.
_MODEL_GRAPH = sparql_text("ontomap", "store-model-graph.rq")
#: The models' graphs, asked of the named graphs that :func:`is_model_content` keeps (not the
#: bookkeeping, crosswalk and release graphs: a query that filtered ``?g`` would read every
#: quad of the releases too).
_UNION = sparql_text("ontomap", "store-models.rq")


class Store:
    """An Oxigraph store on disk holding finding models, one named graph per model.

    ``Store(path, read_only=True)`` reads the store's current generation (or the one named by
    ``generation``) and keeps reading it, whatever writers do meanwhile, until :meth:`close`.

    ``Store(path)`` (created if missing) prepares the store's next generation, a copy of the
    current one: what is written goes there, and :meth:`close` (or leaving the ``with`` block
    normally) makes it current in one atomic step; :meth:`abort` (or an exception leaving the
    ``with`` block) discards it. Until then readers see the store as it was. One writer at a
    time: another one gets :class:`StoreBusyError`. See :mod:`ontomap.generations`.
    """

    def __init__(
        self,
        path: Path | str | None = None,
        *,
        read_only: bool = False,
        generation: str | None = None,
    ) -> None:
        self._store: ox.Store | None = None  # None once closed
        self.path = Path(path) if path is not None else default_store_path()
        self.read_only = read_only
        self._read: ReadLease | None = None
        self._write: WriteLease | None = None
        if read_only:
            self._read = ReadLease.acquire(self.path, generation)
            self.generation = self._read.name
            self._store = self._open(self._read.directory, read_only=True)
            return
        if generation is not None:
            raise StoreError("a generation is chosen only when reading; a write makes a new one")
        self._write = WriteLease(self.path)
        try:
            self.generation = self._write.name
            if self._write.base is not None:
                with Store(self.path, read_only=True, generation=self._write.base) as current:
                    current.oxigraph.backup(str(self._write.directory))
            self._store = self._open(self._write.directory, read_only=False)
        except BaseException:
            self._write.abort()
            raise

    def _open(self, directory: Path, read_only: bool) -> ox.Store:
        try:
            if read_only:
                return ox.Store.read_only(str(directory))
            return ox.Store(str(directory))
        except (OSError, RuntimeError) as exc:
            if self._read is not None:
                self._read.release()
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StoreError(
                f"cannot open the store at {self.path}: {reason}; if it is damaged, rebuild it "
                f"with 'ontomap build SOURCES --store {self.path}' into a new folder"
            ) from None

    # -------------------------------------------------------------- context

    def __enter__(self) -> Store:
        return self

    def __exit__(self, exc_type: object, *exc_info: object) -> None:
        if exc_type is not None and not self.read_only:
            self.abort()
        else:
            self.close()

    def close(self) -> None:
        """Release the store; a writable store commits its new generation first."""
        if self._store is None:
            return
        if self.read_only:
            self._release()
        else:
            self.commit()

    def commit(self) -> str:
        """Make what was written the store's current generation, atomically; returns its name.
        The store is closed afterwards."""
        if self._write is None or self._store is None:
            raise StoreError(f"the store at {self.path} is not open for writing")
        self.oxigraph.flush()
        self._store = None
        return self._write.commit()

    def abort(self) -> None:
        """Discard what was written (the current generation stays as it was) and close."""
        if self._store is None:
            return
        self._store = None
        if self._write is not None:
            self._write.abort()

    def _release(self) -> None:
        self._store = None
        if self._read is not None:
            self._read.release()

    @property
    def oxigraph(self) -> ox.Store:
        """The underlying :class:`pyoxigraph.Store` (for SPARQL and advanced use)."""
        if self._store is None:
            raise StoreError(f"the store at {self.path} is closed")
        return self._store

    # -------------------------------------------------------------- bookkeeping

    @property
    def base_iri(self) -> str | None:
        """The base IRI the store's models were built with (``None`` for an empty store)."""
        for quad in self.oxigraph.quads_for_pattern(META_GRAPH, OIFM.baseIri, None, META_GRAPH):
            if not isinstance(quad.object, ox.Triple):  # an xsd:anyURI literal, as built
                return quad.object.value
        return None

    def sources(self) -> dict[str, SourceInfo]:
        """Each model's OIFM ID → the file and format it was loaded from."""
        out = {}
        for row in _select(self.oxigraph.query(_SOURCES)):
            oifm_id = row["id"].value
            out[oifm_id] = SourceInfo(oifm_id, row["file"].value, row["format"].value)
        return dict(sorted(out.items()))

    def model_ids(self) -> list[str]:
        """OIFM IDs of the models in the store, sorted."""
        return list(self.sources())

    def __len__(self) -> int:
        """Number of quads in the store (all graphs)."""
        return len(self.oxigraph)

    # -------------------------------------------------------------- writing

    def load(
        self,
        sources: Iterable[SourceModel],
        base_iri: str | None = None,
        progress: Callable[[int], None] | None = None,
        batch_size: int = 400,
    ) -> LoadSummary:
        """Load models, replacing any model with the same OIFM ID already in the store.

        ``sources`` may be a lazy iterable (e.g. a :class:`~ontomap.readers.ModelStream`):
        models are converted in batches and each batch is bulk-loaded by a background thread
        while the next one is read. ``base_iri`` defaults to the store's own (or ontomap's
        default for a new store); a store cannot mix base IRIs. ``progress`` is called with the
        number of models handed to the store so far. A load of more than one batch ends by
        compacting the database (see ``_COMPACT_AFTER``).
        """
        if self.read_only:
            raise StoreError(f"the store at {self.path} is open read-only")
        current = self.base_iri
        base = base_iri or current or DEFAULT_BASE_IRI
        if current is not None and current != base:
            raise StoreError(
                f"the store at {self.path} was built with base IRI {current}; "
                f"use --base-iri {current} or another store for {base}"
            )
        existing = set(self.model_ids())
        from ontomap.crosswalk import CrosswalkUpdate

        crosswalk = CrosswalkUpdate(self)
        sources = crosswalk.watch(sources)
        builder = GraphBuilder(base)
        emitted_codes: set[IndexCode] = set()
        added = replaced = quads = done = batches = 0
        pending: list[Future[None]] = []
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="ontomap-load") as pool:
            loaded_now: set[str] = set()
            for raw_batch in _batches(sources, batch_size):
                batch = list({s.model.oifm_id: s for s in raw_batch}.values())  # last one wins
                replaced += len(raw_batch) - len(batch)
                for source in batch:
                    oifm_id = source.model.oifm_id
                    if oifm_id in loaded_now:  # given again in this load: the later one wins
                        for future in pending:
                            future.result()
                    if oifm_id in existing:
                        self._drop_model(oifm_id)
                        replaced += 1
                    else:
                        added += 1
                        existing.add(oifm_id)
                    loaded_now.add(oifm_id)
                lines, codes = builder.store_nquads(batch)
                new_codes = [code for code in codes if code not in emitted_codes]
                emitted_codes.update(new_codes)
                lines.extend(
                    line[:-3] + f" {_CODES} .\n"
                    for line in builder.code_lines(new_codes, labels=False)
                )
                lines.extend(self._meta_lines(batch, builder))
                quads += len(lines)
                pending.append(pool.submit(self._bulk_load, "".join(lines).encode()))
                while len(pending) > _IN_FLIGHT:  # reading outpaces Oxigraph: wait for it
                    pending.pop(0).result()
                done += len(batch)
                batches += 1
                if progress is not None:
                    progress(done)
            pending.append(pool.submit(self._bulk_load, self._base_line(base).encode()))
            for future in pending:
                future.result()
        # The crosswalk of the models now in the store, in this same write; before pruning, so
        # that the previous crosswalk graph keeps no unused concept alive.
        crosswalk.apply()
        if replaced:
            self.oxigraph.update(_PRUNE_CODES)
        self.oxigraph.flush()
        if batches >= _COMPACT_AFTER:
            self.oxigraph.optimize()
        return LoadSummary(added, replaced, quads)

    def _bulk_load(self, data: bytes) -> None:
        # The graph builder only writes terms it has checked (OIFM ID patterns, the base IRI,
        # percent-encoded codes, escaped literals), so Oxigraph's own re-validation is skipped.
        self.oxigraph.bulk_load(data, format=ox.RdfFormat.N_QUADS, lenient=True)

    def drop_graphs(self, graphs: Iterable[ox.NamedNode]) -> None:
        """Remove named graphs from the generation being written.

        Oxigraph removes a graph's quads one by one in one transaction: minutes and gigabytes
        for a graph of millions of quads (a SNOMED CT release). When the graphs hold more than
        :attr:`REWRITE_ABOVE` quads, the generation is rewritten without them instead: every
        other graph is bulk-loaded into a fresh database (time and memory bounded by the
        rest of the store), which then takes the generation's place.
        """
        if self._write is None or self.read_only:
            raise StoreError(f"the store at {self.path} is open read-only")
        wanted = {g.value for g in graphs}
        present = [g for g in self.oxigraph.named_graphs() if g.value in wanted]
        if not present:
            return
        limit = self.REWRITE_ABOVE
        size = 0
        for graph in present:
            size += sum(
                1
                for _ in islice(self.oxigraph.quads_for_pattern(None, None, None, graph), limit + 1)
            )
            if size > limit:
                self._rewrite_without({g.value for g in present})
                return
        for graph in present:
            self.oxigraph.remove_graph(graph)

    #: Quads above which :meth:`drop_graphs` rewrites the generation rather than deleting.
    REWRITE_ABOVE = 20_000

    def _rewrite_without(self, dropped: set[str]) -> None:
        assert self._write is not None
        directory = self._write.directory  # NNNNNN.part
        fresh_dir = directory.with_name(directory.name.removesuffix(".part") + ".rewrite.part")
        shutil.rmtree(fresh_dir, ignore_errors=True)
        try:
            _copy_graphs(self.oxigraph, fresh_dir, dropped, self.REWRITE_ABOVE)
        except BaseException:
            shutil.rmtree(fresh_dir, ignore_errors=True)
            raise
        self._store = None  # closes the old database
        shutil.rmtree(directory)
        os.replace(fresh_dir, directory)
        self._store = self._open(directory, read_only=False)

    def _drop_model(self, oifm_id: str) -> None:
        graph = model_graph_iri(oifm_id)
        self.oxigraph.remove_graph(graph)
        for quad in list(self.oxigraph.quads_for_pattern(graph, None, None, META_GRAPH)):
            self.oxigraph.remove(quad)

    @staticmethod
    def _base_line(base: str) -> str:
        return (
            f"{_META} {iri(OIFM.baseIri.value)} {typed_literal(base, XSD.anyURI.value)} {_META} .\n"
        )

    @staticmethod
    def _meta_lines(sources: list[SourceModel], builder: GraphBuilder) -> list[str]:
        out = []
        for source in sources:
            record = iri(model_graph_iri(source.model.oifm_id).value)
            out.append(f"{record} {iri(RDF.type.value)} {iri(OIFM.SourceRecord.value)} {_META} .\n")
            finding = builder.iri(source.model.oifm_id)
            out.append(f"{record} {iri(OIFM.describes.value)} {finding} {_META} .\n")
            out.append(
                f"{record} {iri(OIFM.sourceFile.value)} "
                f"{literal(str(source.path.resolve()))} {_META} .\n"
            )
            out.append(
                f"{record} {iri(OIFM.sourceFormat.value)} {literal(source.format)} {_META} .\n"
            )
        return out

    # -------------------------------------------------------------- reading

    def graph(self) -> KnowledgeGraph:
        """Everything the store holds about its models (bookkeeping and crosswalk excluded), as
        one graph."""
        graphs = [g for g in self.oxigraph.named_graphs() if is_model_content(g)]
        if not graphs:
            return KnowledgeGraph((), self.base_iri)
        result = self.oxigraph.query(_UNION, named_graphs=graphs)
        return KnowledgeGraph(_ntriples(result), self.base_iri)

    def blocks(self) -> Iterator[Block]:
        """What :meth:`graph` holds, one graph at a time, as subject blocks (each in canonical
        order; a subject in several graphs comes in several blocks): for writing the graph in
        bounded memory (:func:`ontomap.exporters.streaming.write_blocks`)."""
        for graph in self.oxigraph.named_graphs():
            if not is_model_content(graph):
                continue
            quads = self.oxigraph.quads_for_pattern(None, None, None, graph)
            data = ox.serialize(quads, format=ox.RdfFormat.N_QUADS)
            assert data is not None  # written to bytes when no output is given
            cut = len(f" {graph} .\n")
            groups: dict[str, list[str]] = {}
            for line in lines_of(data):
                triple = line[:-cut] + " .\n"
                groups.setdefault(triple[: triple.index(" ")], []).append(triple)
            for subject, lines in groups.items():
                yield subject, canonical_order(lines)

    def dataset(self) -> Dataset:
        """The store's models as it holds them: one named graph per model and the codes graph
        (bookkeeping, crosswalk and releases excluded)."""
        lines: list[str] = []
        for graph in self.oxigraph.named_graphs():
            if is_model_content(graph):
                quads = self.oxigraph.quads_for_pattern(None, None, None, graph)
                data = ox.serialize(quads, format=ox.RdfFormat.N_QUADS)
                assert data is not None  # written to bytes when no output is given
                lines.extend(lines_of(data))
        return Dataset(lines, self.base_iri)

    def model_graph(self, oifm_id: str) -> KnowledgeGraph:
        """One model's graph: its own named graph plus the concepts and schemes it uses."""
        graph = model_graph_iri(oifm_id)
        result = self.oxigraph.query(_MODEL_GRAPH, substitutions={ox.Variable("graph"): graph})
        return KnowledgeGraph(_ntriples(result), self.base_iri)


def _select(result: ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples) -> ox.QuerySolutions:
    """The solutions of one of the store's own SELECT queries."""
    assert isinstance(result, ox.QuerySolutions)
    return result


def _ntriples(result: ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples) -> list[str]:
    """The triples of one of the store's own CONSTRUCT queries, as N-Triples lines."""
    assert isinstance(result, ox.QueryTriples)
    data = result.serialize(format=ox.RdfFormat.N_TRIPLES)
    assert data is not None  # written to bytes when no output is given
    return lines_of(data)


def _copy_graphs(old: ox.Store, directory: Path, dropped: set[str], big: int) -> None:
    """Bulk-load every graph of ``old`` but ``dropped`` into a new database at ``directory``:
    graphs of ``big`` quads or more through an N-Triples file, the others in N-Quads chunks."""
    fresh = ox.Store(str(directory))
    # In a folder of its own whose *.part name a later writer removes if this one dies.
    scratch = directory.with_name(directory.name.removesuffix(".part") + ".dump.part")
    scratch.mkdir(exist_ok=True)
    dump = scratch / "graph.nt"
    small: list[ox.NamedNode | ox.BlankNode] = []
    try:
        for graph in old.named_graphs():
            if graph.value in dropped:
                continue
            if sum(1 for _ in islice(old.quads_for_pattern(None, None, None, graph), big)) < big:
                small.append(graph)
                continue
            old.dump(str(dump), format=ox.RdfFormat.N_TRIPLES, from_graph=graph)
            fresh.bulk_load(
                path=str(dump), format=ox.RdfFormat.N_TRIPLES, to_graph=graph, lenient=True
            )
        default = old.quads_for_pattern(None, None, None, ox.DefaultGraph())
        lines = [f"{q.subject} {q.predicate} {q.object} .\n" for q in default]
        for graph in small:
            name = str(graph)
            for q in old.quads_for_pattern(None, None, None, graph):
                lines.append(f"{q.subject} {q.predicate} {q.object} {name} .\n")
                if len(lines) >= 200_000:
                    fresh.bulk_load("".join(lines).encode(), format=ox.RdfFormat.N_QUADS)
                    lines = []
        if lines:
            fresh.bulk_load("".join(lines).encode(), format=ox.RdfFormat.N_QUADS)
        fresh.flush()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
