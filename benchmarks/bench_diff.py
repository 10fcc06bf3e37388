"""Benchmark of ``ontomap diff`` on two releases of the real OIFM corpus, as whole processes.

The new release is a copy of the corpus's ``defs/`` with one model in 50 changed (two values
swapped, a code removed, a model renamed, in turn); the old release is the corpus as it is.
Times ``ontomap diff OLD NEW --format json`` in a fresh process, beside the baseline of reading
both sides alone (``read_models`` twice, also a fresh process), and prints the median, the spread
and the peak memory as a Markdown table. Target: under 5 s.

    python benchmarks/bench_diff.py [--runs 5] [--defs ../shared/corpus/findingmodels/defs]
"""

from __future__ import annotations

import argparse
import json
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
TARGET_SECONDS = 5.0

READ_BOTH = """
import sys
from ontomap.readers import read_models
read_models([sys.argv[1]]); read_models([sys.argv[2]])
"""


def make_release(defs: Path, folder: Path) -> int:
    """Copy ``defs`` to ``folder``, changing one model in 50; return how many were changed."""
    folder.mkdir(parents=True)
    changed = 0
    for i, path in enumerate(sorted(defs.glob("*.fm.json"))):
        target = folder / path.name
        if i % 50:
            shutil.copyfile(path, target)
            continue
        model = json.loads(path.read_text("utf-8"))
        choices = [a for a in model.get("attributes", []) if a.get("type") == "choice"]
        if i % 150 == 0 and choices and len(choices[0]["values"]) > 1:
            values = choices[0]["values"]
            values[0]["name"], values[1]["name"] = values[1]["name"], values[0]["name"]
        elif i % 150 == 50 and model.get("index_codes"):
            model["index_codes"] = model["index_codes"][1:]
        else:
            model["name"] = model["name"] + " (revised)"
        target.write_text(json.dumps(model, indent=2), "utf-8")
        changed += 1
    return changed


def timed(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of ``command`` run to completion (its own rusage)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        sys.exit(f"{command} failed ({code}): {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
    return seconds, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--defs", type=Path, default=DEFAULT_DEFS)
    args = parser.parse_args()
    if not args.defs.is_dir():
        sys.exit(f"no corpus at {args.defs}")
    with tempfile.TemporaryDirectory() as tmp:
        new = Path(tmp) / "new"
        changed = make_release(args.defs, new)
        commands = {
            "read both sides (baseline)": [
                sys.executable,
                "-c",
                READ_BOTH,
                str(args.defs),
                str(new),
            ],
            "ontomap diff OLD NEW -f json": [
                sys.executable,
                "-m",
                "ontomap",
                "diff",
                str(args.defs),
                str(new),
                "-f",
                "json",
            ],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        peaks: dict[str, float] = {}
        for _ in range(args.runs):  # alternated, so that load on the machine hits both alike
            for name, command in commands.items():
                seconds, peak = timed(command)
                times[name].append(seconds)
                peaks[name] = max(peak, peaks.get(name, 0.0))
    base = statistics.median(times["read both sides (baseline)"])
    print(
        f"{len(list(args.defs.glob('*.fm.json')))} models per side, {changed} changed, "
        f"{args.runs} runs\n"
    )
    print("| run | median | min – max | × baseline | peak RSS |")
    print("|---|---:|---:|---:|---:|")
    for name, values in times.items():
        median = statistics.median(values)
        print(
            f"| {name} | {median:.2f} s | {min(values):.2f} – {max(values):.2f} s | "
            f"{median / base:.2f} | {peaks[name]:.0f} MB |"
        )
    verdict = (
        "meets"
        if statistics.median(times["ontomap diff OLD NEW -f json"]) <= TARGET_SECONDS
        else "misses"
    )
    print(f"\nthe diff {verdict} the {TARGET_SECONDS:.0f} s target")


if __name__ == "__main__":
    main()
