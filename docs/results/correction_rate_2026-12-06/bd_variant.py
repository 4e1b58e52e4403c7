"""BD-rates of an encoder variant that ran some key-frame QPs of the train split: its rows replace
the default encoder's (g7f of docs/results/correction_fit_2026-12-06/results_train.csv) at those
points, and the merged codec is scored against the VVenC `faster` anchor rows of
docs/results/teeth_refresh_2026-12-06 with the quick config's BD settings (bd_study.py).

    python docs/results/correction_rate_2026-12-06/bd_variant.py --results work/camp_q42_train/results.csv \
        --name g7q42 [--points 42] --out docs/results/correction_rate_2026-12-06

Prints the variant's and the default's means at each replaced point and the BD table; writes
OUT/bd_NAME.md and OUT/bd_NAME.json (bd_NAME_qpP.* with --points). Run from the repository root.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

RESULTS = Path("docs/results")
DEFAULT = RESULTS / "correction_fit_2026-12-06/results_train.csv"
CONFIG = RESULTS / "correction_fit_2026-12-06/quick_train.json"
ANCHOR = RESULTS / "teeth_refresh_2026-12-06/results_train.csv"
BD_STUDY = RESULTS / "refresh_qp_2026-12-03/bd_study.py"
MEANS = ["kbps", "psnr_rgb", "lpips_alex", "lpips_vgg", "dists"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", type=Path, required=True, help="the variant campaign's results.csv")
    ap.add_argument("--name", required=True, help="the variant's codec name in that file")
    ap.add_argument("--points", type=int, nargs="+", help="the points to take from it (default: all it ran)")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    default = pd.read_csv(DEFAULT)
    default = default[default.codec == "g7f"]
    variant = pd.read_csv(a.results)
    variant = variant[variant.codec == a.name]
    points = a.points or sorted(variant.point.unique())
    variant = variant[variant.point.isin(points)]
    if variant.empty:
        print(f"error: no rows of {a.name} at points {points} in {a.results}", file=sys.stderr)
        return 2
    for qp in points:
        for label, rows in (("g7f", default), (a.name, variant)):
            print(qp, label, rows[rows.point == qp][MEANS].mean().round(4).to_dict())
    merged = pd.concat([default[~default.point.isin(points)], variant]).assign(codec=a.name)
    config = json.loads(CONFIG.read_text())
    config["codecs"][a.name] = dict(config["codecs"]["g7f"], points=sorted(merged.point.unique().tolist()))
    a.out.mkdir(parents=True, exist_ok=True)
    stem = f"bd_{a.name}" + ("_qp" + "_".join(map(str, points)) if a.points else "")
    with tempfile.TemporaryDirectory() as tmp:
        study, cfg = Path(tmp) / "study.csv", Path(tmp) / "config.json"
        pd.concat([default, merged]).to_csv(study, index=False)
        cfg.write_text(json.dumps(config))
        table = subprocess.run([sys.executable, str(BD_STUDY), "--study", str(study), "--anchor", str(ANCHOR),
                                "--config", str(cfg), "--out", str(a.out / f"{stem}.json")],
                               capture_output=True, text=True, check=True).stdout
    (a.out / f"{stem}.md").write_text(table)
    print("\n".join(table.splitlines()[:4]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
