"""Types shared by the readers: what reading one file yields, and its diagnostics."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ontomap.errors import ModelReadError
from ontomap.model import FindingModel, IndexCode
from ontomap.sources import SourceModel as SourceModel  # re-exported: its old place

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A message about one source file: an error (the file was not converted) or a warning."""

    severity: Severity
    path: Path
    message: str
    line: int | None = None

    @property
    def location(self) -> str:
        shown = display_path(self.path)
        return f"{shown}:{self.line}" if self.line is not None else shown

    def __str__(self) -> str:
        return f"{self.location}: {self.severity}: {self.message}"

    @classmethod
    def from_error(cls, error: ModelReadError) -> Diagnostic:
        return cls("error", error.path, error.reason, error.line)


@dataclass(frozen=True, slots=True)
class ReadOutcome:
    """What reading one file gave: a model (or ``None`` where it failed) and its diagnostics."""

    path: Path
    format: str | None
    model: FindingModel | None
    diagnostics: tuple[Diagnostic, ...] = field(default=())
    #: Met inside a folder, the file holds no finding model at all (a README): left out.
    skipped: bool = False

    @property
    def ok(self) -> bool:
        return self.model is not None


#: A reader takes a file's path and its text and returns a model plus warnings;
#: it raises :class:`ModelReadError` (with a line where there is one) when the file is unusable.
Reader = Callable[[Path, str], tuple[FindingModel, list[Diagnostic]]]


def display_path(path: Path | str) -> str:
    """A path as text that can always be printed: bytes of a file name that are not UTF-8
    (which Python keeps as lone surrogates) are shown as ``\\xNN``; standard input (``-``) as
    ``<stdin>``."""
    if str(path) == STDIN:
        return "<stdin>"
    return os.fsencode(path).decode("utf-8", "backslashreplace")


#: The source name that stands for standard input.
STDIN = "-"


#: Characters no finding-model text may hold: the C0 controls but tab, line feed and carriage
#: return, lone surrogates (from a JSON ``\\udXXX`` escape) and U+FFFE/U+FFFF; none of them
#: can be written in XML 1.0 (so in RDF/XML or OWL), and none is text. Other characters are kept
#: as they are, U+0085 and U+2028 among them.
FORBIDDEN_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def describe_character(char: str) -> str:
    """What a :data:`FORBIDDEN_CHARACTER` is, and what to do about it, for a message."""
    code = f"U+{ord(char):04X}"
    if "\ud800" <= char <= "\udfff":
        return (
            f"a lone surrogate {code} (half of a UTF-16 pair, not a character): write the "
            "character itself, or both halves of its \\u escape"
        )
    if char in "\ufffe\uffff":
        return f"the non-character {code}: remove it"
    return f"the control character {code}: remove it (only tab and line breaks are allowed)"


def check_text(path: Path, text: str) -> None:
    """Raise :class:`ModelReadError` at the first :data:`FORBIDDEN_CHARACTER` of ``text``."""
    match = FORBIDDEN_CHARACTER.search(text)
    if match is not None:
        line = text.count("\n", 0, match.start()) + 1
        column = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
        raise ModelReadError(path, f"{describe_character(match.group())} (column {column})", line)


def shown(value: object, width: int = 60) -> str:
    """``repr(value)`` cut to about ``width`` characters, for messages about long input."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def line_of(text: str, needle: str, start: int = 0) -> int | None:
    """1-based line of the first occurrence of ``needle`` in ``text`` at or after ``start``."""
    index = text.find(needle, start)
    if index < 0:
        return None
    return text.count("\n", 0, index) + 1


#: At most this many unknown-system warnings per file; the rest are counted in one more.
MAX_SYSTEM_WARNINGS = 20


def unknown_system_warnings(path: Path, model: FindingModel, text: str) -> list[Diagnostic]:
    """One warning per code system in ``model`` that the registry does not know (at most
    :data:`MAX_SYSTEM_WARNINGS`, then one warning counting the others)."""
    warned: set[str] = set()
    out: list[Diagnostic] = []
    codes: list[IndexCode] = list(model.index_codes) + list(model.anatomic_locations)
    for _kind, _id, _label, entity_codes in model.entities()[1:]:
        codes.extend(entity_codes)
    for code in codes:
        system = code.code_system
        if not system.known and system.key not in warned:
            warned.add(system.key)
            if len(warned) > MAX_SYSTEM_WARNINGS:
                continue
            out.append(
                Diagnostic(
                    "warning",
                    path,
                    f"unknown code system {system.label!r}: its codes are kept under "
                    f"{system.namespace} (name it in your own registry: "
                    "~/.config/ontomap/terminologies.toml or $ONTOMAP_REGISTRY, see "
                    "docs/terminologies.md)",
                    line_of(text, system.label),
                )
            )
    if len(warned) > MAX_SYSTEM_WARNINGS:
        out.append(
            Diagnostic(
                "warning",
                path,
                f"{len(warned) - MAX_SYSTEM_WARNINGS:,} more unknown code systems (the first "
                f"{MAX_SYSTEM_WARNINGS} are named above)",
            )
        )
    return out
