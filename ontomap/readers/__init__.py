"""Read finding models from files and folders.

One reader per input format, registered in :data:`READERS`. :func:`iter_models` yields one
:class:`ReadOutcome` per file and never raises for a bad file: its errors travel in the outcome,
so one broken file never stops the others. :func:`read_models` collects them and also reports
the same OIFM ID coming from two files.

A folder is read as the OIFM repository ships it (``defs/`` with the JSON, ``text/`` with
Markdown renderings of some of them, a ``README.md``): a JSON file and a Markdown file with the
same OIFM ID are one model, the JSON one (a Markdown rendering that disagrees with its JSON
beyond the documented losses gets a warning, :mod:`ontomap.readers.renderings`); a Markdown
file that holds no finding model at all is left out and counted (an error only when named).
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ontomap.errors import DuplicateModelError, ModelReadError, NotAModelError
from ontomap.formats import Format, FormatRegistry
from ontomap.readers.common import (
    STDIN,
    Diagnostic,
    Reader,
    ReadOutcome,
    SourceModel,
    display_path,
    line_of,
)
from ontomap.readers.json_reader import read_json
from ontomap.readers.limits import DEFAULT_MAX_FILE_SIZE, format_size
from ontomap.readers.markdown_reader import read_markdown

__all__ = [
    "DEFAULT_MAX_FILE_SIZE",
    "READERS",
    "STDIN",
    "Diagnostic",
    "ModelStream",
    "ReadOutcome",
    "ReadReport",
    "SourceModel",
    "discover",
    "discover_named",
    "format_of",
    "iter_models",
    "read_file",
    "read_models",
    "read_stdin",
    "read_text",
]

#: Input formats, each with its reader (``reader(path, text)``) and the file-name endings it
#: claims (a name ending in two of them is of the longest one's format).
READERS: FormatRegistry[Format[Reader]] = FormatRegistry(
    [
        Format(
            "json",
            read_json,
            (".fm.json", ".json"),
            ("application/json",),
            description="OIFM finding-model JSON",
        ),
        Format(
            "markdown",
            read_markdown,
            (".md", ".markdown"),
            ("text/markdown",),
            description="the Markdown rendering of a finding model",
        ),
    ]
)


def format_of(path: Path) -> str | None:
    """The input format a file name implies, or ``None``."""
    found = READERS.find_path(path)
    return None if found is None else found.name


def discover_named(paths: Iterable[Path | str]) -> Iterator[tuple[Path, bool]]:
    """Expand folders (recursively, sorted, hidden entries skipped) into the files to read,
    each with whether it was named itself (``True``) or found inside a folder.

    Inside a folder only files whose names a reader claims are taken; a file named explicitly
    is always taken (and reported if no reader claims it).
    """
    for raw in paths:
        path = Path(raw)
        if str(raw) == STDIN:
            yield path, True
        elif path.is_dir():
            found: list[Path] = []
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in files:
                    candidate = Path(root, name)
                    if not name.startswith(".") and format_of(candidate) is not None:
                        found.append(candidate)
            for candidate in sorted(found):
                yield candidate, False
        else:
            yield path, True


def discover(paths: Iterable[Path | str]) -> Iterator[Path]:
    """The files :func:`discover_named` finds under ``paths``."""
    for path, _named in discover_named(paths):
        yield path


_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _not_regular(path: Path, mode: int) -> ModelReadError:
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    via = " (through a symbolic link)" if path.is_symlink() else ""
    return ModelReadError(
        path,
        f"not a regular file but {kind}{via}: ontomap reads only regular files "
        "(or symbolic links to them)",
    )


def _too_large(path: Path, size: int | None, limit: int) -> ModelReadError:
    what = (
        f"the file has {size:,} bytes, more than"
        if size is not None
        else "the file grew, while it was read, past"
    )
    return ModelReadError(
        path,
        f"{what} the limit of {format_size(limit)} (a finding model has a few KiB); "
        "if it really is one, raise the limit with --max-file-size",
    )


_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # opening a FIFO that replaced the file never blocks
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def read_text(path: Path | str, *, max_file_size: int = DEFAULT_MAX_FILE_SIZE) -> str:
    """The text of one source file, which must be a regular file (or a symbolic link to one)
    of at most ``max_file_size`` bytes, in UTF-8 (a byte-order mark is dropped).

    Raises :class:`ModelReadError` otherwise, and for a path that is not valid UTF-8 (its name
    could not be recorded as text). A FIFO, a device or a file that grows while it is read
    never blocks and is never read past the limit.
    """
    path = Path(path)
    shown = display_path(path)
    if shown != str(path):
        raise ModelReadError(
            path,
            "the path is not valid UTF-8 (its other bytes are shown as \\xNN): rename the file "
            "or its folder; ontomap records source paths as text",
        )
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if path.is_symlink():
            raise ModelReadError(
                path, f"a broken symbolic link (to {display_path(os.readlink(path))})"
            ) from None
        raise ModelReadError(path, "no such file or folder") from None
    except OSError as exc:
        raise ModelReadError(path, f"cannot read: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise _not_regular(path, info.st_mode)
    if info.st_size > max_file_size:
        raise _too_large(path, info.st_size, max_file_size)
    try:
        fd = os.open(path, os.O_RDONLY | _NONBLOCK | _CLOEXEC)
    except FileNotFoundError:
        raise ModelReadError(path, "no such file or folder") from None
    except OSError as exc:
        raise ModelReadError(path, f"cannot read: {exc.strerror}") from None
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):  # replaced since os.stat
            raise _not_regular(path, opened.st_mode)
        chunks: list[bytes] = []
        left = max_file_size + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as exc:
        raise ModelReadError(path, f"cannot read: {exc.strerror}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > max_file_size:
        raise _too_large(path, None, max_file_size)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        utf16 = " (it is UTF-16)" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
        raise ModelReadError(
            path,
            f"not UTF-8 text{utf16} (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save the file as UTF-8",
            line,
        ) from None


_stdin_read = False


def read_stdin(*, max_file_size: int = DEFAULT_MAX_FILE_SIZE) -> str:
    """Standard input as one source's text: UTF-8, at most ``max_file_size`` bytes, read once
    per process (a second ``-`` is an error)."""
    global _stdin_read
    path = Path(STDIN)
    if _stdin_read:
        raise ModelReadError(path, "standard input was already read: give '-' once")
    _stdin_read = True
    data = sys.stdin.buffer.read(max_file_size + 1)
    if len(data) > max_file_size:
        raise _too_large(path, None, max_file_size)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ModelReadError(
            path, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})", line
        ) from None


def read_file(
    path: Path | str, *, max_file_size: int = DEFAULT_MAX_FILE_SIZE
) -> tuple[SourceModel, list[Diagnostic]]:
    """Read one file; raises :class:`ModelReadError` when it is not a usable finding model.

    The file is read as :func:`read_text` says (a regular file of at most ``max_file_size``
    bytes, UTF-8), then by the reader of its format. ``-`` reads standard input
    (:func:`read_stdin`), as JSON when it starts with ``{``, else as Markdown.
    """
    path = Path(path)
    if str(path) == STDIN:
        text = read_stdin(max_file_size=max_file_size)
        fmt = "json" if text.lstrip().startswith("{") else "markdown"
        model, warnings = READERS[fmt].handler(path, text)
        return SourceModel(model, path, fmt), warnings
    fmt = format_of(path)
    if fmt is None:
        if not path.exists() and not path.is_symlink():
            raise ModelReadError(path, "no such file or folder")
        known = ", ".join(e for reader in READERS.values() for e in reader.extensions)
        raise ModelReadError(path, f"not a finding-model file (expected one of: {known})")
    text = read_text(path, max_file_size=max_file_size)
    reader = READERS[fmt].handler
    model, warnings = reader(path, text)
    return SourceModel(model, path, fmt), warnings


def iter_models(
    paths: Iterable[Path | str | tuple[Path, bool]],
    progress: Callable[[Path], None] | None = None,
    *,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
) -> Iterator[ReadOutcome]:
    """One :class:`ReadOutcome` per file under ``paths``; bad files give outcomes with errors.

    Files larger than ``max_file_size`` bytes are errors (see :func:`read_text`). A file found
    inside a folder that holds no finding model at all gives a ``skipped`` outcome.
    ``paths`` may also be what :func:`discover_named` gives.
    """
    for path, named in _named(paths):
        if progress is not None:
            progress(path)
        try:
            read, warnings = read_file(path, max_file_size=max_file_size)
        except NotAModelError as exc:
            if named:
                yield ReadOutcome(path, format_of(path), None, (Diagnostic.from_error(exc),))
            else:
                yield ReadOutcome(path, format_of(path), None, skipped=True)
            continue
        except ModelReadError as exc:
            yield ReadOutcome(path, format_of(path), None, (Diagnostic.from_error(exc),))
            continue
        yield ReadOutcome(path, read.format, read.model, tuple(warnings))


def _named(paths: Iterable[Path | str | tuple[Path, bool]]) -> Iterator[tuple[Path, bool]]:
    for item in paths:
        if isinstance(item, tuple):
            yield item
        else:
            yield from discover_named([item])


@dataclass(slots=True)
class ReadReport:
    """All models read from some paths, and every diagnostic met on the way."""

    models: list[SourceModel] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: int = 0
    #: Files met inside a folder that hold no finding model (a README), left out.
    skipped: list[Path] = field(default_factory=list)
    #: Markdown files read as the rendering of a JSON model also read (the JSON is kept).
    renderings: list[Path] = field(default_factory=list)
    #: How many distinct models were read: ``len(models)``, or, from a stream made with
    #: ``keep_models=False`` (whose :attr:`models` stays empty), the count alone.
    model_count: int = 0

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors


def _id_line(path: Path, oifm_id: str, max_file_size: int) -> int | None:
    """The line where ``oifm_id`` first appears in a file (for messages about that ID)."""
    try:
        return line_of(read_text(path, max_file_size=max_file_size), oifm_id)
    except ModelReadError:
        return None


@dataclass(frozen=True, slots=True)
class _Seen:
    """Where a model not kept in memory came from."""

    path: Path
    format: str


class ModelStream:
    """Iterate over the models under some paths while collecting a :class:`ReadReport`.

    Iterating yields each good model as soon as its file is read (so a consumer can work while
    reading goes on); errors and warnings go to :attr:`report`. The same OIFM ID in two files
    of one format is an error on the second file; the first one is kept. A JSON file and a
    Markdown file with the same ID are one model, the JSON one: when the Markdown comes first,
    the JSON model is yielded again when it comes (a consumer keeps a model's later version, as
    a store does). With ``strict``, the first error is raised instead (:class:`ModelReadError`
    or :class:`DuplicateModelError`). Files larger than ``max_file_size`` bytes are errors (see
    :func:`read_text`). :attr:`files` lists the files to read, found when the stream is made.

    With ``keep_models=False`` the report keeps no models (``report.models`` stays empty,
    ``report.model_count`` counts them), so a consumer that writes each model as it comes
    reads any number of files in bounded memory. Only Markdown models are held, until their
    JSON may come; a JSON model whose Markdown rendering comes later is read again to compare
    them.
    """

    def __init__(
        self,
        paths: Iterable[Path | str],
        *,
        strict: bool = False,
        progress: Callable[[Path], None] | None = None,
        max_file_size: int = DEFAULT_MAX_FILE_SIZE,
        keep_models: bool = True,
    ) -> None:
        self.paths = list(paths)
        self.keep_models = keep_models
        self.files = list(_named(self.paths))
        self.strict = strict
        self.progress = progress
        self.max_file_size = max_file_size
        self.report = ReadReport()

    def __iter__(self) -> Iterator[SourceModel]:
        report = self.report
        # what was read of each OIFM ID: the source, or only where it came from
        kept: list[SourceModel | _Seen] = report.models if self.keep_models else []  # type: ignore[assignment]
        seen: dict[str, int] = {}  # OIFM ID → its place in kept
        for outcome in iter_models(self.files, self.progress, max_file_size=self.max_file_size):
            report.files += 1
            if outcome.skipped:
                report.skipped.append(outcome.path)
                continue
            if outcome.model is None and self.strict:
                error = next(d for d in outcome.diagnostics if d.severity == "error")
                raise ModelReadError(error.path, error.message, error.line)
            report.diagnostics.extend(outcome.diagnostics)
            if outcome.model is None:
                continue
            source = SourceModel(outcome.model, outcome.path, outcome.format or "json")
            place = seen.get(source.model.oifm_id)
            if place is None:
                seen[source.model.oifm_id] = len(kept)
                kept.append(self._keep(source))
                report.model_count += 1
                yield source
                continue
            first = kept[place]
            if {first.format, source.format} != {"json", "markdown"}:
                duplicate = DuplicateModelError(source.model.oifm_id, first.path, source.path)
                if self.strict:
                    raise duplicate
                line = _id_line(source.path, source.model.oifm_id, self.max_file_size)
                report.diagnostics.append(Diagnostic("error", source.path, str(duplicate), line))
                continue
            json_source, markdown = (first, source) if first.format == "json" else (source, first)
            report.renderings.append(markdown.path)
            if isinstance(json_source, _Seen):
                json_source = self._read_again(json_source)
            if isinstance(markdown, SourceModel) and json_source is not None:
                report.diagnostics.extend(self._disagreement(markdown, json_source))
            if source is json_source:
                kept[place] = self._keep(source)
                yield source

    def _keep(self, source: SourceModel) -> SourceModel | _Seen:
        if self.keep_models or source.format == "markdown":
            return source
        return _Seen(source.path, source.format)

    def _read_again(self, seen: _Seen) -> SourceModel | None:
        """The JSON model read earlier and not kept (``None`` if the file changed meanwhile
        into something unreadable)."""
        try:
            return read_file(seen.path, max_file_size=self.max_file_size)[0]
        except ModelReadError:
            return None

    def _disagreement(self, markdown: SourceModel, json_source: SourceModel) -> list[Diagnostic]:
        """A warning on a Markdown rendering that differs from its JSON, at its first
        difference (``ontomap validate`` lists them all)."""
        from ontomap.readers.renderings import model_differences

        differences = model_differences(markdown.model, json_source.model)
        if not differences:
            return []
        first = differences[0]
        more = len(differences) - 1
        also = f" (and {more} more difference{'s' * (more != 1)})" if more else ""
        message = (
            f"the Markdown rendering of {json_source.model.oifm_id} differs from "
            f"{display_path(json_source.path)}, whose model is used: {first.what}{also}; "
            "'ontomap validate' lists every difference"
        )
        line = _id_line(markdown.path, first.entity, self.max_file_size)
        return [Diagnostic("warning", markdown.path, message, line)]


def read_models(
    paths: Iterable[Path | str],
    *,
    strict: bool = False,
    progress: Callable[[Path], None] | None = None,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
) -> ReadReport:
    """Read every finding model under ``paths`` into a :class:`ReadReport`.

    Errors are collected per file (one bad file never stops the others); with ``strict`` the
    first error is raised instead. Files larger than ``max_file_size`` bytes are errors. See
    :class:`ModelStream` to consume models while reading.
    """
    stream = ModelStream(paths, strict=strict, progress=progress, max_file_size=max_file_size)
    for _source in stream:
        pass
    return stream.report
