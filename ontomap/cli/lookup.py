"""``ontomap lookup``: a code's labels, uses and cross-terminology matches."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from pathlib import Path

import click

from ontomap.cli import EXIT_NOT_FOUND, fail, handle_errors, main
from ontomap.cli.build import store_option
from ontomap.cli.query import endpoint_option, open_target, timeout_option
from ontomap.errors import UnknownCodeSystemError
from ontomap.lookup import (
    DOMINANT_SHARE,
    OUTLIER_SHARE,
    CodeLookupError,
    LookupResult,
)
from ontomap.lookup import lookup as lookup_code
from ontomap.terminology import default_registry

FORMATS = ("table", "json", "csv")
#: Columns of ``--format csv``: the looked-up code, then the keys of a JSON match.
CSV_COLUMNS = (
    "from",
    "system",
    "code",
    "curie",
    "iri",
    "label",
    "entities",
    "findings",
    "share",
    "cardinality",
    "flag",
)


def _system(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return default_registry().get(value).key
    except UnknownCodeSystemError as exc:
        raise click.BadParameter(str(exc)) from None


def _columns(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]

    def line(values: list[str]) -> str:
        cells = [
            value.rjust(widths[i]) if i in right else value.ljust(widths[i])
            for i, value in enumerate(values)
        ]
        return "  " + "  ".join(cells).rstrip()

    return [line(header), "  " + "  ".join("-" * w for w in widths), *map(line, rows)]


def _percent(share: float) -> str:
    return f"{share:.2%}" if 0 < share < 0.01 else f"{share:.1%}"


def _line(text: str) -> str:
    """``text`` on one line: line breaks and other control characters written as escapes."""
    if text.isprintable():
        return text
    return "".join(
        repr(char)[1:-1] if unicodedata.category(char) in _ESCAPED else char for char in text
    )


#: Unicode categories written as escapes in a table: controls, line and paragraph separators.
_ESCAPED = frozenset({"Cc", "Zl", "Zp", "Cs"})


def _cut(text: str, width: int) -> str:
    text = _line(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def render_table(result: LookupResult, limit: int) -> str:
    """The lookup as text for a terminal."""
    code = result.code
    kinds = ", ".join(f"{n} {kind}{'s' * (n != 1)}" for kind, n in result.kinds.items())
    uses = len(result.used_by)
    out = [
        f"{code.curie}  ({code.system} {code.code})",
        f"  iri      {code.iri}",
        f"  labels   {' | '.join(map(_line, code.labels)) if code.labels else '-'}",
        f"  used by  {uses} entit{'ies' if uses != 1 else 'y'} in {result.findings} "
        f"finding{'s' * (result.findings != 1)} ({kinds})",
        "",
    ]
    scope = f"{result.to} " if result.to else ""
    if result.matches:
        out.append(f"{scope}codes on the same entities ({len(result.matches)}):")
        rows = [
            [
                m.system,
                m.curie,
                _cut(m.label or "", 40),
                str(m.entities),
                str(m.findings),
                _percent(m.share),
                m.cardinality,
                m.flag or "",
            ]
            for m in result.matches
        ]
        header = ["system", "code", "label", "entities", "findings", "share", "card.", "flag"]
        out.extend(_columns(header, rows, {3, 4, 5}))
        if any(m.flag for m in result.matches):
            out.append(
                f"  outlier: under {OUTLIER_SHARE:.0%} of a code's uses while another pairing "
                f"to the same system has {DOMINANT_SHARE:.0%} or more (a possible coding error)"
            )
    else:
        out.append(f"no {scope}codes of other systems on the same entities")
    out.append("")
    shown = result.used_by if limit == 0 else result.used_by[:limit]
    more = (
        f"first {len(shown)} of {uses}; --limit 0 or --format json for all"
        if len(shown) < uses
        else str(uses)
    )
    out.append(f"used by ({more}):")
    rows = [[u.finding, u.kind, u.entity, _cut(u.label or "", 60)] for u in shown]
    out.extend(_columns(["finding", "kind", "entity", "label"], rows, set()))
    return "\n".join(out)


def render_csv(result: LookupResult) -> str:
    """The matches as CSV (RFC 4180), one row per co-indexed code."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for m in result.matches:
        writer.writerow(
            [
                result.code.curie,
                m.system,
                m.code,
                m.curie,
                m.iri,
                m.label or "",
                m.entities,
                m.findings,
                f"{m.share:.4f}",
                m.cardinality,
                m.flag or "",
            ]
        )
    return buffer.getvalue()


@main.command("lookup")
@click.argument("code")
@click.option(
    "--to",
    metavar="SYSTEM",
    callback=_system,
    help=f"Only matches in this code system ({', '.join(default_registry().keys)}; aliases "
    "such as SNOMEDCT work too).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="table for people; json (stable shape, see the README) or csv (the matches) for scripts.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="table: how many uses to list (0: all).",
)
@store_option
@endpoint_option
@timeout_option
@handle_errors
def lookup(
    code: str,
    to: str | None,
    fmt: str,
    limit: int,
    store_path: Path | None,
    endpoint: str | None,
    timeout: float | None,
) -> None:
    """Look up a CODE: its labels in the corpus, where it is used, and the codes of other
    systems that index the same findings, attributes and values.

    CODE may be a CURIE (RADLEX:RID5791, radlex:RID5791, SNOMEDCT:263768009, sct:263768009),
    "SYSTEM code" ("SNOMED 263768009"), a FHIR system|code (http://snomed.info/sct|263768009),
    a concept IRI, or a bare code whose pattern names one system (RID5791).

    Each match is evidence, not equivalence: how many entities and findings carry both codes,
    its share of CODE's uses, the cardinality of the link (1:1, 1:n, n:1, n:m) and an outlier
    flag when the pairing is under 5% of a code's uses while another pairing to the same
    system has 50% or more.

    With --endpoint URL the lookup runs on a SPARQL 1.1 endpoint holding the store's layout
    (after 'ontomap push'), with the same answer.

    \b
    Examples:
      ontomap lookup RADLEX:RID5791 --store ./kg
      ontomap lookup RID5791 --to SNOMED --format json
      ontomap lookup "SNOMED 263768009"
      ontomap lookup 'http://snomed.info/sct|263768009' --format csv
      ontomap lookup RID5791 --endpoint http://127.0.0.1:7878/query

    \b
    Exit codes: 0 found, 2 usage error, 3 unknown, ambiguous, malformed or unused code,
    4 store or endpoint error (cannot open the store; endpoint unreachable or refusing).
    """
    try:
        with open_target(store_path, endpoint, timeout) as backend:
            result = lookup_code(backend, code, to=to)
    except CodeLookupError as exc:
        fail(str(exc), EXIT_NOT_FOUND)
        return
    if fmt == "json":
        click.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    elif fmt == "csv":
        click.echo(render_csv(result), nl=False)
    else:
        click.echo(render_table(result, limit))
