"""Strips of the background-displacement study: source | geometric-3 | geometric-3 with bg_tx,
bg_ty | flow-3 | flow-3 with bg_tx, bg_ty, from two streams per clip coded at key-frame QP 32
(without and with --background-motion; the streams differ only in the two elements):

    for m in off on; do ifvc-encode work/sequences/SEQ_256x256_25_8bit_444.rgb --width 256 --height 256 \\
        --frames 100 --qp 32 --generator ifvc-geometric-3 [--background-motion] -o DIR/SEQ_$m.ifvc; done
    python docs/results/background_motion_2026-12-04/strips.py --streams DIR --sequences work/sequences
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from bitstream.raw_video import read_rgb444
from conformance.metrics.psnr import psnr_rgb_frames
from ifvc_synthesis.generators import get_generator
from ref_decoder.decoder import Decoder
from tools.generator_strips import write_strip

HERE = Path(__file__).parent
CASES = [("liveportrait_driving_d20", [50, 95]), ("pcavs_Pose_Source_620900105", [30, 80]),
         ("sadtalker_RD_Radio34_000", [85])]
GENERATORS = [("ifvc-geometric-3", "geometric-3"), ("ifvc-flow-3", "flow-3")]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--streams", type=Path, required=True)
    ap.add_argument("--sequences", type=Path, required=True)
    args = ap.parse_args()
    for seq, frames in CASES:
        source = read_rgb444(args.sequences / f"{seq}_256x256_25_8bit_444.rgb")
        decoded = {}
        for mode in ("off", "on"):
            path = args.streams / f"{seq}_{mode}.ifvc"
            if not path.is_file():
                print(f"error: {path} not found (code it as the docstring says)", file=sys.stderr)
                return 2
            for name, _ in GENERATORS:
                decoded[name, mode] = np.stack([f.rgb for f in Decoder(generator=get_generator(name)).decode(path.read_bytes())])
        for f in frames:
            panels = [(source[f], f"source f{f}")]
            for name, label in GENERATORS:
                for mode, suffix in (("off", ""), ("on", " + bg")):
                    value = float(psnr_rgb_frames(source[f:f + 1], decoded[name, mode][f:f + 1])[0])
                    panels.append((decoded[name, mode][f], f"{label}{suffix} {value:.1f} dB"))
            write_strip(HERE / f"strip_{seq}_qp32_f{f}.png", panels)
            print(f"wrote strip_{seq}_qp32_f{f}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
