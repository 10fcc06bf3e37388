"""The HTTP front end of ``ontomap serve`` (standard library ``http.server``).

Routes (the SPARQL paths are Oxigraph server's, so a client set up for one works with the
other):

============  ===========  =================================================================
path          methods      what
============  ===========  =================================================================
``/``         GET          the HTML page: look a code up, run a SPARQL query
``/query``    GET, POST    SPARQL 1.1 Protocol query (``query=`` in the URL or a form body,
                           or an ``application/sparql-query`` body)
``/update``   POST         SPARQL 1.1 Update (403 unless ``--allow-update``; needs
                           ``Authorization: Bearer TOKEN``)
``/store``    GET, HEAD    Graph Store Protocol, read side: ``?graph=IRI`` or ``?default``
``/lookup``   GET          ``?code=...[&to=SYSTEM][&offset=N][&limit=N]``: ``ontomap lookup
                           --format json``'s JSON (uses paged: 50 by default, 1,000 at most);
                           ``&descendants=true`` as ``--descendants``
``/queries``  GET          the named queries (name, description, parameters, text) as JSON
``/fhir/r4``  GET, POST    FHIR terminology service, R4 and R5 (``metadata``, ``$translate``,
``/fhir/r5``               ``$lookup``, ``$validate-code``, ``$expand``, read and search of
                           CodeSystem, ValueSet, ConceptMap; see :mod:`ontomap.fhir`);
                           answers ``application/fhir+json``, errors as OperationOutcome
any of these  OPTIONS      204 with ``Allow``; a CORS preflight answer with ``--cors``
============  ===========  =================================================================

The front end never opens the store: every job goes to the :class:`WorkerPool`. It checks
what it can check cheaply: the ``Host`` header (DNS rebinding; answer 421), the body's size and
framing (``Content-Length``, no chunked bodies; a body must keep arriving, see
:data:`BODY_TIMEOUT`). Queries are checked by the worker that runs them
(:mod:`ontomap.query.safety`), within the server's timeout.
"""

from __future__ import annotations

import hmac
import html
import ipaddress
import json
import re
import socket
import sys
import traceback
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ontomap import __version__
from ontomap.graph import known_prefixes
from ontomap.lookup import DEFAULT_LIMIT
from ontomap.query import UPDATE_KEYWORDS, leading_keyword, named_queries
from ontomap.server.jobs import (
    FHIR_JSON,
    FhirJob,
    GraphJob,
    Job,
    LookupJob,
    QueryJob,
    Response,
    UpdateJob,
)
from ontomap.server.workers import WorkerPool
from ontomap.terminology import default_registry
from ontomap.vocab import DEFAULT_BASE_IRI

__all__ = [
    "BODY_TIMEOUT",
    "LOOPBACK_NAMES",
    "MAX_LOOKUP_LIMIT",
    "MAX_LOOKUP_OFFSET",
    "MAX_QUERY_BYTES",
    "MAX_UPDATE_BYTES",
    "App",
    "HTTPServer",
    "Handler",
    "host_name",
]

#: Largest query body accepted by default (bytes; ``ontomap serve --max-query-size``).
MAX_QUERY_BYTES = 8 * 1024 * 1024
#: Largest update body accepted (bytes); ``ontomap push`` sends far smaller batches.
MAX_UPDATE_BYTES = 512 * 1024 * 1024
#: Seconds a request body may pause (or the server's timeout, if shorter): a body shorter than
#: its ``Content-Length`` answers 400 after that long.
BODY_TIMEOUT = 5.0
#: Host names a loopback server answers to, besides loopback IP addresses.
LOOPBACK_NAMES = frozenset({"localhost"})
#: The most uses one ``/lookup`` page lists (``limit``; the default is
#: :data:`~ontomap.lookup.DEFAULT_LIMIT`).
MAX_LOOKUP_LIMIT = 1000
#: The largest ``offset`` of a ``/lookup`` page.
MAX_LOOKUP_OFFSET = 10**9

_FORM = "application/x-www-form-urlencoded"
#: The methods each path answers (``OPTIONS`` besides), for ``Allow`` and CORS preflights.
ROUTE_METHODS = {
    "/": ("GET", "HEAD"),
    "/index.html": ("GET", "HEAD"),
    "/query": ("GET", "HEAD", "POST"),
    "/sparql": ("GET", "HEAD", "POST"),
    "/update": ("POST",),
    "/store": ("GET", "HEAD"),
    "/lookup": ("GET", "HEAD"),
    "/queries": ("GET", "HEAD"),
}
#: The headers a web page may send (CORS preflight) and read (``Access-Control-Expose-Headers``).
_CORS_REQUEST_HEADERS = "Accept, Authorization, Content-Type"
_CORS_EXPOSED = "X-Ontomap-Max-Rows, X-Ontomap-Truncated, Retry-After"
#: The parameters that name an answer's format, in the order they are read (clients such as
#: SPARQLWrapper send all three, some values twice).
FORMAT_PARAMETERS = ("format", "output", "results")
#: The FHIR versions served, by the last segment of their base path (``/fhir/r4``).
FHIR_BASES = {"r4": "R4", "r5": "R5"}
#: Media types a FHIR answer (JSON) satisfies in ``Accept`` or ``_format``.
_FHIR_ACCEPTED = frozenset(
    {
        "*/*",
        "application/*",
        "application/fhir+json",
        "application/json",
        "json",
        "application/json+fhir",
    }
)
#: A request target in absolute form (``GET http://host/path``).
_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


class _HTTPError(Exception):
    """An answer decided while reading the request (bad parameters, too large...)."""

    def __init__(self, response: Response, close: bool = False) -> None:
        super().__init__(response.body.decode(errors="replace"))
        self.response = response
        self.close = close


def _script_json(value: object) -> str:
    """``value`` as JSON to put inside a ``<script>`` element (no ``</`` can end it early)."""
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


@cache
def page() -> bytes:
    """The HTML page, shipped as ``page.html`` in this package, with the registry's code
    systems as the choices of its "in" menu, and its prefixes and systems (CURIE prefix,
    label, public browser) for the script."""
    text = resources.files("ontomap.server").joinpath("page.html").read_text(encoding="utf-8")
    registry = default_registry()
    options = "\n".join(
        f'      <option value="{html.escape(s.key)}">{html.escape(s.label)}</option>'
        for s in registry.systems
    )
    systems = {
        s.key: {"prefix": s.prefix, "label": s.label, "browser": s.browser}
        for s in registry.systems
    }
    return (
        text.replace("      <!--SYSTEMS-->", options)
        .replace("__PREFIXES__", _script_json(known_prefixes(DEFAULT_BASE_IRI)))
        .replace("__SYSTEMS__", _script_json(systems))
        .encode()
    )


@cache
def queries_json() -> bytes:
    """The named queries as JSON, for the page's examples."""
    out = [
        {
            "name": q.name,
            "description": q.description,
            "params": [
                {
                    "name": p.name,
                    "type": p.type,
                    "required": p.required,
                    "default": p.default,
                    "description": p.description,
                }
                for p in q.params
            ],
            "example": q.example,
            "text": q.text,
        }
        for q in named_queries().values()
    ]
    return (json.dumps(out, ensure_ascii=False, indent=2) + "\n").encode()


def host_name(value: str) -> str | None:
    """The host of a ``Host`` header (or URL authority), lower-case, without its port; an IPv6
    address in brackets. ``None`` for a malformed value."""
    value = value.strip().lower()
    if value.startswith("["):
        host, bracket, rest = value[1:].partition("]")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return None
        host = f"[{host}]" if bracket else ""
    else:
        host, _, port = value.partition(":")
        rest = f":{port}" if _ else ""
    if not host or not re.fullmatch(r"(?::[0-9]*)?", rest):
        return None
    return host


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host in LOOPBACK_NAMES


class App:
    """What the handlers share: the worker pool and the server's settings.

    ``allowed_hosts`` is ``None`` when any ``Host`` header is answered, else the host names
    (lower-case, without port) answered besides the loopback ones (:data:`LOOPBACK_NAMES`
    and loopback addresses). ``cors`` holds the origins (``https://app.example.org``, or
    ``*`` for any) whose web pages may read the answers (``--cors``); none by default.
    """

    def __init__(
        self,
        pool: WorkerPool,
        allow_update: bool = False,
        token: str | None = None,
        access_log: bool = False,
        allowed_hosts: frozenset[str] | None = None,
        max_query_bytes: int = MAX_QUERY_BYTES,
        cors: frozenset[str] = frozenset(),
    ) -> None:
        if allow_update and not token:
            raise ValueError("updates need a token")
        self.pool = pool
        self.allow_update = allow_update
        self.token = token
        self.access_log = access_log
        self.allowed_hosts = allowed_hosts
        self.max_query_bytes = max_query_bytes
        self.cors = frozenset(origin.rstrip("/") for origin in cors)

    def cors_origin(self, origin: str | None) -> str | None:
        """The ``Access-Control-Allow-Origin`` for a request from ``origin`` (``None``: no
        CORS header): ``*`` when any origin is allowed, else the origin if ``--cors`` named
        it."""
        if not self.cors or origin is None:
            return None
        if "*" in self.cors:
            return "*"
        return origin if origin.strip().rstrip("/") in self.cors else None

    def host_allowed(self, host: str) -> bool:
        """Whether requests for ``host`` (see :func:`host_name`) are answered."""
        return self.allowed_hosts is None or _loopback(host) or host in self.allowed_hosts

    def authorised(self, header: str | None) -> bool:
        """Whether an ``Authorization`` header carries the update token."""
        if not header or self.token is None:
            return False
        scheme, _, credentials = header.strip().partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            credentials.strip().encode(), self.token.encode()
        )


class HTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that carries the :class:`App`."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], app: App) -> None:
        self.app = app
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)


def _one(params: dict[str, list[str]], name: str, required: bool = True) -> str | None:
    values = params.get(name, [])
    if len(values) > 1:
        raise _HTTPError(Response.text(400, f"give the parameter {name!r} once, not {len(values)}"))
    if not values:
        if required:
            raise _HTTPError(Response.text(400, f"missing the parameter {name!r}"))
        return None
    return values[0]


class Handler(BaseHTTPRequestHandler):
    """Routes one request to the page, a worker job or an error."""

    server: HTTPServer
    protocol_version = "HTTP/1.1"
    #: Answers to unreadable request lines carry a status line too (not HTTP/0.9's bare body).
    default_request_version = "HTTP/1.0"
    server_version = f"ontomap/{__version__}"
    sys_version = ""
    #: Answers are written into a buffer that the server flushes at the end of each request,
    #: so that the status line, headers and a body of up to 64 KiB leave in one send; and with
    #: TCP_NODELAY, so that no part of an answer waits for the client's acknowledgement of the
    #: previous one (Nagle's algorithm against delayed ACKs: 40 ms stalls on keep-alive).
    wbufsize = 1 << 16
    disable_nagle_algorithm = True
    #: Seconds an idle keep-alive connection is kept.
    timeout = 60
    #: Whether the current request's body was read (else the connection cannot go on).
    _body_read = False

    # -------------------------------------------------------------- plumbing

    @property
    def app(self) -> App:
        return self.server.app

    def log_message(self, format: str, *args: Any) -> None:
        if self.app.access_log:
            super().log_message(format, *args)

    def log_error(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"{self.address_string()} - {format % args}\n")

    def _send(self, response: Response, head: bool = False, close: bool = False) -> None:
        self.send_response(response.status)
        if response.status != 204 or response.body:
            self.send_header("Content-Type", response.content_type)
        if not (head and response.status == 200 and not response.body):
            self.send_header("Content-Length", str(len(response.body)))
        # else a HEAD of a graph not written (its length is not known without writing it)
        self.send_header("Cache-Control", "no-store")
        for name, value in response.headers:
            self.send_header(name, value)
        origin = self.app.cors_origin(self.headers.get("Origin"))
        if origin is not None:
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Access-Control-Expose-Headers", _CORS_EXPOSED)
            if origin != "*":
                self.send_header("Vary", "Origin")
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if not head and response.body:
            self.wfile.write(response.body)
        self.wfile.flush()  # here, where a client that went away is expected

    def _declared_size(self) -> int | None:
        """The body size the headers announce (``None``: no body); a chunked or otherwise
        unreadable framing is an error."""
        if self.headers.get("Transfer-Encoding") is not None:
            raise _HTTPError(
                Response.text(411, "send the body with a Content-Length (no chunked bodies)"),
                close=True,
            )
        lengths = {value.strip() for value in self.headers.get_all("Content-Length") or ()}
        if not lengths:
            return None
        length = lengths.pop()
        if lengths or not re.fullmatch(r"[0-9]{1,20}", length):
            shown = ", ".join(sorted({length, *lengths}))
            raise _HTTPError(
                Response.text(
                    400, f"bad Content-Length {shown}: give the body's size in bytes, once"
                ),
                close=True,
            )
        return int(length)

    def _body(self, limit: int) -> bytes:
        size = self._declared_size()
        self._body_read = True
        if size is None:
            return b""
        if size > limit:
            raise _HTTPError(
                Response.text(413, f"the body is {size} bytes; this server takes at most {limit}"),
                close=True,
            )
        wait = min(BODY_TIMEOUT, self.app.pool.timeout)
        parts: list[bytes] = []
        received = 0
        why = "the client ended the connection"
        self.connection.settimeout(wait)
        try:
            while received < size:
                chunk = self.rfile.read1(min(size - received, 1 << 20))
                if not chunk:
                    break
                parts.append(chunk)
                received += len(chunk)
        except TimeoutError:
            why = f"nothing more came for {wait:g} s"
        finally:
            self.connection.settimeout(self.timeout)
        if received < size:
            raise _HTTPError(
                Response.text(
                    400,
                    f"the body ended after {received} of the {size} bytes its Content-Length "
                    f"announces ({why})",
                ),
                close=True,
            )
        return b"".join(parts)

    def _host_refused(self) -> Response | None:
        """421 for a request addressed to a host name this server does not answer to (DNS
        rebinding), 400 for a missing or malformed ``Host`` (or other header)."""
        if self.headers.defects:  # e.g. a line without "Name: value"
            return Response.text(400, "malformed header lines: write each as 'Name: value'")
        values = self.headers.get_all("Host") or []
        if len(values) > 1:
            return Response.text(400, "give one Host header, not several")
        if not values:
            if self.request_version == "HTTP/1.0":
                return None
            return Response.text(400, "an HTTP/1.1 request needs a Host header")
        names = [values[0]]
        if _ABSOLUTE.match(self.path):  # an absolute request target names the host too
            names.append(urlsplit(self.path).netloc.rpartition("@")[2])
        for value in names:
            host = host_name(value)
            if host is None:
                return Response.text(400, f"bad Host {value!r}")
            if not self.app.host_allowed(host):
                known = ["localhost", "127.0.0.1", "[::1]", *sorted(self.app.allowed_hosts or ())]
                answered = ", ".join(known)
                return Response.text(
                    421,
                    f"this server does not answer requests addressed to {host!r} (Host: "
                    f"{value}): it answers {answered} only, so that a web page cannot reach "
                    "it through a DNS name of its own (DNS rebinding). To use it under that "
                    f"name, start it with 'ontomap serve --allowed-host {host.strip('[]')}'.",
                )
        return None

    def _dispatch(self, method: str) -> None:
        self._body_read = False
        url = urlsplit(self.path)
        params = parse_qs(url.query, keep_blank_values=True)
        routes: dict[str, Any] = {
            "/": self._page,
            "/index.html": self._page,
            "/query": self._query,
            "/sparql": self._query,
            "/update": self._update,
            "/store": self._store,
            "/lookup": self._lookup,
            "/queries": self._queries,
        }
        route = routes.get(url.path)
        fhir = url.path == "/fhir" or url.path.startswith("/fhir/")
        if fhir:
            route = self._fhir
        close = False
        try:
            refused = self._host_refused()
            if refused is not None:
                raise _HTTPError(refused, close=True)
            if route is None:
                raise _HTTPError(Response.text(404, f"no such path {url.path}; see / for the page"))
            if method == "OPTIONS":
                response = self._options(ROUTE_METHODS.get(url.path, ("GET", "HEAD", "POST")))
            else:
                response = route(method, params)
            if not self._body_read and self._declared_size():
                close = True  # a body this route does not read: the connection cannot go on
        except _HTTPError as exc:
            response, close = exc.response, exc.close
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away while sending
            return
        except Exception:
            traceback.print_exc(file=sys.stderr)
            response = Response.text(500, "internal server error (see the server's log)")
        if (
            fhir
            and response.status != 204
            and not response.content_type.startswith("application/fhir+json")
        ):
            response = _fhir_outcome(response)
        try:
            self._send(response, head=method == "HEAD", close=close)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away before the answer

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_OPTIONS(self) -> None:
        self._dispatch("OPTIONS")

    # -------------------------------------------------------------- routes

    def _method(self, method: str, allowed: tuple[str, ...]) -> None:
        if method not in allowed:
            response = Response.text(405, f"use {' or '.join(allowed)} here, not {method}")
            response = Response(
                response.status,
                response.content_type,
                response.body,
                (("Allow", ", ".join(allowed)),),
            )
            raise _HTTPError(response, close=method in ("POST", "PUT", "PATCH"))

    def _options(self, methods: tuple[str, ...]) -> Response:
        """204 with the methods of the path; for a CORS preflight from an allowed origin, the
        methods and headers a page may use too."""
        allowed = ", ".join((*methods, "OPTIONS"))
        headers = [("Allow", allowed)]
        if self.app.cors_origin(self.headers.get("Origin")) is not None:
            headers += [
                ("Access-Control-Allow-Methods", allowed),
                ("Access-Control-Allow-Headers", _CORS_REQUEST_HEADERS),
                ("Access-Control-Max-Age", "600"),
            ]
        return Response(204, "text/plain; charset=utf-8", b"", tuple(headers))

    def _base_iri(self) -> str:
        """The endpoint's URL (scheme, the ``Host`` the client used, path), against which
        relative IRIs in queries and updates are resolved, as Oxigraph server does."""
        host = (self.headers.get("Host") or "").strip()
        if not host or host_name(host) is None:
            address = self.server.server_address
            shown = f"[{address[0]}]" if ":" in str(address[0]) else str(address[0])
            host = f"{shown}:{address[1]}"
        return f"http://{host}{urlsplit(self.path).path}"

    def _page(self, method: str, _params: dict[str, list[str]]) -> Response:
        self._method(method, ("GET", "HEAD"))
        return Response(200, "text/html; charset=utf-8", page())

    def _queries(self, method: str, _params: dict[str, list[str]]) -> Response:
        self._method(method, ("GET", "HEAD"))
        return Response(200, "application/json", queries_json())

    def _run(self, job: Job) -> Response:
        return self.app.pool.run(job)

    def _query(self, method: str, params: dict[str, list[str]]) -> Response:
        self._method(method, ("GET", "HEAD", "POST"))
        if method == "POST":
            kind = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            body = self._body(self.app.max_query_bytes)
            if kind == _FORM:
                form = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
                if "update" in form:
                    raise _HTTPError(self._update_refused_here())
                for name, values in form.items():
                    params.setdefault(name, []).extend(values)
                text = _one(params, "query")
            elif kind == "application/sparql-query":
                if "query" in params:
                    raise _HTTPError(
                        Response.text(400, "give the query in the body or in the URL, not both")
                    )
                text = body.decode("utf-8", errors="replace")
            elif kind == "application/sparql-update":
                raise _HTTPError(self._update_refused_here())
            else:
                raise _HTTPError(
                    Response.text(
                        415,
                        f"POST a query as {_FORM} (query=...) or application/sparql-query, "
                        f"not {kind or 'no Content-Type'}",
                    )
                )
        else:
            text = _one(params, "query")
        assert text is not None
        if leading_keyword(text) in UPDATE_KEYWORDS:
            raise _HTTPError(self._update_refused_here())
        job = QueryJob(
            text,
            accept=self.headers.get("Accept"),
            formats=_formats(params),
            default_graphs=tuple(params.get("default-graph-uri", ())),
            named_graphs=tuple(params.get("named-graph-uri", ())),
            base_iri=self._base_iri(),
        )
        return self._run(job)

    def _update_refused_here(self) -> Response:
        where = "send updates to /update" if self.app.allow_update else "this server is read-only"
        return Response.text(403, f"updates are not run by the query endpoint: {where}")

    def _read_only(self) -> Response:
        return Response.text(
            403,
            "this server is read-only: updates are refused (start it with "
            "'ontomap serve --allow-update --token TOKEN' to accept them)",
        )

    def _update(self, method: str, params: dict[str, list[str]]) -> Response:
        self._method(method, ("POST",))
        if not self.app.allow_update:
            raise _HTTPError(self._read_only(), close=True)
        if not self.app.authorised(self.headers.get("Authorization")):
            response = Response.text(
                401, "updates need the server's token: send 'Authorization: Bearer TOKEN'"
            )
            raise _HTTPError(
                Response(
                    401,
                    response.content_type,
                    response.body,
                    (("WWW-Authenticate", 'Bearer realm="ontomap"'),),
                ),
                close=True,
            )
        kind = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        body = self._body(MAX_UPDATE_BYTES)
        if kind == _FORM:
            form = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
            for name, values in form.items():
                params.setdefault(name, []).extend(values)
            text = _one(params, "update")
        elif kind == "application/sparql-update":
            text = body.decode("utf-8", errors="replace")
        else:
            raise _HTTPError(
                Response.text(
                    415,
                    f"POST an update as application/sparql-update or {_FORM} (update=...), "
                    f"not {kind or 'no Content-Type'}",
                )
            )
        if "using-graph-uri" in params or "using-named-graph-uri" in params:
            raise _HTTPError(
                Response.text(400, "using-graph-uri and using-named-graph-uri are not supported")
            )
        assert text is not None
        return self.app.pool.update(UpdateJob(text, base_iri=self._base_iri()))

    def _store(self, method: str, params: dict[str, list[str]]) -> Response:
        if method != "GET" and method != "HEAD" and not self.app.allow_update:
            raise _HTTPError(self._read_only(), close=True)  # a write, on a read-only server
        self._method(method, ("GET", "HEAD"))  # writes go through /update
        graph = _one(params, "graph", required=False)
        default = "default" in params
        if (graph is None) == (not default):
            raise _HTTPError(
                Response.text(400, "give exactly one of ?graph=IRI or ?default (Graph Store)")
            )
        job = GraphJob(
            graph,
            accept=self.headers.get("Accept"),
            formats=_formats(params),
            head=method == "HEAD",
        )
        return self._run(job)

    def _lookup(self, method: str, params: dict[str, list[str]]) -> Response:
        self._method(method, ("GET", "HEAD"))
        code = params.get("code", [])
        if len(code) != 1 or not code[0].strip():
            raise _HTTPError(_json_error("give one code: /lookup?code=RADLEX:RID5791"))
        to = _lookup_param(params, "to") or None
        offset = _count(params, "offset", 0, MAX_LOOKUP_OFFSET)
        limit = _count(params, "limit", DEFAULT_LIMIT, MAX_LOOKUP_LIMIT)
        descendants = _flag(params, "descendants")
        return self._run(LookupJob(code[0], to, offset, limit, descendants))

    def _fhir(self, method: str, params: dict[str, list[str]]) -> Response:
        url = urlsplit(self.path)
        _fhir, _, rest = url.path.removeprefix("/").partition("/")
        base, _, below = rest.partition("/")
        version = FHIR_BASES.get(base)
        if version is None:
            raise _HTTPError(
                Response.text(
                    404, f"no such path {url.path}; the FHIR bases are /fhir/r4, /fhir/r5"
                )
            )
        self._method(method, ("GET", "HEAD", "POST"))
        formats = params.pop("_format", [])
        wanted = formats[-1:] or [self.headers.get("Accept") or "*/*"]
        if not _fhir_acceptable(wanted[0]):
            raise _HTTPError(
                Response.text(
                    406, f"this server answers application/fhir+json only, not {wanted[0]}"
                )
            )
        params.pop("_pretty", None)
        body = None
        if method == "POST":
            kind = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            body = self._body(self.app.max_query_bytes)
            if kind == _FORM:
                form = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
                for name, values in form.items():
                    params.setdefault(name, []).extend(values)
                body, method = None, "GET"
            elif kind not in ("application/fhir+json", "application/json", "application/json+fhir"):
                raise _HTTPError(
                    Response.text(
                        415,
                        "POST a Parameters resource as application/fhir+json, not "
                        f"{kind or 'no Content-Type'}",
                    )
                )
        query = tuple((name, value) for name, values in params.items() for value in values)
        job_method = "GET" if method == "HEAD" else method
        return self._run(FhirJob(version, job_method, below, query, body))


def _formats(params: dict[str, list[str]]) -> tuple[str, ...]:
    """The values of the format parameters (:data:`FORMAT_PARAMETERS`), in order: the first
    that names a format the answer can be written in is used, the others are ignored."""
    return tuple(value for name in FORMAT_PARAMETERS for value in params.get(name, ()))


def _fhir_acceptable(accept: str) -> bool:
    """Whether an ``Accept`` header (or ``_format``) takes FHIR JSON."""
    for item in accept.split(","):
        media, *options = (part.strip() for part in item.split(";"))
        if any(o.replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000") for o in options):
            continue
        if media.lower() in _FHIR_ACCEPTED:
            return True
    return False


_FHIR_ISSUE = {400: "invalid", 404: "not-found", 405: "not-supported", 406: "not-supported"}
_FHIR_ISSUE |= {411: "structure", 413: "too-costly", 415: "not-supported", 421: "security"}
_FHIR_ISSUE |= {503: "timeout", 507: "too-costly"}


def _fhir_outcome(response: Response) -> Response:
    """A plain-text answer (an error of the HTTP layer or the worker pool) as a FHIR
    OperationOutcome with the same status and headers."""
    text = response.body.decode("utf-8", errors="replace").strip()
    severity = "error" if response.status >= 400 else "information"
    code = _FHIR_ISSUE.get(response.status, "exception" if response.status >= 500 else "invalid")
    resource = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "details": {"text": text}}],
    }
    body = json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
    return Response(response.status, FHIR_JSON, body, response.headers)


def _json_error(message: str) -> Response:
    return Response.json(400, {"error": message, "status": 400})


def _lookup_param(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name, [])
    if len(values) > 1:
        raise _HTTPError(_json_error(f"give the parameter {name!r} once, not {len(values)} times"))
    return values[0] if values else None


def _flag(params: dict[str, list[str]], name: str) -> bool:
    """The yes/no parameter ``name`` of a lookup (absent: no); anything but ``true``, ``1``,
    ``false`` or ``0`` answers 400."""
    value = _lookup_param(params, name)
    if value is None:
        return False
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no", ""):
        return False
    shown = repr(value) if len(value) <= 40 else repr(value[:40]) + "…"
    raise _HTTPError(_json_error(f"bad {name} {shown}: give true or false"))


def _count(params: dict[str, list[str]], name: str, default: int, largest: int) -> int:
    """The whole number ``name`` of a lookup, from 0 to ``largest`` (``default`` when absent);
    anything else answers 400 with a JSON error that says what is accepted."""
    value = _lookup_param(params, name)
    if value is None:
        return default
    if not re.fullmatch(r"[0-9]{1,10}", value) or int(value) > largest:
        shown = repr(value) if len(value) <= 40 else repr(value[:40]) + "…"
        raise _HTTPError(
            _json_error(
                f"bad {name} {shown}: give a whole number from 0 to {largest} (default {default})"
            )
        )
    return int(value)
