"""Study: geometric-1's warp sampled with other kernels than Annex E.4's bilinear.

    python docs/results/generator_budget_2026-12-03/sampling_study.py --sequences work/sequences \
        --streams work/gen_budget [--qps 22 32 42 52] [--frames 100] [--anchor QUICK/results.csv]

Encodes each test clip once per key-frame QP with the reference encoder's defaults (streams
cached in --streams, as tools/generator_error_budget.py names them: the quick config's IFVC
streams), decodes them with ifvc-geometric-1 as specified (bilinear) and with the same
generator sampling the key frame bicubically (OpenCV INTER_CUBIC) or with Lanczos-4, and
scores each against the source as the quick config does: PSNR-RGB and LPIPS-Alex on every
frame, LPIPS-VGG and DISTS on every 10th frame from frame 5 (the campaign's strided sample).
Everything but the sampling kernel is geometric-1's (GeometricGenerator.sampling). With
--anchor (a quick-config campaign's results.csv) it adds each kernel's BD-rate against that
campaign's `vvc` rows (PCHIP, all bits, mean of the per-sequence values), as the campaign
computes it. Writes sampling_study.md and sampling_study.json beside this script.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from bitstream.raw_video import read_rgb444
from conformance.campaign.cells import strided_indices
from conformance.metrics.aggregate import frame_scores
from tools.generator_compare import coded_sequences
from ifvc_synthesis.generators.geometric import GeometricGenerator
from ref_decoder.decoder import Decoder

HERE = Path(__file__).resolve().parent
SPLIT = HERE.parents[2] / "tools" / "test_split.json"
KERNELS = {"bilinear (Annex E.4)": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC, "Lanczos-4": cv2.INTER_LANCZOS4}
METRICS = ("psnr_rgb", "lpips_alex", "lpips_vgg", "dists")
STRIDE = 10
FPS = 25.0


def with_sampling(kernel: int) -> GeometricGenerator:
    gen = GeometricGenerator()
    gen.sampling = kernel
    return gen


def bd_rates(rows: list[dict], anchor_csv: Path) -> dict[str, dict[str, tuple[float, int]]]:
    """{kernel: {metric: (mean per-sequence BD-rate %, sequences where it is defined)}}."""
    import math

    import pandas as pd

    from conformance.campaign.bd_rate import bd_rate
    from conformance.campaign.tables import quality_for_bd
    table = pd.read_csv(anchor_csv)
    anchor = table[table.codec == "vvc"]
    test = pd.DataFrame(rows)
    out: dict[str, dict[str, tuple[float, int]]] = {}
    for kernel in KERNELS:
        out[kernel] = {}
        for metric in METRICS:
            values = []
            for seq, a in anchor.groupby("sequence"):
                t = test[(test.sequence == seq) & (test.kernel == kernel)].sort_values("point")
                a = a.sort_values("point")
                if len(t) < 2:
                    continue
                r = bd_rate(a["kbps"], quality_for_bd(metric, a[metric]), t["kbps"], quality_for_bd(metric, t[metric]))
                if not math.isnan(r.value):
                    values.append(r.value)
            out[kernel][metric] = (float(np.mean(values)) if values else math.nan, len(values))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sequences", type=Path, required=True)
    ap.add_argument("--streams", type=Path, required=True, help="stream cache (tools.generator_error_budget's --work)")
    ap.add_argument("--qps", type=int, nargs="+", default=[32])
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--anchor", type=Path, help="a quick-config campaign's results.csv (its vvc rows)")
    args = ap.parse_args()
    if args.anchor is not None and not args.anchor.is_file():
        ap.error(f"--anchor {args.anchor}: no such results.csv")
    if not args.sequences.is_dir():
        ap.error(f"--sequences {args.sequences}: no such folder")
    rows: list[dict] = []
    names = json.loads(SPLIT.read_text())["test"]
    for qp in args.qps:
        for name, seq, stream in coded_sequences(names, args.sequences, args.streams, qp, args.frames):
            source = read_rgb444(seq, max_frames=args.frames)
            data = stream.read_bytes()
            sample = strided_indices(len(source), STRIDE)
            for label, kernel in KERNELS.items():
                decoded = np.stack([f.rgb for f in Decoder(generator=with_sampling(kernel)).decode(data)])
                every = frame_scores(source, decoded, METRICS[:2])
                strided = frame_scores(source[sample], decoded[sample], METRICS[2:])
                rows.append({"sequence": name, "point": qp, "kernel": label,
                             "kbps": len(data) * 8 / 1000 / (len(source) / FPS),
                             **{k: float(np.mean(v)) for k, v in {**every, **strided}.items()}})
                print(json.dumps(rows[-1]), flush=True)
    lines = [f"# ifvc-geometric-1 with other sampling kernels ({args.frames} frames, test split)", "",
             "Mean over the 7 test sequences; PSNR-RGB and LPIPS-Alex on every frame, LPIPS-VGG and DISTS on "
             "every 10th frame from frame 5 (the quick config's sample).", "",
             "| key-frame QP | sampling | kbit/s | PSNR-RGB (dB) | LPIPS-Alex | LPIPS-VGG | DISTS |",
             "|---|---|---|---|---|---|---|"]
    for qp in args.qps:
        for label in KERNELS:
            sel = [r for r in rows if r["point"] == qp and r["kernel"] == label]
            m = {k: float(np.mean([r[k] for r in sel])) for k in ("kbps",) + METRICS}
            lines.append(f"| {qp} | {label} | {m['kbps']:.2f} | {m['psnr_rgb']:.2f} | {m['lpips_alex']:.4f} "
                         f"| {m['lpips_vgg']:.4f} | {m['dists']:.4f} |")
    result: dict = {"rows": rows}
    if args.anchor:
        bd = bd_rates(rows, args.anchor)
        result["bd_rate_vs_vvc"] = bd
        lines += ["", "BD-rate against the quick campaign's VVenC `faster` anchor (PCHIP, all bits, mean of the "
                  "per-sequence values; n/7 where some are undefined):", "",
                  "| sampling | " + " | ".join(METRICS) + " |", "|---|" + "---|" * len(METRICS)]
        for label in KERNELS:
            cells = [f"{v:+.1f} %" + ("" if n == 7 else f" ({n}/7)") for v, n in (bd[label][m] for m in METRICS)]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    (HERE / "sampling_study.json").write_text(json.dumps(result, indent=1))
    (HERE / "sampling_study.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
