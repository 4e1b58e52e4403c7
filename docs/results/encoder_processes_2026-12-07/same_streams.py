"""The SHA-256 (first 16 hex digits) of the stream the encoder of the tree on sys.path writes for
each clip, key-frame QP and thread count, with the pose-fit encoder of issue 14
(ifvc-geometric-7, --pose-fit, --refresh auto, correction grid on, VVC key frames), and its
frames/s. Run it from two trees and compare the lines.

    cd TREE && PYTHONPATH=. python docs/results/encoder_processes_2026-12-07/same_streams.py CLIP[,CLIP...] 1,2,3 22,42
"""
from __future__ import annotations

import hashlib
import sys
import time
from fractions import Fraction
from pathlib import Path

from bitstream.raw_video import read_rgb444
from ref_encoder.analysis import FaceAnalyzer
from ref_encoder.encoder import Encoder, EncoderConfig


def main() -> None:
    clips = sys.argv[1].split(",")
    threads = [int(t) for t in sys.argv[2].split(",")]
    qps = [int(q) for q in sys.argv[3].split(",")] if len(sys.argv) > 3 else [32]
    FaceAnalyzer().close()
    for clip in clips:
        frames = read_rgb444(Path(f"work/sequences/{clip}_256x256_25_8bit_444.rgb"), max_frames=100)
        for qp in qps:
            for t in threads:
                cfg = EncoderConfig(keyframe_qp=qp, generator_name="ifvc-geometric-7", refresh="auto",
                                    vvc_preset="auto", pose_fit=True, correction_grid="on", threads=t)
                enc = Encoder(cfg, 256, 256, Fraction(25), num_frames=len(frames))
                t0 = time.perf_counter()
                result = enc.encode(iter(frames))
                dt = time.perf_counter() - t0
                keys = [f.frame_idx for f in result.frames if f.kind == "key"]
                print(f"{clip} QP {qp} threads {t}: {len(frames) / dt:5.1f} frames/s  "
                      f"{hashlib.sha256(result.stream).hexdigest()[:16]}  {len(result.stream)} B  key frames {keys}",
                      flush=True)


if __name__ == "__main__":
    main()
