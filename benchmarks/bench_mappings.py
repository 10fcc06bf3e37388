"""Benchmark of the cross-terminology mapping sets on the real OIFM corpus.

Builds a store from the JSON corpus (or uses ``--store``), then times:

- in this process: reading the engine's RADLEX → SNOMED pairs from the store's materialised
  crosswalk graph (:meth:`ontomap.crosswalk.CrosswalkReader.pairs`), the mapping set for
  RADLEX → SNOMED and for every system pair, each writer (sssom, fhir-r4, fhir-r5, skos) with
  rows and bytes, and the crosswalk computed straight from the models
  (:func:`ontomap.crosswalk.build_crosswalk`, what ``ontomap mappings SOURCES`` does);
- as whole processes: ``ontomap mappings --store KG --from RADLEX --to SNOMED -o x`` for each
  format (start-up, store, crosswalk graph, write), beside ``python -c "import ontomap.cli"``
  (what every command pays before it starts) and ``ontomap mappings DEFS`` (from the files).

The machine may be shared and noisy: every figure is the median of ``--runs`` runs with its
spread (fastest, slowest, and the middle half), never a single run.

    python benchmarks/bench_mappings.py [--runs 11] [--store DIR] [--corpus DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ontomap.crosswalk import CrosswalkReader, build_crosswalk, entities_of_model  # noqa: E402
from ontomap.mappings import FORMATS, build_mapping_set, serialize  # noqa: E402
from ontomap.readers import read_models  # noqa: E402
from ontomap.store import Store  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "findingmodels"
DATE = "2025-01-31"
HEADER = "| median | fastest | slowest | middle half | result |\n|---|---:|---:|---:|---:|---|"


def timed(function: Callable[[], Any], runs: int) -> tuple[list[float], Any]:
    """Wall seconds of each run of ``function`` and its last result."""
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return times, result


def row(name: str, times: list[float], result: str = "") -> str:
    """A table row: median, fastest, slowest and the middle half (quartiles) of ``times``."""
    ordered = sorted(times)
    if len(ordered) >= 4:
        q1, _q2, q3 = statistics.quantiles(ordered, n=4)
        middle = f"{q1:.3f}–{q3:.3f}"
    else:
        middle = "–"
    cells = [
        name,
        f"{statistics.median(ordered):.3f}",
        f"{ordered[0]:.3f}",
        f"{ordered[-1]:.3f}",
        middle,
        result,
    ]
    return "| " + " | ".join(cells) + " |"


def build_store(corpus: Path, folder: Path) -> Path:
    report = read_models([corpus / "defs"])
    with Store(folder) as store:
        store.load(report.models)
    return folder


def process(command: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one run of ``command``. On a shared
    machine the CPU time is the steadier figure: waiting for a core does not count in it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("SOURCE_DATE_EPOCH", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def in_process(store_path: Path, corpus: Path, runs: int) -> None:
    with Store(store_path, read_only=True) as store:
        print(f"store: {store_path} ({len(store.model_ids())} models, {len(store)} quads)\n")
        print("| step (in process) " + HEADER)
        times, pairs = timed(lambda: CrosswalkReader(store).pairs("RADLEX", "SNOMED"), runs)
        print(row("engine pairs RADLEX → SNOMED (crosswalk graph)", times, f"{len(pairs)} pairs"))
        sets = {
            "RADLEX → SNOMED": lambda: build_mapping_set(
                store, "RADLEX", "SNOMED", mapping_date=DATE
            ),
            "all system pairs": lambda: build_mapping_set(store, mapping_date=DATE),
        }
        for name, make in sets.items():
            times, mapping_set = timed(make, runs)
            left_out = f"{mapping_set.colisted} co-listed left out"
            print(row(f"mapping set {name}", times, f"{len(mapping_set)} mappings, {left_out}"))
            for fmt in FORMATS:
                times, data = timed(partial(serialize, mapping_set, fmt), runs)
                print(row(f"  write {fmt}", times, f"{len(data) / 1e6:.3f} MB"))
    report = read_models([corpus / "defs"])
    models = [source.model for source in report.models]

    def from_models() -> Any:
        crosswalk = build_crosswalk(e for model in models for e in entities_of_model(model))
        return build_mapping_set(crosswalk, "RADLEX", "SNOMED", mapping_date=DATE)

    times, mapping_set = timed(from_models, max(3, runs // 3))
    print(row("crosswalk from the models + set RADLEX → SNOMED", times, f"{len(mapping_set)}"))


def processes(store_path: Path, corpus: Path, scratch: Path, runs: int) -> None:
    """Whole processes, run round-robin (one run of each command in turn), so that a change of
    load on a shared machine weighs on every command alike."""
    commands: dict[str, tuple[list[str], Path | None]] = {
        '`python -c "import ontomap.cli"` (start-up of every command)': (
            [sys.executable, "-c", "import ontomap.cli"],
            None,
        )
    }
    for fmt in FORMATS:
        output = scratch / ("x.sssom.tsv" if fmt == "sssom" else f"x.{fmt}")
        command = [sys.executable, "-m", "ontomap", "mappings", "--store", str(store_path)]
        command += ["--from", "RADLEX", "--to", "SNOMED", "-o", str(output)]
        if fmt != "sssom":
            command += ["-f", fmt]
        name = f"`ontomap mappings --store KG --from RADLEX --to SNOMED` {fmt}"
        commands[name] = (command, output)
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, (command, _output) in commands.items():
            wall, cpu = process(command)
            walls[name].append(wall)
            cpus[name].append(cpu)
    command = [sys.executable, "-m", "ontomap", "mappings", str(corpus / "defs"), "-q"]
    command += ["--from", "RADLEX", "--to", "SNOMED", "-o", str(scratch / "y.sssom.tsv")]
    name = "`ontomap mappings DEFS --from RADLEX --to SNOMED` (no store)"
    commands[name] = (command, scratch / "y.sssom.tsv")
    measured = [process(command) for _ in range(max(3, runs // 3))]
    walls[name], cpus[name] = [w for w, _c in measured], [c for _w, c in measured]
    for title, figures in (("wall", walls), ("CPU (user + system)", cpus)):
        print(f"\n| process, {title} seconds (round-robin) " + HEADER)
        for name, (_command, output) in commands.items():
            size = f"{output.stat().st_size / 1e6:.3f} MB" if output is not None else ""
            print(row(name, figures[name], size))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--store", type=Path, help="an existing store of the corpus")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--skip-in-process", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-mappings-") as scratch:
        store_path = args.store or build_store(args.corpus, Path(scratch) / "kg")
        if not args.skip_in_process:
            in_process(store_path, args.corpus, args.runs)
        processes(store_path, args.corpus, Path(scratch), args.runs)


if __name__ == "__main__":
    main()
