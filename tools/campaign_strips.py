"""Side-by-side strips of campaign cells' decoded pictures: per clip one PNG, one row per frame,
the source first and then one column per CAMPAIGN:CODEC, all at one key-frame QP.

    python -m tools.campaign_strips --qp 22 --column work/camp_rp4:g5_ra2_pf --column work/camp_t17:g5_t17_qp22 \
        --clip pcavs_Pose_Source_620900105:40,52,70,95 --clip sadtalker_RD_Radio34_000:30,60,95 \
        --out docs/results/refresh_threshold_2026-12-05

Reads CAMPAIGN/cells/CODEC/CLIP/CLIP_CODEC_qpQP.rgb (what `conformance.campaign run` writes) and
SEQUENCES/CLIP_256x256_25_8bit_444.rgb; writes OUT/strip_CLIP_qpQP.png. Exit 2 with a one-line
error when a file or frame is missing or an argument is malformed.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from bitstream.raw_video import read_rgb444


def strip(columns: list[np.ndarray], frames: list[int]) -> np.ndarray:
    """Rows of the given frames, each the columns side by side (RGB)."""
    return np.concatenate([np.concatenate([c[t] for c in columns], axis=1) for t in frames], axis=0)


def _column(text: str) -> tuple[Path, str]:
    campaign, sep, codec = text.rpartition(":")
    if not sep or not campaign or not codec:
        raise argparse.ArgumentTypeError(f"column {text!r}: use CAMPAIGN:CODEC")
    return Path(campaign), codec


def _clip(text: str) -> tuple[str, list[int]]:
    name, sep, frames = text.partition(":")
    try:
        numbers = [int(f) for f in frames.split(",")]
    except ValueError:
        numbers = []
    if not sep or not name or not numbers or min(numbers) < 0:
        raise argparse.ArgumentTypeError(f"clip {text!r}: use NAME:F1,F2,... (frame numbers from 0)")
    return name, numbers


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--qp", type=int, required=True)
    ap.add_argument("--column", type=_column, action="append", required=True, metavar="CAMPAIGN:CODEC")
    ap.add_argument("--clip", type=_clip, action="append", required=True, metavar="NAME:F1,F2,...")
    ap.add_argument("--sequences", type=Path, default=Path("work/sequences"))
    ap.add_argument("--out", type=Path, default=Path("."))
    args = ap.parse_args(argv)
    if not args.out.is_dir():
        print(f"error: output folder {args.out} does not exist", file=sys.stderr)
        return 2
    for clip, frames in args.clip:
        count = max(frames) + 1
        paths = [args.sequences / f"{clip}_256x256_25_8bit_444.rgb"] + [
            c / "cells" / k / clip / f"{clip}_{k}_qp{args.qp}.rgb" for c, k in args.column]
        missing = [p for p in paths if not p.is_file()]
        if missing:
            print(f"error: {missing[0]} not found", file=sys.stderr)
            return 2
        try:
            columns = [read_rgb444(p, max_frames=count) for p in paths]
        except ValueError as error:            # not a whole number of 256x256 RGB frames
            print(f"error: {error}", file=sys.stderr)
            return 2
        short = [p for p, c in zip(paths, columns) if len(c) < count]
        if short:
            print(f"error: {short[0]} has fewer than {count} frames", file=sys.stderr)
            return 2
        cv2.imwrite(str(args.out / f"strip_{clip}_qp{args.qp}.png"), strip(columns, frames)[..., ::-1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
