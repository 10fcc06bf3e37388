"""SNOMED CT RF2 Snapshot folders (International or a national edition).

The files are found by their RF2 names anywhere under the folder given (the release's own
layout, ``Snapshot/Terminology/sct2_Concept_Snapshot_INT_20250101.txt`` and so on; ``Full`` and
``Delta`` files are left alone). They are read in this order, each row once:

1. the language reference set(s): which descriptions are *preferred* (acceptability
   900000000000548007), kept as a set of description IDs (the only thing held in memory);
2. concepts: the active flag gives ``oifm:status`` ``active``/``inactive`` (and ``owl:deprecated``);
3. descriptions (active ones): the FSN (900000000000003001) is ``oifm:fullySpecifiedName``, a
   synonym (900000000000013009) is the ``skos:prefLabel`` when the language reference set
   prefers it, else a ``skos:altLabel``; text definitions are ``skos:definition``;
4. relationships: active is-a (116680003) rows are ``skos:broader`` (the inferred file; the
   stated one when there is no inferred file);
5. the historical association reference set (active rows on concepts): a triple whose predicate
   is the association reference set's own concept (``sct:900000000000527005`` for SAME AS...);
   REPLACED BY and SAME AS are also ``dcterms:isReplacedBy``.

The version is the release date of the file names (``20250101``) for the International edition,
and the edition's namespace with it (``US1000124_20250301``) for a national one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, TextIO

from ontomap.errors import ReleaseReadError
from ontomap.releases.common import (
    ACTIVE,
    FSN_NAME,
    PREF_NAME,
    SYNONYM_NAME,
    TERMS,
    Lines,
    Release,
    text,
)
from ontomap.terminology import default_registry

__all__ = [
    "ASSOCIATIONS",
    "FSN",
    "IS_A",
    "PREFERRED",
    "REPLACING",
    "SYNONYM",
    "Rf2Files",
    "Rf2Release",
    "find_files",
]

FSN = "900000000000003001"
SYNONYM = "900000000000013009"
PREFERRED = "900000000000548007"
IS_A = "116680003"
US_ENGLISH = "900000000000509007"
GB_ENGLISH = "900000000000508004"

#: Historical association reference sets (concept → concept), by refset ID.
ASSOCIATIONS = {
    "900000000000526001": "REPLACED BY",
    "900000000000527005": "SAME AS",
    "900000000000523009": "POSSIBLY EQUIVALENT TO",
    "1186921001": "POSSIBLY REPLACED BY",
    "1186924009": "PARTIALLY EQUIVALENT TO",
    "900000000000528000": "WAS A",
    "900000000000524003": "MOVED TO",
    "900000000000525002": "MOVED FROM",
    "900000000000530003": "ALTERNATIVE",
    "900000000000529008": "SIMILAR TO",
    "900000000000531004": "REFERS TO",
}
#: The associations that name the concept to use instead (``dcterms:isReplacedBy``).
REPLACING = frozenset({"900000000000526001", "900000000000527005"})

_HEADERS = {
    "concept": ("id", "effectiveTime", "active", "moduleId", "definitionStatusId"),
    "description": (
        "id",
        "effectiveTime",
        "active",
        "moduleId",
        "conceptId",
        "languageCode",
        "typeId",
        "term",
        "caseSignificanceId",
    ),
    "relationship": (
        "id",
        "effectiveTime",
        "active",
        "moduleId",
        "sourceId",
        "destinationId",
        "relationshipGroup",
        "typeId",
        "characteristicTypeId",
        "modifierId",
    ),
    "language": (
        "id",
        "effectiveTime",
        "active",
        "moduleId",
        "refsetId",
        "referencedComponentId",
        "acceptabilityId",
    ),
    "association": (
        "id",
        "effectiveTime",
        "active",
        "moduleId",
        "refsetId",
        "referencedComponentId",
        "targetComponentId",
    ),
}
_HEADERS["definition"] = _HEADERS["description"]
_HEADERS["stated"] = _HEADERS["relationship"]

_NAME = r"_(?P<edition>[A-Za-z0-9]+)_(?P<date>[0-9]{8})\.txt"
_PATTERNS = {
    "concept": re.compile(r"sct2_Concept_\w*?Snapshot" + _NAME),
    "description": re.compile(r"sct2_Description_\w*?Snapshot-[A-Za-z-]+" + _NAME),
    "definition": re.compile(r"sct2_TextDefinition_\w*?Snapshot-[A-Za-z-]+" + _NAME),
    "relationship": re.compile(r"sct2_Relationship_\w*?Snapshot" + _NAME),
    "stated": re.compile(r"sct2_StatedRelationship_\w*?Snapshot" + _NAME),
    "language": re.compile(r"der2_cRefset_\w*?LanguageSnapshot-[A-Za-z-]+" + _NAME),
    "association": re.compile(r"der2_cRefset_\w*?Association\w*?Snapshot" + _NAME),
}


_NEEDED = {
    "description": "sct2_Description_Snapshot-en_*.txt",
    "language": "der2_cRefset_LanguageSnapshot-en_*.txt",
}


@dataclass(frozen=True)
class Rf2Files:
    """The Snapshot files of one RF2 release, by kind, and the edition and date they carry."""

    edition: str
    date: str
    kinds: dict[str, tuple[Path, ...]]

    @property
    def all(self) -> tuple[Path, ...]:
        return tuple(p for paths in self.kinds.values() for p in paths)


def find_files(folder: Path) -> Rf2Files | None:
    """The RF2 Snapshot files under ``folder``, or ``None`` when it holds no concept file."""
    kinds: dict[str, list[Path]] = {kind: [] for kind in _PATTERNS}
    stamps: list[tuple[str, str]] = []
    for path in sorted(folder.rglob("*.txt")):
        for kind, pattern in _PATTERNS.items():
            match = pattern.fullmatch(path.name)
            if match is not None:
                kinds[kind].append(path)
                if kind == "concept":
                    stamps.append((match.group("date"), match.group("edition")))
                break
    if not kinds["concept"]:
        return None
    date, edition = max(stamps)
    return Rf2Files(edition, date, {k: tuple(v) for k, v in kinds.items() if v})


def _rows(path: Path, kind: str) -> Iterator[tuple[int, list[str]]]:
    """The rows of an RF2 file as (line number, fields), its header checked."""
    expected = _HEADERS[kind]
    try:
        handle: TextIO = path.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise ReleaseReadError(path, f"cannot read: {exc.strerror or exc}") from None
    with handle:
        try:
            header = handle.readline().rstrip("\r\n").split("\t")
            if tuple(header) != expected:
                raise ReleaseReadError(
                    path,
                    f"not an RF2 {kind} file: the header is {chr(9).join(header)[:120]!r}, "
                    f"expected {chr(9).join(expected)!r}",
                    1,
                )
            width = len(expected)
            for number, line in enumerate(handle, 2):
                fields = line.rstrip("\r\n").split("\t")
                if len(fields) != width:
                    if not line.strip():
                        continue
                    raise ReleaseReadError(
                        path, f"expected {width} tab-separated fields, found {len(fields)}", number
                    )
                if fields[2] not in ("1", "0"):
                    raise ReleaseReadError(
                        path, f"active must be 1 or 0, not {fields[2][:40]!r}", number
                    )
                yield number, fields
        except UnicodeDecodeError as exc:
            raise ReleaseReadError(path, f"not UTF-8 text ({exc.reason})") from None


def _sctid(value: str, path: Path, number: int, column: str) -> str:
    if not value.isdigit() or not 6 <= len(value) <= 18 or value[0] == "0":
        raise ReleaseReadError(path, f"{column} {value[:40]!r} is not an SCTID", number)
    return value


def _is_concept_id(sctid: str) -> bool:
    """Whether an SCTID's partition identifier is that of a concept (short or long format)."""
    return sctid[-3:-1] in ("00", "10")


@dataclass
class Rf2Release(Release):
    """A SNOMED CT RF2 Snapshot release."""

    format: ClassVar[str] = "snomed-rf2"

    rf2: Rf2Files = field(default_factory=lambda: Rf2Files("", "", {}))

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        system: str | None = None,
        version: str | None = None,
        language_refset: str | None = None,
    ) -> Rf2Release:
        folder = path if path.is_dir() else path.parent
        files = find_files(folder)
        if files is None:
            raise ReleaseReadError(
                folder, "no RF2 Snapshot concept file (sct2_Concept_Snapshot_*.txt) in it"
            )
        for needed, example in _NEEDED.items():
            if needed not in files.kinds:
                raise ReleaseReadError(folder, f"no RF2 Snapshot {needed} file ({example}) in it")
        edition, date = files.edition, files.date
        found = version or (date if edition == "INT" else f"{edition}_{date}")
        return cls(
            system=default_registry().get(system or "SNOMED"),
            version=found,
            files=files.all,
            issued=f"{date[:4]}-{date[4:6]}-{date[6:]}",
            language_refset=language_refset,
            rf2=files,
        )

    # -------------------------------------------------------------- reading

    def _preferred(self) -> set[int]:
        """IDs of the descriptions the language reference set prefers."""
        by_refset: dict[str, set[int]] = {}
        for path in self.rf2.kinds["language"]:
            for number, row in _rows(path, "language"):
                if row[2] == "1" and row[6] == PREFERRED:
                    refset = row[4]
                    wanted = self.language_refset
                    if wanted is not None and refset != wanted:
                        continue
                    component = _sctid(row[5], path, number, "referencedComponentId")
                    by_refset.setdefault(refset, set()).add(int(component))
        if self.language_refset is not None:
            if self.language_refset not in by_refset:
                raise ReleaseReadError(
                    self.rf2.kinds["language"][0],
                    f"the language reference set {self.language_refset} prefers no description",
                )
            return by_refset[self.language_refset]
        for refset in (US_ENGLISH, GB_ENGLISH):
            if refset in by_refset:
                self.language_refset = refset
                return by_refset[refset]
        if not by_refset:
            return set()
        refset = max(by_refset, key=lambda r: (len(by_refset[r]), r))
        self.language_refset = refset
        return by_refset[refset]

    def chunks(self, graph: str) -> Iterator[list[str]]:
        t = TERMS
        counts = self.counts
        lines = Lines(counts)
        add = lines.out.append
        namespace = self.system.namespace
        kinds = self.rf2.kinds
        preferred = self._preferred()
        hierarchy, names = self.hierarchy, self.names
        active, inactive = t.status_of(ACTIVE), t.status_of("inactive")

        for path in kinds["concept"]:
            for number, row in _rows(path, "concept"):
                code = _sctid(row[0], path, number, "id")
                subject = f"<{namespace}{code}>"
                add(f"{subject} {t.type} {t.concept} .\n")
                counts.concepts += 1
                if row[2] == "1":
                    add(f"{subject} {t.status} {active} .\n")
                else:
                    counts.inactive += 1
                    add(f"{subject} {t.status} {inactive} .\n")
                    add(f"{subject} {t.deprecated} {t.true} .\n")
                    names.deprecate(code)
                if lines.full:
                    yield lines.take()

        for kind in ("description", "definition"):
            for path in kinds.get(kind, ()):
                for number, row in _rows(path, kind):
                    if row[2] != "1":
                        continue
                    code = _sctid(row[4], path, number, "conceptId")
                    type_id = row[6]
                    if kind == "definition":
                        predicate = t.definition
                    elif type_id == FSN:
                        predicate = t.fsn
                        names.add(code, FSN_NAME, row[7])
                    elif type_id == SYNONYM:
                        identifier = _sctid(row[0], path, number, "id")
                        if int(identifier) in preferred:
                            predicate = t.pref_label
                            names.add(code, PREF_NAME, row[7])
                        else:
                            predicate = t.alt_label
                            names.add(code, SYNONYM_NAME, row[7])
                            counts.synonyms += 1
                    else:
                        continue
                    add(f"<{namespace}{code}> {predicate} {text(row[7], row[5])} .\n")
                    if lines.full:
                        yield lines.take()
        preferred.clear()

        relationship = "relationship" if "relationship" in kinds else "stated"
        for path in kinds.get(relationship, ()):
            for number, row in _rows(path, relationship):
                if row[2] != "1" or row[7] != IS_A:
                    continue
                child = _sctid(row[4], path, number, "sourceId")
                parent = _sctid(row[5], path, number, "destinationId")
                add(f"<{namespace}{child}> {t.broader} <{namespace}{parent}> .\n")
                hierarchy.add(child, parent)
                counts.parents += 1
                if lines.full:
                    yield lines.take()

        for path in kinds.get("association", ()):
            for number, row in _rows(path, "association"):
                if row[2] != "1":
                    continue
                refset = _sctid(row[4], path, number, "refsetId")
                source = _sctid(row[5], path, number, "referencedComponentId")
                target = _sctid(row[6], path, number, "targetComponentId")
                if not (_is_concept_id(source) and _is_concept_id(target)):
                    continue  # an association of a description (REFERS TO ...)
                subject, obj = f"<{namespace}{source}>", f"<{namespace}{target}>"
                add(f"{subject} <{namespace}{refset}> {obj} .\n")
                if refset in REPLACING:
                    add(f"{subject} {t.replaced_by} {obj} .\n")
                    counts.replacements += 1
                if lines.full:
                    yield lines.take()
        yield lines.take()
