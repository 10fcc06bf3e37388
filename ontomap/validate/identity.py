"""Identity checks across files (``identity/…``): duplicate IDs, and JSON vs Markdown (compared
by :mod:`ontomap.readers.renderings`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from ontomap.readers.renderings import apply_markdown_losses, model_differences
from ontomap.validate.records import Record
from ontomap.validate.report import Finding
from ontomap.validate.rules import RULES

__all__ = ["apply_markdown_losses", "check_identity", "model_differences"]


def check_identity(records: Sequence[Record]) -> list[Finding]:
    """The ``identity/…`` findings of a set of files (in the order they were read)."""
    findings: list[Finding] = []
    by_id: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for record in records:
        if record.format is not None and record.oifm_id:
            by_id[(record.format, record.oifm_id)].append(record)
    duplicate = RULES["identity/duplicate-finding-id"]
    for (_fmt, oifm_id), group in by_id.items():
        for record in group[1:]:
            findings.append(
                duplicate.finding(
                    f"{oifm_id} is also defined in {group[0].file}",
                    file=record.file,
                    line=record.line(("oifm_id",)),
                    entity=oifm_id,
                )
            )
    findings.extend(_attribute_duplicates(records))
    findings.extend(_markdown_mismatches(by_id))
    return findings


def _attribute_duplicates(records: Sequence[Record]) -> list[Finding]:
    """Findings for an OIFMA ID in two models, or twice in one."""
    seen: dict[str, tuple[str, Record]] = {}
    rule = RULES["identity/duplicate-attribute-id"]
    out = []
    for record in records:
        attributes = record.data.get("attributes") if record.data is not None else None
        if not isinstance(attributes, list):
            continue
        oifm_id = record.oifm_id or "?"
        in_this: set[str] = set()
        for i, attribute in enumerate(attributes):
            oifma_id = attribute.get("oifma_id") if isinstance(attribute, dict) else None
            if not isinstance(oifma_id, str):
                continue
            path = ("attributes", i, "oifma_id")
            if oifma_id in in_this:
                out.append(
                    rule.finding(
                        f"{oifma_id} appears twice in {oifm_id}",
                        file=record.file,
                        line=record.line(path),
                        entity=oifma_id,
                    )
                )
                continue
            in_this.add(oifma_id)
            first = seen.get(oifma_id)
            if first is None:
                seen[oifma_id] = (oifm_id, record)
            elif first[0] != oifm_id:
                out.append(
                    rule.finding(
                        f"{oifma_id} of {oifm_id} is also an attribute of {first[0]} "
                        f"({first[1].file})",
                        file=record.file,
                        line=record.line(path),
                        entity=oifma_id,
                    )
                )
    return out


def _markdown_mismatches(by_id: dict[tuple[str, str], list[Record]]) -> list[Finding]:
    rule = RULES["identity/markdown-mismatch"]
    out = []
    for (fmt, oifm_id), group in by_id.items():
        if fmt != "markdown":
            continue
        sources = [r for r in by_id.get(("json", oifm_id), ()) if r.model is not None]
        if not sources:
            continue
        source = sources[0]
        assert source.model is not None
        for record in group:
            if record.model is None:
                continue
            for difference in model_differences(record.model, source.model):
                out.append(
                    rule.finding(
                        f"differs from {source.file}: {difference.what}",
                        file=record.file,
                        line=record.line(difference.path),
                        entity=difference.entity,
                    )
                )
    return out
