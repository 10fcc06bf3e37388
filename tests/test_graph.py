"""Tests of the graph builder: the seed, base IRIs, round trips, corpus counts, Markdown vs JSON,
and N-Triples terms."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from conftest import EXAMPLES, RESOURCES, SEED_MD
from markdown_losses import apply_markdown_losses
from rdflib.compare import graph_diff, isomorphic

from ontomap import api, ntriples
from ontomap.graph import GraphBuilder, KnowledgeGraph, check_base_iri, decimal_text
from ontomap.model import (
    ChoiceAttribute,
    FindingModel,
    IndexCode,
    NumericAttribute,
    Organization,
    Person,
)
from ontomap.readers import read_file, read_models

OIFM = "https://w3id.org/ontomap/oifm#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"
BASE = "https://w3id.org/ontomap/id/"
SCHEME = "https://w3id.org/ontomap/scheme/"


def _rows(graph: rdflib.Graph, query: str) -> set[tuple[str, ...]]:
    return {tuple(str(term) for term in row) for row in graph.query(query)}  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def seed_rdflib() -> rdflib.Graph:
    source, warnings = read_file(SEED_MD)
    assert warnings == []
    return GraphBuilder().graph([source.model]).to_rdflib()


# -- the seed ---------------------------------------------------------------------------------


def test_seed_finding_has_gamuts_5529(seed_rdflib: rdflib.Graph) -> None:
    rows = _rows(
        seed_rdflib,
        f"""SELECT ?concept ?scheme ?notation ?label WHERE {{
              <{BASE}OIFM_GMTS_005529> a <{OIFM}FindingModel> ;
                  <{OIFM}hasIndexCode> ?concept .
              ?concept a <{SKOS}Concept> ; <{SKOS}inScheme> ?scheme ;
                  <{SKOS}notation> ?notation ; <{RDFS}label> ?label .
            }}""",
    )
    assert rows == {
        (
            "https://w3id.org/ontomap/code/GAMUTS/5529",
            f"{SCHEME}GAMUTS",
            "5529",
            "diffuse hepatic calcifications",
        )
    }


def test_seed_value_has_radlex_and_snomed(seed_rdflib: rdflib.Graph) -> None:
    rows = _rows(
        seed_rdflib,
        f"""SELECT ?concept ?system ?notation ?label WHERE {{
              <{BASE}OIFM_GMTS_005529> <{OIFM}hasAttribute> ?attribute .
              ?attribute <{OIFM}hasValue> ?value .
              ?value <{OIFM}oifmId> "OIFMA_GMTS_963679.0" ; <{OIFM}hasIndexCode> ?concept .
              ?concept a <{SKOS}Concept> ; <{SKOS}inScheme> ?scheme ;
                  <{SKOS}notation> ?notation ; <{RDFS}label> ?label .
              ?scheme a <{SKOS}ConceptScheme> ; <{SKOS}notation> ?system .
            }}""",
    )
    assert rows == {
        ("http://radlex.org/RID/RID28473", "RADLEX", "RID28473", "absent"),
        ("http://snomed.info/id/2667000", "SNOMED", "2667000", "Absent (qualifier value)"),
    }
    # the value's IRI is the base followed by its code, with the .N kept
    assert (
        rdflib.URIRef(f"{BASE}OIFMA_GMTS_963679.0"),
        rdflib.URIRef(f"{OIFM}hasIndexCode"),
        rdflib.URIRef("http://radlex.org/RID/RID28473"),
    ) in seed_rdflib


def test_seed_structure(seed_rdflib: rdflib.Graph) -> None:
    rows = _rows(
        seed_rdflib,
        f"""SELECT ?attribute ?apos ?value ?vpos ?name WHERE {{
              <{BASE}OIFM_GMTS_005529> <{OIFM}hasAttribute> ?attribute .
              ?attribute <{OIFM}position> ?apos ; <{OIFM}hasValue> ?value .
              ?value <{OIFM}position> ?vpos ; <{RDFS}label> ?name .
            }}""",
    )
    assert len(rows) == 4 + 8
    assert (f"{BASE}OIFMA_GMTS_963679", "0", f"{BASE}OIFMA_GMTS_963679.0", "0", "absent") in rows
    assert (f"{BASE}OIFMA_GMTS_163920", "1", f"{BASE}OIFMA_GMTS_163920.3", "3", "resolved") in rows
    schemes = _rows(
        seed_rdflib,
        f"SELECT ?s ?n ?ns WHERE {{ ?s a <{SKOS}ConceptScheme> ; <{SKOS}notation> ?n ; "
        f"<{OIFM}codeNamespace> ?ns }}",
    )
    assert schemes == {
        (f"{SCHEME}GAMUTS", "GAMUTS", "https://w3id.org/ontomap/code/GAMUTS/"),
        (f"{SCHEME}RADLEX", "RADLEX", "http://radlex.org/RID/"),
        (f"{SCHEME}SNOMED", "SNOMED", "http://snomed.info/id/"),
    }


def test_seed_json_and_markdown_link_the_same_codes(corpus_defs: Path) -> None:
    query = "SELECT ?e ?c WHERE { ?e <https://w3id.org/ontomap/oifm#hasIndexCode> ?c }"
    from_json = read_file(corpus_defs / "diffuse_hepatic_calcifications.fm.json")[0].model
    from_md = read_file(SEED_MD)[0].model
    links = [_rows(GraphBuilder().graph([m]).to_rdflib(), query) for m in (from_json, from_md)]
    assert links[0] == links[1]
    assert len(links[0]) == 1 + 1 + 2 + 2 * 4 + 2 * 7  # finding, attributes, values


def test_example_details(examples_graph: KnowledgeGraph) -> None:
    graph = examples_graph.to_rdflib()
    numeric = _rows(
        graph,
        f"""SELECT ?min ?max ?unit ?required WHERE {{
              <{BASE}OIFMA_OMAP_000011> a <{OIFM}NumericAttribute>, <{OIFM}Attribute> ;
                  <{OIFM}minimum> ?min ; <{OIFM}maximum> ?max ; <{OIFM}unit> ?unit ;
                  <{OIFM}required> ?required }}""",
    )
    assert numeric == {("0", "30.5", "mm", "false")}
    assert (
        rdflib.URIRef(f"{BASE}OIFMA_OMAP_000011"),
        rdflib.URIRef(f"{OIFM}maximum"),
        rdflib.Literal("30.5", datatype=rdflib.URIRef(f"{XSD}decimal")),
    ) in graph
    assert _rows(
        graph, f"SELECT ?n WHERE {{ <{BASE}OIFMA_OMAP_000012> <{OIFM}maxSelected> ?n }}"
    ) == {("2",)}
    assert _rows(
        graph, f"SELECT ?n WHERE {{ <{BASE}OIFMA_OMAP_000022> <{OIFM}maxSelected> ?n }}"
    ) == {("3",)}
    # Markdown cannot say whether an attribute is required: no triple rather than a guess
    assert (
        _rows(graph, f"SELECT ?r WHERE {{ <{BASE}OIFMA_OMAP_000023> <{OIFM}required> ?r }}")
        == set()
    )
    person = _rows(
        graph,
        f"""SELECT ?name ?email ?github ?org ?url WHERE {{
              <{BASE}OIFM_OMAP_000001> <{OIFM}hasContributor> ?p .
              ?p a <{OIFM}Person> ; <{RDFS}label> ?name ; <{OIFM}email> ?email ;
                 <{OIFM}githubUsername> ?github ; <{OIFM}organizationCode> ?org ;
                 <{OIFM}url> ?url }}""",
    )
    assert person == {
        ("Ada Example", "ada@example.org", "ada-example", "OMAP", "https://example.org/ada")
    }
    locations = _rows(
        graph, f"SELECT ?c WHERE {{ <{BASE}OIFM_OMAP_000001> <{OIFM}anatomicLocation> ?c }}"
    )
    assert locations == {("http://radlex.org/RID/RID1301",)}
    loinc = _rows(graph, f"SELECT ?c WHERE {{ <{BASE}OIFMA_OMAP_000023> <{OIFM}hasIndexCode> ?c }}")
    assert loinc == {("http://loinc.org/rdf/9269-2",)}


def test_unknown_code_system_is_kept_in_the_graph() -> None:
    report = read_models([RESOURCES / "unknown_system.fm.json"])
    assert len(report.warnings) == 1
    graph = api.build_graph(report).to_rdflib()
    rows = _rows(
        graph,
        f"""SELECT ?c ?scheme ?n WHERE {{ <{BASE}OIFM_TEST_000008> <{OIFM}hasIndexCode> ?c .
              ?c <{SKOS}inScheme> ?scheme ; <{SKOS}notation> ?n }}""",
    )
    assert rows == {
        ("http://radlex.org/RID/RID5791", f"{SCHEME}RADLEX", "RID5791"),
        ("https://w3id.org/ontomap/code/FOOBAR/X-12", f"{SCHEME}FOOBAR", "X-12"),
    }


# -- base IRI ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "base", ["http://example.org/oifm/", "https://example.org/kg#", "urn:oifm:"]
)
def test_base_iri_is_configurable(base: str) -> None:
    model = read_file(SEED_MD)[0].model
    graph = GraphBuilder(base).graph([model])
    subjects = {line.split(" ", 1)[0] for line in graph.lines}
    assert f"<{base}OIFM_GMTS_005529>" in subjects
    assert f"<{base}OIFMA_GMTS_963679.0>" in subjects
    assert not any(BASE in line for line in graph.lines)
    assert graph.models() == GraphBuilder().graph([model]).models()


@pytest.mark.parametrize(
    "base",
    [
        "",
        "foo",
        "http://example.org/oifm",
        "http://exa mple.org/",
        "http://example.org/<x>/",
        "example/",
    ],
)
def test_bad_base_iri_is_rejected(base: str) -> None:
    with pytest.raises(ValueError):
        GraphBuilder(base)
    with pytest.raises(ValueError):
        check_base_iri(base)


# -- graph → model round trips ----------------------------------------------------------------


def _code_set(codes: tuple[IndexCode, ...]) -> tuple[tuple[str, str, str | None], ...]:
    return tuple(sorted({(c.system, c.code, c.display) for c in codes}, key=repr))


def _normalised(model: FindingModel) -> FindingModel:
    """Index codes, synonyms and tags as sorted sets: the graph keeps no order or repeats for
    them (documented in models_from_triples and the README)."""
    attributes = []
    for attribute in model.attributes:
        changes: dict[str, object] = {"index_codes": _code_set(attribute.index_codes)}
        if isinstance(attribute, ChoiceAttribute):
            changes["values"] = tuple(
                dataclasses.replace(v, index_codes=_code_set(v.index_codes))
                for v in attribute.values
            )
        attributes.append(dataclasses.replace(attribute, **changes))
    return dataclasses.replace(
        model,
        attributes=tuple(attributes),
        synonyms=tuple(sorted(set(model.synonyms))),
        tags=tuple(sorted(set(model.tags))),
        index_codes=_code_set(model.index_codes),
        anatomic_locations=_code_set(model.anatomic_locations),
    )


def _round_trip_failures(models: list[FindingModel]) -> list[str]:
    builder = GraphBuilder()
    by_field: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for model in models:
        back = KnowledgeGraph(builder.model_lines(model)).models()
        if len(back) != 1:
            by_field["model count"] += 1
            examples.setdefault("model count", f"{model.oifm_id}: {len(back)} models")
            continue
        got, want = _normalised(back[0]), _normalised(model)
        for field in dataclasses.fields(FindingModel):
            if getattr(got, field.name) != getattr(want, field.name):
                by_field[field.name] += 1
                examples.setdefault(
                    field.name,
                    f"{model.oifm_id}: graph {getattr(got, field.name)!r} "
                    f"!= source {getattr(want, field.name)!r}",
                )
    return [f"{name}: {count} models, e.g. {examples[name]}" for name, count in by_field.items()]


def test_round_trip_every_corpus_model(corpus_report) -> None:
    models = [source.model for source in corpus_report.models]
    assert len(models) == 2382
    failures = _round_trip_failures(models)
    assert failures == [], "\n".join(failures)


def test_round_trip_examples_and_edge_cases() -> None:
    models = [source.model for source in read_models([EXAMPLES]).models]
    models.append(
        FindingModel(
            "OIFM_TEST_000001",
            'quotes " and \\ backslash\nnew line\ttab é — 😀',
            description="  leading and trailing white space kept  ",
            synonyms=("only one",),
            contributors=(
                Person("A", email="a@example.org"),
                Organization("B"),
                Person("C", github_username="c"),
            ),
            attributes=(
                NumericAttribute("OIFMA_TEST_000002", "b", minimum=-1.5, maximum=2, required=True),
                NumericAttribute("OIFMA_TEST_000001", "a", minimum=0.001, maximum=1e-7),
                ChoiceAttribute("OIFMA_TEST_000003", "c", (), max_selected=None, required=None),
            ),
        )
    )
    failures = _round_trip_failures(models)
    assert failures == [], "\n".join(failures)


def test_graph_does_not_depend_on_model_order(examples_graph: KnowledgeGraph) -> None:
    models = [source.model for source in read_models([EXAMPLES]).models]
    reverse = GraphBuilder().graph(reversed(models))
    assert reverse == examples_graph
    assert reverse.ntriples() == examples_graph.ntriples()
    assert KnowledgeGraph.from_ntriples(examples_graph.ntriples()) == examples_graph


def test_api_build_graph_from_a_path(examples_graph: KnowledgeGraph) -> None:
    assert api.build_graph(EXAMPLES) == examples_graph
    assert api.build_graph(str(EXAMPLES)) == examples_graph


# -- the whole corpus: counts from the JSON against SPARQL on the graph -----------------------


@pytest.fixture(scope="module")
def json_counts(corpus_defs: Path) -> dict[str, object]:
    """Counts computed from the files with the json module alone (SNOMEDCT folded into SNOMED)."""
    fold = {"SNOMEDCT": "SNOMED"}
    findings = attributes = values = choice = numeric = 0
    links: set[tuple[str, str, str]] = set()
    for path in sorted(corpus_defs.glob("*.fm.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        findings += 1
        entities = [(data["oifm_id"], data.get("index_codes"))]
        for attribute in data.get("attributes") or ():
            attributes += 1
            choice += attribute["type"] == "choice"
            numeric += attribute["type"] == "numeric"
            entities.append((attribute["oifma_id"], attribute.get("index_codes")))
            for value in attribute.get("values") or ():
                values += 1
                entities.append((value["value_code"], value.get("index_codes")))
        for entity, codes in entities:
            for code in codes or ():
                links.add((entity, fold.get(code["system"], code["system"]), str(code["code"])))
    return {
        "findings": findings,
        "attributes": attributes,
        "choice": choice,
        "numeric": numeric,
        "values": values,
        "links": len(links),
        "links by system": Counter(system for _e, system, _c in links),
        "codes by system": Counter((system, code) for _e, system, code in links),
    }


def _count(store: ox.Store, where: str) -> int:
    query = (
        f"PREFIX oifm: <{OIFM}> PREFIX skos: <{SKOS}> SELECT (COUNT(*) AS ?n) WHERE {{ {where} }}"
    )
    return int(next(iter(store.query(query)))[0].value)  # type: ignore[arg-type]


def test_json_counts_are_the_issue_numbers(json_counts: dict[str, object]) -> None:
    assert (
        json_counts["findings"],
        json_counts["attributes"],
        json_counts["values"],
        json_counts["links"],
    ) == (2382, 5709, 29728, 55689)


def test_corpus_converts_without_errors(corpus_report) -> None:
    assert corpus_report.files == 2382
    assert len(corpus_report.models) == 2382
    assert corpus_report.diagnostics == []


def test_corpus_counts_match_the_json(
    corpus_sparql: ox.Store, json_counts: dict[str, object]
) -> None:
    assert _count(corpus_sparql, "?f a oifm:FindingModel") == json_counts["findings"]
    assert (
        _count(corpus_sparql, "?f oifm:oifmId ?id ; a oifm:FindingModel") == json_counts["findings"]
    )
    assert _count(corpus_sparql, "?a a oifm:Attribute") == json_counts["attributes"]
    assert _count(corpus_sparql, "?f oifm:hasAttribute ?a") == json_counts["attributes"]
    assert _count(corpus_sparql, "?a a oifm:ChoiceAttribute") == json_counts["choice"]
    assert _count(corpus_sparql, "?a a oifm:NumericAttribute") == json_counts["numeric"]
    assert _count(corpus_sparql, "?v a oifm:ChoiceValue") == json_counts["values"]
    assert _count(corpus_sparql, "?a oifm:hasValue ?v") == json_counts["values"]
    assert (
        _count(corpus_sparql, "SELECT DISTINCT ?e ?c WHERE { ?e oifm:hasIndexCode ?c }")
        == json_counts["links"]
    )


def test_corpus_links_and_codes_per_system_match_the_json(
    corpus_sparql: ox.Store, json_counts: dict[str, object]
) -> None:
    rows = corpus_sparql.query(
        f"""PREFIX oifm: <{OIFM}> PREFIX skos: <{SKOS}>
            SELECT ?system (COUNT(*) AS ?n) WHERE {{
              ?e oifm:hasIndexCode ?c . ?c skos:inScheme ?s . ?s skos:notation ?system
            }} GROUP BY ?system"""
    )
    by_system = {row[0].value: int(row[1].value) for row in rows}  # type: ignore[union-attr, index]
    assert by_system == dict(json_counts["links by system"])  # type: ignore[arg-type]
    assert set(by_system) == {"SNOMED", "RADLEX", "GAMUTS", "RADELEMENT", "LOINC"}
    concepts = corpus_sparql.query(
        f"PREFIX skos: <{SKOS}> SELECT ?system ?code WHERE {{ ?c a skos:Concept ; "
        "skos:notation ?code ; skos:inScheme ?s . ?s skos:notation ?system }"
    )
    got = {(row[0].value, row[1].value) for row in concepts}  # type: ignore[union-attr, index]
    assert got == set(json_counts["codes by system"])  # type: ignore[arg-type]


def test_no_equivalence_is_asserted_between_codes(corpus_sparql: ox.Store) -> None:
    for predicate in ("exactMatch", "closeMatch", "broadMatch", "narrowMatch", "relatedMatch"):
        assert _count(corpus_sparql, f"?a <{SKOS}{predicate}> ?b") == 0
    assert _count(corpus_sparql, "?a <http://www.w3.org/2002/07/owl#sameAs> ?b") == 0


def test_every_concept_has_one_scheme_and_notation(corpus_sparql: ox.Store) -> None:
    assert _count(corpus_sparql, "?c a skos:Concept FILTER NOT EXISTS { ?c skos:inScheme ?s }") == 0
    assert _count(corpus_sparql, "?c skos:inScheme ?s1, ?s2 FILTER (?s1 != ?s2)") == 0
    assert _count(corpus_sparql, "?c skos:notation ?n1, ?n2 FILTER (?n1 != ?n2)") == 0
    assert (
        _count(corpus_sparql, "?e oifm:hasIndexCode ?c FILTER NOT EXISTS { ?c a skos:Concept }")
        == 0
    )


# -- every Markdown file against its JSON, as graphs ------------------------------------------


def _show(triples: rdflib.Graph, limit: int = 8) -> str:
    lines = sorted(f"    {s.n3()} {p.n3()} {o.n3()}" for s, p, o in triples)
    return "\n".join(
        lines[:limit] + ([f"    ... {len(lines) - limit} more"] if len(lines) > limit else [])
    )


def _rdflib(graph: KnowledgeGraph) -> rdflib.Graph:
    """``graph`` as an rdflib Graph, built term by term (faster than parsing N-Triples for a
    big graph; :meth:`KnowledgeGraph.to_rdflib` itself is checked on the examples)."""
    xsd_string = f"{XSD}string"
    cache: dict[object, rdflib.term.Node] = {}

    def term(node: ox.NamedNode | ox.BlankNode | ox.Literal) -> rdflib.term.Node:
        found = cache.get(node)
        if found is None:
            if isinstance(node, ox.NamedNode):
                found = rdflib.URIRef(node.value)
            elif isinstance(node, ox.BlankNode):
                found = rdflib.BNode(node.value)
            elif node.language:
                found = rdflib.Literal(node.value, lang=node.language)
            elif node.datatype.value == xsd_string:
                found = rdflib.Literal(node.value)
            else:
                found = rdflib.Literal(node.value, datatype=rdflib.URIRef(node.datatype.value))
            cache[node] = found
        return found

    out = rdflib.Graph()
    out.addN((term(t.subject), term(t.predicate), term(t.object), out) for t in graph.triples())
    return out


def test_every_markdown_graph_equals_its_json_graph(corpus_defs: Path, corpus_text: Path) -> None:
    files = sorted(corpus_text.glob("*.md"))
    assert len(files) == 402
    builder = GraphBuilder()
    markdown_models, json_models, problems = [], [], []
    differing: list[tuple[str, KnowledgeGraph, KnowledgeGraph]] = []
    for path in files:
        json_path = corpus_defs / (path.name.removesuffix(".md") + ".fm.json")
        (md, md_warnings), (js, _w) = read_file(path), read_file(json_path)
        if md_warnings:
            problems.append(f"{path.name}: warnings {[str(w) for w in md_warnings]}")
        markdown_models.append(md.model)
        json_models.append(apply_markdown_losses(js.model))
        md_graph, js_graph = builder.graph([md.model]), builder.graph([json_models[-1]])
        if md_graph != js_graph:
            differing.append((path.name, md_graph, js_graph))
    for name, md_graph, js_graph in differing[:5]:
        _both, only_md, only_json = graph_diff(md_graph.to_rdflib(), js_graph.to_rdflib())
        problems.append(
            f"{name}:\n  only in the Markdown graph:\n{_show(only_md)}\n"
            f"  only in the JSON graph:\n{_show(only_json)}"
        )
    if differing:
        problems.append(f"{len(differing)} of {len(files)} Markdown graphs differ from their JSON")
    assert problems == [], "\n".join(problems)
    union_md = _rdflib(builder.graph(markdown_models))
    union_json = _rdflib(builder.graph(json_models))
    assert len(union_md) > 50_000
    assert isomorphic(union_md, union_json)


# -- N-Triples terms --------------------------------------------------------------------------


@pytest.mark.parametrize("code_point", range(128))
def test_literal_escaping_equals_oxigraph_ascii(code_point: int) -> None:
    text = chr(code_point)
    assert ntriples.literal(text) == str(ox.Literal(text))
    mixed = f"a{text}b{text}"
    assert ntriples.literal(mixed) == str(ox.Literal(mixed))


@pytest.mark.parametrize(
    "text",
    [
        "é",
        "— em dash",
        "Größe ≥ 3 mm",
        "日本語",
        "😀",
        "\u00a0",
        "\u0080\u009f",  # C1 controls
        "\u2028\u2029",
        "\ufeff",
        "\ufffd",
        "\ufffe",
        "\uffff",
        "\U0010ffff",
    ],
)
def test_literal_escaping_equals_oxigraph_non_ascii(text: str) -> None:
    assert ntriples.literal(text) == str(ox.Literal(text))


def test_all_ascii_in_one_literal_round_trips() -> None:
    text = "".join(chr(i) for i in range(128))
    assert ntriples.literal(text) == str(ox.Literal(text))
    model = FindingModel("OIFM_TEST_000001", text)
    graph = GraphBuilder().graph([model])
    (back,) = graph.models()
    assert back.name == text
    label = graph.to_rdflib().value(rdflib.URIRef(f"{BASE}OIFM_TEST_000001"), rdflib.RDFS.label)
    assert str(label) == text


def test_typed_literal_and_iri_equal_oxigraph() -> None:
    for value, datatype in (("3", "integer"), ("30.5", "decimal"), ("true", "boolean")):
        iri = f"{XSD}{datatype}"
        assert ntriples.typed_literal(value, iri) == str(
            ox.Literal(value, datatype=ox.NamedNode(iri))
        )
    for iri in ("http://radlex.org/RID/RID5791", f"{BASE}OIFMA_GMTS_963679.0", "urn:x:é"):
        assert ntriples.iri(iri) == str(ox.NamedNode(iri))


def test_builder_lines_are_oxigraph_canonical(examples_graph: KnowledgeGraph) -> None:
    reserialised = ox.serialize(examples_graph.triples(), format=ox.RdfFormat.N_TRIPLES)
    assert sorted(reserialised.decode().splitlines(keepends=True)) == sorted(examples_graph.lines)


@pytest.mark.parametrize("number", [0.5, 30.5, 2.0, -1.25, 0.001, 1e-7, 123456.789, 1e15, -0.0])
def test_decimals_are_written_as_oxigraph_stores_them(number: float) -> None:
    """A store gives back numbers in canonical form; the builder must write that same form,
    or a store export differs from a direct export."""
    text = decimal_text(number)
    assert float(text) == number
    store = ox.Store()
    store.add(
        ox.Quad(
            ox.NamedNode("http://example.org/s"),
            ox.NamedNode("http://example.org/p"),
            ox.Literal(text, datatype=ox.NamedNode(f"{XSD}decimal")),
        )
    )
    (quad,) = list(store)
    assert quad.object.value == text


def test_rdflib_helper_agrees_with_to_rdflib(examples_graph: KnowledgeGraph) -> None:
    assert isomorphic(_rdflib(examples_graph), examples_graph.to_rdflib())
    assert len(_rdflib(examples_graph)) == len(examples_graph)


def test_blocks_made_in_order_equal_the_lines_sorted_afterwards(corpus_report) -> None:
    """The builder makes each subject's lines in canonical order as it mints them; sorting
    the same lines with :func:`ntriples.canonical_order` (the rule the exports follow) must
    give exactly that order, for every model of the corpus and for the whole graph."""
    builder = GraphBuilder()
    models = [source.model for source in corpus_report.models]
    for model in models:
        blocks, _codes = builder.entity_blocks(model)
        lines = [line for _subject, block in blocks for line in block]
        assert ntriples.ordered_lines(blocks) == ntriples.canonical_order(set(lines)), model
        graph_lines, _used = builder.model_graph_blocks(model)
        assert graph_lines == ntriples.canonical_order(set(graph_lines)), model
    graph = api.build_graph(corpus_report)
    assert list(graph.lines) == ntriples.canonical_order(set(graph.lines))
