"""Small vector and matrix arithmetic in a fixed evaluation order.

numpy's matrix products (`@`, `dot`, 1-D `np.linalg.norm`) and its linear solvers go
through BLAS/LAPACK, whose kernels differ by processor (OPENBLAS_CORETYPE) and may fuse a
multiply and an add (FMA) or sum in another order, so the last bit of a result depends on
the machine. The geometry that decides where a key-frame landmark lies (Annex E.2.3) and
that the generators warp with is computed here instead, one IEEE-754 operation at a time,
in the order written: the same result on every processor and for every thread count.
"""
from __future__ import annotations

import numpy as np


def rows_times(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """points @ matrix for points (..., 3) and a 3 x 3 matrix: each output component is
    p0 m0j + p1 m1j + p2 m2j, summed left to right."""
    p = np.asarray(points, np.float64)
    m = np.asarray(matrix, np.float64)
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    return np.stack([x * m[0, j] + y * m[1, j] + z * m[2, j] for j in range(3)], axis=-1)


def matmul3(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b of two 3 x 3 matrices (rows of a times b, as rows_times)."""
    return rows_times(a, b)


def norm3(v: np.ndarray) -> np.ndarray | float:
    """Euclidean length of 3-vectors along the last axis: sqrt(x^2 + y^2 + z^2), left to right.
    A float for one vector, an array for several."""
    v = np.asarray(v, np.float64)
    length = np.sqrt(v[..., 0] * v[..., 0] + v[..., 1] * v[..., 1] + v[..., 2] * v[..., 2])
    return float(length) if length.ndim == 0 else length


def norm2(v: np.ndarray) -> np.ndarray | float:
    """Euclidean length of 2-vectors along the last axis: sqrt(x^2 + y^2)."""
    v = np.asarray(v, np.float64)
    length = np.sqrt(v[..., 0] * v[..., 0] + v[..., 1] * v[..., 1])
    return float(length) if length.ndim == 0 else length
