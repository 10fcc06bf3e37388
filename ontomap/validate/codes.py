"""Index-code checks (``code/…``): systems, code syntax, and displays across the corpus.

Every index code of every file is a :class:`CodeUse`. Syntax is checked per use against the
registry (``ontologies/terminologies.toml``: pattern and check digit); spellings and displays are
compared across the whole corpus:

- *spelling*: where a known system is written two or more ways, the most frequent spelling
  (ties: the registry key) is the corpus's, and each file using another is reported once;
- *displays* are compared with case and runs of white space ignored. A display is *dominant*
  when more uses give it than any other display; a use whose display differs from a dominant
  one is a conflict; where displays differ and none dominates, the code is reported once.
  A use without a display is reported as missing where the corpus has a display for the code
  elsewhere, and as info where it has none anywhere.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ontomap.readers.common import shown
from ontomap.terminology import CodeSystem, default_registry
from ontomap.validate.locate import Path as ItemPath
from ontomap.validate.records import Record
from ontomap.validate.report import Finding
from ontomap.validate.rules import RULES

_HINTS = {
    "RADLEX": "a RadLex code is RID followed by digits, e.g. RID5791",
    "SNOMED": "a SNOMED CT identifier is 6-18 digits, the last one a Verhoeff check digit",
    "LOINC": "a LOINC code is digits, a hyphen and a check digit (e.g. 35088-4), or LA/LP/LG "
    "followed by that",
    "GAMUTS": "a GAMUTS code is digits, e.g. 5529",
    "RADELEMENT": "a RadElement code is RDE or RDES followed by digits, e.g. RDES195",
    "ICD10CM": "an ICD-10-CM code is a letter, two characters and an optional .suffix, e.g. R91.1",
}


def code_hint(system: str) -> str | None:
    """What a well-formed code of ``system`` (a registry key) looks like, where known."""
    return _HINTS.get(system)


@dataclass(frozen=True, slots=True)
class CodeUse:
    """One index code as a file writes it, with where it is and which entity it indexes."""

    spelling: str
    system: CodeSystem
    code: str
    display: str | None
    record: Record
    path: ItemPath
    entity: str
    kind: str
    finding: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.system.key, self.code)

    @property
    def label(self) -> str:
        """``SYSTEM code`` with the registry key, as in ``RADLEX RID5655``."""
        return f"{self.system.key} {self.code}"

    @property
    def line(self) -> int | None:
        """Line of the code (in JSON, of its ``"code"`` member)."""
        return self.record.line((*self.path, "code"))

    def line_of(self, member: str) -> int | None:
        """Line of the ``system``, ``code`` or ``display`` member (the code's, if absent)."""
        return self.record.line((*self.path, member))


def code_uses(record: Record) -> list[CodeUse]:
    """Every well-typed index code in a record (mistyped ones are structural findings)."""
    cached = record.cache.get("code_uses")
    if cached is None:
        cached = record.cache["code_uses"] = list(_code_uses(record))
    return cached


def _code_uses(record: Record) -> Iterator[CodeUse]:
    data = record.data
    if data is None:
        return
    registry = default_registry()
    oifm_id = data.get("oifm_id")
    finding: str = oifm_id if isinstance(oifm_id, str) else "?"

    def uses(obj: dict[str, Any], key: str, path: ItemPath, entity: str, kind: str):
        entries = obj.get(key)
        if not isinstance(entries, list):
            return
        for k, entry in enumerate(entries):
            if not isinstance(entry, dict):
                continue
            system, code, display = entry.get("system"), entry.get("code"), entry.get("display")
            if isinstance(code, int) and not isinstance(code, bool):
                code = str(code)
            if not isinstance(system, str) or not isinstance(code, str) or not code.strip():
                continue
            display = " ".join(display.split()) if isinstance(display, str) else None
            yield CodeUse(
                system.strip(),
                registry.resolve(system.strip()),
                code.strip(),
                display or None,
                record,
                (*path, key, k),
                entity,
                kind,
                finding,
            )

    yield from uses(data, "index_codes", (), finding, "finding")
    yield from uses(data, "anatomic_locations", (), finding, "finding")
    attributes = data.get("attributes")
    for i, attribute in enumerate(attributes if isinstance(attributes, list) else ()):
        if not isinstance(attribute, dict):
            continue
        oifma_id = attribute.get("oifma_id")
        entity = oifma_id if isinstance(oifma_id, str) else f"{finding} attribute {i}"
        yield from uses(attribute, "index_codes", ("attributes", i), entity, "attribute")
        values = attribute.get("values")
        for j, value in enumerate(values if isinstance(values, list) else ()):
            if not isinstance(value, dict):
                continue
            code = value.get("value_code")
            value_entity = code if isinstance(code, str) else f"{entity}.{j}"
            yield from uses(
                value, "index_codes", ("attributes", i, "values", j), value_entity, "value"
            )


def _finding(
    rule: str, use: CodeUse, message: str, hint: str | None = None, member: str = "code"
) -> Finding:
    return RULES[rule].finding(
        message, file=use.record.file, line=use.line_of(member), entity=use.label, hint=hint
    )


def snomed_partition_ok(code: str) -> bool:
    """Whether a SNOMED CT identifier's partition digits name a concept (``00`` or ``10``).

    The partition identifier is the second and third digits from the right; ``01``/``11`` are
    descriptions and ``02``/``12`` relationships, which cannot index an entity.
    """
    return len(code) >= 3 and code[-3:-1] in ("00", "10")


def check_syntax(use: CodeUse) -> Finding | None:
    """A ``code/syntax``, ``code/check-digit`` or ``code/snomed-partition`` finding, or None."""
    system = use.system
    if not system.known:
        return None
    hint = _HINTS.get(system.key)
    if system.pattern is not None and not re.fullmatch(system.pattern, use.code):
        return _finding(
            "code/syntax",
            use,
            f"{use.spelling} code {shown(use.code, 100)} of {use.entity} is not a "
            f"{system.label} code (expected {system.pattern})",
            hint,
        )
    if not system.is_well_formed(use.code):
        return _finding(
            "code/check-digit",
            use,
            f"{system.label} code {use.code} of {use.entity} has a wrong check digit "
            f"({system.check_digit})",
        )
    if system.key == "SNOMED" and not snomed_partition_ok(use.code):
        return _finding(
            "code/snomed-partition",
            use,
            f"SNOMED CT identifier {use.code} of {use.entity} has partition {use.code[-3:-1]}: "
            "not a concept ID (00 or 10)",
        )
    return None


def _normal(display: str) -> str:
    return " ".join(display.split()).casefold()


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'s' * (count != 1)}"


def check_codes(records: Sequence[Record]) -> list[Finding]:
    """The ``code/…`` findings of a corpus."""
    uses = [use for record in records for use in code_uses(record)]
    findings: list[Finding] = []
    findings.extend(_systems(uses))
    for use in uses:
        found = check_syntax(use)
        if found is not None:
            findings.append(found)
    findings.extend(_displays(uses))
    return findings


def _systems(uses: Sequence[CodeUse]) -> list[Finding]:
    out = []
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    for use in uses:
        spellings[use.system.key][use.spelling] += 1
    per_file = Counter((use.record.file, use.spelling) for use in uses)
    known = ", ".join(default_registry().keys)
    reported: set[tuple[str, str]] = set()
    for use in uses:
        once = (use.record.file, use.spelling)
        if once in reported:
            continue
        if not use.system.known:
            reported.add(once)
            count = per_file[once]
            out.append(
                _finding(
                    "code/unknown-system",
                    use,
                    f"unknown code system {shown(use.spelling)} ({_plural(count, 'code')} in this "
                    f"file): kept under {use.system.namespace}; known systems: {known}",
                    member="system",
                )
            )
            continue
        counts = spellings[use.system.key]
        if len(counts) < 2:
            continue
        corpus = max(counts, key=lambda s: (counts[s], s == use.system.key, s))
        if use.spelling == corpus:
            continue
        reported.add(once)
        here = per_file[once]
        out.append(
            _finding(
                "code/system-spelling",
                use,
                f"{use.system.label} is written {use.spelling!r} here ({_plural(here, 'code')} "
                f"in this file) and {corpus!r} in {counts[corpus]:,} codes of the corpus",
                f"write {corpus!r} (ontomap reads both as {use.system.key}; other tools may not)",
                member="system",
            )
        )
    return out


def _displays(uses: Sequence[CodeUse]) -> list[Finding]:
    out = []
    by_code: dict[tuple[str, str], list[CodeUse]] = defaultdict(list)
    for use in uses:
        by_code[use.key].append(use)
    for group in by_code.values():
        counts = Counter(_normal(u.display) for u in group if u.display)
        written: dict[str, str] = {}
        for use in group:
            if use.display:
                written.setdefault(_normal(use.display), use.display)
        ranked = counts.most_common()
        dominant = None
        if ranked and (len(ranked) == 1 or ranked[0][1] > ranked[1][1]):
            dominant = ranked[0][0]
        if len(ranked) > 1 and dominant is None:
            first = min(group, key=lambda u: (u.record.file, u.line or 0))
            variants = "; ".join(f"{shown(written[d], 200)} ({n:,})" for d, n in sorted(ranked))
            files = sorted({u.record.file for u in group})
            out.append(
                _finding(
                    "code/display-varies",
                    first,
                    f"{first.label} is given {len(ranked)} displays, none used more than the "
                    f"others: {variants}; in {_files(files)}",
                )
            )
        for use in group:
            if use.display is None:
                if dominant is not None or ranked:
                    best = written[dominant or ranked[0][0]]
                    n = counts[dominant or ranked[0][0]]
                    out.append(
                        _finding(
                            "code/display-missing",
                            use,
                            f"{use.label} of {use.entity} has no display; the corpus gives it "
                            f"{shown(best, 200)} in {_plural(n, 'other place')}",
                            f"add the display {shown(best, 200)}",
                        )
                    )
                else:
                    out.append(
                        _finding(
                            "code/no-display",
                            use,
                            f"{use.label} of {use.entity} has no display, here or anywhere "
                            "else in the corpus",
                        )
                    )
            elif dominant is not None and _normal(use.display) != dominant:
                out.append(
                    _finding(
                        "code/display-conflict",
                        use,
                        f"{use.label} of {use.entity} is displayed {shown(use.display, 200)}; "
                        f"{counts[dominant]:,} of {sum(counts.values()):,} uses give "
                        f"{shown(written[dominant], 200)}",
                        f"use {shown(written[dominant], 200)}, or check that the code is the "
                        "right one",
                        member="display",
                    )
                )
    return out


def _files(files: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(files[:limit])
    return shown + (f" and {len(files) - limit:,} more" if len(files) > limit else "")
