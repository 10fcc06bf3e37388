"""The crosswalk between code systems: every co-indexed code pair, with its evidence.

Two codes of different systems are *co-indexed* when the same entity (a finding, an attribute
or a choice value) carries both as index codes (``?entity oifm:hasIndexCode ?a , ?b``). For
each pair (A in the source system X, B in the target system Y) :func:`code_pairs` reports the
same numbers as the cross-terminology lookup (:mod:`ontomap.lookup`, whose module doc holds
the definitions) would for A ``--to`` Y:

- ``entities`` / ``entity_ids``: the entities carrying both A and B; ``findings``: the finding
  models they belong to;
- ``share``: entities / uses of A (the entities that carry A as an index code);
- ``target_share``: entities / uses of B, i.e. the share the lookup of B reports for A;
- ``cardinality``: ``1:1``, ``1:n``, ``n:1`` or ``n:m`` over all X-Y co-indexing;
- ``flag``: ``"outlier"`` when the pairing is a small minority seen from A or from B while
  another pairing dominates (:func:`is_minority`).

The whole crosswalk takes one SPARQL query for the pairs and their entities, then one for the
uses and one for the displays of the codes of each system involved, whatever the number of
codes (the lookup runs a few queries per match). The evidence is derived, never an
equivalence (see DESIGN.md).

>>> from ontomap.store import Store
>>> with Store("./kg", read_only=True) as store:  # doctest: +SKIP
...     pairs = code_pairs(store, "RADLEX", "SNOMED")
>>> [(p.target.curie, p.entities, p.share, p.cardinality)  # doctest: +SKIP
...  for p in pairs if p.source.code == "RID5791"]
[('sct:263768009', 1994, 1.0, '1:1')]
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyoxigraph as ox

from ontomap.lookup import (
    Cardinality,
    Flag,
    cardinality_of,
    is_minority,
)
from ontomap.model import IndexCode
from ontomap.terminology import SCHEME_NAMESPACE, CodeSystem, default_registry
from ontomap.vocab import STANDARD_PREFIXES

if TYPE_CHECKING:
    from ontomap.store import Store

__all__ = [
    "CodePair",
    "cardinality_of",
    "code_pairs",
    "is_minority",
    "system_order",
]

# ------------------------------------------------------------------ queries (engine-bound)
# ?x and ?y are the skos:ConceptScheme IRIs of the source and target systems; either may be
# bound by the engine (substitutions need them projected) or left open for every system. Only
# GRAPH patterns: the queries need no union default graph.

#: One row per (code A of ?x, code B of ?y, entity carrying both, its model graph): the
#: co-indexing ``GRAPH ?graph { ?node oifm:hasIndexCode ?a , ?b }``. Written as the join of the
#: uses of each side so that Oxigraph hash-joins them on (?node, ?graph): the same rows as the
#: nested pattern, about five times faster on the corpus (benchmarks/bench_mappings.py).
PAIRS_QUERY = """
SELECT ?x ?y ?a ?b ?node ?graph WHERE {
  { SELECT ?x ?a ?node ?graph WHERE {
      GRAPH ?codes { ?a skos:inScheme ?x } GRAPH ?graph { ?node oifm:hasIndexCode ?a } } }
  { SELECT ?y ?b ?node ?graph WHERE {
      GRAPH ?codes { ?b skos:inScheme ?y } GRAPH ?graph { ?node oifm:hasIndexCode ?b } } }
  FILTER (?x != ?y)
}
"""

#: The same for every pair of systems, each co-indexed pair of codes once (the other
#: direction is the same rows mirrored), which halves the work of the whole crosswalk.
ALL_PAIRS_QUERY = PAIRS_QUERY.replace("FILTER (?x != ?y)", "FILTER (STR(?x) < STR(?y))")

#: Each code of ?x that indexes something: its notation and its uses (entities carrying it).
USES_QUERY = """
SELECT ?x ?a ?code (COUNT(DISTINCT ?node) AS ?uses) WHERE {
  GRAPH ?codes { ?a skos:inScheme ?x ; skos:notation ?code }
  GRAPH ?graph { ?node oifm:hasIndexCode ?a }
}
GROUP BY ?x ?a ?code
"""

#: The displays authors gave the codes of ?x, with the number of models giving each.
LABELS_QUERY = """
SELECT ?x ?a ?label (COUNT(DISTINCT ?graph) AS ?models) WHERE {
  GRAPH ?codes { ?a skos:inScheme ?x }
  GRAPH ?graph { ?a rdfs:label ?label }
}
GROUP BY ?x ?a ?label
"""

_X = ox.Variable("x")
_Y = ox.Variable("y")


# ------------------------------------------------------------------ results


@dataclass(frozen=True, slots=True)
class CodePair:
    """A code of the source system and a code of the target system on the same entities.

    ``source`` and ``target`` are codes without display; ``source_label`` and ``target_label``
    the display most models give them (as the lookup's first label). See the module doc for
    the evidence fields.
    """

    source: IndexCode
    target: IndexCode
    source_label: str | None
    target_label: str | None
    entity_ids: tuple[str, ...]
    findings: int
    source_uses: int
    target_uses: int
    cardinality: Cardinality
    flag: Flag | None

    @property
    def entities(self) -> int:
        """Number of entities that carry both codes."""
        return len(self.entity_ids)

    @property
    def share(self) -> float:
        """Entities carrying both codes / uses of the source code (the lookup's ``share``)."""
        return self.entities / self.source_uses if self.source_uses else 0.0

    @property
    def target_share(self) -> float:
        """Entities carrying both codes / uses of the target code."""
        return self.entities / self.target_uses if self.target_uses else 0.0

    @property
    def outlier(self) -> bool:
        """Whether the lookup flags the pairing as an outlier (a possible coding error)."""
        return self.flag == "outlier"


def system_order(key: str) -> tuple[int, str]:
    """Sort key of a system: registry order, then unknown systems by key."""
    keys = default_registry().keys
    return (keys.index(key), key) if key in keys else (len(keys), key)


# ------------------------------------------------------------------ computation

_ID_NUMBER = re.compile(r"^(.*?)(?:\.([0-9]+))?$")


def _entity_key(entity: str) -> tuple[str, int]:
    match = _ID_NUMBER.match(entity)
    assert match is not None  # the pattern matches every string
    stem, number = match.group(1), match.group(2)
    return stem, int(number) if number is not None else -1


def _system_key(scheme: str) -> str:
    return scheme[len(SCHEME_NAMESPACE) :] if scheme.startswith(SCHEME_NAMESPACE) else scheme


def _scheme(system: CodeSystem | None) -> dict[ox.Variable, ox.NamedNode]:
    return {} if system is None else {_X: ox.NamedNode(system.scheme_iri)}


class _Crosswalk:
    """The three queries against one Oxigraph store, and the arithmetic over their rows."""

    def __init__(self, store: ox.Store, base_iri: str | None) -> None:
        self.store = store
        self.base = base_iri or ""

    def select(self, query: str, bindings: dict[ox.Variable, ox.NamedNode]) -> Iterator[tuple]:
        solutions = self.store.query(  # type: ignore[union-attr]
            query,
            prefixes=STANDARD_PREFIXES,
            substitutions=bindings,
        )
        return iter(solutions)  # type: ignore[arg-type]

    def pairs(
        self, source: CodeSystem | None, target: CodeSystem | None
    ) -> dict[tuple[str, str], dict[tuple[str, str], tuple[set[str], set[str]]]]:
        """(X, Y) → (A IRI, B IRI) → (entity IRIs, model graphs); with neither system given,
        every pair of systems in both directions (queried once, then mirrored)."""
        bindings = _scheme(source)
        if target is not None:
            bindings[_Y] = ox.NamedNode(target.scheme_iri)
        mirror = source is None and target is None
        out: dict[tuple[str, str], dict[tuple[str, str], tuple[set[str], set[str]]]] = defaultdict(
            dict
        )

        def add(x: str, y: str, a: str, b: str, node: str, graph: str) -> None:
            by_code = out[(x, y)]
            found = by_code.get((a, b))
            if found is None:
                found = by_code[(a, b)] = (set(), set())
            found[0].add(node)
            found[1].add(graph)

        query = ALL_PAIRS_QUERY if mirror else PAIRS_QUERY
        for x, y, a, b, node, graph in self.select(query, bindings):
            x_key, y_key = _system_key(x.value), _system_key(y.value)
            add(x_key, y_key, a.value, b.value, node.value, graph.value)
            if mirror:
                add(y_key, x_key, b.value, a.value, node.value, graph.value)
        return out

    def uses(self, system: str) -> dict[str, tuple[str, int]]:
        """Code IRI → (notation, uses) for the codes of ``system`` that index something."""
        scheme = {_X: ox.NamedNode(SCHEME_NAMESPACE + system)}
        return {
            a.value: (code.value, int(uses.value))
            for _x, a, code, uses in self.select(USES_QUERY, scheme)
        }

    def labels(self, system: str) -> dict[str, str]:
        """Code IRI → the display most models give it (ties: alphabetical)."""
        best: dict[str, tuple[int, str]] = {}
        scheme = {_X: ox.NamedNode(SCHEME_NAMESPACE + system)}
        for _x, a, label, models in self.select(LABELS_QUERY, scheme):
            rank = (-int(models.value), label.value)
            if a.value not in best or rank < best[a.value]:
                best[a.value] = rank
        return {iri: text for iri, (_n, text) in best.items()}

    def entity_id(self, node: str) -> str:
        return node[len(self.base) :] if self.base and node.startswith(self.base) else node

    def run(self, source: CodeSystem | None, target: CodeSystem | None) -> list[CodePair]:
        found = self.pairs(source, target)
        systems = sorted({key for pair in found for key in pair}, key=system_order)
        uses = {key: self.uses(key) for key in systems}
        labels = {key: self.labels(key) for key in systems}
        out: list[CodePair] = []
        for (x, y), by_code in found.items():
            out.extend(self.system_pair(x, y, by_code, uses, labels))
        out.sort(
            key=lambda p: (
                system_order(p.source.system),
                system_order(p.target.system),
                p.source.code,
                p.target.code,
            )
        )
        return out

    def system_pair(
        self,
        x: str,
        y: str,
        by_code: dict[tuple[str, str], tuple[set[str], set[str]]],
        uses: dict[str, dict[str, tuple[str, int]]],
        labels: dict[str, dict[str, str]],
    ) -> Iterator[CodePair]:
        """The code pairs of systems X and Y, with the lookup's shares, cardinality and flag."""
        partners: dict[str, dict[str, int]] = defaultdict(dict)  # A → B → entities
        back: dict[str, dict[str, int]] = defaultdict(dict)  # B → A → entities
        for (a, b), (nodes, _graphs) in by_code.items():
            partners[a][b] = back[b][a] = len(nodes)
        for (a, b), (nodes, graphs) in by_code.items():
            code_a, uses_a = uses[x][a]
            code_b, uses_b = uses[y][b]
            entities = len(nodes)
            outlier = is_minority(
                entities / uses_a, (n / uses_a for c, n in partners[a].items() if c != b)
            ) or is_minority(entities / uses_b, (n / uses_b for c, n in back[b].items() if c != a))
            yield CodePair(
                source=IndexCode.of(x, code_a),
                target=IndexCode.of(y, code_b),
                source_label=labels[x].get(a),
                target_label=labels[y].get(b),
                entity_ids=tuple(sorted(map(self.entity_id, nodes), key=_entity_key)),
                findings=len(graphs),
                source_uses=uses_a,
                target_uses=uses_b,
                cardinality=cardinality_of(len(partners[a]) > 1, len(back[b]) > 1),
                flag="outlier" if outlier else None,
            )


def _system(name: str | CodeSystem | None) -> CodeSystem | None:
    if name is None or isinstance(name, CodeSystem):
        return name
    return default_registry().get(name)


def code_pairs(
    store: Store,
    source_system: str | CodeSystem | None,
    target_system: str | CodeSystem | None,
) -> list[CodePair]:
    """Every pair of co-indexed codes from ``source_system`` to ``target_system`` in ``store``.

    Systems are registry keys or aliases (``RADLEX``, ``SNOMEDCT``...) or
    :class:`~ontomap.terminology.CodeSystem` values; ``None`` stands for every system, so
    ``code_pairs(store, None, None)`` is the whole crosswalk in both directions (each pair of
    codes once from either side). Pairs come sorted by source system, target system (registry
    order), source code and target code.

    Raises :class:`~ontomap.errors.UnknownCodeSystemError` for a system the registry does
    not know.
    """
    source, target = _system(source_system), _system(target_system)
    if source is not None and target is not None and source.key == target.key:
        return []
    return _Crosswalk(store.oxigraph, store.base_iri).run(source, target)
