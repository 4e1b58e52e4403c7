"""BD-rate with the `bjontegaard` package, plus the checks JVET practice asks for.

bjontegaard.bd_rate(rate_anchor, dist_anchor, rate_test, dist_test, method) interpolates
log10(rate) as a function of quality (here PCHIP) and integrates both curves over the
quality interval they share. It needs the quality strictly increasing along each curve, and
it silently extrapolates nothing: outside the shared interval the curves are not compared.
This wrapper sorts the points, refuses what cannot be interpolated, and warns when the
curves share too little of the anchor's quality range or of its log-rate range (a BD-rate
over a sliver of the anchor's curve says little), or when a curve is not monotonic.
Quality must be "higher is better": pass PSNR, 1 - LPIPS, 1 - DISTS.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import bjontegaard
import numpy as np


@dataclass
class BDResult:
    value: float                      # percent; negative = the test needs fewer bits; NaN if none
    quality_overlap: float            # shared quality interval / anchor's quality range
    rate_overlap: float               # shared log-rate interval / anchor's log-rate range
    warnings: list[str] = field(default_factory=list)


def _overlap(anchor: np.ndarray, test: np.ndarray) -> float:
    span = anchor.max() - anchor.min()
    shared = min(anchor.max(), test.max()) - max(anchor.min(), test.min())
    if span <= 0:
        return 0.0
    return max(shared, 0.0) / span


def bd_rate(anchor_rate: Sequence[float], anchor_quality: Sequence[float],
            test_rate: Sequence[float], test_quality: Sequence[float], *,
            method: str = "pchip", min_overlap: float = 0.5) -> BDResult:
    """BD-rate of the test curve against the anchor curve, in percent."""
    curves = []
    for name, rate, quality in (("anchor", anchor_rate, anchor_quality),
                                ("test", test_rate, test_quality)):
        rate_array = np.asarray(rate, dtype=np.float64)
        quality_array = np.asarray(quality, dtype=np.float64)
        if rate_array.shape != quality_array.shape or rate_array.ndim != 1:
            raise ValueError(f"{name}: rates and qualities must be two lists of the same length")
        if rate_array.size < 2:
            return BDResult(math.nan, 0.0, 0.0, [(f"{name} curve has {rate_array.size} point(s); "
                                                 "BD-rate needs at least 2")])
        if not (np.all(np.isfinite(rate_array)) and np.all(np.isfinite(quality_array))):
            return BDResult(math.nan, 0.0, 0.0, [f"{name} curve has a missing (NaN) point"])
        if np.any(rate_array <= 0):
            raise ValueError(f"{name}: rates must be positive")
        order = np.argsort(quality_array, kind="stable")
        curves.append((rate_array[order], quality_array[order]))
    (rate_a, quality_a), (rate_t, quality_t) = curves
    notes: list[str] = []
    quality_overlap = _overlap(quality_a, quality_t)
    rate_overlap = _overlap(np.log10(rate_a), np.log10(rate_t))
    for name, rate, quality in (("anchor", rate_a, quality_a), ("test", rate_t, quality_t)):
        if np.any(np.diff(quality) == 0):
            return BDResult(math.nan, quality_overlap, rate_overlap,
                            [f"{name} curve has two points of equal quality; cannot interpolate"])
        if np.any(np.diff(rate) <= 0):
            notes.append(f"{name} curve is not monotonic (more rate, not more quality)")
    if quality_overlap == 0:
        notes.append(f"no quality overlap (anchor {quality_a.min():.4g}..{quality_a.max():.4g}, "
                     f"test {quality_t.min():.4g}..{quality_t.max():.4g}): BD-rate undefined")
        return BDResult(math.nan, quality_overlap, rate_overlap, notes)
    if quality_overlap < min_overlap:
        notes.append(f"quality ranges overlap on {100 * quality_overlap:.0f}% of the anchor's "
                     f"range (< {100 * min_overlap:.0f}%): BD-rate rests on part of the curve")
    if rate_overlap < min_overlap:
        notes.append(f"log-rate ranges overlap on {100 * rate_overlap:.0f}% of the anchor's "
                     f"range (< {100 * min_overlap:.0f}%): the curves code different rates")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # our own overlap checks replace the package's
        value = float(bjontegaard.bd_rate(rate_a, quality_a, rate_t, quality_t, method,
                                          require_matching_points=False, min_overlap=0))
    return BDResult(value, quality_overlap, rate_overlap, notes)
