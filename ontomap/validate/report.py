"""What validation finds: :class:`Finding` and :class:`ValidationReport`, and their renderings.

Both are frozen dataclasses. A report's findings are sorted deterministically (file, line,
severity, rule, entity, message), so the same input always gives the same text and JSON.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
#: The severities, most serious first.
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")
_RANK = {severity: rank for rank, severity in enumerate(SEVERITIES)}
_HEADINGS = {"error": "errors", "warning": "warnings", "info": "info"}

#: Version of the JSON report's shape; raised when a key is removed or changes meaning.
JSON_FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem (or remark) about the corpus: which rule, how serious, where, and the fix.

    ``file`` and ``line`` (1-based) say where to look; either is ``None`` where there is no
    such place (a corpus-wide remark, or a file that cannot be read at all). ``entity`` is the
    OIFM/OIFMA ID or code (``RADLEX RID5655``) the finding is about, where there is one.
    """

    rule: str
    severity: Severity
    message: str
    hint: str
    file: str | None = None
    line: int | None = None
    entity: str | None = None

    @property
    def location(self) -> str:
        """``file:line``, ``file``, or ``-`` where the finding has no place."""
        if self.file is None:
            return "-"
        return f"{self.file}:{self.line}" if self.line is not None else self.file

    def sort_key(self) -> tuple[str, int, int, str, str, str]:
        return (
            self.file or "",
            self.line or 0,
            _RANK[self.severity],
            self.rule,
            self.entity or "",
            self.message,
        )

    def to_dict(self) -> dict[str, Any]:
        """The finding as the JSON report writes it (keys in a fixed order)."""
        return {
            "rule": self.rule,
            "severity": self.severity,
            "file": self.file,
            "line": self.line,
            "entity": self.entity,
            "message": self.message,
            "hint": self.hint,
        }

    def __str__(self) -> str:
        entity = f" [{self.entity}]" if self.entity else ""
        return f"{self.location}: {self.severity}: {self.rule}{entity}: {self.message}"


@dataclass(frozen=True, slots=True)
class Fix:
    """A certain, machine-applicable fix: in ``file``, replace ``old`` by ``new``.

    In a JSON file ``pointer`` (RFC 6901) names the member whose value ``old`` is (``line`` is
    its line, for people); in a Markdown file ``pointer`` is ``None`` and ``old`` is text found
    exactly once on ``line``. ``rule`` is the finding's rule.
    """

    file: str
    rule: str
    old: str | int
    new: str
    pointer: str | None = None
    line: int | None = None

    def sort_key(self) -> tuple[str, int, str, str]:
        return (self.file, self.line or 0, self.pointer or "", self.rule)

    def to_dict(self) -> dict[str, Any]:
        """The fix as the fix list writes it (keys in a fixed order; no ``pointer`` in
        Markdown)."""
        out: dict[str, Any] = {"file": self.file}
        if self.pointer is not None:
            out["pointer"] = self.pointer
        out.update({"line": self.line, "rule": self.rule, "old": self.old, "new": self.new})
        return out


@dataclass(frozen=True, slots=True)
class ReleaseCheck:
    """A release the codes were checked against: ``codes`` distinct codes in ``uses`` uses."""

    system: str
    version: str
    graph: str
    codes: int
    uses: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "version": self.version,
            "graph": self.graph,
            "codes": self.codes,
            "uses": self.uses,
        }


def fixes_json(fixes: Iterable[Fix]) -> str:
    """The fix list as JSON text: a list of fixes, sorted by file, line and pointer."""
    ordered = sorted(set(fixes), key=Fix.sort_key)
    return json.dumps([fix.to_dict() for fix in ordered], indent=2, ensure_ascii=False) + "\n"


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """Everything :func:`ontomap.validate.validate` found in some sources.

    ``files`` counts the files looked at, ``models`` those read as a finding model; ``shacl``
    says whether the graph was checked against ``ontologies/shapes.ttl`` too.

    ``releases`` are the terminology releases the codes were checked against (``None`` when
    no store was given), ``unchecked`` the systems used without a release loaded (system →
    distinct codes), ``fixes`` the certain fixes (:func:`fixes_json`).
    """

    findings: tuple[Finding, ...]
    files: int
    models: int
    shacl: bool = False
    releases: tuple[ReleaseCheck, ...] | None = None
    unchecked: tuple[tuple[str, int], ...] = ()
    fixes: tuple[Fix, ...] = ()

    def __post_init__(self) -> None:
        ordered = tuple(sorted(set(self.findings), key=Finding.sort_key))
        object.__setattr__(self, "findings", ordered)
        object.__setattr__(self, "fixes", tuple(sorted(set(self.fixes), key=Fix.sort_key)))

    def of_severity(self, severity: Severity) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == severity)

    def of_rule(self, rule: str) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.rule == rule)

    @property
    def errors(self) -> tuple[Finding, ...]:
        return self.of_severity("error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return self.of_severity("warning")

    @property
    def ok(self) -> bool:
        """No errors (warnings and info do not count)."""
        return not any(f.severity == "error" for f in self.findings)

    def counts(self) -> dict[Severity, int]:
        """Number of findings of each severity (every severity present, most serious first)."""
        found = Counter(f.severity for f in self.findings)
        return {severity: found[severity] for severity in SEVERITIES}

    def rule_counts(self) -> dict[str, int]:
        """Number of findings of each rule, sorted by rule ID."""
        return dict(sorted(Counter(f.rule for f in self.findings).items()))

    def exit_code(self, strict: bool = False) -> int:
        """0 when clean, 1 when there are errors (or, with ``strict``, warnings)."""
        counts = self.counts()
        return 1 if counts["error"] or (strict and counts["warning"]) else 0

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON shape: ``{"summary": {...}, "findings": [...]}``."""
        counts = self.counts()
        summary: dict[str, Any] = {
            "version": JSON_FORMAT_VERSION,
            "files": self.files,
            "models": self.models,
            "shacl": self.shacl,
            "errors": counts["error"],
            "warnings": counts["warning"],
            "infos": counts["info"],
            "rules": self.rule_counts(),
        }
        if self.releases is not None:
            summary["releases"] = {
                "used": [release.to_dict() for release in self.releases],
                "unchecked": dict(self.unchecked),
                "fixes": len(self.fixes),
            }
        return {
            "summary": summary,
            "findings": [finding.to_dict() for finding in self.findings],
        }

    def to_json(self) -> str:
        """The report as JSON text (2-space indent, UTF-8 characters kept), ending in a newline."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def summary_line(self) -> str:
        counts = self.counts()
        parts = [
            _plural(counts["error"], "error"),
            _plural(counts["warning"], "warning"),
            f"{counts['info']:,} info",
        ]
        shacl = ", SHACL included" if self.shacl else ""
        return (
            f"validated {_plural(self.files, 'file')} ({_plural(self.models, 'model')}{shacl}): "
            + ", ".join(parts)
        )

    def releases_line(self) -> str:
        """Which releases the codes were checked against, and which systems were not."""
        used = ", ".join(
            f"{r.system} {r.version} ({_plural(r.codes, 'code')})" for r in self.releases or ()
        )
        line = f"checked against releases: {used or 'none (the store holds no release)'}"
        if self.unchecked:
            rest = ", ".join(f"{system} ({_plural(n, 'code')})" for system, n in self.unchecked)
            line += f"; no release loaded for {rest}"
        return line

    def to_text(self, hints: bool = True) -> str:
        """A report for people: findings grouped by severity with ``file:line``, counts last."""
        lines: list[str] = []
        for severity in SEVERITIES:
            group = self.of_severity(severity)
            if not group:
                continue
            lines.append(f"{_HEADINGS[severity]} ({len(group):,})")
            for finding in group:
                entity = f" [{finding.entity}]" if finding.entity else ""
                lines.append(f"  {finding.location}: {finding.rule}{entity}: {finding.message}")
                if hints and finding.hint:
                    lines.append(f"      fix: {finding.hint}")
            lines.append("")
        rules = self.rule_counts()
        if rules:
            width = max(len(rule) for rule in rules)
            lines.append("by rule:")
            lines.extend(f"  {rule:<{width}}  {count:>6,}" for rule, count in rules.items())
        if self.releases is not None:
            lines.append(self.releases_line())
        lines.append(self.summary_line())
        return "\n".join(lines) + "\n"


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'s' * (count != 1)}"
