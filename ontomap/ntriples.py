"""N-Triples terms and lines: how the graph builder writes triples, and their canonical order.

Terms are written exactly as Oxigraph writes canonical N-Triples, so a line made here and the
same triple serialised by Oxigraph are the same bytes.
"""

from __future__ import annotations

import contextlib
import heapq
import io
import marshal
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from operator import itemgetter

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


def sorted_key(subject: str) -> str:
    """Where a subject's block goes when the lines are sorted as text: a subject's lines are
    together in sorted text too (no term holds a space), in the order of ``subject + " "``."""
    return subject + " "


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


#: Blocks per record of a run on disk, each record its length and :func:`marshal.dumps` of a
#: list of blocks. ``marshal.load`` from a file calls the file's ``readinto`` for every string:
#: on the 3x corpus (2 runs, 123 k blocks, 983 k lines) reading the runs took 1.9 s that way,
#: 0.2 s as records read whole. Merging holds one record per run in memory (about 1 MB).
_RUN_BATCH = 1024

#: A block with its sort key, as a run holds it.
_Keyed = tuple[tuple[TermKey, str] | str, str, list[str]]


class BlockSorter:
    """Sorts subject blocks of any number of triples in bounded memory: an external sort.

    Blocks are added in any order (:meth:`add`); while they hold fewer than ``spill_lines``
    lines they stay in memory, beyond that each full buffer is sorted and written to a
    temporary file (a *run* of :mod:`marshal` records), and :meth:`blocks` merges the runs
    (:func:`heapq.merge`). Blocks of one subject are merged (their lines made a set, in
    canonical order) wherever they meet. ``key`` orders the subjects: :func:`subject_key`
    (canonical order) or :func:`sorted_key` (sorted text, each block's lines then sorted as
    text too). Use it as a context manager, or call :meth:`close`, to remove the runs.
    """

    def __init__(
        self,
        key: Callable[[str], tuple[TermKey, str] | str] = subject_key,
        spill_lines: int = 1_000_000,
        directory: str | None = None,
    ) -> None:
        self.key = key
        self.spill_lines = spill_lines
        self.directory = directory
        self._buffer: dict[str, list[str]] = {}
        self._buffered = 0
        self._runs: list[str] = []

    def __enter__(self) -> BlockSorter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Remove the runs written so far."""
        for path in self._runs:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        self._runs = []

    @property
    def runs(self) -> int:
        """How many runs went to disk."""
        return len(self._runs)

    def add(self, subject: str, lines: list[str]) -> None:
        """One block: a subject and its lines in canonical order."""
        buffer = self._buffer
        found = buffer.get(subject)
        if found is None:
            buffer[subject] = lines
        else:
            buffer[subject] = _merge(found, lines)
            self._buffered -= len(found)
        self._buffered += len(buffer[subject])
        if self._buffered >= self.spill_lines:
            self._spill()

    def extend(self, blocks: Iterable[Block]) -> None:
        for subject, lines in blocks:
            self.add(subject, lines)

    def _sorted_buffer(self) -> list[_Keyed]:
        """The buffered blocks in order, each with its key (so that merging runs need not
        compute it again)."""
        key = self.key
        return sorted((key(subject), subject, lines) for subject, lines in self._buffer.items())

    def _spill(self) -> None:
        handle, path = tempfile.mkstemp(prefix="ontomap-sort-", suffix=".run", dir=self.directory)
        self._runs.append(path)
        keyed = self._sorted_buffer()
        with os.fdopen(handle, "wb", buffering=1 << 20) as out:
            for start in range(0, len(keyed), _RUN_BATCH):
                record = marshal.dumps(keyed[start : start + _RUN_BATCH])
                out.write(len(record).to_bytes(8, "little"))
                out.write(record)
        self._buffer = {}
        self._buffered = 0

    @staticmethod
    def _read(path: str) -> Iterator[_Keyed]:
        with open(path, "rb", buffering=1 << 20) as handle:
            while size := int.from_bytes(handle.read(8), "little"):
                yield from marshal.loads(handle.read(size))

    def blocks(self) -> Iterator[Block]:
        """Every subject once, in order, with its lines (canonical order within a subject;
        sorted as text with :func:`sorted_key`)."""
        plain = self.key is sorted_key
        if not self._runs:
            for _key, subject, lines in self._sorted_buffer():
                yield subject, sorted(lines) if plain else lines
            return
        if self._buffer:
            self._spill()
        merged = heapq.merge(*(self._read(path) for path in self._runs), key=itemgetter(0))
        current: Block | None = None
        for _key, subject, lines in merged:
            if current is not None and current[0] == subject:
                current = (subject, _merge(current[1], lines))
                continue
            if current is not None:
                yield current[0], sorted(current[1]) if plain else current[1]
            current = (subject, lines)
        if current is not None:
            yield current[0], sorted(current[1]) if plain else current[1]

    def chunks(self, size: int = 50_000) -> Iterator[list[str]]:
        """The lines in order, about ``size`` at a time."""
        chunk: list[str] = []
        for _subject, lines in self.blocks():
            chunk.extend(lines)
            if len(chunk) >= size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk
