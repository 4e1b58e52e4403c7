"""Screen with the levels as coded: the default encoder's test cells (ifvc-geometric-10, key
pictures without the ALF) decoded again with ifvc-geometric-10 (must give the campaign's video
byte for byte: checked) and with the same generator reading its person layer and moved plate
with Annex H.8's clamped bicubic kernel instead of bilinearly (not a registered generator).
Scores as tools/same_levels (strided LPIPS/DISTS, PSNR-RGB over every frame); writes JSON.

    python docs/results/every_frame_targets_2026-12-08/person_bicubic_screen.py work/camp_kff_test g10t 32 OUT.json
"""
from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from ifvc_synthesis.generators import get_generator  # noqa: E402
from ifvc_synthesis.generators.geometric_10 import TextureRestoredKeyMeshGenerator  # noqa: E402
from tools.same_levels import compare_generators, study_arguments  # noqa: E402


class BicubicPersonLayer(TextureRestoredKeyMeshGenerator):
    """ifvc-geometric-10 with the person layer and the plate sampled bicubically (study only)."""

    sampling = cv2.INTER_CUBIC


def main() -> int:
    campaign, codec, qp, out = study_arguments(sys.argv[1:])
    compare_generators(campaign, codec, qp, out, {"geometric-10": partial(get_generator, "ifvc-geometric-10"),
                                                  "person-bicubic": BicubicPersonLayer},
                       plain="geometric-10")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
