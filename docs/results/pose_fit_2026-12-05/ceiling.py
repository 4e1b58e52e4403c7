"""The study before building --pose-fit: how much closer to the source could a decoder draw a
frame if the encoder chose the head pose by synthesis? An oracle with the source at hand: per
frame (every 7th from frame 2), coordinate descent over head_tx, head_ty (steps of 1 pixel),
head_tz (0.02) and the three rotations (1 degree), up to 2 steps each way, 2 rounds, from the
decoded values, minimising ifvc-geometric-3's squared error against the source; then both
geometric-3 and ifvc-flow-5 draw the frame with the decoded and with the fitted values.
Streams: one key frame at QP 32, 100 frames (tools.feature_fidelity's --work folder).

    python docs/results/pose_fit_2026-12-05/ceiling.py --streams work/gen2cmp > ceiling.txt
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bitstream.raw_video import read_rgb444
from conformance.metrics.aggregate import frame_scores_many
from ref_decoder.decoder import Decoder
from tools.feature_fidelity import make_generators

SEQUENCES = ("liveportrait_driving_d10", "fomm_demo_old_08", "sadtalker_RD_Radio34_000", "liveportrait_driving_d20",
             "pcavs_Pose_Source_620900105", "videoretalking_face_2", "liveportrait_driving_d13")
STEPS = {3: 1 / 256, 4: 1 / 256, 5: 0.02, 0: 1.0, 1: 1.0, 2: 1.0}    # element id -> step
FRAMES = list(range(2, 100, 7))


def sq_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(((a.astype(np.float64) - b) ** 2).mean())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sequences", type=Path, default=Path("work/sequences"))
    ap.add_argument("--streams", type=Path, required=True)
    args = ap.parse_args()
    gens = make_generators(["ifvc-geometric-3", "ifvc-flow-5"], [])
    g3, f5 = gens["ifvc-geometric-3"], gens["ifvc-flow-5"]
    print("| sequence | geometric-3 decoded -> fitted (PSNR-RGB, LPIPS-VGG, DISTS) | flow-5 decoded -> fitted |")
    print("|---|---|---|")
    for name in SEQUENCES:
        data = (args.streams / f"{name}_qp32_f100.ifvc").read_bytes()
        src = read_rgb444(args.sequences / f"{name}_256x256_25_8bit_444.rgb", max_frames=100)
        values = {}
        for gen in (g3, f5):                  # sets each generator up with the stream's key frame
            values = {f.frame_idx: np.asarray(f.values, np.float64) for f in Decoder(generator=gen).decode(data)}
        pictures: list[list[np.ndarray]] = [[], [], [], []]
        for i in FRAMES:
            v, s = values[i].copy(), src[i]
            err = sq_error(g3.synthesize(v), s)
            for _ in range(2):
                for el, step in STEPS.items():
                    for mult in (1, -1, 2, -2):
                        c = v.copy()
                        c[el] += mult * step
                        e = sq_error(g3.synthesize(c), s)
                        if e < err:
                            err, v = e, c
            for k, (gen, vals) in enumerate(((g3, values[i]), (g3, v), (f5, values[i]), (f5, v))):
                pictures[k].append(gen.synthesize(vals))
        scores = frame_scores_many(src[FRAMES], [np.stack(p) for p in pictures], ["psnr_rgb", "lpips_vgg", "dists"])
        m = [" / ".join(f"{float(np.mean(d[k])):.4f}" for k in ("psnr_rgb", "lpips_vgg", "dists")) for d in scores]
        print(f"| {name} | {m[0]} -> {m[1]} | {m[2]} -> {m[3]} |", flush=True)


if __name__ == "__main__":
    main()
