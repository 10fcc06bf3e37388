"""``ontomap push``: upload the knowledge graph to a SPARQL 1.1 Update endpoint.

Importing this module also registers ``ontomap serve`` (:mod:`ontomap.cli.serve`), so that
the CLI's package needs one import line for both server commands.
"""

from __future__ import annotations

import time
from pathlib import Path

import click
import pyoxigraph as ox

from ontomap.cli import EXIT_INPUT_ERRORS, EXIT_USAGE, fail, handle_errors, main
from ontomap.cli.build import (
    base_option,
    diagnostics_json,
    json_option,
    print_diagnostics,
    print_summary,
    read_json,
    store_option,
)
from ontomap.cli.options import is_quiet, plural, progress_enabled, verbosity_options
from ontomap.cli.serve import TOKEN_ENV  # also registers `serve`


def _url(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    from ontomap.backends import endpoint_url

    try:
        return endpoint_url(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _token(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    from ontomap.backends import check_token

    if value is not None:
        try:
            check_token(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
    return value


def _graph(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return ox.NamedNode(value).value
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an IRI") from None


@main.command("push")
@click.argument("sources", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--endpoint",
    required=True,
    callback=_url,
    metavar="URL",
    help="The SPARQL 1.1 Update endpoint, e.g. http://HOST:7878/update (Oxigraph, ontomap "
    "serve) or http://HOST:3030/DATASET/update (Fuseki).",
)
@click.option(
    "--graph",
    metavar="IRI",
    callback=_graph,
    help="Put everything (models and codes, no bookkeeping) in this one named graph, "
    "replacing it. Default: the store's own layout, one graph per model, which "
    "'ontomap lookup --endpoint' needs.",
)
@store_option
@base_option
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=50_000,
    show_default=True,
    help="Triples per request at most. Requests the endpoint refuses as too large are sent "
    "again in halves, down to 100 triples.",
)
@click.option(
    "--atomic",
    is_flag=True,
    help="Stage every graph first and swap them all in with one last update, so the whole "
    "dataset changes at once (slower: the server copies each triple twice).",
)
@click.option(
    "--token",
    envvar=TOKEN_ENV,
    callback=_token,
    show_envvar=True,
    help="Sent as 'Authorization: Bearer TOKEN' (prefer the environment variable).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=300.0,
    show_default=True,
    help="Seconds to wait for each request.",
)
@verbosity_options
@json_option
@handle_errors
def push(
    sources: tuple[Path, ...],
    endpoint: str,
    graph: str | None,
    store_path: Path | None,
    base_iri: str | None,
    batch_size: int,
    atomic: bool,
    token: str | None,
    timeout: float,
    as_json: bool,
) -> None:
    """Upload the knowledge graph of a store (or of SOURCES) to a SPARQL endpoint.

    The triples go up in batches of SPARQL Update requests. On servers that run an update
    request as one transaction (Oxigraph, Fuseki, GraphDB) each graph is replaced atomically:
    readers see its old triples or its new ones, never a mix (a graph larger than a batch is
    staged in a temporary graph and MOVEd in place). With --atomic the whole dataset changes
    at once.

    By default the store's layout is kept (a graph per model, the codes and bookkeeping
    graphs), and the server's ontomap graphs become exactly the store's. Queries and lookups
    with --endpoint then answer as they do on the store, given a server whose default graph
    is the union of its graphs (oxigraph serve --union-default-graph; Virtuoso's is). Each
    engine's settings: docs/engines.md.

    \b
    Examples:
      ontomap push --store ./kg --endpoint http://127.0.0.1:7878/update
      ontomap push defs/ --endpoint http://127.0.0.1:7878/update
      ontomap push --store ./kg --endpoint http://127.0.0.1:8890/sparql --batch-size 3000
      ontomap push --store ./kg --endpoint http://fuseki:3030/kg/update \\
                   --graph https://example.org/graph/findings
      ONTOMAP_TOKEN=s3cret ontomap push --store ./kg --endpoint http://host:7878/update

    \b
    Exit codes: 0 pushed, 1 some SOURCES failed to read (nothing pushed), 2 usage error or
    the endpoint rejected an update, 4 store or endpoint error (unreachable, refused).
    """
    from ontomap.progress import Activity, Progress
    from ontomap.push import PushSummary, staged_store
    from ontomap.push import push as push_graph
    from ontomap.readers import read_models
    from ontomap.store import Store

    quiet = is_quiet()
    if sources and store_path is not None and _given(click.get_current_context(), "store_path"):
        fail("give SOURCES or --store, not both", EXIT_USAGE)
    if base_iri is not None and not sources:
        fail("--base-iri applies to SOURCES; a store keeps the base it was built with", EXIT_USAGE)
    if base_iri is not None:
        from ontomap.graph import check_base_iri

        try:
            check_base_iri(base_iri)
        except ValueError as exc:
            fail(str(exc), EXIT_USAGE)
    started = time.perf_counter()
    report = None
    progress = Progress("pushing triples", enabled=progress_enabled())

    def show(sent: int, total: int) -> None:
        progress.total = total
        progress.advance(sent - progress.done)

    def push(store: Store) -> PushSummary:
        return push_graph(
            store,
            endpoint,
            graph=graph,
            batch_size=batch_size,
            atomic=atomic,
            token=token,
            timeout=timeout,
            progress=show,
        )

    try:
        if sources:
            with Activity("reading SOURCES", enabled=progress_enabled()):
                report = read_models(list(sources))
            print_diagnostics(report, quiet)
            if not report.ok:
                fail("some SOURCES could not be read; nothing was pushed", EXIT_INPUT_ERRORS)
            with staged_store(report.models, base_iri) as store:
                summary = push(store)
            what = f"{plural(len(report.models), 'model')} from SOURCES"
        else:
            with Store(store_path, read_only=True) as store:
                summary = push(store)
                what = f"{plural(len(store.model_ids()), 'model')} from {store.path}"
    finally:
        progress.close()
    if as_json:
        print_summary(
            "push",
            True,
            started,
            read=read_json(report),
            diagnostics=diagnostics_json(report),
            endpoint=endpoint,
            graph=graph,
            graphs=summary.graphs,
            triples=summary.triples,
            requests=summary.requests,
            batch_size=summary.batch_size,
            refused=summary.refused,
            cleanup=summary.cleanup,
        )
    elif not quiet:
        where = f"graph <{graph}>" if graph else plural(summary.graphs, "graph")
        click.echo(
            f"pushed {what} to {endpoint}: {plural(summary.triples, 'triple')} in {where}, "
            f"{plural(summary.requests, 'request')}, {summary.seconds:.2f} s"
        )
        if summary.refused:
            click.echo(
                f"the endpoint refused {plural(summary.refused, 'request')} as too large: "
                "batches went "
                f"down from {batch_size} to {summary.batch_size} triples "
                f"(give --batch-size {summary.batch_size} next time)"
            )
        if summary.cleanup == "listed":
            click.echo(
                "the endpoint refused the clean-up naming every pushed graph: they were listed "
                "in a temporary graph for it instead"
            )


def _given(ctx: click.Context, name: str) -> bool:
    """Whether option ``name`` was given on the command line (not taken from the environment)."""
    return ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE
