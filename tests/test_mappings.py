"""Tests of the crosswalk (:mod:`ontomap.crosswalk`), the mapping sets and their writers
(:mod:`ontomap.mappings`) and ``ontomap mappings``.

Every count asserted here is computed from the finding-model JSON files with the plain ``json``
module (:class:`JsonCrosswalk`), never from ontomap's own output. The SSSOM files are read back
by sssom-py, the ConceptMaps validated by fhir.resources (R4B models for R4: fhir.resources 8
ships R5, R4B and STU3 only, and ConceptMap did not change between R4 and R4B).
"""

from __future__ import annotations

import io
import json
import logging
import os
import random
import shutil
import subprocess
import sys
import warnings
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from click.testing import CliRunner, Result
from conftest import EXAMPLES, ROOT

from ontomap import __version__
from ontomap.cli import main
from ontomap.crosswalk import CodePair, code_pairs, is_minority
from ontomap.errors import UnknownCodeSystemError
from ontomap.lookup import DOMINANT_SHARE, OUTLIER_SHARE, lookup
from ontomap.mappings import (
    CLOSE_MATCH,
    FORMATS,
    JUSTIFICATION,
    RELATED_MATCH,
    MappingSet,
    build_mapping_set,
    predicate_for,
    serialize,
    source_date,
)
from ontomap.mappings.fhir import R4_EQUIVALENCE, R5_RELATIONSHIP, concept_map
from ontomap.mappings.skos import SSSOM_NS, XWALK_NS
from ontomap.store import Store
from ontomap.vocab import DEFAULT_BASE_IRI, declared_terms

Code = tuple[str, str]  # (system key, code)

#: The corpus's spellings of system names → registry keys (what ontomap's registry folds).
ALIASES = {"SNOMEDCT": "SNOMED"}
SYSTEM_ORDER = ["RADLEX", "SNOMED", "LOINC", "GAMUTS", "RADELEMENT", "ICD10CM"]
PREFIX = {"RADLEX": "radlex", "SNOMED": "sct", "LOINC": "loinc", "GAMUTS": "gamuts"}
PREFIX["RADELEMENT"] = "radelement"
DATE = "2025-01-31"


# ------------------------------------------------------------------ independent counts (JSON)


@dataclass
class JsonCrosswalk:
    """Co-indexing counted straight from OIFM JSON files."""

    uses: dict[Code, set[str]]  # code → entities carrying it
    entity_codes: dict[str, set[Code]]  # entity → its index codes
    finding_of: dict[str, str]  # entity → finding (OIFM ID)

    def pairs(self, x: str, y: str) -> dict[tuple[Code, Code], set[str]]:
        """(A of x, B of y) → entities carrying both."""
        out: dict[tuple[Code, Code], set[str]] = defaultdict(set)
        for entity, codes in self.entity_codes.items():
            for a in codes:
                if a[0] != x:
                    continue
                for b in codes:
                    if b[0] == y:
                        out[(a, b)].add(entity)
        return dict(out)

    def outliers(self, x: str, y: str) -> set[tuple[Code, Code]]:
        """The pairs the documented rule flags: under 5 % of A's (or B's) uses while another
        pairing of A with y (of B with x) has 50 % or more."""
        pairs = self.pairs(x, y)
        by_a: dict[Code, dict[Code, int]] = defaultdict(dict)
        by_b: dict[Code, dict[Code, int]] = defaultdict(dict)
        for (a, b), entities in pairs.items():
            by_a[a][b] = by_b[b][a] = len(entities)

        def minority(code: Code, partner: Code, partners: dict[Code, int]) -> bool:
            uses = len(self.uses[code])
            others = [n / uses for c, n in partners.items() if c != partner]
            return partners[partner] / uses < OUTLIER_SHARE and any(
                s >= DOMINANT_SHARE for s in others
            )

        return {(a, b) for (a, b) in pairs if minority(a, b, by_a[a]) or minority(b, a, by_b[b])}

    def kept(self, x: str, y: str) -> dict[tuple[Code, Code], set[str]]:
        """The pairs an export with default options holds (outliers excluded)."""
        outliers = self.outliers(x, y)
        return {pair: e for pair, e in self.pairs(x, y).items() if pair not in outliers}

    def only_nm_nodes(self, x: str, y: str) -> set[tuple[Code, Code]]:
        """Pairs whose every shared entity carries several x codes and several y codes."""
        out = set()
        for (a, b), entities in self.pairs(x, y).items():
            if all(
                sum(c[0] == x for c in self.entity_codes[e]) > 1
                and sum(c[0] == y for c in self.entity_codes[e]) > 1
                for e in entities
            ):
                out.add((a, b))
        return out


def _entities(model: dict[str, Any]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    yield model["oifm_id"], model.get("index_codes") or []
    for attribute in model.get("attributes") or []:
        yield attribute["oifma_id"], attribute.get("index_codes") or []
        for value in attribute.get("values") or []:
            yield value["value_code"], value.get("index_codes") or []


def json_crosswalk(files: Iterable[Path]) -> JsonCrosswalk:
    uses: dict[Code, set[str]] = defaultdict(set)
    entity_codes: dict[str, set[Code]] = defaultdict(set)
    finding_of: dict[str, str] = {}
    seen: set[str] = set()
    for path in sorted(files):
        model = json.loads(path.read_text(encoding="utf-8"))
        assert model["oifm_id"] not in seen, f"{model['oifm_id']} twice"
        seen.add(model["oifm_id"])
        for entity, codes in _entities(model):  # anatomic locations index nothing
            finding_of[entity] = model["oifm_id"]
            for code in codes:
                key = (ALIASES.get(code["system"], code["system"]), code["code"].strip())
                uses[key].add(entity)
                entity_codes[entity].add(key)
    return JsonCrosswalk(dict(uses), dict(entity_codes), finding_of)


def curie(code: Code) -> str:
    return f"{PREFIX[code[0]]}:{code[1]}"


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def corpus_json(corpus_defs: Path) -> JsonCrosswalk:
    return json_crosswalk(corpus_defs.glob("*.json"))


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
    return build_mapping_set(corpus, mapping_date=DATE)


@pytest.fixture(scope="session")
def sssom_parser():  # type: ignore[no-untyped-def]
    """sssom-py's table parser, imported once (its import itself warns about pandas)."""
    pytest.importorskip("sssom")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sssom.parsers import parse_sssom_table
    return parse_sssom_table


#: A minimal SSSOM file: what sssom-py warns about whatever the input (the baseline).
MINIMAL_SSSOM = (
    "# curie_map:\n#   ex: http://example.org/\n"
    "# mapping_set_id: http://example.org/set\n"
    "# license: https://creativecommons.org/publicdomain/zero/1.0/\n"
    "subject_id\tpredicate_id\tobject_id\tmapping_justification\n"
    "ex:a\tskos:exactMatch\tex:b\tsemapv:ManualMappingCuration\n"
)


def parse_sssom(parser, text: str, caplog: pytest.LogCaptureFixture):  # type: ignore[no-untyped-def]
    """Parse SSSOM text with sssom-py; returns (mapping set data frame, warnings it raised
    beyond the baseline, log records at WARNING or above)."""

    def parse(data: str) -> tuple[Any, set[tuple[type, str]]]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            msdf = parser(io.StringIO(data))
        return msdf, {(w.category, str(w.message)) for w in caught}

    _msdf, baseline = parse(MINIMAL_SSSOM)
    caplog.clear()
    with caplog.at_level(logging.INFO):
        msdf, raised = parse(text)
    logged = [r for r in caplog.records if r.levelno >= logging.WARNING]
    return msdf, raised - baseline, logged


def infer_cardinality(msdf: Any, scope: list[str] | None = None) -> None:
    """sssom-py's own cardinality of each row (it warns about its use of pandas: ignored)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        msdf.infer_cardinality(scope)


def run(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)


# ------------------------------------------------------------------ crosswalk == lookup


def test_code_pairs_equal_the_lookup(corpus: Store) -> None:
    pairs = code_pairs(corpus, None, None)
    by_systems: dict[tuple[str, str], list[CodePair]] = defaultdict(list)
    for pair in pairs:
        by_systems[(pair.source.system, pair.target.system)].append(pair)
    assert {("RADLEX", "SNOMED"), ("SNOMED", "RADLEX"), ("SNOMED", "LOINC")} <= set(by_systems)
    sample: list[CodePair] = []
    rng = random.Random(5)
    for group in by_systems.values():
        sample.extend(rng.sample(group, min(4, len(group))))
    sample.extend(p for p in pairs if p.flag == "outlier")
    sample.extend(p for p in pairs if p.source.code == "RID5791")
    for pair in sample:
        matches = {m.code: m for m in lookup(corpus, pair.source, to=pair.target.system).matches}
        match = matches[pair.target.code]
        assert (pair.entities, pair.findings, pair.cardinality, pair.flag) == (
            match.entities,
            match.findings,
            match.cardinality,
            match.flag,
        ), (pair.source, pair.target)
        assert pair.share == pytest.approx(match.share)
        assert pair.target_label == match.label
        back = {m.code: m for m in lookup(corpus, pair.target, to=pair.source.system).matches}
        assert pair.target_share == pytest.approx(back[pair.source.code].share)
        assert pair.source_label == back[pair.source.code].label


def test_code_pairs_equal_the_json(corpus: Store, corpus_json: JsonCrosswalk) -> None:
    expected = corpus_json.pairs("RADLEX", "SNOMED")
    pairs = code_pairs(corpus, "RADLEX", "SNOMED")
    got = {((p.source.system, p.source.code), (p.target.system, p.target.code)): p for p in pairs}
    assert set(got) == set(expected)
    for key, pair in got.items():
        assert set(pair.entity_ids) == expected[key]
        assert pair.findings == len({corpus_json.finding_of[e] for e in expected[key]})
        assert pair.source_uses == len(corpus_json.uses[key[0]])
        assert pair.target_uses == len(corpus_json.uses[key[1]])
    outliers = {k for k, p in got.items() if p.flag == "outlier"}
    assert outliers == corpus_json.outliers("RADLEX", "SNOMED")
    # both directions are the same pairs, seen from either side
    reverse = code_pairs(corpus, "SNOMED", "RADLEX")
    assert {(p.target.code, p.source.code) for p in reverse} == {(a[1], b[1]) for a, b in expected}


def test_code_pairs_rejects_unknown_systems(corpus: Store) -> None:
    with pytest.raises(UnknownCodeSystemError, match="RADLEX"):
        code_pairs(corpus, "RADLEX", "NOPE")
    assert code_pairs(corpus, "SNOMED", "SNOMEDCT") == []


def test_is_minority() -> None:
    assert is_minority(0.01, [0.99])
    assert not is_minority(0.01, [0.49])
    assert not is_minority(0.05, [0.95])


# ------------------------------------------------------------------ predicates


def test_rid5791_has_full_support_and_a_close_match(
    radlex_snomed: MappingSet, corpus_json: JsonCrosswalk
) -> None:
    a, b = ("RADLEX", "RID5791"), ("SNOMED", "263768009")
    both = corpus_json.pairs("RADLEX", "SNOMED")[(a, b)]
    assert both == corpus_json.uses[a] == corpus_json.uses[b]  # full support, both ways
    (mapping,) = [
        m
        for m in radlex_snomed.mappings
        if m.pair.source.code == "RID5791" and m.pair.target.code == "263768009"
    ]
    assert mapping.pair.entities == len(both) > 1000
    assert mapping.pair.share == mapping.pair.target_share == 1.0
    assert mapping.pair.cardinality == mapping.set_cardinality == "1:1"
    assert mapping.predicate == CLOSE_MATCH


def test_pairs_sharing_only_nm_nodes_are_never_close(
    radlex_snomed_marked: MappingSet, corpus_json: JsonCrosswalk
) -> None:
    nm_only = corpus_json.only_nm_nodes("RADLEX", "SNOMED")
    assert len(nm_only) > 100  # e.g. RID1194 "internal iliac vein" ~ sct:181452004 "uterus"
    mappings = {
        ((m.pair.source.system, m.pair.source.code), (m.pair.target.system, m.pair.target.code)): m
        for m in radlex_snomed_marked.mappings
    }
    assert nm_only <= set(mappings)
    for key in nm_only:
        mapping = mappings[key]
        assert mapping.pair.cardinality == "n:m"
        assert mapping.predicate == RELATED_MATCH
        assert R4_EQUIVALENCE[mapping.predicate] == "relatedto"
        assert R5_RELATIONSHIP[mapping.predicate] == "related-to"


def test_predicate_rule(radlex_snomed_marked: MappingSet) -> None:
    close = [m for m in radlex_snomed_marked.mappings if m.predicate == CLOSE_MATCH]
    assert close
    for mapping in radlex_snomed_marked.mappings:
        p = mapping.pair
        strong = (
            p.cardinality == "1:1"
            and p.flag is None
            and p.findings >= 2
            and min(p.share, p.target_share) >= 0.5
        )
        assert (mapping.predicate == CLOSE_MATCH) == strong
        assert predicate_for(p) == mapping.predicate


# ------------------------------------------------------------------ SSSOM


def test_sssom_is_read_by_sssom_py_without_warnings(
    radlex_snomed: MappingSet,
    radlex_snomed_marked: MappingSet,
    corpus_json: JsonCrosswalk,
    sssom_parser,  # type: ignore[no-untyped-def]
    caplog: pytest.LogCaptureFixture,
) -> None:
    expected = corpus_json.pairs("RADLEX", "SNOMED")
    outliers = corpus_json.outliers("RADLEX", "SNOMED")
    assert outliers  # the corpus has some
    for mapping_set, rows in (
        (radlex_snomed, len(expected) - len(outliers)),
        (radlex_snomed_marked, len(expected)),
    ):
        text = serialize(mapping_set, "sssom").decode()
        msdf, raised, logged = parse_sssom(sssom_parser, text, caplog)
        assert not raised, raised
        assert not logged, [r.getMessage() for r in logged]
        df = msdf.df
        assert len(df) == rows
        assert set(df["mapping_justification"]) == {JUSTIFICATION}
        assert set(df["predicate_id"]) <= {CLOSE_MATCH, RELATED_MATCH}
        assert msdf.metadata["mapping_set_id"] == "https://w3id.org/ontomap/mappings/radlex-to-sct"
        assert set(msdf.converter.prefix_map) >= {"radlex", "sct"}
        assert df["mapping_tool_version"].iloc[0] == __version__
        assert str(df["mapping_date"].iloc[0]) == DATE
        assert df["confidence"].between(0.0, 1.0).all()
        # see_also holds the supporting entities: as many as the JSON says, for every row
        for row in df.itertuples():
            a = ("RADLEX", row.subject_id.split(":", 1)[1])
            b = ("SNOMED", row.object_id.split(":", 1)[1])
            entities = {iri.removeprefix(DEFAULT_BASE_IRI) for iri in row.see_also.split("|")}
            assert entities == expected[(a, b)]
            assert row.confidence == pytest.approx(
                len(expected[(a, b)]) / len(corpus_json.uses[a]), rel=1e-3
            )
        marked = df["comment"].str.startswith("OUTLIER").sum()
        assert marked == (len(outliers) if mapping_set.outliers == "mark" else 0)
        # mapping_cardinality is SSSOM's: sssom-py infers the same from the rows
        written = list(df["mapping_cardinality"])
        infer_cardinality(msdf)
        assert written == list(msdf.df["mapping_cardinality"])


def test_sssom_passes_sssom_py_validation(
    radlex_snomed: MappingSet,
    sssom_parser,  # type: ignore[no-untyped-def]
) -> None:
    from sssom.constants import SchemaValidationType
    from sssom.validators import validate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas deprecations inside sssom-py
        msdf = sssom_parser(io.StringIO(serialize(radlex_snomed, "sssom").decode()))
        types = [
            SchemaValidationType.JsonSchema,
            SchemaValidationType.PrefixMapCompleteness,
            SchemaValidationType.StrictCurieFormat,
        ]
        reports = validate(msdf, types, fail_on_error=True)
    assert all(not report.results for report in reports.values())


def test_sssom_of_all_system_pairs(
    all_systems: MappingSet,
    corpus_json: JsonCrosswalk,
    sssom_parser,  # type: ignore[no-untyped-def]
    caplog: pytest.LogCaptureFixture,
) -> None:
    present = [
        (x, y)
        for i, x in enumerate(SYSTEM_ORDER)
        for y in SYSTEM_ORDER[i + 1 :]
        if corpus_json.pairs(x, y)
    ]
    assert present == list(all_systems.system_pairs)
    rows = sum(len(corpus_json.kept(x, y)) for x, y in present)
    msdf, raised, logged = parse_sssom(
        sssom_parser, serialize(all_systems, "sssom").decode(), caplog
    )
    assert not raised and not logged
    assert len(msdf.df) == len(all_systems) == rows
    assert msdf.metadata["sssom_version"] == "1.1"
    scope = msdf.df["cardinality_scope"].iloc[0].split("|")
    assert scope == ["subject_source", "object_source"]
    written = list(msdf.df["mapping_cardinality"])
    infer_cardinality(msdf, scope)
    assert written == list(msdf.df["mapping_cardinality"])


def test_sssom_cardinality_is_the_lookups_when_nothing_is_filtered(
    radlex_snomed_marked: MappingSet,
) -> None:
    lookup_names = {"n:m": "n:n"}
    text = serialize(radlex_snomed_marked, "sssom").decode()
    rows = [line.split("\t") for line in text.splitlines() if not line.startswith("#")]
    column = rows[0].index("mapping_cardinality")
    for mapping, row in zip(radlex_snomed_marked.mappings, rows[1:], strict=True):
        card = mapping.pair.cardinality
        assert row[column] == lookup_names.get(card, card)


# ------------------------------------------------------------------ FHIR


def _fhir_counts(kept: dict[tuple[Code, Code], set[str]]) -> tuple[int, int]:
    return len({a for a, _b in kept}), len(kept)


def test_fhir_r4_concept_map(radlex_snomed: MappingSet, corpus_json: JsonCrosswalk) -> None:
    pytest.importorskip("fhir.resources")
    from fhir.resources.R4B.conceptmap import ConceptMap

    resource = json.loads(serialize(radlex_snomed, "fhir-r4"))
    model = ConceptMap.model_validate(resource)
    assert model.sourceUri == "http://radlex.org"
    assert model.targetUri == "http://snomed.info/sct"
    assert resource["id"] == "ontomap-radlex-to-sct" and resource["date"] == DATE
    (group,) = model.group
    assert (group.source, group.target) == ("http://radlex.org", "http://snomed.info/sct")
    sources, targets = _fhir_counts(corpus_json.kept("RADLEX", "SNOMED"))
    assert len(group.element) == sources
    assert sum(len(e.target) for e in group.element) == targets
    equivalences = {t.equivalence for e in group.element for t in e.target}
    assert equivalences == {"inexact", "relatedto"}  # never equivalent or equal
    assert all(t.comment for e in group.element for t in e.target)  # inexact requires one
    (element,) = [e for e in group.element if e.code == "RID5791"]
    assert element.display == "enlarged"
    assert [(t.code, t.equivalence) for t in element.target] == [("263768009", "inexact")]


def test_fhir_r5_concept_map(radlex_snomed: MappingSet, corpus_json: JsonCrosswalk) -> None:
    pytest.importorskip("fhir.resources")
    from fhir.resources.conceptmap import ConceptMap

    resource = json.loads(serialize(radlex_snomed, "fhir-r5"))
    model = ConceptMap.model_validate(resource)
    assert model.sourceScopeUri == "http://radlex.org"
    assert model.targetScopeUri == "http://snomed.info/sct"
    (group,) = model.group
    kept = corpus_json.kept("RADLEX", "SNOMED")
    sources, targets = _fhir_counts(kept)
    assert len(group.element) == sources
    assert sum(len(e.target) for e in group.element) == targets
    assert {t.relationship for e in group.element for t in e.target} == {"related-to"}
    declared = {p.code for p in model.property}
    for element in group.element:
        for target in element.target:
            values = {p.code: p for p in target.property}
            assert set(values) <= declared
            entities = kept[(("RADLEX", element.code), ("SNOMED", target.code))]
            assert values["entities"].valueInteger == len(entities)
            assert values["predicate"].valueString in (CLOSE_MATCH, RELATED_MATCH)


def test_fhir_groups_per_system_pair(all_systems: MappingSet) -> None:
    pytest.importorskip("fhir.resources")
    from fhir.resources.conceptmap import ConceptMap as ConceptMapR5
    from fhir.resources.R4B.conceptmap import ConceptMap as ConceptMapR4

    for version, model in (("R4", ConceptMapR4), ("R5", ConceptMapR5)):
        resource = concept_map(all_systems, version)  # type: ignore[arg-type]
        model.model_validate(resource)
        assert "sourceUri" not in resource and "sourceScopeUri" not in resource
        pairs = [(g["source"], g["target"]) for g in resource["group"]]
        assert len(pairs) == len(set(pairs)) == len(all_systems.system_pairs)
        assert ("http://snomed.info/sct", "http://loinc.org") in pairs


# ------------------------------------------------------------------ SKOS


def test_skos_links_with_reified_evidence(
    radlex_snomed_marked: MappingSet, corpus_json: JsonCrosswalk
) -> None:
    data = serialize(radlex_snomed_marked, "skos")
    store = ox.Store()
    store.load(data, format=ox.RdfFormat.TURTLE)
    prefixes = {
        "skos": "http://www.w3.org/2004/02/skos/core#",
        "owl": "http://www.w3.org/2002/07/owl#",
        "sssom": SSSOM_NS,
        "xwalk": XWALK_NS,
    }

    def count(where: str) -> int:
        query = f"SELECT (COUNT(*) AS ?n) WHERE {{ {where} }}"
        (row,) = store.query(query, prefixes=prefixes)  # type: ignore[misc]
        return int(row["n"].value)

    expected = corpus_json.pairs("RADLEX", "SNOMED")
    links = "?s ?p ?o . FILTER (?p IN (skos:closeMatch, skos:relatedMatch, skos:exactMatch))"
    assert count(links) == len(expected)
    assert count("?s skos:exactMatch ?o") == 0
    assert count("?m a owl:Axiom") == len(expected)
    assert count("?set sssom:mappings ?m . ?m a owl:Axiom") == len(expected)
    # each axiom annotates a link that is in the file
    assert count(
        "?m owl:annotatedSource ?s ; owl:annotatedProperty ?p ; owl:annotatedTarget ?o . ?s ?p ?o"
    ) == len(expected)
    assert count("?m xwalk:supportingEntity ?e") == sum(len(e) for e in expected.values())
    assert count("?m xwalk:outlier true") == len(corpus_json.outliers("RADLEX", "SNOMED"))
    rid = corpus_json.uses[("RADLEX", "RID5791")]
    assert count(
        "?m owl:annotatedSource <http://radlex.org/RID/RID5791> ; "
        "owl:annotatedTarget <http://snomed.info/id/263768009> ; "
        "owl:annotatedProperty skos:closeMatch ; sssom:confidence ?c ; "
        "xwalk:supportingEntity ?e . FILTER (?c = 1.0)"
    ) == len(rid)


def test_skos_is_read_as_sssom_rdf(
    radlex_snomed: MappingSet, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("sssom")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas deprecations inside sssom-py
        from sssom.parsers import parse_sssom_rdf

        path = tmp_path / "m.ttl"
        path.write_bytes(serialize(radlex_snomed, "skos"))
        with caplog.at_level(logging.WARNING):
            msdf = parse_sssom_rdf(str(path))
    df = msdf.df
    assert len(df) == len(radlex_snomed)
    assert set(df["mapping_justification"]) == {JUSTIFICATION}
    assert msdf.metadata["mapping_set_id"] == radlex_snomed.id
    closes = df[df["predicate_id"] == CLOSE_MATCH]
    pairs = set(zip(closes.subject_id, closes.object_id, strict=True))
    assert ("radlex:RID5791", "sct:263768009") in pairs
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
    mappings_ttl = (EXAMPLES.parent / "mappings.ttl").read_bytes()
    assert b"xwalk:supportingEntity a owl:ObjectProperty" in mappings_ttl


# ------------------------------------------------------------------ determinism, dates


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_same_store_same_bytes(corpus: Store, fmt: str) -> None:
    first = serialize(build_mapping_set(corpus, mapping_date=DATE), fmt)
    second = serialize(build_mapping_set(corpus, mapping_date=DATE), fmt)
    assert first == second


@pytest.mark.parametrize("fmt", ["sssom", "fhir-r5"])
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
    corpus_store: Path, corpus: Store, tmp_path: Path, fmt: str, name: str
) -> None:
    def write(output: Path) -> Result:
        args = ["mappings", "--store", corpus_store, "--from", "RADLEX", "--to", "SNOMEDCT"]
        args += ["-o", output, "--mapping-date", DATE]
        return run(*args, *(["--format", fmt] if fmt.startswith("fhir") else []))

    output = tmp_path / name
    result = write(output)
    assert result.exit_code == 0, result.output
    assert f"({fmt}, " in result.output
    expected = serialize(build_mapping_set(corpus, "RADLEX", "SNOMED", mapping_date=DATE), fmt)
    assert output.read_bytes() == expected
    again = tmp_path / f"again-{name}"
    assert write(again).exit_code == 0
    assert again.read_bytes() == output.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, again.name])


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


def test_cli_filters(corpus_store: Path, corpus_json: JsonCrosswalk, tmp_path: Path) -> None:
    kept = corpus_json.kept("RADLEX", "SNOMED")
    output = tmp_path / "m.sssom.tsv"
    base = ["mappings", "--store", corpus_store, "--from", "RADLEX", "--to", "SNOMED"]

    def rows(*extra: str) -> list[str]:
        assert run(*base, "-o", output, *extra).exit_code == 0
        return [line for line in output.read_text().splitlines() if line[0] != "#"][1:]

    support = sum(len(e) >= 3 for e in kept.values())
    assert len(rows("--min-support", "3")) == support
    shares = [len(e) / len(corpus_json.uses[a]) for (a, _b), e in kept.items()]
    assert len(rows("--min-share", "0.5")) == sum(s >= 0.5 for s in shares)
    marked = rows("--outliers", "mark")
    assert len(marked) == len(corpus_json.pairs("RADLEX", "SNOMED"))
    assert sum("\tOUTLIER" in line for line in marked) == len(
        corpus_json.outliers("RADLEX", "SNOMED")
    )


def test_cli_all_pairs_to_stdout(corpus_store: Path, all_systems: MappingSet) -> None:
    result = run("mappings", "--store", corpus_store, "-o", "-", "--mapping-date", DATE)
    assert result.exit_code == 0
    assert result.stdout_bytes == serialize(all_systems, "sssom")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "RADLEX", "--to", "NOPE"], "known systems: GAMUTS, ICD10CM, LOINC"),
        (["--from", "sct", "--to", "SNOMEDCT"], "same code system (SNOMED)"),
        (["--mapping-date", "2025-02-30"], "invalid mapping date"),
        (["--min-share", "1.5"], "--min-share"),
        (["--min-support", "0"], "--min-support"),
        (["-f", "owl"], "'owl' is not one of"),
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
    crosswalk = json_crosswalk([source])
    output = tmp_path / "spn.sssom.tsv"
    result = run("mappings", defs, "--from", "RADLEX", "--to", "SNOMED", "-o", output)
    assert result.exit_code == 0, result.output
    lines = [line.split("\t") for line in output.read_text().splitlines() if line[0] != "#"]
    got = {(row[0], row[3]) for row in lines[1:]}
    expected = crosswalk.pairs("RADLEX", "SNOMED")
    assert got == {(curie(a), curie(b)) for a, b in expected}
    assert ("radlex:RID28472", "sct:52101004") in got  # written SNOMEDCT in the file
    assert not any(row[0] == "radlex:RID1301" for row in lines)  # an anatomic location
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
    assert "read 3 files: 3 models" in result.output
    graph = ox.Store()
    graph.load(output.read_bytes(), format=ox.RdfFormat.TURTLE)
    link = ox.Quad(
        ox.NamedNode("http://radlex.org/RID/RID5791"),
        ox.NamedNode("http://www.w3.org/2004/02/skos/core#closeMatch"),
        ox.NamedNode("http://snomed.info/id/263768009"),
        ox.DefaultGraph(),
    )
    assert link in graph  # in two findings: the Markdown seed and the JSON example


def test_cli_with_a_broken_source(tmp_path: Path) -> None:
    defs = tmp_path / "defs"
    defs.mkdir()
    shutil.copy(EXAMPLES / "solitary_pulmonary_nodule.fm.json", defs)
    (defs / "broken.fm.json").write_text("{ not json")
    output = tmp_path / "m.tsv"
    result = run("mappings", defs, "--from", "RADLEX", "-o", output)
    assert result.exit_code == 1
    assert "broken.fm.json" in result.output
    assert "radlex:RID5791" in output.read_text()
