"""Pictures for the change of the encoder's default generator (ifvc-geometric-1 -> ifvc-geometric-3).

Encodes the 7 test clips (first 100 frames) twice with the encoder's defaults at key-frame QP
42 (the demo's), once naming the old default and once the new one (everything else default:
with ifvc-geometric-3 the background elements are on, --background-motion auto), decodes each
with its own generator and writes strips source | old default | new default of the hard cases
(the largest head turn, the widest mouth opening, the most closed eye, as tools.generator_strips
picks them) and of the decoder-side edits on two clips (head_yaw +-25, head_tx +-0.2, head_loc
one cell over, mouth_open +0.15). Prints, per clip, the rate and PSNR-RGB of both. (What the
edits do to the background is measured by tools/edit_background_study.py.)

    python docs/results/default_generator_2026-12-05/strips.py --sequences work/sequences \
        --work work/default_gen --out docs/results/default_generator_2026-12-05
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bitstream.raw_video import read_rgb444
from conformance.metrics import psnr_rgb
from tools.generator_strips import (SPLIT_FILE, decode, edit_strips, encoded_clip, hard_case_strips,
                                    study_arguments)

OLD, NEW = "ifvc-geometric-1", "ifvc-geometric-3"
EDIT_SEQUENCES = ("liveportrait_driving_d20", "sadtalker_RD_Radio34_000")
EDIT_FRAME = 50


def main() -> None:
    args = study_arguments(Path(__file__).resolve().parent)
    names = json.loads(SPLIT_FILE.read_text())["test"]
    streams = {(n, g): encoded_clip(args.work, args.sequences, n, g, args.qp, args.frames)
               for n in names for g in (OLD, NEW)}
    decoded = {(n, g): decode(streams[n, g], g) for n in names for g in (OLD, NEW)}
    print("| clip | kbit/s old / new | PSNR-RGB old / new |\n|---|---|---|")
    for n in names:
        src = read_rgb444(args.sequences / f"{n}_256x256_25_8bit_444.rgb", max_frames=args.frames)
        kbps = [len(streams[n, g]) * 8 / (len(src) / 25) / 1000 for g in (OLD, NEW)]
        psnr = [np.mean([psnr_rgb(s, f.rgb) for s, f in zip(src, decoded[n, g])]) for g in (OLD, NEW)]
        print(f"| {n} | {kbps[0]:.3f} / {kbps[1]:.3f} | {psnr[0]:.2f} / {psnr[1]:.2f} |", flush=True)
    hard_case_strips(args.out, args.sequences, [("old default: geometric-1", {n: decoded[n, OLD] for n in names}),
                                                ("new default: geometric-3", {n: decoded[n, NEW] for n in names})])
    for n in EDIT_SEQUENCES:
        edit_strips(args.out, args.sequences, n, EDIT_FRAME, decoded[n, OLD][EDIT_FRAME].values,
                    [("old: g1", streams[n, OLD], OLD), ("new: g3", streams[n, NEW], NEW)])


if __name__ == "__main__":
    main()
