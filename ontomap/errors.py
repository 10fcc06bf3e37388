"""Exceptions raised by ontomap.

Every error is an :class:`OntomapError` (itself a :class:`ValueError`), carries the offending
value, and its message says what went wrong, where, and what to do about it. Each class
carries the exit code of the command line for it (:attr:`OntomapError.exit_code`, one of
:class:`ExitCode`): the CLI maps an error to its message and code in one place.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from enum import IntEnum
from pathlib import Path
from typing import ClassVar


class ExitCode(IntEnum):
    """The documented exit codes of the ``ontomap`` command (scripts rely on them)."""

    OK = 0
    #: some inputs failed (the others were converted), or problems were found
    INPUT_ERRORS = 1
    #: a bad option, unknown format, bad query, missing tool
    USAGE = 2
    #: an unknown or malformed code, a model or release that is not in the store
    NOT_FOUND = 3
    #: a store or endpoint that cannot be opened, read or written
    STORE = 4
    #: Ctrl-C; nothing half-written
    INTERRUPTED = 130


class OntomapError(ValueError):
    """Base class of every error ontomap raises on purpose."""

    #: The exit code of a command that stops on this error.
    exit_code: ClassVar[ExitCode] = ExitCode.INPUT_ERRORS


class UsageError(OntomapError):
    """A command used wrongly: options that exclude each other, a value that names nothing."""

    exit_code = ExitCode.USAGE


class ModelReadError(OntomapError):
    """A source file could not be read as a finding model.

    ``line`` is 1-based and ``None`` where the problem has no single line (e.g. an unreadable file).
    """

    def __init__(self, path: Path | str, reason: str, line: int | None = None) -> None:
        self.path = Path(path)
        self.line = line
        self.reason = reason
        super().__init__(f"{self.location}: {reason}")

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}" if self.line is not None else str(self.path)


class NotAModelError(ModelReadError):
    """A file of a finding-model format that holds no finding model at all (a ``README.md``
    beside the models): skipped when met inside a folder, an error when named."""


class InvalidIdentifierError(OntomapError):
    """An OIFM, OIFMA or value identifier does not follow its pattern."""

    def __init__(self, kind: str, value: str, pattern: str) -> None:
        self.kind = kind
        self.value = value
        self.pattern = pattern
        super().__init__(f"invalid {kind} {value!r}: expected the pattern {pattern}")


class ModelValidationError(OntomapError):
    """A finding model is structurally wrong (duplicate ID, value of another attribute...).

    ``value`` is the offending identifier where there is one; ``occurrence`` says which of its
    appearances in the source is the wrong one (1 = the first).
    """

    def __init__(self, message: str, value: str | None = None, occurrence: int = 1) -> None:
        self.value = value
        self.occurrence = occurrence
        super().__init__(message)


class DuplicateModelError(OntomapError):
    """The same OIFM ID comes from two source files in one run."""

    def __init__(self, oifm_id: str, first: Path | str, second: Path | str) -> None:
        self.oifm_id = oifm_id
        self.first = Path(first)
        self.second = Path(second)
        super().__init__(
            f"{oifm_id} is defined again (first in {first}); keep one of the two files"
        )


class UnknownCodeSystemError(OntomapError):
    """A code system name that the registry does not know, where a known one is required."""

    exit_code = ExitCode.NOT_FOUND

    def __init__(self, system: str, known: Iterable[str]) -> None:
        self.system = system
        self.known = sorted(known)
        super().__init__(f"unknown code system {system!r}; known systems: {', '.join(self.known)}")


class RegistryError(OntomapError):
    """A registry file of code systems that cannot be read (not TOML, a system without its
    label, prefix or namespace)."""

    exit_code = ExitCode.USAGE


class UnknownFormatError(OntomapError):
    """An export format (or file extension) that no exporter handles."""

    exit_code = ExitCode.USAGE

    def __init__(self, value: str, known: Iterable[str]) -> None:
        self.value = value
        self.known = sorted(known)
        super().__init__(
            f"cannot tell the output format from {value!r}; use --format with one of: "
            f"{', '.join(self.known)}"
        )


class OutputError(OntomapError):
    """An output file that cannot be written (``path``, and the ``reason`` the system gave)."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        shown = os.fsencode(path).decode("utf-8", "backslashreplace")  # bytes not UTF-8: \xNN
        super().__init__(f"cannot write {shown}: {reason}")


class ExportError(OntomapError):
    """A graph that a format cannot carry (e.g. a control character in RDF/XML)."""


class StoreError(OntomapError):
    """The store could not be opened, read or written."""

    exit_code = ExitCode.STORE


class MissingDependencyError(OntomapError):
    """An optional part (a Python package or a program such as Java) is not installed."""

    exit_code = ExitCode.USAGE


class ReleaseReadError(OntomapError):
    """A terminology release file is malformed (a row, a header, a missing file).

    ``line`` is 1-based and ``None`` where the problem has no single line (a missing file).
    """

    def __init__(self, path: Path | str, reason: str, line: int | None = None) -> None:
        self.path = Path(path)
        self.line = line
        self.reason = reason
        super().__init__(f"{self.location}: {reason}")

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}" if self.line is not None else str(self.path)


class ReleaseNotFoundError(OntomapError):
    """No release of that system (and version) is loaded in the store."""

    exit_code = ExitCode.NOT_FOUND

    def __init__(self, system: str, version: str | None, loaded: Iterable[str]) -> None:
        self.system = system
        self.version = version
        self.loaded = sorted(loaded)
        what = f"{system} {version}" if version else system
        have = ", ".join(self.loaded) or "none"
        super().__init__(
            f"no release of {what} is loaded (loaded: {have}); "
            "load one with 'ontomap terminology load'"
        )
