"""Causal temporal smoothing for low-delay analysis: the One-Euro filter (Casiez et al., CHI 2012).

A first-order low-pass whose cut-off rises with the signal's speed: still segments get a
low cut-off (little jitter), fast motion a high one (little lag). Each output depends only on
the current and past inputs, so it adds no frame of delay to the encoder.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _alpha(cutoff_hz: np.ndarray, rate_hz: float) -> np.ndarray:
    tau = 1.0 / (2.0 * np.pi * cutoff_hz)
    return 1.0 / (1.0 + tau * rate_hz)


@dataclass(frozen=True)
class OneEuroParams:
    min_cutoff: np.ndarray    # Hz, per element: cut-off at rest
    beta: np.ndarray          # per element: cut-off increase per (element unit / s) of speed
    d_cutoff: float = 1.0     # Hz, cut-off of the speed estimate


class OneEuroFilter:
    """Vectorised One-Euro filter over the element vector; call once per frame."""

    def __init__(self, params: OneEuroParams, rate_hz: float = 25.0) -> None:
        self.p = params
        self.rate = rate_hz
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self._x is None:
            self._x, self._dx = x.copy(), np.zeros_like(x)
            return x.copy()
        dx = (x - self._x) * self.rate
        a_d = _alpha(np.asarray(self.p.d_cutoff), self.rate)
        self._dx = self._dx + a_d * (dx - self._dx)
        cutoff = self.p.min_cutoff + self.p.beta * np.abs(self._dx)
        self._x = self._x + _alpha(cutoff, self.rate) * (x - self._x)
        return self._x.copy()


def smooth_sequence(values: np.ndarray, params: OneEuroParams, rate_hz: float = 25.0) -> np.ndarray:
    """Apply the causal filter along axis 0 of an N x E array."""
    f = OneEuroFilter(params, rate_hz)
    return np.stack([f(v) for v in values]) if len(values) else values.copy()
