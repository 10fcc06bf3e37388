"""Tests of the code-system registry and the check-digit rules."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
from conftest import ROOT

from ontomap.errors import UnknownCodeSystemError
from ontomap.terminology import (
    GENERIC_CODE_NAMESPACE,
    default_registry,
    loinc_check_valid,
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
