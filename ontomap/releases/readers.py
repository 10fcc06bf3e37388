"""The release formats ontomap reads, in one registry the CLI also uses for its choices."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ontomap.errors import ReleaseReadError
from ontomap.releases.common import Release
from ontomap.releases.loinc import LoincRelease, find_table
from ontomap.releases.owl import OwlRelease, Profile, looks_like_radlex, radlex_profile
from ontomap.releases.rf2 import Rf2Release, find_files
from ontomap.terminology import default_registry

__all__ = ["READERS", "ReleaseReader", "open_release"]


@dataclass(frozen=True)
class ReleaseReader:
    """One release format: its name, what it reads, how to recognise and open it."""

    name: str
    description: str
    system: str | None
    detect: Callable[[Path], bool]


def _is_rf2(path: Path) -> bool:
    return path.is_dir() and find_files(path) is not None


def _is_loinc(path: Path) -> bool:
    return find_table(path) is not None


#: The readers, by format name (the values of ``--format``), in the order they are tried.
READERS: dict[str, ReleaseReader] = {
    reader.name: reader
    for reader in (
        ReleaseReader(
            "snomed-rf2",
            "SNOMED CT RF2 Snapshot folder (sct2_Concept_Snapshot_*.txt ...)",
            "SNOMED",
            _is_rf2,
        ),
        ReleaseReader(
            "radlex-owl", "RadLex OWL (RDF/XML) as RSNA publishes it", "RADLEX", looks_like_radlex
        ),
        ReleaseReader("loinc-csv", "LOINC Loinc.csv (and MapTo.csv)", "LOINC", _is_loinc),
        ReleaseReader(
            "owl-profile",
            "any OWL/SKOS file (RDF/XML, Turtle, N-Triples) read through --profile FILE.toml",
            None,
            lambda _path: False,
        ),
    )
}


def open_release(
    path: Path | str,
    *,
    system: str | None = None,
    version: str | None = None,
    profile: Path | str | Profile | None = None,
    format: str | None = None,
    language_refset: str | None = None,
) -> Release:
    """The release at ``path`` (a file or folder), its format detected unless ``format`` is
    given (``profile`` implies ``owl-profile``); ``system`` and ``version`` override what the
    files say. Raises :class:`~ontomap.errors.ReleaseReadError` when it cannot be read."""
    path = Path(path)
    if not path.exists():
        raise ReleaseReadError(path, "no such file or folder")
    if profile is not None:
        format = "owl-profile"
    if format is None:
        format = next((name for name, r in READERS.items() if r.detect(path)), None)
        if format is None:
            raise ReleaseReadError(
                path,
                "not a release ontomap recognises: give a SNOMED CT RF2 folder, RadLex.owl, "
                "Loinc.csv (or the LOINC folder), or an OWL/SKOS file with --profile FILE.toml",
            )
    if format not in READERS:
        raise ReleaseReadError(
            path, f"unknown release format {format!r}; known: {', '.join(READERS)}"
        )
    fixed = READERS[format].system
    if system is not None and fixed is not None:
        key = default_registry().get(system).key
        if key != fixed:
            raise ReleaseReadError(path, f"this is a {fixed} release ({format}), not {key}")
    if format == "snomed-rf2":
        return Rf2Release.open(
            path, system=system, version=version, language_refset=language_refset
        )
    if format == "loinc-csv":
        return LoincRelease.open(path, system=system, version=version)
    if not path.is_file():
        raise ReleaseReadError(path, "an OWL/SKOS release is one file, not a folder")
    if format == "radlex-owl":
        return OwlRelease.open(
            path, radlex_profile(), system=system, version=version, release_format=format
        )
    if profile is None:
        raise ReleaseReadError(path, "an OWL/SKOS release needs --profile FILE.toml")
    loaded = profile if isinstance(profile, Profile) else Profile.load(profile)
    return OwlRelease.open(path, loaded, system=system, version=version, release_format=format)
