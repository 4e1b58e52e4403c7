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


def _edges(ax, ay, bx, by, cx, cy, px, py):  # type: ignore[no-untyped-def]
    """Edge functions (int64) of point p against the edges opposite a, b and c."""
    w0 = (cx - bx) * (py - by) - (cy - by) * (px - bx)
    w1 = (ax - cx) * (py - cy) - (ay - cy) * (px - cx)
    w2 = (bx - ax) * (py - ay) - (by - ay) * (px - ax)
    return w0, w1, w2


def _row_spans(t: np.ndarray, Y: np.ndarray, ax, ay, bx, by, cx, cy, area, x0, x1):  # type: ignore[no-untyped-def]
    """Candidate pixel columns [lo, hi] of triangle t on the row at fixed-point height Y: each
    edge function is linear in x on the row, so each edge bounds x on one side (computed in
    float and widened by one pixel: a superset of the inside pixels, never a decision)."""
    lo = x0[t].astype(np.float64)
    hi = (x1[t] - 1).astype(np.float64)
    s = np.sign(area[t]).astype(np.float64)
    for (px_, py_), (qx, qy) in (((bx, by), (cx, cy)), ((cx, cy), (ax, ay)), ((ax, ay), (bx, by))):
        # w(X) = (qx - px)(Y - py) - (qy - py)(X - px) = k X + c
        k = -(qy[t] - py_[t]).astype(np.float64) * s
        c = ((qx[t] - px_[t]) * (Y - py_[t]) + (qy[t] - py_[t]) * px_[t]).astype(np.float64) * s
        with np.errstate(divide="ignore", invalid="ignore"):
            bound = -c / k / ONE
        lo = np.where(k > 0, np.maximum(lo, np.floor(bound) - 1), lo)
        hi = np.where(k < 0, np.minimum(hi, np.ceil(bound) + 1), hi)
        hi = np.where((k == 0) & (c < 0), lo - 1, hi)           # the row is outside this edge
    return lo.astype(np.int64), hi.astype(np.int64)


def rasterize(points: np.ndarray, depth: np.ndarray, triangles: np.ndarray, width: int, height: int,
              enabled: np.ndarray | None = None) -> Raster:
    """Z-buffered rasterisation of triangles (T, 3) over vertices at points (V, 2) pixels with
    depth (V,) pixels (larger is nearer); enabled (T,) bool leaves triangles out (None: all)."""
    tris = np.asarray(triangles, np.int64).reshape(-1, 3)
    if len(tris) > MAX_TRIANGLES:
        raise ValueError(f"at most {MAX_TRIANGLES} triangles, got {len(tris)}")
    P = to_fixed(points)
    Z = to_fixed(depth)
    ax, ay = P[tris[:, 0], 0], P[tris[:, 0], 1]
    bx, by = P[tris[:, 1], 0], P[tris[:, 1], 1]
    cx, cy = P[tris[:, 2], 0], P[tris[:, 2], 1]
    area = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
    # whole-pixel bounding boxes (pixel centres i * ONE), clipped to the picture
    x0 = np.clip(-((-np.minimum(np.minimum(ax, bx), cx)) // ONE), 0, width)
    x1 = np.clip(np.maximum(np.maximum(ax, bx), cx) // ONE + 1, 0, width)
    y0 = np.clip(-((-np.minimum(np.minimum(ay, by), cy)) // ONE), 0, height)
    y1 = np.clip(np.maximum(np.maximum(ay, by), cy) // ONE + 1, 0, height)
    live = (area != 0) & (x1 > x0) & (y1 > y0)
    if enabled is not None:
        live &= np.asarray(enabled, bool)
    ids = np.flatnonzero(live)
    # one (triangle, row) pair per bounding-box row, with a candidate span that holds every
    # inside pixel of the row (float bounds widened by a pixel; the exact test decides)
    heights = (y1 - y0)[ids]
    rt = np.repeat(ids, heights)
    ry = np.repeat(y0[ids], heights) + (np.arange(int(heights.sum()), dtype=np.int64)
                                        - np.repeat(np.cumsum(heights) - heights, heights))
    lo, hi = _row_spans(rt, ry * ONE, ax, ay, bx, by, cx, cy, area, x0, x1)
    counts = np.maximum(hi - lo + 1, 0)
    keep = counts > 0
    rt, ry, lo, counts = rt[keep], ry[keep], lo[keep], counts[keep]
    zbuf = np.full(height * width, EMPTY, np.int64)
    sign = np.sign(area)
    za, zb, zc = Z[tris[:, 0]], Z[tris[:, 1]], Z[tris[:, 2]]     # per-triangle corner depths
    ends = np.cumsum(counts)
    start = 0
    while start < len(rt):                  # chunks of whole rows, about CHUNK_ENTRIES candidates
        base = ends[start - 1] if start > 0 else 0
        stop = max(int(np.searchsorted(ends, base + CHUNK_ENTRIES, side="right")), start + 1)
        c = counts[start:stop]
        t = np.repeat(rt[start:stop], c)
        py = np.repeat(ry[start:stop], c)
        px = np.repeat(lo[start:stop], c) + (np.arange(int(c.sum()), dtype=np.int64) - np.repeat(np.cumsum(c) - c, c))
        w0, w1, w2 = _edges(ax.take(t), ay.take(t), bx.take(t), by.take(t), cx.take(t), cy.take(t),
                            px * ONE, py * ONE)
        s = sign.take(t)
        inside = (w0 * s >= 0) & (w1 * s >= 0) & (w2 * s >= 0)
        t, px, py = t[inside], px[inside], py[inside]
        w0, w1, w2, s = w0[inside], w1[inside], w2[inside], s[inside]
        num = w0 * za.take(t) + w1 * zb.take(t) + w2 * zc.take(t)
        zq = (num * s) // (area.take(t) * s)
        key = (zq << TRI_BITS) + (MAX_TRIANGLES - t)
        np.maximum.at(zbuf, py * width + px, key)
        start = stop
    return _resolve(zbuf, tris, P, Z, area, width, height)


def _resolve(zbuf: np.ndarray, tris: np.ndarray, P: np.ndarray, Z: np.ndarray, area: np.ndarray,
             width: int, height: int) -> Raster:
    """Winners' triangle index, barycentric weights and depth from the z-buffer keys."""
    tri = np.full(height * width, -1, np.int32)
    bary = np.zeros((height * width, 3), np.float64)
    depth = np.full(height * width, -np.inf, np.float64)
    pix = np.flatnonzero(zbuf != EMPTY)
    if len(pix):
        key = zbuf.take(pix)
        t = MAX_TRIANGLES - (key & MAX_TRIANGLES)
        px, py = (pix % width) * ONE, (pix // width) * ONE
        corners = tris.take(t, axis=0)
        x, y = np.ascontiguousarray(P[:, 0]), np.ascontiguousarray(P[:, 1])
        a, b, c = corners[:, 0], corners[:, 1], corners[:, 2]
        w0, w1, w2 = _edges(x.take(a), y.take(a), x.take(b), y.take(b), x.take(c), y.take(c), px, py)
        ar = area.take(t).astype(np.float64)
        tri[pix] = t
        bary[pix] = np.stack([w0 / ar, w1 / ar, w2 / ar], axis=1)
        depth[pix] = (key >> TRI_BITS).astype(np.float64) / ONE
    return Raster(tri.reshape(height, width), bary.reshape(height, width, 3), depth.reshape(height, width))


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
