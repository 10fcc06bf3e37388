"""``ontomap query``: SPARQL over a store or a SPARQL endpoint, free or named.

The ``--endpoint`` option it shares with ``ontomap lookup`` and ``mappings``
(:data:`~ontomap.cli.options.endpoint_option`, :func:`~ontomap.cli.options.open_target`, kept
importable from here) lives in :mod:`ontomap.cli.options`: the caller names the backend,
nothing is guessed from a string.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ontomap.cli import EXIT_INPUT_ERRORS, EXIT_USAGE, fail, handle_errors, main
from ontomap.cli.options import (
    FormatChoice,
    endpoint_option,
    open_target,
    store_option,
    terminal_width,
    timeout_option,
    verbosity_options,
)
from ontomap.query import (
    GRAPH_FORMATS,
    RESULT_FORMATS,
    AskResult,
    GraphResult,
    NamedQuery,
    QueryResult,
    SelectResult,
    format_table,
    load_query,
    named_queries,
    parse_query,
    prefixes,
    run_query,
)
from ontomap.query.safety import check_nesting

F = TypeVar("F", bound=Callable[..., Any])


def _params(values: tuple[str, ...]) -> dict[str, str]:
    params: dict[str, str] = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"expected NAME=VALUE, got {value!r}", param_hint="--param")
        params[name.strip()] = text
    return params


def _listing() -> str:
    out = ["Named queries (ontomap query --name NAME [--param NAME=VALUE ...]):", ""]
    for query in named_queries().values():
        out.append(f"  {query.name}")
        out.extend(
            textwrap.wrap(query.description, 96, initial_indent=" " * 6, subsequent_indent=" " * 6)
        )
        for param in query.params:
            how = (
                "required"
                if param.required
                else f"default {param.default}"
                if param.default is not None
                else "optional"
            )
            out.append(
                f"      --param {param.name}={param.type.upper()}  ({how}) {param.description}"
            )
        if query.example:
            out.append(f"      e.g. {query.example}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _write(data: bytes) -> None:
    stream = sys.stdout.buffer
    stream.write(data)
    if data and not data.endswith(b"\n") and sys.stdout.isatty():
        stream.write(b"\n")
    stream.flush()


@main.command("query")
@click.argument("text", metavar="[QUERY]", required=False)
@click.option(
    "--file",
    "query_file",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Read the query from a .rq file ('-' for standard input).",
)
@click.option(
    "-n",
    "--name",
    type=click.Choice(sorted(named_queries())),
    metavar="NAME",
    help=f"Run a named query: {', '.join(sorted(named_queries()))} (see --list).",
)
@click.option(
    "-p",
    "--param",
    "param_values",
    multiple=True,
    metavar="NAME=VALUE",
    help="Bind the selected variable ?NAME to VALUE (repeatable). Bound by the engine, never "
    "pasted into the query text.",
)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=FormatChoice(("table", RESULT_FORMATS, GRAPH_FORMATS), file_option="--file"),
    help="SELECT/ASK: table (default), csv, tsv, json, xml (W3C SPARQL results). "
    "CONSTRUCT/DESCRIBE: turtle (default), ntriples. Media types and short names are "
    "accepted too (application/sparql-results+json, ttl, nt).",
)
@click.option(
    "--width",
    type=click.IntRange(min=0),
    default=60,
    show_default=True,
    help="table: cut longer values to this many characters (0: never cut); an IRI no prefix "
    "fits is cut in its namespace, its last segment kept. Without it, a table wider than the "
    "terminal ($COLUMNS) gets narrower cells to fit.",
)
@click.option("--list", "list_only", is_flag=True, help="List the named queries and exit.")
@store_option
@endpoint_option
@timeout_option
@verbosity_options
@handle_errors
def query(
    text: str | None,
    query_file: Path | None,
    name: str | None,
    param_values: tuple[str, ...],
    fmt: str | None,
    width: int,
    list_only: bool,
    store_path: Path | None,
    endpoint: str | None,
    timeout: float | None,
) -> None:
    """Run a SPARQL query (SELECT, ASK, CONSTRUCT, DESCRIBE) on a store or an endpoint.

    Give the QUERY text ('-' reads it from standard input), a file (--file), or the name of
    a shipped query (--name). The default
    graph is the union of the store's graphs, and the usual prefixes are pre-declared (oifm,
    rdfs, skos, dcterms, fm for findings, radlex, sct, loinc, gamuts, radelement, icd10cm,
    scheme), so radlex:RID5791 needs no PREFIX line. The store is opened read-only: updates are
    refused (change a store with 'ontomap build').

    With --endpoint URL the same query runs on a SPARQL 1.1 endpoint holding the store's
    layout (see 'ontomap push'), with the same answers; parameters are then bound with a
    VALUES block written from RDF terms.

    --param NAME=VALUE binds the variable ?NAME, which the query must SELECT. A named query
    converts VALUE by the parameter's type (a code may be written RADLEX:RID5791, sct:…,
    "SNOMED 263768009" or as an IRI); for other queries <IRI> and prefix:local give IRIs and
    anything else a string.

    \b
    Examples:
      ontomap query --store ./kg 'SELECT ?f ?name WHERE { ?f oifm:tag "chest" ; rdfs:label ?name }'
      ontomap query --store ./kg --file my.rq -f csv
      echo 'ASK { ?s ?p ?o }' | ontomap query --store ./kg - -f json
      ontomap query --store ./kg --name findings-with-code --param code=RADLEX:RID5791
      ontomap query --store ./kg --name code-pairs --param source=RADLEX --param target=SNOMED
      ontomap query --endpoint http://127.0.0.1:7878/query --name code-systems
      ontomap query --list

    A query may nest at most 1000 levels deep (brackets, function calls and groups,
    and chains such as a || b || c, count); a deeper one is refused before it reaches
    Oxigraph, whose parser would overflow its stack on it.

    An answer the endpoint cut at its row limit (Virtuoso's ResultSetMaxRows, 10,000 by
    default; ontomap serve's --max-rows) is never taken for the whole: the rows it gave are
    written, a warning on stderr says the answer is incomplete, and the exit code is 1.

    \b
    Exit codes: 0 ok, 1 the endpoint cut the answer at its row limit (what it gave is
    written), 2 usage error (syntax error with line and column, update, bad parameter,
    query nested too deeply, query rejected by the endpoint), 3 unknown code or code system
    in a parameter, 4 store or endpoint error (cannot open the store; endpoint unreachable
    or refusing).
    """
    if list_only:
        click.echo(_listing(), nl=False)
        return
    fit = click.get_current_context().get_parameter_source("width") != (
        click.core.ParameterSource.COMMANDLINE
    )
    given = [x for x in (text, query_file, name) if x is not None]
    if len(given) != 1:
        fail("give exactly one of QUERY, --file or --name (or --list)", EXIT_USAGE)
    if name is not None:
        named: NamedQuery = named_queries()[name]
    elif query_file is not None:
        if str(query_file) == "-":
            named = parse_query(sys.stdin.read(), "stdin", "<stdin>")
        else:
            named = load_query(query_file)
    elif text == "-":
        named = parse_query(sys.stdin.read(), "stdin", "<stdin>")
    else:
        named = parse_query(text or "", "query", "<query>")
    params = _params(param_values)
    check_nesting(named.text, source=named.source)  # deeper overflows Oxigraph's stack
    from ontomap.backends import TruncatedAnswerError

    truncated: TruncatedAnswerError | None = None
    with open_target(store_path, endpoint, timeout) as backend:
        try:
            result = run_query(backend, named, params)
        except TruncatedAnswerError as exc:
            result, truncated = exc.result, exc
        prefix_map = prefixes(backend.base_iri)
    if truncated is not None:
        _output(result, fmt, width, prefix_map, fit)
        click.echo(f"ontomap: warning: {truncated}", err=True)
        sys.exit(EXIT_INPUT_ERRORS)
    _output(result, fmt, width, prefix_map, fit)


def _table(
    result: SelectResult | AskResult, prefix_map: dict[str, str], width: int, fit: bool
) -> str:
    """The table of ``result`` with values cut at ``width``; with ``fit``, narrower when that
    is wider than the terminal, so that each line fits in it."""
    text = format_table(result, prefix_map, width)
    columns = terminal_width() if fit else None
    if columns is None or isinstance(result, AskResult) or not result.variables:
        return text
    if max(map(len, text.splitlines()), default=0) <= columns:
        return text
    count = len(result.variables)
    cell = max(8, (columns - 2 * (count - 1)) // count)
    return format_table(result, prefix_map, min(cell, width) if width else cell)


def _output(
    result: QueryResult, fmt: str | None, width: int, prefix_map: dict[str, str], fit: bool
) -> None:
    """Write ``result`` in ``fmt`` (its form's default when ``None``) on standard output."""
    if isinstance(result, GraphResult):
        chosen = fmt or "turtle"
        if chosen not in GRAPH_FORMATS:
            fail(
                f"--format {chosen} is for SELECT and ASK; a CONSTRUCT or DESCRIBE result is "
                f"written as {' or '.join(GRAPH_FORMATS)}",
                EXIT_USAGE,
            )
        _write(result.serialize(chosen))
        return
    chosen = fmt or "table"
    if chosen in GRAPH_FORMATS:
        fail(
            f"--format {chosen} is for CONSTRUCT and DESCRIBE; a {result.form.upper()} result "
            f"is written as table, {', '.join(RESULT_FORMATS)}",
            EXIT_USAGE,
        )
    if chosen == "table":
        click.echo(_table(result, prefix_map, width, fit))
    else:
        _write(result.serialize(chosen))
