"""Crosswalk consistency (``crosswalk/outlier``, ``crosswalk/skipped``): the crosswalk engine's
verdicts on the files, at their lines.

Validation does no crosswalk arithmetic of its own: it builds the crosswalk of the models with
:func:`ontomap.crosswalk.build_crosswalk` (the engine ``ontomap build`` materialises and
``ontomap lookup`` and ``ontomap mappings`` read, with the rules of its module docstring and of
docs/mappings.md) and reports what the engine says, with the engine's numbers:

- ``crosswalk/outlier``: each pair the engine flags ``"outlier"`` (a *paired* pair carrying
  under 5 % of one code's uses while another pairing of that code with the same system carries
  50 % or more, counted in the entities that pair the codes). It is reported once per file
  holding an entity that pairs the two codes, at the line of the partner code on the first such
  entity, oriented from the code whose uses the pairing is a minority of (``RADLEX RID5655 ~
  SNOMED 386554004``); the message quotes the pair's evidence as the engine counts it (entities,
  findings, contexts, template, share) and the dominant pairing's.
- ``crosswalk/skipped``: each entity the engine lists in :attr:`Crosswalk.oversized
  <ontomap.crosswalk.Crosswalk.oversized>`: one whose codes were too many to compare pair by
  pair, so that only codes with equal normalised displays were paired on it and no co-listing
  was recorded. Its pairings are weighed only in part; it is reported at the line of its first
  index code.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Sequence

from ontomap.crosswalk import (
    DOMINANT_SHARE,
    Context,
    Crosswalk,
    CrosswalkPair,
    Evidence,
    build_crosswalk,
    entities_of_model,
    is_minority,
)
from ontomap.model import FindingModel, IndexCode
from ontomap.validate.codes import CodeUse, code_uses
from ontomap.validate.records import Record
from ontomap.validate.report import Finding
from ontomap.validate.rules import RULES

#: The contexts a message names before it says "and N more".
SHOWN_CONTEXTS = 3


def crosswalk_of(models: Iterable[FindingModel]) -> Crosswalk:
    """The crosswalk of ``models`` (one per OIFM ID), as the engine computes it: the one
    ``ontomap build`` materialises for the same models.

    On the corpus the engine's counting allocates some 20 MB of small objects, none of them in
    a reference cycle, while validation holds every file's parsed content: the cyclic garbage
    collector would walk all of that once more (one full collection more than the run needs
    otherwise: 0.2–0.4 s of CPU of a 3 s run, measured) and free nothing. So it is paused while
    the engine counts, and enabled again only if it was enabled.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return build_crosswalk([e for model in models for e in entities_of_model(model)])
    finally:
        if enabled:
            gc.enable()


def check_crosswalk(records: Sequence[Record]) -> list[Finding]:
    """The ``crosswalk/outlier`` and ``crosswalk/skipped`` findings of the models in
    ``records`` (one record per model; see the module docstring)."""
    crosswalk = crosswalk_of(r.model for r in records if r.model is not None)
    outliers = [p for p in crosswalk.pairs if p.flag == "outlier" and p.status == "paired"]
    oversized = crosswalk.oversized
    if not outliers and not oversized:
        return []
    places = _places(records, {e for p in outliers for e in p.paired.entities} | set(oversized))
    out = [_skipped(entity, places) for entity in oversized]
    for pair in outliers:
        out.extend(_outlier(crosswalk, pair, places))
    return out


def _places(records: Sequence[Record], entities: set[str]) -> dict[str, list[CodeUse]]:
    """Entity ID → its index codes as the files write them (anatomic locations left out), for
    the ``entities`` named; an ID that two files use has the codes of both."""
    places: dict[str, list[CodeUse]] = {}
    for record in records:
        for use in code_uses(record):
            if use.entity in entities and use.path[-2] != "anatomic_locations":
                places.setdefault(use.entity, []).append(use)
    return places


def _skipped(entity: str, places: dict[str, list[CodeUse]]) -> Finding:
    uses = places.get(entity, [])
    systems: dict[str, set[str]] = {}
    for use in uses:
        systems.setdefault(use.system.key, set()).add(use.code)
    counted = ", ".join(f"{len(codes):,} {system}" for system, codes in sorted(systems.items()))
    first = uses[0] if uses else None
    return RULES["crosswalk/skipped"].finding(
        f"{entity} carries too many index codes ({counted}) for the crosswalk to compare them "
        "pair by pair: only codes with equal normalised displays were paired on it, and none "
        "recorded as co-listed, so its pairings are weighed only in part",
        file=first.record.file if first else None,
        line=first.line if first else None,
        entity=entity,
    )


def _outlier(
    crosswalk: Crosswalk, pair: CrosswalkPair, places: dict[str, list[CodeUse]]
) -> list[Finding]:
    """Findings for an outlier pair, one per file, from the side whose uses it is a minority
    of, each at the line of the partner code on the file's first entity pairing the two."""
    low, rivals = _minority_side(crosswalk, pair)
    high = low.target
    key = (high.system, high.code)
    first: dict[str, CodeUse] = {}
    for entity in low.paired.entities:
        for use in places.get(entity, ()):
            if use.key == key:
                first.setdefault(use.record.file, use)
    files = sorted(first)
    evidence = f"{_uses(low.paired, low.source_uses)}, {_contexts(low)}"
    if rivals:
        rival, more = rivals[0], len(rivals) - 1
        evidence += (
            f"; while {_name(rival.target)} is paired with it on "
            f"{_uses(rival.paired, rival.source_uses)}, {_contexts(rival)}"
        )
        if more:
            evidence += (
                f" (and {more} more pairing{'s' if more > 1 else ''} over {DOMINANT_SHARE:.0%})"
            )
    if files:
        evidence += f"; files with this pairing: {', '.join(files)}"
    rule = RULES["crosswalk/outlier"]
    entity = f"{_name(low.source)} ~ {_name(high)}"
    if not files:  # no file writes the code as the model has it: say so rather than drop it
        where = ", ".join(low.paired.entities)
        return [
            rule.finding(
                f"{_name(low.source)} is paired with {_name(high)} on {where}: {evidence}",
                entity=entity,
            )
        ]
    return [
        rule.finding(
            f"{_name(low.source)} is paired with {_name(high)} on {first[file].entity}: {evidence}",
            file=file,
            line=first[file].line,
            entity=entity,
        )
        for file in files
    ]


def _minority_side(
    crosswalk: Crosswalk, pair: CrosswalkPair
) -> tuple[CrosswalkPair, list[CrosswalkPair]]:
    """``pair`` oriented from the code whose uses it is a minority of (the first code where
    both are), and the dominant pairings of that code with the other system, largest first."""
    for oriented in (pair, pair.reversed()):
        found = crosswalk.code(oriented.source, to=oriented.target.system, uses=False)
        partners = [
            p
            for p in (found.pairs if found else ())
            if p.status == "paired" and p.target != oriented.target
        ]
        if is_minority(oriented.entity_share, (p.entity_share for p in partners)):
            rivals = [p for p in partners if p.entity_share >= DOMINANT_SHARE]
            rivals.sort(key=lambda p: (-p.paired.entity_count, p.target.code))
            return oriented, rivals
    return pair, []  # the engine's flag alone (its rule is is_minority's: never reached)


def _name(code: IndexCode) -> str:
    return f"{code.system} {code.code}"


def _uses(evidence: Evidence, uses: int) -> str:
    """``1 of its 2,206 uses (0.045%) in 1 finding``."""
    n = evidence.entity_count
    findings = evidence.findings
    return (
        f"{n:,} of its {uses:,} uses ({_percent(n / uses if uses else 0.0)}) in {findings:,} "
        f"finding{'s' if findings != 1 else ''}"
    )


def _contexts(pair: CrosswalkPair) -> str:
    """``1 of its 6 contexts (share 16.7%: attribute "…"), not a template``."""
    contexts = pair.paired.contexts
    shown = "; ".join(_context(c.context, c.findings) for c in contexts[:SHOWN_CONTEXTS])
    if len(contexts) > SHOWN_CONTEXTS:
        shown += f"; and {len(contexts) - SHOWN_CONTEXTS:,} more"
    template = "a template" if pair.template else "not a template"
    return (
        f"{len(contexts):,} of its {pair.source_contexts:,} contexts "
        f"(share {_percent(pair.share)}: {shown}), {template}"
    )


def _context(context: Context, findings: int) -> str:
    return f"{context} in {findings:,} finding{'s' if findings != 1 else ''}"


def _percent(share: float) -> str:
    """A share as a percentage that never rounds a minority to 0 (``0.045%``)."""
    if share >= 0.1 or share == 0:
        return f"{share:.1%}"
    return f"{share * 100:.2g}%"
