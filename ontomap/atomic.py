"""Atomic file writes: a reader sees the old file or the complete new one, never a half.

:func:`atomic_write` writes to a temporary file beside the target and, once everything is
written and flushed to disk, puts it in place with one rename:

- **permissions**: a file written over keeps its permission bits (and its owner and group
  where the process may set them); a new file gets the mode ``open`` would give it (0666
  less the umask).
- **symbolic links**: a link given as the path is followed to its final target, which is
  written; the link stays a link (as ``cp`` does).
- **not a regular file** (``/dev/null``, ``/dev/stdout``, a named pipe): there is nothing to
  replace, so it is written directly.
- **interrupted runs**: the temporary file is named ``.NAME.HOST.PID.RANDOM.part`` after the
  writing process. A run killed in the middle (``kill -9``, a crash) leaves it behind; the
  next write into that folder removes the ``.part`` files of processes of this host that are
  gone, never those of a live writer.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ontomap.errors import OutputError

__all__ = ["atomic_write", "part_name", "remove_stale_parts"]

_PART = re.compile(
    r"\.(?P<name>.*)\.(?P<host>[A-Za-z0-9-]+)\.(?P<pid>[1-9][0-9]{0,9})\.[0-9a-f]{8}\.part"
)
#: The longest target name kept in a temporary file's name (file names have 255 bytes).
_NAME_KEPT = 120


def _host() -> str:
    """This host's name as it goes into a temporary file's name."""
    name = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname().split(".")[0])
    return name[:63] or "localhost"


def part_name(target: str, pid: int | None = None) -> str:
    """The name of a new temporary file for writing ``target`` (a file name) by process
    ``pid`` (default: this one), e.g. ``.findings.ttl.myhost.4242.9f86d081.part``."""
    kept = os.fsdecode(os.fsencode(target)[:_NAME_KEPT])
    return f".{kept}.{_host()}.{pid or os.getpid()}.{secrets.token_hex(4)}.part"


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (a process of another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def remove_stale_parts(directory: Path | str) -> list[Path]:
    """Remove the temporary files left in ``directory`` by writers of this host whose
    process is gone; the paths removed. Files of live processes, of other hosts and any
    other file are left alone."""
    if os.name != "posix":  # os.kill(pid, 0) would end the process elsewhere
        return []
    host, own = _host(), os.getpid()
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return []
    for entry in entries:
        if not entry.name.endswith(".part"):
            continue
        match = _PART.fullmatch(entry.name)
        if match is None or match.group("host") != host:
            continue
        pid = int(match.group("pid"))
        if pid == own or _alive(pid):
            continue
        with contextlib.suppress(FileNotFoundError, IsADirectoryError, PermissionError):
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


@contextlib.contextmanager
def atomic_write(path: Path | str) -> Iterator[BinaryIO]:
    """Open a temporary file beside ``path`` for writing; on success it replaces ``path``
    (see the module doc for permissions, links and interrupted runs).

    If the block raises, the temporary file is removed and ``path`` is left untouched. A
    path that cannot be written raises :class:`~ontomap.errors.OutputError`, as does an
    ``OSError`` of the block (a full disk, say).
    """
    given = Path(path)
    target = Path(os.path.realpath(given))
    try:
        existing: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        existing = None
    except OSError as exc:
        raise OutputError(given, _reason(exc)) from None
    if existing is not None and stat.S_ISDIR(existing.st_mode):
        raise OutputError(given, "is a folder; give the name of a file to write")
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        with _direct(given) as handle:
            yield handle
        return
    directory = target.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        remove_stale_parts(directory)
        tmp = directory / part_name(target.name)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        raise OutputError(given, _reason(exc)) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if existing is not None:
            _keep_mode(tmp, existing)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise OutputError(given, _reason(exc)) from exc
        raise
    _sync_directory(directory)


@contextlib.contextmanager
def _direct(path: Path) -> Iterator[BinaryIO]:
    """``path`` (a device or a pipe) opened for writing, errors as :class:`OutputError`."""
    try:
        handle = open(path, "wb")  # noqa: SIM115  (closed below)
    except OSError as exc:
        raise OutputError(path, _reason(exc)) from None
    try:
        with handle:
            yield handle
    except OSError as exc:
        raise OutputError(path, _reason(exc)) from exc


def _keep_mode(tmp: Path, existing: os.stat_result) -> None:
    """Give ``tmp`` the owner, group and permission bits of the file it replaces (owner and
    group only where this process may set them)."""
    current = os.stat(tmp)
    if (current.st_uid, current.st_gid) != (existing.st_uid, existing.st_gid):
        with contextlib.suppress(PermissionError):
            os.chown(tmp, existing.st_uid, existing.st_gid)
    os.chmod(tmp, stat.S_IMODE(existing.st_mode))


def _sync_directory(directory: Path) -> None:
    """Flush the rename to disk (where the system allows opening a folder)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
