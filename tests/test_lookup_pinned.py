"""Details of :mod:`ontomap.lookup` pinned with expectations written by hand: the wording of
its errors, how codes are read, and its result values (beside tests/test_lookup.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import EXAMPLES

from ontomap.lookup import (
    AmbiguousCodeError,
    CodeInfo,
    CodeNotFoundError,
    DescendantCode,
    Descendants,
    MatchContext,
    ReleaseCode,
    ReleaseStatus,
    UnrecognizedCodeError,
    code_from_iri,
    lookup,
    parse_code,
)
from ontomap.model import IndexCode
from ontomap.readers import read_models
from ontomap.store import Store
from ontomap.terminology import Registry, shipped_registry_path, use_registry


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path = tmp_path_factory.mktemp("pinned-kg")
    with Store(path) as store:
        store.load(read_models([EXAMPLES]).models)
    with Store(path, read_only=True) as store:
        yield store


def test_a_long_text_is_cut_to_eighty_characters_in_a_message() -> None:
    with pytest.raises(UnrecognizedCodeError) as caught:
        parse_code("x" * 200)
    # repr is 202 characters: its first 79 (the quote and 78 x), an ellipsis, the last quote
    assert str(caught.value).startswith("'" + "x" * 78 + "…' (200 characters) matches no ")


def test_an_ambiguous_bare_code_suggests_the_first_system_of_the_registry() -> None:
    """A bare 263768009 fits SNOMED and GAMUTS (README); SNOMED comes first in the TOML file."""
    with pytest.raises(AmbiguousCodeError) as caught:
        parse_code("263768009")
    assert [c.system for c in caught.value.candidates] == ["SNOMED", "GAMUTS"]
    assert str(caught.value).endswith("; write it as a CURIE, e.g. sct:263768009")


def test_not_found_says_whether_the_codes_under_it_were_looked_for() -> None:
    code = IndexCode.of("SNOMED", "263768009")
    plain = str(CodeNotFoundError("sct:263768009", code))
    assert plain == (
        "sct:263768009 (SNOMED 263768009) is not used by any finding model in the store; "
        "check the code, or build the store from the models that use it"
    )
    under = str(CodeNotFoundError("sct:263768009", code, descendants=True))
    assert ", nor is any code under it in the release" in under
    assert "under it" not in plain


@pytest.mark.parametrize(
    ("text", "system"),
    [
        ("http://radlex.org/|RID5791", "RADLEX"),  # a FHIR system URI with a trailing slash
        ("http://snomed.info/sct/|263768009", "SNOMED"),
        ("http://radlex.org|RID5791", "RADLEX"),
    ],
)
def test_a_fhir_system_is_read_with_or_without_its_trailing_slash(text: str, system: str) -> None:
    code = parse_code(text)
    assert (code.system, code.code) == (system, text.rsplit("|", 1)[1])


def test_a_match_context_names_its_place() -> None:
    value = MatchContext("value", "larger", "change from prior", 1994, 1994, True, True)
    assert str(value) == 'value "larger" of "change from prior"'
    finding = MatchContext("finding", "liver", None, 1, 1, False, True)
    assert str(finding) == 'finding "liver"'


def test_code_info_counts_nothing_unless_told() -> None:
    info = CodeInfo("SNOMED", "263768009", "sct:263768009", "http://snomed.info/id/263768009", ())
    assert (info.uses, info.contexts) == (0, 0)


def test_a_page_refuses_negative_bounds(examples: Store) -> None:
    result = lookup(examples, "RADLEX:RID5791")
    assert len(result.page(0, None)) == len(result.used_by) == 2  # two examples use RID5791
    assert len(result.page(0, 0)) == 0 and len(result.page(1, 1)) == 1
    for offset, limit in ((0, -1), (-1, 1), (-1, None)):
        with pytest.raises(ValueError, match="must not be negative"):
            result.page(offset, limit)


def test_the_kinds_of_uses_are_counted(examples: Store) -> None:
    # RID5791 is the value "larger" of "change from prior" in the seed and in the JSON example
    assert lookup(examples, "RADLEX:RID5791").kinds == {"value": 2}
    # RID1301 "lung" is the JSON example's anatomic location, nothing else
    assert lookup(examples, "radlex:RID1301").kinds == {"location": 1}


@pytest.mark.parametrize(
    "value",
    [
        ReleaseCode("SNOMED", "1", "sct:1", None),
        ReleaseStatus("SNOMED", "2025", True, "active", True, None),
        DescendantCode("SNOMED", "1", "sct:1", None, (), 0, 0),
        Descendants("SNOMED", "2025", 0, ()),
    ],
)
def test_release_answers_are_frozen_values(value: object) -> None:
    field = dataclasses.fields(value)[0].name  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(value, field, "other")
    assert not hasattr(value, "__dict__")
    assert value == dataclasses.replace(value)  # type: ignore[type-var]
    hash(value)


def test_a_missing_code_in_the_examples_is_not_found(examples: Store) -> None:
    with pytest.raises(CodeNotFoundError) as caught:
        lookup(examples, "sct:404684003")
    assert caught.value.code == IndexCode.of("SNOMED", "404684003")


def test_not_found_with_descendants_reads_as_one_sentence() -> None:
    code = IndexCode.of("SNOMED", "263768009")
    message = str(CodeNotFoundError("sct:263768009", code, descendants=True))
    assert "nor is any code under it in the release; check the code" in message


def test_a_code_iri_is_read_with_the_registry_in_use(tmp_path: Path) -> None:
    """``use_registry`` names codes for its block (ontomap.terminology); a concept IRI of a
    system of that registry is read inside it, and not after it."""
    path = tmp_path / "mine.toml"
    path.write_text(
        '[systems.ACRCOMMON]\nlabel = "ACR Common"\nprefix = "acrcommon"\n'
        'namespace = "https://example.org/acr-common/"\n',
        encoding="utf-8",
    )
    assert code_from_iri("http://radlex.org/RID/RID5791") == IndexCode.of("RADLEX", "RID5791")
    with use_registry(Registry.load(shipped_registry_path(), path)):
        assert code_from_iri("https://example.org/acr-common/7") == IndexCode.of("ACRCOMMON", "7")
        assert parse_code("https://example.org/acr-common/7").system == "ACRCOMMON"
    assert code_from_iri("https://example.org/acr-common/7") is None
