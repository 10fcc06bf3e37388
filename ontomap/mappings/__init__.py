"""Cross-terminology mapping sets: the crosswalk as SSSOM, FHIR ConceptMap or SKOS.

:func:`build_mapping_set` reads the code pairs the crosswalk engine computed
(:mod:`ontomap.crosswalk`): from a store or any SPARQL backend
(:class:`~ontomap.crosswalk.CrosswalkReader`, which reads the materialised crosswalk graph), or
from a :class:`~ontomap.crosswalk.Crosswalk` computed straight from models
(:func:`~ontomap.crosswalk.build_crosswalk`). It keeps the *paired* pairs, applies the user's
filters and adds the set's metadata. One writer per output format, registered in
:data:`FORMATS` (the CLI's ``--format`` choices), turns a mapping set into deterministic bytes;
:func:`write_mapping_set` writes them atomically.

Nothing is counted here: predicate, corpus cardinality, outlier flag, confidence, justification,
lexical score, contexts and template flag are the engine's (docs/mappings.md, "How the evidence
is counted"). The one figure this module derives is SSSOM's ``mapping_cardinality``, which SSSOM
defines over the rows of the set (:attr:`Mapping.set_cardinality`).

- A *co-listed* pair (two codes only listed together on entities that list several codes of
  both systems, their displays not matching) is not a mapping: it is left out and counted
  (:attr:`MappingSet.colisted`).
- ``min_support`` counts the *contexts* that support a pairing (independent authoring
  decisions), not its entities: a template copied into 2,000 models is one context.
  ``min_share`` compares the engine's share: supporting contexts / contexts of the source code.
- Outliers are the engine's flag; they are excluded or kept and marked.
"""

from __future__ import annotations

import io
import os
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

import pyoxigraph as ox

from ontomap import __version__
from ontomap.atomic import atomic_write
from ontomap.crosswalk import (
    CLOSE_MATCH,
    CLOSE_MATCH_MIN_CONTEXTS,
    CLOSE_MATCH_MIN_FINDINGS,
    CLOSE_MATCH_MIN_SHARE,
    DOMINANT_SHARE,
    OUTLIER_SHARE,
    RELATED_MATCH,
    TEMPLATE_MIN_FINDINGS,
    Cardinality,
    Crosswalk,
    CrosswalkPair,
    CrosswalkReader,
    Predicate,
    cardinality_of,
    system_order,
)
from ontomap.errors import ExitCode, OntomapError
from ontomap.formats import Format, FormatRegistry, LazyImport
from ontomap.terminology import CodeSystem, default_registry
from ontomap.vocab import DEFAULT_BASE_IRI

if TYPE_CHECKING:
    from ontomap.backends import SparqlBackend
    from ontomap.store import Store

__all__ = [
    "CLOSE_MATCH",
    "CONTEXTS_NAMED",
    "DEFAULT_LICENSE",
    "EVIDENCE",
    "FORMATS",
    "MAPPING_SET_NAMESPACE",
    "RELATED_MATCH",
    "SIMILARITY_MEASURE",
    "SIMILARITY_MEASURE_IRI",
    "SSSOM_CARDINALITY",
    "TOOL",
    "WIKIDATA_NAMESPACE",
    "XWALK_NS",
    "EvidenceFact",
    "InvalidMappingDateError",
    "InvalidMappingIriError",
    "Mapping",
    "MappingFormat",
    "MappingSet",
    "OutlierPolicy",
    "Predicate",
    "build_mapping_set",
    "check_date",
    "check_iri",
    "evidence",
    "evidence_facts",
    "format_for",
    "number",
    "pairs_of",
    "percent",
    "recorded_files",
    "serialize",
    "source_date",
    "write_mapping_set",
]

OutlierPolicy = Literal["exclude", "mark"]
#: SSSOM's IRI for "no license given" (what sssom-py assumes when a set names none).
DEFAULT_LICENSE = "https://w3id.org/sssom/license/unspecified"
#: Default identifiers of mapping sets: ``{namespace}{slug}`` (e.g. ``…/radlex-to-sct``).
MAPPING_SET_NAMESPACE = "https://w3id.org/ontomap/mappings/"
#: ``mapping_tool`` of SSSOM, publisher of FHIR, ``sssom:mapping_tool`` of SKOS.
TOOL = "ontomap"
#: Namespace of ontomap's evidence vocabulary (``xwalk:``, ``ontologies/mappings.ttl``).
XWALK_NS = "https://w3id.org/ontomap/crosswalk#"
#: SSSOM ``similarity_measure`` of a lexical pair's ``similarity_score``: the Wikidata item
#: "Levenshtein distance", the family of the normalised Indel similarity the engine scores
#: displays with (:func:`ontomap.lexical.similarity`; Indel is Levenshtein without
#: substitutions, and 1 - Indel distance / total length is python-Levenshtein's ``ratio``).
#: SSSOM recommends Wikidata CURIEs for this slot.
SIMILARITY_MEASURE = "wikidata:Q496939"
#: The same as an IRI (Wikidata's concept URI), and the prefix SSSOM files declare for it.
WIKIDATA_NAMESPACE = "http://www.wikidata.org/entity/"
SIMILARITY_MEASURE_IRI = WIKIDATA_NAMESPACE + SIMILARITY_MEASURE.split(":", 1)[1]
#: SSSOM's ``mapping_cardinality`` values for the engine's cardinalities.
SSSOM_CARDINALITY: dict[Cardinality, str] = {"1:1": "1:1", "1:n": "1:n", "n:1": "n:1", "n:m": "n:n"}
#: How many supporting contexts the evidence sentence names (the rest are counted).
CONTEXTS_NAMED = 3
#: Longest context name the evidence sentence quotes (longer ones are cut with "…").
_NAME_WIDTH = 120


class InvalidMappingDateError(OntomapError):
    """A mapping date that is not an ISO date (``YYYY-MM-DD``)."""

    exit_code = ExitCode.USAGE

    def __init__(self, value: str) -> None:
        self.value = value
        super().__init__(f"invalid mapping date {value!r}: expected YYYY-MM-DD, e.g. 2025-01-31")


class InvalidMappingIriError(OntomapError):
    """A mapping set identifier or license that is not an IRI."""

    exit_code = ExitCode.USAGE

    def __init__(self, what: str, value: str, reason: str) -> None:
        self.what = what
        self.value = value
        shown = repr(value) if len(value) <= 100 else repr(value[:99] + "…")
        super().__init__(f"the {what} {shown} is not an absolute IRI: {reason}")


def check_iri(what: str, value: str) -> str:
    """``value`` if it is an absolute IRI (as every format writes it), else
    :class:`InvalidMappingIriError` naming ``what`` it is."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidMappingIriError(what, value, "it holds bytes that are not UTF-8") from None
    try:
        return ox.NamedNode(value).value
    except ValueError as exc:
        raise InvalidMappingIriError(what, value, str(exc)) from None


# ------------------------------------------------------------------ the model


@dataclass(frozen=True, slots=True)
class Mapping:
    """One link of a mapping set: a paired code pair as the engine computed it, and its
    cardinality among the set's rows.

    ``pair.cardinality`` is the engine's, over every paired pair of the two systems in the
    corpus; ``set_cardinality`` is SSSOM's, over the mappings of the same two systems that the
    set holds (they differ only when filters removed some pairs).
    """

    pair: CrosswalkPair
    set_cardinality: Cardinality

    @property
    def predicate(self) -> Predicate:
        """The engine's SKOS mapping predicate (a mapping is always paired, so it has one)."""
        assert self.pair.predicate is not None
        return self.pair.predicate

    @property
    def sssom_cardinality(self) -> str:
        """:attr:`set_cardinality` as SSSOM spells it (``n:n`` for ``n:m``)."""
        return SSSOM_CARDINALITY[self.set_cardinality]

    @property
    def justification(self) -> str:
        """SSSOM's ``mapping_justification``: ``semapv:InstanceBasedMatching``, or
        ``semapv:CompositeMatching`` where the displays were matched as well."""
        assert self.pair.justification is not None
        return self.pair.justification

    @property
    def similarity(self) -> float | None:
        """The display similarity of a pair matched by display (else ``None``)."""
        return self.pair.lexical_score if self.pair.lexical else None

    @property
    def marked_outlier(self) -> bool:
        """Whether the mapping is an outlier (kept only with ``outliers="mark"``)."""
        return self.pair.flag == "outlier"


@dataclass(frozen=True, slots=True)
class MappingSet:
    """A set of derived mappings with its metadata, ready for any writer.

    ``system_pairs`` lists the (source, target) system keys the set covers, in registry order:
    the requested pair when both systems were given, else the pairs that have mappings.
    ``colisted``, ``below_threshold`` and ``excluded_outliers`` count the code pairs left out:
    co-listed pairs (never mappings), pairs under ``min_support``/``min_share``, and outliers
    under ``outliers="exclude"``.
    """

    id: str
    slug: str
    title: str
    description: str
    mappings: tuple[Mapping, ...]
    system_pairs: tuple[tuple[str, str], ...]
    date: str | None
    license: str
    base_iri: str
    min_support: int
    min_share: float
    outliers: OutlierPolicy
    excluded_outliers: int
    below_threshold: int
    colisted: int = 0
    tool: str = TOOL
    tool_version: str = __version__

    def __len__(self) -> int:
        return len(self.mappings)

    @property
    def single_pair(self) -> tuple[str, str] | None:
        """The one (source, target) system pair of the set, or ``None`` if it has several."""
        return self.system_pairs[0] if len(self.system_pairs) == 1 else None

    @property
    def lexical(self) -> bool:
        """Whether some mapping was matched by display too (it then has a similarity)."""
        return any(m.pair.lexical for m in self.mappings)

    def counts(self) -> dict[str, int]:
        """Number of mappings per predicate (CURIE), predicates sorted."""
        found: dict[str, int] = defaultdict(int)
        for mapping in self.mappings:
            found[mapping.predicate] += 1
        return dict(sorted(found.items()))


def _system(name: str | CodeSystem | None) -> CodeSystem | None:
    if name is None or isinstance(name, CodeSystem):
        return name
    return default_registry().get(name)


def _slug(source: CodeSystem | None, target: CodeSystem | None) -> str:
    if source is None and target is None:
        return "all-systems"
    return f"{source.prefix if source else 'all'}-to-{target.prefix if target else 'all'}"


def _title(source: CodeSystem | None, target: CodeSystem | None) -> str:
    if source is None and target is None:
        return "Cross-terminology links between all code systems, derived from OIFM index codes"
    left = source.label if source else "all code systems"
    right = target.label if target else "all code systems"
    return f"{left} to {right}: links derived from OIFM index codes"


def _description(min_support: int, min_share: float, outliers: OutlierPolicy) -> str:
    filters = [
        "co-listed pairs left out",
        f"outliers {'excluded' if outliers == 'exclude' else 'kept and marked'}",
    ]
    if min_support > 1:
        filters.append(f"at least {min_support} supporting contexts")
    if min_share > 0:
        filters.append(f"at least {min_share:.0%} of the subject code's contexts")
    return (
        "Pairs of codes from different terminologies that index the same finding, attribute or "
        "choice value in Open Imaging Finding Models; where one entity lists several codes of "
        "both terminologies, only the codes whose displays match are paired. Each link is "
        "evidence, not equivalence. The evidence is counted in contexts, the distinct places "
        "where an author chose the codes (entity kind and normalised name, and for a value its "
        "attribute's name): a template copied into many models is one context, and a link is "
        f"marked as a template when one of its contexts is in {TEMPLATE_MIN_FINDINGS} or more "
        "finding models. confidence = supporting contexts / (contexts of the code used in more "
        "contexts + 1). skos:closeMatch marks a 1:1 pairing that is no outlier, supported by at "
        f"least {CLOSE_MATCH_MIN_CONTEXTS} contexts in at least {CLOSE_MATCH_MIN_FINDINGS} "
        f"finding models and by at least {CLOSE_MATCH_MIN_SHARE:.0%} of the contexts of both "
        "codes; every other link is skos:relatedMatch, never skos:exactMatch. An outlier is a "
        f"pairing under {OUTLIER_SHARE:.0%} of a code's uses while another pairing of that code "
        f"with the same terminology has {DOMINANT_SHARE:.0%} or more (a possible coding error). "
        f"Filters: {'; '.join(filters)}. Generated by ontomap {__version__}; see its "
        "docs/mappings.md."
    )


def pairs_of(
    source: Store | SparqlBackend | Crosswalk,
    source_system: str | CodeSystem | None,
    target_system: str | CodeSystem | None,
) -> list[CrosswalkPair]:
    """The engine's pairs from ``source_system`` to ``target_system`` (``None``: every system),
    paired and co-listed, as :meth:`Crosswalk.between <ontomap.crosswalk.Crosswalk.between>`
    orders them; with both ``None`` each pair of systems comes once, oriented from the system
    listed first in the registry."""
    if isinstance(source, Crosswalk):
        pairs = source.between(source_system, target_system)
    else:
        pairs = CrosswalkReader(source).pairs(source_system, target_system)
    if source_system is None and target_system is None:
        pairs = [p for p in pairs if system_order(p.source.system) < system_order(p.target.system)]
    return pairs


def _set_cardinalities(pairs: list[CrosswalkPair]) -> list[Cardinality]:
    """SSSOM's cardinality of each pair among ``pairs``, per (source, target) system pair."""
    objects: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    subjects: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for p in pairs:
        systems = (p.source.system, p.target.system)
        objects[(*systems, p.source.code)].add(p.target.code)
        subjects[(*systems, p.target.code)].add(p.source.code)
    return [
        cardinality_of(
            len(objects[(p.source.system, p.target.system, p.source.code)]) > 1,
            len(subjects[(p.source.system, p.target.system, p.target.code)]) > 1,
        )
        for p in pairs
    ]


def check_date(value: str) -> str:
    """``value`` if it is an ISO date (``YYYY-MM-DD``); raises :class:`InvalidMappingDateError`."""
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise InvalidMappingDateError(value) from None
    if parsed.isoformat() != value:
        raise InvalidMappingDateError(value)
    return value


def build_mapping_set(
    source: Store | SparqlBackend | Crosswalk,
    source_system: str | CodeSystem | None = None,
    target_system: str | CodeSystem | None = None,
    *,
    min_support: int = 1,
    min_share: float = 0.0,
    outliers: OutlierPolicy = "exclude",
    mapping_date: str | None = None,
    license: str = DEFAULT_LICENSE,
    set_id: str | None = None,
    base_iri: str | None = None,
) -> MappingSet:
    """The mapping set from ``source_system`` to ``target_system`` of ``source``: a
    :class:`~ontomap.store.Store`, any :class:`~ontomap.backends.SparqlBackend` holding the
    store's layout (the crosswalk graph is read; without it the crosswalk is computed from the
    model graphs), or a :class:`~ontomap.crosswalk.Crosswalk` computed from models.

    Either system may be ``None`` (every system on that side); with both ``None``, each pair of
    systems appears once, oriented from the system listed first in the registry (RADLEX,
    SNOMED, LOINC, GAMUTS, RADELEMENT, ICD10CM, then unknown systems by key).

    Only paired pairs are mappings (co-listed ones are counted and left out). A pair is kept
    when at least ``min_support`` contexts support it and its share (supporting contexts /
    contexts of the source code) is at least ``min_share``; outliers are dropped
    (``outliers="exclude"``) or kept and marked (``"mark"``). ``mapping_date`` (``YYYY-MM-DD``,
    see :func:`source_date`) is written where the format has a date; no clock is read, so the
    same input and options always give the same set. ``base_iri`` is the base of the entity
    IRIs written as evidence (default: the store's or backend's, else ontomap's default).

    Raises :class:`~ontomap.errors.UnknownCodeSystemError` for an unknown system,
    :class:`InvalidMappingIriError` for a ``license`` or ``set_id`` that is not an IRI,
    ``ValueError`` for the same system on both sides or a threshold out of range, and
    :class:`~ontomap.errors.StoreError` when the store or endpoint cannot answer.
    """
    x, y = _system(source_system), _system(target_system)
    if x is not None and y is not None and x.key == y.key:
        raise ValueError(f"--from and --to name the same code system ({x.key})")
    if min_support < 1:
        raise ValueError(f"min_support must be at least 1, not {min_support}")
    if not 0.0 <= min_share <= 1.0:
        raise ValueError(f"min_share must be between 0 and 1, not {min_share}")
    if mapping_date is not None:
        check_date(mapping_date)
    check_iri("license", license)
    if set_id is not None:
        check_iri("mapping set ID", set_id)
    kept: list[CrosswalkPair] = []
    colisted = excluded = below = 0
    for pair in pairs_of(source, x, y):
        if pair.predicate is None:  # co-listed: no entity pairs the two codes
            colisted += 1
        elif pair.paired.context_count < min_support or pair.share < min_share:
            below += 1
        elif pair.flag == "outlier" and outliers == "exclude":
            excluded += 1
        else:
            kept.append(pair)
    mappings = tuple(
        Mapping(pair, cardinality)
        for pair, cardinality in zip(kept, _set_cardinalities(kept), strict=True)
    )
    if x is not None and y is not None:
        system_pairs: tuple[tuple[str, str], ...] = ((x.key, y.key),)
    else:
        found = {(m.pair.source.system, m.pair.target.system) for m in mappings}
        system_pairs = tuple(sorted(found, key=lambda p: (system_order(p[0]), system_order(p[1]))))
    slug = _slug(x, y)
    return MappingSet(
        id=set_id or MAPPING_SET_NAMESPACE + slug,
        slug=slug,
        title=_title(x, y),
        description=_description(min_support, min_share, outliers),
        mappings=mappings,
        system_pairs=system_pairs,
        date=mapping_date,
        license=license,
        base_iri=base_iri or getattr(source, "base_iri", None) or DEFAULT_BASE_IRI,
        min_support=min_support,
        min_share=min_share,
        outliers=outliers,
        excluded_outliers=excluded,
        below_threshold=below,
        colisted=colisted,
    )


# ------------------------------------------------------------------ dates

SOURCE_DATE_EPOCH = "SOURCE_DATE_EPOCH"


def source_date(paths: Iterable[Path | str]) -> str | None:
    """The date (UTC, ``YYYY-MM-DD``) to write as the mapping date, read from the inputs only.

    ``$SOURCE_DATE_EPOCH`` (the reproducible-builds convention) when set, else the newest
    modification time among the existing ``paths`` (the finding-model files), else ``None``.
    The same files give the same date, so the same input gives the same bytes.
    """
    epoch = os.environ.get(SOURCE_DATE_EPOCH)
    if epoch:
        try:
            return datetime.fromtimestamp(int(epoch), UTC).date().isoformat()
        except (ValueError, OverflowError, OSError):
            raise OntomapError(
                f"${SOURCE_DATE_EPOCH}={epoch!r} is not a Unix time in seconds"
            ) from None
    newest: float | None = None
    for path in paths:
        try:
            mtime = os.stat(path).st_mtime
        except OSError:
            continue
        newest = mtime if newest is None else max(newest, mtime)
    if newest is None:
        return None
    return datetime.fromtimestamp(newest, UTC).date().isoformat()


def recorded_files(store: Store) -> list[str]:
    """The source files ``store`` recorded when its models were built (its bookkeeping
    graph), sorted: what :func:`source_date` dates a mapping set from a store by.

    Read with one quad pattern rather than :meth:`Store.sources
    <ontomap.store.Store.sources>`, which answers a SPARQL query per call (0.15-0.25 s on
    the corpus against 0.02 s, a third of the whole ``ontomap mappings`` budget)."""
    from ontomap.graph import META_GRAPH
    from ontomap.vocab import OIFM

    found = store.oxigraph.quads_for_pattern(None, OIFM.sourceFile, None, META_GRAPH)
    return sorted({quad.object.value for quad in found if isinstance(quad.object, ox.Literal)})


# ------------------------------------------------------------------ formats


#: A mapping writer: ``write(mapping_set, binary_handle)``.
MappingWriter = Callable[[MappingSet, BinaryIO], object]


@dataclass(frozen=True, slots=True)
class MappingFormat(Format[LazyImport[MappingWriter]]):
    """An output format of mapping sets: its name, file-name endings, media types and writer,
    a :class:`~ontomap.formats.LazyImport` of ``module.function`` imported on first use."""

    @property
    def write(self) -> MappingWriter:
        """The writer: ``write(mapping_set, binary_handle)`` (its module imported now)."""
        return self.handler.load()

    @property
    def module(self) -> str:
        """The module of the writer."""
        return self.handler.module

    @property
    def function(self) -> str:
        """The writer's name in :attr:`module`."""
        return self.handler.attribute


FORMATS: FormatRegistry[MappingFormat] = FormatRegistry(
    [
        MappingFormat(
            "sssom",
            LazyImport("ontomap.mappings.sssom", "write_sssom"),
            (".sssom.tsv", ".tsv"),
            ("text/tab-separated-values",),
            ("sssom-tsv",),
            "SSSOM/TSV with its YAML metadata block",
        ),
        MappingFormat(
            "fhir-r4",
            LazyImport("ontomap.mappings.fhir", "write_fhir_r4"),
            (),
            ("application/fhir+json; fhirVersion=4.0",),
            description="FHIR R4 ConceptMap (JSON, equivalence)",
        ),
        MappingFormat(
            "fhir-r5",
            LazyImport("ontomap.mappings.fhir", "write_fhir_r5"),
            (),
            ("application/fhir+json; fhirVersion=5.0",),
            description="FHIR R5 ConceptMap (JSON, relationship)",
        ),
        MappingFormat(
            "skos",
            LazyImport("ontomap.mappings.skos", "write_skos"),
            (".ttl",),
            ("text/turtle",),
            description="SKOS mapping links in Turtle, evidence on owl:Axiom nodes",
        ),
    ]
)


def format_for(path: Path | str | None = None, fmt: str | None = None) -> MappingFormat:
    """The format ``fmt`` names (:meth:`~ontomap.formats.FormatRegistry.get`: name, alias or
    media type), or else the one whose extension ``path`` ends with; raises
    :class:`~ontomap.errors.UnknownFormatError` otherwise.

    A ``.json`` file could be either FHIR version, so it needs ``fmt``.
    """
    if fmt is not None:
        return FORMATS.get(fmt)
    return FORMATS.for_path(path)


def write_mapping_set(
    mapping_set: MappingSet, path: Path | str, fmt: str | None = None
) -> MappingFormat:
    """Write ``mapping_set`` to ``path`` atomically, in ``fmt`` or the format its extension
    names (see :func:`~ontomap.atomic.atomic_write`); a path that cannot be written raises
    :class:`~ontomap.errors.OutputError`."""
    mapping_format = format_for(path, fmt)
    with atomic_write(path) as handle:
        mapping_format.write(mapping_set, handle)
    return mapping_format


def serialize(mapping_set: MappingSet, fmt: str) -> bytes:
    """The bytes ``fmt`` would write for ``mapping_set``."""
    buffer = io.BytesIO()
    format_for(fmt=fmt).write(mapping_set, buffer)
    return buffer.getvalue()


# ------------------------------------------------------------------ shared by the writers


def percent(share: float) -> str:
    """A share as a percentage for people: ``100%``, ``37.5%``, ``0.05%``."""
    if share in (0.0, 1.0):
        return f"{share:.0%}"
    return f"{share:.2%}" if share < 0.01 else f"{share:.1%}"


def number(value: float) -> float:
    """A figure rounded to 4 significant digits (as confidences and scores are written)."""
    return float(f"{value:.4g}")


EvidenceKind = Literal["integer", "decimal", "boolean", "string"]


@dataclass(frozen=True, slots=True)
class EvidenceFact:
    """One figure of a mapping's evidence, written alike by every format: its name (the local
    name of its ``xwalk:`` property in ``ontologies/mappings.ttl``; SSSOM ``other`` key, FHIR R5
    property code), value type, meaning, and how to read it from a mapping (``None``: absent)."""

    name: str
    kind: EvidenceKind
    description: str
    get: Callable[[Mapping], Any]


#: The evidence figures beyond SSSOM's own slots, in the order every format writes them.
EVIDENCE: tuple[EvidenceFact, ...] = (
    EvidenceFact(
        "entityCount",
        "integer",
        "Number of finding-model entities (findings, attributes, values) that support the "
        "pairing: they carry both codes and pair them.",
        lambda m: m.pair.paired.entity_count,
    ),
    EvidenceFact(
        "findingCount",
        "integer",
        "Number of finding models the supporting entities belong to.",
        lambda m: m.pair.paired.findings,
    ),
    EvidenceFact(
        "contextCount",
        "integer",
        "Number of independent contexts of the supporting entities (entity kind and normalised "
        "name, for a value also its attribute's): the evidence share and confidence count.",
        lambda m: m.pair.paired.context_count,
    ),
    EvidenceFact(
        "template",
        "boolean",
        f"true when one context is repeated in {TEMPLATE_MIN_FINDINGS} or more finding models: "
        "the entity and finding counts then measure copies of one authoring decision.",
        lambda m: m.pair.template,
    ),
    EvidenceFact(
        "subjectUses",
        "integer",
        "Number of entities that carry the subject code as an index code.",
        lambda m: m.pair.source_uses,
    ),
    EvidenceFact(
        "objectUses",
        "integer",
        "Number of entities that carry the object code as an index code.",
        lambda m: m.pair.target_uses,
    ),
    EvidenceFact(
        "subjectContexts",
        "integer",
        "Number of contexts of the subject code's uses (share = contextCount / subjectContexts).",
        lambda m: m.pair.source_contexts,
    ),
    EvidenceFact(
        "objectContexts",
        "integer",
        "Number of contexts of the object code's uses.",
        lambda m: m.pair.target_contexts,
    ),
    EvidenceFact(
        "cardinality",
        "string",
        "1:1, 1:n, n:1 or n:m among the paired codes of the two systems in the whole corpus.",
        lambda m: m.pair.cardinality,
    ),
    EvidenceFact(
        "outlier",
        "boolean",
        "Present and true on an outlier kept by --outliers mark: a possible coding error.",
        lambda m: True if m.marked_outlier else None,
    ),
)


def evidence_facts(mapping: Mapping) -> list[tuple[EvidenceFact, Any]]:
    """The :data:`EVIDENCE` figures of ``mapping`` with their values, absent ones left out."""
    found = [(fact, fact.get(mapping)) for fact in EVIDENCE]
    return [(fact, value) for fact, value in found if value is not None]


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else plural or word + 's'}"


def _context_text(text: str) -> str:
    return text if len(text) <= _NAME_WIDTH else text[: _NAME_WIDTH - 1] + "…"


def evidence(mapping: Mapping, examples: int = 0) -> str:
    """The evidence of a mapping as a few sentences for people (SSSOM and FHIR ``comment``):
    the supporting entities, findings and contexts (up to :data:`CONTEXTS_NAMED` named), the
    template mark, both shares, the confidence, the corpus cardinality and the display match.
    Its length is bounded whatever the counts. With ``examples``, up to that many supporting
    entities are named."""
    p = mapping.pair
    paired = p.paired
    k = paired.context_count
    parts = []
    if mapping.marked_outlier:
        parts.append(
            f"OUTLIER, a possible coding error: under {OUTLIER_SHARE:.0%} of a code's uses "
            f"while another pairing of that code has {DOMINANT_SHARE:.0%} or more. "
        )
    named = [
        f"{_context_text(str(s.context))} ({_plural(s.findings, 'finding model')})"
        for s in paired.contexts[:CONTEXTS_NAMED]
    ]
    if k > len(named):
        named.append(f"{k - len(named):,} more")
    parts.append(
        f"Paired on {_plural(paired.entity_count, 'entity', 'entities')} in "
        f"{_plural(paired.findings, 'finding model')}, "
        f"{_plural(k, 'independent context')}: {'; '.join(named)}."
    )
    if p.template:
        parts.append(
            f" Template: a context repeated in {TEMPLATE_MIN_FINDINGS} or more finding models, "
            "so the entity and finding counts are copies of one authoring decision."
        )
    colisted = len(p.colisted)
    if colisted:
        parts.append(
            f" Also listed together, displays not matching, on "
            f"{_plural(colisted, 'entity', 'entities')}."
        )
    parts.append(
        f" Share {k}/{p.source_contexts} of the contexts of {p.source.system} {p.source.code}, "
        f"{k}/{p.target_contexts} of {p.target.system} {p.target.code}; confidence "
        f"{k}/({max(p.source_contexts, p.target_contexts)}+1) = {number(p.confidence)}; "
        f"cardinality {p.cardinality} among the paired codes of the corpus."
    )
    if mapping.similarity is not None:
        parts.append(
            f" Displays matched (similarity {number(mapping.similarity)}) as well as the "
            "shared entities."
        )
    if examples > 0:
        shown = paired.entities[:examples]
        more = paired.entity_count - len(shown)
        parts.append(f" Entities: {', '.join(shown)}" + (f" and {more:,} more." if more else "."))
    parts.append(" Derived from shared index codes, not curated.")
    return "".join(parts)
