"""The correction stage of synthesis (spec 1.2 draft, clause 8.6.2): the decoder resamples the
generator's picture by the displacement field of the correction elements (Table 3e), so that
what the generator drew a few pixels off lands where the encoder saw it in the source.

Shared by the decoder (which applies it) and the encoder (which chooses the levels by looking at
the pictures it gives): both run exactly these functions.

The field: the 4 x 4 grid's displacements are control points at the cell centres; a sample at
picture position (x, y) takes the bilinear interpolation of the four nearest centres, the
position clamped to the outer centres (OpenCV's INTER_LINEAR resize of the grid to the picture
size). The picture is then sampled at (x + dx, y + dy) with the clamped bicubic kernel of Annex
H.8 (key_sampling.KeySampler: cubic convolution, a = -0.75, held within the range of the 5 x 5
samples around the nearest one), edge samples replicated, in float32 like the generators' warps.
Bilinear samples (the rule until 2026-12-07) blur the whole picture once more after the
generator's own warp: on the test split at key-frame QP 32 the bicubic rule scored DISTS
0.1307 -> 0.1269 and LPIPS-Alex 0.1133 -> 0.1073 with the same levels
(docs/results/correction_kernel_2026-12-07).
"""
from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from bitstream.semantic_elements import (CORRECTION_DX_FIRST_ID, CORRECTION_DY_FIRST_ID,
                                         CORRECTION_GRID_SIZE)
from bitstream.structures import SequenceHeader

from .key_sampling import KeySampler

GRID = CORRECTION_GRID_SIZE


class CorrectionLayout:
    """Where a header's correction elements are (8.6.2): for each signalled one, its index in
    sh_sem_element_id, its cell k, its axis (0: corr_dx, 1: corr_dy), the picture size along
    that axis and its precision."""
    __slots__ = ("signalled",)

    def __init__(self, sh: SequenceHeader) -> None:
        position = {eid: i for i, eid in enumerate(sh.sh_sem_element_id)}
        self.signalled: list[tuple[int, int, int, int, int]] = []
        for axis, first, size in ((0, CORRECTION_DX_FIRST_ID, sh.sh_pic_width),
                                  (1, CORRECTION_DY_FIRST_ID, sh.sh_pic_height)):
            for k in range(GRID * GRID):
                i = position.get(first + k)
                if i is not None:
                    self.signalled.append((i, k, axis, size, sh.sh_sem_precision[i]))

    @property
    def present(self) -> bool:
        """Whether the stream signals any correction element."""
        return bool(self.signalled)

    @property
    def indices(self) -> list[int]:
        """The header indices of the signalled correction elements."""
        return [i for i, *_ in self.signalled]

    def displacement(self, levels: list[int]) -> np.ndarray:
        """The grid's displacements in pixels, GRID x GRID x 2 (x, y), float32: a level of
        corr_dx[ k ] at precision p moves by level * 2^-p picture widths (8.6.2); an element
        that is not signalled is 0."""
        grid = np.zeros((GRID * GRID, 2), np.float64)
        for i, k, axis, size, p in self.signalled:
            grid[k, axis] = levels[i] * size / (1 << p)
        return grid.reshape(GRID, GRID, 2).astype(np.float32)


def dense_field(grid: np.ndarray, width: int, height: int) -> np.ndarray:
    """The grid's displacements (GRID x GRID x 2, pixels) at every sample: height x width x 2."""
    return cv2.resize(np.ascontiguousarray(grid, np.float32), (width, height), interpolation=cv2.INTER_LINEAR)


@lru_cache(maxsize=4)
def sample_grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Every sample's x and y (float32, read-only): the identity map, to which a displacement
    field is added."""
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    gx.flags.writeable = gy.flags.writeable = False
    return gx, gy


def apply_grids(picture: np.ndarray, grids: list[np.ndarray]) -> list[np.ndarray]:
    """The corrected pictures (8.6.2 step 3) of one picture (H x W x 3 uint8) for several grids of
    displacements (pixels): sampled at x + D(x) with Annex H.8's clamped bicubic kernel, edges
    replicated, rounded (halves to even); a zero grid leaves the picture as is. One sampler serves
    every grid (the encoder's choice compares two grids on each frame)."""
    h, w = picture.shape[:2]
    gx, gy = sample_grid(h, w)
    sampler: KeySampler | None = None
    out = []
    for grid in grids:
        if not np.any(grid):
            out.append(picture)
            continue
        if sampler is None:
            sampler = KeySampler(picture.astype(np.float32), cv2.INTER_CUBIC)
        d = dense_field(grid, w, h)
        moved = sampler.sample(gx + d[..., 0], gy + d[..., 1], cv2.BORDER_REPLICATE)
        # the clamp holds every sample within its 5 x 5 samples' range, so within 0..255: no clip
        out.append(np.rint(moved, out=moved).astype(np.uint8))
    return out


def apply_grid(picture: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """The corrected picture for a grid of displacements (pixels); a zero grid leaves it as is."""
    return apply_grids(picture, [grid])[0]


def apply_correction(picture: np.ndarray, layout: CorrectionLayout, levels: list[int]) -> np.ndarray:
    """Clause 8.6.2: the generator's picture of a semantic or inferred frame, corrected by the
    frame's levels of the correction elements."""
    return apply_grid(picture, layout.displacement(levels))
