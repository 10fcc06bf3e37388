"""The ``ontomap`` command line: a thin shell over the Python API.

Exit codes (scripts rely on them):

  0  everything worked
  1  some inputs failed (the others were converted; a SOURCE that does not exist is such an
     input); or problems were found
  2  usage error (bad option, unknown format, bad query syntax, missing tool)
  3  not found (an unknown or malformed code, a model that is not in the store)
  4  store or endpoint error (cannot open, locked, another base IRI; endpoint unreachable)
130  interrupted (Ctrl-C); a store or output being written is left as it was

They are :class:`ontomap.errors.ExitCode`; each error class carries its own
(``OntomapError.exit_code``) and :func:`handle_errors` alone turns an error into its message
and code.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from ontomap import __version__
from ontomap.errors import ExitCode, OntomapError

EXIT_OK = ExitCode.OK
EXIT_INPUT_ERRORS = ExitCode.INPUT_ERRORS
EXIT_USAGE = ExitCode.USAGE
EXIT_NOT_FOUND = ExitCode.NOT_FOUND
EXIT_STORE = ExitCode.STORE
EXIT_INTERRUPTED = ExitCode.INTERRUPTED

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int) -> None:
    """Print ``ontomap: error: message`` on stderr and exit with ``code``."""
    click.echo(f"ontomap: error: {message}", err=True)
    sys.exit(code)


def handle_errors(func: F) -> F:
    """Turn ontomap's exceptions into a one-line message and the exit code their class
    carries (:attr:`~ontomap.errors.OntomapError.exit_code`): the one place that does."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except OntomapError as exc:
            fail(str(exc), exc.exit_code)
        except BrokenPipeError:
            sys.exit(EXIT_OK)
        except KeyboardInterrupt:
            # What a command leaves is its own to say (build: the store as it was; a file
            # written with -o: never half of one, see ontomap.atomic); here, only that it stopped.
            fail("interrupted", EXIT_INTERRUPTED)

    return wrapper  # type: ignore[return-value]


CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

#: The module that defines each command (and registers it on :data:`main` when imported).
COMMAND_MODULES = {
    "build": "ontomap.cli.build",
    "diff": "ontomap.cli.diff",
    "export": "ontomap.cli.build",
    "lookup": "ontomap.cli.lookup",
    "mappings": "ontomap.cli.mappings",
    "mcp": "ontomap.cli.mcp",
    "push": "ontomap.cli.push",
    "query": "ontomap.cli.query",
    "reason": "ontomap.cli.reason",
    "serve": "ontomap.cli.serve",
    "terminology": "ontomap.cli.terminology",
    "translate": "ontomap.cli.translate",
    "validate": "ontomap.cli.validate",
}


class LazyGroup(click.Group):
    """A group whose commands are imported when they are used (:data:`COMMAND_MODULES`): a
    command starts without importing what the others need (``ontomap lookup`` then imports no
    exporter, validator or server)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMAND_MODULES})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            importlib.import_module(COMMAND_MODULES[cmd_name])
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        # Ctrl-C while a command's modules are imported, or in a command without a handler of
        # its own, ends like one that has: one line and 130, not click's "Aborted!" and 1.
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            fail("interrupted", EXIT_INTERRUPTED)


@click.group(cls=LazyGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="ontomap")
def main() -> None:
    """ontomap: radiology finding models (OIFM) as one RDF knowledge graph.

    Read finding models (OIFM JSON *.fm.json or their Markdown rendering *.md), convert them to
    RDF, keep them in an on-disk store, export Turtle, N-Triples, JSON-LD or OWL, query them
    with SPARQL, look codes up across terminologies, write mapping sets, validate a corpus, and
    serve the graph over HTTP.

    \b
    Typical use:
      ontomap build --examples --store ./kg       the examples that ship with ontomap
      ontomap build defs/ more.md --store ./kg    read, convert, load into a store
      ontomap export defs/ -o findings.ttl        convert straight to a file
      ontomap export --store ./kg -o findings.nt  export what a store holds

    Every command but serve takes -q (errors only: no progress, warnings or summary on
    standard error) and -v (more there: a line per file read, progress also when standard
    error is not a terminal, and the command's time).

    \b
    Exit codes: 0 ok, 1 some inputs failed (the rest converted; a missing SOURCE is one),
    2 usage error, 3 not found, 4 store or endpoint error, 130 interrupted (nothing
    half-written).

    Code systems beyond the shipped ones are named in ~/.config/ontomap/terminologies.toml
    (or the file $ONTOMAP_REGISTRY names); see docs/terminologies.md.
    """
    from ontomap.errors import RegistryError
    from ontomap.terminology import default_registry, user_registry_path

    if user_registry_path() is not None:  # a broken user registry stops every command here
        try:
            default_registry()
        except RegistryError as exc:
            fail(str(exc), EXIT_USAGE)
