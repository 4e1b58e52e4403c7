"""Raw sequence files: 8-bit RGB 4:4:4 planar (.rgb) and YUV 4:2:0 planar (.yuv), numpy only.

File layouts (no header, frames back to back):
- ``<name>_256x256_25_8bit_444.rgb``: per frame the R plane, then G, then B (H*W bytes each).
- ``<name>_256x256_25_8bit_420.yuv``: per frame Y (H*W), then Cb, then Cr ((H/2)*(W/2) each,
  rounded up for odd sizes, spec 8.4.3); samples of more than 8 bits as little-endian 16-bit words.

This is the one place that knows these layouts: test-sequence preparation, the encoder's
input, the decoder's output, the anchors and the campaign metrics all read or write through
it. It lives in bitstream/ because the 4:2:0 conversion it uses is the key frames' normative
one (bitstream/picture_format.py, spec 8.4.3) and because every package may import bitstream/.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from bitstream.picture_format import chroma420_shape, rgb_to_yuv420, yuv420_planar_bytes, yuv420_to_rgb

RAW_FORMATS = ("rgb", "yuv")


def rgb444_frame_bytes(width: int, height: int) -> int:
    """Bytes of one planar RGB 4:4:4 frame of 8-bit samples."""
    return 3 * width * height


def yuv420_frame_bytes(width: int, height: int, bit_depth: int = 8) -> int:
    """Bytes of one planar 4:2:0 frame (chroma planes rounded up for odd sizes)."""
    ch, cw = chroma420_shape(height, width)
    return (width * height + 2 * ch * cw) * (2 if bit_depth > 8 else 1)


def raw_frame_bytes(fmt: str, width: int, height: int) -> int:
    """Bytes of one frame of a raw ``fmt`` ("rgb" or "yuv", 8 bits) file."""
    return rgb444_frame_bytes(width, height) if fmt == "rgb" else yuv420_frame_bytes(width, height)


def rgb_frame_to_yuv420_bytes(rgb: np.ndarray) -> bytes:
    """HxWx3 uint8 RGB -> one planar 4:2:0 frame, the spec's integer BT.709 conversion (8.4.3)."""
    return yuv420_planar_bytes(*rgb_to_yuv420(np.ascontiguousarray(rgb)))


def read_rgb444(path: Path, width: int = 256, height: int = 256,
                max_frames: int | None = None, start: int = 0) -> np.ndarray:
    """Read an 8-bit RGB 4:4:4 planar file into an N x H x W x 3 uint8 array."""
    frame_bytes = rgb444_frame_bytes(width, height)
    size = Path(path).stat().st_size
    if size % frame_bytes:
        raise ValueError(f"{path}: size {size} is not a multiple of a {width}x{height} RGB frame")
    n = size // frame_bytes - start
    if max_frames is not None:
        n = min(n, max_frames)
    raw = np.fromfile(path, dtype=np.uint8, count=max(n, 0) * frame_bytes, offset=start * frame_bytes)
    return raw.reshape(-1, 3, height, width).transpose(0, 2, 3, 1).copy()


def iter_rgb444(path: Path, width: int = 256, height: int = 256) -> Iterator[np.ndarray]:
    """H x W x 3 uint8 frames of an .rgb file, one at a time; ValueError on a truncated frame."""
    yield from iter_raw_frames(path, "rgb", width, height)


def iter_raw_frames(path: Path, fmt: str, width: int, height: int,
                    max_frames: int | None = None) -> Iterator[np.ndarray]:
    """H x W x 3 uint8 RGB frames of a raw 8-bit ``fmt`` ("rgb" or "yuv") file, one at a time
    (memory does not grow with the file); a .yuv frame is converted with the spec's 8.4.3
    process. ValueError on a truncated frame."""
    frame_bytes = raw_frame_bytes(fmt, width, height)
    luma = width * height
    ch, cw = chroma420_shape(height, width)
    count = 0
    with open(path, "rb") as fh:
        while max_frames is None or count < max_frames:
            chunk = fh.read(frame_bytes)
            if not chunk:
                return
            if len(chunk) != frame_bytes:
                raise ValueError(f"{path}: truncated frame")
            buf = np.frombuffer(chunk, np.uint8)
            if fmt == "rgb":
                yield buf.reshape(3, height, width).transpose(1, 2, 0).copy()
            else:
                yield yuv420_to_rgb(buf[:luma].reshape(height, width),
                                    buf[luma:luma + ch * cw].reshape(ch, cw),
                                    buf[luma + ch * cw:].reshape(ch, cw))
            count += 1
