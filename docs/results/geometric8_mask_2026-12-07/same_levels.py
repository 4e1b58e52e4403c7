"""Annex H.11's person mask with the levels as coded: the cells of a campaign coded with
ifvc-geometric-7 decoded again with ifvc-geometric-7 (must give the campaign's decoded video byte
for byte: checked) and with ifvc-geometric-8. Scores the campaign's strided frames (every 10th
from frame 5) with LPIPS-Alex, LPIPS-VGG and DISTS, and PSNR-RGB over all frames (of the mean
MSE); prints one line per clip and the means; writes JSON.

    python docs/results/geometric8_mask_2026-12-07/same_levels.py work/camp_g7k_test g7k 32 OUT.json
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from ifvc_synthesis.generators import ChinMaskMeshGenerator, ToneMouthMeshGenerator  # noqa: E402
from tools.same_levels import compare_generators, study_arguments  # noqa: E402

GENERATORS = {"geometric-7": ToneMouthMeshGenerator, "geometric-8": ChinMaskMeshGenerator}


def main() -> int:
    campaign, codec, qp, out = study_arguments(sys.argv[1:])
    compare_generators(campaign, codec, qp, out, GENERATORS, plain="geometric-7")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
