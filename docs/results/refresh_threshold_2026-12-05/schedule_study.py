"""Chooses the adaptive refresh's threshold per key-frame QP from a threshold sweep on train
clips (quick_threshold_sweep.json): every schedule that takes, at each QP, one of the swept
settings (no refresh, a fixed threshold, or the old auto value) is assembled from the sweep's
cells and scored by its BD-rates against the VVenC anchor of the same campaign.

    python docs/results/refresh_threshold_2026-12-05/schedule_study.py --results work/camp_thr/results.csv \
        --out docs/results/refresh_threshold_2026-12-05/schedules.csv

Score: the mean over LPIPS-Alex, LPIPS-VGG and DISTS of the mean over clips of the per-clip
BD-rate (PCHIP, the quick config's method; lower is better). Printed: the old auto schedule,
no refresh, and the best schedules, each with its mean PSNR-RGB of the worst clip at QP 32.
"""
from __future__ import annotations

import argparse
import itertools
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from conformance.campaign.bd_rate import bd_rate

POINTS = (22, 32, 42, 52)
METRICS = ("lpips_alex", "lpips_vgg", "dists")
# The swept settings: codec of the sweep -> threshold in dB (None: no refresh).
SWEPT = {"g5_pf": None, "g5_t15": 15.0, "g5_t17": 17.0, "g5_t19": 19.0}
OLD_AUTO = "g5_ra_auto"                      # 18 / 17 / 16 / 15 dB at QP 22 / 32 / 42 / 52
OLD_AUTO_DB = {22: 18.0, 32: 17.0, 42: 16.0, 52: 15.0}


def schedule_rows(results: pd.DataFrame, choice: dict[int, str]) -> pd.DataFrame:
    """The rows of a schedule: at each QP, the cells of the codec chosen for it."""
    parts = [results[(results.codec == codec) & (results.point == qp)] for qp, codec in choice.items()]
    return pd.concat(parts, ignore_index=True)


def score(rows: pd.DataFrame, anchor: pd.DataFrame) -> dict[str, float]:
    """Mean over clips of the per-clip BD-rate for each metric, and the score."""
    out: dict[str, float] = {}
    for metric in METRICS:
        values = []
        for seq, test in rows.groupby("sequence"):
            ref = anchor[anchor.sequence == seq].sort_values("point")
            test = test.sort_values("point")
            # lower is better for these metrics: BD-rate on the negated quality
            r = bd_rate(ref.kbps, -ref[metric], test.kbps, -test[metric]).value
            if not math.isnan(r):
                values.append(r)
        out[metric] = float(np.mean(values)) if values else math.nan
    out["score"] = float(np.mean([out[m] for m in METRICS]))
    at32 = rows[rows.point == 32]
    out["worst_psnr_qp32"] = float(at32.psnr_rgb.min())
    out["kbps_qp32"] = float(at32.kbps.mean())
    return out


def label(choice: dict[int, str]) -> str:
    names = []
    for qp, codec in choice.items():
        db = OLD_AUTO_DB[qp] if codec == OLD_AUTO else SWEPT[codec]
        names.append("off" if db is None else f"{db:g}")
    return "/".join(names)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", type=Path, required=True, help="results.csv of the sweep campaign")
    ap.add_argument("--out", type=Path, help="write every schedule's scores here (CSV)")
    ap.add_argument("--top", type=int, default=10)
    args = ap.parse_args()
    if not args.results.is_file():
        print(f"error: {args.results} is not a file", file=sys.stderr)
        return 2
    results = pd.read_csv(args.results)
    anchor = results[results.codec == "vvc"]
    options = list(SWEPT) + [OLD_AUTO]
    rows = []
    for combo in itertools.product(options, repeat=len(POINTS)):
        choice = dict(zip(POINTS, combo))
        rows.append({"schedule": label(choice), **score(schedule_rows(results, choice), anchor)})
    table = pd.DataFrame(rows).drop_duplicates("schedule").sort_values("score").reset_index(drop=True)
    if args.out:
        table.to_csv(args.out, index=False, float_format="%.3f")
    shown = pd.concat([table[table.schedule.isin(["18/17/16/15", "off/off/off/off"])], table.head(args.top)])
    print(f"{len(table)} schedules (threshold in dB at QP {'/'.join(map(str, POINTS))}); clips: "
          f"{', '.join(sorted(set(results.sequence)))}")
    print(shown.round(2).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
