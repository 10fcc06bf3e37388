"""``ontomap mcp``: the crosswalk as tools for AI agents, over the Model Context Protocol."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import click

from ontomap.cli import EXIT_USAGE, fail, handle_errors, main
from ontomap.cli.options import (
    endpoint_option,
    is_quiet,
    port_option,
    run_timeout_option,
    store_option,
    verbosity_options,
)
from ontomap.mcp.tools import DEFAULT_MAX_ROWS, DEFAULT_TIMEOUT

#: Where ``--http`` listens: loopback only (the MCP endpoint has no authentication).
HTTP_HOST = "127.0.0.1"


def _port_free(port: int) -> str | None:
    """Why ``port`` cannot be listened on at :data:`HTTP_HOST` (``None``: it can)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HTTP_HOST, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


@main.command("mcp")
@store_option
@endpoint_option
@click.option(
    "--http",
    is_flag=True,
    help=f"Serve streamable HTTP on {HTTP_HOST} (at /mcp) instead of stdio.",
)
@port_option(8000, "With --http: the port.")
@run_timeout_option(
    DEFAULT_TIMEOUT,
    "How long a sparql_select query may run (its worker process is then stopped); "
    "with --endpoint, how long the endpoint may take for each answer.",
)
@click.option(
    "--max-rows",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_ROWS,
    show_default=True,
    help="The most solutions a sparql_select query computes (then given a page at a time).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 8),
    default=1,
    show_default=True,
    help="Worker processes for sparql_select on a store (started on the first query).",
)
@verbosity_options
@handle_errors
def mcp(
    store_path: Path | None,
    endpoint: str | None,
    http: bool,
    port: int,
    timeout: float,
    max_rows: int,
    workers: int,
) -> None:
    """Serve the crosswalk to AI agents over the Model Context Protocol (MCP).

    Over stdio by default (the client starts 'ontomap mcp --store DIR' and talks to it on
    stdin and stdout); with --http, streamable HTTP at http://127.0.0.1:PORT/mcp.

    \b
    Tools (each with JSON schemas for its input and structured output; every list paged
    with limit, at most 1000, and offset; each answer gives the total):
      lookup_code      a code's matches in other systems with the crosswalk's evidence
      where_used       the findings, attributes and values that use a code
      translate        a code to the codes of one target system (as FHIR $translate)
      validate_codes   syntax, check digits, corpus use, loaded releases' status
      search_findings  finding models by name, synonyms, tags or code, ranked
      get_finding      one finding model as OIFM JSON (or its source file)
      sparql_select    a read-only SELECT with the checks, timeout and row cap of 'serve'
      mapping_set      the mappings between two code systems
    Resources: ontomap://findings/{OIFM ID}, each finding model as JSON.

    Co-indexing is evidence, not equivalence: the tools say which entities, how many
    independent contexts and whether a template supports each link.

    \b
    Examples:
      ontomap mcp --store ./kg
      ontomap mcp --store ./kg --http --port 8000
      ontomap mcp --endpoint http://127.0.0.1:7878/query

    \b
    Exit codes: 0 stopped, 2 usage error (the MCP SDK missing, port taken), 4 store or
    endpoint error (cannot open the store).
    """
    from ontomap.mcp.server import build_server
    from ontomap.mcp.tools import Tools

    context = click.get_current_context()
    if endpoint is not None and (
        context.get_parameter_source("store_path") == click.core.ParameterSource.COMMANDLINE
    ):
        fail("give --store or --endpoint, not both", EXIT_USAGE)
    if not http and context.get_parameter_source("port") == click.core.ParameterSource.COMMANDLINE:
        fail("--port applies to --http", EXIT_USAGE)
    if http:
        problem = _port_free(port)
        if problem is not None:
            fail(f"cannot listen on {HTTP_HOST}:{port}: {problem}", EXIT_USAGE)
    tools = Tools(
        None if endpoint is not None else store_path,
        endpoint,
        timeout=timeout,
        sparql_timeout=timeout,
        max_rows=max_rows,
        workers=workers,
    )
    try:
        server = build_server(tools)
        if http:
            if not is_quiet():
                click.echo(f"ontomap mcp: serving on http://{HTTP_HOST}:{port}/mcp", err=True)
                sys.stderr.flush()
            server.run("streamable-http", host=HTTP_HOST, port=port)
        else:
            server.run("stdio")
    except KeyboardInterrupt:
        pass
    finally:
        tools.close()
