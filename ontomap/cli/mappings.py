"""``ontomap mappings``: the crosswalk between code systems as SSSOM, FHIR ConceptMap or SKOS."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path

import click

from ontomap.cli import EXIT_INPUT_ERRORS, EXIT_USAGE, fail, handle_errors, main
from ontomap.cli.build import (
    base_option,
    diagnostics_json,
    json_option,
    max_file_size_option,
    print_diagnostics,
    print_summary,
    read_json,
    read_summary,
    reading_progress,
    store_option,
    strict_option,
)
from ontomap.cli.options import (
    FormatChoice,
    endpoint_option,
    is_device,
    is_quiet,
    open_target,
    plural,
    progress_enabled,
    system_key,
    timeout_option,
    verbosity_options,
)
from ontomap.crosswalk import (
    CLOSE_MATCH_MIN_CONTEXTS,
    CLOSE_MATCH_MIN_FINDINGS,
    CLOSE_MATCH_MIN_SHARE,
    DOMINANT_SHARE,
    OUTLIER_SHARE,
    TEMPLATE_MIN_FINDINGS,
    EntityCodes,
    build_crosswalk,
    entities_of_model,
)
from ontomap.errors import OntomapError
from ontomap.graph import check_base_iri
from ontomap.mappings import (
    DEFAULT_LICENSE,
    FORMATS,
    InvalidMappingDateError,
    InvalidMappingIriError,
    MappingSet,
    OutlierPolicy,
    build_mapping_set,
    check_date,
    check_iri,
    format_for,
    recorded_files,
    source_date,
    write_mapping_set,
)
from ontomap.progress import Activity
from ontomap.readers import ModelStream, ReadReport
from ontomap.terminology import default_registry


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


def _entities(stream: ModelStream) -> Iterator[EntityCodes]:
    """The entities of the stream's models, each model once (a stream gives a model again
    when its JSON comes after its Markdown rendering: the later one counts)."""
    models = {source.model.oifm_id: source.model for source in stream}
    for model in models.values():
        yield from entities_of_model(model)


def _from_sources(
    sources: tuple[Path, ...],
    strict: bool,
    quiet: bool,
    max_file_size: int,
    build: Callable[..., MappingSet],
    date: str | None,
) -> tuple[MappingSet, ReadReport]:
    """Read SOURCES and build the mapping set from their crosswalk, computed straight from the
    models (no store): a file that cannot be read is reported and the others are used."""
    stream = ModelStream(sources, strict=strict, max_file_size=max_file_size)
    progress = reading_progress(stream, "reading")
    try:
        crosswalk = build_crosswalk(_entities(stream))
    finally:
        progress.close()
        print_diagnostics(stream.report, quiet)
    files = [path for path, _named in stream.files]
    with Activity("pairing codes", enabled=progress_enabled()):
        mapping_set = build(crosswalk, mapping_date=date or _source_date(files))
    return mapping_set, stream.report


def _from_backend(
    store_path: Path | None,
    endpoint: str | None,
    timeout: float | None,
    build: Callable[..., MappingSet],
    date: str | None,
) -> MappingSet:
    """Build the mapping set from a store (``--store``) or a SPARQL endpoint (``--endpoint``)."""
    from ontomap.backends import LocalBackend

    with open_target(store_path, endpoint, timeout) as backend:
        if date is None:
            recorded = (
                recorded_files(backend.store)
                if isinstance(backend, LocalBackend)
                else []  # an endpoint's source files are not here to look at
            )
            date = _source_date(recorded)
        where = "the store" if isinstance(backend, LocalBackend) else "the endpoint"
        with Activity(f"reading the crosswalk from {where}", enabled=progress_enabled()):
            return build(backend, mapping_date=date)


def _describe(mapping_set: MappingSet) -> str:
    counts = ", ".join(f"{n:,} {predicate}" for predicate, n in mapping_set.counts().items())
    left_out = []
    if mapping_set.excluded_outliers:
        left_out.append(f"{plural(mapping_set.excluded_outliers, 'outlier')} excluded")
    if mapping_set.colisted:
        left_out.append(f"{plural(mapping_set.colisted, 'co-listed pair')} (not mappings)")
    if mapping_set.below_threshold:
        left_out.append(f"{mapping_set.below_threshold:,} below --min-support/--min-share")
    marked = sum(m.marked_outlier for m in mapping_set.mappings)
    if marked:
        left_out.append(f"{plural(marked, 'outlier')} marked")
    detail = f" ({counts})" if counts else ""
    rest = f"; {', '.join(left_out)}" if left_out else ""
    return f"{plural(len(mapping_set), 'mapping')}{detail}{rest}"


@main.command("mappings")
@click.argument("sources", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--from",
    "source",
    metavar="SYSTEM",
    callback=system_key,
    help=f"Source code system ({', '.join(default_registry().keys)}; aliases such as "
    "SNOMEDCT work too). Default: every system.",
)
@click.option(
    "--to",
    "target",
    metavar="SYSTEM",
    callback=system_key,
    help="Target code system. Default: every system. With neither --from nor --to, each pair "
    "of systems appears once, from the system listed first above.",
)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=FormatChoice(FORMATS),
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
    help="Keep pairs supported by at least N independent contexts (distinct authoring places; "
    "a template copied into many models is one).",
)
@click.option(
    "--min-share",
    type=click.FloatRange(0.0, 1.0),
    default=0.0,
    show_default=True,
    metavar="X",
    help="Keep pairs supported by at least this share (0-1) of the source code's contexts.",
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
@endpoint_option
@timeout_option
@base_option
@strict_option
@verbosity_options
@json_option
@max_file_size_option
@handle_errors
def mappings(
    sources: tuple[Path, ...],
    source: str | None,
    target: str | None,
    fmt: str | None,
    output: Path,
    min_support: int,
    min_share: float,
    outliers: OutlierPolicy,
    mapping_date: str | None,
    license_: str,
    set_id: str | None,
    store_path: Path | None,
    endpoint: str | None,
    timeout: float | None,
    base_iri: str | None,
    strict: bool,
    as_json: bool,
    max_file_size: int,
) -> None:
    """Write the crosswalk between code systems: the pairs of codes that index the same
    finding, attribute or value, with their evidence, as SSSOM, FHIR ConceptMap or SKOS.

    With SOURCES (files and folders of finding models) the crosswalk is computed from them;
    without, it is read from the store, or with --endpoint URL from a SPARQL 1.1 endpoint
    holding the store's layout (after 'ontomap push'). The links are evidence, not
    equivalence, counted in independent contexts (a template copied into many models is one
    decision): each carries its supporting entities, findings and contexts, the template mark
    (a context repeated in %(template)d or more models), the confidence, its cardinality, and
    for codes paired by their displays the similarity. Codes only listed together (several
    codes of both systems on one entity, displays not matching) are not mappings. The
    predicate is skos:closeMatch for a 1:1 pairing supported by at least %(contexts)d contexts
    in %(findings)d finding models and %(share)s of the contexts of both codes,
    skos:relatedMatch otherwise; never skos:exactMatch. See docs/mappings.md.

    \b
    Formats:
      sssom    .sssom.tsv  SSSOM 1.1 TSV with its metadata block (sssom-py reads it)
      fhir-r4              FHIR R4 ConceptMap, JSON (equivalence inexact / relatedto)
      fhir-r5              FHIR R5 ConceptMap, JSON (relationship related-to + properties)
      skos     .ttl        SKOS links in Turtle, evidence on owl:Axiom nodes

    \b
    Examples:
      ontomap mappings --store ./kg --from RADLEX --to SNOMED -o radlex-snomed.sssom.tsv
      ontomap mappings defs/ --from RADLEX --to SNOMED -f fhir-r4 -o radlex-snomed.json
      ontomap mappings --store ./kg -f skos -o mappings.ttl         # all system pairs
      ontomap mappings --endpoint http://127.0.0.1:7878/query --from RADLEX -o r.sssom.tsv
      ontomap mappings --store ./kg --from RADLEX --outliers mark --min-support 2 -o r.tsv

    \b
    Exit codes: 0 written, 1 some SOURCES failed (the rest were used), 2 usage error
    (unknown system or format, bad date), 4 store or endpoint error.
    """
    quiet = is_quiet()
    started = time.perf_counter()
    if source is not None and source == target:
        fail(f"--from and --to name the same code system ({source})", EXIT_USAGE)
    to_stdout = str(output) == "-"
    if as_json and to_stdout:
        fail(
            "--json prints the summary on standard output: give the set a file with -o", EXIT_USAGE
        )
    mapping_format = format_for(
        None if is_device(output) else output, fmt or ("sssom" if is_device(output) else None)
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
        if endpoint is not None:
            fail("give SOURCES or --endpoint, not both", EXIT_USAGE)
        if timeout is not None:
            fail("--timeout applies to --endpoint", EXIT_USAGE)
        if base_iri is not None:
            try:
                check_base_iri(base_iri)
            except ValueError as exc:
                fail(str(exc), EXIT_USAGE)
        build = partial(build, base_iri=base_iri)
        mapping_set, report = _from_sources(
            sources, strict, quiet, max_file_size, build, mapping_date
        )
    else:
        if base_iri is not None:
            fail(
                "--base-iri applies to SOURCES; a store keeps the base it was built with",
                EXIT_USAGE,
            )
        mapping_set = _from_backend(store_path, endpoint, timeout, build, mapping_date)
    if to_stdout:
        mapping_format.write(mapping_set, sys.stdout.buffer)
        sys.stdout.flush()
    else:
        write_mapping_set(mapping_set, output, mapping_format.name)
    if as_json:
        print_summary(
            "mappings",
            report is None or report.ok,
            started,
            read=read_json(report),
            diagnostics=diagnostics_json(report),
            output={"path": str(output), "format": mapping_format.name},
            mappings={
                "total": len(mapping_set),
                "predicates": dict(mapping_set.counts()),
                "outliers_excluded": mapping_set.excluded_outliers,
                "outliers_marked": sum(m.marked_outlier for m in mapping_set.mappings),
                "colisted": mapping_set.colisted,
                "below_threshold": mapping_set.below_threshold,
            },
        )
    elif not quiet and not to_stdout:
        prefix = f"{read_summary(report)}\n" if report is not None else ""
        click.echo(
            f"{prefix}wrote {_shown(output)} ({mapping_format.name}, {_describe(mapping_set)}) "
            f"in {time.perf_counter() - started:.2f} s"
        )
    if not mapping_set.mappings and not quiet:
        click.echo("ontomap: warning: no mappings for these systems and filters", err=True)
    if report is not None and not report.ok:
        sys.exit(EXIT_INPUT_ERRORS)


if mappings.help is not None:  # fill in the thresholds the predicate rule uses
    mappings.help = mappings.help % {
        "contexts": CLOSE_MATCH_MIN_CONTEXTS,
        "template": TEMPLATE_MIN_FINDINGS,
        "findings": CLOSE_MATCH_MIN_FINDINGS,
        "share": f"{CLOSE_MATCH_MIN_SHARE:.0%}",
    }
