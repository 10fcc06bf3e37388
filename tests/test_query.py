"""Tests of ontomap.query: named queries, engine-bound parameters, read-only execution,
result types and formats; corpus answers checked against counts from the JSON files."""

from __future__ import annotations

import csv
import io
import json
import shlex
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

import pyoxigraph as ox
import pytest
from conftest import EXAMPLES

from ontomap.graph import KnowledgeGraph
from ontomap.lookup import CodeLookupError
from ontomap.query import (
    GRAPH_FORMATS,
    PARAM_TYPES,
    RESULT_FORMATS,
    AskResult,
    GraphResult,
    NamedQuery,
    QueryError,
    QueryFormError,
    QueryParameterError,
    QuerySyntaxError,
    SelectResult,
    UnknownQueryError,
    UpdateRefusedError,
    ask,
    compact,
    construct,
    format_table,
    leading_keyword,
    load_query,
    named_queries,
    named_query,
    parse_query,
    prefixes,
    render_term,
    run_query,
    select,
)
from ontomap.readers import read_models
from ontomap.store import Store

REQUIRED_QUERIES = {
    "findings-with-code",
    "codes-of-finding",
    "code-pairs",
    "findings-by-tag",
    "attributes-without-codes",
    "codes-by-system",
}


@pytest.fixture(scope="module")
def examples_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("examples-kg")
    with Store(path) as store:
        store.load(read_models([EXAMPLES]).models)
    return path


@pytest.fixture()
def examples(examples_store: Path):
    with Store(examples_store, read_only=True) as store:
        yield store


def example_params(query: NamedQuery) -> dict[str, str]:
    """The --param values of a named query's documented example."""
    assert query.example is not None
    words = shlex.split(query.example)
    return dict(
        words[i + 1].split("=", 1) for i, word in enumerate(words) if word in ("--param", "-p")
    )


# ------------------------------------------------------------------ the library


def test_the_library_has_the_required_documented_queries() -> None:
    queries = named_queries()
    assert set(queries) >= REQUIRED_QUERIES
    for name, query in queries.items():
        assert query.name == name
        assert query.description, name
        assert query.example and query.example.startswith(f"ontomap query --name {name}"), name
        for param in query.params:
            assert param.type in PARAM_TYPES and param.description, (name, param)
            assert not (param.required and param.default), (name, param)


@pytest.mark.parametrize("name", sorted(named_queries()))
def test_each_named_query_runs_with_its_example_and_selects_its_parameters(
    name: str, examples: Store
) -> None:
    query = named_query(name)
    result = run_query(examples, query, example_params(query))
    assert isinstance(result, SelectResult)
    for param in query.params:
        assert param.name in result.variables, (name, param.name)
    given = example_params(query)
    required = {p.name: given[p.name] for p in query.params if p.required}
    minimal = run_query(examples, query, required)
    assert isinstance(minimal, SelectResult)


def test_named_query_unknown() -> None:
    with pytest.raises(UnknownQueryError, match="findings-with-code"):
        named_query("nope")


def test_the_header_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "mine.rq"
    path.write_text(
        "# name: mine\n"
        "# description: first line\n"
        "#   and its continuation\n"
        "# param: code (code, required) the code\n"
        "# param: tag (string, default chest) a tag,\n"
        "#   continued\n"
        "# param: n (integer) optional by default\n"
        "# example: ontomap query -f mine.rq\n"
        "SELECT ?code ?tag ?n WHERE {}\n"
    )
    query = load_query(path)
    assert query.name == "mine" and query.source == str(path)
    assert query.description == "first line and its continuation"
    assert [(p.name, p.type, p.required, p.default) for p in query.params] == [
        ("code", "code", True, None),
        ("tag", "string", False, "chest"),
        ("n", "integer", False, None),
    ]
    assert query.params[1].description == "a tag, continued"
    assert parse_query("SELECT * {}", "plain").params == ()


@pytest.mark.parametrize(
    "line",
    ["# param: x (colour) text", "# param: x (string, sometimes) text", "# param: broken"],
)
def test_a_bad_header_is_an_error(line: str) -> None:
    with pytest.raises(QueryError):
        parse_query(f"{line}\nSELECT * {{}}", "bad")


def test_a_missing_query_file() -> None:
    with pytest.raises(QueryError, match="cannot read"):
        load_query("/nonexistent/query.rq")


# ------------------------------------------------------------------ parameters


def test_parameters_are_converted_by_their_declared_type(examples: Store) -> None:
    query = named_query("findings-with-code")
    for code in ("RADLEX:RID5791", "radlex:RID5791", "RID5791", "http://radlex.org/RID/RID5791"):
        result = select(examples, query, {"code": code})
        assert {row[1].value for row in result.rows} == {"OIFM_GMTS_005529", "OIFM_OMAP_000001"}  # type: ignore[union-attr]
    pairs = select(examples, named_query("code-pairs"), {"source": "SNOMEDCT", "target": "RID"})
    assert {row[0].value for row in pairs.rows} == {"https://w3id.org/ontomap/scheme/SNOMED"}  # type: ignore[union-attr]


def test_a_parameter_may_be_an_rdf_term(examples: Store) -> None:
    result = select(
        examples,
        named_query("findings-with-code"),
        {"code": ox.NamedNode("http://radlex.org/RID/RID5791")},
    )
    assert len(result) == 2


def test_parameter_errors(examples: Store) -> None:
    with pytest.raises(QueryParameterError, match="needs --param code"):
        run_query(examples, named_query("findings-with-code"))
    with pytest.raises(QueryParameterError, match="takes no parameter 'colour'"):
        run_query(examples, named_query("findings-with-code"), {"code": "RID5791", "colour": "x"})
    with pytest.raises(CodeLookupError):
        run_query(examples, named_query("findings-with-code"), {"code": "nonsense"})
    with pytest.raises(QueryParameterError, match="must be a variable the query selects"):
        run_query(examples, "SELECT ?x WHERE { ?s ?p ?x }", {"s": "fm:OIFM_GMTS_005529"})
    with pytest.raises(QueryParameterError, match="integer"):
        PARAM_TYPES["integer"]("ten")
    with pytest.raises(QueryParameterError, match="not an IRI"):
        PARAM_TYPES["iri"]("> <x")
    with pytest.raises(QueryParameterError, match="bad parameter name"):
        run_query(examples, "SELECT ?x {}", {"x y": "1"})


def test_free_parameters_take_iris_curies_and_strings(examples: Store) -> None:
    text = "SELECT ?s ?name WHERE { ?s rdfs:label ?name }"
    by_curie = select(examples, text, {"s": "fm:OIFM_GMTS_005529"})
    by_iri = select(examples, text, {"s": "<https://w3id.org/ontomap/id/OIFM_GMTS_005529>"})
    assert by_curie.rows == by_iri.rows
    assert [row[1].value for row in by_curie.rows] == ["Diffuse hepatic calcifications"]  # type: ignore[union-attr]
    by_name = select(examples, text, {"name": "Diffuse hepatic calcifications"})
    assert len(by_name) == 1
    assert PARAM_TYPES["integer"]("7") == ox.Literal(
        "7", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
    )


@pytest.mark.parametrize("value", ['"} ; DROP ALL ; {"', "> <x", "x' } ; CLEAR ALL #", "\\u0022"])
def test_a_hostile_parameter_is_just_a_value_that_matches_nothing(
    value: str, examples: Store
) -> None:
    before = len(examples)
    tags = select(examples, named_query("findings-by-tag"), {"tag": value})
    assert len(tags) == 0
    free = select(examples, "SELECT ?tag ?f WHERE { ?f oifm:tag ?tag }", {"tag": value})
    assert len(free) == 0
    finding = select(examples, named_query("codes-of-finding"), {"finding": value})
    assert len(finding) == 0
    assert len(examples) == before


def test_a_hostile_code_parameter_is_refused_not_run(examples: Store) -> None:
    before = len(examples)
    for value in ('"} ; DROP ALL ; {"', "> <x"):
        with pytest.raises(CodeLookupError):
            run_query(examples, named_query("findings-with-code"), {"code": value})
    assert len(examples) == before


# ------------------------------------------------------------------ read-only, syntax


@pytest.mark.parametrize(
    "text",
    [
        "INSERT DATA { <http://a> <http://b> <http://c> }",
        "DROP ALL",
        "  # a comment\nPREFIX x: <http://x#>\nBASE <http://y/>\ndelete where { ?s ?p ?o }",
        "CLEAR GRAPH <https://w3id.org/ontomap/graph/_meta>",
        "LOAD <http://example.org/data.ttl>",
        "WITH <http://g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
    ],
)
def test_updates_are_refused_and_the_store_is_unchanged(text: str, examples: Store) -> None:
    before = len(examples)
    with pytest.raises(UpdateRefusedError, match="read-only"):
        run_query(examples, text)
    assert len(examples) == before


def test_leading_keyword_skips_the_prologue() -> None:
    assert leading_keyword("PREFIX a: <http://x#> # c\n select * {}") == "SELECT"
    assert leading_keyword("# only a comment") is None


def test_a_syntax_error_has_line_and_column(examples: Store) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        run_query(examples, "SELECT ?s WHERE {\n  ?s ?p ?o .\n  BIND (1 AS ?x ?y) }\n")
    error = caught.value
    assert (error.line, error.column) == (3, 17)
    assert "line 3, column 17" in str(error) and 'expected ")"' in str(error)
    assert "   3 |   BIND (1 AS ?x ?y) }\n     |                 ^" in str(error)


def test_an_unknown_prefix_is_named(examples: Store) -> None:
    with pytest.raises(QuerySyntaxError, match="unknown prefix 'foo:'") as caught:
        run_query(examples, "SELECT ?x WHERE {\n  ?x a foo:Bar }")
    assert (caught.value.line, caught.value.column) == (2, 8)
    assert "radlex" in str(caught.value)


def test_standard_prefixes_are_predeclared_and_a_query_may_redeclare_them(
    examples: Store,
) -> None:
    text = "SELECT ?e WHERE { ?e oifm:hasIndexCode gamuts:5529 }"
    assert len(select(examples, text)) == 1
    redeclared = "PREFIX gamuts: <http://example.org/> " + text
    assert len(select(examples, redeclared)) == 0
    assert {
        "radlex",
        "sct",
        "loinc",
        "gamuts",
        "radelement",
        "icd10cm",
        "oifm",
        "skos",
        "rdfs",
        "fm",
    } <= set(prefixes(examples.base_iri))


# ------------------------------------------------------------------ result kinds and formats

LABELS = "CONSTRUCT { ?f rdfs:label ?l } WHERE { ?f a oifm:FindingModel ; rdfs:label ?l }"


def test_result_kinds_follow_the_query_form(examples: Store) -> None:
    chosen = run_query(examples, "SELECT ?f WHERE { ?f a oifm:FindingModel }")
    assert isinstance(chosen, SelectResult) and chosen.form == "select" and len(chosen) == 3
    answer = run_query(examples, "ASK { ?f oifm:tag ?t }")
    assert isinstance(answer, AskResult) and answer.form == "ask" and bool(answer)
    built = run_query(examples, LABELS)
    assert isinstance(built, GraphResult) and built.form == "graph" and len(built) == 3
    described = run_query(examples, "DESCRIBE fm:OIFM_GMTS_005529")
    assert isinstance(described, GraphResult) and len(described) > 5
    assert ask(examples, "ASK { ?f oifm:tag 'no such tag' }") is False
    assert isinstance(
        construct(examples, "CONSTRUCT WHERE { ?s a oifm:FindingModel }"), KnowledgeGraph
    )
    with pytest.raises(QueryFormError):
        select(examples, "ASK {}")
    with pytest.raises(QueryFormError):
        ask(examples, "SELECT * {}")
    with pytest.raises(QueryFormError):
        construct(examples, "SELECT * {}")


def test_select_results_serialise_in_the_w3c_formats(examples: Store) -> None:
    result = select(examples, named_query("codes-of-finding"), {"finding": "OIFM_GMTS_005529"})
    assert set(RESULT_FORMATS) == {"json", "xml", "csv", "tsv"}
    data = json.loads(result.serialize("json"))
    assert data["head"]["vars"] == list(result.variables)
    assert len(data["results"]["bindings"]) == len(result)
    tree = ET.fromstring(result.serialize("xml"))
    ns = "{http://www.w3.org/2005/sparql-results#}"
    assert len(tree.findall(f"{ns}results/{ns}result")) == len(result)
    rows = list(csv.reader(io.StringIO(result.serialize("csv").decode())))
    assert rows[0] == list(result.variables) and len(rows) == len(result) + 1
    tsv = result.serialize("tsv").decode().splitlines()
    assert tsv[0] == "\t".join(f"?{v}" for v in result.variables)
    with pytest.raises(QueryFormError):
        result.serialize("turtle")
    assert result.dicts()[0]["finding"] == ox.Literal("OIFM_GMTS_005529")


def test_ask_and_graph_results_serialise(examples: Store) -> None:
    answer = run_query(examples, "ASK { ?f a oifm:FindingModel }")
    assert json.loads(answer.serialize("json")) == {"head": {}, "boolean": True}  # type: ignore[union-attr]
    assert b"<boolean>true</boolean>" in answer.serialize("xml")  # type: ignore[union-attr]
    built = run_query(examples, LABELS)
    assert isinstance(built, GraphResult)
    assert set(GRAPH_FORMATS) == {"turtle", "ntriples"}
    turtle = built.serialize("turtle")
    assert turtle.startswith(b"@prefix fm: <https://w3id.org/ontomap/id/> .")
    assert len(list(ox.parse(turtle, format=ox.RdfFormat.TURTLE))) == 3
    assert built.serialize("turtle") == turtle  # deterministic
    ntriples = built.serialize("ntriples")
    assert len(ntriples.splitlines()) == 3
    with pytest.raises(QueryFormError):
        built.serialize("csv")


def test_format_table(examples: Store) -> None:
    result = select(
        examples,
        "SELECT ?f ?name ?n ?missing WHERE { ?f a oifm:FindingModel ; rdfs:label ?name . "
        "BIND (STRLEN(?name) AS ?n) } ORDER BY ?f",
    )
    table = format_table(result, prefixes(examples.base_iri), max_width=12)
    lines = table.splitlines()
    assert lines[0].split() == ["?f", "?name", "?n", "?missing"]
    assert lines[2].startswith("fm:OIFM_GMTS_005529  Diffuse hep…")
    assert lines[2].rstrip().endswith("30")  # numbers right-aligned
    assert lines[-1] == "(3 rows)"
    assert format_table(run_query(examples, "ASK {}"), {}) == "true"  # type: ignore[arg-type]
    empty = select(examples, "SELECT ?x WHERE { ?x a <http://example.org/None> }")
    assert format_table(empty, {}).splitlines()[-1] == "(0 rows)"


def test_render_term_and_compact() -> None:
    known = prefixes()
    assert compact("http://radlex.org/RID/RID5791", known) == "radlex:RID5791"
    assert compact("https://w3id.org/ontomap/code/GAMUTS/5529", known) == "gamuts:5529"
    assert compact("http://example.org/a/b", known) == "<http://example.org/a/b>"
    assert render_term(None, known) == ""
    assert render_term(ox.Literal("a\tb\nc"), known) == "a\\tb\\nc"
    assert render_term(ox.Literal("chat", language="fr"), known) == "chat@fr"
    date = ox.Literal("2024-01-01", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#date"))
    assert render_term(date, known) == "2024-01-01^^xsd:date"
    assert render_term(ox.BlankNode("b0"), known) == "_:b0"
    assert render_term(ox.Literal("x" * 100), known, max_width=10) == "x" * 9 + "…"
    # an IRI no prefix fits is cut in its namespace; its last segment stays whole
    long = ox.NamedNode("http://example.org/some/long/namespace/RID5791")
    assert render_term(long, known, max_width=20) == "<http://ex…/RID5791>"
    for width in (0, 1, 10, 11, 48, 60):  # no cut, too narrow (room of 0 at 11), or it fits
        assert render_term(long, known, max_width=width) == f"<{long.value}>", width
    urn = ox.NamedNode("urn:isbn:0451450523")  # no segment to keep: whole
    assert render_term(urn, known, max_width=10) == "<urn:isbn:0451450523>"
    assert render_term(long, known, max_width=12) == "<h…/RID5791>"  # one character of room
    one = ox.NamedNode("http://example.org/some/long/namespace/x")
    assert render_term(one, known, max_width=12) == "<http://…/x>"
    local = ox.NamedNode("http://e.org/a-very-long-local-name-here")
    assert render_term(local, known, max_width=36) == "<http:…/a-very-long-local-name-here>"
    even = ox.NamedNode("http://example.org/some/long/namespaces/")
    assert render_term(even, known, max_width=20) == "<http:…/namespaces/>"
    slashed = ox.NamedNode("http://example.org/some/long/namespace/")
    assert render_term(slashed, known, max_width=20) == "<http:/…/namespace/>"
    assert render_term(long, known, max_width=21) == "<http://exa…/RID5791>"
    hashed = ox.NamedNode("http://example.org/vocabulary/terms#Finding")
    assert render_term(hashed, known, max_width=16) == "<http:…#Finding>"
    # a CURIE is never cut
    assert render_term(ox.NamedNode("http://radlex.org/RID/RID5791"), known, 5) == "radlex:RID5791"


# ------------------------------------------------------------------ the corpus, independently


@pytest.fixture(scope="module")
def corpus_json(corpus_defs: Path) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(corpus_defs.glob("*.json"))]


@pytest.fixture(scope="module")
def corpus(corpus_store: Path):
    with Store(corpus_store, read_only=True) as store:
        yield store


def _entities(model: dict):
    """(entity id, kind, index codes) of a model, codes as (system, code) with SNOMEDCT folded."""

    def codes(entries: list[dict] | None) -> set[tuple[str, str]]:
        return {
            ("SNOMED" if e["system"] == "SNOMEDCT" else e["system"], e["code"])
            for e in entries or []
        }

    yield model["oifm_id"], "finding", codes(model.get("index_codes"))
    for attribute in model.get("attributes") or []:
        yield attribute["oifma_id"], "attribute", codes(attribute.get("index_codes"))
        for value in attribute.get("values") or []:
            yield value["value_code"], "value", codes(value.get("index_codes"))


def test_findings_with_code_agrees_with_the_json(corpus: Store, corpus_json: list[dict]) -> None:
    for system, code in (("RADLEX", "RID5791"), ("SNOMED", "261665006"), ("GAMUTS", "5529")):
        expected = {
            (m["oifm_id"], entity, kind)
            for m in corpus_json
            for entity, kind, codes in _entities(m)
            if (system, code) in codes
        }
        result = select(corpus, named_query("findings-with-code"), {"code": f"{system}:{code}"})
        got = {(r[1].value, r[4].value, r[3].value) for r in result.rows}  # type: ignore[union-attr]
        assert got == expected
    rid5791 = select(corpus, named_query("findings-with-code"), {"code": "RADLEX:RID5791"})
    assert len({row[1] for row in rid5791.rows}) == 1994


def test_codes_of_finding_agrees_with_the_json(corpus: Store, corpus_json: list[dict]) -> None:
    (model,) = [m for m in corpus_json if m["oifm_id"] == "OIFM_GMTS_005529"]
    expected = {
        (entity, system, code) for entity, _k, codes in _entities(model) for system, code in codes
    }
    result = select(corpus, named_query("codes-of-finding"), {"finding": "OIFM_GMTS_005529"})
    got = {(r[2].value, r[4].value, r[5].value) for r in result.rows}  # type: ignore[union-attr]
    assert got == expected


def test_code_pairs_agree_with_the_json(corpus: Store, corpus_json: list[dict]) -> None:
    entities: dict[tuple[str, str], set[str]] = defaultdict(set)
    findings: dict[tuple[str, str], set[str]] = defaultdict(set)
    for model in corpus_json:
        for entity, _k, codes in _entities(model):
            for system_a, a in codes:
                for system_b, b in codes:
                    if (system_a, system_b) == ("RADLEX", "SNOMED"):
                        entities[(a, b)].add(entity)
                        findings[(a, b)].add(model["oifm_id"])
    result = select(corpus, named_query("code-pairs"))
    got = {
        (r[2].value.rsplit("/", 1)[1], r[3].value.rsplit("/", 1)[1]): (
            int(r[4].value),
            int(r[5].value),
        )
        for r in result.rows
    }  # type: ignore[union-attr]
    assert got == {pair: (len(entities[pair]), len(findings[pair])) for pair in entities}
    assert got[("RID5791", "263768009")] == (1994, 1994)
    # pairs whose entities outnumber their findings: a finding's attributes or values share them
    assert any(e > f for e, f in got.values())
    counts = [int(r[4].value) for r in result.rows]  # type: ignore[union-attr]
    assert counts == sorted(counts, reverse=True)  # most supported pairs first
    # within one system, a code never pairs with itself
    same = select(corpus, named_query("code-pairs"), {"source": "RADLEX", "target": "RADLEX"})
    assert same.rows and all(r[2] != r[3] for r in same.rows)  # type: ignore[union-attr]


def test_findings_by_tag_agrees_with_the_json(corpus: Store, corpus_json: list[dict]) -> None:
    expected = {m["oifm_id"] for m in corpus_json if "chest" in (m.get("tags") or [])}
    result = select(corpus, named_query("findings-by-tag"), {"tag": "chest"})
    assert {r[1].value for r in result.rows} == expected  # type: ignore[union-attr]


def test_attributes_without_codes_agree_with_the_json(
    corpus: Store, corpus_json: list[dict]
) -> None:
    expected = {
        (m["oifm_id"], a["oifma_id"], a["type"])
        for m in corpus_json
        for a in m.get("attributes") or []
        if not a.get("index_codes")
    }
    result = select(corpus, named_query("attributes-without-codes"))
    assert {(r[0].value, r[1].value, r[3].value) for r in result.rows} == expected  # type: ignore[union-attr]
    assert {t for _f, _a, t in expected} == {"choice", "numeric"}


def test_codes_by_system_agrees_with_the_json(corpus: Store, corpus_json: list[dict]) -> None:
    uses: dict[tuple[str, str], set[str]] = defaultdict(set)
    for model in corpus_json:
        for entity, _k, codes in _entities(model):
            for code in codes:
                uses[code].add(entity)
    result = select(corpus, named_query("codes-by-system"), {"system": "GAMUTS"})
    got = {r[2].value: int(r[3].value) for r in result.rows}  # type: ignore[union-attr]
    assert got == {code: len(e) for (system, code), e in uses.items() if system == "GAMUTS"}
    systems = select(corpus, named_query("code-systems"))
    totals = {r[1].value: (int(r[2].value), int(r[3].value)) for r in systems.rows}  # type: ignore[union-attr]
    for system in ("RADLEX", "SNOMED", "GAMUTS", "RADELEMENT", "LOINC"):
        codes = [c for c in uses if c[0] == system]
        entities = set().union(*(uses[c] for c in codes))
        assert totals[system] == (len(codes), len(entities)), system


# ------------------------------------------------------------------ queries beside their code


def test_the_queries_beside_the_modules_parse_and_name_the_graphs_of_the_store() -> None:
    import re
    from pathlib import Path

    from ontomap.graph import CODES_GRAPH, CROSSWALK_GRAPH, META_GRAPH, RELEASE_GRAPH_NS
    from ontomap.vocab import GRAPH_NS, STANDARD_PREFIXES

    package = Path(__file__).resolve().parents[1] / "ontomap"
    # the named queries of ontomap/query/ are checked by the tests of named queries
    files = sorted(p for p in package.rglob("*.rq") if p.parent.name != "query")
    names = {str(f.relative_to(package)) for f in files}
    assert names >= {
        "crosswalk-codes.rq",
        "backends-base-iri.rq",
        "store-prune-codes.rq",
        "store-sources.rq",
        "store-model-graph.rq",
        "store-models.rq",
        "mcp/findings.rq",
        "mcp/model-graph.rq",
        "releases/ancestors.rq",
        "releases/descendants.rq",
        "releases/concept-facts.rq",
        "releases/preferred-terms.rq",
        "releases/names.rq",
        "releases/deprecated.rq",
    }
    graphs = {CROSSWALK_GRAPH.value, META_GRAPH.value, CODES_GRAPH.value}
    for path in files:
        text = path.read_text(encoding="utf-8")
        if leading_keyword(text) in ("DELETE", "INSERT"):
            ox.Store().update(text)  # raises on a syntax error (and changes an empty store)
        else:
            ox.Store().query(text, prefixes=dict(STANDARD_PREFIXES))  # raises on a syntax error
        named = set(re.findall(r"GRAPH <([^>]+)>", text))
        assert named <= graphs, (path.name, named - graphs)
        # the only placeholder is an empty VALUES block of one variable, filled in with terms
        placeholders = re.findall(r"VALUES \?\w+ \{\}", text)
        assert len(placeholders) <= 1, path.name
        bare = text.replace(placeholders[0], "") if placeholders else text
        assert "{" in text and "%s" not in text and "{}" not in bare, path.name
        # the namespaces written out in a query are those of ontomap.graph and ontomap.vocab
        for written in re.findall(r'"(https?://[^"]+)"', text):
            assert written in (RELEASE_GRAPH_NS, GRAPH_NS), (path.name, written)


def test_the_wheel_carries_the_queries_beside_the_modules() -> None:
    import tomllib
    from pathlib import Path

    config = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    wheel = config["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert "ontomap" in wheel["packages"]  # the whole package folder, its .rq files with it
    assert not any(".rq" in pattern for pattern in wheel.get("exclude", []))
