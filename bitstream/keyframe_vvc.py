"""Decoding of VVC key-frame pictures (spec 8.4.2) through an external H.266 decoder.

The H.266 decoding process is exact, so any conforming VVC decoder gives the same samples;
the reference uses FFmpeg's native `vvc` decoder from the ffmpeg binary that the PyPI package
imageio-ffmpeg ships (or the binary named by IFVC_FFMPEG). The decoder's native output is
taken without any pixel-format conversion; samples above 8 bits are rounded to 8 bits here.
The picture format is never guessed from the decoder's output: it is read from the payload's
parameter sets (vvc_headers) and checked against the sequence header first.
"""
from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np

from .errors import BitstreamError
from .picture_format import yuv420_to_rgb
from .vvc_headers import check_keyframe_format


class ToolMissingError(RuntimeError):
    """A required external program (ffmpeg) is not available."""


def find_ffmpeg(explicit: str | os.PathLike[str] | None = None) -> str:
    """The ffmpeg every part of the project runs (key frames, .mp4 output, anchors): ``explicit``
    (a command-line option), else $IFVC_FFMPEG, else imageio-ffmpeg's pinned build (libvvenc and
    the native VVC decoder), else the PATH's; ToolMissingError when none is usable."""
    where = ""
    if explicit is None and os.environ.get("IFVC_FFMPEG"):
        explicit, where = os.environ["IFVC_FFMPEG"], " (from IFVC_FFMPEG)"
    if explicit is not None:
        path = os.fspath(explicit)
        if not os.path.isfile(path):
            raise ToolMissingError(f"ffmpeg not found: {path}{where}")
        if not os.access(path, os.X_OK):
            raise ToolMissingError(f"ffmpeg is not executable: {path}{where}")
        return path
    try:
        import imageio_ffmpeg  # the project's pinned ffmpeg with libvvenc and the vvc decoder
        bundled = imageio_ffmpeg.get_ffmpeg_exe()
        if os.path.isfile(bundled) and os.access(bundled, os.X_OK):
            return bundled
    except Exception:  # noqa: BLE001 - any failure means: no bundled binary
        pass
    found = shutil.which("ffmpeg")
    if found:
        return found
    raise ToolMissingError("ffmpeg not found: install the imageio-ffmpeg package, or set IFVC_FFMPEG "
                           "(or give --ffmpeg PATH where a command has it)")


def to_8bit(plane: np.ndarray, bit_depth: int) -> np.ndarray:
    """Rounds samples of bit_depth > 8 to 8 bits: (x + 2^(d-9)) >> (d-8), clipped."""
    if bit_depth == 8:
        return plane.astype(np.uint8)
    shift = bit_depth - 8
    return np.clip((plane.astype(np.int32) + (1 << (shift - 1))) >> shift, 0, 255).astype(np.uint8)


def decode_vvc_yuv420(payload: bytes, width: int, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The one picture of an H.266 elementary stream as 8-bit Y, Cb, Cr 4:2:0 planes.
    Its size, chroma format and bit depth are read from the stream's parameter sets and
    checked against the sequence header before decoding (spec 8.4.2); the decoder's output
    must then have exactly that format."""
    depth = check_keyframe_format(payload, width, height).bit_depth
    cmd = [find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-f", "vvc", "-i", "pipe:0",
           "-frames:v", "1", "-f", "rawvideo", "pipe:1"]
    try:
        proc = subprocess.run(cmd, input=payload, capture_output=True, timeout=60, check=False)
    except subprocess.TimeoutExpired:
        raise BitstreamError("VVC key-frame decoding timed out", element="kf_picture_byte") from None
    out = proc.stdout
    n_y, n_c = width * height, (width // 2) * (height // 2)
    if proc.returncode != 0 or not out:
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise BitstreamError(f"the VVC key-frame payload does not decode: {tail[0]}",
                             element="kf_picture_byte")
    dtype = np.dtype(np.uint8) if depth == 8 else np.dtype("<u2")
    if len(out) != dtype.itemsize * (n_y + 2 * n_c):
        raise BitstreamError(f"the VVC decoder output {len(out)} bytes, not one {width}x{height} "
                             f"4:2:0 picture of {depth} bits", element="kf_picture_byte")
    buf = np.frombuffer(out, dtype)
    if depth == 10 and int(buf.max(initial=0)) > 1023:
        raise BitstreamError("the VVC key frame has samples above 10 bits", element="kf_picture_byte")
    y = to_8bit(buf[:n_y].reshape(height, width), depth)
    cb = to_8bit(buf[n_y:n_y + n_c].reshape(height // 2, width // 2), depth)
    cr = to_8bit(buf[n_y + n_c:].reshape(height // 2, width // 2), depth)
    return y, cb, cr


def decode_vvc_rgb(payload: bytes, width: int, height: int) -> np.ndarray:
    """H x W x 3 uint8 RGB of a VVC key frame (spec 8.4.2 and 8.4.3)."""
    return yuv420_to_rgb(*decode_vvc_yuv420(payload, width, height))
