"""Options that several commands share: where the graph is (``--store``, or ``--endpoint``
with its ``--timeout``) and the backend they name (:func:`open_target`).

A module of its own, light to import: a command that only reads the graph (``ontomap lookup``)
imports neither the exporters of ``build`` nor the query machinery of ``query``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ontomap.cli import EXIT_USAGE, fail
from ontomap.store import STORE_ENV, default_store_path

if TYPE_CHECKING:
    from ontomap.backends import LocalBackend, RemoteBackend

__all__ = [
    "FORMAT_ALIASES",
    "FormatChoice",
    "endpoint_option",
    "is_device",
    "open_target",
    "store_option",
    "timeout_option",
]

#: Other names of the formats, as users type them: file extensions, spellings of other tools
#: and media types. A command accepts an alias only when it offers the format it names.
FORMAT_ALIASES: dict[str, str] = {
    "ttl": "turtle",
    "text/turtle": "turtle",
    "application/x-turtle": "turtle",
    "nt": "ntriples",
    "n-triples": "ntriples",
    "application/n-triples": "ntriples",
    "nq": "nquads",
    "n-quads": "nquads",
    "application/n-quads": "nquads",
    "application/trig": "trig",
    "json-ld": "jsonld",
    "application/ld+json": "jsonld",
    "rdf+xml": "rdfxml",
    "rdf/xml": "rdfxml",
    "application/rdf+xml": "rdfxml",
    "owl-turtle": "owl-ttl",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
    "application/sparql-results+json": "json",
    "application/json": "json",
    "application/sparql-results+xml": "xml",
    "sssom-tsv": "sssom",
}


def is_device(path: Path) -> bool:
    """Whether ``path`` is standard output (``-``) or an existing file that is not a regular
    one (``/dev/null``, a FIFO, ``/dev/stdout``): its name says nothing of a format, and it is
    written in place, not replaced."""
    import stat

    if str(path) == "-":
        return True
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


class FormatChoice(click.Choice):  # type: ignore[type-arg]
    """``--format``: one of ``choices``, also given by an alias (:data:`FORMAT_ALIASES`) or in
    another case. A value that names a file (``-f my.rq``) gets a hint, since ``-f`` is
    ``--format`` on every command."""

    def __init__(self, choices: list[str] | tuple[str, ...], file_option: str | None = None):
        super().__init__(list(choices))
        self.file_option = file_option

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> str:
        text = str(value).strip()
        name = text.lower()
        name = FORMAT_ALIASES.get(name, name)
        if name in self.choices:
            return name
        if self.file_option is not None and (Path(text).is_file() or text.endswith(".rq")):
            self.fail(
                f"{text!r} is not a format (-f is --format; read a query from a file with "
                f"{self.file_option} {text})",
                param,
                ctx,
            )
        return str(super().convert(value, param, ctx))


store_option = click.option(
    "--store",
    "store_path",
    type=click.Path(file_okay=False, path_type=Path),
    envvar=STORE_ENV,
    show_envvar=True,
    help=f"Store folder. Default: ${STORE_ENV}, else {default_store_path()}.",
)


def _endpoint(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    from ontomap.backends import endpoint_url

    if value is None:
        return None
    try:
        return endpoint_url(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


#: ``--endpoint URL``: run on a SPARQL 1.1 endpoint instead of a store.
endpoint_option = click.option(
    "--endpoint",
    metavar="URL",
    callback=_endpoint,
    help="Run on this SPARQL 1.1 query endpoint instead of a store, e.g. "
    "http://HOST:7878/query (ontomap serve, oxigraph serve --union-default-graph) after "
    "'ontomap push'. Not with --store.",
)


#: ``--timeout SECONDS``: how long an endpoint has to answer each request.
timeout_option = click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="With --endpoint: how many seconds the endpoint may take for each whole answer "
    "[default: 60].",
)


def open_target(
    store_path: Path | None, endpoint: str | None, timeout: float | None = None
) -> LocalBackend | RemoteBackend:
    """The backend the command line names: ``--endpoint`` or the store (``--store``, else
    $ONTOMAP_STORE, else the default). ``--store`` and ``--endpoint`` together are a usage
    error; a store named only by the environment gives way to ``--endpoint``. ``timeout``
    (``--timeout``) applies to an endpoint only."""
    from ontomap.backends import DEFAULT_TIMEOUT, LocalBackend, RemoteBackend

    if endpoint is not None:
        context = click.get_current_context()
        if context.get_parameter_source("store_path") == click.core.ParameterSource.COMMANDLINE:
            fail("give --store or --endpoint, not both", EXIT_USAGE)
        return RemoteBackend(endpoint, timeout=DEFAULT_TIMEOUT if timeout is None else timeout)
    if timeout is not None:
        fail("--timeout applies to --endpoint", EXIT_USAGE)
    return LocalBackend.open(store_path)
