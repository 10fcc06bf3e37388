"""The graph a finding model should give, computed from its JSON without ontomap's code.

The mapping is the documented one (README "The graph", ``ontologies/oifm.ttl``,
``ontologies/terminologies.toml``):

- a finding, attribute or value is ``{base}{ID}`` (a value ID keeps its ``.N``), typed
  ``oifm:FindingModel``; ``oifm:Attribute`` plus ``oifm:ChoiceAttribute`` or
  ``oifm:NumericAttribute``; ``oifm:ChoiceValue``; each with ``oifm:oifmId``, its name as
  ``rdfs:label`` and its description as ``dcterms:description``;
- a finding has ``skos:altLabel`` per synonym, ``oifm:tag`` per tag, ``oifm:hasAttribute`` per
  attribute, ``oifm:hasContributor`` per contributor (``{base}{ID}-contributor-{i}``), and
  ``oifm:anatomicLocation`` per anatomic location;
- an attribute has ``oifm:position`` (its index), ``oifm:required`` where the source says,
  ``oifm:hasValue`` and ``oifm:maxSelected`` (choice) or ``oifm:minimum``, ``oifm:maximum`` and
  ``oifm:unit`` (numeric); a value has ``oifm:position``;
- a contributor is ``oifm:Contributor`` and ``oifm:Person`` or ``oifm:Organization``, with its
  name as label, ``oifm:position``, ``oifm:organizationCode``, ``oifm:url`` (``xsd:anyURI``) and,
  for a person, ``oifm:email`` and ``oifm:githubUsername``;
- every index code (and anatomic location) is linked by ``oifm:hasIndexCode`` (or
  ``oifm:anatomicLocation``) and is a ``skos:Concept`` in its system's namespace with
  ``skos:notation``, ``skos:inScheme scheme:{KEY}`` and its display as ``rdfs:label``; each
  scheme used is a ``skos:ConceptScheme`` with its label, its key as notation,
  ``oifm:codeNamespace`` and ``oifm:fhirSystem`` (both ``xsd:anyURI``).

Everything is read with :func:`json.load` and :mod:`tomllib`; nothing here imports ontomap.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from rdflib import RDF, RDFS, XSD, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, SKOS

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "ontologies" / "examples"
CORPUS_DEFS = ROOT.parent / "shared" / "corpus" / "findingmodels" / "defs"
#: Hand transcriptions (into the JSON form) of bundled examples that ship only as Markdown.
TRANSCRIPTIONS = Path(__file__).resolve().parent / "oracle_models"

OIFM = Namespace("https://w3id.org/ontomap/oifm#")
DEFAULT_BASE = "https://w3id.org/ontomap/id/"
SCHEME = "https://w3id.org/ontomap/scheme/"

Triple = tuple[URIRef, URIRef, URIRef | Literal]


def registry() -> dict[str, dict[str, Any]]:
    """The shipped code systems, by key, as ``terminologies.toml`` writes them."""
    with (ROOT / "ontologies" / "terminologies.toml").open("rb") as handle:
        return tomllib.load(handle)["systems"]


def system_key(name: str, systems: dict[str, dict[str, Any]]) -> str:
    """The key of the system a source calls ``name`` (key or alias, case-insensitively)."""
    for key, entry in systems.items():
        if name.casefold() in {n.casefold() for n in (key, *entry.get("aliases", ()))}:
            return key
    raise AssertionError(f"the oracle knows no system {name!r}")


def _number(value: int | float) -> Literal:
    # JSON 3 is an xsd:integer, 30.5 an xsd:decimal (as Turtle writes 30.5)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AssertionError(f"not a number: {value!r}")
    if isinstance(value, int):
        return Literal(value)
    return Literal(Decimal(str(value)))


def model_triples(model: dict[str, Any], base: str = DEFAULT_BASE) -> set[Triple]:
    """The triples of one model (its JSON as :func:`json.load` gives it)."""
    systems = registry()
    triples: set[Triple] = set()
    schemes: set[str] = set()

    def add(s: URIRef, p: URIRef, o: URIRef | Literal) -> None:
        triples.add((s, p, o))

    def code(entity: URIRef, link: URIRef, entry: dict[str, Any]) -> None:
        key = system_key(entry["system"], systems)
        notation = entry["code"]
        assert notation.replace("-", "").replace(".", "").isalnum(), "no escaping needed"
        concept = URIRef(systems[key]["namespace"] + notation)
        add(entity, link, concept)
        add(concept, RDF.type, SKOS.Concept)
        add(concept, SKOS.notation, Literal(notation))
        add(concept, SKOS.inScheme, URIRef(SCHEME + key))
        if entry.get("display"):
            add(concept, RDFS.label, Literal(entry["display"]))
        schemes.add(key)

    def entity(iri: URIRef, kind: URIRef, data: dict[str, Any], id_key: str) -> None:
        add(iri, RDF.type, kind)
        add(iri, OIFM.oifmId, Literal(data[id_key]))
        add(iri, RDFS.label, Literal(data["name"]))
        if data.get("description"):
            add(iri, DCTERMS.description, Literal(data["description"]))
        for entry in data.get("index_codes") or ():
            code(iri, OIFM.hasIndexCode, entry)

    finding = URIRef(base + model["oifm_id"])
    entity(finding, OIFM.FindingModel, model, "oifm_id")
    for synonym in model.get("synonyms") or ():
        add(finding, SKOS.altLabel, Literal(synonym))
    for tag in model.get("tags") or ():
        add(finding, OIFM.tag, Literal(tag))
    for entry in model.get("anatomic_locations") or ():
        code(finding, OIFM.anatomicLocation, entry)
    for i, person in enumerate(model.get("contributors") or ()):
        node = URIRef(f"{base}{model['oifm_id']}-contributor-{i}")
        add(finding, OIFM.hasContributor, node)
        add(node, RDF.type, OIFM.Contributor)
        organisation = "code" in person
        add(node, RDF.type, OIFM.Organization if organisation else OIFM.Person)
        add(node, RDFS.label, Literal(person["name"]))
        add(node, OIFM.position, Literal(i))
        org_code = person.get("code" if organisation else "organization_code")
        if org_code:
            add(node, OIFM.organizationCode, Literal(org_code))
        if person.get("url"):
            add(node, OIFM.url, Literal(person["url"], datatype=XSD.anyURI))
        if not organisation:
            if person.get("email"):
                add(node, OIFM.email, Literal(person["email"]))
            if person.get("github_username"):
                add(node, OIFM.githubUsername, Literal(person["github_username"]))
    for position, attribute in enumerate(model.get("attributes") or ()):
        iri = URIRef(base + attribute["oifma_id"])
        add(finding, OIFM.hasAttribute, iri)
        choice = attribute["type"] == "choice"
        add(iri, RDF.type, OIFM.Attribute)
        entity(
            iri, OIFM.ChoiceAttribute if choice else OIFM.NumericAttribute, attribute, "oifma_id"
        )
        add(iri, OIFM.position, Literal(position))
        if attribute.get("required") is not None:
            add(iri, OIFM.required, Literal(attribute["required"]))
        if choice:
            if attribute.get("max_selected") is not None:
                add(iri, OIFM.maxSelected, Literal(attribute["max_selected"]))
            for index, value in enumerate(attribute["values"]):
                value_iri = URIRef(base + value["value_code"])
                add(iri, OIFM.hasValue, value_iri)
                entity(value_iri, OIFM.ChoiceValue, value, "value_code")
                add(value_iri, OIFM.position, Literal(index))
        else:
            for key in ("minimum", "maximum"):
                if attribute.get(key) is not None:
                    add(iri, OIFM[key], _number(attribute[key]))
            if attribute.get("unit"):
                add(iri, OIFM.unit, Literal(attribute["unit"]))
    for key in schemes:
        scheme, entry = URIRef(SCHEME + key), systems[key]
        add(scheme, RDF.type, SKOS.ConceptScheme)
        add(scheme, RDFS.label, Literal(entry["label"]))
        add(scheme, SKOS.notation, Literal(key))
        add(scheme, OIFM.codeNamespace, Literal(entry["namespace"], datatype=XSD.anyURI))
        if entry.get("fhir_system"):
            add(scheme, OIFM.fhirSystem, Literal(entry["fhir_system"], datatype=XSD.anyURI))
    return triples


def graph_triples(models: Iterable[dict[str, Any]], base: str = DEFAULT_BASE) -> set[Triple]:
    """The triples of several models in one graph (a set: shared codes and schemes once)."""
    return {t for model in models for t in model_triples(model, base)}


def as_markdown_reads_it(model: dict[str, Any]) -> dict[str, Any]:
    """``model`` with the losses the README documents for its Markdown rendering: no
    ``required``, finding and attribute names capitalised, no ``github_username``, no
    ``anatomic_locations``."""
    copy = json.loads(json.dumps(model))
    copy["name"] = copy["name"].capitalize()
    copy.pop("anatomic_locations", None)
    for person in copy.get("contributors") or ():
        person.pop("github_username", None)
    for attribute in copy.get("attributes") or ():
        attribute["name"] = attribute["name"].capitalize()
        attribute.pop("required", None)
    return copy


def _load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def example_models() -> Iterator[dict[str, Any]]:
    """The bundled examples as JSON: the JSON example itself; the seed Markdown example as its
    corpus JSON with the Markdown losses; the Glasgow example by hand transcription."""
    yield _load(EXAMPLES / "solitary_pulmonary_nodule.fm.json")
    yield as_markdown_reads_it(_load(CORPUS_DEFS / "diffuse_hepatic_calcifications.fm.json"))
    yield _load(TRANSCRIPTIONS / "glasgow_coma_scale_example.json")
