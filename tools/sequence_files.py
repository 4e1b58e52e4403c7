"""Raw test-sequence files: 8-bit RGB 4:4:4 planar and YUV 4:2:0 (BT.709, limited range).

File layouts (no header, frames back to back):
- ``<name>_256x256_25_8bit_444.rgb``: per frame the R plane, then G, then B (H*W bytes each).
- ``<name>_256x256_25_8bit_420.yuv``: per frame Y (H*W), then Cb, then Cr (H/2*W/2 each).

RGB -> YCbCr 4:2:0 is the integer BT.709 limited-range conversion of the IFVC key frames
(bitstream/picture_format.py, spec 8.4.3), so the .yuv files, the anchors and IFVC share it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from bitstream import picture_format

def rgb_to_yuv420(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """HxWx3 uint8 RGB (H, W even) -> (Y HxW, Cb H/2xW/2, Cr H/2xW/2) uint8, BT.709 limited range."""
    return picture_format.rgb_to_yuv420(np.ascontiguousarray(rgb))


def rgb_frame_to_planar(rgb: np.ndarray) -> bytes:
    """HxWx3 uint8 -> bytes of the R, G and B planes."""
    return np.ascontiguousarray(rgb.transpose(2, 0, 1)).tobytes()


def yuv420_frame_bytes(rgb: np.ndarray) -> bytes:
    y, cb, cr = rgb_to_yuv420(rgb)
    return y.tobytes() + cb.tobytes() + cr.tobytes()


def read_rgb444(path: Path, width: int = 256, height: int = 256,
                max_frames: int | None = None, start: int = 0) -> np.ndarray:
    """Read an 8-bit RGB 4:4:4 planar file into an N x H x W x 3 uint8 array."""
    frame_bytes = 3 * width * height
    size = Path(path).stat().st_size
    if size % frame_bytes:
        raise ValueError(f"{path}: size {size} is not a multiple of a {width}x{height} RGB frame")
    n = size // frame_bytes - start
    if max_frames is not None:
        n = min(n, max_frames)
    raw = np.fromfile(path, dtype=np.uint8, count=max(n, 0) * frame_bytes, offset=start * frame_bytes)
    return raw.reshape(-1, 3, height, width).transpose(0, 2, 3, 1).copy()


def iter_rgb444(path: Path, width: int = 256, height: int = 256) -> Iterator[np.ndarray]:
    frame_bytes = 3 * width * height
    with open(path, "rb") as f:
        while chunk := f.read(frame_bytes):
            if len(chunk) != frame_bytes:
                raise ValueError(f"{path}: truncated last frame")
            yield np.frombuffer(chunk, np.uint8).reshape(3, height, width).transpose(1, 2, 0)
