"""Strips source | ifvc-geometric-3 | ifvc-flow-4 | ifvc-flow-5 of closing eyes and of
`eye_blink` edits, from the campaign's one-key-frame flow5 streams at key-frame QP 32. A flow5
stream differs from a flow4 one only in the generator it names, so each stream is decoded with
each generator (the reference decoder's generator override); the edits are applied as
`ifvc-decode --edit` applies them, to the shown frame only, and their first panel is the
unedited source. Each strip shows the whole frames, then the eyes enlarged.

    python docs/results/flow5_eyelids_2026-12-05/strips.py --campaign work/camp_flow5 \
        --out docs/results/flow5_eyelids_2026-12-05
"""
from __future__ import annotations

import argparse
from itertools import islice
from pathlib import Path

import cv2
import numpy as np

from bitstream.raw_video import read_rgb444
from conformance.metrics.psnr import psnr_rgb
from ifvc_synthesis.generators import get_generator
from ifvc_synthesis.generators.geometric_3 import MeshGenerator
from ifvc_synthesis.idi import EYE_LEFT, EYE_RIGHT, _idx
from ref_decoder.decoder import Decoder
from ref_decoder.edits import EditApplier, parse_edit
from tools.generator_compare import _geometry_of
from tools.generator_strips import write_rows

QP = 32
BOTH_SHUT = ["eye_blink_left:set=0", "eye_blink_right:set=0"]
# (sequence, frame, what, edits): the closing-eye frames of feature_loss_2026-12-04's study, then edits
CASES = [("liveportrait_driving_d13", 36, "blink", []),
         ("fomm_demo_old_08", 22, "lowered lids", []),
         ("pcavs_Pose_Source_620900105", 35, "closing eyes", []),
         ("liveportrait_driving_d20", 50, "both eyes shut", BOTH_SHUT),
         ("videoretalking_face_2", 50, "both eyes shut", BOTH_SHUT),
         ("sadtalker_RD_Radio34_000", 50, "left eye shut", ["eye_blink_left:set=0"])]
GENERATORS = (("ifvc-geometric-3", "geometric-3"), ("ifvc-flow-4", "flow-4"), ("ifvc-flow-5", "flow-5"))


def decoded_frame(stream: bytes, generator: str, frame: int, edits: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(output frame ``frame`` of ``stream`` decoded with ``generator`` and ``edits`` applied to
    that frame only, its semantic values before the edits)."""
    applier = EditApplier([parse_edit(f"{e}@{frame}-{frame}") for e in edits])
    out = next(islice(Decoder(generator=get_generator(generator), edits=applier).decode(stream), frame, None))
    return out.rgb, np.asarray(out.values)


def eye_box(stream: bytes, key_rgb: np.ndarray, key_values: np.ndarray, values: np.ndarray) -> tuple[int, int, int]:
    """(y0, x0, side) of a square around both eyes of the frame's target geometry."""
    geo = MeshGenerator()
    geo.set_keyframe(key_rgb, key_values, *_geometry_of(stream))
    lm = geo.target_geometry(values).landmarks
    pts = np.vstack([lm[_idx(EYE_LEFT["ring"])], lm[_idx(EYE_RIGHT["ring"])]])
    side = int(min(max(1.6 * float(np.ptp(pts[:, 0])), 48), key_rgb.shape[0]))
    cy, cx = pts.mean(axis=0)[::-1]
    h, w = key_rgb.shape[:2]
    return int(np.clip(cy - side / 2, 0, h - side)), int(np.clip(cx - side / 2, 0, w - side)), side


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sequences", type=Path, default=Path("work/sequences"))
    ap.add_argument("--campaign", type=Path, required=True, help="campaign folder with the flow5 cells")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    for seq, f, what, edits in CASES:
        src = read_rgb444(args.sequences / f"{seq}_256x256_25_8bit_444.rgb", max_frames=f + 1)[f]
        stream = (args.campaign / "cells" / "flow5" / seq / f"{seq}_flow5_qp{QP}.ifvc").read_bytes()
        first = next(iter(Decoder(generator=get_generator("ifvc-geometric-3")).decode(stream)))
        outs = {name: decoded_frame(stream, name, f, edits) for name, _ in GENERATORS}
        y0, x0, side = eye_box(stream, first.rgb, np.asarray(first.values), outs["ifvc-flow-5"][1])
        panels = [(src, f"source f{f}" + (" (unedited)" if edits else ""))]
        for name, short in GENERATORS:
            rgb = outs[name][0]
            panels.append((rgb, f"{short} {what}" if edits else f"{short} {psnr_rgb(src, rgb):.1f} dB"))
        crops = [(cv2.resize(rgb[y0:y0 + side, x0:x0 + side], (256, 256), interpolation=cv2.INTER_CUBIC), "eyes")
                 for rgb, _ in panels]
        path = args.out / f"strip_{what.replace(' ', '_')}_{seq}_qp{QP}_f{f:03d}.png"
        write_rows(path, [panels, crops])


if __name__ == "__main__":
    main()
