"""``ontomap serve`` tested as a real server on loopback: the SPARQL 1.1 Protocol with content
negotiation, the Graph Store Protocol read side, ``/lookup``, the page, read-only refusals,
token-guarded updates, the timeout, the row cap, and a clean shutdown."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import tomllib
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from conftest import EXAMPLES, ROOT
from servers import (
    ENV,
    Served,
    default_sigint,
    free_port,
    ontomap_cli,
    ontomap_server,
    request,
    sparql,
    start_ontomap,
)

from ontomap.graph import CODES_GRAPH, CROSSWALK_GRAPH, META_GRAPH
from ontomap.query import prefixes
from ontomap.server.formats import (
    GRAPH_FORMATS,
    RESULT_FORMATS,
    choose,
    names,
    offers,
    parse_accept,
)
from ontomap.server.jobs import LookupJob, Response
from ontomap.server.workers import AnswerCache
from ontomap.store import Store
from ontomap.vocab import GRAPH_NS

SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
FINDINGS = """SELECT ?finding ?name WHERE { ?finding a oifm:FindingModel ; rdfs:label ?name }
ORDER BY ?finding"""
CONSTRUCT = """CONSTRUCT { ?finding rdfs:label ?name ; oifm:tag ?tag }
WHERE { ?finding a oifm:FindingModel ; rdfs:label ?name ; oifm:tag ?tag }"""
TOKEN = "test-token-0123456789"


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("server-logs")


@pytest.fixture(scope="module")
def examples_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("examples-kg") / "kg"
    done = ontomap_cli("build", EXAMPLES, "--store", path, "-q")
    assert done.returncode == 0, done.stderr
    return path


@pytest.fixture(scope="module")
def served(examples_store: Path, logs: Path) -> Iterator[Served]:
    """One read-only server on the examples for the module: 1 s timeout, 50-row cap."""
    with ontomap_server(
        examples_store, "--timeout", "1", "--max-rows", "50", "--workers", "2", log_dir=logs
    ) as server:
        yield server


@pytest.fixture(scope="module")
def local(examples_store: Path) -> Iterator[ox.Store]:
    """The same store opened read-only here, for the expected answers."""
    with Store(examples_store, read_only=True) as store:
        yield store.oxigraph


def _expected(store: ox.Store, query: str) -> object:
    return store.query(query, prefixes=prefixes(), use_default_graph_as_union=True)


def _triples(data: bytes, fmt: ox.RdfFormat) -> set[ox.Triple]:
    return {ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(data, format=fmt)}


# ------------------------------------------------------------------ content negotiation


@pytest.mark.parametrize(
    ("accept", "media", "fmt"),
    [
        ("application/sparql-results+json", "application/sparql-results+json", "JSON"),
        ("application/sparql-results+xml", "application/sparql-results+xml", "XML"),
        ("text/csv", "text/csv", "CSV"),
        ("text/tab-separated-values", "text/tab-separated-values", "TSV"),
        ("application/json", "application/json", "JSON"),
        ("text/csv;q=0.5, application/sparql-results+xml", "application/sparql-results+xml", "XML"),
        ("*/*", "application/sparql-results+json", "JSON"),
        ("", "application/sparql-results+json", "JSON"),
    ],
)
def test_select_answers_in_the_negotiated_format_as_oxigraph_writes_it(
    served: Served, local: ox.Store, accept: str, media: str, fmt: str
) -> None:
    answer = sparql(served.query, FINDINGS, accept=accept)
    assert answer.status == 200, answer.text
    assert answer.media_type == media
    expected = _expected(local, FINDINGS).serialize(format=getattr(ox.QueryResultsFormat, fmt))
    assert answer.body == expected
    assert answer.headers["x-ontomap-max-rows"] == "50"
    assert "x-ontomap-truncated" not in answer.headers


@pytest.mark.parametrize(
    ("accept", "fmt"),
    [
        ("text/turtle", ox.RdfFormat.TURTLE),
        ("application/n-triples", ox.RdfFormat.N_TRIPLES),
        ("application/ld+json", ox.RdfFormat.JSON_LD),
        ("application/rdf+xml", ox.RdfFormat.RDF_XML),
        ("*/*", ox.RdfFormat.TURTLE),
    ],
)
def test_graphs_answer_in_the_negotiated_format(
    served: Served, local: ox.Store, accept: str, fmt: ox.RdfFormat
) -> None:
    answer = sparql(served.query, CONSTRUCT, accept=accept)
    assert answer.status == 200, answer.text
    assert answer.media_type == fmt.media_type
    got = _triples(answer.body, fmt)
    expected = set(_expected(local, CONSTRUCT))
    assert got == expected and len(got) > 10


def test_ask_answers_json_and_xml(served: Served) -> None:
    yes = sparql(served.query, "ASK { ?f a oifm:FindingModel }")
    assert yes.status == 200 and yes.json() == {"head": {}, "boolean": True}
    no = sparql(served.query, "ASK { ?f a oifm:Nothing }", accept="application/sparql-results+xml")
    assert no.status == 200 and b"<boolean>false</boolean>" in no.body


def test_a_format_parameter_overrides_the_accept_header(served: Served) -> None:
    url = f"{served.query}?{urllib.parse.urlencode({'query': FINDINGS, 'format': 'tsv'})}"
    answer = request(url, headers={"Accept": "application/sparql-results+json"})
    assert answer.status == 200 and answer.media_type == "text/tab-separated-values"


def test_an_unacceptable_format_is_406(served: Served) -> None:
    answer = sparql(served.query, FINDINGS, accept="image/png")
    assert answer.status == 406
    assert "application/sparql-results+json" in answer.text
    graph = sparql(served.query, CONSTRUCT, accept="text/csv")
    assert graph.status == 406 and "text/turtle" in graph.text


def test_accept_parsing_and_choice() -> None:
    assert parse_accept(None) == [("*/*", 1.0)]
    assert parse_accept("text/csv;q=0.2, text/*; q=0.5, *") == [
        ("text/csv", 0.2),
        ("text/*", 0.5),
        ("*/*", 1.0),
    ]
    assert choose(RESULT_FORMATS, "text/*").name == "csv"  # type: ignore[union-attr]
    assert choose(RESULT_FORMATS, "text/*, text/csv;q=0").name == "tsv"  # type: ignore[union-attr]
    assert choose(GRAPH_FORMATS, "application/sparql-results+json") is None
    assert choose(GRAPH_FORMATS, None, "ttl").name == "turtle"  # type: ignore[union-attr]
    # a format= value that names no format of the answer is ignored: Accept decides
    assert choose(GRAPH_FORMATS, None, "csv").name == "turtle"  # type: ignore[union-attr]
    assert choose(GRAPH_FORMATS, "application/rdf+xml", ("csv", "bogus")).name == "rdfxml"  # type: ignore[union-attr]
    assert choose(GRAPH_FORMATS, None, ("n3", "turtle")).name == "n3"  # type: ignore[union-attr]
    assert choose(GRAPH_FORMATS, None, "xml").name == "rdfxml"  # type: ignore[union-attr]
    assert choose(GRAPH_FORMATS, None, "json").name == "jsonld"  # type: ignore[union-attr]
    assert choose(RESULT_FORMATS, None, "text/csv").name == "csv"  # type: ignore[union-attr]
    assert choose(RESULT_FORMATS, None, ("rdf+xml", "xml")).name == "xml"  # type: ignore[union-attr]
    assert choose(GRAPH_FORMATS, "text/plain").media_type == "text/plain"  # type: ignore[union-attr]
    # a media type given by format= is the answer's content type; another spelling, the first
    assert choose(RESULT_FORMATS, None, "Application/JSON").media_type == "application/json"  # type: ignore[union-attr]
    assert choose(RESULT_FORMATS, None, "srj").media_type == "application/sparql-results+json"  # type: ignore[union-attr]
    assert choose(GRAPH_FORMATS, None, "application/json").media_type == "application/ld+json"  # type: ignore[union-attr]
    assert choose(RESULT_FORMATS, None, "text/xml").name == "xml"  # type: ignore[union-attr]
    assert choose(GRAPH_FORMATS, None, ("text/xml", "srj")).name == "turtle"  # type: ignore[union-attr]


def test_offers_in_the_server_order() -> None:
    # every format's first media type in registry order, then the second ones (by hand)
    assert [(o.media_type, o.name) for o in offers(RESULT_FORMATS)] == [
        ("application/sparql-results+json", "json"),
        ("application/sparql-results+xml", "xml"),
        ("text/csv", "csv"),
        ("text/tab-separated-values", "tsv"),
        ("application/json", "json"),
        ("application/xml", "xml"),
    ]
    assert [(o.media_type, o.name) for o in offers(GRAPH_FORMATS)] == [
        ("text/turtle", "turtle"),
        ("application/n-triples", "ntriples"),
        ("application/ld+json", "jsonld"),
        ("application/rdf+xml", "rdfxml"),
        ("application/n-quads", "nquads"),
        ("application/trig", "trig"),
        ("text/n3", "n3"),
        ("application/x-turtle", "turtle"),
        ("text/plain", "ntriples"),
    ]
    assert [o.format for o in offers(GRAPH_FORMATS)][-3:] == [
        ox.RdfFormat.TURTLE,
        ox.RdfFormat.TURTLE,
        ox.RdfFormat.N_TRIPLES,
    ]
    assert names(RESULT_FORMATS) == (
        "application/sparql-results+json, application/sparql-results+xml, text/csv, "
        "text/tab-separated-values, application/json, application/xml"
    )


# ------------------------------------------------------------------ protocol operations


def test_get_post_form_and_post_direct_give_the_same_answer(served: Served) -> None:
    by_get = sparql(served.query, FINDINGS, method="GET")
    by_form = sparql(served.query, FINDINGS)
    direct = request(
        served.query,
        data=FINDINGS.encode(),
        headers={"Content-Type": "application/sparql-query", "Accept": "text/csv"},
    )
    assert by_get.status == by_form.status == direct.status == 200
    assert by_get.body == by_form.body
    assert direct.text.splitlines()[0] == "finding,name"
    assert len(direct.text.splitlines()) == 4


def test_the_sparql_alias_and_bad_requests(served: Served) -> None:
    assert sparql(served.url + "sparql", "ASK {}").status == 200
    syntax = sparql(served.query, "SELECT ?x WHERE { ?x ?y }")
    assert syntax.status == 400 and "syntax" in syntax.text.lower()
    missing = request(served.query)
    assert missing.status == 400 and "query" in missing.text
    twice = request(f"{served.query}?query=ASK%7B%7D&query=ASK%7B%7D")
    assert twice.status == 400
    unsupported = request(served.query, data=b"ASK {}", headers={"Content-Type": "text/plain"})
    assert unsupported.status == 415
    assert request(served.url + "nowhere").status == 404
    assert request(served.query, method="PUT", data=b"x").status == 405


def test_the_dataset_can_be_given_with_default_and_named_graph_uris(served: Served) -> None:
    graph = GRAPH_NS + "OIFM_OMAP_000001"
    query = "SELECT (COUNT(DISTINCT ?f) AS ?n) WHERE { ?f a oifm:FindingModel }"
    params = urllib.parse.urlencode({"query": query, "default-graph-uri": graph})
    one = request(f"{served.query}?{params}", headers={"Accept": "text/csv"})
    assert one.status == 200 and one.text.splitlines()[1] == "1"
    union = sparql(served.query, query, accept="text/csv")
    assert union.text.splitlines()[1] == "3"
    named = urllib.parse.urlencode(
        {"query": "SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g", "named-graph-uri": graph}
    )
    only = request(f"{served.query}?{named}", headers={"Accept": "text/csv"})
    assert only.text.splitlines()[1:] == [graph]


# ------------------------------------------------------------------ read-only and updates


def test_updates_are_refused_with_403_by_a_read_only_server(
    served: Served, local: ox.Store
) -> None:
    update = "INSERT DATA { <urn:x:s> <urn:x:p> <urn:x:o> }"
    direct = request(
        served.update,
        data=update.encode(),
        headers={"Content-Type": "application/sparql-update", "Authorization": "Bearer x"},
    )
    assert direct.status == 403 and "read-only" in direct.text
    form = request(
        served.update,
        data=urllib.parse.urlencode({"update": update}).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status == 403
    via_query = sparql(served.query, update)
    assert via_query.status == 403
    via_query_form = request(
        served.query,
        data=urllib.parse.urlencode({"update": update}).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert via_query_form.status == 403
    gsp = request(
        f"{served.url}store?default",
        method="PUT",
        data=b"<urn:x:s> <urn:x:p> <urn:x:o> .",
        headers={"Content-Type": "application/n-triples"},
    )
    assert gsp.status == 403
    assert sparql(served.query, "ASK { <urn:x:s> ?p ?o }").json()["boolean"] is False


@pytest.fixture(scope="module")
def writable(examples_store: Path, logs: Path, tmp_path_factory: pytest.TempPathFactory):
    copy = tmp_path_factory.mktemp("writable") / "kg"
    shutil.copytree(examples_store, copy)
    env = dict(ENV, ONTOMAP_TOKEN=TOKEN)
    server = start_ontomap(copy, "--allow-update", "--workers", "2", log_dir=logs, env=env)
    try:
        yield server
    finally:
        server.stop()


def _update(server: Served, text: str, token: str | None = TOKEN, form: bool = False):
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if form:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        data = urllib.parse.urlencode({"update": text}).encode()
    else:
        headers["Content-Type"] = "application/sparql-update"
        data = text.encode()
    return request(server.update, data=data, headers=headers)


def test_updates_need_the_bearer_token(writable: Served) -> None:
    update = "INSERT DATA { GRAPH <urn:x:g> { <urn:x:s> <urn:x:p> 'no' } }"
    missing = _update(writable, update, token=None)
    assert missing.status == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    wrong = _update(writable, update, token="guess")
    assert wrong.status == 401
    assert sparql(writable.query, "ASK { <urn:x:s> ?p ?o }").json()["boolean"] is False


def test_a_token_update_is_applied_and_queries_go_on(writable: Served) -> None:
    inserted = _update(writable, "INSERT DATA { GRAPH <urn:x:g> { <urn:x:s> rdfs:label 'yes' } }")
    assert inserted.status == 204, inserted.text
    assert sparql(writable.query, "ASK { <urn:x:s> rdfs:label 'yes' }").json()["boolean"]
    second = _update(writable, "DELETE WHERE { GRAPH <urn:x:g> { <urn:x:s> ?p ?o } }", form=True)
    assert second.status == 204
    assert not sparql(writable.query, "ASK { <urn:x:s> ?p ?o }").json()["boolean"]
    bad = _update(writable, "INSERT DATA { oops }")
    assert bad.status == 400 and "syntax" in bad.text.lower()
    lookup = request(writable.url + "lookup?code=RID49896")
    assert lookup.status == 200
    time.sleep(2.5)  # the writer is put away after 2 s without updates
    assert sparql(writable.query, FINDINGS, accept="text/csv").status == 200


# ------------------------------------------------------------------ timeout and row cap


def test_a_timed_out_query_answers_503_and_the_server_goes_on(served: Served) -> None:
    started = time.monotonic()
    slow = sparql(served.query, SLOW)
    took = time.monotonic() - started
    assert slow.status == 503, slow.text
    assert "stopped after 1 s" in slow.text
    assert took < 5
    started = time.monotonic()
    after = sparql(served.query, FINDINGS, accept="text/csv")
    assert after.status == 200 and len(after.text.splitlines()) == 4
    assert time.monotonic() - started < 3
    assert "killed after 1 s" in served.log()


def test_other_queries_are_answered_while_a_slow_one_runs(served: Served) -> None:
    results: list[int] = []
    slow = threading.Thread(target=lambda: results.append(sparql(served.query, SLOW).status))
    slow.start()
    time.sleep(0.2)
    quick = [sparql(served.query, FINDINGS).status for _ in range(5)]
    slow.join()
    assert quick == [200] * 5
    assert results == [503]


def test_answers_are_cut_at_the_row_cap_and_say_so(served: Served) -> None:
    everything = sparql(served.query, "SELECT * WHERE { ?s ?p ?o }", accept="text/csv")
    assert everything.status == 200
    assert len(everything.text.splitlines()) == 51  # header + 50 rows
    assert everything.headers["x-ontomap-truncated"] == "true"
    as_json = sparql(served.query, "SELECT * WHERE { ?s ?p ?o }")
    assert len(as_json.json()["results"]["bindings"]) == 50  # type: ignore[index]
    limited = sparql(served.query, "SELECT * WHERE { ?s ?p ?o } LIMIT 50", accept="text/csv")
    assert "x-ontomap-truncated" not in limited.headers
    triples = sparql(served.query, "CONSTRUCT WHERE { ?s ?p ?o }", accept="application/n-triples")
    assert triples.headers["x-ontomap-truncated"] == "true"
    assert len(triples.text.splitlines()) == 50


# ------------------------------------------------------------------ Graph Store Protocol


def test_graph_store_reads_a_named_graph(served: Served, local: ox.Store) -> None:
    graph = GRAPH_NS + "OIFM_OMAP_000001"
    answer = request(
        f"{served.url}store?{urllib.parse.urlencode({'graph': graph})}",
        headers={"Accept": "application/n-triples"},
    )
    assert answer.status == 200 and answer.media_type == "application/n-triples"
    got = _triples(answer.body, ox.RdfFormat.N_TRIPLES)
    expected = {
        ox.Triple(q.subject, q.predicate, q.object)
        for q in local.quads_for_pattern(None, None, None, ox.NamedNode(graph))
    }
    assert got == expected and len(got) > 50
    turtle = request(f"{served.url}store?{urllib.parse.urlencode({'graph': graph})}")
    assert turtle.media_type == "text/turtle"
    assert _triples(turtle.body, ox.RdfFormat.TURTLE) == expected
    head = request(f"{served.url}store?{urllib.parse.urlencode({'graph': graph})}", method="HEAD")
    assert head.status == 200 and head.body == b""


def test_graph_store_reads_the_default_graph_as_the_union(served: Served, local: ox.Store) -> None:
    head = request(f"{served.url}store?default", method="HEAD")
    assert head.status == 200 and head.body == b"" and head.media_type == "text/turtle"
    answer = request(f"{served.url}store?default", headers={"Accept": "application/n-triples"})
    assert answer.status == 200
    lines = answer.body.splitlines()
    assert len(lines) == len(set(lines))  # each triple once
    got = _triples(answer.body, ox.RdfFormat.N_TRIPLES)
    bookkeeping = (META_GRAPH, CROSSWALK_GRAPH)
    expected = {
        ox.Triple(q.subject, q.predicate, q.object)
        for q in local
        if q.graph_name not in bookkeeping
    }
    assert got == expected
    assert not any(t.subject == META_GRAPH or "sourceFile" in t.predicate.value for t in got)
    assert any(q.graph_name == CODES_GRAPH for q in local)
    # the same answer again, from the front end's cache; a HEAD now knows its length
    again = request(f"{served.url}store?default", headers={"Accept": "application/n-triples"})
    assert again.body == answer.body
    head = request(
        f"{served.url}store?default", method="HEAD", headers={"Accept": "application/n-triples"}
    )
    assert head.status == 200 and head.headers["content-length"] == str(len(answer.body))


def test_the_default_graph_leaves_the_bookkeeping_out(served: Served, local: ox.Store) -> None:
    files = "SELECT ?graph ?file WHERE { ?graph oifm:sourceFile ?file }"
    assert sparql(served.query, files).json()["results"]["bindings"] == []  # type: ignore[index]
    named = (
        f"SELECT ?graph ?file WHERE {{ GRAPH <{META_GRAPH.value}> "
        "{ ?graph oifm:sourceFile ?file } }"
    )
    rows = sparql(served.query, named).json()["results"]["bindings"]  # type: ignore[index]
    assert len(rows) == len(list(local.quads_for_pattern(None, None, None, META_GRAPH))) // 4 > 0
    # a variable predicate (the exact, slower dataset) and a bound one (the union's indexes)
    everything = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    count = sparql(served.query, everything).json()["results"]["bindings"][0]["n"]["value"]  # type: ignore[index]
    quads = [q for q in local if q.graph_name not in (META_GRAPH, CROSSWALK_GRAPH)]
    assert int(count) == len(quads)  # a triple in two graphs counts twice: SPARQL's union
    labels = "SELECT (COUNT(*) AS ?n) WHERE { ?s rdfs:label ?o }"
    count = sparql(served.query, labels).json()["results"]["bindings"][0]["n"]["value"]  # type: ignore[index]
    assert int(count) == sum(1 for q in quads if q.predicate.value.endswith("#label"))
    # the codes (and releases) are in the default graph: the hierarchy queries read them there
    codes = "ASK { ?code skos:inScheme ?scheme ; skos:notation ?notation }"
    assert sparql(served.query, codes).json()["boolean"] is True  # type: ignore[index]
    # the protocol's default-graph-uri still names any graph
    url = f"{served.query}?" + urllib.parse.urlencode(
        {"query": files, "default-graph-uri": META_GRAPH.value}
    )
    chosen = request(url, headers={"Accept": "application/sparql-results+json"})
    assert len(chosen.json()["results"]["bindings"]) == len(rows)  # type: ignore[index]


def test_graph_store_errors(served: Served) -> None:
    unknown = request(f"{served.url}store?graph=urn:x:none")
    assert unknown.status == 404
    neither = request(f"{served.url}store")
    assert neither.status == 400
    both = request(f"{served.url}store?default&graph=urn:x:none")
    assert both.status == 400
    assert request(f"{served.url}store?default", headers={"Accept": "text/csv"}).status == 406


# ------------------------------------------------------------------ lookup, page, queries


LOOKUP_PARAMS = [
    {},
    {"to": "SNOMED"},
    {"to": "RADLEX"},
    {"limit": "1"},
    {"offset": "1", "limit": "1"},
    {"offset": "5"},
    {"limit": "0"},
]


@pytest.mark.parametrize("params", LOOKUP_PARAMS)
def test_lookup_answers_exactly_the_cli_json(
    served: Served, examples_store: Path, params: dict[str, str]
) -> None:
    query = urllib.parse.urlencode({"code": "RID5791", **params})
    answer = request(served.url + "lookup?" + query)
    assert answer.status == 200 and answer.media_type == "application/json"
    args = [f"--{name}={value}" for name, value in params.items()]
    cli = ontomap_cli("lookup", "RID5791", "--format", "json", "--store", examples_store, *args)
    assert cli.returncode == 0, cli.stderr
    assert answer.text == cli.stdout
    again = request(served.url + "lookup?" + query)  # from the answer cache, the same bytes
    assert again.body == answer.body


def test_lookup_json_and_its_pages(served: Served) -> None:
    data = request(served.url + "lookup?code=RID49896").json()
    assert data["version"] == 2  # type: ignore[index]
    assert [m["curie"] for m in data["matches"]] == ["sct:263703002"]  # type: ignore[index]
    to = request(served.url + "lookup?code=RID49896&to=RADLEX")
    assert to.json()["matches"] == []  # type: ignore[index]
    whole = request(served.url + "lookup?code=RID5791&limit=1000").json()["used_by"]  # type: ignore[index]
    assert (whole["uses"], whole["offset"], whole["limit"], len(whole["items"])) == (2, 0, 1000, 2)
    pages = [
        request(served.url + f"lookup?code=RID5791&offset={n}&limit=1").json()["used_by"]  # type: ignore[index]
        for n in (0, 1, 2)
    ]
    assert [p["offset"] for p in pages] == [0, 1, 2]
    assert pages[0]["items"] + pages[1]["items"] == whole["items"] and pages[2]["items"] == []
    assert {u["finding_label"] for u in whole["items"]} == {
        "Diffuse hepatic calcifications",
        "solitary pulmonary nodule",
    }
    head = request(served.url + "lookup?code=RID5791", method="HEAD")
    assert head.status == 200 and head.body == b""


def test_lookup_errors_are_json(served: Served) -> None:
    unknown = request(served.url + "lookup?code=RADLEX:RID1")
    assert unknown.status == 404 and "not used" in unknown.json()["error"]  # type: ignore[index]
    bad = request(served.url + "lookup?code=" + urllib.parse.quote("NOPE:1"))
    assert bad.status == 400 and "unknown code system" in bad.json()["error"]  # type: ignore[index]
    system = request(served.url + "lookup?code=RID49896&to=NOPE")
    assert system.status == 400
    missing = request(served.url + "lookup")
    assert missing.status == 400 and missing.media_type == "application/json"


def test_an_ambiguous_bare_code_answers_its_candidates(served: Served) -> None:
    # 12738006 fits SNOMED CT's pattern and GAMUTS' (digits only), in the registry's order.
    answer = request(served.url + "lookup?code=12738006")
    assert answer.status == 400
    body = answer.json()
    assert body["status"] == 400 and "several systems" in body["error"]  # type: ignore[index]
    assert body["candidates"] == [  # type: ignore[index]
        {"system": "SNOMED", "code": "12738006", "curie": "sct:12738006"},
        {"system": "GAMUTS", "code": "12738006", "curie": "gamuts:12738006"},
    ]
    plain = request(served.url + "lookup?code=NOPE:1")
    assert "candidates" not in plain.json()  # type: ignore[operator]


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("limit=-1", "bad limit '-1': give a whole number from 0 to 1000 (default 50)"),
        ("limit=1001", "bad limit '1001'"),
        ("limit=ten", "bad limit 'ten'"),
        ("limit=", "bad limit ''"),
        ("limit=1.5", "bad limit '1.5'"),
        ("limit=%2B5", "bad limit '+5'"),
        ("limit=+5", "bad limit ' 5'"),
        ("limit=1&limit=2", "give the parameter 'limit' once, not 2 times"),
        ("offset=-3", "bad offset '-3': give a whole number from 0 to 1000000000 (default 0)"),
        ("offset=" + "9" * 50, "bad offset"),
        ("offset=%00", "bad offset '\\x00'"),
        ("to=SNOMED&to=RADLEX", "give the parameter 'to' once"),
    ],
)
def test_bad_lookup_pages_answer_400_in_json(served: Served, query: str, says: str) -> None:
    answer = request(served.url + "lookup?code=RID5791&" + query)
    assert answer.status == 400 and answer.media_type == "application/json", answer.text
    data = answer.json()
    assert data["status"] == 400 and says in data["error"], data  # type: ignore[index]


def test_lookup_of_rid5791_equals_the_cli_on_the_corpus(corpus_store: Path, logs: Path) -> None:
    with ontomap_server(corpus_store, "--workers", "1", log_dir=logs) as server:
        answers = {
            params: request(server.url + "lookup?code=RID5791&to=SNOMED" + params, timeout=120)
            for params in ("", "&offset=50&limit=100", "&limit=1000&offset=1000")
        }
    for params, answer in answers.items():
        args = [arg.replace("=", " ").split() for arg in params.split("&") if arg]
        flags = [f"--{part}" if i == 0 else part for pair in args for i, part in enumerate(pair)]
        cli = ontomap_cli(
            "lookup",
            "RID5791",
            "--to",
            "SNOMED",
            "--format",
            "json",
            "--store",
            corpus_store,
            *flags,
        )
        assert answer.status == 200, answer.text
        assert answer.text == cli.stdout, params
    data = answers[""].json()
    match = data["matches"][0]  # type: ignore[index]
    assert (match["code"], match["findings"], match["template"]) == ("263768009", 1994, True)
    assert len(answers[""].body) < 20_000  # the default page; 271 KB with every use before
    last = answers["&limit=1000&offset=1000"].json()["used_by"]  # type: ignore[index]
    assert (last["uses"], len(last["items"])) == (1994, 994)


def test_a_new_generation_is_not_answered_from_the_cache(
    examples_store: Path, logs: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "kg"
    shutil.copytree(examples_store, copy)
    env = dict(ENV, ONTOMAP_TOKEN=TOKEN)
    server = start_ontomap(copy, "--allow-update", "--workers", "1", log_dir=logs, env=env)
    try:
        before = request(server.url + "lookup?code=RID49896")
        assert before.status == 200 and before.json()["used_by"]["uses"] == 2  # type: ignore[index]
        assert request(server.url + "lookup?code=RID49896").body == before.body  # cached
        # Without the crosswalk graph the crosswalk is computed from the models, and one of
        # the two models that use RID49896 is gone: a stale cache would still say 2 uses.
        dropped = _update(
            server,
            f"DROP GRAPH <{CROSSWALK_GRAPH.value}> ; DROP GRAPH <{GRAPH_NS}OIFM_GMTS_005529>",
        )
        assert dropped.status == 204, dropped.text
        after = request(server.url + "lookup?code=RID49896")
        assert after.status == 200, after.text
        assert after.json()["used_by"]["uses"] == 1  # type: ignore[index]
    finally:
        server.stop()


def test_the_answer_cache_is_bounded_and_keyed_by_the_parsed_code() -> None:
    spellings = ("RID5791", "radlex:RID5791", " RADLEX RID5791 ", "http://radlex.org/RID/RID5791")
    keys = {LookupJob(text, "SNOMEDCT").answer_key() for text in spellings}
    assert keys == {("RADLEX", "RID5791", "SNOMED", 0, 50, False)}
    assert LookupJob("RID5791", offset=50, limit=None).answer_key() == (
        "RADLEX",
        "RID5791",
        None,
        50,
        None,
        False,
    )
    with_descendants = LookupJob("RID5791", descendants=True).answer_key()
    assert with_descendants == ("RADLEX", "RID5791", None, 0, 50, True)
    assert LookupJob("no code").answer_key() is None
    assert LookupJob("RID5791", "NOPE").answer_key() is None
    cache = AnswerCache(3 * (1000 + AnswerCache.ENTRY_BYTES))
    body = Response(200, "application/json", b"x" * 1000)
    for n in range(4):
        cache.put(("code", n), body)
    assert len(cache) == 3 and cache.get(("code", 0)) is None  # the oldest went first
    assert cache.get(("code", 1)) is body  # now the most recently used
    cache.put(("code", 4), body)
    assert cache.get(("code", 2)) is None and cache.get(("code", 1)) is body
    cache.put(("error", 0), Response(404, "application/json", b"{}"))
    assert cache.get(("error", 0)) is None  # errors are not kept
    cache.put(("huge", 0), Response(200, "application/json", b"x" * 10_000))
    assert cache.get(("huge", 0)) is None and cache.size <= cache.max_bytes
    cache.clear()
    assert len(cache) == 0 and cache.size == 0


def test_the_page_is_self_contained(served: Served) -> None:
    answer = request(served.url)
    assert answer.status == 200 and answer.media_type == "text/html"
    page = answer.text
    assert 'id="code"' in page and 'id="sparql"' in page
    assert '<option value="SNOMED">SNOMED CT</option>' in page
    for external in ('src="http', 'href="http', "src='http", "href='http", "@import"):
        assert external not in page


def _script_constant(page: str, name: str) -> object:
    start = page.index(f"const {name} = ") + len(f"const {name} = ")
    return json.JSONDecoder().raw_decode(page, start)[0]


def test_the_pages_systems_and_prefixes_are_the_registrys(served: Served) -> None:
    """The page's code systems (with their public browsers) and prefixes come from the
    registry the server runs with, read here from the TOML file itself."""
    page = request(served.url).text
    with (ROOT / "ontologies" / "terminologies.toml").open("rb") as handle:
        toml = tomllib.load(handle)["systems"]
    assert _script_constant(page, "SYSTEMS") == {
        key: {"prefix": e["prefix"], "label": e["label"], "browser": e.get("browser")}
        for key, e in toml.items()
    }
    shown = _script_constant(page, "PREFIXES")
    assert isinstance(shown, dict)
    assert {e["prefix"]: e["namespace"] for e in toml.values()}.items() <= shown.items()
    assert shown["fm"] == "https://w3id.org/ontomap/id/"


def test_the_named_queries_are_listed(served: Served) -> None:
    answer = request(served.url + "queries")
    names = [q["name"] for q in answer.json()]  # type: ignore[union-attr,index]
    assert "findings-with-code" in names
    assert all(q["text"].strip() for q in answer.json())  # type: ignore[union-attr,index]


# ------------------------------------------------------------------ process life


def test_sigterm_stops_the_server_and_its_workers(examples_store: Path, logs: Path) -> None:
    server = start_ontomap(examples_store, "--workers", "2", log_dir=logs)
    assert sparql(server.query, "ASK {}").status == 200
    children = _children(server.process.pid)
    assert len(children) >= 2
    assert server.stop() == 0
    assert "stopped" in server.log()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(pid) for pid in children):
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in children)


def test_ctrl_c_stops_the_server(examples_store: Path, logs: Path) -> None:
    server = start_ontomap(examples_store, "--workers", "1", log_dir=logs)
    # once a worker has answered: the server is serving, not starting
    assert request(server.url + "lookup?code=RID5791").status == 200
    server.process.send_signal(signal.SIGINT)
    assert server.process.wait(15) == 0
    assert "Traceback" not in server.log()


def test_ctrl_c_while_the_server_starts_ends_with_one_line(examples_store: Path) -> None:
    """Ctrl-C at a terminal reaches the whole process group (the front end, the fork server
    and the workers) at any moment of the start: while Python imports ontomap, while the
    workers start, while they open the store. Each time: one line and exit code 130 (or 0
    once serving), never a traceback from any of the processes nor click's "Aborted!"."""
    command = [sys.executable, "-m", "ontomap", "serve", "--store", str(examples_store)]

    def started(port: int) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*command, "--port", str(port), "--workers", "2"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
            cwd=ROOT,
            preexec_fn=default_sigint,
            start_new_session=True,  # its own process group, as a terminal's foreground job
        )

    # how long a start takes here, to spread the Ctrl-Cs over it
    began = time.monotonic()
    with started(free_port()) as process:
        assert process.stderr is not None
        while "press Ctrl-C" not in process.stderr.readline():
            assert process.poll() is None, "ontomap serve did not start"
        start = time.monotonic() - began
        os.killpg(process.pid, signal.SIGINT)
        process.communicate(timeout=30)
    seen = []
    for step in range(10):
        with started(free_port()) as process:
            time.sleep(start * step / 10)
            os.killpg(process.pid, signal.SIGINT)
            _out, err = process.communicate(timeout=30)
        seen.append((process.returncode, err))
        for word in ("Traceback", "KeyboardInterrupt", "Aborted!"):
            assert word not in err, (step, err)
        if process.returncode == 130:
            assert err.strip().splitlines()[-1].startswith("ontomap: error: interrupted"), err
        else:
            # Python itself stopped before ontomap's code ran: it dies of the signal, as
            # Unix programs do (a shell shows 130)
            assert process.returncode in (0, -signal.SIGINT), (step, err)
    assert sum(code == 130 for code, _err in seen) >= 5, seen


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    if not path.exists():
        pytest.skip("needs Linux /proc to list child processes")
    return [int(p) for p in path.read_text().split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def test_serve_exit_codes(examples_store: Path, tmp_path: Path) -> None:
    missing = ontomap_cli("serve", "--store", tmp_path / "none", "--port", "0")
    assert missing.returncode == 4 and "no store" in missing.stderr
    no_token = ontomap_cli("serve", "--store", examples_store, "--allow-update", "--port", "0")
    assert no_token.returncode == 2 and "--token" in no_token.stderr
    port = free_port()
    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import socket,time; s=socket.socket(); "
            f"s.bind(('127.0.0.1',{port})); s.listen(); print('ok', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
    ) as holder:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"ok"
        taken = ontomap_cli("serve", "--store", examples_store, "--port", str(port))
        holder.kill()
    assert taken.returncode == 2 and "taken" in taken.stderr


def test_serve_help_has_examples() -> None:
    done = ontomap_cli("serve", "--help")
    assert done.returncode == 0
    assert "Examples:" in done.stdout and "--max-rows" in done.stdout
