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

import pyoxigraph as ox

__all__ = [
    "GRAPH_FORMATS",
    "RESULT_FORMATS",
    "Offer",
    "choose",
    "content_type",
    "names",
    "offer_named",
    "parse_accept",
]


@dataclass(frozen=True, slots=True)
class Offer:
    """A serialisation the server can write: its media type, short name and pyoxigraph format."""

    media_type: str
    name: str
    format: ox.QueryResultsFormat | ox.RdfFormat


#: SELECT and ASK results, in the server's order of preference (the first is the default).
RESULT_FORMATS: tuple[Offer, ...] = (
    Offer("application/sparql-results+json", "json", ox.QueryResultsFormat.JSON),
    Offer("application/sparql-results+xml", "xml", ox.QueryResultsFormat.XML),
    Offer("text/csv", "csv", ox.QueryResultsFormat.CSV),
    Offer("text/tab-separated-values", "tsv", ox.QueryResultsFormat.TSV),
    Offer("application/json", "json", ox.QueryResultsFormat.JSON),
    Offer("application/xml", "xml", ox.QueryResultsFormat.XML),
)

#: CONSTRUCT and DESCRIBE results and graphs, in the server's order of preference.
GRAPH_FORMATS: tuple[Offer, ...] = (
    Offer("text/turtle", "turtle", ox.RdfFormat.TURTLE),
    Offer("application/n-triples", "ntriples", ox.RdfFormat.N_TRIPLES),
    Offer("application/ld+json", "jsonld", ox.RdfFormat.JSON_LD),
    Offer("application/rdf+xml", "rdfxml", ox.RdfFormat.RDF_XML),
    Offer("application/n-quads", "nquads", ox.RdfFormat.N_QUADS),
    Offer("application/trig", "trig", ox.RdfFormat.TRIG),
    Offer("text/n3", "n3", ox.RdfFormat.TURTLE),
    Offer("application/x-turtle", "turtle", ox.RdfFormat.TURTLE),
    Offer("text/plain", "ntriples", ox.RdfFormat.N_TRIPLES),
)

#: Other names of the offers (lower-case), for ``format=`` and its spellings. ``json`` and
#: ``xml`` name JSON-LD and RDF/XML for a graph, the SPARQL results formats for a table.
_ALIASES = {
    "ttl": "turtle",
    "nt": "ntriples",
    "n-triples": "ntriples",
    "json-ld": "jsonld",
    "rdf": "rdfxml",
    "rdf+xml": "rdfxml",
    "rdf/xml": "rdfxml",
    "nq": "nquads",
    "n-quads": "nquads",
    "text/rdf+n3": "n3",
    "srj": "json",
    "srx": "xml",
    "sparql-results+json": "json",
    "sparql-results+xml": "xml",
    "text/xml": "xml",
}
#: Names that mean one thing for a table and another for a graph.
_GRAPH_ALIASES = {"json": "jsonld", "xml": "rdfxml", "application/json": "jsonld"}


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


def offer_named(offers: Sequence[Offer], value: str) -> Offer | None:
    """The offer a ``format=`` value names (short name, alias or media type, parameters and
    case ignored), ``None`` if it names none of ``offers``."""
    wanted = value.split(";")[0].strip().lower()
    if offers is GRAPH_FORMATS:
        wanted = _GRAPH_ALIASES.get(wanted, wanted)
    wanted = _ALIASES.get(wanted, wanted)
    for offer in offers:
        if wanted in (offer.name, offer.media_type):
            return offer
    return None


def choose(
    offers: Sequence[Offer], accept: str | None, format_names: Sequence[str] = ()
) -> Offer | None:
    """The offer a client gets: the first of ``format_names`` that names one of ``offers``
    (:func:`offer_named`), else the acceptable offer with the highest q-value, the server's
    order breaking ties; ``None`` when nothing acceptable is offered (answer 406)."""
    if isinstance(format_names, str):
        format_names = (format_names,)
    for value in format_names:
        named = offer_named(offers, value)
        if named is not None:
            return named
    ranges = parse_accept(accept)
    best: Offer | None = None
    best_q = 0.0
    for offer in offers:
        q = _quality(offer.media_type, ranges)
        if q > best_q:
            best, best_q = offer, q
    return best


def content_type(offer: Offer) -> str:
    """The ``Content-Type`` header for an answer in ``offer`` (UTF-8 for text types)."""
    if offer.media_type.startswith("text/"):
        return f"{offer.media_type}; charset=utf-8"
    return offer.media_type


def names(offers: Sequence[Offer]) -> str:
    """The media types of ``offers`` for an error message."""
    return ", ".join(dict.fromkeys(offer.media_type for offer in offers))
