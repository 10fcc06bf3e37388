"""Benchmark of lookups and named queries on the full corpus store; prints Markdown tables.

    python benchmarks/bench_query.py [--store PATH] [--corpus DEFS] [--rdflib-timeout S]

1. Builds a store from the corpus JSON (or reuses ``--store`` when it already holds models).
2. Warm in-process lookups with one crosswalk reader: one warm-up pass, then ``--passes``
   timed passes over every code of the store (p50/p95/p99/max overall, the p99 of each pass,
   per code system; the slowest codes named); then the most used codes ``--repeats`` times
   each, alone and with their JSON (the default page of uses).
3. Cold CLI lookups: ``python -m ontomap lookup CODE --format json`` as fresh processes,
   several runs each, median wall time and range, with a bytecode cache (as installed) and
   compiling every module each run (``PYTHONDONTWRITEBYTECODE=1``); and whether rdflib was
   imported on that path.
4. Each named query (with its documented example parameters) on Oxigraph, against the same
   query text through rdflib's SPARQL engine on the same quads (an rdflib ``Dataset`` whose
   default graph is the union of the store's graphs, as Oxigraph's is), parameters passed as
   ``initBindings``, with a time limit per rdflib query.

Targets: warm lookup p99 <= 5 ms for every code (the most used included), cold CLI lookup
<= 0.3 s, named queries >= 20x faster than rdflib.
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pyoxigraph as ox  # noqa: E402

from ontomap.graph import CODES_GRAPH  # noqa: E402
from ontomap.lookup import code_from_iri, crosswalk_reader, lookup  # noqa: E402
from ontomap.query import NamedQuery, named_queries, prefixes, run_query  # noqa: E402
from ontomap.store import Store, is_store  # noqa: E402
from ontomap.vocab import RDF, SKOS  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "findingmodels" / "defs"
DEFAULT_STORE = Path("/tmp/ontomap-bench-kg")
CLI_CODES = ("RADLEX:RID5791", "RADLEX:RID28473", "RADLEX:RID5824", "GAMUTS:5529")


def load_average() -> list[str]:
    """The machine's load averages over 1, 5 and 15 minutes (empty where unknown)."""
    try:
        return Path("/proc/loadavg").read_text().split()[:3]
    except OSError:
        return []


def calibration() -> str:
    """How fast this machine runs plain Python now: 3 million additions in a loop."""
    started = time.perf_counter()
    total = 0
    for n in range(3_000_000):
        total += n
    return f"3 million additions in {time.perf_counter() - started:.2f} s"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms" if seconds < 1 else f"{seconds:.2f} s"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def ensure_store(path: Path, corpus: Path) -> Path:
    if is_store(path):
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


#: The codes with the most uses (or the most pairs), timed one by one.
TOP_CODES = ("RADLEX:RID5655", "RADLEX:RID28473", "RADLEX:RID39110", "RADLEX:RID5791")
BUSY_CODES = ("RADLEX:RID5824", "RADLEX:RID381")  # one entity, 34 pairs each


def bench_lookups(store: Store, passes: int, repeats: int) -> None:
    """Warm ``lookup`` with one crosswalk reader (as ``ontomap serve``'s workers keep one):
    every code ``passes`` times, then the most used codes ``repeats`` times each."""
    reader = crosswalk_reader(store)
    codes = store_codes(store)
    for code in codes:  # warm-up: caches, pages, query plans
        lookup(reader, code)
    per_pass: list[list[float]] = []
    timings: list[tuple[float, str]] = []
    for _ in range(passes):
        times = []
        for code in codes:
            started = time.perf_counter()
            lookup(reader, code)
            seconds = time.perf_counter() - started
            times.append(seconds)
            timings.append((seconds, code))
        per_pass.append(times)
    values = [t for t, _c in timings]
    print(
        f"## Warm in-process lookup (`lookup(reader, code)`), every code of the store "
        f"({len(codes)}), {passes} passes\n"
    )
    print("| codes | p50 | p95 | p99 | max | p99 per pass | slowest |")
    print("|---|---:|---:|---:|---:|---|---|")
    slowest = ", ".join(f"{c} {ms(t)}" for t, c in sorted(timings, reverse=True)[:3])
    spread = " / ".join(ms(percentile(times, 0.99)) for times in per_pass)
    print(
        f"| all {len(codes)} | {ms(percentile(values, 0.5))} | {ms(percentile(values, 0.95))} "
        f"| {ms(percentile(values, 0.99))} | {ms(max(values))} | {spread} | {slowest} |"
    )
    by_system: dict[str, list[float]] = defaultdict(list)
    for seconds, code in timings:
        by_system[code.split(":", 1)[0]].append(seconds)
    for prefix, times in sorted(by_system.items()):
        print(
            f"| {prefix}: ({len(times) // passes}) | {ms(percentile(times, 0.5))} "
            f"| {ms(percentile(times, 0.95))} | {ms(percentile(times, 0.99))} "
            f"| {ms(max(times))} | | |"
        )
    print(
        f"\n## The most used codes, {repeats} warm lookups each (wall time, and the CPU time "
        "of the thread: what the lookup costs, whatever else runs on the machine)\n"
    )
    print(
        "| code | uses | pairs | lookup p50 | p99 | max | CPU p50 | CPU p99 "
        "| + JSON p50 | p99 | JSON bytes |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for code in (*TOP_CODES, *BUSY_CODES):
        alone, cpu, with_json = [], [], []
        for _ in range(repeats):
            started, cpu_started = time.perf_counter(), time.thread_time()
            result = lookup(reader, code)
            alone.append(time.perf_counter() - started)
            cpu.append(time.thread_time() - cpu_started)
        for _ in range(repeats):
            started = time.perf_counter()
            body = lookup(reader, code).dumps().encode()
            with_json.append(time.perf_counter() - started)
        print(
            f"| {code} | {len(result.used_by)} | {len(result.matches)} "
            f"| {ms(percentile(alone, 0.5))} | {ms(percentile(alone, 0.99))} | {ms(max(alone))} "
            f"| {ms(percentile(cpu, 0.5))} | {ms(percentile(cpu, 0.99))} "
            f"| {ms(percentile(with_json, 0.5))} | {ms(percentile(with_json, 0.99))} "
            f"| {len(body):,} |"
        )
    print(f"\nLoad average at the end: {' '.join(load_average())}; {calibration()}\n")


def _cli_env(bytecode: bool) -> dict[str, str]:
    """The environment of a CLI run: with a bytecode cache (as after ``pip install``, kept in
    a folder of its own), or compiling every module from source each time."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("PYTHONPYCACHEPREFIX", None)
    if bytecode:
        env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "ontomap-bench-pycache")
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.mkdtemp(prefix="ontomap-no-pycache-")))
    return env


def _children_cpu() -> float:
    """CPU seconds (user and system) used so far by this process's finished children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_cli(store_path: Path, runs: int) -> None:
    print(f"## Cold CLI lookup (`python -m ontomap lookup CODE --format json`, {runs} runs)\n")
    print("| code | bytecode | median | min | max | CPU (user+sys) median | answer bytes |")
    print("|---|---|---:|---:|---:|---:|---:|")
    command = [sys.executable, "-m", "ontomap", "lookup"]
    for bytecode in (True, False):
        env = _cli_env(bytecode)
        for code in CLI_CODES:
            args = [*command, code, "--store", str(store_path), "--format", "json"]
            subprocess.run(args, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, env=env)
            times, cpu = [], []
            for _ in range(runs):
                before = _children_cpu()
                started = time.perf_counter()
                done = subprocess.run(args, cwd=ROOT, check=True, stdout=subprocess.PIPE, env=env)
                times.append(time.perf_counter() - started)
                cpu.append(_children_cpu() - before)
            print(
                f"| {code} | {'cached' if bytecode else 'compiled each run'} "
                f"| {ms(statistics.median(times))} | {ms(min(times))} | {ms(max(times))} "
                f"| {ms(statistics.median(cpu))} | {len(done.stdout):,} |"
            )
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - started)
    print(
        f"\nA bare `python -c pass` on this machine: {ms(statistics.median(times))} (median). "
        f"Load average at the end: {' '.join(load_average())}; {calibration()}."
    )
    check = (
        "import sys; from ontomap.cli import main\n"
        "try:\n"
        f"    main(['lookup', 'RADLEX:RID5791', '--store', {str(store_path)!r}])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('rdflib' in sys.modules, file=sys.stderr)"
    )
    imported = subprocess.run(
        [sys.executable, "-c", check], cwd=ROOT, check=True, capture_output=True, text=True
    ).stderr.strip()
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


def bench_named_queries(
    store: Store, runs: int, limit: float, only: frozenset[str] | None = None
) -> None:
    import rdflib

    started = time.perf_counter()
    # the store's every graph, as Oxigraph sees it (default graph: their union), so that
    # queries with GRAPH patterns run on rdflib too
    graph = rdflib.Dataset(default_union=True)
    graph.parse(data=store.oxigraph.dump(format=ox.RdfFormat.N_QUADS), format="nquads")
    load = time.perf_counter() - started
    prefix_map = prefixes(store.base_iri)
    print(
        f"## Named queries: Oxigraph vs rdflib {rdflib.__version__} "
        f"(same query text; rdflib dataset of {len(store.oxigraph):,} quads loaded in "
        f"{load:.1f} s; "
        f"Oxigraph median of {runs} runs incl. decoding rows; rdflib one run, limit {limit:.0f} s)"
        "\n"
    )
    print("| query | parameters | rows | Oxigraph | rdflib | speedup |")
    print("|---|---|---:|---:|---:|---:|")
    for name, query in named_queries().items():
        if only is not None and name not in only:
            continue
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
    parser.add_argument("--passes", type=int, default=3, help="passes over every code")
    parser.add_argument("--repeats", type=int, default=200, help="lookups of each top code")
    parser.add_argument("--skip-cli", action="store_true", help="skip the cold CLI lookups")
    parser.add_argument("--query-runs", type=int, default=5, help="Oxigraph runs per query")
    parser.add_argument("--rdflib-timeout", type=float, default=60.0, help="seconds per query")
    parser.add_argument("--skip-rdflib", action="store_true", help="skip the query comparison")
    parser.add_argument("--skip-lookups", action="store_true", help="skip the warm lookups")
    parser.add_argument(
        "--queries", help="compare only these named queries (comma-separated names)"
    )
    args = parser.parse_args()
    path = ensure_store(args.store, args.corpus)
    if not args.skip_lookups:
        with Store(path, read_only=True) as store:
            bench_lookups(store, args.passes, args.repeats)
    if not args.skip_cli:
        bench_cli(path, args.runs)
    if not args.skip_rdflib:
        with Store(path, read_only=True) as store:
            only = frozenset(args.queries.split(",")) if args.queries else None
            bench_named_queries(store, args.query_runs, args.rdflib_timeout, only)


if __name__ == "__main__":
    main()
