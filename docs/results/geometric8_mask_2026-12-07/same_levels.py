"""Annex H.11's person mask with the levels as coded: the cells of a campaign coded with
ifvc-geometric-7 decoded again with ifvc-geometric-7 (must give the campaign's decoded video byte
for byte: checked) and with ifvc-geometric-8. Scores the campaign's strided frames (every 10th
from frame 5) with LPIPS-Alex, LPIPS-VGG and DISTS, and PSNR-RGB over all frames (of the mean
MSE); prints one line per clip and the means; writes JSON.

    python docs/results/geometric8_mask_2026-12-07/same_levels.py work/camp_g7k_test g7k 32 OUT.json
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

import ref_decoder.decoder as rd  # noqa: E402
from ifvc_synthesis.generators import ChinMaskMeshGenerator, ToneMouthMeshGenerator  # noqa: E402
from tools.same_levels import (METRICS, campaign_cells, check_reproduces, row_line,  # noqa: E402
                                score_versions, study_arguments)

GENERATORS = {"geometric-7": ToneMouthMeshGenerator, "geometric-8": ChinMaskMeshGenerator}


def main() -> int:
    campaign, codec, qp, out = study_arguments(sys.argv[1:])
    result: dict[str, dict] = {}
    for cell in campaign_cells(campaign, codec, qp, Path("work/sequences")):
        versions = {name: np.stack([f.rgb for f in rd.Decoder(generator=gen()).decode(cell.stream)])
                    for name, gen in GENERATORS.items()}
        check_reproduces(cell, versions["geometric-7"], "geometric-7")
        result[cell.clip] = score_versions(cell.source, versions)
        print(row_line(cell.clip, result[cell.clip]), flush=True)
    means = {n: {m: float(np.mean([r[n][m] for r in result.values()])) for m in ("psnr_rgb",) + METRICS}
             for n in GENERATORS}
    for n, r in means.items():
        print(f"mean {n}: " + " ".join(f"{m} {v:.4f}" for m, v in r.items()))
    out.write_text(json.dumps({"clips": result, "mean": means}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
