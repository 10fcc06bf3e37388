"""The crosswalk's documented rules (docs/mappings.md, "How the evidence is counted"), each on a
small input built so that the rule alone decides the outcome, with the expected figures worked
out by hand from the rules (the arithmetic is written beside each expectation).

Entities are given as :class:`~ontomap.crosswalk.EntityCodes` (what the engine counts), or read
from the finding models under ``tests/resources/crosswalk/`` through the real JSON reader and a
real store. Orders are asserted where the engine documents an order.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator, Sequence
from pathlib import Path

import pyoxigraph as ox
import pytest
from conftest import RESOURCES, ROOT
from rapidfuzz.distance import Indel

from ontomap import crosswalk as crosswalk_module
from ontomap.crosswalk import (
    CLOSE_MATCH,
    COMPOSITE,
    INSTANCE_BASED,
    LEXICAL,
    MAX_COMPARED_PAIRS,
    RELATED_MATCH,
    RULES_VERSION,
    CodeUsage,
    CodeUse,
    Context,
    ContextSupport,
    Crosswalk,
    CrosswalkPair,
    CrosswalkReader,
    EntityCodes,
    Evidence,
    UseList,
    build_crosswalk,
    cardinality_of,
    compute_crosswalk,
    entities_of,
    entities_of_model,
    is_minority,
    system_order,
)
from ontomap.errors import StoreError
from ontomap.graph import CROSSWALK_GRAPH
from ontomap.model import IndexCode
from ontomap.readers import read_models
from ontomap.store import Store
from ontomap.vocab import OIFM

FIXTURES = RESOURCES / "crosswalk"


def _c(system: str, code: str, display: str | None = None) -> IndexCode:
    return IndexCode.of(system, code, display)


def _entity(
    entity: str,
    finding: str,
    name: str,
    codes: Sequence[IndexCode],
    *,
    attribute: str | None = None,
    locations: Sequence[IndexCode] = (),
    finding_name: str | None = None,
) -> EntityCodes:
    """An entity whose kind follows from its ID (as the store reads it): ``OIFM_…`` a finding,
    ``OIFMA_…`` an attribute, ``OIFMA_….N`` a value."""
    kind = "value" if "." in entity else "attribute" if entity.startswith("OIFMA_") else "finding"
    return EntityCodes(
        entity, kind, finding, name, attribute, tuple(codes), tuple(locations), finding_name
    )


def _pairs(crosswalk: Crosswalk) -> dict[tuple[str, str], CrosswalkPair]:
    return {(p.source.code, p.target.code): p for p in crosswalk.pairs}


def _contexts(evidence: Evidence) -> list[tuple[str, int, int]]:
    return [(str(c.context), c.entities, c.findings) for c in evidence.contexts]


# ------------------------------------------------------------------ small pure rules


@pytest.mark.parametrize(
    ("share", "others", "expected"),
    [
        (0.0499, [0.5], True),  # under 5 % while another pairing has exactly 50 %
        (0.05, [0.95], False),  # exactly 5 % is not under 5 %
        (0.01, [0.4999], False),  # no pairing reaches 50 %
        (0.01, [0.2, 0.6], True),  # any other pairing may be the dominant one
        (0.01, [], False),  # nothing else to depart from
    ],
)
def test_a_minority_is_under_five_percent_beside_a_pairing_of_half(
    share: float, others: list[float], expected: bool
) -> None:
    assert is_minority(share, iter(others)) is expected


@pytest.mark.parametrize(
    ("here", "there", "expected"),
    [(False, False, "1:1"), (True, False, "1:n"), (False, True, "n:1"), (True, True, "n:m")],
)
def test_cardinality_from_the_partners_of_each_code(here: bool, there: bool, expected: str) -> None:
    assert cardinality_of(here, there) == expected


def test_systems_sort_in_registry_order_then_unknown_systems_by_key() -> None:
    with (ROOT / "ontologies" / "terminologies.toml").open("rb") as toml:
        registry = list(tomllib.load(toml)["systems"])  # the file's order
    assert registry == ["RADLEX", "SNOMED", "LOINC", "GAMUTS", "RADELEMENT", "ICD10CM"]
    # "AAA" sorts before "ICD10CM" by name: only the registry rule puts it after
    order = sorted(["ZETA", "AAA", *reversed(registry)], key=system_order)
    assert order == [*registry, "AAA", "ZETA"]
    assert system_order("AAA") == (6, "AAA")


def test_a_context_is_kind_and_normal_name_and_a_values_attribute() -> None:
    value = Context.of("value", "Larger", "Change from prior")
    assert (value.kind, value.name, value.attribute) == ("value", "larger", "change from prior")
    assert str(value) == 'value "larger" of "change from prior"'
    # an attribute's or a finding's context has no attribute, whatever is passed
    attribute = Context.of("attribute", "Structures with possible invasion", "ignored")
    assert attribute.attribute is None
    assert str(attribute) == 'attribute "invasion possible structures with"'
    assert str(Context.of("finding", None)) == 'finding ""'
    assert Context.of("value", "x", None).attribute == ""


def test_a_context_in_ten_findings_is_a_template_in_nine_not() -> None:
    context = Context("attribute", "size")
    assert ContextSupport(context, 40, 10).template
    assert not ContextSupport(context, 40, 9).template  # entities do not count, findings do
    assert Evidence(("a",), 9, (ContextSupport(context, 9, 9),)).template is False
    both = (ContextSupport(context, 9, 9), ContextSupport(Context("finding", "x"), 10, 10))
    assert Evidence(("a",), 19, both).template is True
    assert Evidence().template is False and not Evidence() and Evidence().context_count == 0


def _pair(**changes: object) -> CrosswalkPair:
    evidence = Evidence(("OIFMA_XWLK_000001",), 1, (ContextSupport(Context("finding", "x"), 1, 1),))
    fields: dict[str, object] = {
        "source": _c("RADLEX", "RID1"),
        "target": _c("SNOMED", "1"),
        "source_label": "a",
        "target_label": "b",
        "source_uses": 4,
        "target_uses": 2,
        "source_contexts": 4,
        "target_contexts": 2,
        "co_indexed": evidence,
        "paired": evidence,
        "lexical": False,
        "lexical_score": None,
        "cardinality": "1:n",
        "flag": None,
        "predicate": RELATED_MATCH,
        "confidence": 0.2,
    }
    fields.update(changes)
    return CrosswalkPair(**fields)  # type: ignore[arg-type]


def test_shares_are_of_each_codes_contexts_and_zero_without_contexts() -> None:
    pair = _pair()
    assert (pair.share, pair.target_share, pair.entity_share) == (1 / 4, 1 / 2, 1 / 4)
    empty = _pair(source_contexts=0, target_contexts=0, source_uses=0)
    assert (empty.share, empty.target_share, empty.entity_share) == (0.0, 0.0, 0.0)


def test_a_pair_seen_from_its_target_swaps_every_side_and_flips_the_cardinality() -> None:
    pair = _pair(flag="outlier")
    back = pair.reversed()
    assert (back.source, back.target) == (pair.target, pair.source)
    assert (back.source_label, back.target_label) == ("b", "a")
    assert (back.source_uses, back.target_uses) == (2, 4)
    assert (back.source_contexts, back.target_contexts) == (2, 4)
    assert (back.share, back.target_share) == (1 / 2, 1 / 4)
    assert (back.cardinality, back.flag, back.predicate, back.confidence) == (
        "n:1",
        "outlier",
        RELATED_MATCH,
        0.2,
    )
    assert back.reversed() == pair
    assert _pair(cardinality="n:1").reversed().cardinality == "1:n"
    assert _pair(cardinality="n:m").reversed().cardinality == "n:m"
    assert _pair(cardinality="1:1").reversed().cardinality == "1:1"
    assert _pair(cardinality=None, paired=Evidence()).reversed().cardinality is None


def test_the_justification_follows_the_methods() -> None:
    assert _pair().methods == (INSTANCE_BASED,)
    assert _pair().justification == INSTANCE_BASED
    assert _pair(lexical=True).methods == (INSTANCE_BASED, LEXICAL)
    assert _pair(lexical=True).justification == COMPOSITE
    colisted = _pair(paired=Evidence(), lexical=True)
    assert (colisted.status, colisted.methods, colisted.justification) == ("co-listed", (), None)
    assert _pair().status == "paired" and not _pair().outlier
    assert _pair(flag="outlier").outlier


# ------------------------------------------------------------------ orientation and order


def test_pairs_are_oriented_and_ordered_by_registry_system_then_code() -> None:
    """One entity with one code of each of five systems (two unknown) pairs every two of them
    by co-indexing; a second entity adds RID10, which sorts before RID9 as text."""
    crosswalk = build_crosswalk(
        [
            _entity(
                "OIFMA_XWLK_000001",
                "OIFM_XWLK_000001",
                "site",
                [
                    _c("ZETA", "Z1"),
                    _c("SNOMED", "300"),
                    _c("AAA", "Q1"),
                    _c("ICD10CM", "C1"),
                    _c("RADLEX", "RID9"),
                ],
            ),
            _entity(
                "OIFMA_XWLK_000002",
                "OIFM_XWLK_000002",
                "organ",
                [_c("SNOMED", "300"), _c("RADLEX", "RID10")],
            ),
        ]
    )
    got = [
        (p.source.system, p.source.code, p.target.system, p.target.code) for p in crosswalk.pairs
    ]
    assert got == [
        ("RADLEX", "RID10", "SNOMED", "300"),
        ("RADLEX", "RID9", "SNOMED", "300"),
        ("RADLEX", "RID9", "ICD10CM", "C1"),
        ("RADLEX", "RID9", "AAA", "Q1"),
        ("RADLEX", "RID9", "ZETA", "Z1"),
        ("SNOMED", "300", "ICD10CM", "C1"),
        ("SNOMED", "300", "AAA", "Q1"),
        ("SNOMED", "300", "ZETA", "Z1"),
        ("ICD10CM", "C1", "AAA", "Q1"),
        ("ICD10CM", "C1", "ZETA", "Z1"),
        ("AAA", "Q1", "ZETA", "Z1"),
    ]
    zeta = crosswalk.code(_c("ZETA", "Z1"))
    assert zeta is not None
    assert [(p.target.system, p.target.code) for p in zeta.pairs] == [
        ("RADLEX", "RID9"),
        ("SNOMED", "300"),
        ("ICD10CM", "C1"),
        ("AAA", "Q1"),
    ]
    assert all(p.source == _c("ZETA", "Z1") for p in zeta.pairs)
    # SNOMED 300 pairs with two RadLex codes: n:1 from RadLex, 1:n from SNOMED
    assert _pairs(crosswalk)[("RID9", "300")].cardinality == "n:1"
    snomed = crosswalk.code(_c("SNOMED", "300"), "RADLEX")
    assert snomed is not None
    assert [(p.target.code, p.cardinality) for p in snomed.pairs] == [
        ("RID10", "1:n"),
        ("RID9", "1:n"),
    ]
    assert _pairs(crosswalk)[("C1", "Q1")].cardinality == "1:1"


def test_between_orients_every_pair_from_the_source_system() -> None:
    crosswalk = build_crosswalk(
        [
            _entity(
                "OIFM_XWLK_000001",
                "OIFM_XWLK_000001",
                "nodule",
                [
                    _c("SNOMED", "27925004"),
                    _c("RADLEX", "RID3875"),
                    _c("LOINC", "LG1-1"),
                ],
            ),
            _entity(
                "OIFM_XWLK_000002",
                "OIFM_XWLK_000002",
                "mass",
                [
                    _c("SNOMED", "4147007"),
                    _c("RADLEX", "RID3874"),
                ],
            ),
        ]
    )

    def listed(pairs: list[CrosswalkPair]) -> list[tuple[str, str]]:
        return [
            (f"{p.source.system} {p.source.code}", f"{p.target.system} {p.target.code}")
            for p in pairs
        ]

    assert listed(crosswalk.between("SNOMED", "RADLEX")) == [
        ("SNOMED 27925004", "RADLEX RID3875"),
        ("SNOMED 4147007", "RADLEX RID3874"),
    ]
    assert listed(crosswalk.between("SNOMED", None)) == [
        ("SNOMED 27925004", "RADLEX RID3875"),
        ("SNOMED 27925004", "LOINC LG1-1"),
        ("SNOMED 4147007", "RADLEX RID3874"),
    ]
    assert listed(crosswalk.between(None, "SNOMED")) == [
        ("RADLEX RID3874", "SNOMED 4147007"),
        ("RADLEX RID3875", "SNOMED 27925004"),
        ("LOINC LG1-1", "SNOMED 27925004"),
    ]
    every = listed(crosswalk.between())
    assert len(every) == 2 * len(crosswalk.pairs) == 8  # each pair from either side
    assert every[0] == ("RADLEX RID3874", "SNOMED 4147007")
    assert every[-1] == ("LOINC LG1-1", "SNOMED 27925004")
    assert crosswalk.between("SNOMEDCT", "radlex") == crosswalk.between("SNOMED", "RADLEX")


def test_one_codes_pairs_are_by_system_paired_first_best_supported_first() -> None:
    """RadLex RID1 with five SNOMED codes and one LOINC code; the SNOMED ones differ in
    confidence, then contexts, then entities, then code, and one is only co-listed."""
    f = "OIFM_XWLK_000001"
    rid1 = _c("RADLEX", "RID1", "liver")
    entities = [
        # 12 (paired with RID1 in 3 contexts: confidence 3 / (max(n(RID1), 3) + 1))
        _entity("OIFMA_XWLK_000001", f, "a", [rid1, _c("SNOMED", "12")]),
        _entity("OIFMA_XWLK_000002", f, "b", [rid1, _c("SNOMED", "12")]),
        _entity("OIFMA_XWLK_000003", f, "c", [rid1, _c("SNOMED", "12")]),
        # 11 and 13: two contexts each; 13 on one more entity (two values named alike)
        _entity("OIFMA_XWLK_000004", f, "d", [rid1, _c("SNOMED", "11"), _c("SNOMED", "13")]),
        _entity("OIFMA_XWLK_000005", f, "e", [rid1, _c("SNOMED", "11"), _c("SNOMED", "13")]),
        _entity("OIFMA_XWLK_000006.0", f, "e", [rid1, _c("SNOMED", "13")], attribute="e"),
        _entity("OIFMA_XWLK_000006.1", f, "e", [rid1, _c("SNOMED", "13")], attribute="e"),
        # 14 and 10: one context each, one entity each: by code
        _entity("OIFMA_XWLK_000007", f, "g", [rid1, _c("SNOMED", "14")]),
        _entity("OIFMA_XWLK_000008", f, "h", [rid1, _c("SNOMED", "10")]),
        # 09: only co-listed (two codes of each system, displays apart)
        _entity(
            "OIFMA_XWLK_000009",
            f,
            "i",
            [
                rid1,
                _c("RADLEX", "RID2", "spleen"),
                _c("SNOMED", "09", "Kidney"),
                _c("SNOMED", "99", "Bone"),
            ],
        ),
        _entity("OIFMA_XWLK_000010", f, "j", [rid1, _c("LOINC", "LP1")]),
    ]
    one = build_crosswalk(entities).code(rid1)
    assert one is not None
    assert [(p.target.system, p.target.code, p.status) for p in one.pairs] == [
        ("SNOMED", "13", "paired"),  # 3 contexts (d, e, value "e" of "e"), 4 entities
        ("SNOMED", "12", "paired"),  # 3 contexts, 3 entities
        ("SNOMED", "11", "paired"),  # 2 contexts, 2 entities
        ("SNOMED", "10", "paired"),  # 1 context, 1 entity, code "10" < "14"
        ("SNOMED", "14", "paired"),
        ("SNOMED", "09", "co-listed"),
        ("SNOMED", "99", "co-listed"),
        ("LOINC", "LP1", "paired"),
    ]
    # RID1 is used in 10 contexts (attributes a to e and g to j, value "e" of "e"):
    # confidence k / (10 + 1)
    assert [round(p.confidence, 4) for p in one.pairs] == [
        round(3 / 11, 4),
        round(3 / 11, 4),
        round(2 / 11, 4),
        round(1 / 11, 4),
        round(1 / 11, 4),
        0.0,
        0.0,
        round(1 / 11, 4),
    ]
    assert [p.paired.context_count for p in one.pairs[:3]] == [3, 3, 2]
    assert [p.co_indexed.entity_count for p in one.pairs[:3]] == [4, 3, 2]
    snomed = build_crosswalk(entities).code(_c("RADLEX", "RID1"), "SNOMEDCT", uses=False)
    assert snomed is not None and snomed.usage.used_by == ()
    assert [p.target.code for p in snomed.pairs] == ["13", "12", "11", "10", "14", "09", "99"]


def test_equal_confidence_is_ordered_by_contexts_then_entities_then_code() -> None:
    """Pairs as the engine records them, their confidence equal (3/12 = 4/16 = 0.25)."""
    rid = _c("RADLEX", "RID1")

    def evidence(contexts: int, entities: int) -> dict[str, Evidence]:
        names = [ContextSupport(Context("attribute", f"c{i}"), 1, 1) for i in range(contexts)]
        found = Evidence(tuple(f"OIFMA_XWLK_{i:06d}" for i in range(entities)), 1, tuple(names))
        return {"paired": found, "co_indexed": found}

    pairs = (
        _pair(source=rid, target=_c("SNOMED", "1"), **evidence(3, 3), confidence=0.25),
        _pair(source=rid, target=_c("SNOMED", "2"), **evidence(4, 4), confidence=0.25),
        _pair(source=rid, target=_c("SNOMED", "3"), **evidence(3, 5), confidence=0.25),
        _pair(source=rid, target=_c("SNOMED", "0"), **evidence(3, 3), confidence=0.25),
        _pair(source=rid, target=_c("SNOMED", "4"), **evidence(1, 1), confidence=0.5),
    )
    usage = CodeUsage(rid, (), 9, 9)
    found = Crosswalk({rid: usage}, pairs).code(rid)
    assert found is not None and found.usage is usage
    assert [p.target.code for p in found.pairs] == ["4", "2", "3", "0", "1"]


# ------------------------------------------------------------------ outliers


def _values(
    attribute: str, finding: str, codes: Sequence[Sequence[IndexCode]], first: int = 0
) -> list[EntityCodes]:
    """One value per entry of ``codes``, named apart (one context each)."""
    return [
        _entity(f"{attribute}.{first + i}", finding, f"v{first + i}", listed, attribute="site")
        for i, listed in enumerate(codes)
    ]


def test_an_outlier_seen_from_the_target_side() -> None:
    """SNOMED 200 is used 21 times: 20 with RID100, once with RID101. From RID101 (used once)
    the pairing is all its uses; from 200 it is 1/21 < 5 % beside 20/21 >= 50 %: an outlier."""
    dominant, odd, target = _c("RADLEX", "RID100"), _c("RADLEX", "RID101"), _c("SNOMED", "200")
    entities = _values("OIFMA_XWLK_000010", "OIFM_XWLK_000010", [[dominant, target]] * 20)
    entities += _values("OIFMA_XWLK_000010", "OIFM_XWLK_000010", [[odd, target]], first=20)
    crosswalk = build_crosswalk(entities)
    pairs = _pairs(crosswalk)
    outlier, main = pairs[("RID101", "200")], pairs[("RID100", "200")]
    assert (outlier.source_uses, outlier.target_uses, outlier.entity_share) == (1, 21, 1.0)
    assert (outlier.flag, outlier.cardinality, outlier.predicate) == (
        "outlier",
        "n:1",
        RELATED_MATCH,
    )
    assert (main.flag, main.cardinality) == (None, "n:1")
    assert main.confidence == 20 / 22 and outlier.confidence == 1 / 22  # k / (max(n) + 1)
    seen = crosswalk.code(target)
    assert seen is not None
    assert [(p.target.code, p.flag, p.cardinality) for p in seen.pairs] == [
        ("RID100", None, "1:n"),
        ("RID101", "outlier", "1:n"),
    ]


def test_an_outlier_seen_from_the_source_side() -> None:
    source, main, odd = _c("RADLEX", "RID200"), _c("SNOMED", "400"), _c("SNOMED", "401")
    entities = _values("OIFMA_XWLK_000020", "OIFM_XWLK_000020", [[source, main]] * 20)
    entities += _values("OIFMA_XWLK_000020", "OIFM_XWLK_000020", [[source, odd]], first=20)
    pairs = _pairs(build_crosswalk(entities))
    assert (pairs[("RID200", "401")].flag, pairs[("RID200", "401")].cardinality) == (
        "outlier",
        "1:n",
    )
    assert pairs[("RID200", "400")].flag is None
    assert pairs[("RID200", "401")].entity_share == 1 / 21


def test_exactly_five_percent_is_no_outlier() -> None:
    """RID300 used 20 times: 19 with SNOMED 500, once with 501 (1/20 = 5 %, not under)."""
    source = _c("RADLEX", "RID300")
    entities = _values(
        "OIFMA_XWLK_000030", "OIFM_XWLK_000030", [[source, _c("SNOMED", "500")]] * 19
    )
    entities += _values(
        "OIFMA_XWLK_000030", "OIFM_XWLK_000030", [[source, _c("SNOMED", "501")]], 19
    )
    pairs = _pairs(build_crosswalk(entities))
    assert pairs[("RID300", "501")].flag is None and pairs[("RID300", "500")].flag is None


def test_an_outlier_needs_a_pairing_of_half_the_uses() -> None:
    """RID400 used 40 times: 20 with SNOMED 600 (exactly 50 %), once with 601 (2.5 %), 19 alone:
    601 is an outlier. RID450 the same with 19 (47.5 %): no outlier. Counted in entities, not
    contexts: every use is its own context here."""

    def build(dominant: int, code: str) -> dict[tuple[str, str], CrosswalkPair]:
        source = _c("RADLEX", code)
        listed = [[source, _c("SNOMED", f"{code}1")]] * dominant
        listed += [[source, _c("SNOMED", f"{code}2")]]
        listed += [[source]] * (40 - dominant - 1)
        return _pairs(build_crosswalk(_values("OIFMA_XWLK_000040", "OIFM_XWLK_000040", listed)))

    half = build(20, "RID400")
    assert half[("RID400", "RID4002")].flag == "outlier"
    assert half[("RID400", "RID4002")].source_uses == 40
    assert half[("RID400", "RID4001")].flag is None
    assert build(19, "RID450")[("RID450", "RID4502")].flag is None


# ------------------------------------------------------------------ contexts and evidence


def test_contexts_are_most_findings_then_most_entities_then_kind_name_attribute() -> None:
    a, b = _c("RADLEX", "RID700"), _c("SNOMED", "700")
    entities = [
        _entity(
            f"OIFMA_XWLK_{100 + i:06d}.1",
            f"OIFM_XWLK_{100 + i:06d}",
            "present",
            [a, b],
            attribute="presence",
        )
        for i in range(12)
    ]
    entities += [
        _entity("OIFMA_XWLK_000120", "OIFM_XWLK_000120", "organ", [a, b]),
        _entity("OIFMA_XWLK_000121", "OIFM_XWLK_000121", "Organ", [a, b]),
        _entity("OIFMA_XWLK_000140.10", "OIFM_XWLK_000140", "left", [a, b], attribute="side"),
        _entity("OIFMA_XWLK_000140.2", "OIFM_XWLK_000140", "Left", [a, b], attribute="Side"),
        _entity("OIFMA_XWLK_000151", "OIFM_XWLK_000151", "zone", [a, b]),
        _entity("OIFMA_XWLK_000152.0", "OIFM_XWLK_000152", "apex", [a, b], attribute="b"),
        _entity("OIFMA_XWLK_000153", "OIFM_XWLK_000153", "apex", [a, b]),
        _entity("OIFM_XWLK_000154", "OIFM_XWLK_000154", "nodule", [a, b]),
    ]
    crosswalk = build_crosswalk(entities)
    (pair,) = crosswalk.pairs
    assert _contexts(pair.paired) == [
        ('value "present" of "presence"', 12, 12),
        ('attribute "organ"', 2, 2),
        ('value "left" of "side"', 2, 1),
        ('finding "nodule"', 1, 1),
        ('attribute "apex"', 1, 1),
        ('attribute "zone"', 1, 1),
        ('value "apex" of "b"', 1, 1),
    ]
    assert pair.co_indexed is pair.paired or pair.co_indexed == pair.paired
    assert (pair.paired.entity_count, pair.paired.findings, pair.paired.context_count) == (
        20,
        19,
        7,
    )
    assert pair.template  # the presence value is in 12 findings
    # entities in ID order, value numbers as numbers (.2 before .10)
    assert pair.paired.entities == (
        *(f"OIFMA_XWLK_{100 + i:06d}.1" for i in range(12)),
        "OIFMA_XWLK_000120",
        "OIFMA_XWLK_000121",
        "OIFMA_XWLK_000140.2",
        "OIFMA_XWLK_000140.10",
        "OIFMA_XWLK_000151",
        "OIFMA_XWLK_000152.0",
        "OIFMA_XWLK_000153",
        "OIFM_XWLK_000154",
    )
    usage = crosswalk.usages[a]
    assert (usage.uses, usage.contexts) == (20, 7)
    # 7 contexts of 7 for both codes, 19 findings, 1:1, but a template carries no extra weight:
    # the predicate still needs nothing more than k >= 2 in >= 2 findings and both shares
    assert pair.predicate == CLOSE_MATCH and pair.confidence == 7 / 8


@pytest.mark.parametrize(("findings", "template"), [(9, False), (10, True)])
def test_a_pairing_is_a_template_from_ten_finding_models(findings: int, template: bool) -> None:
    a, b = _c("RADLEX", "RID710"), _c("SNOMED", "710")
    crosswalk = build_crosswalk(
        _entity(f"OIFMA_XWLK_{i:06d}", f"OIFM_XWLK_{i:06d}", "size change", [a, b])
        for i in range(findings)
    )
    (pair,) = crosswalk.pairs
    assert pair.template is template and pair.paired.context_count == 1
    assert pair.predicate == RELATED_MATCH and pair.confidence == 0.5  # one decision: 1 / (1 + 1)


def test_the_close_match_thresholds() -> None:
    """k = 2 contexts in 2 findings, 1:1, both shares >= 0.5: close; every rule broken once."""

    def pair(code: str, listed: list[list[IndexCode]]) -> CrosswalkPair:
        entities = [
            _entity(f"OIFMA_XWLK_{i:06d}", f"OIFM_XWLK_{i:06d}", f"place {i}", codes)
            for i, codes in enumerate(listed)
        ]
        return _pairs(build_crosswalk(entities))[(code, code.removeprefix("RID"))]

    def r(code: str) -> IndexCode:
        return _c("RADLEX", code)

    def s(code: str) -> IndexCode:
        return _c("SNOMED", code)

    # RID900 in 4 contexts, paired with 900 in 2 of them: share 2/4 = 0.5, target share 2/2
    half = pair("RID900", [[r("RID900"), s("900")]] * 2 + [[r("RID900")]] * 2)
    assert (half.share, half.target_share, half.predicate) == (0.5, 1.0, CLOSE_MATCH)
    assert half.confidence == 2 / 5 and half.cardinality == "1:1"
    # five contexts: 2/5 = 0.4
    low = pair("RID910", [[r("RID910"), s("910")]] * 2 + [[r("RID910")]] * 3)
    assert (low.share, low.predicate, low.confidence) == (0.4, RELATED_MATCH, 2 / 6)
    # the target's share under half: SNOMED 930 used alone in three more contexts
    target = pair("RID930", [[r("RID930"), s("930")]] * 2 + [[s("930")]] * 3)
    assert (target.share, target.target_share, target.predicate) == (1.0, 0.4, RELATED_MATCH)
    assert target.confidence == 2 / 6  # max(n(A), n(B)) = 5
    # one context only (two entities of one context in two findings)
    one = _pairs(
        build_crosswalk(
            _entity(f"OIFMA_XWLK_{i:06d}", f"OIFM_XWLK_{i:06d}", "site", [r("RID940"), s("940")])
            for i in range(2)
        )
    )[("RID940", "940")]
    assert (one.paired.context_count, one.paired.findings, one.predicate) == (1, 2, RELATED_MATCH)
    # 1:n: RID950 with 950 (2 contexts) and with 951 (2 more)
    many = pair("RID950", [[r("RID950"), s("950")]] * 2 + [[r("RID950"), s("951")]] * 2)
    assert (many.cardinality, many.share, many.target_share) == ("1:n", 0.5, 1.0)
    assert many.predicate == RELATED_MATCH


def test_one_context_in_two_findings_or_two_contexts_in_one_finding_is_no_close_match() -> None:
    two_in_one = build_crosswalk(
        [
            _entity(
                "OIFMA_XWLK_000001",
                "OIFM_XWLK_000001",
                "organ",
                [_c("RADLEX", "RID58"), _c("SNOMED", "10200004")],
            ),
            _entity(
                "OIFMA_XWLK_000002",
                "OIFM_XWLK_000001",
                "site",
                [_c("RADLEX", "RID58"), _c("SNOMED", "10200004")],
            ),
        ]
    )
    (pair,) = two_in_one.pairs
    assert (pair.paired.context_count, pair.paired.findings, pair.predicate) == (
        2,
        1,
        RELATED_MATCH,
    )


# ------------------------------------------------------------------ displays


def test_a_codes_label_is_the_display_most_finding_models_give_it() -> None:
    """SNOMED 800: "Liver structure" in two models, "Hepatic structure" in one (on three of its
    entities: models are counted, not entities), none in a fourth. SNOMED 801: one model each
    for "beta" and "alpha": ties alphabetical."""
    s800, s801, rid = "800", "801", _c("RADLEX", "RID58", "liver")

    def e(number: int, entity: int, display: str | None, code: str = s800) -> EntityCodes:
        return _entity(
            f"OIFMA_XWLK_{number:04d}{entity:02d}",
            f"OIFM_XWLK_{number:06d}",
            f"site {entity}",
            [rid, _c("SNOMED", code, display)],
        )

    crosswalk = build_crosswalk(
        [
            e(200, 0, "Liver structure"),
            e(201, 0, "Liver structure"),
            e(202, 0, "Hepatic structure"),
            e(202, 1, "Hepatic structure"),
            e(202, 2, "Hepatic structure"),
            e(203, 0, None),
            e(210, 0, "beta", s801),
            e(211, 0, "alpha", s801),
        ]
    )
    usage = crosswalk.usages[_c("SNOMED", s800)]
    assert usage.displays == (("Liver structure", 2), ("Hepatic structure", 1))
    assert usage.label == "Liver structure"
    assert usage.labels == ("Liver structure", "Hepatic structure")
    assert (usage.uses, usage.contexts) == (6, 3)  # sites 0, 1, 2
    other = crosswalk.usages[_c("SNOMED", s801)]
    assert other.displays == (("alpha", 1), ("beta", 1)) and other.label == "alpha"
    pair = _pairs(crosswalk)[("RID58", s800)]
    assert (pair.source_label, pair.target_label) == ("liver", "Liver structure")
    undisplayed = build_crosswalk([e(1, 0, None)]).usages[_c("SNOMED", s800)]
    assert undisplayed.displays == () and undisplayed.label is None and undisplayed.labels == ()


def test_display_scores_keep_the_best_paired_else_the_best_colisted() -> None:
    """R1/S1 paired by display on e1 (haemorrhage / Hemorrhage: 20/21) and by co-indexing on
    e2; R4/S4 paired by co-indexing on e4 and co-listed on e5 ("mass" / "masses": 0.8)."""
    r1, r2 = _c("RADLEX", "RID1", "haemorrhage"), _c("RADLEX", "RID2", "spleen")
    s1, s2 = _c("SNOMED", "1", "Hemorrhage (finding)"), _c("SNOMED", "2", "Splenic structure")
    r3, s3 = _c("RADLEX", "RID3", "kidney"), _c("SNOMED", "3", "Kidney structure")
    r4, s4 = _c("RADLEX", "RID4", "mass"), _c("SNOMED", "4", "Masses")
    r5, s5 = _c("RADLEX", "RID5", "cyst"), _c("SNOMED", "5", "Cyst")
    crosswalk = build_crosswalk(
        [
            _entity("OIFMA_XWLK_000001", "OIFM_XWLK_000001", "structures", [r1, r2, s1, s2]),
            _entity("OIFMA_XWLK_000002", "OIFM_XWLK_000002", "finding", [r1, s1]),
            _entity("OIFMA_XWLK_000003", "OIFM_XWLK_000003", "organs", [r2, r3, s1, s3]),
            _entity("OIFMA_XWLK_000004", "OIFM_XWLK_000004", "lesion", [r4, s4]),
            _entity("OIFMA_XWLK_000005", "OIFM_XWLK_000005", "lesions", [r4, r5, s4, s5]),
        ]
    )
    pairs = _pairs(crosswalk)
    bleed = pairs[("RID1", "1")]
    assert bleed.paired.entities == ("OIFMA_XWLK_000001", "OIFMA_XWLK_000002")
    assert bleed.lexical and bleed.lexical_score == pytest.approx(20 / 21)
    assert (bleed.justification, bleed.colisted) == (COMPOSITE, ())
    spleen = pairs[("RID2", "2")]  # "spleen" / "splenic": 10/13 < 0.92
    assert (spleen.status, spleen.colisted, spleen.paired.entities) == (
        "co-listed",
        ("OIFMA_XWLK_000001",),
        (),
    )
    assert spleen.lexical_score == pytest.approx(Indel.normalized_similarity("spleen", "splenic"))
    assert (spleen.predicate, spleen.cardinality, spleen.confidence) == (None, None, 0.0)
    assert spleen.flag is None and spleen.justification is None
    # RID2 / SNOMED 1 co-listed on e1 and e3: the better of the two scores
    assert pairs[("RID2", "1")].colisted == ("OIFMA_XWLK_000001", "OIFMA_XWLK_000003")
    assert pairs[("RID2", "1")].lexical_score == pytest.approx(
        Indel.normalized_similarity("spleen", "hemorrhage")
    )
    assert pairs[("RID3", "3")].lexical_score == 1.0 and pairs[("RID3", "3")].lexical
    mass = pairs[("RID4", "4")]
    assert (mass.status, mass.lexical, mass.justification) == ("paired", False, INSTANCE_BASED)
    assert mass.paired.entities == ("OIFMA_XWLK_000004",)
    assert mass.co_indexed.entities == ("OIFMA_XWLK_000004", "OIFMA_XWLK_000005")
    assert mass.colisted == ("OIFMA_XWLK_000005",)
    assert mass.lexical_score == pytest.approx(0.8)  # the co-listing's score: 8 of 10 letters
    # shares come from the paired evidence, the template and co-indexing from all of it
    assert (mass.paired.context_count, mass.co_indexed.context_count) == (1, 2)
    assert (mass.share, mass.target_share) == (1 / 2, 1 / 2)
    assert pairs[("RID1", "2")].status == "co-listed"
    # one code of either system on an entity: co-indexing, no score
    assert (
        build_crosswalk([_entity("OIFMA_XWLK_000009", "OIFM_XWLK_000009", "x", [r4, s5])])
        .pairs[0]
        .lexical_score
        is None
    )


def test_a_model_gives_each_code_all_its_displays(tmp_path: Path) -> None:
    """displays.fm.json gives SNOMED 10200004 two displays and RID58 one display and none:
    every entity carrying either code carries every display the model gives it."""
    report = read_models([FIXTURES / "displays.fm.json"])
    assert report.ok, [str(d) for d in report.diagnostics]
    (source,) = report.models
    got = {
        e.entity: (
            e.kind,
            e.name,
            e.attribute,
            [(c.system, c.code, c.display) for c in e.codes],
            [(c.system, c.code, c.display) for c in e.locations],
            e.finding_name,
        )
        for e in entities_of_model(source.model)
    }
    liver = [("SNOMED", "10200004", "Hepatic structure"), ("SNOMED", "10200004", "Liver structure")]
    assert got == {
        "OIFM_XWLK_000500": (
            "finding",
            "Liver mass",
            None,
            liver,
            [("RADLEX", "RID58", "liver")],
            "Liver mass",
        ),
        "OIFMA_XWLK_000500": (
            "attribute",
            "organ",
            None,
            [*liver, ("RADLEX", "RID58", "liver")],
            [],
            "Liver mass",
        ),
        "OIFMA_XWLK_000500.1": (
            "value",
            "present",
            "organ",
            [("RADLEX", "RID58", "liver")],
            [],
            "Liver mass",
        ),
    }
    crosswalk = build_crosswalk(entities_of_model(source.model))
    usage = crosswalk.usages[_c("SNOMED", "10200004")]
    assert usage.displays == (("Hepatic structure", 1), ("Liver structure", 1))  # one model
    # the attribute lists one code of each system: co-indexing
    (pair,) = crosswalk.pairs
    assert pair.paired.entities == ("OIFMA_XWLK_000500",) and not pair.lexical


# ------------------------------------------------------------------ uses


def test_uses_are_by_finding_then_kind_then_entity_and_locations_index_nothing() -> None:
    rid = _c("RADLEX", "RID58", "liver")
    location = _c("SNOMED", "10200004", "Liver structure")
    entities = [
        _entity(
            "OIFMA_XWLK_000400.10",
            "OIFM_XWLK_000400",
            "hepatic",
            [rid],
            attribute="organ",
            finding_name="Liver mass",
        ),
        _entity("OIFMA_XWLK_000400", "OIFM_XWLK_000400", "organ", [rid], finding_name="Liver mass"),
        _entity(
            "OIFMA_XWLK_000400.2",
            "OIFM_XWLK_000400",
            "liver",
            [rid],
            attribute="organ",
            finding_name="Liver mass",
        ),
        _entity(
            "OIFM_XWLK_000400",
            "OIFM_XWLK_000400",
            "Liver mass",
            [rid],
            locations=[rid, location, rid],
        ),
        _entity("OIFMA_XWLK_000399", "OIFM_XWLK_000399", "site", [rid]),
    ]
    crosswalk = build_crosswalk(entities)
    usage = crosswalk.usages[_c("RADLEX", "RID58")]
    assert (usage.uses, usage.contexts) == (5, 5)  # the location is listed, not counted
    assert list(usage.used_by) == [
        CodeUse("OIFMA_XWLK_000399", "attribute", "OIFM_XWLK_000399", "site", None),
        CodeUse("OIFM_XWLK_000400", "finding", "OIFM_XWLK_000400", "Liver mass", "Liver mass"),
        CodeUse("OIFM_XWLK_000400", "location", "OIFM_XWLK_000400", "Liver mass", "Liver mass"),
        CodeUse("OIFMA_XWLK_000400", "attribute", "OIFM_XWLK_000400", "organ", "Liver mass"),
        CodeUse("OIFMA_XWLK_000400.2", "value", "OIFM_XWLK_000400", "liver", "Liver mass"),
        CodeUse("OIFMA_XWLK_000400.10", "value", "OIFM_XWLK_000400", "hepatic", "Liver mass"),
    ]
    located = crosswalk.usages[_c("SNOMED", "10200004")]
    assert (located.uses, located.contexts, located.label) == (0, 0, "Liver structure")
    assert [(u.kind, u.entity) for u in located.used_by] == [("location", "OIFM_XWLK_000400")]
    assert crosswalk.pairs == ()  # a location pairs with nothing
    assert crosswalk.code(_c("SNOMED", "10200004")) is not None
    assert crosswalk.code(_c("SNOMED", "1")) is None


def test_a_use_list_reads_as_its_uses() -> None:
    uses = UseList(
        (
            "OIFM_XWLK_000001 OIFMA_XWLK_000001.3",
            "OIFM_XWLK_000001 OIFM_XWLK_000001",
            "fv",
            ["Liver mass", "present", None],
            [0, 1],
            [0, 0],
        )
    )
    expected = [
        CodeUse("OIFM_XWLK_000001", "finding", "OIFM_XWLK_000001", "Liver mass", "Liver mass"),
        CodeUse("OIFMA_XWLK_000001.3", "value", "OIFM_XWLK_000001", "present", "Liver mass"),
    ]
    assert len(uses) == 2 and list(uses) == expected and uses[1] == expected[1]
    assert uses[-1:] == tuple(expected[-1:])
    assert uses == expected and uses == tuple(expected) and uses != expected[:1]
    assert hash(uses) == hash(tuple(expected))
    assert uses.entities == ["OIFM_XWLK_000001", "OIFMA_XWLK_000001.3"]
    assert uses.findings == ["OIFM_XWLK_000001", "OIFM_XWLK_000001"]
    assert uses.kinds == ["finding", "value"]
    assert uses.labels == ["Liver mass", "present"]
    assert uses.finding_labels == ["Liver mass", "Liver mass"]
    assert repr(uses) == "UseList(2 uses)"
    assert uses.__eq__(3) is NotImplemented
    empty = UseList(("", "", "", [], [], []))
    assert (len(empty), list(empty), empty.entities, empty.findings) == (0, [], [], [])
    assert empty == ()


# ------------------------------------------------------------------ bounded comparisons


def _codes(system: str, count: int, prefix: str = "") -> list[IndexCode]:
    return [_c(system, f"{prefix}{i}", f"thing {system} {i}") for i in range(count)]


def test_the_comparison_bound_sums_every_two_systems() -> None:
    """50 RadLex, 50 SNOMED and 100 LOINC codes on one entity: 2,500 + 5,000 + 5,000 = 12,500
    pairs of codes of different systems, over 10,000 though no two systems make that many; 50,
    50 and 75 make 2,500 + 3,750 + 3,750 = 10,000, at the bound: compared pair by pair."""
    assert MAX_COMPARED_PAIRS == 10_000

    def entity(loinc: int) -> EntityCodes:
        codes = _codes("RADLEX", 50, "RID") + _codes("SNOMED", 50) + _codes("LOINC", loinc, "L")
        return _entity("OIFMA_XWLK_000001", "OIFM_XWLK_000001", "x", codes)

    over = build_crosswalk([entity(100)])
    assert over.oversized == ("OIFMA_XWLK_000001",) and over.pairs == ()  # displays all apart
    at = build_crosswalk([entity(75)])
    assert at.oversized == () and len(at.pairs) == 10_000


def test_an_oversized_entity_pairs_equal_normal_forms_across_every_two_systems() -> None:
    """Over the bound, codes whose displays have equal normal forms pair (score 1.0) whatever
    the system; a display of no words pairs with nothing."""
    codes = _codes("RADLEX", 120, "RID") + _codes("SNOMED", 100)
    codes += [
        _c("RADLEX", "RID999", "Liver"),
        _c("SNOMED", "999", "liver structure"),
        _c("LOINC", "L1", "LIVER"),
        _c("RADLEX", "RID998", "()"),
        _c("SNOMED", "998", "-"),
    ]
    crosswalk = build_crosswalk([_entity("OIFMA_XWLK_000001", "OIFM_XWLK_000001", "x", codes)])
    assert crosswalk.oversized == ("OIFMA_XWLK_000001",)
    assert [(p.source.code, p.target.code, p.status, p.lexical_score) for p in crosswalk.pairs] == [
        ("RID999", "999", "paired", 1.0),
        ("RID999", "L1", "paired", 1.0),
        ("999", "L1", "paired", 1.0),
    ]
    assert all(p.justification == COMPOSITE for p in crosswalk.pairs)


# ------------------------------------------------------------------ from files, through a store


def _store(tmp_path: Path, *folders: Path) -> Path:
    path = tmp_path / "kg"
    with Store(path) as store:
        for folder in folders:
            report = read_models([folder])
            assert report.ok, [str(d) for d in report.diagnostics]
            store.load(report.models)
    return path


def _models(folder: Path) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.fm.json"))]


@pytest.fixture
def outlier_store(tmp_path: Path) -> Iterator[Store]:
    with Store(_store(tmp_path, FIXTURES / "outlier"), read_only=True) as store:
        yield store


def test_the_outlier_fixture_read_from_a_store(outlier_store: Store) -> None:
    """outlier/: SNOMED 263768009 on 21 values of an attribute: 20 with RID5791, one with RID5792
    (its only use); RID5793 with LOINC LP1003-1 on the finding. Expected from the JSON: the
    values named apart, so 21 contexts."""
    model = _models(FIXTURES / "outlier")[0]
    values = model["attributes"][0]["values"]
    with_odd = [
        v["value_code"] for v in values if any(c["code"] == "RID5792" for c in v["index_codes"])
    ]
    assert len(values) == 21 and with_odd == [values[-1]["value_code"]]
    reader = CrosswalkReader(outlier_store)
    assert reader.materialised
    entry = reader.code(_c("SNOMED", "263768009"))
    assert entry is not None
    assert (entry.usage.uses, entry.usage.contexts, entry.usage.label) == (
        21,
        21,
        "Greater (qualifier value)",
    )
    assert [(p.target.code, p.flag, p.cardinality, p.paired.entity_count) for p in entry.pairs] == [
        ("RID5791", None, "1:n", 20),
        ("RID5792", "outlier", "1:n", 1),
    ]
    odd = reader.code(_c("RADLEX", "RID5792"))
    assert odd is not None
    ((pair,),) = [odd.pairs]
    assert (pair.flag, pair.cardinality, pair.share, pair.target_share) == (
        "outlier",
        "n:1",
        1.0,
        1 / 21,
    )
    assert pair.paired.entities == (with_odd[0],)
    assert [str(c.context) for c in pair.paired.contexts] == ['value "v20" of "size"']
    assert [(p.source.code, p.target.code, p.flag) for p in reader.pairs("SNOMED", "RADLEX")] == [
        ("263768009", "RID5791", None),
        ("263768009", "RID5792", "outlier"),
    ]
    assert reader.pairs("RADLEX", "RADLEX") == []
    assert [(p.source.code, p.target.code) for p in reader.pairs("LOINC", None)] == [
        ("LP1003-1", "RID5793")
    ]
    # the finding's own use; the one pair without a second system named
    loinc = reader.code(_c("LOINC", "LP1003-1"), "RADLEX")
    assert loinc is not None and [p.target.code for p in loinc.pairs] == ["RID5793"]
    assert reader.code(_c("LOINC", "LP1003-1"), "SNOMED") == type(loinc)(loinc.usage, ())
    assert reader.code(_c("LOINC", "LP9")) is None
    bulk = reader.usages([_c("SNOMED", "263768009"), _c("LOINC", "LP9"), _c("RADLEX", "RID5792")])
    assert list(bulk) == [_c("SNOMED", "263768009"), _c("RADLEX", "RID5792")]
    assert len(bulk[_c("SNOMED", "263768009")].used_by) == 21
    assert reader.code(_c("SNOMED", "263768009"), uses=False).usage.used_by == ()  # type: ignore[union-attr]


def test_the_store_reads_as_the_models_compute(outlier_store: Store) -> None:
    computed = build_crosswalk(
        e for s in read_models([FIXTURES / "outlier"]).models for e in entities_of_model(s.model)
    )
    whole = CrosswalkReader(outlier_store).crosswalk()
    assert whole == compute_crosswalk(outlier_store) == computed
    assert sorted(whole.usages, key=lambda c: (c.system, c.code)) == [
        _c("LOINC", "LP1003-1"),
        _c("RADLEX", "RID5791"),
        _c("RADLEX", "RID5792"),
        _c("RADLEX", "RID5793"),
        _c("SNOMED", "263768009"),
    ]
    assert len(entities_of(outlier_store)) == 22  # the finding and its 21 values


def test_a_graph_of_other_rules_is_recomputed(tmp_path: Path) -> None:
    path = _store(tmp_path, FIXTURES / "outlier")
    with Store(path, read_only=True) as store:
        versions = [
            str(q.object.value)  # type: ignore[union-attr]
            for q in store.oxigraph.quads_for_pattern(
                None, OIFM.rulesVersion, None, CROSSWALK_GRAPH
            )
        ]
        expected = compute_crosswalk(store)
    assert versions == [str(RULES_VERSION)]
    # README documents the JSON's "crosswalk_rules" as the rules version
    assert f'"crosswalk_rules": {RULES_VERSION}' in (ROOT / "README.md").read_text(encoding="utf-8")
    with Store(path) as writable:
        graph = writable.oxigraph
        (quad,) = graph.quads_for_pattern(None, OIFM.rulesVersion, None, CROSSWALK_GRAPH)
        graph.remove(quad)
        graph.add(
            ox.Quad(
                quad.subject,
                quad.predicate,
                ox.Literal(
                    str(RULES_VERSION - 1),
                    datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer"),
                ),
                CROSSWALK_GRAPH,
            )
        )
        for stale in list(graph.quads_for_pattern(None, OIFM.pairRecord, None, CROSSWALK_GRAPH)):
            graph.remove(stale)  # an old graph's records would not read
    with Store(path, read_only=True) as store:
        reader = CrosswalkReader(store)
        assert not reader.materialised
        assert reader.crosswalk() == expected
        assert reader.pairs("SNOMED", "RADLEX") == expected.between("SNOMED", "RADLEX")
        assert reader.code(_c("RADLEX", "RID5792")) == expected.code(_c("RADLEX", "RID5792"))
        assert reader.usages([_c("RADLEX", "RID5792")]) == {
            _c("RADLEX", "RID5792"): expected.usages[_c("RADLEX", "RID5792")]
        }


def test_a_damaged_crosswalk_graph_says_to_rebuild(tmp_path: Path) -> None:
    path = _store(tmp_path, FIXTURES / "outlier")
    with Store(path) as writable:
        graph = writable.oxigraph
        for quad in list(graph.quads_for_pattern(None, OIFM.pairRecord, None, CROSSWALK_GRAPH)):
            graph.remove(quad)
            graph.add(ox.Quad(quad.subject, quad.predicate, ox.Literal("[1, 2]"), CROSSWALK_GRAPH))
        for quad in list(graph.quads_for_pattern(None, OIFM.codeRecord, None, CROSSWALK_GRAPH)):
            graph.remove(quad)
            graph.add(ox.Quad(quad.subject, quad.predicate, ox.Literal("{"), CROSSWALK_GRAPH))
    with Store(path, read_only=True) as store:
        reader = CrosswalkReader(store)
        assert reader.materialised
        for call in (
            lambda: reader.code(_c("RADLEX", "RID5792")),
            lambda: reader.pairs("RADLEX", "SNOMED"),
            lambda: reader.pairs(),
            lambda: reader.usages([_c("RADLEX", "RID5792")]),
            reader.crosswalk,
        ):
            with pytest.raises(StoreError, match=r"cannot be read .*rebuild the store"):
                call()


def test_a_load_of_every_model_again_counts_them_as_they_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A load that brings every model the store holds (and more) finishes the crosswalk from
    the models as they pass; one that brings only some reads the store's models once."""
    path = _store(tmp_path, FIXTURES / "outlier")
    read: list[int] = []
    reading = crosswalk_module.entities_of

    def counted(target: Store) -> list[EntityCodes]:
        read.append(1)
        return reading(target)

    monkeypatch.setattr(crosswalk_module, "entities_of", counted)
    both = read_models([FIXTURES / "outlier", FIXTURES / "displays.fm.json"]).models
    with Store(path) as writable:
        writable.load(both)
    assert read == []
    with Store(path) as writable:
        writable.load(read_models([FIXTURES / "displays.fm.json"]).models)
    assert read == [1]
    with Store(path, read_only=True) as store:
        pairs = CrosswalkReader(store).pairs("RADLEX", "SNOMED")
    assert [(p.source.code, p.target.code, p.flag) for p in pairs] == [
        ("RID5791", "263768009", None),
        ("RID5792", "263768009", "outlier"),
        ("RID58", "10200004", None),
    ]
