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

import argparse
import json
from fractions import Fraction
from pathlib import Path

import numpy as np

from bitstream.raw_video import read_rgb444
from conformance.metrics import psnr_rgb
from ref_encoder.encoder import Encoder, EncoderConfig
from tools.generator_strips import SPLIT_FILE, decode, hard_cases, study_edits, write_strip

OLD, NEW = "ifvc-geometric-1", "ifvc-geometric-3"
EDIT_SEQUENCES = ("liveportrait_driving_d20", "sadtalker_RD_Radio34_000")
EDIT_FRAME = 50


def stream_for(work: Path, sequences: Path, name: str, generator: str, qp: int, frames: int) -> bytes:
    path = work / generator / f"{name}_qp{qp}_f{frames}.ifvc"
    if not path.is_file():
        src = read_rgb444(sequences / f"{name}_256x256_25_8bit_444.rgb", max_frames=frames)
        cfg = EncoderConfig(keyframe_qp=qp, generator_name=generator)
        data = Encoder(cfg, 256, 256, Fraction(25), num_frames=len(src)).encode(list(src)).stream
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return path.read_bytes()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sequences", type=Path, default=Path("work/sequences"))
    ap.add_argument("--work", type=Path, default=Path("work/default_gen"))
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    ap.add_argument("--qp", type=int, default=42)
    ap.add_argument("--frames", type=int, default=100)
    args = ap.parse_args()
    names = json.loads(SPLIT_FILE.read_text())["test"]
    streams = {(n, g): stream_for(args.work, args.sequences, n, g, args.qp, args.frames)
               for n in names for g in (OLD, NEW)}
    decoded = {(n, g): decode(streams[n, g], g) for n in names for g in (OLD, NEW)}
    print("| clip | kbit/s old / new | PSNR-RGB old / new |\n|---|---|---|")
    for n in names:
        src = read_rgb444(args.sequences / f"{n}_256x256_25_8bit_444.rgb", max_frames=args.frames)
        kbps = [len(streams[n, g]) * 8 / (len(src) / 25) / 1000 for g in (OLD, NEW)]
        psnr = [np.mean([psnr_rgb(s, f.rgb) for s, f in zip(src, decoded[n, g])]) for g in (OLD, NEW)]
        print(f"| {n} | {kbps[0]:.3f} / {kbps[1]:.3f} | {psnr[0]:.2f} / {psnr[1]:.2f} |", flush=True)
    cases = hard_cases({n: decoded[n, OLD] for n in names})
    for case, (_, n, i) in cases.items():
        source = read_rgb444(args.sequences / f"{n}_256x256_25_8bit_444.rgb", max_frames=i + 1)[i]
        write_strip(args.out / f"strip_{case}_{n}_f{i:03d}.png",
                    [(source, f"source {n[:22]} f{i}"), (decoded[n, OLD][i].rgb, "old default: geometric-1"),
                     (decoded[n, NEW][i].rgb, "new default: geometric-3")])
    i = EDIT_FRAME
    for n in EDIT_SEQUENCES:
        source = read_rgb444(args.sequences / f"{n}_256x256_25_8bit_444.rgb", max_frames=i + 1)[i]
        for edit in study_edits(decoded[n, OLD][i].values):
            outs = [decode(streams[n, g], g, [f"{edit}@{i}-{i}"])[i].rgb for g in (OLD, NEW)]
            tag = edit.replace(":", "_").replace("=", "").replace("offset", "").replace("set", "")
            write_strip(args.out / f"strip_edit_{tag}_{n}_f{i}.png",
                        [(source, f"source (unedited) f{i}"), (outs[0], f"old: g1 {edit}"), (outs[1], f"new: g3 {edit}")])


if __name__ == "__main__":
    main()
