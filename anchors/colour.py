"""Colour conversion of the anchors: exactly the integer BT.709 limited-range conversions
that IFVC uses for its key frames (bitstream/picture_format.py, spec 8.4.3), so anchors and
IFVC see the same colour processing and their quality figures compare fairly.

* RGB -> Y'CbCr 4:2:0: 16-bit fixed-point BT.709 matrix, chroma as the rounded mean of each
  2x2 block (centre-sited).
* 4:2:0 -> RGB: centre-sited (3/4, 1/4) chroma upsampling, edges replicated, inverse matrix.
* 8 <-> 10 bits for VVenC (its only input format is yuv420p10le): x << 2 on the way in and
  (x + 2) >> 2 clipped on the way out, as VTM does with InputBitDepth=8, InternalBitDepth=10,
  OutputBitDepth=8.

Frames are numpy arrays shaped (frames, 3, height, width), uint8, planes in R, G, B order,
as in the ``.rgb`` files. A YUV sequence is a tuple of three (frames, h, w) plane stacks.
"""
from __future__ import annotations

import numpy as np

from bitstream.keyframe_vvc import to_8bit
from bitstream.picture_format import rgb_to_yuv420 as _frame_rgb_to_yuv420
from bitstream.picture_format import yuv420_to_rgb as _frame_yuv420_to_rgb

KR = 0.2126
KB = 0.0722
KG = 1.0 - KR - KB

YuvPlanes = tuple[np.ndarray, np.ndarray, np.ndarray]


def rgb_to_yuv420(rgb: np.ndarray) -> YuvPlanes:
    """(F, 3, H, W) uint8 RGB -> Y (F, H, W), Cb and Cr (F, H/2, W/2), uint8, limited range."""
    if rgb.ndim != 4 or rgb.shape[1] != 3:
        raise ValueError(f"expected (frames, 3, height, width), got {rgb.shape}")
    planes = [_frame_rgb_to_yuv420(np.ascontiguousarray(f.transpose(1, 2, 0))) for f in rgb]
    return tuple(np.stack([p[i] for p in planes]) for i in range(3))  # type: ignore[return-value]


def yuv420_to_rgb(y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> np.ndarray:
    """8-bit limited-range Y (F, H, W), Cb, Cr (F, H/2, W/2) -> (F, 3, H, W) uint8 RGB."""
    frames = [_frame_yuv420_to_rgb(a, b, c).transpose(2, 0, 1) for a, b, c in zip(y, cb, cr)]
    return np.stack(frames)


def rgb_to_luma(rgb: np.ndarray) -> np.ndarray:
    """BT.709 luma of (F, 3, H, W) RGB on the 8-bit full scale [0, 255], as float64."""
    r, g, b = (rgb[:, i].astype(np.float64) for i in range(3))
    return KR * r + KG * g + KB * b


def to_10bit(plane: np.ndarray) -> np.ndarray:
    """8-bit samples -> 10-bit samples (uint16), a left shift by 2."""
    return plane.astype(np.uint16) << 2


def from_10bit(plane: np.ndarray) -> np.ndarray:
    """10-bit samples -> 8-bit samples, rounded ((x + 2) >> 2) and clipped."""
    return to_8bit(plane, 10)
