"""Turtle and N-Triples exporters (serialised by Oxigraph)."""

from __future__ import annotations

import re
from typing import BinaryIO

import pyoxigraph as ox

from ontomap.graph import KnowledgeGraph

_STRING = re.compile(rb'"(?:[^"\\\n]|\\.)*"')


def used_prefixes(body: bytes, prefixes: dict[str, str]) -> dict[str, str]:
    """The prefixes whose ``name:`` starts a prefixed name in a Turtle body (string literals
    left out), sorted by name."""
    names = set(
        re.findall(rb"(?:^|[\s,;(\[]|\^\^)([A-Za-z][\w.-]*):", _STRING.sub(b'""', body), re.M)
    )
    return {name: prefixes[name] for name in sorted(prefixes) if name.encode() in names}


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
