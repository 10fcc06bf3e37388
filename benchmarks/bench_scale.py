"""Scale benchmark: build, export and store size on synthetic corpora N times the real one.

Makes corpora of ``N`` copies of the OIFM corpus (``defs/*.fm.json``) under ``--work`` (in
/tmp by default, never in the project), each copy with its IDs rewritten so that all are
distinct: copy 0 is the corpus itself; in copy ``k`` the letters of every ``OIFM_XXXX_NNNNNN``
and ``OIFMA_XXXX_NNNNNN.N`` ID become a code of their own (``Q`` + the original code's rank +
two letters for ``k``), the digits staying. Then, each in a fresh process, it times

- ``ontomap build CORPUS --store DIR`` (a new store),
- ``ontomap export CORPUS -o x.nt`` and ``-o x.ttl`` (from the sources),
- ``ontomap export --store DIR -o x.nt`` (from the store),

and prints a Markdown table of the median wall time, the spread (min–max), peak memory (max
RSS) and the growth against the 1x, with the store's size on disk beside the size of a plain
Oxigraph database bulk-loaded with the same quads. A second table sets each step against its
floor, timed in the same run: reading the JSON plus Oxigraph writing the triples (exports from
files), Oxigraph dumping the store (``export --store``) and Oxigraph's bulk loader alone
loading the quads the build stored (``build``).

    python benchmarks/bench_scale.py [--sizes 1,10,100] [--runs 3] [--work /tmp/ontomap-scale]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DEFS = ROOT.parent / "shared" / "corpus" / "findingmodels" / "defs"
DEFAULT_WORK = Path("/tmp/ontomap-scale")

_ID = re.compile(r"\b(OIFMA?)_([A-Z]{3,4})_([0-9]{6})")


def _copy_code(codes: dict[str, int], code: str, copy: int) -> str:
    rank = codes.setdefault(code, len(codes))
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return "Q" + letters[rank % 26] + letters[copy // 26 % 26] + letters[copy % 26]


def make_corpus(defs: Path, copies: int, target: Path) -> Path:
    """``copies`` copies of ``defs`` under ``target`` (one folder per copy), IDs rewritten so
    all are distinct; reused when already complete."""
    done = target / ".complete"
    if done.exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    files = sorted(defs.glob("*.fm.json"))
    texts = [(f.name, f.read_text(encoding="utf-8")) for f in files]
    codes: dict[str, int] = {}
    for copy in range(copies):
        folder = target / f"{copy:03d}"
        folder.mkdir(parents=True)
        for name, text in texts:
            if copy:
                text = _ID.sub(
                    lambda m, k=copy: f"{m[1]}_{_copy_code(codes, m[2], k)}_{m[3]}", text
                )
            (folder / name).write_text(text, encoding="utf-8")
    done.write_text(f"{copies} copies of {len(texts)} models\n")
    return target


def run(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one command in a fresh process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _pid, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    assert process.stderr is not None
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"failed: {' '.join(command)}\n{process.stderr.read().decode()}")
    return elapsed, usage.ru_maxrss / 1024


def disk_size(path: Path) -> int:
    """Bytes of the files under ``path``, a hard-linked file counted once."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for folder, _dirs, names in os.walk(path):
        for name in names:
            stat = os.lstat(os.path.join(folder, name))
            if (stat.st_dev, stat.st_ino) not in seen:
                seen.add((stat.st_dev, stat.st_ino))
                total += stat.st_blocks * 512
    return total


def plain_oxigraph_size(store: Path, scratch: Path) -> tuple[int, int]:
    """Quads of the store's current generation and the size on disk of a fresh Oxigraph
    database bulk-loaded with exactly those quads (what Oxigraph itself needs for them)."""
    code = (
        "import sys, pyoxigraph as ox\n"
        "from ontomap.store import Store\n"
        "with Store(sys.argv[1], read_only=True) as s:\n"
        "    s.oxigraph.dump(sys.argv[2], format=ox.RdfFormat.N_QUADS)\n"
        "    n = len(s)\n"
        "fresh = ox.Store(sys.argv[3])\n"
        "fresh.bulk_load(path=sys.argv[2], format=ox.RdfFormat.N_QUADS, lenient=True)\n"
        "fresh.flush(); fresh.optimize()\n"
        "print(n)\n"
    )
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    dump, fresh = scratch / "all.nq", scratch / "fresh"
    out = subprocess.run(
        [sys.executable, "-c", code, str(store), str(dump), str(fresh)],
        check=True,
        capture_output=True,
        text=True,
    )
    size = disk_size(fresh)
    shutil.rmtree(scratch, ignore_errors=True)
    return int(out.stdout.strip()), size


#: The floor of an export from files (json and pyoxigraph only, no ontomap): read and parse
#: every JSON file, then let Oxigraph write the export's own triples as Turtle.
FLOOR = (
    "import json, sys, pathlib, pyoxigraph as ox\n"
    "for path in sorted(pathlib.Path(sys.argv[1]).rglob('*.json')):\n"
    "    json.loads(path.read_bytes())\n"
    "with open(sys.argv[2], 'rb') as f, open(sys.argv[3], 'wb') as out:\n"
    "    ox.serialize(ox.parse(f, format=ox.RdfFormat.N_TRIPLES), out, ox.RdfFormat.TURTLE)\n"
)

#: The floor of ``export --store``: Oxigraph itself writing every quad of the store's
#: current generation as N-Quads (its own read path, no ontomap code on the way).
STORE_FLOOR = (
    "import sys, pyoxigraph as ox\n"
    "from pathlib import Path\n"
    "from ontomap.generations import generation_dir\n"
    "from ontomap.store import current_generation\n"
    "path = generation_dir(Path(sys.argv[1]), current_generation(sys.argv[1]))\n"
    "ox.Store.read_only(str(path)).dump(sys.argv[2], format=ox.RdfFormat.N_QUADS)\n"
)

#: The floor of ``build``: Oxigraph's bulk loader alone writing a fresh database of exactly the
#: quads the build stored (the N-Quads file STORE_FLOOR dumped), read from one file.
BUILD_FLOOR = (
    "import sys, pyoxigraph as ox\n"
    "store = ox.Store(sys.argv[2])\n"
    "store.bulk_load(path=sys.argv[1], format=ox.RdfFormat.N_QUADS, lenient=True)\n"
    "store.flush()\n"
)


def measure(command: list[str], runs: int, before=None) -> dict[str, float]:
    times, peaks = [], []
    for _ in range(runs):
        if before is not None:
            before()
        elapsed, peak = run(command)
        times.append(elapsed)
        peaks.append(peak)
    return {
        "median": statistics.median(times),
        "min": min(times),
        "max": max(times),
        "peak": max(peaks),
    }


def _removing(path: Path) -> Callable[[], None]:
    """What runs before each run of a step that must start from nothing at ``path``."""
    return lambda: shutil.rmtree(path, ignore_errors=True)


def _load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--defs", type=Path, default=DEFAULT_DEFS)
    parser.add_argument("--sizes", default="1,10,100", help="comma-separated copy counts")
    parser.add_argument("--runs", type=int, default=3, help="runs per size (1 above 10x)")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if not args.defs.is_dir():
        raise SystemExit(f"corpus not found at {args.defs}")
    ontomap = [sys.executable, "-m", "ontomap"]
    sizes = [int(s) for s in args.sizes.split(",")]
    rows: list[dict[str, object]] = []
    for size in sizes:
        corpus = make_corpus(args.defs, size, args.work / f"corpus-{size}x")
        store = args.work / f"store-{size}x"
        out = args.work / f"out-{size}x"
        out.mkdir(parents=True, exist_ok=True)
        runs = args.runs if size <= 10 else 1
        load_before = _load()
        build = measure(
            [*ontomap, "build", str(corpus), "--store", str(store), "-q"], runs, _removing(store)
        )
        nt = measure([*ontomap, "export", str(corpus), "-o", str(out / "x.nt"), "-q"], runs)
        ttl = measure([*ontomap, "export", str(corpus), "-o", str(out / "x.ttl"), "-q"], runs)
        from_store = measure(
            [*ontomap, "export", "--store", str(store), "-o", str(out / "s.nt"), "-q"], runs
        )
        python = [sys.executable, "-c"]
        floor = measure(
            [*python, FLOOR, str(corpus), str(out / "x.nt"), str(out / "floor.ttl")], runs
        )
        store_floor = measure([*python, STORE_FLOOR, str(store), str(out / "all.nq")], runs)
        loaded = out / "bulk-loaded"
        build_floor = measure(
            [*python, BUILD_FLOOR, str(out / "all.nq"), str(loaded)], runs, _removing(loaded)
        )
        shutil.rmtree(loaded, ignore_errors=True)
        same = (out / "x.nt").read_bytes() == (out / "s.nt").read_bytes() if size <= 10 else None
        triples = sum(1 for _ in (out / "x.nt").open("rb"))
        quads, plain = plain_oxigraph_size(store, args.work / "plain")
        rows.append(
            {
                "size": size,
                "models": size * len(list(args.defs.glob("*.fm.json"))),
                "triples": triples,
                "quads": quads,
                "build": build,
                "nt": nt,
                "ttl": ttl,
                "store_nt": from_store,
                "floor": floor,
                "store_floor": store_floor,
                "build_floor": build_floor,
                "store_bytes": disk_size(store),
                "plain_bytes": plain,
                "same_bytes": same,
                "load": f"{load_before} → {_load()}",
                "runs": runs,
            }
        )
        for path in out.iterdir():
            path.unlink()
    print(f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}; median (min–max) of the runs\n")
    print(
        "| corpus | build | build peak | export .nt | export .ttl | export --store .nt | "
        "export peak | store on disk (plain Oxigraph) | load avg |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    base = rows[0]
    for row in rows:
        b, nt, ttl, st = row["build"], row["nt"], row["ttl"], row["store_nt"]
        assert isinstance(b, dict) and isinstance(nt, dict)
        assert isinstance(ttl, dict) and isinstance(st, dict)
        growth = ""
        if row is not base:
            bb = base["build"]
            bn = base["nt"]
            assert isinstance(bb, dict) and isinstance(bn, dict)
            growth = f" ({b['median'] / bb['median']:.1f}× the 1×)"
        peak = max(nt["peak"], ttl["peak"], st["peak"])
        print(
            f"| {row['size']}× ({row['models']:,} models, {row['triples']:,} triples, "
            f"{row['quads']:,} quads; {row['runs']} run{'' if row['runs'] == 1 else 's'}) "
            f"| {_span(b)}{growth} | {b['peak']:.0f} MB | {_span(nt)} | {_span(ttl)} "
            f"| {_span(st)} | {peak:.0f} MB "
            f"| {row['store_bytes'] / 1e6:.0f} MB ({row['plain_bytes'] / 1e6:.0f} MB) "
            f"| {row['load']} |"
        )
    print(
        "\nAgainst floors measured in the same run (json + pyoxigraph only): an export from files"
        " against reading the JSON and Oxigraph writing the same triples as Turtle; export"
        " --store against Oxigraph dumping the same store's quads; build against Oxigraph's bulk"
        " loader alone writing a database of the quads the build stored.\n"
    )
    print(
        "| corpus | export .ttl / floor | export .nt / floor | export --store .nt / "
        "Oxigraph dump | build / bulk load | peak .nt / .ttl / --store |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for row in rows:
        nt, ttl, st, b = row["nt"], row["ttl"], row["store_nt"], row["build"]
        fl, sf, bf = row["floor"], row["store_floor"], row["build_floor"]
        assert isinstance(nt, dict) and isinstance(ttl, dict) and isinstance(st, dict)
        assert isinstance(fl, dict) and isinstance(sf, dict)
        assert isinstance(b, dict) and isinstance(bf, dict)
        print(
            f"| {row['size']}× | {ttl['median'] / fl['median']:.2f}× ({_span(fl)}) "
            f"| {nt['median'] / fl['median']:.2f}× "
            f"| {st['median'] / sf['median']:.2f}× ({_span(sf)}) "
            f"| {b['median'] / bf['median']:.2f}× ({_span(bf)}, {bf['peak']:.0f} MB) "
            f"| {nt['peak']:.0f} / {ttl['peak']:.0f} / {st['peak']:.0f} MB |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, default=str) + "\n")


def _span(m: dict[str, float]) -> str:
    if m["min"] == m["max"]:
        return f"{m['median']:.2f} s"
    return f"{m['median']:.2f} s ({m['min']:.2f}–{m['max']:.2f})"


if __name__ == "__main__":
    main()
