"""Tests of the OIFM JSON reader: the seed and the whole corpus, the examples, broken documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, RESOURCES

from ontomap.errors import ModelReadError
from ontomap.model import (
    ChoiceAttribute,
    ChoiceValue,
    FindingModel,
    IndexCode,
    NumericAttribute,
    Organization,
    Person,
)
from ontomap.readers.json_reader import json_model, read_json, read_json_record

BROKEN = RESOURCES / "broken"


def _read(path: Path) -> FindingModel:
    model, warnings = read_json(path, path.read_text(encoding="utf-8"))
    assert warnings == [], [str(w) for w in warnings]
    return model


# -- the seed ---------------------------------------------------------------------------------


def test_seed_json(corpus_defs: Path) -> None:
    model = _read(corpus_defs / "diffuse_hepatic_calcifications.fm.json")
    assert model.oifm_id == "OIFM_GMTS_005529"
    assert model.name == "diffuse hepatic calcifications"
    assert model.description == "Calcifications spread throughout the liver"
    assert model.synonyms == ("liver calcifications", "hepatic calcinosis")
    assert model.tags == ("ultrasound", "CT", "XR", "liver", "calcification", "finding")
    assert model.contributors == (
        Organization("Radiology Gamuts Ontology", "GMTS", "https://gamuts.net/"),
    )
    assert model.index_codes == (IndexCode("GAMUTS", "5529", "diffuse hepatic calcifications"),)
    assert model.anatomic_locations == ()
    presence, change = model.attributes
    assert isinstance(presence, ChoiceAttribute) and isinstance(change, ChoiceAttribute)
    assert (presence.oifma_id, presence.name) == ("OIFMA_GMTS_963679", "presence")
    assert presence.description == "Presence or absence of diffuse hepatic calcifications"
    assert (presence.required, presence.max_selected) == (False, 1)
    assert presence.index_codes == (
        IndexCode("SNOMED", "705057003", "Presence (property) (qualifier value)"),
    )
    assert [v.name for v in presence.values] == ["absent", "present", "indeterminate", "unknown"]
    assert presence.values[0] == ChoiceValue(
        "OIFMA_GMTS_963679.0",
        "absent",
        "Diffuse hepatic calcifications is absent",
        (
            IndexCode("RADLEX", "RID28473", "absent"),
            IndexCode("SNOMED", "2667000", "Absent (qualifier value)"),
        ),
    )
    assert (change.oifma_id, change.name) == ("OIFMA_GMTS_163920", "change from prior")
    assert [v.value_code for v in change.values] == [f"OIFMA_GMTS_163920.{n}" for n in range(8)]
    assert change.values[3].name == "resolved" and change.values[3].index_codes == ()
    assert change.values[6].index_codes == (
        IndexCode("RADLEX", "RID5791", "enlarged"),
        IndexCode("SNOMED", "263768009", "Greater (qualifier value)"),
    )


def test_example_json_covers_numeric_multiselect_person_and_locations() -> None:
    model = _read(EXAMPLES / "solitary_pulmonary_nodule.fm.json")
    assert model.oifm_id == "OIFM_OMAP_000001"
    person, organisation = model.contributors
    assert person == Person(
        "Ada Example",
        email="ada@example.org",
        github_username="ada-example",
        organization_code="OMAP",
        url="https://example.org/ada",
    )
    assert organisation == Organization("ontomap examples", "OMAP", "https://example.org/ontomap")
    presence, size, location, _change = model.attributes
    assert presence.required is True
    # "SNOMEDCT" in the file is folded into SNOMED
    assert presence.values[1].index_codes[1] == IndexCode(  # type: ignore[union-attr]
        "SNOMED", "52101004", "Present (qualifier value)"
    )
    assert size == NumericAttribute(
        "OIFMA_OMAP_000011",
        "size",
        "Mean diameter of the nodule",
        False,
        0,
        30.5,
        "mm",
        (IndexCode("SNOMED", "246115007", "Size (attribute)"),),
    )
    assert isinstance(size, NumericAttribute)
    assert isinstance(size.minimum, int) and isinstance(size.maximum, float)
    assert isinstance(location, ChoiceAttribute) and location.max_selected == 2
    assert all(v.description is None and v.index_codes == () for v in location.values)
    assert model.index_codes == (
        IndexCode("GAMUTS", "14616", "solitary pulmonary nodule"),
        IndexCode("RADELEMENT", "RDES195", "pulmonary nodule"),
    )
    assert model.anatomic_locations == (IndexCode("RADLEX", "RID1301", "lung"),)


# -- the whole corpus, checked against the json module ----------------------------------------


def _codes(entries: list[dict[str, Any]] | None) -> tuple[IndexCode, ...]:
    folded = {"SNOMEDCT": "SNOMED"}
    return tuple(
        IndexCode(folded.get(e["system"]) or e["system"], e["code"], e.get("display") or None)
        for e in entries or ()
    )


def _expected(data: dict[str, Any]) -> FindingModel:
    """The model a JSON document describes, mapped field by field (the oracle)."""
    attributes = []
    for a in data.get("attributes") or ():
        common = {
            "oifma_id": a["oifma_id"],
            "name": a["name"],
            "description": a.get("description"),
            "required": a.get("required", False),
            "index_codes": _codes(a.get("index_codes")),
        }
        if a["type"] == "choice":
            values = tuple(
                ChoiceValue(
                    v["value_code"], v["name"], v.get("description"), _codes(v.get("index_codes"))
                )
                for v in a["values"]
            )
            attributes.append(
                ChoiceAttribute(values=values, max_selected=a.get("max_selected", 1), **common)
            )
        else:
            attributes.append(
                NumericAttribute(
                    minimum=a.get("minimum"), maximum=a.get("maximum"), unit=a.get("unit"), **common
                )
            )
    contributors = []
    for c in data.get("contributors") or ():
        if {"email", "github_username", "organization_code"} & set(c):
            contributors.append(
                Person(
                    c["name"],
                    c.get("email"),
                    c.get("github_username"),
                    c.get("organization_code"),
                    c.get("url"),
                )
            )
        else:
            contributors.append(Organization(c["name"], c.get("code"), c.get("url")))
    return FindingModel(
        oifm_id=data["oifm_id"],
        name=data["name"],
        description=data.get("description"),
        synonyms=tuple(data.get("synonyms") or ()),
        tags=tuple(data.get("tags") or ()),
        contributors=tuple(contributors),
        attributes=tuple(attributes),
        index_codes=_codes(data.get("index_codes")),
        anatomic_locations=_codes(data.get("anatomic_locations")),
    )


def test_every_corpus_json_reads_as_the_json_module_sees_it(corpus_defs: Path) -> None:
    files = sorted(corpus_defs.glob("*.fm.json"))
    assert len(files) == 2382
    differing = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        model, warnings = read_json(path, text)
        assert warnings == [], (path.name, [str(w) for w in warnings])
        if model != _expected(json.loads(text)):
            differing.append(path.name)
    assert differing == []


# -- broken documents -------------------------------------------------------------------------


def _error(path: Path, text: str | None = None) -> ModelReadError:
    if text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(ModelReadError) as info:
        read_json(path, path.read_text(encoding="utf-8"))
    assert info.value.path == path
    assert str(info.value).startswith(f"{info.value.location}: ")
    return info.value


@pytest.mark.parametrize(
    ("name", "line", "reason"),
    [
        ("truncated.fm.json", 8, "invalid JSON: Unterminated string"),
        ("invalid_json.fm.json", 4, "invalid JSON: Expecting value"),
        ("missing_id.fm.json", 1, 'no "oifm_id" field'),
        ("bad_oifm_id.fm.json", 3, "invalid OIFM ID 'OIFM_TOOLONGCODE_1'"),
        ("bad_value_code.fm.json", 11, "invalid value code 'OIFMA_TEST_000004-1'"),
        ("foreign_value_code.fm.json", 11, "does not belong to attribute OIFMA_TEST_000005"),
    ],
)
def test_broken_fixture(name: str, line: int, reason: str) -> None:
    error = _error(BROKEN / name)
    assert reason in error.reason
    assert error.line == line, str(error)
    assert error.location == f"{BROKEN / name}:{line}"


def test_missing_id_message_says_what_to_do() -> None:
    error = _error(BROKEN / "missing_id.fm.json")
    assert 'add "oifm_id": "OIFM_XXX_NNNNNN"' in error.reason


def test_not_an_object(tmp_path: Path) -> None:
    error = _error(tmp_path / "list.json", '[\n  {"oifm_id": "OIFM_TEST_000001"}\n]\n')
    assert error.line == 1 and "not an object" in error.reason


def test_duplicate_attribute_id_names_the_second_one(tmp_path: Path) -> None:
    text = (
        '{\n "oifm_id": "OIFM_TEST_000001",\n "name": "x",\n "attributes": [\n'
        '  {"oifma_id": "OIFMA_TEST_000001", "name": "a", "type": "numeric"},\n'
        '  {"oifma_id": "OIFMA_TEST_000001", "name": "b", "type": "numeric"}\n ]\n}\n'
    )
    error = _error(tmp_path / "dup.fm.json", text)
    assert "OIFMA_TEST_000001 appears twice" in error.reason
    assert error.line == 6, str(error)


BASE = {"oifm_id": "OIFM_TEST_000001", "name": "x"}


def _document(tmp_path: Path, attribute: dict[str, Any]) -> Path:
    data = dict(BASE, attributes=[attribute])
    path = tmp_path / "model.fm.json"
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("attribute", "needle", "reason"),
    [
        (
            {"oifma_id": "OIFMA_TEST_000001", "name": "a", "type": "text"},
            '"type"',
            '"type" must be',
        ),
        (
            {"oifma_id": "OIFMA_TEST_000001", "name": "a", "type": "numeric", "minimum": "5"},
            '"minimum"',
            "must be a number",
        ),
        (
            {"oifma_id": "OIFMA_TEST_000001", "name": "a", "type": "numeric", "required": "yes"},
            '"required"',
            '"required" must be',
        ),
        (
            {"oifma_id": "OIFMA_TEST_000001", "type": "numeric"},
            '"OIFMA_TEST_000001"',
            'missing "name"',
        ),
        (
            {
                "oifma_id": "OIFMA_TEST_000001",
                "name": "a",
                "type": "choice",
                "max_selected": "2",
                "values": [],
            },
            '"max_selected"',
            '"max_selected"',
        ),
        (
            {
                "oifma_id": "OIFMA_TEST_000001",
                "name": "a",
                "type": "choice",
                "values": [{"value_code": "OIFMA_TEST_000001.0"}],
            },
            '"OIFMA_TEST_000001.0"',
            'missing "name"',
        ),
        (
            {
                "oifma_id": "OIFMA_TEST_000001",
                "name": "a",
                "type": "numeric",
                "index_codes": [{"system": "RADLEX"}],
            },
            '"RADLEX"',
            'has no "code"',
        ),
    ],
)
def test_structural_errors_name_their_line(
    tmp_path: Path, attribute: dict[str, Any], needle: str, reason: str
) -> None:
    path = _document(tmp_path, attribute)
    text = path.read_text(encoding="utf-8")
    expected_line = text[: text.index(needle)].count("\n") + 1
    error = _error(path)
    assert reason in error.reason
    assert error.line == expected_line, str(error)


def test_numeric_code_and_bom(tmp_path: Path) -> None:
    data = dict(BASE, index_codes=[{"system": "SNOMEDCT", "code": 2667000, "display": "Absent"}])
    path = tmp_path / "model.json"
    path.write_text("\ufeff" + json.dumps(data), encoding="utf-8")
    model, _warnings = read_json(path, path.read_text(encoding="utf-8-sig"))
    assert model.index_codes == (IndexCode("SNOMED", "2667000", "Absent"),)


def test_unknown_system_is_kept_with_a_warning() -> None:
    path = RESOURCES / "unknown_system.fm.json"
    model, warnings = read_json(path, path.read_text(encoding="utf-8"))
    assert model.index_codes == (
        IndexCode("RADLEX", "RID5791", "enlarged"),
        IndexCode("FOOBAR", "X-12", "something"),
    )
    (warning,) = warnings
    assert warning.severity == "warning" and warning.path == path and warning.line == 6
    assert "FOOBAR" in warning.message
    assert "https://w3id.org/ontomap/code/FOOBAR/" in warning.message


def test_value_codes_are_read_by_position_with_a_warning(tmp_path: Path) -> None:
    attribute = {
        "oifma_id": "OIFMA_TEST_000001",
        "name": "presence",
        "type": "choice",
        "values": [
            {"name": "absent"},
            {"value_code": "OIFMA_TEST_000001." + "1" * 5000, "name": "present"},
        ],
        "max_selected": "all",
    }
    path = _document(tmp_path, attribute)
    text = path.read_text(encoding="utf-8")
    model, warnings = read_json(path, text)
    (choice,) = model.attributes
    assert isinstance(choice, ChoiceAttribute)
    assert [v.value_code for v in choice.values] == ["OIFMA_TEST_000001.0", "OIFMA_TEST_000001.1"]
    assert choice.max_selected == 2

    def line(needle: str) -> int:
        return text[: text.index(needle)].count("\n") + 1

    assert [w.line for w in warnings] == [line('"absent"'), line("1" * 5000), line('"all"')]
    assert all(len(w.message) < 300 for w in warnings)
    assert 'no "value_code": read as OIFMA_TEST_000001.0' in warnings[0].message


# -- the record -----------------------------------------------------------------------------

#: A small model; the line numbers below are counted by hand on it.
RECORD_TEXT = """{
  "oifm_id": "OIFM_ABC_123456",
  "name": "Hepatic lesion",
  "attributes": [
    {
      "oifma_id": "OIFMA_ABC_000001",
      "name": "presence",
      "type": "choice",
      "values": [{"value_code": "OIFMA_ABC_000001.0", "name": "absent"}]
    }
  ]
}
"""


def test_the_record_locates_items_on_the_first_question() -> None:
    record = read_json_record(Path("m.fm.json"), RECORD_TEXT)
    assert record.error is None and record.data == json.loads(RECORD_TEXT)
    assert record.line(("name",)) == 3
    assert record.line(("attributes", 0, "type")) == 8
    assert record.line(("attributes", 0, "values", 0, "name")) == 9
    assert record.line(("attributes", 0, "missing")) == 5  # the enclosing object


def test_a_record_compares_and_shows_without_its_locator() -> None:
    asked = read_json_record(Path("m.fm.json"), RECORD_TEXT)
    assert asked.line(("name",)) == 3
    assert asked == read_json_record(Path("m.fm.json"), RECORD_TEXT)
    assert "_locator" not in repr(asked) and "JsonLocator" not in repr(asked)


def test_a_record_of_bad_json_keeps_the_error() -> None:
    record = read_json_record(Path("m.fm.json"), '{"oifm_id": }')
    assert record.data is None and record.error is not None and record.error.line == 1
    with pytest.raises(ModelReadError) as info:
        json_model(record)
    assert info.value is record.error
