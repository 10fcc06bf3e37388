"""Tests of candidate links (ontomap.releases.suggest, ``ontomap terminology suggest``).

The models in tests/resources/releases/suggest/ were written for these tests: their names are
labels, synonyms or near misses of the release fixtures (tests/resources/releases/). Every
expectation below was written by hand from those files; fuzzy scores are computed here with
rapidfuzz's ``token_sort_ratio`` on the raw texts (none of them has words the normal form
drops), independently of the index under test.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner, Result
from conftest import RESOURCES
from rapidfuzz import fuzz, utils

from ontomap.cli import main
from ontomap.lexical import normalise
from ontomap.readers import read_models
from ontomap.releases import Releases
from ontomap.releases.common import NameIndex, Names
from ontomap.releases.suggest import (
    ReleaseIndex,
    candidate_entities,
    normal_form,
    sssom_text,
    suggest,
)
from ontomap.store import Store
from ontomap.terminology import default_registry

RELEASES = RESOURCES / "releases"
MODELS = RELEASES / "suggest"
RADLEX = RELEASES / "radlex" / "RadLex.owl"
SNOMED = RELEASES / "snomed"
GAMUTS = RELEASES / "gamuts" / "gamuts-test.ttl"
GAMUTS_PROFILE = RELEASES / "gamuts" / "gamuts-test.toml"
EXACT, CLOSE, RELATED = "skos:exactMatch", "skos:closeMatch", "skos:relatedMatch"


def score(a: str, b: str) -> float:
    return round(fuzz.token_sort_ratio(a, b, processor=utils.default_process) / 100, 4)


#: (subject, object, predicate, score) expected for SNOMED at the default options, from the
#: fixture texts: the concepts' preferred terms and synonyms in the RF2 description file.
SNOMED_EXPECTED = {
    # finding named as 1004008's preferred term; its synonym "Test lung nodules" is near
    # 1007001 "Test small lung nodule" (its name is not: 0.84)
    ("fm:OIFM_SUGG_000001", "sct:1004008"): (EXACT, 1.0),
    ("fm:OIFM_SUGG_000001", "sct:1007001"): (
        RELATED,
        score("Test lung nodules", "Test small lung nodule"),
    ),
    # "Test finding of lung" has the normal form of 1003002's preferred term
    ("fm:OIFMA_SUGG_000001.2", "sct:1003002"): (EXACT, 1.0),
    # a finding's synonym equal to 1007001's synonym; near 1004008's synonym
    ("fm:OIFM_SUGG_000002", "sct:1007001"): (CLOSE, 1.0),
    ("fm:OIFM_SUGG_000002", "sct:1004008"): (
        RELATED,
        score("Test pulmonary micronodule", "Test pulmonary nodule"),
    ),
    # a value named as 1004008's synonym; near 1007001's synonym
    ("fm:OIFMA_SUGG_000003.0", "sct:1004008"): (CLOSE, 1.0),
    ("fm:OIFMA_SUGG_000003.0", "sct:1007001"): (
        RELATED,
        score("test pulmonary nodule", "Test pulmonary micronodule"),
    ),
    # an attribute without codes in a model whose finding and value carry SNOMED codes
    ("fm:OIFMA_SUGG_000004", "sct:1003002"): (EXACT, 1.0),
}
#: Inactive SNOMED concepts named exactly by fixture entities: never suggested.
SNOMED_INACTIVE = {"sct:1005009", "sct:1006005"}
#: Obsolete or deprecated RadLex classes named exactly by fixture entities.
RADLEX_OBSOLETE = {"radlex:RID41", "radlex:RID43"}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding the RadLex, SNOMED CT and GAMUTS fixture releases (no LOINC)."""
    path = tmp_path_factory.mktemp("suggest") / "kg"
    with Store(path) as store:
        releases = Releases(store)
        releases.load(RADLEX)
        releases.load(SNOMED)
        releases.load(GAMUTS, profile=GAMUTS_PROFILE)
    return path


def run(*args: str | Path, input: str | None = None) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], input=input)


def rows(text: str) -> tuple[list[str], list[dict[str, str]]]:
    lines = [line.split("\t") for line in text.splitlines() if not line.startswith("#")]
    header = lines[0]
    assert all(len(row) == len(header) for row in lines[1:])
    return header, [dict(zip(header, row, strict=True)) for row in lines[1:]]


def by_pair(text: str) -> dict[tuple[str, str], tuple[str, float]]:
    _header, found = rows(text)
    return {
        (r["subject_id"], r["object_id"]): (r["predicate_id"], float(r["similarity_score"]))
        for r in found
    }


def suggest_text(loaded: Path, system: str, **options: object) -> str:
    models = [s.model for s in read_models([MODELS]).models]
    with Store(loaded, read_only=True) as store:
        releases = Releases(store)
        index = ReleaseIndex.from_store(releases, system)
        found = suggest(index, candidate_entities(models, system), releases=releases, **options)  # type: ignore[arg-type]
    return sssom_text(found)


# -- matching ---------------------------------------------------------------------------------


def test_normal_form_is_lexicals() -> None:
    for text in (
        "Liver structure (body structure)",
        "Kidney, left",
        'Test "coin" lesion of lung',
        "T2/FLAIR hyper_intense",
        "Œdème cérébral",
        "Presence (property) (qualifier value)",
        "the",
        "",
    ):
        assert normal_form(text) == normalise(text)


def test_snomed_candidates(loaded: Path) -> None:
    found = by_pair(suggest_text(loaded, "SNOMED"))
    assert found == SNOMED_EXPECTED
    assert not {obj for _s, obj in found} & SNOMED_INACTIVE
    # the scores the fuzzy rows carry are at least the default threshold; one below it is not
    assert score("Test lung nodule", "Test small lung nodule") < 0.85


def test_radlex_candidates(loaded: Path) -> None:
    text = suggest_text(loaded, "RADLEX")
    found = by_pair(text)
    # the attribute "test lungs" is RID10's synonym: closeMatch, and only once (its fuzzy
    # match with the preferred term "test lung" is not a second row); the finding with a
    # RADLEX code and its coded value are skipped, obsolete and deprecated classes never come
    assert found == {("fm:OIFMA_SUGG_000001", "radlex:RID10"): (CLOSE, 1.0)}
    assert not {obj for _s, obj in found} & RADLEX_OBSOLETE
    _header, (row,) = rows(text)
    assert row["object_label"] == "test lung"
    assert row["object_source"] == "release:RADLEX/9.9"
    assert row["object_source_version"] == "9.9"
    assert row["object_match_field"] == "skos:altLabel"
    assert row["match_string"] == "lungs test"
    assert row["mapping_justification"] == "semapv:LexicalMatching"


NAME_PREDICATES = {
    "http://www.w3.org/2004/02/skos/core#prefLabel": 0,
    "https://w3id.org/ontomap/oifm#fullySpecifiedName": 1,
    "http://www.w3.org/2004/02/skos/core#altLabel": 2,
}


@pytest.mark.parametrize("system", ["RADLEX", "SNOMED", "GAMUTS"])
def test_the_name_record_holds_the_graphs_names(loaded: Path, system: str) -> None:
    """The record written at load holds, per normal form, exactly the (code, property) pairs
    of the release graph's name triples of concepts not deprecated (read here with rdflib from
    the store's own quads, normalised by ontomap.lexical.normalise)."""
    import rdflib

    with Store(loaded, read_only=True) as store:
        releases = Releases(store)
        info = releases.get(system)
        namespace = default_registry().get(system).namespace
        graph = rdflib.Graph()
        for quad in store.oxigraph.quads_for_pattern(None, None, None, ox.NamedNode(info.graph)):
            graph.add(rdflib_triple(quad))
        deprecated = {str(s) for s in graph.subjects(rdflib.OWL.deprecated, rdflib.Literal(True))}
        expected: dict[str, set[tuple[str, int]]] = {}
        for s, p, o in graph:
            if str(p) in NAME_PREDICATES and str(s) not in deprecated and normalise(str(o)):
                code = str(s).removeprefix(namespace)
                expected.setdefault(normalise(str(o)), set()).add((code, NAME_PREDICATES[str(p)]))
        record = releases.name_index(system)
        assert record is not None
        index = ReleaseIndex.from_store(releases, system)
        found = {form: set(index.hits(form)) for form in index.form_text}
        assert len(index.form_text) == len(found)  # each form once
        assert found == expected
        assert index.concepts == len({code for pairs in expected.values() for code, _ in pairs})


def rdflib_triple(quad: ox.Quad) -> tuple[object, object, object]:
    import rdflib

    def term(value: ox.NamedNode | ox.BlankNode | ox.Literal) -> object:
        if isinstance(value, ox.NamedNode):
            return rdflib.URIRef(value.value)
        if isinstance(value, ox.BlankNode):
            return rdflib.BNode(value.value)
        return rdflib.Literal(
            value.value,
            lang=value.language,
            datatype=None if value.language else rdflib.URIRef(value.datatype.value),
        )

    return term(quad.subject), term(quad.predicate), term(quad.object)  # type: ignore[arg-type]


@pytest.mark.parametrize("system", ["RADLEX", "SNOMED"])
def test_without_the_name_record_the_store_is_read(
    loaded: Path, system: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A release loaded without the record (or under other normal-form rules) is matched from
    its name triples: the same candidates, byte for byte."""
    with_record = suggest_text(loaded, system)
    monkeypatch.setattr(Releases, "name_index", lambda self, system, version=None: None)
    assert suggest_text(loaded, system) == with_record


def test_a_record_under_other_rules_is_not_used() -> None:
    names = Names()
    names.add("1", 0, "Liver structure (body structure)")
    names.add("2", 2, "Liver")
    names.add("3", 0, "lung")
    names.add("4", 0, "(-)")  # no letters or digits: not kept
    names.deprecate("3")
    assert len(names) == 3
    record = names.index().to_json()
    index = NameIndex.from_json(record)
    assert index is not None
    assert index.forms == ["liver"] and index.codes == ["1", "2"]
    assert list(index.entries) == [0, 5] and list(index.offsets) == [0, 2]
    value = json.loads(record)
    value["rules"] = "0" * 16
    assert NameIndex.from_json(json.dumps(value)) is None


def test_threshold_and_limit(loaded: Path) -> None:
    low = by_pair(suggest_text(loaded, "SNOMED", min_score=0.8))
    near = score("Test lung nodule", "Test small lung nodule")
    assert 0.8 <= near < 0.85
    # the finding's own name now reaches 1007001: a better score than its synonym's
    assert low[("fm:OIFM_SUGG_000001", "sct:1007001")] == (
        RELATED,
        max(near, score("Test lung nodules", "Test small lung nodule")),
    )
    assert set(SNOMED_EXPECTED) <= set(low)
    one = by_pair(suggest_text(loaded, "SNOMED", limit=1))
    best: dict[str, tuple[str, str, float]] = {}
    rank = {EXACT: 0, CLOSE: 1, RELATED: 2}
    for (subject, obj), (predicate, value) in SNOMED_EXPECTED.items():
        key = (rank[predicate], -value)
        if subject not in best or key < (rank[best[subject][1]], -best[subject][2]):
            best[subject] = (obj, predicate, value)
    assert one == {(s, o): (p, v) for s, (o, p, v) in best.items()}
    exact_only = by_pair(suggest_text(loaded, "SNOMED", min_score=1.0))
    assert exact_only == {k: v for k, v in SNOMED_EXPECTED.items() if v[0] != RELATED}


def test_entities_with_a_code_are_skipped() -> None:
    models = [s.model for s in read_models([MODELS]).models]
    ids = {e.id for e in candidate_entities(models, "SNOMED")}
    assert "OIFM_SUGG_000003" not in ids  # SNOMED 1007001
    assert "OIFMA_SUGG_000004.0" not in ids  # SNOMED 1003002
    assert {"OIFMA_SUGG_000004", "OIFMA_SUGG_000004.1", "OIFMA_SUGG_000002"} <= ids
    assert "OIFM_SUGG_000001" in {e.id for e in candidate_entities(models, "SNOMEDCT")}
    radlex = {e.id for e in candidate_entities(models, "RADLEX")}
    assert not {"OIFM_SUGG_000003", "OIFMA_SUGG_000004.1"} & radlex
    # GAMUTS: the first finding has a GAMUTS code
    assert "OIFM_SUGG_000001" not in {e.id for e in candidate_entities(models, "GAMUTS")}


# -- the SSSOM file ---------------------------------------------------------------------------


@contextlib.contextmanager
def warnings_as_errors() -> Iterator[None]:
    """Every warning an error, but pandas 3's deprecation warnings raised inside sssom-py on
    any input (see tests/test_mappings.py)."""
    from pandas.errors import Pandas4Warning

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=Pandas4Warning, module=r"sssom(\.|$)")
        yield


def test_sssom_py_and_sssom_pydantic_read_it(
    loaded: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("sssom")
    sssom_pydantic = pytest.importorskip("sssom_pydantic")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sssom.constants import SchemaValidationType as V
        from sssom.parsers import parse_sssom_table
        from sssom.validators import validate
    text = suggest_text(loaded, "SNOMED", mapping_date="2025-02-01")
    caplog.clear()
    with caplog.at_level(logging.INFO), warnings_as_errors():
        msdf = parse_sssom_table(io.StringIO(text))
    logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert not logged, logged
    df = msdf.df
    assert len(df) == len(SNOMED_EXPECTED)
    assert set(df["mapping_justification"]) == {"semapv:LexicalMatching"}
    assert set(df["predicate_id"]) == {EXACT, CLOSE, RELATED}
    assert df["similarity_score"].between(0.85, 1.0).all()
    assert str(df["mapping_date"].iloc[0]) == "2025-02-01"
    assert msdf.metadata["mapping_set_id"].endswith("/candidates-sct-20250101")
    with warnings_as_errors():
        kinds = [V.JsonSchema, V.PrefixMapCompleteness, V.StrictCurieFormat]
        reports = validate(msdf, kinds, fail_on_error=True)
    assert all(not report.results for report in reports.values())
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="sssom_pydantic"), warnings_as_errors():
        mappings, _converter, _set, errors = sssom_pydantic.read(
            io.StringIO(text), return_errors=True
        )
    assert errors == []
    assert not [r for r in caplog.records if r.name.startswith("sssom_pydantic")]
    got = {(m.subject.curie, m.object.curie): m for m in mappings}
    assert set(got) == set(SNOMED_EXPECTED)
    for key, (predicate, value) in SNOMED_EXPECTED.items():
        assert got[key].predicate.curie == predicate
        assert got[key].similarity_score == pytest.approx(value)


def test_the_models_are_not_touched(loaded: Path) -> None:
    before = {p: p.read_bytes() for p in MODELS.iterdir()}
    assert (
        run("terminology", "suggest", MODELS, "--store", loaded, "--system", "SNOMED").exit_code
        == 0
    )
    assert {p: p.read_bytes() for p in MODELS.iterdir()} == before


# -- the command line -------------------------------------------------------------------------


def test_cli_writes_the_same_bytes(loaded: Path, tmp_path: Path) -> None:
    out = tmp_path / "c.sssom.tsv"
    args = ("terminology", "suggest", MODELS, "--store", loaded, "--system", "SNOMED")
    first = run(*args, "-o", out)
    assert first.exit_code == 0, first.output
    data = out.read_bytes()
    assert run(*args, "-o", out).exit_code == 0
    assert out.read_bytes() == data
    stdout = run(*args)
    assert stdout.exit_code == 0
    assert stdout.stdout.encode() == data
    assert data.decode() == suggest_text(loaded, "SNOMED")
    assert "mapping_date" not in data.decode()
    # the summary on standard error
    summary = first.stderr.strip().splitlines()[-1]
    assert summary.startswith("12 entities without SNOMED codes, 5 with candidates, 8 candidates")
    # one model on standard input, as 'ontomap build -' reads it
    model = MODELS / "test_suggest_lesion.fm.json"
    piped = run(
        "terminology",
        "suggest",
        "-",
        "--store",
        loaded,
        "--system",
        "SNOMED",
        input=model.read_text(),
    )
    assert piped.exit_code == 0, piped.output
    assert by_pair(piped.stdout) == {
        k: v
        for k, v in SNOMED_EXPECTED.items()
        if k[0].startswith(("fm:OIFM_SUGG_000002", "fm:OIFMA_SUGG_000003"))
    }


def test_cli_options(loaded: Path) -> None:
    args = ("terminology", "suggest", MODELS, "--store", loaded, "--system", "SNOMED")
    result = run(*args, "--limit", "1", "--min-score", "0.8", "--mapping-date", "2025-02-01")
    assert result.exit_code == 0, result.output
    assert "# mapping_date: 2025-02-01\n" in result.stdout
    assert len(rows(result.stdout)[1]) == 5  # one per entity with candidates
    version = run(*args, "--version", "20250101", "--set-id", "https://example.org/set")
    assert version.exit_code == 0
    assert "# mapping_set_id: https://example.org/set\n" in version.stdout


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        (("--system", "LOINC"), 3, "no release of LOINC is loaded"),
        (("--system", "SNOMED", "--version", "1999"), 3, "no release of SNOMED 1999"),
        (("--system", "NOPE"), 2, "unknown code system 'NOPE'"),
        (("--system", "SNOMED", "--min-score", "2"), 2, "--min-score"),
        (("--system", "SNOMED", "--limit", "0"), 2, "--limit"),
        (("--system", "SNOMED", "--mapping-date", "2025-13-01"), 2, "invalid mapping date"),
        (("--system", "SNOMED", "--license", "not an iri"), 2, "license"),
    ],
)
def test_cli_errors(loaded: Path, extra: tuple[str, ...], code: int, message: str) -> None:
    result = run("terminology", "suggest", MODELS, "--store", loaded, *extra)
    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_cli_without_a_store_or_with_a_bad_source(loaded: Path, tmp_path: Path) -> None:
    missing = run(
        "terminology", "suggest", MODELS, "--store", tmp_path / "none", "--system", "SNOMED"
    )
    assert missing.exit_code == 3
    assert "no store at" in missing.stderr and "ontomap terminology load" in missing.stderr
    bad = tmp_path / "bad.fm.json"
    bad.write_text("{not json")
    result = run("terminology", "suggest", MODELS, bad, "--store", loaded, "--system", "SNOMED")
    assert result.exit_code == 1
    assert "bad.fm.json" in result.stderr
    assert by_pair(result.stdout) == SNOMED_EXPECTED  # the others were used


# -- the corpus -------------------------------------------------------------------------------


def test_corpus(loaded: Path, corpus_defs: Path) -> None:
    """The whole corpus against the fixture SNOMED CT release, through the command line: the
    entities without SNOMED codes are counted from the raw JSON here, and every row's subject
    is one of them."""
    without: set[str] = set()
    for path in sorted(corpus_defs.glob("*.fm.json")):
        data = json.loads(path.read_text(encoding="utf-8"))

        def coded(item: dict[str, object]) -> bool:
            codes = item.get("index_codes") or []
            return any(c["system"] in ("SNOMED", "SNOMEDCT", "SCT") for c in codes)  # type: ignore[union-attr,index]

        if not coded(data):
            without.add(data["oifm_id"])
        for attribute in data.get("attributes", []):
            if not coded(attribute):
                without.add(attribute["oifma_id"])
            for value in attribute.get("values", []):
                if not coded(value):
                    without.add(value["value_code"])
    result = run("terminology", "suggest", corpus_defs, "--store", loaded, "--system", "SNOMED")
    assert result.exit_code == 0, result.stderr
    summary = result.stderr.strip().splitlines()[-1]
    assert summary.startswith(f"{len(without):,} entities without SNOMED codes, ")
    _header, found = rows(result.stdout)
    assert {r["subject_id"].removeprefix("fm:") for r in found} <= without
    assert all(r["object_id"] not in SNOMED_INACTIVE for r in found)
