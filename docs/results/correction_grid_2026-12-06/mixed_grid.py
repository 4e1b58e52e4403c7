"""BD-rates of mixed schedules: a correction-grid variant's rows at some key-frame QPs, the
uncorrected rows (codec none) at the others, from tools/correction_grid_study.py's results.

    python docs/results/correction_grid_2026-12-06/mixed_grid.py STUDY_RESULTS.csv[,MORE.csv] ANCHOR_RESULTS.csv VARIANT...

Prints per variant and schedule the mean over the clips of the per-clip BD-rates (PCHIP,
conformance.campaign.bd_rate) against the anchor's vvc rows on LPIPS-Alex, LPIPS-VGG, DISTS
and PSNR-RGB (PSNR: the mean over the clips where it is defined, and how many), and the
mean kbit/s, LPIPS-VGG and PSNR-RGB at QP 22 and 32; then the clips whose PSNR-RGB BD-rate is
defined under each schedule. A schedule is skipped for a variant without rows at all its QPs (e.g. one
studied at QP 22 and 32 only). Several study CSVs, comma-separated, are read as one.
"""
from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from conformance.campaign.bd_rate import bd_rate

SCHEDULES = ((), (22,), (22, 32), (22, 32, 42, 52))


def main() -> int:
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    rows = pd.concat([pd.read_csv(path) for path in sys.argv[1].split(",")], ignore_index=True)
    rows = rows.drop_duplicates(subset=["codec", "sequence", "point"])
    anchor = pd.read_csv(sys.argv[2])
    anchor = anchor[anchor.codec == "vvc"]
    clips = sorted(rows[rows.codec == "none"].sequence.unique())
    print("| variant | grid at QP | LPIPS-Alex | LPIPS-VGG | DISTS | PSNR-RGB (defined) | QP 22 kbps / VGG / PSNR | QP 32 kbps / VGG / PSNR |")
    print("|---|---|---|---|---|---|---|---|")
    details: list[str] = []
    for variant in sys.argv[3:]:
        for qps in SCHEDULES:
            if not qps and variant != sys.argv[3]:
                continue
            if not set(qps) <= set(rows.loc[rows.codec == variant, "point"]):
                continue
            mixed = pd.concat([rows[(rows.codec == variant) & rows.point.isin(qps)],
                               rows[(rows.codec == "none") & ~rows.point.isin(qps)]])
            cells, psnr_by_clip = [], {}
            for metric, better in (("lpips_alex", -1), ("lpips_vgg", -1), ("dists", -1), ("psnr_rgb", 1)):
                values = []
                for clip in clips:
                    a = anchor[anchor.sequence == clip].sort_values("point")
                    t = mixed[mixed.sequence == clip].sort_values("point")
                    values.append(bd_rate(a.kbps.values, better * a[metric].values, t.kbps.values,
                                          better * t[metric].values).value)
                if metric == "psnr_rgb":
                    psnr_by_clip = dict(zip(clips, values))
                values = np.array(values)
                defined = int(np.isfinite(values).sum())
                cells.append(f"{np.nanmean(values):+.1f} %" + (f" ({defined}/{len(clips)})" if metric == "psnr_rgb" else ""))
            at = [mixed[mixed.point == q][["kbps", "lpips_vgg", "psnr_rgb"]].mean() for q in (22, 32)]
            name = "none" if not qps else variant
            print(f"| {name} | {', '.join(map(str, qps)) or '-'} | " + " | ".join(cells) + " | "
                  + " | ".join(f"{m.kbps:.2f} / {m.lpips_vgg:.4f} / {m.psnr_rgb:.2f}" for m in at) + " |")
            details.append(f"{name} at QP {', '.join(map(str, qps)) or '-'}: PSNR-RGB BD-rate defined on "
                           + (", ".join(f"{c} ({v:+.1f} %)" for c, v in psnr_by_clip.items() if np.isfinite(v)) or "none"))
    print()
    print("\n".join(f"- {line}" for line in details))
    return 0


if __name__ == "__main__":
    sys.exit(main())
