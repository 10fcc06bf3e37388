"""Benchmark of lookups and named queries on the full corpus store; prints Markdown tables.

    python benchmarks/bench_query.py [--store PATH] [--corpus DEFS] [--rdflib-timeout S]

1. Builds a store from the corpus JSON (or reuses ``--store`` when it already holds models).
2. Warm in-process lookups: one warm-up pass, then one timed pass over every code of the store
   (p50/p95/max overall and per code system; the slowest codes named).
3. Cold CLI lookups: ``python -m ontomap lookup CODE --format json`` as fresh processes,
   several runs each, median wall time; and whether rdflib was imported on that path.
4. Each named query (with its documented example parameters) on Oxigraph, against the same
   query text through rdflib's SPARQL engine on the same graph (``Store.graph().to_rdflib()``,
   parameters passed as ``initBindings``), with a time limit per rdflib query.

Targets: warm lookup p50 < 5 ms, cold CLI lookup < 0.8 s, named queries >= 20x
faster than rdflib.
"""

from __future__ import annotations

import argparse
import random
import shlex
import signal
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pyoxigraph as ox  # noqa: E402

from ontomap.graph import CODES_GRAPH  # noqa: E402
from ontomap.lookup import code_from_iri  # noqa: E402
from ontomap.query import NamedQuery, named_queries, prefixes, run_query  # noqa: E402
from ontomap.store import Store  # noqa: E402
from ontomap.vocab import RDF, SKOS  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "findingmodels" / "defs"
DEFAULT_STORE = Path("/tmp/ontomap-bench-kg")
CLI_CODES = ("RADLEX:RID5791", "GAMUTS:5529", "sct:386554004")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms" if seconds < 1 else f"{seconds:.2f} s"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def ensure_store(path: Path, corpus: Path) -> Path:
    if (path / "CURRENT").is_file():
        with Store(path, read_only=True) as store:
            if store.model_ids():
                print(f"reusing the store at {path} ({len(store.model_ids())} models)\n")
                return path
    from ontomap.readers import read_models

    started = time.perf_counter()
    report = read_models([corpus])
    with Store(path) as store:
        store.load(report.models)
    print(
        f"built {path} from {corpus}: {len(report.models)} models "
        f"in {time.perf_counter() - started:.1f} s\n"
    )
    return path


def store_codes(store: Store) -> list[str]:
    """Every code of the store, as CURIE text (the lookup parses it, as a user's would)."""
    concepts = store.oxigraph.quads_for_pattern(None, RDF.type, SKOS.Concept, CODES_GRAPH)
    codes = [code_from_iri(q.subject.value) for q in concepts]
    return sorted(c.curie for c in codes if c is not None)


def bench_lookups(store: Store) -> None:
    codes = store_codes(store)
    for code in codes:  # warm-up: caches, pages, query plans
        store.lookup(code)
    timings: list[tuple[float, str]] = []
    for code in codes:
        started = time.perf_counter()
        store.lookup(code)
        timings.append((time.perf_counter() - started, code))
    values = [t for t, _c in timings]
    print(f"## Warm in-process lookup (`Store.lookup`), every code of the store ({len(codes)})\n")
    print("| codes | p50 | p95 | max | slowest |")
    print("|---|---:|---:|---:|---|")
    slowest = ", ".join(f"{c} {ms(t)}" for t, c in sorted(timings, reverse=True)[:3])
    print(
        f"| all {len(values)} | {ms(percentile(values, 0.5))} | {ms(percentile(values, 0.95))} "
        f"| {ms(max(values))} | {slowest} |"
    )
    by_system: dict[str, list[float]] = defaultdict(list)
    for seconds, code in timings:
        by_system[code.split(":", 1)[0]].append(seconds)
    for prefix, times in sorted(by_system.items()):
        print(
            f"| {prefix}: ({len(times)}) | {ms(percentile(times, 0.5))} "
            f"| {ms(percentile(times, 0.95))} | {ms(max(times))} | |"
        )
    rng = random.Random(3)
    sample = rng.sample(codes, min(200, len(codes)))
    picked = [t for t, c in timings if c in set(sample)]
    print(
        f"| random sample of {len(picked)} (seed 3) | {ms(percentile(picked, 0.5))} "
        f"| {ms(percentile(picked, 0.95))} | {ms(max(picked))} | |"
    )
    print()


def bench_cli(store_path: Path, runs: int) -> None:
    print(f"## Cold CLI lookup (`python -m ontomap lookup CODE --format json`, {runs} runs)\n")
    print("| code | median | min | max |")
    print("|---|---:|---:|---:|")
    command = [sys.executable, "-m", "ontomap", "lookup"]
    for code in CLI_CODES:
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run(
                [*command, code, "--store", str(store_path), "--format", "json"],
                cwd=ROOT,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            times.append(time.perf_counter() - started)
        print(f"| {code} | {ms(statistics.median(times))} | {ms(min(times))} | {ms(max(times))} |")
    check = (
        "import sys; from ontomap.cli import main; from ontomap.store import Store; "
        f"Store({str(store_path)!r}, read_only=True).lookup('RADLEX:RID5791'); "
        "print('rdflib' in sys.modules)"
    )
    imported = subprocess.run(
        [sys.executable, "-c", check], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    print(f"\nrdflib imported on the lookup path: {'yes' if imported == 'True' else 'no'}\n")


class Timeout(Exception):
    pass


def _alarm(_signum: int, _frame: Any) -> None:
    raise Timeout


def timed(func: Callable[[], Any], limit: float | None = None) -> tuple[float | None, Any]:
    if limit:
        signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, limit)
    started = time.perf_counter()
    try:
        value = func()
    except Timeout:
        return None, None
    finally:
        if limit:
            signal.setitimer(signal.ITIMER_REAL, 0)
    return time.perf_counter() - started, value


def example_params(query: NamedQuery) -> dict[str, str]:
    words = shlex.split(query.example or "")
    return dict(words[i + 1].split("=", 1) for i, w in enumerate(words) if w in ("--param", "-p"))


def to_rdflib(term: ox.Term) -> Any:
    import rdflib

    if isinstance(term, ox.NamedNode):
        return rdflib.URIRef(term.value)
    assert isinstance(term, ox.Literal)
    if term.datatype.value == "http://www.w3.org/2001/XMLSchema#string":
        return rdflib.Literal(term.value)
    return rdflib.Literal(term.value, datatype=rdflib.URIRef(term.datatype.value))


def bench_named_queries(store: Store, runs: int, limit: float) -> None:
    started = time.perf_counter()
    graph = store.graph().to_rdflib()
    load = time.perf_counter() - started
    prefix_map = prefixes(store.base_iri)
    print(
        f"## Named queries: Oxigraph vs rdflib {__import__('rdflib').__version__} "
        f"(same query text; rdflib graph of {len(graph):,} triples loaded in {load:.1f} s; "
        f"Oxigraph median of {runs} runs incl. decoding rows; rdflib one run, limit {limit:.0f} s)"
        "\n"
    )
    print("| query | parameters | rows | Oxigraph | rdflib | speedup |")
    print("|---|---|---:|---:|---:|---:|")
    for name, query in named_queries().items():
        params = example_params(query)
        times = []
        rows = 0
        for _ in range(runs):
            seconds, result = timed(lambda q=query, p=params: run_query(store, q, p).rows)
            assert seconds is not None
            times.append(seconds)
            rows = len(result)
        oxigraph = statistics.median(times)
        bindings = {
            p.name: to_rdflib(p.term(params.get(p.name, p.default)))  # type: ignore[arg-type]
            for p in query.params
            if params.get(p.name, p.default) is not None
        }
        seconds, result = timed(
            lambda q=query, b=bindings: list(
                graph.query(q.text, initNs=prefix_map, initBindings=b)
            ),
            limit,
        )
        if seconds is None:
            rdflib_time, speedup = f"> {limit:.0f} s", f"> {limit / oxigraph:,.0f}x"
        else:
            rdflib_time, speedup = ms(seconds), f"{seconds / oxigraph:,.0f}x"
            if len(result) != rows:
                speedup += f" (rdflib: {len(result)} rows!)"
        shown = " ".join(f"{k}={v}" for k, v in params.items()) or "-"
        print(f"| {name} | {shown} | {rows} | {ms(oxigraph)} | {rdflib_time} | {speedup} |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, default=DEFAULT_STORE)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--runs", type=int, default=7, help="runs of each CLI lookup")
    parser.add_argument("--query-runs", type=int, default=5, help="Oxigraph runs per query")
    parser.add_argument("--rdflib-timeout", type=float, default=60.0, help="seconds per query")
    parser.add_argument("--skip-rdflib", action="store_true", help="skip the query comparison")
    args = parser.parse_args()
    path = ensure_store(args.store, args.corpus)
    with Store(path, read_only=True) as store:
        bench_lookups(store)
    bench_cli(path, args.runs)
    if not args.skip_rdflib:
        with Store(path, read_only=True) as store:
            bench_named_queries(store, args.query_runs, args.rdflib_timeout)


if __name__ == "__main__":
    main()
