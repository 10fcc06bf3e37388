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
``/lookup``   GET          ``?code=...[&to=SYSTEM]``: ``ontomap lookup --format json``'s JSON
``/queries``  GET          the named queries (name, description, parameters, text) as JSON
============  ===========  =================================================================

The front end never opens the store: every job goes to the :class:`WorkerPool`.
"""

from __future__ import annotations

import hmac
import html
import json
import socket
import sys
import traceback
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ontomap import __version__
from ontomap.backends import keywords
from ontomap.query import UPDATE_KEYWORDS, leading_keyword, named_queries
from ontomap.server.jobs import GraphJob, Job, LookupJob, QueryJob, Response, UpdateJob
from ontomap.server.workers import WorkerPool
from ontomap.terminology import default_registry

__all__ = ["MAX_QUERY_BYTES", "MAX_UPDATE_BYTES", "App", "HTTPServer", "Handler"]

#: Largest query body accepted (bytes).
MAX_QUERY_BYTES = 8 * 1024 * 1024
#: Largest update body accepted (bytes); ``ontomap push`` sends far smaller batches.
MAX_UPDATE_BYTES = 512 * 1024 * 1024

_FORM = "application/x-www-form-urlencoded"


class _HTTPError(Exception):
    """An answer decided while reading the request (bad parameters, too large...)."""

    def __init__(self, response: Response, close: bool = False) -> None:
        super().__init__(response.body.decode(errors="replace"))
        self.response = response
        self.close = close


@cache
def page() -> bytes:
    """The HTML page, shipped as ``page.html`` in this package, with the registry's code
    systems as the choices of its "in" menu."""
    text = resources.files("ontomap.server").joinpath("page.html").read_text(encoding="utf-8")
    options = "\n".join(
        f'      <option value="{html.escape(s.key)}">{html.escape(s.label)}</option>'
        for s in default_registry().systems
    )
    return text.replace("      <!--SYSTEMS-->", options).encode()


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


class App:
    """What the handlers share: the worker pool and the server's settings."""

    def __init__(
        self,
        pool: WorkerPool,
        allow_update: bool = False,
        token: str | None = None,
        access_log: bool = False,
    ) -> None:
        if allow_update and not token:
            raise ValueError("updates need a token")
        self.pool = pool
        self.allow_update = allow_update
        self.token = token
        self.access_log = access_log

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
    server_version = f"ontomap/{__version__}"
    sys_version = ""
    #: Seconds an idle keep-alive connection is kept.
    timeout = 60

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
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in response.headers:
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if not head and response.body:
            self.wfile.write(response.body)

    def _body(self, limit: int) -> bytes:
        length = self.headers.get("Content-Length")
        if length is None:
            if self.headers.get("Transfer-Encoding"):
                raise _HTTPError(
                    Response.text(411, "send the body with a Content-Length (no chunked bodies)"),
                    close=True,
                )
            return b""
        try:
            size = int(length)
        except ValueError:
            raise _HTTPError(Response.text(400, "bad Content-Length"), close=True) from None
        if size > limit:
            raise _HTTPError(
                Response.text(413, f"the body is {size} bytes; this server takes at most {limit}"),
                close=True,
            )
        return self.rfile.read(size)

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        params = parse_qs(url.query, keep_blank_values=True)
        routes = {
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
        close = False
        try:
            if route is None:
                raise _HTTPError(Response.text(404, f"no such path {url.path}; see / for the page"))
            response = route(method, params)
        except _HTTPError as exc:
            response, close = exc.response, exc.close
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away while sending
            return
        except Exception:
            traceback.print_exc(file=sys.stderr)
            response = Response.text(500, "internal server error (see the server's log)")
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
            body = self._body(MAX_QUERY_BYTES)
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
        if "SERVICE" in keywords(text):
            raise _HTTPError(
                Response.text(
                    400,
                    "SERVICE (federated query) is not allowed here: this server does not "
                    "send requests to other servers for its clients",
                )
            )
        job = QueryJob(
            text,
            accept=self.headers.get("Accept"),
            format=_one(params, "format", required=False),
            default_graphs=tuple(params.get("default-graph-uri", ())),
            named_graphs=tuple(params.get("named-graph-uri", ())),
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
        return self.app.pool.update(UpdateJob(text))

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
            graph, accept=self.headers.get("Accept"), format=_one(params, "format", False)
        )
        return self._run(job)

    def _lookup(self, method: str, params: dict[str, list[str]]) -> Response:
        self._method(method, ("GET", "HEAD"))
        code = params.get("code", [])
        if len(code) != 1 or not code[0].strip():
            raise _HTTPError(
                Response.json(
                    400, {"error": "give one code: /lookup?code=RADLEX:RID5791", "status": 400}
                )
            )
        to = params.get("to", [None])[0] or None
        return self._run(LookupJob(code[0], to))
