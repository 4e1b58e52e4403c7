"""Annex H.12's restored key picture with the levels as coded: the cells of a campaign coded with
ifvc-geometric-8 decoded again with ifvc-geometric-8 (must give the campaign's decoded video byte
for byte: checked) and with ifvc-geometric-9. Scores the campaign's strided frames (every 10th
from frame 5) with LPIPS-Alex, LPIPS-VGG and DISTS, and PSNR-RGB over all frames (of the mean
MSE); prints one line per clip and the means; writes JSON.

    python docs/results/key_restore_2026-12-07/same_levels.py work/camp_g8_test g8 32 OUT.json
"""
from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from ifvc_synthesis.generators import get_generator  # noqa: E402
from tools.same_levels import compare_generators, study_arguments  # noqa: E402


def main() -> int:
    campaign, codec, qp, out = study_arguments(sys.argv[1:])
    compare_generators(campaign, codec, qp, out, {"geometric-8": partial(get_generator, "ifvc-geometric-8"),
                                                  "geometric-9": partial(get_generator, "ifvc-geometric-9")},
                       plain="geometric-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
