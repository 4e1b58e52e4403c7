"""Deterministic push-pull fill of the background plate of "ifvc-geometric-2" (Annex G.4).

The plate is what the layered generator shows where the person no longer covers the
background: the key frame itself where the key frame shows background, and inside the key
frame's person region a smooth continuation of the surrounding background colours. Push-pull
(a weighted image pyramid) fills any hole, however large, in a fixed number of integer-size
steps without iteration, random numbers or threads, and never leaves a pixel unset: with no
background at all the plate is mid grey.
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
