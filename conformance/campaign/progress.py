"""Progress of a campaign run: cells done, running and failed, and the throughput.

Both executors (the local process pool and Dask) report through one CellProgress, so a
campaign prints the same kind of line whatever runs its cells. Thread-safe: Dask reports a
cell's start from the client's event thread.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

Say = Callable[[str], None]


class CellProgress:
    """Counts the cells of one run (those to compute, not the ones finished before) and
    formats a status line: ``done D/N, running R, failed F, queued Q; T cells/min``.

    Throughput counts every cell that ended (done or failed) over the minutes since the run
    started; ``clock`` is injectable so that tests need no sleeping."""

    def __init__(self, total: int, say: Say, clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total
        self._say = say
        self._clock = clock
        self._start = clock()
        self._lock = threading.Lock()
        self._running: set[str] = set()
        self._ended: set[str] = set()
        self.done = 0
        self.failed = 0

    @property
    def running(self) -> int:
        return len(self._running)

    @property
    def queued(self) -> int:
        return self.total - self.done - self.failed - self.running

    def cells_per_minute(self) -> float:
        minutes = (self._clock() - self._start) / 60.0
        ended = self.done + self.failed
        return ended / minutes if minutes > 0 else 0.0

    def status(self) -> str:
        return (f"done {self.done}/{self.total}, running {self.running}, failed {self.failed}, "
                f"queued {self.queued}; {self.cells_per_minute():.2f} cells/min")

    def started(self, label: str, where: str = "") -> None:
        """A cell began on a worker (a second start of the same cell, after its worker died,
        is a restart and counts once)."""
        with self._lock:
            if label in self._ended:
                return
            verb = "restarted" if label in self._running else "started"
            self._running.add(label)
            self._say(f"{label}: {verb}{f' on {where}' if where else ''}; {self.status()}")

    def finished(self, label: str, error: str | None, summary: str = "") -> None:
        """A cell ended: ``error`` is None when it succeeded (``summary`` then says what it
        measured)."""
        with self._lock:
            if label in self._ended:
                return
            self._running.discard(label)
            self._ended.add(label)
            if error is None:
                self.done += 1
                text = f"{label}: {summary}" if summary else f"{label}: done"
            else:
                self.failed += 1
                text = f"{label}: FAILED: {error}"
            self._say(f"{text}; {self.status()}")
