"""Picture formats of key frames (spec 8.4): the raw planar layout, and the integer BT.709
conversions between RGB 4:4:4 and YCbCr 4:2:0 (limited range, 8 bits) used for VVC key
frames. Integer arithmetic only, so every decoder outputs identical key-frame samples.
"""
from __future__ import annotations

import numpy as np

from .errors import BitstreamError

# 16-bit fixed-point BT.709 limited-range matrices (spec 8.4.3, Table 14). Each chroma row
# sums to 0 so that grey stays grey exactly.
_FWD = np.array([[11966, 40254, 4064],
                 [-6596, -22188, 28784],
                 [28784, -26145, -2639]], dtype=np.int64)
_INV_Y = 76309
_INV_R_CR = 117489
_INV_G_CB = -13975
_INV_G_CR = -34925
_INV_B_CB = 138438
_HALF = 1 << 15


def rgb_planar_to_frame(data: bytes, width: int, height: int) -> np.ndarray:
    """Raw key frame (R, G and B planes, 8 bits) -> H x W x 3 uint8."""
    if len(data) != 3 * width * height:
        raise BitstreamError(f"raw RGB picture has {len(data)} bytes, expected {3 * width * height}")
    return np.frombuffer(data, np.uint8).reshape(3, height, width).transpose(1, 2, 0).copy()


def frame_to_rgb_planar(frame: np.ndarray) -> bytes:
    _check_rgb(frame, even=False)
    return np.ascontiguousarray(frame.transpose(2, 0, 1)).tobytes()


def _check_rgb(frame: np.ndarray, even: bool = True) -> None:
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"expected an H x W x 3 uint8 RGB frame, got {frame.dtype} {frame.shape}")
    if even and (frame.shape[0] % 2 or frame.shape[1] % 2):
        raise ValueError(f"4:2:0 needs even picture dimensions, got {frame.shape[1]}x{frame.shape[0]}")


def rgb_to_yuv420(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RGB 4:4:4 -> Y, Cb, Cr planes (chroma: the rounded mean of each 2x2 block). An odd
    width or height is padded by repeating the last column or row for the chroma (chroma
    planes of half the size rounded up, spec 8.4.1)."""
    _check_rgb(frame, even=False)
    rgb = frame.astype(np.int64)
    y = ((rgb @ _FWD[0]) + _HALF >> 16) + 16
    even = np.pad(rgb, ((0, rgb.shape[0] % 2), (0, rgb.shape[1] % 2), (0, 0)), mode="edge")
    cb_full = even @ _FWD[1]
    cr_full = even @ _FWD[2]

    def down(c: np.ndarray) -> np.ndarray:
        s = c[0::2, 0::2] + c[1::2, 0::2] + c[0::2, 1::2] + c[1::2, 1::2]
        return ((s + (1 << 17)) >> 18) + 128

    return (np.clip(y, 0, 255).astype(np.uint8), np.clip(down(cb_full), 0, 255).astype(np.uint8),
            np.clip(down(cr_full), 0, 255).astype(np.uint8))


def _upsample2(c: np.ndarray) -> np.ndarray:
    """Centre-sited 2x upsampling, separable taps (3/4, 1/4), edges replicated; returns the
    result scaled by 16 (both passes' weights) so that rounding happens once."""
    p = np.pad(c.astype(np.int64), 1, mode="edge")
    rows = np.empty((2 * c.shape[0], c.shape[1] + 2), np.int64)
    rows[0::2] = 3 * p[1:-1] + p[:-2]
    rows[1::2] = 3 * p[1:-1] + p[2:]
    out = np.empty((2 * c.shape[0], 2 * c.shape[1]), np.int64)
    out[:, 0::2] = 3 * rows[:, 1:-1] + rows[:, :-2]
    out[:, 1::2] = 3 * rows[:, 1:-1] + rows[:, 2:]
    return out


def chroma420_shape(height: int, width: int) -> tuple[int, int]:
    """Chroma plane size of 4:2:0: half the luma size, rounded up (spec 8.4.1)."""
    return (height + 1) // 2, (width + 1) // 2


def yuv420_to_rgb(y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> np.ndarray:
    """Y, Cb, Cr 4:2:0 (8 bits, limited range) -> H x W x 3 uint8 RGB. For an odd width or
    height, the upsampled chroma has one column or row more than luma; it is dropped (the
    first H rows and W columns are used, spec 8.4.3)."""
    h, w = y.shape
    if cb.shape != chroma420_shape(h, w) or cr.shape != cb.shape:
        raise BitstreamError(f"chroma planes {cb.shape}, {cr.shape} do not match luma {y.shape} in 4:2:0")
    yy = (y.astype(np.int64) - 16) * _INV_Y
    u16 = _upsample2(cb)[:h, :w] - 16 * 128      # chroma - 128, scaled by 16
    v16 = _upsample2(cr)[:h, :w] - 16 * 128
    rnd = 1 << 19                         # 16 fractional bits + 4 bits of upsampling scale
    r = (16 * yy + _INV_R_CR * v16 + rnd) >> 20
    g = (16 * yy + _INV_G_CB * u16 + _INV_G_CR * v16 + rnd) >> 20
    b = (16 * yy + _INV_B_CB * u16 + rnd) >> 20
    return np.clip(np.stack([r, g, b], axis=-1), 0, 255).astype(np.uint8)


def yuv420_planar_bytes(y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> bytes:
    return y.tobytes() + cb.tobytes() + cr.tobytes()


def yuv420_from_bytes(data: bytes, width: int, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw 8-bit Y, Cb, Cr planes; chroma planes of half the size, rounded up (spec 8.4.1)."""
    n_y = width * height
    c_shape = chroma420_shape(height, width)
    n_c = c_shape[0] * c_shape[1]
    if len(data) != n_y + 2 * n_c:
        raise BitstreamError(f"YUV 4:2:0 picture has {len(data)} bytes, expected {n_y + 2 * n_c}")
    buf = np.frombuffer(data, np.uint8)
    return (buf[:n_y].reshape(height, width).copy(),
            buf[n_y:n_y + n_c].reshape(c_shape).copy(),
            buf[n_y + n_c:].reshape(c_shape).copy())
