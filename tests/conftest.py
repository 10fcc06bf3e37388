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
        pytest.skip(
            f"shared OIFM corpus not found at {path} (../shared/corpus from the project root)"
        )
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


@pytest.fixture(scope="session")
def corpus_report(corpus_defs: Path):
    """The JSON corpus read once per session (a :class:`ontomap.readers.ReadReport`)."""
    from ontomap.readers import read_models

    return read_models([corpus_defs])


@pytest.fixture(scope="session")
def corpus_graph(corpus_report):
    """The knowledge graph of the whole JSON corpus, built once per session."""
    from ontomap.graph import GraphBuilder

    return GraphBuilder().graph(source.model for source in corpus_report.models)


@pytest.fixture(scope="session")
def corpus_sparql(corpus_graph):
    """An in-memory pyoxigraph store holding :func:`corpus_graph`, for SPARQL counts."""
    import pyoxigraph as ox

    store = ox.Store()
    store.bulk_load(corpus_graph.ntriples(), format=ox.RdfFormat.N_TRIPLES)
    return store


@pytest.fixture(scope="session")
def corpus_store_graph(corpus_store: Path):
    """Everything :func:`corpus_store` holds, read back once per session as a KnowledgeGraph."""
    from ontomap.store import Store

    with Store(corpus_store, read_only=True) as store:
        return store.graph()


@pytest.fixture(scope="session")
def examples_graph():
    """The knowledge graph of the bundled examples in ``ontologies/examples``."""
    from ontomap.graph import GraphBuilder
    from ontomap.readers import read_models

    report = read_models([EXAMPLES])
    assert report.ok and len(report.models) == 3, [str(d) for d in report.diagnostics]
    return GraphBuilder().graph(source.model for source in report.models)
