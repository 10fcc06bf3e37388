"""Candidate links: codes of a loaded release for the entities that carry none of its system.

For each finding, attribute and choice value of the models that lists no index code of system
X, :func:`suggest` proposes concepts of a release of X loaded in the store
(:class:`~ontomap.releases.Releases`; the latest unless a version is given) by lexical match of
the entity's names against the release's labels and synonyms. Nothing is written into the
models: the candidates are an SSSOM set (:func:`sssom_text`) for a curator to review.

**Names.** A finding is matched by its name and its synonyms; an attribute and a choice value
by their name alone. A value is matched by its own name, not qualified by its attribute's:
``"present"`` of ``"presence"`` is the qualifier *present*, and a qualified name
(``"presence present"``) matches nothing; the attribute and the finding are named in the row's
comment. Release names are the ``skos:prefLabel`` (every language), ``oifm:fullySpecifiedName``
and ``skos:altLabel`` of each concept that is not ``owl:deprecated`` (inactive, obsolete and
deprecated concepts are never suggested; docs/releases.md).

**Normal forms.** Names are compared in the normal form of :func:`ontomap.lexical.normalise`
(case and accents folded, SNOMED CT semantic tags and punctuation dropped, ``structure``,
``entire``, ``of`` and articles dropped, words sorted), so ``"Liver structure (body
structure)"``, ``"Entire liver"`` and ``"liver"`` are one name.

**Matches, in order** (:data:`PREDICATES`):

1. ``label``: the entity's name has the normal form of a concept's preferred term or fully
   specified name → ``skos:exactMatch``, score 1.0;
2. ``synonym``: another equal pair of normal forms (a finding's synonym and a concept's
   preferred term, or any name and a concept's synonym) → ``skos:closeMatch``, score 1.0;
3. ``fuzzy``: a normal form whose similarity to a name's is at least ``min_score`` (the
   normalised Indel similarity of the normal forms, rapidfuzz's ``fuzz.ratio`` / 100 — on
   sorted words that is ``token_sort_ratio``; the similarity of :mod:`ontomap.lexical`) →
   ``skos:relatedMatch``, whatever the score: a score cannot tell ``hyper`` from ``hypo``
   (``"hyperattenuating lesion"`` / ``"hypoattenuating lesion"`` 0.93), so no fuzzy match
   claims more than relatedness.

Each concept is proposed once per entity, by its best match; an entity gets at most ``limit``
concepts, ranked by match (label, synonym, fuzzy), then score, then code.

**Speed** (a SNOMED-sized release: 1.6 M descriptions). The release is read once with three
SPARQL queries whose results are serialised by the store (CSV) and parsed by Python's csv
module, and indexed once: normal form → concepts (exact matches are one dictionary look-up),
and, for the fuzzy step, an inverted index from words to normal forms, built only for the words
of the names looked for and their spelling variants (release words with the same first letter
or last two letters, a length that can still reach the threshold, and a similarity of at least
:data:`WORD_SCORE`: ``haemorrhage`` finds ``hemorrhage``). A name is scored only against the
normal forms that share with it words (or variants) making up at least :data:`WORD_SHARE` of
its letters — its rarest words are enough to find them all, so common words never expand the
search — and whose length can reach ``min_score``; each distinct normal form is scored once.
This blocking is a heuristic: a normal form sharing no word (nor a variant) with the name is
not scored, whatever its similarity.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from math import ceil, floor
from typing import BinaryIO, Literal
from urllib.parse import unquote

import pyoxigraph as ox
from rapidfuzz import fuzz, process

from ontomap import __version__
from ontomap.errors import StoreError
from ontomap.graph import RELEASE_GRAPH_NS
from ontomap.lexical import normal_form
from ontomap.mappings import (
    DEFAULT_LICENSE,
    MAPPING_SET_NAMESPACE,
    SIMILARITY_MEASURE,
    TOOL,
    WIKIDATA_NAMESPACE,
)
from ontomap.model import ChoiceAttribute, FindingModel, IndexCode
from ontomap.releases.api import ReleaseInfo, Releases
from ontomap.releases.common import NameIndex, Names
from ontomap.sparql import sparql_text
from ontomap.terminology import CodeSystem, default_registry
from ontomap.vocab import DEFAULT_BASE_IRI, OIFM, OIFM_NS, RDFS_NS, SKOS

__all__ = [
    "DEFAULT_LIMIT",
    "DEFAULT_MIN_SCORE",
    "PREDICATES",
    "WORD_SCORE",
    "WORD_SHARE",
    "Candidate",
    "CandidateSet",
    "Entity",
    "ReleaseIndex",
    "candidate_entities",
    "normal_form",
    "sssom_text",
    "suggest",
    "write_sssom",
]

#: Default lowest similarity (0-1) of a fuzzy match.
DEFAULT_MIN_SCORE = 0.85
#: Default number of candidates per entity.
DEFAULT_LIMIT = 3
#: Lowest similarity of a release word to a word of a name for it to count as a spelling variant.
WORD_SCORE = 0.8
#: Share of a name's letters that a normal form must share with it (as words or variants) to
#: be scored at all.
WORD_SHARE = 0.5
#: Words this short have no spelling variants (only themselves).
_VARIANT_MIN_LENGTH = 4

Match = Literal["label", "synonym", "fuzzy"]
Kind = Literal["finding", "attribute", "value"]
#: The SKOS predicate of each kind of match, best first.
PREDICATES: dict[Match, str] = {
    "label": "skos:exactMatch",
    "synonym": "skos:closeMatch",
    "fuzzy": "skos:relatedMatch",
}
_RANK = {match: n for n, match in enumerate(PREDICATES)}

# The release properties read, and what a name of each is (0: a label, 1: a synonym).
_PREF, _FSN, _ALT = 0, 1, 2
_PROPERTIES = (SKOS.prefLabel, OIFM.fullySpecifiedName, SKOS.altLabel)
_FIELD_CURIES = ("skos:prefLabel", "oifm:fullySpecifiedName", "skos:altLabel")
#: The names of one property (``?property``), and the deprecated concepts, of the release graph
#: (the query's default graph).
_NAMES = sparql_text("ontomap.releases", "names.rq")
#: The placeholder of :data:`_NAMES`.
_NAMES_VALUES = "VALUES ?property {}"
_DEPRECATED = sparql_text("ontomap.releases", "deprecated.rq")

# ------------------------------------------------------------------ the entities


@dataclass(frozen=True, slots=True)
class Entity:
    """A finding, attribute or choice value without a code of the system looked for.

    ``id`` is its OIFM ID (``OIFM_…``, ``OIFMA_…``, ``OIFMA_….0``); ``names`` its name first,
    then (a finding's) synonyms; ``finding`` and ``attribute`` name where it sits.
    """

    id: str
    kind: Kind
    names: tuple[str, ...]
    finding_id: str
    finding: str
    attribute: str | None = None

    @property
    def name(self) -> str:
        return self.names[0]

    def context(self) -> str:
        """Where the entity sits, in words (for a row's comment)."""
        if self.kind == "finding":
            return f"finding {json.dumps(self.name, ensure_ascii=False)}"
        of = f"finding {json.dumps(self.finding, ensure_ascii=False)} ({self.finding_id})"
        if self.kind == "attribute":
            return f"attribute {json.dumps(self.name, ensure_ascii=False)} of {of}"
        attribute = json.dumps(self.attribute or "", ensure_ascii=False)
        return f"value {json.dumps(self.name, ensure_ascii=False)} of attribute {attribute} of {of}"


def _has(codes: Iterable[IndexCode], system: str) -> bool:
    registry = default_registry()
    return any(registry.resolve(code.system).key == system for code in codes)


def candidate_entities(models: Iterable[FindingModel], system: str) -> list[Entity]:
    """The findings, attributes and values of ``models`` that list no index code of
    ``system`` (a registry key), models in the order of their OIFM IDs (a model given twice:
    the later one), entities in model order. Anatomic locations are not index codes."""
    key = default_registry().resolve(system).key
    by_id = {model.oifm_id: model for model in models}
    out: list[Entity] = []
    for oifm_id in sorted(by_id):
        model = by_id[oifm_id]
        if not _has(model.index_codes, key):
            names = tuple(dict.fromkeys((model.name, *model.synonyms)))
            out.append(Entity(model.oifm_id, "finding", names, model.oifm_id, model.name))
        for attribute in model.attributes:
            if not _has(attribute.index_codes, key):
                out.append(
                    Entity(attribute.oifma_id, "attribute", (attribute.name,), oifm_id, model.name)
                )
            if isinstance(attribute, ChoiceAttribute):
                for value in attribute.values:
                    if not _has(value.index_codes, key):
                        out.append(
                            Entity(
                                value.value_code,
                                "value",
                                (value.name,),
                                oifm_id,
                                model.name,
                                attribute.name,
                            )
                        )
    return out


# ------------------------------------------------------------------ the release


def _names_query(prop: ox.NamedNode) -> str:
    """The names of ``prop``: the block filled in with the term (never with text)."""
    return _NAMES.replace(_NAMES_VALUES, f"VALUES ?property {{ {prop} }}", 1)


def _csv_data(store: ox.Store, query: str, graph: ox.NamedNode) -> bytes:
    """A SELECT over ``graph`` serialised by the store as SPARQL CSV (values only: IRIs
    plain, literals their lexical form)."""
    try:
        results = store.query(query, default_graph=graph)
    except (RuntimeError, OSError) as exc:
        raise StoreError(f"cannot read the release graph {graph.value}: {exc}") from None
    assert isinstance(results, ox.QuerySolutions)
    data = results.serialize(format=ox.QueryResultsFormat.CSV)
    assert data is not None  # written to bytes when no output is given
    return data


def _csv_reader(data: bytes) -> Iterator[list[str]]:
    """The rows of SPARQL CSV results, header dropped."""
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    next(reader, None)
    return reader


def _csv_rows(store: ox.Store, query: str, graph: ox.NamedNode) -> Iterator[list[str]]:
    return _csv_reader(_csv_data(store, query, graph))


class ReleaseIndex:
    """The names of one release, indexed for exact and fuzzy look-up (see the module doc).

    Built once from a store (:meth:`from_store`); ``progress`` (optional) is told each name
    read.
    """

    def __init__(self, info: ReleaseInfo, names: NameIndex) -> None:
        self.info = info
        self.system = default_registry().get(info.system)
        self.codes = names.codes
        self.form_text = names.forms
        self.forms = {form: f for f, form in enumerate(names.forms)}
        self._offsets, self._entries = names.offsets, names.entries
        self.concepts = len(self.codes)
        self._postings: dict[str, list[int]] = {}

    @classmethod
    def from_names(
        cls,
        info: ReleaseInfo,
        names: Iterable[tuple[str, int, str]],
        deprecated: Iterable[str] = (),
    ) -> ReleaseIndex:
        """The index of ``names``, (code, property, text) triples: property 0 a preferred
        term, 1 a fully specified name, 2 a synonym; codes in ``deprecated`` are left out."""
        collected = Names()
        for code, prop, text in names:
            collected.add(code, prop, text)
        for code in deprecated:
            collected.deprecate(code)
        return cls(info, collected.index())

    @classmethod
    def from_store(
        cls, releases: Releases, system: str, version: str | None = None
    ) -> ReleaseIndex:
        """The index of the release of ``system`` (and ``version``; the latest without) in the
        store of ``releases``; raises :class:`~ontomap.errors.ReleaseNotFoundError`."""
        info = releases.get(system, version)
        record = releases.name_index(info.system, info.version)
        if record is not None:
            return cls(info, record)
        # A release loaded without the record: its names are read out of the store.
        code_system = default_registry().get(info.system)
        store = releases.store.oxigraph
        graph = ox.NamedNode(info.graph)
        namespace = code_system.namespace
        cut = len(namespace)

        def code_of(value: str) -> str | None:
            return unquote(value[cut:]) if value.startswith(namespace) else None

        deprecated = set()
        for row in _csv_rows(store, _DEPRECATED, graph):
            code = code_of(row[0])
            if code is not None:
                deprecated.add(code)

        def names(pool: ThreadPoolExecutor) -> Iterable[tuple[str, int, str]]:
            # The store evaluates and serialises a query without the GIL: the next query
            # runs while the rows of this one are indexed.
            pending = [pool.submit(_csv_data, store, _names_query(p), graph) for p in _PROPERTIES]
            for prop, future in enumerate(pending):
                for subject, text in _csv_reader(future.result()):
                    code = code_of(subject)
                    if code is not None:
                        yield code, prop, text

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ontomap-suggest") as pool:
            return cls.from_names(info, names(pool), deprecated)

    def hits(self, form: str) -> list[tuple[str, int]]:
        """The concepts having a name of normal form ``form``: (code, property) pairs."""
        f = self.forms.get(form)
        if f is None:
            return []
        entries = self._entries[self._offsets[f] : self._offsets[f + 1]]
        return [(self.codes[e // 3], e % 3) for e in entries]

    # -------------------------------------------------------------- fuzzy

    def prepare(self, forms: Iterable[str]) -> None:
        """Build the inverted index for the words of ``forms`` (the normal forms that will be
        looked up with :meth:`similar`) and their spelling variants in the release."""
        wanted = {word for form in forms for word in form.split(" ") if word}
        vocabulary: set[str] = set()
        for form in self.form_text:
            vocabulary.update(form.split(" "))
        by_first: dict[tuple[str, int], list[str]] = defaultdict(list)
        by_last: dict[tuple[str, int], list[str]] = defaultdict(list)
        for word in sorted(vocabulary):
            by_first[word[0], len(word)].append(word)
            by_last[word[-2:], len(word)].append(word)
        self._variants: dict[str, list[str]] = {}
        keys: dict[str, set[str]] = defaultdict(set)  # release word -> words of names
        cutoff = WORD_SCORE * 100
        for word in sorted(wanted):
            found = {word} if word in vocabulary else set()
            n = len(word)
            if n >= _VARIANT_MIN_LENGTH:
                low, high = _length_window(n, WORD_SCORE)
                choices: set[str] = set()
                for length in range(low, high + 1):
                    choices.update(by_first.get((word[0], length), ()))
                    choices.update(by_last.get((word[-2:], length), ()))
                choices.discard(word)
                for match, _score, _i in process.extract(
                    word,
                    sorted(choices),
                    scorer=fuzz.ratio,
                    processor=None,
                    score_cutoff=cutoff,
                    limit=None,
                ):
                    found.add(match)
            for release_word in found:
                keys[release_word].add(word)
        postings: dict[str, set[int]] = defaultdict(set)
        for f, form in enumerate(self.form_text):
            for release_word in form.split(" "):
                targets = keys.get(release_word)
                if targets is not None:
                    for word in targets:
                        postings[word].add(f)
        self._postings = {word: sorted(ids) for word, ids in postings.items()}

    def similar(self, form: str, min_score: float) -> list[tuple[str, float]]:
        """The normal forms of the release, other than ``form``, whose similarity to ``form``
        is at least ``min_score`` (0-1), best first (ties by text); needs :meth:`prepare`
        with ``form`` first. Only blocked candidates are scored (see the module doc)."""
        words = [w for w in form.split(" ") if w]
        if not words:
            return []
        letters = sum(len(w) for w in words)
        need = ceil(letters * WORD_SHARE)
        postings = self._postings
        ranked = sorted(words, key=lambda w: (len(postings.get(w, ())), w))
        chosen: list[list[int]] = []
        rest = letters
        for word in ranked:
            if rest < need:
                break
            chosen.append(postings.get(word, []))
            rest -= len(word)
        ids: set[int] = set().union(*chosen)
        low, high = _length_window(len(form), min_score)
        text = self.form_text
        choices = [text[f] for f in sorted(ids) if low <= len(text[f]) <= high and text[f] != form]
        if not choices:
            return []
        found = process.extract(
            form,
            choices,
            scorer=fuzz.ratio,
            processor=None,
            score_cutoff=min_score * 100,
            limit=None,
        )
        scored = [(match, round(score / 100, 4)) for match, score, _i in found]
        scored.sort(key=lambda item: (-item[1], item[0]))
        return scored


def _length_window(length: int, score: float) -> tuple[int, int]:
    """The lengths a string may have to reach a normalised Indel similarity of ``score`` with
    one of ``length`` characters: |a - b| <= (1 - score)(a + b)."""
    if score <= 0:
        return 0, 1 << 30
    return ceil(length * score / (2 - score) - 1e-9), floor(length * (2 - score) / score + 1e-9)


# ------------------------------------------------------------------ matching


@dataclass(frozen=True, slots=True)
class Candidate:
    """One candidate link: ``entity`` → ``code`` of the release, by ``match``.

    ``name`` is the entity's name that matched (``subject_field`` ``name`` or ``synonym``),
    ``form`` its normal form, ``matched_form`` the normal form of the release name matched and
    ``field`` which of the concept's names it is (0 preferred term, 1 fully specified name,
    2 synonym). ``label`` (the release name itself) and the code's display are filled in from
    the release by :func:`suggest`.
    """

    entity: Entity
    code: IndexCode
    match: Match
    score: float
    name: str
    subject_field: Literal["name", "synonym"]
    form: str
    matched_form: str
    field: int
    label: str | None = None

    @property
    def predicate(self) -> str:
        return PREDICATES[self.match]


@dataclass(frozen=True)
class CandidateSet:
    """The candidates for a set of entities, with what the SSSOM metadata needs."""

    release: ReleaseInfo
    system: CodeSystem
    entities: int
    candidates: list[Candidate]
    min_score: float
    limit: int
    id: str
    license: str = DEFAULT_LICENSE
    date: str | None = None
    base_iri: str = DEFAULT_BASE_IRI
    tool: str = TOOL
    tool_version: str = __version__
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def matched(self) -> int:
        """How many entities got at least one candidate."""
        return len({c.entity.id for c in self.candidates})


def default_set_id(info: ReleaseInfo) -> str:
    """``https://w3id.org/ontomap/mappings/candidates-{prefix}-{version}``."""
    prefix = default_registry().get(info.system).prefix
    version = re.sub(r"[^A-Za-z0-9._-]+", "-", info.version)
    return f"{MAPPING_SET_NAMESPACE}candidates-{prefix}-{version}"


def suggest(
    index: ReleaseIndex,
    entities: Sequence[Entity],
    *,
    releases: Releases | None = None,
    min_score: float = DEFAULT_MIN_SCORE,
    limit: int = DEFAULT_LIMIT,
    set_id: str | None = None,
    license: str = DEFAULT_LICENSE,
    mapping_date: str | None = None,
    base_iri: str = DEFAULT_BASE_IRI,
    progress: Callable[[int], None] | None = None,
) -> CandidateSet:
    """The candidate links of ``entities`` in the release of ``index`` (see the module doc).

    ``releases`` (the store the index was read from) fills in each candidate's preferred term
    and matched name; without it, candidates carry codes and normal forms only. ``progress``
    is told each distinct normal form looked up.
    """
    if not 0 <= min_score <= 1:
        raise ValueError(f"min_score must be between 0 and 1, not {min_score}")
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    forms = {name: normal_form(name) for e in entities for name in e.names}
    distinct = sorted({f for f in forms.values() if f})
    # A name with `limit` concepts of equal normal form needs no fuzzy look-up: a fuzzy match
    # ranks below them all.
    fuzzy = [form for form in distinct if len({c for c, _p in index.hits(form)}) < limit]
    index.prepare(fuzzy)
    similar: dict[str, list[tuple[str, float]]] = {form: [] for form in distinct}
    for form in fuzzy:
        similar[form] = index.similar(form, min_score)
        if progress is not None:
            progress(1)
    system = index.system
    ranked: dict[tuple[str, bool], list[_Hit]] = {}

    def top(form: str, is_name: bool) -> list[_Hit]:
        """The best ``limit`` concepts for one name (the best of each concept)."""
        key = (form, is_name)
        if key not in ranked:
            best: dict[str, _Hit] = {}
            found: list[tuple[Match, float, str, str, int]] = [
                ("label" if is_name and prop != _ALT else "synonym", 1.0, code, form, prop)
                for code, prop in index.hits(form)
            ]
            found.extend(
                ("fuzzy", score, code, other, prop)
                for other, score in similar[form]
                for code, prop in index.hits(other)
            )
            for match, score, code, matched, prop in found:
                hit = (
                    _order(match, score, code, not is_name, prop),
                    code,
                    match,
                    score,
                    matched,
                    prop,
                )
                if code not in best or hit < best[code]:
                    best[code] = hit
            ranked[key] = sorted(best.values())[:limit]
        return ranked[key]

    chosen: list[Candidate] = []
    for entity in entities:
        merged: dict[str, tuple[_Hit, str]] = {}
        for position, name in enumerate(entity.names):
            form = forms[name]
            if not form:
                continue
            for hit in top(form, position == 0):
                code = hit[1]
                if code not in merged or hit < merged[code][0]:
                    merged[code] = (hit, name)
        for (_o, code, match, score, matched, prop), name in sorted(merged.values())[:limit]:
            chosen.append(
                Candidate(
                    entity,
                    IndexCode(system.key, code),
                    match,
                    score,
                    name,
                    "name" if name == entity.names[0] else "synonym",
                    forms[name],
                    matched,
                    prop,
                )
            )
    if releases is not None:
        chosen = _labelled(chosen, releases, index.info)
    counts: dict[str, int] = defaultdict(int)
    for candidate in chosen:
        counts[candidate.predicate] += 1
    return CandidateSet(
        release=index.info,
        system=system,
        entities=len(entities),
        candidates=chosen,
        min_score=min_score,
        limit=limit,
        id=set_id or default_set_id(index.info),
        license=license,
        date=mapping_date,
        base_iri=base_iri,
        counts=dict(sorted(counts.items())),
    )


#: One concept found for one name: (order, code, match, score, matched form, property).
_Hit = tuple[tuple[int, float, int, str, int, int], str, Match, float, str, int]


def _order(
    match: Match, score: float, code: str, synonym: bool, prop: int
) -> tuple[int, float, int, str, int, int]:
    """Best first: match, score, then the code (shorter first: numeric codes in order), then
    the entity's name before a synonym, then the release name matched."""
    return (_RANK[match], -score, len(code), code, int(synonym), prop)


def _labelled(
    candidates: list[Candidate], releases: Releases, info: ReleaseInfo
) -> list[Candidate]:
    """``candidates`` with the preferred term (display) of each code and the release name
    that matched, read from the release graph."""
    store = releases.store.oxigraph
    graph = ox.NamedNode(info.graph)
    system = default_registry().get(info.system)
    cache: dict[str, tuple[str | None, list[tuple[int, str]]]] = {}

    def names_of(code: str) -> tuple[str | None, list[tuple[int, str]]]:
        if code not in cache:
            subject = ox.NamedNode(system.code_iri(code))
            found: list[tuple[int, str]] = []
            preferred: list[tuple[int, str, str]] = []
            for prop, predicate in enumerate(_PROPERTIES):
                for quad in store.quads_for_pattern(subject, predicate, None, graph):
                    literal = quad.object
                    assert isinstance(literal, ox.Literal)
                    found.append((prop, literal.value))
                    if prop == _PREF:
                        lang = literal.language or ""
                        rank = 0 if lang.startswith("en") else 1 if not lang else 2
                        preferred.append((rank, lang, literal.value))
            fsn = sorted(text for prop, text in found if prop == _FSN)
            display = min(preferred)[2] if preferred else (fsn[0] if fsn else None)
            cache[code] = (display, sorted(found))
        return cache[code]

    out = []
    for candidate in candidates:
        display, names = names_of(candidate.code.code)
        label = next(
            (
                text
                for prop, text in names
                if prop == candidate.field and normal_form(text) == candidate.matched_form
            ),
            None,
        )
        code = IndexCode(candidate.code.system, candidate.code.code, display)
        out.append(
            Candidate(
                candidate.entity,
                code,
                candidate.match,
                candidate.score,
                candidate.name,
                candidate.subject_field,
                candidate.form,
                candidate.matched_form,
                candidate.field,
                label,
            )
        )
    return out


# ------------------------------------------------------------------ SSSOM/TSV

#: The version of the SSSOM specification the files follow.
SSSOM_VERSION = "1.1"
#: Columns of every row, in the SSSOM schema's order.
COLUMNS = (
    "subject_id",
    "subject_label",
    "predicate_id",
    "object_id",
    "object_label",
    "mapping_justification",
    "object_source",
    "object_source_version",
    "subject_match_field",
    "object_match_field",
    "match_string",
    "similarity_score",
    "similarity_measure",
    "comment",
)
#: Prefix of the release IRIs (``object_source``): ``release:SNOMED/20250101``.
RELEASE_PREFIX = "release"
#: Prefix of the entities (the base IRI of findings, attributes and values), as in the graph.
ENTITY_PREFIX = "fm"
JUSTIFICATION = "semapv:LexicalMatching"
_SUBJECT_FIELDS = {"name": "rdfs:label", "synonym": "skos:altLabel"}
_PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/#?=&%+~-]*$")
_CELL_BREAKS = re.compile("[\t\n\v\f\r\x1c-\x1e\x85\u2028\u2029]+")


def _yaml(value: str) -> str:
    plain = _PLAIN.match(value) and ": " not in value and not value.endswith(":")
    return value if plain else json.dumps(value, ensure_ascii=False)


def _cell(value: str | None) -> str:
    return _CELL_BREAKS.sub(" ", value).strip() if value else ""


def _number(value: float) -> str:
    return repr(round(value, 4))


def _description(candidates: CandidateSet) -> str:
    system = candidates.system.label
    return (
        f"Candidate {system} codes for the findings, attributes and choice values of Open "
        f"Imaging Finding Models that carry no {system} code, found by lexical match against "
        f"the labels and synonyms of the {system} release {candidates.release.version} "
        "(inactive, obsolete and deprecated concepts left out). Names are compared in a normal "
        "form (case and accents folded, SNOMED CT semantic tags, punctuation, 'structure', "
        "'entire', 'of' and articles dropped, words sorted): the entity's name equal to a "
        "concept's preferred term or fully specified name is skos:exactMatch; any other equal "
        "pair (a finding's synonym, a concept's synonym) skos:closeMatch; a fuzzy match, with "
        "a normalised Indel similarity of the normal forms of at least "
        f"{candidates.min_score:g}, skos:relatedMatch. At most {candidates.limit} candidates "
        "per entity, best first. Values are matched by their own name; their attribute is "
        "named in the comment. Candidates for review, never written into the models. "
        f"Generated by ontomap {candidates.tool_version}; see its docs/releases.md."
    )


def _metadata(candidates: CandidateSet) -> list[str]:
    system = candidates.system
    prefixes = {
        ENTITY_PREFIX: candidates.base_iri,
        system.prefix: system.namespace,
        RELEASE_PREFIX: RELEASE_GRAPH_NS,
        "oifm": OIFM_NS,
        "rdfs": RDFS_NS,
        "wikidata": WIKIDATA_NAMESPACE,
    }
    lines = [f'sssom_version: "{SSSOM_VERSION}"', "curie_map:"]
    lines.extend(f"  {name}: {iri}" for name, iri in sorted(prefixes.items()))
    title = f"Candidate {system.label} links for OIFM entities without {system.label} codes"
    lines += [
        f"mapping_set_id: {_yaml(candidates.id)}",
        f"mapping_set_title: {json.dumps(title, ensure_ascii=False)}",
        f"mapping_set_description: {json.dumps(_description(candidates), ensure_ascii=False)}",
        f"license: {_yaml(candidates.license)}",
        f"mapping_tool: {_yaml(candidates.tool)}",
        f"mapping_tool_version: {_yaml(candidates.tool_version)}",
    ]
    if candidates.date is not None:
        lines.append(f"mapping_date: {candidates.date}")
    return [f"# {line}\n" for line in lines]


def _release_curie(info: ReleaseInfo) -> str:
    return f"{RELEASE_PREFIX}:{info.graph[len(RELEASE_GRAPH_NS) :]}"


def _comment(candidate: Candidate) -> str:
    what = {"label": "equal to", "synonym": "equal to", "fuzzy": "similar to"}[candidate.match]
    field_name = ("preferred term", "fully specified name", "synonym")[candidate.field]
    own = "name" if candidate.subject_field == "name" else "synonym"
    label = json.dumps(candidate.label or candidate.matched_form, ensure_ascii=False)
    return (
        f"{candidate.entity.context()}: {own} {json.dumps(candidate.name, ensure_ascii=False)} "
        f"{what} the {field_name} {label}"
    )


def _row(candidate: Candidate, release: str, version: str) -> list[str]:
    fuzzy = candidate.match == "fuzzy"
    return [
        f"{ENTITY_PREFIX}:{candidate.entity.id}",
        _cell(candidate.entity.name),
        candidate.predicate,
        candidate.code.curie,
        _cell(candidate.code.display),
        JUSTIFICATION,
        release,
        _cell(version),
        _SUBJECT_FIELDS[candidate.subject_field],
        _FIELD_CURIES[candidate.field],
        _cell(candidate.form if not fuzzy else ""),
        _number(candidate.score),
        SIMILARITY_MEASURE,
        _cell(_comment(candidate)),
    ]


def sssom_text(candidates: CandidateSet) -> str:
    """The SSSOM/TSV text of ``candidates``: the metadata block, then one row per candidate
    (entities in model order, each entity's candidates best first)."""
    out = _metadata(candidates)
    out.append("\t".join(COLUMNS) + "\n")
    release = _release_curie(candidates.release)
    version = candidates.release.version
    out.extend("\t".join(_row(c, release, version)) + "\n" for c in candidates.candidates)
    return "".join(out)


def write_sssom(candidates: CandidateSet, handle: BinaryIO) -> None:
    """Write ``candidates`` as SSSOM/TSV (UTF-8)."""
    handle.write(sssom_text(candidates).encode())
