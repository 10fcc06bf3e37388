"""Exporters: one per output format, registered in :data:`EXPORTERS`.

Every exporter writes deterministic bytes (same graph, same file) and :func:`export` writes
atomically. The CLI's ``--format`` choices are the keys of :data:`EXPORTERS`. Most write a
:class:`~ontomap.graph.KnowledgeGraph`; the dataset formats (``nquads``, ``trig``, marked
``dataset``) write a :class:`~ontomap.graph.Dataset`, one named graph per model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ontomap.atomic import atomic_write
from ontomap.errors import UnknownFormatError
from ontomap.exporters.jsonld import write_jsonld
from ontomap.exporters.owl import write_owl_turtle, write_owl_xml
from ontomap.exporters.rdf import (
    write_nquads,
    write_ntriples,
    write_rdfxml,
    write_trig,
    write_turtle,
)
from ontomap.graph import Dataset, KnowledgeGraph


@dataclass(frozen=True, slots=True)
class Exporter:
    """An output format: its name, file-name endings, media type and writer. ``dataset``:
    it writes a :class:`~ontomap.graph.Dataset` (named graphs), not a graph."""

    name: str
    extensions: tuple[str, ...]
    media_type: str
    write: Callable[[Any, BinaryIO], None]
    description: str = ""
    dataset: bool = False


EXPORTERS: dict[str, Exporter] = {
    "turtle": Exporter(
        "turtle",
        (".ttl", ".turtle"),
        "text/turtle",
        write_turtle,
        "Turtle, grouped by subject, only the prefixes used",
    ),
    "ntriples": Exporter(
        "ntriples",
        (".nt",),
        "application/n-triples",
        write_ntriples,
        "N-Triples, one triple per line, lines sorted",
    ),
    "nquads": Exporter(
        "nquads",
        (".nq",),
        "application/n-quads",
        write_nquads,
        "N-Quads: one named graph per model and the codes graph, as a store holds them",
        dataset=True,
    ),
    "trig": Exporter(
        "trig",
        (".trig",),
        "application/trig",
        write_trig,
        "TriG: the same named graphs, grouped by subject",
        dataset=True,
    ),
    "rdfxml": Exporter(
        "rdfxml",
        (),
        "application/rdf+xml",
        write_rdfxml,
        "plain RDF/XML of the graph (not the OWL ontology)",
    ),
    "jsonld": Exporter(
        "jsonld",
        (".jsonld", ".json-ld"),
        "application/ld+json",
        write_jsonld,
        "JSON-LD with a @context of the prefixes used",
    ),
    "owl": Exporter(
        "owl",
        (".owl", ".rdf"),
        "application/rdf+xml",
        write_owl_xml,
        "OWL 2 DL ontology in RDF/XML (owlready2; see docs/owl.md)",
    ),
    "owl-ttl": Exporter(
        "owl-ttl",
        (),
        "text/turtle",
        write_owl_turtle,
        "OWL 2 DL ontology in Turtle (owlready2; see docs/owl.md)",
    ),
}


def exporter_for(path: Path | str | None = None, fmt: str | None = None) -> Exporter:
    """The exporter named ``fmt``, or else the one whose extension ``path`` ends with."""
    if fmt is not None:
        try:
            return EXPORTERS[fmt]
        except KeyError:
            raise UnknownFormatError(fmt, EXPORTERS) from None
    name = Path(path).name.lower() if path is not None else ""
    for exporter in EXPORTERS.values():
        if name.endswith(exporter.extensions):
            return exporter
    raise UnknownFormatError(name or "(no file name)", EXPORTERS)


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
