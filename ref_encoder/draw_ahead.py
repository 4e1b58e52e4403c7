"""Worker processes that draw the decoder's pictures of a semantic unit and fit the poses of
its frames (informative: the reference encoder's own, in the spec's version 1.2 change log under
"correction elements"; no clause describes it, since no decision and no bit depends on it).

A frame that codes the head is pose-fitted (pose_fit.py) by a worker process (draw_worker.py)
while the encoder's own thread reads and analyses the next frames. When the unit is full, the
encoder needs, for each of its frames, the picture the decoder's generator draws from the
frame's levels (the adaptive refresh judges it, the correction grid is fitted on it); each
depends only on the levels and the references, so the worker draws them. What the encoder
decides from them (a refresh cut, the correction levels after the previous frame's) stays in
frame order on its own thread. A job the worker has not begun when the encoder needs it is done
on the encoder's thread, and while it waits for one the worker has begun, the encoder's thread
does the newest job the worker has not begun (take), so both cores draw a unit's pictures at
once. Processes, not threads: the analysis, the fit and the generators all spend much of each
frame in Python and numpy calls that hold the GIL, so drawing threads slowed the encoder's own
work about as much as they took off it (docs/results/encoder_processes_2026-12-07).

Nothing the encoder writes depends on the worker count: a worker's picture or fit is the one
the encoder's thread would make (the generators and the fit keep no state between pictures and
give the same bytes on any thread count, ifvc_synthesis/cpu_threads.py), and the choices are made
in the same order from the same pictures. Each worker keeps its own copy of the decoder's
reference store, handed each new key frame (add_keyframe); before that the encoder drops every
job not answered (drain), so no answer it uses comes from the references before.
"""
from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import threading
from concurrent.futures import Future, InvalidStateError
from pathlib import Path
from typing import Any, Callable

import numpy as np

from bitstream.structures import SequenceHeader
from ifvc_synthesis.generators import Reference

from .draw_messages import receive, send

# the tree this module is in: the worker imports the same one, wherever the encoder is run from
_ROOT = Path(__file__).resolve().parents[1]


# A job's or answer's picture (196 KiB at 256 x 256) in one write: through the default 64 KiB
# pipe the writer waits for the reading thread of the other process, which waits for its GIL.
PIPE_BYTES = 1 << 20


def _widen_pipe(fd: int) -> None:
    """Raises the pipe's buffer to PIPE_BYTES where the system allows it (Linux); else keeps it."""
    if hasattr(fcntl, "F_SETPIPE_SZ"):
        try:
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        except OSError:                       # above /proc/sys/fs/pipe-max-size: the default stays
            pass


class DrawWorkerError(RuntimeError):
    """A worker could not do a job (its error), or ended before it answered."""


class DrawJob:
    """A job asked of a worker ("draw": the answer is the picture, the correction fitted on it
    or None and its invented share or None; "fit": the fitted values and the fit's
    PoseFitStats), and its answer once known: the worker's (future), or made on the encoder's
    thread (answer)."""

    def __init__(self, worker: "_Worker", job: int, kind: str, values: np.ndarray,
                 source: np.ndarray | None) -> None:
        self._worker, self.job = worker, job
        self.kind, self.values, self.source = kind, values, source
        self.future: Future[tuple[Any, ...]] = Future()
        self.started = threading.Event()      # the worker has begun it
        self.answer: tuple[Any, ...] | None = None

    def cancel(self) -> bool:
        """Drops the job: a worker that has not begun it skips it; its answer is ignored."""
        if self.future.cancel():
            self._worker.cancel(self.job)
            return True
        return self.future.cancelled()

    def cancelled(self) -> bool:
        return self.future.cancelled()


class _Worker:
    """One worker process (draw_worker.py) and the thread that reads its answers."""

    def __init__(self, setup: tuple[Any, ...]) -> None:
        child_in, parent_out = os.pipe()    # (read end, write end)
        parent_in, child_out = os.pipe()
        for fd in (parent_out, child_out):
            _widen_pipe(fd)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(_ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[name] = "1"                # one worker, one core: no spinning library threads
        try:
            # -P: the tree of PYTHONPATH, not one in the current folder; a session of its own:
            # Ctrl-C reaches the encoder, which stops the worker (it also stops when the pipe closes)
            self._process = subprocess.Popen(
                [sys.executable, "-P", "-m", "ref_encoder.draw_worker", str(child_in), str(child_out)],
                pass_fds=(child_in, child_out), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                env=env, start_new_session=True)
        except BaseException:
            os.close(parent_out)
            os.close(parent_in)
            raise
        finally:
            os.close(child_in)
            os.close(child_out)
        self._out = os.fdopen(parent_out, "wb")
        self._in = os.fdopen(parent_in, "rb")
        self._lock = threading.Lock()       # jobs pending an answer; the pipe's writes
        self._pending: dict[int, DrawJob] = {}
        self._ended: str | None = None
        self._send(setup)
        self._reader = threading.Thread(target=self._read, name="ifvc-draw-answers", daemon=True)
        self._reader.start()

    def _send(self, message: tuple[Any, ...]) -> None:
        with self._lock:
            if self._ended is not None:
                raise DrawWorkerError(self._ended)
            try:
                send(self._out, message)
            except (BrokenPipeError, ValueError):
                self._ended = "the drawing process ended unexpectedly"
                raise DrawWorkerError(self._ended) from None

    def submit(self, job: DrawJob) -> None:
        with self._lock:
            self._pending[job.job] = job
        self._send((job.kind, job.job, job.values, job.source))

    def add_keyframe(self, reference: Reference) -> None:
        self._send(("key", reference))

    def cancel(self, job: int) -> None:
        with self._lock:
            self._pending.pop(job, None)
        try:
            self._send(("cancel", job))
        except DrawWorkerError:
            pass                              # nothing left to skip

    def _read(self) -> None:
        """Hands each answer to its job; when the process ends, fails the jobs still pending."""
        try:
            while True:
                kind, number, *rest = receive(self._in)
                with self._lock:
                    job = self._pending.get(number) if kind == "start" else self._pending.pop(number, None)
                if job is None:               # cancelled
                    continue
                try:
                    if kind == "start":
                        job.started.set()
                    elif kind == "done":
                        job.future.set_result(tuple(rest))
                    else:
                        job.future.set_exception(DrawWorkerError(f"the drawing process failed: {rest[0]}"))
                except InvalidStateError:     # cancelled meanwhile
                    pass
        except (EOFError, OSError, ValueError):
            pass
        with self._lock:
            if self._ended is None:
                self._ended = "the drawing process ended unexpectedly"
            pending, self._pending = list(self._pending.values()), {}
        for job in pending:
            try:
                job.future.set_exception(DrawWorkerError(self._ended))
            except InvalidStateError:
                pass

    def close(self) -> None:
        try:
            self._send(("stop",))
        except DrawWorkerError:
            pass
        with self._lock:
            self._ended = self._ended or "the drawing process was stopped"
            try:
                self._out.close()
            except OSError:
                pass
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._reader.join(timeout=10)
        self._in.close()


class DrawAhead:
    """Worker processes doing the encoder's drawing and pose fits, and the jobs asked of them.
    workers < 1: none (``active`` is False and the encoder does each job when it needs it).

    local(kind, values, source): a job done on the encoder's thread (its own mirror, correction
    chooser and pose fit), the same answer as a worker's. generator_name: the decoder's
    generator ("": no pictures are asked for); max_ref_frames: the level's reference store size;
    sh and keyframe_qp: the stream's, for fitting the correction (CorrectionChooser.propose) on
    each picture whose source is given (sh None: none is fitted); fit: (the stream's generator
    name, the fitted elements' level sizes) as PoseFit takes them, or None (no pose fit);
    invented: each picture comes with its invented share (the adaptive refresh measures it)."""

    def __init__(self, workers: int, local: Callable[[str, np.ndarray, np.ndarray | None], tuple[Any, ...]],
                 generator_name: str = "", max_ref_frames: int = 1, sh: SequenceHeader | None = None,
                 keyframe_qp: int = 0, fit: tuple[str, dict[int, float]] | None = None,
                 invented: bool = False) -> None:
        if workers < 0:
            raise ValueError(f"worker count must be at least 0, got {workers}")
        self._local = local
        setup = ("setup", generator_name, max_ref_frames, sh, keyframe_qp, fit, invented)
        self._workers: list[_Worker] = []
        try:
            for _ in range(workers):
                self._workers.append(_Worker(setup))
        except BaseException:
            self.close()
            raise
        self._jobs: dict[int, DrawJob] = {}   # asked and not answered by a worker, oldest first
        self._next = 0

    @property
    def active(self) -> bool:
        return bool(self._workers)

    def add_keyframe(self, reference: Reference) -> None:
        """A new key frame of the decoder's reference store, in every worker (the store's
        eviction as the decoder's). Jobs asked before it must have been dropped (drain)."""
        for worker in self._workers:
            worker.add_keyframe(reference)

    def _submit(self, kind: str, values: np.ndarray, source: np.ndarray | None) -> DrawJob:
        assert self._workers, "a job needs workers (workers > 0)"
        worker = self._workers[self._next % len(self._workers)]
        job = DrawJob(worker, self._next, kind, np.asarray(values, np.float64), source)
        self._next += 1
        self._jobs[job.job] = job
        job.future.add_done_callback(lambda _f, j=job.job: self._jobs.pop(j, None))
        worker.submit(job)
        return job

    def draw(self, values: np.ndarray, source: np.ndarray | None = None) -> DrawJob:
        """Asks for the decoder's picture of these values (table order) and, if source is given,
        the correction fitted on it; the workers take the jobs in turn."""
        return self._submit("draw", values, source)

    def fit(self, values: np.ndarray, source: np.ndarray) -> DrawJob:
        """Asks for the pose fit of a frame (PoseFit.fit of its analysed values and source)."""
        return self._submit("fit", values, source)

    def take(self, job: DrawJob) -> tuple[Any, ...]:
        """The job's answer. A job no worker has begun is done here (local); while a worker
        works on this one, this thread does the newest job that no worker has begun, so that
        the encoder's thread never waits while there is work it could do. A worker's error is
        raised here."""
        while True:
            if job.answer is not None:
                return job.answer
            if job.future.done() and not job.future.cancelled():
                return job.future.result()
            if job.future.cancelled() or (not job.started.is_set() and job.cancel()):
                job.answer = self._local(job.kind, job.values, job.source)
                continue
            other = next((j for j in reversed(list(self._jobs.values()))
                          if j is not job and not j.started.is_set() and j.answer is None), None)
            if other is None:
                return job.future.result()    # nothing else to do: wait for the worker
            if other.cancel():
                other.answer = self._local(other.kind, other.values, other.source)

    def drain(self) -> None:
        """Drops every job not answered yet (before a new key frame: they were asked for the
        old references, and the encoder does again what it still needs)."""
        for job in list(self._jobs.values()):
            job.cancel()

    def close(self) -> None:
        workers, self._workers = self._workers, []
        for worker in workers:
            worker.close()
