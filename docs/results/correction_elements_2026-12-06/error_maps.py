"""Source | g7 | g7c | |g7 - source| x4 | |g7c - source| x4 for chosen frames of two campaigns'
decoded cells at one QP, one row per frame, and the mean absolute error of each.

    python docs/results/correction_elements_2026-12-06/error_maps.py work/camp_g7_test:g7 work/camp_cg_test:g7c 32 \
        pcavs_Pose_Source_620900105:80 fomm_demo_old_08:10 --out docs/results/correction_elements_2026-12-06/error_maps_qp32.png
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from bitstream.raw_video import read_rgb444


def _picture(path: Path, frame: int) -> np.ndarray:
    return read_rgb444(path, 256, 256, frame + 1)[frame]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before", help="CAMPAIGN:CODEC")
    ap.add_argument("after", help="CAMPAIGN:CODEC")
    ap.add_argument("qp", type=int)
    ap.add_argument("frames", nargs="+", help="CLIP:FRAME")
    ap.add_argument("--sequences", type=Path, default=Path("work/sequences"))
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    rows = []
    for item in args.frames:
        clip, _, f = item.partition(":")
        frame = int(f)
        src = _picture(args.sequences / f"{clip}_256x256_25_8bit_444.rgb", frame)
        columns, maps = [src], []
        for spec in (args.before, args.after):
            campaign, _, codec = spec.rpartition(":")
            pic = _picture(Path(campaign) / "cells" / codec / clip / f"{clip}_{codec}_qp{args.qp}.rgb", frame)
            err = np.abs(pic.astype(np.int16) - src.astype(np.int16)).mean(axis=2)
            print(f"{clip} frame {frame} {codec}: mean absolute error {err.mean():.2f}")
            columns.append(pic)
            maps.append(np.repeat(np.clip(4 * err, 0, 255).astype(np.uint8)[..., None], 3, axis=2))
        rows.append(np.concatenate(columns + maps, axis=1))
    cv2.imwrite(str(args.out), cv2.cvtColor(np.concatenate(rows, axis=0), cv2.COLOR_RGB2BGR))
    return 0


if __name__ == "__main__":
    sys.exit(main())
