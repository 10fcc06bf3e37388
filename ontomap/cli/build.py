"""``ontomap build`` and ``ontomap export``."""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, TypeVar

import click

from ontomap.checks import has_problems
from ontomap.cli import EXIT_INPUT_ERRORS, EXIT_INTERRUPTED, EXIT_USAGE, fail, handle_errors, main
from ontomap.cli.options import (
    FormatChoice,
    is_device,
    is_quiet,
    is_verbose,
    plural,
    progress_enabled,
    store_option,
    verbosity_options,
)
from ontomap.errors import OntomapError
from ontomap.exporters import EXPORTERS, Exporter, exporter_for
from ontomap.exporters.streaming import STREAM_FORMATS, write_blocks, write_stream
from ontomap.graph import Dataset, GraphBuilder, KnowledgeGraph, check_base_iri
from ontomap.model import FindingModel
from ontomap.progress import Activity, Progress
from ontomap.readers import ModelStream, ReadReport
from ontomap.readers.common import SourceModel
from ontomap.readers.limits import DEFAULT_MAX_FILE_SIZE, MAX_FILE_SIZE_ENV, format_size, parse_size
from ontomap.store import Store, current_generation, default_store_path, is_store
from ontomap.vocab import DEFAULT_BASE_IRI

_T = TypeVar("_T")

#: Errors and warnings printed by default before the rest are only counted.
DEFAULT_MAX_MESSAGES = 50

base_option = click.option(
    "--base-iri",
    metavar="IRI",
    help=f"Base of finding, attribute and value IRIs ({{base}}{{ID}}). Default: {DEFAULT_BASE_IRI} "
    "(a store keeps the base it was built with).",
)
strict_option = click.option(
    "--strict", is_flag=True, help="Stop at the first bad input file (exit code 1)."
)
#: ``--examples``: the finding models that ship with ontomap, as one more source.
examples_option = click.option(
    "--examples",
    is_flag=True,
    help="Also read the example finding models that ship with ontomap (installed with it; "
    "no clone needed).",
)

#: ``--json``: the summary as one JSON object on standard output, for scripts.
json_option = click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the summary as one JSON object on standard output instead of the text "
    "summary (counts, timings, every diagnostic; docs/cli-json.md). Errors and warnings still "
    "go to standard error unless -q.",
)

#: Version of the ``--json`` summaries; raised when a field changes meaning or goes away.
SUMMARY_VERSION = 1


def diagnostics_json(report: ReadReport | None) -> list[dict[str, object]]:
    """Every diagnostic of ``report`` as JSON: file, line (or null), severity, message."""
    if report is None:
        return []
    return [
        {"file": str(d.path), "line": d.line, "severity": d.severity, "message": d.message}
        for d in report.diagnostics
    ]


def read_json(report: ReadReport | None) -> dict[str, object] | None:
    """What reading found, as JSON (null when nothing was read from files)."""
    if report is None:
        return None
    return {
        "files": report.files,
        "models": report.model_count,
        "errors": len(report.errors),
        "warnings": len(report.warnings),
        "renderings": [str(p) for p in report.renderings],
        "skipped": [str(p) for p in report.skipped],
    }


def print_summary(command: str, ok: bool, started: float, **fields: object) -> None:
    """The ``--json`` summary of ``command``: one JSON object, keys sorted, on one line."""
    import json

    data = {"command": command, "version": SUMMARY_VERSION, "ok": ok, **fields}
    data["seconds"] = round(time.perf_counter() - started, 3)
    click.echo(json.dumps(data, sort_keys=True, ensure_ascii=False))


class ByteSize(click.ParamType):
    """A size in bytes, written as :func:`ontomap.readers.limits.parse_size` reads it."""

    name = "size"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> int:
        if isinstance(value, int):
            return value
        try:
            return parse_size(str(value))
        except OntomapError as exc:
            self.fail(str(exc), param, ctx)


max_file_size_option = click.option(
    "--max-file-size",
    type=ByteSize(),
    default=DEFAULT_MAX_FILE_SIZE,
    envvar=MAX_FILE_SIZE_ENV,
    show_envvar=True,
    metavar="SIZE",
    help=f"Larger input files are errors, not read (bytes, or with k, M, G). "
    f"Default: {format_size(DEFAULT_MAX_FILE_SIZE).replace(' ', '')}.",
)


max_messages_option = click.option(
    "--max-messages",
    type=click.IntRange(min=0),
    default=DEFAULT_MAX_MESSAGES,
    show_default=True,
    metavar="N",
    help="Print at most N errors and warnings, then how many more there are (0: all).",
)


def with_examples(sources: tuple[Path, ...], examples: bool) -> tuple[Path, ...]:
    """``sources``, and with ``--examples`` the folder of the bundled examples after them; no
    source at all is a usage error."""
    if examples:
        from ontomap.resources import examples_dir

        try:
            sources = (*sources, examples_dir())
        except FileNotFoundError as exc:
            fail(str(exc), EXIT_USAGE)
    if not sources:
        fail("give SOURCES (files, folders, '-') or --examples", EXIT_USAGE)
    return sources


def reading_progress(stream: ModelStream, label: str) -> Progress:
    """A progress count of the files ``stream`` reads (on a terminal); with ``-v`` a line
    per file instead, ``reading PATH (N/TOTAL)``, kept above the count on a terminal."""
    total = len(stream.files)
    verbose = is_verbose()
    progress = Progress(label, total, enabled=False if verbose else progress_enabled())
    if verbose and progress.live:
        progress.enabled = True

    def advance(path: Path) -> None:
        if verbose:
            progress.close()
            click.echo(f"reading {path} ({progress.done + 1}/{total})", err=True)
        progress.advance()

    stream.progress = advance
    return progress


def _read(
    sources: tuple[Path, ...], strict: bool, quiet: bool, max_file_size: int, max_messages: int
) -> ReadReport:
    stream = ModelStream(sources, strict=strict, max_file_size=max_file_size)
    progress = reading_progress(stream, "reading")
    try:
        for _source in stream:
            pass
    finally:
        progress.close()
        print_diagnostics(stream.report, quiet, max_messages)
    return stream.report


def print_diagnostics(
    report: ReadReport, quiet: bool, max_messages: int = DEFAULT_MAX_MESSAGES
) -> None:
    """Errors and warnings (errors only when ``quiet``) on standard error, at most
    ``max_messages`` (0: all) and then one line counting the rest."""
    shown = [d for d in report.diagnostics if d.severity == "error" or not quiet]
    if max_messages and len(shown) > max_messages:
        left = shown[max_messages:]
        shown = shown[:max_messages]
    else:
        left = []
    for diagnostic in shown:
        click.echo(str(diagnostic), err=True)
    if left:
        errors = sum(d.severity == "error" for d in left)
        warnings = len(left) - errors
        parts = [f"{errors} more error{'s' * (errors != 1)}"] if errors else []
        if warnings:
            parts.append(f"{warnings} more warning{'s' * (warnings != 1)}")
        click.echo(f"… and {' and '.join(parts)} (--max-messages 0 prints them all)", err=True)


def interrupted(location: Path) -> None:
    """Exit 130 after Ctrl-C stopped a write to the store at ``location``, saying which
    generation it still serves."""
    kept = current_generation(location) if is_store(location) else None
    where = f"generation {kept}" if kept else "no generation yet"
    fail(
        f"interrupted: nothing was written; the store at {location} is as it was ({where})",
        EXIT_INTERRUPTED,
    )


def _check_base(base_iri: str | None) -> None:
    if base_iri is not None:
        try:
            check_base_iri(base_iri)
        except ValueError as exc:
            fail(str(exc), EXIT_USAGE)


def _count(n: int, word: str) -> str:
    return plural(n, word)


def read_summary(report: ReadReport) -> str:
    """One line on what reading found; a second one on the files it left out or merged."""
    line = (
        f"read {_count(report.files, 'file')}: {_count(report.model_count, 'model')}, "
        f"{_count(len(report.errors), 'error')}, {_count(len(report.warnings), 'warning')}"
    )
    notes = []
    if report.renderings:
        notes.append(
            f"{_count(len(report.renderings), 'Markdown rendering')} of JSON models read as "
            "the same models (the JSON is used)"
        )
    if report.skipped:
        names = ", ".join(str(p) for p in report.skipped[:3])
        more = f" and {len(report.skipped) - 3:,} more" if len(report.skipped) > 3 else ""
        notes.append(
            f"{_count(len(report.skipped), 'file')} holding no finding model left out "
            f"({names}{more})"
        )
    return line + "".join(f"\n{note}" for note in notes)


@main.command()
@click.argument("sources", nargs=-1, type=click.Path(path_type=Path))
@examples_option
@store_option
@base_option
@strict_option
@verbosity_options
@json_option
@max_file_size_option
@max_messages_option
@handle_errors
def build(
    sources: tuple[Path, ...],
    examples: bool,
    store_path: Path | None,
    base_iri: str | None,
    strict: bool,
    as_json: bool,
    max_file_size: int,
    max_messages: int,
) -> None:
    """Read finding models and load them into a store.

    SOURCES are files (*.fm.json, *.json, *.md), folders (read recursively) and '-' (one
    model on standard input, JSON or Markdown); --examples adds the example models that ship
    with ontomap. A SOURCE that does not exist is an error, as a bad file is. A model already
    in the store is replaced whole by the new one; the store records each model's source file.
    Bad files are reported with file and line and skipped; the others are loaded (exit 1).

    A folder may hold a model both as JSON and as its Markdown rendering (the OIFM repository's
    defs/ and text/): that is one model, the JSON one; a rendering that disagrees with its JSON
    gets a warning. Markdown files holding no finding model (README.md) are left out, counted
    in the summary.

    \b
    Examples:
      ontomap build --examples --store ./kg
      ontomap build ontologies/examples --store ./kg
      ontomap build path/to/findingmodels --store ./kg
      ontomap build defs/ text/extra.md --store ./kg --strict
    """
    quiet = is_quiet()
    _check_base(base_iri)
    sources = with_examples(sources, examples)
    started = time.perf_counter()
    # each model is written as it comes and none is needed after: memory stays bounded
    stream = ModelStream(sources, strict=strict, max_file_size=max_file_size, keep_models=False)
    progress = reading_progress(stream, "loading")
    location = store_path or default_store_path()
    problems: list[str] = []

    def checked(sources: Iterable[SourceModel]) -> Iterator[SourceModel]:
        for source in sources:
            if has_problems(source.model):
                problems.append(str(source.path))
            yield source

    try:
        with Store(location) as store:
            summary = store.load(checked(stream), base_iri)
            total = len(store.model_ids())
            generation = store.commit()
    except KeyboardInterrupt:
        progress.close()
        interrupted(location)
        return
    finally:
        progress.close()
        print_diagnostics(stream.report, quiet, max_messages)
    report = stream.report
    if as_json:
        print_summary(
            "build",
            report.ok,
            started,
            read=read_json(report),
            diagnostics=diagnostics_json(report),
            problems=problems,
            store={
                "path": str(location),
                "added": summary.added,
                "replaced": summary.replaced,
                "models": total,
                "quads": summary.quads,
                "generation": generation,
            },
        )
    elif not quiet:
        click.echo(
            f"{read_summary(report)}\n"
            f"store {location}: {summary.added:,} added, {summary.replaced:,} replaced, "
            f"{_count(total, 'model')} in all ({_count(summary.quads, 'quad')} written) "
            f"in {time.perf_counter() - started:.2f} s; now generation {generation}"
        )
        if problems:
            click.echo(
                f"{_count(len(problems), 'model')} {'has' if len(problems) == 1 else 'have'} "
                "malformed codes or misnumbered values: run 'ontomap validate "
                f"{' '.join(shlex.quote(str(s)) for s in sources)}' for where and how to fix "
                "them",
                err=True,
            )
    if not report.ok:
        sys.exit(EXIT_INPUT_ERRORS)


@main.command()
@click.argument("sources", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    default="-",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Output file; '-' or none: standard output (Turtle unless --format says). Its "
    "extension names the format (.ttl, .nt, .jsonld) unless --format is given.",
)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=FormatChoice(EXPORTERS, sort=True),
    help="Output format (see Formats below); ttl, nt, nq, json-ld, rdf+xml and media types "
    "name them too.",
)
@examples_option
@store_option
@base_option
@strict_option
@verbosity_options
@json_option
@max_file_size_option
@max_messages_option
@handle_errors
def export(
    sources: tuple[Path, ...],
    output: Path,
    fmt: str | None,
    examples: bool,
    store_path: Path | None,
    base_iri: str | None,
    strict: bool,
    as_json: bool,
    max_file_size: int,
    max_messages: int,
) -> None:
    """Convert finding models to an RDF file, from SOURCES or from a store.

    With SOURCES (files and folders; '-' reads one model from standard input; --examples: the
    examples that ship with ontomap), the models are
    converted directly; without, the store's models are exported. Without -o the graph goes to
    standard output. A file is written atomically: it appears complete or not at all. The same
    input always gives the same bytes.

    \b
    Formats:
      turtle    .ttl       grouped by subject, only the prefixes used
      ntriples  .nt        one triple per line, sorted
      nquads    .nq        one named graph per model, and the codes graph
      trig      .trig      the same named graphs, grouped by subject
      jsonld    .jsonld    JSON-LD with a @context
      rdfxml    (-f only)  plain RDF/XML of the graph
      owl       .owl .rdf  OWL 2 DL ontology, RDF/XML (see docs/owl.md)
      owl-ttl   (-f only)  the same OWL ontology in Turtle
    Names and media types users type are accepted too: ttl, nt, nq, json-ld, rdf+xml,
    text/turtle, application/n-triples...

    \b
    Examples:
      ontomap export defs/ -o findings.ttl
      ontomap export --store ./kg -o findings.nt
      ontomap export --examples -f owl -o examples.owl
      ontomap export defs/seed.fm.json -f jsonld
      cat seed.fm.json | ontomap export - -f ntriples
    """
    quiet = is_quiet()
    _check_base(base_iri)
    if examples:
        sources = with_examples(sources, examples)
    started = time.perf_counter()
    to_stdout = str(output) == "-"
    if as_json and to_stdout:
        fail(
            "--json prints the summary on standard output: give the graph a file with -o",
            EXIT_USAGE,
        )
    named = not is_device(output)  # /dev/null, a FIFO: Turtle unless --format says
    exporter = exporter_for(output if named else None, fmt or (None if named else "turtle"))
    report = None
    written: int | None = None
    if sources and exporter.name in STREAM_FORMATS:
        report, written = _stream_export(
            sources,
            exporter,
            None if to_stdout else output,
            base_iri,
            strict,
            (quiet, max_file_size, max_messages),
        )
        models_count = report.model_count
        what = _count(models_count, "model")
    elif sources:
        report = _read(sources, strict, quiet, max_file_size, max_messages)
        models = (s.model for s in report.models)
        models_count = report.model_count
        what = _count(models_count, "model")
        if exporter.name in _OWL_FORMATS:  # the ontology is made from the models themselves
            written = _write_owl(exporter, models, base_iri, None if to_stdout else output)
        else:
            builder = GraphBuilder(base_iri or DEFAULT_BASE_IRI)
            graph = builder.dataset(models) if exporter.dataset else builder.graph(models)
    else:
        if base_iri is not None:
            fail(
                "--base-iri applies to SOURCES; a store keeps the base it was built with",
                EXIT_USAGE,
            )
        with Store(store_path, read_only=True) as store:
            models_count = len(store.model_ids())
            what = f"{_count(models_count, 'model')} from {store.path}"
            if exporter.name in STREAM_FORMATS:  # graph by graph, in bounded memory
                with Activity(
                    f"writing {exporter.name} from the store {store.path}",
                    enabled=progress_enabled(),
                ):
                    written = _write_blocks(exporter, store, None if to_stdout else output)
            else:
                with Activity(f"reading the store {store.path}", enabled=progress_enabled()):
                    graph = store.dataset() if exporter.dataset else store.graph()
    if written is None:
        with Activity(f"writing {exporter.name}", enabled=progress_enabled()):
            written = _write_graph(exporter, graph, None if to_stdout else output)
    unit = "quad" if exporter.dataset else "triple"
    if as_json:
        print_summary(
            "export",
            report is None or report.ok,
            started,
            read=read_json(report),
            diagnostics=diagnostics_json(report),
            output={"path": str(output), "format": exporter.name, f"{unit}s": written},
            models=models_count,
        )
    elif not quiet and not to_stdout:
        prefix = f"{read_summary(report)}\n" if report is not None else ""
        click.echo(f"{prefix}wrote {output} ({exporter.name}, {_count(written, unit)}, {what})")
    if report is not None and not report.ok:
        sys.exit(EXIT_INPUT_ERRORS)


#: The exporters writing the OWL ontology, which is made from the models, not the graph.
_OWL_FORMATS = ("owl", "owl-ttl")


def _write_to(output: Path | None, write: Callable[[BinaryIO], _T]) -> _T:
    """``write(handle)`` to ``output`` (atomically: it appears complete or not at all) or, for
    ``None``, to standard output; what ``write`` returns."""
    from ontomap.atomic import atomic_write

    if output is None:
        written = write(sys.stdout.buffer)
        sys.stdout.flush()
        return written
    with atomic_write(output) as handle:
        return write(handle)


def _write_owl(
    exporter: Exporter, models: Iterable[FindingModel], base_iri: str | None, output: Path | None
) -> int:
    """The OWL ontology of ``models`` to ``output`` or standard output, without building their
    graph first: the bytes the exporter writes for that graph."""
    from ontomap.exporters.owl import write_owl_models

    base = base_iri or DEFAULT_BASE_IRI
    turtle = exporter.name == "owl-ttl"
    with Activity(f"writing {exporter.name}", enabled=progress_enabled()):
        return _write_to(output, lambda handle: write_owl_models(models, base, handle, turtle))


def _write_blocks(exporter: Exporter, store: Store, output: Path | None) -> int:
    """The store's graph to ``output`` or standard output, read and written graph by graph
    (see :mod:`ontomap.exporters.streaming`)."""
    return _write_to(
        output, lambda handle: write_blocks(store.blocks(), exporter.name, handle, store.base_iri)
    )


def _stream_export(
    sources: tuple[Path, ...],
    exporter: Exporter,
    output: Path | None,
    base_iri: str | None,
    strict: bool,
    limits: tuple[bool, int, int],
) -> tuple[ReadReport, int]:
    """Read ``sources`` and write their graph as it is read (see
    :mod:`ontomap.exporters.streaming`): memory stays bounded whatever their number. Prints
    the diagnostics (``limits``: quiet, the file-size limit, the message cap); returns the
    report of reading and the number of triples written."""
    quiet, max_file_size, max_messages = limits
    stream = ModelStream(sources, strict=strict, max_file_size=max_file_size, keep_models=False)
    progress = reading_progress(stream, f"reading and writing {exporter.name}")
    base = base_iri or DEFAULT_BASE_IRI
    try:
        written = _write_to(
            output, lambda handle: write_stream(stream, exporter.name, handle, base)
        )
    finally:
        progress.close()
        print_diagnostics(stream.report, quiet, max_messages)
    return stream.report, written


def _write_graph(exporter: Exporter, graph: KnowledgeGraph | Dataset, output: Path | None) -> int:
    """Write ``graph`` to ``output`` or standard output; the number of triples (quads) written:
    the writer's own count where it writes other triples than the graph's (the OWL ontology),
    else the graph's."""
    written = _write_to(output, lambda handle: exporter.write(graph, handle))
    return written if isinstance(written, int) else len(graph)
