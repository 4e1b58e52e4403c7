"""Strips of docs/results/refresh_threshold_2026-12-05 (source | the old auto threshold, 18 dB at
QP 22 | the capped one, 17 dB at QP 22; ifvc-geometric-5 --pose-fit --refresh at key-frame
QP 22, the only test point whose streams changed), from the decoded pictures the campaigns wrote:

    python docs/results/refresh_threshold_2026-12-05/strips.py work/camp_rp4 work/camp_t17
"""
from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from bitstream.raw_video import read_rgb444

OUT = Path(__file__).parent
CASES = {   # clip: frames (key frames before: pcavs 0/31/43/55, sadtalker 0/12/32/47/64/84, fomm 0/74;
            # after: pcavs 0/33/46/58, the others 0 only)
    "pcavs_Pose_Source_620900105": (40, 52, 70, 95),
    "sadtalker_RD_Radio34_000": (30, 60, 95),
    "fomm_demo_old_08": (60, 80, 95),
}


def decoded(campaign: Path, codec: str, clip: str) -> np.ndarray:
    return read_rgb444(campaign / "cells" / codec / clip / f"{clip}_{codec}_qp22.rgb", max_frames=100)


def main(before: Path, after: Path) -> None:
    for clip, frames in CASES.items():
        src = read_rgb444(Path("work/sequences") / f"{clip}_256x256_25_8bit_444.rgb", max_frames=100)
        old, new = decoded(before, "g5_ra2_pf", clip), decoded(after, "g5_t17_qp22", clip)
        rows = [np.concatenate([src[t], old[t], new[t]], axis=1) for t in frames]
        cv2.imwrite(str(OUT / f"strip_{clip}_qp22.png"), np.concatenate(rows, axis=0)[..., ::-1])


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
