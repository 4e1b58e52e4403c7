"""Benchmark of the face analysis: frames/s at 256x256 and peak memory.

    python -m tools.bench_analysis [--sequence NAME] [--frames 250] [--no-tracking]

Reads a prepared sequence from work/sequences (frames decoded before timing), analyses it
with FaceAnalyzer, and prints frames/s and the peak resident memory of the process.
"""
from __future__ import annotations

import argparse
import resource
import sys
import time

from tools.semantics_cache import sequence_path
from bitstream.raw_video import read_rgb444


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sequence", default="liveportrait_driving_d14")
    ap.add_argument("--frames", type=int, default=250)
    ap.add_argument("--no-tracking", action="store_true", help="detect on every frame (static image mode)")
    args = ap.parse_args(argv)
    path = sequence_path(args.sequence)
    if not path.is_file():
        print(f"error: {path} not found (run python -m tools.prepare_sequences)", file=sys.stderr)
        return 2
    frames = read_rgb444(path, max_frames=args.frames)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    from ref_encoder.analysis import FaceAnalyzer
    with FaceAnalyzer(tracking=not args.no_tracking) as fa:
        fa.analyze_frame(frames[0])                     # warm-up: model load
        t0 = time.perf_counter()
        for f in frames:
            fa.analyze_frame(f)
        dt = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    mode = "detect every frame" if args.no_tracking else "tracking"
    print(f"{args.sequence}: {len(frames)} frames 256x256, {mode}: {len(frames) / dt:.1f} frames/s "
          f"({1000 * dt / len(frames):.2f} ms/frame); peak RSS {rss / 1024:.0f} MiB "
          f"(frames in memory: {frames.nbytes / 2**20:.0f} MiB; before analyser {rss0 / 1024:.0f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
