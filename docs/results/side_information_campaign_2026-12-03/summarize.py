"""Before/after table of two or more quick-config campaigns (issue 13's report).

    python docs/results/side_information_campaign_2026-12-03/summarize.py LABEL=results.csv ...

Per codec and key-frame QP: the mean over sequences of kbps (all bits) and of each metric, and
the change of each metric against the first campaign given (relative for LPIPS and DISTS, in dB
for PSNR).
"""
from __future__ import annotations

import sys

import pandas as pd

METRICS = ("psnr_rgb", "lpips_alex", "lpips_vgg", "dists")


def main(argv: list[str]) -> int:
    runs = [(arg.split("=", 1)[0], pd.read_csv(arg.split("=", 1)[1])) for arg in argv]
    means = {label: table.groupby(["codec", "point"])[["kbps", *METRICS]].mean() for label, table in runs}
    first_label = runs[0][0]
    base = means[first_label]
    print("| codec | QP | run | kbps | " + " | ".join(METRICS) + " |")
    print("|---|---|---|---|" + "---|" * len(METRICS))
    for key in base.index:
        if not key[0].startswith("ifvc"):
            continue
        for label, mean in means.items():
            if key not in mean.index:
                continue
            row = mean.loc[key]
            cells = [f"{row['kbps']:.3f} ({100 * (row['kbps'] / base.loc[key, 'kbps'] - 1):+.1f} %)"]
            for metric in METRICS:
                value, before = row[metric], base.loc[key, metric]
                change = f"{value - before:+.3f} dB" if metric.startswith("psnr") else \
                    f"{100 * (value / before - 1):+.2f} %"
                cells.append(f"{value:.4f}" + ("" if label == first_label else f" ({change})"))
            print(f"| {key[0]} | {key[1]} | {label} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
