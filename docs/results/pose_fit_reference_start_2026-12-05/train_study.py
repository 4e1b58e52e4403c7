"""Train-split decision for the pose fit's reference start (ref_encoder/pose_fit.py, spec B.5a
step 2): BD-rate of the new encoder's streams against the streams before (as the anchor), per
clip and metric, from the quick metrics of quick_metrics.py.

    python docs/results/pose_fit_reference_start_2026-12-05/train_study.py \
        --metrics docs/results/pose_fit_reference_start_2026-12-05/train_metrics.json

Rows: codec "base" (before: --generator ifvc-geometric-5 --pose-fit --refresh auto, the streams
of docs/results/refresh_measures_2026-12-05's train baseline) and "kc" (after, same options).
Negative BD-rate: the new encoder needs fewer bits for the same quality. Score: the mean over
LPIPS-Alex, LPIPS-VGG and DISTS of the mean per-clip BD-rate (as measure_study.py there).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from conformance.campaign.bd_rate import bd_rate

METRICS = ("lpips_alex", "lpips_vgg", "dists", "psnr_rgb")


def clip_bd(test: pd.DataFrame, anchor: pd.DataFrame, metric: str) -> float:
    sign = 1.0 if metric == "psnr_rgb" else -1.0
    a, t = anchor.sort_values("point"), test.sort_values("point")
    return bd_rate(a.kbps, sign * a[metric], t.kbps, sign * t[metric]).value


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--metrics", type=Path, required=True, help="JSON of quick_metrics.py (base and kc rows)")
    ap.add_argument("--anchor", default="base")
    ap.add_argument("--test", default="kc")
    args = ap.parse_args()
    if not args.metrics.is_file():
        print(f"error: {args.metrics} is not a file", file=sys.stderr)
        return 2
    rows = pd.DataFrame(json.loads(args.metrics.read_text()).values())
    anchor, test = rows[rows.codec == args.anchor], rows[rows.codec == args.test]
    seqs = sorted(set(anchor.sequence) & set(test.sequence))
    table = []
    for seq in seqs:
        a, t = anchor[anchor.sequence == seq], test[test.sequence == seq]
        if len(a) < 4 or len(t) < 4:
            continue
        r = {"sequence": seq, **{m: clip_bd(t, a, m) for m in METRICS}}
        a32, t32 = a[a.point == 32].iloc[0], t[t.point == 32].iloc[0]
        r.update(kbps32=(a32.kbps, t32.kbps), psnr32=(a32.psnr_rgb, t32.psnr_rgb), vgg32=(a32.lpips_vgg, t32.lpips_vgg))
        table.append(r)
    print(f"| clip | BD Alex | BD VGG | BD DISTS | BD PSNR | QP 32 kbit/s | QP 32 PSNR-RGB | QP 32 LPIPS-VGG |")
    print("|---|---|---|---|---|---|---|---|")
    for r in table:
        print(f"| {r['sequence']} | " + " | ".join(f"{r[m]:+.1f} %" if not math.isnan(r[m]) else "-" for m in METRICS)
              + f" | {r['kbps32'][0]:.2f} -> {r['kbps32'][1]:.2f} | {r['psnr32'][0]:.2f} -> {r['psnr32'][1]:.2f}"
              + f" | {r['vgg32'][0]:.4f} -> {r['vgg32'][1]:.4f} |")
    means = {m: float(np.nanmean([r[m] for r in table])) for m in METRICS}
    score = float(np.mean([means[m] for m in METRICS[:3]]))
    a32, t32 = anchor[(anchor.point == 32) & anchor.sequence.isin([r["sequence"] for r in table])], \
        test[(test.point == 32) & test.sequence.isin([r["sequence"] for r in table])]
    print(f"\n{len(table)} clips. Mean per-clip BD-rate of {args.test} against {args.anchor}: "
          + ", ".join(f"{m} {means[m]:+.2f} %" for m in METRICS) + f"; score {score:+.2f}")
    for name, d in ((args.anchor, a32), (args.test, t32)):
        print(f"QP 32 means, {name}: {d.kbps.mean():.3f} kbit/s, PSNR-RGB {d.psnr_rgb.mean():.3f} dB, "
              f"LPIPS-Alex {d.lpips_alex.mean():.4f}, LPIPS-VGG {d.lpips_vgg.mean():.4f}, DISTS {d.dists.mean():.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
