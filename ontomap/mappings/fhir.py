"""FHIR ConceptMap, R4 and R5, as JSON.

One ``group`` per (source, target) system pair, identified by the terminologies' canonical FHIR
system URIs from the registry (``http://radlex.org``, ``http://snomed.info/sct``...); one
``element`` per source code with its display, one ``target`` per mapped code with its display,
the relationship and the evidence as ``comment``.

- R4 writes ``equivalence``: ``inexact`` for a ``skos:closeMatch`` (the codes index the same
  entities, their boundaries are not known to agree: R4 requires the comment that we always
  write), ``relatedto`` for a ``skos:relatedMatch``. Never ``equivalent`` or ``equal``.
- R5 writes ``relationship``: ``related-to`` for both (R5 has nothing between related-to and
  equivalent). The SKOS predicate, the justification, the confidence, the display similarity
  and the evidence figures (:data:`~ontomap.mappings.EVIDENCE`: entities, findings, contexts,
  template, uses and contexts of both codes, corpus cardinality, outlier) travel as target
  ``property`` values, declared in the ConceptMap's ``property`` list.
- Both write the evidence in words as each target's ``comment``: the supporting entities,
  findings and contexts, the template mark, both shares, the confidence and how it is
  computed, the display similarity, and up to :data:`EXAMPLE_ENTITIES` supporting entities.

The scope (R4 ``sourceUri``/``targetUri``, R5 ``sourceScopeUri``/``targetScopeUri``) names
value sets, as FHIR defines it: when the map covers one pair of systems, the implicit value set
of all codes of the source and of the target system (:func:`all_codes_value_set`:
``http://snomed.info/sct?fhir_vs``, ``http://loinc.org/vs``, ``http://radlex.org?fhir_vs``...);
the code systems themselves are named in each group's ``source`` and ``target``. ``id`` and
``url`` derive from the mapping set (its slug and identifier); ``date`` is the mapping date
when there is one: no clock is read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from itertools import groupby
from typing import Any, BinaryIO, Literal

from ontomap.crosswalk import system_order
from ontomap.mappings import EVIDENCE, TOOL, XWALK_NS, Mapping, MappingSet, evidence, number
from ontomap.terminology import default_registry

__all__ = [
    "EXAMPLE_ENTITIES",
    "R4_EQUIVALENCE",
    "R5_PROPERTIES",
    "R5_RELATIONSHIP",
    "all_codes_value_set",
    "concept_map",
    "write_fhir_r4",
    "write_fhir_r5",
]

FhirVersion = Literal["R4", "R5"]

#: How many supporting entities the comment of a target names (the rest are counted).
EXAMPLE_ENTITIES = 5
#: SKOS predicate → R4 ``ConceptMapEquivalence``.
R4_EQUIVALENCE = {"skos:closeMatch": "inexact", "skos:relatedMatch": "relatedto"}
#: SKOS predicate → R5 ``ConceptMapRelationship``.
R5_RELATIONSHIP = {"skos:closeMatch": "related-to", "skos:relatedMatch": "related-to"}

_SSSOM = "https://w3id.org/sssom/"

#: R5 target properties: code, IRI, type, description, value of a mapping (``None``: absent).
R5_PROPERTIES: tuple[tuple[str, str, str, str, Callable[[Mapping], Any]], ...] = (
    (
        "predicate",
        _SSSOM + "predicate_id",
        "string",
        "The SKOS mapping predicate the evidence supports (skos:closeMatch or "
        "skos:relatedMatch; see ontomap's docs/mappings.md).",
        lambda m: m.predicate,
    ),
    (
        "justification",
        _SSSOM + "mapping_justification",
        "string",
        "The SEMAPV matching process: semapv:InstanceBasedMatching (the codes index the same "
        "entities), or semapv:CompositeMatching where their displays matched as well.",
        lambda m: m.justification,
    ),
    (
        "confidence",
        _SSSOM + "confidence",
        "decimal",
        "Supporting contexts / (contexts of the code used in more contexts + 1).",
        lambda m: number(m.pair.confidence),
    ),
    (
        "similarity",
        _SSSOM + "similarity_score",
        "decimal",
        "Similarity (0-1) of the normalised displays of a pair matched by display "
        "(normalised Indel similarity, of the Levenshtein family).",
        lambda m: None if m.similarity is None else number(m.similarity),
    ),
    *((f.name, XWALK_NS + f.name, f.kind, f.description, f.get) for f in EVIDENCE),
)
_VALUE_KEY = {"string": "valueString", "decimal": "valueDecimal", "integer": "valueInteger"}
_VALUE_KEY["boolean"] = "valueBoolean"


def _system_uri(key: str) -> str:
    """The canonical FHIR system URI of a system (its concept scheme IRI when it has none)."""
    system = default_registry().resolve(key)
    return system.fhir_system or system.scheme_iri


#: Implicit all-codes value sets whose URL a terminology defines itself (LOINC's).
_OWN_ALL_CODES = {"http://loinc.org": "http://loinc.org/vs"}


def all_codes_value_set(system_uri: str) -> str:
    """The canonical URL of the implicit value set of all codes of the code system
    ``system_uri``: the terminology's own where it defines one (``http://loinc.org/vs``), else
    the system URI with ``?fhir_vs`` (SNOMED CT's convention, which ontomap's FHIR server
    also answers for every other system)."""
    return _OWN_ALL_CODES.get(system_uri) or f"{system_uri}?fhir_vs"


def _name(slug: str) -> str:
    """A computable name (``[A-Z][A-Za-z0-9_]*``) from a slug: ``OntomapRadlexToSct``."""
    return "Ontomap" + "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", slug))


def _target(mapping: Mapping, version: FhirVersion) -> dict[str, Any]:
    p = mapping.pair
    target: dict[str, Any] = {"code": p.target.code}
    if p.target_label:
        target["display"] = p.target_label
    if version == "R4":
        target["equivalence"] = R4_EQUIVALENCE[mapping.predicate]
        target["comment"] = evidence(mapping, EXAMPLE_ENTITIES)
    else:
        target["relationship"] = R5_RELATIONSHIP[mapping.predicate]
        target["comment"] = evidence(mapping, EXAMPLE_ENTITIES)
        target["property"] = [
            {"code": code, _VALUE_KEY[kind]: value} for code, kind, value in _values(mapping)
        ]
    return target


def _values(mapping: Mapping) -> list[tuple[str, str, Any]]:
    """The R5 property values of a mapping: (code, type, value), absent ones left out."""
    found = [(code, kind, get(mapping)) for code, _uri, kind, _text, get in R5_PROPERTIES]
    return [(code, kind, value) for code, kind, value in found if value is not None]


def _groups(mapping_set: MappingSet, version: FhirVersion) -> list[dict[str, Any]]:
    def systems(m: Mapping) -> tuple[str, str]:
        return (m.pair.source.system, m.pair.target.system)

    ordered = sorted(
        mapping_set.mappings,
        key=lambda m: (system_order(m.pair.source.system), system_order(m.pair.target.system)),
    )
    groups = []
    for (source, target), in_group in groupby(ordered, key=systems):
        elements = []
        for _code, same_source in groupby(in_group, key=lambda m: m.pair.source.code):
            mappings = list(same_source)
            first = mappings[0].pair
            element: dict[str, Any] = {"code": first.source.code}
            if first.source_label:
                element["display"] = first.source_label
            element["target"] = [_target(m, version) for m in mappings]
            elements.append(element)
        groups.append(
            {"source": _system_uri(source), "target": _system_uri(target), "element": elements}
        )
    return groups


def concept_map(mapping_set: MappingSet, version: FhirVersion) -> dict[str, Any]:
    """The ConceptMap resource of ``mapping_set`` as a JSON-ready dict (keys in FHIR order)."""
    resource: dict[str, Any] = {
        "resourceType": "ConceptMap",
        "id": re.sub(r"[^A-Za-z0-9.-]", "-", f"ontomap-{mapping_set.slug}")[:64],
        "url": mapping_set.id,
        "name": _name(mapping_set.slug),
        "title": mapping_set.title,
        "status": "draft",
    }
    if mapping_set.date is not None:
        resource["date"] = mapping_set.date
    resource["publisher"] = TOOL
    resource["description"] = mapping_set.description
    if version == "R5":
        used = {code for m in mapping_set.mappings for code, _k, _v in _values(m)}
        resource["property"] = [
            {"code": code, "uri": uri, "description": text, "type": kind}
            for code, uri, kind, text, _get in R5_PROPERTIES
            if code in used
        ]
        if not resource["property"]:
            del resource["property"]
    single = mapping_set.single_pair
    if single is not None:
        source, target = ("source", "target") if version == "R4" else ("sourceScope", "targetScope")
        resource[f"{source}Uri"] = all_codes_value_set(_system_uri(single[0]))
        resource[f"{target}Uri"] = all_codes_value_set(_system_uri(single[1]))
    groups = _groups(mapping_set, version)
    if groups:
        resource["group"] = groups
    return resource


def _write(mapping_set: MappingSet, handle: BinaryIO, version: FhirVersion) -> None:
    text = json.dumps(concept_map(mapping_set, version), ensure_ascii=False, indent=2)
    handle.write(text.encode() + b"\n")


def write_fhir_r4(mapping_set: MappingSet, handle: BinaryIO) -> None:
    """Write ``mapping_set`` as a FHIR R4 ConceptMap (JSON)."""
    _write(mapping_set, handle, "R4")


def write_fhir_r5(mapping_set: MappingSet, handle: BinaryIO) -> None:
    """Write ``mapping_set`` as a FHIR R5 ConceptMap (JSON)."""
    _write(mapping_set, handle, "R5")
