"""Exporters: one per output format, registered in :data:`EXPORTERS`.

Every exporter writes deterministic bytes (same graph, same file) and :func:`export` writes
atomically. The CLI's ``--format`` choices are the names of :data:`EXPORTERS` (a
:class:`~ontomap.formats.FormatRegistry`, which also knows their aliases). Most write a
:class:`~ontomap.graph.KnowledgeGraph`; the dataset formats (``nquads``, ``trig``, marked
``dataset``) write a :class:`~ontomap.graph.Dataset`, one named graph per model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ontomap.atomic import atomic_write
from ontomap.exporters.jsonld import write_jsonld
from ontomap.exporters.owl import write_owl_turtle, write_owl_xml
from ontomap.exporters.rdf import (
    write_nquads,
    write_ntriples,
    write_rdfxml,
    write_trig,
    write_turtle,
)
from ontomap.formats import Format, FormatRegistry
from ontomap.graph import Dataset, KnowledgeGraph

#: A writer of a graph (or, for the dataset formats, of a :class:`~ontomap.graph.Dataset`):
#: ``write(graph, binary_handle)``; what it returns is not used.
GraphWriter = Callable[[Any, BinaryIO], object]


@dataclass(frozen=True, slots=True)
class Exporter(Format[GraphWriter]):
    """An output format: its name, writer, file-name endings, media types and aliases.
    ``dataset``: it writes a :class:`~ontomap.graph.Dataset` (named graphs), not a graph."""

    dataset: bool = False

    @property
    def write(self) -> GraphWriter:
        """The writer: ``write(graph, binary_handle)``."""
        return self.handler


EXPORTERS: FormatRegistry[Exporter] = FormatRegistry(
    [
        Exporter(
            "turtle",
            write_turtle,
            (".ttl", ".turtle"),
            ("text/turtle", "application/x-turtle"),
            ("ttl",),
            "Turtle, grouped by subject, only the prefixes used",
        ),
        Exporter(
            "ntriples",
            write_ntriples,
            (".nt",),
            ("application/n-triples",),
            ("nt", "n-triples"),
            "N-Triples, one triple per line, lines sorted",
        ),
        Exporter(
            "nquads",
            write_nquads,
            (".nq",),
            ("application/n-quads",),
            ("nq", "n-quads"),
            "N-Quads: one named graph per model and the codes graph, as a store holds them",
            dataset=True,
        ),
        Exporter(
            "trig",
            write_trig,
            (".trig",),
            ("application/trig",),
            (),
            "TriG: the same named graphs, grouped by subject",
            dataset=True,
        ),
        Exporter(
            "rdfxml",
            write_rdfxml,
            (),
            ("application/rdf+xml",),
            ("rdf+xml", "rdf/xml"),
            "plain RDF/XML of the graph (not the OWL ontology)",
        ),
        Exporter(
            "jsonld",
            write_jsonld,
            (".jsonld", ".json-ld"),
            ("application/ld+json",),
            ("json-ld",),
            "JSON-LD with a @context of the prefixes used",
        ),
        # the same media types as rdfxml and turtle, which come first and keep them
        Exporter(
            "owl",
            write_owl_xml,
            (".owl", ".rdf"),
            ("application/rdf+xml",),
            (),
            "OWL 2 DL ontology in RDF/XML (see docs/owl.md)",
        ),
        Exporter(
            "owl-ttl",
            write_owl_turtle,
            (),
            ("text/turtle",),
            ("owl-turtle",),
            "OWL 2 DL ontology in Turtle (see docs/owl.md)",
        ),
    ]
)


def exporter_for(path: Path | str | None = None, fmt: str | None = None) -> Exporter:
    """The exporter ``fmt`` names (:meth:`~ontomap.formats.FormatRegistry.get`: name, alias
    or media type), or else the one whose extension ``path`` ends with; raises
    :class:`~ontomap.errors.UnknownFormatError` otherwise."""
    if fmt is not None:
        return EXPORTERS.get(fmt)
    return EXPORTERS.for_path(path)


def _content(exporter: Exporter, graph: KnowledgeGraph | Dataset) -> KnowledgeGraph | Dataset:
    if exporter.dataset and not isinstance(graph, Dataset):
        raise TypeError(f"{exporter.name} writes a Dataset (named graphs), not a graph")
    if isinstance(graph, Dataset) and not exporter.dataset:
        lines = (line[:-3].rsplit(" ", 1)[0] + " .\n" for line in graph.lines)
        union = KnowledgeGraph(lines, None)
        union.prefixes = graph.prefixes
        return union
    return graph


def export(graph: KnowledgeGraph | Dataset, path: Path | str, fmt: str | None = None) -> Exporter:
    """Write ``graph`` to ``path`` atomically, in ``fmt`` or the format its extension names
    (see :func:`~ontomap.atomic.atomic_write`: permissions and links are kept); a path that
    cannot be written raises :class:`~ontomap.errors.OutputError`. A
    :class:`~ontomap.graph.Dataset` may go to any format (a graph format writes the union of
    its graphs); the dataset formats need one."""
    exporter = exporter_for(path, fmt)
    content = _content(exporter, graph)
    with atomic_write(path) as handle:
        exporter.write(content, handle)
    return exporter


def serialize(graph: KnowledgeGraph | Dataset, fmt: str) -> bytes:
    """The bytes ``fmt`` would write for ``graph``."""
    import io

    buffer = io.BytesIO()
    exporter = exporter_for(fmt=fmt)
    exporter.write(_content(exporter, graph), buffer)
    return buffer.getvalue()
