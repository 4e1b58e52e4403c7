"""Benchmark of the encoder with adaptive refresh: frames/s at 256x256, refresh off against on.

    python -m tools.bench_encoder_refresh SEQ_256x256_25_8bit_444.rgb [--frames 100] [--qp 42]
        [--generator ifvc-geometric-2] [--keyframe-preset auto] [--settings off auto auto/2 auto/4 auto/auto:5:15]
        [--pose-fit] [--correction-grid off on] [--refresh-picture generator shown] [--threads 1 2]

A setting is off, auto, a threshold in dB, each optionally /K (check every K-th frame; /auto:
the encoder's default interval for the generator, without /K: every frame) and :I[:F] (the
--refresh-invented and --refresh-failed limits in percent, each off by default). Each
setting codes the same frames (read before timing) with the whole encoder (analysis, VVC key
frames, quantisation, refresh synthesis); frames/s are wall-clock over encode( ), run one after
the other in one process, so compare settings of one run (a busy machine slows all of them).
The CPU time per frame is printed too (this process, all its threads, plus its finished child
processes: VVenC for the key frames, the encoder's worker processes): on a machine shared with
other jobs it says more than the wall clock; so does the load average printed before each setting.
A threshold of 0.001 dB synthesises every frame it may check and never inserts a key frame:
the cost of the check alone.
--correction-grid runs every setting with each value given (the correction elements, spec
8.6.2: a synthesis, an optical flow and a choice per semantic frame), and so does
--refresh-picture (what the check judges: the generator's picture, or the one the correction
stage shows), and so does --threads (the encoder's; the stream is the same for every count);
--pose-fit as the encoder's option.
The target (issue 14): at least 15 frames/s at 256x256 on 2 cores with refresh on; tools/bench_encoder_command
times the whole command, start-up included.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from fractions import Fraction
from pathlib import Path

from bitstream.raw_video import read_rgb444
from ifvc_common.argtypes import int_range
from ref_encoder.adaptive_refresh import REFRESH_PICTURES
from ref_encoder.cli import DEFAULT_THREADS


def _setting(text: str) -> tuple[str, int | str, str, str]:
    """(refresh, check interval, invented limit, failed limit) of REFRESH[/K][:I[:F]]."""
    head, *limits = text.split(":")
    if len(limits) > 2:
        raise ValueError(f"setting {text!r}: use REFRESH[/K][:I[:F]]")
    invented, failed = (limits + ["off", "off"])[:2]
    refresh, _, every = head.partition("/")
    return refresh, (every if every == "auto" else int(every)) if every else 1, invented, failed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sequence", help="a prepared 256x256 8-bit 4:4:4 .rgb sequence")
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--qp", type=int, default=42)
    ap.add_argument("--generator", default="ifvc-geometric-2")
    ap.add_argument("--keyframe-preset", default="auto",
                    help="VVenC preset of the key frames (auto: the encoder's default, medium; with "
                         "refresh the later key frames fast)")
    ap.add_argument("--settings", nargs="+", default=["off", "auto", "auto/2", "auto/4"])
    ap.add_argument("--pose-fit", action="store_true", help="the encoder's --pose-fit")
    ap.add_argument("--correction-grid", nargs="+", default=["off"], choices=["off", "on"],
                    help="run each setting with each of these (default: off)")
    ap.add_argument("--refresh-picture", nargs="+", default=["generator"], choices=list(REFRESH_PICTURES),
                    help="the encoder's --refresh-picture; each setting runs with each (default: generator)")
    ap.add_argument("--threads", type=int_range(1, 64), nargs="+", default=[DEFAULT_THREADS],
                    help="the encoder's --threads (its own thread and N-1 worker processes drawing a "
                         "unit's pictures and fitting poses); each setting runs with each (default: the "
                         "encoder's default, the cores up to 2). With more than 1 the drawing runs ahead "
                         "in the workers and the refresh check's own time leaves it out")
    args = ap.parse_args(argv)
    path = Path(args.sequence)
    if not path.is_file():
        print(f"error: {path} not found (python -m tools.prepare_sequences)", file=sys.stderr)
        return 2
    frames = read_rgb444(path, max_frames=args.frames)
    from ref_encoder.analysis import FaceAnalyzer
    from ref_encoder.encoder import Encoder, EncoderConfig
    FaceAnalyzer().close()        # MediaPipe's first import (about 1 s) outside the first setting's timing
    # which tree is timed: `python -m` puts the current folder ahead of PYTHONPATH, so comparing
    # trees means running from inside each (docs/results/encoder_speed_2026-12-06)
    print(f"timing the encoder of {Path(sys.modules[Encoder.__module__].__file__).resolve().parents[1]}", flush=True)
    runs = ((t, g, j, n) for t in args.settings for g in args.correction_grid for j in args.refresh_picture
            for n in args.threads)
    for text, grid, judged, threads in runs:
        refresh, every, invented, failed = _setting(text)
        cfg = EncoderConfig(keyframe_qp=args.qp, generator_name=args.generator, refresh=refresh,
                            refresh_check_every=every, refresh_invented=invented, refresh_failed=failed,
                            vvc_preset=args.keyframe_preset, pose_fit=args.pose_fit, correction_grid=grid,
                            refresh_picture=judged, threads=threads)
        enc = Encoder(cfg, 256, 256, Fraction(25), num_frames=len(frames))
        load1 = os.getloadavg()[0]
        t0, c0 = time.perf_counter(), _cpu_seconds()
        result = enc.encode(iter(frames))
        dt, cpu = time.perf_counter() - t0, _cpu_seconds() - c0
        keys = sum(f.kind == "key" for f in result.frames)
        checked = result.refresh.checked if result.refresh else 0
        check_ms = 1000 * result.refresh.seconds / max(checked, 1) if result.refresh else 0.0
        check_cpu_ms = 1000 * result.refresh.cpu_seconds / max(checked, 1) if result.refresh else 0.0
        kbps = 8 * len(result.stream) / 1000 / (len(frames) / 25)
        grid_ms = 1000 * result.correction.seconds / max(result.correction.frames, 1) if result.correction else 0.0
        print(f"{path.stem} QP {args.qp} {enc.keyframe_preset}/{enc.later_keyframe_preset} refresh={text:8s} "
              f"grid={grid} ({grid_ms:.1f} ms/frame) judging {judged} threads {threads}: {len(frames) / dt:5.1f} frames/s wall ({1000 * dt / len(frames):.1f} "
              f"ms/frame), CPU {1000 * cpu / len(frames):.1f} ms/frame (with VVenC), load {load1:.1f}, "
              f"{keys} key frames, {checked} frames synthesised at {check_ms:.1f} ms each "
              f"(CPU {check_cpu_ms:.1f} ms) "
              f"({100 * (result.refresh.seconds if result.refresh else 0) / dt:.0f} % of the time), {kbps:.2f} kbit/s",
              flush=True)
    return 0


def _cpu_seconds() -> float:
    """User + system time of this process and of its finished children (VVenC)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


if __name__ == "__main__":
    sys.exit(main())
