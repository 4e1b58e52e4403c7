"""Side-by-side strips of campaign cells' decoded pictures: per clip one PNG, one row per frame,
the source first and then one column per CAMPAIGN:CODEC, all at one key-frame QP.

    python -m tools.campaign_strips --qp 22 --column work/camp_rp4:g5_ra2_pf --column work/camp_t17:g5_t17_qp22 \
        --clip pcavs_Pose_Source_620900105:40,52,70,95 --clip sadtalker_RD_Radio34_000:30,60,95 \
        --out docs/results/refresh_threshold_2026-12-05

Reads CAMPAIGN/cells/CODEC/CLIP/CLIP_CODEC_qpQP.rgb (what `conformance.campaign run` writes) and
SEQUENCES/CLIP_256x256_25_8bit_444.rgb; writes OUT/strip_CLIP_qpQP.png (with --crop X,Y,W,H
[--zoom N]: that box of every picture, N times larger, OUT/strip_CLIP_qpQP_cropX_Y_W_H.png). Exit 2 with a one-line
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


def crop_zoom(video: np.ndarray, box: tuple[int, int, int, int], zoom: int) -> np.ndarray:
    """Every frame's box (x, y, width, height) enlarged ``zoom`` times by pixel replication, so
    that texture is seen sample by sample."""
    x, y, w, h = box
    part = video[:, y:y + h, x:x + w]
    return np.repeat(np.repeat(part, zoom, axis=1), zoom, axis=2)


def _box(text: str) -> tuple[int, int, int, int]:
    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"crop {text!r}: use X,Y,WIDTH,HEIGHT") from None
    if x < 0 or y < 0 or w < 1 or h < 1 or x + w > 256 or y + h > 256:
        raise argparse.ArgumentTypeError(f"crop {text!r}: the box must lie inside the 256 x 256 picture")
    return x, y, w, h


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
    ap.add_argument("--crop", type=_box, metavar="X,Y,W,H", help="show only this box of every picture")
    ap.add_argument("--zoom", type=int, default=1, choices=range(1, 9), metavar="1..8",
                    help="enlarge the box this many times (pixel replication)")
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
        name = f"strip_{clip}_qp{args.qp}.png"
        if args.crop is not None:
            columns = [crop_zoom(c, args.crop, args.zoom) for c in columns]
            name = f"strip_{clip}_qp{args.qp}_crop{'_'.join(map(str, args.crop))}.png"
        cv2.imwrite(str(args.out / name), strip(columns, frames)[..., ::-1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
