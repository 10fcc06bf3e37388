"""Progress on standard error: on a terminal one self-overwriting line; elsewhere nothing, or,
when asked for (``enabled=True``, the CLI's ``-v``), a plain line now and then that a log keeps.
"""

from __future__ import annotations

import sys
import threading
import time
from types import TracebackType
from typing import TextIO

#: Seconds between two lines of progress written to a terminal, and to a file or a pipe.
TERMINAL_INTERVAL = 0.1
LOG_INTERVAL = 1.0


class Progress:
    """Shows ``label done/total`` at most ten times a second on an interactive stderr; with
    ``enabled=True`` off a terminal, a line at most once a second and a last one on close."""

    def __init__(
        self,
        label: str,
        total: int | None = None,
        stream: TextIO | None = None,
        enabled: bool | None = None,
    ) -> None:
        self.stream = stream or sys.stderr
        self.live = _isatty(self.stream)
        self.enabled = self.live if enabled is None else enabled
        self.label = label
        self.total = total
        self.done = 0
        self._last = 0.0
        self._shown = False
        self._logged = -1

    def _text(self) -> str:
        total = f"/{self.total}" if self.total is not None else ""
        return f"{self.label} {self.done}{total}"

    def advance(self, step: int = 1) -> None:
        self.done += step
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < (TERMINAL_INTERVAL if self.live else LOG_INTERVAL):
            return
        self._last = now
        if self.live:
            self.stream.write(f"\r{self._text()}\x1b[K")
            self._shown = True
        else:
            self.stream.write(f"{self._text()}\n")
            self._logged = self.done
        self.stream.flush()

    def close(self) -> None:
        """Erase the progress line (on a terminal), or write the last count (in a log)."""
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False
        elif self.enabled and not self.live and self.done and self._logged != self.done:
            self.stream.write(f"{self._text()}\n")
            self.stream.flush()
            self._logged = self.done


class Activity:
    """A step that cannot be counted (a reasoner run, a SHACL check, reading a whole store):
    ``label… 12 s``, its seconds ticking on a terminal; with ``enabled=True`` off a terminal,
    one line as it starts and one with its time as it ends. A context manager::

        with Activity("reasoning with HermiT", enabled=None):
            ...
    """

    def __init__(self, label: str, stream: TextIO | None = None, enabled: bool | None = None):
        self.stream = stream or sys.stderr
        self.live = _isatty(self.stream)
        self.enabled = self.live if enabled is None else enabled
        self.label = label
        self._started = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> Activity:
        self._started = time.monotonic()
        if not self.enabled:
            return self
        if self.live:
            self._draw()
            self._thread = threading.Thread(target=self._tick, daemon=True)
            self._thread.start()
        else:
            self.stream.write(f"{self.label}…\n")
            self.stream.flush()
        return self

    def _draw(self) -> None:
        seconds = int(time.monotonic() - self._started)
        with self._lock:
            self.stream.write(f"\r{self.label}… {seconds} s\x1b[K")
            self.stream.flush()

    def _tick(self) -> None:
        while not self._stop.wait(0.5):
            self._draw()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if not self.enabled:
            return
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            with self._lock:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
        elif kind is None:
            self.stream.write(f"{self.label}: {time.monotonic() - self._started:.2f} s\n")
            self.stream.flush()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream
        return False
