"""Exporters: one per output format, registered in :data:`EXPORTERS`.

Every exporter writes deterministic bytes (same graph, same file) and :func:`export` writes
atomically. The CLI's ``--format`` choices are the keys of :data:`EXPORTERS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ontomap.atomic import atomic_write
from ontomap.errors import UnknownFormatError
from ontomap.exporters.jsonld import write_jsonld
from ontomap.exporters.owl import write_owl_turtle, write_owl_xml
from ontomap.exporters.rdf import write_ntriples, write_turtle
from ontomap.graph import KnowledgeGraph


@dataclass(frozen=True, slots=True)
class Exporter:
    """An output format: its name, file-name endings, media type and writer."""

    name: str
    extensions: tuple[str, ...]
    media_type: str
    write: Callable[[KnowledgeGraph, BinaryIO], None]
    description: str = ""


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


def export(graph: KnowledgeGraph, path: Path | str, fmt: str | None = None) -> Exporter:
    """Write ``graph`` to ``path`` atomically, in ``fmt`` or the format its extension names
    (see :func:`~ontomap.atomic.atomic_write`: permissions and links are kept); a path that
    cannot be written raises :class:`~ontomap.errors.OutputError`."""
    exporter = exporter_for(path, fmt)
    with atomic_write(path) as handle:
        exporter.write(graph, handle)
    return exporter


def serialize(graph: KnowledgeGraph, fmt: str) -> bytes:
    """The bytes ``fmt`` would write for ``graph``."""
    import io

    buffer = io.BytesIO()
    exporter_for(fmt=fmt).write(graph, buffer)
    return buffer.getvalue()
