"""Read finding models from files and folders.

One reader per input format, registered in :data:`READERS`. :func:`iter_models` yields one
:class:`ReadOutcome` per file and never raises for a bad file: its errors travel in the outcome,
so one broken file never stops the others. :func:`read_models` collects them and also reports
the same OIFM ID coming from two files.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ontomap.errors import DuplicateModelError, ModelReadError
from ontomap.readers.common import Diagnostic, Reader, ReadOutcome, SourceModel, line_of
from ontomap.readers.json_reader import read_json
from ontomap.readers.markdown_reader import read_markdown

__all__ = [
    "READERS",
    "Diagnostic",
    "ModelStream",
    "ReadOutcome",
    "ReadReport",
    "SourceModel",
    "discover",
    "format_of",
    "iter_models",
    "read_file",
    "read_models",
]

#: Input formats: name → (reader, file-name endings it claims).
READERS: dict[str, tuple[Reader, tuple[str, ...]]] = {
    "json": (read_json, (".fm.json", ".json")),
    "markdown": (read_markdown, (".md", ".markdown")),
}


def format_of(path: Path) -> str | None:
    """The input format a file name implies, or ``None``."""
    name = path.name.lower()
    for fmt, (_reader, endings) in READERS.items():
        if name.endswith(endings):
            return fmt
    return None


def discover(paths: Iterable[Path | str]) -> Iterator[Path]:
    """Expand folders (recursively, sorted, hidden entries skipped) into the files to read.

    Inside a folder only files whose names a reader claims are taken; a file named explicitly
    is always taken (and reported if no reader claims it).
    """
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found: list[Path] = []
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in files:
                    candidate = Path(root, name)
                    if not name.startswith(".") and format_of(candidate) is not None:
                        found.append(candidate)
            yield from sorted(found)
        else:
            yield path


def read_file(path: Path | str) -> tuple[SourceModel, list[Diagnostic]]:
    """Read one file; raises :class:`ModelReadError` when it is not a usable finding model."""
    path = Path(path)
    if not path.exists():
        raise ModelReadError(path, "no such file or folder")
    fmt = format_of(path)
    if fmt is None:
        known = ", ".join(e for _r, endings in READERS.values() for e in endings)
        raise ModelReadError(path, f"not a finding-model file (expected one of: {known})")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ModelReadError(path, "no such file or folder") from None
    except OSError as exc:
        raise ModelReadError(path, f"cannot read: {exc.strerror}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ModelReadError(
            path,
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save the file as UTF-8",
            line,
        ) from None
    reader = READERS[fmt][0]
    model, warnings = reader(path, text)
    return SourceModel(model, path, fmt), warnings


def iter_models(
    paths: Iterable[Path | str], progress: Callable[[Path], None] | None = None
) -> Iterator[ReadOutcome]:
    """One :class:`ReadOutcome` per file under ``paths``; bad files give outcomes with errors."""
    for path in discover(paths):
        if progress is not None:
            progress(path)
        try:
            read, warnings = read_file(path)
        except ModelReadError as exc:
            yield ReadOutcome(path, format_of(path), None, (Diagnostic.from_error(exc),))
            continue
        yield ReadOutcome(path, read.format, read.model, tuple(warnings))


@dataclass(slots=True)
class ReadReport:
    """All models read from some paths, and every diagnostic met on the way."""

    models: list[SourceModel] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: int = 0

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors


def _id_line(path: Path, oifm_id: str) -> int | None:
    """The line where ``oifm_id`` first appears in a file (for messages about that ID)."""
    try:
        return line_of(path.read_text(encoding="utf-8-sig"), oifm_id)
    except (OSError, UnicodeDecodeError):
        return None


class ModelStream:
    """Iterate over the models under some paths while collecting a :class:`ReadReport`.

    Iterating yields each good model as soon as its file is read (so a consumer can work while
    reading goes on); errors and warnings go to :attr:`report`. The same OIFM ID in two files is
    an error on the second file; the first one is kept. With ``strict``, the first error is
    raised instead (:class:`ModelReadError` or :class:`DuplicateModelError`).
    """

    def __init__(
        self,
        paths: Iterable[Path | str],
        *,
        strict: bool = False,
        progress: Callable[[Path], None] | None = None,
    ) -> None:
        self.paths = list(paths)
        self.strict = strict
        self.progress = progress
        self.report = ReadReport()

    def __iter__(self) -> Iterator[SourceModel]:
        report = self.report
        first_seen: dict[str, Path] = {}
        for outcome in iter_models(self.paths, self.progress):
            report.files += 1
            if outcome.model is None and self.strict:
                error = next(d for d in outcome.diagnostics if d.severity == "error")
                raise ModelReadError(error.path, error.message, error.line)
            report.diagnostics.extend(outcome.diagnostics)
            if outcome.model is None:
                continue
            model = outcome.model
            if model.oifm_id in first_seen:
                duplicate = DuplicateModelError(
                    model.oifm_id, first_seen[model.oifm_id], outcome.path
                )
                if self.strict:
                    raise duplicate
                line = _id_line(outcome.path, model.oifm_id)
                report.diagnostics.append(Diagnostic("error", outcome.path, str(duplicate), line))
                continue
            first_seen[model.oifm_id] = outcome.path
            source = SourceModel(model, outcome.path, outcome.format or "json")
            report.models.append(source)
            yield source


def read_models(
    paths: Iterable[Path | str],
    *,
    strict: bool = False,
    progress: Callable[[Path], None] | None = None,
) -> ReadReport:
    """Read every finding model under ``paths`` into a :class:`ReadReport`.

    Errors are collected per file (one bad file never stops the others); with ``strict`` the
    first error is raised instead. See :class:`ModelStream` to consume models while reading.
    """
    stream = ModelStream(paths, strict=strict, progress=progress)
    for _source in stream:
        pass
    return stream.report
