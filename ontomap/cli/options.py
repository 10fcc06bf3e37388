"""Options that several commands share: where the graph is (``--store``, or ``--endpoint``
with its ``--timeout``) and the backend they name (:func:`open_target`); how much a command
says (``-q``/``-v``, :func:`verbosity_options`); counts and tables in words and widths people
read (:func:`plural`, :func:`terminal_width`).

A module of its own, light to import: a command that only reads the graph (``ontomap lookup``)
imports neither the exporters of ``build`` nor the query machinery of ``query``.
"""

from __future__ import annotations

import enum
import sys
import time
from collections.abc import Callable, Sequence
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ontomap.cli import EXIT_INTERRUPTED, EXIT_USAGE, fail
from ontomap.formats import FormatRegistry
from ontomap.store import STORE_ENV, default_store_path

if TYPE_CHECKING:
    from ontomap.backends import LocalBackend, RemoteBackend

F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "FormatChoice",
    "Verbosity",
    "columns",
    "cut",
    "endpoint_option",
    "is_device",
    "is_quiet",
    "is_verbose",
    "open_target",
    "plural",
    "progress_enabled",
    "store_option",
    "table_blocks",
    "terminal_width",
    "timeout_option",
    "verbosity",
    "verbosity_options",
]


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
    """``--format``: one of ``choices`` (listed in their order, or sorted with ``sort``), in
    any case. A choice is a name or a :class:`~ontomap.formats.FormatRegistry`, which gives its
    names in order and also takes their other spellings (aliases such as ``ttl``, media types
    such as ``text/turtle``). A value that names a file (``-f my.rq``) gets a hint, since
    ``-f`` is ``--format`` on every command."""

    def __init__(
        self,
        choices: FormatRegistry[Any] | Sequence[str | FormatRegistry[Any]],
        file_option: str | None = None,
        *,
        sort: bool = False,
    ):
        parts = [choices] if isinstance(choices, FormatRegistry) else list(choices)
        self.registries = tuple(p for p in parts if isinstance(p, FormatRegistry))
        names = [n for p in parts for n in (p.names() if isinstance(p, FormatRegistry) else (p,))]
        super().__init__(sorted(names) if sort else names)
        self.file_option = file_option

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> str:
        text = str(value).strip()
        name = text.lower()
        if name in self.choices:
            return name
        for registry in self.registries:
            found = registry.find(name)
            if found is not None:
                return found.name
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


def port_option(default: int, help: str, *, any_port: bool = False) -> Callable[[F], F]:
    """The ``--port`` option of a command that listens (``serve``, ``mcp --http``); with
    ``any_port``, 0 asks for any free port."""
    return click.option(
        "--port",
        type=click.IntRange(0 if any_port else 1, 65535),
        default=default,
        show_default=True,
        help=help,
    )


def run_timeout_option(default: float, help: str) -> Callable[[F], F]:
    """The ``--timeout`` option of a command that runs queries in worker processes (``serve``,
    ``mcp``): seconds a query may run before its worker is stopped."""
    return click.option(
        "--timeout",
        type=click.FloatRange(min=0, min_open=True),
        default=default,
        show_default=True,
        metavar="SECONDS",
        help=help,
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


# ------------------------------------------------------------------ -q / -v

#: Where the verbosity of the running command is kept (``ctx.meta``).
_VERBOSITY_KEY = "ontomap.verbosity"


class Verbosity(enum.IntEnum):
    """How much a command says on standard error besides its errors: ``-q`` (errors only),
    the default (warnings, progress on a terminal, a summary), ``-v`` (also per-file lines,
    progress off a terminal and timings)."""

    QUIET = -1
    NORMAL = 0
    VERBOSE = 1


def verbosity() -> Verbosity:
    """The verbosity ``-q``/``-v`` set for the running command (NORMAL outside one)."""
    context = click.get_current_context(silent=True)
    while context is not None:
        if _VERBOSITY_KEY in context.meta:
            return Verbosity(context.meta[_VERBOSITY_KEY])
        context = context.parent
    return Verbosity.NORMAL


def is_quiet() -> bool:
    """Whether ``-q`` was given."""
    return verbosity() is Verbosity.QUIET


def is_verbose() -> bool:
    """Whether ``-v`` was given."""
    return verbosity() is Verbosity.VERBOSE


def progress_enabled() -> bool | None:
    """The ``enabled`` of a :class:`~ontomap.progress.Progress`: never with ``-q``, always
    with ``-v``, else on a terminal only (``None``)."""
    level = verbosity()
    return False if level is Verbosity.QUIET else True if level is Verbosity.VERBOSE else None


def _set_verbosity(level: Verbosity) -> Callable[[click.Context, click.Parameter, bool], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        if not value:
            return
        if ctx.meta.get(_VERBOSITY_KEY, level) != level:
            raise click.UsageError("give -q or -v, not both", ctx)
        ctx.meta[_VERBOSITY_KEY] = level

    return callback


def _command_name(ctx: click.Context) -> str:
    names = []
    while ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(["ontomap", *reversed(names)])


def verbosity_options(func: F) -> F:
    """``-q/--quiet`` and ``-v/--verbose``, read with :func:`verbosity`. With ``-v`` the
    command ends by printing how long it took on standard error (not after Ctrl-C)."""

    @wraps(func)
    def timed(*args: Any, **kwargs: Any) -> Any:
        if not is_verbose():
            return func(*args, **kwargs)
        started = time.perf_counter()
        try:
            result = func(*args, **kwargs)
        except SystemExit as exc:
            if exc.code != EXIT_INTERRUPTED:
                _timing(started, exc.code)
            raise
        _timing(started, 0)
        return result

    quiet = click.option(
        "-q",
        "--quiet",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_set_verbosity(Verbosity.QUIET),
        help="Print errors only: no progress, warnings or summary.",
    )
    verbose = click.option(
        "-v",
        "--verbose",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_set_verbosity(Verbosity.VERBOSE),
        help="Say more on standard error: progress even when it is not a terminal, "
        "per-file lines, timings.",
    )
    return quiet(verbose(timed))  # type: ignore[return-value]


def _timing(started: float, code: object) -> None:
    context = click.get_current_context()
    status = "" if code in (0, None) else f", exit {code}"
    click.echo(f"{_command_name(context)}: {time.perf_counter() - started:.2f} s{status}", err=True)


# ------------------------------------------------------------------ text


def plural(n: int, word: str, many: str | None = None) -> str:
    """``n`` and ``word`` in the number ``n`` calls for: ``1 model``, ``2 models``, ``1,204
    entities`` (``many``: the plural when it is not ``word`` + s)."""
    return f"{n:,} {word if n == 1 else many or word + 's'}"


def terminal_width() -> int | None:
    """How wide tables may be: $COLUMNS when set, else the width of the terminal standard
    output is, else ``None`` (no limit: a file or a pipe gets whole cells)."""
    import os
    import shutil

    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None


def cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters, ending in ``…`` when it was longer."""
    if len(text) <= width:
        return text
    return text[: max(width - 1, 0)] + "…"


#: A column a table shrinks to fit a terminal keeps at least this many characters.
MIN_COLUMN_WIDTH = 8


def columns(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    right: set[int],
    width: int | None = None,
    indent: str = "  ",
    rule: bool = True,
    keep: frozenset[int] = frozenset(),
) -> list[str]:
    """A table as lines: see :func:`table_blocks`."""
    head, blocks = table_blocks(header, rows, right, width, indent, rule, keep)
    return [*head, *(line for block in blocks for line in block)]


def table_blocks(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    right: set[int],
    width: int | None = None,
    indent: str = "  ",
    rule: bool = True,
    keep: frozenset[int] = frozenset(),
) -> tuple[list[str], list[list[str]]]:
    """A table as its heading lines and the lines of each row: the header, a rule of dashes
    (``rule``), then one line per row; the columns in ``right`` right-aligned (numbers).

    Given a ``width`` (:func:`terminal_width`), the widest text columns are narrowed, their
    cells cut with ``…``, down to :data:`MIN_COLUMN_WIDTH` (numbers and the columns in
    ``keep``, identifiers, are never cut). A table
    that is still too wide is written as records instead: no heading, and each row as one
    ``name  value`` line per column, the records apart by a blank line."""
    natural = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]
    widths = list(natural)
    if width is not None:
        excess = len(indent) + sum(widths) + 2 * (len(widths) - 1) - width
        floor = [min(n, MIN_COLUMN_WIDTH) for n in natural]
        while excess > 0:
            narrowable = [
                i
                for i in range(len(widths))
                if i not in right and i not in keep and widths[i] > floor[i]
            ]
            if not narrowable:
                return [], _records(header, rows, width, indent)
            widest = max(narrowable, key=lambda i: widths[i])
            widths[widest] -= 1
            excess -= 1

    def line(values: Sequence[str]) -> str:
        cells = [
            cut(value, widths[i]).rjust(widths[i])
            if i in right
            else cut(value, widths[i]).ljust(widths[i])
            for i, value in enumerate(values)
        ]
        return indent + "  ".join(cells).rstrip()

    head = [line(header)]
    if rule:
        head.append(indent + "  ".join("-" * w for w in widths))
    return head, [[line(row)] for row in rows]


def _records(
    header: Sequence[str], rows: Sequence[Sequence[str]], width: int, indent: str
) -> list[list[str]]:
    name_width = max(map(len, header), default=0)
    room = max(width - len(indent) - name_width - 2, MIN_COLUMN_WIDTH)
    blocks = []
    for n, row in enumerate(rows):
        lines = [""] if n else []
        lines.extend(
            f"{indent}{name.ljust(name_width)}  {cut(value, room)}".rstrip()
            for name, value in zip(header, row, strict=True)
        )
        blocks.append(lines)
    return blocks


def system_key(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """Click callback of a code-system option: the registry key of ``value`` (a name, alias or
    prefix), or a usage error naming the known systems."""
    if value is None:
        return None
    from ontomap.errors import UnknownCodeSystemError
    from ontomap.terminology import default_registry

    try:
        return default_registry().get(value).key
    except UnknownCodeSystemError as exc:
        raise click.BadParameter(str(exc)) from None
