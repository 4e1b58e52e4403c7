"""Synthetic ground truth on real frames: known rotations, zooms, shifts and flips.

    python -m tools.synthetic_accuracy   (see that tool for the measurement)

Each transform is an affine warp about a given centre (border reflection, so no black
corners confuse the detector); the expected change of the semantics is known exactly:
clockwise in-plane rotation by a degrees adds a to head_roll, zoom by z adds log2(z) to
head_tz, a shift by (dx, dy) pixels adds (dx/W, dy/H) to (head_tx, head_ty), and a
horizontal flip negates yaw and roll and swaps the eyes.
"""
from __future__ import annotations

import cv2
import numpy as np


def warp(rgb: np.ndarray, centre: tuple[float, float], angle_cw_deg: float = 0.0, zoom: float = 1.0,
         shift: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Rotate clockwise (in the picture) by angle, zoom about centre, then shift (pixels)."""
    m = cv2.getRotationMatrix2D(centre, -angle_cw_deg, zoom)   # OpenCV: positive = counter-clockwise
    m[:, 2] += shift
    h, w = rgb.shape[:2]
    return cv2.warpAffine(rgb, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT_101)


def flip(rgb: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(rgb[:, ::-1])


def face_centre_px(semantics: np.ndarray, width: int, height: int) -> tuple[float, float]:
    return (float(semantics[3] + 0.5) * width, float(semantics[4] + 0.5) * height)


def read_frames(path: str, indices: list[int], size: int = 256) -> list[np.ndarray]:
    """Frames at the given source indices of a clip, as size x size RGB (centre square, INTER_AREA)."""
    cap = cv2.VideoCapture(path)
    out, i, want = [], 0, set(indices)
    try:
        while len(out) < len(want):
            ok, bgr = cap.read()
            if not ok:
                break
            if i in want:
                h, w = bgr.shape[:2]
                s = min(h, w)
                sq = bgr[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
                out.append(cv2.cvtColor(cv2.resize(sq, (size, size), interpolation=cv2.INTER_AREA),
                                        cv2.COLOR_BGR2RGB))
            i += 1
    finally:
        cap.release()
    return out
