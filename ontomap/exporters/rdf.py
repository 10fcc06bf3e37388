"""Turtle, N-Triples and RDF/XML exporters of a graph, N-Quads and TriG of a dataset
(serialised by Oxigraph)."""

from __future__ import annotations

import re
from typing import BinaryIO

import pyoxigraph as ox

from ontomap.errors import ExportError
from ontomap.graph import Dataset, KnowledgeGraph

_STRING = re.compile(rb'"(?:[^"\\\n]|\\.)*"')
#: What XML 1.0 cannot carry, even as a character reference (UTF-8 bytes).
_XML_FORBIDDEN = re.compile(b"[\x00-\x08\x0b\x0c\x0e-\x1f]|\xef\xbf[\xbe\xbf]")


def used_prefixes(body: bytes, prefixes: dict[str, str]) -> dict[str, str]:
    """The prefixes whose ``name:`` starts a prefixed name in a Turtle body (string literals
    left out), sorted by name."""
    if not any(name.encode() + b":" in body for name in prefixes):
        return {}  # the common case of a chunk once its prefixes are known: no scan
    names = set(
        re.findall(rb"(?:^|[\s,;(\[]|\^\^)([A-Za-z][\w.-]*):", _STRING.sub(b'""', body), re.M)
    )
    return {name: prefixes[name] for name in sorted(prefixes) if name.encode() in names}


def write_turtle(graph: KnowledgeGraph, handle: BinaryIO) -> None:
    """Turtle grouped by subject in canonical order, declaring only the prefixes it uses
    (sorted by name), so the same graph always gives the same bytes."""
    text = ox.serialize(graph.triples(), format=ox.RdfFormat.TURTLE, prefixes=graph.prefixes) or b""
    _write_prefixed(text, graph.prefixes, handle)


def write_trig(dataset: Dataset, handle: BinaryIO) -> None:
    """TriG: one block per named graph (the codes graph, then the models by ID), each grouped
    by subject in canonical order, declaring only the prefixes it uses."""
    text = ox.serialize(dataset.quads(), format=ox.RdfFormat.TRIG, prefixes=dataset.prefixes) or b""
    _write_prefixed(text, dataset.prefixes, handle)


def write_nquads(dataset: Dataset, handle: BinaryIO) -> None:
    """N-Quads, graph by graph in the dataset's order."""
    handle.write(dataset.nquads())


def write_rdfxml(graph: KnowledgeGraph, handle: BinaryIO) -> None:
    """Plain RDF/XML of the graph (the triples as they are; the OWL ontology is ``owl``),
    declaring the prefixes of the namespaces its IRIs use."""
    used = "".join(graph.lines)
    prefixes = {name: ns for name, ns in sorted(graph.prefixes.items()) if f"<{ns}" in used}
    data = ox.serialize(graph.triples(), format=ox.RdfFormat.RDF_XML, prefixes=prefixes) or b""
    bad = _XML_FORBIDDEN.search(data)
    if bad is not None:
        line = data.count(b"\n", 0, bad.start()) + 1
        raise ExportError(
            f"a text holds the control character {bad.group()!r} (line {line} of the RDF/XML), "
            "which XML cannot carry; export as turtle, ntriples or jsonld instead"
        )
    # Oxigraph writes a carriage return in a literal as it is, and XML parsers turn it into a
    # line feed; as a character reference it survives. Oxigraph's own markup has no "\r".
    handle.write(data.replace(b"\r", b"&#13;"))


def _write_prefixed(text: bytes, prefixes: dict[str, str], handle: BinaryIO) -> None:
    """Oxigraph's Turtle or TriG ``text`` with only the prefix lines its body uses."""
    start = 0
    while text.startswith(b"@prefix ", start):
        start = text.index(b"\n", start) + 1
    body = memoryview(text)[start:]
    used = used_prefixes(bytes(body), prefixes)
    header = "".join(f"@prefix {name}: <{ns}> .\n" for name, ns in used.items())
    handle.write(header.encode())
    if header and body:
        handle.write(b"\n")
    handle.write(body)


def write_ntriples(graph: KnowledgeGraph, handle: BinaryIO) -> None:
    """N-Triples, one triple per line, lines sorted."""
    handle.write("".join(sorted(graph.lines)).encode())
