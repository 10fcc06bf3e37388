"""Tests of the mapping sets (:mod:`ontomap.mappings`), their writers and ``ontomap mappings``.

Every predicate and count asserted here is computed from the finding-model JSON files with the
plain ``json`` module (:class:`Oracle`), with the rules of docs/mappings.md ("How the evidence
is counted") written out again here: name and display normalisation, pairing by display (an
Indel similarity computed with its own longest-common-subsequence table), contexts, templates,
cardinality, outliers, predicate and confidence. Nothing of ontomap is used to compute what
the mapping sets are checked against; the formatting layer is also checked against the
engine's own pairs (:class:`~ontomap.crosswalk.CrosswalkPair`). The SSSOM files are read back
by sssom-py and sssom-pydantic with warnings as errors, the ConceptMaps validated by
fhir.resources (R4B models for R4: fhir.resources 8 ships R5, R4B and STU3 only, and
ConceptMap did not change between R4 and R4B), the SKOS files loaded and queried.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import unicodedata
import warnings
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from click.testing import CliRunner, Result
from conftest import EXAMPLES, ROOT

from ontomap import __version__
from ontomap.backends import LocalBackend
from ontomap.cli import main
from ontomap.crosswalk import CrosswalkReader, build_crosswalk, entities_of_model
from ontomap.errors import UnknownCodeSystemError
from ontomap.mappings import (
    EVIDENCE,
    FORMATS,
    SIMILARITY_MEASURE,
    MappingSet,
    build_mapping_set,
    recorded_files,
    serialize,
    source_date,
)
from ontomap.mappings.fhir import R4_EQUIVALENCE, R5_RELATIONSHIP, concept_map
from ontomap.mappings.skos import SSSOM_NS, XWALK_NS
from ontomap.mappings.sssom import SEE_ALSO_ENTITIES
from ontomap.store import Store
from ontomap.vocab import DEFAULT_BASE_IRI, declared_terms

Code = tuple[str, str]  # (system key, code)
Key = tuple[Code, Code]
ContextKey = tuple[str, str, str | None]

#: The corpus's spellings of system names → registry keys.
ALIASES = {"SNOMEDCT": "SNOMED"}
SYSTEM_ORDER = ["RADLEX", "SNOMED", "LOINC", "GAMUTS", "RADELEMENT", "ICD10CM"]
PREFIX = {"RADLEX": "radlex", "SNOMED": "sct", "LOINC": "loinc", "GAMUTS": "gamuts"}
PREFIX["RADELEMENT"] = "radelement"
PREFIX["ICD10CM"] = "icd10cm"
#: The code namespaces of ontologies/terminologies.toml, to read CURIEs off SKOS links.
NAMESPACE = {
    "http://radlex.org/RID/": "radlex",
    "http://snomed.info/id/": "sct",
    "http://loinc.org/rdf/": "loinc",
    "https://w3id.org/ontomap/code/GAMUTS/": "gamuts",
    "https://w3id.org/ontomap/code/RADELEMENT/": "radelement",
    "http://purl.bioontology.org/ontology/ICD10CM/": "icd10cm",
}
DATE = "2025-01-31"
CLOSE = "skos:closeMatch"
RELATED = "skos:relatedMatch"
INSTANCE_BASED = "semapv:InstanceBasedMatching"
COMPOSITE = "semapv:CompositeMatching"
#: Spreadsheets hold at most this many characters in a cell (Excel, LibreOffice).
CELL_LIMIT = 32_767
INVASION = "OIFMA_CDE_000093"  # "structures with possible invasion", mr_rectal_tumor_imaging


# ------------------------------------------------------------------ the oracle (JSON only)

#: SNOMED CT semantic tags that may end a display (the corpus has "(qualifier value)").
TAGS = ("qualifier value", "body structure", "finding", "disorder", "property", "procedure")
FILLERS = {"structure", "entire", "of", "the", "a", "an"}


def normal(text: str) -> str:
    """A name or display as the rules compare it: accents and case folded, trailing semantic
    tags dropped, split on anything but letters and digits, fillers dropped, words sorted."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if unicodedata.category(c) != "Mn").casefold().strip()
    changed = True
    while changed:
        changed = False
        for tag in TAGS:
            cut = re.sub(r"\s*\(\s*" + re.escape(tag) + r"\s*\)\s*$", "", text)
            if cut != text:
                text, changed = cut, True
    words = [w for w in re.split(r"[\W_]+", text) if w]
    return " ".join(sorted([w for w in words if w not in FILLERS] or words))


def indel_similarity(a: str, b: str) -> float:
    """1 - (characters inserted or deleted to turn a into b) / (their total length), i.e.
    2 * LCS / total length, with the longest common subsequence counted by its table."""
    if a == b:
        return 1.0
    row = [0] * (len(b) + 1)
    for ca in a:
        previous, row = row, [0]
        for j, cb in enumerate(b):
            row.append(previous[j] + 1 if ca == cb else max(previous[j + 1], row[j]))
    return 2 * row[-1] / (len(a) + len(b))


def display_match(a: str, b: str, score: float) -> bool:
    if a == b:
        return bool(a)
    return score >= 0.92 and len(a.split()) == len(b.split())


@dataclass
class Evidence:
    """One pair of codes: the entities listing both, those pairing them, by display or not."""

    co: set[str] = field(default_factory=set)
    paired: set[str] = field(default_factory=set)
    lexical: bool = False
    score: float = 0.0


@dataclass
class Expected:
    """What the rules say of one paired pair of codes."""

    entities: set[str]
    findings: int
    contexts: int
    template: bool
    lexical: bool
    score: float | None
    cardinality: str
    outlier: bool
    predicate: str
    confidence: float
    source_uses: int
    target_uses: int
    source_contexts: int
    target_contexts: int


@dataclass
class Oracle:
    """Entities, codes, displays and contexts read straight from OIFM JSON files."""

    codes_of: dict[str, set[Code]] = field(default_factory=dict)
    finding_of: dict[str, str] = field(default_factory=dict)
    context_of: dict[str, ContextKey] = field(default_factory=dict)
    displays: dict[tuple[str, Code], set[str]] = field(default_factory=dict)  # (finding, code)

    def add(self, entity: str, finding: str, context: ContextKey, listed: list[dict]) -> None:
        codes = {(ALIASES.get(c["system"], c["system"]), c["code"].strip()) for c in listed}
        if codes:
            self.codes_of[entity] = codes
            self.finding_of[entity] = finding
            self.context_of[entity] = context

    def uses(self) -> dict[Code, set[str]]:
        found: dict[Code, set[str]] = defaultdict(set)
        for entity, codes in self.codes_of.items():
            for code in codes:
                found[code].add(entity)
        return found

    def contexts(self, entities: Iterable[str]) -> dict[ContextKey, set[str]]:
        """Context → the findings of ``entities`` in it."""
        found: dict[ContextKey, set[str]] = defaultdict(set)
        for entity in entities:
            found[self.context_of[entity]].add(self.finding_of[entity])
        return found

    def _by_display(self, entity: str, left: list[Code], right: list[Code]) -> dict[Key, tuple]:
        finding = self.finding_of[entity]

        def forms(code: Code) -> set[str]:
            return {normal(d) for d in self.displays.get((finding, code), ())}

        scored = {}
        best: dict[Code, float] = {}
        for a in left:
            for b in right:
                found = (False, 0.0)
                for x in forms(a):
                    for y in forms(b):
                        s = indel_similarity(x, y) if x and y else 0.0
                        found = max(found, (bool(x and y) and display_match(x, y, s), s))
                scored[(a, b)] = found
                if found[0]:
                    best[a] = max(best.get(a, 0.0), found[1])
                    best[b] = max(best.get(b, 0.0), found[1])
        return {
            (a, b): (matched and score >= max(best[a], best[b]), score)
            for (a, b), (matched, score) in scored.items()
        }

    def pairs(self, x: str, y: str) -> dict[Key, Evidence]:
        """(code of x, code of y) → the evidence of every pair listed together."""
        out: dict[Key, Evidence] = defaultdict(Evidence)
        for entity, codes in self.codes_of.items():
            left = sorted(c for c in codes if c[0] == x)
            right = sorted(c for c in codes if c[0] == y)
            several = len(left) >= 2 and len(right) >= 2
            compared = self._by_display(entity, left, right) if several else {}
            for a in left:
                for b in right:
                    evidence = out[(a, b)]
                    evidence.co.add(entity)
                    paired, score = compared.get((a, b), (True, 0.0))
                    if several:
                        evidence.score = max(evidence.score, score)
                    if paired:
                        evidence.paired.add(entity)
                        evidence.lexical = evidence.lexical or several
        return dict(out)

    def expected(self, x: str, y: str) -> tuple[dict[Key, Expected], set[Key]]:
        """The paired pairs from x to y with what the rules say of them, and the co-listed."""
        pairs = self.pairs(x, y)
        uses = self.uses()
        paired = {key: e for key, e in pairs.items() if e.paired}
        partners: dict[Code, dict[Code, int]] = defaultdict(dict)
        for (a, b), e in paired.items():
            partners[a][b] = partners[b][a] = len(e.paired)

        def minority(code: Code, other: Code) -> bool:
            n = len(uses[code])
            shares = [m / n for c, m in partners[code].items() if c != other]
            return partners[code][other] / n < 0.05 and any(s >= 0.5 for s in shares)

        out = {}
        for (a, b), e in paired.items():
            k = len(self.contexts(e.paired))
            n_a, n_b = len(self.contexts(uses[a])), len(self.contexts(uses[b]))
            many_a, many_b = len(partners[a]) > 1, len(partners[b]) > 1
            cardinality = {(0, 0): "1:1", (1, 0): "1:n", (0, 1): "n:1", (1, 1): "n:m"}[
                (many_a, many_b)
            ]
            outlier = minority(a, b) or minority(b, a)
            findings = len({self.finding_of[entity] for entity in e.paired})
            close = (
                cardinality == "1:1"
                and not outlier
                and k >= 2
                and findings >= 2
                and min(k / n_a, k / n_b) >= 0.5
            )
            out[(a, b)] = Expected(
                entities=e.paired,
                findings=findings,
                contexts=k,
                template=any(len(f) >= 10 for f in self.contexts(e.co).values()),
                lexical=e.lexical,
                score=e.score if e.lexical else None,
                cardinality=cardinality,
                outlier=outlier,
                predicate=CLOSE if close else RELATED,
                confidence=k / (max(n_a, n_b) + 1),
                source_uses=len(uses[a]),
                target_uses=len(uses[b]),
                source_contexts=n_a,
                target_contexts=n_b,
            )
        return out, set(pairs) - set(paired)


def read_oracle(files: Iterable[Path]) -> Oracle:
    oracle = Oracle()
    for path in sorted(files):
        model = json.loads(path.read_text(encoding="utf-8"))
        finding = model["oifm_id"]
        listed = [model.get("index_codes") or [], model.get("anatomic_locations") or []]
        oracle.add(
            finding, finding, ("finding", normal(model["name"]), None), listed[0]
        )  # anatomic locations index nothing
        for attribute in model.get("attributes") or []:
            name = attribute["name"]
            listed.append(attribute.get("index_codes") or [])
            oracle.add(
                attribute["oifma_id"],
                finding,
                ("attribute", normal(name), None),
                attribute.get("index_codes") or [],
            )
            for value in attribute.get("values") or []:
                listed.append(value.get("index_codes") or [])
                oracle.add(
                    value["value_code"],
                    finding,
                    ("value", normal(value["name"]), normal(name)),
                    value.get("index_codes") or [],
                )
        for codes in listed:  # a code's displays are those its model gives it anywhere
            for item in codes:
                code = (ALIASES.get(item["system"], item["system"]), item["code"].strip())
                shown = oracle.displays.setdefault((finding, code), set())
                if (item.get("display") or "").strip():
                    shown.add(item["display"])
    return oracle


def curie(code: Code) -> str:
    return f"{PREFIX[code[0]]}:{code[1]}"


Link = tuple[str, str, str]  # (subject CURIE, predicate, object CURIE)


def expected_links(paired: dict[Key, Expected]) -> set[Link]:
    """The links of a default mapping set (docs/mappings.md): every paired pair but the
    outliers, with the predicate the rules give it."""
    return {(curie(a), e.predicate, curie(b)) for (a, b), e in paired.items() if not e.outlier}


def _compact(iri: str) -> str:
    (namespace,) = [n for n in NAMESPACE if iri.startswith(n)]
    return f"{NAMESPACE[namespace]}:{iri[len(namespace) :]}"


def links_read_back(
    data: bytes, fmt: str, sssom_py: Any, caplog: pytest.LogCaptureFixture
) -> set[Link]:
    """The links of a mapping file as another reader sees them: sssom-py for SSSOM,
    fhir.resources (validating the ConceptMap) for FHIR, Oxigraph for SKOS."""
    if fmt == "sssom":
        df = read_sssom_py(sssom_py, data.decode(), caplog).df
        return set(zip(df["subject_id"], df["predicate_id"], df["object_id"], strict=True))
    if fmt == "skos":
        store = ox.Store()
        store.load(data, format=ox.RdfFormat.TURTLE)
        links = store.query(
            "SELECT ?s ?p ?o WHERE { ?s ?p ?o . "
            "FILTER (?p IN (skos:closeMatch, skos:relatedMatch, skos:exactMatch)) }",
            prefixes=SKOS_PREFIXES,
        )
        return {
            (_compact(r["s"].value), "skos:" + r["p"].value.split("#")[1], _compact(r["o"].value))
            for r in links  # type: ignore[union-attr]
        }
    pytest.importorskip("fhir.resources")
    from fhir.resources.conceptmap import ConceptMap as ConceptMapR5
    from fhir.resources.R4B.conceptmap import ConceptMap as ConceptMapR4

    with warnings_as_errors():
        if fmt == "fhir-r4":
            model: Any = ConceptMapR4.model_validate(json.loads(data))
        else:
            model = ConceptMapR5.model_validate(json.loads(data))
    prefix = {"http://radlex.org": "radlex", "http://snomed.info/sct": "sct"}
    found = set()
    for group in model.group:
        for element in group.element:
            for target in element.target:
                if fmt == "fhir-r4":
                    predicate = {"inexact": CLOSE, "relatedto": RELATED}[target.equivalence]
                else:
                    (predicate,) = [p.valueString for p in target.property if p.code == "predicate"]
                found.add(
                    (
                        f"{prefix[group.source]}:{element.code}",
                        predicate,
                        f"{prefix[group.target]}:{target.code}",
                    )
                )
    return found


def key_of(mapping: Any) -> Key:
    p = mapping.pair
    return ((p.source.system, p.source.code), (p.target.system, p.target.code))


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def oracle(corpus_defs: Path) -> Oracle:
    return read_oracle(corpus_defs.glob("*.fm.json"))


@pytest.fixture(scope="module")
def radlex_snomed_expected(oracle: Oracle) -> tuple[dict[Key, Expected], set[Key]]:
    return oracle.expected("RADLEX", "SNOMED")


@pytest.fixture(scope="module")
def corpus(corpus_store: Path) -> Iterator[Store]:
    with Store(corpus_store, read_only=True) as store:
        yield store


@pytest.fixture(scope="module")
def radlex_snomed(corpus: Store) -> MappingSet:
    return build_mapping_set(corpus, "RADLEX", "SNOMED", mapping_date=DATE)


@pytest.fixture(scope="module")
def radlex_snomed_marked(corpus: Store) -> MappingSet:
    return build_mapping_set(corpus, "RADLEX", "SNOMED", outliers="mark", mapping_date=DATE)


@pytest.fixture(scope="module")
def all_systems(corpus: Store) -> MappingSet:
    return build_mapping_set(corpus, outliers="mark", mapping_date=DATE)


@pytest.fixture(scope="session")
def sssom_py():  # type: ignore[no-untyped-def]
    """sssom-py's parser and validator, imported once (importing it warns about pandas)."""
    pytest.importorskip("sssom")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sssom.parsers import parse_sssom_rdf, parse_sssom_table
        from sssom.validators import validate
    return parse_sssom_table, parse_sssom_rdf, validate


@pytest.fixture(scope="session")
def sssom_pydantic():  # type: ignore[no-untyped-def]
    return pytest.importorskip("sssom_pydantic")


#: A minimal SSSOM file: what sssom-py's parser warns about whatever the input.
MINIMAL_SSSOM = (
    "# curie_map:\n#   ex: http://example.org/\n"
    "# mapping_set_id: http://example.org/set\n"
    "# license: https://creativecommons.org/publicdomain/zero/1.0/\n"
    "subject_id\tpredicate_id\tobject_id\tmapping_justification\n"
    "ex:a\tskos:exactMatch\tex:b\tsemapv:ManualMappingCuration\n"
)


@contextlib.contextmanager
def warnings_as_errors() -> Iterator[None]:
    """Every warning an error, but pandas 3's deprecation warnings raised from inside sssom-py
    itself: it raises them on any input, MINIMAL_SSSOM included
    (:func:`test_sssom_py_warns_about_pandas_on_any_input`)."""
    from pandas.errors import Pandas4Warning

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=Pandas4Warning, module=r"sssom(\.|$)")
        yield


def read_sssom_py(sssom_py, text: str, caplog: pytest.LogCaptureFixture):  # type: ignore[no-untyped-def]
    """sssom-py's mapping set data frame for ``text``; fails on any warning or warning log."""
    caplog.clear()
    with caplog.at_level(logging.INFO), warnings_as_errors():
        msdf = sssom_py[0](io.StringIO(text))
    logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert not logged, logged
    return msdf


def read_sssom_pydantic(sssom_pydantic, text: str, caplog: pytest.LogCaptureFixture):  # type: ignore[no-untyped-def]
    """sssom-pydantic's mappings for ``text``; fails on any warning, log or row error."""
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="sssom_pydantic"), warnings_as_errors():
        mappings, _converter, mapping_set, errors = sssom_pydantic.read(
            io.StringIO(text), return_errors=True
        )
    assert errors == []
    logged = [r.getMessage() for r in caplog.records if r.name.startswith("sssom_pydantic")]
    assert not logged, logged
    return mappings, mapping_set


def sssom_rows(text: str) -> tuple[list[str], list[dict[str, str]]]:
    """The header and rows of SSSOM/TSV text, read as plain TSV."""
    lines = [line.split("\t") for line in text.splitlines() if not line.startswith("#")]
    header = lines[0]
    assert all(len(row) == len(header) for row in lines[1:])
    return header, [dict(zip(header, row, strict=True)) for row in lines[1:]]


def run(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)


# ------------------------------------------------------------------ the set against the JSON


def test_the_oracle_knows_the_corpus(radlex_snomed_expected: tuple) -> None:
    """The figures of docs/mappings.md, recounted from the JSON."""
    paired, colisted = radlex_snomed_expected
    assert (len(paired), len(colisted)) == (72, 596)
    assert sum(e.predicate == CLOSE for e in paired.values()) == 4
    assert sum(e.outlier for e in paired.values()) == 2
    assert sum(e.lexical for e in paired.values()) == 31


def test_the_mapping_set_is_what_the_json_says(
    radlex_snomed_marked: MappingSet, radlex_snomed_expected: tuple
) -> None:
    paired, colisted = radlex_snomed_expected
    got = {key_of(m): m for m in radlex_snomed_marked.mappings}
    assert set(got) == set(paired)
    assert radlex_snomed_marked.colisted == len(colisted)
    assert radlex_snomed_marked.excluded_outliers == radlex_snomed_marked.below_threshold == 0
    for key, e in paired.items():
        m, p = got[key], got[key].pair
        assert m.predicate == e.predicate, key
        assert set(p.paired.entities) == e.entities, key
        assert (p.paired.findings, p.paired.context_count) == (e.findings, e.contexts), key
        assert (p.template, p.lexical, p.cardinality) == (e.template, e.lexical, e.cardinality)
        assert m.marked_outlier == e.outlier, key
        assert p.confidence == pytest.approx(e.confidence), key
        assert m.justification == (COMPOSITE if e.lexical else INSTANCE_BASED), key
        if e.lexical:
            assert m.similarity == pytest.approx(e.score), key
        else:
            assert m.similarity is None, key
        assert (p.source_uses, p.target_uses) == (e.source_uses, e.target_uses), key
        assert (p.source_contexts, p.target_contexts) == (e.source_contexts, e.target_contexts)
    # without marking, the outliers are left out and counted
    assert radlex_snomed_marked.counts() == {
        CLOSE: sum(e.predicate == CLOSE for e in paired.values()),
        RELATED: sum(e.predicate == RELATED for e in paired.values()),
    }


def test_outliers_are_excluded_by_default(
    radlex_snomed: MappingSet, radlex_snomed_expected: tuple
) -> None:
    paired, _colisted = radlex_snomed_expected
    outliers = {key for key, e in paired.items() if e.outlier}
    assert {key_of(m) for m in radlex_snomed.mappings} == set(paired) - outliers
    assert radlex_snomed.excluded_outliers == len(outliers) == 2
    assert {(a[1], b[1]) for a, b in outliers} == {
        ("RID5655", "386554004"),
        ("RID5655", "363850001"),
    }


def test_every_system_pair_is_what_the_json_says(all_systems: MappingSet, oracle: Oracle) -> None:
    rows: dict[tuple[str, str], set[Key]] = defaultdict(set)
    got = {}
    for m in all_systems.mappings:
        rows[(m.pair.source.system, m.pair.target.system)].add(key_of(m))
        got[key_of(m)] = m
    expected = {}
    colisted = 0
    for i, x in enumerate(SYSTEM_ORDER):
        for y in SYSTEM_ORDER[i + 1 :]:
            paired, listed = oracle.expected(x, y)
            colisted += len(listed)
            if paired:
                expected[(x, y)] = set(paired)
            for key, e in paired.items():
                m = got[key]
                assert (m.predicate, m.pair.paired.context_count) == (e.predicate, e.contexts)
                assert m.pair.confidence == pytest.approx(e.confidence), key
                assert m.marked_outlier == e.outlier, key
    assert dict(rows) == expected
    assert list(all_systems.system_pairs) == list(expected)  # in registry order
    assert all_systems.colisted == colisted


def test_the_predicate_follows_the_engine(radlex_snomed_marked: MappingSet, corpus: Store) -> None:
    """No maths of its own: each mapping is the engine's pair, unchanged."""
    engine = {
        (p.source.code, p.target.code): p
        for p in CrosswalkReader(corpus).pairs("RADLEX", "SNOMED")
        if p.status == "paired"
    }
    assert [m.pair for m in radlex_snomed_marked.mappings] == list(engine.values())


def test_co_listed_pairs_are_never_mappings(
    all_systems: MappingSet, radlex_snomed_expected: tuple
) -> None:
    _paired, colisted = radlex_snomed_expected
    assert (("RADLEX", "RID381"), ("SNOMED", "245019009")) in colisted  # piriformis
    assert not colisted & {key_of(m) for m in all_systems.mappings}


def test_filters_count_contexts(corpus: Store, radlex_snomed_expected: tuple) -> None:
    paired, _colisted = radlex_snomed_expected
    kept = {key: e for key, e in paired.items() if not e.outlier}
    two = build_mapping_set(corpus, "RADLEX", "SNOMED", min_support=2)
    assert {key_of(m) for m in two.mappings} == {k for k, e in kept.items() if e.contexts >= 2}
    # thresholds first, then outliers: an outlier below a threshold counts as below it
    assert two.below_threshold == sum(e.contexts < 2 for e in paired.values())
    assert two.excluded_outliers == sum(e.outlier and e.contexts >= 2 for e in paired.values())
    half = build_mapping_set(corpus, "RADLEX", "SNOMED", min_share=0.75)
    assert {key_of(m) for m in half.mappings} == {
        k for k, e in kept.items() if e.contexts / e.source_contexts >= 0.75
    }


def test_rejects_bad_arguments(corpus: Store) -> None:
    with pytest.raises(UnknownCodeSystemError, match="RADLEX"):
        build_mapping_set(corpus, "RADLEX", "NOPE")
    with pytest.raises(ValueError, match="same code system"):
        build_mapping_set(corpus, "SNOMED", "SNOMEDCT")
    with pytest.raises(ValueError, match="min_support"):
        build_mapping_set(corpus, min_support=0)


def test_models_stores_and_backends_give_the_same_set(
    corpus: Store, corpus_report: Any, radlex_snomed: MappingSet
) -> None:
    crosswalk = build_crosswalk(
        e for source in corpus_report.models for e in entities_of_model(source.model)
    )
    from_models = build_mapping_set(crosswalk, "RADLEX", "SNOMED", mapping_date=DATE)
    from_backend = build_mapping_set(LocalBackend(corpus), "RADLEX", "SNOMED", mapping_date=DATE)
    for fmt in FORMATS:  # consistency of three paths, not an expected value
        expected = serialize(radlex_snomed, fmt)
        assert serialize(from_models, fmt) == expected, fmt
        assert serialize(from_backend, fmt) == expected, fmt


# ------------------------------------------------------------------ SSSOM


def test_sssom_py_warns_about_pandas_on_any_input(sssom_py) -> None:  # type: ignore[no-untyped-def]
    """The one warning sssom-py raises reading our files, it raises reading any file: pandas 3
    deprecations inside its own code (``DataFrame.dropna(inplace=...)``, ``copy=``)."""
    from pandas.errors import Pandas4Warning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sssom_py[0](io.StringIO(MINIMAL_SSSOM))
    assert caught and all(issubclass(w.category, Pandas4Warning) for w in caught)
    assert all(f"{os.sep}sssom{os.sep}" in w.filename for w in caught)


@pytest.mark.parametrize("which", ["default", "marked", "all"])
def test_sssom_is_read_by_sssom_py_and_sssom_pydantic_without_warnings(
    which: str,
    radlex_snomed: MappingSet,
    radlex_snomed_marked: MappingSet,
    all_systems: MappingSet,
    sssom_py,  # type: ignore[no-untyped-def]
    sssom_pydantic,  # type: ignore[no-untyped-def]
    caplog: pytest.LogCaptureFixture,
) -> None:
    mapping_set = {"default": radlex_snomed, "marked": radlex_snomed_marked}.get(which, all_systems)
    text = serialize(mapping_set, "sssom").decode()
    msdf = read_sssom_py(sssom_py, text, caplog)
    df = msdf.df
    assert len(df) == len(mapping_set)
    assert msdf.metadata["sssom_version"] == "1.1"
    assert msdf.metadata["mapping_set_id"] == mapping_set.id
    assert df["mapping_tool"].iloc[0] == "ontomap"
    assert df["mapping_tool_version"].iloc[0] == __version__
    assert str(df["mapping_date"].iloc[0]) == DATE
    assert set(df["mapping_justification"]) == {INSTANCE_BASED, COMPOSITE}
    assert set(df["predicate_id"]) == {CLOSE, RELATED}
    assert df["confidence"].between(0.0, 1.0).all()
    # the schema, prefix map and CURIEs pass sssom-py's validators
    from sssom.constants import SchemaValidationType as V

    with warnings_as_errors():
        kinds = [V.JsonSchema, V.PrefixMapCompleteness, V.StrictCurieFormat]
        reports = sssom_py[2](msdf, kinds, fail_on_error=True)
    assert all(not report.results for report in reports.values())
    # SSSOM's mapping_cardinality: sssom-py infers the same from the rows
    written = list(df["mapping_cardinality"])
    scope = ["subject_source", "object_source"] if which == "all" else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # pandas, inside sssom-py
        msdf.infer_cardinality(scope)
    assert written == list(msdf.df["mapping_cardinality"])
    mappings, metadata = read_sssom_pydantic(sssom_pydantic, text, caplog)
    assert len(mappings) == len(mapping_set)
    assert str(metadata.id) == mapping_set.id


def test_sssom_rows_carry_the_evidence(
    radlex_snomed_marked: MappingSet,
    radlex_snomed_expected: tuple,
    sssom_pydantic,  # type: ignore[no-untyped-def]
    caplog: pytest.LogCaptureFixture,
) -> None:
    paired, _colisted = radlex_snomed_expected
    text = serialize(radlex_snomed_marked, "sssom").decode()
    header, rows = sssom_rows(text)
    assert header[:6] == [
        "subject_id",
        "subject_label",
        "predicate_id",
        "object_id",
        "object_label",
        "mapping_justification",
    ]
    assert header[-3:] == ["see_also", "other", "comment"]
    assert '# sssom_version: "1.1"\n' in text and "#   wikidata: " in text
    mappings, _metadata = read_sssom_pydantic(sssom_pydantic, text, caplog)
    by_key = {(m.subject.curie, m.object.curie): m for m in mappings}
    assert len(rows) == len(paired) == len(by_key)
    for (a, b), e in paired.items():
        row = next(r for r in rows if (r["subject_id"], r["object_id"]) == (curie(a), curie(b)))
        assert row["predicate_id"] == e.predicate
        assert float(row["confidence"]) == pytest.approx(e.confidence, rel=1e-3)
        other = dict(pair.split("=", 1) for pair in row["other"].split("|"))
        assert int(other["entityCount"]) == len(e.entities)
        assert int(other["findingCount"]) == e.findings
        assert int(other["contextCount"]) == e.contexts
        assert other["template"] == ("true" if e.template else "false")
        assert other["cardinality"] == e.cardinality
        assert ("outlier" in other) == e.outlier
        assert row["comment"].startswith("OUTLIER") == e.outlier
        shown = {iri.removeprefix(DEFAULT_BASE_IRI) for iri in row["see_also"].split("|")}
        assert shown <= e.entities and len(shown) == min(len(e.entities), SEE_ALSO_ENTITIES)
        if e.lexical:
            assert float(row["similarity_score"]) == pytest.approx(e.score, rel=1e-3)
            assert row["similarity_measure"] == SIMILARITY_MEASURE
            assert row["mapping_justification"] == COMPOSITE
        else:
            assert row["similarity_score"] == row["similarity_measure"] == ""
            assert row["mapping_justification"] == INSTANCE_BASED
        read = by_key[(curie(a), curie(b))]  # sssom-pydantic reads `other` as key=value pairs
        assert read.other == other


def test_the_other_column_is_the_engines_figures(
    radlex_snomed_marked: MappingSet, corpus: Store
) -> None:
    """The formatting layer against the engine's own pairs."""
    _header, rows = sssom_rows(serialize(radlex_snomed_marked, "sssom").decode())
    engine = [p for p in CrosswalkReader(corpus).pairs("RADLEX", "SNOMED") if p.predicate]
    assert len(rows) == len(engine)
    for row, p in zip(rows, engine, strict=True):
        assert (row["subject_id"], row["object_id"]) == (p.source.curie, p.target.curie)
        other = dict(pair.split("=", 1) for pair in row["other"].split("|"))
        assert other["subjectUses"] == str(p.source_uses)
        assert other["objectUses"] == str(p.target_uses)
        assert other["subjectContexts"] == str(p.source_contexts)
        assert other["objectContexts"] == str(p.target_contexts)
        assert list(other) == [f.name for f in EVIDENCE if f.name != "outlier" or p.flag]
        assert row["see_also"].split("|") == [
            DEFAULT_BASE_IRI + entity for entity in p.paired.entities[:SEE_ALSO_ENTITIES]
        ]


def test_rid5791_is_a_related_match_from_a_template(
    radlex_snomed: MappingSet, oracle: Oracle
) -> None:
    a, b = ("RADLEX", "RID5791"), ("SNOMED", "263768009")
    entities = oracle.uses()[a]
    assert entities == oracle.uses()[b] and len(entities) == 1994
    assert len(oracle.contexts(entities)) == 1  # value "larger" of "change from prior"
    _header, rows = sssom_rows(serialize(radlex_snomed, "sssom").decode())
    (row,) = [r for r in rows if (r["subject_id"], r["object_id"]) == (curie(a), curie(b))]
    assert row["predicate_id"] == RELATED
    assert row["mapping_justification"] == INSTANCE_BASED
    assert row["confidence"] == "0.5"  # one context of one: 1 / (1 + 1)
    assert row["mapping_cardinality"] == "1:1"
    other = dict(pair.split("=", 1) for pair in row["other"].split("|"))
    assert (other["entityCount"], other["findingCount"]) == ("1994", "1994")
    assert (other["contextCount"], other["template"]) == ("1", "true")
    assert 'value "larger" of "change from prior" (1,994 finding models)' in row["comment"]
    assert "Template: " in row["comment"]
    assert len(row["see_also"].split("|")) == SEE_ALSO_ENTITIES


def test_the_invasion_attribute_pairs_by_display(
    all_systems: MappingSet, radlex_snomed_expected: tuple
) -> None:
    paired, colisted = radlex_snomed_expected
    pubococcygeus = (("RADLEX", "RID381"), ("SNOMED", "244958005"))
    piriformis = (("RADLEX", "RID381"), ("SNOMED", "245019009"))
    assert paired[pubococcygeus].entities == {INVASION} and paired[pubococcygeus].lexical
    assert piriformis in colisted
    text = serialize(all_systems, "sssom").decode()
    _header, rows = sssom_rows(text)
    by_pair = {(r["subject_id"], r["object_id"]): r for r in rows}
    row = by_pair[("radlex:RID381", "sct:244958005")]
    assert row["mapping_justification"] == COMPOSITE
    assert (row["similarity_score"], row["similarity_measure"]) == ("1.0", SIMILARITY_MEASURE)
    assert row["predicate_id"] == RELATED
    assert ("radlex:RID381", "sct:245019009") not in by_pair
    assert ("radlex:RID2632", "sct:245019009") in by_pair  # piriformis with piriformis
    for fmt in ("fhir-r4", "fhir-r5", "skos"):
        data = serialize(all_systems, fmt).decode()
        assert "244958005" in data and "245019009" in data  # piriformis pairs with RID2632 …
    resource = concept_map(all_systems, "R5")
    group = next(g for g in resource["group"] if g["target"] == "http://snomed.info/sct")
    (element,) = [e for e in group["element"] if e["code"] == "RID381"]
    assert [t["code"] for t in element["target"]] == ["244958005"]  # … not with RID381


def test_no_sssom_cell_is_too_long_for_a_spreadsheet(
    all_systems: MappingSet, radlex_snomed: MappingSet
) -> None:
    for mapping_set in (all_systems, radlex_snomed):
        _header, rows = sssom_rows(serialize(mapping_set, "sssom").decode())
        longest = max(len(cell) for row in rows for cell in row.values())
        assert longest < CELL_LIMIT
        assert longest < 1_000  # on the corpus: 591, the comment of RID5655 ~ 261665006


def test_sssom_without_display_matches_has_no_similarity_columns(corpus: Store) -> None:
    mapping_set = build_mapping_set(corpus, "RADLEX", "LOINC", mapping_date=DATE)
    assert mapping_set.mappings and not mapping_set.lexical
    text = serialize(mapping_set, "sssom").decode()
    header, _rows = sssom_rows(text)
    assert "similarity_score" not in header and "wikidata" not in text


# ------------------------------------------------------------------ FHIR


def _fhir_counts(keys: Iterable[Key]) -> tuple[int, int]:
    keys = list(keys)
    return len({a for a, _b in keys}), len(keys)


def test_fhir_r4_concept_map(radlex_snomed: MappingSet, radlex_snomed_expected: tuple) -> None:
    pytest.importorskip("fhir.resources")
    from fhir.resources.R4B.conceptmap import ConceptMap

    paired, _colisted = radlex_snomed_expected
    kept = {k: e for k, e in paired.items() if not e.outlier}
    resource = json.loads(serialize(radlex_snomed, "fhir-r4"))
    with warnings_as_errors():
        model = ConceptMap.model_validate(resource)
    assert model.sourceUri == "http://radlex.org?fhir_vs"
    assert model.targetUri == "http://snomed.info/sct?fhir_vs"
    assert resource["id"] == "ontomap-radlex-to-sct" and resource["date"] == DATE
    (group,) = model.group
    assert (group.source, group.target) == ("http://radlex.org", "http://snomed.info/sct")
    sources, targets = _fhir_counts(kept)
    assert len(group.element) == sources
    assert sum(len(e.target) for e in group.element) == targets
    for element in group.element:
        for target in element.target:
            e = kept[(("RADLEX", element.code), ("SNOMED", target.code))]
            assert target.equivalence == {CLOSE: "inexact", RELATED: "relatedto"}[e.predicate]
            assert f"{e.contexts:,} independent context" in target.comment
            assert ("Template: " in target.comment) == e.template
            assert f"= {float(f'{e.confidence:.4g}')};" in target.comment
            assert ("Displays matched" in target.comment) == e.lexical
    (element,) = [e for e in group.element if e.code == "RID5791"]
    assert element.display == "enlarged"
    assert [(t.code, t.equivalence) for t in element.target] == [("263768009", "relatedto")]


def test_fhir_r5_concept_map(radlex_snomed: MappingSet, radlex_snomed_expected: tuple) -> None:
    pytest.importorskip("fhir.resources")
    from fhir.resources.conceptmap import ConceptMap

    paired, _colisted = radlex_snomed_expected
    kept = {k: e for k, e in paired.items() if not e.outlier}
    resource = json.loads(serialize(radlex_snomed, "fhir-r5"))
    with warnings_as_errors():
        model = ConceptMap.model_validate(resource)
    assert model.sourceScopeUri == "http://radlex.org?fhir_vs"
    assert model.targetScopeUri == "http://snomed.info/sct?fhir_vs"
    (group,) = model.group
    sources, targets = _fhir_counts(kept)
    assert len(group.element) == sources
    assert sum(len(e.target) for e in group.element) == targets
    assert {t.relationship for e in group.element for t in e.target} == {"related-to"}
    declared = {p.code: p.type for p in model.property}
    assert declared["template"] == "boolean" and declared["contextCount"] == "integer"
    for element in group.element:
        for target in element.target:
            values = {p.code: p for p in target.property}
            assert set(values) <= set(declared)
            e = kept[(("RADLEX", element.code), ("SNOMED", target.code))]
            assert values["predicate"].valueString == e.predicate
            assert values["entityCount"].valueInteger == len(e.entities)
            assert values["findingCount"].valueInteger == e.findings
            assert values["contextCount"].valueInteger == e.contexts
            assert values["template"].valueBoolean == e.template
            assert float(values["confidence"].valueDecimal) == pytest.approx(e.confidence, 1e-3)
            if e.lexical:
                assert float(values["similarity"].valueDecimal) == pytest.approx(e.score)
                assert values["justification"].valueString == COMPOSITE
            else:
                assert "similarity" not in values
                assert values["justification"].valueString == INSTANCE_BASED


def test_fhir_groups_per_system_pair(all_systems: MappingSet) -> None:
    pytest.importorskip("fhir.resources")
    from fhir.resources.conceptmap import ConceptMap as ConceptMapR5
    from fhir.resources.R4B.conceptmap import ConceptMap as ConceptMapR4

    for version, model in (("R4", ConceptMapR4), ("R5", ConceptMapR5)):
        resource = concept_map(all_systems, version)  # type: ignore[arg-type]
        with warnings_as_errors():
            model.model_validate(resource)
        assert "sourceUri" not in resource and "sourceScopeUri" not in resource
        pairs = [(g["source"], g["target"]) for g in resource["group"]]
        assert len(pairs) == len(set(pairs)) == len(all_systems.system_pairs)
        assert ("http://snomed.info/sct", "http://loinc.org") in pairs
    assert set(R4_EQUIVALENCE.values()) == {"inexact", "relatedto"}  # never equivalent
    assert set(R5_RELATIONSHIP.values()) == {"related-to"}


# ------------------------------------------------------------------ SKOS


def _skos_store(mapping_set: MappingSet) -> ox.Store:
    store = ox.Store()
    store.load(serialize(mapping_set, "skos"), format=ox.RdfFormat.TURTLE)
    return store


SKOS_PREFIXES = {
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "sssom": SSSOM_NS,
    "xwalk": XWALK_NS,
    "semapv": "https://w3id.org/semapv/vocab/",
}


def _count(store: ox.Store, where: str) -> int:
    (row,) = store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ {where} }}", prefixes=SKOS_PREFIXES)  # type: ignore[misc]
    return int(row["n"].value)


def test_skos_links_with_reified_evidence(
    radlex_snomed_marked: MappingSet, radlex_snomed_expected: tuple
) -> None:
    paired, _colisted = radlex_snomed_expected
    store = _skos_store(radlex_snomed_marked)
    links = "?s ?p ?o . FILTER (?p IN (skos:closeMatch, skos:relatedMatch, skos:exactMatch))"
    assert _count(store, links) == len(paired)
    assert _count(store, "?s skos:exactMatch ?o") == 0
    assert _count(store, "?s skos:closeMatch ?o") == sum(
        e.predicate == CLOSE for e in paired.values()
    )
    assert _count(store, "?set sssom:mappings ?m . ?m a owl:Axiom") == len(paired)
    assert _count(
        store,
        "?m owl:annotatedSource ?s ; owl:annotatedProperty ?p ; owl:annotatedTarget ?o . ?s ?p ?o",
    ) == len(paired)
    assert _count(store, "?m xwalk:supportingEntity ?e") == sum(
        len(e.entities) for e in paired.values()
    )
    assert _count(store, "?m xwalk:supportingContext ?c . ?c a xwalk:Context") == sum(
        e.contexts for e in paired.values()
    )
    assert _count(store, "?m a owl:Axiom ; xwalk:template true") == sum(
        e.template for e in paired.values()
    )
    assert _count(store, "?m xwalk:outlier true") == sum(e.outlier for e in paired.values())
    lexical = [e for e in paired.values() if e.lexical]
    assert _count(store, "?m sssom:similarity_score ?s ; sssom:similarity_measure ?x") == len(
        lexical
    )
    assert _count(store, "?m sssom:mapping_justification semapv:CompositeMatching") == len(lexical)
    rid = paired[(("RADLEX", "RID5791"), ("SNOMED", "263768009"))]
    assert _count(
        store,
        "?m owl:annotatedSource <http://radlex.org/RID/RID5791> ; "
        "owl:annotatedTarget <http://snomed.info/id/263768009> ; "
        "owl:annotatedProperty skos:relatedMatch ; sssom:confidence ?c ; xwalk:template true ; "
        "xwalk:contextCount 1 ; xwalk:supportingEntity ?e ; xwalk:supportingContext ?x . "
        '?x xwalk:contextKind "value" ; xwalk:contextName "larger" ; '
        'xwalk:contextAttribute "change from prior" ; xwalk:findingCount 1994 . '
        "FILTER (?c = 0.5)",
    ) == len(rid.entities)


def test_skos_is_read_as_sssom_rdf(
    radlex_snomed: MappingSet,
    tmp_path: Path,
    sssom_py,  # type: ignore[no-untyped-def]
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = tmp_path / "m.ttl"
    path.write_bytes(serialize(radlex_snomed, "skos"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas deprecations inside sssom-py
        with caplog.at_level(logging.WARNING):
            msdf = sssom_py[1](str(path))
    df = msdf.df
    assert len(df) == len(radlex_snomed)
    assert set(df["mapping_justification"]) == {INSTANCE_BASED, COMPOSITE}
    assert msdf.metadata["mapping_set_id"] == radlex_snomed.id
    assert set(df["similarity_measure"].dropna()) == {SIMILARITY_MEASURE}
    related = df[df["predicate_id"] == RELATED]
    assert ("radlex:RID5791", "sct:263768009") in set(
        zip(related.subject_id, related.object_id, strict=True)
    )
    # the only complaints: the xwalk: evidence, which SSSOM does not define
    assert all(XWALK_NS in record.getMessage() for record in caplog.records)


def test_skos_uses_only_declared_terms(all_systems: MappingSet) -> None:
    data = serialize(all_systems, "skos")
    declared = declared_terms("mappings.ttl") | declared_terms()
    used = set()
    for triple in ox.parse(data, format=ox.RdfFormat.TURTLE):
        used.add(triple.predicate.value)
        if triple.predicate.value.endswith("#type"):
            used.add(triple.object.value)  # type: ignore[union-attr]
    assert used <= declared, used - declared
    assert data.startswith(b"@prefix dcterms:")
    assert b"ns1:" not in data and b"@prefix fm:" in data
    names = {f"{XWALK_NS}{fact.name}" for fact in EVIDENCE}
    assert names <= declared_terms("mappings.ttl")


# ------------------------------------------------------------------ determinism, dates


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_same_store_same_bytes(corpus: Store, fmt: str) -> None:
    first = serialize(build_mapping_set(corpus, mapping_date=DATE), fmt)
    second = serialize(build_mapping_set(corpus, mapping_date=DATE), fmt)
    assert first == second


@pytest.mark.parametrize("fmt", ["sssom", "fhir-r5", "skos"])
def test_same_bytes_across_processes(corpus_store: Path, tmp_path: Path, fmt: str) -> None:
    """Different hash seeds (set and dict orders) and separate processes: the same file."""
    outputs = []
    for seed in ("1", "2"):
        output = tmp_path / f"{seed}.out"
        command = [sys.executable, "-m", "ontomap", "mappings", "--store", str(corpus_store)]
        command += ["-f", fmt, "-o", str(output), "-q"]
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        env.pop("SOURCE_DATE_EPOCH", None)
        subprocess.run(command, check=True, env=env, cwd=ROOT)
        outputs.append(output.read_bytes())
    assert outputs[0] == outputs[1]


def test_source_date(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    old, new = tmp_path / "a.fm.json", tmp_path / "b.fm.json"
    old.write_text("{}")
    new.write_text("{}")
    os.utime(old, (0, 86400 * 365))  # 1971-01-01
    os.utime(new, (0, 86400 * 366 + 3600))  # 1971-01-02
    assert source_date([old, new, tmp_path / "gone"]) == "1971-01-02"
    assert source_date([tmp_path / "gone"]) is None
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    assert source_date([old, new]) == "1970-01-01"


def test_recorded_files_are_the_stores_sources(corpus: Store) -> None:
    assert recorded_files(corpus) == sorted({info.path for info in corpus.sources().values()})


# ------------------------------------------------------------------ command line


@pytest.mark.parametrize(
    ("fmt", "name"),
    [
        ("sssom", "m.sssom.tsv"),
        ("fhir-r4", "m.r4.json"),
        ("fhir-r5", "m.r5.json"),
        ("skos", "m.ttl"),
    ],
)
def test_cli_writes_each_format(
    corpus_store: Path,
    radlex_snomed_expected: tuple,
    tmp_path: Path,
    fmt: str,
    name: str,
    sssom_py: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def write(output: Path) -> Result:
        args = ["mappings", "--store", corpus_store, "--from", "RADLEX", "--to", "SNOMEDCT"]
        args += ["-o", output, "--mapping-date", DATE]
        return run(*args, *(["--format", fmt] if fmt.startswith("fhir") else []))

    output = tmp_path / name
    result = write(output)
    assert result.exit_code == 0, result.output
    paired, colisted = radlex_snomed_expected
    links = expected_links(paired)
    close = sum(predicate == CLOSE for _s, predicate, _o in links)
    outliers = sum(e.outlier for e in paired.values())
    assert (len(links), close, outliers, len(colisted)) == (70, 4, 2, 596)  # docs/mappings.md
    summary = f"{len(links)} mappings ({close} skos:closeMatch, {len(links) - close} skos:"
    assert f"({fmt}, {summary}relatedMatch); " in result.output
    assert f"{outliers} outliers excluded, {len(colisted)} co-listed pairs (not mappings)" in (
        result.output
    )
    assert links_read_back(output.read_bytes(), fmt, sssom_py, caplog) == links
    again = tmp_path / f"again-{name}"
    assert write(again).exit_code == 0
    assert again.read_bytes() == output.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, again.name])


def test_cli_from_the_corpus_files_equals_the_store(
    corpus_defs: Path,
    radlex_snomed: MappingSet,
    radlex_snomed_expected: tuple,
    tmp_path: Path,
    sssom_py: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With SOURCES the crosswalk is computed from the models, no store built: the links the
    JSON gives, and the same bytes as from the store."""
    output = tmp_path / "m.sssom.tsv"
    args = ["mappings", corpus_defs, "--from", "RADLEX", "--to", "SNOMED"]
    result = run(*args, "-o", output, "--mapping-date", DATE)
    assert result.exit_code == 0, result.output
    files = len(list(corpus_defs.glob("*.fm.json")))
    assert f"read {files:,} files: {files:,} models, 0 errors" in result.output
    data = output.read_bytes()
    paired, _colisted = radlex_snomed_expected
    assert links_read_back(data, "sssom", sssom_py, caplog) == expected_links(paired)
    assert data == serialize(radlex_snomed, "sssom")  # consistency of two paths
    assert not list(tmp_path.glob("**/GENERATION"))


def test_cli_defaults_date_to_the_sources(corpus_store: Path, tmp_path: Path) -> None:
    output = tmp_path / "m.tsv"
    env = {"SOURCE_DATE_EPOCH": "1700000000"}
    result = run("mappings", "--store", corpus_store, "--from", "LOINC", "-o", output, env=env)
    assert result.exit_code == 0, result.output
    assert "# mapping_date: 2023-11-14\n" in output.read_text()


def test_cli_rejects_a_bad_source_date_epoch(corpus_store: Path, tmp_path: Path) -> None:
    env = {"SOURCE_DATE_EPOCH": "yesterday"}
    result = run("mappings", "--store", corpus_store, "-o", tmp_path / "m.tsv", env=env)
    assert result.exit_code == 2
    assert "SOURCE_DATE_EPOCH" in result.output


def test_cli_filters(corpus_store: Path, radlex_snomed_expected: tuple, tmp_path: Path) -> None:
    paired, _colisted = radlex_snomed_expected
    kept = {key: e for key, e in paired.items() if not e.outlier}
    output = tmp_path / "m.sssom.tsv"
    base = ["mappings", "--store", corpus_store, "--from", "RADLEX", "--to", "SNOMED"]

    def rows(*extra: str) -> list[dict[str, str]]:
        assert run(*base, "-o", output, *extra).exit_code == 0
        return sssom_rows(output.read_text())[1]

    assert len(rows("--min-support", "2")) == sum(e.contexts >= 2 for e in kept.values())
    shares = [e.contexts / e.source_contexts for e in kept.values()]
    assert len(rows("--min-share", "0.75")) == sum(s >= 0.75 for s in shares)
    marked = rows("--outliers", "mark")
    assert len(marked) == len(paired)
    assert sum(r["comment"].startswith("OUTLIER") for r in marked) == 2


def test_cli_all_pairs_to_stdout(
    corpus_store: Path,
    oracle: Oracle,
    sssom_py: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    result = run("mappings", "--store", corpus_store, "-o", "-", "--mapping-date", DATE)
    assert result.exit_code == 0
    expected: set[Link] = set()
    for i, x in enumerate(SYSTEM_ORDER):
        for y in SYSTEM_ORDER[i + 1 :]:
            expected |= expected_links(oracle.expected(x, y)[0])
    assert links_read_back(result.stdout_bytes, "sssom", sssom_py, caplog) == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "RADLEX", "--to", "NOPE"], "known systems: GAMUTS, ICD10CM, LOINC"),
        (["--from", "sct", "--to", "SNOMEDCT"], "same code system (SNOMED)"),
        (["--mapping-date", "2025-02-30"], "invalid mapping date"),
        (["--min-share", "1.5"], "--min-share"),
        (["--min-support", "0"], "--min-support"),
        (["-f", "owl"], "'owl' is not one of"),
        (["--timeout", "5"], "--timeout applies to --endpoint"),
        (["--endpoint", "http://127.0.0.1:9/query"], "give --store or --endpoint, not both"),
    ],
)
def test_cli_usage_errors(
    corpus_store: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    output = tmp_path / "m.tsv"
    result = run("mappings", "--store", corpus_store, "-o", output, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not output.exists()


def test_cli_sources_and_endpoint_do_not_mix(tmp_path: Path) -> None:
    output = tmp_path / "m.tsv"
    result = run("mappings", EXAMPLES, "--endpoint", "http://127.0.0.1:9/query", "-o", output)
    assert result.exit_code == 2 and "give SOURCES or --endpoint, not both" in result.output
    result = run("mappings", EXAMPLES, "--timeout", "3", "-o", output)
    assert result.exit_code == 2 and "--timeout applies to --endpoint" in result.output
    assert not output.exists()


def test_cli_json_needs_a_format(corpus_store: Path, tmp_path: Path) -> None:
    result = run("mappings", "--store", corpus_store, "-o", tmp_path / "m.json")
    assert result.exit_code == 2
    assert "fhir-r4, fhir-r5" in result.output


def test_cli_store_errors(tmp_path: Path) -> None:
    result = run("mappings", "--store", tmp_path / "missing", "-o", tmp_path / "m.tsv")
    assert result.exit_code == 4
    assert "ontomap build" in result.output
    result = run(
        "mappings", "--store", tmp_path, "--base-iri", "http://e.org/", "-o", tmp_path / "m.tsv"
    )
    assert result.exit_code == 2


def test_cli_keeps_the_old_file_when_writing_fails(
    corpus_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = tmp_path / "m.sssom.tsv"
    output.write_text("old\n")

    def broken(_mapping_set: MappingSet, handle: Any) -> None:
        handle.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr("ontomap.mappings.sssom.write_sssom", broken)
    result = run("mappings", "--store", corpus_store, "--from", "RADLEX", "-o", output)
    assert result.exit_code == 1
    assert result.output.endswith(f"ontomap: error: cannot write {output}: disk full\n")
    assert output.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.sssom.tsv"]


def test_cli_from_json_sources(tmp_path: Path) -> None:
    defs = tmp_path / "defs"
    defs.mkdir()
    source = EXAMPLES / "solitary_pulmonary_nodule.fm.json"
    shutil.copy(source, defs)
    paired, _colisted = read_oracle([source]).expected("RADLEX", "SNOMED")
    output = tmp_path / "spn.sssom.tsv"
    result = run("mappings", defs, "--from", "RADLEX", "--to", "SNOMED", "-o", output)
    assert result.exit_code == 0, result.output
    _header, rows = sssom_rows(output.read_text())
    got = {(row["subject_id"], row["object_id"]): row for row in rows}
    assert set(got) == {(curie(a), curie(b)) for a, b in paired}
    for (a, b), e in paired.items():
        assert got[(curie(a), curie(b))]["predicate_id"] == e.predicate
    assert ("radlex:RID28472", "sct:52101004") in got  # written SNOMEDCT in the file
    assert not any(row["subject_id"] == "radlex:RID1301" for row in rows)  # a location
    # the mapping date is the file's modification date
    assert f"# mapping_date: {source_date([defs / source.name])}\n" in output.read_text()
    result = run("mappings", defs, "--from", "GAMUTS", "--to", "RADELEMENT", "-o", output)
    assert result.exit_code == 0
    assert "gamuts:14616\tsolitary pulmonary nodule\tskos:relatedMatch\tradelement:RDES195" in (
        output.read_text()
    )


def test_cli_from_all_examples(tmp_path: Path) -> None:
    examples = tmp_path / "examples"
    shutil.copytree(EXAMPLES, examples)
    output = tmp_path / "examples.ttl"
    result = run("mappings", examples, "-o", output, "--mapping-date", DATE)
    assert result.exit_code == 0, result.output
    assert re.search(r"read 3 files: 3 models", result.output)
    graph = ox.Store()
    graph.load(output.read_bytes(), format=ox.RdfFormat.TURTLE)
    link = ox.Quad(
        ox.NamedNode("http://radlex.org/RID/RID5791"),
        ox.NamedNode("http://www.w3.org/2004/02/skos/core#relatedMatch"),
        ox.NamedNode("http://snomed.info/id/263768009"),
        ox.DefaultGraph(),
    )
    assert link in graph  # in two findings (the Markdown seed, the JSON example): one context
    assert (
        _count(
            graph,
            "?m owl:annotatedSource <http://radlex.org/RID/RID5791> ; xwalk:findingCount 2 ; "
            "xwalk:contextCount 1",
        )
        == 1
    )


def test_cli_with_a_broken_source(tmp_path: Path) -> None:
    defs = tmp_path / "defs"
    defs.mkdir()
    shutil.copy(EXAMPLES / "solitary_pulmonary_nodule.fm.json", defs)
    (defs / "broken.fm.json").write_text("{ not json")
    (defs / "a-empty.fm.json").write_text("")
    output = tmp_path / "m.tsv"
    result = run("mappings", defs, "--from", "RADLEX", "-o", output)
    assert result.exit_code == 1
    assert "broken.fm.json" in result.output and "a-empty.fm.json" in result.output
    assert re.search(r"read 3 files: 1 models?, 2 errors", result.output)
    assert "radlex:RID5791" in output.read_text()


# ------------------------------------------------------------------ on a SPARQL endpoint


@pytest.fixture(scope="module")
def examples_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """The bundled examples in a store, pushed to an Oxigraph server: (store, base URL)."""
    from servers import ontomap_cli, oxigraph_server

    folder = tmp_path_factory.mktemp("mappings-endpoint")
    store = folder / "kg"
    built = ontomap_cli("build", EXAMPLES, "--store", store, "-q")
    assert built.returncode == 0, built.stderr
    with oxigraph_server(folder / "oxigraph") as url:
        pushed = ontomap_cli("push", "--store", store, "--endpoint", url + "update", "-q")
        assert pushed.returncode == 0, pushed.stderr
        yield store, url


def test_cli_on_an_endpoint_writes_what_the_store_gives(
    examples_endpoint: tuple[Path, str], tmp_path: Path
) -> None:
    import urllib.parse

    from servers import request

    store, url = examples_endpoint
    for fmt in ("sssom", "skos"):
        outputs = []
        for where in (["--store", store], ["--endpoint", url + "query", "--timeout", "60"]):
            output = tmp_path / f"{len(outputs)}.{fmt}"
            result = run("mappings", *where, "-f", fmt, "-o", output, "--mapping-date", DATE)
            assert result.exit_code == 0, result.output
            outputs.append(output.read_bytes())
        assert outputs[0] == outputs[1], fmt
        assert b"RID5791" in outputs[0]
    # without the materialised crosswalk the endpoint's model graphs give the same answer
    dropped = request(
        url + "update",
        data=urllib.parse.urlencode(
            {"update": "DROP GRAPH <https://w3id.org/ontomap/graph/_crosswalk>"}
        ).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert dropped.status in (200, 204)
    output = tmp_path / "computed.sssom.tsv"
    result = run(
        "mappings", "--endpoint", url + "query", "-f", "sssom", "-o", output, "--mapping-date", DATE
    )
    assert result.exit_code == 0, result.output
    assert output.read_bytes() == (tmp_path / "0.sssom").read_bytes()


def test_cli_on_an_unreachable_endpoint_exits_4(tmp_path: Path) -> None:
    from servers import free_port

    output = tmp_path / "m.sssom.tsv"
    url = f"http://127.0.0.1:{free_port()}/query"
    result = run("mappings", "--endpoint", url, "--timeout", "5", "-o", output)
    assert result.exit_code == 4, result.output
    assert result.output.startswith("ontomap: error: ") and result.output.count("\n") == 1
    assert not output.exists()
