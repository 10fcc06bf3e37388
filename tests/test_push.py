"""``ontomap push`` against real servers: an Oxigraph server and Virtuoso (two independent
engines), ``ontomap serve --allow-update``, and an Oxigraph server behind a proxy that refuses
large requests (HTTP 413, as a proxy's body-size limit does). Graphs on the server are
compared with the store's."""

from __future__ import annotations

import contextlib
import http.server
import json
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import pytest
from conftest import EXAMPLES
from servers import (
    ENV,
    Served,
    ontomap_cli,
    oxigraph_server,
    request,
    sparql,
    start_ontomap,
    virtuoso_server,
)

from ontomap.push import DEFAULT_BATCH, MIN_BATCH, push
from ontomap.store import Store
from ontomap.vocab import GRAPH_NS

TOKEN = "push-token-42"
ONE_GRAPH = "https://example.org/graph/findings"


@pytest.fixture(scope="module")
def examples_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("push-examples") / "kg"
    done = ontomap_cli("build", EXAMPLES, "--store", path, "-q")
    assert done.returncode == 0, done.stderr
    return path


@pytest.fixture(scope="module")
def two_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with two of the three examples."""
    path = tmp_path_factory.mktemp("push-two") / "kg"
    files = sorted(EXAMPLES.iterdir())[:2]
    done = ontomap_cli("build", *files, "--store", path, "-q")
    assert done.returncode == 0, done.stderr
    return path


@pytest.fixture(scope="module")
def oxigraph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with oxigraph_server(tmp_path_factory.mktemp("oxigraph-push")) as url:
        yield url


@dataclass(frozen=True)
class Engine:
    """A SPARQL server to push to: its update and query endpoints."""

    name: str
    update: str
    query: str


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    with virtuoso_server(tmp_path_factory.mktemp("virtuoso-push")) as server:
        yield Engine("virtuoso", server.sparql, server.sparql)


@pytest.fixture(scope="module", params=["oxigraph", "virtuoso"])
def engine(request: pytest.FixtureRequest) -> Engine:
    if request.param == "virtuoso":
        return request.getfixturevalue("virtuoso")  # type: ignore[no-any-return]
    url = request.getfixturevalue("oxigraph")
    return Engine("oxigraph", url + "update", url + "query")


def _store_graphs(path: Path) -> dict[str, set[ox.Triple]]:
    with Store(path, read_only=True) as store:
        out: dict[str, set[ox.Triple]] = {}
        for quad in store.oxigraph:
            out.setdefault(quad.graph_name.value, set()).add(  # type: ignore[union-attr]
                ox.Triple(quad.subject, quad.predicate, quad.object)
            )
        return out


def _remote_graphs(query: str, prefix: str | None = GRAPH_NS) -> dict[str, set[ox.Triple]]:
    """The graphs named under ``prefix`` at the query endpoint ``query`` (an endpoint that
    has fewer than 10,000 triples: Virtuoso cuts answers there)."""
    answer = sparql(
        query,
        "SELECT ?g ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }",
        accept="application/sparql-results+json",
    )
    assert answer.status == 200, answer.text
    out: dict[str, set[ox.Triple]] = {}
    for g, s, p, o in ox.parse_query_results(answer.body, format=ox.QueryResultsFormat.JSON):  # type: ignore[misc]
        if prefix is None or g.value.startswith(prefix):
            out.setdefault(g.value, set()).add(ox.Triple(s, p, _boolean(o)))
    return out


def _boolean(term: ox.Term) -> ox.Term:
    """An ``xsd:boolean`` written ``1``/``0`` (as Virtuoso stores them) as ``true``/``false``:
    graphs are compared by value."""
    if isinstance(term, ox.Literal) and term.datatype.value.endswith("#boolean"):
        written = {"1": "true", "0": "false"}.get(term.value, term.value)
        return ox.Literal(written, datatype=term.datatype)
    return term


def _graph_names(query: str) -> set[str]:
    answer = sparql(query, "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
    return {b["g"]["value"] for b in answer.json()["results"]["bindings"]}  # type: ignore[index]


def _no_staging_left(query: str) -> None:
    assert not [g for g in _graph_names(query) if g.startswith("urn:ontomap:push:")]


def test_push_keeps_the_store_layout(engine: Engine, examples_store: Path) -> None:
    done = ontomap_cli("push", "--store", examples_store, "--endpoint", engine.update)
    assert done.returncode == 0, done.stderr
    graphs = len(_store_graphs(examples_store))  # a graph per model, codes, bookkeeping...
    assert f"{graphs} graphs" in done.stdout and "3 models" in done.stdout
    assert _remote_graphs(engine.query) == _store_graphs(examples_store)
    _no_staging_left(engine.query)


def test_a_second_push_replaces_graphs_and_removes_models_gone(
    engine: Engine, examples_store: Path, two_models: Path
) -> None:
    other = "http://example.org/graph/not-ontomap"
    seeded = request(
        engine.update,
        data=f'INSERT DATA {{ GRAPH <{other}> {{ <http://a/s> <http://a/p> "kept" }} }}'.encode(),
        headers={"Content-Type": "application/sparql-update"},
    )
    assert seeded.status in (200, 204), seeded.text
    assert ontomap_cli("push", "--store", examples_store, "--endpoint", engine.update)
    done = ontomap_cli("push", "--store", two_models, "--endpoint", engine.update)
    assert done.returncode == 0, done.stderr
    remote = _remote_graphs(engine.query)
    assert remote == _store_graphs(two_models)
    assert len([g for g in remote if "/OIFM_" in g]) == 2
    done = ontomap_cli("push", "--store", examples_store, "--endpoint", engine.update)
    assert _remote_graphs(engine.query) == _store_graphs(examples_store)
    assert len(_remote_graphs(engine.query, other)[other]) == 1  # another's graph is left alone


@pytest.mark.parametrize("atomic", [False, True])
def test_small_batches_stage_large_graphs_and_give_the_same_graphs(
    engine: Engine, examples_store: Path, two_models: Path, atomic: bool
) -> None:
    assert ontomap_cli("push", "--store", two_models, "--endpoint", engine.update)
    with Store(examples_store, read_only=True) as store:
        sent: list[int] = []
        summary = push(
            store,
            engine.update,
            batch_size=40,
            atomic=atomic,
            progress=lambda done, total: sent.append(done),
        )
        total = len(store)
    assert summary.graphs == len(_store_graphs(examples_store)) and summary.triples == total
    assert summary.requests > total // 40
    assert sent[-1] == total and sent == sorted(sent)
    assert _remote_graphs(engine.query) == _store_graphs(examples_store)
    _no_staging_left(engine.query)


def test_push_into_one_named_graph_on_virtuoso(virtuoso: Engine, examples_store: Path) -> None:
    with Store(examples_store, read_only=True) as store:
        expected = {ox.Triple(t.subject, t.predicate, t.object) for t in store.graph().triples()}
    for size in ("100000", "25"):  # one request, then staged in batches and moved
        done = ontomap_cli(
            "push", "--store", examples_store, "--endpoint", virtuoso.update,
            "--graph", ONE_GRAPH, "--batch-size", size,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert _remote_graphs(virtuoso.query, ONE_GRAPH) == {ONE_GRAPH: expected}
    _no_staging_left(virtuoso.query)


def test_push_into_one_named_graph(oxigraph: str, examples_store: Path) -> None:
    with Store(examples_store, read_only=True) as store:
        expected = {ox.Triple(t.subject, t.predicate, t.object) for t in store.graph().triples()}
    for size in ("100000", "25"):  # one request, then staged in batches and moved
        done = ontomap_cli(
            "push",
            "--store",
            examples_store,
            "--endpoint",
            oxigraph + "update",
            "--graph",
            ONE_GRAPH,
            "--batch-size",
            size,
        )
        assert done.returncode == 0, done.stderr
        assert f"graph <{ONE_GRAPH}>" in done.stdout
        assert _remote_graphs(oxigraph + "query", ONE_GRAPH) == {ONE_GRAPH: expected}
    _no_staging_left(oxigraph + "query")
    gsp = request(
        f"{oxigraph}store?{urllib.parse.urlencode({'graph': ONE_GRAPH})}",
        headers={"Accept": "application/n-triples"},
    )
    assert gsp.status == 200 and len(gsp.text.splitlines()) == len(expected)


def test_push_from_source_files(oxigraph: str, examples_store: Path) -> None:
    done = ontomap_cli("push", EXAMPLES, "--endpoint", oxigraph + "update", "-q")
    assert done.returncode == 0, done.stderr and done.stdout == ""
    remote = _remote_graphs(oxigraph + "query")
    local = _store_graphs(examples_store)
    assert remote.keys() == local.keys()
    meta = GRAPH_NS + "_meta"
    for name in local:
        if name != meta:  # the bookkeeping graph records the (temporary) source store
            assert remote[name] == local[name], name


def test_push_to_ontomap_serve_with_the_token(
    examples_store: Path, two_models: Path, tmp_path: Path
) -> None:
    target = tmp_path / "target"
    shutil.copytree(two_models, target)
    server: Served = start_ontomap(
        target, "--allow-update", log_dir=tmp_path, env=dict(ENV, ONTOMAP_TOKEN=TOKEN)
    )
    try:
        refused = ontomap_cli("push", "--store", examples_store, "--endpoint", server.update)
        assert refused.returncode == 4 and "refused access" in refused.stderr
        pushed = ontomap_cli(
            "push", "--store", examples_store, "--endpoint", server.update, "--token", TOKEN
        )
        assert pushed.returncode == 0, pushed.stderr
        count = sparql(
            server.query, "SELECT (COUNT(*) AS ?n) WHERE { ?f a oifm:FindingModel }", "text/csv"
        )
        assert count.text.splitlines()[1] == "3"
        lookup = request(server.url + "lookup?code=RID49896")
        assert lookup.status == 200
    finally:
        assert server.stop() == 0
    assert _store_graphs(target) == _store_graphs(examples_store)


def test_a_read_only_server_refuses_a_push(examples_store: Path, tmp_path: Path) -> None:
    server = start_ontomap(examples_store, log_dir=tmp_path)
    try:
        done = ontomap_cli("push", "--store", examples_store, "--endpoint", server.update)
    finally:
        server.stop()
    assert done.returncode == 4 and "read-only" in done.stderr


def test_push_errors(examples_store: Path) -> None:
    unreachable = ontomap_cli(
        "push", "--store", examples_store, "--endpoint", "http://127.0.0.1:9/update"
    )
    assert unreachable.returncode == 4 and "cannot reach" in unreachable.stderr
    not_url = ontomap_cli("push", "--store", examples_store, "--endpoint", "kg/update")
    assert not_url.returncode == 2 and "not an http(s) URL" in not_url.stderr
    both = ontomap_cli("push", EXAMPLES, "--store", examples_store, "--endpoint", "http://x/")
    assert both.returncode == 2
    bad_graph = ontomap_cli(
        "push", "--store", examples_store, "--endpoint", "http://127.0.0.1:9/u", "--graph", "a b"
    )
    assert bad_graph.returncode == 2 and "not an IRI" in bad_graph.stderr
    no_store = ontomap_cli("push", "--store", "/nonexistent/kg", "--endpoint", "http://x/u")
    assert no_store.returncode == 4


def test_push_help_has_examples() -> None:
    done = ontomap_cli("push", "--help")
    assert done.returncode == 0 and "Examples:" in done.stdout and "--atomic" in done.stdout


class _UpdateEndpoint(http.server.BaseHTTPRequestHandler):
    """An update endpoint that fails in the way its path names; counts the updates it gets."""

    stop: threading.Event
    received: list[str]

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.received.append(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())
        kind = self.path.strip("/")
        if kind == "slow":
            self.stop.wait(60)
            return
        heads = {
            "fail": "HTTP/1.0 500 Internal Server Error\r\nContent-Type: text/plain\r\n"
            "Content-Length: 24\r\n\r\nTDB2: transaction failed",
            "cut": "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 99\r\n\r\nUpd",
            "loop": "HTTP/1.0 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n",
            "garbage": "SSH-2.0-OpenSSH_9.6\r\n",
        }
        self.wfile.write(heads[kind].encode())

    do_GET = do_POST  # where a redirect leads


@pytest.fixture(scope="module")
def failing_endpoint() -> Iterator[tuple[str, list[str]]]:
    stop = threading.Event()
    received: list[str] = []
    handler = type("Handler", (_UpdateEndpoint,), {"stop": stop, "received": received})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", received
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("fail", "failed (HTTP 500, text/plain, 24 bytes: 'TDB2: transaction failed')"),
        ("cut", "closed the connection in the middle of its answer"),
        ("loop", "redirects in a loop (HTTP 302 to /loop)"),
        ("garbage", "gave no valid HTTP answer"),
        ("slow", "did not answer within 1 s"),
    ],
)
def test_a_failing_update_endpoint_is_exit_4_in_one_line(
    examples_store: Path, failing_endpoint: tuple[str, list[str]], path: str, says: str
) -> None:
    url, received = failing_endpoint
    before = len(received)
    done = ontomap_cli(
        "push", "--store", examples_store, "--endpoint", url + path, "--timeout", "1", "-q"
    )
    assert done.returncode == 4 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("ontomap: error: ")
    assert says in done.stderr
    assert len(received) > before and received[before].startswith("DROP SILENT GRAPH")


@pytest.mark.parametrize("token", ["two\nlines", "with space", "caf\u00e9", "\udcff"])
def test_a_token_that_cannot_be_sent_is_a_usage_error(examples_store: Path, token: str) -> None:
    env = dict(ENV, ONTOMAP_TOKEN=token)
    for args in ([], ["--token", token]):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "ontomap",
                "push",
                "--store",
                str(examples_store),
                "--endpoint",
                "http://127.0.0.1:9/update",
                *args,
            ],
            env=env if not args else ENV,
            capture_output=True,
            text=True,
            errors="surrogateescape",
            timeout=120,
        )
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert "the token must be printable ASCII" in done.stderr


def test_push_json_summary_counts_what_the_server_got(oxigraph: str, examples_store: Path) -> None:
    done = ontomap_cli(
        "push", "--store", examples_store, "--endpoint", oxigraph + "update", "--json"
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    remote = _remote_graphs(oxigraph + "query")
    assert summary["command"] == "push" and summary["ok"] is True and summary["version"] == 1
    assert summary["graphs"] == len(remote)
    assert summary["triples"] == sum(len(t) for t in remote.values())
    assert summary["requests"] >= 1 and summary["read"] is None
    assert summary["refused"] == 0 and summary["batch_size"] == DEFAULT_BATCH
    assert summary["cleanup"] == "one request"


class _SizeLimit(http.server.BaseHTTPRequestHandler):
    """A proxy in front of an update endpoint that refuses bodies longer than ``limit`` bytes
    with HTTP 413 (as a proxy's body-size limit does) and passes the others on."""

    target: str
    limit: int
    sizes: list[tuple[int, int]]

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if len(body) > self.limit:
            self.sizes.append((len(body), 413))
            text = b"<html><h1>413 Request Entity Too Large</h1></html>"
            self.send_response(413)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)
            return
        forwarded = urllib.request.Request(
            self.target, data=body, headers={"Content-Type": self.headers["Content-Type"]}
        )
        try:
            with urllib.request.urlopen(forwarded, timeout=60) as answer:
                status, text = answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read()
        self.sizes.append((len(body), status))
        self.send_response(status)
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)


@contextlib.contextmanager
def _size_limit(target: str, limit: int) -> Iterator[tuple[str, list[tuple[int, int]]]]:
    sizes: list[tuple[int, int]] = []
    handler = type("Handler", (_SizeLimit,), {"target": target, "limit": limit, "sizes": sizes})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/update", sizes
    finally:
        server.shutdown()
        server.server_close()


def test_requests_refused_as_too_large_are_sent_again_in_halves(
    oxigraph: str, examples_store: Path, two_models: Path
) -> None:
    assert ontomap_cli("push", "--store", two_models, "--endpoint", oxigraph + "update")
    limit = 40_000
    with _size_limit(oxigraph + "update", limit) as (url, sizes):
        done = ontomap_cli("push", "--store", examples_store, "--endpoint", url, "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    refused = [size for size, status in sizes if status == 413]
    assert summary["refused"] == len(refused) >= 1
    assert MIN_BATCH <= summary["batch_size"] < DEFAULT_BATCH
    assert all(size <= limit for size, status in sizes if status != 413)
    assert summary["requests"] == len(sizes) and summary["cleanup"] == "one request"
    assert _remote_graphs(oxigraph + "query") == _store_graphs(examples_store)
    _no_staging_left(oxigraph + "query")
    with _size_limit(oxigraph + "update", limit) as (url, _sizes):
        said = ontomap_cli("push", "--store", examples_store, "--endpoint", url)
    assert said.returncode == 0, said.stderr
    assert f"batches went down from {DEFAULT_BATCH} to " in said.stdout


def test_an_endpoint_refusing_even_the_smallest_batch_is_exit_4(
    oxigraph: str, examples_store: Path
) -> None:
    with _size_limit(oxigraph + "update", 2_000) as (url, sizes):
        done = ontomap_cli("push", "--store", examples_store, "--endpoint", url)
    assert done.returncode == 4 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and "HTTP 413" in done.stderr
    assert f"refused as too large even at {MIN_BATCH} triples per request" in done.stderr
    assert all(status == 413 for _size, status in sizes[:-1])  # the last: dropping staging


def test_too_large_is_told_from_wrong() -> None:
    from ontomap.backends import EndpointError
    from ontomap.push import too_large
    from ontomap.query import QueryError

    virtuoso = "Virtuoso 37000 Error SP030: SPARQL compiler, line 5222: memory exhausted"
    assert too_large(QueryError(f"http://h/sparql refused the request (HTTP 400: {virtuoso})"))
    assert too_large(EndpointError("u", "u failed (HTTP 413, text/html, 9 bytes: 'x')"))
    assert not too_large(QueryError("u refused the request (HTTP 400: syntax error)"))
    quoted = "u refused (HTTP 400: SP029: bad IRI SPARQL query: INSERT DATA { <a> <b> 'too large' }"
    assert not too_large(QueryError(quoted))  # words of the request quoted after the error
    assert not too_large(ValueError("too large"))
