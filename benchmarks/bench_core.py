"""Benchmark of the core conversion on the real OIFM corpus, as whole processes.

Times ``ontomap export DEFS -o x.ttl`` and ``ontomap build DEFS --store DIR`` beside a plain
rdflib script doing the same conversion (plain_rdflib.py), each in a fresh process, and
reports the median wall time and peak memory (max RSS) over several runs, as a Markdown table.

    python benchmarks/bench_core.py [--runs 5] [--defs ../shared/corpus/findingmodels/defs]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DEFS = ROOT.parent / "shared" / "corpus" / "findingmodels" / "defs"


def run(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one command in a fresh process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{process.stderr.read().decode()}")
    return elapsed, usage.ru_maxrss / 1024


def measure(name: str, make_command, runs: int) -> dict[str, float | str]:
    times, peaks = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            elapsed, peak = run(make_command(Path(tmp)))
        times.append(elapsed)
        peaks.append(peak)
    return {
        "name": name,
        "median": statistics.median(times),
        "best": min(times),
        "peak": max(peaks),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--defs", type=Path, default=DEFAULT_DEFS)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not args.defs.is_dir():
        raise SystemExit(f"corpus not found at {args.defs}")
    ontomap = [sys.executable, "-m", "ontomap"]
    if shutil.which("ontomap"):
        ontomap = [shutil.which("ontomap")]
    defs = str(args.defs)
    rows = [
        measure(
            "plain rdflib script (Graph.add + serialize Turtle)",
            lambda d: [
                sys.executable,
                str(ROOT / "benchmarks" / "plain_rdflib.py"),
                defs,
                str(d / "x.ttl"),
            ],
            args.runs,
        ),
        measure(
            "ontomap export DEFS -o x.ttl",
            lambda d: [*ontomap, "export", defs, "-o", str(d / "x.ttl"), "-q"],
            args.runs,
        ),
        measure(
            "ontomap export DEFS -o x.nt",
            lambda d: [*ontomap, "export", defs, "-o", str(d / "x.nt"), "-q"],
            args.runs,
        ),
        measure(
            "ontomap build DEFS --store DIR (new store)",
            lambda d: [*ontomap, "build", defs, "--store", str(d / "kg"), "-q"],
            args.runs,
        ),
    ]
    baseline = rows[0]["median"]
    files = len(list(args.defs.glob("*.json")))
    print(
        f"{files} models, {args.runs} runs each, {os.cpu_count()} CPUs, Python "
        f"{sys.version.split()[0]}\n"
    )
    print("| command | median s | best s | peak MB | speed-up vs plain rdflib |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['name']} | {row['median']:.2f} | {row['best']:.2f} | {row['peak']:.0f} | "
            f"{baseline / row['median']:.1f}x |"
        )


if __name__ == "__main__":
    main()
