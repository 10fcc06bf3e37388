"""Format registries: the one shape every set of input and output formats has.

A :class:`Format` is a frozen value: its name, the file-name endings it claims, its media
types (the first is the one it writes), other names users type for it (``ttl``, ``nt``), a
description for people, and its *handler* (a reader, a writer, a pyoxigraph format, or a
:class:`LazyImport` of a writer whose module is imported on first use). A
:class:`FormatRegistry` holds the formats of one use in order (the readers, the exporters,
the mapping writers, SPARQL results and graphs) and finds one by any of its spellings, case
ignored (:meth:`FormatRegistry.get`), or by a file name's longest ending
(:meth:`FormatRegistry.for_path`). The CLI's ``--format`` choices are a registry's names.

It sits with the foundation (it imports nothing from ontomap but the errors), so that the
readers, the exporters, the store and the server all build their registries from it.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any, Generic, TypeVar

from ontomap.errors import UnknownFormatError

__all__ = ["Format", "FormatRegistry", "LazyImport", "UnknownFormatError"]

H = TypeVar("H")
T = TypeVar("T")
F = TypeVar("F", bound="Format[Any]")


@dataclass(frozen=True, slots=True)
class LazyImport(Generic[T]):
    """``module.attribute``, imported when :meth:`load` is first called (a handler whose
    module is heavy to import, or would import a layer above its registry's)."""

    module: str
    attribute: str

    def load(self) -> T:
        """The object ``module.attribute`` names (importing ``module`` on first use)."""
        found: T = getattr(importlib.import_module(self.module), self.attribute)
        return found


@dataclass(frozen=True, slots=True)
class Format(Generic[H]):
    """One format of a registry: its ``name`` (lower case, what ``--format`` takes), its
    ``handler``, the file-name ``extensions`` it claims (with their dot, lower case), its
    ``media_types`` (the first one is what it writes; found in any case), other ``aliases``
    users type for it (lower case), and a ``description`` for people."""

    name: str
    handler: H
    extensions: tuple[str, ...] = ()
    media_types: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        for spelling in (self.name, *self.extensions, *self.aliases):
            if spelling != spelling.strip().lower() or not spelling:
                raise ValueError(f"format {self.name!r}: {spelling!r} is not lower case")
        for extension in self.extensions:
            if not extension.startswith("."):
                raise ValueError(f"format {self.name!r}: extension {extension!r} needs a dot")

    @property
    def media_type(self) -> str:
        """The media type the format writes (its first), ``""`` when it has none."""
        return self.media_types[0] if self.media_types else ""


class FormatRegistry(Generic[F]):
    """The formats of one use, in order (the first is a command's default where it has one).

    Iterating gives the names, as iterating a dict gives its keys, so ``sorted(registry)`` and
    ``", ".join(registry)`` read as before; ``registry[name]`` takes an exact name. A spelling
    (:meth:`get`, :meth:`find`) is a name, an alias or a media type, in any case; a name always
    wins, then an alias, then a media type, and two formats with the same media type (plain
    RDF/XML and the OWL ontology in RDF/XML) give the first of them.
    """

    __slots__ = ("_by_ending", "_by_name", "_by_spelling")

    def __init__(self, formats: Iterable[F]) -> None:
        self._by_name: dict[str, F] = {}
        for fmt in formats:
            if fmt.name in self._by_name:
                raise ValueError(f"two formats named {fmt.name!r}")
            self._by_name[fmt.name] = fmt
        spellings: dict[str, F] = dict(self._by_name)
        for fmt in self._by_name.values():
            for alias in fmt.aliases:
                other = spellings.setdefault(alias, fmt)
                if other is not fmt:
                    raise ValueError(f"{alias!r} names both {other.name!r} and {fmt.name!r}")
        for fmt in self._by_name.values():
            for media_type in fmt.media_types:
                spellings.setdefault(media_type.lower(), fmt)
        self._by_spelling = spellings
        # longest first (a stable sort: the first format keeps an ending two of them claim)
        self._by_ending = tuple(
            sorted(
                ((ending, fmt) for fmt in self._by_name.values() for ending in fmt.extensions),
                key=lambda pair: -len(pair[0]),
            )
        )

    def __repr__(self) -> str:
        return f"FormatRegistry({', '.join(self._by_name)})"

    def __getitem__(self, name: str) -> F:
        return self._by_name[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def names(self) -> tuple[str, ...]:
        """The names of the formats, in order."""
        return tuple(self._by_name)

    def keys(self) -> tuple[str, ...]:
        """The names of the formats, in order (as a dict's keys)."""
        return tuple(self._by_name)

    def values(self) -> tuple[F, ...]:
        """The formats, in order."""
        return tuple(self._by_name.values())

    def items(self) -> tuple[tuple[str, F], ...]:
        """(name, format) pairs, in order."""
        return tuple(self._by_name.items())

    def find(self, spelling: str) -> F | None:
        """The format ``spelling`` names (name, alias or media type; case and surrounding
        space ignored), ``None`` if none."""
        return self._by_spelling.get(spelling.strip().lower())

    def get(self, spelling: str) -> F:
        """The format ``spelling`` names (see :meth:`find`); raises
        :class:`~ontomap.errors.UnknownFormatError` listing the names otherwise."""
        found = self.find(spelling)
        if found is None:
            raise UnknownFormatError(spelling, self._by_name)
        return found

    def find_path(self, path: Path | str | None) -> F | None:
        """The format whose extension the file name of ``path`` ends with (case ignored; the
        longest matching extension wins), ``None`` if none."""
        name = path.name.lower() if isinstance(path, PurePath) else _file_name(path)
        for ending, fmt in self._by_ending:  # longest first
            if name.endswith(ending):
                return fmt
        return None

    def for_path(self, path: Path | str | None) -> F:
        """The format :meth:`find_path` gives; raises
        :class:`~ontomap.errors.UnknownFormatError` naming the file (lower case) and listing
        the names otherwise."""
        found = self.find_path(path)
        if found is None:
            raise UnknownFormatError(_file_name(path) or "(no file name)", self._by_name)
        return found


def _file_name(path: Path | str | None) -> str:
    """The last part of ``path``, lower case (``""`` for ``None``)."""
    if path is None:
        return ""
    if isinstance(path, PurePath):
        return path.name.lower()
    return PurePath(path).name.lower()
