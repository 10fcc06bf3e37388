"""Crosswalk consistency (``crosswalk/outlier``): co-indexed codes of two systems.

Two codes of different systems on the same finding, attribute or value are a pairing: evidence
of a cross-terminology link (see DESIGN.md). Validation flags the pairings that the lookup
(:mod:`ontomap.lookup`) flags as outliers, with the lookup's own rule and thresholds, computed
here from the files rather than from a store:

- the *uses* of a code A are the entities that carry it as an index code (anatomic locations
  excluded); the *share* of a pairing (A, B) is the number of entities carrying both / the
  uses of A;
- (A, B) is an outlier when its share is a minority while another pairing of A with B's system
  dominates, or the same holds seen from B (:func:`ontomap.crosswalk.is_minority`, with the
  lookup's ``OUTLIER_SHARE`` 5 % and ``DOMINANT_SHARE`` 50 %).

Each outlier is reported once per file that has it, at the line of the paired code, oriented
from the code whose pairing is the minority ("RADLEX RID5655 ~ SNOMED 386554004").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from ontomap.crosswalk import is_minority
from ontomap.validate.codes import CodeUse, code_uses
from ontomap.validate.records import Record
from ontomap.validate.report import Finding
from ontomap.validate.rules import RULES

Code = tuple[str, str]
Entity = tuple[int, str, str]


@dataclass(slots=True)
class CoIndex:
    """Which entities carry each code, and which carry each pair of codes of two systems."""

    uses: dict[Code, set[Entity]]
    pairs: dict[Code, dict[Code, set[Entity]]]
    places: dict[tuple[Entity, Code], CodeUse]

    def share(self, a: Code, b: Code) -> float:
        uses = len(self.uses.get(a, ()))
        return len(self.pairs[a].get(b, ())) / uses if uses else 0.0

    def others(self, a: Code, b: Code) -> list[float]:
        """Shares of A's pairings with the other codes of B's system."""
        return [self.share(a, c) for c in self.pairs[a] if c[0] == b[0] and c != b]

    def minority(self, a: Code, b: Code) -> bool:
        """Whether (A, B) is a minority seen from A while another pairing dominates."""
        return is_minority(self.share(a, b), self.others(a, b))


def co_index(records: Sequence[Record]) -> CoIndex:
    """The co-indexing of the models in ``records`` (one record per model)."""
    uses: dict[Code, set[Entity]] = defaultdict(set)
    pairs: dict[Code, dict[Code, set[Entity]]] = defaultdict(lambda: defaultdict(set))
    places: dict[tuple[Entity, Code], CodeUse] = {}
    for number, record in enumerate(records):
        by_entity: dict[Entity, dict[Code, CodeUse]] = defaultdict(dict)
        for use in code_uses(record):
            if use.path[-2] == "anatomic_locations":  # (…, "anatomic_locations", k)
                continue
            by_entity[(number, use.kind, use.entity)].setdefault(use.key, use)
        for entity, codes in by_entity.items():
            for code, use in codes.items():
                uses[code].add(entity)
                places[(entity, code)] = use
            for a in codes:
                for b in codes:
                    if a[0] != b[0]:
                        pairs[a][b].add(entity)
    return CoIndex(dict(uses), pairs, places)


def check_crosswalk(records: Sequence[Record]) -> list[Finding]:
    """The ``crosswalk/outlier`` findings of the models in ``records`` (one record per model)."""
    index = co_index(records)
    rule = RULES["crosswalk/outlier"]
    out = []
    for a in sorted(index.pairs):
        for b in sorted(index.pairs[a]):
            if a > b:
                continue  # each unordered pair once
            if index.minority(a, b):
                low, high = a, b
            elif index.minority(b, a):
                low, high = b, a
            else:
                continue
            out.extend(_report(index, low, high, rule.finding))
    return out


def _report(index: CoIndex, low: Code, high: Code, finding) -> list[Finding]:
    """Findings for an outlier pairing, one per file, from the side of ``low``."""
    entities = sorted(index.pairs[low][high])
    uses = len(index.uses[low])
    rivals = {c: len(e) for c, e in index.pairs[low].items() if c[0] == high[0] and c != high}
    best = min(rivals, key=lambda c: (-rivals[c], c))
    name, partner, rival = " ".join(low), " ".join(high), " ".join(best)
    places = [index.places[(entity, high)] for entity in entities]
    files = sorted({use.record.file for use in places})
    first: dict[str, CodeUse] = {}
    for use in places:
        first.setdefault(use.record.file, use)
    out = []
    for file in files:
        use = first[file]
        out.append(
            finding(
                f"{name} is paired with {partner} on {use.entity}: {len(entities):,} of its "
                f"{uses:,} uses ({_percent(len(entities) / uses)}), while {rival} is paired "
                f"with it in {rivals[best]:,} ({_percent(rivals[best] / uses)}); files with "
                f"this pairing: {', '.join(files)}",
                file=file,
                line=use.line,
                entity=f"{name} ~ {partner}",
            )
        )
    return out


def _percent(share: float) -> str:
    """A share as a percentage that never rounds a minority to 0 (``0.045%``)."""
    if share >= 0.1:
        return f"{share:.1%}"
    return f"{share * 100:.2g}%"
