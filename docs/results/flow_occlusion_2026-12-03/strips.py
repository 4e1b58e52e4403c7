"""Strips of the validation pairs: source (driving frame) | geometric-1 | ifvc-refine-1 |
the flow-and-occlusion network, with each panel's PSNR-RGB and LPIPS-Alex, for the pairs where
the network's LPIPS-Alex differs most from geometric-1's (both ways), and a table of all pairs.

    python docs/results/flow_occlusion_2026-12-03/strips.py --weights RUN/best.safetensors \
        --pack work/device_carry/pack --out docs/results/flow_occlusion_2026-12-03
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from conformance.metrics.lpips import lpips_frames
from conformance.metrics.psnr import psnr_rgb_frames
from ifvc_synthesis.generators.learned import WEIGHTS_FILE, WEIGHTS_SHA256_HEX, build_model, load_weights
from tools.generator_strips import write_strip
from tools.train_generator import load_model_file, load_split_clips, refine_frames, validation_pairs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", type=Path, required=True)
    ap.add_argument("--pack", type=Path, default=None, help="validation clips from a pack (default: sequences)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--strips", type=int, default=4)
    args = ap.parse_args()
    if not args.weights.is_file():
        print(f"error: {args.weights} not found", file=sys.stderr)
        return 2
    torch.set_num_threads(2)
    samples = validation_pairs(load_split_clips("validation", pack=args.pack))
    ref = np.stack([s.target for s in samples])
    outs = {"geometric-1": np.stack([s.warp for s in samples]),
            "refine-1": refine_frames(build_model(*load_weights(WEIGHTS_FILE, WEIGHTS_SHA256_HEX)), samples,
                                      torch.device("cpu")),
            "flow-occlusion": refine_frames(load_model_file(args.weights), samples, torch.device("cpu"))}
    scores = {k: {"psnr": psnr_rgb_frames(ref, v), "alex": lpips_frames(ref, v, "alex", batch_size=8)}
              for k, v in outs.items()}
    rows = [{"pair": i, **{f"{k}_{m}": float(scores[k][m][i]) for k in outs for m in ("psnr", "alex")}}
            for i in range(len(samples))]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "validation_pairs.json").write_text(json.dumps(rows, indent=1) + "\n")
    gain = scores["geometric-1"]["alex"] - scores["flow-occlusion"]["alex"]
    order = list(np.argsort(-gain))
    picks = order[:args.strips - 1] + order[-1:]            # the largest gains and the largest loss
    for i in picks:
        panels = [(ref[i], f"source, pair {i}")]
        for k, v in outs.items():
            panels.append((v[i], f"{k} {scores[k]['psnr'][i]:.1f} dB {scores[k]['alex'][i]:.3f}"))
        write_strip(args.out / f"strip_validation_pair{i:02d}.png", panels)
    for k in outs:
        print(f"{k}: PSNR-RGB {scores[k]['psnr'].mean():.2f} dB, LPIPS-Alex {scores[k]['alex'].mean():.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
