"""A deterministic z-buffered triangle rasteriser in numpy (spec Annex H.3, informative).

Used by the mesh generator ifvc-geometric-3 (geometric_3.py) to find, for every output
pixel, the nearest triangle of a projected mesh and the pixel's barycentric coordinates in
it. Everything that decides coverage and visibility is integer arithmetic:

- vertex positions and depths are rounded to 1/16 pixel (SUBPIXEL_BITS) into int64;
- a pixel (i, j) (centre at x = i, y = j) is inside a triangle when its three edge functions
  have the sign of the triangle's doubled area, zero included (shared edges belong to both:
  the depth test decides);
- its depth is floor((w0 z0 + w1 z1 + w2 z2) / area) in 1/16 pixel, exact integers;
- the z-buffer keeps, per pixel, the maximum of depth * 2^16 + (2^16 - 1 - triangle index):
  the nearer triangle (larger z: towards the viewer) wins, equal depths go to the lower
  triangle index. numpy's maximum.at gives the same result in any order, so the winner does
  not depend on the enumeration, the chunking or the thread count.

Barycentric coordinates of the winners are the float64 quotients of those exact integers.

How the reference gets there fast: on one row of a triangle's bounding box the three edge
functions and the depth numerator are linear in the column, so each (triangle, row) record
gets its exact span of inside pixels by an integer floor division per edge, and a pixel of
the span costs a multiply-add and the depth's floor division. The products are the clause's
rewritten in the same integers (modulo 2^64, as numpy's int64), so every key, weight and
depth is the clause's bit for bit (tests/test_mesh_generator.py checks it pixel by pixel).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SUBPIXEL_BITS = 4
ONE = 1 << SUBPIXEL_BITS
TRI_BITS = 16                       # at most 65535 triangles per call
MAX_TRIANGLES = (1 << TRI_BITS) - 1
CHUNK_ENTRIES = 1 << 20             # (triangle, pixel) candidates evaluated at a time (bounds memory)
EMPTY = np.iinfo(np.int64).min
COORD_LIMIT = 1 << 20               # fixed-point coordinates are clipped to +-2^20 (64 k pixels)


@dataclass
class Raster:
    """The z-buffer's result for one mesh (Annex H.3)."""
    tri: np.ndarray       # (H, W) int32: the visible triangle's index, -1 where none covers
    bary: np.ndarray      # (H, W, 3) float64: barycentric weights of its corners (0 where none)
    depth: np.ndarray     # (H, W) float64: interpolated depth in pixels (-inf where none)

    @property
    def covered(self) -> np.ndarray:
        return self.tri >= 0


def to_fixed(values: np.ndarray) -> np.ndarray:
    """Round to 1/16 pixel (half up), as int64, clipped to +-COORD_LIMIT."""
    q = np.floor(np.asarray(values, np.float64) * ONE + 0.5)
    return np.clip(np.nan_to_num(q, nan=0.0), -COORD_LIMIT, COORD_LIMIT).astype(np.int64)


def _edge_coefficients(ax, ay, bx, by, cx, cy):  # type: ignore[no-untyped-def]
    """Per triangle, the three edge functions of H.3 step 2 as affine functions of the pixel
    indices (i, j), P = (16 i, 16 j): w_e = kx_e i + ky_e j + k0_e, as three (kx, ky, k0)
    triples; w_e = (q_x - p_x)(P_y - p_y) - (q_y - p_y)(P_x - p_x) over the edge p -> q
    (b -> c, c -> a, a -> b) expanded in the same integers."""
    out = []
    for (px_, py_), (qx, qy) in (((bx, by), (cx, cy)), ((cx, cy), (ax, ay)), ((ax, ay), (bx, by))):
        # w = (qx - px)(Py - py) - (qy - py)(Px - px)
        out.append((-(qy - py_) * ONE, (qx - px_) * ONE, (qy - py_) * px_ - (qx - px_) * py_))
    return out


def _row_spans(t: np.ndarray, j: np.ndarray, oriented, x0: np.ndarray, x1: np.ndarray):  # type: ignore[no-untyped-def]
    """The inside pixels [lo, hi] of triangle t on row j, exactly: on a row each oriented edge
    function sign(A) w_e = a i + b is linear in i, so it bounds i from one side by an integer
    floor division; with the bounding box, the columns whose three are >= 0. Also returns a, b
    of each edge on the row."""
    lo, hi = x0[t], x1[t] - 1
    rows = []
    for kx, ky, k0 in oriented:
        a, b = kx[t], ky[t] * j + k0[t]
        rows.append((a, b))
        pos, neg = a > 0, a < 0
        safe = np.where(a == 0, 1, a)
        lo = np.where(pos, np.maximum(lo, -(b // safe)), lo)      # a i + b >= 0  <=>  i >= ceil(-b / a)
        hi = np.where(neg, np.minimum(hi, b // -safe), hi)        # ... <=>  i <= floor(b / -a)
        hi = np.where((a == 0) & (b < 0), lo - 1, hi)             # the row is outside this edge
    return lo, hi, rows


def rasterize(points: np.ndarray, depth: np.ndarray, triangles: np.ndarray, width: int, height: int,
              enabled: np.ndarray | None = None) -> Raster:
    """Z-buffered rasterisation of triangles (T, 3) over vertices at points (V, 2) pixels with
    depth (V,) pixels (larger is nearer); enabled (T,) bool leaves triangles out (None: all).

    Each (triangle, row) pair of a bounding box gets its exact span of inside pixels; along
    the span the oriented edge functions and the depth numerator of H.3 steps 2-3 are linear
    in the column, so a pixel costs one multiply-add and one floor division. Integers wrap
    modulo 2^64 exactly as the clause's own products would, so the keys are the clause's."""
    tris = np.asarray(triangles, np.int64).reshape(-1, 3)
    if len(tris) > MAX_TRIANGLES:
        raise ValueError(f"at most {MAX_TRIANGLES} triangles, got {len(tris)}")
    P = to_fixed(points)
    Z = to_fixed(depth)
    ax, ay = P[tris[:, 0], 0], P[tris[:, 0], 1]
    bx, by = P[tris[:, 1], 0], P[tris[:, 1], 1]
    cx, cy = P[tris[:, 2], 0], P[tris[:, 2], 1]
    area = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
    sign = np.sign(area)
    oriented = [(kx * sign, ky * sign, k0 * sign) for kx, ky, k0 in _edge_coefficients(ax, ay, bx, by, cx, cy)]
    # whole-pixel bounding boxes (pixel centres i * ONE), clipped to the picture
    x0 = np.clip(-((-np.minimum(np.minimum(ax, bx), cx)) // ONE), 0, width)
    x1 = np.clip(np.maximum(np.maximum(ax, bx), cx) // ONE + 1, 0, width)
    y0 = np.clip(-((-np.minimum(np.minimum(ay, by), cy)) // ONE), 0, height)
    y1 = np.clip(np.maximum(np.maximum(ay, by), cy) // ONE + 1, 0, height)
    live = (area != 0) & (x1 > x0) & (y1 > y0)
    if enabled is not None:
        live &= np.asarray(enabled, bool)
    ids = np.flatnonzero(live)
    # one (triangle, row) record per bounding-box row, cut to its inside span
    heights = (y1 - y0)[ids]
    rt = np.repeat(ids, heights)
    ry = np.repeat(y0[ids], heights) + (np.arange(int(heights.sum()), dtype=np.int64)
                                        - np.repeat(np.cumsum(heights) - heights, heights))
    lo, hi, rows = _row_spans(rt, ry, oriented, x0, x1)
    keep = hi >= lo
    rt, ry, lo, counts = rt[keep], ry[keep], lo[keep], (hi - lo + 1)[keep]
    (a0, b0), (a1, b1), (a2, b2) = ((a[keep], b[keep]) for a, b in rows)
    za, zb, zc = Z[tris[rt, 0]], Z[tris[rt, 1]], Z[tris[rt, 2]]
    records = _Records(rt, ry * width, lo, counts, a0, b0, a1, b1,
                       dz_a=a0 * za + a1 * zb + a2 * zc, dz_b=b0 * za + b1 * zb + b2 * zc,
                       abs_area=np.abs(area)[rt])
    zbuf = np.full(height * width, EMPTY, np.int64)
    chunks = records.chunks()
    last = None
    for chunk in chunks:
        last = records.candidates(chunk)
        np.maximum.at(zbuf, last[1], last[2])
    tri = np.full(height * width, -1, np.int32)
    bary = np.zeros((height * width, 3), np.float64)
    depth_out = np.full(height * width, -np.inf, np.float64)
    for chunk in chunks:
        # the winners: each (triangle, pixel) pair is one candidate, so its key is unique
        rec, pix, key, col = last if len(chunks) == 1 else records.candidates(chunk)
        win = zbuf.take(pix) == key
        rec, pix, key, col = rec[win], pix[win], key[win], col[win]
        t = records.tri.take(rec)
        s = sign.take(t)
        # the clause's w_e (sign(A) times the records' oriented ones) over the signed A, so
        # that a zero weight keeps the sign of the clause's quotient (-0.0 where A < 0)
        w0 = (records.a0.take(rec) * col + records.b0.take(rec)) * s
        w1 = (records.a1.take(rec) * col + records.b1.take(rec)) * s
        area_t = area.take(t)
        ar = area_t.astype(np.float64)
        tri[pix] = t
        bary[pix, 0] = w0 / ar
        bary[pix, 1] = w1 / ar
        bary[pix, 2] = (area_t - w0 - w1) / ar          # w0 + w1 + w2 = A
        depth_out[pix] = (key >> TRI_BITS).astype(np.float64) / ONE
    return Raster(tri.reshape(height, width), bary.reshape(height, width, 3), depth_out.reshape(height, width))


@dataclass
class _Records:
    """(triangle, row) records of rasterize(): the row's first column lo and pixel count, and
    along the row the oriented edge functions a_e i + b_e (e = 0, 1) and the depth numerator
    dz_a i + dz_b of H.3 step 3 (sign(A) times the clause's)."""
    tri: np.ndarray
    row_base: np.ndarray      # j * width
    lo: np.ndarray
    counts: np.ndarray
    a0: np.ndarray
    b0: np.ndarray
    a1: np.ndarray
    b1: np.ndarray
    dz_a: np.ndarray
    dz_b: np.ndarray
    abs_area: np.ndarray

    def chunks(self) -> list[tuple[int, int]]:
        """Record ranges of whole rows, about CHUNK_ENTRIES candidate pixels each (bounds memory)."""
        ends = np.cumsum(self.counts)
        out, start = [], 0
        while start < len(self.counts):
            base = int(ends[start - 1]) if start > 0 else 0
            stop = max(int(np.searchsorted(ends, base + CHUNK_ENTRIES, side="right")), start + 1)
            out.append((start, stop))
            start = stop
        return out

    def candidates(self, chunk: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per inside pixel of the chunk's records: (record, flat pixel index, key, column)."""
        start, stop = chunk
        c = self.counts[start:stop]
        rec = np.repeat(np.arange(start, stop, dtype=np.int64), c)
        # the column: lo of the record plus the pixel's place in it
        col = np.arange(int(c.sum()), dtype=np.int64) - np.repeat(np.cumsum(c) - c - self.lo[start:stop], c)
        zq = (self.dz_a.take(rec) * col + self.dz_b.take(rec)) // self.abs_area.take(rec)
        key = (zq << TRI_BITS) + (MAX_TRIANGLES - self.tri.take(rec))
        return rec, self.row_base.take(rec) + col, key, col


def interpolate(raster: Raster, triangles: np.ndarray, attribute: np.ndarray,
                dtype: type = np.float64) -> np.ndarray:
    """(H, W, C): a per-vertex attribute (V, C) interpolated with the barycentric weights of
    the visible triangle, (b0 a0 + b1 a1) + b2 a2 in float64, stored as dtype (0 where no
    triangle covers)."""
    attr = np.asarray(attribute, np.float64)
    attr = attr[:, None] if attr.ndim == 1 else attr
    h, w = raster.tri.shape
    tris = np.asarray(triangles, np.int64)
    # the whole picture at once (the head and its shell cover most of it): uncovered pixels
    # take a sentinel triangle of zeros with their zero weights, so they come out 0 exactly;
    # one channel at a time keeps the gathers one-dimensional (the same products and sums)
    flat = raster.tri.reshape(-1)
    corner = np.where(flat >= 0, flat, len(tris))
    b = raster.bary.reshape(-1, 3)
    b0, b1, b2 = b[:, 0], b[:, 1], b[:, 2]
    out = np.empty((h * w, attr.shape[1]), dtype)
    for c in range(attr.shape[1]):
        at = np.zeros((len(tris) + 1, 3), np.float64)
        at[:-1] = attr[tris, c]
        g = at.take(corner, axis=0)
        out[:, c] = (b0 * g[:, 0] + b1 * g[:, 1]) + b2 * g[:, 2]
    return out.reshape(h, w, attr.shape[1])
