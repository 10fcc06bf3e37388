"""Tests of ``ontomap.validate`` and ``ontomap validate``.

``tests/resources/invalid/`` holds one deliberately broken fixture per rule, named after it
(``structure-value-code.fm.json`` breaks ``structure/value-code``; a folder where the rule
needs several files). Each is validated on its own and must give its rule at the line written in
:data:`FIXTURES`, and no other rule than those listed there. The real corpus and the bundled
examples are validated too; the SHACL engines are checked against each other.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from conftest import EXAMPLES, RESOURCES, SEED_MD

from ontomap.cli import main
from ontomap.crosswalk import CrosswalkReader, build_crosswalk, entities_of_model
from ontomap.errors import OntomapError
from ontomap.graph import GraphBuilder, KnowledgeGraph
from ontomap.lookup import lookup
from ontomap.readers import read_models
from ontomap.readers.common import Diagnostic
from ontomap.readers.json_reader import read_json
from ontomap.readers.markdown_reader import read_markdown, read_markdown_record
from ontomap.store import Store
from ontomap.validate import (
    RULES,
    Finding,
    ValidationReport,
    _file_findings,
    all_rules,
    apply_markdown_losses,
    model_differences,
    validate,
)
from ontomap.validate.crosswalk import crosswalk_of
from ontomap.validate.locate import JsonLocator, MarkdownLocator
from ontomap.validate.records import Record
from ontomap.validate.shacl import (
    UnsupportedShapeError,
    compile_shape,
    default_shapes_path,
    graph_rules,
    load_shapes,
    run_oxigraph,
    run_pyshacl,
    store_of,
)
from ontomap.vocab import OIFM_NS, declared_terms

INVALID = RESOURCES / "invalid"

#: fixture → (rule, file of the finding, its line, the other rules it also triggers)
FIXTURES: dict[str, tuple[str, str, int, frozenset[str]]] = {
    "read-unreadable.fm.json": ("read/unreadable", "read-unreadable.fm.json", 3, frozenset()),
    "read-unreadable.md": ("read/unreadable", "read-unreadable.md", 7, frozenset()),
    "structure-finding-id.fm.json": (
        "structure/finding-id",
        "structure-finding-id.fm.json",
        2,
        frozenset(),
    ),
    "structure-attribute-id.fm.json": (
        "structure/attribute-id",
        "structure-attribute-id.fm.json",
        7,
        frozenset({"structure/value-code"}),  # its value codes repeat the bad ID
    ),
    "structure-attribute-id.md": (
        "structure/attribute-id",
        "structure-attribute-id.md",
        7,
        frozenset(),
    ),
    "structure-value-code.fm.json": (
        "structure/value-code",
        "structure-value-code.fm.json",
        24,
        frozenset(),
    ),
    "structure-value-code-missing.fm.json": (
        "structure/value-code-missing",
        "structure-value-code-missing.fm.json",
        13,
        frozenset(),
    ),
    "structure-value-renumbered.fm.json": (
        "structure/value-renumbered",
        "structure-value-renumbered.fm.json",
        13,
        frozenset(),
    ),
    "structure-required-field.fm.json": (
        "structure/required-field",
        "structure-required-field.fm.json",
        24,
        frozenset(),
    ),
    "structure-field-type.fm.json": (
        "structure/field-type",
        "structure-field-type.fm.json",
        35,
        frozenset(),
    ),
    "structure-name-length.fm.json": (
        "structure/name-length",
        "structure-name-length.fm.json",
        8,
        frozenset(),
    ),
    "structure-description-length.fm.json": (
        "structure/description-length",
        "structure-description-length.fm.json",
        9,
        frozenset(),
    ),
    "structure-no-attributes.fm.json": (
        "structure/no-attributes",
        "structure-no-attributes.fm.json",
        5,
        frozenset(),
    ),
    "structure-too-few-values.fm.json": (
        "structure/too-few-values",
        "structure-too-few-values.fm.json",
        11,
        frozenset(),
    ),
    "structure-max-selected.fm.json": (
        "structure/max-selected",
        "structure-max-selected.fm.json",
        36,
        frozenset(),
    ),
    "structure-max-selected-all.fm.json": (
        "structure/max-selected-all",
        "structure-max-selected-all.fm.json",
        26,
        frozenset(),
    ),
    "structure-max-selected-zero.fm.json": (
        "structure/max-selected-zero",
        "structure-max-selected-zero.fm.json",
        26,
        frozenset(),
    ),
    "structure-max-selected-above.fm.json": (
        "structure/max-selected-above",
        "structure-max-selected-above.fm.json",
        26,
        frozenset(),
    ),
    "structure-min-max.fm.json": (
        "structure/min-max",
        "structure-min-max.fm.json",
        43,
        frozenset(),
    ),
    "structure-unknown-field.fm.json": (
        "structure/unknown-field",
        "structure-unknown-field.fm.json",
        39,
        frozenset(),
    ),
    "identity-duplicate-finding-id": (
        "identity/duplicate-finding-id",
        "identity-duplicate-finding-id/b.fm.json",
        2,
        frozenset(),
    ),
    "identity-duplicate-attribute-id": (
        "identity/duplicate-attribute-id",
        "identity-duplicate-attribute-id/b.fm.json",
        7,
        frozenset(),
    ),
    "identity-markdown-mismatch": (
        "identity/markdown-mismatch",
        "identity-markdown-mismatch/model.md",
        14,
        frozenset(),
    ),
    "code-unknown-system.fm.json": (
        "code/unknown-system",
        "code-unknown-system.fm.json",
        33,
        frozenset(),
    ),
    "code-system-spelling.fm.json": (
        "code/system-spelling",
        "code-system-spelling.fm.json",
        38,
        frozenset(),
    ),
    "code-syntax.fm.json": ("code/syntax", "code-syntax.fm.json", 29, frozenset()),
    "code-check-digit.fm.json": ("code/check-digit", "code-check-digit.fm.json", 34, frozenset()),
    "code-snomed-partition.fm.json": (
        "code/snomed-partition",
        "code-snomed-partition.fm.json",
        34,
        frozenset(),
    ),
    "code-display-conflict.fm.json": (
        "code/display-conflict",
        "code-display-conflict.fm.json",
        50,
        frozenset(),
    ),
    "code-display-varies.fm.json": (
        "code/display-varies",
        "code-display-varies.fm.json",
        29,
        frozenset(),
    ),
    "code-display-missing.fm.json": (
        "code/display-missing",
        "code-display-missing.fm.json",
        42,
        frozenset(),
    ),
    "code-no-display.fm.json": ("code/no-display", "code-no-display.fm.json", 42, frozenset()),
    "crosswalk-outlier": (
        "crosswalk/outlier",
        "crosswalk-outlier/model_24.fm.json",
        23,
        frozenset(),
    ),
}

#: fixture → (graph rule it breaks with --shacl, file, line)
SHACL_FIXTURES: dict[str, tuple[str, str, int]] = {
    "graph-gamuts-on-findings-only.fm.json": (
        "graph/gamuts-on-findings-only",
        "graph-gamuts-on-findings-only.fm.json",
        24,
    ),
    "identity-duplicate-attribute-id": (
        "graph/attribute-finding",
        "identity-duplicate-attribute-id/b.fm.json",
        7,
    ),
    "structure-min-max.fm.json": ("graph/numeric-minimum", "structure-min-max.fm.json", 39),
    "structure-no-attributes.fm.json": (
        "graph/finding-attributes",
        "structure-no-attributes.fm.json",
        2,
    ),
    "structure-too-few-values.fm.json": (
        "graph/choice-values",
        "structure-too-few-values.fm.json",
        7,
    ),
    "code-display-varies.fm.json": ("graph/concept-display", "code-display-varies.fm.json", 42),
}


def _found(report: ValidationReport) -> set[tuple[str, str | None, int | None]]:
    return {(f.rule, f.file, f.line) for f in report.findings}


# -- one fixture per rule -------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", sorted(FIXTURES))
def test_fixture_gives_its_rule_at_its_line(fixture: str) -> None:
    rule, file, line, others = FIXTURES[fixture]
    report = validate([INVALID / fixture])
    assert (rule, str(INVALID / file), line) in _found(report), "\n".join(
        str(f) for f in report.findings
    )
    assert {f.rule for f in report.findings} == {rule} | others
    assert report.ok == (RULES[rule].severity != "error" and not others)


#: Rules whose fixture a test writes (too large to keep: an entity past the crosswalk's bound).
GENERATED = {"crosswalk/skipped"}


def test_every_rule_has_a_fixture() -> None:
    covered = {rule for rule, _file, _line, _others in FIXTURES.values()}
    # read/warning: no reader emits a warning other than unknown systems today (see below)
    assert set(RULES) - covered == {"read/warning"} | GENERATED
    for fixture in FIXTURES:
        assert (INVALID / fixture).exists(), fixture
    on_disk = {path.name for path in INVALID.iterdir()}
    assert on_disk == set(FIXTURES) | set(SHACL_FIXTURES)


def test_the_whole_folder_at_once() -> None:
    report = validate([INVALID], shacl=True)
    found = {f.rule for f in report.findings}
    # displays are compared across the corpus: together, the other fixtures give RID28472 a
    # dominant display and GAMUTS 5529 a display, so those two rules turn into others
    corpus_wide = {"code/display-varies", "code/no-display"}
    assert set(RULES) - {"read/warning"} - corpus_wide - GENERATED <= found
    assert {rule for rule, _f, _l in SHACL_FIXTURES.values()} <= found
    assert report.exit_code() == 1


def test_reader_warnings_become_findings(tmp_path: Path) -> None:
    path = tmp_path / "model.fm.json"
    warning = Diagnostic("warning", path, "something odd", 4)
    unknown = Diagnostic("warning", path, "unknown code system 'X': …", 5)
    record = Record(path, "json", None, None, None, None, (warning, unknown))
    (finding,) = _file_findings(record)
    assert (finding.rule, finding.severity, finding.line) == ("read/warning", "warning", 4)


@pytest.mark.parametrize("fixture", sorted(SHACL_FIXTURES))
def test_shacl_fixture_breaks_its_shape(fixture: str) -> None:
    rule, file, line = SHACL_FIXTURES[fixture]
    report = validate([INVALID / fixture], shacl=True)
    assert (rule, str(INVALID / file), line) in _found(report), "\n".join(
        str(f) for f in report.findings
    )
    assert not validate([INVALID / fixture]).of_rule(rule)  # only with --shacl


# -- the SHACL engines --------------------------------------------------------------------------

ID = "https://w3id.org/ontomap/id/"
OIFM = "https://w3id.org/ontomap/oifm#"
RDFS_LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
GAMUTS_14616 = "<https://w3id.org/ontomap/code/GAMUTS/14616>"
XSD = "http://www.w3.org/2001/XMLSchema#"


@pytest.fixture(scope="module")
def broken_graph() -> KnowledgeGraph:
    """The examples' graph with defects no reader lets through (labels, schemes, positions…)."""
    report = read_models([EXAMPLES])
    lines = list(GraphBuilder().graph(s.model for s in report.models).lines)

    def drop(start: str) -> None:
        nonlocal lines
        kept = [line for line in lines if not line.startswith(start)]
        assert len(kept) < len(lines), start
        lines = kept

    drop(f"<{ID}OIFMA_OMAP_000010.0> {RDFS_LABEL}")
    drop(f"<{ID}OIFMA_OMAP_000011> {RDFS_LABEL}")
    drop(f"<{ID}OIFM_OMAP_000001> {RDFS_LABEL}")
    drop(f"<{ID}OIFM_OMAP_000001> <{OIFM}oifmId>")
    drop(f"<{ID}OIFMA_OMAP_000020> <{OIFM}oifmId>")
    drop("<https://w3id.org/ontomap/scheme/LOINC> <http://www.w3.org/2004/02/skos/core#notation>")
    drop(f"<https://w3id.org/ontomap/scheme/LOINC> {RDFS_LABEL}")
    drop(f"<https://w3id.org/ontomap/scheme/LOINC> <{OIFM}codeNamespace>")
    drop("<http://loinc.org/rdf/9267-6> <http://www.w3.org/2004/02/skos/core#inScheme>")
    drop("<http://loinc.org/rdf/9270-0> <http://www.w3.org/2004/02/skos/core#notation>")
    drop(f"<{ID}OIFMA_OMAP_000013.2> <{OIFM}position>")
    drop(f"<{ID}OIFMA_OMAP_000021> <{OIFM}position>")
    drop(f"<{ID}OIFMA_OMAP_000020> <{OIFM}hasValue> <{ID}OIFMA_OMAP_000020.1>")
    lines += [
        f'<{ID}OIFMA_OMAP_000013.2> <{OIFM}position> "-1"^^<{XSD}integer> .\n',
        f"<{ID}OIFMA_OMAP_000010> <{OIFM}hasIndexCode> {GAMUTS_14616} .\n",
        f"<{ID}OIFMA_OMAP_000011> <{OIFM}hasValue> <{ID}OIFMA_OMAP_000011.0> .\n",
        f'<{ID}OIFMA_OMAP_000011> <{OIFM}minimum> "100"^^<{XSD}integer> .\n',
        f'<{ID}OIFMA_OMAP_000011> <{OIFM}unit> "cm" .\n',
        f'<{ID}OIFMA_OMAP_000011> <{OIFM}maximum> "300"^^<{XSD}integer> .\n',
        f'<{ID}OIFMA_OMAP_000012> <{OIFM}maxSelected> "0"^^<{XSD}integer> .\n',
        f'<{ID}OIFMA_OMAP_000012> <{OIFM}required> "maybe" .\n',
        f'<http://radlex.org/RID/RID1301> {RDFS_LABEL} "lungs" .\n',
        f'<{ID}OIFMA_OMAP_000013.1> <{OIFM}oifmId> "OIFMA_OMAP_13.1" .\n',
        f"<{ID}OIFMA_OMAP_000012> <{OIFM}hasIndexCode> <http://example.org/not-a-concept> .\n",
        f"<{ID}OIFM_OMAP_000001> <{OIFM}hasIndexCode> <http://example.org/not-a-concept> .\n",
        f"<{ID}OIFM_OMAP_000001> <{OIFM}anatomicLocation> <http://example.org/not-a-concept> .\n",
        f"<{ID}OIFMA_OMAP_000013.0> <{OIFM}hasIndexCode> <http://example.org/not-a-concept> .\n",
        f'<{ID}OIFMA_OMAP_000012.0> <{OIFM}position> "zero" .\n',
        f"<{ID}X-contributor-9> {RDF_TYPE} <{OIFM}Contributor> .\n",
    ]
    return KnowledgeGraph(lines)


def test_engines_agree(broken_graph: KnowledgeGraph) -> None:
    pytest.importorskip("pyshacl")
    fast = run_oxigraph(store_of(broken_graph.lines), load_shapes())
    reference = run_pyshacl(broken_graph)
    assert fast == reference
    # together with the source fixtures, every shape is broken somewhere
    broken = {result.rule for result in fast} | {r for r, _f, _l in SHACL_FIXTURES.values()}
    assert set(graph_rules()) - broken == set()


def test_engines_agree_on_the_examples(examples_graph: KnowledgeGraph) -> None:
    pytest.importorskip("pyshacl")
    assert run_oxigraph(store_of(examples_graph.lines), load_shapes()) == []
    assert run_pyshacl(examples_graph) == []


def test_shapes_use_only_declared_terms() -> None:
    """A misspelt oifm: term in the shapes would silently match nothing."""
    shapes = ox.parse(path=str(default_shapes_path()), format=ox.RdfFormat.TURTLE)
    used = {
        term.value
        for triple in shapes
        for term in (triple.subject, triple.predicate, triple.object)
        if isinstance(term, ox.NamedNode) and term.value.startswith(OIFM_NS)
    }
    assert used, "the shapes use no oifm: term?"
    assert used <= declared_terms(), sorted(used - declared_terms())


def test_json_that_is_no_model_is_one_finding(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text('{\n  "theme": "dark"\n}\n', encoding="utf-8")
    (finding,) = validate([path]).findings
    assert (finding.rule, finding.line) == ("read/unreadable", 1)
    assert "not a finding model" in finding.message


def test_unsupported_shape_is_refused(tmp_path: Path) -> None:
    shapes = tmp_path / "shapes.ttl"
    shapes.write_text(
        "@prefix sh: <http://www.w3.org/ns/shacl#> .\n"
        "@prefix ex: <http://example.org/> .\n"
        "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:property ex:p .\n"
        "ex:p sh:path ex:q ; sh:nodeKind sh:IRI .\n",
        encoding="utf-8",
    )
    (shape,) = load_shapes(shapes)
    with pytest.raises(UnsupportedShapeError, match="sh:nodeKind"):
        compile_shape(shape)


def test_every_shape_is_named_and_documented() -> None:
    docs = (Path(__file__).resolve().parents[1] / "docs" / "validate.md").read_text("utf-8")
    for rule in all_rules():
        assert f"`{rule}`" in docs, f"{rule} is not documented in docs/validate.md"


# -- the bundled examples and the seed ----------------------------------------------------------


def test_seed_is_clean() -> None:
    report = validate([SEED_MD], shacl=True)
    assert report.findings == ()
    assert (report.files, report.models) == (1, 1)


def test_examples_are_clean_but_for_the_deliberate_alias() -> None:
    pytest.importorskip("pyshacl")
    # solitary_pulmonary_nodule.fm.json writes SNOMEDCT once on purpose (to show aliases)
    for engine in ("oxigraph", "pyshacl"):
        report = validate([EXAMPLES], shacl=True, shacl_engine=engine)
        assert report.ok and report.exit_code() == 0
        assert [(f.rule, Path(f.file or "").name) for f in report.findings] == [
            ("code/system-spelling", "solitary_pulmonary_nodule.fm.json")
        ]
        assert report.exit_code(strict=True) == 1


# -- the real corpus ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus_validation(corpus_defs: Path, corpus_text: Path) -> ValidationReport:
    return validate([corpus_defs, corpus_text], shacl=True)


def test_corpus_has_no_errors(corpus_validation: ValidationReport) -> None:
    report = corpus_validation
    assert report.files == 2382 + 402
    assert report.errors == ()
    areas = {f.rule.split("/")[0] for f in report.findings}
    assert not areas & {"read", "structure", "identity", "graph"}, report.rule_counts()


def _lines_with(path: Path, pattern: str) -> list[int]:
    return [
        number
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1)
        if re.search(pattern, line)
    ]


def test_corpus_crosswalk_outliers(corpus_validation: ValidationReport, corpus_defs: Path) -> None:
    gcs = corpus_defs / "glasgow_coma_scale__gcs_.fm.json"
    found = {(f.entity, f.file, f.line) for f in corpus_validation.of_rule("crosswalk/outlier")}
    assert found == {
        (
            "RADLEX RID5655 ~ SNOMED 386554004",
            str(gcs),
            *_lines_with(gcs, '"code": "386554004"'),
        ),
        (
            "RADLEX RID5655 ~ SNOMED 363850001",
            str(gcs),
            *_lines_with(gcs, '"code": "363850001"'),
        ),
    }
    message = corpus_validation.of_rule("crosswalk/outlier")[0].message
    assert "on OIFMA_CDE_000062: 1 of its 2,206 uses (0.045%) in 1 finding" in message
    assert "SNOMED 261665006 is paired with it on 2,203 of its 2,206 uses (99.9%)" in message
    assert "3 of its 6 contexts (share 50.0%" in message and "), a template;" in message


# -- the crosswalk against an oracle that reads the JSON with json alone --------------------------

OracleCode = tuple[str, str]
#: The corpus's spellings of its systems, as the registry keys them (an unknown one fails loudly).
ORACLE_SYSTEMS = {
    "RADLEX": "RADLEX",
    "SNOMED": "SNOMED",
    "SNOMEDCT": "SNOMED",
    "LOINC": "LOINC",
    "GAMUTS": "GAMUTS",
    "RADELEMENT": "RADELEMENT",
}
ORACLE_FILLER = {"structure", "entire", "of", "the", "a", "an"}


def _oracle_normal(display: str) -> str:
    """A display's normal form as docs/mappings.md gives it: case folded, trailing
    parenthesised tags dropped, punctuation a word break, filler words dropped, words sorted."""
    text = display.casefold()
    while (stripped := re.sub(r"\s*\([^()]*\)\s*$", "", text)) != text:
        text = stripped
    words = re.findall(r"[^\W_]+", text)
    return " ".join(sorted([w for w in words if w not in ORACLE_FILLER] or words))


def _oracle_entities(folder: Path):
    """(file name, entity ID, index codes) of every finding, attribute and value."""
    for path in sorted(folder.glob("*.fm.json")):
        data = json.loads(path.read_text("utf-8"))
        yield path.name, data["oifm_id"], data.get("index_codes") or []
        for attribute in data.get("attributes") or []:
            yield path.name, attribute["oifma_id"], attribute.get("index_codes") or []
            for value in attribute.get("values") or []:
                yield path.name, value["value_code"], value.get("index_codes") or []


def _oracle_pairs(several: str, left: set[str], right: set[str]) -> bool:
    """Whether an entity with several codes of each system pairs two codes of normal forms
    ``left`` and ``right`` (see :func:`_oracle_outliers`)."""
    if several == "display":
        return bool((left & right) - {""})
    return several == "all"


def _oracle_outliers(
    folder: Path, several: str
) -> dict[tuple[OracleCode, OracleCode], tuple[int, int, OracleCode, int, frozenset[str]]]:
    """The outlier pairs of the JSON models in ``folder`` by the rule of docs/mappings.md,
    counted without ontomap: (A, B) is an outlier seen from A when the entities *pairing* A and
    B are under 5 % of the entities carrying A while another code of B's system is paired with
    A on 50 % or more. An entity with one code of a system pairs it with every code of another;
    one with two or more codes of each of two systems pairs them as ``several`` says: "display"
    (equal normal forms, the exact half of the engine's display rule), "all" or "none".

    Returns (A, B) → (entities pairing them, uses of A, the dominant code, its entities, the
    files of the entities pairing A and B)."""
    uses: dict[OracleCode, int] = defaultdict(int)
    paired: dict[tuple[OracleCode, OracleCode], set[tuple[str, str]]] = defaultdict(set)
    for file, entity, listed in _oracle_entities(folder):
        forms: dict[OracleCode, set[str]] = defaultdict(set)
        for code in listed:
            key = (ORACLE_SYSTEMS[code["system"]], str(code["code"]).strip())
            forms[key].add(_oracle_normal(code.get("display") or ""))
        by_system: dict[str, list[OracleCode]] = defaultdict(list)
        for key in forms:
            uses[key] += 1
            by_system[key[0]].append(key)
        for x, left in by_system.items():
            for y, right in by_system.items():
                by_display = x != y and len(left) >= 2 and len(right) >= 2
                for a in left if x != y else ():
                    for b in right:
                        if by_display and not _oracle_pairs(several, forms[a], forms[b]):
                            continue
                        paired[(a, b)].add((file, entity))
    partners: dict[tuple[OracleCode, str], dict[OracleCode, int]] = defaultdict(dict)
    for (a, b), entities in paired.items():
        partners[(a, b[0])][b] = len(entities)
    out = {}
    for (a, b), entities in paired.items():
        rivals = {c: n for c, n in partners[(a, b[0])].items() if c != b}
        if len(entities) / uses[a] < 0.05 and any(n / uses[a] >= 0.5 for n in rivals.values()):
            rival = min(rivals, key=lambda c: (-rivals[c], c))
            files = frozenset(file for file, _entity in entities)
            out[(a, b)] = (len(entities), uses[a], rival, rivals[rival], files)
    return out


def _pair_of(entity: str | None) -> tuple[OracleCode, ...]:
    """``("RADLEX", "RID5655"), ("SNOMED", "386554004")`` from a finding's entity."""
    return tuple((side.split()[0], side.split()[1]) for side in (entity or "").split(" ~ "))


def test_corpus_outliers_are_the_oracles(
    corpus_validation: ValidationReport, corpus_defs: Path, corpus_text: Path
) -> None:
    """Validation reports the oracle's outliers, each in the files of the entities pairing the
    codes, with the oracle's numbers. On the corpus how an entity with several codes of each
    system pairs them decides no flag (the three ways give the same outliers), so the oracle's
    exact-display rule stands in for the engine's display rule without loss."""
    # the Markdown files render JSON models, so the JSON decides (validate prefers it)
    json_ids = {entity for _file, entity, _codes in _oracle_entities(corpus_defs)}
    for path in corpus_text.glob("*.md"):
        title = path.read_text("utf-8").splitlines()[0]
        assert re.search(r"`(OIFM_\w+)`", title)[1] in json_ids, path  # type: ignore[index]
    oracle = _oracle_outliers(corpus_defs, "display")
    assert oracle == _oracle_outliers(corpus_defs, "all") == _oracle_outliers(corpus_defs, "none")
    assert len(oracle) == 2
    assert not {(b, a) for a, b in oracle} & oracle.keys()  # each a minority from one side only
    reported: dict[tuple[OracleCode, ...], list[Finding]] = defaultdict(list)
    for finding in corpus_validation.of_rule("crosswalk/outlier"):
        reported[_pair_of(finding.entity)].append(finding)
    assert reported.keys() == oracle.keys()
    for (a, b), (n, uses, rival, m, files) in oracle.items():
        findings = reported[(a, b)]
        assert sorted(Path(f.file or "").name for f in findings) == sorted(files)
        for finding in findings:
            assert f"{n:,} of its {uses:,} uses" in finding.message
            assert f"{' '.join(rival)} is paired with it on {m:,} of its {uses:,} uses" in (
                finding.message
            )


def test_corpus_outliers_are_the_crosswalks(
    corpus_validation: ValidationReport, corpus_store: Path
) -> None:
    """Every outlier pair of the store's materialised crosswalk (what lookup and mappings
    read), and no other, is reported, quoting that pair's numbers."""
    reported = {_pair_of(f.entity): f for f in corpus_validation.of_rule("crosswalk/outlier")}
    with Store(corpus_store, read_only=True) as store:
        flagged = [p for p in CrosswalkReader(store).pairs() if p.flag == "outlier"]
    oriented = {}
    for pair in flagged:
        forward = ((pair.source.system, pair.source.code), (pair.target.system, pair.target.code))
        oriented[forward if forward in reported else forward[::-1]] = (
            pair if forward in reported else pair.reversed()
        )
    assert oriented.keys() == reported.keys()
    for key, pair in oriented.items():
        message = reported[key].message
        evidence = pair.paired
        assert pair.status == "paired"
        assert f"{evidence.entity_count:,} of its {pair.source_uses:,} uses" in message
        assert f"in {evidence.findings:,} finding" in message
        assert f"{evidence.context_count:,} of its {pair.source_contexts:,} contexts" in message
        assert f"(share {pair.share:.1%}: {evidence.contexts[0].context} in" in message
        assert ("), a template;" if pair.template else "), not a template;") in message


def test_corpus_outliers_are_the_lookups(
    corpus_validation: ValidationReport, corpus_store: Path
) -> None:
    flagged = {
        f.entity.split(" ~ ")[1].split()[1]  # type: ignore[union-attr]
        for f in corpus_validation.of_rule("crosswalk/outlier")
    }
    with Store(corpus_store, read_only=True) as store:
        result = lookup(store, "RADLEX:RID5655", to="SNOMED")
    assert {m.code for m in result.matches if m.flag == "outlier"} == flagged


def test_the_crosswalk_count_leaves_the_collector_as_it_was() -> None:
    """The garbage collector, paused while the engine counts, runs again afterwards, or stays
    paused if the caller had paused it; the crosswalk is the engine's either way."""
    import gc

    models = [source.model for source in read_models([INVALID / "crosswalk-outlier"]).models]
    engine = build_crosswalk([e for model in models for e in entities_of_model(model)])
    assert gc.isenabled()
    assert crosswalk_of(models).pairs == engine.pairs
    assert gc.isenabled()
    gc.disable()
    try:
        assert crosswalk_of(models).pairs == engine.pairs
        assert not gc.isenabled()
    finally:
        gc.enable()


def _coded_model(number: int, codes: list[tuple[str, str, str]]) -> dict:
    """A valid model ``OIFM_TEST_{number}`` whose finding carries ``codes`` (system, code,
    display)."""
    return {
        "oifm_id": f"OIFM_TEST_{number:06d}",
        "name": f"coded finding {number}",
        "description": "A finding with index codes",
        "index_codes": [{"system": s, "code": c, "display": d} for s, c, d in codes],
        "attributes": [
            {
                "oifma_id": f"OIFMA_TEST_{number:06d}",
                "name": "presence",
                "type": "choice",
                "values": [
                    {"value_code": f"OIFMA_TEST_{number:06d}.0", "name": "absent"},
                    {"value_code": f"OIFMA_TEST_{number:06d}.1", "name": "present"},
                ],
            }
        ],
    }


LIVER = [("RADLEX", "RID58", "liver"), ("SNOMED", "10200004", "Liver structure (body structure)")]
PANCREAS = [("RADLEX", "RID170", "pancreas"), ("SNOMED", "15776009", "Pancreatic structure")]


def test_a_co_listed_pair_is_no_outlier(tmp_path: Path) -> None:
    """RID58 "liver" is paired with SNOMED "Liver structure" on 31 of its 32 uses. On one
    entity it is listed with the pancreas codes too, whose displays match neither liver code:
    co-listed, not paired, so only the entity that lists RID58 and 15776009 alone pairs them
    (1 of 32 uses, an outlier). Plain co-indexing would count 2 of 32 (6 %: no outlier), and
    flag SNOMED 10200004 ~ RADLEX RID170 instead (listed on 1 of the SNOMED code's 31 uses)."""
    models = [_coded_model(n, LIVER) for n in range(30)]
    models.append(_coded_model(30, [*LIVER, *PANCREAS]))
    models.append(_coded_model(31, [LIVER[0], PANCREAS[1]]))
    for model in models:
        path = tmp_path / f"{model['oifm_id'].lower()}.fm.json"
        path.write_text(json.dumps(model, indent=2), encoding="utf-8")
    (finding,) = validate([tmp_path]).of_rule("crosswalk/outlier")
    pairing = tmp_path / "oifm_test_000031.fm.json"
    assert (finding.entity, finding.file) == ("RADLEX RID58 ~ SNOMED 15776009", str(pairing))
    assert finding.line == _lines_with(pairing, '"code": "15776009"')[0]
    assert "1 of its 32 uses (3.1%) in 1 finding" in finding.message
    assert "SNOMED 10200004 is paired with it on 31 of its 32 uses (96.9%)" in finding.message
    assert finding.message.endswith(f"files with this pairing: {pairing}")
    oracle = _oracle_outliers(tmp_path, "display")
    assert oracle.keys() == {(("RADLEX", "RID58"), ("SNOMED", "15776009"))}
    # plain co-indexing would flag another pair: SNOMED "Liver structure" beside RID170
    co_indexing = _oracle_outliers(tmp_path, "all")
    assert co_indexing.keys() == {(("SNOMED", "10200004"), ("RADLEX", "RID170"))}


def _oversized_model(radlex: int, snomed: int) -> dict:
    """A model whose attribute lists ``radlex`` RadLex and ``snomed`` SNOMED CT codes, the
    first three of each with displays of the same normal form."""
    model = _coded_model(1, [])
    codes = [
        {"system": "RADLEX", "code": f"RID{i + 1}", "display": f"organ {i}"} for i in range(radlex)
    ]
    codes += [
        {
            "system": "SNOMED",
            "code": str(100000 + i),
            "display": f"Organ {i} structure" if i < 3 else f"tissue {i}",
        }
        for i in range(snomed)
    ]
    model["attributes"][0]["index_codes"] = codes
    return model


def test_an_oversized_entity_is_reported(tmp_path: Path) -> None:
    """An entity whose codes the engine pairs by equal displays only is ``crosswalk/skipped``,
    at its first code; one at the engine's bound is compared pair by pair and not reported."""
    from ontomap.crosswalk import MAX_COMPARED_PAIRS

    snomed = 100
    radlex = MAX_COMPARED_PAIRS // snomed + 1
    path = tmp_path / "oversized.fm.json"
    text = json.dumps(_oversized_model(radlex, snomed), indent=2)
    path.write_text(text, encoding="utf-8")
    (finding,) = validate([path]).of_rule("crosswalk/skipped")
    assert (finding.severity, finding.file, finding.entity) == (
        "warning",
        str(path),
        "OIFMA_TEST_000001",
    )
    assert finding.line == text[: text.index('"RID1"')].count("\n") + 1
    assert f"({radlex:,} RADLEX, {snomed:,} SNOMED)" in finding.message
    path.write_text(json.dumps(_oversized_model(radlex - 1, snomed)), encoding="utf-8")
    assert validate([path]).of_rule("crosswalk/skipped") == ()


def test_fixture_outlier_is_the_lookups(tmp_path: Path) -> None:
    report = read_models([INVALID / "crosswalk-outlier"])
    with Store(tmp_path / "kg") as store:
        store.load(report.models)
        result = lookup(store, "RADLEX:RID28473", to="SNOMED")
    assert {m.code for m in result.matches if m.flag == "outlier"} == {"272519000"}
    (finding,) = validate([INVALID / "crosswalk-outlier"]).findings
    assert finding.entity == "RADLEX RID28473 ~ SNOMED 272519000"


def test_corpus_display_disagreement(
    corpus_validation: ValidationReport, corpus_defs: Path
) -> None:
    brain = corpus_defs / "global_brain_volumes.fm.json"
    text = brain.read_text("utf-8").splitlines()
    # the RID6434 codes of that file without a display: the next line closes the code object
    without = [
        number
        for number in _lines_with(brain, '"code": "RID6434"')
        if text[number].strip().startswith("}")
    ]
    assert len(without) == 6
    missing = corpus_validation.of_rule("code/display-missing")
    in_json = {(f.line, f.entity) for f in missing if f.file == str(brain)}
    assert in_json == {(line, "RADLEX RID6434") for line in without}
    assert all("'brain'" in f.message for f in missing)
    # and the same six in its Markdown rendering
    assert sum(f.file.endswith("global_brain_volumes.md") for f in missing) == 6  # type: ignore[union-attr]
    # the only code given different displays in the corpus
    assert {f.entity for f in missing} == {"RADLEX RID6434"}
    assert not corpus_validation.of_rule("code/display-conflict")
    assert not corpus_validation.of_rule("code/display-varies")


def test_corpus_system_spellings(corpus_validation: ValidationReport) -> None:
    spelling = corpus_validation.of_rule("code/system-spelling")
    assert spelling and all("'SNOMEDCT'" in f.message for f in spelling)


def test_corpus_markdown_matches_json(corpus_defs: Path, corpus_text: Path) -> None:
    for path in sorted(corpus_text.glob("*.md"))[:60]:
        source = corpus_defs / (path.name.removesuffix(".md") + ".fm.json")
        markdown, _w = read_markdown(path, path.read_text("utf-8"))
        model, _w = read_json(source, source.read_text("utf-8"))
        assert model_differences(markdown, model) == [], path.name
        assert apply_markdown_losses(model).anatomic_locations == ()


# -- the report -----------------------------------------------------------------------------------


def test_json_report_is_stable_and_documented_shape() -> None:
    first = validate([INVALID]).to_json()
    assert validate([INVALID]).to_json() == first
    data = json.loads(first)
    assert set(data) == {"summary", "findings"}
    summary = data["summary"]
    assert set(summary) == {
        "version",
        "files",
        "models",
        "shacl",
        "errors",
        "warnings",
        "infos",
        "rules",
    }
    assert summary["errors"] == sum(f["severity"] == "error" for f in data["findings"])
    assert sum(summary["rules"].values()) == len(data["findings"])
    for finding in data["findings"]:
        assert list(finding) == ["rule", "severity", "file", "line", "entity", "message", "hint"]
        assert finding["hint"]
    keys = [
        (f["file"] or "", f["line"] or 0, ["error", "warning", "info"].index(f["severity"]))
        for f in data["findings"]
    ]
    assert keys == sorted(keys)


def test_text_report_groups_by_severity() -> None:
    fixtures = ["code-syntax.fm.json", "code-no-display.fm.json", "code-unknown-system.fm.json"]
    text = validate([INVALID / name for name in fixtures]).to_text()
    assert text.index("errors (1)") < text.index("warnings (1)") < text.index("info (1)")
    assert re.search(r"code-syntax\.fm\.json:29: code/syntax \[RADLEX 28472\]", text)
    assert "      fix: " in text
    assert text.rstrip().splitlines()[-1].startswith("validated ")
    assert "fix: " not in validate([INVALID]).to_text(hints=False)


def test_api_arguments() -> None:
    assert validate(str(SEED_MD)).files == 1  # one path, not an iterable of characters
    with pytest.raises(OntomapError, match="unknown SHACL engine 'jena'"):
        validate([SEED_MD], shacl=True, shacl_engine="jena")


def test_finding_is_a_frozen_value() -> None:
    finding = Finding("code/syntax", "error", "bad", "fix it", "a.json", 3, "RADLEX 1")
    assert str(finding) == "a.json:3: error: code/syntax [RADLEX 1]: bad"
    with pytest.raises(AttributeError):
        finding.line = 4  # type: ignore[misc]
    report = ValidationReport((finding, finding), files=1, models=1)
    assert report.findings == (finding,)


# -- locating items -----------------------------------------------------------------------------


def test_json_locator() -> None:
    text = '{\n  "a": [\n    {"b": 1},\n    {\n      "c": "x"\n    }\n  ],\n  "d": null\n}\n'
    locator = JsonLocator(text)
    assert locator.line(()) == 1
    assert locator.line(("a",)) == 2
    assert locator.line(("a", 0, "b")) == 3
    assert locator.line(("a", 1)) == 4
    assert locator.line(("a", 1, "c")) == 5
    assert locator.line(("a", 1, "missing")) == 4  # the nearest enclosing item
    assert locator.line(("d",)) == 8


def test_markdown_locator() -> None:
    text = SEED_MD.read_text("utf-8")
    locator = read_markdown_record(SEED_MD, text)
    assert not locator.problems
    assert isinstance(locator, MarkdownLocator)
    lines = text.splitlines()
    assert locator.title == (1, "OIFM_GMTS_005529")
    heading = locator.line(("attributes", 1))
    assert heading is not None and lines[heading - 1].startswith("### ")
    bullet = locator.line(("attributes", 0, "values", 1, "name"))
    assert bullet is not None and lines[bullet - 1].startswith("- **")
    codes = locator.line(("attributes", 0, "values", 1, "index_codes", 0, "code"))
    assert codes is not None and lines[codes - 1].startswith("_")
    assert locator.system_spelling(codes, lines[codes - 1].split()[1]) in ("RADLEX", "SNOMED")


# -- the command line ---------------------------------------------------------------------------


def _run(*args: str):
    return CliRunner().invoke(main, ["validate", *args])


def test_cli_text_and_exit_0() -> None:
    result = _run(str(EXAMPLES))
    assert result.exit_code == 0, result.output
    assert "code/system-spelling" in result.output
    assert "validated 3 files (3 models): 0 errors, 1 warning, 0 info" in result.output


def test_cli_strict_makes_warnings_fail() -> None:
    assert _run(str(EXAMPLES), "--strict").exit_code == 1
    assert _run(str(SEED_MD), "--strict").exit_code == 0


def test_cli_errors_exit_1() -> None:
    result = _run(str(INVALID / "code-syntax.fm.json"))
    assert result.exit_code == 1
    assert "code-syntax.fm.json:29: code/syntax" in result.output


def test_cli_json() -> None:
    result = _run(str(INVALID / "crosswalk-outlier"), "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["summary"]["warnings"] == 1
    assert data["findings"][0]["rule"] == "crosswalk/outlier"
    assert data["findings"][0]["line"] == 23


def test_cli_shacl() -> None:
    fixture = str(INVALID / "graph-gamuts-on-findings-only.fm.json")
    assert _run(fixture).exit_code == 0
    for extra in (["--shacl"], ["--shacl-engine", "pyshacl"], ["--shacl-engine", "oxigraph"]):
        result = _run(fixture, *extra, "--no-hints")
        assert result.exit_code == 1, result.output
        assert ":24: graph/gamuts-on-findings-only [OIFMA_TEST_000030.1]" in result.output
        assert "SHACL included" in result.output
        assert "fix:" not in result.output


@pytest.mark.parametrize(
    "args",
    [
        [],
        [str(EXAMPLES), "--format", "yaml"],
        [str(EXAMPLES), "--shacl-engine", "jena"],
    ],
)
def test_cli_usage_errors_exit_2(args: list[str]) -> None:
    assert _run(*args).exit_code == 2


def test_cli_help() -> None:
    result = _run("--help")
    assert result.exit_code == 0
    assert "Examples:" in result.output and "Exit codes:" in result.output
