"""Wall-clock time per frame of the encoder's main stages during one encode (the default
encoder at one key-frame QP, 100 frames), by wrapping the stages' entry points.

    python docs/results/encoder_speed_2026-12-06/stage_times.py work/sequences/CLIP_256x256_25_8bit_444.rgb [--qp 32]

Stages: the background alignment (BackgroundMotion.estimate), the analysis (FaceAnalyzer's
analyze_frame, MediaPipe), the semantic RDOQ (choose_unit_levels) and the correction grid
(CorrectionChooser.choose). The whole encode's time includes the start-up (imports, MediaPipe's
graph). Run from the repository root; PYTHONPATH selects the tree measured.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import ref_encoder.encoder as encoder_module
import ref_encoder.semantic_rdoq as rdoq
from ref_encoder.analysis.analyzer import FaceAnalyzer
from ref_encoder.background_motion import BackgroundMotion
from ref_encoder.cli import main as encode
from ref_encoder.correction_grid import CorrectionChooser

SECONDS: dict[str, float] = {}


def timed(owner: object, name: str, stage: str) -> None:
    """Replace owner.name by a wrapper that adds its wall-clock time to SECONDS[stage]."""
    inner = getattr(owner, name)

    def wrapper(*args: object, **kwargs: object) -> object:
        t0 = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            SECONDS[stage] = SECONDS.get(stage, 0.0) + time.perf_counter() - t0

    setattr(owner, name, wrapper)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sequence", type=Path)
    ap.add_argument("--qp", type=int, default=32)
    ap.add_argument("--frames", type=int, default=100)
    a = ap.parse_args()
    timed(BackgroundMotion, "estimate", "background alignment")
    timed(FaceAnalyzer, "analyze_frame", "analysis")
    timed(rdoq, "choose_unit_levels", "rdoq")
    encoder_module.choose_unit_levels = rdoq.choose_unit_levels   # the encoder imported it by name
    timed(CorrectionChooser, "choose", "correction grid")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        rc = encode([str(a.sequence), "--width", "256", "--height", "256", "--fps", "25", "--qp", str(a.qp),
                     "--frames", str(a.frames), "--generator", "ifvc-geometric-7", "--refresh", "auto",
                     "--correction-grid", "auto", "-o", str(Path(tmp) / "stream.ifvc"), "--quiet"])
        total = time.perf_counter() - t0
    if rc != 0:
        return rc
    stages = ", ".join(f"{k} {v / a.frames * 1000:.1f} ms/frame" for k, v in SECONDS.items())
    print(f"{a.sequence.name}: whole encode {total:.2f} s; {stages}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
