"""Strips source | ifvc-flow-3, one key frame | ifvc-flow-3 with --refresh auto, from the decoded
pictures of two campaigns (the frames are the campaigns' own decoder output).

    python docs/results/flow3_refresh_2026-12-04/strips.py --one work/camp_bgdef --refresh work/camp_flow3ra \
        --out docs/results/flow3_refresh_2026-12-04
"""
from __future__ import annotations

import argparse
from pathlib import Path

from bitstream.raw_video import read_rgb444
from conformance.metrics.psnr import psnr_rgb
from tools.generator_strips import write_strip

CASES = [("pcavs_Pose_Source_620900105", 32, 48, "head turn"), ("pcavs_Pose_Source_620900105", 32, 80, "after the turn"),
         ("sadtalker_RD_Radio34_000", 22, 60, "QP 22")]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sequences", type=Path, default=Path("work/sequences"))
    ap.add_argument("--one", type=Path, required=True, help="campaign folder with the flow3 cells")
    ap.add_argument("--refresh", type=Path, required=True, help="campaign folder with the flow3_ra cells")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    for seq, qp, f, _what in CASES:
        src = read_rgb444(args.sequences / f"{seq}_256x256_25_8bit_444.rgb", max_frames=f + 1)[f]
        one = read_rgb444(args.one / "cells" / "flow3" / seq / f"{seq}_flow3_qp{qp}.rgb", max_frames=f + 1)[f]
        ra = read_rgb444(args.refresh / "cells" / "flow3_ra" / seq / f"{seq}_flow3_ra_qp{qp}.rgb", max_frames=f + 1)[f]
        write_strip(args.out / f"strip_{seq}_qp{qp}_f{f:03d}.png",
                    [(src, f"source {seq[:14]} f{f}"),
                     (one, f"flow-3 one key {psnr_rgb(src, one):.1f} dB"),
                     (ra, f"flow-3 refresh {psnr_rgb(src, ra):.1f} dB")])


if __name__ == "__main__":
    main()
