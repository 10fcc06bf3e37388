"""Registries of code systems: the user's own ($ONTOMAP_REGISTRY, ~/.config/ontomap/…), any
registry loaded from a file and installed with use_registry, and CURIE/IRI conversion."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import tomllib
from pathlib import Path

import curies
import pytest
from conftest import EXAMPLES, ROOT

from ontomap.errors import RegistryError
from ontomap.model import IndexCode
from ontomap.terminology import RESOLVE_CACHE_SIZE, Registry, default_registry, use_registry

REGISTRY = """
[systems.ACRCOMMON]
label = "ACR Common"
aliases = ["ACR"]
prefix = "acrcommon"
namespace = "https://example.org/acr-common/"
pattern = '^[0-9]+$'
"""


def _cli(*args: object, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ontomap", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        timeout=300,
        env=env,
    )


def _model(folder: Path) -> Path:
    model = json.loads((EXAMPLES / "solitary_pulmonary_nodule.fm.json").read_text("utf-8"))
    model["index_codes"] = [{"system": "ACR", "code": "1234", "display": "acr thing"}]
    path = folder / "m.fm.json"
    path.write_text(json.dumps(model), "utf-8")
    return path


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ONTOMAP_", "XDG_"))}
    env["HOME"] = str(tmp_path / "home")
    return {**env, **extra}


def test_without_a_registry_the_code_is_kept_under_the_generic_namespace(tmp_path: Path) -> None:
    done = _cli("export", _model(tmp_path), "-f", "nt", env=_env(tmp_path))
    assert done.returncode == 0, done.stderr.decode()
    assert b"<https://w3id.org/ontomap/code/ACR/1234>" in done.stdout
    assert b"unknown code system 'ACR'" in done.stderr
    assert b"ONTOMAP_REGISTRY" in done.stderr


def test_the_user_registry_names_the_system(tmp_path: Path) -> None:
    registry = tmp_path / "mine.toml"
    registry.write_text(REGISTRY, "utf-8")
    for env in (
        _env(tmp_path, ONTOMAP_REGISTRY=str(registry)),
        _env(tmp_path, XDG_CONFIG_HOME=str(tmp_path / "config")),
    ):
        config = tmp_path / "config" / "ontomap"
        config.mkdir(parents=True, exist_ok=True)
        (config / "terminologies.toml").write_text(REGISTRY, "utf-8")
        done = _cli("export", _model(tmp_path), "-f", "ttl", env=env)
        assert done.returncode == 0, done.stderr.decode()
        assert b"@prefix acrcommon: <https://example.org/acr-common/> ." in done.stdout
        assert b"acrcommon:1234" in done.stdout and b"unknown code system" not in done.stderr


def test_a_broken_registry_stops_with_its_name_and_line(tmp_path: Path) -> None:
    registry = tmp_path / "broken.toml"
    registry.write_text('[systems.X]\nlabel = "x"\nprefix = \n', "utf-8")
    done = _cli("export", _model(tmp_path), env=_env(tmp_path, ONTOMAP_REGISTRY=str(registry)))
    assert done.returncode == 2
    message = done.stderr.decode()
    assert str(registry) in message and "line 3" in message and "Traceback" not in message
    registry.write_text('[systems.X]\nlabel = "x"\n', "utf-8")
    done = _cli("export", _model(tmp_path), env=_env(tmp_path, ONTOMAP_REGISTRY=str(registry)))
    assert done.returncode == 2 and b"needs prefix, namespace" in done.stderr


# -- the registry as a value: loaded from any file, installed for a block ----------------------

OTHER = """
[systems.RADLEX]
label = "RadLex elsewhere"
aliases = ["RID"]
prefix = "rl"
namespace = "https://example.org/radlex/"

[systems.ACRCOMMON]
label = "ACR Common"
aliases = ["ACR"]
prefix = "acrcommon"
namespace = "https://example.org/acr-common/"
fhir_system = "https://example.org/fhir/acr-common"
"""
SHIPPED = ROOT / "ontologies" / "terminologies.toml"


def _toml(text: str) -> dict[str, dict]:
    return tomllib.loads(text)["systems"]


def test_a_loaded_registry_names_codes_inside_use_registry(tmp_path: Path) -> None:
    path = tmp_path / "other.toml"
    path.write_text(OTHER, "utf-8")
    other = Registry.load(path)
    systems = _toml(OTHER)
    assert other.keys == tuple(systems)
    shipped_radlex = _toml(SHIPPED.read_text("utf-8"))["RADLEX"]
    outside = IndexCode.of("RID", "RID5791")
    assert outside.iri == shipped_radlex["namespace"] + "RID5791"
    with use_registry(other) as registry:
        assert registry is other and default_registry() is other
        code = IndexCode.of("ACR", "1234")
        assert code.system == "ACRCOMMON"
        assert code.iri == systems["ACRCOMMON"]["namespace"] + "1234"
        assert code.curie == "acrcommon:1234"
        assert outside.iri == systems["RADLEX"]["namespace"] + "RID5791"
        assert outside.curie == "rl:RID5791"
        assert default_registry().find("https://example.org/fhir/acr-common").key == "ACRCOMMON"
    # outside the block, the shipped registry again; the interned codes did not leak across
    assert default_registry() is not other
    assert outside.iri == shipped_radlex["namespace"] + "RID5791"
    assert IndexCode.of("ACR", "1234").system == "ACR"
    assert other.iri(outside) == systems["RADLEX"]["namespace"] + "RID5791"
    assert other.curie(IndexCode.of("ACR", "1", registry=other)) == "acrcommon:1"


def test_use_registry_is_local_to_its_thread(tmp_path: Path) -> None:
    path = tmp_path / "other.toml"
    path.write_text(OTHER, "utf-8")
    other = Registry.load(path)
    seen: list[str] = []
    inside = threading.Event()
    checked = threading.Event()

    def elsewhere() -> None:
        inside.wait(10)
        seen.append(IndexCode.of("RADLEX", "RID1").iri)
        checked.set()

    thread = threading.Thread(target=elsewhere)
    thread.start()
    with use_registry(other):
        inside.set()
        checked.wait(10)
        assert IndexCode.of("RADLEX", "RID1").iri == "https://example.org/radlex/RID1"
    thread.join(10)
    assert seen == [_toml(SHIPPED.read_text("utf-8"))["RADLEX"]["namespace"] + "RID1"]


def test_later_files_replace_systems_of_the_same_key(tmp_path: Path) -> None:
    path = tmp_path / "other.toml"
    path.write_text(OTHER, "utf-8")
    registry = Registry.load(SHIPPED, path)
    assert registry.get("RADLEX").namespace == "https://example.org/radlex/"
    assert registry.get("SNOMED").prefix == _toml(SHIPPED.read_text("utf-8"))["SNOMED"]["prefix"]
    assert registry.keys == (*_toml(SHIPPED.read_text("utf-8")), "ACRCOMMON")


def test_a_missing_registry_file_is_a_registry_error(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match=r"missing\.toml"):
        Registry.load(tmp_path / "missing.toml")


def test_unknown_names_do_not_grow_the_registry_without_bound() -> None:
    registry = Registry.load(SHIPPED)
    first = registry.resolve("NOT A SYSTEM 0")
    assert registry.resolve("NOT A SYSTEM 0") is first  # remembered while recent
    for i in range(RESOLVE_CACHE_SIZE + 500):
        system = registry.resolve(f"NOT A SYSTEM {i}")
        assert not system.known and system.key == f"NOT_A_SYSTEM_{i}"
    info = registry._resolve.cache_info()
    assert info.currsize == RESOLVE_CACHE_SIZE
    # evicted, then resolved afresh: equal, not the same object
    again = registry.resolve("NOT A SYSTEM 0")
    assert again == first and again is not first
    # the shipped registry is untouched by this one
    assert default_registry() is not registry


# -- CURIEs and IRIs through curies ------------------------------------------------------------


def _prefix_spellings(entry: dict, key: str) -> set[str]:
    names = {entry["prefix"], key, *entry.get("aliases", ())}
    spellings = {s for n in names for s in (n, n.lower(), n.upper())}
    return {s for s in spellings if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", s)}


def test_expand_and_compact_follow_the_toml_file() -> None:
    registry = Registry.load(SHIPPED)
    for key, entry in _toml(SHIPPED.read_text("utf-8")).items():
        iri = entry["namespace"] + "12345"
        for spelling in _prefix_spellings(entry, key):
            assert registry.expand(f"{spelling}:12345") == iri, spelling
        assert registry.compact(iri) == f"{entry['prefix']}:12345"
        assert registry.parse_iri(iri) == (registry.get(key), "12345")
        assert registry.compact(entry["namespace"]) is None  # the namespace names no code
    converter = registry.converter
    assert converter is registry.converter  # built once
    assert registry.expand("nosuch:1") is None and registry.compact("https://example.org/1") is None
    assert registry.expand("radlex:") is None and registry.expand("RID5791") is None


def test_the_converter_knows_every_spelling_of_the_toml_file() -> None:
    converter = Registry.load(SHIPPED).converter
    for key, entry in _toml(SHIPPED.read_text("utf-8")).items():
        for spelling in _prefix_spellings(entry, key):
            assert converter.expand(f"{spelling}:9") == entry["namespace"] + "9", spelling
        assert converter.compress(entry["namespace"] + "9") == f"{entry['prefix']}:9"


def test_generic_namespace_iris_parse_to_their_system() -> None:
    registry = Registry.load(SHIPPED)
    assert registry.parse_iri("https://w3id.org/ontomap/code/ACR/12%2034") == (
        registry.resolve("ACR"),
        "12 34",
    )
    assert registry.parse_iri("https://w3id.org/ontomap/code/ACR/") is None
    # GAMUTS is named under the generic namespace: its own namespace wins
    gamuts = _toml(SHIPPED.read_text("utf-8"))["GAMUTS"]
    assert registry.compact(gamuts["namespace"] + "77") == f"{gamuts['prefix']}:77"


def test_corpus_codes_compact_and_expand_back(corpus_defs: Path) -> None:
    shipped = _toml(SHIPPED.read_text("utf-8"))
    by_name = {}
    for key, entry in shipped.items():
        for name in (key, *entry.get("aliases", ())):
            by_name[re.sub(r"[\s_-]+", "", name).upper()] = entry
    registry = Registry.load(SHIPPED)
    # the reference: a curies converter made here from the file's prefixes and namespaces
    reference = curies.Converter.from_prefix_map(
        {entry["prefix"]: entry["namespace"] for entry in shipped.values()}
    )
    seen = 0
    for path in sorted(corpus_defs.glob("*.fm.json")):
        for item in _index_codes(json.loads(path.read_text("utf-8"))):
            entry = by_name.get(re.sub(r"[\s_-]+", "", item["system"]).upper())
            if entry is None:
                continue
            code = item["code"].strip()
            iri = IndexCode.of(item["system"], item["code"], registry=registry).iri
            assert registry.parse_iri(iri) == (registry.get(entry["prefix"]), code)
            if re.fullmatch(r"[A-Za-z0-9.-]+", code):
                assert iri == reference.expand(f"{entry['prefix']}:{code}")
                assert registry.compact(iri) == reference.compress(iri)
                assert registry.expand(reference.compress(iri) or "") == iri
            seen += 1
    assert seen > 50_000


def _index_codes(value: object) -> list[dict]:
    """Every ``{"system", "code"}`` object anywhere in a model's JSON."""
    if isinstance(value, dict):
        found = [value] if {"system", "code"} <= value.keys() else []
        return found + [c for v in value.values() for c in _index_codes(v)]
    if isinstance(value, list):
        return [c for v in value for c in _index_codes(v)]
    return []
