"""Tests of the Markdown reader: the seed, the whole corpus against its JSON, and broken inputs."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from ontomap.errors import ModelReadError, NotAModelError
from ontomap.model import (
    ChoiceAttribute,
    FindingModel,
    IndexCode,
    NumericAttribute,
    Organization,
    Person,
)
from ontomap.readers.json_reader import read_json
from ontomap.readers.located import MarkdownContributor, MarkdownRecord, MarkdownValue
from ontomap.readers.markdown_reader import markdown_model, read_markdown, read_markdown_record

PROJECT = Path(__file__).resolve().parents[1]
CORPUS = PROJECT.parent / "shared" / "corpus" / "findingmodels"
SEED = CORPUS / "text" / "diffuse_hepatic_calcifications.md"


@pytest.fixture(scope="module")
def corpus() -> Path:
    if not (CORPUS / "text").is_dir() or not (CORPUS / "defs").is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS} (../shared/corpus from the project)")
    return CORPUS


def _read(text: str, name: str = "model.md") -> FindingModel:
    model, _warnings = read_markdown(Path(name), text)
    return model


from markdown_losses import _codes, apply_markdown_losses  # noqa: E402


def _codes_as_sets(model: FindingModel) -> FindingModel:
    attributes = []
    for attribute in model.attributes:
        changes: dict[str, object] = {"index_codes": _codes(attribute.index_codes)}
        if isinstance(attribute, ChoiceAttribute):
            changes["values"] = tuple(
                dataclasses.replace(value, index_codes=_codes(value.index_codes))
                for value in attribute.values
            )
        attributes.append(dataclasses.replace(attribute, **changes))
    return dataclasses.replace(
        model, attributes=tuple(attributes), index_codes=_codes(model.index_codes)
    )


def _first_difference(got: FindingModel, want: FindingModel) -> str:
    for field in dataclasses.fields(FindingModel):
        mine, theirs = getattr(got, field.name), getattr(want, field.name)
        if mine == theirs:
            continue
        if field.name == "attributes" and len(mine) == len(theirs):
            for a, b in zip(mine, theirs, strict=True):
                if a != b:
                    return f"attribute {b.oifma_id}: markdown {a!r} != json {b!r}"
        return f"{field.name}: markdown {mine!r} != json {theirs!r}"
    return "?"


# -- the seed ---------------------------------------------------------------------------------


def test_seed(corpus: Path) -> None:
    model, warnings = read_markdown(SEED, SEED.read_text(encoding="utf-8"))
    assert warnings == []
    assert model.oifm_id == "OIFM_GMTS_005529"
    assert model.name == "Diffuse hepatic calcifications"
    assert model.description == "Calcifications spread throughout the liver"
    assert model.synonyms == ("liver calcifications", "hepatic calcinosis")
    assert model.tags == ("ultrasound", "CT", "XR", "liver", "calcification", "finding")
    assert model.index_codes == (IndexCode("GAMUTS", "5529", "diffuse hepatic calcifications"),)
    presence, change = model.attributes
    assert isinstance(presence, ChoiceAttribute) and isinstance(change, ChoiceAttribute)
    assert presence.oifma_id == "OIFMA_GMTS_963679"
    assert presence.max_selected == 1 and presence.required is None
    assert presence.index_codes == (
        IndexCode("SNOMED", "705057003", "Presence (property) (qualifier value)"),
    )
    absent = presence.values[0]
    assert absent.value_code == "OIFMA_GMTS_963679.0"
    assert absent.name == "absent"
    assert set(absent.index_codes) == {
        IndexCode("RADLEX", "RID28473", "absent"),
        IndexCode("SNOMED", "2667000", "Absent (qualifier value)"),
    }
    assert [v.value_code for v in presence.values] == [f"OIFMA_GMTS_963679.{n}" for n in range(4)]
    resolved = change.values[3]
    assert resolved.name == "resolved" and resolved.value_code == "OIFMA_GMTS_163920.3"
    assert resolved.index_codes == ()
    assert change.max_selected == 1
    assert model.contributors == (
        Organization("Radiology Gamuts Ontology", "GMTS", "https://gamuts.net/"),
    )


# -- the whole corpus against its JSON --------------------------------------------------------


def test_every_markdown_file_matches_its_json(corpus: Path) -> None:
    files = sorted((corpus / "text").glob("*.md"))
    assert files, f"no Markdown files in {corpus / 'text'}"
    mismatches = []
    for path in files:
        json_path = corpus / "defs" / (path.name.removesuffix(".md") + ".fm.json")
        try:
            got, _warnings = read_markdown(path, path.read_text(encoding="utf-8"))
        except ModelReadError as exc:
            mismatches.append(f"{path.name}: {exc}")
            continue
        want = apply_markdown_losses(read_json(json_path, json_path.read_text("utf-8"))[0])
        got = _codes_as_sets(got)
        if got != want:
            mismatches.append(f"{path.name}: {_first_difference(got, want)}")
    assert not mismatches, f"{len(mismatches)} of {len(files)} files differ:\n" + "\n".join(
        mismatches
    )


# -- features, on small documents -------------------------------------------------------------

HEAD = "# Test finding—`OIFM_TEST_000001`\n\nA finding.\n\n## Attributes\n\n"


def test_display_with_semicolon_and_code_without_display() -> None:
    text = (
        HEAD + "### Verbal response—`OIFMA_TEST_000001`\n\n"
        "Best verbal response  \n"
        "**Codes**: RADLEX RID6434; SNOMEDCT 12738006  \n"
        "*(Select one)*\n\n"
        "- **none**: No sound  \n"
        "_LOINC LA6557-8 no verbal response (>2 yrs); no vocal response (<=2 yrs); "
        "SNOMED 2667000 Absent (qualifier value)_\n"
        "- **some**  \n"
    )
    attribute = _read(text).attributes[0]
    assert isinstance(attribute, ChoiceAttribute)
    assert attribute.index_codes == (
        IndexCode("RADLEX", "RID6434"),
        IndexCode("SNOMED", "12738006"),
    )
    none, some = attribute.values
    assert none.index_codes == (
        IndexCode("LOINC", "LA6557-8", "no verbal response (>2 yrs); no vocal response (<=2 yrs)"),
        IndexCode("SNOMED", "2667000", "Absent (qualifier value)"),
    )
    assert none.description == "No sound"
    assert some.description is None and some.value_code == "OIFMA_TEST_000001.1"


def test_unknown_system_is_kept_and_warned() -> None:
    text = HEAD.replace("A finding.", "A finding.\n\n**Codes:** FOOBAR X12 thing; RADLEX RID1 a")
    text += "### Size—`OIFMA_TEST_000001`\n\nMinimum: 1\n"
    model, warnings = read_markdown(Path("x.md"), text)
    assert model.index_codes == (
        IndexCode.of("FOOBAR", "X12", "thing"),
        IndexCode("RADLEX", "RID1", "a"),
    )
    assert len(warnings) == 1 and "FOOBAR" in warnings[0].message
    assert warnings[0].severity == "warning" and warnings[0].line == 5


def test_select_up_to_n() -> None:
    text = (
        HEAD + "### Location—`OIFMA_TEST_000001`\n\n*(Select up to 3)*\n"
        "- **left**  \n- **right**: On the right  \n"
    )
    attribute = _read(text).attributes[0]
    assert isinstance(attribute, ChoiceAttribute)
    assert attribute.max_selected == 3
    assert [v.name for v in attribute.values] == ["left", "right"]
    assert attribute.description is None and attribute.required is None


def test_numeric_attribute() -> None:
    text = (
        HEAD + "### Size—`OIFMA_TEST_000001`\n\nLongest diameter\nover two lines  \n"
        "Mininum: 0  \nMaximum: 2.5  \nUnit: cm\n\n"
        "### Count—`OIFMA_TEST_000002`\n\nMinimum: None  \nUnit: unit\n\n"
        "### Temperature—`OIFMA_TEST_000003`\n\nMinimum: -3  \nMaximum: 1e3\n"
    )
    size, count, temperature = _read(text).attributes
    assert size == NumericAttribute(
        "OIFMA_TEST_000001", "Size", "Longest diameter\nover two lines", None, 0, 2.5, "cm"
    )
    assert isinstance(size, NumericAttribute) and isinstance(count, NumericAttribute)
    assert isinstance(temperature, NumericAttribute)
    assert isinstance(size.minimum, int) and isinstance(size.maximum, float)
    assert (count.minimum, count.maximum, count.unit) == (None, None, "unit")
    assert (temperature.minimum, temperature.maximum, temperature.unit) == (-3, 1000.0, None)


def test_contributors() -> None:
    text = (
        HEAD + "### Size—`OIFMA_TEST_000001`\n\nUnit: cm\n\n---\n\n**Contributors**\n\n"
        "- [Radiology Gamuts Ontology](https://gamuts.net/) (GMTS)\n"
        "- Open Imaging Data Model (OIDM)\n"
        "- Heather Chase (MSFT) — [Email](mailto:heatherchase@microsoft.com) — "
        "[Link](https://www.linkedin.com/in/heatherwalkerchase/)\n"
        "- C. Michael Hood, MD (MGB) — [Email](mailto:chood@mgh.harvard.edu)\n"
    )
    assert _read(text).contributors == (
        Organization("Radiology Gamuts Ontology", "GMTS", "https://gamuts.net/"),
        Organization("Open Imaging Data Model", "OIDM"),
        Person(
            "Heather Chase",
            email="heatherchase@microsoft.com",
            organization_code="MSFT",
            url="https://www.linkedin.com/in/heatherwalkerchase/",
        ),
        Person("C. Michael Hood, MD", email="chood@mgh.harvard.edu", organization_code="MGB"),
    )


def test_header_fields() -> None:
    text = (
        "\n# Odd name\t—`OIFM_TEST_000001`\n\n**Synonyms:** a, b\n\n**Tags:** CT\n\n"
        "First line\nsecond line\n\n**Codes:** GAMUTS 5529 thing\n"
    )
    model = _read(text)
    assert (model.name, model.synonyms, model.tags) == ("Odd name\t", ("a", "b"), ("CT",))
    assert model.description == "First line\nsecond line"
    assert model.attributes == () and model.contributors == ()


def test_model_without_attributes_and_multiline_value_description() -> None:
    text = (
        "# Bare—`OIFM_TEST_000001`\n\nSome text\n#hashtag\n\n---\n\n**Contributors**\n\n"
        "- Open Imaging Data Model (OIDM)\n"
    )
    model = _read(text)
    assert model.description == "Some text\n#hashtag"
    assert model.contributors == (Organization("Open Imaging Data Model", "OIDM"),)
    text = (
        HEAD + "### Kind—`OIFMA_TEST_000001`\n\n*(Select one)*\n\n"
        "- **a**: first line\nsecond line  \n_RADLEX RID1 a_\n- **b**\n"
    )
    kind = _read(text).attributes[0]
    assert isinstance(kind, ChoiceAttribute)
    first, second = kind.values
    assert first.description == "first line\nsecond line"
    assert first.index_codes == (IndexCode("RADLEX", "RID1", "a"),)
    assert second.description is None


# -- broken inputs ----------------------------------------------------------------------------


def _error(tmp_path: Path, text: str, name: str = "broken.md") -> ModelReadError:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ModelReadError) as info:
        read_markdown(path, path.read_text(encoding="utf-8"))
    assert info.value.path == path
    return info.value


def test_not_a_finding_model(tmp_path: Path) -> None:
    error = _error(tmp_path, "\n# ontomap\n\nA toolkit that turns OIFM into RDF.\n", "README.md")
    assert error.line == 2
    assert "not a finding model" in error.reason
    assert "# Name—`OIFM_XXX_NNNNNN`" in error.reason


def test_attribute_heading_without_id(tmp_path: Path) -> None:
    error = _error(tmp_path, HEAD + "### Presence\n\n*(Select one)*\n- **absent**\n")
    assert error.line == 7
    assert "attribute heading without an ID" in error.reason


def test_bullet_before_any_attribute(tmp_path: Path) -> None:
    error = _error(tmp_path, "# Test—`OIFM_TEST_000001`\n\nText\n- **absent**: gone\n")
    assert error.line == 4
    assert "outside an attribute" in error.reason


def test_code_line_before_any_value(tmp_path: Path) -> None:
    error = _error(
        tmp_path, HEAD + "### Presence—`OIFMA_TEST_000001`\n\n*(Select one)*\n_RADLEX RID1 x_\n"
    )
    assert error.line == 10
    assert "code line outside a value" in error.reason


def test_bad_oifm_id(tmp_path: Path) -> None:
    error = _error(tmp_path, "\n\n# Test—`OIFM_TOOLONG_1`\n\nText\n")
    assert error.line == 3
    assert "invalid OIFM ID 'OIFM_TOOLONG_1'" in error.reason


def test_bad_attribute_id(tmp_path: Path) -> None:
    error = _error(tmp_path, HEAD + "### Size—`OIFM_TEST_000001`\n\nUnit: cm\n")
    assert error.line == 7
    assert "invalid attribute ID" in error.reason


def test_duplicate_attribute_id(tmp_path: Path) -> None:
    attribute = "### Size—`OIFMA_TEST_000001`\n\nUnit: cm\n\n"
    error = _error(tmp_path, HEAD + attribute + attribute)
    assert error.line == 11
    assert "appears twice" in error.reason


def test_attribute_neither_choice_nor_numeric(tmp_path: Path) -> None:
    error = _error(tmp_path, HEAD + "### Size—`OIFMA_TEST_000001`\n\nJust text\n\n---\n")
    assert error.line == 7
    assert "neither a choice" in error.reason


def test_attribute_both_choice_and_numeric(tmp_path: Path) -> None:
    error = _error(tmp_path, HEAD + "### Size—`OIFMA_TEST_000001`\n\nUnit: cm\n*(Select one)*\n")
    assert error.line == 7
    assert "both a choice" in error.reason


def test_bad_number(tmp_path: Path) -> None:
    error = _error(tmp_path, HEAD + "### Size—`OIFMA_TEST_000001`\n\nMaximum: big\n")
    assert error.line == 9
    assert "must be a number" in error.reason


def test_malformed_code_list(tmp_path: Path) -> None:
    error = _error(tmp_path, HEAD.replace("A finding.", "A finding.\n**Codes:** RADLEX"))
    assert error.line == 4
    assert "has no code" in error.reason
    error = _error(tmp_path, HEAD.replace("A finding.", "**Codes:** RADLEX RID1; not a code"))
    assert error.line == 3
    assert "does not start with a code-system name" in error.reason


def test_a_two_word_system_name_is_one_system_as_in_json() -> None:
    # The Markdown rendering writes a JSON "system": "SNOMED CT" as `SNOMED CT 10200004 …`:
    # the code is 10200004, not "CT" with the rest as its display.
    text = HEAD.replace(
        "A finding.",
        "A finding.\n\n**Codes:** RADLEX RID58 liver; SNOMED CT 10200004 Liver structure",
    )
    model = _read(text)
    assert model.index_codes == (
        IndexCode("RADLEX", "RID58", "liver"),
        IndexCode("SNOMED", "10200004", "Liver structure"),
    )
    twin = {
        "oifm_id": "OIFM_TEST_000001",
        "name": "twin",
        "description": "A finding.",
        "index_codes": [{"system": "SNOMED CT", "code": "10200004", "display": "Liver structure"}],
        "attributes": [],
    }
    json_model, _ = read_json(Path("twin.fm.json"), json.dumps(twin))
    assert json_model.index_codes[0] == model.index_codes[1]


@pytest.mark.parametrize("unit_line", ["Unit:", "Unit: ", "Unit:  \n"])
def test_an_empty_unit_is_no_unit(unit_line: str) -> None:
    text = HEAD + f"### Size—`OIFMA_TEST_000001`\n\nMinimum: 0  \n{unit_line}\n"
    (size,) = _read(text).attributes
    assert isinstance(size, NumericAttribute)
    assert size.unit is None and size.minimum == 0


# -- the record: one parse of the layout, the model made from it ------------------------------

#: A small rendering; the line numbers in the tests below are counted by hand on it.
RECORDED = """# Hepatic lesion—`OIFM_ABC_123456`

**Synonyms:** liver lesion, hepatic mass
**Tags:** liver

A lesion of the liver.

**Codes:** RADLEX RID1 liver lesion

## Attributes

### Presence—`OIFMA_ABC_000001`

Whether the lesion is there.

*(Select one)*

- **absent**: not seen
_RADLEX RID28454 absent_
- **present**: seen
on the scan
_SNOMEDCT 52101004 Present_

### Size—`OIFMA_ABC_000002`
Mininum: 1
Maximum: 50
Unit: mm

---

**Contributors**

- [Org](https://example.org) (ABC)
- Jane Doe (ABC) — [Email](mailto:jane@example.org)
"""


def _record(text: str) -> MarkdownRecord:
    return read_markdown_record(Path("model.md"), text)


def test_the_record_holds_what_each_line_says() -> None:
    record = _record(RECORDED)
    assert record.problems == []
    assert record.title == (1, "OIFM_ABC_123456") and record.name == "Hepatic lesion"
    assert record.header == {"synonyms": 3, "tags": 4, "description": 6, "index_codes": 8}
    assert record.synonyms == ("liver lesion", "hepatic mass") and record.tags == ("liver",)
    assert record.description == ["A lesion of the liver.", "", ""]  # lines 6, 7 and 9
    assert record.codes == [("RADLEX", "RID1", "liver lesion")]
    presence, size = record.attributes
    assert (presence.heading, presence.oifma_id, presence.name) == (
        12,
        "OIFMA_ABC_000001",
        "Presence",
    )
    assert presence.kind == "choice" and presence.max_selected == 1
    assert presence.fields == {"description": 14, "max_selected": 16}
    assert presence.values == [18, 20]
    assert presence.value_codes == {0: 19, 1: 22}
    assert presence.choices == [
        MarkdownValue("absent", [" not seen"], [("RADLEX", "RID28454", "absent")]),
        MarkdownValue(
            "present", [" seen", "on the scan", ""], [("SNOMEDCT", "52101004", "Present")]
        ),
    ]
    assert (size.heading, size.kind, size.name) == (24, "numeric", "Size")
    assert size.fields == {"minimum": 25, "maximum": 26, "unit": 27}
    assert size.numeric == {"minimum": 1, "maximum": 50, "unit": "mm"}
    assert size.description == [] and size.choices == []
    assert record.contributors == [33, 34]
    assert record.people == [
        MarkdownContributor("Org", False, code="ABC", url="https://example.org"),
        MarkdownContributor("Jane Doe", True, code="ABC", email="jane@example.org"),
    ]
    assert record.spellings[22] == {"52101004": "SNOMEDCT"}


def test_the_model_is_made_from_the_record() -> None:
    model, warnings = markdown_model(_record(RECORDED))
    assert warnings == []
    assert (model, warnings) == read_markdown(Path("model.md"), RECORDED)
    presence, size = model.attributes
    assert isinstance(presence, ChoiceAttribute) and isinstance(size, NumericAttribute)
    assert presence.description == "Whether the lesion is there."
    assert [v.description for v in presence.values] == ["not seen", "seen\non the scan"]
    assert presence.values[1].index_codes == (IndexCode("SNOMED", "52101004", "Present"),)
    assert (size.minimum, size.maximum, size.unit) == (1, 50, "mm")
    assert model.contributors == (
        Organization("Org", "ABC", "https://example.org"),
        Person("Jane Doe", email="jane@example.org", organization_code="ABC"),
    )


def test_the_record_answers_where_each_item_is() -> None:
    record = _record(RECORDED)
    assert record.line(()) == 1 and record.line(("oifm_id",)) == 1
    assert record.line(("synonyms", 0)) == 3
    assert record.line(("index_codes", 0, "code")) == 8
    assert record.line(("attributes",)) == 1  # no line of its own: the title's
    assert record.line(("attributes", 0)) == 12
    assert record.line(("attributes", 0, "values")) == 12
    assert record.line(("attributes", 0, "values", 1, "name")) == 20
    assert record.line(("attributes", 0, "values", 1, "index_codes", 0, "code")) == 22
    assert record.line(("attributes", 0, "values", 7)) == 12  # no such value: the heading
    assert record.line(("attributes", 0, "zeta", 1)) == 12  # an unknown field: the heading
    assert record.line(("attributes", 1, "maximum")) == 26
    assert record.line(("attributes", 5)) == 1
    assert record.line(("contributors",)) == 1
    assert record.line(("contributors", 1)) == 34
    assert record.line(("contributors", 9)) == 1
    assert record.system_spelling(22, "52101004") == "SNOMEDCT"
    assert record.system_spelling(None, "52101004") is None
    assert record.system_spelling(8, "RID9") is None


def test_the_record_of_a_file_whose_title_is_not_on_the_first_line() -> None:
    record = _record("\n\n" + RECORDED)
    assert record.title == (3, "OIFM_ABC_123456")
    assert record.line(()) == 3 and record.line(("name",)) == 3
    untitled = _record("no title here\n")
    assert untitled.title is None and untitled.line(()) == 1


def test_the_record_keeps_the_raw_lines_and_gives_them_without_carriage_returns() -> None:
    record = _record("# A model—`OIFM_ABC_123456`\r\nSome text.\r\n")
    assert record.raw_lines == ["# A model—`OIFM_ABC_123456`\r", "Some text.\r", ""]
    assert record.lines == ["# A model—`OIFM_ABC_123456`", "Some text.", ""]
    assert record.lines is record.lines  # made once


def test_a_hand_made_record_with_a_bad_attribute_id_is_an_error_at_its_heading() -> None:
    record = _record(RECORDED)
    record.attributes[1].oifma_id = "OIFMA_bad"
    with pytest.raises(ModelReadError, match="invalid attribute ID 'OIFMA_bad'") as info:
        markdown_model(record)
    assert info.value.line == 24
    record = _record(RECORDED)
    record.attributes[0].oifma_id = "OIFMA_bad"  # its values' codes are bad too
    with pytest.raises(ModelReadError, match="OIFMA_bad") as info:
        markdown_model(record)
    assert info.value.line == 12


def test_a_hand_made_record_with_a_bad_model_id_is_an_error_at_the_title() -> None:
    record = _record("\n" + RECORDED)
    record.title = (2, "OIFM_bad")
    with pytest.raises(ModelReadError, match="invalid OIFM ID 'OIFM_bad'") as info:
        markdown_model(record)
    assert info.value.line == 2
    record = _record(RECORDED)
    record.attributes[1].oifma_id = record.attributes[0].oifma_id
    with pytest.raises(ModelReadError, match="appears twice") as info:
        markdown_model(record)
    assert info.value.line == 1


def test_a_record_with_problems_gives_its_first() -> None:
    text = RECORDED.replace("Whether the lesion is there.", "Whether \x01 there.").replace(
        "Unit: mm", "Unit: mm\nstray text"
    )
    record = _record(text)
    assert [problem.line for problem in record.problems] == [14, 28]
    assert record.title == (1, "OIFM_ABC_123456")  # reading went on
    with pytest.raises(ModelReadError) as info:
        markdown_model(record)
    assert info.value is record.problems[0]
    assert "unexpected text 'stray text' in attribute OIFMA_ABC_000002" in str(record.problems[1])


# -- the record's problems, each with its line and its words --------------------------------


def _problem(text: str) -> ModelReadError:
    record = _record(text)
    assert record.problems, "expected a problem"
    return record.problems[0]


def test_a_blank_file_is_no_model_at_its_last_line() -> None:
    problem = _problem("\n\n")  # three lines, all empty
    assert isinstance(problem, NotAModelError) and problem.line == 3


def test_the_title_problems_say_what_is_wrong() -> None:
    plain = _problem("# Just a heading\n")
    assert isinstance(plain, NotAModelError) and "found" not in plain.reason
    assert "carriage return" not in plain.reason
    unquoted = _problem("# A heading OIFM_ABC_123456\n")
    assert not isinstance(unquoted, NotAModelError)
    assert "(found '# A heading OIFM_ABC_123456': write the ID in backticks" in unquoted.reason
    old_mac = _problem("# A model—`OIFM_ABC_123456`\rText.\r")
    assert "its lines end with a carriage return alone" in old_mac.reason


def test_a_number_of_the_layout_is_named_in_a_both_kinds_problem() -> None:
    text = RECORDED.replace("Whether the lesion is there.", "Minimum: 3")
    problem = _problem(text)
    assert problem.line == 12
    assert "numeric ('Minimum:'/'Maximum:'/'Unit:' at line 14)" in problem.reason


def test_a_bullet_after_the_rule_without_contributors_heading_is_a_problem() -> None:
    text = RECORDED.replace("**Contributors**\n", "")
    problem = _problem(text)
    assert problem.line == 32 and "unexpected text after the attributes" in problem.reason


def test_an_attribute_heading_after_the_contributors_is_located() -> None:
    text = RECORDED + "### Late—`OIFMA_ABC_000003`\n"
    record = _record(text)
    assert record.attribute_headings()[-1] == (35, "OIFMA_ABC_000003")
    assert record.problems[0].line == 35


def test_long_text_is_cut_in_layout_problems() -> None:
    heading = _problem(RECORDED.replace("### Size—`OIFMA_ABC_000002`", "### " + "x" * 100))
    assert f"attribute heading without an ID: {'### ' + 'x' * 56!r} (expected" in heading.reason
    early = "# A model—`OIFM_ABC_123456`\n## Attributes\n" + "y" * 100 + "\n"
    assert f"unexpected text {'y' * 60!r} before the first attribute" in _problem(early).reason


def test_bullets_and_code_lines_outside_an_attribute_are_named() -> None:
    title = "# A model—`OIFM_ABC_123456`\n"
    assert _problem(title + "- **x**: y\n").reason.startswith("a value bullet outside")
    assert _problem(title + "_RADLEX RID1 x_\n").reason.startswith("a code line outside")


def test_a_selection_count_too_long_is_a_problem() -> None:
    text = RECORDED.replace("*(Select one)*", "*(Select up to " + "9" * 101 + ")*")
    problem = _problem(text)
    assert problem.line == 16 and "has 101 digits: at most 100" in problem.reason
    text = RECORDED.replace("*(Select one)*", "*(Select up to " + "9" * 100 + ")*")
    assert _record(text).attributes[0].max_selected == int("9" * 100)


def test_text_after_the_bounds_of_a_numeric_attribute_is_a_problem() -> None:
    problem = _problem(RECORDED.replace("Maximum: 50", "Maximum: 50\nmore words"))
    assert problem.line == 27 and "unexpected text 'more words'" in problem.reason


def test_a_description_right_under_the_heading_is_kept() -> None:
    text = RECORDED.replace(
        "### Size—`OIFMA_ABC_000002`\n", "### Size—`OIFMA_ABC_000002`\nHow big.\n"
    )
    size = _record(text).attributes[1]
    assert size.description == ["How big."] and size.fields["description"] == 25


def test_the_description_line_skips_blank_lines_and_rules() -> None:
    text = "# A model—`OIFM_ABC_123456`\n\n---\n_emphasis_ first\n"
    record = _record(text)
    assert record.header == {"description": 4}
    assert record.description == ["---", "_emphasis_ first", ""]
    record = _record("# A model—`OIFM_ABC_123456`\n_open emphasis\n")
    assert record.description == ["_open emphasis", ""] and record.problems == []


@pytest.mark.parametrize(
    ("codes", "want"),
    [
        # a two-word system name without a display
        ("SNOMED CT 10200004", [("SNOMED CT", "10200004", None)]),
        # a ';' and an ALL-CAPS word before a word without digits: part of the display
        ("RADLEX RID1 a; FOO abc 123", [("RADLEX", "RID1", "a; FOO abc 123")]),
        ("RADLEX RID1 a; FOO abc", [("RADLEX", "RID1", "a; FOO abc")]),
        # a known system alone after ';': part of the display
        ("RADLEX RID1 a; RADLEX", [("RADLEX", "RID1", "a; RADLEX")]),
        # an ALL-CAPS word before a code with a digit, or a known system: a new entry
        ("RADLEX RID1 a; FOO 12", [("RADLEX", "RID1", "a"), ("FOO", "12", None)]),
        ("RADLEX RID1 a; SNOMED 123456", [("RADLEX", "RID1", "a"), ("SNOMED", "123456", None)]),
    ],
)
def test_code_lists_are_split_where_an_entry_starts(codes: str, want: list[object]) -> None:
    record = _record(f"# A model—`OIFM_ABC_123456`\n**Codes:** {codes}\n")
    assert record.problems == [] and record.codes == want


def test_a_lower_case_word_unknown_to_the_registry_is_no_system() -> None:
    problem = _problem("# A model—`OIFM_ABC_123456`\n**Codes:** foo 123 x\n")
    assert problem.line == 2 and problem.reason.startswith("malformed code 'foo 123 x'")
    record = _record("# A model—`OIFM_ABC_123456`\n**Codes:** radlex RID5 x\n")
    assert record.problems == [] and record.codes == [("radlex", "RID5", "x")]


def test_a_markdown_record_compares_and_shows_without_its_cached_lines() -> None:
    asked = _record(RECORDED)
    assert asked.lines[0] == "# Hepatic lesion—`OIFM_ABC_123456`"
    assert asked == _record(RECORDED)
    assert ", _lines=" not in repr(asked) and ", raw_lines=" in repr(asked)


def test_a_hand_made_record_without_a_title_is_no_model() -> None:
    record = MarkdownRecord(Path("empty.md"), "", [""])
    with pytest.raises(NotAModelError) as info:
        markdown_model(record)
    assert info.value.line == 1


def test_the_record_locates_every_value_and_contributor() -> None:
    record = _record(RECORDED)
    assert record.line(("attributes", 0, "values", 0, "name")) == 18
    assert record.line(("attributes", 0, "values", 1, "index_codes")) == 22
    assert record.line(("attributes", 0, "values", 0, "index_codes")) == 19
    assert record.line(("contributors", 0)) == 33
    assert record.line(("contributors", 2)) == 1  # one past the last: the title


def test_bullets_without_a_selection_line_are_a_single_choice() -> None:
    text = RECORDED.replace("*(Select one)*\n", "")
    assert _record(text).attributes[0].max_selected is None
    presence = markdown_model(_record(text))[0].attributes[0]
    assert isinstance(presence, ChoiceAttribute) and presence.max_selected == 1


def test_a_byte_order_mark_is_dropped() -> None:
    record = _record("\ufeff" + RECORDED)
    assert record.problems == [] and record.title == (1, "OIFM_ABC_123456")
    assert record.raw_lines[0] == "# Hepatic lesion—`OIFM_ABC_123456`"


def test_a_title_after_other_text_is_located_all_the_same() -> None:
    record = _record("Some preface\n" + RECORDED)
    assert record.problems[0].line == 1
    assert record.title == (2, "OIFM_ABC_123456") and record.name == "Hepatic lesion"
    assert record.attributes[0].heading == 13


def test_long_text_is_cut_in_the_other_layout_problems() -> None:
    after = _problem(RECORDED + "z" * 100 + "\n")
    assert f"unexpected text after the attributes: {'z' * 60!r} (expected" in after.reason
    heading = _problem("# A model—`OIFM_ABC_123456`\n## " + "h" * 100 + "\n")
    assert f"unexpected heading {'## ' + 'h' * 57!r}: expected" in heading.reason
    inside = _problem(RECORDED.replace("Unit: mm", "Unit: mm\n" + "w" * 100))
    assert f"unexpected text {'w' * 60!r} in attribute OIFMA_ABC_000002" in inside.reason


def test_the_rule_and_blank_lines_before_the_contributors_are_no_description() -> None:
    text = "# A model—`OIFM_ABC_123456`\n\nDesc.\n\n---\n\n**Contributors**\n\n- Org (ABC)\n"
    record = _record(text)
    assert record.problems == [] and record.description == ["Desc."]


def test_a_value_description_may_hold_a_dash_and_an_underscore() -> None:
    text = RECORDED.replace("on the scan\n", "- on the scan\n_not a code line\n")
    record = _record(text)
    assert record.problems == []
    assert record.attributes[0].choices[1].description == [
        " seen",
        "- on the scan",
        "_not a code line",
        "",
    ]


@pytest.mark.parametrize("structure", ["**Codes**: RADLEX RID2 size", "*(Select one)*"])
def test_text_after_the_structure_of_an_attribute_is_a_problem(structure: str) -> None:
    text = "# A model—`OIFM_ABC_123456`\n### Kind—`OIFMA_ABC_000001`\n"
    problem = _problem(text + structure + "\nstray\n- **a**\n- **b**\n")
    assert problem.line == 4 and "unexpected text 'stray' in attribute" in problem.reason


def test_value_codes_are_located_by_value_position() -> None:
    text = "# A model—`OIFM_ABC_123456`\n### Kind—`OIFMA_ABC_000001`\n" + "".join(
        f"- **v{n}**\n_RADLEX RID{n} v{n}_\n" for n in range(3)
    )
    attribute = _record(text).attributes[0]
    # bullets at lines 3, 5, 7; their code lines right below
    assert attribute.values == [3, 5, 7] and attribute.value_codes == {0: 4, 1: 6, 2: 8}


def test_a_bound_that_is_no_number_says_whether_it_is_infinite() -> None:
    base = "# A model—`OIFM_ABC_123456`\n### Size—`OIFMA_ABC_000001`\n"
    assert "(a bound must be finite)" in _problem(base + "Minimum: nan\n").reason
    assert "(a bound must be finite)" in _problem(base + "Maximum: -Infinity\n").reason
    assert "finite" not in _problem(base + "Minimum: abc\n").reason


def test_a_two_word_system_name_needs_a_code_after_it() -> None:
    record = _record("# A model—`OIFM_ABC_123456`\n**Codes:** SNOMED CT\n")
    assert record.problems == [] and record.codes == [("SNOMED", "CT", None)]


def test_a_display_after_the_second_code_stays_with_it() -> None:
    record = _record("# A model—`OIFM_ABC_123456`\n**Codes:** RADLEX RID1 a; SNOMED 123456 b; c\n")
    assert record.codes == [("RADLEX", "RID1", "a"), ("SNOMED", "123456", "b; c")]


def test_a_bound_of_exactly_the_longest_length_is_read() -> None:
    base = "# A model—`OIFM_ABC_123456`\n### Size—`OIFMA_ABC_000001`\n"
    record = _record(base + "Minimum: " + "1" * 100 + "\n")
    assert record.problems == [] and record.attributes[0].numeric == {"minimum": int("1" * 100)}
    assert "101 characters" in _problem(base + "Minimum: " + "1" * 101 + "\n").reason


def test_an_indented_description_is_located() -> None:
    record = _record("# A model—`OIFM_ABC_123456`\n\n  Indented text.\n")
    assert record.header == {"description": 3}


def test_a_negative_value_position_is_located_at_the_heading() -> None:
    assert _record(RECORDED).line(("attributes", 0, "values", -1)) == 12


def test_a_hand_made_record_with_a_name_but_no_title_is_no_model() -> None:
    record = MarkdownRecord(Path("empty.md"), "", [""], name="A name")
    with pytest.raises(NotAModelError):
        markdown_model(record)
