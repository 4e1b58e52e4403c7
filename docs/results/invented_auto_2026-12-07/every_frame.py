"""LPIPS-VGG and DISTS on every frame (the quick config scores every 10th), for the cells of
several campaign codecs, written as results rows (the other columns as the campaign wrote them),
so that bd_study.py computes BD-rates from every frame.

    python docs/results/invented_auto_2026-12-07/every_frame.py --out every_frame_test.csv \
        --rows RESULTS.csv CODEC CELLS_DIR [--rows ...] --sequences work/sequences [--clips CLIP ...]

Each --rows names a results.csv, the codec whose rows to take and the campaign folder whose
cells/CODEC/CLIP/CLIP_[...]CODEC_qpQP.rgb hold the decoded videos of exactly those rows (the script
checks each video's size against the row's frames); a CELLS_DIR of the form DIR@OTHER reads
codec OTHER's cells there (the same streams under another codec name). Rows are written in the
order given, with vgg_stride 1 and lpips_vgg_frames / dists_frames the frame count. The file is
written again after each clip and codec; run again with the same --out, the script keeps the rows
already there and scores only the clips and codecs missing (so an interrupted run resumes).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from bitstream.raw_video import read_rgb444  # noqa: E402
from conformance.metrics.aggregate import frame_scores_many  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", nargs=3, action="append", required=True, metavar=("CSV", "CODEC", "CELLS"))
    ap.add_argument("--sequences", type=Path, default=Path("work/sequences"))
    ap.add_argument("--clips", nargs="+", metavar="CLIP", help="only these clips (default: every clip of the rows)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    out = []
    done: set[tuple[str, str]] = set()
    if args.out.is_file():                         # resume: keep what an earlier run scored
        kept = pd.read_csv(args.out)
        out = [row for _, row in kept.iterrows()]
        done = {(r.codec, r.sequence) for r in out}
    for csv, codec, cells in args.rows:
        rows = pd.read_csv(csv)
        rows = rows[rows.codec == codec]
        if args.clips:
            rows = rows[rows.sequence.isin(args.clips)]
        folder, _, cell_codec = cells.partition("@")
        cell_codec = cell_codec or codec
        for clip, group in rows.groupby("sequence", sort=False):
            if (codec, clip) in done:
                continue
            frames = int(group.frames.iloc[0])
            source = read_rgb444(args.sequences / f"{clip}_256x256_25_8bit_444.rgb", 256, 256, frames)
            videos = []
            for _, row in group.iterrows():
                found = sorted((Path(folder) / "cells" / cell_codec / clip).glob(f"{clip}_*{cell_codec}_qp{int(row.point)}.rgb"))
                if len(found) != 1:
                    raise SystemExit(f"{folder}: no single decoded video of {cell_codec} {clip} QP {int(row.point)}")
                path = found[0]
                if path.stat().st_size != frames * 256 * 256 * 3:
                    raise SystemExit(f"{path}: not {frames} frames")
                videos.append(read_rgb444(path, 256, 256, frames))
            scores = frame_scores_many(source, videos, ["lpips_vgg", "dists"])
            for (_, row), s in zip(group.iterrows(), scores):
                row = row.copy()
                row["lpips_vgg"], row["dists"] = float(s["lpips_vgg"].mean()), float(s["dists"].mean())
                row["vgg_stride"], row["lpips_vgg_frames"], row["dists_frames"] = 1, frames, frames
                out.append(row)
            print(codec, clip, " ".join(f"{int(r.point)}:{r.lpips_vgg:.4f}/{r.dists:.4f}" for r in out[-len(group):]),
                  flush=True)
            write(out, args.out)
    if not args.out.is_file():
        write(out, args.out)
    return 0


def write(rows: list, path: Path) -> None:
    """The rows so far, written whole (a temporary file renamed) so an interruption leaves the last."""
    tmp = path.with_name(path.name + ".tmp")
    pd.DataFrame(rows).to_csv(tmp, index=False)
    tmp.replace(path)


if __name__ == "__main__":
    raise SystemExit(main())
