"""Benchmark of ``ontomap validate --store``: the corpus against release-sized RadLex and SNOMED CT.

Generates a SNOMED-sized RF2 Snapshot (370,000 concepts, 1.6 M descriptions, 1.2 M is-a) and a
RadLex-sized OWL file (94,000 classes) with the generators of ``bench_terminology.py``
(invented content), adds to them the RadLex and SNOMED CT codes of the shared corpus (of the
codes sorted: every 10th left out, every 10th + 1 inactive and replaced by the next code,
the others active with the corpus's display as preferred term and, for SNOMED CT, as the fully
specified name with a semantic tag), loads both into one store, then times, each in a fresh
process over ``--runs`` runs (median and spread, lowest-highest):

1. ``ontomap validate DEFS`` (no store: the baseline);
2. ``ontomap validate DEFS --store KG`` (the codes checked against both releases);
3. ``ontomap validate DEFS --store KG --semantic-tags --fixes FILE --format json``.

    python benchmarks/bench_validate_releases.py [--runs 3] [--scale 1.0] [--keep DIR]

Target: validating the whole corpus against loaded RadLex + SNOMED-sized releases
<= 15 s.
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
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_terminology import (  # noqa: E402
    FSN,
    MOD,
    PREF,
    REPLACED_BY,
    SYN,
    US,
    child,
    sctid,
    write_radlex,
    write_rf2,
)
from bench_validate import run  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "findingmodels"
CASE = "900000000000448009"
_RF2_END = "INT_20250101.txt"


def corpus_codes(defs: Path) -> dict[str, dict[str, str | None]]:
    """System → code → the first display the corpus gives it (RadLex and SNOMED CT)."""
    keys = {"RADLEX": "RADLEX", "SNOMED": "SNOMED", "SNOMEDCT": "SNOMED"}
    out: dict[str, dict[str, str | None]] = {"RADLEX": {}, "SNOMED": {}}

    def walk(obj: object) -> None:
        if isinstance(obj, dict):
            system = obj.get("system")
            if isinstance(system, str) and system.strip() in keys and "code" in obj:
                codes = out[keys[system.strip()]]
                code = str(obj["code"]).strip()
                if codes.get(code) is None:
                    display = obj.get("display")
                    codes[code] = display.strip() if isinstance(display, str) else None
            for value in obj.values():
                walk(value)
        elif isinstance(obj, list):
            for value in obj:
                walk(value)

    for path in sorted(defs.glob("*.fm.json")):
        walk(json.loads(path.read_text("utf-8")))
    return out


def plan(codes: dict[str, str | None]) -> list[tuple[str, str, str | None]]:
    """(code, "active" | "inactive", replacement) of the codes written (every 10th left out)."""
    ordered = sorted(codes)
    out = []
    for i, code in enumerate(ordered):
        if i % 10 == 0:
            continue
        if i % 10 == 1 and i + 1 < len(ordered):
            out.append((code, "inactive", ordered[i + 1]))
        else:
            out.append((code, "active", None))
    return out


def _term(code: str, display: str | None) -> str:
    return display or f"corpus term {code}"


def add_to_rf2(folder: Path, codes: dict[str, str | None], scale: float) -> int:
    """Append the corpus's SNOMED CT codes to the generated RF2 files; returns how many."""
    n = int(370_000 * scale)
    generated = {sctid(100_000 + i, "00") for i in range(n)}
    rows = [row for row in plan(codes) if row[0] not in generated]
    snap = next(folder.glob("*/Snapshot"))
    term_dir, refset = snap / "Terminology", snap / "Refset"
    with (
        open(term_dir / f"sct2_Concept_Snapshot_{_RF2_END}", "a") as concepts,
        open(term_dir / f"sct2_Description_Snapshot-en_{_RF2_END}", "a") as descriptions,
        open(refset / "Language" / f"der2_cRefset_LanguageSnapshot-en_{_RF2_END}", "a") as lang,
        open(refset / "Content" / f"der2_cRefset_AssociationSnapshot_{_RF2_END}", "a") as assoc,
    ):
        for k, (code, status, replacement) in enumerate(rows):
            active = "1" if status == "active" else "0"
            concepts.write(f"{code}\t20250101\t{active}\t{MOD}\t900000000000074008\r\n")
            term = _term(code, codes[code])
            bare = term.rsplit(" (", 1)[0] if term.endswith(")") else term
            fsn = term if term.endswith(")") else f"{term} (qualifier value)"
            for j, (type_id, text) in enumerate(((FSN, fsn), (SYN, bare))):
                did = sctid(90_000_000 + 2 * k + j, "01")
                descriptions.write(
                    f"{did}\t20250101\t1\t{MOD}\t{code}\ten\t{type_id}\t{text}\t{CASE}\r\n"
                )
                lang.write(f"{(1 << 120) + 2 * k + j:032x}\t20250101\t1\t{MOD}\t{US}\t{did}\t")
                lang.write(f"{PREF}\r\n")
            if replacement is not None:
                assoc.write(
                    f"{(1 << 121) + k:032x}\t20250101\t1\t{MOD}\t{REPLACED_BY}\t{code}\t"
                    f"{replacement}\r\n"
                )
    return len(rows)


def add_to_radlex(path: Path, codes: dict[str, str | None]) -> int:
    """Insert the corpus's RadLex codes as classes before the end of the generated file."""
    closing = b"</rdf:RDF>\n"
    with open(path, "rb+") as f:
        f.seek(-len(closing), os.SEEK_END)
        assert f.read() == closing
        f.seek(-len(closing), os.SEEK_END)
        f.truncate()
        rows = plan(codes)
        for code, status, replacement in rows:
            term = escape(_term(code, codes[code]))
            about = f"http://www.radlex.org/RID/{code}"
            if status == "inactive":
                body = (
                    '        <rdfs:subClassOf rdf:resource="http://www.radlex.org/RID/RID15849"/>\n'
                    f"        <RID:Preferred_Name_for_Obsolete>{term}"
                    "</RID:Preferred_Name_for_Obsolete>\n"
                    f'        <RID:Replaced_by rdf:resource="http://www.radlex.org/RID/'
                    f'{replacement}"/>\n'
                )
            else:
                body = (
                    '        <rdfs:subClassOf rdf:resource="http://www.radlex.org/RID/RID1"/>\n'
                    f'        <rdfs:label xml:lang="en">{term}</rdfs:label>\n'
                )
            f.write(f'    <owl:Class rdf:about="{about}">\n{body}    </owl:Class>\n'.encode())
        f.write(closing)
    return len(rows)


_LOAD_BOTH = """
import json, sys, time
from ontomap.store import Store
from ontomap.releases import Releases
started = time.perf_counter()
with Store(sys.argv[1]) as store:
    releases = Releases(store)
    rf2 = releases.load(sys.argv[2])
    radlex = releases.load(sys.argv[3])
    store.commit()
print(json.dumps({"seconds": time.perf_counter() - started, "snomed": rf2.concepts,
                  "radlex": radlex.concepts, "triples": rf2.triples + radlex.triples}))
"""


def spread(values: list[float], digits: int = 2) -> str:
    return (
        f"{statistics.median(values):.{digits}f} "
        f"({min(values):.{digits}f}-{max(values):.{digits}f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of release size")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--keep", type=Path, help="folder to keep the generated files in")
    args = parser.parse_args()
    defs = args.corpus / "defs"
    if not defs.is_dir():
        raise SystemExit(f"no corpus at {defs} (give --corpus)")
    work = args.keep or Path(tempfile.mkdtemp(prefix="ontomap-bench-validate-releases-"))
    work.mkdir(parents=True, exist_ok=True)
    store = work / "kg"
    try:
        codes = corpus_codes(defs)
        if not store.exists():
            started = time.perf_counter()
            rf2 = write_rf2(work / "rf2", args.scale)
            radlex = write_radlex(work / "RadLex.owl", args.scale)
            added_sct = add_to_rf2(work / "rf2", codes["SNOMED"], args.scale)
            added_rid = add_to_radlex(work / "RadLex.owl", codes["RADLEX"])
            print(
                f"generated in {time.perf_counter() - started:.0f} s; corpus codes added: "
                f"{added_sct} SNOMED CT, {added_rid} RadLex",
                flush=True,
            )
            loaded = child(_LOAD_BOTH, str(store), str(rf2["folder"]), str(radlex["file"]))
            print(f"loaded: {loaded}", flush=True)
        base = [sys.executable, "-m", "ontomap", "validate", str(defs)]
        fixes = work / "fixes.json"
        commands = {
            "`ontomap validate DEFS` (no store)": base,
            "`ontomap validate DEFS --store KG`": [*base, "--store", str(store)],
            "`… --store KG --semantic-tags --fixes F --format json`": [
                *base,
                "--store",
                str(store),
                "--semantic-tags",
                "--fixes",
                str(fixes),
                "--format",
                "json",
            ],
        }
        results = {}
        for name, command in commands.items():
            runs = [run(command) for _ in range(args.runs)]
            results[name] = runs
            print(f"  {name}: {[round(r[0], 2) for r in runs]}", flush=True)
        done = subprocess.run(
            [*base, "--store", str(store), "--format", "json"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        summary = json.loads(done.stdout)["summary"]
        print()
        print("| command | wall s, median (min-max) | CPU s, median (min-max) | peak RSS MB |")
        print("|---|---:|---:|---:|")
        for name, runs in results.items():
            wall = [r[0] for r in runs]
            cpu = [r[1] for r in runs]
            rss = max(r[2] for r in runs)
            print(f"| {name} | {spread(wall)} | {spread(cpu)} | {rss:.0f} |")
        rules = {k: v for k, v in summary["rules"].items() if k.startswith("release/")}
        print()
        print(f"releases: {summary['releases']['used']}")
        print(f"release findings: {rules}; fixes: {summary['releases']['fixes']}")
        print(f"(load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())})")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
