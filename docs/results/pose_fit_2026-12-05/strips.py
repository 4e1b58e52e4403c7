"""Strips source | ifvc-flow-5 without pose fit | with `--pose-fit`, from the campaigns' one-key-
frame streams at key-frame QP 32: per sequence the frame the fit helps most and the frame it
hurts most (PSNR-RGB of the whole frame), whole frames above, the region where the two decoded
frames differ enlarged below.

    python docs/results/pose_fit_2026-12-05/strips.py --before work/camp_flow5 --after work/camp_pf \
        --out docs/results/pose_fit_2026-12-05
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from bitstream.raw_video import read_rgb444
from conformance.metrics.psnr import psnr_rgb
from ref_decoder.decoder import Decoder
from tools.generator_strips import write_rows

QP = 32
SEQUENCES = ("liveportrait_driving_d10", "fomm_demo_old_08", "sadtalker_RD_Radio34_000", "pcavs_Pose_Source_620900105")
MIN_SIDE = 96


def changed_box(a: np.ndarray, b: np.ndarray) -> tuple[int, int, int]:
    """(y0, x0, side) of a square around the pixels where a and b differ by more than 8 levels."""
    ys, xs = np.nonzero(np.abs(a.astype(np.int16) - b).max(axis=2) > 8)
    h, w = a.shape[:2]
    if len(ys) == 0:
        return (h - MIN_SIDE) // 2, (w - MIN_SIDE) // 2, MIN_SIDE
    side = int(min(max(ys.max() - ys.min(), xs.max() - xs.min(), MIN_SIDE), h, w))
    cy, cx = (ys.max() + ys.min()) / 2, (xs.max() + xs.min()) / 2
    return int(np.clip(cy - side / 2, 0, h - side)), int(np.clip(cx - side / 2, 0, w - side)), side


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sequences", type=Path, default=Path("work/sequences"))
    ap.add_argument("--before", type=Path, required=True, help="campaign folder with the flow5 cells")
    ap.add_argument("--after", type=Path, required=True, help="campaign folder with the flow5_pf cells")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    for seq in SEQUENCES:
        src = read_rgb444(args.sequences / f"{seq}_256x256_25_8bit_444.rgb", max_frames=100)
        decoded = []
        for folder, codec in ((args.before, "flow5"), (args.after, "flow5_pf")):
            data = (folder / "cells" / codec / seq / f"{seq}_{codec}_qp{QP}.ifvc").read_bytes()
            decoded.append(np.stack([f.rgb for f in Decoder().decode(data)]))
        gain = [psnr_rgb(s, a) - psnr_rgb(s, b) for s, b, a in zip(src, *decoded)]
        for what, f in (("most_helped", int(np.argmax(gain))), ("most_hurt", int(np.argmin(gain)))):
            before, after = decoded[0][f], decoded[1][f]
            panels = [(src[f], f"source f{f}"), (before, f"flow-5 {psnr_rgb(src[f], before):.1f} dB"),
                      (after, f"flow-5 pose fit {psnr_rgb(src[f], after):.1f} dB")]
            y0, x0, side = changed_box(before, after)
            crops = [(cv2.resize(rgb[y0:y0 + side, x0:x0 + side], (256, 256), interpolation=cv2.INTER_CUBIC), "enlarged")
                     for rgb, _ in panels]
            write_rows(args.out / f"strip_{what}_{seq}_qp{QP}_f{f:03d}.png", [panels, crops])


if __name__ == "__main__":
    main()
