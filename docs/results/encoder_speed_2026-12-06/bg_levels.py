"""The background displacement estimator (ref_encoder/background_motion.py) on the first frames of
clips, the first frame as its reference, as the encoder starts: estimates in pixels per frame,
and the estimator's time. Run once per tree (PYTHONPATH) and compare.

    PYTHONPATH=TREE python docs/results/encoder_speed_2026-12-06/bg_levels.py --out A.npz CLIP [CLIP ...]
    python docs/results/encoder_speed_2026-12-06/bg_levels.py --compare A.npz B.npz

CLIP names work/sequences/CLIP_256x256_25_8bit_444.rgb (--sequences to change). --compare
prints the largest difference of any estimate and how many frames' levels (precision 8 at
256 x 256: whole pixels) differ.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np


def estimate(sequences: Path, clips: list[str], frames: int, out: Path) -> None:
    from bitstream.raw_video import read_rgb444
    from ref_encoder.analysis import FaceAnalyzer
    from ref_encoder.background_motion import BackgroundMotion
    shifts, seconds, count = {}, 0.0, 0
    with FaceAnalyzer() as analyzer:
        for clip in clips:
            pictures = read_rgb444(sequences / f"{clip}_256x256_25_8bit_444.rgb", 256, 256, frames)
            landmarks = [analyzer.analyze_frame(p).landmarks for p in pictures]
            motion = BackgroundMotion(256, 256)
            motion.set_reference(pictures[0], landmarks[0], np.zeros(2))
            t0 = time.perf_counter()
            shifts[clip] = np.array([motion.estimate(p, lm) for p, lm in zip(pictures, landmarks)]) * 256
            seconds += time.perf_counter() - t0
            count += len(pictures)
    np.savez(out, **shifts)
    print(f"{len(clips)} clips, {count} frames: the estimator took {seconds / count * 1000:.2f} ms a frame")


def compare(a_path: Path, b_path: Path) -> None:
    for path in (a_path, b_path):
        if not path.is_file():
            raise SystemExit(f"error: {path} is not a file")
    a, b = np.load(a_path), np.load(b_path)
    if sorted(a.files) != sorted(b.files):
        raise SystemExit("error: the two files hold different clips")
    frames = differ = 0
    largest = 0.0
    for clip in a.files:
        frames += len(a[clip])
        differ += int((np.rint(a[clip]) != np.rint(b[clip])).any(axis=1).sum())
        largest = max(largest, float(np.abs(a[clip] - b[clip]).max()))
    print(f"{len(a.files)} clips, {frames} frames: largest difference {largest:.6f} px, "
          f"{differ} frames with other levels")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--compare", type=Path, nargs=2)
    ap.add_argument("--sequences", type=Path, default=Path("work/sequences"))
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("clips", nargs="*")
    a = ap.parse_args()
    if a.compare:
        compare(*a.compare)
    elif a.out and a.clips:
        missing = [c for c in a.clips if not (a.sequences / f"{c}_256x256_25_8bit_444.rgb").is_file()]
        if missing:
            print(f"error: not in {a.sequences}: {', '.join(missing)}", file=sys.stderr)
            return 2
        estimate(a.sequences, a.clips, a.frames, a.out)
    else:
        ap.error("give --out and clips, or --compare A B")
    return 0


if __name__ == "__main__":
    sys.exit(main())
