"""Strips of docs/results/refresh_periods_2026-12-05 (source | the encoder before | after, at
key-frame QP 32, both with ifvc-geometric-5 --pose-fit --refresh auto), from the decoded
pictures the campaigns wrote:

    python docs/results/refresh_periods_2026-12-05/strips.py work/camp_g5pf work/camp_rp4
"""
from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from bitstream.raw_video import read_rgb444

OUT = Path(__file__).parent
CASES = {   # clip: frames between key frames in both streams (the head turn; the HDTF clip)
    "pcavs_Pose_Source_620900105": (40, 52, 70, 95),
    "sadtalker_RD_Radio34_000": (20, 60, 95),
}


def decoded(campaign: Path, codec: str, clip: str) -> np.ndarray:
    return read_rgb444(campaign / "cells" / codec / clip / f"{clip}_{codec}_qp32.rgb", max_frames=100)


def main(before: Path, after: Path) -> None:
    for clip, frames in CASES.items():
        src = read_rgb444(Path("work/sequences") / f"{clip}_256x256_25_8bit_444.rgb", max_frames=100)
        old, new = decoded(before, "g5_ra_pf", clip), decoded(after, "g5_ra2_pf", clip)
        rows = [np.concatenate([src[t], old[t], new[t]], axis=1) for t in frames]
        cv2.imwrite(str(OUT / f"strip_{clip}_qp32.png"), np.concatenate(rows, axis=0)[..., ::-1])


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
