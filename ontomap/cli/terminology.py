"""``ontomap terminology``: load terminology releases into a store, list and remove them, and
suggest candidate links from them for entities without codes."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from ontomap.cli import (
    EXIT_INPUT_ERRORS,
    EXIT_NOT_FOUND,
    EXIT_USAGE,
    fail,
    handle_errors,
    main,
)
from ontomap.cli.build import (
    base_option,
    interrupted,
    max_file_size_option,
    print_diagnostics,
    reading_progress,
    store_option,
    strict_option,
)
from ontomap.cli.options import (
    columns,
    is_quiet,
    plural,
    progress_enabled,
    terminal_width,
    verbosity_options,
)
from ontomap.errors import UnknownCodeSystemError, UsageError
from ontomap.progress import Progress
from ontomap.releases import READERS, ReleaseInfo, Releases
from ontomap.store import Store, default_store_path, is_store
from ontomap.terminology import default_registry
from ontomap.vocab import DEFAULT_BASE_IRI

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
      ontomap terminology suggest defs/ --store ./kg --system RADLEX -o radlex.sssom.tsv
    """


def _system(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return default_registry().get(value).key
    except UnknownCodeSystemError as exc:  # named as an option or argument: a usage error
        raise UsageError(str(exc)) from None


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
@verbosity_options
@handle_errors
def load_command(
    path: Path,
    store_path: Path | None,
    system: str | None,
    version: str | None,
    fmt: str | None,
    profile: Path | None,
    language_refset: str | None,
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
    quiet = is_quiet()
    key = _system(system)
    location = store_path or default_store_path()
    started = time.perf_counter()
    progress = Progress(f"loading {path.name}: triples", None, enabled=progress_enabled())
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
        interrupted(location)
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
@verbosity_options
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
    for line in columns(header, rows, {4, 5, 6, 7}, width=terminal_width(), indent="", rule=False):
        click.echo(line)


@terminology.command("remove")
@click.argument("system")
@click.argument("version", required=False)
@store_option
@verbosity_options
@handle_errors
def remove_command(system: str, version: str | None, store_path: Path | None) -> None:
    """Remove a terminology release (every release of SYSTEM without VERSION) from a store.

    \b
    Examples:
      ontomap terminology remove SNOMED 20250101 --store ./kg
      ontomap terminology remove RADLEX --store ./kg

    \b
    Exit codes: 0 removed; 2 unknown system; 3 no such release loaded; 4 store error.
    """
    quiet = is_quiet()
    key = _system(system)
    assert key is not None
    location = store_path or default_store_path()
    if not is_store(location):
        fail(f"no store at {location}; nothing to remove", EXIT_NOT_FOUND)
    with Store(location) as store:
        removed = Releases(store).remove(key, version)
        generation = store.commit()
    if not quiet:
        names = ", ".join(_what(i) for i in removed)
        click.echo(f"removed {names} from {location}; now generation {generation}")


def _date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    from ontomap.mappings import InvalidMappingDateError, check_date

    if value is None:
        return None
    try:
        return check_date(value)
    except InvalidMappingDateError as exc:
        raise click.BadParameter(str(exc)) from None


def _iri(_ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from ontomap.mappings import InvalidMappingIriError, check_iri

    if value is None:
        return None
    try:
        return check_iri("license" if param.name == "license_" else "mapping set ID", value)
    except InvalidMappingIriError as exc:
        raise click.BadParameter(str(exc)) from None


@terminology.command("suggest")
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@store_option
@click.option(
    "--system",
    required=True,
    metavar="S",
    help="Code system whose release is searched (RADLEX, SNOMED, LOINC, GAMUTS...).",
)
@click.option("--version", "version", metavar="V", help="Release version (default: the latest).")
@click.option(
    "-o",
    "--output",
    default="-",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="SSSOM/TSV file to write (default, or '-': standard output).",
)
@click.option(
    "--min-score",
    type=click.FloatRange(0.0, 1.0),
    default=0.85,
    show_default=True,
    metavar="X",
    help="Lowest similarity (0-1) of a fuzzy match.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    metavar="N",
    help="Candidates per entity, best first.",
)
@click.option(
    "--mapping-date",
    metavar="YYYY-MM-DD",
    callback=_date,
    help="Date written into the file (default: $SOURCE_DATE_EPOCH, else none).",
)
@click.option(
    "--license",
    "license_",
    metavar="IRI",
    callback=_iri,
    help="License of the set (default: https://w3id.org/sssom/license/unspecified).",
)
@click.option(
    "--set-id",
    metavar="IRI",
    callback=_iri,
    help="Identifier of the set (default: "
    "https://w3id.org/ontomap/mappings/candidates-{prefix}-{version}).",
)
@base_option
@strict_option
@verbosity_options
@max_file_size_option
@handle_errors
def suggest_command(
    sources: tuple[Path, ...],
    store_path: Path | None,
    system: str,
    version: str | None,
    output: Path,
    min_score: float,
    limit: int,
    mapping_date: str | None,
    license_: str | None,
    set_id: str | None,
    base_iri: str | None,
    strict: bool,
    max_file_size: int,
) -> None:
    """Suggest codes of a loaded release for the findings, attributes and values of SOURCES
    that carry no code of --system, as an SSSOM set for review (never written into the models).

    SOURCES are read as 'ontomap build' reads them (files, folders, '-' for one model on
    standard input). Each entity's name (and a finding's synonyms) is matched against the
    labels and synonyms of the release's active concepts: an equal normal form of the name
    and a preferred term is skos:exactMatch, another equal pair skos:closeMatch, a fuzzy match
    of at least --min-score skos:relatedMatch (semapv:LexicalMatching, with the score). The
    same input gives the same bytes. See docs/releases.md, "Candidate links".

    \b
    Examples:
      ontomap terminology suggest defs/ --store ./kg --system SNOMED -o snomed.sssom.tsv
      ontomap terminology suggest defs/ --store ./kg --system RADLEX --min-score 0.9 --limit 1
      cat model.fm.json | ontomap terminology suggest - --store ./kg --system RADLEX

    \b
    Exit codes: 0 written (also when nothing matched); 1 some SOURCES failed (the others
    were used); 2 usage error (unknown system, bad option); 3 no store, or no release of the
    system (and version) loaded; 4 store error.
    """
    from ontomap.graph import check_base_iri
    from ontomap.mappings import DEFAULT_LICENSE, source_date
    from ontomap.readers import ModelStream
    from ontomap.releases.suggest import (
        ReleaseIndex,
        candidate_entities,
        suggest,
        write_sssom,
    )

    quiet = is_quiet()
    started = time.perf_counter()
    key = _system(system)
    assert key is not None
    if base_iri is not None:
        try:
            check_base_iri(base_iri)
        except ValueError as exc:
            fail(str(exc), EXIT_USAGE)
    if mapping_date is None:
        try:
            mapping_date = source_date([])  # $SOURCE_DATE_EPOCH only: never a file's time
        except ValueError as exc:
            fail(str(exc), EXIT_USAGE)
    location = store_path or default_store_path()
    if not is_store(location):
        fail(
            f"no store at {location}; load a release first with "
            f"'ontomap terminology load FILE --store {location}'",
            EXIT_NOT_FOUND,
        )
    stream = ModelStream(sources, strict=strict, max_file_size=max_file_size)
    reading = reading_progress(stream, "reading")
    with Store(location, read_only=True) as store:
        releases = Releases(store)
        info = releases.get(key, version)
        try:
            models = [source.model for source in stream]
        finally:
            reading.close()
            print_diagnostics(stream.report, quiet)
        entities = candidate_entities(models, key)
        if not quiet:
            click.echo(f"indexing the names of {_what(info)}…", err=True)
        index = ReleaseIndex.from_store(releases, key, info.version)
        matching = Progress("matching names", None, enabled=progress_enabled())
        try:
            found = suggest(
                index,
                entities,
                releases=releases,
                min_score=min_score,
                limit=limit,
                set_id=set_id,
                license=license_ or DEFAULT_LICENSE,
                mapping_date=mapping_date,
                base_iri=base_iri or store.base_iri or DEFAULT_BASE_IRI,
                progress=matching.advance,
            )
        finally:
            matching.close()
    if str(output) == "-":
        write_sssom(found, sys.stdout.buffer)
        sys.stdout.flush()
    else:
        from ontomap.atomic import atomic_write

        with atomic_write(output) as handle:
            write_sssom(found, handle)
    if not quiet:
        counts = ", ".join(f"{n:,} {predicate}" for predicate, n in found.counts.items())
        detail = f" ({counts})" if counts else ""
        where = "" if str(output) == "-" else f"; wrote {output}"
        click.echo(
            f"{plural(found.entities, 'entity', 'entities')} without {key} codes, "
            f"{found.matched:,} with candidates, {plural(len(found.candidates), 'candidate')}"
            f"{detail} from {_what(info)} "
            f"in {time.perf_counter() - started:.1f} s{where}",
            err=True,
        )
    if not stream.report.ok:
        sys.exit(EXIT_INPUT_ERRORS)
