"""Validate a finding-model corpus: input checks and a terminology-consistency audit.

>>> from ontomap.validate import validate
>>> report = validate(["ontologies/examples"])
>>> report.ok
True

:func:`validate` reads every file under the given paths and returns a
:class:`ValidationReport` of :class:`Finding` s, each with a stable rule ID (``RULES``, and the
``graph/…`` rules of ``ontologies/shapes.ttl``), a severity, ``file:line``, the entity, a message
and a fix hint. The checks, in order:

1. ``read/…`` and ``structure/…`` per file (:mod:`.structure`): the OIFM JSON schema's rules.
2. ``identity/…`` across files (:mod:`.identity`): duplicate IDs, JSON vs Markdown.
3. ``code/…`` across the corpus (:mod:`.codes`): systems, syntax, check digits, displays.
4. ``crosswalk/outlier`` (:mod:`.crosswalk`): unusual pairings of codes of two systems.
5. with ``shacl=True``, ``graph/…`` (:mod:`.shacl`): the SHACL shapes on the built graph.
6. with a ``store``, ``release/…`` (:mod:`.releases`): every index code against the
   terminology releases loaded in it, with a list of certain fixes (:class:`Fix`).

``docs/validate.md`` is the rule reference.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ontomap.errors import OntomapError
from ontomap.graph import GraphBuilder, KnowledgeGraph
from ontomap.readers.json_reader import REFERENCE_READING
from ontomap.readers.limits import DEFAULT_MAX_FILE_SIZE
from ontomap.terminology import SCHEME_NAMESPACE
from ontomap.validate.codes import check_codes, code_uses
from ontomap.validate.crosswalk import check_crosswalk
from ontomap.validate.identity import apply_markdown_losses, check_identity, model_differences
from ontomap.validate.records import Record, load_records
from ontomap.validate.releases import ReleaseResult, check_releases
from ontomap.validate.report import (
    SEVERITIES,
    Finding,
    Fix,
    ReleaseCheck,
    Severity,
    ValidationReport,
    fixes_json,
)
from ontomap.validate.rules import RELEASE_RULES, RULES, Rule
from ontomap.validate.shacl import ENGINES, ShaclResult, graph_rules, run_shacl
from ontomap.validate.structure import check_structure
from ontomap.vocab import DEFAULT_BASE_IRI

if TYPE_CHECKING:
    from ontomap.store import Store

__all__ = [
    "ENGINES",
    "RELEASE_RULES",
    "RULES",
    "SEVERITIES",
    "Finding",
    "Fix",
    "ReleaseCheck",
    "Rule",
    "Severity",
    "ValidationReport",
    "all_rules",
    "apply_markdown_losses",
    "fixes_json",
    "model_differences",
    "validate",
]


def all_rules() -> dict[str, Rule]:
    """Every rule, including the ``release/…`` rules and the ``graph/…`` rules read from
    ``ontologies/shapes.ttl``."""
    return dict(sorted({**RULES, **RELEASE_RULES, **graph_rules()}.items()))


def validate(
    paths: Iterable[Path | str],
    shacl: bool = False,
    *,
    shacl_engine: str = "oxigraph",
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    store: Store | Path | str | None = None,
    semantic_tags: bool = False,
) -> ValidationReport:
    """Validate the finding models under ``paths`` (files and folders, read recursively).

    With ``shacl``, the graph ontomap builds from the models is also checked against
    ``ontologies/shapes.ttl``, by ``shacl_engine`` (``"oxigraph"``: the shapes compiled to
    SPARQL, fast; ``"pyshacl"``: the reference implementation, slow on a large corpus).
    A bad file never stops the others: its problems are findings (a file larger than
    ``max_file_size`` bytes, or that is not a regular file, is a ``read/unreadable`` error). Raises
    :class:`~ontomap.errors.OntomapError` for an unknown ``shacl_engine``.

    With ``store`` (a :class:`~ontomap.store.Store`, or its folder, then opened read-only), every
    index code is also checked against the latest release of its system loaded there
    (``release/…`` rules; with ``semantic_tags``, ``release/semantic-tag`` too); the report then
    names the releases used and carries the certain fixes (``report.fixes``). Raises
    :class:`~ontomap.errors.StoreError` when the store cannot be opened.
    """
    if shacl_engine not in ENGINES:
        raise OntomapError(f"unknown SHACL engine {shacl_engine!r}; known: {', '.join(ENGINES)}")
    if semantic_tags and store is None:
        raise OntomapError("semantic tags are checked against a release: give a store")
    if isinstance(paths, str | Path):
        paths = [paths]
    records = list(load_records(paths, max_file_size=max_file_size))
    findings: list[Finding] = []
    for record in records:
        findings.extend(_file_findings(record))
    identity = check_identity(records)
    findings.extend(_read_errors(records, findings + identity))
    findings.extend(identity)
    findings.extend(check_codes(records))
    sources = _graph_sources(records)
    findings.extend(check_crosswalk(sources))
    if shacl:
        findings.extend(_shacl_findings(sources, shacl_engine))
    checked: dict[str, object] = {}
    if store is not None:
        result = _release_findings(records, store, semantic_tags)
        findings.extend(result.findings)
        checked = {
            "releases": result.used,
            "unchecked": tuple(result.unchecked.items()),
            "fixes": result.fixes,
        }
    return ValidationReport(
        findings=tuple(findings),
        files=len(records),
        models=sum(1 for r in records if r.model is not None),
        shacl=shacl,
        **checked,  # type: ignore[arg-type]
    )


def _release_findings(
    records: Sequence[Record], store: Store | Path | str, semantic_tags: bool
) -> ReleaseResult:
    from ontomap.releases import Releases
    from ontomap.store import Store

    if isinstance(store, Store):
        return check_releases(records, Releases(store), semantic_tags=semantic_tags)
    with Store(store, read_only=True) as opened:
        return check_releases(records, Releases(opened), semantic_tags=semantic_tags)


def _file_findings(record: Record) -> list[Finding]:
    findings = check_structure(record)
    warning = RULES["read/warning"]
    for diagnostic in record.warnings:
        if diagnostic.message.startswith("unknown code system"):
            continue  # reported as code/unknown-system
        if record.format == "json" and diagnostic.message.endswith(REFERENCE_READING):
            continue  # reported by the structure/… rule of what was filled in
        findings.append(warning.finding(diagnostic.message, file=record.file, line=diagnostic.line))
    return findings


def _read_errors(records: Sequence[Record], found: Sequence[Finding]) -> list[Finding]:
    """``read/unreadable`` for each file the reader rejected, unless other errors explain it.

    For JSON the structural checks cover every check of the reader, so a file with a structural
    (or identity) error needs no second message; for Markdown, the reader's error is kept unless
    a structural error points at the same line.
    """
    errors: dict[str, set[int | None]] = {}
    for finding in found:
        if finding.severity == "error" and finding.file is not None:
            errors.setdefault(finding.file, set()).add(finding.line)
    rule = RULES["read/unreadable"]
    out = []
    for record in records:
        error = record.error
        if error is None:
            continue
        explained = errors.get(record.file)
        if explained and (record.format == "json" and record.data is not None):
            continue
        if explained and error.line in explained:
            continue
        out.append(
            rule.finding(error.message, file=record.file, line=error.line, entity=record.oifm_id)
        )
    return out


def _graph_sources(records: Sequence[Record]) -> list[Record]:
    """One record per OIFM ID for the graph: the first JSON file, else the first Markdown."""
    chosen: dict[str, Record] = {}
    for fmt in ("json", "markdown"):
        for record in records:
            if record.model is not None and record.format == fmt:
                chosen.setdefault(record.model.oifm_id, record)
    order = {id(record): i for i, record in enumerate(records)}
    return sorted(chosen.values(), key=lambda r: order[id(r)])


def _entity_places(
    sources: Sequence[Record], base: str
) -> dict[str, tuple[str, Record, int | None]]:
    """Graph node IRI → (entity, record, line) for findings, attributes, values, contributors
    and codes (a code at its first use)."""
    places: dict[str, tuple[str, Record, int | None]] = {}
    for record in sources:
        model = record.model
        assert model is not None
        places[base + model.oifm_id] = (model.oifm_id, record, record.line(("oifm_id",)))
        for k in range(len(model.contributors)):
            places[f"{base}{model.oifm_id}-contributor-{k}"] = (
                model.oifm_id,
                record,
                record.line(("contributors", k)),
            )
        for i, attribute in enumerate(model.attributes):
            path = ("attributes", i)
            places[base + attribute.oifma_id] = (
                attribute.oifma_id,
                record,
                record.line((*path, "oifma_id")),
            )
            for j, value in enumerate(getattr(attribute, "values", ())):
                places[base + value.value_code] = (
                    value.value_code,
                    record,
                    record.line((*path, "values", j, "value_code")),
                )
        for use in code_uses(record):
            places.setdefault(use.system.code_iri(use.code), (use.label, record, use.line))
    return places


def _shacl_findings(sources: Sequence[Record], engine: str) -> list[Finding]:
    base = DEFAULT_BASE_IRI
    models = [record.model for record in sources if record.model is not None]

    def lines() -> Iterator[str]:
        builder = GraphBuilder(base)
        used: dict = {}
        for model in models:
            entity, codes = builder.entity_lines(model)
            used.update(codes)
            yield from entity
        yield from builder.code_lines(used)

    def graph() -> KnowledgeGraph:
        return GraphBuilder(base).graph(models)

    results = run_shacl(engine, lines, graph)
    places = _entity_places(sources, base) if results else {}
    rules = graph_rules()
    return [_shacl_finding(result, places, rules) for result in results]


def _shacl_finding(
    result: ShaclResult,
    places: dict[str, tuple[str, Record, int | None]],
    rules: dict[str, Rule],
) -> Finding:
    place = places.get(result.focus)
    shown = [_short(v, places) for v in result.values]
    message = result.message + (f" (found: {', '.join(shown)})" if shown else "")
    rule = rules[result.rule]
    if place is None:
        return rule.finding(message, entity=_short(result.focus, places))
    entity, record, line = place
    return rule.finding(message, file=record.file, line=line, entity=entity)


def _short(value: str, places: dict[str, tuple[str, Record, int | None]]) -> str:
    """A node as the report names it: an OIFM ID or code where the node is known."""
    place = places.get(value)
    if place is not None:
        return place[0]
    if value.startswith(DEFAULT_BASE_IRI):
        return value.removeprefix(DEFAULT_BASE_IRI)
    if value.startswith(SCHEME_NAMESPACE):
        return "code system " + value.removeprefix(SCHEME_NAMESPACE)
    return value
