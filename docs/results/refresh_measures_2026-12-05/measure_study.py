"""Scores the adaptive refresh's picture-wide measures (--refresh-invented, --refresh-failed)
against the baseline (--refresh auto, face-region PSNR alone), both against a VVenC `faster`
anchor made with the same metric code.

    python docs/results/refresh_measures_2026-12-05/measure_study.py \
        --baseline work/camp_train_base/results.csv \
        --sweep g5_inv3=work/camp_sweep_g5_inv3/results.csv ... \
        --out docs/results/refresh_measures_2026-12-05/train_scores.csv

(the anchor rows from --anchor, else the baseline CSV's vvc rows; the baseline codec from
--baseline-codec, default g5_auto.)

Each sweep codec ran only on the train clips where its measure exceeds its limit somewhere in
the baseline streams (elsewhere its streams are the baseline's), so its rows are the sweep's on
those clips and the baseline's on the others. Score: the mean over LPIPS-Alex, LPIPS-VGG and
DISTS of the mean over all clips of the per-clip BD-rate (PCHIP; lower is better), as in
docs/results/refresh_threshold_2026-12-05/schedule_study.py. Also printed: PSNR-RGB BD-rate
(clips with an overlap), the mean and worst clip's PSNR-RGB and the mean rate at QP 32, and per
clip that the codec changed, its BD-rates and QP 32 numbers beside the baseline's.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from conformance.campaign.bd_rate import bd_rate

METRICS = ("lpips_alex", "lpips_vgg", "dists")
BASELINE = "g5_auto"


def clip_bd(rows: pd.DataFrame, anchor: pd.DataFrame, metric: str) -> float:
    """BD-rate (%) of one clip's rows against its anchor rows (quality: lower-is-better metrics
    negated)."""
    sign = 1.0 if metric == "psnr_rgb" else -1.0
    ref, test = anchor.sort_values("point"), rows.sort_values("point")
    return bd_rate(ref.kbps, sign * ref[metric], test.kbps, sign * test[metric]).value


def scores(rows: pd.DataFrame, anchor: pd.DataFrame) -> dict[str, float]:
    out: dict[str, float] = {}
    for metric in (*METRICS, "psnr_rgb"):
        values = [clip_bd(test, anchor[anchor.sequence == seq], metric) for seq, test in rows.groupby("sequence")]
        values = [v for v in values if not math.isnan(v)]
        out[metric] = float(np.mean(values)) if values else math.nan
        if metric == "psnr_rgb":
            out["psnr_clips"] = len(values)
    out["score"] = float(np.mean([out[m] for m in METRICS]))
    at32 = rows[rows.point == 32]
    out["psnr_qp32"] = float(at32.psnr_rgb.mean())
    out["worst_psnr_qp32"] = float(at32.psnr_rgb.min())
    out["lpips_vgg_qp32"] = float(at32.lpips_vgg.mean())
    out["kbps_qp32"] = float(at32.kbps.mean())
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", type=Path, required=True, help="results.csv with the vvc and g5_auto rows")
    ap.add_argument("--baseline-codec", default=BASELINE, help=f"the baseline's codec (default {BASELINE})")
    ap.add_argument("--anchor", type=Path, help="results.csv with the vvc rows (default: --baseline's)")
    ap.add_argument("--sweep", nargs="+", default=[], metavar="CODEC=CSV", help="a sweep codec and its results.csv")
    ap.add_argument("--out", type=Path, help="write the scores here (CSV)")
    args = ap.parse_args()
    for path in (args.baseline, args.anchor):
        if path is not None and not path.is_file():
            print(f"error: {path} is not a file", file=sys.stderr)
            return 2
    base = pd.read_csv(args.baseline)
    auto = base[base.codec == args.baseline_codec]
    anchor = pd.read_csv(args.anchor) if args.anchor else base
    anchor = anchor[(anchor.codec == "vvc") & anchor.sequence.isin(set(auto.sequence))]
    table = [{"codec": args.baseline_codec, "changed_clips": 0, **scores(auto, anchor)}]
    details = []
    for item in args.sweep:
        codec, _, path = item.partition("=")
        if not Path(path).is_file():
            print(f"error: {path} is not a file", file=sys.stderr)
            return 2
        sweep = pd.read_csv(path)
        sweep = sweep[sweep.codec == codec]
        clips = set(sweep.sequence)
        rows = pd.concat([sweep, auto[~auto.sequence.isin(clips)].assign(codec=codec)], ignore_index=True)
        table.append({"codec": codec, "changed_clips": len(clips), **scores(rows, anchor)})
        for seq in sorted(clips):
            a, b = auto[auto.sequence == seq], sweep[sweep.sequence == seq]
            ref = anchor[anchor.sequence == seq]
            d = {"codec": codec, "sequence": seq}
            for m in (*METRICS, "psnr_rgb"):
                d[f"{m}_bd_before"], d[f"{m}_bd_after"] = clip_bd(a, ref, m), clip_bd(b, ref, m)
            for name, rs in (("before", a), ("after", b)):
                r32 = rs[rs.point == 32].iloc[0]
                d[f"kbps32_{name}"], d[f"psnr32_{name}"], d[f"vgg32_{name}"] = r32.kbps, r32.psnr_rgb, r32.lpips_vgg
            details.append(d)
    out = pd.DataFrame(table)
    pd.set_option("display.width", 250)
    print(f"clips: {auto.sequence.nunique()}")
    print(out.round(3).to_string(index=False))
    if details:
        cols = ["codec", "sequence", "lpips_alex_bd_before", "lpips_alex_bd_after", "lpips_vgg_bd_before",
                "lpips_vgg_bd_after", "dists_bd_before", "dists_bd_after", "kbps32_before", "kbps32_after",
                "psnr32_before", "psnr32_after", "vgg32_before", "vgg32_after"]
        print(pd.DataFrame(details)[cols].round(2).to_string(index=False))
    if args.out:
        out.to_csv(args.out, index=False, float_format="%.3f")
        pd.DataFrame(details).to_csv(args.out.with_name(args.out.stem + "_per_clip.csv"), index=False,
                                     float_format="%.3f")
    return 0


if __name__ == "__main__":
    sys.exit(main())
