"""Benchmark of loading terminology releases (ontomap.releases) at release size.

Generates synthetic releases in their exact formats in a temporary folder (no release content:
invented codes and terms), then:

1. SNOMED-sized RF2 Snapshot (370,000 concepts, 1.6 M descriptions with their language
   reference set rows, 1.2 M active is-a rows, historical associations for the inactive
   concepts): ``Releases.load`` + commit into a new store, each run in a fresh process; wall
   time median, min and max, and the process's peak RSS (``resource.getrusage``).
2. RadLex-sized OWL (94,000 classes, RDF/XML as RSNA writes it: labels in two languages,
   synonyms, definitions, part-of restrictions, obsolete classes under RID15849): the same.
3. Loading the same SNOMED release again into that store (replaces it; the generation is
   rewritten without the old graph).
4. ``Releases.descendants`` of a concept with ~100,000 descendants (cold: a fresh process;
   warm: the median of further calls), and ``Store.graph()`` of a store holding the examples
   beside the release (the export must not read the release).

    python benchmarks/bench_terminology.py [--runs 3] [--scale 1.0] [--keep DIR]

Targets: RF2 <= 3 min and <= 1.5 GB peak; RadLex <= 60 s; descendants <= 1 s.
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MOD = "900000000000207008"
FSN, SYN, CASE = "900000000000003001", "900000000000013009", "900000000000448009"
US, PREF, ACC = "900000000000509007", "900000000000548007", "900000000000549004"
ISA, INFERRED, EXISTENTIAL = "116680003", "900000000000011006", "900000000000451002"
REPLACED_BY, SAME_AS = "900000000000526001", "900000000000527005"

_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)
_INV = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)


def sctid(item: int, partition: str) -> str:
    """An SCTID with a correct Verhoeff check digit."""
    body = f"{item}{partition}"
    check = 0
    for i, char in enumerate(reversed(body)):
        check = _D[check][_P[(i + 1) % 8][int(char)]]
    return body + str(_INV[check])


_TEXT = (
    "lung liver renal cardiac hepatic nodule mass cyst lesion fracture calcified acute chronic "
    "left right upper lower lobe segment vessel artery vein duct wall tissue benign malignant "
    "diffuse focal multiple solitary small large cortical medullary anterior posterior"
)
WORDS = tuple(_TEXT.split(" "))


def phrase(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


# ------------------------------------------------------------------ generators


def write_rf2(folder: Path, scale: float, seed: int = 12) -> dict[str, object]:
    """A SNOMED-sized RF2 Snapshot; returns the concept with the most descendants."""
    rng = random.Random(seed)
    n = int(370_000 * scale)
    descriptions_total = int(1_600_000 * scale)
    isa_total = int(1_200_000 * scale)
    snap = folder / "SnomedCT_BenchRF2_PRODUCTION_20250101T120000Z" / "Snapshot"
    (snap / "Terminology").mkdir(parents=True)
    (snap / "Refset" / "Language").mkdir(parents=True)
    (snap / "Refset" / "Content").mkdir(parents=True)
    ids = [sctid(100_000 + i, "00") for i in range(n)]
    inactive = set(rng.sample(range(1, n), n // 20))
    # Top-level hierarchies under the root: the first holds 30 % of the concepts.
    blocks = 19
    starts = [1, *sorted(rng.sample(range(int(n * 0.3) + 1, n), blocks - 1))]
    block_of = [0] * n
    for b, start in enumerate(starts):
        end = starts[b + 1] if b + 1 < blocks else n
        for i in range(start, end):
            block_of[i] = b
    with open(snap / "Terminology" / "sct2_Concept_Snapshot_INT_20250101.txt", "w") as f:
        f.write("id\teffectiveTime\tactive\tmoduleId\tdefinitionStatusId\r\n")
        for i, c in enumerate(ids):
            active = "0" if i in inactive else "1"
            f.write(f"{c}\t20250101\t{active}\t{MOD}\t900000000000074008\r\n")
    per_concept = descriptions_total / n
    d_item = 0
    with (
        open(snap / "Terminology" / "sct2_Description_Snapshot-en_INT_20250101.txt", "w") as d,
        open(
            snap / "Refset" / "Language" / "der2_cRefset_LanguageSnapshot-en_INT_20250101.txt",
            "w",
        ) as lang,
    ):
        d.write(
            "id\teffectiveTime\tactive\tmoduleId\tconceptId\tlanguageCode\ttypeId\tterm\t"
            "caseSignificanceId\r\n"
        )
        lang.write(
            "id\teffectiveTime\tactive\tmoduleId\trefsetId\treferencedComponentId\t"
            "acceptabilityId\r\n"
        )
        extra = per_concept - 2
        for c in ids:
            term = phrase(rng, 3)
            rows = [(FSN, f"{term} (finding)", PREF), (SYN, term, PREF)]
            k = int(extra) + (1 if rng.random() < extra - int(extra) else 0)
            rows.extend((SYN, phrase(rng, 3), ACC) for _ in range(k))
            for type_id, text, acceptability in rows:
                did = sctid(1_000_000 + d_item, "01")
                d_item += 1
                d.write(f"{did}\t20250101\t1\t{MOD}\t{c}\ten\t{type_id}\t{text}\t{CASE}\r\n")
                lang.write(f"{d_item:032x}\t20250101\t1\t{MOD}\t{US}\t{did}\t{acceptability}\r\n")
    with open(snap / "Terminology" / "sct2_Relationship_Snapshot_INT_20250101.txt", "w") as r:
        r.write(
            "id\teffectiveTime\tactive\tmoduleId\tsourceId\tdestinationId\trelationshipGroup\t"
            "typeId\tcharacteristicTypeId\tmodifierId\r\n"
        )
        r_item = 0
        extras = isa_total - (n - 1)
        first = [0] * n
        for i in range(1, n):
            b = block_of[i]
            start = starts[b]
            parent = 0 if i == start else rng.randrange(start, i)
            first[i] = parent
            rid = sctid(1_000_000 + r_item, "02")
            r.write(
                f"{rid}\t20250101\t1\t{MOD}\t{ids[i]}\t{ids[parent]}\t0\t{ISA}\t"
                f"{INFERRED}\t{EXISTENTIAL}\r\n"
            )
            r_item += 1
        for _ in range(extras):
            i = rng.randrange(2, n)
            b = block_of[i]
            start = starts[b]
            if i <= start + 1:
                continue
            parent = rng.randrange(start, i)
            rid = sctid(1_000_000 + r_item, "02")
            r.write(
                f"{rid}\t20250101\t1\t{MOD}\t{ids[i]}\t{ids[parent]}\t0\t{ISA}\t"
                f"{INFERRED}\t{EXISTENTIAL}\r\n"
            )
            r_item += 1
    with open(
        snap / "Refset" / "Content" / "der2_cRefset_AssociationSnapshot_INT_20250101.txt", "w"
    ) as a:
        a.write(
            "id\teffectiveTime\tactive\tmoduleId\trefsetId\treferencedComponentId\t"
            "targetComponentId\r\n"
        )
        for m, i in enumerate(sorted(inactive)):
            refset = REPLACED_BY if m % 3 else SAME_AS
            target = ids[rng.randrange(1, n)]
            a.write(f"{m:032x}\t20250101\t1\t{MOD}\t{refset}\t{ids[i]}\t{target}\r\n")
    return {
        "folder": str(snap.parent),
        "concept": ids[starts[0]],
        "block": starts[1] - starts[0],
        "isa": r_item,
        "descriptions": d_item,
    }


def write_radlex(path: Path, scale: float, seed: int = 5) -> dict[str, object]:
    """A RadLex-sized RDF/XML file in RSNA's layout."""
    rng = random.Random(seed)
    n = int(94_000 * scale)
    obsolete = int(n * 0.05)
    with open(path, "w", encoding="utf-8") as f:
        f.write(
            '<?xml version="1.0"?>\n<rdf:RDF xmlns="http://www.radlex.org/RID/#"\n'
            '     xml:base="http://www.radlex.org/RID/"\n'
            '     xmlns:RID="http://www.radlex.org/RID/"\n'
            '     xmlns:owl="http://www.w3.org/2002/07/owl#"\n'
            '     xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"\n'
            '     xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#">\n'
            '    <owl:Ontology rdf:about="http://www.radlex.org/RID/">\n'
            '        <owl:versionInfo xml:lang="en">9.9</owl:versionInfo>\n'
            "    </owl:Ontology>\n"
        )
        f.write(
            '    <owl:Class rdf:about="http://www.radlex.org/RID/RID1">\n'
            '        <rdfs:label xml:lang="en">entity</rdfs:label>\n    </owl:Class>\n'
            '    <owl:Class rdf:about="http://www.radlex.org/RID/RID15849">\n'
            '        <rdfs:subClassOf rdf:resource="http://www.radlex.org/RID/RID1"/>\n'
            '        <rdfs:label xml:lang="en">Obsolete RadLex Term</rdfs:label>\n'
            "    </owl:Class>\n"
        )
        for i in range(2, n):
            rid = f"RID{100_000 + i}"
            out = [f'    <owl:Class rdf:about="http://www.radlex.org/RID/{rid}">\n']
            if i < obsolete:
                out.append(
                    '        <rdfs:subClassOf rdf:resource="http://www.radlex.org/RID/RID15849"/>\n'
                    f"        <RID:Preferred_Name_for_Obsolete>{phrase(rng, 3)}"
                    "</RID:Preferred_Name_for_Obsolete>\n"
                    '        <RID:Replaced_by rdf:resource="http://www.radlex.org/RID/'
                    f'RID{100_000 + rng.randrange(obsolete, n)}"/>\n'
                )
            else:
                parent = "RID1" if i == obsolete else f"RID{100_000 + rng.randrange(obsolete, i)}"
                out.append(
                    f'        <rdfs:subClassOf rdf:resource="http://www.radlex.org/RID/{parent}"/>\n'
                )
                if rng.random() < 0.3:
                    target = f"RID{100_000 + rng.randrange(obsolete, n)}"
                    out.append(
                        "        <rdfs:subClassOf>\n            <owl:Restriction>\n"
                        '                <owl:onProperty rdf:resource="http://www.radlex.org/RID/'
                        'Part_Of"/>\n'
                        '                <owl:someValuesFrom rdf:resource="http://www.radlex.org/'
                        f'RID/{target}"/>\n'
                        "            </owl:Restriction>\n        </rdfs:subClassOf>\n"
                    )
                out.append(f'        <rdfs:label xml:lang="en">{phrase(rng, 3)}</rdfs:label>\n')
                if rng.random() < 0.5:
                    out.append(f'        <rdfs:label xml:lang="de">{phrase(rng, 3)}</rdfs:label>\n')
                for _ in range(rng.choice((0, 0, 1, 2))):
                    out.append(
                        f'        <RID:Synonym xml:lang="en">{phrase(rng, 2)}</RID:Synonym>\n'
                    )
                if rng.random() < 0.1:
                    out.append(f"        <RID:Definition>{phrase(rng, 12)}</RID:Definition>\n")
            out.append(f'        <RID:RadLexID xml:lang="en">{rid}</RID:RadLexID>\n')
            out.append("    </owl:Class>\n")
            f.write("".join(out))
        f.write("</rdf:RDF>\n")
    return {"file": str(path), "classes": n, "bytes": path.stat().st_size}


# ------------------------------------------------------------------ child processes

_LOAD = """
import json, resource, sys, time
from ontomap.store import Store
from ontomap.releases import Releases
started = time.perf_counter()
with Store(sys.argv[1]) as store:
    info = Releases(store).load(sys.argv[2])
    store.commit()
seconds = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": seconds, "rss_mb": usage.ru_maxrss / 1024,
                  "cpu": usage.ru_utime + usage.ru_stime, "concepts": info.concepts,
                  "triples": info.triples, "inactive": info.inactive}))
"""

_DESCENDANTS = """
import json, statistics, sys, time
from ontomap.store import Store
from ontomap.releases import Releases
with Store(sys.argv[1], read_only=True) as store:
    releases = Releases(store)
    started = time.perf_counter()
    found = releases.descendants(sys.argv[2], "SNOMED")
    cold = time.perf_counter() - started
    warm = []
    for _ in range(5):
        started = time.perf_counter()
        releases.descendants(sys.argv[2], "SNOMED")
        warm.append(time.perf_counter() - started)
    started = time.perf_counter()
    graph = store.graph()
    export = time.perf_counter() - started
    codes = sorted(releases.codes("SNOMED"))[::1000]
    lookups = []
    for code in codes:
        started = time.perf_counter()
        releases.concept(code, "SNOMED")
        lookups.append(time.perf_counter() - started)
print(json.dumps({"count": len(found), "cold": cold, "warm": statistics.median(warm),
                  "export": export, "export_triples": len(graph),
                  "concept_p50": statistics.median(lookups), "concepts_read": len(codes)}))
"""


def child(code: str, *args: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT
    )
    if done.returncode != 0:
        raise SystemExit(f"child failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def summary(runs: list[dict[str, float]], key: str) -> str:
    values = [r[key] for r in runs]
    return f"median {statistics.median(values):.1f}, min {min(values):.1f}, max {max(values):.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of release size")
    parser.add_argument("--keep", type=Path, help="folder to keep the generated files in")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="ontomap-bench-terminology-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        rf2 = write_rf2(work / "rf2", args.scale)
        radlex = write_radlex(work / "RadLex.owl", args.scale)
        print(
            f"generated in {time.perf_counter() - started:.0f} s: RF2 {rf2['descriptions']:,} "
            f"descriptions, {rf2['isa']:,} is-a; RadLex {radlex['classes']:,} classes, "
            f"{int(radlex['bytes']) / 1e6:.0f} MB",
            flush=True,
        )
        rf2_runs, radlex_runs = [], []
        for run in range(args.runs):
            store = work / f"kg-rf2-{run}"
            shutil.rmtree(store, ignore_errors=True)
            rf2_runs.append(child(_LOAD, str(store), str(rf2["folder"])))
            print(f"  RF2 run {run + 1}: {rf2_runs[-1]}", flush=True)
            store = work / f"kg-radlex-{run}"
            shutil.rmtree(store, ignore_errors=True)
            radlex_runs.append(child(_LOAD, str(store), str(radlex["file"])))
            print(f"  RadLex run {run + 1}: {radlex_runs[-1]}", flush=True)
        kept = work / "kg-rf2-0"
        # The examples beside the release: Store.graph() must not read the release.
        subprocess.run(
            [
                sys.executable,
                "-m",
                "ontomap",
                "build",
                "ontologies/examples",
                "--store",
                str(kept),
                "-q",
            ],
            cwd=ROOT,
            check=True,
        )
        replace = child(_LOAD, str(kept), str(rf2["folder"]))
        descendants = child(_DESCENDANTS, str(kept), str(rf2["concept"]))
        print()
        print("| step | figure |")
        print("|---|---|")
        print(
            f"| SNOMED-sized RF2 load ({rf2_runs[0]['concepts']:,} concepts, "
            f"{rf2_runs[0]['triples']:,} triples), s | {summary(rf2_runs, 'seconds')} |"
        )
        print(f"| RF2 load CPU (user + system), s | {summary(rf2_runs, 'cpu')} |")
        print(f"| RF2 load peak RSS, MB | {summary(rf2_runs, 'rss_mb')} |")
        print(
            f"| RadLex-sized OWL load ({radlex_runs[0]['concepts']:,} classes, "
            f"{radlex_runs[0]['triples']:,} triples), s | {summary(radlex_runs, 'seconds')} |"
        )
        print(f"| RadLex load CPU (user + system), s | {summary(radlex_runs, 'cpu')} |")
        print(f"| RadLex load peak RSS, MB | {summary(radlex_runs, 'rss_mb')} |")
        print(
            f"| RF2 load again (replaces; store also holds the examples), s / MB | "
            f"{replace['seconds']:.1f} / {replace['rss_mb']:.0f} |"
        )
        print(
            f"| descendants of a concept ({descendants['count']:,} descendants), cold / warm, s | "
            f"{descendants['cold']:.2f} / {descendants['warm']:.2f} |"
        )
        print(
            f"| Store.graph() beside the release ({descendants['export_triples']:,} triples), s | "
            f"{descendants['export']:.2f} |"
        )
        print(
            f"| Releases.concept() of {descendants['concepts_read']} codes, median, ms | "
            f"{descendants['concept_p50'] * 1000:.1f} |"
        )
        print(f"| (load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}) | |")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
