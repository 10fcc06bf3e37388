"""Turtle and N-Triples written while the models are read, in bounded memory.

:func:`write_stream` takes models one at a time (as :class:`~ontomap.readers.ModelStream`
yields them), mints each one's subject blocks and hands them to a
:class:`~ontomap.ntriples.BlockSorter`, which keeps up to ``spill_lines`` lines in memory and
sorts the rest in runs on disk. The output is the same bytes as building the whole
:class:`~ontomap.graph.KnowledgeGraph` first and writing it with
:mod:`ontomap.exporters.rdf`: N-Triples lines sorted as text, Turtle grouped by subject in
canonical order with only the prefixes it uses. Memory no longer grows with the corpus: what
stays is the buffer, the index codes met (their concepts are written last) and any Markdown
model whose JSON may still come.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Iterator
from typing import BinaryIO

import pyoxigraph as ox

from ontomap.exporters.rdf import used_prefixes
from ontomap.graph import GraphBuilder, known_prefixes
from ontomap.model import IndexCode
from ontomap.ntriples import Block, BlockSorter, sorted_key, subject_key
from ontomap.sources import SourceModel
from ontomap.vocab import DEFAULT_BASE_IRI

__all__ = ["DEFAULT_SPILL_LINES", "STREAM_FORMATS", "write_blocks", "write_stream"]

#: The formats :func:`write_stream` writes.
STREAM_FORMATS = ("ntriples", "turtle")

#: Lines held in memory before a sorted run goes to disk: about 100 MB of lines, a little
#: more than the whole OIFM corpus (334 k lines), so a corpus of that size never touches disk.
DEFAULT_SPILL_LINES = 500_000

#: Lines per Turtle chunk handed to Oxigraph. Oxigraph's Turtle of chunks cut between
#: subjects, concatenated, is its Turtle of the whole (tests check it on the corpus).
_TURTLE_CHUNK = 50_000

#: A Turtle body held in memory up to this size, then in a temporary file.
_BODY_IN_MEMORY = 64 << 20


def _model_blocks(
    sources: Iterable[SourceModel], builder: GraphBuilder, codes: dict[IndexCode, None]
) -> Iterator[list[Block]]:
    """Each model's blocks, its index codes added to ``codes``.

    A Markdown model is held back until the end: a JSON model of the same ID that comes
    later replaces it (as :class:`~ontomap.readers.ModelStream` yields it again)."""
    pending: dict[str, SourceModel] = {}
    for source in sources:
        oifm_id = source.model.oifm_id
        if source.format == "markdown":
            pending[oifm_id] = source
            continue
        pending.pop(oifm_id, None)
        blocks, used = builder.entity_blocks(source.model)
        codes.update(used)
        yield blocks
    for oifm_id in sorted(pending):
        blocks, used = builder.entity_blocks(pending[oifm_id].model)
        codes.update(used)
        yield blocks


def write_stream(
    sources: Iterable[SourceModel],
    fmt: str,
    handle: BinaryIO,
    base_iri: str = DEFAULT_BASE_IRI,
    *,
    spill_lines: int = DEFAULT_SPILL_LINES,
    directory: str | None = None,
) -> int:
    """Write the graph of ``sources`` to ``handle`` as ``fmt`` (one of :data:`STREAM_FORMATS`)
    and return how many triples it has. Runs (and a large Turtle body) go to temporary files
    in ``directory`` (default: the system's), removed when done."""
    builder = GraphBuilder(base_iri)
    codes: dict[IndexCode, None] = {}

    def blocks() -> Iterator[Block]:
        for model_blocks in _model_blocks(sources, builder, codes):
            yield from model_blocks
        yield from builder.code_blocks(codes)

    return write_blocks(
        blocks(), fmt, handle, base_iri, spill_lines=spill_lines, directory=directory
    )


def write_blocks(
    blocks: Iterable[Block],
    fmt: str,
    handle: BinaryIO,
    base_iri: str | None = DEFAULT_BASE_IRI,
    *,
    spill_lines: int = DEFAULT_SPILL_LINES,
    directory: str | None = None,
) -> int:
    """Write the graph made of subject ``blocks`` (each in canonical order, a subject possibly
    in several; e.g. :meth:`ontomap.store.Store.blocks`) as ``fmt``, in bounded memory; the
    same bytes as the whole graph's exporter. Returns how many triples it has."""
    if fmt not in STREAM_FORMATS:
        raise ValueError(f"a stream is written as {' or '.join(STREAM_FORMATS)}, not {fmt}")
    key = sorted_key if fmt == "ntriples" else subject_key
    with BlockSorter(key, spill_lines=spill_lines, directory=directory) as sorter:
        sorter.extend(blocks)
        if fmt == "ntriples":
            return _write_ntriples(sorter, handle)
        return _write_turtle(sorter, known_prefixes(base_iri), handle, directory)


def _write_ntriples(sorter: BlockSorter, handle: BinaryIO) -> int:
    written = 0
    for chunk in sorter.chunks():
        handle.write("".join(chunk).encode())
        written += len(chunk)
    return written


def _body(text: bytes) -> memoryview:
    """Oxigraph's Turtle without its ``@prefix`` lines."""
    start = 0
    while text.startswith(b"@prefix ", start):
        start = text.index(b"\n", start) + 1
    return memoryview(text)[start:]


def _write_turtle(
    sorter: BlockSorter, prefixes: dict[str, str], handle: BinaryIO, directory: str | None
) -> int:
    written = 0
    used: dict[str, str] = {}
    with tempfile.SpooledTemporaryFile(_BODY_IN_MEMORY, dir=directory) as body:
        for chunk in sorter.chunks(_TURTLE_CHUNK):
            triples = ox.parse("".join(chunk).encode(), format=ox.RdfFormat.N_TRIPLES)
            text = ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=prefixes)
            assert text is not None  # serialize returns the bytes when given no output
            part = _body(text)
            unseen = {name: prefixes[name] for name in prefixes.keys() - used.keys()}
            used.update(used_prefixes(bytes(part), unseen))
            body.write(part)
            written += len(chunk)
        header = "".join(f"@prefix {name}: <{used[name]}> .\n" for name in sorted(used))
        handle.write(header.encode())
        if header and body.tell():
            handle.write(b"\n")
        body.seek(0)
        shutil.copyfileobj(body, handle, 1 << 20)
    return written
