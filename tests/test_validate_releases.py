"""Tests of ``ontomap validate --store`` (ontomap.validate.releases): index codes against the
terminology releases loaded in a store, the ``release/…`` rules and the fix list.

The models in tests/resources/releases/models/ and .../chain/ use codes that the release
fixtures (tests/resources/releases/) declare active, inactive, replaced or leave out. Every
expectation comes from the fixture files themselves, read here with ``csv``, ``json`` and
rdflib (an oracle that follows the rules of docs/validate.md), never from the code under test.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import rdflib
from click.testing import CliRunner
from conftest import RESOURCES

from ontomap.cli import main
from ontomap.releases import Releases
from ontomap.store import Store
from ontomap.validate import RELEASE_RULES, RULES, all_rules, fixes_json, validate
from ontomap.validate.releases import SEMANTIC_TAGS

RELEASES = RESOURCES / "releases"
MODELS = RELEASES / "models"
CHAIN = RELEASES / "chain"
RADLEX = RELEASES / "radlex" / "RadLex.owl"
SNOMED = RELEASES / "snomed"
SNAPSHOT = SNOMED / "SnomedCT_TestRF2_PRODUCTION_20250101T120000Z" / "Snapshot"
LOINC = RELEASES / "loinc" / "Loinc_9.99" / "LoincTable"
GAMUTS = RELEASES / "gamuts" / "gamuts-test.ttl"
GAMUTS_PROFILE = RELEASES / "gamuts" / "gamuts-test.toml"
GAMUTS_CHAIN = CHAIN / "gamuts-chain.ttl"

FSN, SYNONYM = "900000000000003001", "900000000000013009"
US, PREFERRED = "900000000000509007", "900000000000548007"
REPLACED_BY, SAME_AS = "900000000000526001", "900000000000527005"
RELEASE_RULE_IDS = {
    "release/code-absent",
    "release/code-inactive",
    "release/display-mismatch",
    "release/semantic-tag",
}


# -- the oracle: the fixture releases read independently ------------------------------------


@dataclass
class OracleConcept:
    active: bool
    preferred: str | None
    names: set[str] = field(default_factory=set)
    replaced_by: list[str] = field(default_factory=list)
    fsn: str | None = None


def normal(text: str) -> str:
    """docs/validate.md: case, white space and punctuation ignored."""
    return re.sub(r"[\W_]+", " ", text.casefold()).strip()


def _tsv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def snomed_oracle() -> dict[str, OracleConcept]:
    terminology, refset = SNAPSHOT / "Terminology", SNAPSHOT / "Refset"
    concepts = {
        row["id"]: OracleConcept(row["active"] == "1", None)
        for row in _tsv(terminology / "sct2_Concept_Snapshot_INT_20250101.txt")
    }
    preferred = {
        row["referencedComponentId"]
        for row in _tsv(refset / "Language" / "der2_cRefset_LanguageSnapshot-en_INT_20250101.txt")
        if row["active"] == "1" and row["refsetId"] == US and row["acceptabilityId"] == PREFERRED
    }
    for row in _tsv(terminology / "sct2_Description_Snapshot-en_INT_20250101.txt"):
        if row["active"] != "1":
            continue
        concept = concepts[row["conceptId"]]
        term = row["term"]
        concept.names.add(normal(term))
        if row["typeId"] == FSN:
            concept.fsn = term
            concept.names.add(normal(re.sub(r"\s*\([^()]*\)\s*$", "", term)))
        elif row["id"] in preferred:
            concept.preferred = term
    for row in _tsv(refset / "Content" / "der2_cRefset_AssociationSnapshot_INT_20250101.txt"):
        if row["active"] == "1" and row["refsetId"] in (REPLACED_BY, SAME_AS):
            concepts[row["referencedComponentId"]].replaced_by.append(row["targetComponentId"])
    return concepts


def radlex_oracle() -> dict[str, OracleConcept]:
    graph = rdflib.Graph().parse(RADLEX, format="xml")
    rid = "http://www.radlex.org/RID/"

    def code(node: rdflib.term.Node) -> str:
        return str(node).rsplit("/", 1)[-1]

    parents: dict[str, set[str]] = defaultdict(set)
    for s, o in graph.subject_objects(rdflib.RDFS.subClassOf):
        if isinstance(o, rdflib.URIRef):
            parents[code(s)].add(code(o))

    def under_obsolete_root(c: str, seen: frozenset[str] = frozenset()) -> bool:
        return any(p == "RID15849" or under_obsolete_root(p, seen | {c}) for p in parents[c])

    out = {}
    for s in set(graph.subjects(rdflib.RDF.type, rdflib.OWL.Class)):
        c = code(s)
        labels = [str(o) for o in graph.objects(s, rdflib.RDFS.label) if o.language == "en"]
        synonyms = [str(o) for o in graph.objects(s, rdflib.URIRef(rid + "Synonym"))]
        old = [str(o) for o in graph.objects(s, rdflib.URIRef(rid + "Preferred_Name_for_Obsolete"))]
        replaced = [code(o) for o in graph.objects(s, rdflib.URIRef(rid + "Replaced_by"))]
        deprecated = (s, rdflib.OWL.deprecated, None) in graph
        obsolete = under_obsolete_root(c) or bool(old or replaced) or deprecated
        names = {normal(n) for n in labels + synonyms + old}
        names |= {normal(str(o)) for o in graph.objects(s, rdflib.RDFS.label)}
        out[c] = OracleConcept(not obsolete, (labels or old or [None])[0], names, replaced)
    return out


def loinc_oracle() -> dict[str, OracleConcept]:
    with open(LOINC / "Loinc.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    out = {}
    for row in rows:
        names = {
            normal(row[k])
            for k in ("LONG_COMMON_NAME", "SHORTNAME", "DisplayName", "CONSUMER_NAME")
            if row[k]
        }
        out[row["LOINC_NUM"]] = OracleConcept(
            row["STATUS"] != "DEPRECATED", row["LONG_COMMON_NAME"], names
        )
    with open(LOINC / "MapTo.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            out[row["LOINC"]].replaced_by.append(row["MAP_TO"])
    return out


def gamuts_oracle(path: Path) -> dict[str, OracleConcept]:
    graph = rdflib.Graph().parse(path, format="turtle")
    ns = "http://example.org/test-gamuts/entity/"
    replaced_by = rdflib.URIRef("http://purl.obolibrary.org/obo/IAO_0100001")
    out = {}
    for s in set(graph.subjects(rdflib.RDF.type, rdflib.OWL.Class)):
        c = str(s).removeprefix(ns)
        if not c.isdigit():
            continue
        pref = [str(o) for o in graph.objects(s, rdflib.SKOS.prefLabel)]
        labels = [str(o) for o in graph.objects(s, rdflib.RDFS.label)]
        alt = [str(o) for o in graph.objects(s, rdflib.SKOS.altLabel)]
        replaced = [str(o).removeprefix(ns) for o in graph.objects(s, replaced_by)]
        deprecated = (s, rdflib.OWL.deprecated, None) in graph or bool(replaced)
        names = {normal(n) for n in pref + labels + alt}
        out[c] = OracleConcept(not deprecated, (pref or labels or [None])[0], names, replaced)
    return out


#: Syntax as docs/validate.md describes it (codes with a code/… error are not looked up).
SYNTAX = {
    "RADLEX": r"RID[0-9]+",
    "SNOMED": r"[1-9][0-9]{5,17}",
    "LOINC": r"[0-9]{1,5}-[0-9]",
    "GAMUTS": r"[0-9]+",
}


@dataclass(frozen=True)
class Use:
    file: str
    system: str
    code: str
    display: str | None
    path: tuple[str | int, ...]
    line: int
    place: str | None


def json_uses(path: Path) -> Iterator[Use]:
    data = json.loads(path.read_text("utf-8"))
    lines = path.read_text("utf-8").splitlines()

    def line_of(code: str) -> int:
        found = [i for i, text in enumerate(lines, 1) if f'"code": "{code}"' in text]
        assert len(found) == 1, code
        return found[0]

    def entries(obj: dict[str, Any], path: tuple[str | int, ...], place: str | None):
        for k, entry in enumerate(obj.get("index_codes") or []):
            code = entry["code"]
            yield Use(
                str(path_),
                entry["system"],
                code,
                entry.get("display"),
                (*path, "index_codes", k),
                line_of(code),
                place,
            )

    path_ = path
    yield from entries(data, (), "finding")
    for i, attribute in enumerate(data["attributes"]):
        yield from entries(attribute, ("attributes", i), None)
        presence = "presence" in attribute["name"].casefold()
        for j, value in enumerate(attribute.get("values") or []):
            place = "presence value" if presence else None
            yield from entries(value, ("attributes", i, "values", j), place)


def markdown_uses(path: Path) -> Iterator[Use]:
    """The codes of the Markdown fixture: ``SYSTEM CODE display`` entries on its code lines."""
    attribute = None
    for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if line.startswith("### "):
            attribute = line
        text = line.strip()
        if not (text.startswith("**Codes") or text.startswith("_")):
            continue
        body = re.sub(r"^\*\*Codes:?\*\*:?\s*|^_|_$", "", text)
        for entry in body.split("; "):
            system, code, *display = entry.split(" ")
            place = "finding" if attribute is None else None
            if attribute is not None and text.startswith("_") and "Presence" in attribute:
                place = "presence value"
            yield Use(str(path), system, code, " ".join(display) or None, (), number, place)


def expected(
    uses: list[Use], oracle: dict[str, dict[str, OracleConcept]], tags: bool
) -> tuple[Counter[tuple[str, str, int, str]], list[dict[str, Any]]]:
    """(rule, file, line, "SYSTEM code") of each expected finding, and the expected fixes."""
    findings: Counter[tuple[str, str, int, str]] = Counter()
    fixes: list[dict[str, Any]] = []
    for use in uses:
        concepts = oracle.get(use.system)
        if concepts is None or not re.fullmatch(SYNTAX[use.system], use.code):
            continue
        key = (use.file, use.line, f"{use.system} {use.code}")
        concept = concepts.get(use.code)
        if concept is None:
            findings[("release/code-absent", *key)] += 1
            continue
        replacement = None
        if not concept.active:
            findings[("release/code-inactive", *key)] += 1
            current, seen = concept, {use.code}
            while len(current.replaced_by) == 1 and current.replaced_by[0] not in seen:
                seen.add(current.replaced_by[0])
                nxt = concepts.get(current.replaced_by[0])
                if nxt is None:
                    break
                if nxt.active:
                    replacement = (current.replaced_by[0], nxt)
                    break
                current = nxt
        mismatch = use.display is not None and normal(use.display) not in concept.names
        if mismatch:
            findings[("release/display-mismatch", *key)] += 1
        if tags and use.system == "SNOMED" and use.place and concept.fsn:
            tag = re.search(r"\(([^()]*)\)\s*$", concept.fsn)
            if tag and tag.group(1) not in SEMANTIC_TAGS[use.place]:
                findings[("release/semantic-tag", *key)] += 1
        fixes.extend(_expected_fixes(use, concept, replacement, mismatch))
    return findings, fixes


def _expected_fixes(use: Use, concept: OracleConcept, replacement, mismatch: bool) -> list:
    def pointer(member: str) -> str:
        return "".join(f"/{p}" for p in (*use.path, member))

    if use.file.endswith(".md"):
        old = f"{use.system} {use.code}" + (f" {use.display}" if use.display else "")
        if replacement is not None:
            code, target = replacement
            new = f"{use.system} {code}" + (f" {target.preferred}" if use.display else "")
            return [
                {
                    "file": use.file,
                    "line": use.line,
                    "rule": "release/code-inactive",
                    "old": old,
                    "new": new,
                }
            ]
        if mismatch and concept.preferred:
            new = f"{use.system} {use.code} {concept.preferred}"
            return [
                {
                    "file": use.file,
                    "line": use.line,
                    "rule": "release/display-mismatch",
                    "old": old,
                    "new": new,
                }
            ]
        return []
    out = []
    rule = "release/code-inactive"
    if replacement is not None:
        code, target = replacement
        out.append(
            {
                "file": use.file,
                "pointer": pointer("code"),
                "line": use.line,
                "rule": rule,
                "old": use.code,
                "new": code,
            }
        )
        if use.display is not None and normal(use.display) not in target.names:
            out.append(
                {
                    "file": use.file,
                    "pointer": pointer("display"),
                    "line": use.line,
                    "rule": rule,
                    "old": use.display,
                    "new": target.preferred,
                }
            )
    elif mismatch and concept.preferred:
        out.append(
            {
                "file": use.file,
                "pointer": pointer("display"),
                "line": use.line,
                "rule": "release/display-mismatch",
                "old": use.display,
                "new": concept.preferred,
            }
        )
    return out


def _sorted_fixes(fixes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(fixes, key=lambda f: (f["file"], f["line"], f.get("pointer", ""), f["rule"]))


def _release_findings(report) -> Counter[tuple[str, str, int, str]]:
    return Counter(
        (f.rule, f.file, f.line, f.entity) for f in report.findings if f.rule in RELEASE_RULE_IDS
    )


# -- stores -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The four fixture releases."""
    path = tmp_path_factory.mktemp("validate-releases") / "kg"
    with Store(path) as opened:
        releases = Releases(opened)
        releases.load(RADLEX)
        releases.load(SNOMED)
        releases.load(LOINC.parent)
        releases.load(GAMUTS, profile=GAMUTS_PROFILE)
    return path


@pytest.fixture(scope="module")
def chain_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("validate-chain") / "kg"
    with Store(path) as opened:
        Releases(opened).load(GAMUTS_CHAIN, profile=GAMUTS_PROFILE)
    return path


@pytest.fixture(scope="module")
def oracle() -> dict[str, dict[str, OracleConcept]]:
    return {
        "RADLEX": radlex_oracle(),
        "SNOMED": snomed_oracle(),
        "LOINC": loinc_oracle(),
        "GAMUTS": gamuts_oracle(GAMUTS),
    }


def _model_uses() -> list[Use]:
    return [
        *json_uses(MODELS / "release_codes.fm.json"),
        *markdown_uses(MODELS / "release_codes.md"),
    ]


# -- the bulk read --------------------------------------------------------------------------


def test_bulk_concepts_equal_single_reads(store: Path, oracle) -> None:
    with Store(store, read_only=True) as opened:
        releases = Releases(opened)
        for system, concepts in oracle.items():
            codes = [*concepts, "RID99999" if system == "RADLEX" else "999999999"]
            bulk = releases.concepts(codes, system)
            assert set(bulk) == set(concepts), system
            for code in codes:
                assert bulk.get(code) == releases.concept(code, system), (system, code)


def test_bulk_concepts_of_nothing(store: Path) -> None:
    with Store(store, read_only=True) as opened:
        assert Releases(opened).concepts([], "SNOMED") == {}


# -- the rules --------------------------------------------------------------------------------


def test_findings_and_fixes_follow_the_fixture_releases(store: Path, oracle) -> None:
    report = validate([MODELS], store=store, semantic_tags=True)
    want, want_fixes = expected(_model_uses(), oracle, tags=True)
    assert _release_findings(report) == want
    # every kind of finding is exercised by the fixtures
    assert {rule for rule, *_ in want} == RELEASE_RULE_IDS
    got = [json.loads(json.dumps(f.to_dict())) for f in report.fixes]
    assert got == _sorted_fixes(want_fixes)
    assert json.loads(fixes_json(report.fixes)) == got


def test_semantic_tags_only_on_request(store: Path, oracle) -> None:
    report = validate([MODELS], store=store)
    want, _ = expected(_model_uses(), oracle, tags=False)
    assert _release_findings(report) == want
    assert not report.of_rule("release/semantic-tag")


def test_messages_and_hints_name_the_replacement_and_preferred_term(store: Path) -> None:
    report = validate([MODELS / "release_codes.fm.json"], store=store)
    snomed = snomed_oracle()
    (retired,) = [f for f in report.of_rule("release/code-inactive") if "1005009" in f.entity]
    (target,) = snomed["1005009"].replaced_by
    assert f"SNOMED {target} {snomed[target].preferred!r}" in retired.hint
    assert retired.severity == "warning" and retired.hint.startswith("replace it with")
    (mismatch,) = report.of_rule("release/display-mismatch")
    assert repr(snomed["1003002"].preferred) in mismatch.message
    assert mismatch.severity == "warning"
    (absent,) = [f for f in report.of_rule("release/code-absent") if "SNOMED" in f.entity]
    assert absent.severity == "error" and "SNOMED 20250101" in absent.message
    # an obsolete RadLex code without a replacement: no replacement hint, no fix
    (child,) = [f for f in report.of_rule("release/code-inactive") if f.entity == "RADLEX RID41"]
    assert "no usable replacement" in child.hint
    assert not [f for f in report.fixes if f.old == "RID41"]


def test_codes_with_syntax_errors_and_systems_without_release_are_not_checked(
    store: Path,
) -> None:
    report = validate([MODELS / "release_codes.fm.json"], store=store)
    entities = {f.entity for f in report.findings if f.rule in RELEASE_RULE_IDS}
    assert "RADLEX 28472" not in entities  # code/syntax already
    assert report.of_rule("code/syntax")
    assert not {e for e in entities if e.startswith(("RADELEMENT", "TESTSYS"))}
    assert dict(report.unchecked) == {"RADELEMENT": 1, "TESTSYS": 1}
    used = {(r.system, r.version) for r in report.releases or ()}
    assert used == {
        ("GAMUTS", "2024-06"),
        ("LOINC", "9.99"),
        ("RADLEX", "9.9"),
        ("SNOMED", "20250101"),
    }
    text = report.to_text()
    assert "checked against releases: GAMUTS 2024-06 (1 code), LOINC 9.99 (2 codes)" in text
    assert "no release loaded for RADELEMENT (1 code), TESTSYS (1 code)" in text


def test_replacement_chains(chain_store: Path) -> None:
    oracle = {"GAMUTS": gamuts_oracle(GAMUTS_CHAIN)}
    uses = list(json_uses(CHAIN / "chain.fm.json"))
    report = validate([CHAIN], store=chain_store)
    want, want_fixes = expected(uses, oracle, tags=False)
    assert _release_findings(report) == want
    assert [f.to_dict() for f in report.fixes] == _sorted_fixes(want_fixes)
    # 500 -> 600 (inactive) -> 700: one certain fix to 700, through 600
    assert [(f.old, f.new) for f in report.fixes if f.pointer.endswith("/code")] == [("500", "700")]
    hints = {f.entity: f.hint for f in report.of_rule("release/code-inactive")}
    assert "GAMUTS 700" in hints["GAMUTS 500"] and "through 600" in hints["GAMUTS 500"]
    assert "several replacements" in hints["GAMUTS 800"]
    assert "cycle" in hints["GAMUTS 910"]
    assert "GAMUTS 999 is not in the release" in hints["GAMUTS 930"]
    assert report.ok  # warnings only


def test_without_store_the_report_is_as_before() -> None:
    report = validate([MODELS])
    assert report.releases is None and report.fixes == ()
    assert not [f for f in report.findings if f.rule in RELEASE_RULE_IDS]
    assert "releases" not in report.to_dict()["summary"]
    assert "checked against releases" not in report.to_text()


def test_rules_are_registered_with_hints() -> None:
    assert set(RELEASE_RULES) == RELEASE_RULE_IDS
    assert not set(RULES) & RELEASE_RULE_IDS  # RULES: what every run can report
    for rule in RELEASE_RULE_IDS:
        assert all_rules()[rule] == RELEASE_RULES[rule]
        assert RELEASE_RULES[rule].hint and RELEASE_RULES[rule].summary
    assert RELEASE_RULES["release/code-absent"].severity == "error"
    others = RELEASE_RULE_IDS - {"release/code-absent"}
    assert {RELEASE_RULES[r].severity for r in others} == {"warning"}


def test_fixes_apply_and_leave_nothing_to_fix(store: Path, tmp_path: Path) -> None:
    """The fix list is machine-applicable: applied, a second run finds no fix to make."""
    folder = tmp_path / "models"
    shutil.copytree(MODELS, folder)
    report = validate([folder], store=store)
    assert report.fixes
    apply_fixes(json.loads(fixes_json(report.fixes)))
    again = validate([folder], store=store)
    assert again.fixes == ()
    assert not again.of_rule("release/display-mismatch")
    inactive = {f.entity for f in again.of_rule("release/code-inactive")}
    assert inactive == {"RADLEX RID41"}  # the one without a replacement


def apply_fixes(fixes: list[dict[str, Any]]) -> None:
    """Apply a fix list as docs/validate.md describes it (a reference applier)."""
    by_file: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for fix in fixes:
        by_file[fix["file"]].append(fix)
    for name, group in by_file.items():
        path = Path(name)
        if "pointer" in group[0]:
            data = json.loads(path.read_text("utf-8"))
            for fix in group:
                *parents, last = fix["pointer"].lstrip("/").split("/")
                node: Any = data
                for step in parents:
                    node = node[int(step)] if isinstance(node, list) else node[step]
                assert node[last] == fix["old"]
                node[last] = fix["new"]
            path.write_text(json.dumps(data, indent=2), "utf-8")
        else:
            lines = path.read_text("utf-8").split("\n")
            for fix in group:
                text = lines[fix["line"] - 1]
                assert text.count(fix["old"]) == 1
                lines[fix["line"] - 1] = text.replace(fix["old"], fix["new"])
            path.write_text("\n".join(lines), "utf-8")


# -- the command line ------------------------------------------------------------------------


def _run(*args: str | Path):
    return CliRunner().invoke(main, ["validate", *map(str, args)])


def test_cli_text_report_and_exit_codes(store: Path, chain_store: Path) -> None:
    result = _run(MODELS, "--store", store)
    assert result.exit_code == 1, result.output  # release/code-absent errors
    assert "release/code-absent" in result.stdout
    assert "checked against releases: GAMUTS 2024-06" in result.stdout
    result = _run(CHAIN, "--store", chain_store)
    assert result.exit_code == 0, result.output  # warnings only
    assert _run(CHAIN, "--store", chain_store, "--strict").exit_code == 1
    assert _run(CHAIN).exit_code == 0


def test_cli_json_report(store: Path, oracle) -> None:
    result = _run(MODELS, "--store", store, "--format", "json", "--semantic-tags")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    releases = data["summary"]["releases"]
    assert [(r["system"], r["version"]) for r in releases["used"]] == [
        ("GAMUTS", "2024-06"),
        ("LOINC", "9.99"),
        ("RADLEX", "9.9"),
        ("SNOMED", "20250101"),
    ]
    assert releases["unchecked"] == {"RADELEMENT": 1, "TESTSYS": 1}
    want, want_fixes = expected(_model_uses(), oracle, tags=True)
    assert releases["fixes"] == len(want_fixes)
    got = Counter(
        (f["rule"], f["file"], f["line"], f["entity"])
        for f in data["findings"]
        if f["rule"] in RELEASE_RULE_IDS
    )
    assert got == want


def test_cli_fixes_to_file_and_stdout(store: Path, tmp_path: Path, oracle) -> None:
    out = tmp_path / "fixes.json"
    result = _run(MODELS, "--store", store, "--fixes", out)
    assert result.exit_code == 1
    _, want_fixes = expected(_model_uses(), oracle, tags=False)
    assert json.loads(out.read_text("utf-8")) == _sorted_fixes(want_fixes)
    result = _run(MODELS, "--store", store, "--fixes", "-", "--format", "json")
    assert json.loads(result.stdout) == _sorted_fixes(want_fixes)
    assert json.loads(result.stderr)["summary"]["releases"]["fixes"] == len(want_fixes)


def test_cli_usage_and_store_errors(tmp_path: Path) -> None:
    for option in (["--semantic-tags"], ["--fixes", str(tmp_path / "f.json")]):
        result = _run(MODELS, *option)
        assert result.exit_code == 2, result.output
        assert "give --store DIR" in result.stderr
    result = _run(MODELS, "--store", tmp_path / "nothing-here")
    assert result.exit_code == 4, result.output
    assert "nothing-here" in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "nothing-here").exists()


def test_cli_store_without_releases(tmp_path: Path) -> None:
    path = tmp_path / "kg"
    with Store(path):
        pass
    result = _run(MODELS, "--store", path)
    assert "checked against releases: none" in result.stdout
    assert "release/" not in result.stdout.replace("checked against releases", "")


# -- the shared corpus --------------------------------------------------------------------------


def _corpus_uses(defs: Path) -> list[tuple[str, str, str | None]]:
    """(system key, code, display) of every RadLex and SNOMED CT code of the JSON corpus."""
    keys = {"RADLEX": "RADLEX", "SNOMED": "SNOMED", "SNOMEDCT": "SNOMED"}
    out = []

    def walk(obj: Any) -> None:
        if isinstance(obj, dict):
            if isinstance(obj.get("system"), str) and "code" in obj:
                key = keys.get(obj["system"].strip())
                if key is not None:
                    out.append((key, str(obj["code"]).strip(), obj.get("display")))
            for value in obj.values():
                walk(value)
        elif isinstance(obj, list):
            for value in obj:
                walk(value)

    for path in sorted(defs.glob("*.fm.json")):
        walk(json.loads(path.read_text("utf-8")))
    return out


def write_corpus_release(folder: Path, system: str, uses: list[tuple[str, str, str | None]]):
    """A synthetic release (Turtle + profile) of the corpus's codes of ``system``: of the codes
    sorted, every 4th is left out, every 4th + 1 is obsolete and replaced by the next code,
    every 4th + 2 gets a label no display has; the others the corpus's first display."""
    namespace = {"RADLEX": "http://radlex.org/RID/", "SNOMED": "http://snomed.info/id/"}[system]
    displays: dict[str, str] = {}
    for key, code, display in uses:
        if key == system and display:
            displays.setdefault(code, display)
    codes = sorted({code for key, code, _ in uses if key == system})
    concepts: dict[str, OracleConcept] = {}
    lines = [
        "@prefix owl: <http://www.w3.org/2002/07/owl#> .",
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .",
        "@prefix dcterms: <http://purl.org/dc/terms/> .",
        f'<{namespace}> a owl:Ontology ; owl:versionInfo "corpus-test" .',
    ]
    for i, code in enumerate(codes):
        if i % 4 == 0:
            continue
        label = displays.get(code, f"term {code}") if i % 4 != 2 else f"other name {code}"
        concept = OracleConcept(True, label, {normal(label)})
        triples = [f"skos:prefLabel {json.dumps(label)}@en"]
        if i % 4 == 1 and i + 1 < len(codes):
            concept.active = False
            concept.replaced_by.append(codes[i + 1])
            triples += ["owl:deprecated true", f"dcterms:isReplacedBy <{namespace}{codes[i + 1]}>"]
        lines.append(f"<{namespace}{code}> a owl:Class ; {' ; '.join(triples)} .")
        concepts[code] = concept
    ttl = folder / f"{system.lower()}-corpus.ttl"
    ttl.write_text("\n".join(lines) + "\n", "utf-8")
    profile = folder / f"{system.lower()}-corpus.toml"
    profile.write_text(
        f'system = "{system}"\nnamespaces = ["{namespace}"]\n'
        'concept_types = ["owl:Class"]\nlanguage = "en"\nversion_property = ["owl:versionInfo"]\n'
        '[properties]\nlabel = ["skos:prefLabel"]\nobsolete = ["owl:deprecated"]\n'
        'replaced_by = ["dcterms:isReplacedBy"]\n',
        "utf-8",
    )
    return ttl, profile, concepts


def test_corpus_against_synthetic_releases(corpus_defs: Path, tmp_path: Path) -> None:
    uses = _corpus_uses(corpus_defs)
    path = tmp_path / "kg"
    oracle = {}
    with Store(path) as opened:
        releases = Releases(opened)
        for system in ("RADLEX", "SNOMED"):
            ttl, profile, concepts = write_corpus_release(tmp_path, system, uses)
            releases.load(ttl, profile=profile)
            oracle[system] = concepts
    counts: Counter[str] = Counter()
    code_fixes = 0
    for system, code, display in uses:
        concept = oracle[system].get(code)
        if concept is None:
            counts["release/code-absent"] += 1
            continue
        target = None
        if not concept.active:
            counts["release/code-inactive"] += 1
            target = oracle[system].get(concept.replaced_by[0])
            code_fixes += target is not None and target.active
        if (
            display is not None
            and " ".join(display.split())
            and (normal(display) not in concept.names)
        ):
            counts["release/display-mismatch"] += 1
    report = validate([corpus_defs], store=path)
    got = {rule: n for rule, n in report.rule_counts().items() if rule in RELEASE_RULE_IDS}
    assert got == dict(counts)
    assert counts["release/code-absent"] and counts["release/code-inactive"]
    assert sum(1 for f in report.fixes if f.pointer and f.pointer.endswith("/code")) == code_fixes
    assert {(r.system, r.version) for r in report.releases or ()} == {
        ("RADLEX", "corpus-test"),
        ("SNOMED", "corpus-test"),
    }
    assert dict(report.unchecked).keys() == {"GAMUTS", "LOINC", "RADELEMENT"}
