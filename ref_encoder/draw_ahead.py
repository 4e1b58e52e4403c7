"""Drawing a semantic unit's frames ahead on worker threads (informative: the reference
encoder's own, in the spec's version 1.2 change log under "correction elements"; no clause
describes it, since no decision and no bit depends on it).

When a unit is full, the encoder needs, for each of its frames, the picture the decoder's
generator draws from the frame's levels (the adaptive refresh judges it, the correction grid
is fitted on it). Each picture depends only on the frame's levels and the references, so the
pictures of one unit can be drawn at the same time; what the encoder then decides from them
(a refresh cut, the correction levels after the previous frame's) stays in frame order on the
calling thread. The generators' numpy and OpenCV work releases the GIL for most of a picture,
so two threads draw a unit in a little more than half the time of one
(docs/results/encoder_threads_2026-12-06).

Nothing the encoder writes depends on the thread count: a picture drawn ahead is the picture
the calling thread would draw (the generators keep no state between pictures, cpu_threads.py),
and the choices are made in the same order from the same pictures. The references must not
change while a picture is drawn: the caller drains the pool before it codes a key frame.
"""
from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, Callable


class DrawAhead:
    """A pool of worker threads and the pictures it is drawing (futures). threads < 2: no pool
    (``active`` is False and the encoder draws each picture when it needs it)."""

    def __init__(self, threads: int) -> None:
        if threads < 1:
            raise ValueError(f"thread count must be at least 1, got {threads}")
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="ifvc-draw") if threads > 1 else None
        self._outstanding: set[Future[Any]] = set()
        self._lock = threading.Lock()      # the workers remove their finished jobs

    @property
    def active(self) -> bool:
        return self._pool is not None

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """Starts fn(*args) on a worker thread, after the jobs submitted before it (FIFO)."""
        assert self._pool is not None, "submit() needs an active pool (threads > 1)"
        future = self._pool.submit(fn, *args)
        with self._lock:
            self._outstanding.add(future)
        future.add_done_callback(self._finished)
        return future

    def _finished(self, future: Future[Any]) -> None:
        with self._lock:
            self._outstanding.discard(future)

    def drain(self) -> None:
        """Cancels the jobs not started and waits for those running, so that no worker reads
        the references while the caller changes them (a new key frame)."""
        with self._lock:
            pending = list(self._outstanding)
        for future in pending:
            future.cancel()
        # a cancelled job counts as done once a worker has taken it off the queue (and dropped
        # it), so this also returns only when no worker holds any of these jobs
        wait(pending)

    def close(self) -> None:
        if self._pool is not None:
            self.drain()
            self._pool.shutdown(wait=True)
            self._pool = None
