"""SKOS: the mapping links as RDF beside the knowledge graph, with their evidence reified.

Each mapping is a direct SKOS mapping triple between the two codes' concepts, the same IRIs
the knowledge graph uses (``radlex:RID5791 skos:relatedMatch sct:263768009``), and an
``owl:Axiom`` that annotates that triple with the engine's evidence, as in SSSOM's RDF form::

    _:m00042 a owl:Axiom ;
        owl:annotatedSource radlex:RID5791 ;
        owl:annotatedProperty skos:relatedMatch ;
        owl:annotatedTarget sct:263768009 ;
        sssom:mapping_justification semapv:InstanceBasedMatching ;
        sssom:confidence "0.5"^^xsd:double ;
        sssom:mapping_cardinality "1:1" ;
        xwalk:entityCount 1994 ; xwalk:findingCount 1994 ;
        xwalk:contextCount 1 ; xwalk:template true ;
        xwalk:subjectUses 1994 ; xwalk:objectUses 1994 ;
        xwalk:subjectContexts 1 ; xwalk:objectContexts 1 ;
        xwalk:cardinality "1:1" ;
        xwalk:supportingContext _:m00042c1 ;
        xwalk:supportingEntity fm:OIFMA_GMTS_000048.6 , … .

    _:m00042c1 a xwalk:Context ;
        xwalk:contextKind "value" ; xwalk:contextName "larger" ;
        xwalk:contextAttribute "change from prior" ;
        xwalk:entityCount 1994 ; xwalk:findingCount 1994 ; xwalk:template true .

A pair matched by display as well has ``semapv:CompositeMatching``, ``sssom:similarity_score``
and ``sssom:similarity_measure``. Unlike the SSSOM table, the axiom lists every supporting
entity. The mapping set is ``<mapping_set_id> a sssom:MappingSet`` with its title,
description, license, date and tool, linked to every axiom by ``sssom:mappings``. The
vocabulary is declared in ``ontologies/mappings.ttl`` (the ``xwalk:`` terms are ontomap's own);
terms are taken from that file, so a term it does not declare cannot be written.
"""

from __future__ import annotations

from typing import Any, BinaryIO

import pyoxigraph as ox

from ontomap.exporters.rdf import used_prefixes
from ontomap.graph import known_prefixes
from ontomap.mappings import (
    EVIDENCE,
    SIMILARITY_MEASURE,
    XWALK_NS,
    Mapping,
    MappingSet,
    evidence_facts,
    number,
)
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
        self.justifications = {
            "semapv:InstanceBasedMatching": iri(SEMAPV.InstanceBasedMatching.value),
            "semapv:CompositeMatching": iri(SEMAPV.CompositeMatching.value),
        }
        self.confidence = iri(SSSOM.confidence.value)
        self.similarity_score = iri(SSSOM.similarity_score.value)
        self.similarity_measure = iri(SSSOM.similarity_measure.value)
        self.set_cardinality = iri(SSSOM.mapping_cardinality.value)
        self.tool = iri(SSSOM.mapping_tool.value)
        self.tool_version = iri(SSSOM.mapping_tool_version.value)
        self.title = iri(_DCTERMS.title.value)
        self.description = iri(_DCTERMS.description.value)
        self.license = iri(_DCTERMS.license.value)
        self.created = iri(_DCTERMS.created.value)
        self.entity = iri(XWALK.supportingEntity.value)
        self.context = iri(XWALK.supportingContext.value)
        self.context_class = iri(XWALK.Context.value)
        self.context_kind = iri(XWALK.contextKind.value)
        self.context_name = iri(XWALK.contextName.value)
        self.context_attribute = iri(XWALK.contextAttribute.value)
        self.entity_count = iri(XWALK.entityCount.value)
        self.finding_count = iri(XWALK.findingCount.value)
        self.template = iri(XWALK.template.value)
        #: The evidence figures (:data:`~ontomap.mappings.EVIDENCE`), by name.
        self.facts = {f.name: iri(getattr(XWALK, f.name).value) for f in EVIDENCE}


def _integer(value: int) -> str:
    return typed_literal(str(value), _XSD.integer.value)


def _double(value: float) -> str:
    return typed_literal(repr(number(value)), _XSD.double.value)


def _boolean(value: bool) -> str:
    return typed_literal("true" if value else "false", _XSD.boolean.value)


def _value(kind: str, value: Any) -> str:
    if kind == "boolean":
        return _boolean(value)
    if kind == "string":
        return literal(value)
    if kind == "decimal":
        return _double(value)
    return _integer(value)


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
        f"{node} {t.justification} {t.justifications[mapping.justification]} .\n",
        f"{node} {t.confidence} {_double(p.confidence)} .\n",
        f"{node} {t.set_cardinality} {literal(mapping.sssom_cardinality)} .\n",
    ]
    if mapping.similarity is not None:
        lines.append(f"{node} {t.similarity_score} {_double(mapping.similarity)} .\n")
        lines.append(f"{node} {t.similarity_measure} {literal(SIMILARITY_MEASURE)} .\n")
    for fact, value in evidence_facts(mapping):
        lines.append(f"{node} {t.facts[fact.name]} {_value(fact.kind, value)} .\n")
    for number_, support in enumerate(p.paired.contexts, start=1):
        context = f"{node}c{number_}"
        lines += [
            f"{node} {t.context} {context} .\n",
            f"{context} {t.type} {t.context_class} .\n",
            f"{context} {t.context_kind} {literal(support.context.kind)} .\n",
            f"{context} {t.context_name} {literal(support.context.name)} .\n",
            f"{context} {t.entity_count} {_integer(support.entities)} .\n",
            f"{context} {t.finding_count} {_integer(support.findings)} .\n",
            f"{context} {t.template} {_boolean(support.template)} .\n",
        ]
        if support.context.attribute is not None:
            lines.append(
                f"{context} {t.context_attribute} {literal(support.context.attribute)} .\n"
            )
    lines.extend(f"{node} {t.entity} {iri(base_iri + e)} .\n" for e in p.paired.entities)
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
    assert text is not None  # no output given: the bytes are returned
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
