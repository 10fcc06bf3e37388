"""Cross-terminology mapping sets: the crosswalk of a store as SSSOM, FHIR ConceptMap or SKOS.

:func:`build_mapping_set` turns the co-indexed code pairs of a store
(:func:`ontomap.crosswalk.code_pairs`) into a :class:`MappingSet`: it orients the pairs, applies
the user's filters, chooses each link's predicate from its evidence and adds the set's metadata.
One writer per output format, registered in :data:`FORMATS` (the CLI's ``--format`` choices),
turns a mapping set into deterministic bytes; :func:`write_mapping_set` writes them atomically.

The links are evidence, not equivalence (see DESIGN.md and docs/mappings.md):

- the justification is ``semapv:InstanceBasedMatching`` (the two codes share instances: the
  finding-model entities that carry both);
- the predicate is ``skos:closeMatch`` only for a 1:1 pairing, not an outlier, seen in at least
  :data:`CLOSE_MATCH_MIN_FINDINGS` findings and covering at least
  :data:`CLOSE_MATCH_MIN_SHARE` of the uses of both codes; every other pairing is
  ``skos:relatedMatch``. Co-indexing alone never gives ``skos:exactMatch``.
"""

from __future__ import annotations

import importlib
import io
import os
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Literal

import pyoxigraph as ox

from ontomap import __version__
from ontomap.atomic import atomic_write
from ontomap.crosswalk import CodePair, cardinality_of, code_pairs, system_order
from ontomap.errors import OntomapError, UnknownFormatError
from ontomap.lookup import DOMINANT_SHARE, OUTLIER_SHARE, Cardinality
from ontomap.terminology import CodeSystem, default_registry
from ontomap.vocab import DEFAULT_BASE_IRI

if TYPE_CHECKING:
    from ontomap.store import Store

__all__ = [
    "CLOSE_MATCH",
    "CLOSE_MATCH_MIN_FINDINGS",
    "CLOSE_MATCH_MIN_SHARE",
    "DEFAULT_LICENSE",
    "FORMATS",
    "JUSTIFICATION",
    "MAPPING_SET_NAMESPACE",
    "RELATED_MATCH",
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
    "format_for",
    "number",
    "percent",
    "predicate_for",
    "serialize",
    "source_date",
    "write_mapping_set",
]

Predicate = Literal["skos:closeMatch", "skos:relatedMatch"]
OutlierPolicy = Literal["exclude", "mark"]

CLOSE_MATCH: Predicate = "skos:closeMatch"
RELATED_MATCH: Predicate = "skos:relatedMatch"
#: The SEMAPV matching process: "a match between a subject A and an object B was established
#: because they share the same instances" (here: the entities that carry both codes).
JUSTIFICATION = "semapv:InstanceBasedMatching"
#: A close match needs at least this share of the uses of both codes...
CLOSE_MATCH_MIN_SHARE = 0.5
#: ...and support from at least this many finding models (independent authors' choices).
CLOSE_MATCH_MIN_FINDINGS = 2
#: SSSOM's IRI for "no license given" (what sssom-py assumes when a set names none).
DEFAULT_LICENSE = "https://w3id.org/sssom/license/unspecified"
#: Default identifiers of mapping sets: ``{namespace}{slug}`` (e.g. ``…/radlex-to-sct``).
MAPPING_SET_NAMESPACE = "https://w3id.org/ontomap/mappings/"
#: ``mapping_tool`` of SSSOM, publisher of FHIR, ``sssom:mapping_tool`` of SKOS.
TOOL = "ontomap"


class InvalidMappingDateError(OntomapError):
    """A mapping date that is not an ISO date (``YYYY-MM-DD``)."""

    def __init__(self, value: str) -> None:
        self.value = value
        super().__init__(f"invalid mapping date {value!r}: expected YYYY-MM-DD, e.g. 2025-01-31")


class InvalidMappingIriError(OntomapError):
    """A mapping set identifier or license that is not an IRI."""

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


def predicate_for(pair: CodePair) -> Predicate:
    """The SKOS mapping predicate the evidence of ``pair`` supports (see the module doc)."""
    if (
        pair.cardinality == "1:1"
        and pair.flag is None
        and pair.findings >= CLOSE_MATCH_MIN_FINDINGS
        and min(pair.share, pair.target_share) >= CLOSE_MATCH_MIN_SHARE
    ):
        return CLOSE_MATCH
    return RELATED_MATCH


@dataclass(frozen=True, slots=True)
class Mapping:
    """One link of a mapping set: a code pair, its predicate and its cardinality in the set.

    ``pair.cardinality`` is the lookup's, over all co-indexing of the two systems in the
    store; ``set_cardinality`` is SSSOM's, over the mappings of the same two systems that
    the set holds (they differ only when filters removed some pairs).
    """

    pair: CodePair
    predicate: Predicate
    set_cardinality: Cardinality

    @property
    def marked_outlier(self) -> bool:
        """Whether the mapping is an outlier (kept only with ``outliers="mark"``)."""
        return self.pair.flag == "outlier"


@dataclass(frozen=True, slots=True)
class MappingSet:
    """A set of derived mappings with its metadata, ready for any writer.

    ``system_pairs`` lists the (source, target) system keys the set covers, in registry order:
    the requested pair when both systems were given, else the pairs that have mappings.
    ``excluded_outliers`` and ``below_threshold`` count the code pairs left out.
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
    tool: str = TOOL
    tool_version: str = __version__

    def __len__(self) -> int:
        return len(self.mappings)

    @property
    def single_pair(self) -> tuple[str, str] | None:
        """The one (source, target) system pair of the set, or ``None`` if it has several."""
        return self.system_pairs[0] if len(self.system_pairs) == 1 else None

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
    filters = [f"outliers {'excluded' if outliers == 'exclude' else 'kept and marked'}"]
    if min_support > 1:
        filters.append(f"at least {min_support} supporting entities")
    if min_share > 0:
        filters.append(f"at least {min_share:.0%} of the subject code's uses")
    return (
        "Pairs of codes from different terminologies that index the same finding, attribute or "
        "choice value in Open Imaging Finding Models. Each link is evidence, not equivalence: "
        "its confidence is the share of the subject code's uses that also carry the object "
        "code. skos:closeMatch marks a 1:1 pairing seen in at least "
        f"{CLOSE_MATCH_MIN_FINDINGS} findings and covering at least "
        f"{CLOSE_MATCH_MIN_SHARE:.0%} of the uses of both codes; every other pairing is "
        "skos:relatedMatch. An outlier is a pairing under "
        f"{OUTLIER_SHARE:.0%} of a code's uses while another pairing of that code with the "
        f"same terminology has {DOMINANT_SHARE:.0%} or more (a possible coding error). "
        f"Filters: {'; '.join(filters)}. Generated by ontomap {__version__}."
    )


def _oriented(pairs: list[CodePair], both_open: bool) -> list[CodePair]:
    """With no system given, each pair of systems once, the earlier in the registry first."""
    if not both_open:
        return pairs
    return [p for p in pairs if system_order(p.source.system) < system_order(p.target.system)]


def _set_cardinalities(pairs: list[CodePair]) -> list[Cardinality]:
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
    store: Store,
    source_system: str | CodeSystem | None = None,
    target_system: str | CodeSystem | None = None,
    *,
    min_support: int = 1,
    min_share: float = 0.0,
    outliers: OutlierPolicy = "exclude",
    mapping_date: str | None = None,
    license: str = DEFAULT_LICENSE,
    set_id: str | None = None,
) -> MappingSet:
    """The mapping set from ``source_system`` to ``target_system`` of ``store``.

    Either system may be ``None`` (every system on that side); with both ``None``, each pair of
    systems appears once, oriented from the system listed first in the registry (RADLEX,
    SNOMED, LOINC, GAMUTS, RADELEMENT, ICD10CM, then unknown systems by key).

    A code pair is kept when at least ``min_support`` entities carry both codes and its share
    of the source code's uses is at least ``min_share``; outliers are dropped
    (``outliers="exclude"``) or kept and marked (``"mark"``). ``mapping_date`` (``YYYY-MM-DD``,
    see :func:`source_date`) is written where the format has a date; no clock is read, so the
    same store and options always give the same set.

    Raises :class:`~ontomap.errors.UnknownCodeSystemError` for an unknown system,
    :class:`InvalidMappingIriError` for a ``license`` or ``set_id`` that is not an IRI, and
    ``ValueError`` for the same system on both sides or a threshold out of range.
    """
    source, target = _system(source_system), _system(target_system)
    if source is not None and target is not None and source.key == target.key:
        raise ValueError(f"--from and --to name the same code system ({source.key})")
    if min_support < 1:
        raise ValueError(f"min_support must be at least 1, not {min_support}")
    if not 0.0 <= min_share <= 1.0:
        raise ValueError(f"min_share must be between 0 and 1, not {min_share}")
    if mapping_date is not None:
        check_date(mapping_date)
    check_iri("license", license)
    if set_id is not None:
        check_iri("mapping set ID", set_id)
    pairs = _oriented(code_pairs(store, source, target), source is None and target is None)
    kept: list[CodePair] = []
    excluded = below = 0
    for pair in pairs:
        if pair.entities < min_support or pair.share < min_share:
            below += 1
        elif pair.flag == "outlier" and outliers == "exclude":
            excluded += 1
        else:
            kept.append(pair)
    mappings = tuple(
        Mapping(pair, predicate_for(pair), cardinality)
        for pair, cardinality in zip(kept, _set_cardinalities(kept), strict=True)
    )
    if source is not None and target is not None:
        system_pairs: tuple[tuple[str, str], ...] = ((source.key, target.key),)
    else:
        found = {(m.pair.source.system, m.pair.target.system) for m in mappings}
        system_pairs = tuple(sorted(found, key=lambda p: (system_order(p[0]), system_order(p[1]))))
    slug = _slug(source, target)
    return MappingSet(
        id=set_id or MAPPING_SET_NAMESPACE + slug,
        slug=slug,
        title=_title(source, target),
        description=_description(min_support, min_share, outliers),
        mappings=mappings,
        system_pairs=system_pairs,
        date=mapping_date,
        license=license,
        base_iri=store.base_iri or DEFAULT_BASE_IRI,
        min_support=min_support,
        min_share=min_share,
        outliers=outliers,
        excluded_outliers=excluded,
        below_threshold=below,
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


# ------------------------------------------------------------------ formats


@dataclass(frozen=True, slots=True)
class MappingFormat:
    """An output format: its name, file-name endings, media type and writer.

    The writer (``module.function``) is imported on first use.
    """

    name: str
    extensions: tuple[str, ...]
    media_type: str
    module: str
    function: str
    description: str = ""

    @property
    def write(self) -> Callable[[MappingSet, BinaryIO], None]:
        """The writer: ``write(mapping_set, binary_handle)``."""
        return getattr(importlib.import_module(self.module), self.function)  # type: ignore[no-any-return]


FORMATS: dict[str, MappingFormat] = {
    "sssom": MappingFormat(
        "sssom",
        (".sssom.tsv", ".tsv"),
        "text/tab-separated-values",
        "ontomap.mappings.sssom",
        "write_sssom",
        "SSSOM/TSV with its YAML metadata block",
    ),
    "fhir-r4": MappingFormat(
        "fhir-r4",
        (),
        "application/fhir+json; fhirVersion=4.0",
        "ontomap.mappings.fhir",
        "write_fhir_r4",
        "FHIR R4 ConceptMap (JSON, equivalence)",
    ),
    "fhir-r5": MappingFormat(
        "fhir-r5",
        (),
        "application/fhir+json; fhirVersion=5.0",
        "ontomap.mappings.fhir",
        "write_fhir_r5",
        "FHIR R5 ConceptMap (JSON, relationship)",
    ),
    "skos": MappingFormat(
        "skos",
        (".ttl",),
        "text/turtle",
        "ontomap.mappings.skos",
        "write_skos",
        "SKOS mapping links in Turtle, evidence on owl:Axiom nodes",
    ),
}


def format_for(path: Path | str | None = None, fmt: str | None = None) -> MappingFormat:
    """The format named ``fmt``, or else the one whose extension ``path`` ends with.

    A ``.json`` file could be either FHIR version, so it needs ``fmt``.
    """
    if fmt is not None:
        try:
            return FORMATS[fmt]
        except KeyError:
            raise UnknownFormatError(fmt, FORMATS) from None
    name = Path(path).name.lower() if path is not None else ""
    for mapping_format in FORMATS.values():
        if mapping_format.extensions and name.endswith(mapping_format.extensions):
            return mapping_format
    raise UnknownFormatError(name or "(no file name)", FORMATS)


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
    """A share rounded to 4 significant digits (the value written as a confidence)."""
    return float(f"{value:.4g}")


def _uses(n: int) -> str:
    return f"{n} use{'s' * (n != 1)}"


def evidence(mapping: Mapping, examples: int = 0) -> str:
    """The evidence of a mapping as one sentence for people (SSSOM and FHIR ``comment``).

    With ``examples``, up to that many supporting entities are named.
    """
    p = mapping.pair
    parts = []
    if mapping.marked_outlier:
        parts.append(
            f"OUTLIER, a possible coding error: under {OUTLIER_SHARE:.0%} of a code's uses "
            f"while another pairing of that code has {DOMINANT_SHARE:.0%} or more. "
        )
    findings = f"{p.findings} finding model{'s' * (p.findings != 1)}"
    parts.append(
        f"Co-indexed on {p.entities} entit{'ies' if p.entities != 1 else 'y'} in {findings}: "
        f"{percent(p.share)} of the {_uses(p.source_uses)} of {p.source.system} "
        f"{p.source.code}, {percent(p.target_share)} of the {_uses(p.target_uses)} of "
        f"{p.target.system} {p.target.code}; cardinality {p.cardinality} in the corpus."
    )
    if examples > 0:
        shown = p.entity_ids[:examples]
        more = p.entities - len(shown)
        parts.append(f" Entities: {', '.join(shown)}" + (f" and {more} more." if more else "."))
    parts.append(" Derived from shared index codes, not curated.")
    return "".join(parts)
