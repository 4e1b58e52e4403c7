"""Strips: source | decoded (no correction) | corrected by a variant's grid, for chosen frames.

    python docs/results/correction_grid_2026-12-06/strips.py --campaign C --codec g7 --qp 32 \
        --variant g4q1 --clip NAME:f1,f2 ... --out strip.png

Each panel is titled with its PSNR-RGB. The grid is computed as tools/correction_grid_study.py
computes it (period 1, no hold: every frame's own levels).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from bitstream.raw_video import read_rgb444
from conformance.metrics.psnr import psnr_from_mse

from tools.correction_grid_study import Variant, apply_field, correction_levels, dense_flow, field, key_frames


def titled(picture: np.ndarray, text: str) -> np.ndarray:
    out = np.concatenate([np.full((18, picture.shape[1], 3), 255, np.uint8), picture], axis=0)
    cv2.putText(out, text, (3, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    return out


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(psnr_from_mse(((a.astype(np.float64) - b) ** 2).mean()))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--campaign", type=Path, required=True)
    ap.add_argument("--codec", default="g7")
    ap.add_argument("--qp", type=int, default=32)
    ap.add_argument("--variant", default="g4q1")
    ap.add_argument("--sequences-dir", type=Path, default=Path("work/sequences"))
    ap.add_argument("--clip", action="append", required=True, help="NAME:f1,f2")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    v = Variant.parse(args.variant)
    flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    rows = []
    for spec in args.clip:
        name, frames = spec.split(":")
        stem = args.campaign / "cells" / args.codec / name / f"{name}_{args.codec}_qp{args.qp}"
        source = read_rgb444(args.sequences_dir / f"{name}_256x256_25_8bit_444.rgb", max_frames=100)
        decoded = read_rgb444(Path(f"{stem}.rgb"), max_frames=100)
        keys = key_frames(Path(f"{stem}.encoder_log.csv"))
        for t in map(int, frames.split(",")):
            corrected = decoded[t] if t in keys else apply_field(
                decoded[t], field(correction_levels(dense_flow(source[t], decoded[t], flow), v.grid, v.step), v.step, 256, 256))
            rows.append(np.concatenate([titled(source[t], f"{name[:22]} f{t}"),
                                        titled(decoded[t], f"{args.codec} {psnr(source[t], decoded[t]):.2f} dB"),
                                        titled(corrected, f"{v.name} {psnr(source[t], corrected):.2f} dB")], axis=1))
    cv2.imwrite(str(args.out), cv2.cvtColor(np.concatenate(rows, axis=0), cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
