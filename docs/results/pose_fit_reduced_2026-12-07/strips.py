"""Side-by-side strips: source | stream A | stream B, for chosen frames, with each decoded
frame's PSNR-RGB against the source written under it.

    python docs/results/pose_fit_reduced_2026-12-07/strips.py SEQ_256x256_25_8bit_444.rgb A.ifvc B.ifvc \
        --frames 20 50 80 95 --out strip.png [--zoom 2]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from ref_decoder.decoder import Decoder


def decoded(stream: Path) -> dict[int, np.ndarray]:
    return {f.frame_idx: f.rgb for f in Decoder().decode(stream.read_bytes())}


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b) ** 2))
    return 10 * np.log10(255.0 ** 2 / max(mse, 1e-12))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", type=Path)
    ap.add_argument("a", type=Path)
    ap.add_argument("b", type=Path)
    ap.add_argument("--frames", type=int, nargs="+", required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--zoom", type=int, default=1)
    args = ap.parse_args()
    size = 256
    raw = np.fromfile(args.source, np.uint8).reshape(-1, 3, size, size)
    streams = [decoded(args.a), decoded(args.b)]
    rows = []
    for i in args.frames:
        src = np.ascontiguousarray(raw[i].transpose(1, 2, 0))
        tiles = [src] + [s[i] for s in streams]
        labelled = []
        for k, t in enumerate(tiles):
            t = cv2.resize(t, None, fx=args.zoom, fy=args.zoom, interpolation=cv2.INTER_NEAREST)
            text = f"frame {i} source" if k == 0 else f"{'AB'[k - 1]} {psnr(tiles[k], src):.2f} dB"
            band = np.zeros((18, t.shape[1], 3), np.uint8)
            cv2.putText(band, text, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
            labelled.append(np.vstack([t, band]))
        rows.append(np.hstack(labelled))
    cv2.imwrite(str(args.out), cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
