"""The drawing process of draw_ahead.py (informative; the reference encoder's own): it keeps
the decoder's references as the encoder hands them over and does the jobs the encoder asks for:
the decoder's picture of a frame's values, with the correction fitted on it where asked
(CorrectionChooser.propose), and a frame's pose fit (PoseFit.fit). Jobs cancelled before they
start are skipped.

Run by draw_ahead.py as ``python -m ref_encoder.draw_worker IN_FD OUT_FD``: it reads messages
from IN_FD and writes its answers to OUT_FD (framed by draw_messages.py); it stops at a "stop"
message or when IN_FD closes (the encoder ended, however it ended). Messages in:
("setup", generator_name or "", max_ref_frames, sequence_header or None, keyframe_qp,
(stream's generator_name, fit steps) or None, whether pictures come with their invented share),
once, first; ("key", Reference) a new key frame of the decoder's store (its eviction, spec A.5);
("draw", job, values, source or None); ("fit", job, analysed values, source); ("cancel", job);
("stop",). Messages out: ("start", job); ("done", job, picture, fitted or None, invented share
or None) or ("done", job, fitted values, PoseFitStats of the fit); ("error", job, text).

Order: a key frame first (the encoder cancels every job asked before it), then the pose fits
(a unit's levels wait for them), then the pictures, each kind in the order asked. It runs
OpenCV, and PyTorch if a learned generator loads it, on one thread: it is one worker beside
the encoder's own thread, and no result depends on the thread count
(ifvc_synthesis/cpu_threads.py)."""
from __future__ import annotations

import os
import sys
import threading
from collections import deque
from typing import Any

from .draw_messages import receive, send
from .pose_fit import PoseFitStats


def do_job(kind: str, values: Any, source: Any, *, mirror: Any, chooser: Any, fitter: Any,
           invented: bool = False) -> tuple[Any, ...]:
    """A job's result, in a worker or on the encoder's thread (DrawAhead.take), with a
    DecoderMirror, CorrectionChooser and PoseFit: "draw", the picture of the values, the
    correction fitted on it if source is given and there is a chooser (else None), and, with
    invented, the picture's invented share (adaptive_refresh.invented_share, of the field that
    drew the same picture; else None); "fit", the values fitted to source and that fit's
    PoseFitStats alone (the fitter's own stats are left as they were, so that whoever takes the
    answer counts it once)."""
    if kind == "fit":
        own, fitter.stats = fitter.stats, PoseFitStats()
        try:
            return fitter.fit(values, source), fitter.stats
        finally:
            fitter.stats = own
    share = None
    if invented:
        from .adaptive_refresh import invented_share
        picture, map_x, map_y, layers, _ = mirror.generator.synthesize_with_layers(values)
        share = invented_share(map_x, map_y, layers.person_alpha)
    else:
        picture = mirror.generator.synthesize(values)
    return picture, (chooser.propose(source, picture) if chooser is not None and source is not None else None), share


def serve(inp: Any, out: Any) -> None:
    """Answers the messages read from the binary stream inp on the binary stream out."""
    from ifvc_synthesis.cpu_threads import prefer_passive_openmp_wait, set_synthesis_threads
    prefer_passive_openmp_wait()
    set_synthesis_threads(1)

    from .correction_grid import CorrectionChooser
    from .decoder_mirror import DecoderMirror
    from .pose_fit import PoseFit

    _, generator_name, max_refs, sh, keyframe_qp, fit, invented = receive(inp)
    mirror = DecoderMirror(generator_name, max_refs, "--threads") if generator_name else None
    chooser = CorrectionChooser(sh, keyframe_qp) if sh is not None else None
    fitter = PoseFit(fit[0], max_refs, fit[1]) if fit is not None else None
    jobs: dict[str, deque[tuple[Any, ...]]] = {"key": deque(), "fit": deque(), "draw": deque()}
    queued: set[int] = set()             # the jobs queued, and the one being done
    cancelled: set[int] = set()          # those of them to skip (so both stay bounded)
    ready = threading.Condition()

    def read() -> None:                  # cancels take effect while a picture is drawn
        while True:
            try:
                message = receive(inp)
            except EOFError:
                message = ("stop",)
            with ready:
                if message[0] == "cancel":
                    if message[1] in queued:     # a cancel that comes after the answer is moot
                        cancelled.add(message[1])
                elif message[0] in ("key", "stop"):
                    jobs["key"].append(message)
                else:
                    queued.add(message[1])
                    jobs[message[0]].append(message)
                ready.notify()
            if message[0] == "stop":
                return

    def done(job: int) -> None:
        """Forgets a job answered or skipped (called with ready held, or takes it)."""
        queued.discard(job)
        cancelled.discard(job)

    def next_message() -> tuple[Any, ...]:
        """A key frame or stop first (the jobs asked before it were cancelled), then the pose
        fits (the encoder needs them first: a unit starts from them), then the pictures."""
        with ready:
            while True:
                for kind in ("key", "fit", "draw"):
                    while jobs[kind]:
                        message = jobs[kind].popleft()
                        if kind != "key" and message[1] in cancelled:
                            done(message[1])
                            continue
                        return message
                ready.wait()

    broken: str | None = None            # a reference set-up that failed: every later job says so

    def answer_to(kind: str, job: int, values: Any, source: Any) -> tuple[Any, ...]:
        """The answer to a draw or fit job: "done" with its result, or "error"."""
        if broken is not None:
            return ("error", job, broken)
        send(out, ("start", job))
        try:
            return ("done", job) + do_job(kind, values, source, mirror=mirror, chooser=chooser, fitter=fitter,
                                          invented=invented)
        except Exception as exc:
            return ("error", job, f"{type(exc).__name__}: {exc}")

    threading.Thread(target=read, name="ifvc-draw-reader", daemon=True).start()
    while True:
        message = next_message()
        kind = message[0]
        if kind == "stop":
            return
        if kind == "key":
            try:
                for m in (mirror, fitter):
                    if m is not None:
                        m.add_keyframe(message[1])
                broken = None
            except Exception as exc:     # reported with each job that needs these references
                broken = f"{type(exc).__name__}: {exc}"
            continue
        _, job, values, source = message
        try:
            send(out, answer_to(kind, job, values, source))
        finally:
            with ready:
                done(job)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    with os.fdopen(int(args[0]), "rb") as inp, os.fdopen(int(args[1]), "wb") as out:
        try:
            serve(inp, out)
        except (BrokenPipeError, EOFError):  # the encoder has gone: nothing to answer
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
