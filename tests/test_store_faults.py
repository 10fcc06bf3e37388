"""Faults during a build of real corpus models: kill -9 at random moments, Ctrl-C, readers while
a build runs. After each, the store answers exactly as before the build or exactly as after.

A slow module (it rebuilds a store some thirty times), kept to a part of the corpus so that it
stays within a minute or two on a loaded machine.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pyoxigraph as ox
import pytest
from conftest import ROOT

from ontomap.generations import GENERATIONS
from ontomap.store import Store

TRIALS = 24
#: Corpus files in the rebuilt store (the first half of them are in the store before).
SIZE = 800


def _ids(files: list[Path]) -> list[str]:
    return sorted(json.loads(p.read_text(encoding="utf-8"))["oifm_id"] for p in files)


def _signature(path: Path) -> tuple[list[str], str]:
    """The model IDs and a hash of every quad the store holds."""
    with Store(path, read_only=True) as store:
        dump = store.oxigraph.dump(format=ox.RdfFormat.N_QUADS)
        ids = store.model_ids()
    assert dump is not None
    return ids, hashlib.sha256(b"\n".join(sorted(dump.split(b"\n")))).hexdigest()


def _build(sources: list[Path], store: Path) -> subprocess.Popen[str]:
    args = [str(s) for s in sources]
    return subprocess.Popen(
        [sys.executable, "-m", "ontomap", "build", *args, "--store", str(store), "-q"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C as a terminal sends it, whatever an earlier test left the suite ignoring
        preexec_fn=_default_sigint,
    )


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Corpus:
    """A store of half the corpus (``before``) and what a rebuild with all of it gives
    (``after``), with the time such a rebuild takes here (median of three)."""

    def __init__(self, defs: Path, folder: Path) -> None:
        files = sorted(defs.glob("*.fm.json"))[:SIZE]
        self.files = files
        self.half = files[: len(files) // 2]
        self.pristine = folder / "before"
        assert _build(self.half, self.pristine).wait(300) == 0
        self.before = _signature(self.pristine)
        assert self.before[0] == _ids(self.half)
        # the median of three rebuilds: one alone may catch a cold cache or a busy moment, and
        # the kills' moments are drawn against it
        seconds = []
        for run in range(3):
            reference = folder / f"after-{run}"
            shutil.copytree(self.pristine, reference)
            started = time.monotonic()
            process = _build(files, reference)
            assert process.wait(300) == 0, process.stderr.read() if process.stderr else ""
            seconds.append(time.monotonic() - started)
        self.rebuild_seconds = statistics.median(seconds)
        self.after = _signature(reference)
        assert self.after[0] == _ids(files)
        assert self.after != self.before


@pytest.fixture(scope="module")
def corpus(corpus_defs: Path, tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return Corpus(corpus_defs, tmp_path_factory.mktemp("faults"))


def test_kill_9_at_random_moments_leaves_before_or_after(corpus: Corpus, tmp_path: Path) -> None:
    rng = random.Random(20261201)
    outcomes = {"before": 0, "after": 0}
    store = tmp_path / "kg"
    for trial in range(TRIALS):
        if store.exists():
            shutil.rmtree(store)
        shutil.copytree(corpus.pristine, store)
        moment = rng.uniform(0.05, 1.1 * corpus.rebuild_seconds)
        process = _build(corpus.files, store)
        time.sleep(moment)
        process.kill()
        process.wait(30)
        seen = _signature(store)
        assert seen in (corpus.before, corpus.after), f"trial {trial}: killed at {moment:.2f} s"
        outcomes["before" if seen == corpus.before else "after"] += 1
    # a later build completes and cleans up after the killed one
    assert _build(corpus.files, store).wait(300) == 0
    assert _signature(store) == corpus.after
    assert [p.name for p in (store / GENERATIONS).iterdir() if p.name.endswith(".part")] == []
    assert outcomes["before"] >= TRIALS // 2, outcomes  # most kills land inside the build
    print(f"kill -9 trials: {outcomes} (rebuild takes {corpus.rebuild_seconds:.2f} s)")


def test_ctrl_c_keeps_the_store_as_it_was(corpus: Corpus, tmp_path: Path) -> None:
    store = tmp_path / "kg"
    shutil.copytree(corpus.pristine, store)
    process = _build(corpus.files, store)
    # as soon as the build writes its new generation (a .part folder): it is mid-write
    deadline = time.monotonic() + 60
    while not any(p.name.endswith(".part") for p in (store / GENERATIONS).iterdir()):
        assert process.poll() is None and time.monotonic() < deadline, "the build never wrote"
        time.sleep(0.002)
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "interrupted: nothing was written" in err and "Traceback" not in err
    assert _signature(store) == corpus.before
    assert [p.name for p in (store / GENERATIONS).iterdir() if p.name.endswith(".part")] == []


def test_readers_during_a_build_see_one_whole_generation(corpus: Corpus, tmp_path: Path) -> None:
    store = tmp_path / "kg"
    shutil.copytree(corpus.pristine, store)
    before, after = len(corpus.before[0]), len(corpus.after[0])
    counts: list[int] = []
    process = _build(corpus.files, store)
    while process.poll() is None:
        with Store(store, read_only=True) as reader:
            counts.append(len(reader.model_ids()))
    assert process.returncode == 0
    with Store(store, read_only=True) as reader:
        counts.append(len(reader.model_ids()))
    assert set(counts) <= {before, after}, sorted(set(counts))
    assert counts[0] == before and counts[-1] == after
    # once the new generation is seen, the old one never comes back
    assert counts == sorted(counts)
    # the CLI reader too: an export of the store while nobody writes it holds every finding
    result = subprocess.run(
        [sys.executable, "-m", "ontomap", "lookup", "RADLEX:RID5791", "--store", str(store)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
