"""Load check of ``ontomap serve`` on the full corpus store; prints a Markdown table.

    python benchmarks/bench_serve.py [--store PATH] [--corpus DEFS] [--clients 20,50]
                                     [--duration 20] [--runs 3] [--timeout 10] [--workers N]
                                     [--compare DIR]

1. Builds a store from the corpus JSON (or reuses ``--store`` when it holds models) and starts
   ``ontomap serve`` on it (a subprocess on a free loopback port).
2. For each number of ``--clients`` (default 20, then 50), two phases of ``--duration``
   seconds: the clients alone, then the same clients and one *hostile* client sending a cross
   join with ORDER BY over and over (it needs ever more memory and CPU until its worker is
   stopped, by the memory limit or by the timeout). A client is a thread with one keep-alive
   connection issuing a mix of ``/lookup`` of codes sampled from the store (RADLEX:RID5791
   among them) and named queries with parameters (bound by a VALUES block, as
   ``ontomap query --endpoint`` does).
3. Per phase: throughput (answers 200 per second), p50 and p99 latency of the clients'
   requests (every answer counted, 503s included), the share of them answered 503, and of
   them answered 503 "busy" (no worker free in time; the other 503s are queries stopped at
   the timeout), the largest RSS of any process under the server (sampled every 0.1 s: the
   workers), and what the hostile query was answered.
4. ``--runs`` repeats it all; the table gives the median and the range over the runs.
   ``--compare DIR`` also measures another copy of ontomap (``git archive REV | tar -x -C
   DIR``) in the same runs: both servers run side by side and take turns phase by phase; a
   copy from before store generations is served the current generation's database folder.
5. ``--workload top-lookups`` replaces the mix by ``/lookup`` of the 20 most used codes
   (RADLEX:RID28473, 2,203 uses, among them), default page of uses; ``--no-hostile`` skips the
   phases with the hostile query; ``--pool-check`` first times the worker pool without HTTP (a
   round trip to a worker, lookups computed by the workers, lookups from the answer cache), to
   tell where a lookup's time goes.

Targets: with 50 clients and the hostile query, at most 1 % of the clients' requests answered
503; the hostile query stopped every time (503 or 507); no worker much above its memory limit.
With ``--workload top-lookups --clients 20``: at least 500 lookups/s, p99 at most 100 ms.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ontomap.backends import bind_values  # noqa: E402
from ontomap.generations import current_generation, generation_dir  # noqa: E402
from ontomap.lookup import code_from_iri  # noqa: E402
from ontomap.query import PARAM_TYPES, named_queries  # noqa: E402
from ontomap.server.workers import DEFAULT_MEMORY_LIMIT  # noqa: E402
from ontomap.store import Store, is_store  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "findingmodels" / "defs"
DEFAULT_STORE = Path("/tmp/ontomap-bench-kg")
#: The hostile query: every pair of quads, sorted (Oxigraph keeps them all in memory to sort).
HOSTILE_QUERY = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f } ORDER BY ?c ?f"
#: Seconds between two samples of the workers' memory.
SAMPLE_EVERY = 0.1


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def ensure_store(path: Path, corpus: Path) -> Path:
    if is_store(path):
        with Store(path, read_only=True) as store:
            if store.model_ids():
                return path
    print(f"building {path} from {corpus} ...", file=sys.stderr)
    done = subprocess.run(
        [sys.executable, "-m", "ontomap", "build", str(corpus), "--store", str(path), "-q"],
        cwd=ROOT,
    )
    if done.returncode not in (0, 1):
        sys.exit(f"cannot build the store (exit {done.returncode})")
    return path


@dataclass(frozen=True)
class Call:
    """One request of the mix: its kind (for the tables), method, path and body."""

    kind: str
    method: str
    path: str
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()


def top_codes(store_path: Path, count: int) -> list[str]:
    """The ``count`` codes with the most uses (ties by CURIE), from the crosswalk graph."""
    from ontomap.crosswalk import CrosswalkReader

    with Store(store_path, read_only=True) as store:
        usages = CrosswalkReader(store).crosswalk().usages.values()
        ranked = sorted(usages, key=lambda u: (-len(u.used_by), u.code.curie))
    return [usage.code.curie for usage in ranked[:count]]


def top_lookups(store_path: Path, count: int = 20) -> list[Call]:
    """``/lookup`` of the ``count`` most used codes, with the default page of uses."""
    return [
        Call("lookup", "GET", "/lookup?" + urllib.parse.urlencode({"code": code}))
        for code in top_codes(store_path, count)
    ]


def _hammer(
    run: Callable[[object], object], jobs: list, clients: int, duration: float
) -> tuple[list[float], float]:
    """``clients`` threads calling ``run`` on ``jobs`` in turn for ``duration`` seconds: the
    latencies and the seconds taken."""
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + duration

    def call(n: int) -> None:
        while time.monotonic() < stop:
            started = time.perf_counter()
            run(jobs[n % len(jobs)])
            with lock:
                latencies.append(time.perf_counter() - started)
            n += 1

    threads = [threading.Thread(target=call, args=(n,)) for n in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, time.monotonic() - started


def pool_check(store_path: Path, clients: int, duration: float, workers: int | None) -> None:
    """Where a lookup's time goes, without HTTP: ``clients`` threads call the worker pool
    directly for ``duration`` seconds each, (1) a job that costs the worker next to nothing
    (an unused code: the round trip to a worker and back), (2) the most used codes computed by
    the workers (no answer cache), (3) the same from the answer cache."""
    from ontomap.server import default_workers
    from ontomap.server.jobs import LookupJob
    from ontomap.server.workers import ANSWER_CACHE_BYTES, WorkerPool

    size = workers or default_workers()
    top = [LookupJob(code) for code in top_codes(store_path, 20)]
    rows = []
    for label, jobs, cache in (
        ("round trip of a trivial job (unused code, 404)", [LookupJob("RADLEX:RID1")], 0),
        ("the 20 most used codes, computed by the workers", top, 0),
        ("the 20 most used codes, from the answer cache", top, ANSWER_CACHE_BYTES),
    ):
        pool = WorkerPool(
            store_path, size, 10.0, 100_000, log=lambda _m: None, answer_cache_bytes=cache
        )
        pool.start()
        try:
            for job in jobs:
                pool.run(job)
            latencies, seconds = _hammer(pool.run, jobs, clients, duration)
        finally:
            pool.close()
        rows.append(
            [
                label,
                f"{len(latencies) / seconds:.0f}",
                ms(percentile(latencies, 0.5)),
                ms(percentile(latencies, 0.99)),
            ]
        )
    print(
        f"## The worker pool without HTTP ({size} workers, {clients} threads, "
        f"{duration:g} s each)\n"
    )
    print(table(rows, ["jobs", "answers/s", "p50", "p99"]))
    print()


def workload(store_path: Path, seed: int = 7) -> list[Call]:
    """Lookups of codes sampled from the store and named queries with parameters."""
    rng = random.Random(seed)
    with Store(store_path, read_only=True) as store:
        database = store.oxigraph
        rows = database.query(
            "SELECT DISTINCT ?c WHERE { GRAPH ?g "
            "{ ?n <https://w3id.org/ontomap/oifm#hasIndexCode> ?c } }"
        )
        codes = sorted(
            code.curie
            for (c,) in rows
            if (code := code_from_iri(c.value)) is not None  # type: ignore[misc]
        )
        findings = store.model_ids()
    sample = ["RADLEX:RID5791", "SNOMED:263768009", *rng.sample(codes, 38)]
    calls = [
        Call("lookup", "GET", "/lookup?" + urllib.parse.urlencode({"code": code}))
        for code in sample
    ]
    queries = named_queries()

    def query(name: str, **params: str) -> Call:
        named = queries[name]
        bound = {
            p.name: PARAM_TYPES[p.type](params[p.name]) for p in named.params if p.name in params
        }
        text = bind_values(named.text, bound)
        return Call(
            f"query {name}",
            "POST",
            "/query",
            urllib.parse.urlencode({"query": text}).encode(),
            (
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Accept", "application/sparql-results+json"),
            ),
        )

    for code in sample[:10]:
        calls.append(query("findings-with-code", code=code))
    for finding in rng.sample(findings, 20):
        calls.append(query("codes-of-finding", finding=finding))
    for tag in ("chest", "CT", "liver", "MR", "neuro"):
        calls.append(query("findings-by-tag", tag=tag))
    calls.append(query("code-systems"))
    calls.append(query("code-pairs", source="RADLEX", target="SNOMED"))
    return calls


@dataclass
class Phase:
    """What one phase measured."""

    ok: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    hostile: Counter[int] = field(default_factory=Counter)
    #: 503 answers saying "busy" (no worker free in time), not "stopped" (the timeout).
    busy: int = 0
    max_rss: int = 0
    #: Per kind of request (``lookup``, ``query``): each answer's status and seconds.
    kinds: defaultdict[str, list[tuple[int, float]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, hostile: bool, status: int, seconds: float, body: bytes, kind: str = "") -> None:
        with self.lock:
            if hostile:
                self.hostile[status] += 1
                return
            self.latencies.append(seconds)
            self.kinds[kind.split()[0]].append((status, seconds))
            self.statuses[status] += 1
            self.busy += status == 503 and b"busy" in body[:40]

    @property
    def throughput(self) -> float:
        return self.statuses[200] / self.seconds if self.seconds else float("nan")

    @property
    def unavailable_share(self) -> float:
        total = sum(self.statuses.values())
        return self.statuses[503] / total if total else float("nan")

    @property
    def busy_share(self) -> float:
        total = sum(self.statuses.values())
        return self.busy / total if total else float("nan")

    @property
    def other_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status not in (200, 503))


def client(
    host: str, port: int, calls: list[Call], stop: float, phase: Phase, seed: int, hostile: bool
) -> None:
    rng = random.Random(seed)
    connection = http.client.HTTPConnection(host, port, timeout=120)
    while time.monotonic() < stop:
        call = rng.choice(calls)
        started = time.perf_counter()
        try:
            connection.request(call.method, call.path, body=call.body, headers=dict(call.headers))
            response = connection.getresponse()
            body = response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            status, body = 0, b""
            connection.close()
            connection = http.client.HTTPConnection(host, port, timeout=120)
        phase.add(hostile, status, time.perf_counter() - started, body, call.kind)
    connection.close()


def descendants(pid: int) -> list[int]:
    """Every process under ``pid`` (Linux ``/proc``), the workers among them."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            children[int(stat.rsplit(")", 1)[1].split()[1])].append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def rss(pid: int) -> int:
    """A process's resident set size in bytes (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def sample_memory(server: int, phase: Phase, stop: threading.Event) -> None:
    while not stop.wait(SAMPLE_EVERY):
        for pid in descendants(server):
            phase.max_rss = max(phase.max_rss, rss(pid))


def run_phase(
    server: subprocess.Popen[bytes],
    url: str,
    calls: list[Call],
    clients: int,
    duration: float,
    hostile: bool,
) -> Phase:
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    phase = Phase()
    stop = time.monotonic() + duration
    threads = [
        threading.Thread(target=client, args=(host, port, calls, stop, phase, n, False))
        for n in range(clients)
    ]
    if hostile:
        body = urllib.parse.urlencode({"query": HOSTILE_QUERY}).encode()
        call = Call(
            "hostile", "POST", "/query", body, (("Content-Type", _FORM), ("Accept", "text/csv"))
        )
        threads.append(
            threading.Thread(target=client, args=(host, port, [call], stop, phase, 99, True))
        )
    done = threading.Event()
    sampler = threading.Thread(target=sample_memory, args=(server.pid, phase, done))
    sampler.start()
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    phase.seconds = time.monotonic() - started
    done.set()
    sampler.join()
    return phase


_FORM = "application/x-www-form-urlencoded"
#: A phase of the table: the code measured, the number of clients, with the hostile query.
Key = tuple[str, int, bool]


@dataclass(frozen=True)
class Code:
    """A copy of ontomap to measure: its folder and the store folder its server is given."""

    label: str
    root: Path
    store: Path


def code_for(label: str, root: Path, store: Path) -> Code:
    if (root / "ontomap" / "generations.py").is_file():
        return Code(label, root, store)
    name = current_generation(store)  # a copy from before generations: the database itself
    return Code(label, root, generation_dir(store, name) if name else store)


def start_server(
    code: Code, timeout: float, workers: int | None, log: Path
) -> tuple[subprocess.Popen[bytes], str]:
    args = [sys.executable, "-m", "ontomap", "serve", "--store", str(code.store), "--port", "0"]
    args += ["--timeout", str(timeout)]
    if workers:
        args += ["--workers", str(workers)]
    env = dict(os.environ, PYTHONPATH=str(code.root))
    env.pop("ONTOMAP_STORE", None)
    with log.open("wb") as err:
        process = subprocess.Popen(args, cwd=code.root, stdout=subprocess.PIPE, stderr=err, env=env)
    assert process.stdout is not None
    line = process.stdout.readline().decode()
    found = re.search(r"(http://\S+)", line)
    if not found:
        process.kill()
        sys.exit(f"ontomap serve did not start: {line!r} {log.read_text()}")
    print(f"{code.label}: {line.strip()}", file=sys.stderr)
    return process, found.group(1)


def warm_up(url: str, calls: list[Call]) -> None:
    """Every request once; each must answer 200 or 503 (tried again: the machine may be busy
    with other work)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    for call in calls:
        for _attempt in range(3):
            connection.request(call.method, call.path, body=call.body, headers=dict(call.headers))
            response = connection.getresponse()
            body = response.read()
            if response.status != 503:
                break
        if response.status not in (200, 503):
            sys.exit(f"{call.kind} {call.path} answered {response.status}: {body[:200]!r}")
        if response.status == 503:
            print(f"  warm-up: {call.kind} answered 503: {body[:100]!r}", file=sys.stderr)
    connection.close()


def measure(
    codes: list[Code],
    calls: list[Call],
    args: argparse.Namespace,
    results: dict[Key, list[Phase]],
    run: int,
) -> None:
    """One run of every phase against a server of each of ``codes``, taking turns phase by
    phase (the one that starts alternates), so that the machine's load drifts alike for all."""
    servers = []
    try:
        for code in codes:
            log = Path(tempfile.mkdtemp(prefix="bench-serve-")) / "serve.log"
            process, url = start_server(code, args.timeout, args.workers, log)
            servers.append((code, process, url, log))
            warm_up(url, calls)
        hostiles = (False,) if args.no_hostile else (False, True)
        phases = [(clients, hostile) for clients in args.clients for hostile in hostiles]
        for n, (clients, hostile) in enumerate(phases):
            turn = servers if (run + n) % 2 == 0 else servers[::-1]
            for code, process, url, _log in turn:
                print(
                    f"  run {run + 1}, {code.label}: {clients} clients"
                    f"{' + hostile' if hostile else ''}, {args.duration:g} s ...",
                    file=sys.stderr,
                )
                phase = run_phase(process, url, calls, clients, args.duration, hostile)
                results[(code.label, clients, hostile)].append(phase)
                time.sleep(args.pause)  # let replaced workers come back
    finally:
        for _code, process, _url, _log in servers:
            process.terminate()
            process.wait(30)
    for code, _process, _url, log in servers:
        lines = [line for line in log.read_text(errors="replace").splitlines() if "worker" in line]
        for line in lines[:3]:
            print(f"    {code.label} log: {line}", file=sys.stderr)


def spread(values: list[float], show: Callable[[float], str]) -> str:
    """The median and, over several runs, the range."""
    if len(values) == 1:
        return show(values[0])
    return f"{show(statistics.median(values))} ({show(min(values))}–{show(max(values))})"


def table(rows: list[list[str]], header: list[str]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(out)


def machine() -> str:
    """The machine's load averages and how fast it runs plain Python now (3 million additions)."""
    started = time.perf_counter()
    total = 0
    for n in range(3_000_000):
        total += n
    seconds = time.perf_counter() - started
    try:
        load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        load = "unknown"
    return f"load average {load}; 3 million additions in {seconds:.2f} s"


def report(results: dict[Key, list[Phase]], args: argparse.Namespace, calls: list[Call]) -> None:
    print(
        f"## ontomap serve under load\n\n{args.runs} run(s) of {args.duration:g} s per phase, "
        f"server --timeout {args.timeout:g} s, {os.cpu_count()} CPUs shared by server, workers "
        f"and clients; {len(calls)} distinct requests "
        f"({sum(c.kind == 'lookup' for c in calls)} lookups, "
        f"{sum(c.kind != 'lookup' for c in calls)} named queries); hostile query: "
        f"`{HOSTILE_QUERY}`. Figures: median (min–max over runs). At the end: {machine()}.\n"
    )
    rows = []
    for (label, clients, hostile), phases in results.items():
        answers: Counter[int] = Counter()
        for phase in phases:
            answers.update(phase.hostile)
        rows.append(
            [
                label,
                str(clients),
                "yes" if hostile else "no",
                spread([p.throughput for p in phases], lambda v: f"{v:.1f}"),
                spread([percentile(p.latencies, 0.5) for p in phases], ms),
                spread([percentile(p.latencies, 0.99) for p in phases], ms),
                spread([100 * p.unavailable_share for p in phases], lambda v: f"{v:.1f} %"),
                spread([100 * p.busy_share for p in phases], lambda v: f"{v:.1f} %"),
                str(sum(p.other_errors for p in phases)),
                spread([p.max_rss / 2**20 for p in phases], lambda v: f"{v:.0f} MB"),
                ", ".join(f"{n}× {status}" for status, n in sorted(answers.items())) or "–",
            ]
        )
    header = ["code", "clients", "hostile", "ok/s", "p50", "p99", "503 share", "503 busy"]
    header.append("other errors")
    print(table(rows, [*header, "max worker RSS", "hostile answers"]))
    kinds = sorted({kind for phases in results.values() for p in phases for kind in p.kinds})
    if len(kinds) > 1:
        print("\nPer kind of request (answers 200 per second; latency of every answer):\n")
        rows = []
        for (label, clients, hostile), phases in results.items():
            for kind in kinds:
                answers = [p.kinds[kind] for p in phases]
                rows.append(
                    [
                        label,
                        str(clients),
                        "yes" if hostile else "no",
                        kind,
                        spread(
                            [
                                sum(s == 200 for s, _t in a) / p.seconds
                                for a, p in zip(answers, phases, strict=True)
                            ],
                            lambda v: f"{v:.1f}",
                        ),
                        spread([percentile([t for _s, t in a], 0.5) for a in answers], ms),
                        spread([percentile([t for _s, t in a], 0.99) for a in answers], ms),
                    ]
                )
        print(table(rows, ["code", "clients", "hostile", "kind", "ok/s", "p50", "p99"]))
    label = "current"
    worst = results.get((label, max(args.clients), True), [])
    if worst:
        share = max(p.unavailable_share for p in worst)
        stopped = all(set(p.hostile) <= {503, 507} and p.hostile for p in worst)
        peak = max(p.max_rss for p in worst)
        limit = DEFAULT_MEMORY_LIMIT
        print(
            f"\n{max(args.clients)} clients with the hostile query: 503 share at most "
            f"{100 * share:.1f} % (target <= 1 %) — {'PASS' if share <= 0.01 else 'FAIL'}; "
            f"hostile query stopped every time: {'PASS' if stopped else 'FAIL'}; "
            f"largest worker {peak / 2**20:.0f} MB"
            + (f" (limit {limit / 2**20:.0f} MB)" if limit else "")
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", type=Path, default=DEFAULT_STORE)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument(
        "--clients",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[20, 50],
        help="numbers of concurrent clients, comma-separated (default 20,50)",
    )
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per phase")
    parser.add_argument("--runs", type=int, default=1, help="repetitions (median and range)")
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between phases")
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="the server's --timeout (its default)"
    )
    parser.add_argument("--workers", type=int, default=None, help="the server's --workers")
    parser.add_argument(
        "--compare", type=Path, default=None, help="another copy of ontomap to measure alongside"
    )
    parser.add_argument(
        "--workload",
        choices=("mixed", "top-lookups"),
        default="mixed",
        help="mixed: lookups of 40 sampled codes and named queries; top-lookups: /lookup of "
        "the 20 most used codes only (the lookup speed target)",
    )
    parser.add_argument("--no-hostile", action="store_true", help="skip the hostile phases")
    parser.add_argument(
        "--pool-check",
        action="store_true",
        help="first time the worker pool without HTTP: a worker round trip, lookups computed "
        "by the workers, lookups from the answer cache",
    )
    args = parser.parse_args()

    store = ensure_store(args.store, args.corpus)
    if args.pool_check:
        pool_check(store, max(args.clients), args.duration, args.workers)
    calls = top_lookups(store) if args.workload == "top-lookups" else workload(store)
    codes = [code_for("current", ROOT, store)]
    if args.compare is not None:
        codes.append(code_for(args.compare.name, args.compare.resolve(), store))
    results: dict[Key, list[Phase]] = defaultdict(list)
    for run in range(args.runs):
        measure(codes, calls, args, results, run)
    ordered = dict(sorted(results.items(), key=lambda item: (item[0][0] != "current", item[0])))
    report(ordered, args, calls)


if __name__ == "__main__":
    main()
