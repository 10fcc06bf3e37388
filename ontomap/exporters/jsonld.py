"""JSON-LD exporter: one node object per subject, IRIs compacted with a @context."""

from __future__ import annotations

import json
from typing import Any, BinaryIO

import pyoxigraph as ox

from ontomap.graph import KnowledgeGraph
from ontomap.namespaces import Compactor, Term

_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def write_jsonld(graph: KnowledgeGraph, handle: BinaryIO) -> None:
    """JSON-LD 1.1 in compacted form: ``@context`` maps the prefixes used, ``@graph`` lists one
    node per subject in canonical order; literals keep their datatype."""
    split = Compactor(graph.prefixes).split
    used: set[str] = set()

    def compact(value: str) -> str:
        """``value`` as a CURIE (any non-empty local name), else the IRI itself."""
        found = split(value)
        if found is None:
            return value
        used.add(found[0])
        return f"{found[0]}:{found[1]}"

    nodes: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    current_subject: Term | None = None
    for triple in graph.triples():
        if triple.subject != current_subject:
            current_subject = triple.subject
            subject = triple.subject
            if isinstance(subject, ox.NamedNode):
                label = compact(subject.value)
            elif isinstance(subject, ox.BlankNode):
                label = f"_:{subject.value}"
            else:
                raise _triple_term(subject)
            current = {"@id": label}
            nodes.append(current)
        assert current is not None
        obj = triple.object
        if triple.predicate.value == _RDF_TYPE and isinstance(obj, ox.NamedNode):
            current.setdefault("@type", []).append(compact(obj.value))
            continue
        key = compact(triple.predicate.value)
        if isinstance(obj, ox.NamedNode):
            value: Any = {"@id": compact(obj.value)}
        elif isinstance(obj, ox.BlankNode):
            value = {"@id": f"_:{obj.value}"}
        elif not isinstance(obj, ox.Literal):
            raise _triple_term(obj)
        elif obj.language:
            value = {"@value": obj.value, "@language": obj.language}
        elif obj.datatype.value == _XSD_STRING:
            value = obj.value
        else:
            value = {"@value": obj.value, "@type": compact(obj.datatype.value)}
        current.setdefault(key, []).append(value)
    context = {name: graph.prefixes[name] for name in sorted(used)}
    document = {"@context": context, "@graph": nodes}
    handle.write(json.dumps(document, indent=1, ensure_ascii=False).encode())
    handle.write(b"\n")


def _triple_term(term: ox.Triple) -> ValueError:
    # The graph builder writes no RDF-star triple terms, and JSON-LD 1.1 has no syntax for them.
    return ValueError(f"JSON-LD cannot write the triple term {term}")
