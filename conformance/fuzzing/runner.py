"""Running streams in worker processes with a per-stream time and memory limit, so that no
stream can take the run down. Each worker serves one decoding path (parse, full) and takes
batches of streams; a worker that met a crash, a hang or memory exhaustion sends its
outcome and exits, and a fresh one takes the rest of the batch."""
from __future__ import annotations

import multiprocessing as mp
import os
import resource
import signal
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Callable, Iterable, Iterator, Union

from bitstream.errors import BitstreamError

from .corpus import Corpus
from .mutators import MutationConfig, mutate
from .signatures import STREAM_LEVEL_MODULES, innermost_project_frame, signature

PATH_PARSE = "parse"
PATH_FULL = "full"

ACCEPTED, REJECTED, CRASH, HANG, MEMORY = "accepted", "rejected", "crash", "hang", "memory"
ACCEPTED_INVALID = "accepted_invalid"   # decoded, but the mutation made it non-conforming
FAILURES = (CRASH, HANG, MEMORY, ACCEPTED_INVALID)


@dataclass(frozen=True)
class Limits:
    seconds: float          # CPU seconds per stream (the worker's own CPU time)
    memory_mb: int          # address space a stream may add to the worker's


DEFAULT_LIMITS = {PATH_PARSE: Limits(5.0, 1024), PATH_FULL: Limits(60.0, 2048)}


@dataclass
class Outcome:
    index: int              # stream number in the run (-1: given as bytes)
    path: str
    kind: str
    message: str = ""
    signature: str | None = None
    seconds: float = 0.0
    late: bool = False      # full path: rejected although the parse path accepted it


# ---------------------------------------------------------------------------------------
# What a path does with a stream
# ---------------------------------------------------------------------------------------
def parse_and_reconstruct(data: bytes) -> None:
    """Parse path: every unit parsed, every frame's semantics reconstructed and dequantised
    (spec 8.3), with the profile and level checks of the reference parser."""
    from bitstream.stream import ParsedKeyframe, ParsedSemanticUnit, ParsedSequenceHeader, StreamParser
    from ref_decoder.decoder import values_from_levels
    sh = None
    for unit in StreamParser().parse(data):
        if isinstance(unit, ParsedSequenceHeader):
            sh = unit.sh
        elif isinstance(unit, ParsedKeyframe):
            for _, levels in unit.inferred_before:
                values_from_levels(sh, levels)   # type: ignore[arg-type]
            values_from_levels(sh, unit.levels)  # type: ignore[arg-type]
        elif isinstance(unit, ParsedSemanticUnit):
            for f in unit.frames:
                values_from_levels(sh, f.levels)  # type: ignore[arg-type]


def full_decode(data: bytes) -> None:
    """Full path: the reference decoder, every frame synthesised by the geometric generator."""
    from ref_decoder.decoder import Decoder
    from ifvc_synthesis.generators import GeometricGenerator
    for _ in Decoder(generator=GeometricGenerator()).decode(data):
        pass


def rejection_types() -> tuple[type[BaseException], ...]:
    """The project's own rejections: a stream error, or a decoding error with a message."""
    from ref_decoder.decoder import DecodingError
    return (BitstreamError, DecodingError)


TARGETS: dict[str, Callable[[bytes], None]] = {PATH_PARSE: parse_and_reconstruct, PATH_FULL: full_decode}


# ---------------------------------------------------------------------------------------
# The worker
# ---------------------------------------------------------------------------------------
class _StreamTimeout(BaseException):
    """Raised by the timer inside the worker (a BaseException: no `except Exception` in the
    code under test may swallow it)."""


def _on_timer(signum, frame):  # type: ignore[no-untyped-def]
    raise _StreamTimeout()


def _address_space() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def classify(index: int, path: str, target: Callable[[bytes], None], data: bytes,
             limits: Limits, must_reject: str | None = None,
             rejections: tuple[type[BaseException], ...] = (BitstreamError,)) -> Outcome:
    """Runs one stream under the CPU-time limit and returns its outcome (the memory limit is
    the worker's rlimit)."""
    t0 = time.process_time()
    signal.setitimer(signal.ITIMER_PROF, limits.seconds)
    try:
        try:
            target(data)
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
    except _StreamTimeout as exc:
        frame = innermost_project_frame(exc.__traceback__, STREAM_LEVEL_MODULES)
        return Outcome(index, path, HANG, f"more than {limits.seconds:g} s of CPU",
                       signature(HANG, "time limit", frame), time.process_time() - t0)
    except MemoryError as exc:
        frame = innermost_project_frame(exc.__traceback__, STREAM_LEVEL_MODULES)
        return Outcome(index, path, MEMORY, f"more than {limits.memory_mb} MB",
                       signature(MEMORY, "MemoryError", frame), time.process_time() - t0)
    except rejections as exc:
        message = str(exc)
        if not message:
            frame = innermost_project_frame(exc.__traceback__)
            return Outcome(index, path, CRASH, "a rejection without a message",
                           signature(CRASH, type(exc).__name__ + " (no message)", frame),
                           time.process_time() - t0)
        return Outcome(index, path, REJECTED, message, None, time.process_time() - t0)
    except Exception as exc:  # noqa: BLE001 - anything else is what the fuzzer looks for
        frame = innermost_project_frame(exc.__traceback__)
        return Outcome(index, path, CRASH, f"{type(exc).__name__}: {exc}"[:500],
                       signature(CRASH, type(exc).__name__, frame, str(exc)), time.process_time() - t0)
    seconds = time.process_time() - t0
    if must_reject:
        return Outcome(index, path, ACCEPTED_INVALID, must_reject,
                       signature(ACCEPTED_INVALID, "no error", "?", must_reject), seconds)
    return Outcome(index, path, ACCEPTED, "", None, seconds)


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker needs: forked, it inherits the corpus and the target without pickling."""
    path: str
    limits: Limits
    corpus: Corpus | None = None
    seed: int = 0
    mutation: MutationConfig = MutationConfig()
    target: Callable[[bytes], None] | None = None     # default: TARGETS[path]


Item = Union[int, bytes]       # a stream number of the run, or the stream itself


def _worker_main(conn: Connection, spec: WorkerSpec) -> None:
    parent = os.getppid()
    devnull = open(os.devnull, "w")
    sys.stdout = sys.stderr = devnull          # the decoder's notes are not the fuzzer's output
    target = spec.target or TARGETS[spec.path]
    rejections = rejection_types() if spec.target is None else (BitstreamError,)
    if spec.target is None:         # imports before the memory limit, not inside a stream's time
        import ref_decoder.decoder  # noqa: F401
        import ifvc_synthesis.generators  # noqa: F401
    limit = _address_space() + (spec.limits.memory_mb << 20)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGPROF, _on_timer)
    while True:
        batch = conn.recv()
        if batch is None:
            return
        for item in batch:
            if os.getppid() != parent:
                os._exit(1)              # the run is gone: do not linger as an orphan
            must_reject = None
            if isinstance(item, int):
                assert spec.corpus is not None
                mutant = mutate(spec.corpus, spec.seed, item, spec.mutation)
                data, index, must_reject = mutant.data, item, mutant.must_reject
            else:
                data, index = item, -1
            if spec.path != PATH_FULL:
                must_reject = None       # only a full decode can see what the oracle knows
            out = classify(index, spec.path, target, data, spec.limits, must_reject, rejections)
            if (spec.path == PATH_FULL and out.kind == REJECTED and index >= 0
                    and "element kf_picture_byte" not in out.message):   # VVC payloads: not parsed
                late = classify(index, PATH_PARSE, parse_and_reconstruct, data, spec.limits)
                out.late = late.kind == ACCEPTED
            conn.send(out)
            if out.kind in (CRASH, HANG, MEMORY):
                conn.send("exit")
                os._exit(0)             # a fresh worker takes over: no state survives a failure
        conn.send("done")


# ---------------------------------------------------------------------------------------
# The pool
# ---------------------------------------------------------------------------------------
class _Slot:
    def __init__(self, spec: WorkerSpec) -> None:
        ctx = mp.get_context("fork")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child, spec), daemon=True)
        self.proc.start()
        child.close()
        self.batch: list[Item] = []
        self.pos = 0
        self.last = time.monotonic()

    def send(self, batch: list[Item]) -> None:
        self.batch, self.pos, self.last = batch, 0, time.monotonic()
        self.conn.send(batch)

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join()
        self.conn.close()


class WorkerPool:
    """Runs batches of items on n forked workers, restarting a worker after a failure. The
    wall-clock watchdog (for a worker stuck outside Python, e.g. waiting on a subprocess)
    counts a stream as a hang after watchdog_s without any news from its worker."""

    def __init__(self, spec: WorkerSpec, workers: int = 1, watchdog_s: float | None = None) -> None:
        self.spec = spec
        self.n = max(1, workers)
        self.watchdog_s = watchdog_s if watchdog_s is not None else 4 * spec.limits.seconds + 30
        self.restarts = 0
        if spec.target is None:      # imported once here, so that each forked worker starts fast
            import ref_decoder.decoder  # noqa: F401
            import ifvc_synthesis.generators  # noqa: F401

    def run(self, batches: Iterable[list[Item]]) -> Iterator[Outcome]:
        """Outcomes as they come (not in item order)."""
        pending = iter(batches)
        slots = [_Slot(self.spec) for _ in range(self.n)]
        idle = list(slots)
        retry: list[list[Item]] = []
        try:
            while True:
                while idle:
                    batch = retry.pop() if retry else next(pending, None)
                    if batch is None:
                        break
                    idle.pop().send(batch)
                busy = [s for s in slots if s.batch]
                if not busy:
                    return
                ready = wait([s.conn for s in busy], timeout=1.0)
                now = time.monotonic()
                for s in list(busy):
                    if s.conn in ready:
                        try:
                            msg = s.conn.recv()
                        except (EOFError, OSError):
                            msg = None
                        if isinstance(msg, Outcome):
                            s.pos += 1
                            s.last = now
                            yield msg
                            continue
                        if msg == "done":
                            s.batch = []
                            idle.append(s)
                            continue
                        if msg is None:            # the worker died without a word
                            yield self._died(s)
                            s.pos += 1
                    elif now - s.last <= self.watchdog_s:
                        continue
                    else:
                        yield self._lost(s, HANG, f"no answer for {self.watchdog_s:g} s (wall clock)",
                                         signature(HANG, "watchdog", "?"))
                        s.pos += 1
                    # "exit", death or watchdog: a fresh worker for the rest of the batch
                    rest = s.batch[s.pos:]
                    s.kill()
                    self.restarts += 1
                    fresh = _Slot(self.spec)
                    slots[slots.index(s)] = fresh
                    if rest:
                        retry.append(rest)
                    idle.append(fresh)
        finally:
            for s in slots:
                try:
                    if s.proc.is_alive() and not s.batch:
                        s.conn.send(None)
                except OSError:
                    pass
                s.kill()

    def _died(self, s: _Slot) -> Outcome:
        s.proc.join(timeout=5)
        code = s.proc.exitcode
        how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        return self._lost(s, CRASH, f"worker process died ({how})", signature(CRASH, f"worker died ({how})", "?"))

    def _lost(self, s: _Slot, kind: str, message: str, sig: str) -> Outcome:
        item = s.batch[s.pos] if s.pos < len(s.batch) else -1
        return Outcome(item if isinstance(item, int) else -1, self.spec.path, kind, message, sig)


def run_items(spec: WorkerSpec, items: list[Item], workers: int = 1, batch: int = 64,
              watchdog_s: float | None = None) -> list[Outcome]:
    """All outcomes of the items, in completion order."""
    pool = WorkerPool(spec, workers, watchdog_s)
    batches = [items[i:i + batch] for i in range(0, len(items), batch)]
    return list(pool.run(batches))
