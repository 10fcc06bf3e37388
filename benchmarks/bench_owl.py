"""Benchmark of the OWL export (and HermiT) on the real OIFM corpus, as whole processes.

Times ``ontomap export DEFS -o x.owl`` (RDF/XML) and ``-f owl-ttl`` beside a plain rdflib
RDF/XML serialisation of the same knowledge graph (``KnowledgeGraph.to_rdflib().serialize(
format="xml")``, reading and building included), each in a fresh process, and
``ontomap reason x.owl`` (HermiT through owlready2; skipped without Java). Prints the median
and best wall time, the peak memory (max RSS of the process and its children, so Java counts for
``reason``) and the output size as a Markdown table. Target for the export: under 15 s and 1.5 GB.

    python benchmarks/bench_owl.py [--runs 3] [--defs ../shared/corpus/findingmodels/defs]
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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DEFS = ROOT.parent / "shared" / "corpus" / "findingmodels" / "defs"
TARGET_SECONDS = 15.0
TARGET_MB = 1536.0

#: The baseline, run in a fresh process: the same graph serialised plainly by rdflib.
PLAIN_RDFLIB = """
import sys
from ontomap.graph import GraphBuilder
from ontomap.readers import read_models
report = read_models([sys.argv[1]])
graph = GraphBuilder().graph(source.model for source in report.models)
graph.to_rdflib().serialize(destination=sys.argv[2], format="xml")
"""


@dataclass
class Row:
    name: str
    median: float
    best: float
    peak_mb: float
    size_mb: float | None


def run(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS in MB (the process or any of its children) of one command."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=ROOT
    )
    _pid, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        assert process.stderr is not None
        raise SystemExit(f"failed: {' '.join(command)}\n{process.stderr.read().decode()}")
    # Linux folds the peak of the child's own (reaped) children, such as Java, into wait4's.
    return elapsed, usage.ru_maxrss / 1024


def measure(
    name: str, command: Callable[[Path], list[str]], output: str | None, runs: int, tmp: Path
) -> Row:
    times, peaks, size = [], [], None
    for _ in range(runs):
        elapsed, peak = run(command(tmp))
        times.append(elapsed)
        peaks.append(peak)
        if output is not None:
            size = (tmp / output).stat().st_size / 1e6
    return Row(name, statistics.median(times), min(times), max(peaks), size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--defs", type=Path, default=DEFAULT_DEFS)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-reason", action="store_true", help="Skip the HermiT row.")
    args = parser.parse_args()
    if not args.defs.is_dir():
        raise SystemExit(f"corpus not found at {args.defs}")
    ontomap = [sys.executable, "-m", "ontomap"]
    defs = str(args.defs)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        rows.append(
            measure(
                "plain rdflib: `to_rdflib().serialize(format='xml')` (read + build included)",
                lambda d: [sys.executable, "-c", PLAIN_RDFLIB, defs, str(d / "plain.rdf")],
                "plain.rdf",
                args.runs,
                tmp,
            )
        )
        rows.append(
            measure(
                "`ontomap export DEFS -o x.owl` (OWL, RDF/XML)",
                lambda d: [*ontomap, "export", defs, "-o", str(d / "x.owl"), "-q"],
                "x.owl",
                args.runs,
                tmp,
            )
        )
        rows.append(
            measure(
                "`ontomap export DEFS -f owl-ttl -o x.owl.ttl` (OWL, Turtle)",
                lambda d: [
                    *ontomap,
                    "export",
                    defs,
                    "-f",
                    "owl-ttl",
                    "-o",
                    str(d / "x.owl.ttl"),
                    "-q",
                ],
                "x.owl.ttl",
                args.runs,
                tmp,
            )
        )
        if not args.no_reason and shutil.which("java"):
            rows.append(
                measure(
                    "`ontomap reason x.owl` (HermiT via owlready2, Java included)",
                    lambda d: [*ontomap, "reason", str(d / "x.owl"), "-q"],
                    None,
                    1,
                    tmp,
                )
            )
    print(f"OIFM corpus at {args.defs}, {args.runs} run(s) each, {os.cpu_count()} CPUs\n")
    print("| step | median s | best s | peak MB | output MB |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        size = f"{row.size_mb:.1f}" if row.size_mb is not None else "–"
        print(f"| {row.name} | {row.median:.2f} | {row.best:.2f} | {row.peak_mb:.0f} | {size} |")
    exports = [r for r in rows if r.name.startswith("`ontomap export")]
    ok = all(r.median < TARGET_SECONDS and r.peak_mb < TARGET_MB for r in exports)
    print(
        f"\nOWL export target (< {TARGET_SECONDS:.0f} s, < {TARGET_MB / 1024:.1f} GB): "
        + ("met" if ok else "NOT met")
    )


if __name__ == "__main__":
    main()
