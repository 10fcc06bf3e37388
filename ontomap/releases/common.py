"""What every release reader shares: the release being read, its counts, its N-Triples terms.

A reader turns a release (a file or a folder, in its publisher's format) into N-Triples lines in
ontomap's vocabulary, in chunks of at most :data:`CHUNK` lines, holding only what it must
between rows (SNOMED CT's preferred description IDs, RadLex's is-a edges as integers). The
lines are triples of the release's own named graph (:func:`ontomap.graph.release_graph_iri`).
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from abc import ABC, abstractmethod
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import compress
from pathlib import Path
from typing import ClassVar

from ontomap.ntriples import iri, literal, typed_literal
from ontomap.terminology import CodeSystem
from ontomap.vocab import DCTERMS, OIFM, OWL, RDF, SKOS, XSD

#: Lines a reader hands over at a time (about 40 MB of N-Triples).
CHUNK = 400_000

#: The status of a concept that is in use.
ACTIVE = "active"

_LANGUAGE_TAG = re.compile(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*")


@dataclass(slots=True)
class Counts:
    """What a reader found, filled in while its lines are read."""

    concepts: int = 0
    inactive: int = 0
    synonyms: int = 0
    parents: int = 0
    replacements: int = 0
    triples: int = 0


class Terms:
    """The vocabulary a release graph uses, as N-Triples terms."""

    def __init__(self) -> None:
        self.type = iri(RDF.type.value)
        self.concept = iri(SKOS.Concept.value)
        self.pref_label = iri(SKOS.prefLabel.value)
        self.alt_label = iri(SKOS.altLabel.value)
        self.definition = iri(SKOS.definition.value)
        self.broader = iri(SKOS.broader.value)
        self.status = iri(OIFM.status.value)
        self.fsn = iri(OIFM.fullySpecifiedName.value)
        self.deprecated = iri(OWL.deprecated.value)
        self.same_as = iri(OWL.sameAs.value)
        self.replaced_by = iri(DCTERMS.isReplacedBy.value)
        self.true = f'"true"^^<{XSD.boolean.value}>'
        self.status_literals: dict[str, str] = {}

    def status_of(self, status: str) -> str:
        found = self.status_literals.get(status)
        if found is None:
            found = self.status_literals[status] = literal(status)
        return found


TERMS = Terms()


_TAGS: dict[str, str] = {}


def text(value: str, language: str | None = None) -> str:
    """A literal, language-tagged when ``language`` is a well-formed tag."""
    if not language:
        return literal(value)
    suffix = _TAGS.get(language)
    if suffix is None:
        suffix = f"@{language.lower()}" if _LANGUAGE_TAG.fullmatch(language) else ""
        if len(_TAGS) < 1000:
            _TAGS[language] = suffix
    return literal(value) + suffix


def file_date(paths: tuple[Path, ...]) -> str | None:
    """The newest modification time of ``paths`` as an ``xsd:dateTime`` (UTC, seconds)."""
    times = [p.stat().st_mtime for p in paths if p.exists()]
    if not times:
        return None
    return datetime.fromtimestamp(int(max(times)), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Hierarchy:
    """The is-a links of a release, as integers, written as one compact record.

    Walking millions of ``skos:broader`` triples one lookup at a time (or with a SPARQL
    property path) takes seconds for a concept with 100,000 descendants; the record (a JSON
    literal ``<release> oifm:childIndex``) holds the codes and each one's children as
    compressed arrays, read back in one lookup (:class:`ChildIndex`).
    """

    __slots__ = ("_index", "children", "codes", "parents")

    def __init__(self) -> None:
        self._index: dict[str, int] = {}
        self.codes: list[str] = []
        self.children = array("I")
        self.parents = array("I")

    def _id(self, code: str) -> int:
        found = self._index.get(code)
        if found is None:
            found = self._index[code] = len(self.codes)
            self.codes.append(code)
        return found

    def add(self, child: str, parent: str) -> None:
        self.children.append(self._id(child))
        self.parents.append(self._id(parent))

    def __len__(self) -> int:
        return len(self.children)

    def record(self) -> str:
        """The ``rdf:JSON`` literal: codes, and children grouped by parent (CSR offsets)."""
        count = len(self.codes)
        offsets = array("I", [0]) * (count + 1)
        for parent in self.parents:
            offsets[parent + 1] += 1
        for i in range(count):
            offsets[i + 1] += offsets[i]
        fill = array("I", offsets[:-1])
        grouped = array("I", [0]) * len(self.children)
        for child, parent in zip(self.children, self.parents, strict=True):
            grouped[fill[parent]] = child
            fill[parent] += 1

        def pack(data: bytes) -> str:
            return base64.b64encode(zlib.compress(data, 6)).decode("ascii")

        value = {
            "version": 1,
            "codes": pack("\n".join(self.codes).encode()),
            "offsets": pack(offsets.tobytes()),
            "children": pack(grouped.tobytes()),
        }
        return typed_literal(json.dumps(value, separators=(",", ":")), RDF.JSON.value)


class ChildIndex:
    """A release's :class:`Hierarchy` record, read back: the codes under a code."""

    __slots__ = ("_children", "_codes", "_offsets")

    def __init__(self, record: str) -> None:
        value = json.loads(record)

        def unpack(name: str) -> bytes:
            return zlib.decompress(base64.b64decode(value[name]))

        self._codes = unpack("codes").decode().split("\n") if value["codes"] else []
        self._offsets = array("I")
        self._offsets.frombytes(unpack("offsets"))
        self._children = array("I")
        self._children.frombytes(unpack("children"))

    def descendants(self, code: str) -> frozenset[str]:
        try:
            start = self._codes.index(code)
        except ValueError:
            return frozenset()
        offsets, children = self._offsets, self._children
        seen = bytearray(len(self._codes))
        seen[start] = 1
        stack = [start]
        while stack:
            node = stack.pop()
            for child in children[offsets[node] : offsets[node + 1]]:
                if not seen[child]:
                    seen[child] = 1
                    stack.append(child)
        seen[start] = 0
        return frozenset(compress(self._codes, seen))


@dataclass
class Release(ABC):
    """A release, opened: which system and version it is, from which files; :meth:`chunks`
    reads it. ``issued`` is the release date its content gives (ISO date), if any."""

    format: ClassVar[str]

    system: CodeSystem
    version: str
    files: tuple[Path, ...]
    issued: str | None = None
    language_refset: str | None = None
    counts: Counts = field(default_factory=Counts)
    hierarchy: Hierarchy = field(default_factory=Hierarchy)

    @property
    def kind(self) -> str:
        """The reader's name (a key of :data:`ontomap.releases.READERS`)."""
        return self.format

    @abstractmethod
    def chunks(self, graph: str) -> Iterator[list[str]]:
        """The release's triples as N-Triples lines, in chunks, for the graph ``graph`` (the
        release's IRI). Fills :attr:`counts` on the way."""


class Lines:
    """A list of N-Triples lines handed over in chunks: ``add`` and then ``full``."""

    __slots__ = ("counts", "out")

    def __init__(self, counts: Counts) -> None:
        self.out: list[str] = []
        self.counts = counts

    @property
    def full(self) -> bool:
        return len(self.out) >= CHUNK

    def take(self) -> list[str]:
        """The lines so far (a new list); ``out`` is emptied in place, so that a bound
        ``out.append`` goes on working."""
        chunk = self.out.copy()
        self.out.clear()
        self.counts.triples += len(chunk)
        return chunk
