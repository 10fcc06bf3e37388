"""Real SPARQL clients against a real ``ontomap serve``: SPARQLWrapper (with its defaults and
every return format, by GET, POST form and POST body) and rdflib's ``SPARQLStore``.

Every answer is compared with the local store's own answer (pyoxigraph, over the same served
dataset: every graph but the bookkeeping ones), never with the server's. Each test prints one
row: what was checked, how many requests, how many held.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from conftest import EXAMPLES
from servers import Served, ontomap_cli, ontomap_server, request

from ontomap.query import prefixes
from ontomap.server.jobs import BOOKKEEPING_GRAPHS
from ontomap.store import Store
from ontomap.vocab import GRAPH_NS

SPARQLWrapper = pytest.importorskip("SPARQLWrapper")
rdflib = pytest.importorskip("rdflib")

#: The queries, with the PREFIX lines a client that knows nothing of the server sends.
HEAD = """PREFIX oifm: <https://w3id.org/ontomap/oifm#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
"""
SELECT = (
    HEAD
    + """SELECT ?finding ?name WHERE { ?finding a oifm:FindingModel ; rdfs:label ?name }
ORDER BY ?finding"""
)
ASK = HEAD + "ASK { ?finding a oifm:FindingModel }"
CONSTRUCT = (
    HEAD
    + """CONSTRUCT { ?finding rdfs:label ?name ; oifm:tag ?tag }
WHERE { ?finding a oifm:FindingModel ; rdfs:label ?name ; oifm:tag ?tag }"""
)
FINDING = "https://w3id.org/ontomap/id/OIFM_OMAP_000001"
DESCRIBE = f"DESCRIBE <{FINDING}>"
#: A query that reads the bookkeeping through the default graph: no answer when served.
SOURCE_FILES = HEAD + "SELECT ?graph ?file WHERE { ?graph oifm:sourceFile ?file }"


@pytest.fixture(scope="module")
def examples_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clients-kg") / "kg"
    done = ontomap_cli("build", EXAMPLES, "--store", path, "-q")
    assert done.returncode == 0, done.stderr
    return path


@pytest.fixture(scope="module")
def served(examples_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    logs = tmp_path_factory.mktemp("clients-logs")
    with ontomap_server(examples_store, "--workers", "2", log_dir=logs) as server:
        yield server


@pytest.fixture(scope="module")
def local(examples_store: Path) -> Iterator[Callable[[str], object]]:
    """The local store's answer to a query over the served dataset."""
    with Store(examples_store, read_only=True) as store:
        graphs = [g for g in store.oxigraph.named_graphs() if g.value not in BOOKKEEPING_GRAPHS]

        def answer(query: str) -> object:
            return store.oxigraph.query(
                query, prefixes=prefixes(), default_graph=[ox.DefaultGraph(), *graphs]
            )

        yield answer


def _nt(triples: object) -> set[ox.Triple]:
    """Triples (pyoxigraph's, or an rdflib graph's) as a set of pyoxigraph triples."""
    if isinstance(triples, rdflib.Graph):
        data = triples.serialize(format="nt", encoding="utf-8")
        quads = ox.parse(data, format=ox.RdfFormat.N_TRIPLES)  # type: ignore[arg-type]
        return {ox.Triple(q.subject, q.predicate, q.object) for q in quads}
    return set(triples)  # type: ignore[call-overload]


def _rows(solutions: object) -> list[tuple[str | None, ...]]:
    """Solutions (pyoxigraph's, or the JSON of SPARQL results) as rows of N-Triples terms."""
    if isinstance(solutions, dict):
        data = json.dumps(solutions).encode()
        solutions = ox.parse_query_results(data, format=ox.QueryResultsFormat.JSON)
    variables = [v.value for v in solutions.variables]  # type: ignore[attr-defined]
    return [
        tuple(None if s[v] is None else str(s[v]) for v in variables)
        for s in solutions  # type: ignore[attr-defined]
    ]


def _report(what: str, requests: int, held: int, failures: list[str]) -> None:
    print(f"\n| {what} | {requests} | {held} |")
    assert not failures, "\n".join(failures[:10])
    assert held == requests


# ------------------------------------------------------------------ SPARQLWrapper

#: What SPARQLWrapper's ``convert()`` gives for each return format of a SELECT.
SELECT_FORMATS = ["json", "xml", "csv", "tsv"]
#: The return formats of a CONSTRUCT or DESCRIBE, each converted to an rdflib graph.
GRAPH_FORMATS = ["xml", "rdf", "rdf+xml", "turtle", "n3", "json-ld", "json"]
METHODS = [("GET", None), ("POST", "urlencoded"), ("POST", "postdirectly")]


def _wrapper(served: Served, query: str, fmt: str | None, method: str, kind: str | None):
    from SPARQLWrapper import POST, POSTDIRECTLY, URLENCODED
    from SPARQLWrapper import SPARQLWrapper as Client

    client = Client(served.query)
    client.setQuery(query)
    if fmt is not None:
        client.setReturnFormat(fmt)
    if method == "POST":
        client.setMethod(POST)
        client.setRequestMethod(POSTDIRECTLY if kind == "postdirectly" else URLENCODED)
    return client


def _select_held(converted: object, fmt: str, expected: object) -> bool:
    if fmt == "json":
        return _rows(converted) == _rows(expected)
    if fmt == "xml":
        data = converted.toxml().encode()  # type: ignore[attr-defined]
        got = ox.parse_query_results(data, format=ox.QueryResultsFormat.XML)
        return _rows(got) == _rows(expected)
    table = ox.QueryResultsFormat.CSV if fmt == "csv" else ox.QueryResultsFormat.TSV
    return converted == expected.serialize(format=table)  # type: ignore[attr-defined]


def test_sparqlwrapper_with_its_defaults(served: Served, local) -> None:
    """No return format, no method set: GET with format=xml&output=xml&results=xml."""
    failures: list[str] = []
    count = held = 0
    for query in (SELECT, ASK, CONSTRUCT, DESCRIBE):
        count += 1
        try:
            converted = _wrapper(served, query, None, "GET", None).query().convert()
        except Exception as exc:  # a failed request is a row that did not hold
            failures.append(f"{query[-40:]!r}: {exc}")
            continue
        expected = local(query)
        if query is SELECT:
            ok = _select_held(converted, "xml", expected)
        elif query is ASK:
            ok = "<boolean>true</boolean>" in converted.toxml()  # type: ignore[attr-defined]
        else:
            wanted = _nt(expected)
            ok = _nt(converted) == wanted and len(wanted) > 0
        held += ok
        if not ok:
            failures.append(f"{query[-40:]!r}: a different answer")
    _report("SPARQLWrapper, defaults (SELECT, ASK, CONSTRUCT, DESCRIBE)", count, held, failures)


def test_sparqlwrapper_return_formats_and_methods(served: Served, local) -> None:
    failures: list[str] = []
    count = held = 0
    cases: list[tuple[str, str]] = [(SELECT, f) for f in SELECT_FORMATS]
    cases += [(ASK, "json"), (ASK, "xml")]
    cases += [(q, f) for q in (CONSTRUCT, DESCRIBE) for f in GRAPH_FORMATS]
    for query, fmt in cases:
        for method, kind in METHODS:
            count += 1
            what = f"{query.split()[-1][:20]!r} as {fmt} by {method} {kind or ''}"
            try:
                client = _wrapper(served, query, fmt, method, kind)
                converted = client.query().convert()
            except Exception as exc:
                failures.append(f"{what}: {type(exc).__name__}: {str(exc)[:200]}")
                continue
            expected = local(query)
            if query is SELECT:
                ok = _select_held(converted, fmt, expected)
            elif query is ASK:
                ok = (
                    converted["boolean"] is True  # type: ignore[index]
                    if fmt == "json"
                    else "<boolean>true</boolean>" in converted.toxml()  # type: ignore[attr-defined]
                )
            else:
                if isinstance(converted, bytes):  # turtle and n3: the text, for rdflib to read
                    converted = rdflib.Graph().parse(data=converted, format=fmt)
                ok = isinstance(converted, rdflib.Graph) and _nt(converted) == _nt(expected)
            held += ok
            if not ok:
                failures.append(f"{what}: a different answer")
    _report("SPARQLWrapper, every return format × GET, POST form, POST body", count, held, failures)


def test_sparqlwrapper_sees_no_bookkeeping_and_resolves_relative_iris(served: Served) -> None:
    from SPARQLWrapper import JSON

    client = _wrapper(served, SOURCE_FILES, JSON, "GET", None)
    rows = client.query().convert()["results"]["bindings"]  # type: ignore[index]
    assert rows == []
    in_graph = HEAD + (
        "SELECT ?file WHERE { GRAPH <https://w3id.org/ontomap/graph/_meta> "
        "{ ?graph oifm:sourceFile ?file } }"
    )
    named = _wrapper(served, in_graph, JSON, "GET", None).query().convert()
    assert len(named["results"]["bindings"]) > 0  # type: ignore[index]
    relative = _wrapper(served, "SELECT ?x WHERE { BIND(<here#x> AS ?x) }", JSON, "GET", None)
    value = relative.query().convert()["results"]["bindings"][0]["x"]["value"]  # type: ignore[index]
    assert value == served.url + "here#x"


# ------------------------------------------------------------------ rdflib SPARQLStore


@pytest.mark.parametrize("method", ["GET", "POST", "POST_FORM"])
def test_rdflib_sparqlstore(served: Served, local, method: str) -> None:
    from rdflib import RDF, Literal, URIRef
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    store = SPARQLStore(query_endpoint=served.query, method=method)
    graph = rdflib.Graph(store=store)
    oifm = rdflib.Namespace("https://w3id.org/ontomap/oifm#")
    failures: list[str] = []
    checks: list[tuple[str, Callable[[], bool]]] = [
        (
            "SELECT",
            lambda: (
                [tuple(str(t.n3()) for t in row) for row in graph.query(SELECT)]
                == [tuple(t for t in row) for row in _rows(local(SELECT))]
            ),
        ),
        ("ASK", lambda: bool(graph.query(ASK)) is True),
        ("CONSTRUCT", lambda: _nt(graph.query(CONSTRUCT).graph) == _nt(local(CONSTRUCT))),
        ("DESCRIBE", lambda: _nt(graph.query(DESCRIBE).graph) == _nt(local(DESCRIBE))),
        (
            "triples()",
            lambda: (
                {str(s) for s, _p, _o in graph.triples((None, RDF.type, oifm.FindingModel))}
                == {row[0].strip("<>") for row in _rows(local(SELECT))}
            ),  # type: ignore[union-attr]
        ),
        ("contains", lambda: (URIRef(FINDING), RDF.type, oifm.FindingModel) in graph),
        (
            "value()",
            lambda: (
                graph.value(URIRef(FINDING), rdflib.RDFS.label)
                == Literal(
                    next(iter(local(HEAD + f"SELECT ?l {{ <{FINDING}> rdfs:label ?l }}")))[0].value  # type: ignore[call-overload]
                )
            ),
        ),
        (
            "len()",
            lambda: (
                len(graph)
                == int(next(iter(local("SELECT (COUNT(*) AS ?n) { ?s ?p ?o }")))[0].value)
            ),  # type: ignore[call-overload]
        ),
        (
            "contexts()",
            lambda: (
                {
                    str(c.identifier) if hasattr(c, "identifier") else str(c)
                    for c in store.contexts()
                }
                >= {GRAPH_NS + "OIFM_OMAP_000001", GRAPH_NS + "_codes"}
            ),
        ),
        ("no bookkeeping", lambda: len(list(graph.query(SOURCE_FILES))) == 0),
    ]
    held = 0
    for name, check in checks:
        try:
            ok = check()
        except Exception as exc:
            failures.append(f"{name}: {type(exc).__name__}: {str(exc)[:200]}")
            continue
        held += ok
        if not ok:
            failures.append(f"{name}: a different answer")
    _report(f"rdflib SPARQLStore, method={method}", len(checks), held, failures)


# ------------------------------------------------------------------ the HTTP side of clients


def test_options_and_format_parameters(served: Served) -> None:
    options = request(served.query, method="OPTIONS")
    assert options.status == 204
    assert options.headers["allow"] == "GET, HEAD, POST, OPTIONS"
    assert "access-control-allow-origin" not in options.headers  # CORS is opt-in
    url = (
        served.query
        + "?"
        + urllib.parse.urlencode(
            [("query", CONSTRUCT), ("format", "bogus"), ("format", "n3"), ("output", "xml")]
        )
    )
    answer = request(url, headers={"Accept": "application/sparql-results+xml"})
    assert answer.status == 200 and answer.media_type == "text/n3"
    for value, media in [
        ("application/rdf+xml", "application/rdf+xml"),
        ("rdf+xml", "application/rdf+xml"),
        ("json-ld", "application/ld+json"),
        ("text/plain", "text/plain"),
        ("application/x-turtle", "application/x-turtle"),
        ("nquads", "application/n-quads"),
        ("application/trig", "application/trig"),
        ("csv", "text/turtle"),  # names no graph format: Accept (none: the default) decides
    ]:
        url = served.query + "?" + urllib.parse.urlencode({"query": CONSTRUCT, "format": value})
        answer = request(url)
        assert (answer.status, answer.media_type) == (200, media), value


def test_cors_is_opt_in(examples_store: Path, tmp_path: Path) -> None:
    origin = "https://app.example.org"
    with ontomap_server(
        examples_store, "--workers", "1", "--cors", origin, "-q", log_dir=tmp_path
    ) as server:
        preflight = request(
            server.query,
            method="OPTIONS",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        )
        assert preflight.status == 204
        assert preflight.headers["access-control-allow-origin"] == origin
        assert "POST" in preflight.headers["access-control-allow-methods"]
        answer = request(
            server.query + "?" + urllib.parse.urlencode({"query": ASK}), headers={"Origin": origin}
        )
        assert answer.status == 200 and answer.headers["access-control-allow-origin"] == origin
        other = request(
            server.query + "?" + urllib.parse.urlencode({"query": ASK}),
            headers={"Origin": "https://evil.example"},
        )
        assert other.status == 200 and "access-control-allow-origin" not in other.headers
    assert "GET /query" not in server.log()  # -q: no request log
    bad = ontomap_cli("serve", "--store", examples_store, "--cors", "not an origin")
    assert bad.returncode == 2 and "--cors" in bad.stderr
