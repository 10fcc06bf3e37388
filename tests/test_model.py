"""Tests of the typed finding model: identifier validation, immutability, index codes."""

from __future__ import annotations

import dataclasses

import pytest

from ontomap.errors import InvalidIdentifierError, ModelValidationError, OntomapError
from ontomap.model import (
    ChoiceAttribute,
    ChoiceValue,
    FindingModel,
    IndexCode,
    NumericAttribute,
    Organization,
    Person,
)

# -- identifiers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "oifm_id", ["OIFM_GMTS_005529", "OIFM_MSFT_123456", "OIFM_ABC_000000", "OIFM_OMAP_999999"]
)
def test_valid_oifm_ids(oifm_id: str) -> None:
    assert FindingModel(oifm_id, "x").oifm_id == oifm_id


@pytest.mark.parametrize(
    "oifm_id",
    [
        "OIFM_AB_005529",  # code too short
        "OIFM_GMTSX_005529",  # code too long
        "OIFM_GMTS_05529",  # five digits
        "OIFM_GMTS_0055290",  # seven digits
        "OIFM_gmts_005529",  # lower-case code
        "oifm_GMTS_005529",
        "OIFMA_GMTS_005529",  # an attribute ID
        "OIFM_GMTS_005529.0",  # a value code
        " OIFM_GMTS_005529",
        "OIFM_GMTS_005529\n",
        "OIFM-GMTS-005529",
        "",
    ],
)
def test_invalid_oifm_ids(oifm_id: str) -> None:
    with pytest.raises(InvalidIdentifierError) as info:
        FindingModel(oifm_id, "x")
    assert info.value.value == oifm_id
    assert info.value.kind == "OIFM ID"
    assert repr(oifm_id) in str(info.value)


@pytest.mark.parametrize("value", [None, 5529, b"OIFM_GMTS_005529"])
def test_oifm_id_must_be_a_string(value: object) -> None:
    with pytest.raises(InvalidIdentifierError):
        FindingModel(value, "x")  # type: ignore[arg-type]


def test_errors_are_value_errors() -> None:
    with pytest.raises(ValueError):
        FindingModel("nope", "x")
    assert issubclass(InvalidIdentifierError, OntomapError)
    assert issubclass(ModelValidationError, OntomapError)


@pytest.mark.parametrize("oifma_id", ["OIFMA_GMTS_963679", "OIFMA_ABC_000001", "OIFMA_MSFT_000010"])
def test_valid_attribute_ids(oifma_id: str) -> None:
    assert NumericAttribute(oifma_id, "size").oifma_id == oifma_id
    assert ChoiceAttribute(oifma_id, "presence", ()).oifma_id == oifma_id


@pytest.mark.parametrize(
    "oifma_id",
    [
        "OIFM_GMTS_963679",  # a finding ID
        "OIFMA_GMTS_963679.0",  # a value code
        "OIFMA_GM_963679",
        "OIFMA_GMTSX_963679",
        "OIFMA_GMTS_96367",
        "oifma_gmts_963679",
        "",
    ],
)
def test_invalid_attribute_ids(oifma_id: str) -> None:
    with pytest.raises(InvalidIdentifierError) as info:
        NumericAttribute(oifma_id, "size")
    assert info.value.kind == "attribute ID" and info.value.value == oifma_id
    with pytest.raises(InvalidIdentifierError):
        ChoiceAttribute(oifma_id, "presence", ())


@pytest.mark.parametrize(
    "code",
    ["OIFMA_GMTS_963679.0", "OIFMA_GMTS_963679.3", "OIFMA_GMTS_963679.10", "OIFMA_ABC_000001.0"],
)
def test_valid_value_codes(code: str) -> None:
    assert ChoiceValue(code, "absent").value_code == code


@pytest.mark.parametrize(
    "code",
    [
        "OIFMA_GMTS_963679",  # no .N
        "OIFMA_GMTS_963679.",
        "OIFMA_GMTS_963679.a",
        "OIFMA_GMTS_963679.-1",
        "OIFMA_GMTS_963679.0.1",
        "OIFMA_GMTS_963679-0",
        "OIFM_GMTS_963679.0",  # finding prefix
        "OIFMA_GMTS_96367.0",
    ],
)
def test_invalid_value_codes(code: str) -> None:
    with pytest.raises(InvalidIdentifierError) as info:
        ChoiceValue(code, "absent")
    assert info.value.kind == "value code" and info.value.value == code


def test_value_codes_must_belong_to_their_attribute() -> None:
    values = (ChoiceValue("OIFMA_GMTS_963679.0", "absent"), ChoiceValue("OIFMA_GMTS_163920.1", "x"))
    with pytest.raises(ModelValidationError) as info:
        ChoiceAttribute("OIFMA_GMTS_963679", "presence", values)
    message = str(info.value)
    assert "OIFMA_GMTS_163920.1" in message and "OIFMA_GMTS_963679" in message


def test_a_value_code_of_a_longer_attribute_id_does_not_belong() -> None:
    # OIFMA_GMTS_9636790.0 must not pass as a value of OIFMA_GMTS_963679 (prefix, not owner)
    with pytest.raises(OntomapError):
        ChoiceAttribute(
            "OIFMA_GMTS_963679", "presence", (ChoiceValue("OIFMA_GMTS_9636790.0", "x"),)
        )


def test_duplicate_value_code_in_one_attribute_is_rejected() -> None:
    # Two values with one code would share one IRI in the graph and merge into one node.
    values = (
        ChoiceValue("OIFMA_GMTS_963679.0", "absent"),
        ChoiceValue("OIFMA_GMTS_963679.0", "present"),
    )
    with pytest.raises(ModelValidationError):
        ChoiceAttribute("OIFMA_GMTS_963679", "presence", values)


def test_duplicate_attribute_ids_are_rejected() -> None:
    size = NumericAttribute("OIFMA_TEST_000001", "size")
    with pytest.raises(ModelValidationError) as info:
        FindingModel("OIFM_TEST_000001", "x", attributes=(size, size))
    assert "OIFMA_TEST_000001" in str(info.value)


# -- immutability ----------------------------------------------------------------------------

SEED_LIKE = FindingModel(
    "OIFM_GMTS_005529",
    "diffuse hepatic calcifications",
    synonyms=("liver calcifications",),
    contributors=(Organization("Radiology Gamuts Ontology", "GMTS", "https://gamuts.net/"),),
    attributes=(
        ChoiceAttribute(
            "OIFMA_GMTS_963679",
            "presence",
            (
                ChoiceValue(
                    "OIFMA_GMTS_963679.0",
                    "absent",
                    index_codes=(IndexCode.of("RADLEX", "RID28473", "absent"),),
                ),
            ),
        ),
    ),
    index_codes=(IndexCode.of("GAMUTS", "5529", "diffuse hepatic calcifications"),),
)


@pytest.mark.parametrize(
    ("obj", "field"),
    [
        (SEED_LIKE, "oifm_id"),
        (SEED_LIKE, "attributes"),
        (SEED_LIKE.attributes[0], "oifma_id"),
        (SEED_LIKE.attributes[0].values[0], "value_code"),  # type: ignore[union-attr]
        (SEED_LIKE.index_codes[0], "code"),
        (SEED_LIKE.contributors[0], "name"),
        (Person("Ada"), "email"),
        (NumericAttribute("OIFMA_TEST_000001", "size"), "unit"),
    ],
)
def test_frozen(obj: object, field: str) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(obj, field, "changed")


def test_no_new_attributes_and_hashable() -> None:
    with pytest.raises((AttributeError, TypeError)):
        SEED_LIKE.extra = 1  # type: ignore[attr-defined]
    # equal models are equal values with equal hashes, usable as set members and dict keys
    copy = dataclasses.replace(SEED_LIKE)
    assert copy == SEED_LIKE and copy is not SEED_LIKE
    assert hash(copy) == hash(SEED_LIKE)
    assert len({copy, SEED_LIKE}) == 1
    assert dataclasses.replace(SEED_LIKE, name="other") != SEED_LIKE


def test_replace_validates_again() -> None:
    with pytest.raises(InvalidIdentifierError):
        dataclasses.replace(SEED_LIKE, oifm_id="OIFM_BAD")


def test_entities() -> None:
    entities = SEED_LIKE.entities()
    assert [(kind, id_, label) for kind, id_, label, _codes in entities] == [
        ("finding", "OIFM_GMTS_005529", "diffuse hepatic calcifications"),
        ("attribute", "OIFMA_GMTS_963679", "presence"),
        ("value", "OIFMA_GMTS_963679.0", "absent"),
    ]
    assert entities[2][3] == (IndexCode("RADLEX", "RID28473", "absent"),)


def test_attribute_kinds_and_defaults() -> None:
    choice = ChoiceAttribute("OIFMA_TEST_000001", "presence", ())
    numeric = NumericAttribute("OIFMA_TEST_000002", "size")
    assert (choice.kind, numeric.kind) == ("choice", "numeric")
    assert (choice.required, choice.max_selected) == (False, 1)
    assert (numeric.minimum, numeric.maximum, numeric.unit, numeric.required) == (
        None,
        None,
        None,
        False,
    )


# -- index codes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "system", ["SNOMEDCT", "SNOMED", "snomedct", "SNOMED CT", "SNOMED-CT", "SNOMEDCT_US", "SCT"]
)
def test_index_code_folds_snomed_spellings(system: str) -> None:
    code = IndexCode.of(system, "2667000", "Absent (qualifier value)")
    assert code == IndexCode("SNOMED", "2667000", "Absent (qualifier value)")
    assert code.system == "SNOMED"


@pytest.mark.parametrize(
    ("system", "key"), [("RadLex", "RADLEX"), ("RID", "RADLEX"), ("GMTS", "GAMUTS")]
)
def test_index_code_resolves_aliases(system: str, key: str) -> None:
    assert IndexCode.of(system, "1").system == key


def test_unknown_system_is_kept() -> None:
    code = IndexCode.of("FOOBAR", "X-12", "thing")
    assert (code.system, code.code, code.display) == ("FOOBAR", "X-12", "thing")
    assert code.iri == "https://w3id.org/ontomap/code/FOOBAR/X-12"
    assert code.curie == "foobar:X-12"
    assert not code.code_system.known
    spaced = IndexCode.of("My Local Codes", "7")
    assert spaced.system == "MY_LOCAL_CODES"
    assert spaced.iri == "https://w3id.org/ontomap/code/MY_LOCAL_CODES/7"


def test_index_code_strips_and_drops_empty_display() -> None:
    assert IndexCode.of("RADLEX", " RID5791 ", "  enlarged ") == IndexCode(
        "RADLEX", "RID5791", "enlarged"
    )
    assert IndexCode.of("RADLEX", "RID5791", "").display is None
    assert IndexCode.of("RADLEX", "RID5791", "   ").display is None
    assert IndexCode.of("RADLEX", "RID5791").display is None


@pytest.mark.parametrize(
    ("system", "code", "curie", "iri"),
    [
        ("RADLEX", "RID5791", "radlex:RID5791", "http://radlex.org/RID/RID5791"),
        ("SNOMED", "2667000", "sct:2667000", "http://snomed.info/id/2667000"),
        ("SNOMEDCT", "263768009", "sct:263768009", "http://snomed.info/id/263768009"),
        ("LOINC", "9269-2", "loinc:9269-2", "http://loinc.org/rdf/9269-2"),
        ("LOINC", "LA6553-7", "loinc:LA6553-7", "http://loinc.org/rdf/LA6553-7"),
        ("GAMUTS", "5529", "gamuts:5529", "https://w3id.org/ontomap/code/GAMUTS/5529"),
        (
            "RADELEMENT",
            "RDES195",
            "radelement:RDES195",
            "https://w3id.org/ontomap/code/RADELEMENT/RDES195",
        ),
        (
            "ICD10CM",
            "K76.89",
            "icd10cm:K76.89",
            "http://purl.bioontology.org/ontology/ICD10CM/K76.89",
        ),
    ],
)
def test_curie_and_iri(system: str, code: str, curie: str, iri: str) -> None:
    index_code = IndexCode.of(system, code)
    assert index_code.curie == curie
    assert index_code.iri == iri


def test_iri_escapes_characters_not_allowed_in_an_iri() -> None:
    code = IndexCode.of("FOOBAR", "a b/c#d")
    assert code.iri == "https://w3id.org/ontomap/code/FOOBAR/a%20b%2Fc%23d"


def test_str() -> None:
    assert str(IndexCode.of("SNOMEDCT", "2667000", "Absent")) == "SNOMED 2667000 Absent"
    assert str(IndexCode.of("RADLEX", "RID5791")) == "RADLEX RID5791"
