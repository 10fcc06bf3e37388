"""The baseline: the same OIFM → RDF conversion written plainly with rdflib (Graph.add +
serialize), as a user would hand-roll it. Usage: python plain_rdflib.py DEFS_DIR OUT.ttl"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rdflib import RDF, RDFS, XSD, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, SKOS

OIFM = Namespace("https://w3id.org/ontomap/oifm#")
FM = Namespace("https://w3id.org/ontomap/id/")
SCHEME = Namespace("https://w3id.org/ontomap/scheme/")
NAMESPACES = {
    "RADLEX": "http://radlex.org/RID/",
    "SNOMED": "http://snomed.info/id/",
    "SNOMEDCT": "http://snomed.info/id/",
    "LOINC": "http://loinc.org/rdf/",
}


def code_node(graph: Graph, code: dict) -> URIRef:
    system = "SNOMED" if code["system"] == "SNOMEDCT" else code["system"]
    namespace = NAMESPACES.get(system, f"https://w3id.org/ontomap/code/{system}/")
    node = URIRef(namespace + code["code"])
    graph.add((node, RDF.type, SKOS.Concept))
    graph.add((node, SKOS.inScheme, SCHEME[system]))
    graph.add((node, SKOS.notation, Literal(code["code"])))
    if code.get("display"):
        graph.add((node, RDFS.label, Literal(code["display"])))
    return node


def entity(graph: Graph, node: URIRef, kind: URIRef, data: dict, id_key: str) -> None:
    graph.add((node, RDF.type, kind))
    graph.add((node, OIFM.oifmId, Literal(data[id_key])))
    graph.add((node, RDFS.label, Literal(data["name"])))
    if data.get("description"):
        graph.add((node, DCTERMS.description, Literal(data["description"])))
    for code in data.get("index_codes") or []:
        graph.add((node, OIFM.hasIndexCode, code_node(graph, code)))


def main() -> None:
    defs, out = Path(sys.argv[1]), sys.argv[2]
    graph = Graph()
    graph.bind("oifm", OIFM)
    graph.bind("fm", FM)
    for path in sorted(defs.glob("*.json")):
        data = json.loads(path.read_text())
        finding = FM[data["oifm_id"]]
        entity(graph, finding, OIFM.FindingModel, data, "oifm_id")
        for synonym in data.get("synonyms") or []:
            graph.add((finding, SKOS.altLabel, Literal(synonym)))
        for tag in data.get("tags") or []:
            graph.add((finding, OIFM.tag, Literal(tag)))
        for i, contributor in enumerate(data.get("contributors") or []):
            node = FM[f"{data['oifm_id']}-contributor-{i}"]
            graph.add((finding, OIFM.hasContributor, node))
            graph.add((node, RDFS.label, Literal(contributor["name"])))
            graph.add((node, OIFM.position, Literal(i)))
        for i, attribute in enumerate(data["attributes"]):
            node = FM[attribute["oifma_id"]]
            graph.add((finding, OIFM.hasAttribute, node))
            kind = OIFM.ChoiceAttribute if attribute["type"] == "choice" else OIFM.NumericAttribute
            entity(graph, node, kind, attribute, "oifma_id")
            graph.add((node, RDF.type, OIFM.Attribute))
            graph.add((node, OIFM.position, Literal(i)))
            graph.add((node, OIFM.required, Literal(attribute.get("required", False))))
            if "max_selected" in attribute:
                graph.add((node, OIFM.maxSelected, Literal(attribute["max_selected"])))
            for key in ("minimum", "maximum"):
                if attribute.get(key) is not None:
                    graph.add((node, OIFM[key], Literal(attribute[key], datatype=XSD.decimal)))
            if attribute.get("unit"):
                graph.add((node, OIFM.unit, Literal(attribute["unit"])))
            for j, value in enumerate(attribute.get("values") or []):
                value_node = FM[value["value_code"]]
                graph.add((node, OIFM.hasValue, value_node))
                entity(graph, value_node, OIFM.ChoiceValue, value, "value_code")
                graph.add((value_node, OIFM.position, Literal(j)))
    graph.serialize(out, format="turtle")
    print(len(graph), "triples")


if __name__ == "__main__":
    main()
