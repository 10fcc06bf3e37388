"""The crosswalk engine: which codes of different systems index the same entities, and on what
evidence.

An index code on a finding, attribute or value is its author's statement that the code denotes
that entity. Two codes of different systems on the same entity are *co-indexed*: evidence of a
cross-terminology link, never an equivalence (DESIGN.md). This module is the one place that
turns co-indexing into evidence; the lookup, the mapping sets, validation and the server read
what it computes.

The rules (docs/mappings.md, "How the evidence is counted", works them through on the corpus):

**Uses.** The uses of a code are the entities that carry it as an index code (anatomic locations
are listed among its uses but index nothing).

**Contexts.** An entity's *context* is where its author made the coding decision: the entity
kind and its normalised name, and for a choice value also the normalised name of its attribute
(``value "larger" of "change from prior"``; names normalised by
:func:`ontomap.lexical.normalise`). The same context in many finding models is one decision
copied, not many: the independent evidence for a pairing is the number of distinct contexts of
the entities that support it, and the contexts of a code are those of its uses.

**Templates.** A pairing is a *template* when one of its contexts is repeated in at least
:data:`TEMPLATE_MIN_FINDINGS` (10) finding models: its entity and finding counts then measure
how often a template was copied. (On the corpus every context of a pairing is in 1 to 3 models
or in 1,994 to 2,201: the threshold sits in that gap.)

**Pairing inside one entity.** An entity listing one code of system X and several of Y pairs
that code with each of them. An entity listing two or more codes of each of X and Y pairs them
by their displays (:func:`ontomap.lexical.pair_displays`: normalised displays that match, each
code the other's best); the pairs that do not match are *co-listed* on that entity, not paired.
A pair of codes is ``paired`` when at least one entity pairs it, ``co-listed`` when every entity
that lists both only co-lists them. Only paired evidence counts below. An entity whose codes of
different systems would make more than :data:`MAX_COMPARED_PAIRS` pairs pairs only those whose
displays have equal normal forms and records no co-listing (nothing at all when even those are
more; :attr:`Crosswalk.oversized`).

**Share, cardinality, flag, predicate, confidence** (``k`` = the contexts supporting A–B,
``n(A)`` = the contexts of A's uses):

- ``share`` = k / n(A), ``target_share`` = k / n(B);
- ``cardinality``: ``1:1`` when A is paired with no other code of B's system and B with no
  other code of A's; ``1:n``, ``n:1``, ``n:m`` otherwise (paired pairs only);
- ``flag`` ``"outlier"``: the pairing carries under :data:`OUTLIER_SHARE` (5 %) of A's uses while
  another pairing of A with B's system carries at least :data:`DOMINANT_SHARE` (50 %), or the same
  seen from B — counted in entities, since an outlier is a departure from how a code is
  actually used, template copies included;
- ``predicate``: ``skos:closeMatch`` for a ``1:1`` pairing, not an outlier, supported by at
  least :data:`CLOSE_MATCH_MIN_CONTEXTS` (2) contexts in at least
  :data:`CLOSE_MATCH_MIN_FINDINGS` (2) finding models, with both shares at least
  :data:`CLOSE_MATCH_MIN_SHARE` (0.5); ``skos:relatedMatch`` for any other paired pair;
  none for a co-listed pair; never ``skos:exactMatch``;
- ``confidence`` = k / (max(n(A), n(B)) + 1): the share seen from the code used in more
  contexts, as if one more context had disagreed. One authoring decision (k = n = 1) gives 0.5,
  three agreeing contexts out of three 0.75; 0 for a co-listed pair.

**Justification**: ``semapv:InstanceBasedMatching`` (the codes share instances: the entities);
with ``semapv:LexicalMatching`` as well when some supporting entity was paired by display
(SSSOM: ``semapv:CompositeMatching``).

**Where it is computed and read.** :func:`compute_crosswalk` computes the whole crosswalk from
five SPARQL queries (``GRAPH`` patterns only, never one per code) over a
:class:`~ontomap.store.Store` or any :class:`~ontomap.backends.SparqlBackend`;
:func:`build_crosswalk` computes it from :class:`EntityCodes` given directly (from models with
:func:`entities_of_model`, or from any source of the same facts). :meth:`Store.load
<ontomap.store.Store.load>` materialises it, in the same write, into the store's named graph
:data:`~ontomap.graph.CROSSWALK_GRAPH` (:class:`CrosswalkUpdate`): never exported, sent by
``ontomap push``, and part of the union default graph like the bookkeeping graph (its triples
use only its own ``oifm:`` terms; docs/mappings.md says why). :class:`CrosswalkReader` answers
one code (:meth:`~CrosswalkReader.code`: one row, plus one per pair) or one pair of systems
(:meth:`~CrosswalkReader.pairs`) from that graph, on the store or on an endpoint it was pushed
to, and computes the crosswalk once where the graph is missing.

>>> from ontomap.store import Store
>>> with Store("./kg", read_only=True) as store:  # doctest: +SKIP
...     entry = CrosswalkReader(store).code(IndexCode.of("RADLEX", "RID5791"), to="SNOMED")
>>> [(p.target.code, p.co_indexed.findings, p.paired.context_count, p.template, p.predicate)
...  for p in entry.pairs]  # doctest: +SKIP
[('263768009', 1994, 1, True, 'skos:relatedMatch')]
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, cast
from urllib.parse import quote

import pyoxigraph as ox

from ontomap.errors import StoreError
from ontomap.graph import CROSSWALK_GRAPH, META_GRAPH, decimal_text
from ontomap.model import (
    OIFM_ID_PATTERN,
    OIFMA_ID_PATTERN,
    VALUE_CODE_PATTERN,
    FindingModel,
    IndexCode,
)
from ontomap.ntriples import iri, literal, typed_literal
from ontomap.sparql import sparql_text
from ontomap.terminology import SCHEME_NAMESPACE, CodeSystem, default_registry
from ontomap.vocab import GRAPH_NS, OIFM, RDF, SKOS_NS, STANDARD_PREFIXES, XSD

if TYPE_CHECKING:
    from ontomap.backends import SparqlBackend
    from ontomap.readers.common import SourceModel
    from ontomap.sparql import Term
    from ontomap.store import Store

    Row = tuple[Term | None, ...]

__all__ = [
    "CLOSE_MATCH",
    "CLOSE_MATCH_MIN_CONTEXTS",
    "CLOSE_MATCH_MIN_FINDINGS",
    "CLOSE_MATCH_MIN_SHARE",
    "COMPOSITE",
    "DOMINANT_SHARE",
    "INSTANCE_BASED",
    "LEXICAL",
    "MAX_COMPARED_PAIRS",
    "OUTLIER_SHARE",
    "RELATED_MATCH",
    "RULES_VERSION",
    "TEMPLATE_MIN_FINDINGS",
    "Cardinality",
    "CodeCrosswalk",
    "CodeUsage",
    "CodeUse",
    "Context",
    "ContextSupport",
    "Crosswalk",
    "CrosswalkPair",
    "CrosswalkReader",
    "CrosswalkUpdate",
    "EntityCodes",
    "EntityKind",
    "Evidence",
    "Flag",
    "Predicate",
    "Status",
    "UseKind",
    "UseList",
    "build_crosswalk",
    "cardinality_of",
    "compute_crosswalk",
    "crosswalk_lines",
    "entities_of",
    "entities_of_model",
    "is_minority",
    "materialise",
    "system_order",
]

# ------------------------------------------------------------------ rules

#: A context repeated in at least this many finding models makes its pairings templates.
TEMPLATE_MIN_FINDINGS = 10
#: A close match needs at least this many independent contexts...
CLOSE_MATCH_MIN_CONTEXTS = 2
#: ...in at least this many finding models...
CLOSE_MATCH_MIN_FINDINGS = 2
#: ...and at least this share of the contexts of both codes.
CLOSE_MATCH_MIN_SHARE = 0.5
#: A pairing whose share of a code's uses is below this is a minority...
OUTLIER_SHARE = 0.05
#: ...and an outlier when another pairing of the code with the same system has at least this.
DOMINANT_SHARE = 0.5
#: An entity whose codes would make more than this many pairs of codes of different systems
#: (summed over every two of its systems) pairs only codes whose displays have equal normal
#: forms, and records no co-listing (nothing at all if even those pairs are more): every pair
#: grows with the square of the codes (an entity of 50,000 codes would need over 600 million,
#: as would one of 50,000 codes each of its own system). The corpus's largest entity makes
#: 18 × 33 = 594.
MAX_COMPARED_PAIRS = 10_000
#: Version of these rules; a crosswalk graph written under another version is recomputed.
RULES_VERSION = 2

EntityKind = Literal["finding", "attribute", "value"]
UseKind = Literal["finding", "location", "attribute", "value"]
Cardinality = Literal["1:1", "1:n", "n:1", "n:m"]
Flag = Literal["outlier"]
Predicate = Literal["skos:closeMatch", "skos:relatedMatch"]
Status = Literal["paired", "co-listed"]

CLOSE_MATCH: Predicate = "skos:closeMatch"
RELATED_MATCH: Predicate = "skos:relatedMatch"
#: SEMAPV: "a match between a subject A and an object B was established because they share the
#: same instances" (the entities carrying both codes).
INSTANCE_BASED = "semapv:InstanceBasedMatching"
#: SEMAPV: a match based on the lexical similarity of labels (the displays on one entity).
LEXICAL = "semapv:LexicalMatching"
#: SEMAPV: several matching processes combined (SSSOM's single justification for the two).
COMPOSITE = "semapv:CompositeMatching"
SEMAPV_NS = "https://w3id.org/semapv/vocab/"

_KIND_ORDER: tuple[UseKind, ...] = ("finding", "location", "attribute", "value")
_KIND_RANK = {kind: i for i, kind in enumerate(_KIND_ORDER)}


def is_minority(share: float, other_shares: Iterable[float]) -> bool:
    """Whether a pairing with ``share`` of a code's uses is an outlier: below
    :data:`OUTLIER_SHARE` while another pairing of that code with the same system
    (``other_shares``) has at least :data:`DOMINANT_SHARE`."""
    return share < OUTLIER_SHARE and any(s >= DOMINANT_SHARE for s in other_shares)


def cardinality_of(many_here: bool, many_there: bool) -> Cardinality:
    """``1:1``, ``1:n``, ``n:1`` or ``n:m`` from whether the source code pairs with several
    target codes (``many_here``) and the target code with several source codes."""
    if many_here:
        return "n:m" if many_there else "1:n"
    return "n:1" if many_there else "1:1"


def _flipped(cardinality: Cardinality | None) -> Cardinality | None:
    return {"1:n": "n:1", "n:1": "1:n"}.get(cardinality, cardinality) if cardinality else None  # type: ignore[return-value]


@cache
def system_order(key: str) -> tuple[int, str]:
    """Sort key of a system: registry order, then unknown systems by key."""
    keys = default_registry().keys
    return (keys.index(key), key) if key in keys else (len(keys), key)


def _code_key(code: IndexCode) -> tuple[tuple[int, str], str]:
    return system_order(code.system), code.code


def _system(name: str | CodeSystem | None) -> CodeSystem | None:
    if name is None or isinstance(name, CodeSystem):
        return name
    return default_registry().get(name)


# ------------------------------------------------------------------ records


@dataclass(frozen=True, slots=True)
class Context:
    """Where an author made a coding decision: entity kind and normalised name, and for a value
    its attribute's normalised name (see the module doc)."""

    kind: EntityKind
    name: str
    attribute: str | None = None

    @classmethod
    def of(cls, kind: EntityKind, name: str | None, attribute: str | None = None) -> Context:
        """The context of an entity of ``kind`` called ``name`` (a value: of ``attribute``)."""
        from ontomap.lexical import normalise  # only computing needs rapidfuzz, reading not

        return cls(
            kind,
            normalise(name or ""),
            normalise(attribute or "") if kind == "value" else None,
        )

    @property
    def sort_key(self) -> tuple[int, str, str]:
        return _KIND_RANK[self.kind], self.name, self.attribute or ""

    def __str__(self) -> str:
        where = f' of "{self.attribute}"' if self.attribute is not None else ""
        return f'{self.kind} "{self.name}"{where}'


@dataclass(frozen=True, slots=True)
class ContextSupport:
    """One context of a pairing: how many of its entities, in how many findings, are there."""

    context: Context
    entities: int
    findings: int

    @property
    def template(self) -> bool:
        """Whether the context is repeated in :data:`TEMPLATE_MIN_FINDINGS` findings or more."""
        return self.findings >= TEMPLATE_MIN_FINDINGS


@dataclass(frozen=True, slots=True)
class Evidence:
    """Entities carrying two codes: their OIFM IDs (in ID order), the number of findings they
    belong to, and their contexts (most findings first)."""

    entities: tuple[str, ...] = ()
    findings: int = 0
    contexts: tuple[ContextSupport, ...] = ()

    @property
    def entity_count(self) -> int:
        return len(self.entities)

    @property
    def context_count(self) -> int:
        """Number of independent contexts."""
        return len(self.contexts)

    @property
    def template(self) -> bool:
        """Whether one context is a template (see :data:`TEMPLATE_MIN_FINDINGS`)."""
        return any(c.template for c in self.contexts)

    def __bool__(self) -> bool:
        return bool(self.entities)


class CodeUse(NamedTuple):
    """One use of a code: the entity's OIFM ID, kind, its finding's OIFM ID, the entity's label
    and the finding's name (a named tuple: a code may have thousands of uses, read back in one
    go)."""

    entity: str
    kind: UseKind
    finding: str
    label: str | None
    finding_label: str | None = None


_KIND_CHARS: dict[UseKind, str] = {"finding": "f", "location": "l", "attribute": "a", "value": "v"}
_KIND_OF_CHAR: dict[str, UseKind] = {char: kind for kind, char in _KIND_CHARS.items()}


class UseList(Sequence[CodeUse]):
    """The uses of a code as the crosswalk graph stores them: columns, turned into
    :class:`CodeUse` tuples only when asked for (a code may have thousands of uses, and a
    reader that only counts or copies them needs no object per use). Immutable; equal to any
    sequence of the same uses."""

    __slots__ = ("_decoded", "_row")

    def __init__(self, row: Sequence[Any]) -> None:
        entities, findings, kinds, labels, which, named = row
        #: entity IDs and finding IDs (space-separated), kind characters, the distinct labels,
        #: and each use's label number and finding-name number
        self._row: tuple[str, str, str, list[str | None], list[int], list[int]] = (
            entities,
            findings,
            kinds,
            labels,
            which,
            named,
        )
        self._decoded: tuple[CodeUse, ...] | None = None

    @property
    def entities(self) -> list[str]:
        """The entities' OIFM IDs, in order."""
        return self._row[0].split(" ") if self._row[0] else []

    @property
    def findings(self) -> list[str]:
        """Their findings' OIFM IDs."""
        return self._row[1].split(" ") if self._row[1] else []

    @property
    def kinds(self) -> list[UseKind]:
        return [_KIND_OF_CHAR[c] for c in self._row[2]]

    @property
    def labels(self) -> list[str | None]:
        """The entities' labels."""
        labels = self._row[3]
        return [labels[i] for i in self._row[4]]

    @property
    def finding_labels(self) -> list[str | None]:
        """Their findings' names."""
        labels = self._row[3]
        return [labels[i] for i in self._row[5]]

    def _uses(self) -> tuple[CodeUse, ...]:
        if self._decoded is None:
            entities, findings, kinds, labels, which, named = self._row
            self._decoded = (
                tuple(
                    map(
                        CodeUse._make,
                        zip(
                            entities.split(" "),
                            map(_KIND_OF_CHAR.__getitem__, kinds),
                            findings.split(" "),
                            map(labels.__getitem__, which),
                            map(labels.__getitem__, named),
                            strict=True,
                        ),
                    )
                )
                if entities
                else ()
            )
        return self._decoded

    def __len__(self) -> int:
        return len(self._row[2])

    def __getitem__(self, index):  # type: ignore[no-untyped-def,override]
        return self._uses()[index]

    def __iter__(self) -> Iterator[CodeUse]:
        return iter(self._uses())

    @property
    def row(self) -> tuple[str, str, str, list[str | None], list[int], list[int]]:
        """The columns as stored: entities and findings (space-separated), kinds (one letter
        each), the distinct labels (of entities and findings alike), each use's label and its
        finding's name (numbers into the labels)."""
        return self._row

    def __eq__(self, other: object) -> bool:
        if isinstance(other, UseList) and self._row == other._row:
            return True
        if isinstance(other, Sequence):
            return self._uses() == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._uses())

    def __repr__(self) -> str:
        return f"UseList({len(self)} uses)"


@dataclass(frozen=True, slots=True)
class CodeUsage:
    """How one code is used in the models: its displays with the number of models giving each
    (most first), its uses as an index code, their contexts, and every use (``used_by``:
    anatomic locations included; ordered by finding, kind, entity; a :class:`UseList` when read
    from the crosswalk graph, empty when read without the uses)."""

    code: IndexCode
    displays: tuple[tuple[str, int], ...]
    uses: int
    contexts: int
    used_by: Sequence[CodeUse] = ()

    @property
    def labels(self) -> tuple[str, ...]:
        """The displays, most models first (ties alphabetical)."""
        return tuple(display for display, _n in self.displays)

    @property
    def label(self) -> str | None:
        """The display most models give the code."""
        return self.displays[0][0] if self.displays else None


@dataclass(frozen=True, slots=True)
class CrosswalkPair:
    """A code of the source system and a code of the target system listed on the same entities,
    with the evidence for a link between them (see the module doc for the rules).

    ``co_indexed`` is every entity that lists both codes; ``paired`` those that support the
    pairing (the rest co-list them: :attr:`colisted`). Shares, cardinality, flag, predicate and
    confidence come from the paired evidence; :attr:`template` from the co-indexed one.
    ``lexical_score`` is the similarity of the displays where they were compared (the best over
    the entities that paired the codes by display, else over those that co-list them), ``None``
    where no entity needed a comparison; ``lexical`` whether some entity paired them by display.
    """

    source: IndexCode
    target: IndexCode
    source_label: str | None
    target_label: str | None
    source_uses: int
    target_uses: int
    source_contexts: int
    target_contexts: int
    co_indexed: Evidence
    paired: Evidence
    lexical: bool
    lexical_score: float | None
    cardinality: Cardinality | None
    flag: Flag | None
    predicate: Predicate | None
    confidence: float

    @property
    def status(self) -> Status:
        """``paired`` when some entity supports the pairing, else ``co-listed``."""
        return "paired" if self.paired else "co-listed"

    @property
    def colisted(self) -> tuple[str, ...]:
        """The entities that list both codes without pairing them (ID order)."""
        if len(self.paired.entities) == len(self.co_indexed.entities):
            return ()
        supported = set(self.paired.entities)
        return tuple(e for e in self.co_indexed.entities if e not in supported)

    @property
    def template(self) -> bool:
        """Whether one context of the co-indexing is a template."""
        return self.co_indexed.template

    @property
    def share(self) -> float:
        """Supporting contexts / contexts of the source code's uses."""
        k = self.paired.context_count
        return k / self.source_contexts if self.source_contexts else 0.0

    @property
    def target_share(self) -> float:
        """Supporting contexts / contexts of the target code's uses."""
        k = self.paired.context_count
        return k / self.target_contexts if self.target_contexts else 0.0

    @property
    def entity_share(self) -> float:
        """Supporting entities / uses of the source code (what the outlier rule compares)."""
        return self.paired.entity_count / self.source_uses if self.source_uses else 0.0

    @property
    def methods(self) -> tuple[str, ...]:
        """The SEMAPV matching processes the pairing rests on (none when co-listed)."""
        if not self.paired:
            return ()
        return (INSTANCE_BASED, LEXICAL) if self.lexical else (INSTANCE_BASED,)

    @property
    def justification(self) -> str | None:
        """One SSSOM ``mapping_justification``: instance-based, or composite with lexical."""
        methods = self.methods
        if not methods:
            return None
        return methods[0] if len(methods) == 1 else COMPOSITE

    @property
    def outlier(self) -> bool:
        return self.flag == "outlier"

    def reversed(self) -> CrosswalkPair:
        """The same pairing seen from the target code."""
        return CrosswalkPair(
            source=self.target,
            target=self.source,
            source_label=self.target_label,
            target_label=self.source_label,
            source_uses=self.target_uses,
            target_uses=self.source_uses,
            source_contexts=self.target_contexts,
            target_contexts=self.source_contexts,
            co_indexed=self.co_indexed,
            paired=self.paired,
            lexical=self.lexical,
            lexical_score=self.lexical_score,
            cardinality=_flipped(self.cardinality),
            flag=self.flag,
            predicate=self.predicate,
            confidence=self.confidence,
        )


def _pair_order(pair: CrosswalkPair) -> tuple[Any, ...]:
    """Pairs of one code: by target system, paired first, best supported first."""
    return (
        system_order(pair.target.system),
        pair.status != "paired",
        -pair.confidence,
        -pair.paired.context_count,
        -pair.co_indexed.entity_count,
        pair.target.code,
    )


@dataclass(frozen=True, slots=True)
class CodeCrosswalk:
    """One code's usage and its pairs, each oriented from the code (:func:`_pair_order`)."""

    usage: CodeUsage
    pairs: tuple[CrosswalkPair, ...]


@dataclass(frozen=True)
class Crosswalk:
    """The whole crosswalk: every code's usage, and every pair of co-indexed codes once, its
    first code the one whose system comes first in the registry (then by code).

    ``oversized`` names the entities whose codes were paired by equal displays only
    (:data:`MAX_COMPARED_PAIRS`; known where the crosswalk is computed, empty when it is read
    from a crosswalk graph)."""

    usages: Mapping[IndexCode, CodeUsage]
    pairs: tuple[CrosswalkPair, ...]
    oversized: tuple[str, ...] = ()
    _by_code: dict[IndexCode, list[CrosswalkPair]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def _index(self) -> dict[IndexCode, list[CrosswalkPair]]:
        """Code → its pairs oriented from it, built on first use (whole, then published)."""
        if not self._by_code and self.pairs:
            index: dict[IndexCode, list[CrosswalkPair]] = {}
            for pair in self.pairs:
                index.setdefault(pair.source, []).append(pair)
                index.setdefault(pair.target, []).append(pair.reversed())
            for pairs in index.values():
                pairs.sort(key=_pair_order)
            self._by_code.update(index)
        return self._by_code

    def code(
        self, code: IndexCode, to: str | CodeSystem | None = None, *, uses: bool = True
    ) -> CodeCrosswalk | None:
        """``code``'s usage and pairs (only those with system ``to`` when given), or ``None``
        for a code no model uses. ``uses=False`` leaves the usage's ``used_by`` empty."""
        bare = IndexCode.of(code.system, code.code)
        usage = self.usages.get(bare)
        if usage is None:
            return None
        if not uses:
            usage = CodeUsage(usage.code, usage.displays, usage.uses, usage.contexts)
        system = _system(to)
        pairs = self._index().get(bare, [])
        if system is not None:
            pairs = [p for p in pairs if p.target.system == system.key]
        return CodeCrosswalk(usage, tuple(pairs))

    def between(
        self, source: str | CodeSystem | None = None, target: str | CodeSystem | None = None
    ) -> list[CrosswalkPair]:
        """The pairs from ``source`` to ``target`` (either ``None``: every system), oriented
        from the source system, sorted by source system, target system, source and target
        code. With both ``None`` each pair comes twice, once from either side."""
        x, y = _system(source), _system(target)
        out: list[CrosswalkPair] = []
        for pair in self.pairs:
            for oriented in (pair, pair.reversed()):
                if (x is None or oriented.source.system == x.key) and (
                    y is None or oriented.target.system == y.key
                ):
                    out.append(oriented)
        out.sort(key=lambda p: (_code_key(p.source), _code_key(p.target)))
        return out


# ------------------------------------------------------------------ computation


class EntityCodes(NamedTuple):
    """What the crosswalk needs of one entity: its OIFM ID and kind, its finding's OIFM ID, its
    name (and, for a value, its attribute's name), its index codes with the displays its model
    gives them (a code may come once per display), a finding's anatomic locations, and the
    name of the finding the entity belongs to (a finding's own name when not given).

    The displays are those the *model* gives each code (the knowledge graph keeps a code's
    displays per model graph, not per entity), so that entities read from models
    (:func:`entities_of_model`) and from a store (:func:`entities_of`) are the same.
    """

    entity: str
    kind: EntityKind
    finding: str
    name: str | None
    attribute: str | None
    codes: tuple[IndexCode, ...]
    locations: tuple[IndexCode, ...] = ()
    finding_name: str | None = None


_Key = tuple[str, str]


class _Tally:
    """The entities listing one pair of codes, as they are found."""

    __slots__ = ("colisted_score", "entities", "lexical", "paired", "paired_score")

    def __init__(self) -> None:
        self.entities: list[str] = []
        self.paired: list[str] = []
        self.lexical = False
        self.paired_score: float | None = None
        self.colisted_score: float | None = None

    def compared(self, entity: str, paired: bool, score: float) -> None:
        self.entities.append(entity)
        if paired:
            self.paired.append(entity)
            self.lexical = True
            self.paired_score = max(score, self.paired_score or 0.0)
        else:
            self.colisted_score = max(score, self.colisted_score or 0.0)


#: Strings per use in :attr:`_Code.rows`: entity, finding, kind letter, label, finding's name.
_STRIDE = 5


class _Code:
    """What is counted for one code: its uses, flat (entity, finding, kind letter, label,
    finding's name, …),
    its index uses, contexts (by number), and per display [number of findings giving it, the
    last such finding]. Strings in one list rather than an object per use: the counting keeps
    few objects alive, so the garbage collector has little to walk."""

    __slots__ = ("contexts", "displays", "indexed", "rows")

    def __init__(self) -> None:
        self.rows: list[str | None] = []
        self.indexed = 0
        self.contexts: set[int] = set()
        self.displays: dict[str, list[Any]] = {}

    def shown(self, display: str, finding: str) -> None:
        counted = self.displays.get(display)
        if counted is None:
            self.displays[display] = [1, finding]
        elif counted[1] != finding:  # the entities of a finding come together
            counted[0] += 1
            counted[1] = finding

    def uses(self) -> UseList:
        """The uses in order (by finding, then as counted: kind, entity), labels numbered in
        that order (each use's label, then its finding's name)."""
        rows = self.rows
        # entities, findings and kinds are never None; labels and finding names may be
        entities = cast("list[str]", rows[0::_STRIDE])
        findings = cast("list[str]", rows[1::_STRIDE])
        kinds = cast("list[str]", rows[2::_STRIDE])
        labels, named = rows[3::_STRIDE], rows[4::_STRIDE]
        order = sorted(range(len(findings)), key=findings.__getitem__)  # stable
        numbers: dict[str | None, int] = {}
        which, names = [], []
        for i in order:
            which.append(numbers.setdefault(labels[i], len(numbers)))
            names.append(numbers.setdefault(named[i], len(numbers)))
        return UseList(
            (
                " ".join([entities[i] for i in order]),
                " ".join([findings[i] for i in order]),
                "".join([kinds[i] for i in order]),
                list(numbers),
                which,
                names,
            )
        )


def _cross_pairs(sizes: Iterable[int]) -> int:
    """The pairs of codes of different systems among groups of ``sizes`` codes per system."""
    counts = list(sizes)
    total = sum(counts)
    return (total * total - sum(n * n for n in counts)) // 2


def _natural_key(oifm_id: str) -> str:
    """A sort key putting value IDs in number order (``….2`` before ``….10``)."""
    if "." not in oifm_id:
        return oifm_id
    stem, _, number = oifm_id.partition(".")
    return f"{stem}.{int(number):09d}" if number.isdigit() else oifm_id


class _Builder:
    """Counts entities as they come (:meth:`add`, one model or many at a time), then derives
    the crosswalk (:meth:`crosswalk`)."""

    def __init__(self) -> None:
        self.finding_of: dict[str, str] = {}
        self.context_of: dict[str, int] = {}
        self.natural: dict[str, str] = {}
        self.codes: dict[_Key, _Code] = {}
        self.tallies: dict[tuple[_Key, _Key], _Tally] = {}
        self.contexts: list[Context] = []
        self._numbers: dict[Context, int] = {}
        self._context_ids: dict[tuple[str, str | None, str | None], int] = {}
        self.oversized: list[str] = []

    def add(self, entities: Iterable[EntityCodes]) -> None:
        """Count ``entities``; all the entities of a finding come in one call."""
        codes, tallies, natural = self.codes, self.tallies, self.natural
        finding_of, context_of, known = self.finding_of, self.context_of, self._context_ids
        ordered = sorted(
            ((e, _natural_key(e[0])) for e in entities),
            key=lambda item: (item[0][2], _KIND_RANK[item[0][1]], item[1]),
        )
        for entity, natural_key in ordered:
            eid, kind, finding, name, attribute, listed, locations, finding_name = entity
            if finding_name is None and kind == "finding":
                finding_name = name
            named = (kind, name, attribute)
            context = known.get(named)
            if context is None:
                normal = Context.of(kind, name, attribute)
                context = self._numbers.get(normal)
                if context is None:
                    context = self._numbers[normal] = len(self.contexts)
                    self.contexts.append(normal)
                known[named] = context
            finding_of[eid] = finding
            context_of[eid] = context
            natural[eid] = natural_key
            on_entity: dict[_Key, list[str]] = {}
            for code in listed:
                key = (code.system, code.code)
                shown = on_entity.get(key)
                if shown is None:
                    shown = on_entity[key] = []
                if code.display:
                    shown.append(code.display)
            if on_entity:
                letter = _KIND_CHARS[kind]
                for key, displays in on_entity.items():
                    state = codes.get(key)
                    if state is None:
                        state = codes[key] = _Code()
                    state.rows += (eid, finding, letter, name, finding_name)
                    state.indexed += 1
                    state.contexts.add(context)
                    for display in displays:
                        counted = state.displays.get(display)
                        if counted is None:
                            state.displays[display] = [1, finding]
                        elif counted[1] != finding:  # the entities of a finding come together
                            counted[0] += 1
                            counted[1] = finding
            for code in locations:
                key = (code.system, code.code)
                state = codes.get(key)
                if state is None:
                    state = codes[key] = _Code()
                if code.display:
                    state.shown(code.display, finding)
                rows = state.rows
                if not (rows and rows[-3] == "l" and rows[-5] == finding):
                    rows += (finding, finding, "l", name, finding_name)
            if len(on_entity) < 2:
                continue
            if len(on_entity) == 2:
                a, b = on_entity
                if a[0] == b[0]:
                    continue
                if system_order(a[0]) > system_order(b[0]):
                    a, b = b, a
                tally = tallies.get((a, b))
                if tally is None:
                    tally = tallies[(a, b)] = _Tally()
                tally.entities.append(eid)
                tally.paired.append(eid)
                continue
            self._pair(eid, on_entity)

    def _pair(self, entity: str, on_entity: dict[_Key, list[str]]) -> None:
        from ontomap.lexical import pair_displays

        by_system: dict[str, list[_Key]] = {}
        for key in on_entity:
            by_system.setdefault(key[0], []).append(key)
        if len(by_system) < 2:
            return
        if _cross_pairs(len(codes) for codes in by_system.values()) > MAX_COMPARED_PAIRS:
            self._pair_equal(entity, on_entity)
            return
        systems = sorted(by_system, key=system_order)
        tallies = self.tallies
        for i, x in enumerate(systems):
            for y in systems[i + 1 :]:
                left, right = by_system[x], by_system[y]
                if len(left) >= 2 and len(right) >= 2:
                    compared = pair_displays(
                        [(a, on_entity[a]) for a in left], [(b, on_entity[b]) for b in right]
                    )
                    for found in compared:
                        tally = tallies.get((found.left, found.right))
                        if tally is None:
                            tally = tallies[(found.left, found.right)] = _Tally()
                        tally.compared(entity, found.paired, found.score)
                    continue
                for a in left:
                    for b in right:
                        tally = tallies.get((a, b))
                        if tally is None:
                            tally = tallies[(a, b)] = _Tally()
                        tally.entities.append(entity)
                        tally.paired.append(entity)

    def _pair_equal(self, entity: str, on_entity: dict[_Key, list[str]]) -> None:
        """Pair the codes of an oversized entity (codes of different systems) whose displays
        have equal normal forms, record nothing for the others; and nothing at all when even
        those pairs would be more than :data:`MAX_COMPARED_PAIRS`."""
        from ontomap.lexical import normalise

        self.oversized.append(entity)
        by_form: dict[str, dict[str, list[_Key]]] = {}
        for key, displays in on_entity.items():
            for form in sorted({normalise(d) for d in displays}):
                if form:
                    by_form.setdefault(form, {}).setdefault(key[0], []).append(key)
        groups = [group for group in by_form.values() if len(group) >= 2]
        if sum(_cross_pairs(len(k) for k in g.values()) for g in groups) > MAX_COMPARED_PAIRS:
            return
        matched: dict[tuple[_Key, _Key], None] = {}
        for group in groups:
            systems = sorted(group, key=system_order)
            for i, x in enumerate(systems):
                for y in systems[i + 1 :]:
                    for a in group[x]:
                        for b in group[y]:
                            matched[(a, b)] = None
        tallies = self.tallies
        for key in matched:
            tally = tallies.get(key)
            if tally is None:
                tally = tallies[key] = _Tally()
            tally.compared(entity, True, 1.0)

    def evidence(self, entities: list[str]) -> Evidence:
        ordered = sorted(entities, key=self.natural.__getitem__)
        findings: set[str] = set()
        per_context: dict[int, tuple[list[int], set[str]]] = {}
        finding_of, context_of = self.finding_of, self.context_of
        for entity in ordered:
            finding, context = finding_of[entity], context_of[entity]
            findings.add(finding)
            found = per_context.get(context)
            if found is None:
                per_context[context] = ([1], {finding})
            else:
                found[0][0] += 1
                found[1].add(finding)
        contexts = sorted(
            (ContextSupport(self.contexts[c], n[0], len(f)) for c, (n, f) in per_context.items()),
            key=lambda s: (-s.findings, -s.entities, s.context.sort_key),
        )
        return Evidence(tuple(ordered), len(findings), tuple(contexts))

    def usages(self) -> dict[_Key, CodeUsage]:
        out = {}
        for key, state in self.codes.items():
            ranked = sorted(
                ((d, counted[0]) for d, counted in state.displays.items()),
                key=lambda item: (-item[1], item[0]),
            )
            out[key] = CodeUsage(
                IndexCode.of(*key),
                tuple(ranked),
                state.indexed,
                len(state.contexts),
                state.uses(),
            )
        return out

    def pairs(self, usages: Mapping[_Key, CodeUsage]) -> Iterator[CrosswalkPair]:
        partners: dict[tuple[_Key, str], dict[_Key, int]] = defaultdict(dict)
        for (a, b), tally in self.tallies.items():
            if tally.paired:
                partners[(a, b[0])][b] = len(tally.paired)
                partners[(b, a[0])][a] = len(tally.paired)
        ordered = sorted(
            self.tallies.items(),
            key=lambda i: (
                system_order(i[0][0][0]),
                i[0][0][1],
                system_order(i[0][1][0]),
                i[0][1][1],
            ),
        )
        for (a, b), tally in ordered:
            ua, ub = usages[a], usages[b]
            paired = self.evidence(tally.paired)
            if len(tally.entities) == len(tally.paired):
                co_indexed = paired
            else:
                co_indexed = self.evidence(tally.entities)
            cardinality: Cardinality | None = None
            flag: Flag | None = None
            predicate: Predicate | None = None
            confidence = 0.0
            if paired:
                here, there = partners[(a, b[0])], partners[(b, a[0])]
                cardinality = cardinality_of(len(here) > 1, len(there) > 1)
                n = paired.entity_count
                outlier = is_minority(
                    n / ua.uses, (m / ua.uses for c, m in here.items() if c != b)
                ) or is_minority(n / ub.uses, (m / ub.uses for c, m in there.items() if c != a))
                flag = "outlier" if outlier else None
                k = paired.context_count
                confidence = k / (max(ua.contexts, ub.contexts) + 1)
                close = (
                    cardinality == "1:1"
                    and flag is None
                    and k >= CLOSE_MATCH_MIN_CONTEXTS
                    and paired.findings >= CLOSE_MATCH_MIN_FINDINGS
                    and min(k / ua.contexts, k / ub.contexts) >= CLOSE_MATCH_MIN_SHARE
                )
                predicate = CLOSE_MATCH if close else RELATED_MATCH
            yield CrosswalkPair(
                source=ua.code,
                target=ub.code,
                source_label=ua.label,
                target_label=ub.label,
                source_uses=ua.uses,
                target_uses=ub.uses,
                source_contexts=ua.contexts,
                target_contexts=ub.contexts,
                co_indexed=co_indexed,
                paired=paired,
                lexical=tally.lexical,
                lexical_score=tally.paired_score if tally.lexical else tally.colisted_score,
                cardinality=cardinality,
                flag=flag,
                predicate=predicate,
                confidence=confidence,
            )

    def crosswalk(self) -> Crosswalk:
        usages = self.usages()
        pairs = tuple(self.pairs(usages))
        return Crosswalk(
            {usage.code: usage for usage in usages.values()}, pairs, tuple(self.oversized)
        )


def build_crosswalk(entities: Iterable[EntityCodes]) -> Crosswalk:
    """The crosswalk of ``entities`` (every entity that carries codes; see the module doc).

    Entity IDs must be unique. Codes are compared by system key and code; their displays only
    rank labels and pair codes by display.
    """
    builder = _Builder()
    builder.add(entities)
    return builder.crosswalk()


def entities_of_model(model: FindingModel) -> list[EntityCodes]:
    """The entities of ``model`` that carry index codes or anatomic locations, each code with
    every display the model gives it (see :class:`EntityCodes`)."""
    lists = [model.index_codes, model.anatomic_locations]
    for attribute in model.attributes:
        lists.append(attribute.index_codes)
        lists.extend(value.index_codes for value in getattr(attribute, "values", ()))
    first: dict[_Key, str | None] = {}
    several: set[_Key] = set()
    for codes in lists:
        for code in codes:
            key = (code.system, code.code)
            if first.setdefault(key, code.display) != code.display:
                several.add(key)
    given: dict[_Key, tuple[IndexCode, ...]] = {}
    if several:  # a code the model gives several displays (or none, besides one) gets them all
        shown: dict[_Key, set[str]] = defaultdict(set)
        for codes in lists:
            for code in codes:
                key = (code.system, code.code)
                if key in several and code.display:
                    shown[key].add(code.display)
        given = {key: tuple(IndexCode(*key, d) for d in sorted(shown[key])) for key in several}

    def labelled(codes: tuple[IndexCode, ...]) -> tuple[IndexCode, ...]:
        if not given:
            return codes
        out: list[IndexCode] = []
        for code in codes:
            key = (code.system, code.code)
            out.extend(given.get(key) or (code,))
        return tuple(out)

    oifm_id = model.oifm_id
    out = []
    if model.index_codes or model.anatomic_locations:
        out.append(
            EntityCodes(
                oifm_id,
                "finding",
                oifm_id,
                model.name,
                None,
                labelled(model.index_codes),
                labelled(model.anatomic_locations),
                model.name,
            )
        )
    for attribute in model.attributes:
        if attribute.index_codes:
            out.append(
                EntityCodes(
                    attribute.oifma_id,
                    "attribute",
                    oifm_id,
                    attribute.name,
                    None,
                    labelled(attribute.index_codes),
                    (),
                    model.name,
                )
            )
        for value in getattr(attribute, "values", ()):
            if value.index_codes:
                out.append(
                    EntityCodes(
                        value.value_code,
                        "value",
                        oifm_id,
                        value.name,
                        attribute.name,
                        labelled(value.index_codes),
                        (),
                        model.name,
                    )
                )
    return out


# ------------------------------------------------------------------ reading a backend

#: Each concept of the codes graph: its system key (the scheme's notation) and code.
CODES_QUERY = sparql_text("ontomap", "crosswalk-codes.rq")
#: Each index code of each entity, in its model graph.
INDEX_QUERY = sparql_text("ontomap", "crosswalk-index-codes.rq")
#: Each anatomic location of each finding, in its model graph.
LOCATION_QUERY = sparql_text("ontomap", "crosswalk-locations.rq")
#: Every label of a model graph: entity names and code displays alike.
LABELS_QUERY = sparql_text("ontomap", "crosswalk-labels.rq")
#: Each value of each choice attribute.
VALUES_QUERY = sparql_text("ontomap", "crosswalk-values.rq")

_KINDS: tuple[tuple[re.Pattern[str], EntityKind], ...] = (
    (re.compile(VALUE_CODE_PATTERN), "value"),
    (re.compile(OIFMA_ID_PATTERN), "attribute"),
    (re.compile(OIFM_ID_PATTERN), "finding"),
)


def _kind_of(oifm_id: str) -> EntityKind | None:
    for pattern, kind in _KINDS:
        if pattern.fullmatch(oifm_id):
            return kind
    return None


def _direct_store(target: Store | SparqlBackend) -> ox.Store | None:
    """The embedded Oxigraph store behind ``target``, queried without a result round trip."""
    from ontomap.backends import LocalBackend
    from ontomap.store import Store

    if isinstance(target, Store):
        return target.oxigraph
    if isinstance(target, LocalBackend):
        return target.store.oxigraph
    return None


def _location(target: Store | SparqlBackend) -> str:
    path = getattr(target, "path", None)
    if path is not None:
        return str(path)
    return str(getattr(target, "location", target))


def _select(
    target: Store | SparqlBackend, query: str, bindings: Mapping[str, Term] | None = None
) -> Iterator[Row]:
    """The rows of a SELECT query on ``target``, in projection order."""
    store = _direct_store(target)
    if store is not None:
        substitutions = {ox.Variable(k): v for k, v in (bindings or {}).items()}
        solutions = store.query(
            query, prefixes=STANDARD_PREFIXES, substitutions=substitutions or None
        )
        return iter(solutions)  # type: ignore[arg-type]
    from ontomap.sparql import QueryError

    try:
        result = target.query(query, bindings, STANDARD_PREFIXES)  # type: ignore[union-attr]
    except QueryError as exc:
        raise StoreError(f"{_location(target)} cannot run the crosswalk's queries: {exc}") from None
    rows = getattr(result, "rows", None)
    if rows is None:
        raise StoreError(f"{_location(target)} answered a crosswalk query with no rows")
    return iter(rows)


def _value(term: Term | None, target: Store | SparqlBackend) -> str:
    if isinstance(term, ox.NamedNode | ox.Literal):
        return term.value
    raise StoreError(
        f"{_location(target)} answered {term} to a crosswalk query where an IRI or a literal "
        "belongs; does it hold a knowledge graph of ontomap's layout?"
    )


def entities_of(target: Store | SparqlBackend) -> list[EntityCodes]:
    """Every entity of ``target``'s models that carries an index code or an anatomic location,
    read with five SPARQL queries (``GRAPH`` patterns only, whatever the number of codes)."""
    base = target.base_iri or ""
    concepts: dict[str, IndexCode] = {}
    for concept, system, code in _select(target, CODES_QUERY):
        concepts[_value(concept, target)] = IndexCode.of(
            _value(system, target), _value(code, target)
        )
    codes: dict[tuple[str, str], list[str]] = defaultdict(list)
    for graph, node, concept in _select(target, INDEX_QUERY):
        codes[(_value(graph, target), _value(node, target))].append(_value(concept, target))
    locations: dict[tuple[str, str], list[str]] = defaultdict(list)
    for graph, node, concept in _select(target, LOCATION_QUERY):
        locations[(_value(graph, target), _value(node, target))].append(_value(concept, target))
    names: dict[tuple[str, str], str] = {}
    shown: dict[tuple[str, str], list[str]] = defaultdict(list)
    for graph, node, label in _select(target, LABELS_QUERY):
        key = (_value(graph, target), _value(node, target))
        if key[1] in concepts:
            shown[key].append(_value(label, target))
        else:
            names.setdefault(key, _value(label, target))
    attribute_of: dict[tuple[str, str], str] = {}
    for graph, attribute, node in _select(target, VALUES_QUERY):
        attribute_of[(_value(graph, target), _value(node, target))] = _value(attribute, target)

    def labelled(graph: str, iris: Iterable[str]) -> tuple[IndexCode, ...]:
        out = []
        for concept in iris:
            code = concepts.get(concept)
            if code is None:
                continue
            given = shown.get((graph, concept))
            if given:
                out.extend(IndexCode.of(code.system, code.code, d) for d in sorted(given))
            else:
                out.append(code)
        return tuple(out)

    entities = []
    for key in sorted(codes.keys() | locations.keys()):
        graph, node = key
        if not graph.startswith(GRAPH_NS) or not node.startswith(base):
            continue
        entity = node[len(base) :]
        kind = _kind_of(entity)
        if kind is None:
            continue
        attribute = attribute_of.get(key)
        entities.append(
            EntityCodes(
                entity=entity,
                kind=kind,
                finding=graph[len(GRAPH_NS) :],
                name=names.get(key),
                attribute=names.get((graph, attribute)) if attribute else None,
                codes=labelled(graph, codes.get(key, ())),
                locations=labelled(graph, locations.get(key, ())),
                finding_name=names.get((graph, base + graph[len(GRAPH_NS) :])),
            )
        )
    return entities


def compute_crosswalk(target: Store | SparqlBackend) -> Crosswalk:
    """The whole crosswalk of ``target`` (a store or any SPARQL backend), computed from its
    model graphs (:func:`entities_of`, then :func:`build_crosswalk`)."""
    return build_crosswalk(entities_of(target))


# ------------------------------------------------------------------ materialisation
#
# The crosswalk graph holds, for SPARQL users, a few typed triples per pair of codes
# (oifm:CodePairing: its codes, status, counts, template flag, predicate, confidence); and, for
# the reader, compact records written from the same computation: per code a JSON record
# (displays, counts) and its list of uses, per pair a JSON row with all its evidence. Reading a
# code is then one row plus one per pair; reading a pair of systems one row per pair.

_CW = CROSSWALK_GRAPH.value
_END = " .\n"
_INTEGER = XSD.integer.value
_DECIMAL = XSD.decimal.value
_BOOLEAN = XSD.boolean.value
_JSON = RDF.JSON.value
_PREDICATE_IRIS = {CLOSE_MATCH: SKOS_NS + "closeMatch", RELATED_MATCH: SKOS_NS + "relatedMatch"}


def _segment(code: IndexCode) -> str:
    return f"{code.system}/{quote(code.code, safe='')}"


def _usage_iri(code: IndexCode) -> str:
    return f"{_CW}/code/{_segment(code)}"


def _uses_iri(code: IndexCode) -> str:
    return f"{_CW}/uses/{_segment(code)}"


def _pair_iri(first: IndexCode, second: IndexCode) -> str:
    return f"{_CW}/pair/{_segment(first)}/{_segment(second)}"


def _json(value: object) -> str:
    # ASCII JSON: only backslashes and quotes need escaping in the N-Quads literal.
    text = json.dumps(value, separators=(",", ":")).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"^^<{_JSON}>'


def _integer(value: int) -> str:
    return typed_literal(str(value), _INTEGER)


def _boolean(value: bool) -> str:
    return typed_literal("true" if value else "false", _BOOLEAN)


def _decimal(value: float) -> str:
    return typed_literal(decimal_text(value), _DECIMAL)


def _evidence_row(evidence: Evidence) -> list[Any]:
    return [
        " ".join(evidence.entities),
        evidence.findings,
        [
            [s.context.kind, s.context.name, s.context.attribute, s.entities, s.findings]
            for s in evidence.contexts
        ],
    ]


def _row(pair: CrosswalkPair) -> list[Any]:
    """A pair as a compact JSON row (``None`` for paired evidence equal to the co-indexing)."""
    same = pair.paired.entity_count == pair.co_indexed.entity_count
    return [
        pair.source.system,
        pair.source.code,
        pair.target.system,
        pair.target.code,
        pair.source_label,
        pair.target_label,
        pair.source_uses,
        pair.target_uses,
        pair.source_contexts,
        pair.target_contexts,
        _evidence_row(pair.co_indexed),
        None if same else _evidence_row(pair.paired),
        pair.lexical,
        pair.lexical_score,
        pair.cardinality,
        pair.flag,
        pair.predicate,
        pair.confidence,
    ]


def _uses_row(uses: Sequence[CodeUse]) -> Sequence[Any]:
    """Uses as [entities, findings (space-separated), kinds (one letter each), labels, label
    of each use, name of each use's finding (indexes into the labels)]: compact, and read back
    without a key per use."""
    if isinstance(uses, UseList):
        return uses.row
    labels: dict[str | None, int] = {}
    which = [labels.setdefault(use.label, len(labels)) for use in uses]
    names = [labels.setdefault(use.finding_label, len(labels)) for use in uses]
    return [
        " ".join(use.entity for use in uses),
        " ".join(use.finding for use in uses),
        "".join(_KIND_CHARS[use.kind] for use in uses),
        list(labels),
        which,
        names,
    ]


def crosswalk_lines(crosswalk: Crosswalk) -> list[str]:
    """The crosswalk as the N-Triples lines of :data:`~ontomap.graph.CROSSWALK_GRAPH` (vocabulary
    in ``ontologies/oifm.ttl``): the rules version; per code its record and its list of uses
    (shared by codes with the same uses), under an IRI minted from the code; per pair of codes
    a ``oifm:CodePairing`` with its record and a few typed facts for queries."""
    o = {name: iri(getattr(OIFM, name).value) for name in sorted(OIFM.names)}
    rdf_type = iri(RDF.type.value)
    g = _END
    out = [f"<{_CW}> {o['rulesVersion']} {_integer(RULES_VERSION)}{g}"]
    add = out.append
    lists: dict[str, str] = {}  # codes with the same uses share one list
    for code in sorted(crosswalk.usages, key=_code_key):
        usage = crosswalk.usages[code]
        record = [code.system, code.code, usage.displays, usage.uses, usage.contexts]
        s = iri(_usage_iri(code))
        uses = _json(_uses_row(usage.used_by))
        listed = lists.get(uses)
        if listed is None:
            listed = lists[uses] = iri(_uses_iri(code))
            add(f"{listed} {o['useList']} {uses}{g}")
        add(f"{s} {o['codeRecord']} {_json(record)}{g}")
        add(f"{s} {o['uses']} {listed}{g}")
    for pair in crosswalk.pairs:
        s = iri(_pair_iri(pair.source, pair.target))
        facts = [
            (rdf_type, o["CodePairing"]),
            (o["firstCode"], iri(pair.source.iri)),
            (o["secondCode"], iri(pair.target.iri)),
            (o["firstScheme"], iri(SCHEME_NAMESPACE + pair.source.system)),
            (o["secondScheme"], iri(SCHEME_NAMESPACE + pair.target.system)),
            (o["pairingStatus"], literal(pair.status)),
            (o["entityCount"], _integer(pair.co_indexed.entity_count)),
            (o["findingCount"], _integer(pair.co_indexed.findings)),
            (o["contextCount"], _integer(pair.paired.context_count)),
            (o["template"], _boolean(pair.template)),
            (o["confidence"], _decimal(pair.confidence)),
            (o["pairRecord"], _json(_row(pair))),
        ]
        if pair.lexical_score is not None:
            facts.append((o["lexicalScore"], _decimal(pair.lexical_score)))
        if pair.predicate is not None:
            facts.append((o["mappingPredicate"], iri(_PREDICATE_IRIS[pair.predicate])))
        for method in pair.methods:
            facts.append((o["matchingMethod"], iri(SEMAPV_NS + method.split(":", 1)[1])))
        out.extend(f"{s} {p} {v}{g}" for p, v in facts)
    return out


def _write(store: Store, lines: list[str]) -> int:
    oxigraph = store.oxigraph
    oxigraph.remove_graph(CROSSWALK_GRAPH)
    oxigraph.bulk_load(
        "".join(lines).encode(),
        format=ox.RdfFormat.N_TRIPLES,
        to_graph=CROSSWALK_GRAPH,
        lenient=True,
    )
    return len(lines)


def materialise(store: Store, entities: Iterable[EntityCodes] | None = None) -> int:
    """Write the crosswalk of ``store``'s models into its crosswalk graph, replacing what was
    there; returns the number of quads written.

    ``entities`` are the entities of every model in the store, when the caller has them;
    without them they are read from the store (:func:`entities_of`).
    """
    found = entities_of(store) if entities is None else entities
    return _write(store, crosswalk_lines(build_crosswalk(found)))


class CrosswalkUpdate:
    """Rebuilds a store's crosswalk graph at the end of a load (:meth:`Store.load
    <ontomap.store.Store.load>`, in the same write).

    :meth:`watch` passes the load's models through, counting each one's entities on the way,
    and finishes the crosswalk as soon as the last model has passed, while the load is still
    converting and writing the models; :meth:`apply` writes it. When the store held models
    this load did not bring, the crosswalk is computed from the store instead, once the load
    has written everything (:func:`entities_of`), and so it is when a model comes twice in
    the load (the store keeps its later version). Only the models' IDs are kept, never the
    models: a load of 238,000 models holds none of them past their own batch.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        describes = store.oxigraph.quads_for_pattern(None, OIFM.describes, None, META_GRAPH)
        self._before = {
            q.subject.value[len(GRAPH_NS) :]
            for q in describes
            if isinstance(q.subject, ox.NamedNode)
        }
        self._ids: set[str] = set()
        self._builder: _Builder | None = _Builder()
        self._lines: list[str] | None = None

    def watch(self, sources: Iterable[SourceModel]) -> Iterator[SourceModel]:
        """``sources``, unchanged, each model counted on the way."""
        ids = self._ids
        for source in sources:
            model = source.model
            if model.oifm_id in ids:  # given again: counted from the store once it is written
                self._builder = None
            ids.add(model.oifm_id)
            if self._builder is not None:
                self._builder.add(entities_of_model(model))
            yield source
        if self._builder is not None and self._before <= ids:
            self._lines = crosswalk_lines(self._builder.crosswalk())
        self._builder = None

    def apply(self) -> int:
        """Write the crosswalk of every model in the store; returns the quads written (0 when
        the load brought no model and the store's crosswalk is of the current rules)."""
        if self._lines is not None:
            return _write(self.store, self._lines)
        if not self._ids and CrosswalkReader(self.store).materialised:
            return 0
        return materialise(self.store)


# ------------------------------------------------------------------ reading the graph

_VERSION_QUERY = sparql_text("ontomap", "crosswalk-rules-version.rq")
#: One code's record, list of uses and pairs, one row each.
CODE_QUERY = sparql_text("ontomap", "crosswalk-code.rq")
#: The same without the list of uses.
CODE_QUERY_NO_USES = CODE_QUERY.replace(" ; oifm:uses ?u . ?u oifm:useList ?uses", "")
#: The pairs of one pair of systems (both bound, in registry order), or of all.
PAIRS_QUERY = sparql_text("ontomap", "crosswalk-pairs.rq")
#: The record and list of uses of the codes of ``VALUES ?s {}`` (filled in with IRIs).
USAGES_OF_QUERY = sparql_text("ontomap", "crosswalk-usages-of.rq")
#: Codes per bulk query (:meth:`CrosswalkReader.usages`): a query text of about 100 kB.
_VALUES_CHUNK = 1000
#: Every code's record and list of uses.
USAGES_QUERY = sparql_text("ontomap", "crosswalk-usages.rq")


def _json_value(term: Term | None) -> Any:
    if not isinstance(term, ox.Literal):
        raise ValueError(f"{term} is not a JSON literal")
    return json.loads(term.value)


def _evidence_from(row: list[Any]) -> Evidence:
    entities, findings, contexts = row
    return Evidence(
        tuple(entities.split()) if entities else (),
        findings,
        tuple(
            ContextSupport(Context(kind, name, attribute), n, f)
            for kind, name, attribute, n, f in contexts
        ),
    )


def _pair_from(row: list[Any]) -> CrosswalkPair:
    (sx, sc, tx, tc, sl, tl, su, tu, sn, tn, co, pa, lex, score, card, flag, pred, conf) = row
    co_indexed = _evidence_from(co)
    return CrosswalkPair(
        source=IndexCode.of(sx, sc),
        target=IndexCode.of(tx, tc),
        source_label=sl,
        target_label=tl,
        source_uses=su,
        target_uses=tu,
        source_contexts=sn,
        target_contexts=tn,
        co_indexed=co_indexed,
        paired=co_indexed if pa is None else _evidence_from(pa),
        lexical=lex,
        lexical_score=score,
        cardinality=card,
        flag=flag,
        predicate=pred,
        confidence=conf,
    )


def _usage_from(record: list[Any], uses: list[Any] | None) -> CodeUsage:
    system, code, displays, count, contexts = record
    return CodeUsage(
        IndexCode.of(system, code),
        tuple((display, models) for display, models in displays),
        count,
        contexts,
        UseList(uses) if uses else (),
    )


class CrosswalkReader:
    """Answers from the crosswalk graph a store (or an endpoint it was pushed to) holds.

    Where the graph is missing or was written under other rules (:data:`RULES_VERSION`), the
    crosswalk is computed once from the models instead (:func:`compute_crosswalk`) and kept:
    same answers, slower first call. Keep one reader per backend.
    """

    def __init__(self, target: Store | SparqlBackend) -> None:
        self.target = target
        self._materialised: bool | None = None
        self._computed: Crosswalk | None = None

    @property
    def materialised(self) -> bool:
        """Whether the target holds a crosswalk graph of the current rules."""
        if self._materialised is None:
            versions = [row[0] for row in _select(self.target, _VERSION_QUERY)]
            self._materialised = [
                v.value if isinstance(v, ox.Literal) else None for v in versions
            ] == [str(RULES_VERSION)]
        return self._materialised

    def _fallback(self) -> Crosswalk:
        if self._computed is None:
            self._computed = compute_crosswalk(self.target)
        return self._computed

    def _damaged(self, exc: Exception) -> StoreError:
        return StoreError(
            f"the crosswalk graph <{_CW}> of {_location(self.target)} cannot be read ({exc}); "
            "rebuild the store with 'ontomap build'"
        )

    def code(
        self, code: IndexCode, to: str | CodeSystem | None = None, *, uses: bool = True
    ) -> CodeCrosswalk | None:
        """``code``'s usage and its pairs, oriented from it (only those with system ``to``
        when given), or ``None`` when no model uses the code. ``uses=False`` skips the list of
        uses (the usage's ``used_by`` is then empty)."""
        if not self.materialised:
            return self._fallback().code(code, to, uses=uses)
        system = _system(to)
        bare = IndexCode.of(code.system, code.code)
        query = CODE_QUERY if uses else CODE_QUERY_NO_USES
        usage: CodeUsage | None = None
        pairs: list[CrosswalkPair] = []
        try:
            bindings = {"usage": ox.NamedNode(_usage_iri(bare)), "concept": ox.NamedNode(bare.iri)}
            for _usage, _concept, record, listed, row in _select(self.target, query, bindings):
                if record is not None:
                    usage = _usage_from(_json_value(record), _json_value(listed) if uses else None)
                    continue
                pair = _pair_from(_json_value(row))
                if pair.source != bare:
                    pair = pair.reversed()
                if system is None or pair.target.system == system.key:
                    pairs.append(pair)
        except (KeyError, TypeError, ValueError) as exc:
            raise self._damaged(exc) from None
        if usage is None:
            return None
        pairs.sort(key=_pair_order)
        return CodeCrosswalk(usage, tuple(pairs))

    def usages(self, codes: Iterable[IndexCode]) -> dict[IndexCode, CodeUsage]:
        """The usage, with its list of uses, of each of ``codes`` that a model uses (the others
        are left out), read in bulk: one query per thousand codes instead of one per code."""
        wanted = list(dict.fromkeys(IndexCode.of(c.system, c.code) for c in codes))
        if not self.materialised:
            known = self._fallback().usages
            return {code: known[code] for code in wanted if code in known}
        found: dict[IndexCode, CodeUsage] = {}
        try:
            for start in range(0, len(wanted), _VALUES_CHUNK):
                # The block is written from NamedNode terms, which refuse anything not an IRI.
                terms = " ".join(
                    str(ox.NamedNode(_usage_iri(code)))
                    for code in wanted[start : start + _VALUES_CHUNK]
                )
                query = USAGES_OF_QUERY.replace("VALUES ?s {}", f"VALUES ?s {{ {terms} }}", 1)
                for record, listed in _select(self.target, query):
                    usage = _usage_from(_json_value(record), _json_value(listed))
                    found[usage.code] = usage
        except (KeyError, TypeError, ValueError) as exc:
            raise self._damaged(exc) from None
        return {code: found[code] for code in wanted if code in found}

    def _pairs(self, bindings: Mapping[str, Term] | None) -> list[CrosswalkPair]:
        try:
            return [
                _pair_from(_json_value(row))
                for _x, _y, row in _select(self.target, PAIRS_QUERY, bindings)
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise self._damaged(exc) from None

    def pairs(
        self, source: str | CodeSystem | None = None, target: str | CodeSystem | None = None
    ) -> list[CrosswalkPair]:
        """The pairs from ``source`` to ``target``, as :meth:`Crosswalk.between` gives them."""
        if not self.materialised:
            return self._fallback().between(source, target)
        x, y = _system(source), _system(target)
        if x is not None and y is not None:
            if x.key == y.key:
                return []
            first, second = sorted((x, y), key=lambda s: system_order(s.key))
            found = self._pairs(
                {"x": ox.NamedNode(first.scheme_iri), "y": ox.NamedNode(second.scheme_iri)}
            )
            if first.key != x.key:
                found = [pair.reversed() for pair in found]
            found.sort(key=lambda p: (_code_key(p.source), _code_key(p.target)))
            return found
        return Crosswalk({}, tuple(self._pairs(None))).between(x, y)

    def crosswalk(self) -> Crosswalk:
        """The whole crosswalk, every code's usage with its list of uses."""
        if not self.materialised:
            return self._fallback()
        usages = {}
        try:
            for record, uses in _select(self.target, USAGES_QUERY):
                usage = _usage_from(_json_value(record), _json_value(uses))
                usages[usage.code] = usage
        except (KeyError, TypeError, ValueError) as exc:
            raise self._damaged(exc) from None
        pairs = sorted(self._pairs(None), key=lambda p: (_code_key(p.source), _code_key(p.target)))
        return Crosswalk(usages, tuple(pairs))
