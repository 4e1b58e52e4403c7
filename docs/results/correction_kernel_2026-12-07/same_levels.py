"""The correction stage's kernel with the levels as coded (issue 14's QP 32 DISTS): the g7h64 cells
of a campaign (coded with the bilinear rule of 8.6.2 step 3, before 2026-12-07) decoded again with
- bilinear: the old step 3 (must give the campaign's decoded video byte for byte: checked);
- bicubic: step 3 as it is now, Annex H.8's clamped bicubic kernel (ifvc_synthesis/correction_grid.py);
- bicubic_layers: bicubic, and the person layer and the moved plate of Annex G.5 / G.5a read with
  the same kernel (not adopted: it adds little).
Scores the campaign's strided frames (every 10th from frame 5) with LPIPS-Alex, LPIPS-VGG and
DISTS, and PSNR-RGB over all frames; prints one line per clip and the means; writes JSON.

    python docs/results/correction_kernel_2026-12-07/same_levels.py work/camp_g7h64_test g7h64 32 OUT.json
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

import ref_decoder.decoder as rd  # noqa: E402
from ifvc_synthesis.correction_grid import dense_field  # noqa: E402
from ifvc_synthesis.generators.geometric_7 import ToneMouthMeshGenerator  # noqa: E402
from ref_encoder.correction_grid import sample  # noqa: E402   (bilinear, the old step 3 unrounded)
from tools.same_levels import (METRICS, campaign_cells, check_reproduces, row_line,  # noqa: E402
                                score_versions, study_arguments)


class CubicLayers(ToneMouthMeshGenerator):
    """geometric-7 whose person layer and moved plate read the key frame bicubic (clamped)."""
    sampling = cv2.INTER_CUBIC


def bilinear(picture: np.ndarray, layout, levels: list[int]) -> np.ndarray:  # type: ignore[no-untyped-def]
    grid = layout.displacement(levels)
    if not np.any(grid):
        return picture
    h, w = picture.shape[:2]
    return np.clip(np.rint(sample(picture.astype(np.float32), dense_field(grid, w, h))), 0, 255).astype(np.uint8)


def decode(data: bytes, generator, correction) -> np.ndarray:  # type: ignore[no-untyped-def]
    kept = rd.apply_correction
    rd.apply_correction = correction
    try:
        return np.stack([f.rgb for f in rd.Decoder(generator=generator()).decode(data)])
    finally:
        rd.apply_correction = kept


def main() -> int:
    campaign, codec, qp, out = study_arguments(sys.argv[1:])
    result: dict[str, dict] = {}
    for cell in campaign_cells(campaign, codec, qp, Path("work/sequences")):
        versions = {"bilinear": decode(cell.stream, ToneMouthMeshGenerator, bilinear),
                    "bicubic": decode(cell.stream, ToneMouthMeshGenerator, rd.apply_correction),
                    "bicubic_layers": decode(cell.stream, CubicLayers, rd.apply_correction)}
        check_reproduces(cell, versions["bilinear"], "bilinear")
        result[cell.clip] = score_versions(cell.source, versions)
        print(row_line(cell.clip, result[cell.clip]), flush=True)
    print("mean over clips (PSNR-RGB, LPIPS-Alex, LPIPS-VGG, DISTS):")
    for name in next(iter(result.values())):
        print(f"  {name}: " + " ".join(f"{np.mean([r[name][m] for r in result.values()]):.4f}"
                                       for m in ("psnr_rgb",) + METRICS))
    out.write_text(json.dumps({"command": " ".join(["same_levels.py"] + sys.argv[1:]), "clips": result}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
