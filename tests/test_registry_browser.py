"""Tests of the registry's ``browser`` entries: read from the TOML, checked, and filled in."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from conftest import ROOT

from ontomap.errors import RegistryError
from ontomap.terminology import Registry, default_registry

TOML = ROOT / "ontologies" / "terminologies.toml"


def test_browsers_are_the_toml_entries() -> None:
    with TOML.open("rb") as handle:
        systems = tomllib.load(handle)["systems"]
    registry = default_registry()
    for key, entry in systems.items():
        assert registry.get(key).browser == entry.get("browser")
    # the three terminologies with a public browser have one
    assert {k for k, e in systems.items() if "browser" in e} == {"RADLEX", "SNOMED", "LOINC"}


def test_browser_url_fills_in_the_code() -> None:
    registry = default_registry()
    assert registry.get("RADLEX").browser_url("RID5791") == "https://radlex.org/RID/RID5791"
    assert (
        registry.get("SNOMED").browser_url("10200004")
        == "https://browser.ihtsdotools.org/?perspective=full&conceptId1=10200004"
    )
    assert registry.get("LOINC").browser_url("LP12345-6") == "https://loinc.org/LP12345-6"
    assert registry.get("GAMUTS").browser_url("1234") is None
    # a code with characters a URL cannot carry as they are is percent-encoded (RFC 3986)
    assert registry.get("RADLEX").browser_url("a b/&c") == "https://radlex.org/RID/a%20b%2F%26c"


def _registry(tmp_path: Path, browser: str) -> Path:
    path = tmp_path / "mine.toml"
    path.write_text(
        "[systems.ACME]\n"
        'label = "Acme"\nprefix = "acme"\nnamespace = "https://example.org/acme/"\n'
        f"browser = {browser}\n",
        encoding="utf-8",
    )
    return path


def test_a_user_browser_is_read(tmp_path: Path) -> None:
    path = _registry(tmp_path, '"https://example.org/acme?c={code}"')
    system = Registry.load(path).get("ACME")
    assert system.browser_url("42") == "https://example.org/acme?c=42"


@pytest.mark.parametrize(
    "browser",
    ['"https://example.org/acme"', '"ftp://example.org/{code}"', "42", '"{code}"'],
)
def test_a_bad_browser_names_the_file_and_system(tmp_path: Path, browser: str) -> None:
    path = _registry(tmp_path, browser)
    with pytest.raises(RegistryError, match=r"mine\.toml: \[systems\.ACME\] browser must be"):
        Registry.load(path)
