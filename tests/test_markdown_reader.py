"""Tests of the Markdown reader: the seed, the whole corpus against its JSON, and broken inputs."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from ontomap.errors import ModelReadError
from ontomap.model import (
    ChoiceAttribute,
    FindingModel,
    IndexCode,
    NumericAttribute,
    Organization,
    Person,
)
from ontomap.readers.json_reader import read_json
from ontomap.readers.markdown_reader import read_markdown

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
    first, second = _read(text).attributes[0].values
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
