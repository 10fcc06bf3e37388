"""Benchmark of lookups beside a SNOMED-sized release.

Generates (with :mod:`bench_terminology`'s generators, invented content) a SNOMED-sized RF2
Snapshot and ``--models`` synthetic finding models coded with its concepts, about a third of
them under the concept with the most descendants (~110,000 at full size). Builds two stores
from the same models, one of them with the release loaded, then measures, each step in a fresh
process (2 shared cores):

1. warm in-process lookups of the most used codes, without and with the release (the release
   block: one ``Releases.concept()`` per code and per match);
2. ``lookup(..., descendants=True)`` of the big concept (cold: the first call in the process;
   warm: the median of further calls on the same reader);
3. the hierarchy-aware named queries (``findings-under-concept`` on the big concept and on a
   small one, ``codes-not-in-release``, ``codes-by-top-hierarchy``).

    python benchmarks/bench_lookup_releases.py [--runs 5] [--scale 1.0] [--models 1500]
                                               [--keep DIR]

With ``--keep DIR`` the generated files and stores are kept and reused by the next run.
Target: the descendants of a concept with ~100,000 descendants <= 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from bench_terminology import sctid, write_rf2  # noqa: E402

SCALE_CONCEPTS = 370_000


def write_models(folder: Path, n_concepts: int, big_end: int, count: int, seed: int = 3) -> None:
    """``count`` finding models, each with a SNOMED index code, one attribute and three values
    coded with concepts of the release (about a third under the big concept, whose block is
    the concept indexes 1 to ``big_end``), and a few shared value codes (the most used)."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    shared = [sctid(100_000 + i, "00") for i in rng.sample(range(big_end, n_concepts), 3)]

    def code() -> str:
        if rng.random() < 0.35:
            return sctid(100_000 + rng.randrange(2, big_end), "00")
        return sctid(100_000 + rng.randrange(big_end, n_concepts), "00")

    for m in range(count):
        attribute = f"OIFMA_BNCH_{m:06d}"
        values = [
            {
                "value_code": f"{attribute}.{v}",
                "name": f"value {v}",
                "index_codes": [
                    {"system": "SNOMED", "code": shared[v] if v < 2 else code(), "display": "v"}
                ],
            }
            for v in range(3)
        ]
        model = {
            "oifm_id": f"OIFM_BNCH_{m:06d}",
            "name": f"bench finding {m}",
            "description": "A synthetic finding for the benchmark",
            "index_codes": [{"system": "SNOMED", "code": code(), "display": f"finding {m}"}],
            "attributes": [
                {
                    "oifma_id": attribute,
                    "name": "presence",
                    "type": "choice",
                    "values": values,
                }
            ],
        }
        (folder / f"bench_{m:06d}.fm.json").write_text(json.dumps(model, indent=1))


def child(code: str, *args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT
    )
    if done.returncode != 0:
        raise SystemExit(f"child failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


_LOAD = """
import sys
from ontomap.store import Store
from ontomap.releases import Releases
with Store(sys.argv[1]) as store:
    Releases(store).load(sys.argv[2])
print("{}")
"""

_LOOKUPS = """
import json, statistics, sys, time
from ontomap.store import Store
from ontomap.lookup import lookup
from ontomap.releases import Releases
codes = json.loads(sys.argv[2])
with Store(sys.argv[1], read_only=True) as store:
    for code in codes:   # warm up: the reader's checks, the release list
        lookup(store, code)
    times, cpu = [], []
    for _ in range(int(sys.argv[3])):
        for code in codes:
            started, cpu_started = time.perf_counter(), time.process_time()
            result = lookup(store, code)
            result.dumps()
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
    times.sort(); cpu.sort()
    p99 = lambda xs: xs[min(len(xs) - 1, int(len(xs) * 0.99))]
    print(json.dumps({"p50": statistics.median(times), "p99": p99(times),
                      "cpu_p50": statistics.median(cpu), "cpu_p99": p99(cpu),
                      "releases": len(result.releases or ()), "n": len(times)}))
"""

_DESCENDANTS = """
import json, statistics, sys, time
from ontomap.store import Store
from ontomap.lookup import lookup
with Store(sys.argv[1], read_only=True) as store:
    started = time.perf_counter()
    result = lookup(store, sys.argv[2], descendants=True)
    text = result.dumps()
    cold = time.perf_counter() - started
    warm, cpu = [], []
    for _ in range(int(sys.argv[3])):
        started, used = time.perf_counter(), time.process_time()
        lookup(store, sys.argv[2], descendants=True).dumps()
        warm.append(time.perf_counter() - started)
        cpu.append(time.process_time() - used)
    block = result.descendants
    print(json.dumps({"cold": cold, "warm": statistics.median(warm), "warm_min": min(warm),
                      "warm_cpu": statistics.median(cpu),
                      "warm_max": max(warm), "in_release": block.count,
                      "used_codes": len(block.codes), "uses": len(result.used_by),
                      "bytes": len(text)}))
"""

_QUERIES = """
import json, statistics, sys, time
from ontomap.store import Store
from ontomap.query import named_query
runs = int(sys.argv[2])
out = {}
with Store(sys.argv[1], read_only=True) as store:
    for label, name, params in json.loads(sys.argv[3]):
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            result = store.query(named_query(name), params)
            rows = len(result.rows)
            times.append(time.perf_counter() - started)
            if times[-1] > 30:
                break
        out[label] = {"median": statistics.median(times), "min": min(times),
                      "max": max(times), "rows": rows, "runs": len(times)}
print(json.dumps(out))
"""


def _spread(values: list[float], unit: float = 1000.0) -> str:
    med = statistics.median(values) * unit
    return f"{med:.1f} ({min(values) * unit:.1f}–{max(values) * unit:.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of release size")
    parser.add_argument("--models", type=int, default=1500)
    parser.add_argument("--keep", type=Path, help="folder to keep (and reuse) the files in")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="ontomap-bench-lookup-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        meta_path = work / "meta.json"
        if meta_path.exists():
            meta = json.loads(meta_path.read_text())
        else:
            rf2 = write_rf2(work / "rf2", args.scale)
            n = int(SCALE_CONCEPTS * args.scale)
            write_models(work / "models", n, int(rf2["block"]) + 1, args.models)
            for name in ("kg-plain", "kg-release"):
                shutil.rmtree(work / name, ignore_errors=True)
                subprocess.run(
                    [
                        *(sys.executable, "-m", "ontomap", "build", str(work / "models")),
                        *("--store", str(work / name), "-q"),
                    ],
                    cwd=ROOT,
                    check=True,
                )
            child(_LOAD, str(work / "kg-release"), str(rf2["folder"]))
            meta = {"concept": rf2["concept"], "n": n, "block": rf2["block"]}
            meta_path.write_text(json.dumps(meta))
        plain, release = str(work / "kg-plain"), str(work / "kg-release")
        concept = f"SNOMED:{meta['concept']}"
        # the most used codes: the two shared value codes, then the big concept's own uses
        top = _most_used(plain, 5)
        rows = []
        for label, store in (("without a release", plain), ("with the release", release)):
            runs = [child(_LOOKUPS, store, json.dumps(top), "20") for _ in range(args.runs)]
            rows.append(
                f"| warm lookup of the {len(top)} most used codes {label} "
                f"(×20 each, {args.runs} processes): p50 / p99 wall, ms | "
                f"{_spread([float(r['p50']) for r in runs])} / "
                f"{_spread([float(r['p99']) for r in runs])} |"
            )
            rows.append(
                f"| the same, CPU p50 / p99, ms | {_spread([float(r['cpu_p50']) for r in runs])}"
                f" / {_spread([float(r['cpu_p99']) for r in runs])} |"
            )
        desc = [child(_DESCENDANTS, release, concept, "5") for _ in range(args.runs)]
        first = desc[0]
        rows.append(
            f"| `lookup --descendants` of a concept with {int(first['in_release']):,} descendants "
            f"({first['used_codes']} used in the corpus, {first['uses']} uses), cold, s | "
            f"{_spread([float(r['cold']) for r in desc], 1.0)} |"
        )
        rows.append(
            f"| the same, warm (same process), s | {_spread([float(r['warm']) for r in desc], 1.0)}"
            " |"
        )
        rows.append(
            f"| the same, warm, CPU s | {_spread([float(r['warm_cpu']) for r in desc], 1.0)} |"
        )
        small = _child_of(release, meta["concept"])
        queries = [
            ("findings-under-concept, big concept", "findings-under-concept", {"concept": concept}),
            ("findings-under-concept, a leaf", "findings-under-concept", {"concept": small}),
            ("codes-not-in-release", "codes-not-in-release", {}),
            ("codes-by-top-hierarchy", "codes-by-top-hierarchy", {}),
        ]
        answers = child(_QUERIES, release, str(min(args.runs, 3)), json.dumps(queries))
        for label, figures in answers.items():
            rows.append(
                f"| query {label} ({figures['rows']:,} rows, {figures['runs']} runs), s | "
                f"{figures['median']:.2f} ({figures['min']:.2f}–{figures['max']:.2f}) |"
            )
        print("| step | median (min–max) |")
        print("|---|---|")
        for row in rows:
            print(row)
        print(f"| (load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}) | |")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


_MOST_USED = """
import json, sys
from ontomap.store import Store
from ontomap.query import named_query
with Store(sys.argv[1], read_only=True) as store:
    rows = store.query(named_query("codes-by-system"), {"system": "SNOMED"}).rows
    print(json.dumps(["SNOMED:" + row[2].value for row in rows[: int(sys.argv[2])]]))
"""

_CHILD = """
import json, sys
from ontomap.store import Store
from ontomap.releases import Releases
from ontomap.query import named_query
with Store(sys.argv[1], read_only=True) as store:
    used = {row[2].value for row in store.query(named_query("codes-by-system"),
                                                {"system": "SNOMED"}).rows}
    under = sorted(Releases(store).descendants(sys.argv[2], "SNOMED") & used)
    print(json.dumps("SNOMED:" + under[-1]))
"""


def _most_used(store: str, count: int) -> list[str]:
    return child(_MOST_USED, store, str(count))  # type: ignore[return-value]


def _child_of(store: str, concept: str) -> str:
    return child(_CHILD, store, concept)  # type: ignore[return-value]


if __name__ == "__main__":
    main()
