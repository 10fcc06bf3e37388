"""Content negotiation for the SPARQL endpoint: which serialisation a client gets.

The formats are pyoxigraph's own (:class:`pyoxigraph.QueryResultsFormat` for SELECT and ASK,
:class:`pyoxigraph.RdfFormat` for CONSTRUCT, DESCRIBE and Graph Store reads), so every answer is
written by Oxigraph and is standard. A client picks one with the ``Accept`` header (q-values
honoured) or with a ``format=`` parameter (also spelled ``output=`` or ``results=``, as clients
such as SPARQLWrapper send them): the first value that names an offer, by short name, alias or
media type, wins; values that name none are ignored and ``Accept`` decides, as the common
servers do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TypeAlias

import pyoxigraph as ox

from ontomap.formats import Format, FormatRegistry
from ontomap.sparql import RESULT_FORMATS as _RESULTS

__all__ = [
    "GRAPH_FORMATS",
    "RESULT_FORMATS",
    "Offer",
    "choose",
    "content_type",
    "names",
    "offer_named",
    "offers",
    "parse_accept",
]


#: SELECT and ASK results: the registry of :mod:`ontomap.sparql` (its order is the server's
#: preference; the first is the default).
RESULT_FORMATS: FormatRegistry[Format[ox.QueryResultsFormat]] = _RESULTS

#: CONSTRUCT and DESCRIBE results and graphs, in the server's order of preference. ``json``
#: and ``xml`` name JSON-LD and RDF/XML here, the SPARQL results formats for a table.
GRAPH_FORMATS: FormatRegistry[Format[ox.RdfFormat]] = FormatRegistry(
    [
        Format(
            "turtle", ox.RdfFormat.TURTLE, (), ("text/turtle", "application/x-turtle"), ("ttl",)
        ),
        Format(
            "ntriples",
            ox.RdfFormat.N_TRIPLES,
            (),
            ("application/n-triples", "text/plain"),
            ("nt", "n-triples"),
        ),
        Format(
            "jsonld",
            ox.RdfFormat.JSON_LD,
            (),
            ("application/ld+json",),
            ("json-ld", "json", "application/json"),
        ),
        Format(
            "rdfxml",
            ox.RdfFormat.RDF_XML,
            (),
            ("application/rdf+xml",),
            ("rdf", "rdf+xml", "rdf/xml", "xml"),
        ),
        Format("nquads", ox.RdfFormat.N_QUADS, (), ("application/n-quads",), ("nq", "n-quads")),
        Format("trig", ox.RdfFormat.TRIG, (), ("application/trig",)),
        Format("n3", ox.RdfFormat.TURTLE, (), ("text/n3",), ("text/rdf+n3",)),
    ]
)

Registry: TypeAlias = (
    FormatRegistry[Format[ox.QueryResultsFormat]] | FormatRegistry[Format[ox.RdfFormat]]
)


@dataclass(frozen=True, slots=True)
class Offer:
    """A serialisation the server can write: its media type, short name and pyoxigraph format."""

    media_type: str
    name: str
    format: ox.QueryResultsFormat | ox.RdfFormat


@cache
def offers(registry: Registry) -> tuple[Offer, ...]:
    """The offers of a registry in the server's order of preference: every format's first
    media type in the registry's order, then the second ones, and so on."""
    formats = registry.values()
    depth = max((len(f.media_types) for f in formats), default=0)
    return tuple(
        Offer(f.media_types[i], f.name, f.handler)
        for i in range(depth)
        for f in formats
        if i < len(f.media_types)
    )


def parse_accept(header: str | None) -> list[tuple[str, float]]:
    """The media ranges of an ``Accept`` header with their q-values, parameters dropped.

    A missing or empty header accepts anything (``*/*``). Ranges with an unreadable q-value
    count as q=1, as most servers do.
    """
    if not header or not header.strip():
        return [("*/*", 1.0)]
    out = []
    for part in header.split(","):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        if not media:
            continue
        if "/" not in media:
            media = "*/*" if media == "*" else f"{media}/*"
        q = 1.0
        for parameter in fields[1:]:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = max(0.0, min(1.0, float(value)))
                except ValueError:
                    q = 1.0
        out.append((media, q))
    return out


def _quality(media_type: str, ranges: list[tuple[str, float]]) -> float:
    """The q-value the most specific matching range gives ``media_type`` (0: not accepted)."""
    kind = media_type.split("/")[0]
    best: tuple[int, float] | None = None
    for media, q in ranges:
        if media == media_type:
            rank = 2
        elif media == f"{kind}/*":
            rank = 1
        elif media == "*/*":
            rank = 0
        else:
            continue
        if best is None or rank > best[0]:
            best = (rank, q)
    return best[1] if best is not None else 0.0


def offer_named(registry: Registry, value: str) -> Offer | None:
    """The offer a ``format=`` value names (short name, alias or media type, parameters and
    case ignored), ``None`` if it names none of ``registry``'s formats. A media type gives its
    own offer, any other spelling the format's first."""
    wanted = value.split(";")[0].strip().lower()
    found = registry.find(wanted)
    if found is None:
        return None
    media_type = next((m for m in found.media_types if m.lower() == wanted), found.media_type)
    return Offer(media_type, found.name, found.handler)


def choose(
    registry: Registry, accept: str | None, format_names: Sequence[str] = ()
) -> Offer | None:
    """The offer a client gets: the first of ``format_names`` that names a format of
    ``registry`` (:func:`offer_named`), else the acceptable offer (:func:`offers`) with the
    highest q-value, the server's order breaking ties; ``None`` when nothing acceptable is
    offered (answer 406)."""
    if isinstance(format_names, str):
        format_names = (format_names,)
    for value in format_names:
        named = offer_named(registry, value)
        if named is not None:
            return named
    ranges = parse_accept(accept)
    best: Offer | None = None
    best_q = 0.0
    for offer in offers(registry):
        q = _quality(offer.media_type, ranges)
        if q > best_q:
            best, best_q = offer, q
    return best


def content_type(offer: Offer) -> str:
    """The ``Content-Type`` header for an answer in ``offer`` (UTF-8 for text types)."""
    if offer.media_type.startswith("text/"):
        return f"{offer.media_type}; charset=utf-8"
    return offer.media_type


def names(registry: Registry) -> str:
    """The media types of ``registry``'s offers for an error message."""
    return ", ".join(dict.fromkeys(offer.media_type for offer in offers(registry)))
