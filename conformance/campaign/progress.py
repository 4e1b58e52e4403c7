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
    formats a status line: ``done D/N, running R, coded C, failed F, queued Q; T cells/min``.
    With the per-sequence metric pass a cell is coded first, then waits (``coded``) until the
    pass of its sequence measures it (``running`` again); with the per-cell pass C stays 0.

    Throughput counts every cell that ended (done or failed) over the minutes since the run
    started; ``clock`` is injectable so that tests need no sleeping."""

    def __init__(self, total: int, say: Say, clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total
        self._say = say
        self._clock = clock
        self._start = clock()
        self._lock = threading.Lock()
        self._running: set[str] = set()
        self._coded: set[str] = set()        # coded, waiting for their sequence's metric pass
        self._ended: set[str] = set()
        self.done = 0
        self.failed = 0

    @property
    def running(self) -> int:
        return len(self._running)

    @property
    def coded(self) -> int:
        return len(self._coded)

    @property
    def queued(self) -> int:
        return self.total - self.done - self.failed - self.running - self.coded

    def cells_per_minute(self) -> float:
        minutes = (self._clock() - self._start) / 60.0
        ended = self.done + self.failed
        return ended / minutes if minutes > 0 else 0.0

    def status(self) -> str:
        return (f"done {self.done}/{self.total}, running {self.running}, coded {self.coded}, "
                f"failed {self.failed}, "
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
            self._coded.discard(label)
            self._ended.add(label)
            if error is None:
                self.done += 1
                text = f"{label}: {summary}" if summary else f"{label}: done"
            else:
                self.failed += 1
                text = f"{label}: FAILED: {error}"
            self._say(f"{text}; {self.status()}")

    def coded_cell(self, label: str, summary: str) -> None:
        """A cell is coded and waits for the metric pass of its sequence."""
        with self._lock:
            if label in self._ended:
                return
            self._running.discard(label)
            self._coded.add(label)
            self._say(f"{label}: {summary}; {self.status()}")

    def measuring(self, labels: list[str], what: str) -> None:
        """A metric pass began on coded cells: they run again until it ends."""
        with self._lock:
            moving = [label for label in labels if label in self._coded]
            self._coded.difference_update(moving)
            self._running.update(moving)
            self._say(f"{what}; {self.status()}")
