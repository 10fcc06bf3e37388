"""Load check of ``ontomap serve`` on the full corpus store; prints Markdown tables.

    python benchmarks/bench_serve.py [--store PATH] [--corpus DEFS] [--clients 20]
                                     [--duration 30] [--timeout 10] [--workers N]

1. Builds a store from the corpus JSON (or reuses ``--store`` when it holds models) and starts
   ``ontomap serve`` on it (a subprocess on a free loopback port).
2. *Baseline*: ``--clients`` concurrent clients (threads, one keep-alive connection each) issue
   a mix of requests for ``--duration`` seconds: ``/lookup`` of codes sampled from the store
   (RADLEX:RID5791 among them) and named queries with parameters (bound by a VALUES block,
   as ``ontomap query --endpoint`` does). Every answer must be 200.
3. *With a slow query*: the same, plus one more client that sends a deliberately slow query
   (a four-way cross join) over and over. Each must be stopped at ``--timeout`` (503) while the
   others stay within 2x of their baseline p99.

Targets: zero errors; the slow query times out; p99 with it <= 2x p99 without.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ontomap.backends import bind_values  # noqa: E402
from ontomap.lookup import code_from_iri  # noqa: E402
from ontomap.query import PARAM_TYPES, named_queries  # noqa: E402
from ontomap.store import Store  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "findingmodels" / "defs"
DEFAULT_STORE = Path("/tmp/ontomap-bench-kg")
SLOW_QUERY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def ensure_store(path: Path, corpus: Path) -> Path:
    if (path / "CURRENT").is_file():
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
class Stats:
    """Latencies (seconds) and statuses per kind of request."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, dict[int, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, status: int, seconds: float) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            self.statuses[kind][status] += 1

    def normal(self) -> list[float]:
        return [t for kind, ts in self.latencies.items() if kind != "slow" for t in ts]

    def errors(self) -> int:
        return sum(
            n
            for kind, counts in self.statuses.items()
            if kind != "slow"
            for status, n in counts.items()
            if status != 200
        )


def client(host: str, port: int, calls: list[Call], stop: float, stats: Stats, seed: int) -> None:
    rng = random.Random(seed)
    connection = http.client.HTTPConnection(host, port, timeout=120)
    while time.monotonic() < stop:
        call = rng.choice(calls)
        started = time.perf_counter()
        try:
            connection.request(call.method, call.path, body=call.body, headers=dict(call.headers))
            response = connection.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            status = 0
            connection.close()
            connection = http.client.HTTPConnection(host, port, timeout=120)
        stats.add(call.kind, status, time.perf_counter() - started)
    connection.close()


def run_phase(
    url: str, calls: list[Call], clients: int, duration: float, slow: bool
) -> tuple[Stats, float]:
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    stats = Stats()
    stop = time.monotonic() + duration
    threads = [
        threading.Thread(target=client, args=(host, port, calls, stop, stats, n))
        for n in range(clients)
    ]
    if slow:
        body = urllib.parse.urlencode({"query": SLOW_QUERY}).encode()
        slow_call = Call(
            "slow",
            "POST",
            "/query",
            body,
            (("Content-Type", "application/x-www-form-urlencoded"),),
        )
        threads.append(
            threading.Thread(target=client, args=(host, port, [slow_call], stop, stats, 99))
        )
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return stats, time.monotonic() - started


def start_server(
    store: Path, timeout: float, workers: int | None, log: Path
) -> tuple[subprocess.Popen[bytes], str]:
    args = [sys.executable, "-m", "ontomap", "serve", "--store", str(store), "--port", "0"]
    args += ["--timeout", str(timeout)]
    if workers:
        args += ["--workers", str(workers)]
    with log.open("wb") as err:
        process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=err)
    assert process.stdout is not None
    line = process.stdout.readline().decode()
    found = re.search(r"(http://\S+)", line)
    if not found:
        process.kill()
        sys.exit(f"ontomap serve did not start: {line!r} {log.read_text()}")
    print(f"server: {line.strip()}", file=sys.stderr)
    return process, found.group(1)


def table(rows: list[list[str]], header: list[str]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", type=Path, default=DEFAULT_STORE)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per phase")
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="the server's --timeout (its default)"
    )
    parser.add_argument("--workers", type=int, default=None, help="the server's --workers")
    args = parser.parse_args()

    store = ensure_store(args.store, args.corpus)
    calls = workload(store)
    log = Path(tempfile.mkdtemp(prefix="bench-serve-")) / "serve.log"
    process, url = start_server(store, args.timeout, args.workers, log)
    try:
        parts = urllib.parse.urlsplit(url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        for call in calls:  # warm-up: every request once, each must answer 200
            connection.request(call.method, call.path, body=call.body, headers=dict(call.headers))
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                sys.exit(f"{call.kind} {call.path} answered {response.status}")
        connection.close()
        results = {}
        for name, slow in (("baseline", False), ("with slow query", True)):
            print(f"phase {name}: {args.clients} clients, {args.duration:g} s ...", file=sys.stderr)
            results[name] = run_phase(url, calls, args.clients, args.duration, slow)
    finally:
        process.terminate()
        process.wait(30)

    cpus = os.cpu_count()
    kills = log.read_text().count("killed after")
    shutil.rmtree(log.parent, ignore_errors=True)
    print(
        f"## ontomap serve load check\n\n{args.clients} clients (+1 sending the slow query in "
        f"the second phase), {args.duration:g} s per phase, server --timeout {args.timeout:g} s, "
        f"{cpus} CPUs shared by server and clients; {len(calls)} distinct requests "
        f"({sum(c.kind == 'lookup' for c in calls)} lookups, "
        f"{sum(c.kind != 'lookup' for c in calls)} named queries).\n"
    )
    rows = []
    for name, (stats, took) in results.items():
        normal = stats.normal()
        slow = stats.statuses.get("slow", {})
        rows.append(
            [
                name,
                str(len(normal)),
                f"{len(normal) / took:.1f}",
                ms(percentile(normal, 0.5)),
                ms(percentile(normal, 0.99)),
                ms(max(normal) if normal else float("nan")),
                str(stats.errors()),
                (
                    ", ".join(f"{n}× {status}" for status, n in sorted(slow.items()))
                    + f" ({ms(percentile(stats.latencies['slow'], 0.5))} each)"
                    if slow
                    else "–"
                ),
            ]
        )
    print(
        table(
            rows,
            ["phase", "requests", "req/s", "p50", "p99", "max", "errors", "slow query answers"],
        )
    )
    print()
    kinds = sorted({k for stats, _ in results.values() for k in stats.latencies if k != "slow"})
    rows = []
    for kind in kinds:
        row = [kind]
        for stats, _took in results.values():
            values = stats.latencies.get(kind, [])
            row += [str(len(values)), ms(percentile(values, 0.5)), ms(percentile(values, 0.99))]
        rows.append(row)
    print(
        table(
            rows,
            ["request", "n", "p50", "p99", "n (slow)", "p50 (slow)", "p99 (slow)"],
        )
    )
    base = percentile(results["baseline"][0].normal(), 0.99)
    with_slow = percentile(results["with slow query"][0].normal(), 0.99)
    slow_statuses = results["with slow query"][0].statuses.get("slow", {})
    errors = sum(stats.errors() for stats, _ in results.values())
    ratio = with_slow / base
    timed_out = bool(slow_statuses) and set(slow_statuses) == {503}
    print(
        f"\np99 without the slow query {ms(base)}, with it {ms(with_slow)}: "
        f"{ratio:.2f}x (target <= 2x) — {'PASS' if ratio <= 2 else 'FAIL'}; "
        f"errors: {errors} — {'PASS' if errors == 0 else 'FAIL'}; "
        f"slow query answered 503 every time: {'PASS' if timed_out else 'FAIL'} "
        f"({kills} workers killed and replaced)"
    )


if __name__ == "__main__":
    main()
