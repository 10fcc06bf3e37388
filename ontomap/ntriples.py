"""N-Triples terms and lines: how the graph builder writes triples, and their canonical order.

Terms are written exactly as Oxigraph writes canonical N-Triples, so a line made here and the
same triple serialised by Oxigraph are the same bytes.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable

_ESCAPES = {i: f"\\u{i:04X}" for i in (*range(0x20), 0x7F, 0xFFFE, 0xFFFF)}
_ESCAPES.update({0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r"})
_ESCAPES.update({ord('"'): '\\"', ord("\\"): "\\\\"})
_NEEDS_ESCAPE = re.compile('[\x00-\x1f\x7f"\\\\\ufffe\uffff]')


def iri(value: str) -> str:
    """An IRI as an N-Triples term (the IRI must already be valid)."""
    return f"<{value}>"


def literal(value: str) -> str:
    """A plain (``xsd:string``) literal as an N-Triples term."""
    if _NEEDS_ESCAPE.search(value):
        value = value.translate(_ESCAPES)
    return f'"{value}"'


def typed_literal(value: str, datatype: str) -> str:
    """A literal with a datatype IRI as an N-Triples term."""
    return f"{literal(value)}^^<{datatype}>"


def lines_of(data: bytes) -> list[str]:
    """The lines of N-Triples or N-Quads ``data`` (UTF-8, as Oxigraph writes it), each with
    its ``"\\n"``, split on ``"\\n"`` only.

    Not :meth:`str.splitlines`: it also splits on ``"\\r"``, U+000B, U+000C, U+001C-U+001E,
    U+0085, U+2028 and U+2029, which a literal may hold unescaped, and would cut such a
    triple in two.
    """
    return list(map(bytes.decode, io.BytesIO(data)))


def split_line(line: str) -> tuple[str, str, str]:
    """Subject, predicate and object terms of an N-Triples line."""
    subject, predicate, rest = line.split(" ", 2)
    return subject, predicate, rest.rstrip()[:-2].rstrip()


# ------------------------------------------------------------------ canonical order

_ID = re.compile(
    r"(?P<finding>OIFM_[A-Z]{3,4}_[0-9]{6})(?:-contributor-(?P<contributor>[0-9]+))?"
    r"|(?P<attribute>OIFMA_[A-Z]{3,4}_[0-9]{6})(?:\.(?P<value>[0-9]+))?"
)

#: Predicates that come first within a subject, in this order; the others follow by IRI.
_FIRST_PREDICATES = (
    "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>",
    "<https://w3id.org/ontomap/oifm#oifmId>",
    "<http://www.w3.org/2000/01/rdf-schema#label>",
    "<http://www.w3.org/2004/02/skos/core#altLabel>",
    "<http://purl.org/dc/terms/description>",
)
_PREDICATE_RANK = {p: i for i, p in enumerate(_FIRST_PREDICATES)}
_OTHER_RANK = len(_FIRST_PREDICATES)

TermKey = tuple[int, str, int]


def term_key(term: str) -> TermKey:
    """Sort key of a subject: findings first (each followed by its contributors), then
    attributes (each followed by its values in numeric order), then other IRIs, then the rest."""
    if term.startswith("<"):
        cut = max(term.rfind("/"), term.rfind("#"), term.rfind(":"))
        local = term[cut + 1 : -1] if cut > 0 else term[1:-1]
        match = _ID.fullmatch(local)
        if match is not None:
            stem = term[: -len(local) - 1]
            if match.group("finding"):
                contributor = match.group("contributor")
                return (
                    0,
                    stem + match.group("finding"),
                    -1 if contributor is None else int(contributor),
                )
            value = match.group("value")
            return (1, stem + match.group("attribute"), -1 if value is None else int(value))
        return (2, term, 0)
    return (3, term, 0)


def canonical_order(lines: Iterable[str]) -> list[str]:
    """Sort N-Triples lines so that each subject's triples are together, subjects in a natural
    order (see :func:`term_key`), and within a subject ``rdf:type``, ID, labels and description
    first, the rest by predicate and object. The order depends only on the set of lines."""
    groups: dict[str, list[str]] = {}
    for line in lines:
        subject = line[: line.index(" ")]
        group = groups.get(subject)
        if group is None:
            groups[subject] = [line]
        else:
            group.append(line)
    rank = _PREDICATE_RANK.get
    out: list[str] = []
    for subject in sorted(groups, key=lambda term: (term_key(term), term)):
        group = groups[subject]
        group.sort()
        start = len(subject) + 1
        group.sort(key=lambda line: rank(line[start : line.index(" ", start)], _OTHER_RANK))
        out.extend(group)
    return out


#: A subject term and its N-Triples lines, in canonical order.
Block = tuple[str, list[str]]


def subject_key(subject: str) -> tuple[TermKey, str]:
    """Where a subject's block goes in canonical order."""
    return term_key(subject), subject


def _merge(first: list[str], second: list[str]) -> list[str]:
    return canonical_order(set(first).union(second))


def ordered_lines(blocks: Iterable[Block]) -> list[str]:
    """The lines of ``blocks`` in canonical order (see :func:`canonical_order`), each block's
    lines being in canonical order already; the blocks of one subject are merged, repeated
    lines left out."""
    merged: dict[str, list[str]] = {}
    for subject, lines in blocks:
        found = merged.get(subject)
        merged[subject] = lines if found is None else _merge(found, lines)
    out: list[str] = []
    for subject in sorted(merged, key=subject_key):
        out.extend(merged[subject])
    return out
