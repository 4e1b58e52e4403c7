"""One results file from several: the rows of the given codecs taken from each CSV in turn, a
(codec, sequence, point) taken from the first file that has it (so every_frame.py's outputs of
several sessions make one table of every-frame scores).

    python docs/results/every_frame_targets_2026-12-08/combine_rows.py --out OUT.csv \
        --take CSV CODEC [--take CSV CODEC ...]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--take", nargs=2, action="append", required=True, metavar=("CSV", "CODEC"))
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    parts, seen = [], set()
    for csv, codec in args.take:
        rows = pd.read_csv(csv)
        rows = rows[rows.codec == codec]
        keys = list(zip(rows.codec, rows.sequence, rows.point))
        keep = [k not in seen for k in keys]
        seen.update(keys)
        parts.append(rows[keep])
        print(f"{csv} {codec}: {sum(keep)} rows ({len(keep) - sum(keep)} already taken)")
    pd.concat(parts, ignore_index=True).to_csv(args.out, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
