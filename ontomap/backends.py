"""Where SPARQL runs: the local store or any SPARQL 1.1 endpoint, behind one small protocol.

:class:`SparqlBackend` is "something that answers SPARQL SELECT, ASK, CONSTRUCT and DESCRIBE
queries". Queries (:func:`ontomap.query.run_query`) and lookups (:func:`ontomap.lookup.lookup`)
are written against it and have two implementations:

- :class:`LocalBackend`: the embedded Oxigraph store; parameters are bound by the engine
  (pyoxigraph ``substitutions``), the default graph is the union of the store's graphs.
- :class:`RemoteBackend`: any SPARQL 1.1 Protocol endpoint over HTTP (Oxigraph server, Apache
  Jena Fuseki, GraphDB, Virtuoso, ``ontomap serve``). Parameters are bound with a ``VALUES``
  block written from RDF terms serialised by pyoxigraph, never from raw text; results come
  back as SPARQL JSON (or N-Triples for graphs) and are parsed by pyoxigraph.

The caller chooses: ``open_backend(store=...)`` or ``open_backend(endpoint=...)`` (the CLI's
``--store DIR`` and ``--endpoint URL``); nothing is guessed from the shape of a string.

An endpoint has :data:`DEFAULT_TIMEOUT` seconds (60; ``--timeout``) for each whole answer,
which may be :data:`MAX_ANSWER_BYTES` long (512 MiB). What it answers is checked: SPARQL
results or RDF, of the query's form (solutions for a SELECT, a boolean for an ASK, triples
otherwise) and with the query's variables (in any order). Anything else (an HTML page, a
server error, a redirect loop, an answer cut short, too slow or too large) raises an
:class:`EndpointError` that says what came back: status, media type, size, first bytes.

What a remote endpoint must provide for the same answers as the local store:

- the store's layout: one named graph per finding model, ``…/graph/_codes`` and
  ``…/graph/_meta`` (``ontomap push`` uploads exactly that);
- the union of the named graphs as the default graph, as ontomap's own queries expect
  (Oxigraph: ``oxigraph serve --union-default-graph``; Fuseki: ``tdb2:unionDefaultGraph true``;
  Virtuoso and ``ontomap serve`` do it by default). Lookups only use ``GRAPH`` patterns and
  work without. An engine's own graphs in that union (Virtuoso's ``virtrdf#`` and the like)
  are never counted: ontomap's queries only match its own vocabulary, and the queries over
  every graph keep to the graphs named under ``https://w3id.org/ontomap/graph/``.
- whole answers. An endpoint that cuts an answer at its row limit (Virtuoso's
  ``ResultSetMaxRows``, 10,000 rows by default, announced with an ``X-SPARQL-MaxRows`` header;
  ``ontomap serve --max-rows``, announced with ``X-Ontomap-Truncated: true``)
  raises a :class:`TruncatedAnswerError` that holds the rows it gave: a lookup or mapping set
  from part of the answer would be wrong without saying so. Virtuoso cuts CONSTRUCT and
  DESCRIBE answers without the header: a graph of exactly its default limit's size from a
  Virtuoso server (and a query asking for more) is taken as cut too.

Engines answer in their own dialects, read here as the standard says: Virtuoso 7.2 answers
an ASK query with one solution of the variable ``__ASK_RETVAL`` (1 or none), read as the
boolean it means, and writes ``xsd:boolean`` values as ``1`` and ``0``, read as ``true`` and
``false`` (the same values, written as the local store writes them).

>>> with open_backend(endpoint="http://127.0.0.1:7878/query") as backend:  # doctest: +SKIP
...     lookup(backend, "RADLEX:RID5791").matches[0].curie
'sct:263768009'
"""

from __future__ import annotations

import re
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import pyoxigraph as ox

from ontomap import __version__
from ontomap.errors import OntomapError, StoreError
from ontomap.graph import KnowledgeGraph
from ontomap.ntriples import lines_of
from ontomap.sparql import (
    AskResult,
    GraphResult,
    QueryError,
    QueryParameterError,
    QueryResult,
    SelectResult,
    Term,
    leading_keyword,
    query_error,
    sparql_text,
)
from ontomap.store import Store
from ontomap.vocab import STANDARD_PREFIXES

if TYPE_CHECKING:
    import email.message
    import http.client
    import urllib.error

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_ANSWER_BYTES",
    "EndpointError",
    "HttpAnswer",
    "LocalBackend",
    "RemoteBackend",
    "SparqlBackend",
    "TruncatedAnswerError",
    "as_backend",
    "bind_values",
    "check_query",
    "check_token",
    "endpoint_url",
    "http_request",
    "keywords",
    "open_backend",
    "sparql_term",
]

#: The header by which an endpoint (Virtuoso) says it cut an answer at so many rows.
MAX_ROWS_HEADER = "X-SPARQL-MaxRows"
#: The headers by which ``ontomap serve`` says it cut an answer, and at how many rows.
_ONTOMAP_TRUNCATED = "X-Ontomap-Truncated"
_ONTOMAP_MAX_ROWS = "X-Ontomap-Max-Rows"
#: Virtuoso's row limit as Debian ships it (``ResultSetMaxRows``). It cuts CONSTRUCT and
#: DESCRIBE answers there too (at one triple more), without the header.
VIRTUOSO_MAX_ROWS = 10_000
#: The variable Virtuoso answers an ASK query with, instead of a boolean.
_VIRTUOSO_ASK = "__ASK_RETVAL"

#: The base IRI of the endpoint's knowledge graph (from its bookkeeping graph).
_BASE_IRI_QUERY = sparql_text("ontomap", "backends-base-iri.rq")

#: Media types the remote backend asks for.
RESULTS_JSON = "application/sparql-results+json"
N_TRIPLES = "application/n-triples"


class EndpointError(StoreError):
    """A SPARQL endpoint that cannot be reached, refuses access, or answers nonsense."""

    def __init__(self, url: str, message: str) -> None:
        self.url = url
        super().__init__(message)


class TruncatedAnswerError(EndpointError):
    """An endpoint that cut an answer at its row limit: ``limit`` rows (or triples) of more;
    ``result`` holds what it gave."""

    def __init__(self, url: str, limit: int, result: QueryResult) -> None:
        self.limit = limit
        self.result = result
        super().__init__(
            url,
            f"{url} cut its answer at {limit} rows (its row limit): the answer is incomplete; "
            "raise the endpoint's limit (Virtuoso: ResultSetMaxRows in the [SPARQL] section "
            "of virtuoso.ini; ontomap serve: --max-rows) or ask for fewer rows (LIMIT, OFFSET)",
        )


@runtime_checkable
class SparqlBackend(Protocol):
    """Something that answers SPARQL queries: a local store or a remote endpoint."""

    @property
    def location(self) -> str:
        """Where the data is (a store folder or an endpoint URL), for messages."""
        ...

    @property
    def base_iri(self) -> str | None:
        """The base IRI the knowledge graph was built with (``None``: unknown or empty)."""
        ...

    def query(
        self,
        text: str,
        bindings: Mapping[str, Term] | None = None,
        prefixes: Mapping[str, str] | None = None,
    ) -> QueryResult:
        """Run a read-only query. ``bindings`` maps variable names (which the query must
        select) to RDF terms; ``prefixes`` are pre-declared (the query's own PREFIX lines win).

        The result type follows the query form: :class:`SelectResult`, :class:`AskResult`
        or :class:`GraphResult`.
        """
        ...

    def close(self) -> None:
        """Release what the backend holds (a store, connections)."""
        ...


def _result_from(answer: object, base_iri: str | None) -> QueryResult:
    """Our result type for a pyoxigraph answer (solutions, boolean, or triples)."""
    if isinstance(answer, ox.QuerySolutions):
        variables = tuple(v.value for v in answer.variables)
        return SelectResult(variables, answer.serialize(format=ox.QueryResultsFormat.JSON))  # type: ignore[arg-type]
    if isinstance(answer, ox.QueryBoolean):
        return AskResult(bool(answer), answer.serialize(format=ox.QueryResultsFormat.JSON))  # type: ignore[arg-type]
    data = ox.serialize(answer, format=ox.RdfFormat.N_TRIPLES)  # type: ignore[arg-type]
    return GraphResult(KnowledgeGraph(lines_of(data), base_iri))  # type: ignore[arg-type]


# ------------------------------------------------------------------ local


class LocalBackend:
    """The embedded Oxigraph store: queries see the union of its graphs as default graph.

    Wrap an open :class:`~ontomap.store.Store` (``LocalBackend(store)``, which the caller
    closes) or open one read-only with :meth:`open` (closed by :meth:`close`).
    """

    def __init__(self, store: Store, *, owned: bool = False) -> None:
        self.store = store
        self._owned = owned

    @classmethod
    def open(cls, path: Path | str | None = None) -> LocalBackend:
        """Open the store at ``path`` (default: :func:`~ontomap.store.default_store_path`)
        read-only; raises :class:`~ontomap.errors.StoreError`."""
        return cls(Store(path, read_only=True), owned=True)

    def __enter__(self) -> LocalBackend:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owned:
            self.store.close()

    def __repr__(self) -> str:
        return f"LocalBackend({str(self.store.path)!r})"

    @property
    def location(self) -> str:
        return str(self.store.path)

    @property
    def base_iri(self) -> str | None:
        return self.store.base_iri

    def query(
        self,
        text: str,
        bindings: Mapping[str, Term] | None = None,
        prefixes: Mapping[str, str] | None = None,
    ) -> QueryResult:
        substitutions = {ox.Variable(name): term for name, term in (bindings or {}).items()}
        try:
            answer = self.store.oxigraph.query(
                text,
                prefixes=dict(prefixes) if prefixes else None,
                use_default_graph_as_union=True,
                substitutions=substitutions or None,
            )
            return _result_from(answer, self.store.base_iri)
        except (SyntaxError, RuntimeError) as exc:
            raise query_error(exc, text, prefixes or {}) from None
        except OSError as exc:
            raise StoreError(f"cannot read the store at {self.store.path}: {exc}") from None


# ------------------------------------------------------------------ binding by VALUES


def sparql_term(term: Term) -> str:
    """``term`` in SPARQL syntax, written by pyoxigraph (IRIs and literals escaped as in
    N-Triples, which SPARQL reads). Blank nodes and quoted triples cannot be bound remotely."""
    if isinstance(term, ox.NamedNode | ox.Literal):
        return str(term)
    raise QueryParameterError(
        f"cannot bind {term} on a remote endpoint: only IRIs and literals can go in VALUES"
    )


# One token of SPARQL at a time, enough to find the braces that matter: comments, strings and
# IRIs are skipped whole so that a "{" or "WHERE" inside them is not taken for syntax.
_TOKEN = re.compile(
    r"""
      (?P<skip> \#[^\n]*
              | \"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
              | '''(?:[^'\\]|\\.|'(?!''))*'''
              | "(?:[^"\\\n\r]|\\.)*"
              | '(?:[^'\\\n\r]|\\.)*'
              | <[^<>"{}|^`\\\x00-\x20]*>
              | [?$][^\s{}()<>"',;.]+
              | (?:[A-Za-z][\w.-]*)?:[^\s{}()<>"',;#]*
              | @[A-Za-z][\w-]*
              )
    | (?P<word> [A-Za-z_]\w* )
    | (?P<open> [{(] )
    | (?P<close> [})] )
    """,
    re.VERBOSE | re.DOTALL,
)


def _tokens(text: str) -> Iterator[re.Match[str]]:
    """The tokens of a SPARQL text (characters no token starts with are skipped)."""
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            position += 1
            continue
        position = match.end()
        yield match


def keywords(text: str) -> Iterator[str]:
    """The bare words of a SPARQL text, upper-cased: keywords, function names and the like,
    never words inside strings, comments, IRIs, variables or prefixed names."""
    for match in _tokens(text):
        if match.lastgroup == "word":
            yield match.group().upper()


def _group_start(text: str) -> int | None:
    """Index just after the ``{`` that opens the query's WHERE group, or ``None`` when there
    is none fit for a VALUES block (a DESCRIBE without WHERE, the CONSTRUCT WHERE short form)."""
    depth = 0
    form: str | None = None
    where = template = False
    for match in _tokens(text):
        if match.lastgroup == "word":
            if depth == 0:
                word = match.group().upper()
                if form is None and word in ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE"):
                    form = word
                elif form is not None and word == "WHERE":
                    where = True
        elif match.lastgroup == "open":
            if match.group() == "{" and depth == 0 and form is not None:
                if form == "CONSTRUCT" and where and not template:
                    return None  # CONSTRUCT WHERE { triples }: no VALUES allowed inside
                if where or form in ("SELECT", "ASK"):
                    return match.end()
                template = True
            depth += 1
        elif match.lastgroup == "close":
            depth -= 1
    return None


def bind_values(text: str, bindings: Mapping[str, Term]) -> str:
    """``text`` with ``bindings`` joined in as a ``VALUES`` block.

    The block goes first in the WHERE group, where the engine meets it before the rest of the
    pattern (the same answers as engine substitution, and as fast); when the query has no such
    group it goes at the end (the query-level VALUES clause). Terms are serialised by pyoxigraph
    (:func:`sparql_term`); the block never adds a line, so line numbers stay true.
    """
    if not bindings:
        return text
    for name in bindings:
        if not re.fullmatch(r"\w+", name):
            raise QueryParameterError(f"bad variable name {name!r}")
    names = " ".join(f"?{name}" for name in bindings)
    values = " ".join(sparql_term(term) for term in bindings.values())
    block = f"VALUES ({names}) {{ ({values}) }}"
    start = _group_start(text)
    if start is None:
        return f"{text.rstrip()}\n{block}\n"
    return f"{text[:start]} {block} {text[start:]}"


# ------------------------------------------------------------------ remote

#: Seconds an endpoint has to answer one request, unless told otherwise (``--timeout``).
DEFAULT_TIMEOUT = 60.0
#: The largest answer read from an endpoint, in bytes; a larger one is refused.
MAX_ANSWER_BYTES = 512 << 20


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """What an HTTP server answered: status, media type (``""`` when it gave none), body, the
    row limit it said it cut the answer at (``X-SPARQL-MaxRows``; ``None``: none) and the
    software it names in its ``Server`` header."""

    url: str
    status: int
    media_type: str
    body: bytes
    max_rows: int | None = None
    server: str = ""

    def describe(self) -> str:
        """The answer in a few words for a message: status, media type, size, first bytes."""
        return _describe(self.status, self.media_type, len(self.body), self.body[:_PREVIEW])


_PREVIEW = 60


def _describe(status: int, media: str, size: int, head: bytes) -> str:
    """``HTTP 200, text/html, 31 bytes: '<html>…'``: an answer of ``size`` bytes starting with
    ``head``, in one line (white space runs shown as one space, other characters escaped)."""
    count = "1 byte" if size == 1 else f"{size} bytes" if size < 1 << 20 else _size(size)
    text = ""
    if head:
        shown = re.sub(r"\s+", " ", head[:_PREVIEW].decode("utf-8", errors="replace"))
        text = f": {shown!r}{'…' if size > _PREVIEW else ''}"
    return f"HTTP {status}, {media or 'no Content-Type'}, {count}{text}"


def _size(count: int) -> str:
    """A number of bytes for people (``512 MiB``, ``1.5 GiB``, ``300 bytes``)."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= scale:
            return f"{count / scale:.3g} {unit}"
    return f"{count} bytes"


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _read_body(
    url: str,
    response: http.client.HTTPResponse,
    media: str,
    deadline: float,
    timeout: float,
    limit: int,
) -> bytes:
    """The body of ``response``, read before ``deadline`` and at most ``limit`` bytes long."""
    import http.client

    what = f"HTTP {response.status}, {media or 'no Content-Type'}"
    header = (response.headers.get("Content-Length") or "").strip()
    declared = int(header) if header.isdigit() else None
    if declared is not None and declared > limit:
        raise EndpointError(
            url,
            f"{url} announced an answer of {_size(declared)} ({what}), more than the "
            f"{_size(limit)} ontomap reads",
        )
    chunks: list[bytes] = []
    size = 0
    head = b""  # the first bytes, for messages

    def so_far() -> str:
        return _describe(response.status, media, size, head)

    def cut_short() -> EndpointError:
        announced = f" of the {declared} announced" if declared is not None else ""
        return EndpointError(
            url, f"{url} closed the connection in the middle of its answer ({so_far()}{announced})"
        )

    def too_slow() -> EndpointError:
        return EndpointError(
            url,
            f"{url} did not finish its answer within {timeout:g} s ({so_far()}); "
            "give it more time with --timeout",
        )

    while True:
        if time.monotonic() > deadline:
            raise too_slow()
        try:
            chunk = response.read1(1 << 16)
        except http.client.IncompleteRead as exc:  # a chunked answer cut short
            size += len(exc.partial)
            head = (head + exc.partial)[:_PREVIEW]
            raise cut_short() from None
        except TimeoutError:
            raise too_slow() from None
        except (OSError, http.client.HTTPException) as exc:
            raise EndpointError(
                url,
                f"the connection to {url} broke in the middle of its answer ({so_far()}): "
                f"{_one_line(str(exc) or type(exc).__name__, 120)}",
            ) from None
        if not chunk:
            if declared is not None and size < declared:
                raise cut_short()
            return b"".join(chunks)
        size += len(chunk)
        if len(head) < _PREVIEW:
            head = (head + chunk)[:_PREVIEW]
        if size > limit:
            raise EndpointError(
                url,
                f"the answer of {url} is larger than the {_size(limit)} ontomap reads ({what})",
            )
        chunks.append(chunk)


def check_token(token: str) -> None:
    """Raise a :class:`ValueError` unless ``token`` can be sent as a bearer token (printable
    ASCII without spaces, as RFC 6750 has it)."""
    if not re.fullmatch(r"[\x21-\x7e]+", token):
        raise ValueError(
            "the token must be printable ASCII characters without spaces or line breaks"
        )


def _media_type(message: email.message.Message) -> str:
    """The media type a response's headers give, ``""`` when they give none."""
    return message.get_content_type() if message.get("Content-Type") else ""


def endpoint_url(value: str) -> str:
    """``value`` checked as the URL of an endpoint: ``http`` or ``https``, a host, a valid
    port, no credentials; an IRI's other characters are percent-encoded (UTF-8). Raises a
    :class:`ValueError` that says what is wrong."""
    shown = repr(value) if len(value) <= 200 else repr(value[:199] + "…")
    try:
        value.encode("utf-8")
        parts = urllib.parse.urlsplit(value)
        parts.port  # noqa: B018  (a port out of range raises here)
    except UnicodeEncodeError:
        raise ValueError(f"{shown} holds bytes that are not UTF-8 text") from None
    except ValueError as exc:
        raise ValueError(f"{shown} is not a valid URL: {exc}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{shown} is not an http(s) URL of a SPARQL endpoint")
    if not parts.netloc.isascii():
        raise ValueError(f"{shown}: write a host name of other than ASCII letters as xn--…")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"{shown}: a user name or password in the URL is not supported")
    if re.search(r"[\x00-\x20\x7f]", value):
        raise ValueError(f"{shown} holds white space or control characters")
    return urllib.parse.quote(value, safe="!#$%&'()*+,/:;=?@[]~")


def http_request(
    url: str,
    body: bytes | None,
    content_type: str | None,
    accept: str,
    *,
    token: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = MAX_ANSWER_BYTES,
) -> HttpAnswer:
    """POST ``body`` (or GET when ``None``) to ``url``; what it answered.

    The whole answer must come within ``timeout`` seconds and be at most ``max_bytes`` long.
    Unreachable servers, refused access, server errors, redirects that lead nowhere, answers
    cut short, too slow or too large raise :class:`EndpointError`, saying what came back; a
    400 (the server did not like the request) raises :class:`QueryError` with the server's
    message.
    """
    import http.client  # imported here: local queries need no HTTP client
    import urllib.error
    import urllib.request

    url = endpoint_url(url)
    headers = {"Accept": accept, "User-Agent": f"ontomap/{__version__}"}
    if content_type:
        headers["Content-Type"] = content_type
    if token:
        check_token(token)
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, headers=headers)
    deadline = time.monotonic() + timeout
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            media = _media_type(response.headers)
            data = _read_body(url, response, media, deadline, timeout, max_bytes)
            limit = (response.headers.get(MAX_ROWS_HEADER) or "").strip()
            if (response.headers.get(_ONTOMAP_TRUNCATED) or "").strip().lower() == "true":
                limit = (response.headers.get(_ONTOMAP_MAX_ROWS) or "0").strip()
            return HttpAnswer(
                response.geturl(),
                response.status,
                media,
                data,
                int(limit) if limit.isdigit() else None,
                response.headers.get("Server") or "",
            )
    except urllib.error.HTTPError as exc:
        raise _status_error(url, exc) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError):
            raise EndpointError(
                url,
                f"{url} did not answer within {timeout:g} s; is it a SPARQL endpoint? "
                "(give it more time with --timeout)",
            ) from None
        if isinstance(exc, http.client.HTTPException):
            detail = _one_line(f"{type(exc).__name__}: {exc}", 160)
            raise EndpointError(url, f"{url} gave no valid HTTP answer ({detail})") from None
        raise EndpointError(
            url,
            f"cannot reach the SPARQL endpoint {url}: {_one_line(str(reason))}; "
            "is the server running?",
        ) from None


def _status_error(url: str, exc: urllib.error.HTTPError) -> OntomapError:
    """The error for an HTTP error status: what the server said, in one line."""
    import http.client

    try:
        body = exc.read(4096)
    except (OSError, http.client.HTTPException):
        body = b""
    if exc.code == 400:  # the server's message says what is wrong with the query
        message = _one_line(body.decode("utf-8", errors="replace"), 500)
        return QueryError(
            f"{url} refused the request (HTTP 400{': ' + message if message else ''})"
        )
    detail = f" ({_describe(exc.code, _media_type(exc.headers), len(body), body)})"
    if exc.code == 404:
        return EndpointError(
            url,
            f"no SPARQL endpoint at {url}{detail}; give the endpoint's full URL, e.g. "
            "http://HOST:7878/query (Oxigraph, ontomap serve) or "
            "http://HOST:3030/DATASET/sparql (Fuseki)",
        )
    if exc.code in (401, 403):
        return EndpointError(url, f"{url} refused access{detail}; check the token")
    if 300 <= exc.code < 400:
        location = exc.headers.get("Location")
        where = f" to {_one_line(location, 200)}" if location else ""
        if "infinite loop" in str(exc.reason):
            return EndpointError(url, f"{url} redirects in a loop (HTTP {exc.code}{where})")
        return EndpointError(
            url, f"{url} redirects{where} (HTTP {exc.code}); give the endpoint's own URL"
        )
    return EndpointError(url, f"{url} failed{detail}")


@dataclass(frozen=True, slots=True)
class _Shape:
    """What a query's answer must look like: its form and, for a SELECT, its variables."""

    form: str | None
    variables: tuple[str, ...] | None = None


_FORMS = {"SELECT": "select", "ASK": "ask", "CONSTRUCT": "graph", "DESCRIBE": "graph"}


def _shape(
    text: str,
    bindings: Mapping[str, Term] | None = None,
    prefixes: Mapping[str, str] | None = None,
) -> _Shape:
    """Parse ``text`` with Oxigraph's parser (see :func:`check_query`); the answer's shape."""
    substitutions = {ox.Variable(name): term for name, term in (bindings or {}).items()}
    try:
        answer = ox.Store().query(
            text, prefixes=dict(prefixes) if prefixes else None, substitutions=substitutions or None
        )
    except (SyntaxError, RuntimeError) as exc:
        raise query_error(exc, text, prefixes or {}) from None
    except OSError:  # an evaluation problem (e.g. a SERVICE call), not the query's syntax
        return _Shape(_FORMS.get(leading_keyword(text) or ""))
    if isinstance(answer, ox.QuerySolutions):
        return _Shape("select", tuple(v.value for v in answer.variables))
    if isinstance(answer, ox.QueryBoolean):
        return _Shape("ask")
    return _Shape("graph")


def check_query(
    text: str,
    bindings: Mapping[str, Term] | None = None,
    prefixes: Mapping[str, str] | None = None,
) -> None:
    """Parse ``text`` with Oxigraph's parser, so that a query bound for an endpoint gets the
    same syntax and parameter errors (with line and column) as on the local store.

    The query goes to an empty in-memory store. SELECT, CONSTRUCT and DESCRIBE answers are
    lazy and never read, so nothing is evaluated; an ASK is evaluated, on no data (a SERVICE
    call in it would be made from here as well).
    """
    _shape(text, bindings, prefixes)


def _prologue(prefixes: Mapping[str, str] | None) -> str:
    """PREFIX declarations on one line (a query's own declarations come after and win)."""
    if not prefixes:
        return ""
    return " ".join(f"PREFIX {name}: <{ox.NamedNode(ns).value}>" for name, ns in prefixes.items())


class RemoteBackend:
    """A SPARQL 1.1 Protocol query endpoint, e.g. ``http://127.0.0.1:7878/query``.

    Queries are POSTed as ``application/x-www-form-urlencoded`` (``query=``); SELECT and ASK
    answers are read as SPARQL JSON, graphs as N-Triples. ``token``, if given, is sent as
    ``Authorization: Bearer``.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        token: str | None = None,
        max_bytes: int = MAX_ANSWER_BYTES,
    ) -> None:
        url = endpoint_url(url)
        if token is not None:
            check_token(token)
        if not timeout > 0:
            raise ValueError(f"the timeout must be a positive number of seconds, not {timeout}")
        self.url = url
        self.timeout = timeout
        self.token = token
        self.max_bytes = max_bytes
        self._base: tuple[str | None] | None = None

    def __enter__(self) -> RemoteBackend:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to release: each request uses its own connection."""

    def __repr__(self) -> str:
        return f"RemoteBackend({self.url!r})"

    @property
    def location(self) -> str:
        return self.url

    @property
    def base_iri(self) -> str | None:
        """Read once from the endpoint's bookkeeping graph (``None`` when it has none)."""
        if self._base is None:
            result = self.query(_BASE_IRI_QUERY, prefixes=STANDARD_PREFIXES)
            rows = result.rows if isinstance(result, SelectResult) else ()
            value = rows[0][0] if rows else None
            found = value.value if isinstance(value, ox.NamedNode | ox.Literal) else None
            self._base = (found,)
        return self._base[0]

    def query(
        self,
        text: str,
        bindings: Mapping[str, Term] | None = None,
        prefixes: Mapping[str, str] | None = None,
    ) -> QueryResult:
        shape = _shape(text, bindings, prefixes)
        prologue = _prologue(prefixes)
        sent = bind_values(text, bindings or {})
        if prologue:
            sent = f"{prologue}\n{sent}"
        if shape.form in ("select", "ask"):
            accept = RESULTS_JSON
        elif shape.form == "graph":
            accept = N_TRIPLES
        else:
            accept = f"{RESULTS_JSON}, {N_TRIPLES};q=0.9"
        body = urllib.parse.urlencode({"query": sent}).encode()
        answer = http_request(
            self.url,
            body,
            "application/x-www-form-urlencoded",
            accept,
            token=self.token,
            timeout=self.timeout,
            max_bytes=self.max_bytes,
        )
        return self._parse(answer, shape, sent)

    def _parse(self, answer: HttpAnswer, shape: _Shape, sent: str = "") -> QueryResult:
        """The result in ``answer``, checked against the form and variables of the query."""
        media = answer.media_type
        base = self._base[0] if self._base else None
        result: QueryResult | None = None
        try:
            results_format = ox.QueryResultsFormat.from_media_type(media) if media else None
            rdf_format = ox.RdfFormat.from_media_type(media) if media else None
            odd_booleans = _ODD_BOOLEAN.search(answer.body) is not None
            if results_format is not None:
                parsed = ox.parse_query_results(answer.body, format=results_format)
                if odd_booleans and isinstance(parsed, ox.QuerySolutions):
                    names = tuple(v.value for v in parsed.variables)
                    rows = [[_canonical(solution[n]) for n in names] for solution in parsed]
                    result = SelectResult.from_rows(names, rows)
                else:
                    result = _result_from(parsed, base)
            elif rdf_format is not None:
                triples = (
                    ox.Triple(t.subject, t.predicate, _canonical(t.object) or t.object)
                    if odd_booleans
                    else ox.Triple(t.subject, t.predicate, t.object)
                    for t in ox.parse(answer.body, format=rdf_format)
                )
                result = _result_from(triples, base)
        except (SyntaxError, ValueError, OSError) as exc:
            raise EndpointError(
                self.url,
                f"the answer of {self.url} is not valid {media} ({answer.describe()}): "
                f"{_one_line(str(exc), 200)}",
            ) from None
        if result is None:
            raise EndpointError(
                self.url,
                f"{self.url} answered neither SPARQL results nor RDF ({answer.describe()}); "
                "is it a SPARQL query endpoint?",
            )
        if shape.form == "ask" and isinstance(result, SelectResult):
            result = _virtuoso_ask(result)
        if shape.form is not None and result.form != shape.form:
            raise EndpointError(
                self.url,
                f"{self.url} answered {_ANSWER_KINDS[result.form]} to "
                f"{_QUERY_KINDS[shape.form]} ({answer.describe()})",
            )
        if isinstance(result, SelectResult) and shape.variables is not None:
            result = self._in_order(result, shape.variables, answer)
        limit = answer.max_rows
        if limit is None and isinstance(result, GraphResult):
            limit = _virtuoso_cut(answer, len(result.graph), sent)
        if limit is not None:
            raise TruncatedAnswerError(self.url, limit, result)
        return result

    def _in_order(
        self, result: SelectResult, variables: tuple[str, ...], answer: HttpAnswer
    ) -> SelectResult:
        """``result`` with the query's variables in the query's order (an endpoint may list
        them in another order, or leave out one it never binds)."""
        if result.variables == variables:
            return result
        extra = [name for name in result.variables if name not in variables]
        if extra:
            raise EndpointError(
                self.url,
                f"{self.url} answered the variables {' '.join('?' + v for v in result.variables)}"
                f" to a query that selects {' '.join('?' + v for v in variables)} "
                f"({answer.describe()})",
            )
        positions = [
            result.variables.index(v) if v in result.variables else None for v in variables
        ]
        rows = [[None if i is None else row[i] for i in positions] for row in result.rows]
        return SelectResult.from_rows(variables, rows)


#: A hint that an answer may hold booleans written ``1`` or ``0`` (Virtuoso stores them so).
_ODD_BOOLEAN = re.compile(rb"XMLSchema#boolean")
_BOOLEAN = "http://www.w3.org/2001/XMLSchema#boolean"
_CANONICAL = {"1": "true", "0": "false"}


def _canonical(term: Term | None) -> Term | None:
    """``term``, an ``xsd:boolean`` written ``1`` or ``0`` as ``true`` or ``false``: the same
    value, written as the local store writes it."""
    if (
        isinstance(term, ox.Literal)
        and term.value in _CANONICAL
        and term.datatype.value == _BOOLEAN
    ):
        return ox.Literal(_CANONICAL[term.value], datatype=term.datatype)
    return term


def _virtuoso_cut(answer: HttpAnswer, triples: int, query: str) -> int | None:
    """The row limit a graph ``answer`` of ``triples`` triples was cut at, when it comes from
    Virtuoso and has exactly as many triples as its default limit gives (``None``: not cut,
    or not known to be)."""
    if not answer.server.startswith("Virtuoso/"):
        return None
    if triples not in (VIRTUOSO_MAX_ROWS, VIRTUOSO_MAX_ROWS + 1):
        return None
    limits = [int(n) for n in re.findall(r"\bLIMIT\s+(\d+)", query, re.IGNORECASE)]
    if limits and min(limits) <= VIRTUOSO_MAX_ROWS:
        return None  # the query asked for at most that many itself
    return VIRTUOSO_MAX_ROWS


def _virtuoso_ask(result: SelectResult) -> QueryResult:
    """Virtuoso's answer to an ASK (one solution binding ``__ASK_RETVAL`` to 1, or none) as
    the boolean it means; any other solutions as they are."""
    if result.variables != (_VIRTUOSO_ASK,) or len(result.rows) > 1:
        return result
    value = result.rows[0][0] if result.rows else None
    if result.rows and not (isinstance(value, ox.Literal) and value.value in ("0", "1")):
        return result
    truth = bool(result.rows) and isinstance(value, ox.Literal) and value.value == "1"
    return AskResult(truth, b'{"head":{},"boolean":%s}' % (b"true" if truth else b"false"))


_ANSWER_KINDS = {"select": "solutions", "ask": "a boolean", "graph": "triples"}
_QUERY_KINDS = {
    "select": "a SELECT query",
    "ask": "an ASK query",
    "graph": "a CONSTRUCT or DESCRIBE query",
}


# ------------------------------------------------------------------ choosing


def as_backend(target: Store | SparqlBackend) -> SparqlBackend:
    """``target`` as a backend: a :class:`~ontomap.store.Store` is queried locally."""
    if isinstance(target, Store):
        return LocalBackend(target)
    return target


def open_backend(
    *, store: Path | str | None = None, endpoint: str | None = None
) -> LocalBackend | RemoteBackend:
    """The backend the caller names: ``endpoint`` (a SPARQL endpoint URL) or ``store`` (a
    store folder; its default when neither is given). Giving both is an error."""
    if store is not None and endpoint is not None:
        raise ValueError("give a store or an endpoint, not both")
    if endpoint is not None:
        return RemoteBackend(endpoint)
    return LocalBackend.open(store)
