"""``ontomap terminology``: load terminology releases into a store, list and remove them."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from ontomap.cli import EXIT_INTERRUPTED, EXIT_NOT_FOUND, EXIT_USAGE, fail, handle_errors, main
from ontomap.cli.build import quiet_option, store_option
from ontomap.errors import ReleaseNotFoundError, UnknownCodeSystemError
from ontomap.progress import Progress
from ontomap.releases import READERS, ReleaseInfo, Releases
from ontomap.store import Store, current_generation, default_store_path, is_store
from ontomap.terminology import default_registry

LIST_FORMATS = ("table", "json")


@main.group("terminology")
def terminology() -> None:
    """Terminology releases beside the graph: RadLex OWL, SNOMED CT RF2, LOINC, OWL/SKOS.

    Each release lives in its own named graph of the store (one per system and version),
    never exported with the models; see docs/releases.md.

    \b
    Examples:
      ontomap terminology load RadLex.owl --store ./kg
      ontomap terminology load SnomedCT_InternationalRF2_PRODUCTION_20250101T120000Z --store ./kg
      ontomap terminology load Loinc_2.80/ --store ./kg
      ontomap terminology load gamuts.owl --profile gamuts.toml --store ./kg
      ontomap terminology list --store ./kg
      ontomap terminology remove SNOMED 20250101 --store ./kg
    """


def _system(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return default_registry().get(value).key
    except UnknownCodeSystemError as exc:
        fail(str(exc), EXIT_USAGE)
        raise AssertionError("unreachable") from None


def _what(info: ReleaseInfo) -> str:
    return f"{info.system} {info.version}"


@terminology.command("load")
@click.argument("path", metavar="FILE-OR-FOLDER", type=click.Path(path_type=Path))
@store_option
@click.option("--system", metavar="S", help="Code system (RADLEX, SNOMED, LOINC, GAMUTS...).")
@click.option("--version", "version", metavar="V", help="Release version (default: from files).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(READERS)),
    help="Release format (default: detected from the files).",
)
@click.option(
    "--profile",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    metavar="FILE.toml",
    help="How to read an OWL/SKOS file (labels, parents, obsolescence...; docs/releases.md).",
)
@click.option(
    "--language-refset",
    metavar="SCTID",
    help="SNOMED CT language reference set of the preferred terms "
    "(default: US English, else GB English, else the largest).",
)
@quiet_option
@handle_errors
def load_command(
    path: Path,
    store_path: Path | None,
    system: str | None,
    version: str | None,
    fmt: str | None,
    profile: Path | None,
    language_refset: str | None,
    quiet: bool,
) -> None:
    """Load a terminology release into a store, replacing the same system and version.

    FILE-OR-FOLDER is a SNOMED CT RF2 release folder (its Snapshot files are read: concepts,
    descriptions, language and historical association reference sets, is-a relationships), a
    RadLex OWL file (RDF/XML as RSNA publishes it), LOINC's Loinc.csv or its release folder
    (with MapTo.csv), or any OWL/SKOS file with --profile. System and version come from the
    files (RF2 file names, owl:versionInfo, the LOINC folder name) unless given.

    The load is one store write: complete, or (on an error, a malformed row, Ctrl-C) nothing
    changed. A malformed row is reported with its file and line.

    \b
    Examples:
      ontomap terminology load RadLex.owl --store ./kg
      ontomap terminology load SnomedCT_USEditionRF2_PRODUCTION_20250301T120000Z/ --store ./kg
      ontomap terminology load Loinc_2.80/LoincTable/Loinc.csv --store ./kg
      ontomap terminology load gamuts.owl --profile gamuts.toml --version 2024 --store ./kg

    \b
    Exit codes: 0 loaded; 1 the release could not be read (nothing written); 2 usage error;
    4 store error; 130 interrupted (nothing written).
    """
    key = _system(system)
    location = store_path or default_store_path()
    started = time.perf_counter()
    progress = Progress(f"loading {path.name}: triples", None, enabled=False if quiet else None)
    shown = 0

    def advance(written: int) -> None:
        nonlocal shown
        progress.advance(written - shown)
        shown = written

    try:
        with Store(location) as store:
            releases = Releases(store)
            before = {(i.system, i.version) for i in releases.list()}
            info = releases.load(
                path,
                system=key,
                version=version,
                profile=profile,
                format=fmt,
                language_refset=language_refset,
                progress=advance,
            )
            generation = store.commit()
    except KeyboardInterrupt:
        progress.close()
        kept = current_generation(location) if is_store(location) else None
        where = f"generation {kept}" if kept else "no generation yet"
        fail(
            f"interrupted: nothing was written; the store at {location} is as it was ({where})",
            EXIT_INTERRUPTED,
        )
        return
    finally:
        progress.close()
    if not quiet:
        verb = "replaced" if (info.system, info.version) in before else "loaded"
        click.echo(
            f"{verb} {_what(info)} ({info.format}): {info.concepts:,} concepts "
            f"({info.inactive:,} inactive), {info.synonyms:,} synonyms, {info.parents:,} is-a, "
            f"{info.replacements:,} replacements; {info.triples:,} triples in "
            f"{time.perf_counter() - started:.1f} s into {location}; now generation {generation}"
        )


@terminology.command("list")
@store_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(LIST_FORMATS),
    default="table",
    show_default=True,
    help="table for people, json for scripts (one object per release).",
)
@handle_errors
def list_command(store_path: Path | None, fmt: str) -> None:
    """List the terminology releases loaded in a store.

    \b
    Examples:
      ontomap terminology list --store ./kg
      ontomap terminology list --store ./kg --format json
    """
    with Store(store_path, read_only=True) as store:
        found = Releases(store).list()
    if fmt == "json":
        click.echo(json.dumps([i.as_dict() for i in found], indent=2, ensure_ascii=False))
        return
    if not found:
        click.echo("no terminology release loaded; load one with 'ontomap terminology load'")
        return
    header = ("system", "version", "format", "issued", "concepts", "inactive", "is-a", "triples")
    rows = [
        (
            i.system,
            i.version,
            i.format,
            i.issued or "",
            f"{i.concepts:,}",
            f"{i.inactive:,}",
            f"{i.parents:,}",
            f"{i.triples:,}",
        )
        for i in found
    ]
    widths = [max(len(r[n]) for r in (header, *rows)) for n in range(len(header))]
    numeric = {4, 5, 6, 7}
    for row in (header, *rows):
        cells = [
            cell.rjust(widths[n]) if n in numeric else cell.ljust(widths[n])
            for n, cell in enumerate(row)
        ]
        click.echo("  ".join(cells).rstrip())


@terminology.command("remove")
@click.argument("system")
@click.argument("version", required=False)
@store_option
@quiet_option
@handle_errors
def remove_command(system: str, version: str | None, store_path: Path | None, quiet: bool) -> None:
    """Remove a terminology release (every release of SYSTEM without VERSION) from a store.

    \b
    Examples:
      ontomap terminology remove SNOMED 20250101 --store ./kg
      ontomap terminology remove RADLEX --store ./kg

    \b
    Exit codes: 0 removed; 2 unknown system; 3 no such release loaded; 4 store error.
    """
    key = _system(system)
    assert key is not None
    location = store_path or default_store_path()
    if not is_store(location):
        fail(f"no store at {location}; nothing to remove", EXIT_NOT_FOUND)
    try:
        with Store(location) as store:
            removed = Releases(store).remove(key, version)
            generation = store.commit()
    except ReleaseNotFoundError as exc:
        fail(str(exc), EXIT_NOT_FOUND)
        return
    if not quiet:
        names = ", ".join(_what(i) for i in removed)
        click.echo(f"removed {names} from {location}; now generation {generation}")
