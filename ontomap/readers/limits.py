"""What the readers accept: the size of a file, the depth of its JSON, the length of a number.

A finding model is a few kilobytes (the largest of the OIFM corpus, 2,382 JSON files and 402
Markdown files, is 27 KiB), so the limits are far above anything real and exist only so that a
hostile or accidental input (``/dev/zero``, a multi-gigabyte log named ``*.fm.json``, 100,000
nested brackets, a 5,000-digit number) gives a clear per-file error instead of exhausting memory,
the stack or the CPU.
"""

from __future__ import annotations

import re

from ontomap.errors import OntomapError

__all__ = [
    "DEFAULT_MAX_FILE_SIZE",
    "MAX_FILE_SIZE_ENV",
    "MAX_JSON_DEPTH",
    "MAX_NUMBER_LENGTH",
    "format_size",
    "parse_size",
]

#: Largest file read, in bytes (4 MiB, about 150 times the largest corpus file).
DEFAULT_MAX_FILE_SIZE = 4 * 1024 * 1024

#: The environment variable the command line reads ``--max-file-size`` from.
MAX_FILE_SIZE_ENV = "ONTOMAP_MAX_FILE_SIZE"

#: JSON nested too deeply for Python's json parser (about 1,000 levels) is refused; the error
#: names the line where the nesting passes this many levels (a finding model nests 6).
MAX_JSON_DEPTH = 64

#: Longest number literal, in characters (JSON numbers, Markdown bounds and selection counts).
MAX_NUMBER_LENGTH = 100

_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
_SIZE_RE = re.compile(r"\s*([0-9]+)\s*([kmg]?)(?:i?b)?\s*", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Bytes from ``"4194304"``, ``"512k"``, ``"4M"``, ``"4MiB"`` or ``"1G"`` (powers of 1024).

    Raises :class:`~ontomap.errors.OntomapError` for anything else, or for zero.
    """
    match = _SIZE_RE.fullmatch(text)
    if match is None or len(match[1]) > 15:
        raise OntomapError(
            f"invalid size {text!r}: write a number of bytes, optionally followed by k, M or G "
            "(e.g. 4M)"
        )
    size = int(match[1]) * _UNITS[match[2].lower()]
    if size <= 0:
        raise OntomapError(f"invalid size {text!r}: it must be at least one byte")
    return size


def format_size(size: int) -> str:
    """``4 MiB``, ``512 KiB`` or ``1,234 bytes``: a size as messages show it."""
    for unit, name in ((1024**3, "GiB"), (1024**2, "MiB"), (1024, "KiB")):
        if size >= unit and size % unit == 0:
            return f"{size // unit:,} {name}"
    return f"{size:,} bytes"
