"""Study: geometric-1's warp sampled with other kernels than Annex E.4's bilinear.

    python docs/results/generator_budget_2026-12-03/sampling_study.py --sequences work/sequences \
        --streams work/gen_budget [--qp 32] [--frames 100]

Decodes the streams that tools/generator_error_budget.py cached in --streams (one key frame,
reference encoder defaults) with ifvc-geometric-1 as specified (bilinear) and with the same
generator sampling the key frame bicubically (OpenCV INTER_CUBIC) or with Lanczos-4, and
scores each against the source: PSNR-RGB and LPIPS-Alex on every frame, LPIPS-VGG and DISTS on
frames 0, 10, 20, ... Everything but the sampling kernel is geometric-1's (GeometricGenerator
.sampling). Writes sampling_study.md and sampling_study.json beside this script.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from bitstream.raw_video import read_rgb444
from conformance.metrics.aggregate import frame_scores
from ifvc_synthesis.generators.geometric import GeometricGenerator
from ref_decoder.decoder import Decoder

HERE = Path(__file__).resolve().parent
SPLIT = HERE.parents[2] / "tools" / "test_split.json"
KERNELS = {"bilinear (Annex E.4)": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC, "Lanczos-4": cv2.INTER_LANCZOS4}
METRICS = ("psnr_rgb", "lpips_alex", "lpips_vgg", "dists")


def with_sampling(kernel: int) -> GeometricGenerator:
    gen = GeometricGenerator()
    gen.sampling = kernel
    return gen


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sequences", type=Path, required=True)
    ap.add_argument("--streams", type=Path, required=True, help="tools.generator_error_budget's --work")
    ap.add_argument("--qp", type=int, default=32)
    ap.add_argument("--frames", type=int, default=100)
    args = ap.parse_args()
    results: dict[str, dict[str, dict[str, float]]] = {}
    for name in json.loads(SPLIT.read_text())["test"]:
        source = read_rgb444(args.sequences / f"{name}_256x256_25_8bit_444.rgb", max_frames=args.frames)
        data = (args.streams / f"{name}_qp{args.qp}_f{args.frames}.ifvc").read_bytes()
        results[name] = {}
        for label, kernel in KERNELS.items():
            decoded = np.stack([f.rgb for f in Decoder(generator=with_sampling(kernel)).decode(data)])
            every = frame_scores(source, decoded, METRICS[:2])
            tenth = frame_scores(source[::10], decoded[::10], METRICS[2:])
            results[name][label] = {k: float(np.mean(v)) for k, v in {**every, **tenth}.items()}
        print(name, json.dumps(results[name]), flush=True)
    lines = [f"# ifvc-geometric-1 with other sampling kernels (key-frame QP {args.qp}, {args.frames} frames)", "",
             "Mean over the 7 test sequences of per-sequence means; LPIPS-VGG and DISTS on frames 0, 10, 20, ...", "",
             "| sampling | PSNR-RGB (dB) | LPIPS-Alex | LPIPS-VGG | DISTS |", "|---|---|---|---|---|"]
    for label in KERNELS:
        m = {k: float(np.mean([results[n][label][k] for n in results])) for k in METRICS}
        lines.append(f"| {label} | {m['psnr_rgb']:.2f} | {m['lpips_alex']:.4f} | {m['lpips_vgg']:.4f} | {m['dists']:.4f} |")
    (HERE / "sampling_study.json").write_text(json.dumps(results, indent=1))
    (HERE / "sampling_study.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
