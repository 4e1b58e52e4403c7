"""Why the quick config's BD-rates differ from the GFVC-CTC-aligned ones, one factor at a time.

    python -m tools.ctc_vs_quick --ctc GFVC_CTC_OUT --quick QUICK_OUT [--codecs ifvc ifvc_refine]
        [--out docs/results/.../ctc_vs_quick.md]

Both folders are campaign outputs (results.csv, cells/*/*/*.frames.csv): one of
configs/gfvc_ctc.json and one of configs/quick.json, run on the same sequences. The steps
change one condition at a time, from the quick config's numbers to the CTC-aligned ones, each
BD-rate the JVET "Overall" (mean of the per-sequence BD-rates, PCHIP, as the campaign computes
them with conformance.campaign.bd_rate):

0. quick: the quick campaign's own cells (its frames, VVenC faster, all bits, LPIPS-VGG and
   DISTS on its strided sample);
1. whole sequences: the CTC campaign's cells, everything else as in 0 (anchor vvc_faster, all
   bits, LPIPS-VGG and DISTS averaged over the quick config's strided sample of each sequence,
   recomputed from the per-frame CSVs with the campaign's own strided_indices);
2. every frame: 1 with every metric averaged over every frame;
3. payload-only rate: 2 with the GFVC getbits count;
4. anchor VVenC slower: 3 against the CTC config's anchor (the published numbers).
psnr_gfvc (GFVC's PSNR) appears from step 1 on, beside psnr_rgb (quick has only the latter).
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from conformance.campaign.bd_rate import bd_rate
from conformance.campaign.cells import strided_indices
from conformance.campaign.tables import quality_for_bd
from ifvc_common.errors import CommandError
from ifvc_common.parser import CommandParser, command

PROG = "python -m tools.ctc_vs_quick"
METRICS = ("psnr_rgb", "psnr_gfvc", "lpips_alex", "lpips_vgg", "dists")
STRIDED = ("lpips_vgg", "dists")       # the quick config's strided metrics


def load(out_dir: Path) -> pd.DataFrame:
    path = out_dir / "results.csv"
    if not path.is_file():
        raise CommandError(f"no results.csv in {out_dir} (run the campaign first)")
    try:
        return pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise CommandError(f"cannot read {path}: {exc}") from None


def resampled(results: pd.DataFrame, out_dir: Path, stride: int) -> pd.DataFrame:
    """The strided metrics of every cell averaged over the sample a stride-`stride` run would
    have measured (from the per-frame CSVs of a run that measured every frame)."""
    table = results.copy()
    for index, row in table.iterrows():
        frames_csv = out_dir / "cells" / row["codec"] / row["sequence"] / f"{row['codec']}_qp{row['point']}.frames.csv"
        if not frames_csv.is_file():
            raise CommandError(f"{frames_csv} is missing (the CTC campaign's per-frame metrics)")
        per_frame = pd.read_csv(frames_csv)
        picked = strided_indices(int(row["frames"]), stride)
        for metric in STRIDED:
            table.at[index, metric] = float(per_frame.loc[picked, metric].mean())
    return table


def overall(results: pd.DataFrame, codec: str, anchor: str, metric: str, rate: str) -> tuple[float, int, int]:
    """Mean of the per-sequence BD-rates (JVET Overall), valid and total sequences."""
    values = []
    for sequence in sorted(set(results.loc[results["codec"] == codec, "sequence"])):
        curves = []
        for name in (anchor, codec):
            cells = results[(results["codec"] == name) & (results["sequence"] == sequence)].sort_values("point")
            curves += [cells[rate].to_numpy(np.float64), quality_for_bd(metric, cells[metric])]
        values.append(bd_rate(*curves).value)
    valid = [v for v in values if not math.isnan(v)]
    return (float(np.mean(valid)) if valid else math.nan), len(valid), len(values)


def steps(ctc_dir: Path, quick_dir: Path, codecs: list[str], stride: int) -> pd.DataFrame:
    quick, ctc = load(quick_dir), load(ctc_dir)
    shared = sorted(set(quick["sequence"]) & set(ctc["sequence"]))
    if not shared:
        raise CommandError("the two campaigns share no sequence")
    quick, ctc = quick[quick["sequence"].isin(shared)], ctc[ctc["sequence"].isin(shared)]
    for name, table, anchors in (("quick", quick, ("vvc",)), ("ctc", ctc, ("vvc", "vvc_faster"))):
        missing = [c for c in (*codecs, *anchors) if c not in set(table["codec"])]
        if missing:
            raise CommandError(f"the {name} campaign has no cells of {', '.join(missing)}")
    sampled = resampled(ctc, ctc_dir, stride)
    plan = [("0. quick config (its frames, VVenC faster, all bits, VGG/DISTS strided)", quick, "vvc", "kbps"),
            ("1. whole sequences", sampled, "vvc_faster", "kbps"),
            ("2. every metric on every frame", ctc, "vvc_faster", "kbps"),
            ("3. payload-only rate (GFVC getbits)", ctc, "vvc_faster", "kbps_payload"),
            ("4. anchor VVenC slower (gfvc_ctc as published)", ctc, "vvc", "kbps_payload")]
    rows = []
    for label, table, anchor, rate in plan:
        for codec in codecs:
            row = {"step": label, "codec": codec, "anchor": anchor, "rate": rate}
            for metric in METRICS:
                if metric not in table.columns:
                    row[metric] = ""
                    continue
                value, valid, total = overall(table, codec, anchor, metric, rate)
                row[metric] = "n/a" if math.isnan(value) else \
                    f"{value:+.1f}%" + ("" if valid == total else f" ({valid}/{total})")
            rows.append(row)
    return pd.DataFrame(rows)


@command(PROG)
def main(argv: list[str] | None = None) -> int:
    parser = CommandParser(prog=PROG, description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ctc", type=Path, required=True, help="a gfvc_ctc campaign folder")
    parser.add_argument("--quick", type=Path, required=True, help="a quick campaign folder")
    parser.add_argument("--codecs", nargs="+", default=["ifvc", "ifvc_refine"])
    parser.add_argument("--stride", type=int, default=10, help="the quick config's vgg_stride")
    parser.add_argument("--out", type=Path, help="also write the Markdown table here")
    args = parser.parse_args(argv)
    table = steps(args.ctc, args.quick, args.codecs, args.stride)
    header = "| " + " | ".join(table.columns) + " |"
    lines = [header, "|---" * len(table.columns) + "|"]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in table.itertuples(index=False)]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
