"""The OWL exporters (``owl``, ``owl-ttl``) and ``ontomap reason`` (HermiT through owlready2).

What is checked: the seed's ontology reloads in owlready2 (its own RDF/XML parser) and in rdflib
with the expected classes, properties, restrictions and annotations; the file is OWL 2 DL in
structure (every entity declared, no punning) and in the OWL 2 DL profile by the OWL API's own
checker; the whole corpus exports with the counts the JSON files give and HermiT finds it
consistent with no unsatisfiable class; output is byte-identical across processes and hash
seeds; ``reason`` exits 0, 1 and 2 as documented. Java-based tests skip without Java, except
on CI (``$CI`` set), where they fail instead.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from click.testing import CliRunner
from conftest import EXAMPLES, ROOT, SEED_MD
from rdflib.compare import isomorphic

from ontomap.cli import main
from ontomap.errors import ModelValidationError
from ontomap.exporters import EXPORTERS, export, exporter_for, serialize
from ontomap.exporters.owl import (
    OwlExportError,
    ontology_iri,
    owl_triples,
    write_owl_turtle,
    write_owl_xml,
)
from ontomap.exporters.owl_models import models_of
from ontomap.exporters.rdf import used_prefixes
from ontomap.graph import GraphBuilder, KnowledgeGraph
from ontomap.model import ChoiceAttribute, ChoiceValue, FindingModel, IndexCode, NumericAttribute
from ontomap.readers import read_models
from ontomap.reason import JavaNotFoundError, find_java, load_world, reason
from ontomap.vocab import DEFAULT_BASE_IRI

owlready2 = pytest.importorskip("owlready2")

FM = DEFAULT_BASE_IRI
OIFM = "https://w3id.org/ontomap/oifm#"
OWL = "http://www.w3.org/2002/07/owl#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCTERMS = "http://purl.org/dc/terms/"
XSD = "http://www.w3.org/2001/XMLSchema#"

SEED = "OIFM_GMTS_005529"
PRESENCE = "OIFMA_GMTS_963679"
CHANGE = "OIFMA_GMTS_163920"
ABSENT = PRESENCE + ".0"
RID28473 = "http://radlex.org/RID/RID28473"
SCT2667000 = "http://snomed.info/id/2667000"
GAMUTS5529 = "https://w3id.org/ontomap/code/GAMUTS/5529"


def java_or_skip() -> str:
    """The Java executable; skip the test where there is none (but fail on CI, which has it)."""
    try:
        return find_java()
    except JavaNotFoundError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must have Java for HermiT: {exc}")
        pytest.skip(f"HermiT needs Java: {exc}")


def graph_of(paths: Iterable[Path], base_iri: str = DEFAULT_BASE_IRI) -> KnowledgeGraph:
    report = read_models(list(paths))
    assert report.ok, [str(d) for d in report.diagnostics]
    return GraphBuilder(base_iri).graph(source.model for source in report.models)


def graph_of_models(*models: FindingModel, base_iri: str = DEFAULT_BASE_IRI) -> KnowledgeGraph:
    return GraphBuilder(base_iri).graph(models)


def rdflib_graph(data: bytes, fmt: str) -> rdflib.Graph:
    return rdflib.Graph().parse(data=data, format={"owl": "xml", "owl-ttl": "turtle"}[fmt])


def triples_of(data: bytes, fmt: str) -> list[ox.Triple]:
    rdf_format = {"owl": ox.RdfFormat.RDF_XML, "owl-ttl": ox.RdfFormat.TURTLE}[fmt]
    return list(ox.parse(data, format=rdf_format))


def literals_of(data: bytes, fmt: str, predicate: str) -> list[tuple[str, str]]:
    """Lexical form and datatype IRI of each literal object of ``predicate``, sorted."""
    return sorted(
        (t.object.value, t.object.datatype.value)
        for t in triples_of(data, fmt)
        if t.predicate.value == predicate and isinstance(t.object, ox.Literal)
    )


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def seed_graph() -> KnowledgeGraph:
    return graph_of([SEED_MD])


@pytest.fixture(scope="module")
def seed_owl(seed_graph: KnowledgeGraph) -> bytes:
    return serialize(seed_graph, "owl")


@pytest.fixture(scope="module")
def seed_owl_file(tmp_path_factory: pytest.TempPathFactory, seed_graph: KnowledgeGraph) -> Path:
    path = tmp_path_factory.mktemp("seed-owl") / "seed.owl"
    export(seed_graph, path)
    return path


@pytest.fixture(scope="module")
def seed_world(seed_owl_file: Path):
    """The seed's RDF/XML read by owlready2's own parser, in a world of its own."""
    world = owlready2.World()
    world.get_ontology(seed_owl_file.as_uri()).load()
    yield world
    world.close()


@pytest.fixture(scope="module")
def corpus_owl(tmp_path_factory: pytest.TempPathFactory, corpus_graph: KnowledgeGraph) -> Path:
    """The whole JSON corpus exported as RDF/XML, once per module."""
    path = tmp_path_factory.mktemp("corpus-owl") / "findings.owl"
    export(corpus_graph, path, "owl")
    return path


def json_counts(defs: Path) -> tuple[int, int, int]:
    """Findings, attributes and choice values, counted straight from the JSON files."""
    findings = attributes = values = 0
    for path in sorted(defs.rglob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        findings += 1
        for attribute in data.get("attributes", []):
            attributes += 1
            values += len(attribute.get("values", []) if attribute.get("type") == "choice" else [])
    return findings, attributes, values


# ------------------------------------------------------------------ registry and CLI export


def test_registry_entries() -> None:
    assert EXPORTERS["owl"].extensions == (".owl", ".rdf")
    assert EXPORTERS["owl"].media_type == "application/rdf+xml"
    assert EXPORTERS["owl-ttl"].extensions == ()
    assert exporter_for("findings.owl").name == "owl"
    assert exporter_for("findings.rdf").name == "owl"
    assert exporter_for("findings.ttl").name == "turtle"


def test_cli_export_owl_by_extension_and_format(tmp_path: Path) -> None:
    runner = CliRunner()
    owl_path, ttl_path = tmp_path / "findings.owl", tmp_path / "findings.owl.ttl"
    result = runner.invoke(main, ["export", str(SEED_MD), "-o", str(owl_path), "-q"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        main, ["export", str(SEED_MD), "-f", "owl-ttl", "-o", str(ttl_path), "-q"]
    )
    assert result.exit_code == 0, result.output
    assert owl_path.read_bytes().startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<rdf:RDF')
    assert isomorphic(
        rdflib_graph(owl_path.read_bytes(), "owl"), rdflib_graph(ttl_path.read_bytes(), "owl-ttl")
    )


def test_cli_export_owl_from_store_equals_from_sources(tmp_path: Path) -> None:
    runner = CliRunner()
    store = tmp_path / "kg"
    assert runner.invoke(main, ["build", str(EXAMPLES), "--store", str(store), "-q"]).exit_code == 0
    from_store, from_sources = tmp_path / "a.owl", tmp_path / "b.owl"
    result = runner.invoke(main, ["export", "--store", str(store), "-o", str(from_store), "-q"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["export", str(EXAMPLES), "-o", str(from_sources), "-q"])
    assert result.exit_code == 0, result.output
    assert from_store.read_bytes() == from_sources.read_bytes()


# ------------------------------------------------------------------ the seed in owlready2


def test_seed_finding_is_a_class_with_annotations(seed_world) -> None:
    finding = seed_world[FM + SEED]
    assert isinstance(finding, owlready2.ThingClass)
    assert finding.label == ["Diffuse hepatic calcifications"]
    assert seed_world[OIFM + "FindingModel"] in finding.is_a
    synonyms = seed_world[SKOS + "altLabel"][finding]
    assert sorted(synonyms) == ["hepatic calcinosis", "liver calcifications"]
    assert seed_world[DCTERMS + "description"][finding] == [
        "Calcifications spread throughout the liver"
    ]
    codes = [code.iri for code in seed_world[OIFM + "hasIndexCode"][finding]]
    assert codes == [GAMUTS5529]
    tags = seed_world[OIFM + "tag"][finding]
    assert "liver" in tags and "CT" in tags


def test_seed_attribute_is_a_functional_object_property(seed_world) -> None:
    presence = seed_world[FM + PRESENCE]
    assert isinstance(presence, owlready2.ObjectPropertyClass)
    assert owlready2.FunctionalProperty in presence.is_a
    assert presence.label == ["Presence"]
    assert presence.domain == [seed_world[FM + SEED]]
    codes = [code.iri for code in seed_world[OIFM + "hasIndexCode"][presence]]
    assert codes == ["http://snomed.info/id/705057003"]


def test_seed_value_set_is_a_closed_union_of_disjoint_classes(seed_world) -> None:
    finding, presence = seed_world[FM + SEED], seed_world[FM + PRESENCE]
    values = [seed_world[f"{FM}{PRESENCE}.{n}"] for n in range(4)]
    assert [v.label for v in values] == [["absent"], ["present"], ["indeterminate"], ["unknown"]]
    for value in values:
        assert isinstance(value, owlready2.ThingClass)
        assert value.is_a == [seed_world[OIFM + "ChoiceValue"]]
    only = [
        r for r in finding.is_a if isinstance(r, owlready2.Restriction) and r.property is presence
    ]
    assert len(only) == 1 and only[0].type == owlready2.ONLY
    assert isinstance(only[0].value, owlready2.Or)
    assert list(only[0].value.Classes) == values
    disjoint = [set(d.entities) for d in seed_world.disjoint_classes()]
    assert set(values) in disjoint
    assert {seed_world[f"{FM}{CHANGE}.{n}"] for n in range(8)} in disjoint


def test_seed_value_carries_its_index_codes(seed_world) -> None:
    absent = seed_world[FM + ABSENT]
    codes = sorted(code.iri for code in seed_world[OIFM + "hasIndexCode"][absent])
    assert codes == [RID28473, SCT2667000]
    assert seed_world[DCTERMS + "description"][absent] == [
        "Diffuse hepatic calcifications is absent"
    ]


# ------------------------------------------------------------------ the seed in rdflib


@pytest.mark.parametrize("fmt", ["owl", "owl-ttl"])
def test_seed_reloads_in_rdflib(seed_graph: KnowledgeGraph, fmt: str) -> None:
    graph = rdflib_graph(serialize(seed_graph, fmt), fmt)
    U = rdflib.URIRef
    finding, absent = U(FM + SEED), U(FM + ABSENT)
    assert (U(ontology_iri(FM)), rdflib.RDF.type, rdflib.OWL.Ontology) in graph
    assert (finding, rdflib.RDF.type, rdflib.OWL.Class) in graph
    assert (finding, rdflib.RDFS.label, rdflib.Literal("Diffuse hepatic calcifications")) in graph
    assert (finding, U(OIFM + "hasIndexCode"), U(GAMUTS5529)) in graph
    assert (U(GAMUTS5529), rdflib.SKOS.notation, rdflib.Literal("5529")) in graph
    assert (U(FM + PRESENCE), rdflib.RDF.type, rdflib.OWL.ObjectProperty) in graph
    assert (U(FM + PRESENCE), rdflib.RDF.type, rdflib.OWL.FunctionalProperty) in graph
    assert (absent, rdflib.RDF.type, rdflib.OWL.Class) in graph
    assert (absent, rdflib.RDFS.label, rdflib.Literal("absent")) in graph
    assert set(graph.objects(absent, U(OIFM + "hasIndexCode"))) == {U(RID28473), U(SCT2667000)}
    assert (U(RID28473), rdflib.SKOS.notation, rdflib.Literal("RID28473")) in graph
    assert (U(SCT2667000), rdflib.RDFS.label, rdflib.Literal("Absent (qualifier value)")) in graph
    assert (U(SCT2667000), rdflib.SKOS.inScheme, U("https://w3id.org/ontomap/scheme/SNOMED")) in (
        graph
    )
    assert (U(OIFM + "hasIndexCode"), rdflib.RDF.type, rdflib.OWL.AnnotationProperty) in graph
    # Index codes are never made equivalent or the same as anything.
    for predicate in (rdflib.OWL.equivalentClass, rdflib.OWL.sameAs, rdflib.SKOS.exactMatch):
        assert not list(graph.triples((None, predicate, None)))


def test_both_serialisations_and_the_triples_are_the_same_graph(seed_graph: KnowledgeGraph) -> None:
    xml = rdflib_graph(serialize(seed_graph, "owl"), "owl")
    turtle = rdflib_graph(serialize(seed_graph, "owl-ttl"), "owl-ttl")
    triples = owl_triples(seed_graph.models(), FM)
    base = rdflib.Graph().parse(
        data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES), format="nt"
    )
    assert isomorphic(xml, turtle)
    assert isomorphic(xml, base)
    assert len(base) == len(triples)  # every triple once


def test_blank_nodes_are_labelled_by_what_they_stand_for(seed_graph: KnowledgeGraph) -> None:
    triples = triples_of(serialize(seed_graph, "owl-ttl"), "owl-ttl")
    restriction = ox.BlankNode(f"{SEED}.{PRESENCE}.only")
    about = {(t.predicate.value, t.object) for t in triples if t.subject == restriction}
    assert (RDF + "type", ox.NamedNode(OWL + "Restriction")) in about
    assert (OWL + "onProperty", ox.NamedNode(FM + PRESENCE)) in about
    assert (OWL + "allValuesFrom", ox.BlankNode(f"{SEED}.{PRESENCE}.values")) in about
    disjoint = ox.BlankNode(f"{PRESENCE}.disjoint")
    kinds = {t.object.value for t in triples if t.subject == disjoint}
    assert OWL + "AllDisjointClasses" in kinds


def test_blank_node_labels_do_not_depend_on_the_other_models(seed_graph: KnowledgeGraph) -> None:
    """A model that shares no attribute with the others has the same axioms, blank-node
    labels included, alone and exported with them."""
    alone = ox.serialize(owl_triples(seed_graph.models()), format=ox.RdfFormat.N_TRIPLES)
    together = ox.serialize(
        owl_triples(graph_of([EXAMPLES]).models()), format=ox.RdfFormat.N_TRIPLES
    )
    assert alone is not None and together is not None
    blank = {line for line in alone.splitlines() if line.startswith(b"_:")}
    assert len(blank) > 50
    assert blank <= set(together.splitlines())


@pytest.mark.parametrize("fmt", ["owl", "owl-ttl"])
def test_prefixes_declared_are_exactly_those_used(fmt: str) -> None:
    shared = _choice("OIFMA_TEST_000003", ["yes", "no", "maybe"])
    models = [
        FindingModel("OIFM_TEST_000004", "f4", attributes=(shared,)),
        FindingModel(
            "OIFM_TEST_000005",
            "f5",
            attributes=(shared, NumericAttribute("OIFMA_TEST_000011", "n", minimum=1)),
            index_codes=(IndexCode.of("LOINC", "1234-5", "a code"),),
        ),
    ]
    for graph in (graph_of([EXAMPLES]), graph_of_models(*models)):
        data = serialize(graph, fmt)
        if fmt == "owl-ttl":
            head, _, body = data.partition(b"\n\n")
            declared = [line.split()[1][:-1].decode() for line in head.splitlines()]
            assert declared == sorted(declared)
            assert declared == list(used_prefixes(body, graph.prefixes | {"fm": FM}))
        else:
            root = data[data.index(b"<rdf:RDF") : data.index(b">", data.index(b"<rdf:RDF"))]
            declared = [name.decode() for name in re.findall(rb"xmlns:([\w.-]+)=", root)]
            assert declared == sorted(declared)
            body = data[data.index(b">", data.index(b"<rdf:RDF")) :]
            names = set(re.findall(rb"</?([A-Za-z][\w.-]*):[\w.-]+[\s/>]", body))
            names |= set(re.findall(rb"\s([A-Za-z][\w.-]*):[\w.-]+=", body))
            assert set(declared) == {name.decode() for name in names} | {"rdf"}


def test_turtle_states_each_subject_once() -> None:
    """Oxigraph groups a subject's triples where they come together: each subject is the head
    of one statement only."""
    data = serialize(graph_of([EXAMPLES]), "owl-ttl").decode()
    heads = [
        line.split(" ", 1)[0]
        for line in data.splitlines()
        if line and not line[0].isspace() and not line.startswith("@prefix")
    ]
    assert len(heads) > 100
    assert len(heads) == len(set(heads))


def test_models_read_from_the_lines_are_the_graphs_models(corpus_graph: KnowledgeGraph) -> None:
    """The exporter reads the models from the graph's lines itself (faster than
    :meth:`KnowledgeGraph.models`); it must read the same models, less their contributors,
    which the ontology does not carry."""
    for graph in (graph_of([EXAMPLES]), corpus_graph):
        expected = [dataclasses.replace(m, contributors=()) for m in graph.models()]
        assert models_of(graph) == expected


# ------------------------------------------------------------------ OWL 2 DL structure


_BUILTIN_PREDICATES = {RDF + "type", RDF + "first", RDF + "rest"} | {
    RDFS + name for name in ("subClassOf", "domain", "range", "label", "comment")
}
_KINDS = {
    OWL + name for name in ("Class", "ObjectProperty", "DatatypeProperty", "AnnotationProperty")
} | {OWL + "NamedIndividual", RDFS + "Datatype"}


def dl_problems(triples: Iterable[ox.Triple]) -> list[str]:
    """Undeclared entities and punning in an ontology's triples (an empty list when clean)."""
    kinds: dict[str, set[str]] = defaultdict(set)
    by_subject: dict[ox.Term, dict[str, list[ox.Term]]] = defaultdict(lambda: defaultdict(list))
    for t in triples:
        by_subject[t.subject][t.predicate.value].append(t.object)
        if t.predicate.value == RDF + "type" and t.object.value in _KINDS:
            kinds[t.subject.value].add(t.object.value.rsplit("#", 1)[1])

    def items(node: ox.Term) -> list[ox.Term]:
        out = []
        while isinstance(node, ox.BlankNode):
            out.extend(by_subject[node][RDF + "first"])
            node = by_subject[node][RDF + "rest"][0]
        return out

    problems = [f"{iri} is punned: {sorted(k)}" for iri, k in kinds.items() if len(k) > 1]

    def need(term: ox.Term, kind: str | tuple[str, ...], why: str) -> None:
        wanted = (kind,) if isinstance(kind, str) else kind
        builtin = (OWL + "Thing", OWL + "Nothing")
        if (
            isinstance(term, ox.NamedNode)
            and term.value not in builtin
            and not kinds[term.value] & set(wanted)
        ):
            problems.append(f"{term.value} ({why}) is not declared as {'/'.join(wanted)}")

    for subject, props in by_subject.items():
        for target in props.get(OWL + "onProperty", []):
            need(target, ("ObjectProperty", "DatatypeProperty"), "owl:onProperty")
        for key in (RDFS + "subClassOf", OWL + "disjointWith"):
            for target in props.get(key, []):
                need(subject, "Class", key)
                need(target, "Class", key)
        for target in props.get(RDFS + "domain", []):
            need(target, "Class", "rdfs:domain")
        for key in (OWL + "unionOf", OWL + "members"):
            for target in props.get(key, []):
                for member in items(target):
                    need(member, "Class", key)
        if isinstance(subject, ox.NamedNode):
            for predicate in props:
                if predicate not in _BUILTIN_PREDICATES and not predicate.startswith(OWL):
                    need(ox.NamedNode(predicate), "AnnotationProperty", "annotation")
    return problems


@pytest.mark.parametrize("fmt", ["owl", "owl-ttl"])
def test_examples_are_owl2_dl_in_structure(fmt: str) -> None:
    data = serialize(graph_of([EXAMPLES]), fmt)
    assert dl_problems(triples_of(data, fmt)) == []


@pytest.mark.parametrize("fmt", ["owl", "owl-ttl"])
def test_numeric_attribute_is_a_data_property_with_a_decimal_range(
    tmp_path: Path, fmt: str
) -> None:
    graph = graph_of([EXAMPLES / "solitary_pulmonary_nodule.fm.json"])
    path = tmp_path / f"nodule.{fmt}"
    export(graph, path, fmt)
    world, _onto = load_world(path)  # owlready2 reads the file back
    try:
        numeric = [p for p in world.data_properties() if owlready2.FunctionalProperty in p.is_a]
        assert len(numeric) == 1
        size = numeric[0]
        assert world[OIFM + "unit"][size] == ["mm"]
        (finding,) = size.domain
        (only,) = [
            r for r in finding.is_a if isinstance(r, owlready2.Restriction) and r.property is size
        ]
        assert only.type == owlready2.ONLY
        assert only.value.base_datatype is float  # owlready2's name for xsd:decimal
        assert (only.value.min_inclusive, only.value.max_inclusive) == (0, 30.5)
    finally:
        world.close()
    data = serialize(graph, fmt)
    assert literals_of(data, fmt, XSD + "minInclusive") == [("0", XSD + "decimal")]
    assert literals_of(data, fmt, XSD + "maxInclusive") == [("30.5", XSD + "decimal")]
    assert literals_of(data, fmt, OIFM + "unit") == [("mm", XSD + "string")]


# ------------------------------------------------------------------ modelling edge cases


def _choice(oifma_id: str, names: list[str], **kwargs: object) -> ChoiceAttribute:
    values = tuple(ChoiceValue(f"{oifma_id}.{n}", name) for n, name in enumerate(names))
    return ChoiceAttribute(oifma_id, oifma_id.lower(), values, **kwargs)  # type: ignore[arg-type]


def test_multi_select_required_attribute_gets_cardinalities() -> None:
    model = FindingModel(
        "OIFM_TEST_000001",
        "test finding",
        attributes=(_choice("OIFMA_TEST_000001", ["a", "b", "c"], max_selected=2, required=True),),
    )
    data = serialize(graph_of_models(model), "owl-ttl")
    assert b"owl:FunctionalProperty" not in data
    count = XSD + "nonNegativeInteger"
    assert literals_of(data, "owl-ttl", OWL + "maxCardinality") == [("2", count)]
    assert literals_of(data, "owl-ttl", OWL + "minCardinality") == [("1", count)]


def test_tiny_decimals_are_written_in_plain_notation() -> None:
    model = FindingModel(
        "OIFM_TEST_000002",
        "tiny",
        attributes=(NumericAttribute("OIFMA_TEST_000002", "size", minimum=0.00001, maximum=1e-3),),
    )
    for fmt in ("owl", "owl-ttl"):
        data = serialize(graph_of_models(model), fmt)
        assert literals_of(data, fmt, XSD + "minInclusive") == [("0.00001", XSD + "decimal")]
        assert literals_of(data, fmt, XSD + "maxInclusive") == [("0.001", XSD + "decimal")]
        assert b"e-" not in data


def test_attribute_shared_by_two_findings_has_a_union_domain() -> None:
    shared = _choice("OIFMA_TEST_000003", ["yes", "no"])
    models = [FindingModel(f"OIFM_TEST_00000{n}", f"f{n}", attributes=(shared,)) for n in (4, 5)]
    triples = triples_of(serialize(graph_of_models(*models), "owl"), "owl")
    assert dl_problems(triples) == []
    domains = [t.object for t in triples if t.predicate.value == RDFS + "domain"]
    assert len(domains) == 1 and isinstance(domains[0], ox.BlankNode)
    disjoint = [t for t in triples if t.predicate.value == OWL + "disjointWith"]
    assert len(disjoint) == 1


def test_attribute_both_choice_and_numeric_is_refused() -> None:
    first = FindingModel("OIFM_TEST_000006", "a", attributes=(_choice("OIFMA_TEST_000006", ["x"]),))
    second = FindingModel(
        "OIFM_TEST_000007", "b", attributes=(NumericAttribute("OIFMA_TEST_000006", "n"),)
    )
    with pytest.raises(ModelValidationError, match="OIFMA_TEST_000006"):
        owl_triples([first, second])


def test_awkward_text_survives_both_serialisations() -> None:
    text = 'a "quoted" <b> & c\\d\nsecond line\ttab — é 😀'
    model = FindingModel(
        "OIFM_TEST_000008",
        "awkward",
        description=text,
        index_codes=(IndexCode.of("RADLEX", "RID1", "display & <more>"),),
    )
    graph = graph_of_models(model)
    literal = rdflib.Literal(text)
    for fmt in ("owl", "owl-ttl"):
        parsed = rdflib_graph(serialize(graph, fmt), fmt)
        assert (rdflib.URIRef(FM + "OIFM_TEST_000008"), rdflib.DCTERMS.description, literal) in (
            parsed
        )


@pytest.mark.parametrize("fmt", ["owl", "owl-ttl"])
def test_every_triple_is_written_once(fmt: str) -> None:
    """One code with two displays is one IRI with two labels; a value shared by two findings
    is described once; the count the writer returns is the number of distinct triples."""
    shared = ChoiceAttribute(
        "OIFMA_TEST_000020",
        "shared",
        (
            ChoiceValue(
                "OIFMA_TEST_000020.0", "yes", index_codes=(IndexCode.of("RADLEX", "RID1", "a"),)
            ),
        ),
    )
    models = [
        FindingModel(
            f"OIFM_TEST_00002{n}",
            "f",
            attributes=(shared,),
            index_codes=(IndexCode.of("RADLEX", "RID1", "a"), IndexCode.of("RADLEX", "RID1", "b")),
            tags=("t", "t"),
        )
        for n in (1, 2)
    ]
    handle = io.BytesIO()
    write = write_owl_xml if fmt == "owl" else write_owl_turtle
    count = write(graph_of_models(*models), handle)
    triples = triples_of(handle.getvalue(), fmt)
    assert count == len(triples) == len(set(triples))
    direct = owl_triples(models)  # from the models themselves, where RID1 has two displays
    assert len(direct) == len(set(direct))
    rid1 = ox.NamedNode("http://radlex.org/RID/RID1")
    labels = {
        t.object.value for t in direct if t.subject == rid1 and t.predicate.value == RDFS + "label"
    }
    assert labels == {"a", "b"}


def test_control_characters_cannot_go_into_rdf_xml() -> None:
    model = FindingModel("OIFM_TEST_000009", "bell\x07")
    graph = graph_of_models(model)
    with pytest.raises(OwlExportError, match="owl-ttl"):
        serialize(graph, "owl")
    assert rdflib_graph(serialize(graph, "owl-ttl"), "owl-ttl")


def test_custom_base_iri(tmp_path: Path) -> None:
    path = tmp_path / "seed.owl"
    result = CliRunner().invoke(
        main, ["export", str(SEED_MD), "-o", str(path), "--base-iri", "urn:oifm:", "-q"]
    )
    assert result.exit_code == 0, result.output
    graph = rdflib_graph(path.read_bytes(), "owl")
    assert (rdflib.URIRef("urn:oifm"), rdflib.RDF.type, rdflib.OWL.Ontology) in graph
    assert (rdflib.URIRef("urn:oifm:" + ABSENT), rdflib.RDF.type, rdflib.OWL.Class) in graph


# ------------------------------------------------------------------ determinism


def _export_in_subprocess(source: Path, target: Path, fmt: str, seed: str) -> bytes:
    env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(ROOT))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "ontomap",
            "export",
            str(source),
            "-f",
            fmt,
            "-o",
            str(target),
            "-q",
        ],
        check=True,
        env=env,
        cwd=ROOT,
    )
    return target.read_bytes()


@pytest.mark.parametrize("fmt", ["owl", "owl-ttl"])
def test_output_is_byte_identical_across_hash_seeds(tmp_path: Path, fmt: str) -> None:
    first = _export_in_subprocess(EXAMPLES, tmp_path / "a", fmt, "0")
    second = _export_in_subprocess(EXAMPLES, tmp_path / "b", fmt, "4242")
    assert first == second
    assert first == serialize(graph_of([EXAMPLES]), fmt)


# ------------------------------------------------------------------ the whole corpus


def test_corpus_exports_with_the_counts_of_the_json_files(
    corpus_defs: Path, corpus_owl: Path
) -> None:
    findings, attributes, values = json_counts(corpus_defs)
    assert (findings, attributes, values) == (2382, 5709, 29728)
    world = owlready2.World()
    try:
        world.get_ontology(corpus_owl.as_uri()).load()
        finding_root, value_root = world[OIFM + "FindingModel"], world[OIFM + "ChoiceValue"]
        assert len(list(finding_root.subclasses())) == findings
        assert len(list(value_root.subclasses())) == values
        properties = list(world.object_properties()) + list(world.data_properties())
        assert len([p for p in properties if p.iri.startswith(FM)]) == attributes
        assert all(len(p.domain) == 1 for p in properties if p.iri.startswith(FM))
    finally:
        world.close()


def test_corpus_is_owl2_dl_in_structure(corpus_owl: Path) -> None:
    triples = list(ox.parse(path=str(corpus_owl), format=ox.RdfFormat.RDF_XML))
    assert dl_problems(triples) == []
    # A RadLex code that indexes values across many models stays one annotated IRI: no
    # equivalence or sameness is ever asserted between codes, values or findings.
    assert not [
        t
        for t in triples
        if t.predicate.value in (OWL + "equivalentClass", OWL + "sameAs", SKOS + "exactMatch")
    ]
    absent_values = [
        t.subject
        for t in triples
        if t.predicate.value == OIFM + "hasIndexCode" and t.object.value == RID28473
    ]
    assert len(absent_values) > 1000


def test_corpus_export_is_byte_identical_in_another_process(
    corpus_defs: Path, corpus_owl: Path, tmp_path: Path
) -> None:
    again = _export_in_subprocess(corpus_defs, tmp_path / "again.owl", "owl", "777")
    assert again == corpus_owl.read_bytes()


@pytest.mark.slow
def test_hermit_finds_the_corpus_consistent(corpus_owl: Path) -> None:
    java_or_skip()
    report = reason(corpus_owl)
    assert report.consistent
    assert report.unsatisfiable == ()
    assert report.classes == 2382 + 29728 + 2


# ------------------------------------------------------------------ reason: API and CLI


def test_load_world_reads_rdf_xml_and_turtle(seed_graph: KnowledgeGraph, tmp_path: Path) -> None:
    for name, fmt in (("seed.owl", "owl"), ("seed.owl.ttl", "owl-ttl")):
        path = tmp_path / name
        export(seed_graph, path, fmt)
        world, _onto = load_world(path)
        try:
            assert world[FM + ABSENT].label == ["absent"]
        finally:
            world.close()


def test_reason_seed_exits_0(seed_owl_file: Path) -> None:
    java_or_skip()
    result = CliRunner().invoke(main, ["reason", str(seed_owl_file)])
    assert result.exit_code == 0, result.output
    assert "consistent" in result.output and "none unsatisfiable" in result.output


def test_reason_unsatisfiable_class_exits_1(tmp_path: Path) -> None:
    java_or_skip()
    broken = FindingModel(
        "OIFM_TEST_000010",
        "impossible size",
        attributes=(
            NumericAttribute("OIFMA_TEST_000010", "size", required=True, minimum=10, maximum=1),
        ),
    )
    path = tmp_path / "broken.owl"
    export(graph_of_models(broken), path)
    result = CliRunner().invoke(main, ["reason", str(path)])
    assert result.exit_code == 1, result.output
    assert "1 unsatisfiable class" in result.output
    assert f"<{FM}OIFM_TEST_000010> impossible size" in result.output


def test_reason_inconsistent_ontology_exits_1(tmp_path: Path) -> None:
    java_or_skip()
    path = tmp_path / "inconsistent.ttl"
    path.write_text(
        "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
        "@prefix ex: <https://example.org/> .\n"
        "ex:A a owl:Class . ex:B a owl:Class . ex:A owl:disjointWith ex:B .\n"
        "ex:x a owl:NamedIndividual , ex:A , ex:B .\n"
    )
    result = CliRunner().invoke(main, ["reason", str(path)])
    assert result.exit_code == 1, result.output
    assert "inconsistent" in result.output


def test_reason_without_java_exits_2_with_one_line(seed_owl_file: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    empty = tmp_path / "no-java-here"
    empty.mkdir()
    result = runner.invoke(
        main, ["reason", str(seed_owl_file)], env={"PATH": str(empty), "JAVA_HOME": None}
    )
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "apt-get install default-jre-headless" in lines[0]
    result = runner.invoke(main, ["reason", str(seed_owl_file), "--java", str(empty / "java")])
    assert result.exit_code == 2 and "not found" in result.output


def test_reason_unreadable_file_exits_2(tmp_path: Path) -> None:
    java_or_skip()
    path = tmp_path / "garbage.owl"
    path.write_text("<?xml version='1.0'?><rdf:RDF><unclosed>")
    result = CliRunner().invoke(main, ["reason", str(path)])
    assert result.exit_code == 2
    assert "garbage.owl" in result.output and "not valid" in result.output
    result = CliRunner().invoke(main, ["reason", str(tmp_path / "missing.owl")])
    assert result.exit_code == 2 and "no such file" in result.output


def test_missing_owlready2_is_one_clear_line(tmp_path: Path) -> None:
    """Without owlready2 (hidden from the import system), the OWL export still works and
    reason says what to do."""
    hide = "import sys; sys.modules['owlready2'] = None; from ontomap.cli import main; main()"
    env = dict(os.environ, PYTHONPATH=str(ROOT))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-c", hide, *args]
        return subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)

    result = run("export", str(SEED_MD), "-o", str(tmp_path / "x.owl"), "-q")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "x.owl").read_bytes() == serialize(graph_of([SEED_MD]), "owl")
    result = run("reason", str(tmp_path / "x.owl"))
    assert result.returncode == 2  # a missing optional part is a usage problem
    assert result.stderr.strip().splitlines() == [
        "ontomap: error: `ontomap reason` needs owlready2, which is not installed; "
        "install it with: pip install owlready2"
    ]


# ------------------------------------------------------------------ OWL API's own DL check

OWL_API_DL_CHECK = """
import org.semanticweb.owlapi.apibinding.OWLManager;
import org.semanticweb.owlapi.model.OWLOntology;
import org.semanticweb.owlapi.profiles.OWL2DLProfile;
import org.semanticweb.owlapi.profiles.OWLProfileReport;
import org.semanticweb.owlapi.profiles.OWLProfileViolation;

public class DLCheck {
    public static void main(String[] args) throws Exception {
        for (String name : args) {
            OWLOntology ontology = OWLManager.createOWLOntologyManager()
                .loadOntologyFromOntologyDocument(new java.io.File(name));
            OWLProfileReport report = new OWL2DLProfile().checkOntology(ontology);
            System.out.println("classes=" + ontology.getClassesInSignature().size()
                + " violations=" + report.getViolations().size());
            for (OWLProfileViolation violation : report.getViolations()) {
                System.out.println("  " + violation);
            }
        }
    }
}
"""


def owl_api_dl_check(tmp_path: Path, *files: Path) -> list[str]:
    """Run the OWL API bundled in owlready2's HermiT.jar (the parser Protégé uses) and its
    OWL 2 DL profile checker on ``files``; skip where Java cannot run a source file (a JRE
    without the compiler)."""
    java = java_or_skip()
    source = tmp_path / "DLCheck.java"
    source.write_text(OWL_API_DL_CHECK)
    jar = Path(owlready2.__file__).parent / "hermit" / "HermiT.jar"
    command = [java, "-Xmx2g", "-cp", str(jar), str(source), *map(str, files)]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    if result.returncode != 0 and "classes=" not in result.stdout:
        if "compiler" in result.stderr.lower() or "jdk.compiler" in result.stderr:
            pytest.skip("the OWL API check needs a JDK (java with its source launcher)")
        raise AssertionError(result.stderr)
    return result.stdout.strip().splitlines()


def test_owl_api_finds_the_examples_in_the_owl2_dl_profile(tmp_path: Path) -> None:
    graph = graph_of([EXAMPLES])
    xml, turtle = tmp_path / "examples.owl", tmp_path / "examples.owl.ttl"
    export(graph, xml, "owl")
    export(graph, turtle, "owl-ttl")
    lines = owl_api_dl_check(tmp_path, xml, turtle)
    assert lines == ["classes=37 violations=0", "classes=37 violations=0"]


@pytest.mark.slow
def test_owl_api_finds_the_corpus_in_the_owl2_dl_profile(corpus_owl: Path, tmp_path: Path) -> None:
    assert owl_api_dl_check(tmp_path, corpus_owl) == [
        f"classes={2382 + 29728 + 2 + 1} violations=0"  # + owl:Thing, which OWL API counts
    ]


def test_owl_from_models_is_the_owl_of_their_graph(corpus_defs) -> None:  # type: ignore[no-untyped-def]
    """The export from sources makes the ontology from the models read, without their graph:
    the same bytes as from the graph (whose models come back as sets, sorted)."""
    import io

    from ontomap.exporters.owl import write_owl_models, write_owl_turtle, write_owl_xml
    from ontomap.graph import GraphBuilder
    from ontomap.readers import read_models

    models = [s.model for s in read_models([corpus_defs]).models]
    graph = GraphBuilder().graph(models)
    for turtle, write in ((False, write_owl_xml), (True, write_owl_turtle)):
        from_graph, from_models = io.BytesIO(), io.BytesIO()
        count = write(graph, from_graph)
        assert (
            write_owl_models(models, "https://w3id.org/ontomap/id/", from_models, turtle) == count
        )
        assert from_models.getvalue() == from_graph.getvalue()
