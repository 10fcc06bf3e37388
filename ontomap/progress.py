"""Progress on a terminal: one self-overwriting line on stderr, silent when stderr is piped."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Shows ``label done/total`` at most ten times a second, only on an interactive stderr."""

    def __init__(
        self,
        label: str,
        total: int | None = None,
        stream: TextIO | None = None,
        enabled: bool | None = None,
    ) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.label = label
        self.total = total
        self.done = 0
        self._last = 0.0
        self._shown = False

    def advance(self, step: int = 1) -> None:
        self.done += step
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last >= 0.1:
            self._last = now
            total = f"/{self.total}" if self.total is not None else ""
            self.stream.write(f"\r{self.label} {self.done}{total}\x1b[K")
            self.stream.flush()
            self._shown = True

    def close(self) -> None:
        """Erase the progress line."""
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False
