"""Deterministic push-pull fill of the background plate of "ifvc-geometric-2" (Annex G.4).

The plate is what the layered generator shows where the person no longer covers the
background: the key frame itself where the key frame shows background, and inside the key
frame's person region a smooth continuation of the surrounding background colours. Push-pull
(a weighted image pyramid) fills any hole, however large, in a fixed number of integer-size
steps without iteration, random numbers or threads, and never leaves a pixel unset: with no
background at all the plate is mid grey. harmonic_fill is ifvc-geometric-4's plate fill (Annex
H.7): push-pull on the coarsest level, then Laplace's equation relaxed level by level, so the
fill meets the known colours at the hole's edge without a step.
"""
from __future__ import annotations

import cv2
import numpy as np

EMPTY_GREY = 128.0          # the plate of a picture without any background pixel


def _halve(a: np.ndarray) -> np.ndarray:
    """Mean of 2x2 blocks; an odd last row or column is repeated first (edge replicate)."""
    h, w = a.shape[:2]
    if h % 2:
        a = np.concatenate([a, a[-1:]], axis=0)
    if w % 2:
        a = np.concatenate([a, a[:, -1:]], axis=1)
    return 0.25 * ((a[0::2, 0::2] + a[1::2, 0::2]) + (a[0::2, 1::2] + a[1::2, 1::2]))


def push_pull_fill(rgb: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Fill the pixels of rgb (HxWx3 float32) whose weight (HxW, 1 = known, 0 = hole) is 0.

    Push: P_0 = weight * rgb, W_0 = weight; P_{l+1}, W_{l+1} = 2x2 means of P_l, W_l until
    the level is 1x1. Pull: F_L = P_L / W_L (grey when W_L = 0); F_l = P_l + (1 - W_l) *
    up(F_{l+1}), up = bilinear resize (cv2.INTER_LINEAR) to level l's size. Known pixels
    (weight 1) keep their value exactly."""
    w0 = np.asarray(weight, np.float32)
    p_levels = [rgb.astype(np.float32) * w0[..., None]]
    w_levels = [w0]
    while p_levels[-1].shape[0] > 1 or p_levels[-1].shape[1] > 1:
        p_levels.append(_halve(p_levels[-1]))
        w_levels.append(_halve(w_levels[-1]))
    w_top = float(w_levels[-1][0, 0])
    filled = (p_levels[-1] / w_top) if w_top > 0 else np.full_like(p_levels[-1], EMPTY_GREY)
    for p, w in zip(reversed(p_levels[:-1]), reversed(w_levels[:-1])):
        h, wd = p.shape[:2]
        up = cv2.resize(filled, (wd, h), interpolation=cv2.INTER_LINEAR)
        if up.ndim == 2:                          # cv2 drops a channel axis of size 1 rows
            up = up[..., None]
        up = up.reshape(h, wd, -1)
        filled = p + (1.0 - w)[..., None] * up
    return filled.astype(np.float32)


def mirror_columns(known: np.ndarray, min_run: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every pixel, the column whose known sample continues the background into the
    run of unknown pixels it lies in (same row), and whether there is one.

    Per row, with L the last known column left of x and [A, L] its run of known pixels
    (n = L - A + 1), the left source is the run mirrored again and again away from the hole
    (OpenCV's BORDER_REFLECT tiling): t = (x - L - 1) mod 2n, q = L - t if t < n else A + t - n;
    the right source likewise with the first known column R right of x and its run [R, B].
    The nearer side (x - L <= R - x) is used when its run has at least min_run pixels, else
    the other side under the same condition; known pixels are their own source. Returns
    (source column, whether there is one, distance x - L or R - x to the used side (0 where
    known)). Integer arithmetic only."""
    k = np.asarray(known) > 0
    h, w = k.shape
    cols = np.broadcast_to(np.arange(w, dtype=np.int64), (h, w))
    rows = np.arange(h)[:, None]
    left = np.maximum.accumulate(np.where(k, cols, -1), axis=1)           # last known <= x
    right = np.minimum.accumulate(np.where(k, cols, w)[:, ::-1], axis=1)[:, ::-1]   # first known >= x
    last_unknown = np.maximum.accumulate(np.where(k, -1, cols), axis=1)    # last unknown <= x
    next_unknown = np.minimum.accumulate(np.where(k, w, cols)[:, ::-1], axis=1)[:, ::-1]
    a = last_unknown[rows, np.clip(left, 0, w - 1)] + 1                    # start of the left run
    b = next_unknown[rows, np.clip(right, 0, w - 1)] - 1                   # end of the right run
    n_l = np.where(left >= 0, left - a + 1, 0)
    n_r = np.where(right < w, b - right + 1, 0)
    t_l = np.mod(cols - left - 1, np.maximum(2 * n_l, 1))
    q_l = np.where(t_l < n_l, left - t_l, a + t_l - n_l)
    t_r = np.mod(right - cols - 1, np.maximum(2 * n_r, 1))
    q_r = np.where(t_r < n_r, right + t_r, b - (t_r - n_r))
    ok_l, ok_r = n_l >= min_run, n_r >= min_run
    left_first = (cols - left) <= (right - cols)
    use_l = np.where(left_first, ok_l, ok_l & ~ok_r)
    q = np.where(k, cols, np.where(use_l, q_l, q_r))
    ok = k | ok_l | ok_r
    dist = np.where(k, 0, np.where(use_l, cols - left, right - cols))
    return np.clip(q, 0, w - 1), ok, dist


def textured_fill(rgb: np.ndarray, weight: np.ndarray, sigma: float, fade: float) -> np.ndarray:
    """push_pull_fill with the background's texture continued into the holes (Annex G.4).

    Smooth = GaussianBlur(weight * rgb, sigma) / GaussianBlur(weight, sigma) (the local mean
    of the known colours), detail = rgb - Smooth. A hole pixel with a source column
    (mirror_columns: the background beside it in the same row, mirrored) gets
    T = F + f (detail at the source), f = max(0, 1 - d / fade) with d its distance to that
    side, then limited to the range between F and the source pixel's colour, so every value
    lies between two background colours; the texture fades into the smooth push-pull colour
    F away from the hole's edge. Known pixels keep their value."""
    img = rgb.astype(np.float32)
    w0 = np.asarray(weight, np.float32)
    fill = push_pull_fill(img, w0)
    num = cv2.GaussianBlur(img * w0[..., None], (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
    den = cv2.GaussianBlur(w0, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)[..., None]
    smooth = np.where(den > 1e-6, num / np.maximum(den, np.float32(1e-6)), img)
    q, ok, dist = mirror_columns(w0)
    rows = np.arange(img.shape[0])[:, None]
    source = img[rows, q]
    f = np.maximum(np.float32(0), np.float32(1) - dist.astype(np.float32) / np.float32(fade))[..., None]
    textured = fill + f * (source - smooth[rows, q])
    textured = np.clip(textured, np.minimum(fill, source), np.maximum(fill, source))
    hole = (w0 <= 0) & ok
    return np.where(hole[..., None], textured, fill).astype(np.float32)


HARMONIC_COARSEST = 8       # HarmonicFill's pyramid stops at the first level this small (either side)
HARMONIC_ITERATIONS = 40    # relaxation sweeps per level


def _relax(x: np.ndarray, hole: np.ndarray, iterations: int) -> np.ndarray:
    """Jacobi sweeps of Laplace's equation on the hole pixels: each becomes
    0.25 ((up + down) + (left + right)) of the previous sweep, edges replicated; the other
    pixels stay. float32, elementwise in that order."""
    h = hole[..., None]
    quarter = np.float32(0.25)
    for _ in range(iterations):
        p = np.pad(x, ((1, 1), (1, 1), (0, 0)), mode="edge")
        mean = quarter * ((p[:-2, 1:-1] + p[2:, 1:-1]) + (p[1:-1, :-2] + p[1:-1, 2:]))
        x = np.where(h, mean, x)
    return x


def harmonic_fill(rgb: np.ndarray, weight: np.ndarray, iterations: int = HARMONIC_ITERATIONS) -> np.ndarray:
    """Fill the pixels of rgb (HxWx3 float32) whose weight (HxW, 1 = known, 0 = hole) is 0
    with a smooth membrane that meets the known colours at the hole's edge (Annex H.7).

    P_0 = weight * rgb, W_0 = weight; P_{l+1}, W_{l+1} = 2x2 means (_halve) down to the first
    level L with a side of at most HARMONIC_COARSEST pixels. On each level V_l = P_l / W_l
    where W_l > 0 (known), holes where W_l = 0. X_L = push_pull_fill(V_L, known_L), then from
    level L to 0: the holes of level l < L start from the bilinear resize (cv2.INTER_LINEAR)
    of X_{l+1}, the known pixels are V_l; `iterations` Jacobi sweeps (_relax) over the holes.
    Known pixels of level 0 keep their value exactly; a picture without a known pixel is
    mid grey (push_pull_fill)."""
    w0 = np.asarray(weight, np.float32)
    p_levels = [rgb.astype(np.float32) * w0[..., None]]
    w_levels = [w0]
    while min(w_levels[-1].shape) > HARMONIC_COARSEST:
        p_levels.append(_halve(p_levels[-1]))
        w_levels.append(_halve(w_levels[-1]))
    x: np.ndarray | None = None
    for p, w in zip(reversed(p_levels), reversed(w_levels)):
        known = w > 0
        v = np.where(known[..., None], p / np.where(known, w, np.float32(1))[..., None], np.float32(0))
        if x is None:
            x = push_pull_fill(v, known.astype(np.float32))
        else:
            hh, ww = w.shape
            up = cv2.resize(x, (ww, hh), interpolation=cv2.INTER_LINEAR).reshape(hh, ww, 3)
            x = np.where(known[..., None], v, up)
        x = _relax(x.astype(np.float32), ~known, iterations)
    assert x is not None
    return x.astype(np.float32)
