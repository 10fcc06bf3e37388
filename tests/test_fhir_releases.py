"""The FHIR terminology service beside loaded terminology releases: ``$lookup`` gives the
release's parents and children, ``$validate-code`` knows a code of the release that no model
uses. The store holds the small models of ``tests/resources/releases/lookup/`` with the RadLex
and SNOMED CT fixtures loaded; the expected hierarchy and terms are read from the RF2 files."""

from __future__ import annotations

import csv
import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from servers import Served, request, start_ontomap

from ontomap.cli import main
from ontomap.releases import Releases
from ontomap.store import Store

RESOURCES = Path(__file__).parent / "resources" / "releases"
MODELS = RESOURCES / "lookup"
RADLEX = RESOURCES / "radlex" / "RadLex.owl"
SNOMED = RESOURCES / "snomed" / "SnomedCT_TestRF2_PRODUCTION_20250101T120000Z"
TERMINOLOGY = SNOMED / "Snapshot" / "Terminology"
SCT = "http://snomed.info/sct"
ISA = "116680003"
SYNONYM = "900000000000013009"


def rows(name: str) -> list[dict[str, str]]:
    with open(TERMINOLOGY / name, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def is_a() -> list[tuple[str, str]]:
    """Active (child, parent) is-a rows of the RF2 fixture."""
    return [
        (r["sourceId"], r["destinationId"])
        for r in rows("sct2_Relationship_Snapshot_INT_20250101.txt")
        if r["active"] == "1" and r["typeId"] == ISA
    ]


def terms(code: str) -> set[str]:
    return {
        r["term"]
        for r in rows("sct2_Description_Snapshot-en_INT_20250101.txt")
        if r["conceptId"] == code and r["active"] == "1"
    }


def model_codes() -> set[str]:
    found = set()
    for path in MODELS.glob("*.fm.json"):
        text = json.loads(path.read_text())

        def walk(node: object) -> None:
            if isinstance(node, dict):
                if node.get("system") in ("SNOMED", "SNOMEDCT") and "code" in node:
                    found.add(node["code"])
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(text)
    return found


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    path = tmp_path_factory.mktemp("fhir-releases") / "kg"
    result = CliRunner().invoke(main, ["build", str(MODELS), "--store", str(path), "-q"])
    assert result.exit_code == 0, result.output
    with Store(path) as store:
        releases = Releases(store)
        releases.load(RADLEX)
        releases.load(SNOMED)
    server = start_ontomap(path, log_dir=tmp_path_factory.mktemp("fhir-releases-log"))
    try:
        yield server
    finally:
        server.stop()


def get(served: Served, path: str, params: list[tuple[str, str]]) -> dict:
    answer = request(f"{served.url}fhir/r5/{path}?{urllib.parse.urlencode(params)}")
    assert answer.media_type == "application/fhir+json"
    return {"status": answer.status, **answer.json()}  # type: ignore[dict-item]


def properties(answer: dict, code: str) -> list:
    out = []
    for p in answer["parameter"]:
        if p["name"] == "property" and p["part"][0]["valueCode"] == code:
            out.append(next(v for k, v in p["part"][1].items() if k.startswith("value")))
    return out


def one(answer: dict, name: str) -> object:
    (found,) = [p for p in answer["parameter"] if p["name"] == name]
    return next(v for k, v in found.items() if k.startswith("value"))


def test_lookup_gives_the_release_hierarchy(served: Served) -> None:
    used = sorted(model_codes())
    edges = is_a()
    checked = 0
    for code in used:
        parents = {p for c, p in edges if c == code}
        children = {c for c, p in edges if p == code}
        if not parents and not children:
            continue
        answer = get(served, "CodeSystem/$lookup", [("system", SCT), ("code", code)])
        assert answer["status"] == 200
        assert set(properties(answer, "parent")) == parents
        assert set(properties(answer, "child")) == children
        assert one(answer, "display") in terms(code)
        assert one(answer, "version") == "20250101"
        designations = {
            d["part"][-1]["valueString"] for d in answer["parameter"] if d["name"] == "designation"
        }
        assert designations & terms(code)
        checked += 1
    assert checked >= 2


def test_validate_code_of_the_release_only(served: Served) -> None:
    concepts = {
        r["id"] for r in rows("sct2_Concept_Snapshot_INT_20250101.txt") if r["active"] == "1"
    }
    unused = sorted(concepts - model_codes())[0]
    answer = get(served, "CodeSystem/$validate-code", [("url", SCT), ("code", unused)])
    assert one(answer, "result") is True
    assert one(answer, "display") in terms(unused)
    looked = get(served, "CodeSystem/$lookup", [("system", SCT), ("code", unused)])
    assert looked["status"] == 200 and properties(looked, "uses") == []
    synonyms = {
        r["term"]
        for r in rows("sct2_Description_Snapshot-en_INT_20250101.txt")
        if r["conceptId"] == unused and r["typeId"] == SYNONYM and r["active"] == "1"
    }
    for term in synonyms:
        checked = get(
            served, "CodeSystem/$validate-code", [("url", SCT), ("code", unused), ("display", term)]
        )
        assert one(checked, "result") is True
