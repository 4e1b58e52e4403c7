"""The probe's same-levels check (before the rate plane): a campaign's ifvc-geometric-8 cells
decoded again plainly (must give the campaign's decoded video byte for byte: checked) and with
the generator given the key pictures filtered by probe_unconditioned.KeyFilterNet (run once per
key frame; the displayed key frames stay VVC's). Wrote same_levels_test_qp32_probe.json:

    python docs/results/key_restore_2026-12-07/probe_same_levels.py work/camp_g8_test g8 32 OUT.json \
        work/key_filter/run1/net.pt 32 4
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ifvc_synthesis.generators import ChinMaskMeshGenerator  # noqa: E402
from probe_unconditioned import KeyFilterNet, apply  # noqa: E402
from tools.same_levels import compare_generators, study_arguments  # noqa: E402


def filtered_generator(net: KeyFilterNet) -> type[ChinMaskMeshGenerator]:
    class Filtered(ChinMaskMeshGenerator):
        def set_keyframe(self, key_rgb, key_values, geometry, geometry_version):  # type: ignore[no-untyped-def]
            super().set_keyframe(apply(net, key_rgb[None])[0], key_values, geometry, geometry_version)
    return Filtered


def main() -> int:
    campaign, codec, qp, out = study_arguments(sys.argv[1:5])
    extra = sys.argv[5:]
    if len(extra) != 3:
        raise SystemExit("usage: CAMPAIGN CODEC QP OUT.json NET.pt CHANNELS BLOCKS")
    net = KeyFilterNet(int(extra[1]), int(extra[2]))
    net.load_state_dict(torch.load(extra[0], weights_only=True))
    net.eval()
    compare_generators(campaign, codec, qp, out, {"geometric-8": ChinMaskMeshGenerator,
                                                  "filtered": filtered_generator(net)}, plain="geometric-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
