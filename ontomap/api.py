"""The Python API in one place: read models, build the graph, open a store, export.

>>> from ontomap.api import read_models, build_graph, export
>>> report = read_models(["ontologies/examples"])
>>> graph = build_graph(report)
>>> export(graph, "findings.ttl")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ontomap.exporters import EXPORTERS, export, serialize
from ontomap.graph import GraphBuilder, KnowledgeGraph, models_from_triples
from ontomap.model import FindingModel
from ontomap.readers import ReadReport, iter_models, read_file, read_models
from ontomap.readers.common import SourceModel
from ontomap.store import Store, default_store_path
from ontomap.vocab import DEFAULT_BASE_IRI

__all__ = [
    "DEFAULT_BASE_IRI",
    "EXPORTERS",
    "KnowledgeGraph",
    "ReadReport",
    "Store",
    "build_graph",
    "default_store_path",
    "export",
    "iter_models",
    "models_from_triples",
    "read_file",
    "read_models",
    "serialize",
]


def build_graph(
    models: ReadReport | Iterable[FindingModel | SourceModel] | Path | str,
    base_iri: str = DEFAULT_BASE_IRI,
) -> KnowledgeGraph:
    """The knowledge graph of some models: a :class:`ReadReport`, models, or a path to read."""
    if isinstance(models, Path | str):
        models = read_models([models])
    if isinstance(models, ReadReport):
        models = models.models
    plain = (m.model if isinstance(m, SourceModel) else m for m in models)
    return GraphBuilder(base_iri).graph(plain)
