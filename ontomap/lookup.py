"""Cross-terminology code lookup: what a code is called in the corpus, where it is used, and
which codes of other systems index the same findings, attributes and values.

>>> from ontomap.store import Store
>>> with Store("./kg", read_only=True) as store:  # doctest: +SKIP
...     result = store.lookup("RADLEX:RID5791", to="SNOMED")
...     [(m.curie, m.findings, m.cardinality) for m in result.matches]
[('sct:263768009', 1994, '1:1')]

A *match* is derived evidence, not an equivalence: two codes match when the same entity (a
finding, an attribute or a choice value) carries both as index codes. For each match the lookup
reports how many entities and findings support it, its *share* of the looked-up code's uses,
the *cardinality* of the link and, where the pairing looks like a coding error, a *flag*.

Definitions (A is the looked-up code in system X, B a code of another system Y):

- **uses of A**: the entities that carry A as an index code (``oifm:hasIndexCode``). Anatomic
  locations are listed in ``used_by`` (kind ``location``) but do not index their finding, so
  they take no part in matches.
- **entities**, **findings**: the entities carrying both A and B, and the findings they
  belong to.
- **share**: entities carrying both A and B / uses of A.
- **cardinality**: ``1:1`` when A is co-indexed with no other Y code and B with no other X
  code; ``1:n`` when A is co-indexed with several Y codes and B only with A; ``n:1`` when A is
  co-indexed only with B and B with several X codes; ``n:m`` otherwise.
- **flag** ``"outlier"``: the pairing is a small minority seen from either of its codes while
  another pairing dominates. Precisely: for A, its share is below :data:`OUTLIER_SHARE` (5 %)
  while another Y code has a share of at least :data:`DOMINANT_SHARE` (50 %); or the same
  holds for B's uses and the X codes co-indexed with B. The flag is symmetric: looking up B
  flags the same pairing. Otherwise the flag is ``None``.

Codes are written as a CURIE (``RADLEX:RID5791``, ``radlex:RID5791``, ``SNOMEDCT:263768009``,
``sct:263768009``), as ``SYSTEM code`` (``SNOMED 263768009``), as a FHIR ``system|code``
(``http://snomed.info/sct|263768009``), as a concept IRI (``http://radlex.org/RID/RID5791``),
or bare where the code pattern of the registry names a single system (``RID5791``).

The lookup runs a few small SPARQL queries, the code bound by the engine, on the store's
Oxigraph database, or on a remote SPARQL endpoint that holds the store's layout (see
:mod:`ontomap.backends`); it never imports rdflib.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote

import pyoxigraph as ox

from ontomap.errors import OntomapError, StoreError
from ontomap.model import OIFM_ID_PATTERN, OIFMA_ID_PATTERN, VALUE_CODE_PATTERN, IndexCode
from ontomap.terminology import GENERIC_CODE_NAMESPACE, CodeSystem, default_registry
from ontomap.vocab import GRAPH_NS, STANDARD_PREFIXES

if TYPE_CHECKING:
    from ontomap.backends import SparqlBackend
    from ontomap.store import Store

__all__ = [
    "DOMINANT_SHARE",
    "OUTLIER_SHARE",
    "AmbiguousCodeError",
    "Cardinality",
    "CodeInfo",
    "CodeLookupError",
    "CodeNotFoundError",
    "Kind",
    "LookupResult",
    "MalformedCodeError",
    "Match",
    "UnrecognizedCodeError",
    "Use",
    "lookup",
    "parse_code",
]

#: A pairing whose share of a code's uses is below this is a minority...
OUTLIER_SHARE = 0.05
#: ...and is flagged as an outlier when another pairing to the same system has at least this.
DOMINANT_SHARE = 0.5

Kind = Literal["finding", "attribute", "value", "location"]
Cardinality = Literal["1:1", "1:n", "n:1", "n:m"]
Flag = Literal["outlier"]

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

    def __init__(self, text: str, code: IndexCode) -> None:
        self.code = code
        super().__init__(
            text,
            f"{_plain(code.curie)} ({_plain(code.system)} {_plain(code.code)}) is not used by any "
            "finding model in the store; check the code, or build the store from the models "
            "that use it",
        )


# ------------------------------------------------------------------ parsing codes

_IRI = re.compile(r"^<?([A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"]*)>?$")
_URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


@cache
def _namespaces() -> tuple[tuple[str, CodeSystem], ...]:
    """Code namespaces of the known systems, longest first (some nest in the generic one)."""
    pairs = [(system.namespace, system) for system in default_registry().systems]
    return tuple(sorted(pairs, key=lambda pair: len(pair[0]), reverse=True))


def code_from_iri(value: str) -> IndexCode | None:
    """The code a concept IRI names (a known system's namespace, or ontomap's generic one)."""
    for namespace, system in _namespaces():
        if value.startswith(namespace) and len(value) > len(namespace):
            return IndexCode.of(system.key, unquote(value[len(namespace) :]))
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
            spaces = ", ".join(ns for ns, _ in _namespaces())
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
    """The looked-up code: system key, code, CURIE, IRI and its labels in the corpus (the
    displays authors gave it, most used first)."""

    system: str
    code: str
    curie: str
    iri: str
    labels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Use:
    """One entity that uses the code: its OIFM ID, kind, finding's OIFM ID and label."""

    entity: str
    kind: Kind
    finding: str
    label: str | None


@dataclass(frozen=True, slots=True)
class Match:
    """A code of another system that indexes some of the same entities (see the module doc
    for ``share``, ``cardinality`` and ``flag``)."""

    system: str
    code: str
    curie: str
    iri: str
    label: str | None
    entities: int
    findings: int
    share: float
    cardinality: Cardinality
    flag: Flag | None


@dataclass(frozen=True, slots=True)
class LookupResult:
    """Everything the store says about one code.

    ``used_by`` lists every use (ordered by finding, then entity); ``matches`` the co-indexed
    codes of other systems (by system, then most supported first), restricted to one system
    when the lookup was asked ``to`` one.
    """

    code: CodeInfo
    used_by: tuple[Use, ...]
    matches: tuple[Match, ...]
    to: str | None = None

    @property
    def findings(self) -> int:
        """Number of distinct findings that use the code (in any way)."""
        return len({use.finding for use in self.used_by})

    @property
    def kinds(self) -> dict[str, int]:
        """Number of uses per kind (``finding``, ``attribute``, ``value``, ``location``)."""
        counts = Counter(use.kind for use in self.used_by)
        return {kind: counts[kind] for kind in _KIND_ORDER if counts[kind]}

    def to_json(self) -> dict[str, Any]:
        """The result as the stable JSON shape documented in the README."""
        code = self.code
        return {
            "code": {
                "system": code.system,
                "code": code.code,
                "curie": code.curie,
                "iri": code.iri,
                "labels": list(code.labels),
            },
            "used_by": [
                {"entity": u.entity, "kind": u.kind, "finding": u.finding, "label": u.label}
                for u in self.used_by
            ],
            "matches": [
                {
                    "system": m.system,
                    "code": m.code,
                    "curie": m.curie,
                    "iri": m.iri,
                    "label": m.label,
                    "entities": m.entities,
                    "findings": m.findings,
                    "share": round(m.share, 4),
                    "cardinality": m.cardinality,
                    "flag": m.flag,
                }
                for m in self.matches
            ],
        }


_KIND_ORDER: tuple[Kind, ...] = ("finding", "location", "attribute", "value")

# ------------------------------------------------------------------ queries (engine-bound)

#: Every entity that carries ``?concept``, the relation, its model graph and label.
USES_QUERY = """
SELECT ?concept ?relation ?graph ?node ?label WHERE {
  GRAPH ?graph {
    { ?node oifm:hasIndexCode ?concept . BIND ("index" AS ?relation) }
    UNION
    { ?node oifm:anatomicLocation ?concept . BIND ("location" AS ?relation) }
    OPTIONAL { ?node rdfs:label ?label }
  }
}
"""

#: For ``?concept``: each code on the same entities (``?concept`` itself included, which
#: counts its own uses), with the entities and model graphs (findings) that carry both.
#: An entity lives in one model graph, so each (graph, entity) row is one entity.
CO_INDEX_QUERY = """
SELECT ?concept ?other (COUNT(*) AS ?entities) (COUNT(DISTINCT ?graph) AS ?findings)
WHERE {
  GRAPH ?graph { ?node oifm:hasIndexCode ?concept , ?other }
}
GROUP BY ?concept ?other
"""

#: :data:`CO_INDEX_QUERY` without the findings, for the other side of each match.
PARTNERS_QUERY = """
SELECT ?concept ?other (COUNT(*) AS ?entities)
WHERE {
  GRAPH ?graph { ?node oifm:hasIndexCode ?concept , ?other }
}
GROUP BY ?concept ?other
"""

#: The displays given to ``?concept``, with the number of models that use each.
LABELS_QUERY = """
SELECT ?concept ?label (COUNT(DISTINCT ?graph) AS ?models) WHERE {
  GRAPH ?graph { ?concept rdfs:label ?label }
}
GROUP BY ?concept ?label
"""

_KINDS: tuple[tuple[re.Pattern[str], Kind], ...] = (
    (re.compile(VALUE_CODE_PATTERN), "value"),
    (re.compile(OIFMA_ID_PATTERN), "attribute"),
    (re.compile(OIFM_ID_PATTERN), "finding"),
)


def _kind_of(oifm_id: str) -> Kind | None:
    """The kind of entity an OIFM ID names (the model validates these patterns)."""
    for pattern, kind in _KINDS:
        if pattern.fullmatch(oifm_id):
            return kind
    return None


def _natural(oifm_id: str) -> tuple[str, int]:
    stem, _, number = oifm_id.partition(".")
    return stem, int(number) if number.isdigit() else -1


@dataclass(frozen=True, slots=True)
class _CoIndex:
    """What one code shares entities with: other code → (entities, findings)."""

    uses: int
    partners: dict[IndexCode, tuple[int, int]]

    def in_system(self, key: str) -> dict[IndexCode, int]:
        return {code: n for code, (n, _f) in self.partners.items() if code.system == key}


#: What a column of a lookup query holds: ``iri``, ``node`` (IRI or blank node), ``literal``,
#: ``label`` (a literal or unbound) or ``count`` (an integer, returned as an ``int``).
_Column = Literal["iri", "node", "literal", "label", "count"]

_USES_COLUMNS: tuple[_Column, ...] = ("iri", "literal", "iri", "node", "label")
_CO_INDEX_COLUMNS: tuple[_Column, ...] = ("iri", "iri", "count", "count")
_PARTNERS_COLUMNS: tuple[_Column, ...] = ("iri", "iri", "count")
_LABELS_COLUMNS: tuple[_Column, ...] = ("iri", "literal", "count")
_EXPECTED = {
    "iri": "an IRI",
    "node": "an IRI or blank node",
    "literal": "a literal",
    "label": "a literal or nothing",
    "count": "an integer",
}


class _Lookup:
    """One lookup on a backend (the queries are small, the concept bound by the backend)."""

    def __init__(self, backend: SparqlBackend) -> None:
        self.backend = backend
        self.base = backend.base_iri or ""

    def select(self, query: str, concept: str, columns: tuple[_Column, ...]) -> Iterator[tuple]:
        """The rows of ``query`` for ``concept``, each term checked against ``columns``
        (counts as ``int``): an endpoint that answers something else raises a
        :class:`~ontomap.errors.StoreError` instead of a wrong lookup."""
        from ontomap.query import QueryError

        try:
            result = self.backend.query(
                query, {"concept": ox.NamedNode(concept)}, STANDARD_PREFIXES
            )
        except QueryError as exc:
            raise StoreError(
                f"{self.backend.location} cannot run the lookup's queries: {exc}"
            ) from None
        rows = getattr(result, "rows", None)
        if rows is None:
            raise StoreError(f"{self.backend.location} answered a lookup query with no rows")
        names = result.variables  # type: ignore[union-attr]
        for row in rows:
            if len(row) != len(columns):
                raise StoreError(
                    f"{self.backend.location} answered a lookup query with the variables "
                    f"{' '.join('?' + n for n in names)}"
                )
            yield tuple(
                _checked(term, column, name, self.backend.location)
                for term, column, name in zip(row, columns, names, strict=True)
            )

    def uses(self, iri: str) -> list[Use]:
        found = set()
        base, graph_ns = self.base, len(GRAPH_NS)
        # Rows unpack in projection order, much faster than lookups by name.
        for _concept, relation, graph, node, label in self.select(USES_QUERY, iri, _USES_COLUMNS):
            entity = node.value
            if entity.startswith(base):
                entity = entity[len(base) :]
            kind = "location" if relation.value == "location" else _kind_of(entity)
            if kind is None:
                continue
            text = label.value if label is not None else None
            found.add(Use(entity, kind, graph.value[graph_ns:], text))
        return sorted(
            found,
            key=lambda u: (u.finding, _KIND_ORDER.index(u.kind), _natural(u.entity)),
        )

    def co_index(self, code: IndexCode, findings: bool = True) -> _CoIndex:
        """The codes on the same entities as ``code`` (and the findings, unless not needed)."""
        uses = 0
        partners: dict[IndexCode, tuple[int, int]] = {}
        query, columns = (
            (CO_INDEX_QUERY, _CO_INDEX_COLUMNS) if findings else (PARTNERS_QUERY, _PARTNERS_COLUMNS)
        )
        for _concept, other_iri, entities, *found in self.select(query, code.iri, columns):
            counts = (entities, found[0] if found else 0)
            other = code_from_iri(other_iri.value)
            if other is None:
                continue
            if other == code:
                uses = counts[0]
            else:
                partners[other] = counts
        return _CoIndex(uses, partners)

    def labels(self, iri: str) -> tuple[str, ...]:
        counted = [
            (models, label.value)
            for _concept, label, models in self.select(LABELS_QUERY, iri, _LABELS_COLUMNS)
        ]
        return tuple(label for _n, label in sorted(counted, key=lambda p: (-p[0], p[1])))

    def run(self, text: str, code: IndexCode, to: CodeSystem | None) -> LookupResult:
        used_by = self.uses(code.iri)
        if not used_by:
            reason = malformation(code)
            if reason is not None:
                raise MalformedCodeError(text, code, reason)
            raise CodeNotFoundError(text, code)
        own = self.co_index(code)
        by_system: dict[str, dict[IndexCode, tuple[int, int]]] = defaultdict(dict)
        for other, counts in own.partners.items():
            if other.system != code.system:
                by_system[other.system][other] = counts
        order = {key: i for i, key in enumerate(default_registry().keys)}
        matches = []
        for key in sorted(by_system, key=lambda k: (order.get(k, len(order)), k)):
            if to is not None and key != to.key:
                continue
            partners = by_system[key]
            for other, (entities, findings) in sorted(
                partners.items(), key=lambda item: (-item[1][0], item[0].code)
            ):
                matches.append(self.match(code, own, partners, other, entities, findings))
        return LookupResult(
            CodeInfo(code.system, code.code, code.curie, code.iri, self.labels(code.iri)),
            tuple(used_by),
            tuple(matches),
            to.key if to is not None else None,
        )

    def match(
        self,
        code: IndexCode,
        own: _CoIndex,
        partners: dict[IndexCode, tuple[int, int]],
        other: IndexCode,
        entities: int,
        findings: int,
    ) -> Match:
        theirs = self.co_index(other, findings=False)
        back = theirs.in_system(code.system)
        share = entities / own.uses if own.uses else 0.0
        outlier = is_minority(
            share, [n / own.uses for c, (n, _f) in partners.items() if c != other]
        )
        if not outlier and theirs.uses:
            their_share = back.get(code, 0) / theirs.uses
            others = [n / theirs.uses for c, n in back.items() if c != code]
            outlier = is_minority(their_share, others)
        many_here = len(partners) > 1
        many_there = len(back) > 1
        cardinality = cardinality_of(many_here, many_there)
        labels = self.labels(other.iri)
        return Match(
            system=other.system,
            code=other.code,
            curie=other.curie,
            iri=other.iri,
            label=labels[0] if labels else None,
            entities=entities,
            findings=findings,
            share=share,
            cardinality=cardinality,
            flag="outlier" if outlier else None,
        )


def _checked(term: ox.Term | None, column: _Column, name: str, location: str) -> Any:
    """``term`` if it is what ``column`` holds (a count as an ``int``), else a StoreError."""
    if column == "count":
        if isinstance(term, ox.Literal):
            try:
                return int(term.value)
            except ValueError:
                pass
    elif column == "label":
        if term is None or isinstance(term, ox.Literal):
            return term
    elif isinstance(term, _TERM_TYPES[column]):
        return term
    shown = "nothing" if term is None else str(term)
    if len(shown) > 80:
        shown = shown[:79] + "…"
    raise StoreError(
        f"{location} answered {shown} for ?{name} of a lookup query, where "
        f"{_EXPECTED[column]} belongs; does it hold a knowledge graph of ontomap's layout?"
    )


_TERM_TYPES: dict[str, type | tuple[type, ...]] = {
    "iri": ox.NamedNode,
    "node": (ox.NamedNode, ox.BlankNode),
    "literal": ox.Literal,
}


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


def lookup(
    target: Store | SparqlBackend, code: str | IndexCode, to: str | None = None
) -> LookupResult:
    """Look a code up in ``target`` (a :class:`~ontomap.store.Store`, or any
    :class:`~ontomap.backends.SparqlBackend` such as a remote endpoint): its labels, its uses,
    and the codes of other systems that index the same entities (only those of system ``to``
    when given).

    ``code`` is text in any accepted form (see :func:`parse_code`) or an :class:`IndexCode`.
    Raises a :class:`CodeLookupError` (unrecognised, ambiguous, malformed or not found) or
    :class:`~ontomap.errors.UnknownCodeSystemError` for an unknown ``to``.
    """
    text = code if isinstance(code, str) else code.curie
    wanted = parse_code(code) if isinstance(code, str) else code
    system = default_registry().get(to) if to is not None else None
    from ontomap.backends import as_backend

    return _Lookup(as_backend(target)).run(text, wanted, system)
