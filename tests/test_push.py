"""``ontomap push`` against real servers: an Oxigraph server (the "existing engine") and
``ontomap serve --allow-update``. Graphs on the server are compared with the store's."""

from __future__ import annotations

import http.server
import json
import shutil
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from conftest import EXAMPLES
from servers import ENV, Served, ontomap_cli, oxigraph_server, request, sparql, start_ontomap

from ontomap.push import push
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


def _store_graphs(path: Path) -> dict[str, set[ox.Triple]]:
    with Store(path, read_only=True) as store:
        out: dict[str, set[ox.Triple]] = {}
        for quad in store.oxigraph:
            out.setdefault(quad.graph_name.value, set()).add(  # type: ignore[union-attr]
                ox.Triple(quad.subject, quad.predicate, quad.object)
            )
        return out


def _remote_graphs(base: str, prefix: str | None = GRAPH_NS) -> dict[str, set[ox.Triple]]:
    answer = sparql(
        base + "query",
        "SELECT ?g ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }",
        accept="application/sparql-results+json",
    )
    assert answer.status == 200, answer.text
    out: dict[str, set[ox.Triple]] = {}
    for g, s, p, o in ox.parse_query_results(answer.body, format=ox.QueryResultsFormat.JSON):  # type: ignore[misc]
        if prefix is None or g.value.startswith(prefix):
            out.setdefault(g.value, set()).add(ox.Triple(s, p, o))
    return out


def _graph_names(base: str) -> set[str]:
    answer = sparql(base + "query", "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
    return {b["g"]["value"] for b in answer.json()["results"]["bindings"]}  # type: ignore[index]


def _no_staging_left(base: str) -> None:
    assert not [g for g in _graph_names(base) if g.startswith("urn:ontomap:push:")]


def test_push_keeps_the_store_layout(oxigraph: str, examples_store: Path) -> None:
    done = ontomap_cli("push", "--store", examples_store, "--endpoint", oxigraph + "update")
    assert done.returncode == 0, done.stderr
    graphs = len(_store_graphs(examples_store))  # a graph per model, codes, bookkeeping...
    assert f"{graphs} graphs" in done.stdout and "3 models" in done.stdout
    assert _remote_graphs(oxigraph) == _store_graphs(examples_store)
    _no_staging_left(oxigraph)


def test_a_second_push_replaces_graphs_and_removes_models_gone(
    oxigraph: str, examples_store: Path, two_models: Path
) -> None:
    assert ontomap_cli("push", "--store", examples_store, "--endpoint", oxigraph + "update")
    done = ontomap_cli("push", "--store", two_models, "--endpoint", oxigraph + "update")
    assert done.returncode == 0, done.stderr
    remote = _remote_graphs(oxigraph)
    assert remote == _store_graphs(two_models)
    assert len([g for g in remote if "/OIFM_" in g]) == 2
    done = ontomap_cli("push", "--store", examples_store, "--endpoint", oxigraph + "update")
    assert _remote_graphs(oxigraph) == _store_graphs(examples_store)


@pytest.mark.parametrize("atomic", [False, True])
def test_small_batches_stage_large_graphs_and_give_the_same_graphs(
    oxigraph: str, examples_store: Path, two_models: Path, atomic: bool
) -> None:
    assert ontomap_cli("push", "--store", two_models, "--endpoint", oxigraph + "update")
    with Store(examples_store, read_only=True) as store:
        sent: list[int] = []
        summary = push(
            store,
            oxigraph + "update",
            batch_size=40,
            atomic=atomic,
            progress=lambda done, total: sent.append(done),
        )
        total = len(store)
    assert summary.graphs == len(_store_graphs(examples_store)) and summary.triples == total
    assert summary.requests > total // 40
    assert sent[-1] == total and sent == sorted(sent)
    assert _remote_graphs(oxigraph) == _store_graphs(examples_store)
    _no_staging_left(oxigraph)


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
        assert _remote_graphs(oxigraph, ONE_GRAPH) == {ONE_GRAPH: expected}
    _no_staging_left(oxigraph)
    gsp = request(
        f"{oxigraph}store?{urllib.parse.urlencode({'graph': ONE_GRAPH})}",
        headers={"Accept": "application/n-triples"},
    )
    assert gsp.status == 200 and len(gsp.text.splitlines()) == len(expected)


def test_push_from_source_files(oxigraph: str, examples_store: Path) -> None:
    done = ontomap_cli("push", EXAMPLES, "--endpoint", oxigraph + "update", "-q")
    assert done.returncode == 0, done.stderr and done.stdout == ""
    remote = _remote_graphs(oxigraph)
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
    remote = _remote_graphs(oxigraph)
    assert summary["command"] == "push" and summary["ok"] is True and summary["version"] == 1
    assert summary["graphs"] == len(remote)
    assert summary["triples"] == sum(len(t) for t in remote.values())
    assert summary["requests"] >= 1 and summary["read"] is None
