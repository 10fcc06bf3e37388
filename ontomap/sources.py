"""What a reader yields and everything after it consumes: a finding model with the file and
format it was read from.

It sits beside :mod:`ontomap.model`, below the readers and the graph builder, so that the
graph builder and the store take read models without importing the readers
(:mod:`ontomap.readers.common` re-exports it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ontomap.model import FindingModel

__all__ = ["SourceModel"]


@dataclass(frozen=True, slots=True)
class SourceModel:
    """A finding model together with the file and format it was read from."""

    model: FindingModel
    path: Path
    format: str
