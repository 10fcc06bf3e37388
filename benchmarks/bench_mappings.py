"""Benchmark of the cross-terminology mapping sets on the real OIFM corpus.

Builds a store from the JSON corpus (or uses ``--store``), then times, in this process:

- the crosswalk itself (:func:`ontomap.crosswalk.code_pairs`, three SPARQL queries) for
  RADLEX → SNOMED and for every system pair;
- the mapping set (crosswalk + filters + predicates) and each writer (sssom, fhir-r4, fhir-r5,
  skos), reporting rows and bytes;
- ``ontomap mappings`` as a whole process for each format (start-up, store, query, write).

Prints Markdown tables: median and best wall time over ``--runs`` runs.

    python benchmarks/bench_mappings.py [--runs 5] [--store DIR] [--corpus DIR]
"""

from __future__ import annotations

import argparse
import os
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

from ontomap.crosswalk import code_pairs  # noqa: E402
from ontomap.mappings import FORMATS, build_mapping_set, serialize  # noqa: E402
from ontomap.readers import read_models  # noqa: E402
from ontomap.store import Store  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "findingmodels"
DATE = "2025-01-31"


def timed(function: Callable[[], Any], runs: int) -> tuple[list[float], Any]:
    """Wall seconds of each run of ``function`` and its last result."""
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return times, result


def row(name: str, times: list[float], *extra: str) -> str:
    cells = [name, f"{statistics.median(times):.3f}", f"{min(times):.3f}", *extra]
    return "| " + " | ".join(cells) + " |"


def build_store(corpus: Path, folder: Path) -> Path:
    report = read_models([corpus / "defs"])
    with Store(folder) as store:
        store.load(report.models)
    return folder


def process(command: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--store", type=Path, help="an existing store of the corpus")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-mappings-") as scratch:
        store_path = args.store or build_store(args.corpus, Path(scratch) / "kg")
        with Store(store_path, read_only=True) as store:
            print(f"store: {store_path} ({len(store.model_ids())} models, {len(store)} quads)\n")
            print("| step (in process) | median s | best s | result |")
            print("|---|---:|---:|---|")
            times, pairs = timed(lambda: code_pairs(store, "RADLEX", "SNOMED"), args.runs)
            print(row("code_pairs RADLEX → SNOMED", times, f"{len(pairs)} pairs"))
            times, pairs = timed(lambda: code_pairs(store, None, None), args.runs)
            print(row("code_pairs, all systems (both ways)", times, f"{len(pairs)} pairs"))
            sets = {
                "RADLEX → SNOMED": lambda: build_mapping_set(
                    store, "RADLEX", "SNOMED", mapping_date=DATE
                ),
                "all system pairs": lambda: build_mapping_set(store, mapping_date=DATE),
            }
            for name, make in sets.items():
                times, mapping_set = timed(make, args.runs)
                print(row(f"mapping set {name}", times, f"{len(mapping_set)} mappings"))
                for fmt in FORMATS:
                    times, data = timed(partial(serialize, mapping_set, fmt), args.runs)
                    print(row(f"  write {fmt}", times, f"{len(data) / 1e6:.2f} MB"))
        print("\n| `ontomap mappings --from RADLEX --to SNOMED` (process) | median s | best s |")
        print("|---|---:|---:|")
        for fmt in FORMATS:
            output = Path(scratch) / f"out.{fmt}"
            command = [sys.executable, "-m", "ontomap", "mappings", "--store", str(store_path)]
            command += ["--from", "RADLEX", "--to", "SNOMED", "-f", fmt, "-o", str(output), "-q"]
            times = [process(command) for _ in range(args.runs)]
            print(row(fmt, times))


if __name__ == "__main__":
    main()
