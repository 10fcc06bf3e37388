"""Store generations: a write is all-or-nothing, readers keep the generation they opened,
old generations go once no reader holds them, one writer at a time, damaged stores are named."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT

from ontomap.errors import StoreError
from ontomap.generations import GENERATIONS, POINTER
from ontomap.readers import read_models
from ontomap.store import (
    GenerationGoneError,
    Store,
    StoreBusyError,
    current_generation,
    is_store,
)

SPN = EXAMPLES / "solitary_pulmonary_nodule.fm.json"


def _ids_in_json(*paths: Path) -> list[str]:
    """OIFM IDs straight from the JSON files (the oracle)."""
    return sorted(json.loads(p.read_text(encoding="utf-8"))["oifm_id"] for p in paths)


def _ontomap(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ontomap", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def _generations(path: Path) -> list[str]:
    return sorted(entry.name for entry in (path / GENERATIONS).iterdir())


def _renamed(tmp_path: Path, oifm_id: str, name: str) -> Path:
    data = json.loads(SPN.read_text(encoding="utf-8"))
    data["oifm_id"], data["name"] = oifm_id, name
    path = tmp_path / "src" / f"{name.replace(' ', '_')}.fm.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_each_write_is_a_new_generation_and_old_ones_go(tmp_path: Path) -> None:
    kg = tmp_path / "kg"
    assert current_generation(kg) is None and not is_store(kg)
    with Store(kg) as store:
        store.load(read_models([SPN]).models)
    assert current_generation(kg) == "000001"
    assert (kg / POINTER).read_text() == "000001\n"
    assert _generations(kg) == ["000001", "000001.lock"]
    with Store(kg) as store:
        store.load(read_models([EXAMPLES]).models)
    assert current_generation(kg) == "000002"
    assert _generations(kg) == ["000002", "000002.lock"]  # nobody reads 000001: deleted
    with Store(kg, read_only=True) as store:
        assert store.generation == "000002"
        # the seed and GCS examples are Markdown; their IDs are in their first lines
        assert store.model_ids() == ["OIFM_GMTS_005529", "OIFM_OMAP_000001", "OIFM_OMAP_000002"]


def test_a_reader_keeps_its_generation_while_a_writer_commits(tmp_path: Path) -> None:
    kg = tmp_path / "kg"
    other = _renamed(tmp_path, "OIFM_OMAP_000777", "other nodule")
    with Store(kg) as store:
        store.load(read_models([SPN]).models)
    reader = Store(kg, read_only=True)
    try:
        with Store(kg) as writer:
            writer.load(read_models([other]).models)
            # not committed yet: a new reader sees the old generation
            with Store(kg, read_only=True) as early:
                assert early.model_ids() == _ids_in_json(SPN)
        assert reader.generation == "000001"
        assert reader.model_ids() == _ids_in_json(SPN)  # still the generation it opened
        assert (kg / GENERATIONS / "000001").is_dir()  # held: not deleted
        with Store(kg, read_only=True) as late:
            assert late.generation == "000002"
            assert late.model_ids() == _ids_in_json(SPN, other)
    finally:
        reader.close()
    with Store(kg) as store:  # the next write collects what nobody holds
        pass
    assert _generations(kg) == ["000003", "000003.lock"]


def test_a_failed_write_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    kg = tmp_path / "kg"
    with Store(kg) as store:
        store.load(read_models([SPN]).models)
    before = sorted(str(q) for q in Store(kg, read_only=True).oxigraph)
    with pytest.raises(RuntimeError), Store(kg) as store:
        store.load(read_models([EXAMPLES]).models)
        raise RuntimeError("boom")
    assert current_generation(kg) == "000001"
    assert _generations(kg) == ["000001", "000001.lock"]  # no .part left
    with Store(kg, read_only=True) as store:
        assert sorted(str(q) for q in store.oxigraph) == before
    writer = Store(kg)
    writer.load(read_models([EXAMPLES]).models)
    writer.abort()
    assert current_generation(kg) == "000001"


def test_a_dead_writers_part_is_removed_by_the_next_write(tmp_path: Path) -> None:
    kg = tmp_path / "kg"
    with Store(kg) as store:
        store.load(read_models([SPN]).models)
    stale = kg / GENERATIONS / "000005.part"
    shutil.copytree(kg / GENERATIONS / "000001", stale)
    with Store(kg, read_only=True) as store:
        assert store.generation == "000001"  # a .part is never read
    with Store(kg) as store:
        assert not stale.exists()  # removed before the new one is prepared
        assert store.generation == "000002"
    assert _generations(kg) == ["000002", "000002.lock"]


def test_one_writer_at_a_time(tmp_path: Path) -> None:
    kg = tmp_path / "kg"
    with Store(kg) as store:
        store.load(read_models([SPN]).models)
        result = _ontomap("build", str(EXAMPLES), "--store", str(kg))
        assert result.returncode == 4, result.stderr
        assert f"another ontomap process (process {os.getpid()}) is writing" in result.stderr
        assert "Traceback" not in result.stderr
        with pytest.raises(StoreBusyError):
            Store(kg)
    # the first writer committed its own work, the refused one changed nothing
    with Store(kg, read_only=True) as store:
        assert store.model_ids() == _ids_in_json(SPN)


def test_a_store_in_the_layout_before_generations_is_read_then_converted(tmp_path: Path) -> None:
    built = tmp_path / "built"
    with Store(built) as store:
        store.load(read_models([SPN]).models)
    legacy = tmp_path / "legacy"
    shutil.copytree(built / GENERATIONS / "000001", legacy)  # an Oxigraph database at the top
    assert current_generation(legacy) == ""
    with Store(legacy, read_only=True) as store:
        assert store.model_ids() == _ids_in_json(SPN)
    other = _renamed(tmp_path, "OIFM_OMAP_000778", "another nodule")
    result = _ontomap("build", str(other), "--store", str(legacy))
    assert result.returncode == 0, result.stderr
    assert current_generation(legacy) == "000001"
    assert sorted(p.name for p in legacy.iterdir()) == sorted([GENERATIONS, POINTER, "write.lock"])
    with Store(legacy, read_only=True) as store:
        assert store.model_ids() == _ids_in_json(SPN, other)


def test_damaged_stores_are_named_with_what_to_do(tmp_path: Path) -> None:
    kg = tmp_path / "kg"
    assert _ontomap("build", str(SPN), "--store", str(kg)).returncode == 0
    # 1. a pointer that is not a generation name
    (kg / POINTER).write_text("garbage\n")
    for args in (
        ["export", "--store", str(kg), "-o", "-"],
        ["lookup", "RID5791", "--store", str(kg)],
    ):
        result = _ontomap(*args)
        assert result.returncode == 4, result.stderr
        assert f"the store at {kg} is damaged" in result.stderr
        assert "Traceback" not in result.stderr
    # 2. a pointer naming a generation that is gone
    (kg / POINTER).write_text("000009\n")
    result = _ontomap("export", "--store", str(kg), "-o", "-")
    assert result.returncode == 4 and "generation 000009 is missing" in result.stderr
    # 3. RocksDB's own files damaged
    (kg / POINTER).write_text("000001\n")
    database = kg / GENERATIONS / "000001"
    for manifest in database.glob("MANIFEST-*"):
        manifest.write_bytes(b"\x00garbage" * 64)
    result = _ontomap("export", "--store", str(kg), "-o", "-")
    assert result.returncode == 4, result.stderr
    assert f"cannot open the store at {kg}" in result.stderr and "rebuild it" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_folder_that_is_not_a_store_is_not_written_into(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine\n")
    result = _ontomap("build", str(SPN), "--store", str(folder))
    assert result.returncode == 4
    assert "is not an ontomap store and is not empty" in result.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
    with pytest.raises(StoreError, match="no store at"):
        Store(tmp_path / "nothing", read_only=True)


def test_a_held_generation_is_kept_and_the_others_still_go(tmp_path: Path) -> None:
    kg = tmp_path / "kg"
    with Store(kg) as store:
        store.load(read_models([SPN]).models)
    (kg / GENERATIONS / "000000").mkdir()  # a generation whose lock file is gone
    with Store(kg, read_only=True) as held:
        with Store(kg):
            pass  # 000002; 000001 is held
        with Store(kg):
            pass  # 000003; 000002 is not held: deleted although 000001 (sorted first) is kept
        assert _generations(kg) == ["000001", "000001.lock", "000003", "000003.lock"]
        assert held.model_ids() == _ids_in_json(SPN)
    lock = kg / GENERATIONS / "000003.lock"
    umask = os.umask(0)
    os.umask(umask)
    assert lock.stat().st_mode & 0o777 == 0o644 & ~umask  # readers of other accounts may lock
    with pytest.raises(GenerationGoneError, match="generation 000002 of the store"):
        Store(kg, read_only=True, generation="000002")
    with Store(kg, read_only=True, generation="000001") as old:
        assert old.model_ids() == _ids_in_json(SPN)


def test_readers_opening_while_writers_commit_always_get_a_whole_generation(
    tmp_path: Path,
) -> None:
    kg = tmp_path / "kg"
    models = read_models([SPN]).models
    with Store(kg) as store:
        store.load(models)
    stop = threading.Event()
    commits: list[str] = []

    def write() -> None:
        while not stop.is_set():
            with Store(kg) as writer:
                writer.load(models)
                commits.append(writer.commit())

    thread = threading.Thread(target=write)
    thread.start()
    opened = 0
    try:
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            with Store(kg, read_only=True) as reader:
                assert reader.model_ids() == _ids_in_json(SPN)
                opened += 1
    finally:
        stop.set()
        thread.join(30)
    assert opened > 10 and len(commits) > 3, (opened, len(commits))


def test_an_unreadable_pointer_is_a_damaged_store(tmp_path: Path) -> None:
    kg = tmp_path / "kg"
    with Store(kg) as store:
        store.load(read_models([SPN]).models)
    (kg / POINTER).write_bytes(b"\xff\xfe\x00")
    assert is_store(kg)  # damaged, still a store: opening it says what is wrong
    with pytest.raises(StoreError, match=f"cannot read {kg / POINTER}"):
        Store(kg, read_only=True)
    result = _ontomap("serve", "--store", str(kg), "--port", "0", timeout=60)
    assert result.returncode == 4 and "cannot read" in result.stderr, result.stderr
