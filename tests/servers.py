"""Real servers on loopback for the tests: ``ontomap serve``, Oxigraph server and Virtuoso.

All are started as subprocesses on free ports and stopped with SIGTERM; nothing is mocked.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(ROOT))
ENV.pop("ONTOMAP_TOKEN", None)
ENV.pop("ONTOMAP_STORE", None)


def oxigraph_binary() -> str:
    """The ``oxigraph`` server program (from ``pip install oxigraph``), or skip the test."""
    beside = Path(sys.executable).parent / "oxigraph"
    found = str(beside) if beside.is_file() else shutil.which("oxigraph")
    if not found:
        pytest.skip("the Oxigraph server is not installed (pip install oxigraph)")
    return found


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Answer:
    """An HTTP answer: status, headers (lower-case names) and body."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def media_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip()

    def json(self) -> object:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


def request(
    url: str,
    *,
    method: str | None = None,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 60,
) -> Answer:
    """Make one HTTP request; error statuses are answers too, not exceptions."""
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            heads = {k.lower(): v for k, v in response.headers.items()}
            return Answer(response.status, heads, response.read())
    except urllib.error.HTTPError as exc:
        heads = {k.lower(): v for k, v in exc.headers.items()}
        return Answer(exc.code, heads, exc.read())


def sparql(
    url: str,
    query: str,
    accept: str = "application/sparql-results+json",
    method: str = "POST",
    timeout: float = 60,
) -> Answer:
    """A SPARQL query to ``url`` (the query endpoint), POSTed as a form or sent by GET."""
    if method == "GET":
        return request(
            f"{url}?{urllib.parse.urlencode({'query': query})}",
            headers={"Accept": accept},
            timeout=timeout,
        )
    return request(
        url,
        data=urllib.parse.urlencode({"query": query}).encode(),
        headers={"Accept": accept, "Content-Type": "application/x-www-form-urlencoded"},
        timeout=timeout,
    )


@dataclass
class Served:
    """A running ``ontomap serve``: its base URL (ending in ``/``) and process."""

    url: str
    process: subprocess.Popen[bytes]
    stderr: Path
    banner: str = ""  # the start line it printed

    @property
    def query(self) -> str:
        return self.url + "query"

    @property
    def update(self) -> str:
        return self.url + "update"

    def log(self) -> str:
        return self.stderr.read_text(errors="replace")

    def stop(self, timeout: float = 15) -> int:
        """SIGTERM, then wait; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode)


def _first_line(process: subprocess.Popen[bytes], timeout: float) -> str:
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    line = b""
    try:
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                return line.decode()
            chunk = os.read(process.stdout.fileno(), 1)
            if not chunk:
                break
            line += chunk
    finally:
        selector.close()
    return line.decode()


def default_sigint() -> None:
    """In a child before it starts: SIGINT as a terminal delivers it (a signal ignored by the
    test process would otherwise stay ignored in every child)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_ontomap(
    store: Path, *args: str, log_dir: Path, env: dict[str, str] | None = None
) -> Served:
    """Start ``ontomap serve --store STORE --port 0 ARGS`` and wait for its URL."""
    log = log_dir / f"serve-{time.monotonic_ns()}.log"
    with log.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "ontomap", "serve", "--store", str(store), "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=err,
            env=env or ENV,
            cwd=ROOT,
            preexec_fn=default_sigint,  # Ctrl-C works whatever the suite's process ignores
        )
    line = _first_line(process, 60)
    if "http://" not in line:
        process.kill()
        process.wait()
        raise RuntimeError(f"ontomap serve did not start: {line!r}\n{log.read_text()}")
    url = line.split("ontomap serve: ", 1)[1].split()[0]
    return Served(url, process, log, line)


@contextlib.contextmanager
def ontomap_server(store: Path, *args: str, log_dir: Path) -> Iterator[Served]:
    """``ontomap serve`` for the duration of a ``with`` block."""
    served = start_ontomap(store, *args, log_dir=log_dir)
    try:
        yield served
    finally:
        served.stop()


@contextlib.contextmanager
def oxigraph_server(location: Path) -> Iterator[str]:
    """An Oxigraph server (union default graph) on a free port; yields its base URL."""
    binary = oxigraph_binary()
    for _attempt in range(3):
        port = free_port()
        process = subprocess.Popen(
            [
                binary,
                "serve",
                "--location",
                str(location),
                "--bind",
                f"127.0.0.1:{port}",
                "--union-default-graph",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(OSError):
                if sparql(url + "query", "ASK {}", timeout=2).status == 200:
                    break
            time.sleep(0.1)
        if process.poll() is None:
            break
    else:  # pragma: no cover - three ports taken in a row
        raise RuntimeError("cannot start the Oxigraph server")
    try:
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def virtuoso_binaries() -> tuple[str, str]:
    """Virtuoso's server and SQL client (Debian's ``virtuoso-opensource``), or skip the test."""
    server, client = shutil.which("virtuoso-t"), shutil.which("isql-vt")
    if not server or not client:
        pytest.skip(
            "Virtuoso is not installed (apt-get install virtuoso-opensource: "
            "virtuoso-t and isql-vt)"
        )
    return server, client


#: The settings ontomap's documentation gives for Virtuoso (docs/engines.md); the SPARQL
#: section keeps Debian's row limit, so that the tests meet answers cut at 10,000 rows.
VIRTUOSO_INI = """\
[Database]
DatabaseFile = {folder}/virtuoso.db
ErrorLogFile = {folder}/virtuoso.log
LockFile = {folder}/virtuoso.lck
TransactionFile = {folder}/virtuoso.trx
xa_persistent_file = {folder}/virtuoso.pxa
[TempDatabase]
DatabaseFile = {folder}/virtuoso-temp.db
TransactionFile = {folder}/virtuoso-temp.trx
[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
DirsAllowed = {folder}
NumberOfBuffers = 20000
MaxDirtyBuffers = 15000
[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {folder}
ServerThreads = 10
[SPARQL]
ResultSetMaxRows = 10000
MaxQueryExecutionTime = 120
"""


#: What lets the anonymous ``/sparql`` endpoint take updates (loopback only!).
VIRTUOSO_GRANT = 'GRANT SPARQL_UPDATE TO "SPARQL";'


@dataclass
class Virtuoso:
    """A running Virtuoso: its SPARQL endpoint (queries and updates) and its folder."""

    sparql: str
    folder: Path

    def log(self) -> str:
        return (self.folder / "virtuoso.log").read_text(errors="replace")


@contextlib.contextmanager
def virtuoso_server(folder: Path) -> Iterator[Virtuoso]:
    """Virtuoso from Debian's package on free loopback ports, its database in ``folder``,
    SPARQL updates granted to the anonymous ``/sparql`` endpoint; stopped with SIGTERM."""
    server, client = virtuoso_binaries()
    folder.mkdir(parents=True, exist_ok=True)
    for _attempt in range(3):
        sql_port, http_port = free_port(), free_port()
        ini = folder / "virtuoso.ini"
        ini.write_text(VIRTUOSO_INI.format(folder=folder, sql_port=sql_port, http_port=http_port))
        process = subprocess.Popen(
            [server, "+foreground", "+configfile", str(ini)],
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{http_port}/sparql"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(OSError):
                if sparql(url, "ASK {}", timeout=2).status == 200:
                    break
            time.sleep(0.2)
        if process.poll() is None:
            break
    else:  # pragma: no cover - three ports taken in a row
        raise RuntimeError(f"cannot start Virtuoso: {(folder / 'virtuoso.log').read_text()}")
    try:
        granted = subprocess.run(
            [client, f"127.0.0.1:{sql_port}", "dba", "dba", f"exec={VIRTUOSO_GRANT}"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert granted.returncode == 0 and "Error" not in granted.stdout, granted.stdout
        yield Virtuoso(url, folder)
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def ontomap_cli(*args: str | Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run ``python -m ontomap ARGS``; the completed process (text output)."""
    return subprocess.run(
        [sys.executable, "-m", "ontomap", *map(str, args)],
        env=ENV,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def descendants(pid: int) -> list[int]:
    """Every process under ``pid``, children and their children (Linux ``/proc``; skips the
    test elsewhere)."""
    if not Path("/proc/self/stat").exists():
        pytest.skip("needs Linux /proc to list processes")
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        below = children.get(todo.pop(), [])
        found += below
        todo += below
    return sorted(found)


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def wait_gone(pids: list[int], timeout: float) -> list[int]:
    """Wait up to ``timeout`` seconds for the processes ``pids`` to end; those still alive."""
    deadline = time.monotonic() + timeout
    while True:
        left = [pid for pid in pids if alive(pid)]
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.05)
