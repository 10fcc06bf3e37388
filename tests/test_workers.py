"""The query workers of ``ontomap serve``: they die with the server (even one killed with
SIGKILL), stay within a memory limit, cannot reach the network, take waiting requests in
arrival order, and move to a new store generation all together, never back to an older one.
Real processes, real stores, real servers; every wait is bounded."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import EXAMPLES
from servers import (
    ENV,
    descendants,
    ontomap_cli,
    ontomap_server,
    request,
    sparql,
    start_ontomap,
    wait_gone,
)

from ontomap.crosswalk import CrosswalkReader
from ontomap.graph import CROSSWALK_GRAPH
from ontomap.model import IndexCode
from ontomap.server.jobs import QueryJob
from ontomap.server.workers import DEFAULT_MEMORY_LIMIT, QUEUE_PER_WORKER, WorkerPool
from ontomap.store import Store, current_generation

#: Minutes of CPU on the examples store (a three-way cross join).
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
#: A few seconds on the examples store (three million rows of a three-way cross join).
BRIEF = """SELECT (COUNT(*) AS ?n)
WHERE { { SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } LIMIT 3000000 } }"""
#: Ever more memory: every combination of three quads, all kept to be sorted.
GREEDY = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY ?c ?f ?i"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?f a oifm:FindingModel }"
TOKEN = "test-token-0123456789"
MB = 2**20


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("worker-logs")


@pytest.fixture(scope="module")
def examples_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("examples-kg") / "kg"
    done = ontomap_cli("build", EXAMPLES, "--store", path, "-q")
    assert done.returncode == 0, done.stderr
    return path


@contextlib.contextmanager
def pool(
    store: Path,
    size: int = 1,
    timeout: float = 10.0,
    memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
) -> Iterator[tuple[WorkerPool, list[str]]]:
    """A started pool on ``store`` and the lines it logs."""
    messages: list[str] = []
    workers = WorkerPool(store, size, timeout, 1000, log=messages.append, memory_limit=memory_limit)
    workers.start()
    try:
        yield workers, messages
    finally:
        workers.close()


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _data_limit(pid: int) -> int | None:
    """The process's ``RLIMIT_DATA`` (soft) from ``/proc``; ``None`` when unlimited."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max data size"):
            soft = line.split()[3]
            return None if soft == "unlimited" else int(soft)
    raise AssertionError("no 'Max data size' in /proc/PID/limits")


def _quietly(query_url: str, text: str, timeout: float) -> None:
    with contextlib.suppress(OSError):
        sparql(query_url, text, timeout=timeout)


# ------------------------------------------------------------------ dying with the server


def test_workers_die_with_a_server_killed_by_sigkill(examples_store: Path, logs: Path) -> None:
    server = start_ontomap(examples_store, "--workers", "2", "--timeout", "120", log_dir=logs)
    try:
        assert sparql(server.query, "ASK {}").status == 200
        below = descendants(server.process.pid)
        assert len(below) >= 3, below  # the fork server and two workers at least
        before = {pid: _cpu_seconds(pid) for pid in below}
        threading.Thread(
            target=_quietly, args=(server.query, SLOW, 30), name="slow client", daemon=True
        ).start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # until a worker is busy with the cross join
            if any(_cpu_seconds(pid) - before[pid] > 0.3 for pid in below):
                break
            time.sleep(0.05)
        else:
            pytest.fail("no worker started the slow query")
        server.process.kill()
        server.process.wait(10)
        assert wait_gone(below, 5) == [], "workers outlived the server"
    finally:
        server.stop()


def test_the_start_line_counts_its_workers_in_words(examples_store: Path, logs: Path) -> None:
    for workers, said in (("1", "1 worker,"), ("2", "2 workers,")):
        server = start_ontomap(examples_store, "--workers", workers, log_dir=logs)
        try:
            assert said in server.banner, server.banner
        finally:
            server.stop()


# ------------------------------------------------------------------ memory


def test_a_query_over_the_memory_limit_answers_507_and_the_server_goes_on(
    examples_store: Path, logs: Path
) -> None:
    limit = 256 * MB
    with ontomap_server(
        examples_store, "--workers", "2", "--timeout", "60", "--worker-memory", "256M", log_dir=logs
    ) as server:
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.wait(0.05):
                for pid in descendants(server.process.pid):
                    peak = max(peak, _rss(pid))

        sampler = threading.Thread(target=sample, name="memory sampler")
        sampler.start()
        started = time.monotonic()
        try:
            greedy = sparql(server.query, GREEDY, accept="text/csv", timeout=90)
        finally:
            done.set()
            sampler.join()
        took = time.monotonic() - started
        assert greedy.status == 507, greedy.text
        assert "needed more than 256 MB" in greedy.text
        assert took < 55, "stopped by the timeout, not by the memory limit"
        # The sampler looks every 50 ms, and the worker dies as soon as an allocation passes its
        # data limit, so the last sample it sees may be well below the limit (129 MB of 256 MB
        # seen): the lower bound shows the query really grew, the upper one that the limit held.
        assert limit // 4 < peak < limit + 128 * MB, peak
        after = sparql(server.query, COUNT, accept="text/csv")
        assert after.status == 200 and after.text.splitlines()[1] == "3"
        assert "ran out of memory" in server.log()


def test_each_reader_gets_the_memory_limit_of_its_pool(examples_store: Path) -> None:
    with pool(examples_store) as (workers, _):
        assert [_data_limit(pid) for pid in workers.pids] == [DEFAULT_MEMORY_LIMIT]
    with pool(examples_store, memory_limit=None) as (workers, _):
        assert [_data_limit(pid) for pid in workers.pids] == [None]
    with pool(examples_store, memory_limit=256 * MB) as (workers, messages):
        (first,) = workers.pids
        assert _data_limit(first) == 256 * MB
        greedy = workers.run(QueryJob(GREEDY, accept="text/csv"))
        assert greedy.status == 507 and "needed more than 256 MB" in greedy.body.decode()
        after = workers.run(QueryJob(COUNT, accept="text/csv"))
        assert after.status == 200 and after.body.splitlines()[1] == b"3"
        assert first not in workers.pids
        assert any("ran out of memory (limit 256 MB)" in line for line in messages)
    with pytest.raises(ValueError, match="positive"):
        WorkerPool(examples_store, 1, 10, 10, memory_limit=0)


# ------------------------------------------------------------------ network


#: Run by a new process: join the network namespace (and user namespace, if another) of
#: process ARGV[1], then make a federated query to the SPARQL endpoint at ARGV[2].
PROBE = """
import ctypes, os, sys
pid, endpoint = sys.argv[1], sys.argv[2]
libc = ctypes.CDLL(None, use_errno=True)
for kind, flag in (("user", 0x10000000), ("net", 0x40000000)):
    theirs = f"/proc/{pid}/ns/{kind}"
    if os.stat(theirs).st_ino != os.stat(f"/proc/self/ns/{kind}").st_ino:
        if libc.setns(os.open(theirs, os.O_RDONLY), flag) != 0:
            sys.exit(f"setns {kind}: {os.strerror(ctypes.get_errno())}")
import pyoxigraph
query = "SELECT * WHERE { SERVICE <%s> { ?s ?p ?o } }" % endpoint
try:
    list(pyoxigraph.Store().query(query))
except OSError as exc:
    print(exc)
"""


def test_readers_reach_no_network_even_with_service(examples_store: Path) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    accepted: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _address = listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(2)
                with contextlib.suppress(OSError):
                    accepted.append(connection.recv(4096))

    def probe(pid: int) -> str:
        done = subprocess.run(
            [sys.executable, "-c", PROBE, str(pid), endpoint],
            capture_output=True,
            text=True,
            timeout=60,
            env=ENV,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    acceptor = threading.Thread(target=accept, name="listener")
    acceptor.start()
    endpoint = f"http://127.0.0.1:{listener.getsockname()[1]}/sparql"
    try:
        probe(os.getpid())  # from this process's network, the federated query does connect
        deadline = time.monotonic() + 5
        while not accepted and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(accepted) == 1 and b"SELECT" in accepted[0]
        with pool(examples_store) as (workers, messages):
            if workers.network_problem is not None:
                assert any("blocked by the query parser only" in line for line in messages)
                pytest.skip(
                    f"the kernel refuses a network namespace here ({workers.network_problem})"
                )
            (reader,) = workers.pids
            assert os.stat(f"/proc/{reader}/ns/net").st_ino != os.stat("/proc/self/ns/net").st_ino
            # The same query from inside the reader's network: nothing to reach.
            assert "unreachable" in probe(reader).lower()
            # And sent to the pool as a job, it is refused, or fails there the same way.
            answer = workers.run(
                QueryJob(f"SELECT * WHERE {{ SERVICE <{endpoint}> {{ ?s ?p ?o }} }}")
            )
            assert answer.status in (400, 500), answer
            time.sleep(0.5)
        assert len(accepted) == 1, "something in a query worker's network reached the listener"
    finally:
        stop.set()
        acceptor.join()
        listener.close()


# ------------------------------------------------------------------ waiting for a worker


def test_waiting_requests_are_served_in_arrival_order(examples_store: Path) -> None:
    with pool(examples_store, size=1, timeout=1.5) as (workers, _):
        answers: dict[int, bytes] = {}

        def ask(n: int) -> None:
            answer = workers.run(QueryJob("SELECT (STR(NOW()) AS ?t) {}", accept="text/csv"))
            assert answer.status == 200
            answers[n] = answer.body.splitlines()[1]

        slow = threading.Thread(target=workers.run, args=(QueryJob(SLOW),))
        slow.start()
        time.sleep(0.9)  # the waiting come late, so a loaded machine restarts the worker in time
        threads = []
        for n in range(6):
            threads.append(threading.Thread(target=ask, args=(n,)))
            threads[-1].start()
            time.sleep(0.05)
        for thread in [slow, *threads]:
            thread.join(30)
    assert len(answers) == 6
    evaluated = sorted(range(6), key=lambda n: answers[n])  # the time each job ran
    assert evaluated == list(range(6))


def test_a_full_queue_answers_503_at_once_and_the_waiting_are_served(
    examples_store: Path,
) -> None:
    with pool(examples_store, size=1, timeout=30) as (workers, _):
        statuses: list[int] = []
        busy = threading.Thread(target=workers.run, args=(QueryJob(BRIEF),))
        busy.start()
        time.sleep(0.2)
        waiting = [
            threading.Thread(target=lambda: statuses.append(workers.run(QueryJob("ASK {}")).status))
            for _ in range(QUEUE_PER_WORKER)
        ]
        for thread in waiting:
            thread.start()
        deadline = time.monotonic() + 10
        while workers.waiting < QUEUE_PER_WORKER and time.monotonic() < deadline:
            time.sleep(0.01)
        assert workers.waiting == QUEUE_PER_WORKER, "the brief query ended too soon"
        started = time.monotonic()
        extra = workers.run(QueryJob("ASK {}"))
        assert time.monotonic() - started < 0.5
        assert extra.status == 503 and b"already waiting" in extra.body
        assert ("Retry-After", "1") in extra.headers
        for thread in [busy, *waiting]:
            thread.join(30)
    assert statuses == [200] * QUEUE_PER_WORKER


# ------------------------------------------------------------------ generations


def _count(url: str) -> int:
    answer = sparql(url, COUNT, accept="text/csv", timeout=30)
    assert answer.status == 200, answer.text
    return int(answer.text.splitlines()[1])


def _held(store: Path, generation: str) -> bool:
    """Whether some reader still holds ``generation`` (its lock taken shared)."""
    lock = store / "generations" / f"{generation}.lock"
    if not lock.exists():
        return False
    fd = os.open(lock, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def _count_in(store: Path) -> int:
    with Store(store, read_only=True) as opened:
        return len(opened.model_ids())


def _serve_through_builds(store: Path, builds: list[Path], logs: Path) -> list[int]:
    """Serve ``store`` while ``ontomap build`` loads each of ``builds`` into it, and two
    clients count the findings all along: each must see every build's count, and the counts
    only go up. Returns the count after each build."""
    seen: list[list[int]] = [[], []]
    failures: list[str] = []
    counts = [_count_in(store)]
    stop = threading.Event()
    with ontomap_server(store, "--workers", "2", log_dir=logs) as server:

        def client(mine: list[int]) -> None:
            while not stop.is_set():
                try:
                    mine.append(_count(server.query))
                except (AssertionError, OSError) as exc:
                    failures.append(repr(exc))

        clients = [threading.Thread(target=client, args=(mine,)) for mine in seen]
        for thread in clients:
            thread.start()
        try:
            for source in builds:
                done = ontomap_cli("build", source, "--store", store, "-q", timeout=300)
                assert done.returncode in (0, 1), done.stderr
                generation, count = current_generation(store), _count_in(store)
                counts.append(count)
                line = f"serving generation {generation} ({count} model"
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline and line not in server.log():
                    time.sleep(0.05)
                assert line in server.log()
                while time.monotonic() < deadline and not all(
                    mine and mine[-1] == count for mine in seen
                ):
                    time.sleep(0.05)
                assert all(mine[-1] == count for mine in seen), (count, [m[-5:] for m in seen])
        finally:
            stop.set()
            for thread in clients:
                thread.join(60)
    assert not failures, failures[:3]
    for mine in seen:
        assert mine == sorted(mine), "a client saw the store go back to an older generation"
        assert set(mine) <= set(counts)
    last = current_generation(store)
    assert last is not None
    older = [f"{n:06d}" for n in range(1, int(last))]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_held(store, name) for name in older):
        time.sleep(0.05)
    assert not any(_held(store, name) for name in older), "old generations still held"
    return counts[1:]


def test_builds_while_serving_switch_all_workers_together(tmp_path: Path, logs: Path) -> None:
    models = sorted(EXAMPLES.iterdir())
    assert len(models) == 3
    store = tmp_path / "kg"
    done = ontomap_cli("build", models[0], "--store", store, "-q")
    assert done.returncode == 0, done.stderr
    # a model each time, then the same model again (a new generation, the same count)
    assert _serve_through_builds(store, [models[1], models[2], models[2]], logs) == [2, 3, 3]


def test_corpus_builds_while_serving_switch_all_workers_together(
    corpus_defs: Path, tmp_path: Path, logs: Path
) -> None:
    files = sorted(corpus_defs.iterdir())
    folders = []
    for n in range(4):
        folder = tmp_path / f"part{n}"
        folder.mkdir()
        for file in files[n * 300 : (n + 1) * 300]:
            shutil.copy(file, folder)
        folders.append(folder)
    store = tmp_path / "kg"
    done = ontomap_cli("build", folders[0], "--store", store, "-q", timeout=300)
    assert done.returncode in (0, 1), done.stderr
    counts = _serve_through_builds(store, folders[1:], logs)
    assert counts == sorted(counts) and counts[-1] > counts[0] > _count_in(store) // 4


def test_a_store_deleted_and_built_again_is_served_anew(tmp_path: Path, logs: Path) -> None:
    store = tmp_path / "kg"
    done = ontomap_cli("build", EXAMPLES, "--store", store, "-q")
    assert done.returncode == 0, done.stderr
    with ontomap_server(store, "--workers", "2", log_dir=logs) as server:
        assert _count(server.query) == 3
        shutil.rmtree(store)
        one = sorted(EXAMPLES.iterdir())[0]
        done = ontomap_cli("build", one, "--store", store, "-q")
        assert done.returncode == 0, done.stderr
        assert current_generation(store) == "000001"  # the same name as the one served
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _count(server.query) != 1:
            time.sleep(0.1)
        assert [_count(server.query) for _ in range(5)] == [1] * 5
        assert server.log().count("serving generation 000001 (") == 2


# ------------------------------------------------------------------ updates


def _update(url: str, text: str) -> int:
    return request(
        url,
        data=urllib.parse.urlencode({"update": text}).encode(),
        headers={
            "Authorization": f"Bearer {TOKEN}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    ).status


def test_an_update_is_a_new_generation_served_before_the_answer(
    examples_store: Path, tmp_path: Path, logs: Path
) -> None:
    store = tmp_path / "kg"
    shutil.copytree(examples_store, store)
    before = current_generation(store)
    assert before is not None
    env = dict(ENV, ONTOMAP_TOKEN=TOKEN)
    server = start_ontomap(store, "--allow-update", "--workers", "2", log_dir=logs, env=env)
    try:
        assert _update(server.update, "INSERT DATA { oops }") == 400
        assert current_generation(store) == before, "a failed update left a generation"
        for n in range(3):  # each answer comes after the readers serve the new generation
            insert = f"INSERT DATA {{ GRAPH <urn:x:g> {{ <urn:x:s{n}> rdfs:label 'x' }} }}"
            assert _update(server.update, insert) == 204
            ask = sparql(server.query, f"ASK {{ <urn:x:s{n}> rdfs:label 'x' }}")
            assert ask.json()["boolean"] is True  # type: ignore[index]
        after = current_generation(store)
        assert after is not None and int(after) == int(before) + 3
        assert f"serving generation {after} (3 models)" in server.log()
        other = Store(store)  # another process writing the store: the update must wait
        try:
            refused = _update(server.update, "INSERT DATA { <urn:x:late> rdfs:label 'x' }")
        finally:
            other.abort()
        assert refused == 503
        assert current_generation(store) == after
    finally:
        assert server.stop() == 0


def test_an_update_recomputes_the_crosswalk_of_its_generation(
    examples_store: Path, tmp_path: Path, logs: Path
) -> None:
    """The crosswalk graph is derived from the models: an update that removes the only SNOMED
    code paired with RADLEX RID5791 leaves no such pairing in the generation it makes."""
    store = tmp_path / "kg"
    shutil.copytree(examples_store, store)
    rid5791, sct = IndexCode.of("RADLEX", "RID5791"), IndexCode.of("SNOMED", "263768009")
    paired = (
        f"ASK {{ GRAPH <{CROSSWALK_GRAPH.value}> {{ ?pairing oifm:firstCode <{rid5791.iri}> ; "
        f"oifm:secondCode <{sct.iri}> }} }}"
    )
    env = dict(ENV, ONTOMAP_TOKEN=TOKEN)
    server = start_ontomap(store, "--allow-update", "--workers", "2", log_dir=logs, env=env)
    try:
        assert sparql(server.query, paired).json()["boolean"] is True  # type: ignore[index]
        delete = f"DELETE WHERE {{ GRAPH ?g {{ ?node oifm:hasIndexCode <{sct.iri}> }} }}"
        assert _update(server.update, delete) == 204
        assert sparql(server.query, paired).json()["boolean"] is False  # type: ignore[index]
    finally:
        assert server.stop() == 0
    with Store(store, read_only=True) as updated:
        found = CrosswalkReader(updated).code(rid5791, to="SNOMED")
    assert found is not None and found.pairs == ()
