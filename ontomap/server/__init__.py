"""``ontomap serve``: the knowledge graph over HTTP.

A SPARQL 1.1 Protocol endpoint, the read side of the Graph Store Protocol, a ``/lookup`` JSON
API and a small HTML page, on the standard library's threading HTTP server. Queries run in
worker processes (:mod:`ontomap.server.workers`) with a per-query timeout and a row cap, so a
bad query answers 503 and the server goes on serving.

>>> from ontomap.server import Server, ServerConfig
>>> server = Server(ServerConfig(store=Path("./kg"), port=0))  # doctest: +SKIP
>>> server.start(); print(server.url); server.serve_forever()  # doctest: +SKIP

See ``docs/server.md`` for the routes, formats and limits.
"""

from __future__ import annotations

import ipaddress
import os
import re
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from ontomap.server.app import MAX_QUERY_BYTES, App, HTTPServer, host_name
from ontomap.server.jobs import TRUNCATED_HEADER, QueryJob
from ontomap.server.workers import DEFAULT_MEMORY_LIMIT, WorkerPool

__all__ = [
    "MIN_WORKER_MEMORY",
    "TRUNCATED_HEADER",
    "QueryJob",
    "Server",
    "ServerConfig",
    "Shutdown",
    "WorkerPool",
    "default_workers",
]

#: The least ``--worker-memory`` accepted (bytes).
MIN_WORKER_MEMORY = 256 << 20


def default_workers() -> int:
    """Two reader processes per CPU (at most 8): a demoted long query then leaves the others
    most of the machine."""
    return max(2, min(8, 2 * (os.cpu_count() or 1)))


@dataclass(frozen=True)
class ServerConfig:
    """Settings of ``ontomap serve`` (see its ``--help``)."""

    store: Path
    host: str = "127.0.0.1"
    port: int = 7878
    timeout: float = 10.0
    max_rows: int = 100_000
    workers: int = field(default_factory=default_workers)
    allow_update: bool = False
    token: str | None = None
    access_log: bool = False
    #: Host names answered besides localhost, 127.0.0.1 and [::1] (``--allowed-host``).
    allowed_hosts: tuple[str, ...] = ()
    #: Largest query body, in bytes (``--max-query-size``).
    max_query_bytes: int = MAX_QUERY_BYTES
    #: Private memory each query worker may use, in bytes (``None``: no limit).
    worker_memory: int | None = DEFAULT_MEMORY_LIMIT
    #: Origins whose web pages may read the answers (``--cors``; ``*``: any).
    cors: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.allow_update and not self.token:
            raise ValueError("--allow-update needs a --token (sent as 'Authorization: Bearer')")
        if self.token and not self.allow_update:
            raise ValueError("--token is only used with --allow-update")
        if self.timeout <= 0:
            raise ValueError("--timeout must be positive")
        if self.max_rows < 1:
            raise ValueError("--max-rows must be at least 1")
        if self.workers < 1:
            raise ValueError("--workers must be at least 1")
        if self.max_query_bytes < 1:
            raise ValueError("--max-query-size must be at least 1 byte")
        if self.worker_memory is not None and self.worker_memory < MIN_WORKER_MEMORY:
            raise ValueError(
                "--worker-memory must be at least 256M: a worker uses about 150 MB to open the "
                "store and check queries"
            )
        for origin in self.cors:
            if origin != "*" and not re.fullmatch(r"https?://[^/?#\s]+/?", origin):
                raise ValueError(
                    f"--cors {origin!r} is not an origin: give scheme and host (and port), "
                    "e.g. --cors https://app.example.org, or --cors '*' for any"
                )
        for name in self.allowed_hosts:
            host = _allowed_name(name)
            if host is None:
                raise ValueError(
                    f"--allowed-host {name!r} is not a host name (give it without scheme, "
                    "port or path, e.g. --allowed-host kg.example.org)"
                )

    @property
    def host_names(self) -> frozenset[str] | None:
        """The host names answered besides the loopback ones, ``None`` for any: a server on
        loopback answers only its own names, unless ``--allowed-host`` adds some; one on
        another address answers any name unless ``--allowed-host`` is given."""
        names = frozenset(_allowed_name(name) or name for name in self.allowed_hosts)
        if not names and not _is_loopback(self.host):
            return None
        return names


class Shutdown(KeyboardInterrupt):
    """Raised in the main thread by SIGTERM once the server is started (a kind of
    KeyboardInterrupt, so that one ``except KeyboardInterrupt`` handles Ctrl-C and SIGTERM)."""


def _on_term(_signum: int, _frame: FrameType | None) -> None:
    raise Shutdown


def _allowed_name(name: str) -> str | None:
    """An ``--allowed-host`` value as :func:`~ontomap.server.app.host_name` gives it (an
    IPv6 address in brackets), ``None`` if it is not a bare host name."""
    name = name.strip().lower()
    try:
        return f"[{ipaddress.IPv6Address(name.strip('[]'))}]"
    except ValueError:
        pass
    host = host_name(name)
    return host if host == name and "/" not in name and "@" not in name else None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Server:
    """The HTTP server and its worker pool. :meth:`start` binds the port and starts the
    workers; :meth:`serve_forever` answers requests until Ctrl-C or SIGTERM."""

    def __init__(self, config: ServerConfig, log: Callable[[str], None] | None = None) -> None:
        self.config = config
        self.pool = WorkerPool(
            config.store,
            config.workers,
            config.timeout,
            config.max_rows,
            log=log,
            memory_limit=config.worker_memory,
        )
        self.app = App(
            self.pool,
            config.allow_update,
            config.token,
            config.access_log,
            allowed_hosts=config.host_names,
            max_query_bytes=config.max_query_bytes,
            cors=frozenset(config.cors),
        )
        self.httpd: HTTPServer | None = None
        self._previous_handler: object = None

    @property
    def url(self) -> str:
        """The server's base URL (with the actual port when started on port 0)."""
        if self.httpd is None:
            raise RuntimeError("the server is not started")
        host, port = self.httpd.server_address[:2]
        shown = f"[{host}]" if ":" in str(host) else str(host)
        return f"http://{shown}:{port}/"

    @property
    def loopback(self) -> bool:
        """Whether the server only listens on the loopback interface."""
        return _is_loopback(self.config.host)

    def start(self) -> None:
        """Bind the port (``OSError`` if taken), then start the workers (:class:`StoreError`
        if the store cannot be opened)."""
        self.httpd = HTTPServer((self.config.host, self.config.port), self.app)
        if threading.current_thread() is threading.main_thread():
            self._previous_handler = signal.signal(signal.SIGTERM, _on_term)
        try:
            self.pool.start()
        except BaseException:
            self.close()
            raise

    def serve_forever(self) -> None:
        """Answer requests until Ctrl-C or SIGTERM (or :meth:`shutdown`), then stop the
        workers and return."""
        assert self.httpd is not None
        try:
            self.httpd.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            pass
        finally:
            self.close()

    def shutdown(self) -> None:
        """Stop :meth:`serve_forever` from another thread."""
        if self.httpd is not None:
            self.httpd.shutdown()

    def close(self) -> None:
        """Close the listening socket, stop every worker, restore the SIGTERM handler."""
        if self.httpd is not None:
            self.httpd.server_close()
        self.pool.close()
        if self._previous_handler is not None:
            signal.signal(signal.SIGTERM, self._previous_handler)  # type: ignore[arg-type]
            self._previous_handler = None
