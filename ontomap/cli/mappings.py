"""``ontomap mappings``: the crosswalk between code systems as SSSOM, FHIR ConceptMap or SKOS."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

import click

from ontomap.cli import EXIT_INPUT_ERRORS, EXIT_USAGE, fail, handle_errors, main
from ontomap.cli.build import (
    base_option,
    print_diagnostics,
    quiet_option,
    read_summary,
    store_option,
    strict_option,
)
from ontomap.errors import OntomapError, UnknownCodeSystemError
from ontomap.graph import check_base_iri
from ontomap.lookup import DOMINANT_SHARE, OUTLIER_SHARE
from ontomap.mappings import (
    CLOSE_MATCH_MIN_FINDINGS,
    CLOSE_MATCH_MIN_SHARE,
    DEFAULT_LICENSE,
    FORMATS,
    InvalidMappingDateError,
    InvalidMappingIriError,
    MappingSet,
    build_mapping_set,
    check_date,
    check_iri,
    format_for,
    source_date,
    write_mapping_set,
)
from ontomap.readers import ModelStream, ReadReport, discover
from ontomap.store import Store
from ontomap.terminology import default_registry


def _system(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return default_registry().get(value).key
    except UnknownCodeSystemError as exc:
        raise click.BadParameter(str(exc)) from None


def _date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return check_date(value)
    except InvalidMappingDateError as exc:
        raise click.BadParameter(str(exc)) from None


def _iri(_ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return check_iri("license" if param.name == "license_" else "mapping set ID", value)
    except InvalidMappingIriError as exc:
        raise click.BadParameter(str(exc)) from None


def _shown(path: Path) -> str:
    """A path as text that can always be printed (bytes that are not UTF-8 as ``\\xNN``)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _source_date(paths: Iterable[Path | str]) -> str | None:
    try:
        return source_date(paths)
    except OntomapError as exc:  # a malformed $SOURCE_DATE_EPOCH
        fail(str(exc), EXIT_USAGE)
        return None


def _from_sources(
    sources: tuple[Path, ...],
    base_iri: str | None,
    strict: bool,
    quiet: bool,
    build: Callable[..., MappingSet],
    date: str | None,
) -> tuple[MappingSet, ReadReport]:
    """Read SOURCES into a throw-away store and build the mapping set there."""
    files = list(discover(sources))
    stream = ModelStream(files, strict=strict)
    with tempfile.TemporaryDirectory(prefix="ontomap-mappings-") as folder:
        try:
            with Store(Path(folder) / "kg") as store:
                store.load(stream, base_iri)
                mapping_set = build(store, mapping_date=date or _source_date(files))
        finally:
            print_diagnostics(stream.report, quiet)
    return mapping_set, stream.report


def _describe(mapping_set: MappingSet) -> str:
    counts = ", ".join(f"{n} {predicate}" for predicate, n in mapping_set.counts().items())
    left_out = []
    if mapping_set.excluded_outliers:
        left_out.append(f"{mapping_set.excluded_outliers} outliers excluded")
    if mapping_set.below_threshold:
        left_out.append(f"{mapping_set.below_threshold} below --min-support/--min-share")
    marked = sum(m.marked_outlier for m in mapping_set.mappings)
    if marked:
        left_out.append(f"{marked} outliers marked")
    detail = f" ({counts})" if counts else ""
    rest = f"; {', '.join(left_out)}" if left_out else ""
    return f"{len(mapping_set)} mappings{detail}{rest}"


@main.command("mappings")
@click.argument("sources", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--from",
    "source",
    metavar="SYSTEM",
    callback=_system,
    help=f"Source code system ({', '.join(default_registry().keys)}; aliases such as "
    "SNOMEDCT work too). Default: every system.",
)
@click.option(
    "--to",
    "target",
    metavar="SYSTEM",
    callback=_system,
    help="Target code system. Default: every system. With neither --from nor --to, each pair "
    "of systems appears once, from the system listed first above.",
)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(list(FORMATS)),
    help="Output format; by default from the extension of -o (.sssom.tsv/.tsv: sssom, "
    ".ttl: skos; FHIR needs --format).",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Output file ('-' for standard output, sssom unless --format says otherwise).",
)
@click.option(
    "--min-support",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    metavar="N",
    help="Keep pairs carried together by at least N entities.",
)
@click.option(
    "--min-share",
    type=click.FloatRange(0.0, 1.0),
    default=0.0,
    show_default=True,
    metavar="X",
    help="Keep pairs covering at least this share (0-1) of the source code's uses.",
)
@click.option(
    "--outliers",
    type=click.Choice(["exclude", "mark"]),
    default="exclude",
    show_default=True,
    help=f"Outliers (under {OUTLIER_SHARE:.0%} of a code's uses while another pairing has "
    f"{DOMINANT_SHARE:.0%} or more): leave them out, or keep them marked.",
)
@click.option(
    "--mapping-date",
    metavar="YYYY-MM-DD",
    callback=_date,
    help="Date written into the file. Default: $SOURCE_DATE_EPOCH, else the newest "
    "modification date of the finding-model files (UTC), else none; never today's date.",
)
@click.option(
    "--license",
    "license_",
    metavar="IRI",
    default=DEFAULT_LICENSE,
    show_default=True,
    callback=_iri,
    help="License of the mapping set.",
)
@click.option(
    "--set-id",
    metavar="IRI",
    callback=_iri,
    help="Identifier of the mapping set (SSSOM mapping_set_id, ConceptMap url, SKOS set IRI). "
    "Default: https://w3id.org/ontomap/mappings/{from}-to-{to}.",
)
@store_option
@base_option
@strict_option
@quiet_option
@handle_errors
def mappings(
    sources: tuple[Path, ...],
    source: str | None,
    target: str | None,
    fmt: str | None,
    output: Path,
    min_support: int,
    min_share: float,
    outliers: str,
    mapping_date: str | None,
    license_: str,
    set_id: str | None,
    store_path: Path | None,
    base_iri: str | None,
    strict: bool,
    quiet: bool,
) -> None:
    """Write the crosswalk between code systems: every pair of codes that index the same
    finding, attribute or value, with its evidence, as SSSOM, FHIR ConceptMap or SKOS.

    With SOURCES (files and folders of finding models) the crosswalk is computed from them;
    without, from the store. The links are evidence, not equivalence: each carries the
    supporting entities, their number and findings, its share of the source code's uses (the
    confidence) and its cardinality. The predicate follows the evidence: skos:closeMatch for a
    1:1 pairing seen in at least %(findings)d findings covering at least %(share)s of the uses of
    both codes, skos:relatedMatch otherwise; never skos:exactMatch. See docs/mappings.md.

    \b
    Formats:
      sssom    .sssom.tsv  SSSOM/TSV with its metadata block (sssom-py reads it)
      fhir-r4              FHIR R4 ConceptMap, JSON (equivalence inexact / relatedto)
      fhir-r5              FHIR R5 ConceptMap, JSON (relationship related-to + properties)
      skos     .ttl        SKOS links in Turtle, evidence on owl:Axiom nodes

    \b
    Examples:
      ontomap mappings --store ./kg --from RADLEX --to SNOMED -o radlex-snomed.sssom.tsv
      ontomap mappings defs/ --from RADLEX --to SNOMED -f fhir-r4 -o radlex-snomed.json
      ontomap mappings --store ./kg -f skos -o mappings.ttl         # all system pairs
      ontomap mappings --store ./kg --from RADLEX --outliers mark --min-support 2 -o r.tsv

    \b
    Exit codes: 0 written, 1 some SOURCES failed (the rest were used), 2 usage error
    (unknown system or format, bad date), 4 store error.
    """
    started = time.perf_counter()
    if source is not None and source == target:
        fail(f"--from and --to name the same code system ({source})", EXIT_USAGE)
    to_stdout = str(output) == "-"
    mapping_format = format_for(
        None if to_stdout else output, fmt or ("sssom" if to_stdout else None)
    )
    build = partial(
        build_mapping_set,
        source_system=source,
        target_system=target,
        min_support=min_support,
        min_share=min_share,
        outliers=outliers,
        license=license_,
        set_id=set_id,
    )
    report = None
    if sources:
        if base_iri is not None:
            try:
                check_base_iri(base_iri)
            except ValueError as exc:
                fail(str(exc), EXIT_USAGE)
        mapping_set, report = _from_sources(sources, base_iri, strict, quiet, build, mapping_date)
    else:
        if base_iri is not None:
            fail(
                "--base-iri applies to SOURCES; a store keeps the base it was built with",
                EXIT_USAGE,
            )
        with Store(store_path, read_only=True) as store:
            date = mapping_date or _source_date(info.path for info in store.sources().values())
            mapping_set = build(store, mapping_date=date)
    if to_stdout:
        mapping_format.write(mapping_set, sys.stdout.buffer)
        sys.stdout.flush()
    else:
        write_mapping_set(mapping_set, output, mapping_format.name)
    if not quiet and not to_stdout:
        prefix = f"{read_summary(report)}\n" if report is not None else ""
        click.echo(
            f"{prefix}wrote {_shown(output)} ({mapping_format.name}, {_describe(mapping_set)}) "
            f"in {time.perf_counter() - started:.2f} s"
        )
    if not mapping_set.mappings:
        click.echo(
            "ontomap: warning: no co-indexed code pairs for these systems and filters", err=True
        )
    if report is not None and not report.ok:
        sys.exit(EXIT_INPUT_ERRORS)


if mappings.help is not None:  # fill in the thresholds the predicate rule uses
    mappings.help = mappings.help % {
        "findings": CLOSE_MATCH_MIN_FINDINGS,
        "share": f"{CLOSE_MATCH_MIN_SHARE:.0%}",
    }
