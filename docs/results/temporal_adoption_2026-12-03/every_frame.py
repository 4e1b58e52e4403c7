"""LPIPS-VGG and DISTS on every frame, before and after (issue 13's quality check once the
metric speed-up had landed: "every frame and 1 %").

    python docs/results/temporal_adoption_2026-12-03/every_frame.py --sequences work/sequences \
        --before BEFORE_CELLS --after AFTER_CELLS --out every_frame_PART.json [--names N ...]
    python docs/results/temporal_adoption_2026-12-03/every_frame.py --merge every_frame_*.json

BEFORE_CELLS holds the streams of the encoder when the issue was filed (c533442, Main profile;
cells/ifvc/NAME/NAME_ifvc_qpQP.ifvc), decoded here by the reference decoder of this revision;
AFTER_CELLS is the campaign folder of this revision (its decoded .rgb per cell). Both against
the first 100 frames of the prepared source; same decoder and generator (geometric-1), so only
the encoder differs. --merge prints the per-QP means over sequences and the relative changes.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

FRAMES = 100
QPS = (22, 32, 42, 52)
NAMES = ("fomm_demo_old_08", "liveportrait_driving_d10", "liveportrait_driving_d13", "liveportrait_driving_d20",
         "pcavs_Pose_Source_620900105", "sadtalker_RD_Radio34_000", "videoretalking_face_2")


def _measure(args: argparse.Namespace) -> int:
    import torch

    from bitstream.raw_video import read_rgb444
    from conformance.metrics.dists import dists_model
    from conformance.metrics.lpips import lpips_model
    from conformance.metrics.pairwise import score_frames
    from ref_decoder.decoder import Decoder
    torch.set_num_threads(1)
    dev = torch.device("cpu")
    models = (("lpips_vgg", lpips_model("vgg", "cpu")), ("dists", dists_model("cpu")))
    out: dict[str, dict[str, list[float]]] = {}
    for name in args.names:
        src = np.stack(list(read_rgb444(args.sequences / f"{name}_256x256_25_8bit_444.rgb"))[:FRAMES])
        for qp in QPS:
            stem = f"{name}_ifvc_qp{qp}"
            before = np.stack([f.rgb for f in Decoder().decode(
                (args.before / "cells" / "ifvc" / name / f"{stem}.ifvc").read_bytes())])[:FRAMES]
            after = np.stack(list(read_rgb444(args.after / "cells" / "ifvc" / name / f"{stem}.rgb")))[:FRAMES]
            row: dict[str, list[float]] = {}
            for metric, model in models:
                b, a = score_frames(model, src, [before, after], batch_size=4, device=dev)
                row[f"{metric}_before"], row[f"{metric}_after"] = b.tolist(), a.tolist()
            out[f"{name}|{qp}"] = row
            print(f"{name} QP {qp}: " + ", ".join(f"{k} {np.mean(v):.4f}" for k, v in row.items()), file=sys.stderr)
    args.out.write_text(json.dumps(out))
    return 0


def _merge(paths: list[Path]) -> int:
    cells: dict[str, dict[str, list[float]]] = {}
    for p in paths:
        cells.update(json.loads(p.read_text()))
    print("| QP | sequences | LPIPS-VGG before | after | change | DISTS before | after | change |")
    print("|---|---|---|---|---|---|---|---|")
    for qp in QPS:
        rows = [v for k, v in cells.items() if k.endswith(f"|{qp}")]
        means = {m: float(np.mean([np.mean(r[m]) for r in rows])) for m in rows[0]}
        line = [str(qp), str(len(rows))]
        for metric in ("lpips_vgg", "dists"):
            b, a = means[f"{metric}_before"], means[f"{metric}_after"]
            line += [f"{b:.4f}", f"{a:.4f}", f"{100 * (a - b) / b:+.2f} %"]
        print("| " + " | ".join(line) + " |")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sequences", type=Path)
    ap.add_argument("--before", type=Path)
    ap.add_argument("--after", type=Path)
    ap.add_argument("--names", nargs="+", default=list(NAMES))
    ap.add_argument("--out", type=Path)
    ap.add_argument("--merge", nargs="+", type=Path)
    args = ap.parse_args(argv)
    if args.merge:
        return _merge(args.merge)
    return _measure(args)


if __name__ == "__main__":
    sys.exit(main())
