"""``ontomap serve`` against hostile requests, as a real server on loopback.

- Federated queries (SERVICE) in every spelling, over GET, form POST and direct POST, are
  refused with 400, and a listening socket they name receives nothing (also for a fuzzed set
  built by hypothesis);
- requests addressed to a foreign host name answer 421 (DNS rebinding), unless
  ``--allowed-host`` names it;
- over-deep queries answer 400 and no worker dies;
- malformed HTTP (negative or duplicated Content-Length, a body shorter than announced,
  chunked bodies, no Host) answers 4xx at once, never 500, and nothing is printed as a
  traceback.
"""

from __future__ import annotations

import contextlib
import http.client
import shutil
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from conftest import EXAMPLES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from servers import ENV, Answer, Served, ontomap_cli, ontomap_server, request, sparql, start_ontomap
from test_query_safety import DEEP, service_variants

from ontomap.cli.serve import DEFAULT_QUERY_SIZE, DEFAULT_WORKER_MEMORY, Size
from ontomap.query.safety import MAX_NESTING
from ontomap.server import ServerConfig
from ontomap.server.app import BODY_TIMEOUT, MAX_QUERY_BYTES
from ontomap.server.jobs import _squeezed
from ontomap.server.workers import DEFAULT_MEMORY_LIMIT

TOKEN = "test-token-security-0123"
_UPDATE_HEADERS = {"Content-Type": "application/sparql-update", "Authorization": f"Bearer {TOKEN}"}


class Listener:
    """A socket accepting connections on 127.0.0.1 in a thread, counting them: the server
    under test must never connect to it."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(64)
        self.socket.settimeout(0.1)
        self.port = int(self.socket.getsockname()[1])
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sparql"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            connection.close()

    def heard(self, since: int, settle: float = 0.3) -> int:
        """Connections since the count was ``since``, after letting late ones arrive."""
        time.sleep(settle)
        return self.connections - since

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.socket.close()


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    heard = Listener()
    try:
        yield heard
    finally:
        heard.close()


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("security-logs")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("security-kg") / "kg"
    done = ontomap_cli("build", EXAMPLES, "--store", path, "-q")
    assert done.returncode == 0, done.stderr
    return path


@pytest.fixture(scope="module")
def served(store: Path, logs: Path) -> Iterator[Served]:
    """A read-only server on loopback: 10 s timeout, two workers."""
    with ontomap_server(store, "--timeout", "10", "--workers", "2", log_dir=logs) as server:
        yield server


def _send(served: Served, method: str, query: str, timeout: float = 30) -> Answer:
    """``query`` by GET, as a POSTed form, or POSTed directly (application/sparql-query)."""
    if method == "direct":
        return request(
            served.query,
            data=query.encode(),
            headers={"Content-Type": "application/sparql-query"},
            timeout=timeout,
        )
    return sparql(served.query, query, method="GET" if method == "GET" else "POST", timeout=timeout)


def _address(served: Served) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(served.url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def _workers(served: Served) -> set[int]:
    """The server's descendant processes (its workers and their fork server)."""
    found: set[int] = set()
    pending = [served.process.pid]
    while pending:
        pid = pending.pop()
        path = Path(f"/proc/{pid}/task/{pid}/children")
        if not path.exists():
            pytest.skip("needs Linux /proc to list child processes")
        children = [int(child) for child in path.read_text().split()]
        found.update(children)
        pending.extend(children)
    return found


# ------------------------------------------------------------------ SERVICE


def test_the_listener_hears_a_federated_query_run_without_the_check(listener: Listener) -> None:
    # Run by pyoxigraph itself on an empty store, these variants call the listener: among
    # them a comment ended by a carriage return and a quote written as a codepoint escape,
    # which the server refuses because rdflib's parser would read them otherwise.
    variants = service_variants(listener.url)
    names = ("plain", "glued-iri", "base-relative", "prefixed-name", "carriage-return-comment")
    before = listener.connections
    for name in (*names, "escaped-quote"):
        with contextlib.suppress(OSError):  # the listener hangs up at once
            list(ox.Store().query(variants[name]))  # type: ignore[call-overload]
    assert listener.heard(before) == len(names) + 1


@pytest.mark.parametrize("method", ["GET", "form", "direct"])
def test_no_spelling_of_service_reaches_the_listener(
    served: Served, listener: Listener, method: str
) -> None:
    variants = service_variants(listener.url)
    assert len(variants) >= 30
    before = listener.connections
    for name, query in variants.items():
        answer = _send(served, method, query)
        assert answer.status == 400, (name, answer.status, answer.text)
        assert answer.text.startswith("query refused: "), (name, answer.text)
        if name not in ("escaped-quote", "carriage-return-comment"):
            assert "SERVICE" in answer.text and "federated query" in answer.text, name
    assert listener.heard(before) == 0


_KEYWORDS = ["SERVICE", "service", "sErViCe", "\\u0053ERVICE", "SERVIC\\u0045", "\\U00000073ervice"]
_GAPS = ["", " ", "\t", "\n", "\r\n", " # SERVICE <x> {}\n", "#}\n", "   "]
_BEFORE = ["", "?a ?b ?c .", "[ ?q ?o ]", "{ ?a ?b ?c }", "FILTER(true)", "BIND(1 AS ?one)"]
_WRAPPERS = [
    ("OPTIONAL {", "}"),
    ("{ } UNION {", "}"),
    ("MINUS {", "}"),
    ("FILTER EXISTS {", "}"),
    ("FILTER NOT EXISTS {", "}"),
    ("{ SELECT * WHERE {", "} }"),
    ("GRAPH ?g {", "}"),
    ("{", "}"),
]
_FORMS = ["SELECT * WHERE", "ASK", "CONSTRUCT { ?s ?p ?o } WHERE", "DESCRIBE ?s WHERE"]


@st.composite
def _federated(draw: st.DrawFn, url: str) -> str:
    base, _, local = url.rpartition("/")

    def gap() -> str:
        return draw(st.sampled_from(_GAPS))

    target = draw(st.sampled_from([f"<{url}>", f"r:{local}", "?x", f"<{local}>"]))
    before = draw(st.sampled_from(_BEFORE))
    if target == "?x":
        before = f"VALUES ?x {{ <{url}> }} {before}"
    silent = f"SILENT{gap() or ' '}" if draw(st.booleans()) else ""
    pattern = (
        f"{before}{gap()}{draw(st.sampled_from(_KEYWORDS))}{gap()}{silent}{target}{gap()}"
        "{ ?s ?p ?o }"
    )
    for opening, closing in draw(st.lists(st.sampled_from(_WRAPPERS), max_size=3)):
        pattern = f"{opening}{gap()}{pattern}{gap()}{closing}"
    form = draw(st.sampled_from(_FORMS))
    return f"PREFIX r: <{base}/>{gap()}BASE <{base}/>\n{form}{gap()}{{{gap()}{pattern} }}"


@given(data=st.data())
@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
def test_fuzzed_federated_queries_reach_nothing(
    served: Served, listener: Listener, data: st.DataObject
) -> None:
    query = data.draw(_federated(listener.url), label="query")
    method = data.draw(st.sampled_from(["GET", "form", "direct"]), label="method")
    before = listener.connections
    answer = _send(served, method, query)
    assert answer.status == 400, answer.text
    assert listener.heard(before, settle=0.05) == 0


def test_queries_naming_service_harmlessly_run(served: Served) -> None:
    for query in (
        'SELECT ?service WHERE { ?service rdfs:label "SERVICE <http://127.0.0.1:9/> {}" }',
        "SELECT * WHERE { ?s <urn:x:SERVICE> ?o } # SERVICE <http://127.0.0.1:9/> {}",
        "ASK { ?f a oifm:FindingModel }",
    ):
        for method in ("GET", "form", "direct"):
            answer = _send(served, method, query)
            assert answer.status == 200, (query, method, answer.text)


def test_an_update_sent_as_a_query_is_refused_with_403(served: Served) -> None:
    for update in ("LOAD <http://127.0.0.1:9/x.ttl>", "\\u0049NSERT DATA { <urn:a> <urn:b> 1 }"):
        answer = _send(served, "direct", update)
        assert answer.status == 403, answer.text
        assert "updates are not run by the query endpoint" in answer.text


# ------------------------------------------------------------------ DNS rebinding


def _with_host(served: Served, host: str | None, path: str = "/query?query=ASK%7B%7D") -> Answer:
    connection = http.client.HTTPConnection(*_address(served), timeout=30)
    try:
        connection.putrequest("GET", path, skip_host=True)
        if host is not None:
            connection.putheader("Host", host)
        connection.endheaders()
        response = connection.getresponse()
        headers = {k.lower(): v for k, v in response.getheaders()}
        return Answer(response.status, headers, response.read())
    finally:
        connection.close()


@pytest.mark.parametrize(
    "host", ["localhost", "LOCALHOST:7878", "127.0.0.1", "127.0.0.1:1", "[::1]", "[::1]:7878"]
)
def test_loopback_names_are_answered(served: Served, host: str) -> None:
    answer = _with_host(served, host)
    assert answer.status == 200, answer.text


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:7878", "localhost.evil.example", "10.0.0.1", "[fe80::1]"]
)
def test_other_names_answer_421_and_say_how_to_allow_them(served: Served, host: str) -> None:
    answer = _with_host(served, host)
    assert answer.status == 421, answer.text
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host[1:-1]
    assert f"--allowed-host {name}" in answer.text
    assert "DNS rebinding" in answer.text
    assert _with_host(served, host, "/").status == 421  # the page too
    assert _with_host(served, host, "/lookup?code=RID49896").status == 421


def test_a_missing_or_malformed_host_is_400(served: Served) -> None:
    assert _with_host(served, None).status == 400
    assert _with_host(served, "localhost:port").status == 400
    assert _with_host(served, "").status == 400


def test_an_absolute_request_target_is_checked_too(served: Served) -> None:
    target = "/query?query=ASK%7B%7D HTTP/1.1\r\nHost: localhost\r\n\r\n"
    assert _raw(served, f"GET http://evil.example{target}".encode())[0] == 421
    assert _raw(served, f"GET http://localhost:1{target}".encode())[0] == 200
    assert _raw(served, f"GET //evil.example{target}".encode())[0] == 404  # a path


def test_allowed_hosts_are_answered_and_only_them(store: Path, logs: Path) -> None:
    with ontomap_server(
        store,
        "--workers",
        "1",
        "--allowed-host",
        "KG.test",
        "--allowed-host",
        "fe80::1",
        "--worker-memory",
        "512M",
        "--max-query-size",
        "1K",
        log_dir=logs,
    ) as server:
        for host in ("kg.test", "kg.test:8080", "KG.TEST", "[fe80::1]:7878", "localhost"):
            assert _with_host(server, host).status == 200, host
        other = _with_host(server, "other.test")
        assert other.status == 421 and "[::1], [fe80::1], kg.test only" in other.text
        big = "ASK {" + " " * 2000 + "}"
        too_big = _send(server, "form", big)
        assert too_big.status == 413 and "at most 1024" in too_big.text
        assert _send(server, "direct", "ASK {}").status == 200


def test_which_hosts_a_configuration_answers(store: Path) -> None:
    assert ServerConfig(store).host_names == frozenset()
    assert ServerConfig(store, host="0.0.0.0").host_names is None
    assert ServerConfig(store, host="0.0.0.0", allowed_hosts=("A.example",)).host_names == {
        "a.example"
    }
    for bad in ("http://a.example", "a.example:80", "a/b", ""):
        with pytest.raises(ValueError, match="--allowed-host"):
            ServerConfig(store, allowed_hosts=(bad,))


# ------------------------------------------------------------------ nesting


def test_over_deep_queries_answer_400_and_no_worker_dies(served: Served) -> None:
    workers = _workers(served)
    assert workers
    twenty_kb = "ASK { FILTER(" + "(" * 10_000 + "1" + ")" * 10_000 + ") }"
    for method in ("GET", "form", "direct"):
        answer = _send(served, method, twenty_kb)
        assert answer.status == 400 and "nests too deeply" in answer.text, answer.text
    for name, build in DEEP.items():
        answer = _send(served, "direct", build(20_000))
        assert answer.status == 400 and "nests too deeply" in answer.text, (name, answer.text)
    assert sparql(served.query, "ASK { ?f a oifm:FindingModel }").json()["boolean"] is True  # type: ignore[index]
    assert _workers(served) == workers
    assert "starting another one" not in served.log()


def test_an_over_deep_update_is_refused_and_the_writer_lives(
    store: Path, logs: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "kg"
    shutil.copytree(store, copy)
    env = dict(ENV, ONTOMAP_TOKEN=TOKEN)
    server = start_ontomap(copy, "--allow-update", "--workers", "1", log_dir=logs, env=env)
    try:
        deep = "INSERT { <urn:a> <urn:b> ?x } WHERE { BIND(" + "(" * 10_000 + "1" + ")" * 10_000
        answer = request(
            server.update,
            data=(deep + " AS ?x) }").encode(),
            headers={
                "Content-Type": "application/sparql-update",
                "Authorization": f"Bearer {TOKEN}",
            },
        )
        assert answer.status == 400 and "nests too deeply" in answer.text, answer.text
        fine = request(
            server.update,
            data=b"INSERT DATA { GRAPH <urn:g> { <urn:a> <urn:b> 1 } }",
            headers={
                "Content-Type": "application/sparql-update",
                "Authorization": f"Bearer {TOKEN}",
            },
        )
        assert fine.status == 204, fine.text
    finally:
        server.stop()
    assert "died" not in server.log()


# ------------------------------------------------------------------ size and time


def test_a_query_of_8_mib_of_spaces_is_answered_within_the_timeout(served: Served) -> None:
    query = "ASK {" + " " * (MAX_QUERY_BYTES - 1024) + "}"
    started = time.monotonic()
    answer = _send(served, "direct", query, timeout=60)
    took = time.monotonic() - started
    assert answer.status == 200, answer.text
    assert took < 10, f"{took:.1f} s"


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * WHERE {   ?s   ?p ?o . # a comment { ?x ?y ?z }\n\n   ?o ?q ?r }",
        "ASK {\r\n  ?s <http://x/p> ?o # ends here\r\n  FILTER (?o != <http://x/o>)\t\t}",
        "PREFIX x: <http://x/>\n\n\nSELECT ?s { ?s x:p 1 }  # trailing\n",
        "SELECT * {\n  ?s ?p ?o  # two  spaces { ?x ?y ?z }\n  OPTIONAL { ?o ?q ?r } }",
    ],
)
def test_squeezing_spaces_keeps_what_a_query_means(query: str) -> None:
    """The served dataset is chosen from the query with its white space squeezed (rdflib's
    parser is slow on long runs of it): the squeezed query must parse to the same algebra,
    comments ending where they did."""
    from rdflib.plugins.sparql.algebra import translateQuery
    from rdflib.plugins.sparql.parser import parseQuery

    squeezed = _squeezed(query)
    assert "  " not in squeezed and "\n\n" not in squeezed
    assert str(translateQuery(parseQuery(squeezed)).algebra) == str(
        translateQuery(parseQuery(query)).algebra
    )


def test_a_query_too_long_to_check_is_stopped_at_the_timeout(store: Path, logs: Path) -> None:
    dense = "SELECT * { VALUES ?x {" + " 1" * 100_000 + " } }"  # some 40 s of parsing
    with ontomap_server(store, "--timeout", "2", "--workers", "1", log_dir=logs) as server:
        started = time.monotonic()
        answer = _send(server, "direct", dense)
        took = time.monotonic() - started
        assert answer.status == 503 and "stopped after 2 s" in answer.text, answer.text
        assert took < 8, f"{took:.1f} s"
        assert sparql(server.query, "ASK {}", timeout=30).status == 200


def test_a_body_over_the_limit_is_413_before_it_is_sent(served: Served) -> None:
    status, _, body, took = _raw(
        served,
        b"POST /query HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/sparql-query\r\n"
        + f"Content-Length: {MAX_QUERY_BYTES + 1}\r\n\r\n".encode(),
    )
    assert status == 413 and f"at most {MAX_QUERY_BYTES}" in body
    assert took < 3


# ------------------------------------------------------------------ malformed HTTP


def _raw(
    served: Served, data: bytes, wait: float = 30, half_close: bool = False
) -> tuple[int, dict[str, str], str, float]:
    """Send ``data`` on a new connection (then end the sending side when ``half_close``);
    the status, headers and body of the first answer and the seconds it took."""
    started = time.monotonic()
    with socket.create_connection(_address(served), timeout=wait) as connection:
        connection.sendall(data)
        if half_close:
            connection.shutdown(socket.SHUT_WR)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = connection.recv(65536)
            if not chunk:
                break
            received += chunk
        head, _, body = received.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines[1:])
        }
        size = int(headers.get("content-length", "0"))
        while len(body) < size:
            chunk = connection.recv(65536)
            if not chunk:
                break
            body += chunk
    took = time.monotonic() - started
    status = int(lines[0].split()[1]) if lines[0].startswith("HTTP/") else 0
    return status, headers, body.decode(errors="replace"), took


_POST = b"POST /query HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/sparql-query\r\n"


@pytest.mark.parametrize(
    ("data", "status", "says"),
    [
        (_POST + b"Content-Length: -5\r\n\r\nASK {}", 400, "bad Content-Length -5"),
        (_POST + b"Content-Length: +6\r\n\r\nASK {}", 400, "bad Content-Length"),
        (_POST + b"Content-Length: 6, 6\r\n\r\nASK {}", 400, "bad Content-Length"),
        (_POST + b"Content-Length: 6\r\nContent-Length: 7\r\n\r\nASK {}", 400, "6, 7"),
        (_POST + b"Content-Length: 1e3\r\n\r\nASK {}", 400, "bad Content-Length"),
        (_POST + b"Content-Length: 99999999999999999999999\r\n\r\n", 400, "bad Content-Length"),
        (_POST + b"Transfer-Encoding: chunked\r\n\r\n6\r\nASK {}\r\n0\r\n\r\n", 411, "chunked"),
        (
            _POST + b"Transfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\nASK {}",
            411,
            "Content-Length",
        ),
        (b"GET /query?query=ASK%7B%7D HTTP/1.1\r\n\r\n", 400, "Host"),
        (b"GET /query?query=ASK%7B%7D HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "one Host"),
        (b"GARBAGE\r\n\r\n", 400, ""),
        (b"GET / HTTP/1.1\r\nHost: localhost\r\nno colon here\r\n\r\n", 400, ""),
        (b"GET /query?query=%FF%FE HTTP/1.1\r\nHost: localhost\r\n\r\n", 400, "syntax"),
        (b"GET /store?graph=%00 HTTP/1.1\r\nHost: localhost\r\n\r\n", 400, "IRI"),
    ],
)
def test_malformed_requests_answer_4xx_at_once(
    served: Served, data: bytes, status: int, says: str
) -> None:
    got, _, body, took = _raw(served, data)
    assert got == status, body
    assert says in body
    assert took < 3, f"{took:.1f} s"


def test_a_body_shorter_than_its_length_is_400_after_a_few_seconds(served: Served) -> None:
    got, headers, body, took = _raw(served, _POST + b"Content-Length: 100\r\n\r\nASK {}")
    assert got == 400, body
    assert "6 of the 100 bytes" in body
    assert headers.get("connection") == "close"
    assert BODY_TIMEOUT - 0.5 <= took < BODY_TIMEOUT + 3, f"{took:.1f} s"


def test_a_body_that_ends_early_is_400_at_once(served: Served) -> None:
    got, _, body, took = _raw(served, _POST + b"Content-Length: 100\r\n\r\nASK {}", half_close=True)
    assert got == 400 and "6 of the 100 bytes" in body
    assert took < 3, f"{took:.1f} s"


def test_a_get_with_a_body_closes_the_connection(served: Served) -> None:
    got, headers, _, _ = _raw(
        served,
        b"GET /query?query=ASK%7B%7D HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello",
    )
    assert got == 200 and headers.get("connection") == "close"


def test_nothing_was_printed_as_a_traceback(served: Served) -> None:
    # runs after the tests above in this module (pytest keeps the file's order)
    assert "Traceback" not in served.log()
    assert " 500" not in served.log()


# ------------------------------------------------------------------ options


def test_the_size_defaults_are_the_servers() -> None:
    assert Size().convert(DEFAULT_QUERY_SIZE, None, None) == MAX_QUERY_BYTES
    assert Size().convert(DEFAULT_WORKER_MEMORY, None, None) == DEFAULT_MEMORY_LIMIT
    assert Size().convert("1.5K", None, None) == 1536
    assert Size(allow_none=True).convert("none", None, None) is None


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--worker-memory", "lots", "not a size"),
        ("--worker-memory", "100M", "at least 256M"),
        ("--max-query-size", "0", "at least 1 byte"),
        ("--allowed-host", "http://kg.test", "not a host name"),
    ],
)
def test_bad_options_exit_2(store: Path, option: str, value: str, says: str) -> None:
    done = ontomap_cli("serve", "--store", store, "--port", "0", option, value, timeout=60)
    assert done.returncode == 2 and says in done.stderr, done.stderr


def test_the_help_teaches_the_limits_and_refusals() -> None:
    done = ontomap_cli("serve", "--help")
    text = " ".join(done.stdout.split())
    for needle in (
        "--allowed-host NAME",
        "--max-query-size SIZE",
        "--worker-memory SIZE",
        "[default: 8M]",
        "[default: 1G]",
        "421",
        "DNS rebinding",
        "SERVICE",
        f"deeper than {MAX_NESTING} levels",
        f"400 after {BODY_TIMEOUT:g} s",
    ):
        assert needle in text, needle


def test_worker_memory_none_starts(store: Path, logs: Path) -> None:
    with ontomap_server(store, "--workers", "1", "--worker-memory", "none", log_dir=logs) as s:
        assert sparql(s.query, "ASK {}").status == 200


def test_the_server_still_answers_after_all_this(served: Served) -> None:
    assert served.process.poll() is None
    assert sparql(served.query, "ASK { ?f a oifm:FindingModel }").status == 200
