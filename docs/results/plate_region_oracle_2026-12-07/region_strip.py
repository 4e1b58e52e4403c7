"""Strip of the plate region of region_oracle.py: per frame asked, source | decoded (ifvc-geometric-10) |
decoded with the region outlined in red | the key frame's plate (Annex G.4).

    python docs/results/plate_region_oracle_2026-12-07/region_strip.py work/camp_g10_test g10 32 CLIP FRAME ... OUT.png
"""
from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from bitstream.raw_video import read_rgb444  # noqa: E402
from ifvc_synthesis.generators import get_generator  # noqa: E402
from ref_decoder.decoder import Decoder  # noqa: E402


def main() -> None:
    campaign, codec, qp, clip = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
    frames, out = [int(x) for x in sys.argv[5:-1]], Path(sys.argv[-1])
    stream = (campaign / "cells" / codec / clip / f"{clip}_{codec}_qp{qp}.ifvc").read_bytes()
    source = read_rgb444(Path("work/sequences") / f"{clip}_256x256_25_8bit_444.rgb", 256, 256, 100)
    gen = get_generator("ifvc-geometric-10")
    rows = []
    for f in Decoder(generator=gen).decode(stream):
        if f.kind == "key":
            mask = gen.person_mask.copy()
            plate = np.clip(gen.plate + 0.5, 0, 255).astype(np.uint8)
        if f.frame_idx in frames:
            region = ((mask > 0) & (gen.person_alpha(np.asarray(f.values)) < 0.5)).astype(np.uint8)
            outlined = f.rgb.copy()
            contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
            cv2.drawContours(outlined, contours, -1, (255, 0, 0), 1)
            rows.append(np.concatenate([source[f.frame_idx], f.rgb, outlined, plate], 1))
    cv2.imwrite(str(out), cv2.cvtColor(np.concatenate(rows, 0), cv2.COLOR_RGB2BGR))


if __name__ == "__main__":
    main()
