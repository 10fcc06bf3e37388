"""``ontomap lookup``: a code's labels, uses and cross-terminology matches with their evidence."""

from __future__ import annotations

import csv
import io
import textwrap
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import click

from ontomap.cli import EXIT_USAGE, fail, handle_errors, main
from ontomap.cli.options import (
    columns,
    cut,
    endpoint_option,
    open_target,
    store_option,
    system_key,
    table_blocks,
    terminal_width,
    timeout_option,
    verbosity_options,
)
from ontomap.crosswalk import DOMINANT_SHARE, OUTLIER_SHARE, TEMPLATE_MIN_FINDINGS, CodeUse
from ontomap.lookup import (
    DEFAULT_LIMIT,
    DescendantUse,
    LookupResult,
    Match,
    ReleaseCode,
    ReleaseStatus,
)
from ontomap.lookup import lookup as lookup_code
from ontomap.terminology import default_registry

FORMATS = ("table", "json", "csv")
#: Columns of ``--format csv``: the looked-up code, then the figures of a JSON match (the
#: contexts as text: ``kind "name" [of "attribute"] (N entities, N findings[, template][,
#: co-listed])``, separated by `` | ``).
CSV_COLUMNS = (
    "from",
    "system",
    "code",
    "curie",
    "iri",
    "label",
    "status",
    "entities",
    "findings",
    "paired_entities",
    "independent_contexts",
    "template",
    "share",
    "target_share",
    "entity_share",
    "cardinality",
    "flag",
    "predicate",
    "confidence",
    "lexical_score",
    "justification",
    "contexts",
)


def _columns(
    header: list[str],
    rows: list[list[str]],
    right: set[int],
    width: int | None,
    keep: frozenset[int] = frozenset(),
) -> list[str]:
    return columns(header, rows, right, width=width, keep=keep)


def _percent(share: float) -> str:
    return f"{share:.2%}" if 0 < share < 0.01 else f"{share:.0%}"


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


def _wrapped(text: str, indent: str, width: int | None) -> list[str]:
    return textwrap.wrap(
        text,
        min(100, width or 100),
        initial_indent=indent,
        subsequent_indent=indent + "  ",
        break_on_hyphens=False,
    )


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else many or word + 's'}"


def _predicate(match: Match) -> str:
    return match.predicate.removeprefix("skos:") if match.predicate else "-"


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _where(match: Match, width: int | None) -> list[str]:
    """One line per context of a match: where the two codes are listed together."""
    out = []
    for c in match.where:
        counts = f"{_plural(c.entities, 'entity', 'entities')} in {_plural(c.findings, 'finding')}"
        notes = [note for note, on in (("TEMPLATE", c.template), ("co-listed", not c.paired)) if on]
        extra = f"  [{', '.join(notes)}]" if notes else ""
        line = f"      in {_cut(str(c), 70)}: {counts}{extra}"
        out.append(line if width is None else cut(line, width))
    return out


def _paired_table(matches: list[Match], width: int | None) -> list[str]:
    header = ["system", "code", "label", "contexts", "template", "entities", "findings"]
    header += ["share", "ent.share", "card.", "predicate", "conf.", "lexical", "flag"]
    rows = [
        [
            m.system,
            m.curie,
            _cut(m.label or "", 28),
            str(m.contexts),
            "TEMPLATE" if m.template else "-",
            str(m.entities),
            str(m.findings),
            _percent(m.share),
            _percent(m.entity_share),
            m.cardinality or "-",
            _predicate(m),
            f"{m.confidence:.2f}",
            _score(m.lexical_score),
            m.flag or "",
        ]
        for m in matches
    ]
    right = {3, 5, 6, 7, 8, 11, 12}
    head, blocks = table_blocks(header, rows, right, width, keep=frozenset({1}))
    out = head
    for block, match in zip(blocks, matches, strict=True):
        out.extend(block)
        out.extend(_where(match, width))
    return out


def _colisted_table(matches: list[Match], width: int | None) -> list[str]:
    header = ["system", "code", "label", "lexical", "entities", "findings", "listed in"]
    rows = [
        [
            m.system,
            m.curie,
            _cut(m.label or "", 32),
            _score(m.lexical_score),
            str(m.entities),
            str(m.findings),
            "; ".join(_cut(str(c), 60) for c in m.where),
        ]
        for m in matches
    ]
    return _columns(header, rows, {3, 4, 5}, width, frozenset({1}))


def render_table(
    result: LookupResult, offset: int, limit: int | None, width: int | None = None
) -> str:
    """The lookup as text for a terminal: the code, its paired codes with their contexts, the
    co-listed codes apart (they are no mappings), and one page of its uses; lines fit in
    ``width`` characters where it is given (long cells cut with ``…``, notes wrapped)."""
    code = result.code
    kinds = ", ".join(_plural(n, kind) for kind, n in result.kinds.items())
    uses = len(result.used_by)
    out = [
        f"{code.curie}  ({code.system} {code.code})",
        f"  iri       {code.iri}",
        f"  labels    {' | '.join(map(_line, code.labels)) if code.labels else '-'}",
        f"  used by   {_plural(uses, 'entity', 'entities')} in "
        f"{_plural(result.findings, 'finding')} ({kinds})",
        f"  evidence  index code of {_plural(code.uses, 'entity', 'entities')} in "
        f"{_plural(code.contexts, 'independent context')}",
    ]
    for status in result.releases or ():
        out.extend(_release_lines(status, width))
    out.append("")
    if result.descendants is not None:
        out.extend(_descendants_table(result, width))
        out.append("")
    scope = f"{result.to} " if result.to else ""
    paired = [m for m in result.matches if m.status == "paired"]
    colisted = [m for m in result.matches if m.status != "paired"]
    if paired:
        out.extend(
            _wrapped(
                f"paired {scope}codes ({len(paired)}): on the same entities as {code.curie}; "
                "evidence for a link, not an equivalence",
                "",
                width,
            )
        )
        out.extend(_paired_table(paired, width))
    if colisted:
        if paired:
            out.append("")
        out.extend(
            _wrapped(
                f"co-listed {scope}codes ({len(colisted)}): listed on one entity with "
                f"{code.curie} among several codes of each system, and their displays do not "
                "pair them: NOT mappings",
                "",
                width,
            )
        )
        out.extend(_colisted_table(colisted, width))
    if not result.matches:
        out.append(f"no {scope}codes of other systems on the same entities")
    notes = []
    if any(m.template for m in result.matches):
        notes.append(
            f"TEMPLATE: one authoring context repeated in {TEMPLATE_MIN_FINDINGS} findings or "
            "more; its entity and finding counts are copies of one decision, not independent "
            "confirmations (count the contexts)"
        )
    if any(m.flag for m in result.matches):
        notes.append(
            f"outlier: under {OUTLIER_SHARE:.0%} of a code's uses while another pairing "
            f"to the same system has {DOMINANT_SHARE:.0%} or more (a possible coding error)"
        )
    if result.matches:
        notes.append(
            "contexts: independent authoring contexts (entity kind and name, and the "
            "attribute for a value; names normalised as the crosswalk compares them: case, "
            "punctuation, word order); share: supporting contexts / contexts of this code's "
            "uses; ent.share: supporting entities / this code's uses; conf.: supporting "
            "contexts / (contexts of the code used in more + 1)"
        )
    for note in notes:
        out.extend(_wrapped(note, "  ", width))
    retired = [
        (m, r) for m in result.matches for r in m.releases or () if not (r.found and r.active)
    ]
    if retired:
        out.append("")
        out.append("matches that a loaded release does not confirm:")
        for match, status in retired:
            out.append(f"  {match.curie}  {_release_summary(status)}")
    out.append("")
    out.extend(_uses_table(result, offset, limit, width))
    return "\n".join(out)


def _codes_text(codes: tuple[ReleaseCode, ...]) -> str:
    return "; ".join(f"{c.curie} {_line(c.preferred_term or '-')}" for c in codes)


def _release_summary(status: ReleaseStatus) -> str:
    where = f"{status.system} {status.version}"
    if not status.found:
        return f"not in {where}"
    term = f' "{_line(status.preferred_term)}"' if status.preferred_term else ""
    text = f"{status.status} in {where}{term}"
    if status.replaced_by:
        text += f", replaced by {_codes_text(status.replaced_by)}"
    return text


def _release_lines(status: ReleaseStatus, width: int | None) -> list[str]:
    """The short block of one release: status and preferred term, parents, replacements."""
    out = [f"  release   {_release_summary(status)}"]
    if status.parents:
        out.extend(_wrapped(f"parents {_codes_text(status.parents)}", "            ", width))
    return out


def _descendants_table(result: LookupResult, width: int | None) -> list[str]:
    below = result.descendants
    assert below is not None
    title = (
        f"codes under {result.code.curie} in {below.system} {below.version}: "
        f"{below.count} in the release, {len(below.codes)} used in the corpus"
        + (" (the code itself included)" if result.code.uses else "")
    )
    if not below.codes:
        return [title]
    rows = [
        [
            c.curie,
            _cut(c.preferred_term or "-", 40),
            _cut(" | ".join(c.labels) or "-", 40),
            str(c.uses),
            str(c.findings),
        ]
        for c in below.codes
    ]
    header = ["code", "preferred term", "labels in the corpus", "uses", "findings"]
    return [title + ":", *_columns(header, rows, {3, 4}, width, frozenset({0}))]


def _uses_table(
    result: LookupResult, offset: int, limit: int | None, width: int | None
) -> list[str]:
    uses = len(result.used_by)
    shown: Sequence[CodeUse | DescendantUse] = result.page(offset, limit)
    if not shown:
        where = f"none from {offset + 1}; " if uses else ""
        return [f"used by ({where}{uses} in all)"]
    first, last = offset + 1, offset + len(shown)
    if first == 1 and last == uses:
        title = f"used by ({uses}):"
    else:
        hints = []
        if last < uses:
            hints.append(f"--offset {last} for the next")
        hints.append("--all for every use")
        title = f"used by ({first}–{last} of {uses}; {', '.join(hints)}):"
    rows = [
        [u.finding, _cut(u.finding_label or "", 40), u.kind, u.entity, _cut(u.label or "", 40)]
        for u in shown
    ]
    header = ["finding", "finding name", "kind", "entity", "label"]
    if result.descendants is not None:
        header.append("code")
        for row, use in zip(rows, shown, strict=True):
            row.append(use.code if isinstance(use, DescendantUse) else result.code.curie)
    return [title, *_columns(header, rows, set(), width, frozenset({0, 3, 5}))]


def _context_text(match: Match) -> str:
    parts = []
    for c in match.where:
        notes = [_plural(c.entities, "entity", "entities"), _plural(c.findings, "finding")]
        if c.template:
            notes.append("template")
        if not c.paired:
            notes.append("co-listed")
        parts.append(f"{c} ({', '.join(notes)})")
    return " | ".join(parts)


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def render_csv(result: LookupResult) -> str:
    """The matches as CSV (RFC 4180), one row per code on the same entities."""
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
                m.status,
                m.entities,
                m.findings,
                m.paired_entities,
                m.contexts,
                "true" if m.template else "false",
                _number(m.share),
                _number(m.target_share),
                _number(m.entity_share),
                m.cardinality or "",
                m.flag or "",
                m.predicate or "",
                _number(m.confidence),
                _number(m.lexical_score),
                m.justification or "",
                _context_text(m),
            ]
        )
    return buffer.getvalue()


@main.command("lookup")
@click.argument("code")
@click.option(
    "--to",
    metavar="SYSTEM",
    callback=system_key,
    help=f"Only matches in this code system ({', '.join(default_registry().keys)}; aliases "
    "such as SNOMEDCT work too).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="table for people; json (versioned shape, see the README; what /lookup answers) or "
    "csv (the matches) for scripts.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=DEFAULT_LIMIT,
    show_default=True,
    help="table and json: how many uses to list (one page).",
)
@click.option(
    "--offset",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="table and json: the first use listed (0-based; --offset 50 is the second page).",
)
@click.option(
    "--all", "every", is_flag=True, help="table and json: list every use (not with --limit)."
)
@click.option(
    "--descendants",
    is_flag=True,
    help="Also the codes under CODE (transitive is-a in the latest loaded release of its "
    "system, see 'ontomap terminology load') that the corpus uses, and their uses; needs "
    "--store and a release of CODE's system.",
)
@store_option
@endpoint_option
@timeout_option
@verbosity_options
@handle_errors
def lookup(
    code: str,
    to: str | None,
    fmt: str,
    limit: int,
    offset: int,
    every: bool,
    descendants: bool,
    store_path: Path | None,
    endpoint: str | None,
    timeout: float | None,
) -> None:
    """Look up a CODE: its labels in the corpus, where it is used, and the codes of other
    systems listed on the same findings, attributes and values, with the evidence.

    CODE may be a CURIE (RADLEX:RID5791, radlex:RID5791, SNOMEDCT:263768009, sct:263768009),
    "SYSTEM code" ("SNOMED 263768009"), a FHIR system|code (http://snomed.info/sct|263768009),
    a concept IRI, or a bare code whose pattern names one system (RID5791).

    Each match is evidence, not equivalence. A "paired" code is listed on the same entities
    and, where an entity lists several codes of each system, matched by its display; a
    "co-listed" one only shares an entity with CODE among several codes of each system, and
    is no mapping. For each: the independent authoring contexts (entity kind and name, and the
    attribute for a value) that support it, each marked TEMPLATE when repeated in 10 findings
    or more (its counts are then copies of one decision); entities and findings; the share of
    CODE's contexts (and of its uses); cardinality; an outlier flag; the SKOS predicate the
    evidence supports (closeMatch or relatedMatch, never exactMatch); confidence; the lexical
    score of the displays. The uses are listed a page at a time, each with its finding's name.

    Where the store holds terminology releases ('ontomap terminology load'), each loaded
    release of CODE's system says what it knows of CODE: its status, preferred term, direct
    parents and replacements (JSON: "releases", also on each match). With --descendants the
    codes under CODE in the latest release of its system that the corpus uses are looked up
    too: their list, and the uses of all of them a page at a time (CODE itself need not be
    used).

    With --endpoint URL the lookup runs on a SPARQL 1.1 endpoint holding the store's layout
    (after 'ontomap push'), with the same answer, but without the releases' block (read from
    a local store only) and without --descendants.

    \b
    Examples:
      ontomap lookup RADLEX:RID5791 --store ./kg
      ontomap lookup RID5791 --to SNOMED --format json
      ontomap lookup RID5791 --format json --offset 50 --limit 50   # the second page of uses
      ontomap lookup RID5791 --all                                  # every use
      ontomap lookup sct:404684003 --descendants --store ./kg       # codes under it too
      ontomap lookup "SNOMED 263768009"
      ontomap lookup 'http://snomed.info/sct|263768009' --format csv
      ontomap lookup RID5791 --endpoint http://127.0.0.1:7878/query

    \b
    Exit codes: 0 found, 2 usage error, 3 unknown, ambiguous, malformed or unused code
    (or --descendants without a release of its system), 4 store or endpoint error (cannot
    open the store; endpoint unreachable or refusing).
    """
    if every and click.get_current_context().get_parameter_source("limit") == (
        click.core.ParameterSource.COMMANDLINE
    ):
        fail("give --all or --limit, not both", EXIT_USAGE)
    page_limit = None if every else limit
    with open_target(store_path, endpoint, timeout) as backend:
        result = lookup_code(backend, code, to=to, descendants=descendants)
    if fmt == "json":
        click.echo(result.dumps(offset, page_limit), nl=False)
    elif fmt == "csv":
        click.echo(render_csv(result), nl=False)
    else:
        click.echo(render_table(result, offset, page_limit, terminal_width()))
