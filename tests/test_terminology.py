"""Tests of the code-system registry and the check-digit rules."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
from conftest import ROOT

from ontomap.errors import RegistryError, UnknownCodeSystemError
from ontomap.terminology import (
    GENERIC_CODE_NAMESPACE,
    CodeSystem,
    Registry,
    default_registry,
    loinc_check_valid,
    standard_registry,
    verhoeff_valid,
)

TOML = ROOT / "ontologies" / "terminologies.toml"


@pytest.fixture(scope="module")
def toml_systems() -> dict[str, dict]:
    with TOML.open("rb") as handle:
        return tomllib.load(handle)["systems"]


def test_registry_is_the_toml_file(toml_systems: dict[str, dict]) -> None:
    registry = default_registry()
    assert registry.keys == tuple(toml_systems)
    assert {"RADLEX", "SNOMED", "LOINC", "GAMUTS", "RADELEMENT"} <= set(registry.keys)
    for key, entry in toml_systems.items():
        system = registry.get(key)
        assert system.key == key
        assert system.label == entry["label"]
        assert system.prefix == entry["prefix"]
        assert system.namespace == entry["namespace"]
        assert system.fhir_system == entry.get("fhir_system")
        assert system.pattern == entry.get("pattern")
        assert system.check_digit == entry.get("check_digit")
        assert system.aliases == tuple(entry.get("aliases", ()))
        assert system.own_namespace == entry.get("own_namespace", True)
        assert system.known
        assert system.scheme_iri == f"https://w3id.org/ontomap/scheme/{key}"


def test_own_rdf_namespaces() -> None:
    registry = default_registry()
    assert registry.get("RADLEX").namespace == "http://radlex.org/RID/"
    assert registry.get("SNOMED").namespace == "http://snomed.info/id/"
    assert registry.get("LOINC").namespace == "http://loinc.org/rdf/"
    assert registry.get("SNOMED").fhir_system == "http://snomed.info/sct"


def test_every_alias_resolves_to_its_key(toml_systems: dict[str, dict]) -> None:
    registry = default_registry()
    for key, entry in toml_systems.items():
        for name in (key, entry["prefix"], *entry.get("aliases", ())):
            assert registry.get(name).key == key, name
            assert registry.find(name.lower()).key == key, name  # type: ignore[union-attr]


@pytest.mark.parametrize("name", ["SNOMEDCT", "snomedct", "Snomed-CT", "SNOMED CT", " SNOMED_CT "])
def test_snomedct_is_snomed(name: str) -> None:
    assert default_registry().get(name).key == "SNOMED"


def test_prefixes_and_keys_are_unique(toml_systems: dict[str, dict]) -> None:
    prefixes = [entry["prefix"] for entry in toml_systems.values()]
    assert len(set(prefixes)) == len(prefixes)
    owner: dict[str, str] = {}
    for key, entry in toml_systems.items():
        for name in (key, entry["prefix"], *entry.get("aliases", ())):
            normal = re.sub(r"[\s_-]+", "", name).upper()
            assert owner.setdefault(normal, key) == key, f"{name!r} names {owner[normal]} and {key}"


def test_by_prefix() -> None:
    registry = default_registry()
    assert registry.by_prefix("sct").key == "SNOMED"  # type: ignore[union-attr]
    assert registry.by_prefix("RADLEX").key == "RADLEX"  # type: ignore[union-attr]
    assert registry.by_prefix("nope") is None


def test_get_unknown_raises_with_the_known_systems() -> None:
    with pytest.raises(UnknownCodeSystemError) as info:
        default_registry().get("FOOBAR")
    assert info.value.system == "FOOBAR"
    assert info.value.known == sorted(default_registry().keys)
    assert "FOOBAR" in str(info.value) and "RADLEX" in str(info.value)
    assert default_registry().find("FOOBAR") is None


@pytest.mark.parametrize(
    ("name", "key"),
    [("FOOBAR", "FOOBAR"), ("foo bar", "FOO_BAR"), ("Local-Codes v2", "LOCAL_CODES_V2")],
)
def test_unknown_system_gets_a_generic_namespace(name: str, key: str) -> None:
    system = default_registry().resolve(name)
    assert system.key == key
    assert not system.known and not system.own_namespace
    assert system.namespace == f"https://w3id.org/ontomap/code/{key}/"
    assert system.namespace.startswith(GENERIC_CODE_NAMESPACE)
    assert system.code_iri("X1") == f"https://w3id.org/ontomap/code/{key}/X1"
    assert system.is_well_formed("anything at all")  # no pattern: never rejected, never dropped


def test_resolve_known_and_unknown_keep_identity() -> None:
    registry = default_registry()
    assert registry.resolve("SNOMEDCT") is registry.get("SNOMED")
    assert registry.resolve("FOOBAR") is registry.resolve("FOOBAR")


# -- code syntax and check digits -------------------------------------------------------------


def _corpus_codes(corpus_defs: Path, systems: set[str]) -> set[str]:
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("system") in systems and "code" in node:
                found.add(node["code"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in corpus_defs.glob("*.fm.json"):
        walk(json.loads(path.read_text(encoding="utf-8")))
    return found


def test_real_snomed_ids_pass_verhoeff_and_one_changed_digit_fails(corpus_defs: Path) -> None:
    codes = _corpus_codes(corpus_defs, {"SNOMED", "SNOMEDCT"})
    assert len(codes) >= 50, codes
    snomed = default_registry().get("SNOMED")
    for code in sorted(codes):
        assert verhoeff_valid(code), code
        assert snomed.is_well_formed(code), code
        last = int(code[-1])
        for other in range(10):
            if other != last:
                changed = code[:-1] + str(other)
                assert not verhoeff_valid(changed), changed
                assert not snomed.is_well_formed(changed), changed


def test_verhoeff_detects_adjacent_transpositions(corpus_defs: Path) -> None:
    for code in sorted(_corpus_codes(corpus_defs, {"SNOMED", "SNOMEDCT"})):
        for i in range(len(code) - 1):
            if code[i] != code[i + 1]:
                swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
                assert not verhoeff_valid(swapped), (code, swapped)


@pytest.mark.parametrize(
    "code", ["2667000", "52101004", "705057003", "263768009", "404684003", "138875005"]
)
def test_known_snomed_ids(code: str) -> None:
    assert verhoeff_valid(code)


@pytest.mark.parametrize("code", ["", "12a4", "2667001", "-2667000"])
def test_verhoeff_rejects(code: str) -> None:
    assert not verhoeff_valid(code)


@pytest.mark.parametrize("code", ["9269-2", "35088-4", "9267-6", "9268-4", "9270-0", "2160-0"])
def test_loinc_mod10_valid(code: str) -> None:
    assert loinc_check_valid(code)
    assert default_registry().get("LOINC").is_well_formed(code)


@pytest.mark.parametrize(
    "code", ["9269-3", "9269-0", "35088-5", "2160-1", "9269", "9269-22", "x9269-2"]
)
def test_loinc_mod10_invalid(code: str) -> None:
    assert not loinc_check_valid(code)
    assert not default_registry().get("LOINC").is_well_formed(code)


def test_corpus_loinc_codes_are_well_formed(corpus_defs: Path) -> None:
    codes = _corpus_codes(corpus_defs, {"LOINC"})
    assert "9269-2" in codes
    loinc = default_registry().get("LOINC")
    assert [c for c in sorted(codes) if not loinc.is_well_formed(c)] == []


@pytest.mark.parametrize(
    ("system", "good", "bad"),
    [
        ("RADLEX", "RID5791", "5791"),
        ("RADLEX", "RID28473", "RID"),
        ("GAMUTS", "5529", "G5529"),
        ("RADELEMENT", "RDES195", "RDE"),
        ("SNOMED", "2667000", "02667000"),
        ("ICD10CM", "K76.89", "K7"),
    ],
)
def test_patterns(system: str, good: str, bad: str) -> None:
    code_system = default_registry().get(system)
    assert code_system.is_well_formed(good)
    assert not code_system.is_well_formed(bad)
    assert re.fullmatch(code_system.pattern or "", good)


# -- code systems are values; the registry's rules on namespaces and duplicates --------------


def _system(key: str, prefix: str, namespace: str) -> CodeSystem:
    return CodeSystem(key, key.title(), prefix, namespace, None, None)


def test_code_systems_are_frozen_slotted_values() -> None:
    import dataclasses

    system = _system("ONE", "one", "https://example.org/one/")
    with pytest.raises(dataclasses.FrozenInstanceError):
        system.prefix = "two"  # type: ignore[misc]
    assert not hasattr(system, "__dict__")
    assert system == _system("ONE", "one", "https://example.org/one/")
    assert len({system, _system("ONE", "one", "https://example.org/one/")}) == 1


def test_a_system_has_its_own_namespace_unless_it_says_otherwise(tmp_path: Path) -> None:
    """README: ``own_namespace`` is true where the file does not say (the field's default)."""
    assert _system("ONE", "one", "https://example.org/one/").own_namespace
    path = tmp_path / "mine.toml"
    path.write_text(
        '[systems.ONE]\nlabel = "One"\nprefix = "one"\nnamespace = "https://example.org/one/"\n'
        '[systems.TWO]\nlabel = "Two"\nprefix = "two"\nnamespace = "https://example.org/two/"\n'
        "own_namespace = false\n",
        encoding="utf-8",
    )
    registry = Registry.load(path)
    assert registry.get("ONE").own_namespace and not registry.get("TWO").own_namespace


@pytest.mark.parametrize("reverse", [False, True])
def test_an_iri_belongs_to_the_longest_namespace_that_fits(reverse: bool) -> None:
    outer = _system("OUTER", "outer", "https://example.org/a/")
    inner = _system("INNER", "inner", "https://example.org/a/b/")
    registry = Registry([inner, outer] if reverse else [outer, inner])
    assert registry.parse_iri("https://example.org/a/b/1") == (inner, "1")
    assert registry.parse_iri("https://example.org/a/c") == (outer, "c")
    assert registry.compact("https://example.org/a/b/1") == "inner:1"


def test_a_namespace_alone_is_no_code_however_long() -> None:
    namespace = "https://example.org/" + "n" * 300 + "/"  # longer than any cached small int
    registry = Registry([_system("LONG", "long", namespace)])
    assert registry.parse_iri(namespace) is None
    assert registry.parse_iri(namespace + "x") == (registry.get("LONG"), "x")


def test_the_converter_skips_a_repeated_prefix_or_namespace_and_goes_on() -> None:
    first = _system("FIRST", "aa", "https://example.org/1/")
    same_prefix = _system("SECOND", "aa", "https://example.org/2/")
    same_namespace = _system("THIRD", "bb", "https://example.org/1/")
    last = _system("LAST", "cc", "https://example.org/3/")
    converter = Registry([first, same_prefix, same_namespace, last]).converter
    assert converter.expand("aa:1") == "https://example.org/1/1"
    assert converter.expand("cc:1") == "https://example.org/3/1"  # after the duplicates
    assert converter.expand("bb:1") is None
    assert converter.compress("https://example.org/2/1") is None


def test_a_missing_registry_file_says_why(tmp_path: Path) -> None:
    path = tmp_path / "missing.toml"
    with pytest.raises(RegistryError) as caught:
        Registry.load(path)
    assert str(caught.value) == f"cannot read the registry {path}: No such file or directory"


def test_the_standard_registry_is_read_once() -> None:
    assert standard_registry() is standard_registry()


# -- check digits: anchors from outside ontomap and the guarantees of each scheme --------------


def test_verhoeff_worked_example() -> None:
    """The check digit of 236 is 3 (Verhoeff's scheme as usually worked through)."""
    assert verhoeff_valid("2363")
    assert [d for d in "0123456789" if verhoeff_valid("236" + d)] == ["3"]


#: Bodies with every digit at every position from the right (SNOMED CT IDs keep "0" or "1" in
#: the partition digits, so the corpus alone never puts an 8 two places from the right), and
#: bodies as long as SNOMED CT's longest (18 digits with the check digit).
BODIES = [f"{n:03d}" for n in range(1000)] + ["12345678901234567", "98765432109876543"]


def test_verhoeff_finds_every_single_error_and_adjacent_swap() -> None:
    """Verhoeff's guarantees: one check digit per body; any one digit changed, or two unequal
    neighbours swapped, makes the number invalid."""
    for body in BODIES:
        valid = [body + d for d in "0123456789" if verhoeff_valid(body + d)]
        assert len(valid) == 1, body
        (code,) = valid
        for i, digit in enumerate(code):
            for other in "0123456789".replace(digit, ""):
                assert not verhoeff_valid(code[:i] + other + code[i + 1 :]), (code, i, other)
        for i in range(len(code) - 1):
            if code[i] != code[i + 1]:
                swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
                assert not verhoeff_valid(swapped), (code, i)


@pytest.mark.parametrize(
    "code",
    # LOINC's published codes: glucose, hemoglobin, HbA1c, systolic BP, heart rate, body weight,
    # body height, BMI (a 5 doubled in 2345-7 and 39156-5: 10 counts as 1 + 0)
    ["2345-7", "718-7", "4548-4", "8480-6", "8867-4", "29463-7", "8302-2", "39156-5"],
)
def test_published_loinc_codes_pass_and_any_other_check_digit_fails(code: str) -> None:
    assert loinc_check_valid(code)
    body = code[:-1]
    assert [d for d in "0123456789" if loinc_check_valid(body + d)] == [code[-1]]
