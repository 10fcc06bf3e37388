"""Tests of the OIFM JSON schema's rules, the one table the JSON reader and validate share."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ontomap.readers.schema import (
    ATTRIBUTE,
    CHOICE,
    CODE,
    FINDING,
    KINDS,
    NUMERIC,
    ORGANIZATION,
    PERSON,
    VALUE,
    code_reading,
    has_type,
    is_person,
    json_type,
    max_selected_reading,
    value_code_reading,
)


@pytest.mark.parametrize(
    ("value", "kind", "want"),
    [
        ("x", "string", True),
        (1, "string", False),
        ([], "list", True),
        ({}, "list", False),
        ({}, "object", True),
        (True, "boolean", True),
        (0, "boolean", False),
        (1, "number", True),
        (1.5, "number", True),
        (True, "number", False),  # true is no number in JSON
        (None, "number", False),
    ],
)
def test_json_types(value: object, kind: str, want: bool) -> None:
    assert has_type(value, kind) is want  # type: ignore[arg-type]


def test_json_type_names() -> None:
    assert [json_type(v) for v in (None, True, 1, 1.5, "x", [], {})] == [
        "null",
        "true or false",
        "a number",
        "a number",
        "a string",
        "a list",
        "an object",
    ]
    assert json_type(False, boolean="a boolean") == "a boolean"


@pytest.mark.parametrize(
    ("code", "want"),
    [
        (None, "missing"),
        ("OIFMA_ABC_000001.1", "ok"),
        (7, "mistyped"),
        ("OIFMA_ABC_000001", "malformed"),
        ("OIFMA_ABC_000001.x", "malformed"),
        ("OIFMA_XYZ_000001.1", "other-attribute"),
        ("OIFMA_ABC_000001.0", "renumbered"),
        ("OIFMA_ABC_000001.01", "renumbered"),  # "01" is not how position 1 is written
    ],
)
def test_value_codes_read_by_position(code: object, want: str) -> None:
    assert value_code_reading(code, "OIFMA_ABC_000001", 1) == want


def test_a_value_code_of_an_attribute_without_an_id_names_no_other_attribute() -> None:
    assert value_code_reading("OIFMA_XYZ_000001.1", None, 1) == "ok"
    assert value_code_reading("OIFMA_XYZ_000001.0", None, 1) == "renumbered"


@pytest.mark.parametrize(
    ("raw", "count", "want"),
    [
        (None, 3, ("null", None)),
        (2, 3, ("ok", 2)),
        (3, 3, ("ok", 3)),
        (4, 3, ("above", 3)),
        (4, 0, ("ok", 4)),  # no values: nothing to be above
        (0, 3, ("zero", 1)),
        (-1, 3, ("negative", -1)),
        ("all", 3, ("all", 3)),
        ("all", 0, ("all", 1)),
        ("two", 3, ("mistyped", None)),
        (2.0, 3, ("mistyped", None)),
        (True, 3, ("mistyped", None)),
    ],
)
def test_max_selected_as_the_findingmodel_package_reads_it(
    raw: object, count: int, want: tuple[str, int | None]
) -> None:
    assert max_selected_reading(raw, count) == want


@pytest.mark.parametrize(
    ("code", "want"),
    [
        (None, "missing"),
        ("", "missing"),
        ("  ", "missing"),
        ("RID5", "ok"),
        (5, "ok"),  # read as "5"
        (True, "mistyped"),
        (1.5, "mistyped"),
        ([], "mistyped"),
    ],
)
def test_index_code_codes(code: object, want: str) -> None:
    assert code_reading(code) == want


def test_a_contributor_is_a_person_by_its_fields() -> None:
    assert is_person({"name": "A", "email": "a@b.c"})
    assert is_person({"name": "A", "github_username": "a"})
    assert is_person({"name": "A", "organization_code": "ABC"})
    assert not is_person({"name": "A", "code": "ABC", "url": "https://a.org"})


def test_the_tables_are_the_schema_fields() -> None:
    assert list(FINDING) == [
        "oifm_id",
        "name",
        "description",
        "synonyms",
        "tags",
        "contributors",
        "attributes",
        "index_codes",
        "anatomic_locations",
    ]
    assert set(CHOICE) - set(ATTRIBUTE) == {"values", "max_selected"}
    assert set(NUMERIC) - set(ATTRIBUTE) == {"minimum", "maximum", "unit"}
    assert KINDS == {"choice": CHOICE, "numeric": NUMERIC}
    assert set(VALUE) == {"value_code", "name", "description", "index_codes"}
    assert set(CODE) == {"system", "code", "display"}
    assert set(PERSON) == {"name", "email", "github_username", "organization_code", "url"}
    assert set(ORGANIZATION) == {"name", "code", "url"}
    required = {
        name: [key for key, field in table.items() if field.required]
        for name, table in (("finding", FINDING), ("choice", CHOICE), ("value", VALUE))
    }
    assert required == {
        "finding": ["oifm_id", "name", "description", "attributes"],
        "choice": ["oifma_id", "name", "type", "values"],
        "value": ["name"],
    }
    # the limits of the OIFM JSON schema
    assert FINDING["name"].length == (5, None) and FINDING["description"].length == (5, None)
    assert ATTRIBUTE["name"].length == (3, 100)
    assert ATTRIBUTE["description"].length == (5, 500)
    assert VALUE["name"].length == (1, None)


def test_every_field_the_corpus_writes_is_in_the_tables(corpus_defs: Path) -> None:
    seen: dict[str, set[str]] = {}

    def note(kind: str, obj: dict[str, object]) -> None:
        seen.setdefault(kind, set()).update(obj)

    for path in sorted(corpus_defs.glob("*.json")):
        data = json.loads(path.read_text("utf-8"))
        note("finding", data)
        for key in ("index_codes", "anatomic_locations"):
            for code in data.get(key) or ():
                note("code", code)
        for contributor in data.get("contributors") or ():
            note("person" if is_person(contributor) else "organization", contributor)
        for attribute in data.get("attributes") or ():
            note(attribute["type"], attribute)
            for code in attribute.get("index_codes") or ():
                note("code", code)
            for value in attribute.get("values") or ():
                note("value", value)
                for code in value.get("index_codes") or ():
                    note("code", code)
    tables = {"finding": FINDING, "code": CODE, "person": PERSON, "organization": ORGANIZATION}
    tables |= {"choice": CHOICE, "numeric": NUMERIC, "value": VALUE}
    unknown = {kind: keys - set(tables[kind]) for kind, keys in seen.items()}
    assert all(not keys for keys in unknown.values()), unknown
