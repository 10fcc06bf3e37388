"""Worker processes that run queries, so one bad query cannot take the server down.

pyoxigraph cannot cancel a running query, so each query runs in a *reader* process that opens
one generation of the store read-only (see :mod:`ontomap.generations`). The HTTP front end
hands a job to an idle reader and waits for its answer:

- requests that find no idle reader wait in a queue, first come first served, for at most
  ``timeout`` seconds; at most :data:`QUEUE_PER_WORKER` per reader may wait. Beyond either
  the answer is 503 (busy, with ``Retry-After``);
- a job that has used ``demote_after`` seconds of CPU (read from ``/proc``; wall time where
  there is no ``/proc``) or a quarter of its memory limit gets its reader's CPU priority
  lowered, so the other queries keep their speed while it runs on. CPU time, not wall time:
  under load a normal query waits for the CPU and must not be taken for a long one;
- a job that reaches ``timeout`` gets its reader killed (503) and a fresh reader is started in
  the background; a demoted reader that finishes is replaced the same way (a process may not
  raise its own priority again);
- a reader may use ``memory_limit`` bytes (``RLIMIT_DATA``: its heap and other private
  memory, not the store's files nor reserved address space); a job that needs more answers
  507 and its reader is replaced;
- readers cannot reach the network (a new, empty network namespace, where the kernel allows
  it), so a federated query (``SERVICE``) that got past the front end reaches nothing;
- every worker dies with the server, even one killed with SIGKILL (``PR_SET_PDEATHSIG``).

**Generations.** The readers all serve one generation. A watcher notices within
:data:`GENERATION_POLL` seconds when the store's current generation changes (``ontomap
build``, an update); it then starts a full set of readers on the new generation while the old
ones go on serving, and switches: every job dispatched afterwards runs on the new generation,
and an answer from the old one that would come after an answer from the new one is computed
again on the new one. So clients never see the store go back in time. The old readers stop as
their jobs end, which releases the old generation.

**Updates** (only with ``--allow-update``) run one at a time in a *writer* process, each as
``with Store(path) as store: ...``: a new generation that is committed when the update
succeeds and discarded when it fails. The readers are switched to it before the client gets
its answer, so a client reads its own writes.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import multiprocessing.context
import multiprocessing.process
import os
import signal
import sys
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from ontomap.errors import StoreError
from ontomap.generations import generation_dir
from ontomap.server.jobs import FhirJob, GraphJob, Job, LookupJob, Response, UpdateJob
from ontomap.store import GenerationGoneError, current_generation

__all__ = [
    "ANSWER_CACHE_BYTES",
    "DEFAULT_MEMORY_LIMIT",
    "GENERATION_POLL",
    "GRAPH_CACHE_BYTES",
    "QUEUE_PER_WORKER",
    "UPDATE_TIMEOUT",
    "AnswerCache",
    "WorkerPool",
    "worker_main",
    "writer_main",
]

#: Bytes of private memory (``RLIMIT_DATA``) a reader may use. A reader of the full corpus
#: store uses about 110 MB at rest and 320 MB for the largest answer it gives (a Graph Store
#: dump of the default graph); 1 GiB leaves room for stores a few times larger.
DEFAULT_MEMORY_LIMIT = 1 << 30
#: Seconds an update may run before its writer is killed (the update is then not applied).
UPDATE_TIMEOUT = 300.0
#: Seconds a new worker may take to start and open the store.
START_TIMEOUT = 60.0
#: Seconds between two looks at the store's current generation.
GENERATION_POLL = 0.5
#: Requests that may wait for a free reader, per reader; more get 503 at once.
QUEUE_PER_WORKER = 16
#: The niceness of a demoted worker: well behind normal queries, yet not starved.
DEMOTED_NICE = 10
#: Bytes of lookup answers the front end keeps for the generation it serves (see
#: :class:`AnswerCache`).
ANSWER_CACHE_BYTES = 64 << 20
#: Bytes of Graph Store answers (whole graphs, ``/store?default`` above all: about 45 MB of
#: N-Triples on a corpus of 2,400 models) the front end keeps for the generation it serves.
GRAPH_CACHE_BYTES = 256 << 20

#: Seconds between checks of a running job's CPU time and memory.
_TICK = 0.2
#: The share of its memory limit at which a job is demoted, as it is after a quarter of its
#: timeout in CPU time: a query that fills memory that fast is a runaway one.
_DEMOTE_MEMORY = 0.25
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
#: A worker using this share of its memory limit that sleeps without using CPU for
#: ``_STUCK`` seconds is taken for stuck there (an allocation that fails while Rust prints a
#: panic can wait forever): it is replaced and the job answers 507.
_NEAR_LIMIT = 0.75
_STUCK = 1.0
#: What a reader sends instead of an answer when Python ran out of memory (it then exits).
_OUT_OF_MEMORY = "out of memory"
#: What Rust (``handle_alloc_error``) and C++ (``std::bad_alloc``) write on stderr before they
#: abort the process for an allocation that failed.
_ALLOCATION_FAILED = (b"memory allocation of ", b"std::bad_alloc")
_PR_SET_PDEATHSIG = 1
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000
_LINUX = sys.platform.startswith("linux")


def _context() -> multiprocessing.context.ForkServerContext | multiprocessing.context.SpawnContext:
    """The fork server where there is one: a worker then starts in milliseconds, forked from a
    process that has already imported ontomap, and its parent is that process's one thread,
    which lives as long as the server (``PR_SET_PDEATHSIG`` follows the parent *thread*: a
    worker started from a request's thread would die with that thread)."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        # the first preload makes the fork server, and every worker forked from it, ignore
        # Ctrl-C from the start: the terminal sends it to the whole process group, and the
        # front end alone handles it
        context.set_forkserver_preload(["ontomap._ignore_ctrl_c", "ontomap.server.workers"])
        _start_fork_server()
        return context
    return multiprocessing.get_context("spawn")


def _start_fork_server() -> None:
    """Start the fork server, if it is not running, with SIGINT ignored from its first
    instruction (an ignored signal stays ignored across ``exec``, and Python then installs no
    KeyboardInterrupt handler): its interpreter start-up, before any preload, cannot die of
    a Ctrl-C with a traceback. Only the main thread can set the handler back, so elsewhere
    the start is left to the first worker (the preload still covers the rest). A Ctrl-C in
    the few milliseconds of the ``fork``/``exec`` is lost; the next one is not."""
    if threading.current_thread() is not threading.main_thread():
        return
    import multiprocessing.forkserver

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        multiprocessing.forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, previous)


# ------------------------------------------------------------------ in the worker process


def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def _exit_with(parent: multiprocessing.process.BaseProcess) -> None:
    parent.join()  # returns when the server's end of the lifeline closes: it is gone
    os._exit(1)


def _die_with_parent() -> None:
    """Die with the server, however it ends (even by SIGKILL).

    Three lines: the kernel kills this process when its parent dies (``PR_SET_PDEATHSIG``,
    Linux; the parent is the fork server, which exits with the server); a thread waits on
    the server's end of a pipe and exits when it closes (queries release the GIL, so it runs
    during one); and if the server died before all this was set up, exit now.
    """
    libc = _libc() if _LINUX else None
    if libc is not None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    if not parent.is_alive():
        os._exit(1)
    threading.Thread(
        target=_exit_with, args=(parent,), name="ontomap-lifeline", daemon=True
    ).start()
    # A child of the fork server inherits the fork server's lifeline (so that it could start
    # processes of its own); holding it would keep the fork server alive after the server.
    forkserver = sys.modules.get("multiprocessing.forkserver")
    state = getattr(forkserver, "_forkserver", None)
    lifeline = getattr(state, "_forkserver_alive_fd", None)
    if lifeline is not None:
        with contextlib.suppress(OSError):
            os.close(lifeline)
        state._forkserver_alive_fd = None  # type: ignore[union-attr]


def _cut_network() -> str | None:
    """Move this process into a new network namespace, which has no interface but a loopback
    that is down: no connection can be made, to another machine or to this one. ``None`` when
    done, else why not. Needs root, or an unprivileged user namespace (then tried as well,
    mapping this process's user and group to themselves); call it while single-threaded."""
    if not _LINUX:
        return "network namespaces exist on Linux only"
    libc = _libc()
    if libc is None:
        return "the C library cannot be loaded"
    if libc.unshare(_CLONE_NEWNET) == 0:
        return None
    alone = os.strerror(ctypes.get_errno())
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET) != 0:
        together = os.strerror(ctypes.get_errno())
        return f"unshare(CLONE_NEWNET): {alone}; with CLONE_NEWUSER: {together}"
    with contextlib.suppress(OSError):  # unmapped, the files still belong to the same user
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
        Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
    return None


def _limit_memory(limit: int | None) -> None:
    if limit is None:
        return
    import resource

    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))


def _setup(errors: Connection, cut_network: bool, memory_limit: int | None) -> str | None:
    """What every worker does first; returns why the network could not be cut off. What the
    worker writes on stderr goes into ``errors``, which the front end reads (and relays)."""
    os.dup2(errors.fileno(), 2)
    errors.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the front end's to handle
    # Out of memory, Rust aborts at once; printing a backtrace first would need memory too.
    os.environ["RUST_BACKTRACE"] = "0"
    network = _cut_network() if cut_network else "not asked to"
    _die_with_parent()
    _limit_memory(memory_limit)
    return network


def worker_main(
    conn: Connection,
    errors: Connection,
    store_path: str,
    generation: str,
    max_rows: int,
    memory_limit: int | None,
    describe: bool,
) -> None:
    """A reader: cut itself off from the network, open ``generation`` of the store read-only,
    say ``ready`` (with the number of models when ``describe``), then answer jobs until told
    to stop (``None``) or until the front end goes away."""
    network = _setup(errors, cut_network=True, memory_limit=memory_limit)
    from ontomap.server.jobs import Executor
    from ontomap.store import Store

    try:
        store = Store(store_path, read_only=True, generation=generation)
        executor = Executor(store, max_rows)
        models = len(store.model_ids()) if describe else None
    except GenerationGoneError as exc:
        conn.send(("gone", str(exc)))
        return
    except MemoryError:
        conn.send(("error", "it ran out of memory while opening the store"))
        return
    except Exception as exc:
        conn.send(("error", str(exc)))
        return
    conn.send(("ready", (os.getpid(), store.generation, models, network)))
    try:
        while True:
            try:
                job = conn.recv()
            except (EOFError, OSError):
                break
            if job is None:
                break
            try:
                conn.send(executor.run(job))
            except MemoryError:
                with contextlib.suppress(Exception):
                    conn.send(_OUT_OF_MEMORY)
                break
            except Exception as exc:
                conn.send(Response.text(500, f"internal error: {type(exc).__name__}: {exc}"))
    finally:
        store.close()


def _apply(store_path: str, max_rows: int, job: UpdateJob) -> tuple[Response, str | None]:
    """Run one update in a new generation, its crosswalk graph recomputed from the updated
    models: committed when it succeeds, discarded otherwise. The answer and the new
    generation's name (``None``: nothing changed)."""
    from ontomap.crosswalk import materialise
    from ontomap.server.jobs import Executor
    from ontomap.store import Store, StoreBusyError

    try:
        store = Store(store_path)
    except StoreBusyError as exc:
        return Response.text(503, f"{exc}; the update was not applied"), None
    except StoreError as exc:
        return Response.text(500, f"cannot open the store for writing: {exc}"), None
    try:
        response = Executor(store, max_rows).update(job)
        if response.status < 300:
            materialise(store)  # the crosswalk follows the models it is computed from
    except BaseException:
        store.abort()
        raise
    if response.status >= 300:
        store.abort()
        return response, None
    return response, store.commit()


def writer_main(conn: Connection, errors: Connection, store_path: str, max_rows: int) -> None:
    """The writer: say ``ready``, then apply updates one by one (see :func:`_apply`) and
    answer each with ``(response, generation)``. It keeps its network: an update may ``LOAD``
    a URL, and only the token holder may send updates."""
    _setup(errors, cut_network=False, memory_limit=None)
    conn.send(("ready", (os.getpid(), None, None, "not asked to")))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            conn.send(_apply(store_path, max_rows, job))
        except Exception as exc:
            message = f"internal error: {type(exc).__name__}: {exc}; the update was not applied"
            conn.send((Response.text(500, message), None))


# ------------------------------------------------------------------ in the front end


class _Worker:
    """One worker process and the front end's end of its pipe.

    ``epoch`` says which set of readers it belongs to (0: none yet; see :class:`WorkerPool`).
    """

    def __init__(self, name: str, target: Callable[..., None], args: tuple[object, ...]) -> None:
        context = _context()
        self.conn, child = context.Pipe()
        self._errors, child_errors = context.Pipe(duplex=False)
        self.process = context.Process(
            target=target, args=(child, child_errors, *args), name=name, daemon=True
        )
        self.process.start()
        child.close()
        child_errors.close()
        #: The end of what the worker wrote on stderr (to tell how it died).
        self._tail = b""
        self._relay = threading.Thread(
            target=self._relay_errors, name=f"{name}-stderr", daemon=True
        )
        self._relay.start()
        self.epoch = 0
        self.demoted = False
        #: Private memory in use at the last look during the running job (bytes).
        self.used = 0
        self.generation: str | None = None
        self.models: int | None = None
        self.network: str | None = None

    def _relay_errors(self) -> None:
        """Copy what the worker writes on stderr to the server's, keeping its end."""
        fd = self._errors.fileno()
        try:
            while chunk := os.read(fd, 65536):
                self._tail = (self._tail + chunk)[-4096:]
                with contextlib.suppress(OSError):
                    os.write(2, chunk)
        except OSError:
            pass
        finally:
            self._errors.close()

    def ran_out_of_memory(self) -> bool:
        """Whether the worker, now dead, said an allocation failed (Rust and C++ abort then)."""
        self._relay.join(2)
        return any(marker in self._tail for marker in _ALLOCATION_FAILED)

    def wait_ready(self, store_path: Path, memory_limit: int | None) -> None:
        """Wait for ``ready``; :class:`StoreError` (or :class:`GenerationGoneError`) if the
        worker cannot open the store."""
        if not self.conn.poll(START_TIMEOUT):
            self.kill()
            raise StoreError(f"a worker did not open the store at {store_path} in time")
        try:
            status, detail = self.conn.recv()
        except (EOFError, OSError):
            self.kill()
            if memory_limit is not None and self.ran_out_of_memory():
                raise StoreError(
                    f"a worker cannot open the store at {store_path} within its memory limit "
                    f"of {_mb(memory_limit)}; give it more (ontomap serve --worker-memory)"
                ) from None
            raise StoreError(f"a worker died while opening the store at {store_path}") from None
        if status == "gone":
            self.kill()
            raise GenerationGoneError(str(detail))
        if status != "ready":
            self.kill()
            raise StoreError(str(detail))
        _pid, self.generation, self.models, self.network = detail

    @property
    def pid(self) -> int:
        return self.process.pid or 0

    def _status(self, field: str) -> int | None:
        """A ``/proc/PID/status`` figure in bytes (``None`` where there is none)."""
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            pass
        return None

    def memory(self) -> int | None:
        """The private memory the worker uses (what its ``RLIMIT_DATA`` counts)."""
        return self._status("VmData")

    def _stat(self) -> list[str] | None:
        """The fields of ``/proc/PID/stat`` after the command name (``None`` elsewhere)."""
        try:
            return Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None

    def cpu_seconds(self) -> float | None:
        """CPU time the worker has used so far (Linux ``/proc``; ``None`` elsewhere)."""
        fields = self._stat()
        return None if fields is None else (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS

    def asleep(self) -> bool:
        """Whether the worker's main thread, which runs the jobs, waits (neither runs nor is
        ready to)."""
        fields = self._stat()
        return fields is not None and fields[0] == "S"

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


class _NoWorker(Exception):
    """No reader became free for a request (the queue is full, or the wait too long)."""


@dataclass(eq=False)
class _Waiter:
    event: threading.Event
    worker: _Worker | None = None


class _Queue:
    """Idle readers, and the requests waiting for one: first come, first served.

    A freed reader goes straight to the oldest waiting request, so a request that has just
    arrived cannot take it from one that has waited longer. At most ``limit`` requests wait.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._idle: deque[_Worker] = deque()
        self._waiting: deque[_Waiter] = deque()

    def get(self, deadline: float) -> _Worker:
        """An idle reader, waiting until ``deadline`` for one; :class:`_NoWorker` if none."""
        with self._lock:
            if self._idle and not self._waiting:
                return self._idle.popleft()
            if len(self._waiting) >= self.limit:
                raise _NoWorker(f"{len(self._waiting)} requests are already waiting")
            waiter = _Waiter(threading.Event())
            self._waiting.append(waiter)
        waiter.event.wait(max(0.0, deadline - time.monotonic()))
        with self._lock:
            if waiter.worker is None:  # not served in time (served meanwhile: take it)
                self._waiting.remove(waiter)
                raise _NoWorker("no worker was free in time")
            return waiter.worker

    def put(self, worker: _Worker) -> None:
        """Hand ``worker`` to the oldest waiting request, or keep it idle."""
        with self._lock:
            if self._waiting:
                waiter = self._waiting.popleft()
                waiter.worker = worker
                waiter.event.set()
            else:
                self._idle.append(worker)

    def take_idle(self) -> list[_Worker]:
        """Remove and return every idle reader."""
        with self._lock:
            idle, self._idle = list(self._idle), deque()
        return idle

    @property
    def waiting(self) -> int:
        with self._lock:
            return len(self._waiting)


def _busy(reason: str, timeout: float) -> Response:
    response = Response.text(
        503, f"the server is busy ({reason}; a request waits at most {timeout:g} s); try again"
    )
    return Response(503, response.content_type, response.body, (("Retry-After", "1"),))


def _mb(size: int) -> str:
    return f"{size / 2**20:g} MB"


def _out_of_memory(limit: int) -> Response:
    return Response.text(
        507,
        f"the query needed more than {_mb(limit)} of memory (the server's limit per query) "
        "and was stopped; make it more selective (LIMIT, fewer unbound patterns, no ORDER BY "
        "over a large result) or ask the server's operator for more (--worker-memory)",
    )


def _describe(generation: str, models: int | None) -> str:
    count = "" if models is None else f" ({models} model{'' if models == 1 else 's'})"
    return f"generation {generation}{count}" if generation else f"the store{count}"


class AnswerCache:
    """Answers to lookups of the generation served, at most ``max_bytes`` of them (bodies,
    plus :data:`ENTRY_BYTES` each), the least recently used dropped first.

    A lookup's answer depends only on the generation and the job, and a generation never
    changes: an answer given once can be given again, without a worker, as long as that
    generation is served. The pool empties the cache when it switches to another generation
    and keeps only answers of the generation served. Only answers 200 are kept, under the code
    and system as parsed and the page (:meth:`LookupJob.answer_key`): the keys are bounded by
    the store's codes, whatever text clients send; errors are cheap to compute again.
    """

    #: What an entry costs besides its body (key, response object, the order's links).
    ENTRY_BYTES = 512

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._answers: OrderedDict[tuple[object, ...], Response] = OrderedDict()

    @staticmethod
    def _cost(answer: Response) -> int:
        return len(answer.body) + AnswerCache.ENTRY_BYTES

    def get(self, key: tuple[object, ...]) -> Response | None:
        answer = self._answers.get(key)
        if answer is not None:
            self._answers.move_to_end(key)
        return answer

    def put(self, key: tuple[object, ...], answer: Response) -> None:
        if answer.status != 200 or self._cost(answer) > self.max_bytes:
            return
        old = self._answers.pop(key, None)
        if old is not None:
            self.size -= self._cost(old)
        self._answers[key] = answer
        self.size += self._cost(answer)
        while self.size > self.max_bytes:
            _key, dropped = self._answers.popitem(last=False)
            self.size -= self._cost(dropped)

    def clear(self) -> None:
        self._answers.clear()
        self.size = 0

    def __len__(self) -> int:
        return len(self._answers)


class WorkerPool:
    """Reader processes for queries, lookups and graph reads; a writer process for updates.

    ``size`` readers serve the current generation of ``store_path`` read-only; each job may run
    ``timeout`` seconds (its worker is killed after that) and is demoted after
    ``demote_after`` CPU seconds (default: a quarter of the timeout, at least 1 s). Each
    reader may use ``memory_limit`` bytes of private memory (``None``: no limit). Lookup
    answers of the generation served are kept in an :class:`AnswerCache` of
    ``answer_cache_bytes`` (0: none), Graph Store answers in another of ``graph_cache_bytes``
    (a whole graph takes seconds to read from the store). ``log`` gets one line per notable
    event (the generation served, a worker killed, restarted or failing).
    """

    def __init__(
        self,
        store_path: Path,
        size: int,
        timeout: float,
        max_rows: int,
        demote_after: float | None = None,
        log: Callable[[str], None] | None = None,
        memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
        answer_cache_bytes: int = ANSWER_CACHE_BYTES,
        graph_cache_bytes: int = GRAPH_CACHE_BYTES,
    ) -> None:
        if memory_limit is not None and memory_limit <= 0:
            raise ValueError("the memory limit must be positive (or None for no limit)")
        self.store_path = store_path
        self.size = size
        self.timeout = timeout
        self.max_rows = max_rows
        self.memory_limit = memory_limit
        self.demote_after = demote_after if demote_after is not None else max(1.0, timeout / 4)
        self.log = log or (lambda message: print(message, file=sys.stderr, flush=True))
        #: Why the readers cannot be cut off from the network (``None``: they are).
        self.network_problem: str | None = None
        self._queue = _Queue(QUEUE_PER_WORKER * size)
        self._closed = threading.Event()
        #: Guards the set of readers: epoch, generation, live workers.
        self._lock = threading.Lock()
        self._epoch = 0
        self._generation: str | None = None
        #: The generation served, as its name and its folder's device and inode: a store
        #: deleted and built again starts again at the same name.
        self._serving: tuple[str, int, int] | None = None
        #: The newest epoch an answer has been given from.
        self._answered = 0
        #: Lookup answers of the generation served (guarded by ``_lock``).
        self._answers = AnswerCache(answer_cache_bytes)
        #: Graph Store answers of the generation served (guarded by ``_lock``).
        self._graphs = AnswerCache(graph_cache_bytes)
        self._live: set[_Worker] = set()
        self._switching = threading.Lock()
        self._updating = threading.Lock()
        self._writer: _Worker | None = None
        self._watcher: threading.Thread | None = None
        self._unreadable: str | None = None

    # -------------------------------------------------------------- life cycle

    def start(self) -> None:
        """Start the readers on the current generation and watch for new ones; raises
        :class:`StoreError` when the store cannot be opened."""
        self._refresh(first=True)
        self._watcher = threading.Thread(
            target=self._watch, name="ontomap-generations", daemon=True
        )
        self._watcher.start()

    @property
    def generation(self) -> str | None:
        """The generation the readers serve (``""``: a store from before generations)."""
        return self._generation

    @property
    def waiting(self) -> int:
        """How many requests are waiting for a free reader."""
        return self._queue.waiting

    @property
    def pids(self) -> list[int]:
        """Process IDs of the live workers (readers and writer)."""
        with self._lock:
            return sorted(worker.pid for worker in self._live)

    def close(self) -> None:
        """Stop every worker (running jobs are abandoned)."""
        self._closed.set()
        with self._lock:
            workers, self._live = list(self._live), set()
        for worker in workers:
            worker.kill()
        self._writer = None

    # -------------------------------------------------------------- starting workers

    def _spawn(self, name: str, target: Callable[..., None], args: tuple[object, ...]) -> _Worker:
        if not self._closed.is_set():
            worker = _Worker(name, target, args)
            with self._lock:
                if not self._closed.is_set():
                    self._live.add(worker)
                    return worker
            worker.kill()
        raise StoreError("the server is shutting down")

    def _forget(self, worker: _Worker) -> None:
        with self._lock:
            self._live.discard(worker)

    def _readers(self, generation: str, count: int, describe: bool = True) -> list[_Worker]:
        """``count`` readers started together on ``generation`` and ready (the first one
        counts the models when ``describe``)."""
        started = []
        try:
            for n in range(count):
                first = describe and n == 0
                args = (str(self.store_path), generation, self.max_rows, self.memory_limit, first)
                started.append(self._spawn("ontomap-reader", worker_main, args))
            for worker in started:
                worker.wait_ready(self.store_path, self.memory_limit)
        except BaseException:
            for worker in started:
                worker.kill()
                self._forget(worker)
            raise
        return started

    def _refresh(self, first: bool = False) -> str | None:
        """Serve the store's current generation, if it is not the one served: start a full
        set of readers on it, then switch to them. ``None`` when done, else why not (raised
        as :class:`StoreError` when ``first``)."""
        with self._switching:
            for _attempt in range(5):
                target = current_generation(self.store_path)
                if target is None:
                    problem = f"no store at {self.store_path} any more"
                    if first:
                        raise StoreError(
                            f"no store at {self.store_path}; create one with "
                            f"'ontomap build SOURCES --store {self.store_path}'"
                        )
                    return problem
                try:
                    folder = generation_dir(self.store_path, target).stat()
                except OSError:
                    continue  # replaced and deleted meanwhile: look again
                identity = (target, folder.st_dev, folder.st_ino)
                if identity == self._serving:
                    return None
                try:
                    readers = self._readers(target, self.size)
                except GenerationGoneError:
                    continue  # replaced again meanwhile: take the newer one
                except StoreError as exc:
                    if first:
                        raise
                    return str(exc)
                self._switch(readers, identity, first)
                return None
            problem = f"the store at {self.store_path} changes too often; try again"
            if first:
                raise StoreError(problem)
            return problem

    def _switch(self, readers: list[_Worker], identity: tuple[str, int, int], first: bool) -> None:
        """Make ``readers`` the ones jobs go to, all at once; the old ones stop."""
        generation = readers[0].generation or ""
        with self._lock:
            closed = self._closed.is_set()
            if not closed:
                self._epoch += 1
                for worker in readers:
                    worker.epoch = self._epoch
                self._generation, self._serving = generation, identity
                self._answers.clear()
                self._graphs.clear()
                old = self._queue.take_idle()
                for worker in readers:
                    self._queue.put(worker)
        if closed:
            self._retire(readers)
            return
        self._retire(old)
        self.log(f"serving {_describe(generation, readers[0].models)}")
        if first:
            self.network_problem = readers[0].network
            if self.network_problem is not None:
                self.log(
                    f"the query workers cannot be cut off from the network "
                    f"({self.network_problem}): federated queries (SERVICE) are then "
                    "blocked by the query parser only"
                )

    def _retire(self, workers: list[_Worker]) -> None:
        """Stop ``workers`` in the background (they close their store and exit)."""
        if not workers:
            return

        def stop() -> None:
            for worker in workers:
                worker.stop()
                self._forget(worker)

        threading.Thread(target=stop, name="ontomap-retire", daemon=True).start()

    def _watch(self) -> None:
        """Look at the store's current generation every :data:`GENERATION_POLL` seconds and
        move to a new one; after a failure, wait longer before the next try."""
        delay = GENERATION_POLL
        while not self._closed.wait(delay):
            try:
                problem = self._refresh()
            except StoreError as exc:
                problem = str(exc)
            if problem is None:
                self._unreadable, delay = None, GENERATION_POLL
                continue
            if problem != self._unreadable:
                self.log(f"{problem}; still serving {_describe(self._generation or '', None)}")
                self._unreadable = problem
            delay = min(delay * 2, 30.0)

    # -------------------------------------------------------------- replacing workers

    def _release(self, worker: _Worker) -> None:
        """A reader is done with a job: back in the queue, or stopped if it belongs to a set
        that is no longer served, or replaced if demoted."""
        if worker.demoted:
            self._replace(worker, "demoted for a heavy job is replaced")
            return
        with self._lock:
            current = worker.epoch == self._epoch and not self._closed.is_set()
            if current:
                self._queue.put(worker)
        if not current:
            self._retire([worker])

    def _replace(self, worker: _Worker, reason: str) -> None:
        """Kill ``worker`` and, if its set is still served, start another one in the
        background."""
        worker.kill()
        self._forget(worker)
        with self._lock:
            if self._closed.is_set() or worker.epoch != self._epoch:
                return
            epoch, generation = self._epoch, self._generation or ""
        self.log(f"worker {worker.pid} {reason}; starting another one")
        threading.Thread(
            target=self._respawn, args=(epoch, generation), name="ontomap-respawn", daemon=True
        ).start()

    def _respawn(self, epoch: int, generation: str) -> None:
        delay = 0.5
        while not self._closed.is_set():
            try:
                (worker,) = self._readers(generation, 1, describe=False)
            except GenerationGoneError:
                return  # a newer set is being started; it is a full one
            except StoreError as exc:
                if self._closed.is_set():
                    return
                self.log(f"cannot start a worker: {exc}; retrying in {delay:g} s")
                if self._closed.wait(delay):
                    return
                delay = min(delay * 2, 10.0)
                continue
            worker.epoch = epoch
            self._release(worker)
            return

    # -------------------------------------------------------------- running jobs

    def run(self, job: Job) -> Response:
        """Run a query, lookup or graph read in a reader; 503 on timeout or when busy, 507
        when it needs more memory than a reader may use."""
        if isinstance(job, UpdateJob):
            return self.update(job)
        cache = self._graphs if isinstance(job, GraphJob) else self._answers
        cached = isinstance(job, LookupJob | FhirJob | GraphJob) and cache.max_bytes
        key = job.answer_key() if cached else None  # type: ignore[union-attr]
        if key is not None:
            with self._lock:
                answer = cache.get(key)
                if answer is not None:  # of the generation served: the newest answered
                    self._answered = self._epoch
                    return answer
        while True:
            try:
                worker = self._queue.get(time.monotonic() + self.timeout)
            except _NoWorker as exc:
                return _busy(str(exc), self.timeout)
            epoch = worker.epoch
            response = self._execute(worker, job)
            with self._lock:
                if epoch >= self._answered or response.status >= 500:
                    self._answered = max(self._answered, epoch)
                    headers_only = isinstance(job, GraphJob) and job.head
                    if key is not None and epoch == self._epoch and not headers_only:
                        cache.put(key, response)
                    return response
            # Answered from an older generation than an answer already given: again, on the
            # generation served now.

    def _execute(self, worker: _Worker, job: Job) -> Response:
        timeout, started = self.timeout, time.monotonic()
        cpu_start = last_cpu = worker.cpu_seconds()
        worker.used = 0
        stuck_since: float | None = None
        try:
            worker.conn.send(job)
            while True:
                remaining = timeout - (time.monotonic() - started)
                if worker.conn.poll(max(0.0, min(_TICK, remaining))):
                    break
                if remaining <= 0:
                    return self._stopped(worker, timeout)
                worker.used = worker.memory() or worker.used
                cpu_now = worker.cpu_seconds()
                if self._near_limit(worker.used) and cpu_now == last_cpu and worker.asleep():
                    # An allocation failed while Rust was printing a panic: it waits forever.
                    stuck_since = stuck_since or time.monotonic()
                    if time.monotonic() - stuck_since >= _STUCK:
                        self._replace(worker, "stuck at its memory limit is replaced")
                        return _out_of_memory(self.memory_limit or 0)
                else:
                    stuck_since = None
                last_cpu = cpu_now
                if not worker.demoted:
                    used = (
                        cpu_now - cpu_start
                        if cpu_now is not None and cpu_start is not None
                        else time.monotonic() - started
                    )
                    limit = self.memory_limit
                    if used >= self.demote_after or (
                        limit is not None and worker.used >= limit * _DEMOTE_MEMORY
                    ):
                        worker.demote()
            response: Response | str = worker.conn.recv()
        except (EOFError, OSError) as exc:
            return self._died(worker, exc)
        if isinstance(response, str):  # out of memory
            self._replace(worker, f"ran out of memory (limit {_mb(self.memory_limit or 0)})")
            return _out_of_memory(self.memory_limit or 0)
        self._release(worker)
        return response

    def _near_limit(self, used: int | None) -> bool:
        limit = self.memory_limit
        return limit is not None and used is not None and used >= _NEAR_LIMIT * limit

    def _stopped(self, worker: _Worker, timeout: float) -> Response:
        """The job ran out of time."""
        self._replace(worker, f"killed after {timeout:g} s")
        return Response.text(
            503,
            f"the query was stopped after {timeout:g} s (the server's --timeout); make it "
            "more selective (LIMIT, fewer unbound patterns) or ask the server's operator for "
            "a longer timeout",
        )

    def _died(self, worker: _Worker, exc: BaseException) -> Response:
        """The worker died during the job: out of memory if it said an allocation failed
        (Rust and C++ abort then; a Rust panic aborts too, so the signal alone says little)."""
        worker.process.join(2)
        if self.memory_limit is not None and worker.ran_out_of_memory():
            self._replace(worker, f"ran out of memory (limit {_mb(self.memory_limit or 0)})")
            return _out_of_memory(self.memory_limit or 0)
        code = worker.process.exitcode
        how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        self._replace(worker, f"died ({how})")
        return Response.text(500, f"the worker running the query died ({how}); try again")

    # -------------------------------------------------------------- updates

    def update(self, job: UpdateJob) -> Response:
        """Apply an update in the writer process (one at a time; a new generation of the
        store), then serve that generation before answering. 503 on timeout or when another
        process writes the store."""
        if not self._updating.acquire(timeout=UPDATE_TIMEOUT):
            return _busy("another update is running", UPDATE_TIMEOUT)
        try:
            return self._update(job)
        finally:
            self._updating.release()

    def _update(self, job: UpdateJob) -> Response:
        if self._writer is None:
            try:
                writer = self._spawn(
                    "ontomap-writer", writer_main, (str(self.store_path), self.max_rows)
                )
                writer.wait_ready(self.store_path, None)
            except StoreError as exc:
                return Response.text(500, f"cannot start the writer: {exc}")
            self._writer = writer
        writer = self._writer
        try:
            writer.conn.send(job)
            if not writer.conn.poll(UPDATE_TIMEOUT):
                self._drop_writer(f"killed after {UPDATE_TIMEOUT:g} s")
                return Response.text(
                    503, f"the update was stopped after {UPDATE_TIMEOUT:g} s; not applied"
                )
            response, generation = writer.conn.recv()
        except (EOFError, OSError):
            self._drop_writer("died")
            return Response.text(
                500, "the writer died during the update; query the store to see if it applied"
            )
        if generation is not None:
            try:
                problem = self._refresh()
            except StoreError as exc:
                problem = str(exc)
            if problem is not None:
                return Response.text(
                    500,
                    f"the update was applied (generation {generation}) but the server cannot "
                    f"serve it yet: {problem}",
                )
        return response

    def _drop_writer(self, reason: str) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.kill()
            self._forget(writer)
            self.log(f"writer {writer.pid} {reason}")
