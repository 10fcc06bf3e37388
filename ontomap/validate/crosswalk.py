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

Pairings grow with the square of the codes on one entity, so what is weighed is bounded
(``crosswalk/skipped`` says where the bounds were met): an entity with more than
:data:`MAX_WEIGHED_CODES` index codes is left out, and the check as a whole is skipped where the
models pair their codes more than :data:`PAIRINGS_PER_MODEL` times per model on average (and
more than :data:`MIN_PAIRING_BUDGET` times in all; the OIFM corpus has about 53,000 pairings).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ontomap.lookup import DOMINANT_SHARE, is_minority
from ontomap.validate.codes import CodeUse, code_uses
from ontomap.validate.records import Record
from ontomap.validate.report import Finding
from ontomap.validate.rules import RULES

Code = tuple[str, str]
Entity = tuple[int, str, str]

#: An entity with more index codes than this (anatomic locations aside) is not weighed: the
#: corpus's largest has 62.
MAX_WEIGHED_CODES = 100
#: The pairings weighed in one run: at most this many per model on average…
PAIRINGS_PER_MODEL = 100
#: …or this many in all, whichever is more.
MIN_PAIRING_BUDGET = 1_000_000


@dataclass(slots=True)
class CoIndex:
    """Which entities carry each code, how many carry each pair of codes of two systems, and
    the entities left out for carrying too many codes."""

    uses: dict[Code, set[Entity]]
    pairs: dict[Code, dict[Code, int]]
    places: dict[tuple[Entity, Code], CodeUse]
    crowded: list[tuple[CodeUse, int]]

    def share(self, a: Code, b: Code) -> float:
        uses = len(self.uses.get(a, ()))
        return self.pairs[a].get(b, 0) / uses if uses else 0.0

    def minority(self, a: Code, b: Code, dominant: dict[tuple[Code, str], list[Code]]) -> bool:
        """Whether (A, B) is a minority seen from A while another pairing dominates.

        ``dominant`` holds, per code and system, the codes of that system paired with it in at
        least :data:`~ontomap.crosswalk.DOMINANT_SHARE` of its uses (at most two).
        """
        rivals = [self.share(a, c) for c in dominant.get((a, b[0]), ()) if c != b]
        return is_minority(self.share(a, b), rivals)

    def dominant(self) -> dict[tuple[Code, str], list[Code]]:
        """Per (code, system): the codes of the system paired with it in a dominant share."""
        out: dict[tuple[Code, str], list[Code]] = {}
        for a, partners in self.pairs.items():
            uses = len(self.uses[a])
            for b, count in partners.items():
                if count / uses >= DOMINANT_SHARE:
                    out.setdefault((a, b[0]), []).append(b)
        return out


def co_index(records: Sequence[Record], budget: int | None = None) -> CoIndex | None:
    """The co-indexing of the models in ``records`` (one record per model); ``None`` where
    they pair their codes more than ``budget`` times (no limit by default)."""
    uses: dict[Code, set[Entity]] = defaultdict(set)
    pairs: dict[Code, dict[Code, int]] = defaultdict(lambda: defaultdict(int))
    places: dict[tuple[Entity, Code], CodeUse] = {}
    crowded: list[tuple[CodeUse, int]] = []
    weighed = 0
    for number, record in enumerate(records):
        by_entity: dict[Entity, dict[Code, CodeUse]] = defaultdict(dict)
        for use in code_uses(record):
            if use.path[-2] == "anatomic_locations":  # (…, "anatomic_locations", k)
                continue
            by_entity[(number, use.kind, use.entity)].setdefault(use.key, use)
        for entity, codes in by_entity.items():
            if len(codes) > MAX_WEIGHED_CODES:
                crowded.append((next(iter(codes.values())), len(codes)))
                continue
            for code, use in codes.items():
                uses[code].add(entity)
                places[(entity, code)] = use
            systems: dict[str, int] = defaultdict(int)
            for code in codes:
                systems[code[0]] += 1
            weighed += len(codes) ** 2 - sum(n * n for n in systems.values())
            if budget is not None and weighed > budget:
                return None
            for a in codes:
                partners = pairs[a]
                for b in codes:
                    if a[0] != b[0]:
                        partners[b] += 1
    return CoIndex(dict(uses), pairs, places, crowded)


def check_crosswalk(records: Sequence[Record]) -> list[Finding]:
    """The ``crosswalk/outlier`` findings of the models in ``records`` (one record per model),
    and ``crosswalk/skipped`` where the bounds of the module docstring were met."""
    budget = max(MIN_PAIRING_BUDGET, PAIRINGS_PER_MODEL * len(records))
    skipped = RULES["crosswalk/skipped"]
    index = co_index(records, budget)
    if index is None:
        return [
            skipped.finding(
                f"the crosswalk check was skipped: the models pair index codes of two systems "
                f"more than {budget:,} times (it weighs {PAIRINGS_PER_MODEL} pairings per model, "
                f"at least {MIN_PAIRING_BUDGET:,} in all)",
            )
        ]
    out = [
        skipped.finding(
            f"{use.entity} carries {count:,} index codes: more than the {MAX_WEIGHED_CODES} the "
            "crosswalk check weighs on one entity, so its pairings are left out",
            file=use.record.file,
            line=use.line,
            entity=use.entity,
        )
        for use, count in index.crowded
    ]
    rule = RULES["crosswalk/outlier"]
    dominant = index.dominant()
    for a in sorted(index.pairs):
        for b in sorted(index.pairs[a]):
            if a > b:
                continue  # each unordered pair once
            if index.minority(a, b, dominant):
                low, high = a, b
            elif index.minority(b, a, dominant):
                low, high = b, a
            else:
                continue
            out.extend(_report(index, low, high, rule.finding))
    return out


def _report(
    index: CoIndex, low: Code, high: Code, finding: Callable[..., Finding]
) -> list[Finding]:
    """Findings for an outlier pairing, one per file, from the side of ``low``."""
    entities = sorted(e for e in index.uses[low] if (e, high) in index.places)
    uses = len(index.uses[low])
    rivals = {c: n for c, n in index.pairs[low].items() if c[0] == high[0] and c != high}
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
