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

What a remote endpoint must provide for the same answers as the local store:

- the store's layout: one named graph per finding model, ``…/graph/_codes`` and
  ``…/graph/_meta`` (``ontomap push`` uploads exactly that);
- the union of the named graphs as the default graph, as ontomap's own queries expect
  (Oxigraph: ``oxigraph serve --union-default-graph``; Fuseki: ``tdb2:unionDefaultGraph true``;
  ``ontomap serve`` does it by default). Lookups only use ``GRAPH`` patterns and work without.

>>> with open_backend(endpoint="http://127.0.0.1:7878/query") as backend:  # doctest: +SKIP
...     lookup(backend, "RADLEX:RID5791").matches[0].curie
'sct:263768009'
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Protocol, runtime_checkable

import pyoxigraph as ox

from ontomap import __version__
from ontomap.errors import StoreError
from ontomap.graph import META_GRAPH, KnowledgeGraph
from ontomap.query import (
    AskResult,
    GraphResult,
    QueryError,
    QueryParameterError,
    QueryResult,
    SelectResult,
    leading_keyword,
    query_error,
)
from ontomap.store import Store
from ontomap.vocab import OIFM

__all__ = [
    "EndpointError",
    "LocalBackend",
    "RemoteBackend",
    "SparqlBackend",
    "as_backend",
    "bind_values",
    "check_query",
    "keywords",
    "open_backend",
    "sparql_term",
]

#: Media types the remote backend asks for.
RESULTS_JSON = "application/sparql-results+json"
N_TRIPLES = "application/n-triples"


class EndpointError(StoreError):
    """A SPARQL endpoint that cannot be reached, refuses access, or answers nonsense."""

    def __init__(self, url: str, message: str) -> None:
        self.url = url
        super().__init__(message)


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
        bindings: Mapping[str, ox.Term] | None = None,
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
    return GraphResult(KnowledgeGraph(data.decode().splitlines(keepends=True), base_iri))  # type: ignore[union-attr]


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
        bindings: Mapping[str, ox.Term] | None = None,
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


def sparql_term(term: ox.Term) -> str:
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


def bind_values(text: str, bindings: Mapping[str, ox.Term]) -> str:
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


def http_request(
    url: str,
    body: bytes | None,
    content_type: str | None,
    accept: str,
    *,
    token: str | None = None,
    timeout: float = 60.0,
) -> tuple[str, bytes]:
    """POST ``body`` (or GET when ``None``) to ``url``; the answer's media type and bytes.

    Unreachable servers, refused access and server errors raise :class:`EndpointError`;
    a 400 (the server did not like the request) raises :class:`QueryError` with the server's
    message.
    """
    import socket  # imported here: local queries need no HTTP client
    import urllib.error
    import urllib.request

    headers = {"Accept": accept, "User-Agent": f"ontomap/{__version__}"}
    if content_type:
        headers["Content-Type"] = content_type
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            media = response.headers.get_content_type()
            return media, response.read()
    except urllib.error.HTTPError as exc:
        message = exc.read().decode("utf-8", errors="replace").strip()
        if len(message) > 500:
            message = message[:499] + "…"
        detail = f" (HTTP {exc.code}{': ' + message if message else ''})"
        if exc.code == 400:
            raise QueryError(f"{url} refused the request{detail}") from None
        if exc.code == 404:
            raise EndpointError(
                url,
                f"no SPARQL endpoint at {url}{detail}; give the endpoint's full URL, e.g. "
                "http://HOST:7878/query (Oxigraph, ontomap serve) or "
                "http://HOST:3030/DATASET/sparql (Fuseki)",
            ) from None
        if exc.code in (401, 403):
            raise EndpointError(url, f"{url} refused access{detail}; check the token") from None
        raise EndpointError(url, f"{url} failed{detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, socket.timeout | TimeoutError):
            reason = f"no answer within {timeout:g} s"
        raise EndpointError(
            url, f"cannot reach the SPARQL endpoint {url}: {reason}; is the server running?"
        ) from None


def check_query(
    text: str,
    bindings: Mapping[str, ox.Term] | None = None,
    prefixes: Mapping[str, str] | None = None,
) -> None:
    """Parse ``text`` with Oxigraph's parser, so that a query bound for an endpoint gets the
    same syntax and parameter errors (with line and column) as on the local store.

    The query goes to an empty in-memory store. SELECT, CONSTRUCT and DESCRIBE answers are
    lazy and never read, so nothing is evaluated; an ASK is evaluated, on no data (a SERVICE
    call in it would be made from here as well).
    """
    substitutions = {ox.Variable(name): term for name, term in (bindings or {}).items()}
    try:
        ox.Store().query(
            text, prefixes=dict(prefixes) if prefixes else None, substitutions=substitutions or None
        )
    except (SyntaxError, RuntimeError) as exc:
        raise query_error(exc, text, prefixes or {}) from None
    except OSError:
        pass  # an evaluation problem (e.g. a SERVICE call), not the query's syntax


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

    def __init__(self, url: str, *, timeout: float = 60.0, token: str | None = None) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{url!r} is not an http(s) URL of a SPARQL endpoint")
        self.url = url
        self.timeout = timeout
        self.token = token
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
            query = (
                f"SELECT ?base WHERE {{ GRAPH <{META_GRAPH.value}> "
                f"{{ <{META_GRAPH.value}> <{OIFM.baseIri.value}> ?base }} }} LIMIT 1"
            )
            result = self.query(query)
            rows = result.rows if isinstance(result, SelectResult) else ()
            value = rows[0][0] if rows and rows[0][0] is not None else None
            self._base = (value.value if value is not None else None,)
        return self._base[0]

    def query(
        self,
        text: str,
        bindings: Mapping[str, ox.Term] | None = None,
        prefixes: Mapping[str, str] | None = None,
    ) -> QueryResult:
        check_query(text, bindings, prefixes)
        prologue = _prologue(prefixes)
        sent = bind_values(text, bindings or {})
        if prologue:
            sent = f"{prologue}\n{sent}"
        form = leading_keyword(text)
        if form in ("SELECT", "ASK"):
            accept = RESULTS_JSON
        elif form in ("CONSTRUCT", "DESCRIBE"):
            accept = N_TRIPLES
        else:
            accept = f"{RESULTS_JSON}, {N_TRIPLES};q=0.9"
        body = urllib.parse.urlencode({"query": sent}).encode()
        media, data = http_request(
            self.url,
            body,
            "application/x-www-form-urlencoded",
            accept,
            token=self.token,
            timeout=self.timeout,
        )
        return self._parse(media, data)

    def _parse(self, media: str, data: bytes) -> QueryResult:
        try:
            results_format = ox.QueryResultsFormat.from_media_type(media)
            if results_format is not None:
                answer = ox.parse_query_results(data, format=results_format)
                return _result_from(answer, self._base[0] if self._base else None)
            rdf_format = ox.RdfFormat.from_media_type(media)
            if rdf_format is not None:
                triples = (
                    ox.Triple(t.subject, t.predicate, t.object)
                    for t in ox.parse(data, format=rdf_format)
                )
                return _result_from(triples, self._base[0] if self._base else None)
        except (SyntaxError, ValueError) as exc:
            raise EndpointError(
                self.url, f"the answer of {self.url} is not valid {media}: {exc}"
            ) from None
        raise EndpointError(
            self.url,
            f"{self.url} answered {media or 'without a media type'}, which is neither SPARQL "
            "results nor RDF; is it a SPARQL query endpoint?",
        )


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
