"""One contract for every SPARQL backend: the local store, an Oxigraph server after
``ontomap push``, and ``ontomap serve``'s own endpoint must give the same lookups and the same
named-query answers. Checked on the bundled examples (quick) and on the shared corpus.

Also: binding by VALUES (never by pasting text), term serialisation, and ``--endpoint`` on the
command line with its exit codes."""

from __future__ import annotations

import contextlib
import itertools
import random
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from conftest import EXAMPLES
from servers import ontomap_cli, ontomap_server, oxigraph_server

from ontomap.backends import (
    EndpointError,
    LocalBackend,
    RemoteBackend,
    SparqlBackend,
    as_backend,
    bind_values,
    open_backend,
    sparql_term,
)
from ontomap.lookup import (
    CodeNotFoundError,
    MalformedCodeError,
    code_from_iri,
    lookup,
)
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

KINDS = ("local", "oxigraph", "serve")
DATASETS = ("examples", "corpus")


class Backends:
    """The stores and servers of this module, started on first use and stopped at the end."""

    def __init__(self, request: pytest.FixtureRequest, folder: Path) -> None:
        self.request = request
        self.folder = folder
        self.stack = contextlib.ExitStack()
        self.made: dict[tuple[str, str], SparqlBackend] = {}

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
        location = self.folder / f"oxigraph-{dataset}"
        url = self.stack.enter_context(oxigraph_server(location))
        pushed = ontomap_cli("push", "--store", store, "--endpoint", url + "update", "-q")
        assert pushed.returncode == 0, pushed.stderr
        return RemoteBackend(url + "query")


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
