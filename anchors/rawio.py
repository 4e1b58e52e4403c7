"""Raw sequence files: 8-bit RGB 4:4:4 planar (.rgb) and YUV 4:2:0 planar (.yuv), in chunks.

A ``.rgb`` frame is the full R plane, then G, then B (8 bits a sample). A ``.yuv`` frame is
Y, then Cb, then Cr at half width and height; 10-bit files hold little-endian 16-bit words.
Sequences are read and written a chunk of frames at a time so long clips fit in memory.
Frame sizes come from bitstream/raw_video.py, the one description of these layouts; what is
here is the anchors' own access pattern (chunks of frames, 10-bit 4:2:0, AnchorError).
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from anchors.colour import YuvPlanes
from anchors.errors import AnchorError
from bitstream.raw_video import rgb444_frame_bytes, yuv420_frame_bytes

CHUNK_FRAMES = 32


@dataclass(frozen=True)
class Geometry:
    """Picture size; frame sizes in bytes follow from it."""

    width: int
    height: int

    @property
    def rgb_frame_bytes(self) -> int:
        return rgb444_frame_bytes(self.width, self.height)

    def yuv_frame_bytes(self, bit_depth: int) -> int:
        return yuv420_frame_bytes(self.width, self.height, bit_depth)


def count_rgb_frames(path: Path, geometry: Geometry) -> int:
    """Number of frames in an .rgb file; an AnchorError if it is missing or has a partial frame."""
    if not path.is_file():
        raise AnchorError(f"input not found: {path}")
    size = path.stat().st_size
    frame = geometry.rgb_frame_bytes
    if size == 0 or size % frame:
        raise AnchorError(
            f"input {path} has {size} bytes, not a whole number of "
            f"{geometry.width}x{geometry.height} RGB 4:4:4 frames ({frame} bytes each); "
            "check --width/--height")
    return size // frame


def read_rgb_chunks(path: Path, geometry: Geometry, frames: int) -> Iterator[np.ndarray]:
    """Yield (n, 3, H, W) uint8 arrays covering the first ``frames`` frames."""
    with path.open("rb") as handle:
        for start in range(0, frames, CHUNK_FRAMES):
            count = min(CHUNK_FRAMES, frames - start)
            data = _read_exact(handle, count * geometry.rgb_frame_bytes, path)
            yield np.frombuffer(data, np.uint8).reshape(count, 3, geometry.height, geometry.width)


def read_yuv420_chunks(path: Path, geometry: Geometry, frames: int,
                       bit_depth: int) -> Iterator[YuvPlanes]:
    """Yield (Y, Cb, Cr) arrays of up to CHUNK_FRAMES frames from a planar 4:2:0 file."""
    dtype = np.dtype("<u2") if bit_depth > 8 else np.dtype(np.uint8)
    w, h = geometry.width, geometry.height
    luma, chroma = w * h, (w // 2) * (h // 2)
    with path.open("rb") as handle:
        for start in range(0, frames, CHUNK_FRAMES):
            count = min(CHUNK_FRAMES, frames - start)
            data = _read_exact(handle, count * geometry.yuv_frame_bytes(bit_depth), path)
            flat = np.frombuffer(data, dtype).reshape(count, luma + 2 * chroma)
            y = flat[:, :luma].reshape(count, h, w)
            cb = flat[:, luma:luma + chroma].reshape(count, h // 2, w // 2)
            cr = flat[:, luma + chroma:].reshape(count, h // 2, w // 2)
            yield y, cb, cr


def write_yuv420(handle: BinaryIO, planes: YuvPlanes, bit_depth: int) -> None:
    """Append frames (Y, Cb, Cr) to a planar 4:2:0 file, frame by frame."""
    dtype = np.dtype("<u2") if bit_depth > 8 else np.dtype(np.uint8)
    y, cb, cr = planes
    for i in range(y.shape[0]):
        for plane in (y[i], cb[i], cr[i]):
            handle.write(np.ascontiguousarray(plane, dtype=dtype).tobytes())


def write_rgb(handle: BinaryIO, rgb: np.ndarray) -> None:
    """Append (n, 3, H, W) uint8 frames to a planar .rgb file."""
    handle.write(np.ascontiguousarray(rgb, dtype=np.uint8).tobytes())


def _read_exact(handle: BinaryIO, size: int, path: Path) -> bytes:
    data = handle.read(size)
    if len(data) != size:
        raise AnchorError(f"{path} ended early: wanted {size} more bytes, got {len(data)}")
    return data
