"""Throughput of FHIR ``ConceptMap/$translate`` on ``ontomap serve``; prints a Markdown table.

    python benchmarks/bench_fhir.py [--store PATH] [--corpus DEFS] [--clients 20]
                                    [--duration 10] [--runs 5] [--codes 200]

1. Builds a store from the corpus JSON (or reuses ``--store`` when it holds models) and starts
   ``ontomap serve`` on it (a subprocess on a free loopback port).
2. The requests: ``$translate`` of ``--codes`` codes the models use (every ``n``-th of them,
   sorted by system and code), each to each of the other systems that have mappings (RadLex,
   SNOMED CT, LOINC, RadElement), half R4 (``system``, ``code``, ``targetsystem``), half R5
   (``sourceSystem``, ``sourceCode``, ``targetSystem``), by GET; a tenth of them POSTed as a
   ``Parameters`` resource.
3. ``--clients`` threads, each with one keep-alive connection, send them in random order for
   ``--duration`` seconds; each answer must be 200 and FHIR JSON. ``--runs`` repeats that.
4. The table: answers per second (median and range over the runs), p50 and p99 latency,
   errors, and the load average before and after (the machine is shared: read the figures
   with it).

Target: at least 500 ``$translate`` answers per second with 20 clients.
"""

from __future__ import annotations

import argparse
import http.client
import json
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
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ontomap.store import Store, is_store  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "findingmodels" / "defs"
URIS = {
    "RADLEX": "http://radlex.org",
    "SNOMED": "http://snomed.info/sct",
    "LOINC": "http://loinc.org",
    "RADELEMENT": "http://radelement.org",
}


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: bytes | None = None


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


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


def calls(store_path: Path, count: int, seed: int = 7) -> list[Call]:
    from ontomap.fhir import TerminologySource
    from ontomap.terminology import default_registry

    with Store(store_path, read_only=True) as store:
        source = TerminologySource(store)
        codes = [
            (key, code) for key in URIS for code in source.used_codes(default_registry().get(key))
        ]
    step = max(1, len(codes) // count)
    chosen = codes[::step][:count]
    rng = random.Random(seed)
    out = []
    for key, code in chosen:
        for other in URIS:
            if other == key:
                continue
            if rng.random() < 0.5:
                version, names = "r4", ("system", "code", "targetsystem")
            else:
                version, names = "r5", ("sourceSystem", "sourceCode", "targetSystem")
            values = (URIS[key], code, URIS[other])
            path = f"/fhir/{version}/ConceptMap/$translate"
            if rng.random() < 0.1:
                kinds = ("valueUri", "valueCode", "valueUri")
                body = {
                    "resourceType": "Parameters",
                    "parameter": [
                        {"name": n, kind: v}
                        for n, kind, v in zip(names, kinds, values, strict=True)
                    ],
                }
                out.append(Call("POST", path, json.dumps(body).encode()))
            else:
                query = urllib.parse.urlencode(list(zip(names, values, strict=True)))
                out.append(Call("GET", f"{path}?{query}"))
    return out


def client(host: str, port: int, work: list[Call], stop: float, run: Run, seed: int) -> None:
    rng = random.Random(seed)
    connection = http.client.HTTPConnection(host, port, timeout=60)
    headers = {"Accept": "application/fhir+json", "Content-Type": "application/fhir+json"}
    latencies = []
    errors = 0
    while time.monotonic() < stop:
        call = rng.choice(work)
        started = time.perf_counter()
        try:
            connection.request(call.method, call.path, body=call.body, headers=headers)
            response = connection.getresponse()
            body = response.read()
            ok = response.status == 200 and body.startswith(b'{"resourceType":"Parameters"')
        except (OSError, http.client.HTTPException):
            ok = False
            connection.close()
            connection = http.client.HTTPConnection(host, port, timeout=60)
        if ok:
            latencies.append(time.perf_counter() - started)
        else:
            errors += 1
    connection.close()
    with run.lock:
        run.latencies += latencies
        run.errors += errors


def load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", type=Path)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--codes", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = ensure_store(args.store or Path(tmp) / "kg", args.corpus)
        work = calls(store, args.codes)
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        env.pop("ONTOMAP_STORE", None)
        process = subprocess.Popen(
            [sys.executable, "-m", "ontomap", "serve", "--store", str(store), "--port", "0"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        try:
            assert process.stdout is not None
            line = process.stdout.readline().decode()
            found = re.search(r"http://([^:/]+):([0-9]+)/", line)
            if not found:
                sys.exit(f"ontomap serve did not start: {line!r}")
            host, port = found.group(1), int(found.group(2))
            warm = Run()
            client(host, port, work, time.monotonic() + 2, warm, 0)  # one client, 2 s
            rows = []
            before = load()
            for n in range(args.runs):
                run = Run()
                stop = time.monotonic() + args.duration
                threads = [
                    threading.Thread(target=client, args=(host, port, work, stop, run, n * 100 + i))
                    for i in range(args.clients)
                ]
                started = time.monotonic()
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                elapsed = time.monotonic() - started
                rows.append((len(run.latencies) / elapsed, run))
                print(f"run {n + 1}: {rows[-1][0]:.0f} answers/s", file=sys.stderr)
            after = load()
        finally:
            process.terminate()
            process.wait(20)
    rates = [rate for rate, _run in rows]
    latencies = [x for _rate, run in rows for x in run.latencies]
    errors = sum(run.errors for _rate, run in rows)
    print(
        f"| workload | clients | answers/s, median (range over {args.runs} runs of "
        f"{args.duration:g} s) | p50 | p99 | errors | load average before → after |"
    )
    print("|---|---|---|---|---|---|---|")
    print(
        f"| `$translate`, {len(work)} requests (R4/R5, GET, 10 % POST) | {args.clients} | "
        f"{statistics.median(rates):,.0f} ({min(rates):,.0f}–{max(rates):,.0f}) | "
        f"{percentile(latencies, 0.5) * 1000:.1f} ms | {percentile(latencies, 0.99) * 1000:.1f} ms "
        f"| {errors} | {before} → {after} |"
    )


if __name__ == "__main__":
    main()
