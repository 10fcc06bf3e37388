"""``ontomap diff``: what changed between two releases of a corpus."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ontomap.cli import EXIT_STORE, fail, handle_errors, main
from ontomap.cli.options import FormatChoice, is_quiet, plural, verbosity_options
from ontomap.formats import Format, FormatRegistry

#: The report's formats (the command writes each itself: no handler).
FORMATS: FormatRegistry[Format[None]] = FormatRegistry(
    [
        Format("text", None, media_types=("text/plain",)),
        Format("json", None, media_types=("application/json",)),
        Format("markdown", None, media_types=("text/markdown",)),
    ]
)
#: Exit code when --fail-on names a kind of change that happened.
EXIT_CHANGES = 1


def _kinds(_ctx: click.Context, _param: click.Parameter, value: str | None) -> list[str]:
    from ontomap.diff import KINDS

    if not value:
        return []
    kinds = [k.strip() for k in value.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise click.BadParameter(f"unknown kind {', '.join(unknown)}; kinds: {', '.join(KINDS)}")
    return kinds


@main.command("diff")
@click.argument("old", metavar="OLD")
@click.argument("new", metavar="NEW")
@click.option(
    "--repo",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="The git repository of git:REV sides. Default: the current folder.",
)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=FormatChoice(FORMATS),
    default="text",
    show_default=True,
    help="text: grouped by model, for people (colour on a terminal); json: stable, for "
    "scripts (docs/diff.md); markdown: for a pull-request comment.",
)
@click.option(
    "--fail-on",
    "fail_on",
    metavar="KINDS",
    callback=_kinds,
    help="Exit 1 when a change of one of these kinds (comma-separated, e.g. "
    "meaning-change,code-removed) is found.",
)
@click.option(
    "--color/--no-color", default=None, help="Colour the text report (default: on a terminal)."
)
@verbosity_options
@handle_errors
def diff_command(
    old: str, new: str, repo: Path | None, fmt: str, fail_on: list[str], color: bool | None
) -> None:
    """Report what changed from OLD to NEW: models, attributes, values, codes, crosswalk.

    Each side is a folder or file of finding models, a store folder, or git:REV of a corpus
    repository (read with git archive: no checkout, the working tree is left alone).
    Meaning changes are flagged: a value code or attribute ID that now denotes something
    else (swapped or renumbered values, a rename to an unrelated name, a changed unit, range,
    type or max_selected).

    \b
    Examples:
      ontomap diff old/defs new/defs
      ontomap diff git:v1.0 git:HEAD --repo ../findingmodels --format markdown > pr-comment.md
      ontomap diff old/ new/ --format json --fail-on meaning-change,code-removed

    \b
    Exit codes: 0 done (1 with --fail-on when such a change was found), 2 usage error,
    4 a side cannot be read (missing path, unknown revision, or files that fail to read:
    a model that cannot be read would show as removed).
    """
    from ontomap.diff import diff_sides, read_side

    sides = [read_side(old, repo), read_side(new, repo)]
    result = diff_sides(*sides)
    if fmt == "json":
        click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    elif fmt == "markdown":
        click.echo(result.to_markdown(), nl=False)
    else:
        colour = sys.stdout.isatty() if color is None else color
        click.echo(result.to_text(colour), nl=False, color=colour)
    errors = [e for side in sides for e in side.errors]
    for error in errors:
        click.echo(str(error), err=True)
    if errors:
        fail(
            f"{plural(len(errors), 'file')} could not be read; the diff may show their models "
            "as removed",
            EXIT_STORE,
        )
    if fail_on and result.of(fail_on):
        if not is_quiet():
            found = ", ".join(f"{n} {k}" for k, n in result.counts().items() if k in fail_on)
            click.echo(f"ontomap: found {found} (--fail-on)", err=True)
        sys.exit(EXIT_CHANGES)
