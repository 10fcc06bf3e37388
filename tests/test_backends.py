"""One contract for every SPARQL backend: the local store, an Oxigraph server and Virtuoso
(two independent engines) after ``ontomap push``, and ``ontomap serve``'s own endpoint must
give the same lookups, the same mapping sets (read from the crosswalk graph each of them holds)
and the same named-query answers. Checked on the bundled examples (quick) and on the shared
corpus (pushed once to each engine).

Also: binding by VALUES (never by pasting text), term serialisation, and ``--endpoint`` on the
command line with its exit codes."""

from __future__ import annotations

import contextlib
import http
import http.server
import itertools
import json
import random
import re
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from conftest import EXAMPLES, ROOT
from servers import ENV, ontomap_cli, ontomap_server, oxigraph_server, virtuoso_server

from ontomap.backends import (
    EndpointError,
    LocalBackend,
    RemoteBackend,
    SparqlBackend,
    TruncatedAnswerError,
    as_backend,
    bind_values,
    http_request,
    open_backend,
    sparql_term,
)
from ontomap.crosswalk import CrosswalkReader
from ontomap.lookup import (
    CodeNotFoundError,
    MalformedCodeError,
    code_from_iri,
    lookup,
)
from ontomap.mappings import build_mapping_set, serialize
from ontomap.push import DEFAULT_BATCH, MIN_BATCH
from ontomap.query import (
    AskResult,
    GraphResult,
    QueryError,
    QueryParameterError,
    QuerySyntaxError,
    SelectResult,
    named_queries,
    run_query,
)
from ontomap.store import Store
from ontomap.vocab import GRAPH_NS

KINDS = ("local", "oxigraph", "serve", "virtuoso")
ENGINES = ("oxigraph", "virtuoso")
#: Graphs put on each engine before the push: one the push must remove, one it must keep.
STALE = GRAPH_NS + "OIFM_GONE_000001"
OTHER = "http://example.org/graph/another-application"
DATASETS = ("examples", "corpus")


class Backends:
    """The stores and servers of this module, started on first use and stopped at the end."""

    def __init__(self, request: pytest.FixtureRequest, folder: Path) -> None:
        self.request = request
        self.folder = folder
        self.stack = contextlib.ExitStack()
        self.made: dict[tuple[str, str], SparqlBackend] = {}
        self.pushed: dict[tuple[str, str], dict[str, object]] = {}

    def store(self, dataset: str) -> Path:
        if dataset == "corpus":
            return Path(self.request.getfixturevalue("corpus_store"))
        path = self.folder / "examples-kg"
        if not path.exists():
            done = ontomap_cli("build", EXAMPLES, "--store", path, "-q")
            assert done.returncode == 0, done.stderr
        return path

    def get(self, dataset: str, kind: str) -> SparqlBackend:
        key = (dataset, kind)
        if key not in self.made:
            self.made[key] = self._make(dataset, kind)
        return self.made[key]

    def _make(self, dataset: str, kind: str) -> SparqlBackend:
        store = self.store(dataset)
        if kind == "local":
            return self.stack.enter_context(LocalBackend.open(store))
        if kind == "serve":
            server = self.stack.enter_context(
                ontomap_server(
                    store, "--timeout", "120", "--max-rows", "1000000", log_dir=self.folder
                )
            )
            return RemoteBackend(server.query)
        location = self.folder / f"{kind}-{dataset}"
        if kind == "virtuoso":
            server = self.stack.enter_context(virtuoso_server(location))
            update = query = server.sparql
        else:
            url = self.stack.enter_context(oxigraph_server(location))
            update, query = url + "update", url + "query"
        stale = http_request(  # a model since deleted, and a graph of another application
            update,
            f"INSERT DATA {{ GRAPH <{STALE}> {{ <{STALE}> <{STALE}> 1 }} "
            f"GRAPH <{OTHER}> {{ <{OTHER}> <{OTHER}> 1 }} }}".encode(),
            "application/sparql-update",
            "*/*",
        )
        assert stale.status in (200, 204)
        pushed = ontomap_cli("push", "--store", store, "--endpoint", update, "--json")
        assert pushed.returncode == 0, pushed.stderr
        self.pushed[dataset, kind] = json.loads(pushed.stdout)
        return RemoteBackend(query, timeout=300)


@pytest.fixture(scope="module")
def backends(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backends]:
    pool = Backends(request, tmp_path_factory.mktemp("backends"))
    with pool.stack:
        yield pool


@pytest.fixture(scope="module", params=DATASETS)
def dataset(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module", params=KINDS)
def backend(request: pytest.FixtureRequest, backends: Backends, dataset: str) -> SparqlBackend:
    return backends.get(dataset, str(request.param))


@pytest.fixture(scope="module")
def local(backends: Backends, dataset: str) -> SparqlBackend:
    return backends.get(dataset, "local")


@pytest.fixture(scope="module")
def codes(local: SparqlBackend, dataset: str) -> list[str]:
    """Codes to look up: all of them on the examples, a fixed sample of the corpus."""
    result = local.query(
        "SELECT DISTINCT ?c WHERE { GRAPH ?g { ?n oifm:hasIndexCode|oifm:anatomicLocation ?c } }",
        prefixes={"oifm": "https://w3id.org/ontomap/oifm#"},
    )
    found = sorted(
        code.curie
        for (concept,) in result.rows  # type: ignore[union-attr]
        if concept is not None and (code := code_from_iri(concept.value)) is not None
    )
    if dataset == "examples":
        return found
    return ["RADLEX:RID5791", "SNOMED:263768009", *random.Random(5).sample(found, 30)]


# ------------------------------------------------------------------ the contract


def test_every_backend_is_a_sparql_backend(backend: SparqlBackend) -> None:
    assert isinstance(backend, SparqlBackend)
    assert backend.location
    assert backend.base_iri == "https://w3id.org/ontomap/id/"


def test_lookups_equal_the_local_ones(
    backend: SparqlBackend, local: SparqlBackend, codes: list[str]
) -> None:
    for code in codes:
        assert lookup(backend, code).to_json() == lookup(local, code).to_json(), code


def test_lookups_to_one_system_equal_the_local_ones(
    backend: SparqlBackend, local: SparqlBackend, codes: list[str]
) -> None:
    for code in codes[:8]:
        for to in ("SNOMED", "RADLEX"):
            assert lookup(backend, code, to).to_json() == lookup(local, code, to).to_json()


def test_every_backend_reads_the_materialised_crosswalk(backend: SparqlBackend) -> None:
    """The crosswalk graph travels with the store: ``push`` sends it and ``serve`` answers from
    it, so no backend recomputes the crosswalk from the models."""
    assert CrosswalkReader(backend).materialised


def test_mapping_sets_equal_the_local_ones(backend: SparqlBackend, local: SparqlBackend) -> None:
    for source, target in (("RADLEX", "SNOMED"), ("SNOMED", "RADLEX"), (None, None)):
        here = build_mapping_set(backend, source, target, mapping_date="2025-01-31")
        there = build_mapping_set(local, source, target, mapping_date="2025-01-31")
        for fmt in ("sssom", "fhir-r5", "skos"):
            assert serialize(here, fmt) == serialize(there, fmt), (source, target, fmt)


@pytest.mark.parametrize("kind", KINDS)
def test_rid5791_is_snomed_263768009_in_1994_findings(backends: Backends, kind: str) -> None:
    result = lookup(backends.get("corpus", kind), "RID5791", to="SNOMED")
    assert [(m.code, m.findings, m.entities, m.cardinality) for m in result.matches] == [
        ("263768009", 1994, 1994, "1:1")
    ]
    assert result.findings == 1994


def test_lookup_errors_are_the_same(backend: SparqlBackend) -> None:
    with pytest.raises(CodeNotFoundError):
        lookup(backend, "RADLEX:RID1")
    with pytest.raises(MalformedCodeError):
        lookup(backend, "SNOMED:123")  # a wrong check digit, and unused


@pytest.mark.parametrize("name", sorted(named_queries()))
def test_named_queries_answer_as_locally(
    backend: SparqlBackend, local: SparqlBackend, dataset: str, name: str
) -> None:
    query = named_queries()[name]
    params = _example_params(query.example)
    if dataset == "examples" and name == "codes-of-finding":
        params = {"finding": "OIFM_OMAP_000001"}
    expected = run_query(local, query, params)
    got = run_query(backend, query, params)
    assert isinstance(got, SelectResult) and isinstance(expected, SelectResult)
    assert got.variables == expected.variables
    assert got.rows == expected.rows
    assert got.serialize("csv") == expected.serialize("csv")


def test_free_queries_with_parameters_answer_as_locally(
    backend: SparqlBackend, local: SparqlBackend
) -> None:
    query = "SELECT ?label ?f WHERE { ?f a oifm:FindingModel ; rdfs:label ?label }"
    for value in ("solitary pulmonary nodule", '"} ; DROP ALL ; {"', "a\\b\n\t'\"é"):
        params = {"label": value}
        assert run_query(backend, query, params).rows == run_query(local, query, params).rows  # type: ignore[union-attr]
    ask = "ASK { ?f oifm:tag ?tag }"
    for tag in ("CT", "no such tag"):
        got = run_query(backend, "SELECT ?tag WHERE { ?f oifm:tag ?tag } LIMIT 1", {"tag": tag})
        want = run_query(local, "SELECT ?tag WHERE { ?f oifm:tag ?tag } LIMIT 1", {"tag": tag})
        assert got.rows == want.rows  # type: ignore[union-attr]
    assert isinstance(run_query(backend, ask), AskResult)
    assert run_query(backend, ask).value == run_query(local, ask).value  # type: ignore[union-attr]


def test_graph_queries_answer_as_locally(backend: SparqlBackend, local: SparqlBackend) -> None:
    query = """CONSTRUCT { ?f rdfs:label ?name } WHERE {
        ?f a oifm:FindingModel ; rdfs:label ?name ; oifm:tag ?tag }"""
    got = run_query(backend, query, {"tag": "CT"})
    expected = run_query(local, query, {"tag": "CT"})
    assert isinstance(got, GraphResult) and isinstance(expected, GraphResult)
    assert got.graph == expected.graph and len(got.graph) > 0
    assert got.serialize("turtle") == expected.serialize("turtle")


def test_query_errors_are_the_same(backend: SparqlBackend) -> None:
    with pytest.raises(QuerySyntaxError) as syntax:
        run_query(backend, "SELECT ?x\nWHERE { ?x ?y }")
    assert (syntax.value.line, syntax.value.column) == (2, 16)
    with pytest.raises(QuerySyntaxError, match="unknown prefix 'nope:'"):
        run_query(backend, "SELECT ?x WHERE { ?x nope:p ?y }")
    with pytest.raises(QueryParameterError, match="must be a variable the query selects"):
        run_query(backend, "SELECT ?x WHERE { ?x ?p ?y }", {"y": "value"})


@pytest.mark.parametrize("kind", ENGINES)
def test_the_push_gave_each_engine_the_stores_graphs(
    backends: Backends, dataset: str, kind: str
) -> None:
    """What the push reported is what the engine holds: every triple of every graph of the
    store, the stale ontomap graph gone, the other application's graph kept."""
    backend = backends.get(dataset, kind)
    local = backends.get(dataset, "local")
    assert isinstance(local, LocalBackend)
    store = local.store.oxigraph
    graphs = {g.value for g in store.named_graphs()}  # type: ignore[union-attr]
    per_graph = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } %s } GROUP BY ?g"
    counted = run_query(
        backend,
        per_graph % f'FILTER (STRSTARTS(STR(?g), "{GRAPH_NS}") || ?g = <{OTHER}>)',
    )
    there = {g.value: int(n.value) for g, n in counted.rows}  # type: ignore[union-attr]
    assert there.pop(OTHER) == 1 and STALE not in there
    expected = {g.value: int(n.value) for g, n in store.query(per_graph % "")}  # type: ignore[union-attr,misc]
    assert expected.keys() == graphs and there == expected
    summary = backends.pushed[dataset, kind]
    assert summary["triples"] == sum(expected.values()) and summary["graphs"] == len(graphs)
    if kind == "oxigraph" or dataset == "examples":
        assert summary["refused"] == 0 and summary["batch_size"] == DEFAULT_BATCH
    else:  # Virtuoso's SPARQL compiler refuses 50,000 triples in one request
        assert summary["refused"] >= 1 and MIN_BATCH <= summary["batch_size"] < DEFAULT_BATCH
    # Virtuoso cannot compile the one-request clean-up (MINUS { VALUES ?g { several } })
    assert summary["cleanup"] == ("listed" if kind == "virtuoso" else "one request")


def test_virtuosos_own_graphs_are_in_its_default_graph_but_not_in_the_answers(
    backends: Backends,
) -> None:
    """Virtuoso's default graph holds its system graphs too; the contract above gives the
    same answers nonetheless, and a query that counts every graph sees them."""
    virtuoso = backends.get("examples", "virtuoso")
    local = backends.get("examples", "local")
    everything = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    there = int(run_query(virtuoso, everything).rows[0][0].value)  # type: ignore[union-attr]
    here = int(run_query(local, everything).rows[0][0].value)  # type: ignore[union-attr]
    assert there > here + 1000  # virtrdf# and the like
    graphs = run_query(virtuoso, "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
    names = {g.value for (g,) in graphs.rows}  # type: ignore[union-attr]
    assert "http://www.openlinksw.com/schemas/virtrdf#" in names  # kept by the push
    for name in ("code-systems", "codes-by-system", "findings-by-tag", "code-pairs"):
        query = named_queries()[name]
        assert run_query(virtuoso, query).rows == run_query(local, query).rows  # type: ignore[union-attr]
    ask = "ASK { ?f oifm:tag ?tag }"
    for tag, truth in (("chest", True), ("no such tag", False)):
        got = run_query(virtuoso, ask, {"tag": tag})  # Virtuoso answers __ASK_RETVAL
        assert isinstance(got, AskResult) and got.value is truth
        assert got.serialize("json") == run_query(local, ask, {"tag": tag}).serialize("json")  # type: ignore[union-attr]


#: More rows than Virtuoso's default ResultSetMaxRows (10,000) on the examples: each quad of
#: ontomap's graphs twelve times.
LONG = (
    "SELECT ?g ?s ?p ?o ?n WHERE { GRAPH ?g { ?s ?p ?o } "
    f'FILTER (STRSTARTS(STR(?g), "{GRAPH_NS}")) VALUES ?n {{ {" ".join(map(str, range(12)))} }} }}'
)

LONG_GRAPH = (
    "CONSTRUCT { ?s ?p ?x } WHERE { GRAPH ?g { ?s ?p ?o } "
    f'FILTER (STRSTARTS(STR(?g), "{GRAPH_NS}")) VALUES ?n {{ {" ".join(map(str, range(12)))} }} '
    'BIND (IRI(CONCAT("urn:x:", STR(?n), ENCODE_FOR_URI(STR(?o)))) AS ?x) }'
)


def test_an_answer_cut_at_the_row_limit_is_an_error_not_an_answer(backends: Backends) -> None:
    virtuoso = backends.get("examples", "virtuoso")
    expected = len(run_query(backends.get("examples", "local"), LONG).rows)  # type: ignore[union-attr]
    assert expected > 10_000
    with pytest.raises(TruncatedAnswerError) as cut:
        run_query(virtuoso, LONG)
    assert cut.value.limit == 10_000
    assert isinstance(cut.value.result, SelectResult) and len(cut.value.result.rows) == 10_000
    assert "cut its answer at 10000 rows" in str(cut.value) and "ResultSetMaxRows" in str(cut.value)
    with pytest.raises(TruncatedAnswerError):  # CONSTRUCT answers are cut too
        run_query(virtuoso, LONG_GRAPH)


def test_query_writes_a_cut_answer_warns_and_exits_1(backends: Backends) -> None:
    virtuoso = backends.get("examples", "virtuoso")
    assert isinstance(virtuoso, RemoteBackend)
    done = ontomap_cli("query", LONG, "--endpoint", virtuoso.url, "--format", "json")
    assert done.returncode == 1, done.stderr
    assert len(json.loads(done.stdout)["results"]["bindings"]) == 10_000
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("ontomap: warning: ") and "cut its answer at 10000" in done.stderr
    whole = ontomap_cli("query", LONG + " LIMIT 9000", "--endpoint", virtuoso.url, "-f", "json")
    assert whole.returncode == 0 and whole.stderr == ""
    assert len(json.loads(whole.stdout)["results"]["bindings"]) == 9000


def test_an_answer_ontomap_serve_cut_is_caught_too(backends: Backends) -> None:
    store = backends.store("examples")
    local = backends.get("examples", "local")
    query = "SELECT ?s ?p ?o WHERE { ?s ?p ?o }"
    expected = len(run_query(local, query).rows)  # type: ignore[union-attr]
    with ontomap_server(store, "--max-rows", "50", log_dir=backends.folder) as server:
        with pytest.raises(TruncatedAnswerError) as cut:
            run_query(RemoteBackend(server.query), query)
        whole = run_query(RemoteBackend(server.query), query + " LIMIT 50")
        done = ontomap_cli("query", query, "--endpoint", server.query, "-f", "json")
    assert expected > 50 and cut.value.limit == 50 and len(cut.value.result.rows) == 50  # type: ignore[union-attr]
    assert len(whole.rows) == 50  # type: ignore[union-attr]
    assert done.returncode == 1 and "cut its answer at 50 rows" in done.stderr
    assert len(json.loads(done.stdout)["results"]["bindings"]) == 50


# ------------------------------------------------------------------ helpers and CLI


def _example_params(example: str | None) -> dict[str, str]:
    params = {}
    words = (example or "").split()
    for before, word in itertools.pairwise(words):
        if before == "--param":
            name, _, value = word.partition("=")
            params[name] = value
    return params


def test_values_go_first_in_the_where_group() -> None:
    code = {"code": ox.NamedNode("http://radlex.org/RID/RID5791")}
    text = 'SELECT ?code # a { "comment"\nWHERE { ?n ?p "{ WHERE" . FILTER (?x < 3) }'
    bound = bind_values(text, code)
    assert bound.splitlines()[0] == 'SELECT ?code # a { "comment"'
    assert bound.splitlines()[1].startswith(
        "WHERE { VALUES (?code) { (<http://radlex.org/RID/RID5791>) }  ?n"
    )
    construct = bind_values("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", code)
    assert construct == (
        "CONSTRUCT { ?s ?p ?o } WHERE { VALUES (?code) "
        "{ (<http://radlex.org/RID/RID5791>) }  ?s ?p ?o }"
    )
    subquery = bind_values("SELECT (EXISTS { ?a ?b ?c } AS ?e) ?code { ?code ?p ?o }", code)
    assert "?e) ?code { VALUES" in subquery
    short = bind_values("CONSTRUCT WHERE { ?code ?p ?o }", code)
    assert short.endswith("VALUES (?code) { (<http://radlex.org/RID/RID5791>) }\n")
    assert bind_values("ASK { }", {}) == "ASK { }"


def test_terms_are_written_by_pyoxigraph_and_blank_nodes_refused() -> None:
    assert sparql_term(ox.Literal('a"b\n')) == '"a\\"b\\n"'
    assert sparql_term(ox.Literal("x", language="en")) == '"x"@en'
    assert sparql_term(ox.NamedNode("http://a/b")) == "<http://a/b>"
    with pytest.raises(QueryParameterError):
        sparql_term(ox.BlankNode("b0"))
    with pytest.raises(QueryParameterError):
        bind_values("SELECT ?x {}", {"x y": ox.Literal("1")})


def test_choosing_a_backend_is_explicit(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not both"):
        open_backend(store=tmp_path, endpoint="http://127.0.0.1:1/query")
    with pytest.raises(ValueError, match="not an http"):
        RemoteBackend("kg/query")
    remote = open_backend(endpoint="http://127.0.0.1:9/query")
    assert isinstance(remote, RemoteBackend)
    with pytest.raises(EndpointError, match="cannot reach"):
        run_query(remote, "ASK {}")
    with Store(tmp_path / "kg") as store:
        assert isinstance(as_backend(store), LocalBackend)
        assert as_backend(remote) is remote


def test_cli_query_and_lookup_with_endpoint(backends: Backends) -> None:
    served = backends.get("examples", "serve")
    store = backends.store("examples")
    assert isinstance(served, RemoteBackend)
    for args in (
        ("lookup", "RID49896", "--format", "json"),
        ("query", "--name", "code-systems", "--format", "csv"),
        ("query", "--name", "findings-with-code", "--param", "code=RID49896"),
        ("query", "CONSTRUCT WHERE { ?s oifm:tag ?o }"),
    ):
        remote = ontomap_cli(*args, "--endpoint", served.url)
        here = ontomap_cli(*args, "--store", store)
        assert remote.returncode == here.returncode == 0, remote.stderr
        assert remote.stdout == here.stdout
    both = ontomap_cli("lookup", "RID49896", "--endpoint", served.url, "--store", store)
    assert both.returncode == 2 and "not both" in both.stderr
    unknown = ontomap_cli("lookup", "RADLEX:RID1", "--endpoint", served.url)
    assert unknown.returncode == 3
    down = ontomap_cli("lookup", "RID49896", "--endpoint", "http://127.0.0.1:9/query")
    assert down.returncode == 4 and "cannot reach" in down.stderr
    wrong_path = ontomap_cli("query", "ASK {}", "--endpoint", served.url.replace("query", "x"))
    assert wrong_path.returncode == 4 and "no SPARQL endpoint" in wrong_path.stderr
    bad = ontomap_cli("query", "ASK {}", "--endpoint", "ftp://x")
    assert bad.returncode == 2
    syntax = ontomap_cli("query", "SELECT ?x WHERE { ?x ?y }", "--endpoint", served.url)
    assert syntax.returncode == 2 and "line 1, column 26" in syntax.stderr


def test_a_query_the_endpoint_rejects_is_a_query_error(backends: Backends) -> None:
    served = backends.get("examples", "serve")
    federated = "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"
    with pytest.raises(QueryError, match="SERVICE"):
        run_query(served, federated)


# ------------------------------------------------------------------ endpoints that misbehave

JSON_RESULTS = "application/sparql-results+json"


class Misbehaving(http.server.BaseHTTPRequestHandler):
    """An endpoint whose every path answers a SPARQL query in its own wrong way (see
    :data:`ANSWERS`). ``/proxy`` answers rightly, from :attr:`data`, listing the variables
    backwards."""

    data: ox.Store
    stop: threading.Event

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.query = urllib.parse.parse_qs(body.decode()).get("query", [""])[0]
        path = self.path.strip("/").partition("?")[0]
        if path != "proxy" and self.selected() == ["base"]:
            return self.results(["base"], [])  # the base IRI: unknown; the next query counts
        ANSWERS.get(path, _not_found)(self)

    do_GET = do_POST  # where a redirect leads

    def raw(self, head: str, body: bytes = b"") -> None:
        self.wfile.write(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        self.wfile.flush()

    def answer(self, status: int, media: str | None, body: bytes, *extra: str) -> None:
        lines = [f"HTTP/1.0 {status} {http.HTTPStatus(status).phrase}", *extra]
        if media:
            lines.append(f"Content-Type: {media}")
        lines.append(f"Content-Length: {len(body)}")
        self.raw("\n".join(lines) + "\n", body)

    def results(self, variables: list[str], rows: list[dict[str, object]]) -> None:
        document = {"head": {"vars": variables}, "results": {"bindings": rows}}
        self.answer(200, JSON_RESULTS, json.dumps(document).encode())

    def selected(self) -> list[str]:
        """The variables the query selects (read by Oxigraph's parser, nothing evaluated)."""
        if not self.query:  # a GET, after a redirect
            return []
        solutions = ox.Store().query(self.query)
        return [v.value for v in getattr(solutions, "variables", ())]


def _not_found(h: Misbehaving) -> None:
    h.answer(404, "text/plain", f"no endpoint at /{h.path.strip('/')}".encode())


def _wrong_kinds(h: Misbehaving) -> None:
    """Every variable asked for, bound to a blank node (where an IRI or a literal belongs)."""
    names = h.selected()
    row = {name: {"type": "bnode", "value": "b0"} for name in names}
    return h.results(names, [row])


def _proxy(h: Misbehaving) -> None:
    solutions = h.data.query(h.query, use_default_graph_as_union=True)
    document = json.loads(solutions.serialize(format=ox.QueryResultsFormat.JSON))  # type: ignore[union-attr]
    document["head"]["vars"].reverse()
    h.answer(200, JSON_RESULTS, json.dumps(document).encode())


def _slow(h: Misbehaving) -> None:
    h.stop.wait(60)


def _trickle(h: Misbehaving) -> None:
    h.raw(f"HTTP/1.0 200 OK\nContent-Type: {JSON_RESULTS}\nContent-Length: 1000\n")
    for _ in range(200):
        if h.stop.wait(0.1):
            return
        h.wfile.write(b" ")
        h.wfile.flush()


def _endless(h: Misbehaving) -> None:
    h.raw(f"HTTP/1.0 200 OK\nContent-Type: {JSON_RESULTS}\n")
    with contextlib.suppress(OSError):
        while not h.stop.is_set():
            h.wfile.write(b" " * 65536)


ANSWERS: dict[str, Callable[[Misbehaving], None]] = {
    "html": lambda h: h.answer(200, "text/html", b"<!DOCTYPE html>\n<html><body>Welcome</body>"),
    "bad-json": lambda h: h.answer(200, JSON_RESULTS, b'{"head": {"vars": ['),
    "no-results": lambda h: h.answer(200, JSON_RESULTS, b'{"head": {"vars": ["x"]}}'),
    "bindings-not-a-list": lambda h: h.answer(
        200, JSON_RESULTS, b'{"head": {"vars": ["x"]}, "results": {"bindings": {}}}'
    ),
    "wrong-term-type": lambda h: h.results(["x"], [{"x": {"type": "weird", "value": "1"}}]),
    "wrong-variables": lambda h: h.results(["x"], [{"x": {"type": "literal", "value": "1"}}]),
    "wrong-kinds": _wrong_kinds,
    "boolean": lambda h: h.answer(200, JSON_RESULTS, b'{"head": {}, "boolean": true}'),
    "triples": lambda h: h.answer(
        200, "application/n-triples", b'<http://a/s> <http://a/p> "1" .\n'
    ),
    "empty": lambda h: h.answer(200, JSON_RESULTS, b""),
    "png": lambda h: h.answer(200, "image/png", b"\x89PNG\r\n\x1a\n\x00\x00"),
    "no-type": lambda h: h.answer(200, None, b"results: none"),
    "error-500": lambda h: h.answer(500, "text/plain", b"java.lang.NullPointerException\n\tat x"),
    "error-503": lambda h: h.answer(503, "text/html", b"<html>\n<h1>Down for maintenance</h1>"),
    "loop": lambda h: h.answer(302, "text/plain", b"", "Location: /loop"),
    "moved": lambda h: h.answer(307, "text/plain", b"", "Location: http://elsewhere/sparql"),
    "cut": lambda h: h.raw(
        f"HTTP/1.0 200 OK\nContent-Type: {JSON_RESULTS}\nContent-Length: 1000\n", b'{"head": '
    ),
    "cut-chunked": lambda h: h.raw(
        f"HTTP/1.1 200 OK\nContent-Type: {JSON_RESULTS}\nTransfer-Encoding: chunked\n",
        b'9\r\n{"head": \r\n',
    ),
    "not-http": lambda h: h.wfile.write(b"220 smtp.example.org ESMTP ready\r\n"),
    "hang-up": lambda h: None,
    "slow": _slow,
    "trickle": _trickle,
    "huge": lambda h: h.raw(
        f"HTTP/1.0 200 OK\nContent-Type: {JSON_RESULTS}\nContent-Length: {10 << 30}\n", b"{"
    ),
    "endless": _endless,
    "proxy": _proxy,
}


@pytest.fixture(scope="module")
def misbehaving(backends: Backends) -> Iterator[str]:
    """The base URL of a :class:`Misbehaving` endpoint on loopback."""
    data = ox.Store()
    with Store(backends.store("examples"), read_only=True) as store:
        data.bulk_load(
            store.oxigraph.dump(format=ox.RdfFormat.N_QUADS), format=ox.RdfFormat.N_QUADS
        )
    stop = threading.Event()
    handler = type("Handler", (Misbehaving,), {"data": data, "stop": stop})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


def _one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    """The message of a run that failed with exit 4: one line, no traceback."""
    assert done.returncode == 4, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("ontomap: error: "), done.stderr
    return done.stderr


#: What each answer's message must say (beyond exit 4 and one line).
SAYS = {
    "html": ["HTTP 200, text/html", "'<!DOCTYPE html> <html><body>Welcome</body>'"],
    "bad-json": ["not valid application/sparql-results+json", '\'{"head": {"vars": [\''],
    "no-results": ["'results' key", "HTTP 200"],
    "bindings-not-a-list": ["must be an array"],
    "wrong-term-type": ["'weird'"],
    "wrong-variables": ["answered the variables ?x to a query that selects"],
    "boolean": ["answered a boolean to a SELECT query", '\'{"head": {}, "boolean": true}\''],
    "triples": ["answered triples to a SELECT query", "application/n-triples"],
    "empty": ["HTTP 200, application/sparql-results+json, 0 bytes"],
    "png": ["HTTP 200, image/png, 10 bytes", "PNG"],
    "no-type": ["HTTP 200, no Content-Type, 13 bytes: 'results: none'"],
    "error-500": ["HTTP 500, text/plain", "java.lang.NullPointerException at x"],
    "error-503": ["HTTP 503, text/html", "Down for maintenance"],
    "loop": ["redirects in a loop", "HTTP 302"],
    "moved": ["redirects to http://elsewhere/sparql", "HTTP 307"],
    "cut": ["closed the connection in the middle of its answer", "9 bytes", "1000 announced"],
    "cut-chunked": ["in the middle of its answer", "HTTP 200"],
    "not-http": ["gave no valid HTTP answer"],
    "hang-up": ["gave no valid HTTP answer"],
    "slow": ["did not answer within 1 s", "--timeout"],
    "trickle": ["did not finish its answer within 1 s", "HTTP 200", "--timeout"],
    "huge": ["announced an answer of 10 GiB", "more than the 512 MiB ontomap reads"],
}


@pytest.mark.parametrize("path", sorted(SAYS))
def test_lookup_on_a_misbehaving_endpoint_exits_4_with_one_line(
    misbehaving: str, path: str
) -> None:
    started = time.monotonic()
    done = ontomap_cli("lookup", "RID5791", "--endpoint", misbehaving + path, "--timeout", "1")
    message = _one_error_line(done)
    for words in SAYS[path]:
        assert words in message
    assert time.monotonic() - started < 30


@pytest.mark.parametrize(
    ("path", "query", "says"),
    [
        ("html", "SELECT ?s WHERE { ?s ?p ?o }", "HTTP 200, text/html"),
        ("bad-json", "ASK { ?s ?p ?o }", "not valid application/sparql-results+json"),
        ("boolean", "CONSTRUCT WHERE { ?s ?p ?o }", "a boolean to a CONSTRUCT or DESCRIBE query"),
        ("triples", "ASK { ?s ?p ?o }", "answered triples to an ASK query"),
        ("wrong-variables", "SELECT ?a ?b WHERE { ?a ?p ?b }", "?x to a query that selects ?a ?b"),
        ("cut", "DESCRIBE <http://a/s>", "in the middle of its answer"),
        ("slow", "SELECT * WHERE { ?s ?p ?o }", "did not answer within 1 s"),
        ("trickle", "CONSTRUCT WHERE { ?s ?p ?o }", "did not finish its answer within 1 s"),
        ("huge", "SELECT * WHERE { ?s ?p ?o }", "announced an answer of 10 GiB"),
    ],
)
def test_query_on_a_misbehaving_endpoint_exits_4_with_one_line(
    misbehaving: str, path: str, query: str, says: str
) -> None:
    done = ontomap_cli("query", query, "--endpoint", misbehaving + path, "--timeout", "1")
    assert says in _one_error_line(done)


def test_a_lookup_that_finds_the_wrong_kind_of_term_says_which(misbehaving: str) -> None:
    done = ontomap_cli("lookup", "RID5791", "--endpoint", misbehaving + "wrong-kinds")
    message = _one_error_line(done)
    assert "answered _:b0 to a crosswalk query where an IRI or a literal belongs" in message


def test_an_endless_answer_is_cut_at_the_size_limit(misbehaving: str) -> None:
    remote = RemoteBackend(misbehaving + "endless", max_bytes=4 << 20, timeout=30)
    with pytest.raises(EndpointError, match="larger than the 4 MiB ontomap reads"):
        run_query(remote, "SELECT * WHERE { ?s ?p ?o }")


def test_variables_in_another_order_give_the_same_answers(
    misbehaving: str, backends: Backends
) -> None:
    store = backends.store("examples")
    for args in (
        ("lookup", "RID49896", "--format", "json"),
        ("query", "--name", "code-systems", "--format", "csv"),
        ("query", 'SELECT ?f ?name WHERE { ?f oifm:tag "CT" ; rdfs:label ?name } ORDER BY ?f'),
    ):
        remote = ontomap_cli(*args, "--endpoint", misbehaving + "proxy")
        here = ontomap_cli(*args, "--store", store)
        assert remote.returncode == here.returncode == 0, remote.stderr
        assert remote.stdout == here.stdout


def test_timeout_is_settable_and_for_endpoints_only(backends: Backends) -> None:
    from ontomap.backends import DEFAULT_TIMEOUT

    for command in ("lookup", "query"):
        shown = ontomap_cli(command, "--help").stdout
        assert "--timeout SECONDS" in shown and f"[default: {DEFAULT_TIMEOUT:g}]" in shown
    store = backends.store("examples")
    local = ontomap_cli("lookup", "RID49896", "--store", store, "--timeout", "5")
    assert local.returncode == 2 and "--timeout applies to --endpoint" in local.stderr
    zero = ontomap_cli("lookup", "RID49896", "--endpoint", "http://127.0.0.1:9/q", "--timeout", "0")
    assert zero.returncode == 2


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://[::1", "is not a valid URL: Invalid IPv6 URL"),
        ("http://127.0.0.1:99999/query", "Port out of range"),
        ("http://127.0.0.1:7878/\udcff", "holds bytes that are not UTF-8 text"),
        ("http://127.0.0.1:7878/a query", "holds white space or control characters"),
        ("http://user:secret@127.0.0.1:7878/query", "a user name or password in the URL"),
        ("ftp://127.0.0.1/query", "is not an http(s) URL"),
        ("http:///query", "is not an http(s) URL"),
    ],
)
def test_endpoint_urls_are_checked_before_any_request(url: str, says: str) -> None:
    for command in (("lookup", "RID5791"), ("query", "ASK {}")):
        done = subprocess.run(
            [sys.executable, "-m", "ontomap", *command, "--endpoint", url],
            env=ENV,
            cwd=ROOT,
            capture_output=True,
            text=True,
            errors="surrogateescape",
            timeout=120,
        )
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert "Invalid value for '--endpoint'" in done.stderr and says in done.stderr
    with pytest.raises(ValueError, match=re.escape(says)):
        RemoteBackend(url)


def test_an_iri_as_endpoint_is_sent_percent_encoded(misbehaving: str) -> None:
    done = ontomap_cli("query", "ASK {}", "--endpoint", misbehaving + "réponse")
    assert "no SPARQL endpoint at " in _one_error_line(done)
    assert f"{misbehaving}r%C3%A9ponse (HTTP 404, text/plain" in done.stderr
    assert "'no endpoint at /r%C3%A9ponse'" in done.stderr
