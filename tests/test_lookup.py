"""Tests of ontomap.lookup: code parsing, and lookups checked against counts computed
independently from the JSON files (plain ``json``, SNOMEDCT folded into SNOMED)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

from ontomap.backends import LocalBackend
from ontomap.errors import UnknownCodeSystemError
from ontomap.lookup import (
    DOMINANT_SHARE,
    OUTLIER_SHARE,
    AmbiguousCodeError,
    CodeInfo,
    CodeLookupError,
    CodeNotFoundError,
    LookupResult,
    MalformedCodeError,
    Match,
    UnrecognizedCodeError,
    Use,
    code_from_iri,
    lookup,
    parse_code,
)
from ontomap.model import IndexCode
from ontomap.readers import read_models
from ontomap.store import Store

# ------------------------------------------------------------------ parsing


@pytest.mark.parametrize(
    ("text", "system", "code"),
    [
        ("RADLEX:RID5791", "RADLEX", "RID5791"),
        ("radlex:RID5791", "RADLEX", "RID5791"),
        ("RadLex:RID5791", "RADLEX", "RID5791"),
        ("  RID5791  ", "RADLEX", "RID5791"),
        ("SNOMEDCT:263768009", "SNOMED", "263768009"),
        ("SNOMED:263768009", "SNOMED", "263768009"),
        ("sct:263768009", "SNOMED", "263768009"),
        ("SNOMED 263768009", "SNOMED", "263768009"),
        ("SNOMED CT 263768009", "SNOMED", "263768009"),
        ("SNOMEDCT_US 263768009", "SNOMED", "263768009"),
        ("http://snomed.info/sct|263768009", "SNOMED", "263768009"),
        ("http://radlex.org|RID5791", "RADLEX", "RID5791"),
        ("https://gamuts.net|5529", "GAMUTS", "5529"),
        ("http://snomed.info/id/263768009", "SNOMED", "263768009"),
        ("<http://radlex.org/RID/RID5791>", "RADLEX", "RID5791"),
        ("https://w3id.org/ontomap/code/GAMUTS/5529", "GAMUTS", "5529"),
        ("GAMUTS:5529", "GAMUTS", "5529"),
        ("gamuts 5529", "GAMUTS", "5529"),
        ("loinc:LA6553-7", "LOINC", "LA6553-7"),
        ("LA6553-7", "LOINC", "LA6553-7"),
        ("RDES195", "RADELEMENT", "RDES195"),
        ("ICD-10-CM:J18.9", "ICD10CM", "J18.9"),
        ("http://loinc.org/rdf/9267-6", "LOINC", "9267-6"),
    ],
)
def test_parse_code_accepts_every_documented_form(text: str, system: str, code: str) -> None:
    parsed = parse_code(text)
    assert (parsed.system, parsed.code) == (system, code)


def test_parse_code_of_an_unknown_system_in_the_generic_namespace() -> None:
    parsed = parse_code("https://w3id.org/ontomap/code/MYCODES/a%20b")
    assert (parsed.system, parsed.code) == ("MYCODES", "a b")
    assert parsed.iri == "https://w3id.org/ontomap/code/MYCODES/a%20b"


def test_a_bare_code_that_fits_several_systems_is_ambiguous_and_says_which() -> None:
    with pytest.raises(AmbiguousCodeError) as caught:
        parse_code("263768009")
    assert {c.system for c in caught.value.candidates} == {"SNOMED", "GAMUTS"}
    assert "sct:263768009" in str(caught.value) and "gamuts:263768009" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "empty code"),
        ("   ", "empty code"),
        ("foo:bar", "unknown code system 'foo'"),
        ("FOO 123", "unknown code system 'FOO'"),
        ("http://example.org/x/1", "in no known code namespace"),
        ("http://example.org/fhir|1", "unknown code system"),
        ("http://snomed.info/sct|", "no code after '|'"),
        ("radlex:", "no code after 'radlex:'"),
        ("hello", "matches no known system's code pattern"),
        ("> <x", "unknown code system"),
    ],
)
def test_parse_code_rejects_what_is_no_code_and_says_what_is_expected(
    text: str, expected: str
) -> None:
    with pytest.raises(UnrecognizedCodeError, match=expected) as caught:
        parse_code(text)
    assert caught.value.text == text


def test_code_from_iri_round_trips_the_registry_namespaces() -> None:
    for code in (
        IndexCode.of("RADLEX", "RID5791"),
        IndexCode.of("SNOMED", "263768009"),
        IndexCode.of("GAMUTS", "5529"),
        IndexCode.of("RADELEMENT", "RDES195"),
        IndexCode.of("LOINC", "LA6553-7"),
        IndexCode.of("ICD10CM", "J18.9"),
    ):
        assert code_from_iri(code.iri) == code
    assert code_from_iri("http://example.org/x") is None


# ------------------------------------------------------------------ the bundled examples


@pytest.fixture(scope="module")
def examples_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("examples-kg")
    with Store(path) as store:
        store.load(read_models([EXAMPLES]).models)
    return path


def test_lookup_on_the_examples_finds_the_seed_by_its_gamuts_code(examples_store: Path) -> None:
    with Store(examples_store, read_only=True) as store:
        result = store.lookup("GAMUTS:5529")
    assert result.code == CodeInfo(
        "GAMUTS",
        "5529",
        "gamuts:5529",
        "https://w3id.org/ontomap/code/GAMUTS/5529",
        ("diffuse hepatic calcifications",),
    )
    assert result.used_by == (
        Use("OIFM_GMTS_005529", "finding", "OIFM_GMTS_005529", "Diffuse hepatic calcifications"),
    )


def test_lookup_lists_an_anatomic_location_as_a_location_use(examples_store: Path) -> None:
    with Store(examples_store, read_only=True) as store:
        result = store.lookup("radlex:RID1301")
    assert [(u.entity, u.kind) for u in result.used_by] == [("OIFM_OMAP_000001", "location")]
    assert result.matches == ()  # a location does not index its finding
    assert result.code.labels == ("lung",)


def test_lookup_matches_on_the_examples(examples_store: Path) -> None:
    data = [json.loads(p.read_text()) for p in EXAMPLES.glob("*.fm.json")]
    assert data  # the JSON example carries RID5791 on a value, with SNOMED 263768009
    with Store(examples_store, read_only=True) as store:
        result = store.lookup("RID5791")
    assert result.code.system == "RADLEX"
    found = {m.curie: m for m in result.matches}
    assert found["sct:263768009"].cardinality == "1:1"
    assert found["sct:263768009"].share == 1.0
    assert all(u.kind == "value" for u in result.used_by)


def test_lookup_errors(examples_store: Path) -> None:
    with Store(examples_store, read_only=True) as store:
        with pytest.raises(CodeNotFoundError, match="not used by any finding model"):
            store.lookup("RADLEX:RID1")
        with pytest.raises(MalformedCodeError, match=r"expected the pattern \^RID"):
            store.lookup("radlex:rid5791")
        with pytest.raises(MalformedCodeError, match="verhoeff check digit"):
            store.lookup("sct:263768008")
        with pytest.raises(UnknownCodeSystemError):
            store.lookup("RID5791", to="NOPE")
        with pytest.raises(AmbiguousCodeError):
            store.lookup("263768009")
    for error in (CodeNotFoundError, MalformedCodeError, AmbiguousCodeError):
        assert issubclass(error, CodeLookupError)


def test_lookup_accepts_an_index_code(examples_store: Path) -> None:
    with Store(examples_store, read_only=True) as store:
        by_text = store.lookup("GAMUTS:5529")
        by_value = lookup(store, IndexCode.of("GAMUTS", "5529"))
    assert by_text == by_value


# ------------------------------------------------------------------ hostile codes

#: Codes as a shell passes them (bytes: undecodable ones arrive as surrogate escapes).
HOSTILE_CODES: list[bytes] = [
    b"",
    b" \t ",
    b"RADLEX:\xff",
    b"\xff\xfe",
    b"\xc3(",
    b"RADLEX:\xed\xa0\x80",  # a UTF-16 surrogate written in UTF-8
    b"RADLEX:" + b"9" * 100_000,
    b"A" * 100_000,
    b"RADLEX:\x01\x1b[2J",
    b"\x1b]0;title\x07RID5791",
    b"RADLEX:RID5791\x7f",
    b"RADLEX:RID5791> } ; DROP ALL ; { <x",
    b'"} UNION { ?s ?p ?o } #',
    b"<http://radlex.org/RID/RID5791> . ?s ?p ?o",
    "ＲＡＤＬＥＸ:RID5791".encode(),
    "RАDLEX:RID5791".encode(),  # a Cyrillic A
    "RADLEX:RID５７９１".encode(),
    "RADLEX:RID5791\u200b".encode(),
    "RADLEX:RID\u2028".encode(),
    "SNOMED:٢٦٣٧٦٨٠٠٩".encode(),
    "ﬁ:x".encode(),
    b"|",
    b"http://snomed.info/sct|",
    b"::",
    b"RADLEX:",
    b"<>",
    b"http://",
    b"https://w3id.org/ontomap/code/X/%ff",
    b"https://w3id.org/ontomap/code/X/%1b%5b2J",
    b"http://radlex.org/RID/%00",
    b"-",
    b"--no-such-option",
]


def _lookup_cli(store: Path, code: bytes, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "ontomap", "lookup", code, "--store", str(store), *args],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )


def _check_refusal(code: object, status: int, stderr: str) -> None:
    """Exit 3 with one printable line, or a usage error (exit 2); never a traceback."""
    assert "Traceback" not in stderr, (code, stderr)
    assert status in (2, 3), (code, status, stderr)
    last = stderr.rstrip("\n").split("\n")[-1]
    assert last.startswith(("ontomap: error: ", "Error: ")), (code, stderr)
    assert last.isprintable() and len(last) < 1000, (code, last)
    if status == 3:
        assert stderr.count("\n") == 1, (code, stderr)


def test_hostile_codes_on_the_command_line_are_refused_in_one_line(examples_store: Path) -> None:
    runs = [(code, "table") for code in HOSTILE_CODES] + [(b"RADLEX:\xff", "json")]
    with ThreadPoolExecutor(4) as pool:
        done = pool.map(lambda run: _lookup_cli(examples_store, run[0], "--format", run[1]), runs)
        for (code, _fmt), result in zip(runs, done, strict=True):
            _check_refusal(code, result.returncode, result.stderr.decode("utf-8", "replace"))
    undecodable = _lookup_cli(examples_store, b"RADLEX:\xff").stderr.decode()
    assert "b'RADLEX:\\xff' holds bytes that are not UTF-8 text" in undecodable


@pytest.mark.parametrize(
    "code", ["\x00", "RADLEX:\x00", "RADLEX:RID5791\x00", "\ud800", "RADLEX:\udfff\ud800"]
)
def test_codes_no_shell_can_pass_are_refused_too(examples_store: Path, code: str) -> None:
    from click.testing import CliRunner

    from ontomap.cli import main

    result = CliRunner().invoke(main, ["lookup", code, "--store", str(examples_store)])
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception
    _check_refusal(code, result.exit_code, result.stderr)


@pytest.fixture(scope="module")
def examples_backend(examples_store: Path) -> Iterator[LocalBackend]:
    with LocalBackend.open(examples_store) as backend:
        yield backend


@settings(max_examples=400, deadline=None)
@given(
    st.text(st.characters(exclude_categories=()), max_size=40)
    | st.from_regex(
        r"(RADLEX|sct|SNOMED CT|http://radlex\.org/RID/|<|http://snomed\.info/sct)"
        r"[:| ]?.{0,12}",
        fullmatch=True,
    )
)
def test_any_text_is_a_lookup_or_a_code_lookup_error(
    examples_backend: LocalBackend, text: str
) -> None:
    try:
        result = lookup(examples_backend, text)
    except CodeLookupError as exc:
        assert exc.text == text
        message = str(exc)
        assert message.isprintable() and len(message) < 1000
    else:
        assert result.used_by


# ------------------------------------------------------------------ the corpus, independently

Code = tuple[str, str]


@dataclass
class CorpusIndex:
    """Index codes of the JSON corpus, read with the json module alone."""

    #: code → {(entity, kind, finding)} for index codes, plus anatomic locations (kind location)
    uses: dict[Code, set[tuple[str, str, str]]] = field(default_factory=lambda: defaultdict(set))
    #: entity → its index codes; entity → its finding
    codes_of: dict[str, set[Code]] = field(default_factory=lambda: defaultdict(set))
    finding_of: dict[str, str] = field(default_factory=dict)
    labels: dict[Code, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def indexed(self, code: Code) -> set[str]:
        return {e for e, kind, _f in self.uses[code] if kind != "location"}


def _system(name: str) -> str:
    return "SNOMED" if name == "SNOMEDCT" else name


@pytest.fixture(scope="module")
def corpus_index(corpus_defs: Path) -> CorpusIndex:
    index = CorpusIndex()
    seen_labels: set[tuple[Code, str, str]] = set()

    def add(entries: list[dict] | None, entity: str, kind: str, finding: str) -> None:
        for entry in entries or []:
            code = (_system(entry["system"]), entry["code"].strip())
            index.uses[code].add((entity, kind, finding))
            if kind != "location":
                index.codes_of[entity].add(code)
            display = (entry.get("display") or "").strip()
            if display and (code, display, finding) not in seen_labels:
                seen_labels.add((code, display, finding))
                index.labels[code][display] += 1

    for path in sorted(corpus_defs.glob("*.json")):
        model = json.loads(path.read_text(encoding="utf-8"))
        finding = model["oifm_id"]
        index.finding_of[finding] = finding
        add(model.get("index_codes"), finding, "finding", finding)
        add(model.get("anatomic_locations"), finding, "location", finding)
        for attribute in model.get("attributes") or []:
            index.finding_of[attribute["oifma_id"]] = finding
            add(attribute.get("index_codes"), attribute["oifma_id"], "attribute", finding)
            for value in attribute.get("values") or []:
                index.finding_of[value["value_code"]] = finding
                add(value.get("index_codes"), value["value_code"], "value", finding)
    return index


@dataclass(frozen=True)
class Expected:
    entities: int
    findings: int
    share: float
    cardinality: str
    flag: str | None


def expected_matches(index: CorpusIndex, code: Code) -> dict[Code, Expected]:
    """The matches of ``code`` by the documented rules, from the JSON alone."""

    def partners(of: Code) -> dict[Code, set[str]]:
        out: dict[Code, set[str]] = defaultdict(set)
        for entity in index.indexed(of):
            for other in index.codes_of[entity]:
                if other != of:
                    out[other].add(entity)
        return out

    def minority(share: float, others: list[float]) -> bool:
        return share < OUTLIER_SHARE and any(s >= DOMINANT_SHARE for s in others)

    mine = partners(code)
    uses = len(index.indexed(code))
    out = {}
    for other, entities in mine.items():
        if other[0] == code[0]:
            continue
        same_system = {c: e for c, e in mine.items() if c[0] == other[0]}
        theirs = partners(other)
        back = {c: e for c, e in theirs.items() if c[0] == code[0]}
        their_uses = len(index.indexed(other))
        share = len(entities) / uses
        flag = minority(share, [len(e) / uses for c, e in same_system.items() if c != other])
        flag = flag or minority(
            len(back.get(code, ())) / their_uses,
            [len(e) / their_uses for c, e in back.items() if c != code],
        )
        many_here, many_there = len(same_system) > 1, len(back) > 1
        cardinality = {
            (False, False): "1:1",
            (True, False): "1:n",
            (False, True): "n:1",
            (True, True): "n:m",
        }[(many_here, many_there)]
        out[other] = Expected(
            len(entities),
            len({index.finding_of[e] for e in entities}),
            share,
            cardinality,
            "outlier" if flag else None,
        )
    return out


@pytest.fixture(scope="module")
def corpus(corpus_store: Path):
    with Store(corpus_store, read_only=True) as store:
        yield store


def _sample(index: CorpusIndex) -> list[Code]:
    """For each system: its three most used codes and five others picked at random."""
    rng = random.Random(20240501)
    by_system: dict[str, list[Code]] = defaultdict(list)
    for code in sorted(index.uses):
        by_system[code[0]].append(code)
    sample: list[Code] = []
    for codes in by_system.values():
        ranked = sorted(codes, key=lambda c: (-len(index.uses[c]), c))
        rest = ranked[3:]
        sample.extend(ranked[:3] + rng.sample(rest, min(5, len(rest))))
    return sample


def test_the_sample_covers_every_system_of_the_corpus(corpus_index: CorpusIndex) -> None:
    assert {c[0] for c in _sample(corpus_index)} >= {
        "RADLEX",
        "SNOMED",
        "GAMUTS",
        "RADELEMENT",
        "LOINC",
    }


def test_lookup_agrees_with_counts_from_the_json(corpus: Store, corpus_index: CorpusIndex) -> None:
    for system, code in _sample(corpus_index):
        result = corpus.lookup(f"{system} {code}")
        where = f"{system} {code}"
        assert (result.code.system, result.code.code) == (system, code), where
        uses = {(u.entity, u.kind, u.finding) for u in result.used_by}
        assert uses == corpus_index.uses[(system, code)], where
        assert len(result.used_by) == len(uses), where
        labels = corpus_index.labels[(system, code)]
        assert set(result.code.labels) == set(labels), where
        if labels:
            assert labels[result.code.labels[0]] == max(labels.values()), where
        expected = expected_matches(corpus_index, (system, code))
        got = {(m.system, m.code): m for m in result.matches}
        assert set(got) == set(expected), where
        for key, want in expected.items():
            match = got[key]
            assert (match.entities, match.findings, match.cardinality, match.flag) == (
                want.entities,
                want.findings,
                want.cardinality,
                want.flag,
            ), (where, key)
            assert match.share == pytest.approx(want.share), (where, key)


def test_rid5791_is_snomed_263768009_in_1994_findings_one_to_one(corpus: Store) -> None:
    result = corpus.lookup("RADLEX:RID5791")
    assert result.code.labels == ("enlarged",)
    assert result.findings == 1994
    (match,) = [m for m in result.matches if m.system == "SNOMED"]
    assert (match.code, match.findings, match.cardinality, match.flag) == (
        "263768009",
        1994,
        "1:1",
        None,
    )
    assert match.label is not None and match.label.startswith("Greater")
    assert match.share == 1.0


def test_rid5655_has_a_dominant_snomed_code_and_two_outliers(corpus: Store) -> None:
    result = corpus.lookup("RADLEX:RID5655", to="SNOMED")
    assert result.to == "SNOMED"
    assert {m.system for m in result.matches} == {"SNOMED"}
    by_code = {m.code: m for m in result.matches}
    assert result.matches[0].code == "261665006"
    assert by_code["261665006"].flag is None
    assert by_code["261665006"].share > DOMINANT_SHARE
    assert by_code["386554004"].flag == "outlier"
    assert by_code["363850001"].flag == "outlier"
    assert {m.code for m in result.matches if m.flag} == {"386554004", "363850001"}


def test_the_outlier_flag_is_symmetric(corpus: Store) -> None:
    result = corpus.lookup("SNOMED 386554004", to="RADLEX")
    (match,) = result.matches
    assert (match.curie, match.flag, match.share) == ("radlex:RID5655", "outlier", 1.0)


def test_gamuts_5529_leads_to_its_finding(corpus: Store) -> None:
    result = corpus.lookup("GAMUTS:5529")
    assert [u.finding for u in result.used_by] == ["OIFM_GMTS_005529"]
    assert result.used_by[0].kind == "finding"


def test_every_accepted_form_gives_the_same_answer(corpus: Store) -> None:
    answers = {
        corpus.lookup(text, to="RADLEX")
        for text in (
            "SNOMED 263768009",
            "SNOMEDCT:263768009",
            "sct:263768009",
            "http://snomed.info/sct|263768009",
            "http://snomed.info/id/263768009",
        )
    }
    assert len(answers) == 1


def test_json_has_exactly_the_documented_shape(corpus: Store) -> None:
    data = corpus.lookup("RADLEX:RID5655").to_json()
    assert set(data) == {"code", "used_by", "matches"}
    assert set(data["code"]) == {"system", "code", "curie", "iri", "labels"}
    assert {frozenset(u) for u in data["used_by"]} == {
        frozenset({"entity", "kind", "finding", "label"})
    }
    assert {frozenset(m) for m in data["matches"]} == {
        frozenset(
            {
                "system",
                "code",
                "curie",
                "iri",
                "label",
                "entities",
                "findings",
                "share",
                "cardinality",
                "flag",
            }
        )
    }
    json.dumps(data)  # serialisable as is


def test_results_are_frozen_values() -> None:
    match = Match("SNOMED", "1", "sct:1", "http://snomed.info/id/1", None, 1, 1, 1.0, "1:1", None)
    result = LookupResult(CodeInfo("A", "b", "a:b", "x:y", ()), (), (match,))
    with pytest.raises(AttributeError):
        result.matches = ()  # type: ignore[misc]
    assert hash(result) == hash(LookupResult(CodeInfo("A", "b", "a:b", "x:y", ()), (), (match,)))


def test_the_lookup_path_does_not_import_rdflib(examples_store: Path) -> None:
    code = (
        "import sys\n"
        "from ontomap.cli import main\n"
        "from ontomap.store import Store\n"
        f"store = Store({str(examples_store)!r}, read_only=True)\n"
        "store.lookup('GAMUTS:5529')\n"
        "store.query('SELECT * WHERE { ?s ?p ?o } LIMIT 1')\n"
        "print('rdflib' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"
