"""Benchmark of the crosswalk engine on the real OIFM corpus.

1. Build cost: ``read_models`` + ``Store.load`` + commit of the whole corpus into a new store,
   with the crosswalk materialised (as ``ontomap build`` does) and without (the load's
   :class:`~ontomap.crosswalk.CrosswalkUpdate` made a no-op), alternating, each in a fresh
   process; median, min and max of each, and the ratio of the medians. Then the parts of the
   materialisation, in process: entities from the models, the computation, the N-Quads lines,
   the write.
2. Warm reads in process (:class:`~ontomap.crosswalk.CrosswalkReader`), p50/p99 over
   ``--reads`` calls after a warm-up, for the most used codes, a code with many co-listed
   partners and rare codes: one code with its uses (what a lookup needs) and without; on the
   store directly and through :class:`~ontomap.backends.LocalBackend` (SPARQL results, as an
   endpoint answers).
3. The whole RADLEX → SNOMED crosswalk: in process, and as a whole process (start-up, store,
   read); a cold process reading one code; the whole crosswalk computed from the store's
   models by SPARQL (what a reader without the materialised graph does).

    python benchmarks/bench_crosswalk.py [--runs 3] [--reads 1000] [--corpus DEFS] [--keep DIR]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "findingmodels" / "defs"
#: (label, system, code): the two most used codes, the worked example, many co-listed
#: partners, rare codes.
CODES = (
    ("most used (2,203 uses)", "RADLEX", "RID28473"),
    ("most used SNOMED (2,203)", "SNOMED", "2667000"),
    ("worked example (1,994)", "RADLEX", "RID5791"),
    ("co-listed with 33 (1 use)", "RADLEX", "RID381"),
    ("rare (1 use)", "GAMUTS", "5529"),
    ("rare (1 use)", "RADLEX", "RID6529"),
)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms" if seconds < 1 else f"{seconds:.2f} s"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


# ------------------------------------------------------------------ one build (child process)


def one_build(corpus: Path, folder: Path, materialise: bool) -> None:
    """Build ``folder`` from ``corpus``; print wall, process CPU and main-thread CPU seconds
    (read + load + commit)."""
    import ontomap.crosswalk as crosswalk
    from ontomap.readers import read_models
    from ontomap.store import Store

    if not materialise:
        crosswalk.CrosswalkUpdate.watch = lambda self, sources: iter(sources)  # type: ignore[method-assign,assignment]
        crosswalk.CrosswalkUpdate.apply = lambda self: 0  # type: ignore[method-assign]
    wall, cpu, main = time.perf_counter(), time.process_time(), time.thread_time()
    report = read_models([corpus])
    with Store(folder) as store:
        store.load(report.models)
    print(
        f"{time.perf_counter() - wall:.4f} {time.process_time() - cpu:.4f} "
        f"{time.thread_time() - main:.4f}"
    )


def child(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, __file__, *args], cwd=ROOT, check=True, capture_output=True, text=True
    )


def bench_build(corpus: Path, scratch: Path, runs: int) -> None:
    times: dict[bool, list[tuple[float, ...]]] = {True: [], False: []}
    for run in range(runs):
        for materialise in (True, False) if run % 2 == 0 else (False, True):
            folder = scratch / f"build-{run}-{materialise}"
            done = child("--one-build", str(corpus), str(folder), str(int(materialise)))
            times[materialise].append(tuple(map(float, done.stdout.split())))
    print(f"## Build of the corpus into a new store ({runs} runs each, alternating)\n")
    print("| build | wall median | wall min – max | CPU median | main thread CPU median |")
    print("|---|---:|---:|---:|---:|")
    medians: dict[bool, list[float]] = {}
    for materialise in (False, True):
        columns = list(zip(*times[materialise], strict=True))
        medians[materialise] = [statistics.median(c) for c in columns]
        walls = columns[0]
        name = "with the crosswalk" if materialise else "without"
        print(
            f"| {name} | {ms(medians[materialise][0])} | {ms(min(walls))} – {ms(max(walls))} "
            f"| {ms(medians[materialise][1])} | {ms(medians[materialise][2])} |"
        )
    ratios = [w / wo for w, wo in zip(medians[True], medians[False], strict=True)]
    print(
        f"\nwith / without (medians): wall {ratios[0]:.3f}, CPU {ratios[1]:.3f}, "
        f"main thread CPU {ratios[2]:.3f}\n"
    )


def bench_parts(corpus: Path, runs: int) -> None:
    import pyoxigraph as ox

    import ontomap.crosswalk as cw
    from ontomap.graph import GraphBuilder
    from ontomap.readers import read_models

    sources = read_models([corpus]).models
    models = [source.model for source in sources]

    def cpu(function: Callable[[], Any]) -> tuple[float, Any]:
        best, result = float("inf"), None
        for _ in range(runs):
            started = time.process_time()
            result = function()
            best = min(best, time.process_time() - started)
        return best, result

    def count() -> Any:
        builder = cw._Builder()
        for entities in per_model:
            builder.add(entities)
        return builder

    entity_time, per_model = cpu(lambda: [cw.entities_of_model(m) for m in models])
    count_time, builder = cpu(count)
    finish_time, crosswalk = cpu(builder.crosswalk)
    line_time, lines = cpu(lambda: cw.crosswalk_lines(crosswalk))
    data = "".join(lines).encode()
    write_time, _ = cpu(lambda: ox.Store().bulk_load(data, format=ox.RdfFormat.N_TRIPLES))
    graph_time, _ = cpu(lambda: GraphBuilder().store_nquads(sources))
    parts = [
        ("entities from the models", entity_time, f"{sum(map(len, per_model)):,} entities"),
        ("counting them", count_time, ""),
        ("the crosswalk from the counts", finish_time, f"{len(crosswalk.pairs):,} pairs"),
        ("N-Quads lines", line_time, f"{len(lines):,} quads, {len(data) / 1e6:.1f} MB"),
        ("write (in-memory store)", write_time, ""),
    ]
    print(f"## Parts of the materialisation (in process, CPU, best of {runs})\n")
    print("| part | CPU | result |")
    print("|---|---:|---|")
    for name, seconds, result in parts:
        print(f"| {name} | {ms(seconds)} | {result} |")
    total = sum(seconds for _name, seconds, _result in parts)
    print(f"| **total** | **{ms(total)}** | |")
    print(f"| for comparison: the graph builder's store lines | {ms(graph_time)} | |\n")


# ------------------------------------------------------------------ reads


def bench_reads(store_path: Path, reads: int) -> None:
    from ontomap.backends import LocalBackend
    from ontomap.crosswalk import CrosswalkReader
    from ontomap.model import IndexCode
    from ontomap.store import Store

    print(f"## Warm reads of one code ({reads} calls after 50 warm-up, in process)\n")
    print("| code | uses | via | with uses p50 / p99 | without p50 / p99 | pairs |")
    print("|---|---|---|---:|---:|---:|")
    with Store(store_path, read_only=True) as store:
        targets = {"Store": store, "LocalBackend": LocalBackend(store)}
        for label, system, code in CODES:
            wanted = IndexCode.of(system, code)
            for via, target in targets.items():
                reader = CrosswalkReader(target)
                cells = []
                found = None
                for uses in (True, False):
                    for _ in range(50):
                        found = reader.code(wanted, uses=uses)
                    times = []
                    for _ in range(reads):
                        started = time.perf_counter()
                        reader.code(wanted, uses=uses)
                        times.append(time.perf_counter() - started)
                    cells.append(f"{ms(percentile(times, 0.5))} / {ms(percentile(times, 0.99))}")
                assert found is not None
                print(
                    f"| {system}:{code} | {label} | {via} | {cells[0]} | {cells[1]} "
                    f"| {len(found.pairs)} |"
                )
    print()


def bench_whole(store_path: Path, runs: int) -> None:
    from ontomap.crosswalk import CrosswalkReader, compute_crosswalk
    from ontomap.store import Store

    print("## The whole crosswalk\n")
    print("| what | median | min – max | result |")
    print("|---|---:|---:|---|")
    with Store(store_path, read_only=True) as store:
        reader = CrosswalkReader(store)
        reader.pairs("RADLEX", "SNOMED")
        for name, function in (
            ("RADLEX → SNOMED pairs, in process", lambda: reader.pairs("RADLEX", "SNOMED")),
            ("every pair, both ways, in process", lambda: reader.pairs()),
            ("whole crosswalk with every use list, in process", lambda: reader.crosswalk().pairs),
        ):
            times, result = [], None
            for _ in range(max(runs, 5)):
                started = time.perf_counter()
                result = function()
                times.append(time.perf_counter() - started)
            print(
                f"| {name} | {ms(statistics.median(times))} | {ms(min(times))} – {ms(max(times))} "
                f"| {len(result or ())} pairs |"
            )
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            pairs = compute_crosswalk(store).pairs
            times.append(time.perf_counter() - started)
        print(
            f"| computed from the store by SPARQL (no materialised graph) "
            f"| {ms(statistics.median(times))} | {ms(min(times))} – {ms(max(times))} "
            f"| {len(pairs)} pairs, every system |"
        )
    processes = {
        "RADLEX → SNOMED as a process": (
            "from ontomap.store import Store; from ontomap.crosswalk import CrosswalkReader\n"
            f"with Store({str(store_path)!r}, read_only=True) as s:\n"
            "    print(len(CrosswalkReader(s).pairs('RADLEX', 'SNOMED')))"
        ),
        "one code (RID5791, with uses) as a process": (
            "from ontomap.store import Store; from ontomap.crosswalk import CrosswalkReader\n"
            "from ontomap.model import IndexCode\n"
            f"with Store({str(store_path)!r}, read_only=True) as s:\n"
            "    print(len(CrosswalkReader(s).code(IndexCode.of('RADLEX', 'RID5791')).pairs))"
        ),
    }
    for name, code in processes.items():
        times = []
        for _ in range(max(runs, 5)):
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True
            )
            times.append(time.perf_counter() - started)
        print(
            f"| {name} | {ms(statistics.median(times))} | {ms(min(times))} – {ms(max(times))} "
            f"| {done.stdout.strip()} pairs |"
        )
    print()


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--one-build":
        one_build(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4] == "1")
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--runs", type=int, default=3, help="builds of each kind (>= 3)")
    parser.add_argument("--reads", type=int, default=1000, help="timed reads per code")
    parser.add_argument("--keep", type=Path, help="keep the built store here")
    parser.add_argument("--skip-build", action="store_true", help="only reads (needs --keep)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-crosswalk-") as scratch:
        store_path = args.keep or Path(scratch) / "kg"
        if not args.skip_build:
            bench_build(args.corpus, Path(scratch), max(args.runs, 3))
            bench_parts(args.corpus, max(args.runs, 3))
        if not (store_path / "CURRENT").exists():
            child("--one-build", str(args.corpus), str(store_path), "1")
        bench_reads(store_path, args.reads)
        bench_whole(store_path, args.runs)


if __name__ == "__main__":
    main()
