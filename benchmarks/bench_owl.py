"""Benchmark of the OWL export (and HermiT) on the real OIFM corpus, as whole processes.

Times ``ontomap export DEFS -o x.owl`` (RDF/XML) and ``-f owl-ttl -o x.owl.ttl`` (Turtle), each
in a fresh process, reading and building included; with ``--baseline DIR`` the same commands
run from another checkout of ontomap too (for example ``git worktree add /tmp/base <commit>``),
interleaved with this one's runs so that both see the same machine load. ``--plain`` adds a
plain rdflib RDF/XML serialisation of the instance graph, ``--reason`` ``ontomap reason x.owl``
(HermiT through owlready2; needs Java). Prints the median and the range of the wall time and
of the CPU time (user + system, which a loaded machine inflates less), the peak memory (max RSS
of the process and its children, so Java counts for ``reason``) and the output size as a
Markdown table. Target for the export: 3 s, in either format.

    python benchmarks/bench_owl.py [--runs 5] [--defs ../shared/corpus/findingmodels/defs]
                                   [--baseline DIR] [--plain] [--reason]
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
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DEFS = ROOT.parent / "shared" / "corpus" / "findingmodels" / "defs"
TARGET_SECONDS = 3.0

#: A plain rdflib RDF/XML serialisation of the same graph, in a fresh process.
PLAIN_RDFLIB = """
import sys
from ontomap.graph import GraphBuilder
from ontomap.readers import read_models
report = read_models([sys.argv[1]])
graph = GraphBuilder().graph(source.model for source in report.models)
graph.to_rdflib().serialize(destination=sys.argv[2], format="xml")
"""


@dataclass
class Step:
    name: str
    command: list[str]
    root: Path
    output: Path | None
    times: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    peaks: list[float] = field(default_factory=list)

    def run(self) -> None:
        """One run: wall seconds, CPU seconds (user + system) and peak RSS in MB (the process or
        any of its children)."""
        env = dict(os.environ, PYTHONPATH=str(self.root))
        started = time.perf_counter()
        process = subprocess.Popen(
            self.command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=self.root
        )
        _pid, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            assert process.stderr is not None
            message = process.stderr.read().decode()
            raise SystemExit(f"failed: {' '.join(self.command)}\n{message}")
        # Linux folds the peak of the child's own (reaped) children, such as Java, into wait4's.
        self.times.append(elapsed)
        self.cpu.append(usage.ru_utime + usage.ru_stime)
        self.peaks.append(usage.ru_maxrss / 1024)

    def row(self) -> str:
        size = f"{self.output.stat().st_size / 1e6:.1f}" if self.output else "–"
        wall = f"{statistics.median(self.times):.2f} ({min(self.times):.2f}–{max(self.times):.2f})"
        cpu = f"{statistics.median(self.cpu):.2f} ({min(self.cpu):.2f}–{max(self.cpu):.2f})"
        return f"| {self.name} | {wall} | {cpu} | {max(self.peaks):.0f} | {size} |"


def export_steps(label: str, root: Path, defs: str, tmp: Path) -> list[Step]:
    ontomap = [sys.executable, "-m", "ontomap"]
    xml, turtle = tmp / f"{label}.owl", tmp / f"{label}.owl.ttl"
    return [
        Step(
            f"{label}: `ontomap export DEFS -o x.owl` (RDF/XML)",
            [*ontomap, "export", defs, "-o", str(xml), "-q"],
            root,
            xml,
        ),
        Step(
            f"{label}: `ontomap export DEFS -f owl-ttl -o x.owl.ttl` (Turtle)",
            [*ontomap, "export", defs, "-f", "owl-ttl", "-o", str(turtle), "-q"],
            root,
            turtle,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--defs", type=Path, default=DEFAULT_DEFS)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--baseline", type=Path, help="Another ontomap checkout to compare.")
    parser.add_argument("--plain", action="store_true", help="Add the plain rdflib row.")
    parser.add_argument("--reason", action="store_true", help="Add the HermiT row.")
    args = parser.parse_args()
    if not args.defs.is_dir():
        raise SystemExit(f"corpus not found at {args.defs}")
    defs = str(args.defs.resolve())
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        steps = export_steps("this checkout", ROOT, defs, tmp)
        if args.baseline is not None:
            steps += export_steps(f"baseline {args.baseline}", args.baseline.resolve(), defs, tmp)
        if args.plain:
            plain = tmp / "plain.rdf"
            command = [sys.executable, "-c", PLAIN_RDFLIB, defs, str(plain)]
            steps.append(
                Step("plain rdflib `to_rdflib().serialize(format='xml')`", command, ROOT, plain)
            )
        for _ in range(args.runs):
            for step in steps:
                step.run()
        if args.reason:
            if shutil.which("java") is None:
                raise SystemExit("--reason needs java on PATH")
            command = [sys.executable, "-m", "ontomap", "reason", str(tmp / "this checkout.owl")]
            reason = Step("`ontomap reason x.owl` (HermiT, Java included)", command, ROOT, None)
            reason.run()
            steps.append(reason)
        print(f"OIFM corpus at {args.defs}, {args.runs} run(s) each, {os.cpu_count()} CPUs,")
        print(f"load average before the last run {os.getloadavg()[0]:.2f}\n")
        print("| step | wall s: median (min–max) | CPU s: median (min–max) | peak MB | output MB |")
        print("|---|---:|---:|---:|---:|")
        for step in steps:
            print(step.row())
    exports = steps[:2]
    ok = all(statistics.median(s.times) <= TARGET_SECONDS for s in exports)
    print(f"\nOWL export target (≤ {TARGET_SECONDS:.0f} s): " + ("met" if ok else "NOT met"))


if __name__ == "__main__":
    main()
