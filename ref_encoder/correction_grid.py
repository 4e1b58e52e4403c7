"""The encoder's choice of the correction elements (informative; spec 1.2 draft, Table 3e and
clause 8.6.2, which the decoder applies): for each semantic frame, where the picture the decoder
will draw lies against the source, pooled to the 4 x 4 grid and kept only where it pays.

1. Synthesis: the decoder mirror draws the frame from the frame's reconstructed levels and the
   references a decoder holds (what the refresh check draws too).
2. Measure: the dense optical flow F from the source to that picture (OpenCV DIS, fast preset,
   on grey), so that source(x) ~ drawn(x + F(x)); its cell means (INTER_AREA) start the fit.
   The flow is noisy where the pictures are flat, and a cell mean is not what the decoder's
   bilinear field between the cell centres makes of the grid, so the grid is then fitted to the
   pictures themselves: Gauss-Newton steps on the squared error of the corrected picture
   against the source (all three colour planes), through the very field of 8.6.2 with bilinear
   samples standing for step 3's clamped bicubic ones (a step is kept only if it lowers that
   error). The result is rounded to the elements' levels (a level
   of corr_dx at precision p is 2^-p picture widths).
3. Hold: the new levels are coded only when their squared-error gain over the previous
   frame's levels (the residuals 0 that sf_group_flag 0 codes) exceeds lambda times their extra
   bits (signed Exp-Golomb lengths of the residuals, beyond one bit each), lambda being VTM's
   intra Lagrange multiplier at the key frames' QP, the rate-distortion trade of the key frame
   that the grid complements.

Measured before it was built (docs/results/correction_grid_2026-12-06): on the test split at
key-frame QP 32 this choice gave LPIPS-VGG 0.2243 -> 0.2106 and PSNR-RGB +1.35 dB for
1.6 kbit/s; at QPs above 32 its bits cost more than a finer key frame (auto: on up to 32).
The fit of step 2: docs/results/correction_fit_2026-12-06.
"""
from __future__ import annotations

import math
import threading
from functools import lru_cache

import cv2
import numpy as np

from bitstream.structures import SequenceHeader
from ifvc_synthesis.correction_grid import GRID, CorrectionLayout, apply_grids, dense_field, sample_grid

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


# the flow only starts the fit: the fast preset (1.7 ms a frame against medium's 5.2) ends
# at the same fitted error (docs/results/correction_fit_2026-12-06)
FLOW_PRESET = cv2.DISOPTICAL_FLOW_PRESET_FAST
FIT_STEPS = 2         # Gauss-Newton steps of the fit (a third gains little: correction_fit_2026-12-06)
FIT_SCALE = 2         # the fit runs on pictures reduced by this factor
FIT_DAMPING = 1e-3    # Levenberg damping, a share of the normal matrix's mean diagonal


@lru_cache(maxsize=4)
def axis_weights(size: int) -> np.ndarray:
    """size x GRID: the weight of each cell centre at each sample along one axis in the field of
    8.6.2 (INTER_LINEAR of GRID values to size samples), float64, read-only. The field is the
    outer product of the two axes' weights: field(y, x) = sum by[y, row] bx[x, col] grid[row, col]."""
    w = np.stack([cv2.resize(np.eye(GRID, dtype=np.float32)[k:k + 1], (size, 1),
                             interpolation=cv2.INTER_LINEAR)[0] for k in range(GRID)], 1).astype(np.float64)
    w.flags.writeable = False
    return w


@lru_cache(maxsize=4)
def _axis_pairs(size: int) -> np.ndarray:
    """size x GRID^2: the products of two cell centres' weights along one axis, read-only."""
    w = axis_weights(size)
    pairs = np.einsum("xa,xc->xac", w, w).reshape(size, GRID * GRID)
    pairs.flags.writeable = False
    return pairs


def normal_block(weight: np.ndarray) -> np.ndarray:
    """sum over samples of weight (H x W) * B_i * B_j for the cell-centre bases B_k (k = GRID *
    row + col): GRID^2 x GRID^2, through the separable weights (einsum: no BLAS, so the sums do
    not depend on the thread count)."""
    h, w = weight.shape
    m = np.einsum("yk,yl->kl", _axis_pairs(h), np.einsum("yx,xl->yl", weight, _axis_pairs(w)))
    # m[(b, d), (a, c)] -> [(b, a), (d, c)]
    return m.reshape(GRID, GRID, GRID, GRID).transpose(0, 2, 1, 3).reshape(GRID * GRID, GRID * GRID)


def sample(picture: np.ndarray, displacement: np.ndarray) -> np.ndarray:
    """A float32 picture sampled at x + displacement(x), bilinear, edges replicated, unrounded:
    the fit's model of 8.6.2 step 3 (whose clamped bicubic kernel the fit's reduced pictures and
    Sobel gradients do not need; the choice of step 3 is judged with the decoder's own kernel,
    apply_grids)."""
    gx, gy = sample_grid(*picture.shape[:2])
    return cv2.remap(picture, gx + displacement[..., 0], gy + displacement[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def fit_grid(source: np.ndarray, drawn: np.ndarray, start: np.ndarray, steps: int = FIT_STEPS,
             scale: int = FIT_SCALE) -> np.ndarray:
    """Step 2, the fit: the GRID x GRID x 2 grid (pixels) from ``start`` by Gauss-Newton steps on
    the squared error between the source and the drawn picture resampled by the grid's field
    (8.6.2, unrounded), both pictures reduced by ``scale`` (area means) for speed. A step that
    does not lower the error is undone and ends the fit."""
    full_h, full_w = drawn.shape[:2]
    h, w = max(full_h // scale, 1), max(full_w // scale, 1)
    to_small = np.array([w / full_w, h / full_h])       # pixels of the full picture -> reduced
    bx, by = axis_weights(w), axis_weights(h)
    target = cv2.resize(source, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
    picture = cv2.resize(drawn, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
    grid = np.asarray(start, np.float64).reshape(GRID * GRID, 2) * to_small
    kept, best = grid, math.inf
    for step in range(steps + 1):
        warped = sample(picture, dense_field(grid.reshape(GRID, GRID, 2), w, h))
        error = float(np.square(warped - target).sum(dtype=np.float64))
        if error >= best:
            break
        kept, best = grid, error
        if step == steps:
            break
        residual = warped - target
        dx = cv2.Sobel(warped, cv2.CV_32F, 1, 0, ksize=3, scale=0.125)
        dy = cv2.Sobel(warped, cv2.CV_32F, 0, 1, ksize=3, scale=0.125)
        # per sample, summed over the colour planes (float32 is plenty for a step's direction)
        xx, xy, yy, rx, ry = (np.einsum("yxc,yxc->yx", a, b).astype(np.float64)
                              for a, b in ((dx, dx), (dx, dy), (dy, dy), (dx, residual), (dy, residual)))
        cross = normal_block(xy)
        normal = np.block([[normal_block(xx), cross], [cross.T, normal_block(yy)]])
        normal += np.eye(2 * GRID * GRID) * FIT_DAMPING * np.trace(normal) / (2 * GRID * GRID)
        gradient = np.concatenate([np.einsum("yb,ya->ba", by, np.einsum("yx,xa->ya", r, bx)).reshape(-1)
                                   for r in (rx, ry)])
        delta = np.linalg.solve(normal, -gradient)
        grid = grid + np.stack([delta[:GRID * GRID], delta[GRID * GRID:]], 1)
    return (kept / to_small).reshape(GRID, GRID, 2).astype(np.float32)


class CorrectionChooser:
    """The correction levels of each semantic frame of one stream (steps 2 and 3)."""

    def __init__(self, sh: SequenceHeader, keyframe_qp: int) -> None:
        self.layout = CorrectionLayout(sh)
        if not self.layout.present:
            raise ValueError("the sequence header signals no correction element (Table 3e)")
        self.sh = sh
        self.lam = vvc_lambda(keyframe_qp)
        # DIS gives the same flow for any OpenCV thread count (medium: checked with 1, 2 and 4
        # threads; fast: a 40-frame encode identical on 1 and 2 OpenCV and OpenBLAS threads);
        # one DIS object per thread (the encoder's, and a worker process's: draw_worker.py)
        self._flows = threading.local()
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

    def _flow(self) -> cv2.DISOpticalFlow:
        flow = getattr(self._flows, "dis", None)
        if flow is None:
            flow = self._flows.dis = cv2.DISOpticalFlow_create(FLOW_PRESET)
        return flow

    def propose(self, source: np.ndarray, drawn: np.ndarray) -> list[tuple[int, int]]:
        """Step 2: (index in the header, level) of each signalled correction element fitted to
        the source on the generator's picture drawn; it does not depend on the previous frame,
        so it may run ahead in a worker process (draw_ahead.py)."""
        start = pooled_flow(source_flow(source, drawn, self._flow()))
        return self._grid_levels(fit_grid(source, drawn, start))

    def choose(self, source: np.ndarray, drawn: np.ndarray, levels: list[int], previous: list[int],
               proposal: list[tuple[int, int]] | None = None) -> list[int]:
        """The frame's levels with the correction elements chosen: levels are the frame's
        levels (the correction elements' entries are replaced), previous the previous frame's
        (the decoder's prediction, PrevLevel). drawn is the generator's picture of the frame;
        proposal, if given, is propose(source, drawn)."""
        self.frames += 1
        held = list(levels)
        indices = self.layout.indices
        for i in indices:
            held[i] = previous[i]
        new = list(held)
        for index, level in proposal if proposal is not None else self.propose(source, drawn):
            new[index] = level
        if new == held:
            return held
        target = source.astype(np.float32)
        sse = [float(np.square(p.astype(np.float32) - target).sum())
               for p in apply_grids(drawn, [self.layout.displacement(x) for x in (held, new)])]
        extra_bits = sum(se_bits(new[i] - held[i]) - 1 for i in indices)
        if sse[0] - sse[1] > self.lam * extra_bits:
            self.coded += 1
            return new
        return held
