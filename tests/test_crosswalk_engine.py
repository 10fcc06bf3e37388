"""Tests of the crosswalk engine (:mod:`ontomap.crosswalk`) and its display rules
(:mod:`ontomap.lexical`).

The corpus oracle reads the JSON files with the ``json`` module and counts entities, findings,
contexts and templates itself, with its own name normalisation written here from the rules in
docs/mappings.md: nothing of ontomap is used to compute what the engine is checked against.
"""

from __future__ import annotations

import contextlib
import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from conftest import EXAMPLES
from test_mappings import Oracle as MappingOracle
from test_mappings import read_oracle as read_mapping_oracle

from ontomap import crosswalk as crosswalk_module
from ontomap import lexical
from ontomap.backends import LocalBackend, RemoteBackend
from ontomap.crosswalk import (
    CLOSE_MATCH,
    COMPOSITE,
    INSTANCE_BASED,
    LEXICAL,
    MAX_COMPARED_PAIRS,
    RELATED_MATCH,
    TEMPLATE_MIN_FINDINGS,
    Crosswalk,
    CrosswalkPair,
    CrosswalkReader,
    EntityCodes,
    build_crosswalk,
    compute_crosswalk,
    entities_of,
    entities_of_model,
)
from ontomap.graph import CROSSWALK_GRAPH
from ontomap.model import IndexCode
from ontomap.readers import read_models
from ontomap.store import Store
from ontomap.vocab import OIFM

# ------------------------------------------------------------------ the oracle

#: Spellings of the corpus's systems, folded to the registry keys.
SYSTEMS = {"RADLEX": "RADLEX", "SNOMED": "SNOMED", "SNOMEDCT": "SNOMED"}
#: Every system the corpus spells (GAMUTS, LOINC, RADELEMENT, RADLEX, SNOMED, SNOMEDCT), folded.
ALL_SYSTEMS = {**SYSTEMS, "GAMUTS": "GAMUTS", "LOINC": "LOINC", "RADELEMENT": "RADELEMENT"}
#: docs/mappings.md: a context repeated in at least 10 finding models makes a template.
TEMPLATE_FINDINGS = 10
#: The SNOMED CT semantic tags that may end a name (docs/mappings.md lists the rule).
TAGS = ("qualifier value", "body structure", "finding", "disorder", "property", "procedure")
FILLERS = {"structure", "entire", "of", "the", "a", "an"}


def oracle_normal(name: str) -> str:
    """A name as the contexts compare it: accents and case folded, trailing semantic tags
    dropped, words split on anything but letters and digits, fillers dropped, words sorted."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn").casefold().strip()
    changed = True
    while changed:
        changed = False
        for tag in TAGS:
            if re.search(r"\(\s*" + re.escape(tag) + r"\s*\)\s*$", text):
                text = re.sub(r"\s*\(\s*" + re.escape(tag) + r"\s*\)\s*$", "", text)
                changed = True
    words = [w for w in re.split(r"[\W_]+", text) if w]
    kept = [w for w in words if w not in FILLERS]
    return " ".join(sorted(kept or words))


Code = tuple[str, str]
ContextKey = tuple[str, str, str | None]


@dataclass
class Oracle:
    """Counts straight from the JSON: per entity its model, context and codes."""

    finding_of: dict[str, str] = field(default_factory=dict)
    context_of: dict[str, ContextKey] = field(default_factory=dict)
    codes_of: dict[str, set[Code]] = field(default_factory=dict)

    def add(self, entity: str, finding: str, context: ContextKey, listed: list[dict]) -> None:
        codes = set()
        for item in listed:
            system = SYSTEMS.get(str(item.get("system", "")).strip().upper())
            if system is not None:
                codes.add((system, str(item["code"]).strip()))
        if codes:
            self.finding_of[entity] = finding
            self.context_of[entity] = context
            self.codes_of[entity] = codes

    def uses(self) -> dict[Code, set[str]]:
        found: dict[Code, set[str]] = defaultdict(set)
        for entity, codes in self.codes_of.items():
            for code in codes:
                found[code].add(entity)
        return found

    def pairs(self) -> dict[tuple[str, str], set[str]]:
        """(RadLex code, SNOMED code) → the entities listing both."""
        found: dict[tuple[str, str], set[str]] = defaultdict(set)
        for entity, codes in self.codes_of.items():
            for system_a, a in codes:
                for system_b, b in codes:
                    if (system_a, system_b) == ("RADLEX", "SNOMED"):
                        found[(a, b)].add(entity)
        return found

    def contexts(self, entities: set[str]) -> dict[ContextKey, tuple[int, int]]:
        """Context → (entities, findings) among ``entities``."""
        grouped: dict[ContextKey, list[str]] = defaultdict(list)
        for entity in entities:
            grouped[self.context_of[entity]].append(entity)
        return {
            key: (len(group), len({self.finding_of[e] for e in group}))
            for key, group in grouped.items()
        }

    def systems_on(self, entity: str) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for system, _code in self.codes_of[entity]:
            counts[system] += 1
        return counts


def read_oracle(folder: Path) -> Oracle:
    oracle = Oracle()
    for path in sorted(folder.glob("*.fm.json")):
        model = json.loads(path.read_text(encoding="utf-8"))
        finding = model["oifm_id"]
        oracle.add(
            finding,
            finding,
            ("finding", oracle_normal(model["name"]), None),
            model.get("index_codes") or [],
        )
        for attribute in model.get("attributes") or []:
            name = attribute["name"]
            oracle.add(
                attribute["oifma_id"],
                finding,
                ("attribute", oracle_normal(name), None),
                attribute.get("index_codes") or [],
            )
            for value in attribute.get("values") or []:
                oracle.add(
                    value["value_code"],
                    finding,
                    ("value", oracle_normal(value["name"]), oracle_normal(name)),
                    value.get("index_codes") or [],
                )
    return oracle


@pytest.fixture(scope="module")
def oracle(corpus_defs: Path) -> Oracle:
    return read_oracle(corpus_defs)


@pytest.fixture(scope="module")
def mapping_oracle(corpus_defs: Path) -> MappingOracle:
    """test_mappings.py's JSON oracle, which also pairs codes by display (docs/mappings.md)."""
    return read_mapping_oracle(corpus_defs.glob("*.fm.json"))


def _json_uses(folder: Path) -> set[tuple[str, str, str]]:
    """(entity, system, code) of every index code of every finding, attribute and value."""
    found = set()
    for path in folder.glob("*.fm.json"):
        model = json.loads(path.read_text(encoding="utf-8"))
        entities = [(model["oifm_id"], model.get("index_codes"))]
        for attribute in model.get("attributes") or []:
            entities.append((attribute["oifma_id"], attribute.get("index_codes")))
            for value in attribute.get("values") or []:
                entities.append((value["value_code"], value.get("index_codes")))
        for entity, listed in entities:
            for item in listed or []:
                system = ALL_SYSTEMS[item["system"].strip().upper()]
                found.add((entity, system, item["code"].strip()))
    return found


@pytest.fixture(scope="module")
def corpus(corpus_store: Path) -> Iterator[Store]:
    with Store(corpus_store, read_only=True) as store:
        yield store


@pytest.fixture(scope="module")
def radlex_snomed(corpus: Store) -> list[CrosswalkPair]:
    reader = CrosswalkReader(corpus)
    assert reader.materialised
    return reader.pairs("RADLEX", "SNOMED")


# ------------------------------------------------------------------ corpus against the oracle


def test_every_radlex_snomed_pair_counts_as_the_json_does(
    radlex_snomed: list[CrosswalkPair], oracle: Oracle
) -> None:
    expected = oracle.pairs()
    got = {(p.source.code, p.target.code): p for p in radlex_snomed}
    assert set(got) == set(expected)
    assert len(expected) == 72 + 596 == 668  # docs/mappings.md: 72 paired, 596 co-listed
    for key, entities in expected.items():
        pair = got[key]
        contexts = oracle.contexts(entities)
        template = any(findings >= TEMPLATE_MIN_FINDINGS for _e, findings in contexts.values())
        assert set(pair.co_indexed.entities) == entities, key
        assert pair.co_indexed.findings == len({oracle.finding_of[e] for e in entities}), key
        assert pair.co_indexed.context_count == len(contexts), key
        assert {
            (c.context.kind, c.context.name, c.context.attribute): (c.entities, c.findings)
            for c in pair.co_indexed.contexts
        } == contexts, key
        assert pair.template == template, key


def test_uses_and_contexts_of_every_code_count_as_the_json_does(
    corpus: Store, oracle: Oracle
) -> None:
    whole = CrosswalkReader(corpus).crosswalk()
    for (system, code), entities in oracle.uses().items():
        usage = whole.usages[IndexCode.of(system, code)]
        assert usage.uses == len(entities), code
        assert usage.contexts == len({oracle.context_of[e] for e in entities}), code


def test_bulk_usages_count_as_the_json_does(
    corpus: Store, oracle: Oracle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``usages`` reads many codes at once (here 50 a query, so over several queries): every
    used code's uses as the JSON counts them, each use's entity among them; unused codes
    left out."""
    monkeypatch.setattr(crosswalk_module, "_VALUES_CHUNK", 50)
    uses = oracle.uses()
    wanted = [IndexCode.of(system, code) for system, code in sorted(uses)]
    assert len(wanted) > 200
    unused = [IndexCode.of("SNOMED", "1234567008"), IndexCode.of("RADLEX", "RID999999999")]
    found = CrosswalkReader(corpus).usages([*unused, *wanted, wanted[0]])
    assert list(found) == wanted
    for code, usage in found.items():
        entities = uses[code.system, code.code]
        assert usage.uses == len(entities), code
        assert {use.entity for use in usage.used_by} <= entities, code
        assert len(usage.used_by) == len(entities), code


def test_every_use_names_its_finding_as_the_json_does(corpus: Store, corpus_defs: Path) -> None:
    names = {}
    for path in corpus_defs.glob("*.fm.json"):
        model = json.loads(path.read_text(encoding="utf-8"))
        names[model["oifm_id"]] = model["name"]
    whole = CrosswalkReader(corpus).crosswalk()
    checked = set()
    for usage in whole.usages.values():
        for use in usage.used_by:
            assert use.finding_label == names[use.finding], (usage.code, use)
            checked.add((use.entity, usage.code.system, usage.code.code))
    expected = _json_uses(corpus_defs)
    assert checked == expected  # every use, of every code
    assert len(expected) == 55_689  # 55,700 codes listed, 11 of them twice on one entity


def test_pairs_on_one_code_of_a_system_are_paired_and_only_display_lists_are_split(
    radlex_snomed: list[CrosswalkPair], oracle: Oracle
) -> None:
    """Where an entity lists one code of either system, co-indexing pairs; co-listing happens
    only on entities listing two or more codes of both."""
    for pair in radlex_snomed:
        for entity in pair.co_indexed.entities:
            counts = oracle.systems_on(entity)
            several = counts["RADLEX"] >= 2 and counts["SNOMED"] >= 2
            if not several:
                assert entity in pair.paired.entities, (pair.source, pair.target, entity)
        for entity in pair.colisted:
            counts = oracle.systems_on(entity)
            assert counts["RADLEX"] >= 2 and counts["SNOMED"] >= 2


def test_the_corpus_worked_example(
    radlex_snomed: list[CrosswalkPair], oracle: Oracle, mapping_oracle: MappingOracle
) -> None:
    """The figures docs/mappings.md quotes ("How the evidence is counted"), each recounted
    from the JSON by the oracles, then asked of the engine."""
    got = {(p.source.code, p.target.code): p for p in radlex_snomed}
    listed = oracle.pairs()

    def findings(entities: set[str]) -> int:
        return len({oracle.finding_of[e] for e in entities})

    larger = got[("RID5791", "263768009")]
    entities = listed[("RID5791", "263768009")]
    assert (len(entities), findings(entities), len(oracle.contexts(entities))) == (1994, 1994, 1)
    assert (larger.co_indexed.entity_count, larger.co_indexed.findings) == (1994, 1994)
    assert larger.paired.context_count == 1 and larger.template
    assert str(larger.paired.contexts[0].context) == 'value "larger" of "change from prior"'
    assert (larger.share, larger.target_share, larger.cardinality) == (1.0, 1.0, "1:1")
    # confidence k / (max(n(A), n(B)) + 1): one context of one, 1 / (1 + 1)
    assert larger.predicate == RELATED_MATCH and larger.confidence == 1 / (1 + 1)
    absent = got[("RID28473", "2667000")]
    entities = listed[("RID28473", "2667000")]
    assert (len(entities), len(oracle.contexts(entities))) == (2203, 3)
    assert absent.co_indexed.entity_count == 2203 and absent.paired.context_count == 3
    # three contexts of three: 3 / (3 + 1)
    assert absent.template and absent.predicate == CLOSE_MATCH and absent.confidence == 3 / 4
    assert {str(c.context) for c in absent.paired.contexts} == {
        'value "absent" of "presence"',
        'value "absent" of "calcification cluster presence"',
        'value "absent" of "occlusion status vessel"',
    }
    json_templates = {
        key
        for key, entities in listed.items()
        if any(f >= TEMPLATE_FINDINGS for _e, f in oracle.contexts(entities).values())
    }
    template_entities = sum(len(listed[key]) for key in json_templates)
    json_single = {key for key, entities in listed.items() if len(oracle.contexts(entities)) == 1}
    assert len(json_templates) == 12 and template_entities == 25_566
    assert sum(len(entities) for entities in listed.values()) == 26_237
    assert len(json_single) == 655
    templates = [p for p in radlex_snomed if p.template]
    assert {(p.source.code, p.target.code) for p in templates} == json_templates
    assert sum(p.co_indexed.entity_count for p in templates) == template_entities
    assert sum(p.co_indexed.entity_count for p in radlex_snomed) == 26_237
    single = {
        (p.source.code, p.target.code) for p in radlex_snomed if p.co_indexed.context_count == 1
    }
    assert single == json_single
    paired, colisted = mapping_oracle.expected("RADLEX", "SNOMED")
    json_statuses: dict[tuple[str, str | None], int] = defaultdict(int)
    json_statuses[("co-listed", None)] = len(colisted)
    for e in paired.values():
        json_statuses[("paired", e.predicate)] += 1
    assert dict(json_statuses) == {
        ("co-listed", None): 596,
        ("paired", RELATED_MATCH): 68,
        ("paired", CLOSE_MATCH): 4,
    }
    statuses: dict[tuple[str, str | None], int] = defaultdict(int)
    for pair in radlex_snomed:
        statuses[(pair.status, pair.predicate)] += 1
    assert statuses == json_statuses


# ------------------------------------------------------------------ pairing by display


INVASION = "OIFMA_CDE_000093"  # "Structures with possible invasion", mr_rectal_tumor_imaging


def test_the_invasion_attribute_pairs_by_display(
    radlex_snomed: list[CrosswalkPair], oracle: Oracle, mapping_oracle: MappingOracle
) -> None:
    on_it = [p for p in radlex_snomed if INVASION in p.co_indexed.entities]
    systems = oracle.systems_on(INVASION)  # the attribute's codes in the JSON
    assert (systems["RADLEX"], systems["SNOMED"]) == (18, 33)
    assert len({p.source for p in on_it}) == 18 and len({p.target for p in on_it}) == 33
    assert len(on_it) == 18 * 33  # every RadLex code with every SNOMED code
    got = {(p.source.code, p.target.code): p for p in on_it}
    pubococcygeus = got[("RID381", "244958005")]
    assert pubococcygeus.status == "paired" and pubococcygeus.paired.entities == (INVASION,)
    assert pubococcygeus.lexical and pubococcygeus.lexical_score == 1.0
    assert pubococcygeus.methods == (INSTANCE_BASED, LEXICAL)
    assert pubococcygeus.justification == COMPOSITE
    assert pubococcygeus.cardinality == "1:1" and pubococcygeus.predicate == RELATED_MATCH
    piriformis = got[("RID381", "245019009")]
    assert piriformis.status == "co-listed" and piriformis.colisted == (INVASION,)
    assert piriformis.predicate is None and piriformis.cardinality is None
    assert piriformis.confidence == 0.0 and piriformis.methods == ()
    assert piriformis.lexical_score is not None and piriformis.lexical_score < lexical.MIN_SCORE
    assert got[("RID2632", "245019009")].status == "paired"  # piriformis with piriformis
    paired = {key for key, p in got.items() if INVASION in p.paired.entities}
    # 15 of the 18 RadLex codes pair with the SNOMED codes of the same display (25 pairs: two
    # SNOMED codes for most structures); "coccygeus", "peritoneal reflection" and "invasion"
    # have no SNOMED partner, nor have the eight SNOMED iliac arteries a RadLex one.
    assert len(paired) == 25 and len({b for _a, b in paired}) == 25
    json_paired, _colisted = mapping_oracle.expected("RADLEX", "SNOMED")
    assert paired == {(a[1], b[1]) for (a, b), e in json_paired.items() if INVASION in e.entities}
    assert {a for a, _b in paired} == {
        "RID1194",
        "RID1195",
        "RID2509",
        "RID2632",
        "RID2633",
        "RID237",
        "RID302",
        "RID30844",
        "RID30845",
        "RID325",
        "RID343",
        "RID381",
        "RID383",
        "RID5824",
        "RID5825",
    }
    for a, b in paired:
        assert lexical.is_match(got[(a, b)].source_label or "", got[(a, b)].target_label or "")


@pytest.mark.parametrize(
    ("left", "right", "match"),
    [
        ("liver", "Liver structure (body structure)", True),
        ("liver", "Structure of liver (body structure)", True),
        ("liver", "Entire liver", True),
        ("left kidney", "Kidney, left", True),
        ("T2/FLAIR hyperintensity", "t2 flair hyperintensity", True),
        ("non-enhancing", "non enhancing", True),
        ("Présent", "present (qualifier value)", True),
        ("haemorrhage", "hemorrhage", True),
        ("left ureter", "right ureter", False),
        ("coccygeus", "pubococcygeus", False),
        ("no motor response", "motor response", False),
        ("hemorrhages", "hemorrhage s", False),  # 0.96, but not the same number of words
        ("liver", "Liver lesion (finding)", False),
        ("", "", False),
    ],
)
def test_display_matching(left: str, right: str, match: bool) -> None:
    assert lexical.is_match(left, right) is match
    assert lexical.is_match(right, left) is match


def test_normal_forms() -> None:
    assert lexical.normalise("Liver structure (body structure)") == "liver"
    assert lexical.normalise("Presence (property) (qualifier value)") == "presence"
    assert lexical.normalise("Kidney, LEFT") == "kidney left"
    assert lexical.normalise("Structure") == "structure"  # nothing else: fillers stay
    assert lexical.normalise("mass (not a tag)") == "mass not tag"
    assert lexical.similarity("kidney", "kidneys") == pytest.approx(12 / 13)


def test_each_code_keeps_only_its_best_match() -> None:
    pairs = lexical.pair_displays(
        [("a", ["hyperattenuating lesion"]), ("b", ["mass"])],
        [("x", ["hypoattenuating lesion"]), ("y", ["hyperattenuating lesion"]), ("z", [])],
    )
    paired = {(p.left, p.right) for p in pairs if p.paired}
    assert paired == {("a", "y")}  # the near miss "hypo…" loses to the exact partner
    assert {(p.left, p.right): p.score for p in pairs}[("b", "z")] == 0.0


def test_the_lowest_matching_score_is_min_score() -> None:
    """25 letters, two of them changed: 4 insertions or deletions in 50 letters, 0.92."""
    left, right = "abcdefghijklmnopqrstuvwxy", "abcdefghijklmnopqrstuvwzz"
    assert lexical.similarity(left, right) == lexical.MIN_SCORE == 0.92
    assert lexical.is_match(left, right)
    assert not lexical.is_match(left, "abcdefghijklmnopqrstuvzzz")  # 0.88


def test_a_near_match_pairs_when_nothing_better_is_listed() -> None:
    (pair,) = lexical.pair_displays([("a", ["haemorrhage"])], [("x", ["Hemorrhage (finding)"])])
    assert pair.paired and pair.score == pytest.approx(1 - 1 / 21)


def test_a_code_pairs_by_its_best_display_whatever_their_order() -> None:
    """The displays a model gives one code are all compared; the best one counts."""
    for displays in (["liver", "zzz"], ["zzz", "liver"], ["hepatic zzz", "liver"]):
        (pair,) = lexical.pair_displays([("a", displays)], [("x", ["Liver structure"])])
        assert (pair.paired, pair.score) == (True, 1.0), displays


def test_a_display_of_no_words_scores_nothing() -> None:
    pairs = lexical.pair_displays([("a", ["—"]), ("b", ["()"])], [("x", ["mass"]), ("y", ["-"])])
    assert [(p.left, p.right, p.score, p.paired) for p in pairs] == [
        ("a", "x", 0.0, False),
        ("a", "y", 0.0, False),
        ("b", "x", 0.0, False),
        ("b", "y", 0.0, False),
    ]


def test_display_pairs_are_values() -> None:
    (pair,) = lexical.pair_displays([("a", ["liver"])], [("x", ["liver"])])
    with pytest.raises(AttributeError):
        pair.paired = False  # type: ignore[misc]


# ------------------------------------------------------------------ handwritten models


def _code(system: str, code: str, display: str | None) -> dict[str, Any]:
    item = {"system": system, "code": code}
    if display is not None:
        item["display"] = display
    return item


def _model(number: int, name: str, attributes: list[tuple[str, list[dict]]]) -> dict[str, Any]:
    """A finding model with choice attributes, each one value "present" carrying the codes."""
    out = []
    for i, (attribute, codes) in enumerate(attributes):
        oifma = f"OIFMA_TEST_{number * 100 + i:06d}"
        out.append(
            {
                "oifma_id": oifma,
                "name": attribute,
                "type": "choice",
                "values": [
                    {"value_code": f"{oifma}.0", "name": "absent"},
                    {"value_code": f"{oifma}.1", "name": "present"},
                ],
                "index_codes": codes,
            }
        )
    return {"oifm_id": f"OIFM_TEST_{number:06d}", "name": name, "attributes": out}


def _write(folder: Path, models: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for model in models:
        path = folder / f"{model['oifm_id'].lower()}.fm.json"
        path.write_text(json.dumps(model, indent=1), encoding="utf-8")
    return folder


ORGANS = [
    _code("RADLEX", "RID58", "liver"),
    _code("RADLEX", "RID86", "spleen"),
    _code("RADLEX", "RID29662", "left kidney"),
    _code("RADLEX", "RID28", "mass"),
    _code("SNOMED", "10200004", "Liver structure (body structure)"),
    _code("SNOMEDCT", "78961009", "Splenic structure (body structure)"),
    _code("SNOMED", "18639004", "Kidney, left (body structure)"),
    _code("SNOMED", "9846003", "Right kidney structure"),
]


def _build(folder: Path, store: Path) -> Store:
    report = read_models([folder])
    assert report.ok, [str(d) for d in report.diagnostics]
    with Store(store) as writable:
        writable.load(report.models)
    return Store(store, read_only=True)


@pytest.fixture
def organs(tmp_path: Path) -> Iterator[Store]:
    folder = _write(tmp_path / "models", [_model(1, "organ involvement", [("organs", ORGANS)])])
    with _build(folder, tmp_path / "kg") as store:
        yield store


def test_displays_pair_codes_on_one_entity(organs: Store) -> None:
    pairs = {
        (p.source.code, p.target.code): p for p in CrosswalkReader(organs).pairs("RADLEX", "SNOMED")
    }
    paired = {key for key, p in pairs.items() if p.status == "paired"}
    assert paired == {
        ("RID58", "10200004"),  # liver / Liver structure (body structure)
        ("RID29662", "18639004"),  # word order: left kidney / Kidney, left
    }
    assert len(pairs) == 4 * 4  # every combination is reported, 16 - 2 = 14 of them co-listed
    assert sum(p.status == "co-listed" for p in pairs.values()) == 4 * 4 - 2
    liver = pairs[("RID58", "10200004")]
    assert liver.lexical_score == 1.0 and liver.justification == COMPOSITE
    assert liver.cardinality == "1:1" and liver.predicate == RELATED_MATCH
    # "spleen" / "Splenic structure": different words, so no pairing (co-listed, scored)
    spleen = pairs[("RID86", "78961009")]
    assert spleen.status == "co-listed" and spleen.predicate is None
    assert 0 < (spleen.lexical_score or 0) < lexical.MIN_SCORE
    # "mass" has no partner: co-listed with every SNOMED code, never a mapping
    assert all(pairs[("RID28", b)].status == "co-listed" for _a, b in pairs if _a == "RID28")
    assert all(p.status == "co-listed" for p in pairs.values() if p.target.code == "9846003")


def test_one_code_of_a_system_pairs_with_each_code_of_the_other(tmp_path: Path) -> None:
    model = _model(
        2,
        "liver lesion",
        [
            (
                "organ",
                [
                    _code("RADLEX", "RID58", "liver"),
                    _code("SNOMED", "10200004", "Liver structure"),
                    _code("SNOMED", "300331000", "Liver lesion"),
                ],
            )
        ],
    )
    with _build(_write(tmp_path / "m", [model]), tmp_path / "kg") as store:
        pairs = CrosswalkReader(store).pairs("RADLEX", "SNOMED")
    assert [(p.target.code, p.status, p.cardinality, p.lexical_score) for p in pairs] == [
        ("10200004", "paired", "1:n", None),
        ("300331000", "paired", "1:n", None),
    ]
    assert all(p.methods == (INSTANCE_BASED,) for p in pairs)


def _crowded(entity: str, left: int, right: int, equal: int) -> EntityCodes:
    """An attribute listing ``left`` RadLex and ``right`` SNOMED codes, the first ``equal`` of
    each with displays of the same normal form ("organ 7" / "Organ 7 structure (body
    structure)"), the others with displays no other display matches."""
    codes = [IndexCode("RADLEX", f"RID{i}", f"organ {i}") for i in range(left)]
    codes += [
        IndexCode("SNOMED", str(100000 + i), f"Organ {i} structure (body structure)")
        if i < equal
        else IndexCode("SNOMED", str(100000 + i), f"tissue {i}")
        for i in range(right)
    ]
    return EntityCodes(entity, "attribute", "OIFM_TEST_000001", "organs", None, tuple(codes))


def test_an_entity_of_many_codes_pairs_equal_displays_only() -> None:
    """Over MAX_COMPARED_PAIRS comparisons: equal normal forms pair, nothing is co-listed."""
    left, right = 120, 100  # 12,000 comparisons
    assert left * right > MAX_COMPARED_PAIRS
    crosswalk = build_crosswalk([_crowded("OIFMA_TEST_000001", left, right, equal=7)])
    assert crosswalk.oversized == ("OIFMA_TEST_000001",)
    found = {(p.source.code, p.target.code) for p in crosswalk.pairs}
    assert found == {(f"RID{i}", str(100000 + i)) for i in range(7)}
    assert all(
        p.status == "paired" and p.lexical and p.lexical_score == 1.0 for p in crosswalk.pairs
    )


def test_an_entity_of_codes_of_many_systems_is_bounded() -> None:
    """12,500 codes, each of its own system and all with the display "d": every pair of
    systems would be 78 million pairs, and so would the pairs of equal displays; none is
    recorded, the entity is named."""
    codes = tuple(IndexCode(f"SYS{i:06d}", f"C{i}", "d") for i in range(12_500))
    entity = EntityCodes("OIFMA_TEST_000001", "attribute", "OIFM_TEST_000001", "x", None, codes)
    crosswalk = build_crosswalk([entity])
    assert crosswalk.oversized == ("OIFMA_TEST_000001",)
    assert crosswalk.pairs == () and len(crosswalk.usages) == 12_500


def test_one_code_beside_very_many_of_another_system_pairs_by_equal_displays() -> None:
    snomed = [
        IndexCode("SNOMED", str(100000 + i), "Liver structure" if i == 7 else f"tissue {i}")
        for i in range(20_000)
    ]
    codes = (IndexCode("RADLEX", "RID58", "liver"), *snomed)
    entity = EntityCodes("OIFMA_TEST_000001", "attribute", "OIFM_TEST_000001", "x", None, codes)
    crosswalk = build_crosswalk([entity])
    assert [(p.source.code, p.target.code) for p in crosswalk.pairs] == [("RID58", "100007")]


def test_an_entity_at_the_bound_is_compared_pair_by_pair() -> None:
    crosswalk = build_crosswalk([_crowded("OIFMA_TEST_000001", 100, 100, equal=7)])
    assert crosswalk.oversized == ()
    assert len(crosswalk.pairs) == 100 * 100
    assert sum(p.status == "paired" for p in crosswalk.pairs) == 7


def test_an_entity_of_twenty_thousand_codes_is_counted_in_bounded_memory() -> None:
    import tracemalloc

    tracemalloc.start()
    try:
        crosswalk = build_crosswalk([_crowded("OIFMA_TEST_000001", 10_000, 10_000, equal=3)])
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(crosswalk.pairs) == 3
    assert len(crosswalk.usages) == 20_000
    assert peak < 400 * 1024 * 1024  # every pair compared: 100 million records


def _one_attribute(number: int, name: str, attribute: str, codes: list[dict]) -> dict[str, Any]:
    return _model(number, name, [(attribute, codes)])


def test_contexts_templates_and_the_predicate(tmp_path: Path) -> None:
    """One context in twelve models is a template and one decision; three contexts in three
    models are independent evidence enough for a close match."""
    larger = [_code("RADLEX", "RID5791", "enlarged"), _code("SNOMED", "263768009", "Greater")]
    liver = [_code("RADLEX", "RID58", "liver"), _code("SNOMED", "10200004", "Liver structure")]
    stamped = [_one_attribute(10 + i, f"finding {i}", "size change", larger) for i in range(12)]
    names = ["organ", "Organ involved", "site of origin"]
    independent = [_one_attribute(30 + i, f"other {i}", n, liver) for i, n in enumerate(names)]
    with _build(_write(tmp_path / "m", stamped + independent), tmp_path / "kg") as store:
        pairs = {p.source.code: p for p in CrosswalkReader(store).pairs("RADLEX", "SNOMED")}
    enlarged, organ = pairs["RID5791"], pairs["RID58"]
    assert (enlarged.co_indexed.findings, enlarged.paired.context_count) == (len(stamped), 1)
    assert enlarged.template and enlarged.predicate == RELATED_MATCH
    # confidence k / (max(n(A), n(B)) + 1) (docs/mappings.md): 1 / (1 + 1), 3 / (3 + 1)
    assert enlarged.confidence == 1 / (1 + 1) and enlarged.share == 1.0
    assert (organ.paired.context_count, organ.template) == (len(names), False)
    assert organ.predicate == CLOSE_MATCH and organ.confidence == 3 / (3 + 1)


def test_one_context_in_several_attributes_of_one_model_is_not_a_close_match(
    tmp_path: Path,
) -> None:
    liver = [_code("RADLEX", "RID58", "liver"), _code("SNOMED", "10200004", "Liver structure")]
    model = _model(1, "liver", [("organ", liver), ("site", liver), ("location", liver)])
    with _build(_write(tmp_path / "m", [model]), tmp_path / "kg") as store:
        (pair,) = CrosswalkReader(store).pairs("RADLEX", "SNOMED")
    assert (pair.paired.context_count, pair.paired.findings) == (3, 1)  # 3 attributes, 1 model
    assert pair.predicate == RELATED_MATCH  # three contexts, but all in one finding model


# ------------------------------------------------------------------ materialised = computed


def _same(reader: CrosswalkReader, computed: Crosswalk, codes: list[IndexCode]) -> None:
    for code in codes:
        for to in (None, "SNOMED"):
            assert reader.code(code, to) == computed.code(code, to), code
            assert reader.code(code, to, uses=False) == computed.code(code, to, uses=False)


def test_materialised_answers_equal_the_computed_ones(corpus: Store) -> None:
    reader = CrosswalkReader(corpus)
    computed = compute_crosswalk(corpus)
    assert reader.crosswalk().pairs == computed.pairs
    assert reader.pairs("SNOMED", "RADLEX") == computed.between("SNOMED", "RADLEX")
    assert reader.pairs() == computed.between()
    codes = [IndexCode.of("RADLEX", c) for c in ("RID28473", "RID5791", "RID381", "RID5655")]
    codes += [IndexCode.of("SNOMED", "263768009"), IndexCode.of("GAMUTS", "5529")]
    codes += list(computed.usages)[::97]
    _same(reader, computed, codes)
    assert reader.code(IndexCode.of("RADLEX", "RID999999999")) is None


def test_the_models_and_the_store_give_the_same_entities(corpus: Store, corpus_report) -> None:  # type: ignore[no-untyped-def]
    from_models = sorted(
        (e for s in corpus_report.models for e in entities_of_model(s.model)),
        key=lambda e: (e.finding, e.entity),
    )
    from_store = sorted(entities_of(corpus), key=lambda e: (e.finding, e.entity))
    assert len(from_models) == len(from_store)
    for a, b in zip(from_models, from_store, strict=True):
        assert (a.entity, a.kind, a.finding, a.name, a.attribute) == (
            b.entity,
            b.kind,
            b.finding,
            b.name,
            b.attribute,
        )
        assert set(a.codes) == set(b.codes) and set(a.locations) == set(b.locations)


def test_a_backend_answers_as_the_store(tmp_path: Path) -> None:
    with _build(EXAMPLES, tmp_path / "kg") as store:
        direct = compute_crosswalk(store)
        with LocalBackend(store) as backend:  # through SPARQL results, as an endpoint answers
            assert compute_crosswalk(backend) == direct
            reader = CrosswalkReader(backend)
            assert reader.materialised and reader.crosswalk().pairs == direct.pairs
            _same(reader, direct, list(direct.usages))
    models = read_models([EXAMPLES]).models
    assert build_crosswalk(e for s in models for e in entities_of_model(s.model)) == direct


@pytest.mark.parametrize("server", ["serve", "oxigraph"])
def test_an_endpoint_answers_as_the_store(tmp_path: Path, server: str) -> None:
    """Over SPARQL: ``ontomap serve`` on the store, and an Oxigraph server the store was
    pushed to (the crosswalk graph travels with the models)."""
    from servers import ontomap_cli, ontomap_server, oxigraph_server

    with _build(EXAMPLES, tmp_path / "kg") as store:
        expected = compute_crosswalk(store)
    with contextlib.ExitStack() as stack:
        if server == "serve":
            url = stack.enter_context(ontomap_server(tmp_path / "kg", log_dir=tmp_path)).query
        else:
            base = stack.enter_context(oxigraph_server(tmp_path / "oxigraph"))
            pushed = ontomap_cli("push", "--store", tmp_path / "kg", "--endpoint", base + "update")
            assert pushed.returncode == 0, pushed.stderr
            url = base + "query"
        backend = RemoteBackend(url)
        reader = CrosswalkReader(backend)
        assert reader.materialised
        assert reader.crosswalk() == expected
        assert reader.pairs("SNOMED", "RADLEX") == expected.between("SNOMED", "RADLEX")
        _same(reader, expected, list(expected.usages))
        assert compute_crosswalk(backend) == expected


def test_without_the_graph_the_reader_computes(tmp_path: Path) -> None:
    with _build(EXAMPLES, tmp_path / "kg") as store:
        expected = compute_crosswalk(store)
    with Store(tmp_path / "kg") as writable:
        writable.oxigraph.remove_graph(CROSSWALK_GRAPH)
    with Store(tmp_path / "kg", read_only=True) as store:
        reader = CrosswalkReader(store)
        assert not reader.materialised
        assert reader.crosswalk() == expected
        _same(reader, expected, list(expected.usages))


# ------------------------------------------------------------------ rebuilt with the models


def _snapshot(store: Store) -> tuple[set[tuple[str, str]], dict[tuple[str, str], tuple[str, ...]]]:
    pairs = CrosswalkReader(store).pairs("RADLEX", "SNOMED")
    codes = {(u.system, u.code) for u in CrosswalkReader(store).crosswalk().usages}
    return codes, {(p.source.code, p.target.code): p.co_indexed.entities for p in pairs}


def test_a_changed_model_changes_the_crosswalk(tmp_path: Path) -> None:
    first = _model(1, "organ involvement", [("organs", ORGANS)])
    second = _model(2, "liver lesion", [("organ", [ORGANS[0], ORGANS[4]])])
    folder = _write(tmp_path / "m", [first, second])
    with _build(folder, tmp_path / "kg") as store:
        codes, pairs = _snapshot(store)
        graph = store.graph()
    assert pairs[("RID58", "10200004")] == ("OIFMA_TEST_000100", "OIFMA_TEST_000200")
    assert ("RADLEX", "RID28") in codes
    changed = _model(1, "organ involvement", [("organs", ORGANS[:2] + ORGANS[4:6])])  # no mass
    _write(folder, [changed])
    with Store(tmp_path / "kg") as writable:
        writable.load(read_models([folder / "oifm_test_000001.fm.json"]).models)  # incremental
    with Store(tmp_path / "kg", read_only=True) as store:
        codes, pairs = _snapshot(store)
        after = CrosswalkReader(store)
        assert after.materialised
        assert after.crosswalk().pairs == compute_crosswalk(store).pairs
        assert len(store.graph()) < len(graph)
        concepts = {q.subject.value for q in store.oxigraph.quads_for_pattern(None, None, None)}
        exported = store.graph()
    assert ("RADLEX", "RID28") not in codes and ("SNOMED", "9846003") not in codes
    assert "http://radlex.org/RID/RID28" not in concepts  # pruned, the crosswalk kept nothing
    assert pairs[("RID58", "10200004")] == ("OIFMA_TEST_000100", "OIFMA_TEST_000200")
    assert ("RID58", "9846003") not in pairs
    direct = read_models([folder]).models
    from ontomap.graph import GraphBuilder

    assert exported == GraphBuilder().graph(s.model for s in direct)


def test_a_model_added_later_joins_the_crosswalk(tmp_path: Path) -> None:
    one = _write(tmp_path / "a", [_model(1, "a", [("organ", [ORGANS[0], ORGANS[4]])])])
    two = _write(tmp_path / "b", [_model(2, "b", [("site", [ORGANS[0], ORGANS[4]])])])
    with _build(one, tmp_path / "kg") as store:
        (pair,) = CrosswalkReader(store).pairs("RADLEX", "SNOMED")
        assert pair.paired.context_count == 1
    with Store(tmp_path / "kg") as writable:
        writable.load(read_models([two]).models)
    with Store(tmp_path / "kg", read_only=True) as store:
        (pair,) = CrosswalkReader(store).pairs("RADLEX", "SNOMED")
    assert pair.paired.entities == ("OIFMA_TEST_000100", "OIFMA_TEST_000200")
    assert pair.paired.context_count == 2 and pair.predicate == CLOSE_MATCH


def test_a_load_of_nothing_keeps_the_crosswalk(tmp_path: Path) -> None:
    with _build(EXAMPLES, tmp_path / "kg") as store:
        before = sorted(
            map(str, store.oxigraph.quads_for_pattern(None, None, None, CROSSWALK_GRAPH))
        )
    with Store(tmp_path / "kg") as writable:
        writable.load([])
    with Store(tmp_path / "kg", read_only=True) as store:
        after = sorted(
            map(str, store.oxigraph.quads_for_pattern(None, None, None, CROSSWALK_GRAPH))
        )
    assert after == before and before


# ------------------------------------------------------------------ the graph itself


def test_the_crosswalk_graph_is_not_exported(tmp_path: Path) -> None:
    with _build(EXAMPLES, tmp_path / "kg") as store:
        assert any(
            True for _ in store.oxigraph.quads_for_pattern(None, None, None, CROSSWALK_GRAPH)
        )
        exported = store.graph()
        from ontomap.graph import GraphBuilder

        assert exported == GraphBuilder().graph(s.model for s in read_models([EXAMPLES]).models)
        subjects = {t.split(" ", 1)[0] for t in exported.lines}
        assert not any(CROSSWALK_GRAPH.value in s for s in subjects)


def test_the_crosswalk_graph_uses_its_vocabulary(tmp_path: Path) -> None:
    with _build(EXAMPLES, tmp_path / "kg") as store:
        quads = list(store.oxigraph.quads_for_pattern(None, None, None, CROSSWALK_GRAPH))
    predicates = {q.predicate.value for q in quads}
    assert OIFM.firstCode.value in predicates and OIFM.useList.value in predicates
    # nothing a query over the models' own terms could pick up
    assert not any(
        p.startswith(("http://www.w3.org/2000/01/rdf-schema#", "http://www.w3.org/2004/02/skos"))
        for p in predicates
    )
    assert OIFM.hasIndexCode.value not in predicates
    version = [q for q in quads if q.predicate == OIFM.rulesVersion]
    assert len(version) == 1 and isinstance(version[0].object, ox.Literal)
