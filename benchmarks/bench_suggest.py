"""Benchmark of candidate links (``ontomap terminology suggest``) against a SNOMED-sized release.

Generates a synthetic SNOMED-sized RF2 Snapshot with :func:`bench_terminology.write_rf2`
(370,000 concepts, 1.6 M descriptions: three-word phrases of a 40-word vocabulary, so every
word is in some 120,000 descriptions, a worst case for blocking by shared words), then appends
concepts whose terms are built from the corpus itself, so that matches exist and the release's
vocabulary is realistic too:

- for every 4th finding of the corpus (by name), a concept whose preferred term is the
  finding's name (an exact match), for every 4th one from the 2nd a concept that has it as an
  acceptable synonym (a synonym match), for every 4th one from the 3rd a concept named with
  one letter of its longest word dropped (a fuzzy match); one in ten of these concepts inactive;
- 150,000 concepts named by 2-5 words drawn from the corpus's own vocabulary (names of
  findings, attributes and values), Zipf-weighted, each with a synonym.

The release is loaded into a store once (``Releases.load``), then ``ontomap terminology
suggest CORPUS --store KG --system SNOMED -o FILE`` runs ``--runs`` times, each in a fresh
process: wall time (median, min, max), CPU, peak RSS (``resource.getrusage``), and the summary,
alternated with a baseline run that reads the release's names out of the store (as for a
release loaded without its ``oifm:nameIndex`` record).

    python benchmarks/bench_suggest.py [--runs 3] [--scale 1.0] [--keep DIR] [--corpus DIR]

Target: candidate links for all 2,382 findings <= 30 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_terminology import (  # noqa: E402
    ACC,
    CASE,
    FSN,
    MOD,
    PREF,
    SYN,
    US,
    child,
    sctid,
    summary,
    write_rf2,
)

CORPUS = ROOT.parent / "shared" / "corpus" / "findingmodels" / "defs"
#: Concepts named from the corpus vocabulary (beyond the matches).
VOCABULARY_CONCEPTS = 150_000


def corpus_names(corpus: Path) -> tuple[list[str], list[str]]:
    """The corpus's finding names (sorted, distinct) and every word of its entity names."""
    findings: set[str] = set()
    words: list[str] = []
    for path in sorted(corpus.glob("*.fm.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        findings.add(data["name"])
        names = [data["name"], *data.get("synonyms", [])]
        for attribute in data.get("attributes", []):
            names.append(attribute["name"])
            names.extend(v["name"] for v in attribute.get("values", []))
        for name in names:
            words.extend(w for w in name.lower().replace(",", " ").split() if w.isalpha())
    return sorted(findings), words


def _near(rng: random.Random, name: str) -> str:
    """``name`` with one letter of its longest word dropped."""
    words = name.split(" ")
    longest = max(range(len(words)), key=lambda i: len(words[i]))
    word = words[longest]
    if len(word) > 4:
        at = rng.randrange(1, len(word) - 1)
        words[longest] = word[:at] + word[at + 1 :]
    else:
        words.append("nos")
    return " ".join(words)


def add_corpus_concepts(
    folder: Path, findings: list[str], words: list[str], scale: float, seed: int = 7
) -> dict[str, int]:
    """Append concepts built from the corpus to the RF2 files :func:`write_rf2` wrote."""
    rng = random.Random(seed)
    snap = next(folder.glob("SnomedCT_*/Snapshot"))
    concepts_file = snap / "Terminology" / "sct2_Concept_Snapshot_INT_20250101.txt"
    descriptions_file = snap / "Terminology" / "sct2_Description_Snapshot-en_INT_20250101.txt"
    language_file = (
        snap / "Refset" / "Language" / "der2_cRefset_LanguageSnapshot-en_INT_20250101.txt"
    )
    counts = Counter(words)
    vocabulary = sorted(counts)
    weights = [counts[w] for w in vocabulary]
    item, d_item = 3_000_000, 8_000_000
    made = Counter[str]()
    with (
        open(concepts_file, "a") as c,
        open(descriptions_file, "a") as d,
        open(language_file, "a") as lang,
    ):

        def concept(rows: list[tuple[str, str, str]], active: bool = True) -> None:
            nonlocal item, d_item
            cid = sctid(item, "00")
            item += 1
            c.write(f"{cid}\t20250101\t{int(active)}\t{MOD}\t900000000000074008\r\n")
            for type_id, text, acceptability in rows:
                did = sctid(d_item, "01")
                d_item += 1
                d.write(f"{did}\t20250101\t1\t{MOD}\t{cid}\ten\t{type_id}\t{text}\t{CASE}\r\n")
                lang.write(
                    f"{(15 << 124) + d_item:032x}\t20250101\t1\t{MOD}\t{US}\t{did}\t"
                    f"{acceptability}\r\n"
                )

        for n, name in enumerate(findings):
            active = rng.random() >= 0.1
            kind = ("exact", "synonym", "fuzzy", "none")[n % 4]
            if kind == "exact":
                rows = [(FSN, f"{name} (finding)", PREF), (SYN, name, PREF)]
            elif kind == "synonym":
                other = f"{name} {rng.choice(vocabulary)} variant"
                rows = [(FSN, f"{other} (finding)", PREF), (SYN, other, PREF), (SYN, name, ACC)]
            elif kind == "fuzzy":
                near = _near(rng, name)
                rows = [(FSN, f"{near} (disorder)", PREF), (SYN, near, PREF)]
            else:
                continue
            concept(rows, active)
            made[f"{kind}{'' if active else ' inactive'}"] += 1
        for _ in range(int(VOCABULARY_CONCEPTS * scale)):
            term = " ".join(rng.choices(vocabulary, weights, k=rng.randint(2, 5)))
            other = " ".join(rng.choices(vocabulary, weights, k=rng.randint(2, 5)))
            concept([(FSN, f"{term} (finding)", PREF), (SYN, term, PREF), (SYN, other, ACC)])
            made["vocabulary"] += 1
    return dict(made)


# ------------------------------------------------------------------ child processes

_LOAD = """
import json, sys, time
from ontomap.store import Store
from ontomap.releases import Releases
started = time.perf_counter()
with Store(sys.argv[1]) as store:
    info = Releases(store).load(sys.argv[2])
    store.commit()
print(json.dumps({"seconds": time.perf_counter() - started, "concepts": info.concepts,
                  "synonyms": info.synonyms, "triples": info.triples}))
"""

_SUGGEST = """
import io, json, resource, sys, time
from contextlib import redirect_stderr
from ontomap.cli import main
if sys.argv[4] == "store-read":  # the baseline: a release loaded without its name record
    from ontomap.releases import Releases
    Releases.name_index = lambda self, system, version=None: None
started = time.perf_counter()
err = io.StringIO()
with redirect_stderr(err):
    try:
        main(["terminology", "suggest", sys.argv[1], "--store", sys.argv[2], "--system",
              "SNOMED", "-o", sys.argv[3]])
    except SystemExit as exc:
        code = exc.code
seconds = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": seconds, "rss_mb": usage.ru_maxrss / 1024, "exit": code,
                  "cpu": usage.ru_utime + usage.ru_stime,
                  "summary": err.getvalue().strip().splitlines()[-1:]}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of release size")
    parser.add_argument("--keep", type=Path, help="folder to keep the generated files in")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="folder of *.fm.json")
    args = parser.parse_args()
    if not args.corpus.is_dir():
        raise SystemExit(f"corpus not found at {args.corpus} (give --corpus)")
    work = args.keep or Path(tempfile.mkdtemp(prefix="ontomap-bench-suggest-"))
    work.mkdir(parents=True, exist_ok=True)
    store = work / "kg"
    try:
        if not (store / "ready").exists():
            shutil.rmtree(work / "rf2", ignore_errors=True)
            shutil.rmtree(store, ignore_errors=True)
            started = time.perf_counter()
            rf2 = write_rf2(work / "rf2", args.scale)
            findings, words = corpus_names(args.corpus)
            made = add_corpus_concepts(work / "rf2", findings, words, args.scale)
            print(
                f"generated in {time.perf_counter() - started:.0f} s: "
                f"{rf2['descriptions']:,} descriptions, and concepts from the corpus {made}",
                flush=True,
            )
            loaded = child(_LOAD, str(store), str(rf2["folder"]))
            print(f"loaded: {loaded}", flush=True)
            (store / "ready").write_text(json.dumps(loaded))
        loaded = json.loads((store / "ready").read_text())
        runs, baseline = [], []
        for run in range(args.runs):  # alternated with the baseline, so both see the same load
            out = work / f"suggest-{run}.sssom.tsv"
            runs.append(child(_SUGGEST, str(args.corpus), str(store), str(out), "record"))
            print(f"  run {run + 1}: {runs[-1]}", flush=True)
            out = work / f"baseline-{run}.sssom.tsv"
            baseline.append(child(_SUGGEST, str(args.corpus), str(store), str(out), "store-read"))
            print(f"  baseline {run + 1}: {baseline[-1]}", flush=True)
        first = (work / "suggest-0.sssom.tsv").read_bytes()
        same = all(
            (work / f"{kind}-{run}.sssom.tsv").read_bytes() == first
            for run in range(args.runs)
            for kind in ("suggest", "baseline")
        )
        ratio = statistics.median(r["seconds"] for r in baseline) / statistics.median(
            r["seconds"] for r in runs
        )
        rows = sum(1 for line in first.decode().splitlines() if line and line[0] != "#") - 1
        print()
        print("| step | figure |")
        print("|---|---|")
        print(
            f"| release: {loaded['concepts']:,} concepts, {loaded['synonyms']:,} synonyms, "
            f"{loaded['triples']:,} triples; load, s | {loaded['seconds']:.1f} |"
        )
        print(f"| suggest over the corpus ({rows:,} rows), s | {summary(runs, 'seconds')} |")
        print(f"| suggest CPU (user + system), s | {summary(runs, 'cpu')} |")
        print(f"| suggest peak RSS, MB | {summary(runs, 'rss_mb')} |")
        print(
            f"| baseline: names read out of the store (no record), s | "
            f"{summary(baseline, 'seconds')} |"
        )
        print(f"| baseline CPU, s | {summary(baseline, 'cpu')} |")
        print(f"| baseline peak RSS, MB | {summary(baseline, 'rss_mb')} |")
        print(f"| speed-up of the record (median wall) | {ratio:.2f}× |")
        print(f"| byte-identical output over {args.runs} runs, both ways | {same} |")
        print(f"| summary | {runs[0]['summary'][0] if runs[0]['summary'] else ''} |")
        print(f"| (load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}) | |")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
