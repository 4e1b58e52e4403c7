"""The encoder's choice of the correction elements (informative; spec 1.2 draft, Table 3e and
clause 8.6.2, which the decoder applies): for each semantic frame, where the picture the decoder
will draw lies against the source, pooled to the 4 x 4 grid and kept only where it pays.

1. Synthesis: the decoder mirror draws the frame from the frame's reconstructed levels and the
   references a decoder holds (what the refresh check draws too).
2. Measure: the dense optical flow F from the source to that picture (OpenCV DIS, medium preset,
   on grey), so that source(x) ~ drawn(x + F(x)); its cell means (INTER_AREA) are the wanted
   displacements, rounded to the elements' levels (a level of corr_dx at precision p is
   2^-p picture widths).
3. Hold: the new levels are coded only when their squared-error gain over the previous
   frame's levels (the residuals 0 that sf_group_flag 0 codes) exceeds lambda times their extra
   bits (signed Exp-Golomb lengths of the residuals, beyond one bit each), lambda being VTM's
   intra Lagrange multiplier at the key frames' QP, the rate-distortion trade of the key frame
   that the grid complements.

Measured before it was built (docs/results/correction_grid_2026-12-06): on the test split at
key-frame QP 32 this choice gave LPIPS-VGG 0.2243 -> 0.2106 and PSNR-RGB +1.35 dB for
1.6 kbit/s; at QPs above 32 its bits cost more than a finer key frame (auto: on up to 32).
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from bitstream.structures import SequenceHeader
from ifvc_synthesis.correction_grid import GRID, CorrectionLayout, apply_grid

CORRECTION_AUTO_MAX_QP = 32      # --correction-grid auto: on at key-frame QPs up to this


def resolve_correction(setting: str | bool, keyframe_qp: int, compact: bool = True) -> bool:
    """Whether ``--correction-grid`` signals the correction elements: off / on (on in the Main
    profile is refused with the element set), or auto (on in the Compact profile at key-frame
    QPs up to CORRECTION_AUTO_MAX_QP); ValueError for anything else."""
    if setting is True or setting == "on":
        return True
    if setting is False or setting == "off":
        return False
    if setting == "auto":
        return compact and keyframe_qp <= CORRECTION_AUTO_MAX_QP
    raise ValueError(f"correction grid {setting!r}: use off, on or auto")


def vvc_lambda(qp: int) -> float:
    """The Lagrange multiplier of VTM's intra RD decisions (SSE per bit) at this QP."""
    return 0.57 * 2.0 ** ((qp - 12) / 3.0)


def se_bits(value: int) -> int:
    """Length of se(v) (signed Exp-Golomb, clause 9.2)."""
    code = 2 * abs(value) - (1 if value > 0 else 0)
    return 2 * int(math.floor(math.log2(code + 1))) + 1


def source_flow(source: np.ndarray, drawn: np.ndarray, flow: cv2.DISOpticalFlow) -> np.ndarray:
    """Step 2: F with source(x) ~ drawn(x + F(x)), H x W x 2 float32 (pixels)."""
    return flow.calc(cv2.cvtColor(source, cv2.COLOR_RGB2GRAY), cv2.cvtColor(drawn, cv2.COLOR_RGB2GRAY), None)


def pooled_flow(dense: np.ndarray) -> np.ndarray:
    """Step 2: the flow's GRID x GRID x 2 cell means (pixels)."""
    return cv2.resize(dense, (GRID, GRID), interpolation=cv2.INTER_AREA)


class CorrectionChooser:
    """The correction levels of each semantic frame of one stream (steps 2 and 3)."""

    def __init__(self, sh: SequenceHeader, keyframe_qp: int) -> None:
        self.layout = CorrectionLayout(sh)
        if not self.layout.present:
            raise ValueError("the sequence header signals no correction element (Table 3e)")
        self.sh = sh
        self.lam = vvc_lambda(keyframe_qp)
        # DIS gives the same flow for any OpenCV thread count (checked with 1, 2 and 4 threads)
        self.flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        self.frames = 0           # frames measured
        self.coded = 0            # frames whose levels changed (not held)
        self.seconds = 0.0        # wall-clock time drawing, measuring and choosing (benchmarks)

    def _grid_levels(self, pooled: np.ndarray) -> list[tuple[int, int]]:
        """(index in the header, level) of each signalled correction element for displacements
        in pixels (GRID x GRID x 2), rounded and clipped to the element's level range."""
        flat = pooled.reshape(GRID * GRID, 2)
        out = []
        for i, k, axis, size, p in self.layout.signalled:
            lo, hi = self.sh.level_bounds(i)
            level = int(np.rint(float(flat[k, axis]) * (1 << p) / size))
            out.append((i, min(max(level, lo), hi)))
        return out

    def choose(self, source: np.ndarray, drawn: np.ndarray, levels: list[int], previous: list[int]) -> list[int]:
        """The frame's levels with the correction elements chosen: levels are the frame's
        levels (the correction elements' entries are replaced), previous the previous frame's
        (the decoder's prediction, PrevLevel). drawn is the generator's picture of the frame."""
        self.frames += 1
        held = list(levels)
        indices = self.layout.indices
        for i in indices:
            held[i] = previous[i]
        new = list(held)
        for index, level in self._grid_levels(pooled_flow(source_flow(source, drawn, self.flow))):
            new[index] = level
        if new == held:
            return held
        target = source.astype(np.float32)
        sse = [float(np.square(apply_grid(drawn, self.layout.displacement(x)).astype(np.float32) - target).sum())
               for x in (held, new)]
        extra_bits = sum(se_bits(new[i] - held[i]) - 1 for i in indices)
        if sse[0] - sse[1] > self.lam * extra_bits:
            self.coded += 1
            return new
        return held
