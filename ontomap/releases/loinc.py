"""LOINC as Regenstrief publishes it: ``LoincTable/Loinc.csv`` and ``LoincTable/MapTo.csv``.

``Loinc.csv`` gives each code (``LOINC_NUM``) its preferred term (``LONG_COMMON_NAME``), other
names (``SHORTNAME``, ``DisplayName``, ``CONSUMER_NAME`` as ``skos:altLabel``), definition
(``DefinitionDescription``) and ``STATUS`` (ACTIVE, TRIAL, DISCOURAGED, DEPRECATED: the status,
lower case; DEPRECATED codes are ``owl:deprecated``). ``MapTo.csv`` (``LOINC``, ``MAP_TO``) names
the code to use instead of a deprecated one (``dcterms:isReplacedBy``). Loinc.csv has no
hierarchy (that is the separate multiaxial hierarchy file, not read).

The version is the release folder's (``Loinc_2.80``), else the highest ``VersionLastChanged``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from ontomap.errors import ReleaseReadError
from ontomap.ntriples import iri
from ontomap.releases.common import PREF_NAME, SYNONYM_NAME, TERMS, Lines, Release, text
from ontomap.terminology import default_registry

__all__ = ["LoincRelease", "find_table"]

REQUIRED = ("LOINC_NUM", "LONG_COMMON_NAME", "STATUS")
_OTHER_NAMES = ("SHORTNAME", "DisplayName", "CONSUMER_NAME")
_MAP_TO = ("LOINC", "MAP_TO")
_VERSION = re.compile(r"Loinc_?([0-9]+\.[0-9]+)", re.IGNORECASE)
_DEPRECATED = "DEPRECATED"


def find_table(path: Path) -> Path | None:
    """``Loinc.csv`` itself, or the one under a folder (the release's ``LoincTable``)."""
    if path.is_file():
        return path if path.name.lower() == "loinc.csv" else None
    if not path.is_dir():
        return None
    found = sorted(p for p in path.rglob("*.csv") if p.name.lower() == "loinc.csv")
    return min(found, key=lambda p: len(p.parts)) if found else None


def _version_from_names(path: Path) -> str | None:
    for part in reversed(path.resolve().parts):
        match = _VERSION.search(part)
        if match:
            return match.group(1)
    return None


def _version_key(value: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"[0-9]+", value))


def _open_csv(path: Path) -> tuple[csv.DictReader[str], object]:
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ReleaseReadError(path, f"cannot read: {exc.strerror or exc}") from None
    return csv.DictReader(handle), handle


def _checked(path: Path, reader: csv.DictReader[str], required: tuple[str, ...]) -> None:
    try:
        header = reader.fieldnames or []
    except (csv.Error, UnicodeDecodeError) as exc:
        raise ReleaseReadError(path, f"not a CSV file: {exc}", 1) from None
    missing = [name for name in required if name not in header]
    if missing:
        raise ReleaseReadError(
            path, f"not a LOINC table: no column {', '.join(missing)} in the header", 1
        )


def _records(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    reader, handle = _open_csv(path)
    with handle:  # type: ignore[attr-defined]
        _checked(path, reader, required)
        width = len(reader.fieldnames or ())
        try:
            for row in reader:
                number = reader.line_num
                if None in row or len(row) != width or any(v is None for v in row.values()):
                    raise ReleaseReadError(path, f"expected {width} comma-separated fields", number)
                yield number, row
        except csv.Error as exc:
            raise ReleaseReadError(path, f"not well-formed CSV: {exc}", reader.line_num) from None
        except UnicodeDecodeError as exc:
            raise ReleaseReadError(path, f"not UTF-8 text ({exc.reason})") from None


@dataclass
class LoincRelease(Release):
    """``Loinc.csv`` (and ``MapTo.csv`` beside it, when there)."""

    format: ClassVar[str] = "loinc-csv"

    @classmethod
    def open(
        cls, path: Path, *, system: str | None = None, version: str | None = None
    ) -> LoincRelease:
        table = find_table(path)
        if table is None:
            raise ReleaseReadError(path, "no Loinc.csv (LoincTable/Loinc.csv) in it")
        files = [table]
        map_to = next((p for p in table.parent.iterdir() if p.name.lower() == "mapto.csv"), None)
        if map_to is not None:
            files.append(map_to)
        found = version or _version_from_names(table)
        if found is None:
            versions = {
                row.get("VersionLastChanged", "").strip() for _n, row in _records(table, REQUIRED)
            }
            versions.discard("")
            found = max(versions, key=_version_key) if versions else None
        if not found:
            raise ReleaseReadError(table, "cannot tell the LOINC version; give --version")
        return cls(
            system=default_registry().get(system or "LOINC"),
            version=found,
            files=tuple(files),
        )

    def chunks(self, graph: str) -> Iterator[list[str]]:
        t = TERMS
        counts = self.counts
        lines = Lines(counts)
        add = lines.out.append
        system = self.system
        table = self.files[0]
        names = self.names

        def node(code: str, path: Path, number: int) -> str:
            if not system.is_well_formed(code):
                raise ReleaseReadError(path, f"{code[:40]!r} is not a LOINC code", number)
            return iri(system.code_iri(code))

        for number, row in _records(table, REQUIRED):
            code = row["LOINC_NUM"].strip()
            subject = node(code, table, number)
            status = row["STATUS"].strip().upper() or "ACTIVE"
            add(f"{subject} {t.type} {t.concept} .\n")
            add(f"{subject} {t.status} {t.status_of(status.lower())} .\n")
            counts.concepts += 1
            if status == _DEPRECATED:
                add(f"{subject} {t.deprecated} {t.true} .\n")
                names.deprecate(code)
                counts.inactive += 1
            name = row["LONG_COMMON_NAME"].strip()
            if name:
                add(f"{subject} {t.pref_label} {text(name, 'en')} .\n")
                names.add(code, PREF_NAME, name)
            others = {row.get(c, "").strip() for c in _OTHER_NAMES} - {"", name}
            for other in sorted(others):
                add(f"{subject} {t.alt_label} {text(other, 'en')} .\n")
                names.add(code, SYNONYM_NAME, other)
                counts.synonyms += 1
            definition = row.get("DefinitionDescription", "").strip()
            if definition:
                add(f"{subject} {t.definition} {text(definition, 'en')} .\n")
            if lines.full:
                yield lines.take()
        for path in self.files[1:]:
            for number, row in _records(path, _MAP_TO):
                source = node(row["LOINC"].strip(), path, number)
                target = node(row["MAP_TO"].strip(), path, number)
                add(f"{source} {t.replaced_by} {target} .\n")
                counts.replacements += 1
        yield lines.take()
