"""A store folder as a series of complete, immutable generations, switched atomically.

Layout of a store folder::

    STORE/
      GENERATION          the name of the current generation ("000004"), replaced by rename
      write.lock          held (flock, exclusive) by the one process preparing a generation
      generations/
        000004/           an Oxigraph database; never written again once it is current
        000004.lock       held (flock, shared) by every process reading that generation
        000005.part/      being prepared by a writer; removed if that writer dies

A writer takes ``write.lock``, makes ``NNNNNN.part`` a hard-link checkpoint of the current
generation (Oxigraph's ``backup``, milliseconds), writes into it, then renames it to ``NNNNNN``
and replaces ``GENERATION``: readers see the old generation or the new one, never a mix, and a
writer killed at any moment leaves the current generation as it was. Generations that are no
longer current are deleted as soon as no reader holds their lock.

A folder holding an Oxigraph database directly (the layout before generations) is read as it
is and turned into generations by the next write.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from ontomap.errors import StoreError

__all__ = [
    "POINTER",
    "GenerationGoneError",
    "ReadLease",
    "StoreBusyError",
    "WriteLease",
    "current_generation",
    "is_store",
]

#: File naming the current generation.
POINTER = "GENERATION"
#: Folder holding the generations.
GENERATIONS = "generations"
#: File a writer holds locked.
WRITE_LOCK = "write.lock"
#: RocksDB's own marker file: its presence at the top marks the layout before generations.
_LEGACY_MARKER = "CURRENT"
_NAME = re.compile(r"^[0-9]{6,}$")
_LOCK_RETRIES = 50


class StoreBusyError(StoreError):
    """Another process is writing the store."""

    def __init__(self, path: Path, holder: str | None) -> None:
        self.path = path
        self.holder = holder
        who = f" (process {holder})" if holder else ""
        super().__init__(
            f"another ontomap process{who} is writing the store at {path}; "
            "wait for it to finish, then try again"
        )


class GenerationGoneError(StoreError):
    """A generation asked for by name is no longer in the store."""


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _legacy(path: Path) -> bool:
    return not (path / POINTER).exists() and (path / _LEGACY_MARKER).is_file()


def current_generation(path: Path | str) -> str | None:
    """The name of the store's current generation; ``""`` for a store in the layout before
    generations; ``None`` when ``path`` holds no store."""
    folder = Path(path)
    try:
        name = (folder / POINTER).read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return "" if _legacy(folder) else None
    except (OSError, UnicodeDecodeError) as exc:
        raise StoreError(f"cannot read {folder / POINTER}: {exc}") from None
    if not _NAME.match(name):
        raise StoreError(
            f"the store at {folder} is damaged: {POINTER} holds {name[:40]!r}, not a generation "
            f"name; rebuild it with 'ontomap build SOURCES --store {folder}'"
        )
    return name


def is_store(path: Path | str) -> bool:
    """Whether ``path`` holds a store (of either layout)."""
    try:
        return current_generation(path) is not None
    except StoreError:
        return True  # a damaged store is still a store: opening it says what is wrong


def generation_dir(path: Path, name: str) -> Path:
    """The database folder of generation ``name`` (the store folder itself for ``""``)."""
    return path / GENERATIONS / name if name else path


def _lock_file(path: Path, name: str) -> Path:
    return path / GENERATIONS / f"{name}.lock"


@dataclass
class ReadLease:
    """A shared lock on one generation: while held, the generation is not deleted."""

    path: Path
    name: str
    _fd: int | None

    @property
    def directory(self) -> Path:
        return generation_dir(self.path, self.name)

    @classmethod
    def acquire(cls, path: Path, name: str | None = None) -> ReadLease:
        """Lock the current generation (or generation ``name``) for reading."""
        for _ in range(_LOCK_RETRIES):
            wanted = name if name is not None else current_generation(path)
            if wanted is None:
                raise StoreError(
                    f"no store at {path}; create one with 'ontomap build SOURCES --store {path}'"
                )
            if wanted == "":
                return cls(path, "", None)  # the layout before generations: nothing to lock
            try:
                fd = os.open(_lock_file(path, wanted), os.O_RDONLY)
            except FileNotFoundError:
                if name is not None:
                    raise GenerationGoneError(
                        f"generation {name} of the store at {path} no longer exists"
                    ) from None
                if current_generation(path) == wanted:
                    raise StoreError(
                        f"the store at {path} is damaged: generation {wanted} is missing; "
                        f"rebuild it with 'ontomap build SOURCES --store {path}'"
                    ) from None
                continue  # replaced and deleted meanwhile: look again
            except OSError as exc:
                raise StoreError(f"cannot open the store at {path}: {exc}") from None
            fcntl.flock(fd, fcntl.LOCK_SH)
            directory = generation_dir(path, wanted)
            if name is None and current_generation(path) != wanted:
                os.close(fd)  # a newer generation came in between: take that one
                continue
            if not directory.is_dir():
                os.close(fd)
                if name is not None:
                    raise GenerationGoneError(
                        f"generation {name} of the store at {path} no longer exists"
                    )
                raise StoreError(
                    f"the store at {path} is damaged: generation {wanted} is missing; "
                    f"rebuild it with 'ontomap build SOURCES --store {path}'"
                )
            return cls(path, wanted, fd)
        raise StoreError(f"the store at {path} changed too often while opening it; try again")

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class WriteLease:
    """The right to prepare the store's next generation (one writer at a time)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if path.exists() and not path.is_dir():
            raise StoreError(f"{path} is a file, not a store folder")
        ours = {POINTER, GENERATIONS, WRITE_LOCK}
        if path.is_dir() and not is_store(path) and any(e.name not in ours for e in path.iterdir()):
            raise StoreError(
                f"{path} is not an ontomap store and is not empty; "
                "give a new or empty folder for the store"
            )
        try:
            (path / GENERATIONS).mkdir(parents=True, exist_ok=True)
            self._fd: int | None = os.open(path / WRITE_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot write the store at {path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = None
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                with contextlib.suppress(OSError, UnicodeDecodeError):
                    holder = os.pread(self._fd, 32, 0).decode().strip() or None
            os.close(self._fd)
            self._fd = None
            raise StoreBusyError(path, holder) from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)
        self.base = current_generation(path)
        self._remove_parts()
        self.name = self._next_name()

    @property
    def directory(self) -> Path:
        """The folder being prepared (``NNNNNN.part``)."""
        return self.path / GENERATIONS / f"{self.name}.part"

    def _next_name(self) -> str:
        numbers = [
            int(entry.name.split(".")[0])
            for entry in (self.path / GENERATIONS).iterdir()
            if _NAME.match(entry.name.split(".")[0])
        ]
        if self.base:
            numbers.append(int(self.base))
        return f"{max(numbers, default=0) + 1:06d}"

    def _remove_parts(self) -> None:
        """Folders left by writers that died (only one writer runs: this one)."""
        for entry in (self.path / GENERATIONS).iterdir():
            if entry.name.endswith(".part"):
                shutil.rmtree(entry, ignore_errors=True)

    def commit(self) -> str:
        """Make the prepared generation current (the database must be closed); returns its
        name. Old generations no reader holds are deleted."""
        final = generation_dir(self.path, self.name)
        lock = _lock_file(self.path, self.name)
        lock.touch(mode=0o644)
        os.replace(self.directory, final)
        _fsync_dir(self.path / GENERATIONS)
        pointer = self.path / f".{POINTER}.part"
        with open(pointer, "w", encoding="ascii") as handle:
            handle.write(f"{self.name}\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(pointer, self.path / POINTER)
        _fsync_dir(self.path)
        if self.base == "":
            self._remove_legacy()
        self.collect()
        self.release()
        return self.name

    def abort(self) -> None:
        """Discard the prepared generation."""
        shutil.rmtree(self.directory, ignore_errors=True)
        self.release()

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def collect(self) -> list[str]:
        """Delete every generation but the current one that no reader holds; returns their
        names."""
        current = current_generation(self.path)
        removed = []
        for entry in sorted((self.path / GENERATIONS).iterdir()):
            if not (entry.is_dir() and _NAME.match(entry.name)) or entry.name == current:
                continue
            lock = _lock_file(self.path, entry.name)
            try:
                fd = os.open(lock, os.O_RDONLY)
            except FileNotFoundError:
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry.name)
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue  # a reader holds it: deleted by a later write
            shutil.rmtree(entry, ignore_errors=True)
            lock.unlink(missing_ok=True)
            os.close(fd)
            removed.append(entry.name)
        return removed

    def _remove_legacy(self) -> None:
        """The database files of the layout before generations, now copied into one."""
        keep = {POINTER, GENERATIONS, WRITE_LOCK}
        for entry in self.path.iterdir():
            if entry.name in keep or entry.is_dir():
                continue
            entry.unlink(missing_ok=True)
