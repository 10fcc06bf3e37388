"""Cross-terminology code lookup: what a code is called in the corpus, where it is used, and
which codes of other systems are listed on the same findings, attributes and values, with the
crosswalk's evidence for each.

>>> from ontomap.lookup import lookup
>>> from ontomap.store import Store
>>> with Store("./kg", read_only=True) as store:  # doctest: +SKIP
...     result = lookup(store, "RADLEX:RID5791", to="SNOMED")
...     [(m.curie, m.status, m.findings, m.contexts, m.template) for m in result.matches]
[('sct:263768009', 'paired', 1994, 1, True)]

The lookup is a view of :mod:`ontomap.crosswalk`, the one engine that turns co-indexing into
evidence: it reads the code's record from the store's materialised crosswalk graph
(:class:`~ontomap.crosswalk.CrosswalkReader`, one SPARQL query) and computes nothing of its
own. A *match* is a code of another system listed on some of the same entities; it is
evidence, not an equivalence. Each match carries (the rules are the crosswalk's, see its module
doc and docs/mappings.md):

- **status**: ``paired`` when some entity supports the pairing, ``co-listed`` when every entity
  that lists both codes lists several codes of each system and their displays do not pair
  them (a co-listed pair is no mapping: no predicate, confidence 0);
- **entities**, **findings**: the entities listing both codes and their findings (template
  copies included); ``paired_entities`` those that pair them;
- **contexts**: the independent authoring contexts supporting the pairing (entity kind and
  normalised name, and the attribute for a value), and the list of contexts where the two codes
  are listed together, each with its counts, its ``template`` flag (repeated in 10 findings or
  more) and whether it pairs them;
- **template**: one of those contexts is a template: its counts measure copies of one
  authoring decision, not independent confirmations;
- **share** (supporting contexts / contexts of this code's uses), **target_share** (the same
  seen from the match), **entity_share** (supporting entities / uses of this code);
- **cardinality** (``1:1``, ``1:n``, ``n:1``, ``n:m``; paired pairs only), **flag**
  (``outlier``), **predicate** (``skos:closeMatch`` or ``skos:relatedMatch``; never
  ``skos:exactMatch``), **confidence**, **lexical_score** and **justification**.

``used_by`` lists every use of the code (anatomic locations included, as kind ``location``;
ordered by finding), each with its finding's name; :meth:`LookupResult.to_json` pages it
(``offset``, ``limit``; :data:`DEFAULT_LIMIT` uses by default) and gives the totals.

Codes are written as a CURIE (``RADLEX:RID5791``, ``radlex:RID5791``, ``SNOMEDCT:263768009``,
``sct:263768009``), as ``SYSTEM code`` (``SNOMED 263768009``), as a FHIR ``system|code``
(``http://snomed.info/sct|263768009``), as a concept IRI (``http://radlex.org/RID/RID5791``),
or bare where the code pattern of the registry names a single system (``RID5791``).

The lookup runs on the store's Oxigraph database, or on a remote SPARQL endpoint that holds the
store's layout and crosswalk graph (after ``ontomap push``; see :mod:`ontomap.backends`); it
never imports rdflib.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import unquote

from ontomap.crosswalk import (
    RULES_VERSION,
    Cardinality,
    CodeUsage,
    CodeUse,
    ContextSupport,
    CrosswalkPair,
    CrosswalkReader,
    EntityKind,
    Flag,
    Predicate,
    Status,
    UseKind,
    UseList,
)
from ontomap.errors import ExitCode, OntomapError
from ontomap.model import IndexCode
from ontomap.namespaces import Compactor
from ontomap.terminology import GENERIC_CODE_NAMESPACE, CodeSystem, Registry, default_registry

if TYPE_CHECKING:
    from ontomap.backends import SparqlBackend
    from ontomap.store import Store

__all__ = [
    "DEFAULT_LIMIT",
    "JSON_VERSION",
    "AmbiguousCodeError",
    "CodeInfo",
    "CodeLookupError",
    "CodeNotFoundError",
    "CodeUse",
    "DescendantCode",
    "DescendantUse",
    "Descendants",
    "Kind",
    "LookupResult",
    "MalformedCodeError",
    "Match",
    "MatchContext",
    "ReleaseCode",
    "ReleaseReader",
    "ReleaseRequiredError",
    "ReleaseStatus",
    "UnrecognizedCodeError",
    "Use",
    "code_from_iri",
    "crosswalk_reader",
    "lookup",
    "parse_code",
    "release_reader",
]

#: Version of the JSON shape of :meth:`LookupResult.to_json` (the README documents it).
JSON_VERSION = 2
#: Uses listed by default in one page of ``used_by`` (JSON, table, ``/lookup``).
DEFAULT_LIMIT = 50

Kind = UseKind
#: One use of a code (the crosswalk's :class:`~ontomap.crosswalk.CodeUse`).
Use = CodeUse

#: The ways a code can be written, for error messages.
EXPECTED_FORMS = (
    "a CURIE (RADLEX:RID5791, radlex:RID5791, SNOMEDCT:263768009, sct:263768009), "
    '"SYSTEM code" ("SNOMED 263768009"), a FHIR system|code '
    "(http://snomed.info/sct|263768009), a concept IRI (http://radlex.org/RID/RID5791) "
    "or a bare code whose pattern names one system (RID5791)"
)


# ------------------------------------------------------------------ errors


def _shown(text: str | bytes, limit: int = 80) -> str:
    """``text`` quoted for a message on one line: control characters and undecodable bytes
    escaped, cut to about ``limit`` characters."""
    quoted = repr(text)
    if len(quoted) <= limit:
        return quoted
    return f"{quoted[: limit - 1]}…{quoted[-1]} ({len(text)} characters)"


def _plain(text: str) -> str:
    """``text`` as is where it prints safely on one line, else :func:`_shown`."""
    return text if text.isprintable() and len(text) <= 80 else _shown(text)


class CodeLookupError(OntomapError):
    """A code that cannot be looked up; ``text`` is what was asked for."""

    exit_code = ExitCode.NOT_FOUND

    def __init__(self, text: str, message: str) -> None:
        self.text = text
        super().__init__(message)


class UnrecognizedCodeError(CodeLookupError):
    """The text is not a code in any of the accepted forms (or names an unknown system)."""


class AmbiguousCodeError(CodeLookupError):
    """A bare code whose pattern fits several code systems; ``candidates`` lists them."""

    def __init__(self, text: str, candidates: tuple[IndexCode, ...]) -> None:
        self.candidates = candidates
        options = ", ".join(f"{c.system} ({c.curie})" for c in candidates)
        super().__init__(
            text,
            f"{_shown(text)} could be a code of several systems: {options}; "
            f"write it as a CURIE, e.g. {candidates[0].curie}",
        )


class MalformedCodeError(CodeLookupError):
    """A code that does not follow its system's syntax (and is not in the store)."""

    def __init__(self, text: str, code: IndexCode, reason: str) -> None:
        self.code = code
        self.reason = reason
        super().__init__(text, f"{code.system} code {_shown(code.code)} is malformed: {reason}")


class CodeNotFoundError(CodeLookupError):
    """A well-formed code that no finding model in the store uses."""

    def __init__(self, text: str, code: IndexCode, *, descendants: bool = False) -> None:
        self.code = code
        under = ", nor is any code under it in the release" if descendants else ""
        super().__init__(
            text,
            f"{_plain(code.curie)} ({_plain(code.system)} {_plain(code.code)}) is not used by any "
            f"finding model in the store{under}; check the code, or build the store from the "
            "models that use it",
        )


# ------------------------------------------------------------------ parsing codes

_IRI = re.compile(r"^<?([A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"]*)>?$")
_URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def _namespaces(registry: Registry) -> tuple[tuple[str, CodeSystem], ...]:
    """Code namespaces of the registry's systems, longest first (some nest in the generic
    one)."""
    pairs = [(system.namespace, system) for system in registry.systems]
    return tuple(sorted(pairs, key=lambda pair: len(pair[0]), reverse=True))


@lru_cache(maxsize=8)
def _code_compactor(registry: Registry) -> Compactor:
    """Each system's key → its code namespace (the longest that fits wins), per registry (the
    one in use may change: :func:`~ontomap.terminology.use_registry`)."""
    return Compactor({system.key: namespace for namespace, system in _namespaces(registry)})


def code_from_iri(value: str) -> IndexCode | None:
    """The code a concept IRI names (a known system's namespace, or ontomap's generic one)."""
    split = _code_compactor(default_registry()).split(value)
    if split is not None:
        return IndexCode.of(split[0], unquote(split[1]))
    if value.startswith(GENERIC_CODE_NAMESPACE):
        key, _, code = value[len(GENERIC_CODE_NAMESPACE) :].partition("/")
        if key and code:
            return IndexCode.of(key, unquote(code))
    return None


def _system_named(name: str) -> CodeSystem | None:
    registry = default_registry()
    system = registry.find(name)
    if system is None:
        for candidate in registry.systems:
            if candidate.fhir_system and candidate.fhir_system.rstrip("/") == name.rstrip("/"):
                return candidate
    return system


def _unknown_system(text: str, name: str) -> UnrecognizedCodeError:
    registry = default_registry()
    names = ", ".join(f"{s.key} ({s.prefix}:)" for s in registry.systems)
    return UnrecognizedCodeError(
        text, f"unknown code system {_shown(name)} in {_shown(text)}; known systems: {names}"
    )


def parse_code(text: str) -> IndexCode:
    """The code written in ``text``, in any of the forms ontomap accepts (see the module doc).

    The code's syntax is not checked here (a store may hold codes that do not follow their
    system's pattern); :func:`lookup` checks it when the code is not found.

    Raises :class:`UnrecognizedCodeError` for text that is no code or names an unknown system,
    and :class:`AmbiguousCodeError` for a bare code whose pattern fits several systems.
    """
    value = text.strip()
    if not value:
        raise UnrecognizedCodeError(text, f"empty code; expected {EXPECTED_FORMS}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        try:
            quoted = _shown(text.encode("utf-8", errors="surrogateescape"))
        except UnicodeEncodeError:
            quoted = _shown(text)
        raise UnrecognizedCodeError(
            text, f"the code {quoted} holds bytes that are not UTF-8 text; write it in UTF-8"
        ) from None
    if "|" in value:
        system_uri, _, code = value.partition("|")
        system = _system_named(system_uri.strip())
        if system is None:
            raise _unknown_system(text, system_uri.strip())
        if not code.strip():
            raise UnrecognizedCodeError(text, f"no code after '|' in {_shown(text)}")
        return IndexCode.of(system.key, code.strip())
    iri_match = _IRI.match(value)
    if iri_match and (_URI_SCHEME.match(iri_match.group(1)) or value.startswith("<")):
        try:
            unquote(iri_match.group(1), errors="strict")
        except UnicodeDecodeError:
            raise UnrecognizedCodeError(
                text, f"{_shown(value)} has a %-escape that is not UTF-8 text"
            ) from None
        code = code_from_iri(iri_match.group(1))
        if code is None:
            spaces = ", ".join(ns for ns, _ in _namespaces(default_registry()))
            raise UnrecognizedCodeError(
                text, f"{_plain(value)} is in no known code namespace; expected one of: {spaces}"
            )
        return code
    if any(char.isspace() for char in value):
        name, code = value.rsplit(None, 1)
        system = _system_named(name)
        if system is None:
            raise _unknown_system(text, name)
        return IndexCode.of(system.key, code)
    if ":" in value:
        prefix, _, code = value.partition(":")
        system = _system_named(prefix)
        if system is None:
            raise _unknown_system(text, prefix)
        if not code:
            raise UnrecognizedCodeError(text, f"no code after '{prefix}:' in {_shown(text)}")
        return IndexCode.of(system.key, code)
    candidates = tuple(
        IndexCode.of(system.key, value)
        for system in default_registry().systems
        if system.pattern is not None and system.is_well_formed(value)
    )
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        raise AmbiguousCodeError(text, candidates)
    raise UnrecognizedCodeError(
        text, f"{_shown(text)} matches no known system's code pattern; expected {EXPECTED_FORMS}"
    )


def malformation(code: IndexCode) -> str | None:
    """Why ``code`` does not follow its system's syntax, or ``None`` when it does."""
    system = code.code_system
    if system.pattern is not None and not re.fullmatch(system.pattern, code.code):
        return f"expected the pattern {system.pattern}"
    if not system.is_well_formed(code.code):
        return f"its {system.check_digit} check digit is wrong"
    return None


# ------------------------------------------------------------------ results


@dataclass(frozen=True, slots=True)
class CodeInfo:
    """The looked-up code: system key, code, CURIE, IRI, its labels in the corpus (the displays
    authors gave it, most used first), the number of entities it indexes (``uses``; anatomic
    locations index nothing) and the independent contexts of those uses (``contexts``)."""

    system: str
    code: str
    curie: str
    iri: str
    labels: tuple[str, ...]
    uses: int = 0
    contexts: int = 0


@dataclass(frozen=True, slots=True)
class MatchContext:
    """One context where the looked-up code and a match are listed on the same entities: the
    context's kind, normalised name and (for a value) attribute name, how many entities in how
    many findings, whether it is a template, and whether its entities pair the two codes."""

    kind: EntityKind
    name: str
    attribute: str | None
    entities: int
    findings: int
    template: bool
    paired: bool

    def __str__(self) -> str:
        where = f' of "{self.attribute}"' if self.attribute is not None else ""
        return f'{self.kind} "{self.name}"{where}'


@dataclass(frozen=True, slots=True)
class Match:
    """A code of another system listed on some of the same entities as the looked-up code: the
    crosswalk's :class:`~ontomap.crosswalk.CrosswalkPair`, oriented from the looked-up code,
    with the names the lookup shows (see the module doc for each figure)."""

    pair: CrosswalkPair
    #: What the loaded releases of the match's system say about it (``None``: the store holds
    #: no release, or the lookup ran on an endpoint).
    releases: tuple[ReleaseStatus, ...] | None = None

    @property
    def system(self) -> str:
        return self.pair.target.system

    @property
    def code(self) -> str:
        return self.pair.target.code

    @property
    def curie(self) -> str:
        return self.pair.target.curie

    @property
    def iri(self) -> str:
        return self.pair.target.iri

    @property
    def label(self) -> str | None:
        return self.pair.target_label

    @property
    def status(self) -> Status:
        return self.pair.status

    @property
    def entities(self) -> int:
        """Entities listing both codes (paired or co-listed)."""
        return self.pair.co_indexed.entity_count

    @property
    def findings(self) -> int:
        """Findings those entities belong to."""
        return self.pair.co_indexed.findings

    @property
    def paired_entities(self) -> int:
        """Entities that pair the two codes."""
        return self.pair.paired.entity_count

    @property
    def contexts(self) -> int:
        """Independent contexts supporting the pairing (0 for a co-listed pair)."""
        return self.pair.paired.context_count

    @property
    def template(self) -> bool:
        return self.pair.template

    @property
    def share(self) -> float:
        """Supporting contexts / contexts of the looked-up code's uses."""
        return self.pair.share

    @property
    def target_share(self) -> float:
        """Supporting contexts / contexts of the match's uses."""
        return self.pair.target_share

    @property
    def entity_share(self) -> float:
        """Supporting entities / uses of the looked-up code."""
        return self.pair.entity_share

    @property
    def cardinality(self) -> Cardinality | None:
        return self.pair.cardinality

    @property
    def flag(self) -> Flag | None:
        return self.pair.flag

    @property
    def predicate(self) -> Predicate | None:
        return self.pair.predicate

    @property
    def confidence(self) -> float:
        return self.pair.confidence

    @property
    def lexical_score(self) -> float | None:
        return self.pair.lexical_score

    @property
    def justification(self) -> str | None:
        return self.pair.justification

    @property
    def where(self) -> tuple[MatchContext, ...]:
        """The contexts where the two codes are listed together (most findings first)."""
        pairing = {s.context for s in self.pair.paired.contexts}
        return tuple(_context(s, s.context in pairing) for s in self.pair.co_indexed.contexts)

    def to_json(self) -> dict[str, Any]:
        """The match as the ``matches`` entries of :meth:`LookupResult.to_json`."""
        out = self._json()
        if self.releases is not None:
            out["releases"] = [r.to_json() for r in self.releases]
        return out

    def _json(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "code": self.code,
            "curie": self.curie,
            "iri": self.iri,
            "label": self.label,
            "status": self.status,
            "entities": self.entities,
            "findings": self.findings,
            "paired_entities": self.paired_entities,
            "independent_contexts": self.contexts,
            "template": self.template,
            "share": _rounded(self.share),
            "target_share": _rounded(self.target_share),
            "entity_share": _rounded(self.entity_share),
            "cardinality": self.cardinality,
            "flag": self.flag,
            "predicate": self.predicate,
            "confidence": _rounded(self.confidence),
            "lexical_score": _rounded(self.lexical_score),
            "justification": self.justification,
            "contexts": [
                {
                    "kind": c.kind,
                    "name": c.name,
                    "attribute": c.attribute,
                    "entities": c.entities,
                    "findings": c.findings,
                    "template": c.template,
                    "paired": c.paired,
                }
                for c in self.where
            ],
        }


def _context(support: ContextSupport, paired: bool) -> MatchContext:
    context = support.context
    return MatchContext(
        context.kind,
        context.name,
        context.attribute,
        support.entities,
        support.findings,
        support.template,
        paired,
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


_KIND_ORDER: tuple[Kind, ...] = ("finding", "location", "attribute", "value")
_KIND_LETTERS = {"f": "finding", "l": "location", "a": "attribute", "v": "value"}


@dataclass(frozen=True, slots=True)
class LookupResult:
    """Everything the store says about one code.

    ``used_by`` lists every use (ordered by finding, then kind and entity; read lazily from the
    crosswalk graph); ``matches`` the codes of other systems on the same entities (by system,
    paired before co-listed, best supported first), only those of one system when the lookup
    was asked ``to`` one.
    """

    code: CodeInfo
    used_by: Sequence[CodeUse] | Sequence[DescendantUse]
    matches: tuple[Match, ...]
    to: str | None = None
    #: What each loaded release of the code's system says about it (``None``: the store holds
    #: no release at all, or the lookup ran on an endpoint; the JSON then has no ``releases``).
    releases: tuple[ReleaseStatus, ...] | None = None
    #: With ``descendants=True``: the release read and the codes under this one that the
    #: corpus uses; ``used_by`` then lists the uses of all of them (:class:`DescendantUse`).
    descendants: Descendants | None = None

    @property
    def findings(self) -> int:
        """Number of distinct findings that use the code (in any way)."""
        uses = self.used_by
        if isinstance(uses, UseList):
            return len(set(uses.findings))
        return len({use.finding for use in uses})

    @property
    def kinds(self) -> dict[str, int]:
        """Number of uses per kind (``finding``, ``location``, ``attribute``, ``value``)."""
        uses = self.used_by
        if isinstance(uses, UseList):
            letters = uses.row[2]
            counts = {_KIND_LETTERS[c]: letters.count(c) for c in set(letters)}
        else:
            counts = {}
            for use in uses:
                counts[use.kind] = counts.get(use.kind, 0) + 1
        return {kind: counts[kind] for kind in _KIND_ORDER if counts.get(kind)}

    def page(
        self, offset: int = 0, limit: int | None = DEFAULT_LIMIT
    ) -> Sequence[CodeUse] | Sequence[DescendantUse]:
        """The uses from ``offset`` on, at most ``limit`` of them (``None``: all)."""
        if offset < 0 or (limit is not None and limit < 0):
            raise ValueError("offset and limit must not be negative")
        end = None if limit is None else offset + limit
        return self.used_by[offset:end]

    def to_json(self, offset: int = 0, limit: int | None = DEFAULT_LIMIT) -> dict[str, Any]:
        """The result as the JSON shape documented in the README (version
        :data:`JSON_VERSION`), with the page of ``used_by`` from ``offset``, at most ``limit``
        uses (``None``: every use)."""
        code = self.code
        out: dict[str, Any] = {
            "version": JSON_VERSION,
            "crosswalk_rules": RULES_VERSION,
            "code": {
                "system": code.system,
                "code": code.code,
                "curie": code.curie,
                "iri": code.iri,
                "labels": list(code.labels),
                "index_uses": code.uses,
                "contexts": code.contexts,
            },
            "to": self.to,
            "matches": [m.to_json() for m in self.matches],
            "used_by": {
                "uses": len(self.used_by),
                "findings": self.findings,
                "kinds": self.kinds,
                "offset": offset,
                "limit": limit,
                "items": [self._use_json(u) for u in self.page(offset, limit)],
            },
        }
        if self.releases is not None:
            out["releases"] = [r.to_json() for r in self.releases]
        if self.descendants is not None:
            out["descendants"] = self.descendants.to_json()
        return out

    def _use_json(self, use: CodeUse | DescendantUse) -> dict[str, Any]:
        item = {
            "finding": use.finding,
            "finding_label": use.finding_label,
            "kind": use.kind,
            "entity": use.entity,
            "label": use.label,
        }
        if isinstance(use, DescendantUse):
            item["code"] = use.code
        return item

    def dumps(self, offset: int = 0, limit: int | None = DEFAULT_LIMIT) -> str:
        """:meth:`to_json` as text: indented, UTF-8 characters as they are, a final newline
        (what ``ontomap lookup --format json`` prints and ``/lookup`` answers)."""
        return json.dumps(self.to_json(offset, limit), ensure_ascii=False, indent=2) + "\n"


# ------------------------------------------------------------------ releases


class ReleaseRequiredError(CodeLookupError):
    """A lookup that needs a terminology release the store does not hold (``--descendants``
    of a code whose system has no release loaded, or on an endpoint)."""

    def __init__(self, text: str, code: IndexCode, reason: str) -> None:
        self.code = code
        super().__init__(text, reason)


@dataclass(frozen=True, slots=True)
class ReleaseCode:
    """A code named by a release (a parent, a replacement), with its preferred term there."""

    system: str
    code: str
    curie: str
    preferred_term: str | None

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "curie": self.curie, "preferred_term": self.preferred_term}


@dataclass(frozen=True, slots=True)
class ReleaseStatus:
    """What one loaded release says about a code: ``found`` False when the code is not in it
    (``status`` is then ``"absent"``); else the release's status word (``active``,
    ``inactive``, ``obsolete``, ``deprecated``...), whether the code is still to be used,
    its preferred term, its direct is-a parents and the codes that replace it."""

    system: str
    version: str
    found: bool
    status: str
    active: bool | None
    preferred_term: str | None
    parents: tuple[ReleaseCode, ...] = ()
    replaced_by: tuple[ReleaseCode, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "version": self.version,
            "found": self.found,
            "status": self.status,
            "active": self.active,
            "preferred_term": self.preferred_term,
            "parents": [c.to_json() for c in self.parents],
            "replaced_by": [c.to_json() for c in self.replaced_by],
        }


@dataclass(frozen=True, slots=True)
class DescendantCode:
    """A code under the looked-up one (or the looked-up code itself, ``depth`` 0) that the
    corpus uses: its preferred term in the release, its labels in the corpus, how many entities
    use it in how many findings."""

    system: str
    code: str
    curie: str
    preferred_term: str | None
    labels: tuple[str, ...]
    uses: int
    findings: int

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "curie": self.curie,
            "preferred_term": self.preferred_term,
            "labels": list(self.labels),
            "uses": self.uses,
            "findings": self.findings,
        }


@dataclass(frozen=True, slots=True)
class Descendants:
    """The codes under a code in the latest loaded release of its system: ``count`` of them
    in the release (transitive is-a, the code itself not counted), and ``codes``, those the
    corpus uses (the looked-up code first when it is used, then by CURIE)."""

    system: str
    version: str
    count: int
    codes: tuple[DescendantCode, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "version": self.version,
            "in_release": self.count,
            "used": len(self.codes),
            "codes": [c.to_json() for c in self.codes],
        }


class DescendantUse(NamedTuple):
    """One use of the looked-up code or of a code under it: a :class:`CodeUse` with the
    ``code`` (CURIE) used."""

    entity: str
    kind: UseKind
    finding: str
    label: str | None
    finding_label: str | None
    code: str


#: Codes whose release statuses a :class:`ReleaseReader` keeps (then it starts again).
RELEASE_CACHE_SIZE = 20_000
_RELEASE_READER_ATTRIBUTE = "_ontomap_release_reader"


class ReleaseReader:
    """The release statuses of codes in one store, read with
    :meth:`ontomap.releases.Releases.concept` (one call per code and release) and kept: on a
    read-only store (one generation, never changing) the one reader of :func:`release_reader`
    serves every lookup, so each code is read once per generation."""

    def __init__(self, store: Store) -> None:
        from ontomap.releases import Releases

        self.store = store
        self.releases = Releases(store)
        self._by_system: dict[str, list[tuple[str, str]]] = {}
        for info in self.releases.list():  # by system, oldest first
            self._by_system.setdefault(info.system, []).append((info.system, info.version))
        self._statuses: dict[IndexCode, tuple[ReleaseStatus, ...]] = {}

    @property
    def loaded(self) -> bool:
        """Whether the store holds any release."""
        return bool(self._by_system)

    def statuses(self, code: IndexCode) -> tuple[ReleaseStatus, ...]:
        """What each loaded release of ``code``'s system says about it, newest release first
        (empty when none of its system is loaded)."""
        key = IndexCode.of(code.system, code.code)
        cached = self._statuses.get(key)
        if cached is not None:
            return cached
        found = tuple(
            self._status(key, system, version)
            for system, version in reversed(self._by_system.get(key.system, []))
        )
        if len(self._statuses) >= RELEASE_CACHE_SIZE:
            self._statuses.clear()
        self._statuses[key] = found
        return found

    def _status(self, code: IndexCode, system: str, version: str) -> ReleaseStatus:
        concept = self.releases.concept(code, version=version)
        if concept is None:
            return ReleaseStatus(system, version, False, "absent", None, None)

        def coded(codes: tuple[IndexCode, ...]) -> tuple[ReleaseCode, ...]:
            return tuple(ReleaseCode(c.system, c.code, c.curie, c.display) for c in codes)

        return ReleaseStatus(
            system,
            version,
            True,
            concept.status,
            concept.active,
            concept.preferred_term,
            coded(concept.parents),
            coded(concept.replaced_by),
        )

    def latest(self, system: str) -> tuple[str, str] | None:
        """The (system, version) of the latest loaded release of ``system``."""
        found = self._by_system.get(system)
        return found[-1] if found else None

    def loaded_names(self) -> list[str]:
        return [f"{s} {v}" for found in self._by_system.values() for s, v in found]

    def used_codes(self, system: CodeSystem) -> set[str]:
        """The codes of ``system`` that the store's finding models use (its codes graph)."""
        import pyoxigraph as ox

        from ontomap.graph import CODES_GRAPH
        from ontomap.vocab import SKOS

        namespace = system.namespace
        cut = len(namespace)
        out = set()
        quads = self.store.oxigraph.quads_for_pattern(
            None, SKOS.inScheme, ox.NamedNode(system.scheme_iri), CODES_GRAPH
        )
        for quad in quads:
            value = quad.subject.value  # type: ignore[union-attr]
            if value.startswith(namespace):
                out.add(unquote(value[cut:]))
        return out


def _store_of(target: Store | SparqlBackend | CrosswalkReader) -> Store | None:
    from ontomap.backends import LocalBackend
    from ontomap.store import Store

    if isinstance(target, CrosswalkReader):
        return _store_of(target.target)
    if isinstance(target, LocalBackend):
        return target.store
    return target if isinstance(target, Store) else None


def release_reader(target: Store | SparqlBackend | CrosswalkReader) -> ReleaseReader | None:
    """The release reader of ``target``'s store (the one kept for a read-only store), or
    ``None`` on a remote endpoint (release statuses are read from a local store only)."""
    store = _store_of(target)
    if store is None:
        return None
    if not store.read_only:
        return ReleaseReader(store)
    reader = getattr(store, _RELEASE_READER_ATTRIBUTE, None)
    if reader is None:
        reader = ReleaseReader(store)
        setattr(store, _RELEASE_READER_ATTRIBUTE, reader)
    return reader


_KIND_RANK = {"finding": 0, "location": 1, "attribute": 2, "value": 3}


def _descendants(
    reader: CrosswalkReader,
    releases: ReleaseReader | None,
    text: str,
    wanted: IndexCode,
    own: CodeUsage | None,
) -> tuple[Descendants, tuple[DescendantUse, ...]]:
    """The codes under ``wanted`` that the corpus uses, and the uses of all of them."""
    system = wanted.code_system
    if releases is None:
        raise ReleaseRequiredError(
            text,
            wanted,
            "--descendants reads the release's hierarchy from a store: give --store "
            "(an endpoint answers the lookup without it)",
        )
    latest = releases.latest(system.key)
    if latest is None:
        have = ", ".join(releases.loaded_names()) or "none"
        raise ReleaseRequiredError(
            text,
            wanted,
            f"--descendants of {_plain(wanted.curie)} needs a release of {system.key}, and none "
            f"is loaded (loaded: {have}); load one with 'ontomap terminology load'",
        )
    version = latest[1]
    under = releases.releases.descendants(wanted, version=version)
    used = sorted(releases.used_codes(system) & under)
    codes: list[DescendantCode] = []
    uses: list[DescendantUse] = []
    found: list[tuple[IndexCode, CodeUsage]] = [(wanted, own)] if own is not None else []
    found.extend(reader.usages(IndexCode.of(system.key, bare) for bare in used).items())
    terms = releases.releases.preferred_terms(
        (code.code for code, _u in found), system.key, version
    )
    for code, usage in found:
        listed = usage.used_by
        codes.append(
            DescendantCode(
                code.system,
                code.code,
                code.curie,
                terms.get(code.code),
                usage.labels,
                usage.uses,
                len(set(listed.findings))
                if isinstance(listed, UseList)
                else len({u.finding for u in listed}),
            )
        )
        uses.extend(DescendantUse(*use, code=code.curie) for use in listed)
    uses.sort(key=lambda u: (u.finding, _KIND_RANK.get(u.kind, 9), u.entity, u.code))
    return Descendants(system.key, version, len(under), tuple(codes)), tuple(uses)


# ------------------------------------------------------------------ looking up

#: The attribute of a read-only store (its generation never changes) that keeps its one reader,
#: so the reader lives and dies with the store (a mapping from stores to readers would keep
#: every store alive: the reader refers to its store).
_READER_ATTRIBUTE = "_ontomap_crosswalk_reader"


def crosswalk_reader(target: Store | SparqlBackend | CrosswalkReader) -> CrosswalkReader:
    """The crosswalk reader to look codes up in ``target``: ``target`` itself when it is one;
    for a read-only store (or a local backend over one) the one reader kept for it, so that
    its checks are made once; for anything else a new reader (keep it, and pass it to
    :func:`lookup`, to look up many codes on a writable store or a remote endpoint)."""
    if isinstance(target, CrosswalkReader):
        return target
    from ontomap.backends import LocalBackend
    from ontomap.store import Store

    store = target.store if isinstance(target, LocalBackend) else target
    if not (isinstance(store, Store) and store.read_only):
        return CrosswalkReader(target)
    reader = getattr(store, _READER_ATTRIBUTE, None)
    if reader is None:
        reader = CrosswalkReader(store)
        setattr(store, _READER_ATTRIBUTE, reader)
    return reader


def lookup(
    target: Store | SparqlBackend | CrosswalkReader,
    code: str | IndexCode,
    to: str | None = None,
    *,
    descendants: bool = False,
) -> LookupResult:
    """Look a code up in ``target`` (a :class:`~ontomap.store.Store`, any
    :class:`~ontomap.backends.SparqlBackend` such as a remote endpoint, or a
    :class:`~ontomap.crosswalk.CrosswalkReader` of either): its labels, its uses, and the codes
    of other systems listed on the same entities with the crosswalk's evidence (only those of
    system ``to`` when given).

    ``code`` is text in any accepted form (see :func:`parse_code`) or an :class:`IndexCode`.
    Where the store holds terminology releases, the result's ``releases`` (and each match's)
    say what each loaded release of the code's system says about it. With ``descendants``,
    the codes under ``code`` in the latest loaded release of its system (transitive is-a) that
    the corpus uses are looked up too: ``descendants`` lists them and ``used_by`` lists the
    uses of all of them (:class:`DescendantUse`); the code itself need not be used.

    Raises a :class:`CodeLookupError` (unrecognised, ambiguous, malformed or not found;
    :class:`ReleaseRequiredError` for ``descendants`` without a release of the system),
    :class:`~ontomap.errors.UnknownCodeSystemError` for an unknown ``to``, or
    :class:`~ontomap.errors.StoreError` when the target cannot answer.
    """
    text = code if isinstance(code, str) else code.curie
    wanted = parse_code(code) if isinstance(code, str) else IndexCode.of(code.system, code.code)
    system = default_registry().get(to) if to is not None else None
    reader = crosswalk_reader(target)
    entry = reader.code(wanted, system)
    releases = release_reader(target)
    below: Descendants | None = None
    used_by: Sequence[CodeUse] | Sequence[DescendantUse] = ()
    if descendants:
        below, used_by = _descendants(
            reader, releases, text, wanted, entry.usage if entry is not None else None
        )
        if entry is None and not below.codes:
            reason = malformation(wanted)
            if reason is not None:
                raise MalformedCodeError(text, wanted, reason)
            raise CodeNotFoundError(text, wanted, descendants=True)
    elif entry is None:
        reason = malformation(wanted)
        if reason is not None:
            raise MalformedCodeError(text, wanted, reason)
        raise CodeNotFoundError(text, wanted)
    if entry is not None:
        usage = entry.usage
        info = CodeInfo(
            wanted.system,
            wanted.code,
            wanted.curie,
            wanted.iri,
            usage.labels,
            usage.uses,
            usage.contexts,
        )
        pairs = [pair for pair in entry.pairs if pair.target.system != wanted.system]
        if not descendants:
            used_by = usage.used_by
    else:
        info = CodeInfo(wanted.system, wanted.code, wanted.curie, wanted.iri, ())
        pairs = []
    shown = releases if releases is not None and releases.loaded else None
    matches = tuple(
        Match(pair, shown.statuses(pair.target) if shown is not None else None) for pair in pairs
    )
    return LookupResult(
        info,
        used_by,
        matches,
        system.key if system is not None else None,
        shown.statuses(wanted) if shown is not None else None,
        below,
    )
