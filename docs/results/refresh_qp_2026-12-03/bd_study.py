"""BD-rates (PCHIP, the quick config's settings) of the codecs of a study campaign against the
VVenC `faster` anchor rows of an earlier quick campaign made with the same metric code.

    python docs/results/refresh_qp_2026-12-03/bd_study.py --study work/cq_refresh/results.csv \
        --anchor docs/results/keyframe_preset_2026-12-03/campaign_quick_kfp/results.csv \
        --reuse docs/results/keyframe_preset_2026-12-03/campaign_quick_refresh/results.csv ifvc_refresh ra_o0

Prints, per codec and metric, the mean of the per-sequence BD-rates and how many sequences
have one, the per-sequence values, and the mean quality per QP; writes bd.json beside --out.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from conformance.campaign.config import load_config
from conformance.campaign.tables import bd_tables, summary_table

HERE = Path(__file__).parent
METRICS = ["lpips_alex", "lpips_vgg", "dists", "psnr_rgb"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--study", type=Path, required=True, help="results.csv of the study campaign")
    ap.add_argument("--anchor", type=Path, required=True, help="results.csv holding the vvc rows")
    ap.add_argument("--config", type=Path, default=HERE / "quick_refresh_qp.json")
    ap.add_argument("--reuse", nargs=3, action="append", default=[], metavar=("CSV", "CODEC", "AS"),
                    help="also take CODEC's rows of CSV, named AS, for sequences the study lacks under AS "
                         "(e.g. an earlier campaign's rows that the study reproduced on one sequence)")
    ap.add_argument("--out", type=Path, help="write the tables here as JSON")
    args = ap.parse_args()
    for path in (args.study, args.anchor, args.config):
        if not path.is_file():
            print(f"error: {path} is not a file", file=sys.stderr)
            return 2
    config = load_config(args.config)
    study = pd.read_csv(args.study)
    anchor = pd.read_csv(args.anchor)
    anchor = anchor[(anchor.codec == "vvc") & anchor.sequence.isin(set(study.sequence))]
    reused = []
    for path, codec, name in args.reuse:
        rows = pd.read_csv(path)
        rows = rows[(rows.codec == codec) & rows.sequence.isin(set(study.sequence))].assign(codec=name)
        have = set(study.loc[study.codec == name, "sequence"])
        reused.append(rows[~rows.sequence.isin(have)])
    results = pd.concat([study[study.codec != "vvc"], *reused, anchor], ignore_index=True)
    summary = summary_table(results, config)
    per_seq, overall, _ = bd_tables(results, summary, config)
    overall = overall[overall.metric.isin(METRICS)]
    print("| codec | " + " | ".join(METRICS) + " |")
    print("|---|" + "---|" * len(METRICS))
    for codec, rows in overall.groupby("codec", sort=False):
        cells = []
        for m in METRICS:
            r = rows[rows.metric == m].iloc[0]
            cells.append(f"{r.bd_rate_mean_of_sequences:+.1f} % ({r.sequences_valid}/{r.sequences})")
        print(f"| {codec} | " + " | ".join(cells) + " |")
    print()
    wide = per_seq[per_seq.metric.isin(METRICS)].pivot_table(index=["codec", "sequence"], columns="metric",
                                                             values="bd_rate_percent", dropna=False)
    print(wide.reindex(columns=METRICS).round(1).to_string())
    print()
    cols = ["kbps", "psnr_rgb", "lpips_alex", "lpips_vgg", "dists"]
    print(summary[["codec", "point", *cols]].round(4).to_string(index=False))
    if args.out:
        args.out.write_text(json.dumps({"overall": overall.to_dict("records"),
                                        "per_sequence": per_seq.to_dict("records"),
                                        "summary": summary.to_dict("records")}, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
