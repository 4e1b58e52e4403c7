"""A zoomed strip: for each CLIP:FRAME, a 112 x 112 crop around the face centre of the source and
of each campaign column, enlarged 3x (nearest neighbour, so the samples themselves show).

    python docs/results/correction_kernel_2026-12-07/zoom_strip.py --qp 32 \
        --column work/camp_g7h64_test:g7h64 --column work/camp_g7k_test:g7k \
        --at liveportrait_driving_d10:45:72:56 --out docs/results/correction_kernel_2026-12-07/zoom_qp32.png

--at CLIP:FRAME:X:Y names the crop's top-left corner (pixels of the 256 x 256 picture).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from bitstream.raw_video import read_rgb444  # noqa: E402

SIDE, ZOOM = 112, 3


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--qp", type=int, required=True)
    ap.add_argument("--column", action="append", required=True, help="CAMPAIGN:CODEC")
    ap.add_argument("--at", action="append", required=True, help="CLIP:FRAME:X:Y")
    ap.add_argument("--sequences", type=Path, default=Path("work/sequences"))
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    rows = []
    for at in args.at:
        clip, frame, x, y = at.split(":")
        f, x0, y0 = int(frame), int(x), int(y)
        pics = [read_rgb444(args.sequences / f"{clip}_256x256_25_8bit_444.rgb", 256, 256, f + 1)[f]]
        for col in args.column:
            camp, codec = col.split(":")
            cell = Path(camp) / "cells" / codec / clip / f"{clip}_{codec}_qp{args.qp}.rgb"
            pics.append(read_rgb444(cell, 256, 256, f + 1)[f])
        crops = [cv2.resize(p[y0:y0 + SIDE, x0:x0 + SIDE], None, fx=ZOOM, fy=ZOOM, interpolation=cv2.INTER_NEAREST)
                 for p in pics]
        rows.append(np.hstack(crops))
    cv2.imwrite(str(args.out), cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
