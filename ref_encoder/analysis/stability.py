"""Temporal stability of the analysis: jitter on still segments, and smoothing lag.

A still segment is a run of at least `window` frames in which the head centre stays within
`pos_tol` picture widths/heights and each rotation angle within `ang_tol` degrees of the
run's mean. Jitter is the robust standard deviation (1.4826 x MAD) of the frame-to-frame
difference over consecutive frame pairs inside still segments; the MAD ignores blinks and
short mouth movements that happen while the head is still.
"""
from __future__ import annotations

import numpy as np

from .semantics import INDEX, NUM_ELEMENTS

POSE_IDX = [INDEX["head_yaw"], INDEX["head_pitch"], INDEX["head_roll"]]
POS_IDX = [INDEX["head_tx"], INDEX["head_ty"]]


def still_mask(values: np.ndarray, window: int = 10, pos_tol: float = 0.01, ang_tol: float = 2.0) -> np.ndarray:
    """Boolean per frame: inside some window of `window` frames where the head is still."""
    n = len(values)
    mask = np.zeros(n, dtype=bool)
    for s in range(0, n - window + 1):
        seg = values[s:s + window]
        dev_pos = np.abs(seg[:, POS_IDX] - seg[:, POS_IDX].mean(axis=0)).max()
        dev_ang = np.abs(seg[:, POSE_IDX] - seg[:, POSE_IDX].mean(axis=0)).max()
        if dev_pos <= pos_tol and dev_ang <= ang_tol:
            mask[s:s + window] = True
    return mask


def robust_std(x: np.ndarray) -> float:
    if len(x) == 0:
        return float("nan")
    return float(1.4826 * np.median(np.abs(x - np.median(x))))


def still_diffs(values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Frame-to-frame differences (M x elements) over pairs of consecutive still frames."""
    mask = still_mask(values) if mask is None else mask
    pair = mask[1:] & mask[:-1]
    return np.diff(values, axis=0)[pair]


def jitter(values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Per-element robust std of the frame-to-frame difference on still segments (NaN if none)."""
    d = still_diffs(values, mask)
    return np.array([robust_std(d[:, e]) for e in range(d.shape[1])])


def lag_frames(raw: np.ndarray, smoothed: np.ndarray, max_lag: float = 8.0, step: float = 0.25) -> float:
    """Effective delay (frames) of `smoothed` behind `raw`: the shift k minimising the mean
    squared difference between smoothed[n] and raw at time n - k (linear interpolation)."""
    n = np.arange(len(raw), dtype=np.float64)
    lo = int(np.ceil(max_lag))
    if len(raw) <= lo + 2 or np.std(raw) == 0:
        return 0.0
    best, best_err = 0.0, np.inf
    for k in np.arange(0.0, max_lag + 1e-9, step):
        shifted = np.interp(n[lo:] - k, n, raw)
        err = float(np.mean((smoothed[lo:] - shifted) ** 2))
        if err < best_err:
            best, best_err = float(k), err
    return best
