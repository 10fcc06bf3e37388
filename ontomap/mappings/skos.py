"""SKOS: the mapping links as RDF beside the knowledge graph, with their evidence reified.

Each mapping is a direct SKOS mapping triple between the two codes' concepts, the same IRIs
the knowledge graph uses (``radlex:RID5791 skos:closeMatch sct:263768009``), and an
``owl:Axiom`` that annotates that triple, as in SSSOM's RDF form::

    _:m00042 a owl:Axiom ;
        owl:annotatedSource radlex:RID5791 ;
        owl:annotatedProperty skos:closeMatch ;
        owl:annotatedTarget sct:263768009 ;
        sssom:mapping_justification semapv:InstanceBasedMatching ;
        sssom:confidence 1.0E0 ;
        xwalk:entityCount 1994 ; xwalk:findingCount 1994 ;
        xwalk:subjectUses 1994 ; xwalk:objectUses 1994 ; xwalk:objectShare 1.0E0 ;
        xwalk:cardinality "1:1" ;
        xwalk:supportingEntity fm:OIFMA_GMTS_000048.6 , … .

The mapping set is ``<mapping_set_id> a sssom:MappingSet`` with its title, description,
license, date and tool, linked to every axiom by ``sssom:mappings``. The vocabulary is declared
in ``ontologies/mappings.ttl`` (the ``xwalk:`` terms are ontomap's own); terms are taken from
that file, so a term it does not declare cannot be written.
"""

from __future__ import annotations

from typing import BinaryIO

import pyoxigraph as ox

from ontomap.exporters.rdf import used_prefixes
from ontomap.graph import known_prefixes
from ontomap.mappings import Mapping, MappingSet, number
from ontomap.ntriples import canonical_order, iri, literal, typed_literal
from ontomap.vocab import (
    DCTERMS_NS,
    OWL_NS,
    RDF_NS,
    SKOS_NS,
    XSD_NS,
    ClosedNamespace,
    closed_namespace,
)

__all__ = [
    "PREFIXES",
    "SEMAPV",
    "SSSOM",
    "XWALK",
    "XWALK_NS",
    "mapping_lines",
    "write_skos",
]

XWALK_NS = "https://w3id.org/ontomap/crosswalk#"
SSSOM_NS = "https://w3id.org/sssom/"
SEMAPV_NS = "https://w3id.org/semapv/vocab/"

#: Prefixes the SKOS file may declare beyond the knowledge graph's own (only used ones are).
PREFIXES = {"xwalk": XWALK_NS, "sssom": SSSOM_NS, "semapv": SEMAPV_NS}


def _namespace(namespace: str) -> ClosedNamespace:
    return closed_namespace(namespace, "mappings.ttl")


XWALK = _namespace(XWALK_NS)
SSSOM = _namespace(SSSOM_NS)
SEMAPV = _namespace(SEMAPV_NS)
_OWL = _namespace(OWL_NS)
_SKOS = _namespace(SKOS_NS)
_DCTERMS = _namespace(DCTERMS_NS)
_RDF = _namespace(RDF_NS)
_XSD = _namespace(XSD_NS)


class _Terms:
    """The N-Triples terms the writer emits, looked up once in the declared vocabulary."""

    def __init__(self) -> None:
        self.type = iri(_RDF.type.value)
        self.axiom = iri(_OWL.Axiom.value)
        self.source = iri(_OWL.annotatedSource.value)
        self.property = iri(_OWL.annotatedProperty.value)
        self.target = iri(_OWL.annotatedTarget.value)
        self.predicates = {
            "skos:closeMatch": iri(_SKOS.closeMatch.value),
            "skos:relatedMatch": iri(_SKOS.relatedMatch.value),
        }
        self.mapping_set = iri(SSSOM.MappingSet.value)
        self.mappings = iri(SSSOM.mappings.value)
        self.justification = iri(SSSOM.mapping_justification.value)
        self.instance_based = iri(SEMAPV.InstanceBasedMatching.value)
        self.confidence = iri(SSSOM.confidence.value)
        self.tool = iri(SSSOM.mapping_tool.value)
        self.tool_version = iri(SSSOM.mapping_tool_version.value)
        self.title = iri(_DCTERMS.title.value)
        self.description = iri(_DCTERMS.description.value)
        self.license = iri(_DCTERMS.license.value)
        self.created = iri(_DCTERMS.created.value)
        self.entity = iri(XWALK.supportingEntity.value)
        self.entities = iri(XWALK.entityCount.value)
        self.findings = iri(XWALK.findingCount.value)
        self.subject_uses = iri(XWALK.subjectUses.value)
        self.object_uses = iri(XWALK.objectUses.value)
        self.object_share = iri(XWALK.objectShare.value)
        self.cardinality = iri(XWALK.cardinality.value)
        self.outlier = iri(XWALK.outlier.value)


def _integer(value: int) -> str:
    return typed_literal(str(value), _XSD.integer.value)


def _double(value: float) -> str:
    return typed_literal(repr(number(value)), _XSD.double.value)


def _axiom_lines(t: _Terms, node: str, mapping: Mapping, base_iri: str) -> list[str]:
    p = mapping.pair
    source, target = iri(p.source.iri), iri(p.target.iri)
    predicate = t.predicates[mapping.predicate]
    lines = [
        f"{source} {predicate} {target} .\n",
        f"{node} {t.type} {t.axiom} .\n",
        f"{node} {t.source} {source} .\n",
        f"{node} {t.property} {predicate} .\n",
        f"{node} {t.target} {target} .\n",
        f"{node} {t.justification} {t.instance_based} .\n",
        f"{node} {t.confidence} {_double(p.share)} .\n",
        f"{node} {t.entities} {_integer(p.entities)} .\n",
        f"{node} {t.findings} {_integer(p.findings)} .\n",
        f"{node} {t.subject_uses} {_integer(p.source_uses)} .\n",
        f"{node} {t.object_uses} {_integer(p.target_uses)} .\n",
        f"{node} {t.object_share} {_double(p.target_share)} .\n",
        f"{node} {t.cardinality} {literal(p.cardinality)} .\n",
    ]
    if mapping.marked_outlier:
        lines.append(f"{node} {t.outlier} {typed_literal('true', _XSD.boolean.value)} .\n")
    lines.extend(f"{node} {t.entity} {iri(base_iri + e)} .\n" for e in p.entity_ids)
    return lines


def mapping_lines(mapping_set: MappingSet) -> list[str]:
    """The N-Triples lines of ``mapping_set``, in canonical order."""
    t = _Terms()
    subject = iri(mapping_set.id)
    lines = [
        f"{subject} {t.type} {t.mapping_set} .\n",
        f"{subject} {t.title} {literal(mapping_set.title)} .\n",
        f"{subject} {t.description} {literal(mapping_set.description)} .\n",
        f"{subject} {t.license} {iri(mapping_set.license)} .\n",
        f"{subject} {t.tool} {literal(mapping_set.tool)} .\n",
        f"{subject} {t.tool_version} {literal(mapping_set.tool_version)} .\n",
    ]
    if mapping_set.date is not None:
        lines.append(
            f"{subject} {t.created} {typed_literal(mapping_set.date, _XSD.date.value)} .\n"
        )
    width = max(5, len(str(len(mapping_set.mappings))))
    for number_, mapping in enumerate(mapping_set.mappings, start=1):
        node = f"_:m{number_:0{width}d}"
        lines.append(f"{subject} {t.mappings} {node} .\n")
        lines.extend(_axiom_lines(t, node, mapping, mapping_set.base_iri))
    return canonical_order(lines)


def write_skos(mapping_set: MappingSet, handle: BinaryIO) -> None:
    """Write ``mapping_set`` as Turtle: the links, their axioms and the set, declaring only
    the prefixes used (sorted), so the same set always gives the same bytes."""
    prefixes = {**known_prefixes(mapping_set.base_iri), **PREFIXES}
    triples = ox.parse("".join(mapping_lines(mapping_set)), format=ox.RdfFormat.N_TRIPLES)
    text = ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=prefixes)
    start = 0
    while text.startswith(b"@prefix ", start):
        start = text.index(b"\n", start) + 1
    body = bytes(memoryview(text)[start:])
    header = "".join(
        f"@prefix {name}: <{namespace}> .\n"
        for name, namespace in used_prefixes(body, prefixes).items()
    )
    handle.write(header.encode())
    if header and body:
        handle.write(b"\n")
    handle.write(body)
