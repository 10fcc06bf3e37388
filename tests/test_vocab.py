"""Tests that ontologies/oifm.ttl and what the builder emits agree, and that namespaces are closed.

The ontology file is parsed here independently with rdflib; the graphs are queried with SPARQL.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from conftest import EXAMPLES, ROOT
from rdflib.namespace import OWL, RDF, RDFS

from ontomap import vocab
from ontomap.graph import KnowledgeGraph
from ontomap.readers import read_models
from ontomap.store import Store

TTL = ROOT / "ontologies" / "oifm.ttl"
OIFM_NS = "https://w3id.org/ontomap/oifm#"
XSD_NS = "http://www.w3.org/2001/XMLSchema#"
PROPERTY_TYPES = {RDF.Property, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty}
CLASS_TYPES = {OWL.Class, RDFS.Class}
#: Datatypes whose values are also values of the key (XSD derivation we rely on).
DERIVED = {XSD_NS + "decimal": {XSD_NS + "integer"}}


@pytest.fixture(scope="module")
def ontology() -> rdflib.Graph:
    graph = rdflib.Graph()
    graph.parse(TTL, format="turtle")
    return graph


def _typed(ontology: rdflib.Graph, types: set[rdflib.URIRef]) -> set[str]:
    return {str(s) for t in types for s in ontology.subjects(RDF.type, t)}


@pytest.fixture(scope="module")
def properties(ontology: rdflib.Graph) -> set[str]:
    return _typed(ontology, PROPERTY_TYPES)


@pytest.fixture(scope="module")
def classes(ontology: rdflib.Graph) -> set[str]:
    return _typed(ontology, CLASS_TYPES)


def _subclasses(ontology: rdflib.Graph, cls: str) -> set[str]:
    found = {cls}
    changed = True
    while changed:
        changed = False
        for sub, _p, sup in ontology.triples((None, RDFS.subClassOf, None)):
            if str(sup) in found and str(sub) not in found:
                found.add(str(sub))
                changed = True
    return found


def _column(store: ox.Store, query: str) -> set[str]:
    return {row[0].value for row in store.query(query)}  # type: ignore[union-attr]


def _load(graph: KnowledgeGraph) -> ox.Store:
    store = ox.Store()
    store.bulk_load(graph.ntriples(), format=ox.RdfFormat.N_TRIPLES)
    return store


# -- the ontology file ------------------------------------------------------------------------


def test_oifm_ttl_parses_and_is_an_ontology(ontology: rdflib.Graph) -> None:
    assert (rdflib.URIRef("https://w3id.org/ontomap/oifm"), RDF.type, OWL.Ontology) in ontology
    assert len(ontology) > 100


def test_every_oifm_term_has_a_label(ontology: rdflib.Graph) -> None:
    terms = {s for s in ontology.subjects() if str(s).startswith(OIFM_NS)}
    assert len(terms) >= 30
    missing = sorted(str(t) for t in terms if ontology.value(t, RDFS.label) is None)
    assert missing == []


def test_every_oifm_term_is_a_class_or_property(
    ontology: rdflib.Graph, classes: set[str], properties: set[str]
) -> None:
    terms = {str(s) for s in ontology.subjects() if str(s).startswith(OIFM_NS)}
    assert sorted(terms - classes - properties) == []


def test_python_names_are_the_file_terms(ontology: rdflib.Graph) -> None:
    declared = {str(s) for s in ontology.subjects() if isinstance(s, rdflib.URIRef)}
    assert vocab.declared_terms() == declared
    oifm_names = {t[len(OIFM_NS) :] for t in declared if t.startswith(OIFM_NS)}
    assert vocab.OIFM.names == oifm_names
    for name in oifm_names:
        assert getattr(vocab.OIFM, name) == ox.NamedNode(OIFM_NS + name)
        assert name in vocab.OIFM


@pytest.mark.parametrize(
    ("name", "iri"),
    [
        ("OIFM", OIFM_NS),
        ("RDF", str(RDF)),
        ("RDFS", str(RDFS)),
        ("SKOS", "http://www.w3.org/2004/02/skos/core#"),
        ("DCTERMS", "http://purl.org/dc/terms/"),
        ("XSD", XSD_NS),
        ("OWL", str(OWL)),
    ],
)
def test_every_namespace_has_exactly_the_declared_names(
    ontology: rdflib.Graph, name: str, iri: str
) -> None:
    namespace = getattr(vocab, name)
    declared = {str(s)[len(iri) :] for s in ontology.subjects() if str(s).startswith(iri)}
    declared.discard("")
    assert namespace.iri == iri
    assert namespace.names == declared
    for local in declared:
        term = getattr(namespace, local)
        assert type(term) is ox.NamedNode and term.value == iri + local


def test_the_generated_module_is_up_to_date() -> None:
    """``ontomap/_vocabulary.py`` is what ``python -m ontomap.vocab`` writes from oifm.ttl today."""
    generated = (ROOT / "ontomap" / "_vocabulary.py").read_text(encoding="utf-8")
    assert generated == vocab.render_vocabulary(), "run: python -m ontomap.vocab"


# -- closed namespaces ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("namespace", "name"),
    [
        (vocab.OIFM, "hasValues"),
        (vocab.OIFM, "hasvalue"),
        (vocab.OIFM, "Finding"),
        (vocab.SKOS, "exactMatch"),  # never minted: shared codes are evidence, not equivalence
        (vocab.SKOS, "closeMatch"),
        (vocab.RDFS, "lable"),
        (vocab.RDF, "typo"),
        (vocab.DCTERMS, "title"),
        (vocab.XSD, "float"),
        (vocab.OWL, "Class"),
    ],
)
def test_closed_namespaces_reject_undeclared_names(namespace: vocab.Namespace, name: str) -> None:
    with pytest.raises(AttributeError) as info:
        getattr(namespace, name)
    assert name in str(info.value) and "oifm.ttl" in str(info.value)
    assert name not in namespace


def test_closed_namespaces_give_declared_terms() -> None:
    assert vocab.OIFM.hasValue == ox.NamedNode(OIFM_NS + "hasValue")
    assert vocab.SKOS.Concept == ox.NamedNode("http://www.w3.org/2004/02/skos/core#Concept")
    assert vocab.RDF.type == ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    assert vocab.XSD.anyURI == ox.NamedNode(XSD_NS + "anyURI")


def test_source_uses_only_declared_terms() -> None:
    """Every ``OIFM.x`` (etc.) and every hand-written oifm: IRI in the package is declared."""
    declared = vocab.declared_terms()
    namespaces = {
        "OIFM": vocab.OIFM_NS,
        "RDF": vocab.RDF_NS,
        "RDFS": vocab.RDFS_NS,
        "SKOS": vocab.SKOS_NS,
        "DCTERMS": vocab.DCTERMS_NS,
        "XSD": vocab.XSD_NS,
    }
    attribute = re.compile(r"\b(OIFM|RDF|RDFS|SKOS|DCTERMS|XSD)\.([A-Za-z]\w*)")
    literal_iri = re.compile(re.escape(OIFM_NS) + r"([A-Za-z]\w*)")
    undeclared = []
    for path in sorted((ROOT / "ontomap").rglob("*.py")):
        if path.name in {"vocab.py", "_vocabulary.py"}:  # define the namespaces (vocab.py's
            # docstring shows a misspelling)
            continue
        text = path.read_text(encoding="utf-8")
        for match in attribute.finditer(text):
            name = match.group(2)
            if name in {"iri", "names", "value"}:
                continue
            if namespaces[match.group(1)] + name not in declared:
                undeclared.append(f"{path.name}: {match.group(0)}")
        for match in literal_iri.finditer(text):
            if match.group(0) not in declared:
                undeclared.append(f"{path.name}: {match.group(0)}")
    assert undeclared == []


# -- what the builder emits -------------------------------------------------------------------


def _check_emitted(
    store: ox.Store, classes: set[str], properties: set[str], named_graphs: bool = False
) -> None:
    def where(pattern: str) -> str:
        return f"{{ GRAPH ?g {{ {pattern} }} }}" if named_graphs else f"{{ {pattern} }}"

    predicates = _column(store, "SELECT DISTINCT ?p WHERE " + where("?s ?p ?o"))
    types = _column(store, "SELECT DISTINCT ?t WHERE " + where("?s a ?t"))
    datatypes = _column(
        store,
        "SELECT DISTINCT (DATATYPE(?o) AS ?d) WHERE " + where("?s ?p ?o FILTER isLiteral(?o)"),
    )
    assert predicates and types
    assert sorted(predicates - properties) == [], "predicates not declared in oifm.ttl"
    assert sorted(types - classes) == [], "rdf:type objects not declared as classes in oifm.ttl"
    assert sorted(d for d in datatypes if d not in vocab.declared_terms()) == []


def test_corpus_graph_uses_only_declared_terms(
    corpus_sparql: ox.Store, classes: set[str], properties: set[str]
) -> None:
    _check_emitted(corpus_sparql, classes, properties)


def test_examples_graph_uses_only_declared_terms(
    examples_graph: KnowledgeGraph, classes: set[str], properties: set[str]
) -> None:
    store = _load(examples_graph)
    _check_emitted(store, classes, properties)
    # the examples exercise every structural term of the vocabulary
    used = _column(store, "SELECT DISTINCT ?p WHERE { ?s ?p ?o }")
    for name in (
        "minimum",
        "maximum",
        "unit",
        "maxSelected",
        "required",
        "email",
        "githubUsername",
        "anatomicLocation",
        "fhirSystem",
        "codeNamespace",
    ):
        assert OIFM_NS + name in used, name


def test_store_quads_use_only_declared_terms(
    tmp_path: Path, classes: set[str], properties: set[str]
) -> None:
    with Store(tmp_path / "kg") as store:
        store.load(read_models([EXAMPLES]).models)
        _check_emitted(store.oxigraph, classes, properties, named_graphs=True)
        used = _column(store.oxigraph, "SELECT DISTINCT ?p WHERE { GRAPH ?g { ?s ?p ?o } }")
    for name in ("baseIri", "describes", "sourceFile", "sourceFormat"):
        assert OIFM_NS + name in used, name


def _domain_range_violations(
    store: ox.Store, ontology: rdflib.Graph, properties: set[str]
) -> list[str]:
    problems = []
    for prop in sorted(properties):
        node = rdflib.URIRef(prop)
        domain = ontology.value(node, RDFS.domain)
        if domain is not None:
            allowed = " ".join(f"<{c}>" for c in _subclasses(ontology, str(domain)))
            query = (
                f"SELECT (COUNT(*) AS ?n) WHERE {{ ?s <{prop}> ?o "
                f"FILTER NOT EXISTS {{ ?s a ?t VALUES ?t {{ {allowed} }} }} }}"
            )
            count = int(next(iter(store.query(query)))[0].value)  # type: ignore[arg-type]
            if count:
                problems.append(f"{prop}: {count} subjects outside its domain {domain}")
        range_ = ontology.value(node, RDFS.range)
        if range_ is None:
            continue
        if str(range_).startswith(XSD_NS):
            allowed = {str(range_), *DERIVED.get(str(range_), ())}
            query = f"SELECT DISTINCT (DATATYPE(?o) AS ?d) WHERE {{ ?s <{prop}> ?o }}"
            wrong = _column(store, query) - allowed
            if wrong:
                problems.append(f"{prop}: literals of {sorted(wrong)} outside its range {range_}")
        else:
            allowed_classes = " ".join(f"<{c}>" for c in _subclasses(ontology, str(range_)))
            query = (
                f"SELECT (COUNT(*) AS ?n) WHERE {{ ?s <{prop}> ?o "
                f"FILTER NOT EXISTS {{ ?o a ?t VALUES ?t {{ {allowed_classes} }} }} }}"
            )
            count = int(next(iter(store.query(query)))[0].value)  # type: ignore[arg-type]
            if count:
                problems.append(f"{prop}: {count} objects outside its range {range_}")
    return problems


def test_corpus_graph_respects_domains_and_ranges(
    corpus_sparql: ox.Store, ontology: rdflib.Graph, properties: set[str]
) -> None:
    assert _domain_range_violations(corpus_sparql, ontology, properties) == []


def test_examples_graph_respects_domains_and_ranges(
    examples_graph: KnowledgeGraph, ontology: rdflib.Graph, properties: set[str]
) -> None:
    assert _domain_range_violations(_load(examples_graph), ontology, properties) == []
