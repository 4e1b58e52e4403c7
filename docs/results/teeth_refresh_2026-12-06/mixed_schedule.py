"""BD-rates of mixed schedules: the teeth refresh's rows at some key-frame QPs, the plain
encoder's at the others (the streams `--refresh-teeth auto` makes are exactly those: `on` at
QP 32 and below, `off` above).

    python docs/results/teeth_refresh_2026-12-06/mixed_schedule.py RESULTS.csv BASE_CODEC TEETH_CODEC \
        [--also MORE_RESULTS.csv] [--anchor ANCHOR_RESULTS.csv]

Prints, for the teeth rows at QP 22; 22 and 32; 22, 32 and 42; and every QP, the mean over the
clips of the per-clip BD-rates (PCHIP, conformance.campaign.bd_rate) against the vvc rows of
RESULTS.csv (or of ANCHOR_RESULTS.csv) on LPIPS-Alex, LPIPS-VGG and DISTS. --also adds another
campaign's rows (e.g. the base codec's, run earlier with the same config and metric code).
"""
from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd

from conformance.campaign.bd_rate import bd_rate

METRICS = ("lpips_alex", "lpips_vgg", "dists")
SCHEDULES = ((22,), (22, 32), (22, 32, 42), (22, 32, 42, 52))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results")
    ap.add_argument("base")
    ap.add_argument("teeth")
    ap.add_argument("--also", action="append", default=[], help="more results.csv rows to read")
    ap.add_argument("--anchor", help="results.csv holding the vvc rows (default: RESULTS)")
    args = ap.parse_args()
    rows = pd.concat([pd.read_csv(path) for path in (args.results, *args.also)], ignore_index=True)
    anchor = pd.read_csv(args.anchor) if args.anchor else rows
    anchor = anchor[anchor.codec == "vvc"]
    for codec in (args.base, args.teeth):
        if not (rows.codec == codec).any():
            print(f"error: no rows of codec {codec} in {args.results}", file=sys.stderr)
            return 2
    clips = sorted(rows[rows.codec == args.teeth].sequence.unique())
    for qps in SCHEDULES:
        mixed = pd.concat([rows[(rows.codec == args.teeth) & rows.point.isin(qps)],
                           rows[(rows.codec == args.base) & ~rows.point.isin(qps)]])
        means = []
        for metric in METRICS:
            values = []
            for clip in clips:
                a = anchor[anchor.sequence == clip].sort_values("point")
                t = mixed[mixed.sequence == clip].sort_values("point")
                values.append(bd_rate(a.kbps.values, 1 - a[metric].values, t.kbps.values,
                                      1 - t[metric].values).value)
            means.append(float(np.nanmean(values)))
        print(f"teeth rows at QP {', '.join(map(str, qps))}: "
              + " / ".join(f"{m:.1f}" for m in means) + " % (LPIPS-Alex / LPIPS-VGG / DISTS)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
