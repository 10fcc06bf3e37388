"""Worker processes that run queries, so one bad query cannot take the server down.

pyoxigraph cannot cancel a running query, so each query runs in a worker *process* that opens
the store read-only (``pyoxigraph.Store.read_only``). The HTTP front end hands a job to an idle
worker and waits for its answer:

- a job that has used ``demote_after`` seconds of CPU (read from ``/proc``; wall time where
  there is no ``/proc``) gets its worker's CPU priority lowered (``nice`` 19), so the other
  queries keep their speed while it runs on. CPU time, not wall time: under load a normal
  query waits for the CPU and must not be taken for a long one;
- a job that reaches ``timeout`` gets its worker killed (answer 503) and a fresh worker is
  started in the background; a demoted worker that finishes is replaced the same way (a
  process may not raise its own priority again);
- a request that finds no idle worker within ``timeout`` answers 503 (busy).

Updates (only with ``--allow-update``) need the store open read-write, which Oxigraph does not
allow beside read-only openings in other processes. So the pool has two modes: *read* (the
reader workers) and *write* (one writer process). An update waits for the running queries,
stops the readers, and runs in the writer; the writer stays up for the next update and the
readers come back on the next query or after :data:`WRITE_IDLE` seconds without updates.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path

from ontomap.errors import StoreError
from ontomap.server.jobs import Job, Response, UpdateJob

__all__ = ["UPDATE_TIMEOUT", "WRITE_IDLE", "WorkerPool", "worker_main"]

#: Seconds an update may run before its writer is killed (the update is then not applied).
UPDATE_TIMEOUT = 300.0
#: Seconds without updates after which the pool goes back from write to read mode.
WRITE_IDLE = 2.0
#: Seconds a new worker may take to start and open the store.
START_TIMEOUT = 60.0

_CONTEXT = multiprocessing.get_context("spawn")
#: Seconds between checks of a running job's CPU time.
_TICK = 0.2
#: The niceness of a demoted worker: well behind normal queries, yet not starved.
DEMOTED_NICE = 10
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def worker_main(conn: Connection, store_path: str, max_rows: int, writable: bool) -> None:
    """A worker process: open the store, say ``ready``, then answer jobs until told to stop
    (``None``) or until the front end goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the front end's to handle
    from ontomap.server.jobs import Executor
    from ontomap.store import Store

    try:
        store = Store(store_path, read_only=not writable)
        executor = Executor(store, max_rows)
    except Exception as exc:
        conn.send(("error", str(exc)))
        return
    conn.send(("ready", os.getpid()))
    try:
        while True:
            try:
                job = conn.recv()
            except (EOFError, OSError):
                break
            if job is None:
                break
            try:
                response = executor.run(job)
            except Exception as exc:
                response = Response.text(500, f"internal error: {type(exc).__name__}: {exc}")
            conn.send(response)
    finally:
        store.close()


class _Worker:
    """One worker process and the front end's end of its pipe."""

    def __init__(self, store_path: Path, max_rows: int, writable: bool) -> None:
        self.conn, child = _CONTEXT.Pipe()
        self.process = _CONTEXT.Process(
            target=worker_main,
            args=(child, str(store_path), max_rows, writable),
            name="ontomap-writer" if writable else "ontomap-reader",
            daemon=True,
        )
        self.process.start()
        child.close()
        self.demoted = False
        if not self.conn.poll(START_TIMEOUT):
            self.kill()
            raise StoreError(f"a worker did not open the store at {store_path} in time")
        try:
            status, detail = self.conn.recv()
        except (EOFError, OSError):
            self.kill()
            raise StoreError(f"a worker died while opening the store at {store_path}") from None
        if status != "ready":
            self.kill()
            raise StoreError(str(detail))

    @property
    def pid(self) -> int:
        return self.process.pid or 0

    def cpu_seconds(self) -> float | None:
        """CPU time the worker has used so far (Linux ``/proc``; ``None`` elsewhere)."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS

    def demote(self) -> None:
        """Lower the worker's CPU priority (it is running a long job)."""
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, self.pid, DEMOTED_NICE)
        self.demoted = True

    def kill(self) -> None:
        """Stop the worker at once (SIGKILL), whatever it is doing."""
        with contextlib.suppress(OSError):
            self.process.kill()
        self.process.join(5)
        self.conn.close()

    def stop(self) -> None:
        """Ask the worker to close its store and exit; kill it if it does not."""
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.process.join(10)
        if self.process.is_alive():
            self.kill()
        else:
            self.conn.close()


class _Gate:
    """A readers-writer gate: jobs share it, an update (or a mode switch) holds it alone.

    A waiting writer blocks new readers, so updates are not starved.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0

    @contextlib.contextmanager
    def shared(self, deadline: float) -> Iterator[bool]:
        """Enter as a reader before ``deadline``; yields whether it did."""
        with self._cond:
            entered = self._cond.wait_for(
                lambda: not (self._writer or self._writers_waiting),
                max(0.0, deadline - time.monotonic()),
            )
            if entered:
                self._readers += 1
        try:
            yield entered
        finally:
            if entered:
                with self._cond:
                    self._readers -= 1
                    self._cond.notify_all()

    @contextlib.contextmanager
    def exclusive(self, deadline: float) -> Iterator[bool]:
        """Enter alone before ``deadline``; yields whether it did."""
        with self._cond:
            self._writers_waiting += 1
            entered = self._cond.wait_for(
                lambda: not (self._writer or self._readers),
                max(0.0, deadline - time.monotonic()),
            )
            self._writers_waiting -= 1
            if entered:
                self._writer = True
            else:
                self._cond.notify_all()  # readers held back by this writer may go on
        try:
            yield entered
        finally:
            if entered:
                with self._cond:
                    self._writer = False
                    self._cond.notify_all()


def _busy(timeout: float) -> Response:
    return Response.text(
        503, f"the server is busy: no worker was free within {timeout:g} s; try again later"
    )


class WorkerPool:
    """Reader processes for queries and lookups, a writer process for updates.

    ``size`` readers open ``store_path`` read-only; each job may run ``timeout`` seconds (its
    worker is killed after that) and is demoted after ``demote_after`` seconds. ``log`` gets
    one line per notable event (a worker killed, restarted, or failing). ``demote_after`` is in
    CPU seconds (default: a quarter of the timeout, at least 1 s).
    """

    def __init__(
        self,
        store_path: Path,
        size: int,
        timeout: float,
        max_rows: int,
        demote_after: float | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.store_path = store_path
        self.size = size
        self.timeout = timeout
        self.max_rows = max_rows
        self.demote_after = demote_after if demote_after is not None else max(1.0, timeout / 4)
        self.log = log or (lambda message: print(message, file=sys.stderr, flush=True))
        self._gate = _Gate()
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._writer: _Worker | None = None
        self._last_update = 0.0
        self._closed = threading.Event()
        self._mode_lock = threading.Lock()
        self._restorer: threading.Thread | None = None
        #: Bumped whenever the readers are stopped together, so that a replacement started
        #: before does not add a reader too many afterwards.
        self._generation = 0
        self._live: set[_Worker] = set()
        self._live_lock = threading.Lock()

    # -------------------------------------------------------------- life cycle

    def start(self) -> None:
        """Start the readers; raises :class:`StoreError` when the store cannot be opened."""
        self._start_readers()

    def _start_readers(self) -> None:
        errors: list[BaseException] = []
        started: list[_Worker] = []

        def one() -> None:
            try:
                started.append(self._spawn(writable=False))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=one) for _ in range(self.size)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            for worker in started:
                worker.kill()
            raise errors[0]
        for worker in started:
            self._idle.put(worker)

    def _spawn(self, writable: bool) -> _Worker:
        worker = _Worker(self.store_path, self.max_rows, writable)
        with self._live_lock:
            self._live.add(worker)
        return worker

    def _forget(self, worker: _Worker) -> None:
        with self._live_lock:
            self._live.discard(worker)

    @property
    def pids(self) -> list[int]:
        """Process IDs of the live workers (readers and writer)."""
        with self._live_lock:
            return sorted(worker.pid for worker in self._live)

    def _stop_readers(self) -> None:
        """Stop every idle reader (call only while holding the gate alone: none is busy)."""
        self._generation += 1
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                return
            worker.stop()
            self._forget(worker)

    def close(self) -> None:
        """Stop every worker (running jobs are abandoned)."""
        self._closed.set()
        if self._writer is not None:
            self._writer.stop()
            self._forget(self._writer)
            self._writer = None
        with self._live_lock:
            workers, self._live = list(self._live), set()
        for worker in workers:
            worker.kill()

    # -------------------------------------------------------------- replacing workers

    def _replace(self, worker: _Worker, reason: str) -> None:
        """Kill ``worker`` and start another one in the background."""
        worker.kill()
        self._forget(worker)
        if self._closed.is_set():
            return
        self.log(f"worker {worker.pid} {reason}; starting another one")
        generation = self._generation
        threading.Thread(
            target=self._respawn, args=(generation,), name="ontomap-respawn", daemon=True
        ).start()

    def _respawn(self, generation: int) -> None:
        delay = 0.5
        while not self._closed.is_set():
            # A reader may only open the store while no writer has it.
            with self._gate.shared(time.monotonic() + UPDATE_TIMEOUT) as entered:
                if not entered:
                    continue
                if self._writer is not None or generation != self._generation:
                    return  # the readers were stopped together and come back together
                try:
                    self._idle.put(self._spawn(writable=False))
                    return
                except StoreError as exc:
                    self.log(f"cannot start a worker: {exc}; retrying in {delay:g} s")
            if self._closed.wait(delay):
                return
            delay = min(delay * 2, 10.0)

    # -------------------------------------------------------------- running jobs

    def run(self, job: Job) -> Response:
        """Run a query, lookup or graph read in a reader; 503 on timeout or when busy."""
        if isinstance(job, UpdateJob):
            return self.update(job)
        deadline = time.monotonic() + self.timeout
        if self._writer is not None:
            self._read_mode(deadline)
        with self._gate.shared(deadline) as entered:
            if not entered:
                return _busy(self.timeout)
            try:
                worker = self._idle.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return _busy(self.timeout)
            return self._execute(worker, job, self.timeout, self.demote_after)

    def _execute(self, worker: _Worker, job: Job, timeout: float, demote_after: float) -> Response:
        started = time.monotonic()
        cpu_start = worker.cpu_seconds()
        try:
            worker.conn.send(job)
            while True:
                remaining = timeout - (time.monotonic() - started)
                if remaining <= 0:
                    self._replace(worker, f"killed after {timeout:g} s")
                    return Response.text(
                        503,
                        f"the query was stopped after {timeout:g} s (the server's --timeout); "
                        "make it more selective (LIMIT, fewer unbound patterns) or ask the "
                        "server's operator for a longer timeout",
                    )
                if worker.conn.poll(remaining if worker.demoted else min(_TICK, remaining)):
                    break
                if not worker.demoted:
                    cpu_now = worker.cpu_seconds()
                    used = (
                        cpu_now - cpu_start
                        if cpu_now is not None and cpu_start is not None
                        else time.monotonic() - started
                    )
                    if used >= demote_after:
                        worker.demote()
            response: Response = worker.conn.recv()
        except (EOFError, OSError) as exc:
            self._replace(worker, f"failed ({exc or type(exc).__name__})")
            return Response.text(500, "the worker running the query died; try again")
        if worker.demoted:
            self._replace(worker, "demoted for a long job is replaced")
        else:
            self._idle.put(worker)
        return response

    # -------------------------------------------------------------- updates and modes

    def update(self, job: UpdateJob) -> Response:
        """Run an update in the writer process, alone (queries wait); 503 on timeout."""
        deadline = time.monotonic() + UPDATE_TIMEOUT
        with self._gate.exclusive(deadline) as entered:
            if not entered:
                return _busy(UPDATE_TIMEOUT)
            with self._mode_lock:
                if self._writer is None:
                    self._stop_readers()
                    try:
                        self._writer = self._spawn(writable=True)
                    except StoreError as exc:
                        self._start_readers()
                        return Response.text(500, f"cannot open the store for writing: {exc}")
                writer = self._writer
                try:
                    writer.conn.send(job)
                    ready = writer.conn.poll(UPDATE_TIMEOUT)
                    if not ready:
                        writer.kill()
                        self._forget(writer)
                        self._writer = None
                        self.log(f"writer {writer.pid} killed after {UPDATE_TIMEOUT:g} s")
                        self._start_readers()
                        return Response.text(
                            503, f"the update was stopped after {UPDATE_TIMEOUT:g} s; not applied"
                        )
                    response: Response = writer.conn.recv()
                except (EOFError, OSError):
                    writer.kill()
                    self._forget(writer)
                    self._writer = None
                    self._start_readers()
                    return Response.text(500, "the writer died during the update; not applied")
                self._last_update = time.monotonic()
        self._schedule_read_mode()
        return response

    def _read_mode(self, deadline: float) -> None:
        """Stop the writer and start the readers again (if still in write mode)."""
        with self._gate.exclusive(deadline) as entered, self._mode_lock:
            if entered and self._writer is not None:
                self._writer.stop()
                self._forget(self._writer)
                self._writer = None
                self._start_readers()

    def _schedule_read_mode(self) -> None:
        if self._restorer is not None and self._restorer.is_alive():
            return

        def restore() -> None:
            while not self._closed.is_set():
                idle = time.monotonic() - self._last_update
                if idle >= WRITE_IDLE:
                    if self._writer is not None:
                        self._read_mode(time.monotonic() + UPDATE_TIMEOUT)
                    return
                self._closed.wait(WRITE_IDLE - idle)

        self._restorer = threading.Thread(target=restore, name="ontomap-restore", daemon=True)
        self._restorer.start()
