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


def _pack(data: bytes) -> str:
    return base64.b64encode(zlib.compress(data, 6)).decode("ascii")


def _unpack(value: dict[str, str], name: str) -> bytes:
    return zlib.decompress(base64.b64decode(value[name]))


def _lines(data: bytes) -> list[str]:
    return data.decode().split("\n") if data else []


def _uints(data: bytes) -> array[int]:
    out = array("I")
    out.frombytes(data)
    return out


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

    def _grouped(self) -> tuple[array[int], array[int]]:
        """Children grouped by parent: those of code ``i`` are ``grouped[offsets[i] :
        offsets[i + 1]]`` (CSR offsets)."""
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
        return offsets, grouped

    def tops(self) -> Iterator[tuple[str, str]]:
        """(code, top) pairs: ``top`` a concept just below a root (a code with children and no
        parents), ``code`` that top or any code under it at any depth. A code under several
        tops comes once with each; roots, and codes in no is-a link, come with none."""
        offsets, grouped = self._grouped()
        count = len(self.codes)
        has_parent = bytearray(count)
        for child in self.children:
            has_parent[child] = 1
        tops = {
            child
            for root in range(count)
            if not has_parent[root]
            for child in grouped[offsets[root] : offsets[root + 1]]
        }
        codes = self.codes
        mark = array("i", [-1]) * count  # the last top whose walk reached each code
        for k, top in enumerate(sorted(tops, key=codes.__getitem__)):
            mark[top] = k
            stack = [top]
            while stack:
                node = stack.pop()
                yield codes[node], codes[top]
                for child in grouped[offsets[node] : offsets[node + 1]]:
                    if mark[child] != k:
                        mark[child] = k
                        stack.append(child)

    def record(self) -> str:
        """The ``rdf:JSON`` literal: codes, and children grouped by parent (CSR offsets)."""
        offsets, grouped = self._grouped()

        value = {
            "version": 1,
            "codes": _pack("\n".join(self.codes).encode()),
            "offsets": _pack(offsets.tobytes()),
            "children": _pack(grouped.tobytes()),
        }
        return typed_literal(json.dumps(value, separators=(",", ":")), RDF.JSON.value)


class ChildIndex:
    """A release's :class:`Hierarchy` record, read back: the codes under a code."""

    __slots__ = ("_children", "_codes", "_offsets")

    def __init__(self, record: str) -> None:
        value = json.loads(record)
        self._codes = _lines(_unpack(value, "codes"))
        self._offsets = _uints(_unpack(value, "offsets"))
        self._children = _uints(_unpack(value, "children"))

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


#: The kinds of name a :class:`Names` record holds, as its property numbers.
PREF_NAME, FSN_NAME, SYNONYM_NAME = 0, 1, 2


class Names:
    """The names of a release's concepts in their normal form
    (:func:`ontomap.lexical.normal_form`), written as one compact record.

    Reading SNOMED CT's 2 M names back out of the store and normalising them takes about half a
    minute; the record (a JSON literal ``<release> oifm:nameIndex``) is read back in one lookup
    (:class:`NameIndex`) by ``ontomap terminology suggest``. Names of deprecated concepts are
    left out; each (normal form, code, property) is kept once.
    """

    __slots__ = ("_codes", "_deprecated", "_forms", "_normal_form", "_pairs")

    def __init__(self) -> None:
        # imported here: a lookup reads releases without the lexical module (nor rapidfuzz)
        from ontomap.lexical import normal_form

        self._normal_form = normal_form
        self._codes: dict[str, int] = {}
        self._forms: dict[str, int] = {}
        self._pairs = array("I")  # form id, code id * 3 + property: two entries per name
        self._deprecated: set[str] = set()

    def add(self, code: str, prop: int, name: str) -> None:
        """A name of ``code``: ``prop`` is :data:`PREF_NAME`, :data:`FSN_NAME` or
        :data:`SYNONYM_NAME`. A name with no letters or digits is not kept."""
        form = self._normal_form(name)
        if not form:
            return
        c = self._codes.setdefault(code, len(self._codes))
        f = self._forms.setdefault(form, len(self._forms))
        self._pairs.append(f)
        self._pairs.append(c * 3 + prop)

    def deprecate(self, code: str) -> None:
        """``code`` is deprecated: its names are left out of the record."""
        self._deprecated.add(code)

    def __len__(self) -> int:
        return len(self._pairs) // 2

    def index(self) -> NameIndex:
        """The names grouped by normal form (what :meth:`record` writes)."""
        codes = list(self._codes)
        forms = list(self._forms)
        dropped = {self._codes[code] for code in self._deprecated if code in self._codes}
        code_ids: dict[int, int] = {}  # old id -> new id, in the order first named
        form_ids: dict[int, int] = {}
        grouped: dict[int, dict[int, None]] = {}
        pairs = self._pairs
        for i in range(0, len(pairs), 2):
            f, entry = pairs[i], pairs[i + 1]
            c = entry // 3
            if c in dropped:
                continue
            new_c = code_ids.setdefault(c, len(code_ids))
            new_f = form_ids.setdefault(f, len(form_ids))
            grouped.setdefault(new_f, {})[new_c * 3 + entry % 3] = None
        offsets = array("I", [0])
        entries = array("I")
        for new_f in range(len(form_ids)):
            entries.extend(grouped[new_f])
            offsets.append(len(entries))
        return NameIndex(
            [codes[c] for c in code_ids], [forms[f] for f in form_ids], offsets, entries
        )

    def record(self) -> str:
        """The ``rdf:JSON`` literal of :meth:`index`."""
        return typed_literal(self.index().to_json(), RDF.JSON.value)


class NameIndex:
    """A release's names by normal form: ``codes``, ``forms`` (distinct normal forms), and for
    form ``f`` the entries ``entries[offsets[f]:offsets[f + 1]]``, each code index * 3 +
    property. Written by :class:`Names`; :meth:`from_json` reads a record back, or gives None
    when it was written under other normal-form rules."""

    __slots__ = ("codes", "entries", "forms", "offsets")

    def __init__(
        self, codes: list[str], forms: list[str], offsets: array[int], entries: array[int]
    ) -> None:
        self.codes = codes
        self.forms = forms
        self.offsets = offsets
        self.entries = entries

    def to_json(self) -> str:
        from ontomap.lexical import normal_form_rules

        value = {
            "version": 1,
            "rules": normal_form_rules(),
            "codes": _pack("\n".join(self.codes).encode()),
            "forms": _pack("\n".join(self.forms).encode()),
            "offsets": _pack(self.offsets.tobytes()),
            "entries": _pack(self.entries.tobytes()),
        }
        return json.dumps(value, separators=(",", ":"))

    @classmethod
    def from_json(cls, record: str) -> NameIndex | None:
        from ontomap.lexical import normal_form_rules

        value = json.loads(record)
        if value.get("version") != 1 or value.get("rules") != normal_form_rules():
            return None
        return cls(
            _lines(_unpack(value, "codes")),
            _lines(_unpack(value, "forms")),
            _uints(_unpack(value, "offsets")),
            _uints(_unpack(value, "entries")),
        )


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
    names: Names = field(default_factory=Names)

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
