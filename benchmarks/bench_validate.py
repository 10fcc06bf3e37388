"""Benchmark of ``ontomap validate`` on the real OIFM corpus, as whole processes.

Times ``ontomap validate`` on the JSON corpus without and with ``--shacl`` (shapes compiled to
SPARQL, run by Oxigraph), and on the JSON and Markdown corpus together without and with it, each
in a fresh process; reports the median and best wall time, the median CPU time with its spread
(lowest–highest: steadier than wall time on a busy machine, but a loaded machine inflates it too)
and the peak memory (max RSS) over several runs, as a Markdown table. The target: the full
corpus, SHACL included, under 10 s.

It also times the crosswalk check alone (``check_crosswalk``: the crosswalk engine run on the
models and its outliers located in the files) in this process, on the JSON corpus as validate
loads it, over ``--runs`` rounds: CPU median and spread, the step's share of a whole run hidden
by the noise of a busy machine.

With ``--pyshacl SECONDS`` it also tries the reference engine (``--shacl-engine pyshacl``) on
the JSON corpus once, stopping it after SECONDS (it takes far longer than the target).

    python benchmarks/bench_validate.py [--runs 5] [--corpus ../shared/corpus/findingmodels]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "findingmodels"
#: validate exits 1 when it finds errors: that is a finished run, not a failure.
FINISHED = (0, 1)


def run(command: list[str], timeout: float | None = None) -> tuple[float, float, float, bool]:
    """Wall seconds, CPU seconds, peak RSS (MB) and whether it finished, of one command in a
    fresh process (CPU time varies less than wall time on a busy machine)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT, env=env
    )
    finished = True
    if timeout is not None:
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            finished = False
    _pid, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if finished and os.waitstatus_to_exitcode(status) not in FINISHED:
        assert process.stderr is not None
        raise SystemExit(f"failed: {' '.join(command)}\n{process.stderr.read().decode()}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, finished


def measure(name: str, command: list[str], runs: int) -> dict[str, float | str]:
    times, cpu, peaks = [], [], []
    for _ in range(runs):
        elapsed, used, peak, _finished = run(command)
        times.append(elapsed)
        cpu.append(used)
        peaks.append(peak)
    return {
        "name": name,
        "runs": str(runs),
        "median": f"{statistics.median(times):.2f}",
        "best": f"{min(times):.2f}",
        "cpu": f"{statistics.median(cpu):.2f}",
        "spread": f"{min(cpu):.2f}–{max(cpu):.2f}",
        "peak": f"{max(peaks):.0f}",
    }


def crosswalk_step(defs: Path, runs: int) -> str:
    """Median CPU seconds (lowest–highest) of the crosswalk check on the JSON corpus, with the
    records loaded and the code checks run first, as ``validate`` does."""
    sys.path.insert(0, str(ROOT))
    from ontomap.validate.codes import check_codes
    from ontomap.validate.crosswalk import check_crosswalk
    from ontomap.validate.records import load_records

    records = [r for r in load_records([defs]) if r.model is not None]
    check_codes(records)
    check_crosswalk(records)  # lazy imports
    cpu = []
    for _ in range(runs):
        started = time.process_time()
        check_crosswalk(records)
        cpu.append(time.process_time() - started)
    return f"{statistics.median(cpu):.3f} ({min(cpu):.3f}–{max(cpu):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--pyshacl",
        type=float,
        metavar="SECONDS",
        help="also run the pyshacl engine once on the JSON corpus, stopped after SECONDS",
    )
    args = parser.parse_args()
    defs, text = args.corpus / "defs", args.corpus / "text"
    if not defs.is_dir() or not text.is_dir():
        raise SystemExit(f"corpus not found at {args.corpus} (expected defs/ and text/)")
    ontomap = [sys.executable, "-m", "ontomap", "validate"]
    rows = [
        measure("ontomap validate DEFS", [*ontomap, str(defs)], args.runs),
        measure("ontomap validate DEFS TEXT", [*ontomap, str(defs), str(text)], args.runs),
        measure("ontomap validate DEFS --shacl", [*ontomap, str(defs), "--shacl"], args.runs),
        measure(
            "ontomap validate DEFS TEXT --shacl",
            [*ontomap, str(defs), str(text), "--shacl"],
            args.runs,
        ),
        measure(
            "ontomap validate DEFS --shacl --format json",
            [*ontomap, str(defs), "--shacl", "--format", "json"],
            args.runs,
        ),
    ]
    if args.pyshacl:
        elapsed, used, peak, finished = run(
            [*ontomap, str(defs), "--shacl-engine", "pyshacl"], timeout=args.pyshacl
        )
        shown = f"{elapsed:.2f}" if finished else f"> {args.pyshacl:.0f} (stopped)"
        rows.append(
            {
                "name": "ontomap validate DEFS --shacl-engine pyshacl",
                "runs": "1",
                "median": shown,
                "best": shown,
                "cpu": f"{used:.2f}",
                "spread": "",
                "peak": f"{peak:.0f}",
            }
        )
    step = crosswalk_step(defs, args.runs)
    print(
        f"corpus: {defs} ({sum(1 for _ in defs.glob('*.json')):,} JSON files), "
        f"{text} ({sum(1 for _ in text.glob('*.md')):,} Markdown files); "
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}\n"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.2f}\n")
    print(
        "| command | runs | median wall (s) | best wall (s) | median CPU (s) | CPU spread (s) "
        "| peak RSS (MB) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| `{row['name']}` | {row['runs']} | {row['median']} | {row['best']} | "
            f"{row['cpu']} | {row['spread']} | {row['peak']} |"
        )
    print(f"\ncrosswalk check alone (DEFS, in process, {args.runs} runs): CPU {step} s")


if __name__ == "__main__":
    main()
