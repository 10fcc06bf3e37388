"""``ontomap serve``: a SPARQL endpoint, lookup API and HTML page over a store."""

from __future__ import annotations

import errno
import re
from pathlib import Path
from typing import Any

import click

from ontomap.cli import EXIT_USAGE, fail, handle_errors, main
from ontomap.cli.build import store_option
from ontomap.cli.options import is_quiet, is_verbose, plural, verbosity_options
from ontomap.errors import StoreError

#: Environment variable holding the update token (safer than --token on a shared machine).
TOKEN_ENV = "ONTOMAP_TOKEN"
#: Multipliers of the size suffixes (binary: 1K = 1024 bytes).
SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
#: The defaults of --max-query-size and --worker-memory: ``MAX_QUERY_BYTES`` of
#: :mod:`ontomap.server.app` and ``DEFAULT_MEMORY_LIMIT`` of :mod:`ontomap.server.workers`
#: (written out here so that the command line loads no server code until it serves).
DEFAULT_QUERY_SIZE = "8M"
DEFAULT_WORKER_MEMORY = "1G"


class Size(click.ParamType):
    """A size in bytes written ``512M``, ``2G``, ``64K`` or ``1048576`` (binary units; a
    trailing ``B`` or ``iB`` is allowed); ``none`` when ``allow_none``."""

    name = "size"

    def __init__(self, allow_none: bool = False) -> None:
        self.allow_none = allow_none

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int) or value is None:
            return value
        text = str(value).strip()
        if self.allow_none and text.lower() == "none":
            return None
        match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)(?:I?B)?", text, re.IGNORECASE)
        if match is None:
            self.fail(f"{value!r} is not a size such as 512M, 2G or 1048576", param, ctx)
        number, unit = match.groups()
        return int(float(number) * SIZE_UNITS[unit.upper()])


def format_size(value: int | None) -> str:
    """``value`` bytes as ``ontomap serve`` writes sizes (``8M``, ``1G``, ``1536K``)."""
    if value is None:
        return "no limit"
    for unit in ("T", "G", "M", "K"):
        if value and value % SIZE_UNITS[unit] == 0:
            return f"{value // SIZE_UNITS[unit]}{unit}"
    return f"{value} bytes"


@main.command("serve")
@store_option
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. The default answers this machine only; 0.0.0.0 opens the "
    "server to the network.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=7878,
    show_default=True,
    help="Port to listen on (0: any free port; the URL printed says which).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds a query or lookup may run; after that its worker is stopped and the client "
    "gets 503.",
)
@click.option(
    "--max-rows",
    type=click.IntRange(min=1),
    default=100_000,
    show_default=True,
    help="Most rows (SELECT) or triples (CONSTRUCT) in an answer; longer answers are cut and "
    "carry the header X-Ontomap-Truncated: true.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Query worker processes. Default: two per CPU, at most 8.",
)
@click.option(
    "--allow-update",
    is_flag=True,
    help="Accept SPARQL Update on /update from clients sending 'Authorization: Bearer TOKEN'.",
)
@click.option(
    "--token",
    envvar=TOKEN_ENV,
    show_envvar=True,
    help="The update token (needed by --allow-update; prefer the environment variable).",
)
@click.option(
    "--allowed-host",
    "allowed_hosts",
    multiple=True,
    metavar="NAME",
    help="Also answer requests addressed to this host name (repeatable). A server on "
    "loopback answers only Host: localhost, 127.0.0.1 and [::1], and 421 to other names, so "
    "that a web page cannot reach it through a DNS name of its own (DNS rebinding); give the "
    "names it is reached by (a proxy, a hosts-file alias). On another --host, giving one "
    "turns the same check on.",
)
@click.option(
    "--max-query-size",
    type=Size(),
    default=DEFAULT_QUERY_SIZE,
    show_default=True,
    metavar="SIZE",
    help="Largest query body accepted (413 beyond), e.g. 512K or 8M. Every query is read "
    "by a SPARQL parser before it runs, within --timeout, at 0.3 to 0.5 ms per term (a VALUES "
    "block of 20,000 terms: about 10 s).",
)
@click.option(
    "--worker-memory",
    type=Size(allow_none=True),
    default=DEFAULT_WORKER_MEMORY,
    show_default=True,
    metavar="SIZE",
    help="Private memory each query worker may use, e.g. 512M or 2G ('none': no limit); a "
    "query that needs more is stopped and answers 507.",
)
@click.option(
    "--cors",
    "cors",
    multiple=True,
    metavar="ORIGIN",
    help="Let web pages of this origin (e.g. https://app.example.org; '*' for any) read the "
    "answers (CORS; repeatable). Off by default: other sites' pages cannot read them.",
)
@click.option(
    "--access-log",
    is_flag=True,
    help="Print one line per request on stderr (as -v does).",
)
@verbosity_options
@handle_errors
def serve(
    store_path: Path | None,
    host: str,
    port: int,
    timeout: float,
    max_rows: int,
    workers: int | None,
    allow_update: bool,
    token: str | None,
    allowed_hosts: tuple[str, ...],
    max_query_size: int,
    worker_memory: int | None,
    cors: tuple[str, ...],
    access_log: bool,
) -> None:
    """Serve a store over HTTP: SPARQL endpoint, code lookup API and an HTML page.

    \b
    Routes (the SPARQL paths are those of Oxigraph server):
      /          HTML page: type a code, see its crosswalk and uses; run a query
      /query     SPARQL 1.1 Protocol (GET or POST); JSON, XML, CSV, TSV results,
                 Turtle, N-Triples, JSON-LD, RDF/XML, N-Quads, TriG graphs, by
                 Accept header or format= (also output=, results=)
      /store     Graph Store Protocol, read side: ?graph=IRI or ?default
      /lookup    ?code=RADLEX:RID5791[&to=SNOMED][&offset=0][&limit=50]: the JSON of
                 'ontomap lookup --format json' (uses paged, at most 1000 a page)
      /update    SPARQL Update, only with --allow-update and the bearer token (else 403)

    Queries see as default graph the union of the models' graphs, the codes and the loaded
    terminology releases (not the bookkeeping graphs _meta and _crosswalk, which GRAPH
    reaches), with the usual prefixes pre-declared; relative IRIs are resolved against
    the endpoint's URL. Each runs in a worker process: after --timeout seconds the worker is
    stopped, the client gets 503 and the server goes on serving. Ctrl-C or SIGTERM stops
    the server cleanly.

    Every query is first read by a SPARQL 1.1 parser (rdflib's), within --timeout, and
    refused with 400 if it would make the server call another server (SERVICE, however
    written and wherever placed), if it nests deeper than 1000 levels (brackets, function
    calls, groups, chains such as a || b || c), or if that parser cannot read it; updates
    are refused with 403 (they go to /update). A request addressed to a host name other
    than localhost, 127.0.0.1 or [::1] answers 421 unless --allowed-host names it (DNS
    rebinding). A body needs a Content-Length and must keep arriving: 400 after 5 s
    without data.

    \b
    Examples:
      ontomap serve --store ./kg
      ontomap serve --store ./kg --port 8080 --timeout 30 --max-rows 10000
      ONTOMAP_TOKEN=s3cret ontomap serve --store ./kg --allow-update
      ontomap serve --store ./kg --allowed-host kg.internal --worker-memory 2G
      ontomap serve --store ./kg --cors https://app.example.org -v
      curl -H 'Accept: text/csv' --data-urlencode 'query=SELECT * { ?s ?p ?o } LIMIT 3' \\
           http://127.0.0.1:7878/query
      curl 'http://127.0.0.1:7878/lookup?code=RID5791&to=SNOMED'

    \b
    Exit codes: 0 stopped by Ctrl-C or SIGTERM, 2 usage error (bad option, port taken),
    4 store error (no store, cannot open it).
    """
    from ontomap.server import Server, ServerConfig, default_workers
    from ontomap.store import default_store_path, is_store

    try:
        config = ServerConfig(
            store=store_path or default_store_path(),
            host=host,
            port=port,
            timeout=timeout,
            max_rows=max_rows,
            workers=workers or default_workers(),
            allow_update=allow_update,
            token=token if allow_update else None,
            access_log=(access_log or is_verbose()) and not is_quiet(),
            allowed_hosts=allowed_hosts,
            max_query_bytes=max_query_size,
            worker_memory=worker_memory,
            cors=cors,
        )
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)
        return
    if not is_store(config.store):
        raise StoreError(
            f"no store at {config.store}; create one with "
            f"'ontomap build SOURCES --store {config.store}'"
        )
    server = Server(config, log=lambda message: click.echo(f"ontomap serve: {message}", err=True))
    try:
        server.start()
    except OSError as exc:
        reason = "the port is taken" if exc.errno == errno.EADDRINUSE else exc.strerror or exc
        fail(f"cannot listen on {host}:{port}: {reason}; choose another --port", EXIT_USAGE)
        return
    mode = "read-write (updates with the token)" if allow_update else "read-only"
    try:
        worker_count = plural(config.workers, "worker")
        click.echo(
            f"ontomap serve: {server.url}  (store {config.store}, {worker_count}, "
            f"timeout {config.timeout:g} s, max {config.max_rows} rows, {mode})"
        )
        if not server.loopback:
            click.echo(
                f"ontomap serve: warning: listening on {host}, reachable from other machines",
                err=True,
            )
        if not is_quiet():
            click.echo("ontomap serve: press Ctrl-C to stop", err=True)
        server.serve_forever()
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM before serving began
        server.close()
    if not is_quiet():
        click.echo("ontomap serve: stopped", err=True)
