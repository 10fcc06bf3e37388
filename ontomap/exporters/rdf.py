"""Turtle and N-Triples exporters (serialised by Oxigraph)."""

from __future__ import annotations

from typing import BinaryIO

import pyoxigraph as ox

from ontomap.graph import KnowledgeGraph


def used_prefixes(body: bytes, prefixes: dict[str, str]) -> dict[str, str]:
    """The prefixes whose ``name:`` starts a prefixed name somewhere in a Turtle body (after
    white space, a list separator or ``^^``), sorted by name."""
    used = {}
    for name in sorted(prefixes):
        token = name.encode() + b":"
        if body.startswith(token) or any(
            lead + token in body for lead in (b" ", b"\t", b"\n", b"^^", b",", b"(", b"[")
        ):
            used[name] = prefixes[name]
    return used


def write_turtle(graph: KnowledgeGraph, handle: BinaryIO) -> None:
    """Turtle grouped by subject in canonical order, declaring only the prefixes it uses
    (sorted by name), so the same graph always gives the same bytes."""
    text = ox.serialize(graph.triples(), format=ox.RdfFormat.TURTLE, prefixes=graph.prefixes)
    start = 0
    while text.startswith(b"@prefix ", start):
        start = text.index(b"\n", start) + 1
    body = memoryview(text)[start:]
    used = used_prefixes(bytes(body), graph.prefixes)
    header = "".join(f"@prefix {name}: <{ns}> .\n" for name, ns in used.items())
    handle.write(header.encode())
    if header and body:
        handle.write(b"\n")
    handle.write(body)


def write_ntriples(graph: KnowledgeGraph, handle: BinaryIO) -> None:
    """N-Triples, one triple per line, lines sorted."""
    handle.write("".join(sorted(graph.lines)).encode())
