"""head_loc (element 6) and the head translation it is derived from (Annex B.3, spec 8.6).

head_loc is the cell of a 4x4 grid over the picture that holds the face centre, raster order:
col = clip(floor(4 (head_tx + 1/2)), 0, 3), row = clip(floor(4 (head_ty + 1/2)), 0, 3),
head_loc = 4 row + col. head_tx and head_ty are authoritative: head_loc is redundant with
them, and an edit of head_loc moves the head by changing head_tx / head_ty (move_to_cell).
Cell boundaries are multiples of 1/4, so for dyadic values (level * 2**-p) every result
here is exact.
"""
from __future__ import annotations

import math

import numpy as np

GRID = 4                                    # cells per row and per column
NUM_CELLS = GRID * GRID


def _grid_index(t: float) -> int:
    """Column (from head_tx) or row (from head_ty) before clipping: may lie outside 0..3."""
    return math.floor(GRID * (t + 0.5))


def head_loc_cell(head_tx: float, head_ty: float) -> int:
    """The head_loc of a translation (Annex B.3)."""
    col = min(max(_grid_index(head_tx), 0), GRID - 1)
    row = min(max(_grid_index(head_ty), 0), GRID - 1)
    return GRID * row + col


def head_loc_cell_from_levels(level_tx: int, precision_tx: int, level_ty: int, precision_ty: int) -> int:
    """head_loc_cell of the values level * 2**-p of head_tx and head_ty, with integers only
    (spec 8.3.4): floor( 4 * ( L / 2**p + 1/2 ) ) = ( 4 * L + 2**(p + 1) ) >> p."""
    col = min(max((4 * level_tx + (2 << precision_tx)) >> precision_tx, 0), GRID - 1)
    row = min(max((4 * level_ty + (2 << precision_ty)) >> precision_ty, 0), GRID - 1)
    return GRID * row + col


def head_loc_from_position(tx: np.ndarray, ty: np.ndarray) -> np.ndarray:
    """head_loc_cell for arrays of head_tx / head_ty (float results, as the analysis stores)."""
    col = np.clip(np.floor(GRID * (np.asarray(tx) + 0.5)), 0, GRID - 1)
    row = np.clip(np.floor(GRID * (np.asarray(ty) + 0.5)), 0, GRID - 1)
    return GRID * row + col


def _move_axis(t: float, target: int) -> float:
    u = _grid_index(t)
    if 0 <= u < GRID:                       # inside the grid: shift by whole cells
        return t + (target - u) / GRID
    return (2 * target + 1 - GRID) / (2 * GRID)   # outside: the target cell's centre line


def move_to_cell(head_tx: float, head_ty: float, cell: int) -> tuple[float, float]:
    """The translation after an edit puts the head in ``cell`` (spec 8.6): on each axis the
    head moves by whole cells, from the cell it is in to the target cell, so its motion
    inside the cell is kept (a move to the cell it is already in changes nothing); on an
    axis where the face centre lies outside the grid (|head_tx| or |head_ty| >= 1/2) it goes
    to the centre line of the target cell."""
    if not 0 <= cell < NUM_CELLS:
        raise ValueError(f"head_loc cell {cell} is not in 0..{NUM_CELLS - 1}")
    row, col = divmod(cell, GRID)
    return _move_axis(head_tx, col), _move_axis(head_ty, row)
