"""IDI (Internal Dimension Increase) of the geometric generator (spec Annex E.3, informative).

From the key frame's geometry (landmark subset of the geometry payload, depth from the posed
canonical face), its reference semantic values and a target frame's semantic values, IDI
1. pose-normalises the key-frame landmarks (undoes the key pose: model space, Annex B.1),
2. applies the expression changes in model space so that the Annex B measures of the eyes and
   mouth change by exactly (target value - key value) (eyes: by the ratio of the lid gaps),
3. applies the target pose (yaw, pitch, roll, head_tx/ty/tz) and projects to pixels,
4. adds control points for the rest of the picture: two rings around the face (hair, ears)
   that move with the head, neck points that follow it partly, and fixed picture-border
   anchors (background), and
5. derives a dense backward motion field (for every output pixel the key-frame position to
   sample) as the piecewise-affine map of a triangle mesh over all control points
   (Delaunay triangulation of the key-frame positions, triangles drawn far to near so the
   nearer surface wins where the target mesh folds).

Everything is numpy + OpenCV, deterministic, and needs no training data. The geometry avoids
BLAS and LAPACK (bitstream/fixed_order.py and the closed-form triangle maps below), so the
motion field is the same for every BLAS kernel and thread count.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from bitstream.canonical_face import (load_canonical_face, model_to_pixels,
                                      pixels_to_model, pose_from_values)
from bitstream.face_measures import (LEFT_EYE_CORNERS, LEFT_EYE_LIDS, MOUTH_CORNER_LEFT, MOUTH_CORNER_RIGHT,
                                     MOUTH_SHAPE_UNIT, RIGHT_EYE_CORNERS, RIGHT_EYE_LIDS,
                                     ratio_from_openness)
from bitstream.face_measures import eye_ratio, mouth_measures
from bitstream.geometry_payload import GP_INDEX, KeyGeometry

# --- element indices (table order, bitstream/semantic_elements.py) ----------------------------
YAW, PITCH, ROLL, TX, TY, TZ, LOC, EYE_L, EYE_R, MOUTH_OPEN, MOUTH_WIDTH, SHAPE1, SHAPE2, SHAPE3 = range(14)
EXPRESSION_IDS = (EYE_L, EYE_R, MOUTH_OPEN, MOUTH_WIDTH, SHAPE1, SHAPE2, SHAPE3)   # what target_model reads

# --- landmark groups (MediaPipe ids; "left"/"right" are the subject's) -----------------------
# (upper, lower) eyelid pairs along each eye, corners excluded; Annex B uses the middle three.
EYE_LEFT = dict(corners=LEFT_EYE_CORNERS,
                pairs=((466, 249), (388, 390), (387, 373), (386, 374), (385, 380), (384, 381), (398, 382)),
                ring=(362, 398, 384, 385, 386, 387, 388, 466, 263, 249, 390, 373, 374, 380, 381, 382))
EYE_RIGHT = dict(corners=RIGHT_EYE_CORNERS,
                 pairs=((246, 7), (161, 163), (160, 144), (159, 145), (158, 153), (157, 154), (173, 155)),
                 ring=(33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7))
INNER_LIP_PAIRS = ((191, 95), (80, 88), (81, 178), (82, 87), (13, 14), (312, 317), (311, 402),
                   (310, 318), (415, 324))
INNER_LIP_RING = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87,
                  178, 88, 95)
OUTER_UPPER_LIP = (185, 40, 39, 37, 0, 267, 269, 270, 409)
OUTER_LOWER_LIP = (146, 91, 181, 84, 17, 314, 405, 321, 375)
MOUTH_CORNERS = (MOUTH_CORNER_RIGHT, MOUTH_CORNER_LEFT)   # Annex B.3
INNER_CORNERS = (78, 308)
JAW = (379, 378, 400, 377, 152, 148, 176, 149, 150)   # chin arc (not the Procrustes basis 136, 365)
CONTOUR_IDS = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378,
               400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21,
               54, 103, 67, 109)
LIPS = tuple(sorted(set(INNER_LIP_RING) | set(OUTER_UPPER_LIP) | set(OUTER_LOWER_LIP) | set(MOUTH_CORNERS)))

# --- the outer control points -----------------------------------------------------------------
HEAD_RINGS = (1.3, 1.65)      # scale of the face contour about its centre (model x, y)
RING_DEPTH_CM = 4.0           # ring points lie this much further back per unit of extra scale
NECK_WEIGHT = 0.45            # share of the head motion that the neck points follow
BORDER_STEP = 32              # picture-border anchor spacing in pixels
MIN_PAIR_GAP_PX = 0.75        # key-frame lid / lip pairs closer than this are pushed apart


def _idx(ids) -> np.ndarray:
    return np.array([GP_INDEX[i] for i in ids], dtype=np.int64)


def triangle_affine_maps(dst: np.ndarray, src: np.ndarray) -> np.ndarray:
    """(T, 3, 2) affine maps A with [x y 1] @ A = the src corner for each dst corner (x, y) of
    T triangles (T, 3, 2 each), in closed form: A's linear part is E^-1 F with the edge
    vectors E = (dst1 - dst0, dst2 - dst0) and F = (src1 - src0, src2 - src0), its offset
    src0 - dst0 @ linear. A degenerate target triangle (twice its area |det E| <= 1e-6)
    translates by the difference of the centroids. Written out (no LAPACK), so the maps do
    not depend on the BLAS kernel."""
    e1, e2 = dst[:, 1] - dst[:, 0], dst[:, 2] - dst[:, 0]
    f1, f2 = src[:, 1] - src[:, 0], src[:, 2] - src[:, 0]
    det = e1[:, 0] * e2[:, 1] - e2[:, 0] * e1[:, 1]
    ok = np.abs(det) > 1e-6
    d = np.where(ok, det, 1.0)
    A = np.zeros((len(dst), 3, 2))
    # E^-1 = [[e2y, -e1y], [-e2x, e1x]] / det (rows: x, y coefficients)
    A[:, 0] = (e2[:, 1, None] * f1 - e1[:, 1, None] * f2) / d[:, None]
    A[:, 1] = (e1[:, 0, None] * f2 - e2[:, 0, None] * f1) / d[:, None]
    A[:, 2] = src[:, 0] - (dst[:, 0, 0, None] * A[:, 0] + dst[:, 0, 1, None] * A[:, 1])
    A[~ok] = 0.0
    A[~ok, 0, 0] = A[~ok, 1, 1] = 1.0
    A[~ok, 2] = src[~ok].mean(axis=1) - dst[~ok].mean(axis=1)
    return A


@dataclass
class TargetGeometry:
    points: np.ndarray        # (N, 2) target pixels of all control points
    depth: np.ndarray         # (N,) fit-space z (nearer is larger)
    landmarks: np.ndarray     # (NUM_GP_LANDMARKS, 2) the subset's target pixels
    eye_gain: tuple[float, float]     # target / key lid gap: (left, right)
    mouth_gap_key: float      # inner-lip gap in cm (Annex B measure)
    mouth_gap_target: float


class KeyFrameModel:
    """IDI state for one key frame: model-space landmarks, outer points, the mesh."""

    def __init__(self, geom: KeyGeometry) -> None:
        self.face = load_canonical_face()
        self.width, self.height = geom.width, geom.height
        self.key_values = np.asarray(geom.ref_values, np.float64).copy()
        self.key_pose = pose_from_values(self.key_values, self.width, self.height, self.face)
        key_pix = np.column_stack([geom.points, geom.depth])
        self.key_landmarks = geom.points.astype(np.float64).copy()
        self.model = pixels_to_model(key_pix, self.key_pose, self.width, self.face)
        self.key_measures = dict(eye_l=eye_ratio(self.model, LEFT_EYE_CORNERS, LEFT_EYE_LIDS, GP_INDEX),
                                 eye_r=eye_ratio(self.model, RIGHT_EYE_CORNERS, RIGHT_EYE_LIDS, GP_INDEX),
                                 mouth=mouth_measures(self.model, GP_INDEX))
        self._build_outer_points()
        self._build_mesh()
        # target_model's last (expression key, result): one tuple, replaced whole (threads share it)
        self._last_target: tuple[bytes, tuple[np.ndarray, tuple[float, float], float, float]] | None = None

    # -- outer control points (model space) + weights ------------------------------------------
    def _build_outer_points(self) -> None:
        m = self.model
        F = self.face.face_width
        contour = m[_idx(CONTOUR_IDS)]
        centre = contour.mean(axis=0)
        y_mouth = float(m[_idx(MOUTH_CORNERS), 1].mean())
        y_chin = float(m[GP_INDEX[152], 1])
        pts, weights = [], []
        for f in HEAD_RINGS:
            ring = centre + (contour - centre) * np.array([f, f, 1.0])
            ring[:, 2] = contour[:, 2] - RING_DEPTH_CM * (f - 1.0) / 0.3
            pts.append(ring)
        for dy, xs in ((0.22, (-0.3, -0.15, 0.0, 0.15, 0.3)), (0.5, (-0.4, -0.2, 0.0, 0.2, 0.4))):
            neck = np.array([[centre[0] + x * F, y_chin - dy * F, m[GP_INDEX[152], 2] - 4.0] for x in xs])
            pts.append(neck)
        outer = np.vstack(pts)
        # head points follow the head fully; below the mouth the share falls towards the neck's
        t = np.clip((y_mouth - outer[:, 1]) / max(y_mouth - (y_chin - 0.5 * F), 1e-6), 0.0, 1.0)
        weights = 1.0 - (1.0 - NECK_WEIGHT) * t
        key_px = model_to_pixels(outer, self.key_pose, self.width, self.face)
        inside = ((key_px[:, 0] > 2) & (key_px[:, 0] < self.width - 3) &
                  (key_px[:, 1] > 2) & (key_px[:, 1] < self.height - 3))
        # points hidden behind the face in the key frame (far side of a turned head) would
        # stretch a sliver of the silhouette over the background: leave them out
        face_poly = self.key_landmarks[_idx(CONTOUR_IDS)].astype(np.float32)
        for j in np.flatnonzero(inside):
            d = cv2.pointPolygonTest(face_poly, (float(key_px[j, 0]), float(key_px[j, 1])), True)
            if d > -2.0:
                inside[j] = False
        self.outer_model = outer[inside]
        self.outer_weight = weights[inside]
        self.outer_key_px = key_px[inside]
        w, h = self.width, self.height
        xs = np.unique(np.concatenate([np.arange(0, w, BORDER_STEP), [w]])).astype(np.float64) - 0.5
        ys = np.unique(np.concatenate([np.arange(0, h, BORDER_STEP), [h]])).astype(np.float64) - 0.5
        border = [(x, -0.5) for x in xs] + [(x, h - 0.5) for x in xs]
        border += [(-0.5, y) for y in ys[1:-1]] + [(w - 0.5, y) for y in ys[1:-1]]
        self.border_px = np.array(border, np.float64)

    def _key_points(self) -> np.ndarray:
        """All control points in the key frame (pixels): subset, outer, border."""
        lm = self.key_landmarks.copy()
        # keep closed lids and lips triangulable: push coincident pairs apart along v
        for eye in (EYE_LEFT, EYE_RIGHT):
            for u, d in eye["pairs"]:
                self._separate(lm, GP_INDEX[u], GP_INDEX[d])
        for u, d in INNER_LIP_PAIRS:
            self._separate(lm, GP_INDEX[u], GP_INDEX[d])
        return np.vstack([lm, self.outer_key_px[:, :2], self.border_px])

    @staticmethod
    def _separate(lm: np.ndarray, iu: int, il: int) -> None:
        gap = lm[il, 1] - lm[iu, 1]
        if gap < MIN_PAIR_GAP_PX:
            mid = (lm[il, 1] + lm[iu, 1]) / 2
            lm[iu, 1] = mid - MIN_PAIR_GAP_PX / 2
            lm[il, 1] = mid + MIN_PAIR_GAP_PX / 2

    def _build_mesh(self) -> None:
        pts = self._key_points()
        self.mesh_key_points = pts
        w, h = self.width, self.height
        if not np.isfinite(pts).all():
            raise ValueError("the key-frame geometry gives non-finite mesh points")
        # The rectangle must hold every point (a far or very wide face puts points well outside
        # the picture), or Subdiv2D raises.
        lo = np.minimum(pts.min(axis=0), (-2.0 * w, -2.0 * h)) - 1.0
        hi = np.maximum(pts.max(axis=0), (3.0 * w, 3.0 * h)) + 1.0
        subdiv = cv2.Subdiv2D((int(np.floor(lo[0])), int(np.floor(lo[1])),
                               int(np.ceil(hi[0] - lo[0])) + 1, int(np.ceil(hi[1] - lo[1])) + 1))
        vid_to_idx: dict[int, int] = {}
        for k, (x, y) in enumerate(pts):
            vid = subdiv.insert((float(x), float(y)))
            vid_to_idx.setdefault(int(vid), k)
        coord_to_idx = {}
        for vid, k in vid_to_idx.items():
            (vx, vy), _ = subdiv.getVertex(vid)
            coord_to_idx[(np.float32(vx), np.float32(vy))] = k
        tris = []
        for t in subdiv.getTriangleList():
            idx = [coord_to_idx.get((np.float32(t[2 * j]), np.float32(t[2 * j + 1]))) for j in range(3)]
            if None in idx:
                continue
            tris.append(idx)
        self.triangles = np.array(tris, dtype=np.int64)
        # the key triangles' affine-source data
        self._key_tri = pts[self.triangles]                      # (T, 3, 2)

    # -- IDI ------------------------------------------------------------------------------------
    def target_model(self, values: np.ndarray) -> tuple[np.ndarray, tuple[float, float], float, float]:
        """Subset landmarks in model space with the target expression (Annex E.3.2), read-only.
        They depend on the expression elements alone, so the last result is kept for the next
        call with the same expression: a frame's picture asks twice (the motion field and the
        mesh), and the encoder's pose fit draws one expression in a dozen poses."""
        v = np.asarray(values, np.float64)
        key = v[list(EXPRESSION_IDS)].tobytes()
        last = self._last_target
        if last is not None and last[0] == key:
            return last[1]
        out = self._target_model(v)
        out[0].setflags(write=False)
        self._last_target = (key, out)
        return out

    def _target_model(self, v: np.ndarray) -> tuple[np.ndarray, tuple[float, float], float, float]:
        k = self.key_values
        F = self.face.face_width
        m = self.model.copy()
        g = GP_INDEX
        # eyes: scale the lid gap vectors, upper lid 80 %, lower lid 20 %
        gains = []
        for eye, i in ((EYE_LEFT, EYE_L), (EYE_RIGHT, EYE_R)):
            gain = float(np.clip(ratio_from_openness(v[i]) / ratio_from_openness(k[i]), 0.02, 6.0))
            gains.append(gain)
            if gain != 1.0:
                for u, d in eye["pairs"]:
                    dv = m[g[u]] - m[g[d]]
                    m[g[u]] += 0.8 * (gain - 1.0) * dv
                    m[g[d]] -= 0.2 * (gain - 1.0) * dv
        lips = _idx(LIPS)
        gap0, width0, raise0, prot0, asym0 = self.key_measures["mouth"]
        # mouth width: scale the lips horizontally about the corners' midpoint
        if v[MOUTH_WIDTH] != k[MOUTH_WIDTH]:
            f = float(np.clip(v[MOUTH_WIDTH], 0.05, 2.0) / max(k[MOUTH_WIDTH], 0.05))
            xc = (m[g[61], 0] + m[g[291], 0]) / 2
            m[lips, 0] = xc + (m[lips, 0] - xc) * f
        # mouth open: the lower lip and jaw drop (70 %), the upper lip rises (30 %)
        gap_t = max(gap0 + (v[MOUTH_OPEN] - k[MOUTH_OPEN]) * F, 0.0)
        if gap_t != gap0:
            self._open_mouth(m, gap_t)
        gap_now, _, raise_now, prot_now, asym_now = mouth_measures(m, GP_INDEX)
        xc = (m[g[61], 0] + m[g[291], 0]) / 2
        hw = max(abs(m[g[291], 0] - m[g[61], 0]) / 2, 1e-6)
        rel = np.clip(np.abs(m[lips, 0] - xc) / hw, 0.0, 1.0)
        unit = MOUTH_SHAPE_UNIT * F
        d_raise = raise0 + (v[SHAPE1] - k[SHAPE1]) * unit - raise_now
        d_prot = prot0 + (v[SHAPE2] - k[SHAPE2]) * unit - prot_now
        d_asym = asym0 + (v[SHAPE3] - k[SHAPE3]) * unit - asym_now
        side = np.sign(m[lips, 0] - xc)
        m[lips, 1] += d_raise * rel ** 2 + 0.5 * d_asym * side * rel ** 2
        m[lips, 2] += d_prot * (1.0 - rel ** 2)
        return m, (gains[0], gains[1]), gap0, gap_t

    def _open_mouth(self, m: np.ndarray, gap_t: float) -> None:
        g = GP_INDEX
        base = m.copy()
        gap0 = mouth_measures(base, GP_INDEX)[0]
        xc = (base[g[61], 0] + base[g[291], 0]) / 2
        hw = max(abs(base[g[291], 0] - base[g[61], 0]) / 2, 1e-6)
        F = self.face.face_width

        def profile(x: np.ndarray) -> np.ndarray:
            return np.sqrt(np.clip(1.0 - ((x - xc) / hw) ** 2, 0.0, 1.0))

        upper = _idx([u for u, _ in INNER_LIP_PAIRS] + list(OUTER_UPPER_LIP))
        lower = _idx([d for _, d in INNER_LIP_PAIRS] + list(OUTER_LOWER_LIP))
        jaw = _idx(JAW)
        w_up, w_lo = profile(base[upper, 0]), profile(base[lower, 0])
        w_jaw = np.clip(1.0 - ((base[jaw, 0] - xc) / (0.5 * F)) ** 2, 0.15, 1.0)
        if gap_t < gap0:
            # closing: shrink the inner gap vectors (lower lip 70 %), outer lips follow
            s = gap_t / max(gap0, 1e-9)
            for u, d in INNER_LIP_PAIRS:
                dv = base[g[u]] - base[g[d]]
                m[g[u]] = base[g[u]] - 0.3 * (1 - s) * dv
                m[g[d]] = base[g[d]] + 0.7 * (1 - s) * dv
            return
        # opening: additive vertical displacement, corrected so the Annex B gap is exact
        amount = gap_t - gap0
        for _ in range(3):
            m[upper] = base[upper]
            m[lower] = base[lower]
            m[jaw] = base[jaw]
            m[upper, 1] += 0.3 * amount * w_up
            m[lower, 1] -= 0.7 * amount * w_lo
            m[jaw, 1] -= 0.6 * amount * w_jaw
            got = mouth_measures(m, GP_INDEX)[0]
            if abs(got - gap_t) < 1e-4 or got <= gap0:
                break
            amount *= (gap_t - gap0) / (got - gap0)

    def target_geometry(self, values: np.ndarray) -> TargetGeometry:
        v = np.asarray(values, np.float64)
        m, gains, gap0, gap_t = self.target_model(v)
        pose_t = pose_from_values(v, self.width, self.height, self.face)
        lm = model_to_pixels(m, pose_t, self.width, self.face)
        # outer points: a share (weight) of the head's rigid motion
        rigid = model_to_pixels(self.outer_model, pose_t, self.width, self.face)
        wgt = self.outer_weight[:, None]
        outer_xy = self.outer_key_px[:, :2] + wgt * (rigid[:, :2] - self.outer_key_px[:, :2])
        outer_z = rigid[:, 2]
        zmin = min(float(lm[:, 2].min()), float(outer_z.min()) if len(outer_z) else 0.0) - 1.0
        pts = np.vstack([lm[:, :2], outer_xy, self.border_px])
        depth = np.concatenate([lm[:, 2], outer_z, np.full(len(self.border_px), zmin)])
        return TargetGeometry(pts, depth, lm[:, :2].copy(), gains, gap0, gap_t)

    # -- dense backward motion field -------------------------------------------------------------
    def motion_field(self, tg: TargetGeometry) -> tuple[np.ndarray, np.ndarray]:
        """(map_x, map_y) float32 HxW: the key-frame position to sample for every output pixel."""
        map_x, map_y, _ = self.motion_field_with_coverage(tg)
        return map_x, map_y

    def motion_field_with_coverage(self, tg: TargetGeometry) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """motion_field() and where a triangle covers the pixel (HxW bool); elsewhere the map
        is the identity (E.3.5)."""
        w, h = self.width, self.height
        dst = tg.points[self.triangles]                            # (T, 3, 2) target triangles
        src = self._key_tri
        A = triangle_affine_maps(dst, src)                         # [x y 1] @ A = src
        # painter's order: far triangles first, nearer ones overwrite
        tri_depth = tg.depth[self.triangles].mean(axis=1)
        order = np.argsort(tri_depth, kind="stable")
        ids = np.full((h, w), -1, np.int32)
        pts16 = np.round(dst * 16).astype(np.int32)
        for t in order:
            cv2.fillConvexPoly(ids, pts16[t], int(t), lineType=cv2.LINE_8, shift=4)
        X = np.arange(w, dtype=np.float64)[None, :]
        Y = np.arange(h, dtype=np.float64)[:, None]
        covered = ids >= 0
        idx = np.maximum(ids, 0)
        # each affine coefficient gathered on its own (contiguous tables: the same products)
        a = [np.ascontiguousarray(A[:, r, c]).take(idx) for r in range(3) for c in range(2)]
        map_x = np.where(covered, X * a[0] + Y * a[2] + a[4], X)
        map_y = np.where(covered, X * a[1] + Y * a[3] + a[5], Y)
        return map_x.astype(np.float32), map_y.astype(np.float32), covered
