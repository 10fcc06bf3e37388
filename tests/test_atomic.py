"""Tests of ontomap.atomic through ``ontomap export`` and ``ontomap mappings``: permissions
kept, symbolic links written through, devices and pipes written directly, and the temporary
files of a run killed with SIGKILL removed by the next run, never those of a live writer."""

from __future__ import annotations

import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT

from ontomap.atomic import atomic_write, part_name, remove_stale_parts
from ontomap.errors import OutputError
from ontomap.exporters import serialize
from ontomap.graph import GraphBuilder
from ontomap.readers import read_models

ENV = dict(os.environ, PYTHONPATH=str(ROOT))
ENV.pop("ONTOMAP_STORE", None)


def _ontomap(
    *args: str | Path, umask: int | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ontomap", *map(str, args)],
        env=ENV,
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=None if umask is None else (lambda: os.umask(umask)),
    )


@pytest.fixture(scope="module")
def turtle() -> bytes:
    """What ``ontomap export EXAMPLES -o x.ttl`` must write."""
    graph = GraphBuilder().graph(source.model for source in read_models([EXAMPLES]).models)
    return serialize(graph, "turtle")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ------------------------------------------------------------------ permissions


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o444, 0o755], ids=oct)
def test_writing_over_a_file_keeps_its_mode(tmp_path: Path, turtle: bytes, mode: int) -> None:
    target = tmp_path / "findings.ttl"
    target.write_bytes(b"old\n")
    target.chmod(mode)
    done = _ontomap("export", EXAMPLES, "-o", target, "-q")
    assert done.returncode == 0, done.stderr
    assert target.read_bytes() == turtle
    assert oct(_mode(target)) == oct(mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["findings.ttl"]


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002], ids=oct)
def test_a_new_file_gets_the_mode_the_umask_gives(tmp_path: Path, umask: int) -> None:
    target = tmp_path / "new" / "findings.nt"
    done = _ontomap("export", EXAMPLES, "-o", target, "-q", umask=umask)
    assert done.returncode == 0, done.stderr
    assert oct(_mode(target)) == oct(0o666 & ~umask)


def test_mappings_keep_the_mode_too(tmp_path: Path) -> None:
    target = tmp_path / "radlex-snomed.sssom.tsv"
    target.write_bytes(b"old\n")
    target.chmod(0o600)
    done = _ontomap("mappings", EXAMPLES, "--from", "RADLEX", "--to", "SNOMED", "-o", target)
    assert done.returncode == 0, done.stderr
    assert target.read_text().startswith("#") and oct(_mode(target)) == oct(0o600)


# ------------------------------------------------------------------ links, devices, pipes


def test_a_symbolic_link_is_written_through_and_stays_a_link(tmp_path: Path, turtle: bytes) -> None:
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "findings.ttl"
    target.write_bytes(b"old\n")
    target.chmod(0o640)
    (tmp_path / "middle.ttl").symlink_to("real/findings.ttl")
    link = tmp_path / "link.ttl"
    link.symlink_to("middle.ttl")  # a link to a link
    done = _ontomap("export", EXAMPLES, "-o", link, "-q")
    assert done.returncode == 0, done.stderr
    assert link.is_symlink() and os.readlink(link) == "middle.ttl"
    assert os.readlink(tmp_path / "middle.ttl") == "real/findings.ttl"
    assert target.read_bytes() == turtle and oct(_mode(target)) == oct(0o640)
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["findings.ttl"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.ttl", "middle.ttl", "real"]


def test_a_dangling_link_gets_its_target_written(tmp_path: Path, turtle: bytes) -> None:
    link = tmp_path / "link.ttl"
    link.symlink_to("out/findings.ttl")
    done = _ontomap("export", EXAMPLES, "-o", link, "-q")
    assert done.returncode == 0, done.stderr
    assert link.is_symlink() and (tmp_path / "out" / "findings.ttl").read_bytes() == turtle


def test_a_named_pipe_is_written_into(tmp_path: Path, turtle: bytes) -> None:
    pipe = tmp_path / "findings.ttl"
    os.mkfifo(pipe)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_bytes()), daemon=True)
    reader.start()
    done = _ontomap("export", EXAMPLES, "-o", pipe, "-q")
    reader.join(60)
    assert done.returncode == 0, done.stderr
    assert received == [turtle]
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["findings.ttl"]


def test_a_character_device_is_written_into_not_replaced(tmp_path: Path) -> None:
    null = tmp_path / "null"
    try:
        os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a /dev/null of our own
    except PermissionError:
        pytest.skip("making a device needs root")
    done = _ontomap("export", EXAMPLES, "-o", null, "--format", "turtle", "-q")
    assert done.returncode == 0, done.stderr
    assert stat.S_ISCHR(os.lstat(null).st_mode) and os.lstat(null).st_rdev == os.makedev(1, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]


def test_outputs_that_cannot_be_written_are_one_line_errors(tmp_path: Path) -> None:
    (tmp_path / "loop1.ttl").symlink_to("loop2.ttl")
    (tmp_path / "loop2.ttl").symlink_to("loop1.ttl")
    (tmp_path / "file").write_text("not a folder")
    for output, says in (
        (tmp_path / "loop1.ttl", "Too many levels of symbolic links"),
        (tmp_path / "file" / "findings.ttl", "Not a directory"),
    ):
        done = _ontomap("export", EXAMPLES, "-o", output, "-q")
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
        assert done.stderr == f"ontomap: error: cannot write {output}: {says}\n"
    with pytest.raises(OutputError, match="is a folder"), atomic_write(tmp_path) as handle:
        handle.write(b"x")


def test_an_error_of_the_writer_is_an_output_error_and_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "findings.ttl"
    target.write_bytes(b"old\n")
    with pytest.raises(OutputError, match="No space left on device"), atomic_write(target) as out:
        out.write(b"half")
        raise OSError(28, "No space left on device")
    assert target.read_bytes() == b"old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["findings.ttl"]


# ------------------------------------------------------------------ interrupted runs


@pytest.fixture(scope="module")
def big_sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,500 copies of the bundled nodule model, under other IDs (about 200,000 triples)."""
    folder = tmp_path_factory.mktemp("big-sources")
    text = (EXAMPLES / "solitary_pulmonary_nodule.fm.json").read_text("utf-8")
    for n in range(1, 1501):
        copy = text.replace("OIFM_OMAP_000001", f"OIFM_BIGX_{n:06d}")
        copy = re.sub(
            r"OIFMA_OMAP_0000(\d\d)", lambda m, n=n: f"OIFMA_BIGX_{n * 100 + int(m[1]):06d}", copy
        )
        (folder / f"model{n:04d}.fm.json").write_text(copy, "utf-8")
    return folder


def _parts(folder: Path) -> list[Path]:
    return sorted(folder.glob(".*.part"))


@pytest.fixture
def live_writer(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """Another process in the middle of an atomic write into ``tmp_path / "out"``, waiting
    for a line on its standard input to finish; its temporary file."""
    out = tmp_path / "out"
    out.mkdir()
    code = (
        "import sys\nfrom ontomap.atomic import atomic_write\n"
        f"with atomic_write({str(out / 'live.ttl')!r}) as handle:\n"
        "    handle.write(b'live')\n    print('writing', flush=True)\n    sys.stdin.readline()\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        env=ENV,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline() == "writing\n"
    [part] = _parts(out)
    try:
        yield process, part
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def test_kill_9_in_the_middle_of_an_export_then_the_next_run_cleans_up(
    big_sources: Path,
    tmp_path: Path,
    turtle: bytes,
    live_writer: tuple[subprocess.Popen[str], Path],
) -> None:
    writer, live_part = live_writer
    out = tmp_path / "out"
    target = out / "findings.ttl"
    target.write_bytes(b"the previous export\n")
    export = subprocess.Popen(
        [sys.executable, "-m", "ontomap", "export", str(big_sources), "-o", str(target), "-q"],
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        part = _wait_for_part_of(out, export, "findings.ttl")
        os.kill(export.pid, signal.SIGKILL)
    finally:
        export.wait(60)
    assert export.returncode == -signal.SIGKILL
    assert part.exists() and f".{export.pid}." in part.name
    assert target.read_bytes() == b"the previous export\n"  # never half-written
    # what the next run must leave alone: a live writer's file, another host's, other files
    other_host = out / f".findings.ttl.another-host.{export.pid}.0badc0de.part"
    other_host.write_bytes(b"x")
    unrelated = out / ".notes.part"
    unrelated.write_bytes(b"mine")

    done = _ontomap("export", EXAMPLES, "-o", out / "examples.ttl", "-q")
    assert done.returncode == 0, done.stderr
    assert not part.exists()
    assert live_part.exists() and other_host.exists() and unrelated.exists()
    assert (out / "examples.ttl").read_bytes() == turtle

    writer.communicate("\n", timeout=60)  # the live writer finishes its file
    assert writer.returncode == 0
    assert (out / "live.ttl").read_bytes() == b"live" and not live_part.exists()
    again = _ontomap("export", big_sources, "-o", target, "-q")
    assert again.returncode == 0, again.stderr
    assert target.read_bytes().startswith(b"@prefix ") and len(target.read_bytes()) > 1_000_000
    assert sorted(p.name for p in _parts(out)) == sorted([other_host.name, unrelated.name])


def _wait_for_part_of(folder: Path, process: subprocess.Popen[bytes], name: str) -> Path:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for part in _parts(folder):
            if part.name.startswith(f".{name}.") and f".{process.pid}." in part.name:
                return part
        assert process.poll() is None, "the export ended before it could be killed"
        time.sleep(0.002)
    raise AssertionError("no temporary file appeared")


def test_part_names_carry_host_and_process() -> None:
    name = part_name("findings.ttl")
    host = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname().split(".")[0])[:63]
    assert re.fullmatch(
        rf"\.findings\.ttl\.{re.escape(host)}\.{os.getpid()}\.[0-9a-f]{{8}}\.part", name
    )
    assert part_name("findings.ttl") != name
    assert len(part_name("x" * 250).encode()) < 255


def test_remove_stale_parts_removes_only_files_of_processes_gone(tmp_path: Path) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(gone.stdout)
    stale = tmp_path / part_name("a.ttl", dead_pid)
    mine = tmp_path / part_name("b.ttl")
    parent = tmp_path / part_name("c.ttl", os.getppid())
    folder = tmp_path / part_name("d.ttl", dead_pid)
    for path in (stale, mine, parent):
        path.write_bytes(b"x")
    folder.mkdir()
    assert remove_stale_parts(tmp_path) == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [mine.name, parent.name, folder.name]
    )
