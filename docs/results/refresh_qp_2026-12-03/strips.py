"""Strips of the refresh QP study: source | one key frame | --refresh auto | --refresh auto
--refresh-qp-offset 8, at a refresh key frame and frames after it, from the decoded files the
study campaign kept.

    python docs/results/refresh_qp_2026-12-03/strips.py --campaign work/cq_refresh --sequences work/sequences
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bitstream.raw_video import read_rgb444
from conformance.metrics.psnr import psnr_rgb_frames
from tools.generator_strips import write_strip

HERE = Path(__file__).parent
CASES = [("pcavs_Pose_Source_620900105", 32, [33, 40, 50]), ("sadtalker_RD_Radio34_000", 22, [])]
CODECS = [("ifvc", "one key frame"), ("ra_o0", "refresh"), ("ra_o8", "refresh, offset 8")]


def keys_of(log: Path) -> list[int]:
    return [int(line.split(",")[0]) for line in log.read_text().splitlines() if ",key," in line]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--campaign", type=Path, required=True)
    ap.add_argument("--sequences", type=Path, required=True)
    args = ap.parse_args()
    for seq, qp, frames in CASES:
        source = read_rgb444(args.sequences / f"{seq}_256x256_25_8bit_444.rgb")
        decoded = {}
        for codec, _ in CODECS:
            path = args.campaign / "cells" / codec / seq / f"{seq}_{codec}_qp{qp}.rgb"
            if not path.is_file():
                print(f"error: {path} not found (run the study campaign)", file=sys.stderr)
                return 2
            decoded[codec] = read_rgb444(path)
        keys = keys_of(args.campaign / "cells" / "ra_o8" / seq / f"{seq}_ra_o8_qp{qp}.encoder_log.csv")
        print(f"{seq} QP {qp}: refresh key frames {keys}")
        for f in frames or keys[1:3]:
            panels = [(source[f], f"source f{f}")]
            for codec, label in CODECS:
                value = float(psnr_rgb_frames(source[f:f + 1], decoded[codec][f:f + 1])[0])
                panels.append((decoded[codec][f], f"{label} {value:.1f} dB"))
            write_strip(HERE / f"strip_{seq}_qp{qp}_f{f}.png", panels)
    return 0


if __name__ == "__main__":
    sys.exit(main())
