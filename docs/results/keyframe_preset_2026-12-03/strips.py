"""Source | key frames at VVenC faster | key frames at VVenC medium, decoded by ifvc-geometric-1,
from two quick-config campaign folders (the same config, sequences and frames; only the
key-frame preset differs). Writes strip_<sequence>_qp<QP>_f<frame>.png here.

    python docs/results/keyframe_preset_2026-12-03/strips.py BEFORE_CAMPAIGN AFTER_CAMPAIGN [--sequences work/sequences]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from bitstream.raw_video import read_rgb444

HERE = Path(__file__).parent
CASES = [("pcavs_Pose_Source_620900105", 42, 48, "head turn"), ("liveportrait_driving_d10", 42, 84, "open mouth"),
         ("liveportrait_driving_d13", 42, 67, "blink"), ("sadtalker_RD_Radio34_000", 52, 50, "QP 52"),
         ("fomm_demo_old_08", 32, 0, "key frame, QP 32"), ("videoretalking_face_2", 52, 0, "key frame, QP 52")]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b) ** 2))
    return 100.0 if mse == 0 else 10 * float(np.log10(255.0 ** 2 / mse))


def panel(rgb: np.ndarray, label: str) -> np.ndarray:
    out = np.concatenate([np.full((22, rgb.shape[1], 3), 255, np.uint8), rgb], 0)
    cv2.putText(out, label, (4, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--sequences", type=Path, default=Path("work/sequences"))
    args = ap.parse_args()
    for seq, qp, f, what in CASES:
        src = read_rgb444(args.sequences / f"{seq}_256x256_25_8bit_444.rgb", max_frames=f + 1)[f]
        cells = [read_rgb444(d / "cells" / "ifvc" / seq / f"{seq}_ifvc_qp{qp}.rgb", max_frames=f + 1)[f]
                 for d in (args.before, args.after)]
        panels = [panel(src, f"source f{f} ({what})")]
        panels += [panel(c, f"{name}, QP {qp}: {psnr(c, src):.2f} dB") for c, name in zip(cells, ("faster", "medium"))]
        strip = np.concatenate(panels, 1)
        cv2.imwrite(str(HERE / f"strip_{seq}_qp{qp}_f{f}.png"), cv2.cvtColor(strip, cv2.COLOR_RGB2BGR))


if __name__ == "__main__":
    main()
