"""Where the encoder's own thread spends a 100-frame encode (cProfile sees that thread only):
the pose-fit encoder of issue 14 (ifvc-geometric-7, --pose-fit, --refresh auto, correction grid
on, key-frame QP 32, 2 threads). Time in `acquire` is the encoder's thread waiting for a worker.

    python docs/results/encoder_processes_2026-12-07/main_thread_profile.py work/sequences/CLIP_256x256_25_8bit_444.rgb
"""
from __future__ import annotations

import cProfile
import pstats
import sys
import time
from fractions import Fraction
from pathlib import Path

from bitstream.raw_video import read_rgb444
from ref_encoder.analysis import FaceAnalyzer
from ref_encoder.encoder import Encoder, EncoderConfig


def main() -> None:
    path = Path(sys.argv[1])
    frames = read_rgb444(path, max_frames=100)
    FaceAnalyzer().close()        # MediaPipe's first import outside the profile
    cfg = EncoderConfig(keyframe_qp=32, generator_name="ifvc-geometric-7", refresh="auto", vvc_preset="auto",
                        pose_fit=True, correction_grid="on", threads=2)
    enc = Encoder(cfg, 256, 256, Fraction(25), num_frames=len(frames))
    profile = cProfile.Profile()
    t0 = time.perf_counter()
    profile.enable()
    enc.encode(iter(frames))
    profile.disable()
    dt = time.perf_counter() - t0
    print(f"{path.stem}: {len(frames) / dt:.1f} frames/s under the profiler ({1000 * dt / len(frames):.1f} ms a frame)")
    pstats.Stats(profile).sort_stats("cumulative").print_stats(30)


if __name__ == "__main__":
    main()
