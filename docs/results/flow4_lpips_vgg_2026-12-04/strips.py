"""Strips source | ifvc-flow-3 | ifvc-flow-4 of the hard cases (head turn, wide-open mouth, blink)
and of decoder-side edits, from the campaign's one-key-frame flow4 streams at key-frame QP 32.
A flow4 stream differs from a flow3 one only in the generator it names, so each stream is
decoded with both generators (the reference decoder's generator override); the edits are
decoded as `ifvc-decode --edit` applies them, and their first panel is the unedited source.

    python docs/results/flow4_lpips_vgg_2026-12-04/strips.py --campaign work/camp_flow4 \
        --out docs/results/flow4_lpips_vgg_2026-12-04
"""
from __future__ import annotations

import argparse
from itertools import islice
from pathlib import Path

import numpy as np

from bitstream.raw_video import read_rgb444
from conformance.metrics.psnr import psnr_rgb
from ifvc_synthesis.generators import get_generator
from ref_decoder.decoder import Decoder
from ref_decoder.edits import EditApplier, parse_edit
from tools.generator_strips import write_strip

QP = 32
# (sequence, frame, what, edits): frames of the earlier strips (flow2_generator_2026-12-04)
CASES = [("pcavs_Pose_Source_620900105", 48, "head turn", []),
         ("liveportrait_driving_d10", 83, "open mouth", []),
         ("liveportrait_driving_d13", 36, "blink", []),
         ("liveportrait_driving_d20", 50, "head_yaw +25", ["head_yaw:offset=25"]),
         ("liveportrait_driving_d20", 50, "head_tx +0.2", ["head_tx:offset=0.2"]),
         ("liveportrait_driving_d20", 50, "mouth_open +0.15", ["mouth_open:offset=0.15"])]
GENERATORS = (("ifvc-flow-3", "flow-3"), ("ifvc-flow-4", "flow-4"))


def frame_of(stream: bytes, generator: str, frame: int, edits: list[str]) -> np.ndarray:
    """Output frame ``frame`` of ``stream`` decoded with ``generator``, ``edits`` applied to that
    frame only (tools/generator_strips.py does the same)."""
    applier = EditApplier([parse_edit(f"{e}@{frame}-{frame}") for e in edits])
    dec = Decoder(generator=get_generator(generator), edits=applier)
    return next(islice(dec.decode(stream), frame, None)).rgb


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sequences", type=Path, default=Path("work/sequences"))
    ap.add_argument("--campaign", type=Path, required=True, help="campaign folder with the flow4 cells")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    for seq, f, what, edits in CASES:
        src = read_rgb444(args.sequences / f"{seq}_256x256_25_8bit_444.rgb", max_frames=f + 1)[f]
        stream = (args.campaign / "cells" / "flow4" / seq / f"{seq}_flow4_qp{QP}.ifvc").read_bytes()
        panels = [(src, f"source {seq[:16]} f{f}" + (" (unedited)" if edits else ""))]
        for name, short in GENERATORS:
            out = frame_of(stream, name, f, edits)
            panels.append((out, f"{short} {what}" if edits else f"{short} {psnr_rgb(src, out):.1f} dB"))
        tag = what.replace(" ", "_").replace("+", "")
        write_strip(args.out / f"strip_{tag}_{seq}_qp{QP}_f{f:03d}.png", panels)


if __name__ == "__main__":
    main()
