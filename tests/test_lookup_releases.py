"""Lookups beside terminology releases (issue 12, "Using them"): the releases' block of
``ontomap lookup`` and ``/lookup``, ``--descendants``, and the hierarchy-aware named queries.

The store holds the three small models of ``tests/resources/releases/lookup/`` (written for these
tests, coded with the release fixtures' codes) with the RadLex and SNOMED CT fixtures loaded
(LOINC is used by a model but not loaded). Expected hierarchies are computed here from the
fixture files themselves (the RF2 relationship file, the RadLex OWL's ``rdfs:subClassOf``), the
corpus codes from the model files; the rest was written by hand from those files.
"""

from __future__ import annotations

import csv
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from servers import ontomap_server, request

from ontomap.cli import main
from ontomap.lookup import (
    CodeNotFoundError,
    DescendantUse,
    ReleaseRequiredError,
    lookup,
)
from ontomap.query import named_query, run_query
from ontomap.releases import Releases
from ontomap.store import Store

RESOURCES = Path(__file__).parent / "resources" / "releases"
MODELS = RESOURCES / "lookup"
RADLEX = RESOURCES / "radlex" / "RadLex.owl"
SNOMED = RESOURCES / "snomed" / "SnomedCT_TestRF2_PRODUCTION_20250101T120000Z"
RELATIONSHIPS = SNOMED / "Snapshot" / "Terminology" / "sct2_Relationship_Snapshot_INT_20250101.txt"
ISA = "116680003"


# ------------------------------------------------------------------ independent expectations


def snomed_parents() -> dict[str, set[str]]:
    """Active is-a rows of the RF2 fixture: child -> parents."""
    parents: dict[str, set[str]] = {}
    with open(RELATIONSHIPS, newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if row["active"] == "1" and row["typeId"] == ISA:
                parents.setdefault(row["sourceId"], set()).add(row["destinationId"])
    return parents


def radlex_parents() -> dict[str, set[str]]:
    """Named ``rdfs:subClassOf`` parents of the RadLex fixture (both IRI forms)."""
    ns = {
        "owl": "http://www.w3.org/2002/07/owl#",
        "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
        "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    }
    about = "{" + ns["rdf"] + "}about"
    resource = "{" + ns["rdf"] + "}resource"
    parents: dict[str, set[str]] = {}
    for cls in ET.parse(RADLEX).getroot().findall("owl:Class", ns):
        rid = cls.get(about, "").rsplit("/", 1)[-1]
        parents[rid] = {
            sub.get(resource, "").rsplit("/", 1)[-1]
            for sub in cls.findall("rdfs:subClassOf", ns)
            if sub.get(resource)
        }
    return parents


def ancestors(code: str, parents: dict[str, set[str]]) -> set[str]:
    out: set[str] = set()
    todo = list(parents.get(code, ()))
    while todo:
        parent = todo.pop()
        if parent not in out:
            out.add(parent)
            todo.extend(parents.get(parent, ()))
    return out


def corpus_codes() -> dict[tuple[str, str], set[str]]:
    """(system, code) -> the entities (OIFM IDs) that use it, from the model files."""
    uses: dict[tuple[str, str], set[str]] = {}

    def add(entity: str, codes: list[dict[str, str]]) -> None:
        for c in codes:
            uses.setdefault((c["system"], c["code"]), set()).add(entity)

    for path in sorted(MODELS.glob("*.fm.json")):
        model = json.loads(path.read_text())
        add(model["oifm_id"], model.get("index_codes", []))
        add(model["oifm_id"], model.get("anatomic_locations", []))
        for attribute in model.get("attributes", []):
            add(attribute["oifma_id"], attribute.get("index_codes", []))
            for value in attribute.get("values", []):
                add(value["value_code"], value.get("index_codes", []))
    return uses


# ------------------------------------------------------------------ stores


@pytest.fixture(scope="module")
def kg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lookup-releases") / "kg"
    result = CliRunner().invoke(main, ["build", str(MODELS), "--store", str(path), "-q"])
    assert result.exit_code == 0, result.output
    with Store(path) as store:
        releases = Releases(store)
        releases.load(RADLEX)
        releases.load(SNOMED)
    return path


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same models without any release."""
    path = tmp_path_factory.mktemp("lookup-no-releases") / "kg"
    result = CliRunner().invoke(main, ["build", str(MODELS), "--store", str(path), "-q"])
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture
def store(kg: Path) -> Iterator[Store]:
    with Store(kg, read_only=True) as opened:
        yield opened


def run(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


# ------------------------------------------------------------------ the releases' block


def test_no_release_leaves_the_answer_as_it_was(bare: Path) -> None:
    with Store(bare, read_only=True) as opened:
        result = lookup(opened, "sct:1004008")
    data = result.to_json()
    assert result.releases is None and "releases" not in data
    assert all("releases" not in m for m in data["matches"])
    code, text = run("lookup", "sct:1004008", "--store", bare)
    assert code == 0 and "release " not in text


def test_active_code_with_parents(store: Store) -> None:
    data = lookup(store, "sct:1004008").to_json()
    (release,) = data["releases"]
    assert release == {
        "system": "SNOMED",
        "version": "20250101",
        "found": True,
        "status": "active",
        "active": True,
        "preferred_term": "Test lung nodule",
        "parents": [
            {"code": p, "curie": f"sct:{p}", "preferred_term": term}
            for p, term in (("1002007", "Test clinical thing"), ("1003002", "Test lung finding"))
        ],
        "replaced_by": [],
    }
    assert {p["code"] for p in release["parents"]} == snomed_parents()["1004008"]
    assert data["version"] == 2
    # the match RID10 carries the RadLex release's word on it
    (match,) = [m for m in data["matches"] if m["curie"] == "radlex:RID10"]
    assert [(r["system"], r["status"], r["preferred_term"]) for r in match["releases"]] == [
        ("RADLEX", "active", "test lung")
    ]
    assert [p["code"] for p in match["releases"][0]["parents"]] == sorted(radlex_parents()["RID10"])


def test_inactive_obsolete_and_absent_codes(store: Store) -> None:
    (retired,) = lookup(store, "sct:1005009").releases or ()
    assert (retired.status, retired.active, retired.parents) == ("inactive", False, ())
    assert [(c.curie, c.preferred_term) for c in retired.replaced_by] == [
        ("sct:1004008", "Test lung nodule")
    ]
    (obsolete,) = lookup(store, "radlex:RID40").releases or ()
    assert (obsolete.status, obsolete.active, obsolete.preferred_term) == (
        "obsolete",
        False,
        "old test lung term",
    )
    assert [c.code for c in obsolete.replaced_by] == ["RID10"]
    (absent,) = lookup(store, "sct:1009003").releases or ()
    assert (absent.found, absent.status, absent.active) == (False, "absent", None)
    # a system without a loaded release: an empty list (the store holds releases)
    assert lookup(store, "loinc:99901-1").releases == ()


def test_table_shows_the_release_block(kg: Path) -> None:
    code, text = run("lookup", "sct:1005009", "--store", kg)
    assert code == 0
    assert (
        '  release   inactive in SNOMED 20250101 "Test retired nodule", replaced by '
        "sct:1004008 Test lung nodule" in text
    )
    code, text = run("lookup", "radlex:RID10", "--store", kg)
    assert code == 0
    assert '  release   active in RADLEX 9.9 "test lung"' in text
    assert "parents radlex:RID3 test anatomical entity" in text
    # RID43 (deprecated) is paired with sct:1005009 (inactive): the match is flagged
    code, text = run("lookup", "radlex:RID43", "--store", kg)
    assert code == 0 and "matches that a loaded release does not confirm:" in text
    assert "sct:1005009  inactive in SNOMED 20250101" in text


# ------------------------------------------------------------------ --descendants


def _under(concept: str) -> dict[str, set[str]]:
    """Corpus SNOMED codes at or under ``concept`` -> their entities."""
    parents = snomed_parents()
    return {
        code: entities
        for (system, code), entities in corpus_codes().items()
        if system == "SNOMED" and (code == concept or concept in ancestors(code, parents))
    }


@pytest.mark.parametrize("concept", ["1001000", "1002007", "1003002", "1004008"])
def test_descendants_lists_the_used_codes_under_the_concept(store: Store, concept: str) -> None:
    expected = _under(concept)
    result = lookup(store, f"sct:{concept}", descendants=True)
    below = result.descendants
    assert below is not None and (below.system, below.version) == ("SNOMED", "20250101")
    in_release = {c for c in snomed_parents() if concept in ancestors(c, snomed_parents())}
    assert below.count == len(in_release)
    assert {c.code for c in below.codes} == set(expected)
    uses = {(u.code, u.entity) for u in result.used_by if isinstance(u, DescendantUse)}
    assert uses == {(f"sct:{c}", e) for c, entities in expected.items() for e in entities}
    assert len(result.used_by) == sum(len(e) for e in expected.values())
    data = result.to_json(limit=2)
    assert data["descendants"]["in_release"] == below.count
    assert data["descendants"]["used"] == len(expected)
    assert len(data["used_by"]["items"]) == min(2, len(uses))
    assert all("code" in item for item in data["used_by"]["items"])


def test_descendants_of_an_unused_concept_and_paging(kg: Path) -> None:
    code, text = run("lookup", "sct:1002007", "--descendants", "--store", kg, "--format", "json")
    assert code == 0
    data = json.loads(text)
    assert data["code"]["index_uses"] == 0 and data["code"]["labels"] == []
    assert [c["curie"] for c in data["descendants"]["codes"]] == [
        "sct:1003002",
        "sct:1004008",
        "sct:1007001",
    ]
    assert data["descendants"]["codes"][0]["preferred_term"] == "Test lung finding"
    assert data["used_by"]["uses"] == 4 and data["used_by"]["findings"] == 2
    code, text = run(
        "lookup", "sct:1002007", "--descendants", "--store", kg, "--format", "json",
        "--offset", "3",
    )  # fmt: skip
    assert [i["entity"] for i in json.loads(text)["used_by"]["items"]] == ["OIFMA_TEST_000003.0"]
    code, text = run("lookup", "sct:1002007", "--descendants", "--store", kg)
    assert code == 0
    assert "codes under sct:1002007 in SNOMED 20250101: 3 in the release, 3 used" in text
    assert "OIFM_TEST_000003  test small nodule  value    OIFMA_TEST_000003.0" in text


def test_descendants_errors(store: Store, kg: Path) -> None:
    with pytest.raises(ReleaseRequiredError, match="needs a release of LOINC"):
        lookup(store, "loinc:99901-1", descendants=True)
    code, text = run("lookup", "loinc:99901-1", "--descendants", "--store", kg)
    assert code == 3 and "needs a release of LOINC" in text and "Traceback" not in text
    # a leaf nobody uses, with nothing used under it
    with pytest.raises(CodeNotFoundError, match="nor is any code under it"):
        lookup(store, "sct:1006005", descendants=True)


# ------------------------------------------------------------------ the server


def test_server_lookup_with_releases_and_descendants(kg: Path, tmp_path: Path) -> None:
    with Store(kg, read_only=True) as opened:
        local = lookup(opened, "sct:1004008").dumps()
    with ontomap_server(kg, "--workers", "1", log_dir=tmp_path) as server:
        got = request(server.url + "lookup?code=sct:1004008")
        assert got.status == 200
        assert got.body.decode() == local  # byte for byte what the CLI prints
        assert json.loads(got.body)["releases"][0]["preferred_term"] == "Test lung nodule"
        again = request(server.url + "lookup?code=SNOMED%201004008")  # from the answer cache
        assert again.body == got.body
        below = request(server.url + "lookup?code=sct:1002007&descendants=true&limit=1")
        assert below.status == 200
        data = json.loads(below.body)
        assert data["descendants"]["used"] == 3 and len(data["used_by"]["items"]) == 1
        missing = request(server.url + "lookup?code=loinc:99901-1&descendants=true")
        assert missing.status == 400 and "needs a release of LOINC" in missing.body.decode()
        bad = request(server.url + "lookup?code=sct:1004008&descendants=maybe")
        assert bad.status == 400 and "give true or false" in bad.body.decode()


# ------------------------------------------------------------------ named queries


def _local(term: object) -> str:
    return re.split(r"[/#]", str(getattr(term, "value", term)))[-1]


def test_findings_under_concept(store: Store) -> None:
    for concept, system, parents in (
        ("sct:1002007", "SNOMED", snomed_parents()),
        ("radlex:RID3", "RADLEX", radlex_parents()),
        ("radlex:RID1", "RADLEX", radlex_parents()),
    ):
        top = concept.split(":")[1]
        expected = {
            (code, entity)
            for (s, code), entities in corpus_codes().items()
            if s == system
            and (code == top or top in ancestors(code, parents))
            and code in parents  # in the release
            for entity in entities
        }
        result = run_query(store, named_query("findings-under-concept"), {"concept": concept})
        rows = {(_local(r["code"]), r["entity"].value) for r in result.dicts()}
        assert rows == expected, concept


def test_codes_not_in_release(store: Store) -> None:
    in_release = {"SNOMED": set(snomed_parents()), "RADLEX": set(radlex_parents())}
    # concepts without any is-a row are in the RF2 release too (the concept file)
    concept_file = SNOMED / "Snapshot" / "Terminology" / "sct2_Concept_Snapshot_INT_20250101.txt"
    with open(concept_file, newline="") as f:
        in_release["SNOMED"] |= {row["id"] for row in csv.DictReader(f, delimiter="\t")}
    expected = {
        (system, code)
        for system, code in corpus_codes()
        if system in in_release and code not in in_release[system]
    }
    assert expected == {("SNOMED", "1009003"), ("RADLEX", "RID99999")}  # by hand, too
    result = run_query(store, named_query("codes-not-in-release"))
    assert {(_local(r["system"]), r["notation"].value) for r in result.dicts()} == expected
    only = run_query(store, named_query("codes-not-in-release"), {"system": "RADLEX"})
    assert [r["notation"].value for r in only.dicts()] == ["RID99999"]


def test_codes_by_top_hierarchy(store: Store) -> None:
    expected: dict[tuple[str, str], set[str]] = {}
    for system, parents in (("SNOMED", snomed_parents()), ("RADLEX", radlex_parents())):
        roots = {c for c in parents if not parents[c]} | {
            p for ps in parents.values() for p in ps if p not in parents
        }
        tops = {c for c in parents if parents[c] & roots}
        for s, code in corpus_codes():
            if s != system or code not in parents:
                continue
            for top in tops & (ancestors(code, parents) | {code}):
                expected.setdefault((system, top), set()).add(code)
    # by hand: RID3 over RID3, RID10, RID20, RID43; RID15849 over RID40, RID41; 1002007 over
    # 1003002, 1004008, 1007001 (the inactive 1005009 has no parents)
    assert {k: len(v) for k, v in expected.items()} == {
        ("RADLEX", "RID3"): 4,
        ("RADLEX", "RID15849"): 2,
        ("SNOMED", "1002007"): 3,
    }
    result = run_query(store, named_query("codes-by-top-hierarchy"))
    got = {(_local(r["system"]), _local(r["top"])): int(r["codes"].value) for r in result.dicts()}
    assert got == {k: len(v) for k, v in expected.items()}
    labels = {_local(r["top"]): r["top_label"].value for r in result.dicts()}
    assert labels["1002007"] == "Test clinical thing" and labels["RID3"] == "test anatomical entity"
    only = run_query(store, named_query("codes-by-top-hierarchy"), {"system": "RADLEX"})
    assert {_local(r["top"]): int(r["codes"].value) for r in only.dicts()} == {
        top: len(codes) for (system, top), codes in expected.items() if system == "RADLEX"
    }
