"""Shared fixtures: the project's paths and the shared OIFM corpus (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "ontologies" / "examples"
RESOURCES = Path(__file__).resolve().parent / "resources"
CORPUS = ROOT.parent / "shared" / "corpus" / "findingmodels"
SEED_MD = EXAMPLES / "diffuse_hepatic_calcifications.md"


def _corpus_part(name: str) -> Path:
    path = CORPUS / name
    if not path.is_dir():
        pytest.skip(f"shared OIFM corpus not found at {path} (../shared/corpus from the project root)")
    return path


@pytest.fixture(scope="session")
def corpus_defs() -> Path:
    """The corpus's 2,382 JSON finding models."""
    return _corpus_part("defs")


@pytest.fixture(scope="session")
def corpus_text() -> Path:
    """The corpus's 402 Markdown renderings."""
    return _corpus_part("text")


@pytest.fixture(scope="session")
def corpus_store(tmp_path_factory: pytest.TempPathFactory, corpus_defs: Path):
    """A store holding the whole JSON corpus, built once per test session (read-only use)."""
    from ontomap.readers import read_models
    from ontomap.store import Store

    path = tmp_path_factory.mktemp("corpus-kg")
    report = read_models([corpus_defs])
    with Store(path) as store:
        store.load(report.models)
    return path
