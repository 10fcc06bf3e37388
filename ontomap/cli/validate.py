"""``ontomap validate``: check finding models and audit their terminology."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ontomap.atomic import atomic_write
from ontomap.cli import EXIT_USAGE, fail, handle_errors, main
from ontomap.cli.build import examples_option, max_file_size_option, with_examples
from ontomap.cli.options import progress_enabled, verbosity_options
from ontomap.progress import Activity
from ontomap.validate import ENGINES, fixes_json, validate

FORMATS = ("text", "json")


@main.command("validate")
@click.argument("sources", nargs=-1, type=click.Path(allow_dash=True, path_type=Path))
@examples_option
@click.option(
    "-o",
    "--output",
    default="-",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Write the report to this file (written atomically); '-' or none: standard output.",
)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text: grouped by severity, for people; json: stable, for scripts (docs/validate.md).",
)
@click.option(
    "--shacl",
    is_flag=True,
    help="Also build the graph and check it against ontologies/shapes.ttl (graph/… rules).",
)
@click.option(
    "--shacl-engine",
    type=click.Choice(ENGINES),
    help="Engine for --shacl (implies it): oxigraph (default; the shapes compiled to SPARQL, "
    "about a second on 2,400 models) or pyshacl (the reference implementation; minutes).",
)
@click.option(
    "--store",
    "store_path",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also check every index code against the terminology releases loaded in this store "
    "(release/… rules; opened read-only). Not read from $ONTOMAP_STORE: only where given.",
)
@click.option(
    "--semantic-tags",
    is_flag=True,
    help="With --store: also check that SNOMED CT semantic tags fit their place "
    "(release/semantic-tag).",
)
@click.option(
    "--fixes",
    "fixes_path",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="With --store: write the certain fixes as JSON to this file ('-': standard output, "
    "the report then goes to standard error). Format in docs/validate.md.",
)
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too, not only on errors.")
@click.option("--no-hints", is_flag=True, help="Leave the fix hints out of the text report.")
@max_file_size_option
@verbosity_options
@handle_errors
def validate_command(
    sources: tuple[Path, ...],
    examples: bool,
    output: Path,
    fmt: str,
    shacl: bool,
    shacl_engine: str | None,
    store_path: Path | None,
    semantic_tags: bool,
    fixes_path: Path | None,
    strict: bool,
    no_hints: bool,
    max_file_size: int,
) -> None:
    """Validate finding models and audit the consistency of their codes.

    SOURCES are files (*.fm.json, *.json, *.md) and folders (read recursively); --examples
    adds the examples that ship with ontomap. A SOURCE that does not exist is a read/…
    error, as in 'ontomap build': the others are validated (exit 1). Every problem
    is a finding with a rule ID, a severity (error, warning, info), file:line, the OIFM ID or
    code concerned, a message and a fix hint:

    \b
      read/…       files that cannot be read at all
      structure/…  the OIFM JSON schema: ID patterns, value numbering, lengths, unknown fields
      identity/…   the same ID in two files; a Markdown file that disagrees with its JSON
      code/…       unknown or doubly spelled systems, code syntax and check digits, displays
      crosswalk/…  unusual pairings of codes of two systems (possible coding errors)
      graph/…      with --shacl: the SHACL shapes of ontologies/shapes.ttl
      release/…    with --store: codes absent from or inactive in the loaded releases,
                   displays that are none of the code's names

    \b
    Exit codes: 0 no errors (warnings and info allowed), 1 errors found (or, with --strict,
    warnings), 2 usage error, 4 store error (with --store: cannot be opened).

    \b
    Examples:
      ontomap validate defs/ text/
      ontomap validate defs/ --format json -o report.json
      ontomap validate defs/ --shacl --strict
      ontomap validate new_model.fm.json
      ontomap validate defs/ --store ./kg --fixes fixes.json
    """
    if store_path is None and (semantic_tags or fixes_path is not None):
        option = "--semantic-tags" if semantic_tags else "--fixes"
        fail(f"{option} checks codes against releases: give --store DIR", EXIT_USAGE)
    report_to_stdout = str(output) == "-"
    fixes_to_stdout = fixes_path is not None and str(fixes_path) == "-"
    if report_to_stdout and fixes_to_stdout and _given("output"):
        fail("-o - and --fixes - both name standard output: give one of them a file", EXIT_USAGE)
    sources = with_examples(sources, examples)
    shacl = shacl or shacl_engine is not None
    step = "validating, SHACL shapes included" if shacl else "validating"
    with Activity(step, enabled=progress_enabled()):
        report = validate(
            sources,
            shacl=shacl,
            shacl_engine=shacl_engine or "oxigraph",
            max_file_size=max_file_size,
            store=store_path,
            semantic_tags=semantic_tags,
        )
    if fixes_path is not None:
        _write(fixes_json(report.fixes), fixes_path)
    text = report.to_json() if fmt == "json" else report.to_text(hints=not no_hints)
    if report_to_stdout:
        # with the fixes on standard output, the report goes to standard error
        click.echo(text, nl=False, err=fixes_to_stdout)
    else:
        _write(text, output)
    sys.exit(report.exit_code(strict))


def _write(text: str, path: Path) -> None:
    """``text`` to standard output (``-``) or to ``path``, written atomically."""
    if str(path) == "-":
        click.echo(text, nl=False)
    else:
        with atomic_write(path) as out:
            out.write(text.encode("utf-8"))


def _given(name: str) -> bool:
    source = click.get_current_context().get_parameter_source(name)
    return source == click.core.ParameterSource.COMMANDLINE
