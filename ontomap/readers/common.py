"""Types shared by the readers: what reading one file yields, and its diagnostics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ontomap.errors import ModelReadError
from ontomap.model import FindingModel, IndexCode

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
        return f"{self.path}:{self.line}" if self.line is not None else str(self.path)

    def __str__(self) -> str:
        return f"{self.location}: {self.severity}: {self.message}"

    @classmethod
    def from_error(cls, error: ModelReadError) -> Diagnostic:
        return cls("error", error.path, error.reason, error.line)


@dataclass(frozen=True, slots=True)
class SourceModel:
    """A finding model together with the file and format it was read from."""

    model: FindingModel
    path: Path
    format: str


@dataclass(frozen=True, slots=True)
class ReadOutcome:
    """What reading one file gave: a model (or ``None`` where it failed) and its diagnostics."""

    path: Path
    format: str | None
    model: FindingModel | None
    diagnostics: tuple[Diagnostic, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.model is not None


#: A reader takes a file's path and its text and returns a model plus warnings;
#: it raises :class:`ModelReadError` (with a line where there is one) when the file is unusable.
Reader = Callable[[Path, str], tuple[FindingModel, list[Diagnostic]]]


def line_of(text: str, needle: str, start: int = 0) -> int | None:
    """1-based line of the first occurrence of ``needle`` in ``text`` at or after ``start``."""
    index = text.find(needle, start)
    if index < 0:
        return None
    return text.count("\n", 0, index) + 1


def unknown_system_warnings(path: Path, model: FindingModel, text: str) -> list[Diagnostic]:
    """One warning per code system in ``model`` that the registry does not know."""
    warned: set[str] = set()
    out: list[Diagnostic] = []
    codes: list[IndexCode] = list(model.index_codes) + list(model.anatomic_locations)
    for _kind, _id, _label, entity_codes in model.entities()[1:]:
        codes.extend(entity_codes)
    for code in codes:
        system = code.code_system
        if not system.known and system.key not in warned:
            warned.add(system.key)
            out.append(
                Diagnostic(
                    "warning",
                    path,
                    f"unknown code system {system.label!r}: its codes are kept under "
                    f"{system.namespace} (add it to terminologies.toml to name it properly)",
                    line_of(text, system.label),
                )
            )
    return out
