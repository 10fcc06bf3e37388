"""A small scale test: the corpus three times over (IDs rewritten, as benchmarks/bench_scale.py
makes it) against the corpus once. Work must grow about linearly and export memory must stay
bounded, so a regression shows in CI; the 10x and 100x figures are the benchmark's.

Work is measured as CPU seconds of the child process (user + system, from ``wait4``), which a
busy machine disturbs far less than wall time; memory as its peak resident set.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

COPIES = 3
#: The issue's bound on an export's peak memory, at any size.
EXPORT_PEAK_MB = 500
#: Linear growth would make 3x cost 3 times the 1x (less, for the fixed start-up cost);
#: 4 leaves room for a noisy machine and fails on quadratic growth (9).
GROWTH_LIMIT = 4.0
#: Runs of each export from the sources (see ``measured``).
EXPORT_RUNS = 3


def _bench_scale():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "bench_scale", ROOT / "benchmarks" / "bench_scale.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: Runs one command and prints its CPU seconds, peak RSS (MB) and exit code. Linux counts in a
#: process's peak RSS that of the process it was forked from (kept across exec), so the
#: command is started from this small launcher, never straight from the (large) test process.
_LAUNCHER = """
import json, os, subprocess, sys
process = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
_pid, status, usage = os.wait4(process.pid, 0)
errors = process.stderr.read().decode()
print(json.dumps([usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024,
                  os.waitstatus_to_exitcode(status), errors]))
"""


def _run(*args: str) -> tuple[float, float]:
    """CPU seconds and peak RSS (MB) of one ``ontomap`` command in a fresh process."""
    launched = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, sys.executable, "-m", "ontomap", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    cpu, peak, code, errors = json.loads(launched.stdout)
    assert code == 0, errors
    return cpu, peak


@pytest.fixture(scope="module")
def corpora(corpus_defs: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    work = tmp_path_factory.mktemp("scale")
    bench = _bench_scale()
    return {n: bench.make_corpus(corpus_defs, n, work / f"corpus-{n}x") for n in (1, COPIES)}


@pytest.fixture(scope="module")
def measured(corpora: dict[int, Path], tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("scale-out")
    out: dict = {}
    for n, corpus in corpora.items():
        store = work / f"store-{n}x"
        out[("build", n)] = _run("build", str(corpus), "--store", str(store), "-q")
        target = work / f"s-{n}x.nt"
        out[("store-nt", n)] = _run("export", "--store", str(store), "-o", str(target), "-q")
        out[("store-nt", n, "file")] = target
    # The exports from the sources, the cheapest steps, run EXPORT_RUNS times, alternating the
    # sizes; the least CPU time of each is the one least disturbed by the rest of the machine
    # (one run each saw 3x cost 5.1 times the 1x on a busy machine, 3.0 times on a quiet one).
    for _ in range(EXPORT_RUNS):
        for n, corpus in corpora.items():
            for suffix in ("nt", "ttl"):
                target = work / f"x-{n}x.{suffix}"
                cpu, peak = _run("export", str(corpus), "-o", str(target), "-q")
                least, highest = out.get((suffix, n), (cpu, peak))
                out[(suffix, n)] = (min(cpu, least), max(peak, highest))
                out.setdefault((suffix, n, "runs"), []).append(cpu)
                out[(suffix, n, "file")] = target
    return out


def _growth(measured: dict, step: str) -> list[float]:
    """3x's CPU time over the 1x's, for each round of runs. The runs of one round follow each
    other, so they share the machine's state; a 1x that alone caught a quiet moment (1.48 s
    against 2.4 s usually, on a 3x of 6.29 s) does not make the growth look worse than it is."""
    if step == "build":
        return [measured[(step, COPIES)][0] / measured[(step, 1)][0]]
    ones, threes = measured[(step, 1, "runs")], measured[(step, COPIES, "runs")]
    return [three / one for one, three in zip(ones, threes, strict=True)]


def _lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


def test_the_copies_triple_the_entities(corpora: dict[int, Path], measured: dict) -> None:
    """Every copy's entities are distinct, the index codes shared: the 3x graph has three times
    the 1x's triples less two copies of the code triples, which are the lines whose subject
    is not a finding, attribute, value or contributor of the base IRI."""
    one = measured[("nt", 1, "file")].read_text(encoding="utf-8").splitlines()
    base = "<https://w3id.org/ontomap/id/"
    codes = sum(1 for line in one if not line.startswith(base))
    assert _lines(measured[("nt", COPIES, "file")]) == COPIES * len(one) - (COPIES - 1) * codes


def test_export_from_the_store_is_the_export_from_the_sources(measured: dict) -> None:
    for n in (1, COPIES):
        stored = measured[("store-nt", n, "file")].read_bytes()
        assert stored == measured[("nt", n, "file")].read_bytes()


# (export --store is not in it yet: it reads the whole graph from the store, see README)
@pytest.mark.parametrize("step", ["build", "nt", "ttl"])
def test_work_grows_about_linearly(measured: dict, step: str) -> None:
    growth = _growth(measured, step)
    assert min(growth) <= GROWTH_LIMIT, f"{step}: 3x over 1x CPU time, by round: {growth}"


@pytest.mark.parametrize("step", ["nt", "ttl", "store-nt"])
def test_export_memory_is_bounded(measured: dict, step: str) -> None:
    for n in (1, COPIES):
        _, peak = measured[(step, n)]
        assert peak <= EXPORT_PEAK_MB, f"{step} {n}x: peak {peak:.0f} MB"
    # streaming: three times the models need less than twice the memory (a whole graph in
    # memory needed 2.6 times: 714 MB against 270 MB)
    assert measured[(step, COPIES)][1] <= 2 * measured[(step, 1)][1]
