"""BD-rate (PCHIP, mean of the per-sequence BD-rates, rate = all bits) of the IFVC cells of two
quick-config campaigns (before: key frames at VVenC faster; after: medium) against each anchor
found in the after campaign's results.csv (vvc = VVenC faster, vvc_slower = VVenC slower).

    python docs/results/keyframe_preset_2026-12-03/bd_before_after.py BEFORE/results.csv AFTER/results.csv
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from conformance.campaign.bd_rate import bd_rate
from conformance.campaign.tables import quality_for_bd

METRICS = ["lpips_alex", "lpips_vgg", "dists", "psnr_rgb"]
HERE = Path(__file__).parent


def mean_bd(anchor: pd.DataFrame, test: pd.DataFrame, metric: str, rate: str) -> tuple[float, int]:
    values = []
    for seq, a in anchor.groupby("sequence"):
        t = test[test.sequence == seq]
        a, t = a.sort_values("point"), t.sort_values("point")
        r = bd_rate(a[rate], quality_for_bd(metric, a[metric]), t[rate], quality_for_bd(metric, t[metric]))
        if not math.isnan(r.value):
            values.append(r.value)
    return (float(np.mean(values)) if values else math.nan), len(values)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    args = ap.parse_args()
    before, after = pd.read_csv(args.before), pd.read_csv(args.after)
    anchors = [c for c in ("vvc", "vvc_slower") if c in set(after.codec)]
    rows = []
    for anchor_name in anchors:
        anchor = after[after.codec == anchor_name]
        preset = anchor.preset.iloc[0]
        for label, table in (("key frames faster (before)", before), ("key frames medium (after)", after)):
            test = table[table.codec == "ifvc"]
            for rate in ("kbps", "kbps_payload"):
                row = {"anchor": f"{anchor_name} (VVenC {preset})", "ifvc": label, "rate": rate}
                for m in METRICS:
                    value, n = mean_bd(anchor, test, m, rate)
                    row[m] = value
                    row[f"{m}_sequences"] = n
                rows.append(row)
    lines = ["| anchor | IFVC | rate | " + " | ".join(METRICS) + " |", "|---|---|---|" + "---|" * len(METRICS)]
    for r in rows:
        cells = [f"{r[m]:+.1f} % ({r[m + '_sequences']}/7)" if r[m + "_sequences"] < 7 else f"{r[m]:+.1f} %" for m in METRICS]
        lines.append(f"| {r['anchor']} | {r['ifvc']} | {r['rate']} | " + " | ".join(cells) + " |")
    (HERE / "bd_before_after.md").write_text("\n".join(lines) + "\n")
    (HERE / "bd_before_after.json").write_text(json.dumps(rows, indent=1) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
