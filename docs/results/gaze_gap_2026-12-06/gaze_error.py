"""Where the decoded eyes look, against where the source's look: the iris position in the eye
opening, measured by MediaPipe's face mesh with iris refinement (the encoder's own landmarker,
ref_encoder/analysis) on the source and on the decoded pictures of a campaign's cells.

    python docs/results/gaze_gap_2026-12-06/gaze_error.py --campaign work/camp_cff_test --codec g7ff --qp 32 \
        [--strip CLIP:F1,F2,... --out DIR] CLIP [CLIP ...]

Gaze of one eye: the iris centre (landmark 468 or 473) relative to the midpoint of the eye's
corners (33-133 or 362-263), along the corner-to-corner axis (x) and across it (y), in eye
widths (the corner distance); the two eyes averaged. Per clip: the mean and the largest
|source - decoded| of x and y over the frames where both pictures have a face, and, in pixels,
the mean of |x| times the eye width. --strip writes a PNG per clip with the source's and the
decoded eyes side by side (rows: the frames given), 3x.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from bitstream.raw_video import read_rgb444  # noqa: E402
from ref_encoder.analysis import FaceAnalyzer  # noqa: E402

EYES = ((468, 33, 133), (473, 362, 263))      # iris centre, the two corners


def gaze(landmarks: np.ndarray) -> tuple[float, float, float]:
    """(x, y, eye width in pixels), the two eyes averaged."""
    xs, ys, widths = [], [], []
    for iris, a, b in EYES:
        p, q = landmarks[a, :2], landmarks[b, :2]
        width = float(np.linalg.norm(q - p))
        axis = (q - p) / width
        v = landmarks[iris, :2] - (p + q) / 2
        xs.append(float(v @ axis) / width)
        ys.append(float(v @ np.array([-axis[1], axis[0]])) / width)
        widths.append(width)
    return float(np.mean(xs)), float(np.mean(ys)), float(np.mean(widths))


def gazes(pictures: np.ndarray) -> list[tuple[float, float, float] | None]:
    with FaceAnalyzer() as analyzer:          # one per video: the tracking state is its own
        out = []
        for p in pictures:
            a = analyzer.analyze_frame(p)
            out.append(gaze(a.landmarks) if a.face_found else None)
    return out


def eye_strip(src: np.ndarray, dec: np.ndarray, frames: list[int], out: Path) -> None:
    """Source | decoded eyes of each frame, 3x, cropped around the source frame's eye corners
    and lids (the same box for both)."""
    rows = []
    with FaceAnalyzer(tracking=False) as analyzer:
        boxes = [analyzer.analyze_frame(src[f]).landmarks for f in frames]
    for f, lm in zip(frames, boxes):
        cx, cy = lm[[33, 133, 362, 263], 0].mean(), lm[[159, 145, 386, 374], 1].mean()
        x0, y0 = int(np.clip(cx - 52, 0, 256 - 104)), int(np.clip(cy - 16, 0, 256 - 32))
        pair = [cv2.resize(v[f][y0:y0 + 32, x0:x0 + 104], None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
                for v in (src, dec)]
        rows.append(np.concatenate([pair[0], np.full((pair[0].shape[0], 6, 3), 255, np.uint8), pair[1]], 1))
        rows.append(np.full((4, rows[-1].shape[1], 3), 255, np.uint8))
    cv2.imwrite(str(out), cv2.cvtColor(np.concatenate(rows[:-1], 0), cv2.COLOR_RGB2BGR))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--campaign", type=Path, required=True)
    ap.add_argument("--codec", required=True)
    ap.add_argument("--qp", type=int, default=32)
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--sequences", type=Path, default=Path("work/sequences"))
    ap.add_argument("--strip", action="append", default=[], help="CLIP:F1,F2,... (with --out)")
    ap.add_argument("--out", type=Path)
    ap.add_argument("clips", nargs="+")
    a = ap.parse_args()
    strips = {c: [int(f) for f in fs.split(",")] for c, fs in (s.split(":") for s in a.strip)}
    results = {}
    paths = {clip: (a.sequences / f"{clip}_256x256_25_8bit_444.rgb",
                    a.campaign / "cells" / a.codec / clip / f"{clip}_{a.codec}_qp{a.qp}.rgb") for clip in a.clips}
    missing = [str(p) for pair in paths.values() for p in pair if not p.is_file()]
    if missing or (a.strip and not a.out):
        print(f"error: {'not found: ' + ', '.join(missing) if missing else '--strip needs --out'}", file=sys.stderr)
        return 2
    for clip, (source_path, decoded_path) in paths.items():
        src = read_rgb444(source_path, 256, 256, a.frames)
        dec = read_rgb444(decoded_path, 256, 256, a.frames)
        pairs = [(s, d) for s, d in zip(gazes(src), gazes(dec)) if s is not None and d is not None]
        dx = np.array([abs(s[0] - d[0]) for s, d in pairs])
        dy = np.array([abs(s[1] - d[1]) for s, d in pairs])
        width = float(np.mean([s[2] for s, _ in pairs]))
        results[clip] = dict(frames=len(pairs), eye_width_px=width, mean_dx=float(dx.mean()), max_dx=float(dx.max()),
                             mean_dy=float(dy.mean()), max_dy=float(dy.max()), mean_dx_px=float(dx.mean()) * width,
                             source_x_range=float(np.ptp([s[0] for s, _ in pairs])))
        print(clip, json.dumps({k: round(v, 4) for k, v in results[clip].items()}), flush=True)
        if clip in strips and a.out:
            eye_strip(src, dec, strips[clip], a.out / f"eyes_{clip}_qp{a.qp}.png")
    if a.out:
        (a.out / f"gaze_{a.codec}_qp{a.qp}.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
