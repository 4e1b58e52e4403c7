"""How the encoder estimates the correction grid (ref_encoder/correction_grid.py, step 2), compared
on whole encodes: each variant codes clips with the default encoder at one key-frame QP, the
stream is decoded, and the decoded video is scored against the source.

    python docs/results/correction_fit_2026-12-06/fit_variants.py --variant mean --out OUT CLIP [CLIP ...]

Run from the repository root; CLIP names work/sequences/CLIP_256x256_25_8bit_444.rgb. Variants:
- mean: the flow's cell means (INTER_AREA), as before this study (fit_grid with 0 steps; with
  --flow medium, the encoder before this study);
- ls: the least-squares fit of the decoder's bilinear field (8.6.2) to the dense flow;
- wls: the same, each sample weighted by the source's local gradient energy (Gaussian sigma 3,
  plus 1), since the flow is noise where the picture is flat;
- fit_sS_kK: fit_grid (Gauss-Newton on the corrected picture's squared error) from the cell
  means, on pictures reduced S times, K steps; fit_s2_k2 with --flow fast is the encoder's
  default.
Encoder: --generator ifvc-geometric-7 --pose-fit --refresh auto --correction-grid auto, 100
frames. Scores: PSNR-RGB of the mean squared error over all frames; LPIPS-Alex, LPIPS-VGG and
DISTS on the campaign's strided frames (every 10th from frame 5). Prints one JSON line per clip
and the means, and writes OUT/VARIANT_qpQP.json.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

import ref_encoder.correction_grid as cg  # noqa: E402
from bitstream.raw_video import read_rgb444  # noqa: E402
from conformance.campaign.cells import strided_indices  # noqa: E402
from conformance.metrics.aggregate import frame_scores_many  # noqa: E402
from conformance.metrics.psnr import psnr_from_mse  # noqa: E402
from ifvc_synthesis.correction_grid import GRID  # noqa: E402
from ref_decoder.cli import main as decode  # noqa: E402
from ref_encoder.cli import main as encode  # noqa: E402


def least_squares(dense: np.ndarray, weight: np.ndarray | None = None) -> np.ndarray:
    """The grid whose field (8.6.2) is nearest the dense flow in (weighted) least squares."""
    h, w = dense.shape[:2]
    weights = np.ones((h, w)) if weight is None else weight.astype(np.float64)
    bx, by = cg.axis_weights(w), cg.axis_weights(h)
    normal = cg.normal_block(weights)
    normal += np.eye(GRID * GRID) * 1e-6 * np.trace(normal)
    rhs = np.stack([np.einsum("yb,ya->ba", by, np.einsum("yx,xa->ya", weights * dense[..., c], bx)).reshape(-1)
                    for c in range(2)], 1)
    return np.linalg.solve(normal, rhs).reshape(GRID, GRID, 2).astype(np.float32)


def gradient_energy(picture: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(picture, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3) / 8
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3) / 8
    return cv2.GaussianBlur(gx * gx + gy * gy, (0, 0), 3) + 1.0


def install(variant: str) -> None:
    """Make the encoder's step 2 the variant's."""
    if variant == "mean":
        cg.fit_grid.__defaults__ = (0, 1)
    elif variant.startswith("fit_s"):
        scale, steps = (int(part[1:]) for part in variant[4:].split("_"))
        cg.fit_grid.__defaults__ = (steps, scale)
    elif variant in ("ls", "wls"):
        def fit(source: np.ndarray, drawn: np.ndarray, start: np.ndarray, *_: object) -> np.ndarray:
            dense = cg.source_flow(source, drawn, cv2.DISOpticalFlow_create(cg.FLOW_PRESET))
            return least_squares(dense, gradient_energy(source) if variant == "wls" else None)
        cg.fit_grid = fit          # the chooser calls the module's fit_grid
    else:
        raise SystemExit(f"unknown variant {variant!r}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", required=True)
    ap.add_argument("--qp", type=int, default=32)
    ap.add_argument("--sequences", type=Path, default=Path("work/sequences"))
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--flow", choices=["medium", "fast"], default="fast",
                    help="DIS preset of the flow that starts the fit (the variants table: medium)")
    ap.add_argument("clips", nargs="+")
    a = ap.parse_args()
    install(a.variant)
    cg.FLOW_PRESET = {"medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM, "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST}[a.flow]
    a.out.mkdir(parents=True, exist_ok=True)
    rows = {}
    for clip in a.clips:
        seq = a.sequences / f"{clip}_256x256_25_8bit_444.rgb"
        stem = a.out / f"{clip}_{a.variant}_qp{a.qp}"
        t0 = time.time()
        if encode([str(seq), "--width", "256", "--height", "256", "--fps", "25", "--qp", str(a.qp), "--frames", "100",
                   "--generator", "ifvc-geometric-7", "--pose-fit", "--refresh", "auto", "--correction-grid", "auto",
                   "-o", f"{stem}.ifvc", "--quiet"]) != 0 or decode([f"{stem}.ifvc", "-o", f"{stem}.rgb"]) != 0:
            raise SystemExit(f"{clip}: encode or decode failed")
        seconds = time.time() - t0
        src = read_rgb444(seq, 256, 256, 100)
        dec = read_rgb444(f"{stem}.rgb", 256, 256, 100)
        mse = float(np.mean((src.astype(np.float64) - dec.astype(np.float64)) ** 2))
        idx = strided_indices(100, 10)
        scores = frame_scores_many(src[idx], [dec[idx]], ["lpips_alex", "lpips_vgg", "dists"])[0]
        stream = Path(f"{stem}.ifvc").read_bytes()
        rows[clip] = dict(kbps=len(stream) * 8 / 4000, psnr=psnr_from_mse(mse),
                          **{k: float(np.mean(v)) for k, v in scores.items()},
                          seconds=seconds, sha256=hashlib.sha256(stream).hexdigest())
        print(clip, a.variant, json.dumps(rows[clip]), flush=True)
    (a.out / f"{a.variant}_qp{a.qp}.json").write_text(json.dumps(rows, indent=1))
    means = {k: float(np.mean([r[k] for r in rows.values()])) for k in ("kbps", "psnr", "lpips_alex", "lpips_vgg", "dists")}
    print("MEAN", a.variant, json.dumps(means))
    return 0


if __name__ == "__main__":
    sys.exit(main())
