"""Where two decodes of one stream differ (a change of the decoder's arithmetic): per-frame
counts and a side-by-side strip (source | before | after | difference x AMPLIFY) of the
frames that differ most, as PNG.

    python -m tools.output_change_strips SOURCE.rgb BEFORE.rgb AFTER.rgb [--frames 100]
        [--strips 2] [--out docs/results/decoder_speed_<date>] [--name d14_refine1]

All three are 256x256 (or --width/--height) planar RGB 4:4:4 8-bit files of the same frames
(BEFORE and AFTER: `ifvc-decode STREAM -o X.rgb` with the old and the new code). Prints the
frames that differ, samples differing, the largest difference and PSNR-RGB of AFTER against
BEFORE, and writes NAME_frameN.png for the frames with the most differing samples.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from bitstream.raw_video import read_rgb444

AMPLIFY = 64


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 100.0 if mse == 0 else 10 * float(np.log10(255.0 ** 2 / mse))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", type=Path)
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--height", type=int, default=256)
    ap.add_argument("--frames", type=int, default=None)
    ap.add_argument("--strips", type=int, default=2, help="strips of the most changed frames")
    ap.add_argument("--out", type=Path, default=Path("."))
    ap.add_argument("--name", default="change")
    args = ap.parse_args(argv)
    for p in (args.source, args.before, args.after):
        if not p.is_file():
            print(f"error: {p} not found", file=sys.stderr)
            return 2
    size = (args.width, args.height)
    before = read_rgb444(args.before, *size, max_frames=args.frames)
    after = read_rgb444(args.after, *size, max_frames=args.frames)
    source = read_rgb444(args.source, *size, max_frames=len(before))
    if len(before) != len(after):
        print(f"error: {len(before)} frames before, {len(after)} after", file=sys.stderr)
        return 2
    changed = []
    for i, (b, a) in enumerate(zip(before, after)):
        d = np.abs(b.astype(np.int16) - a.astype(np.int16))
        if d.any():
            changed.append((int(np.count_nonzero(d)), i, int(d.max()), _psnr(b, a)))
    total = sum(c[0] for c in changed)
    print(f"{len(changed)} of {len(before)} frames differ; {total} samples of "
          f"{len(before) * args.width * args.height * 3} differ; largest difference "
          f"{max((c[2] for c in changed), default=0)} levels; lowest PSNR-RGB after vs before "
          f"{min((c[3] for c in changed), default=100.0):.1f} dB")
    for n, i, m, p in sorted(changed, key=lambda c: c[1]):
        print(f"  frame {i}: {n} samples differ, at most {m} levels, PSNR-RGB {p:.1f} dB")
    args.out.mkdir(parents=True, exist_ok=True)
    for n, i, _m, _p in sorted(changed, reverse=True)[:args.strips]:
        d = np.abs(before[i].astype(np.int16) - after[i].astype(np.int16))
        diff = np.clip(d * AMPLIFY, 0, 255).astype(np.uint8)
        strip = np.concatenate([source[i], before[i], after[i], diff], axis=1)
        path = args.out / f"{args.name}_frame{i:03d}.png"
        cv2.imwrite(str(path), cv2.cvtColor(strip, cv2.COLOR_RGB2BGR))
        print(f"wrote {path} (source | before | after | difference x {AMPLIFY}; {n} samples differ)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
