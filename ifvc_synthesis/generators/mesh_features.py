"""Mouth interior and closed eyelids of ifvc-geometric-3 (spec Annex H.5, informative).

- Mouth: when the target's inner-lip gap (Annex B) is larger than the key frame's, the
  inner-lip polygon is filled, with opacity 1 - key gap / target gap, by a cavity whose
  colour runs from a dark lip tone at the lips to a darker centre (distance to the polygon's
  edge), a tongue tone towards the lower lip, and a teeth band under the upper lip: the key
  frame's own teeth (the band under its upper inner lip, stretched along the lip) when its
  mouth shows teeth, else a neutral tooth colour at lower opacity.
- Eyelids: when an eye closes below EYE_FILL_START of its key-frame lid gap, the eye opening
  (upper to lower lid of the target) is covered, with an opacity rising to 1 at
  EYE_FILL_FULL, by the key frame's upper-lid skin (the band between the lash line and the
  crease, LID_BAND_NEAR to LID_BAND_FAR eye widths above the upper lid) stretched over it,
  and a soft lash line is drawn where the lids meet.
Texture mapping uses the integer z-buffered rasteriser (mesh_render.py) on small quad strips.

How the lid cover is laid is a LidStyle: GEOMETRIC_3_LIDS (Annex H.5) or FLOW_5_LIDS (Annex
I.11: a wider cover, drawn over ifvc-flow-5's network output and by ifvc-geometric-6, Annex
H.9, whose feather continues the lid texture instead of H.5's key-frame sample at (0, 0), which
shows as a dark or coloured outline around the closed eye). How the mouth is toned is a
MouthStyle: GEOMETRIC_3_MOUTH (Annex H.5) or GEOMETRIC_7_MOUTH (Annex H.10: a lighter, greyer
cavity with a smoothed depth, softer edges and a fainter neutral teeth band).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..idi import (EYE_LEFT, EYE_RIGHT, INNER_LIP_PAIRS, INNER_LIP_RING, OUTER_LOWER_LIP, OUTER_UPPER_LIP,
                   TargetGeometry, _idx)
from ..key_sampling import KeySampler, blur_margin, support_box
from .mesh_render import interpolate, rasterize

MOUTH_MIN_GAP_PX = 0.8           # below this target opening (pixels) nothing is drawn
TEETH_MIN_KEY_GAP_PX = 3.0       # the key frame's mouth must be this open to show teeth
TEETH_MIN_SHARE = 0.12           # share of bright, grey pixels inside the key mouth that means "teeth"
TEETH_BAND = 0.35                # teeth band height as a share of the local lip gap
TEETH_MAX_BAND = 0.16            # ... at most this share of the mouth width
NEUTRAL_TEETH_OPACITY = 0.8
EYE_FILL_START, EYE_FILL_FULL = 0.6, 0.25
LID_BAND_NEAR, LID_BAND_FAR = 0.05, 0.28   # key lid skin band (eye widths above the upper lid)
LID_OVERLAP = 0.05               # the target lid cover reaches this far above the upper lid (eye widths)
FEATHER_SIGMA = 0.7


@dataclass(frozen=True)
class LidStyle:
    """Where the eyelid cover lies and how its edge is feathered (target eye widths, pixels)."""
    overlap: float = LID_OVERLAP     # the cover's upper row this far above the target upper lid
    above_lower: float = 0.03        # its lower row this far above the target lower lid (< 0: below)
    feather: float = FEATHER_SIGMA   # Gaussian sigma of the cover's edge
    continue_texture: bool = False   # the feather outside the strip shows the strip's own texture


GEOMETRIC_3_LIDS = LidStyle()                                   # Annex H.5
FLOW_5_LIDS = LidStyle(overlap=0.15, above_lower=0.0, feather=1.2, continue_texture=True)   # Annex I.11


@dataclass(frozen=True)
class MouthStyle:
    """How Annex H.5's mouth interior is drawn (H.10 changes it): the cavity's tones as factors of
    the key frame's lip colour per RGB channel (deep also adds deep_offset), the upper teeth band
    (shares of the local lip gap and of the mouth width; the neutral tooth colour blended with
    the lip colour) and the feathers."""
    edge: tuple[float, float, float] = (0.45, 0.3, 0.3)        # the cavity at the lips
    deep: tuple[float, float, float] = (0.14, 0.07, 0.07)      # ... at its centre
    deep_offset: tuple[float, float, float] = (8.0, 2.0, 2.0)
    tongue: tuple[float, float, float] = (0.72, 0.42, 0.44)    # towards the lower lip
    tongue_weight: float = 0.6
    teeth_band: float = TEETH_BAND
    teeth_max_band: float = TEETH_MAX_BAND
    neutral_teeth: tuple[float, float, float] = (200.0, 192.0, 180.0)
    neutral_teeth_lip: float = 0.3                              # share of the lip colour in it
    neutral_teeth_opacity: float = NEUTRAL_TEETH_OPACITY
    feather: float = FEATHER_SIGMA                              # Gaussian sigma of the cavity's edge
    teeth_feather: float = FEATHER_SIGMA                        # ... of the neutral teeth band's
    depth_sigma: float = 0.0                                    # Gaussian sigma smoothing the cavity's depth


GEOMETRIC_3_MOUTH = MouthStyle()                                # Annex H.5
# Annex H.10: a lighter, greyer cavity, a fainter neutral teeth band, softer edges (chosen on the
# train split's mouth-opening frames: docs/results/geometric7_mouth_2026-12-06)
GEOMETRIC_7_MOUTH = MouthStyle(edge=(0.8, 0.72, 0.76), deep=(0.45, 0.4, 0.42), tongue=(0.8, 0.62, 0.66),
                               neutral_teeth_opacity=0.5, feather=1.0, teeth_feather=1.0, depth_sigma=1.5)


def _polygon_mask(poly: np.ndarray, shape: tuple[int, int], sigma: float) -> np.ndarray:
    mask = np.zeros(shape, np.float32)
    cv2.fillPoly(mask, [np.round(poly * 16).astype(np.int32)], 1.0, lineType=cv2.LINE_AA, shift=4)
    return cv2.GaussianBlur(mask, (0, 0), sigma) if sigma > 0 else mask


def lip_colour(rgb: np.ndarray, outer_lips: np.ndarray) -> np.ndarray:
    """H.5's lip colour: the per-channel median of cv2.blur(rgb uint8, (3, 3)) at the outer-lip
    landmarks (N x 2+ pixel positions), rounded half to even and clipped to the picture (float32)."""
    h, w = rgb.shape[:2]
    blur = cv2.blur(rgb, (3, 3)).astype(np.float32)
    xi = np.clip(np.round(outer_lips[:, 0]).astype(int), 0, w - 1)
    yi = np.clip(np.round(outer_lips[:, 1]).astype(int), 0, h - 1)
    return np.median(blur[yi, xi], axis=0)


def lip_gap(up: np.ndarray, lo: np.ndarray) -> float:
    """H.5's largest inner-lip gap max_k |U_k - L_k| (pixels) of the rows U and L."""
    return float(np.linalg.norm(up[:, :2] - lo[:, :2], axis=1).max())


def teeth_measures(picture: np.ndarray, inner_ring: np.ndarray, up: np.ndarray, lo: np.ndarray,
                   lip: np.ndarray) -> tuple[float, float]:
    """H.5's two teeth measures of a picture (H x W x 3, uint8 or float32) with its inner-lip
    ring and rows (pixel positions): lip_gap and the share of the ring's filled pixels that are
    bright and grey (0 where fewer than 6 pixels are inside)."""
    gap = lip_gap(up, lo)
    mask = _polygon_mask(inner_ring[:, :2], picture.shape[:2], 0) > 0.5
    if mask.sum() < 6:
        return gap, 0.0
    px = picture[mask].astype(np.float32)       # float32 samples, read only inside the ring
    luma = px.mean(axis=1)
    grey = px.max(axis=1) - px.min(axis=1) < 0.35 * np.maximum(luma, 1.0)
    bright = luma > max(float(lip.mean()) * 1.1, 90.0)
    return gap, float((bright & grey).mean())


def shows_teeth(picture: np.ndarray, inner_ring: np.ndarray, up: np.ndarray, lo: np.ndarray,
                lip: np.ndarray, min_gap: float = TEETH_MIN_KEY_GAP_PX,
                min_share: float = TEETH_MIN_SHARE) -> bool:
    """H.5's key-teeth rule (the gap at least min_gap pixels, then the bright grey share at
    least min_share); the encoder's teeth refresh applies it to source pictures with stricter
    limits."""
    if lip_gap(up, lo) < min_gap:
        return False
    return teeth_measures(picture, inner_ring, up, lo, lip)[1] >= min_share


def _strip_triangles(n: int) -> np.ndarray:
    """Triangles of a strip of two rows of n vertices (row 0: 0..n-1, row 1: n..2n-1)."""
    t = []
    for j in range(n - 1):
        t += [(j, j + 1, n + j), (j + 1, n + j + 1, n + j)]
    return np.array(t, np.int64)


class MouthAndEyes:
    """Key-frame data for the fills (colours, teeth, lid bands) and their drawing."""

    def __init__(self, key_rgb: np.ndarray, key_landmarks: np.ndarray, sampler: KeySampler | None = None) -> None:
        """sampler: how the strips read the key frame (bilinear; the clamped bicubic of Annex H.8)."""
        self.key = key_rgb.astype(np.float32)
        self.sampler = sampler if sampler is not None else KeySampler(self.key)
        self.h, self.w = key_rgb.shape[:2]
        self.lm = key_landmarks
        self.lip = lip_colour(key_rgb, key_landmarks[_idx(OUTER_UPPER_LIP + OUTER_LOWER_LIP)])
        up, lo = self._lip_rows(key_landmarks)
        self.key_has_teeth = shows_teeth(self.key, key_landmarks[_idx(INNER_LIP_RING)], up, lo, self.lip)

    # -- key frame -------------------------------------------------------------------------------
    def _lip_rows(self, lm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Upper and lower inner lip rows, corners included (11 points each)."""
        a, b = _idx((78,)), _idx((308,))
        up = np.vstack([lm[a], lm[_idx([u for u, _ in INNER_LIP_PAIRS])], lm[b]])
        lo = np.vstack([lm[a], lm[_idx([d for _, d in INNER_LIP_PAIRS])], lm[b]])
        return up, lo

    def _map_strip(self, out: np.ndarray, dst: np.ndarray, src: np.ndarray, opacity: float,
                   feather: float = FEATHER_SIGMA, continue_texture: bool = False) -> None:
        """Texture-map the key frame from the strip src (2n, 2) onto the strip dst (2n, 2).
        Outside the strip the texture is the key frame at (0, 0) (interpolate() gives 0 there),
        which the feather blends in; continue_texture replaces it there by the strip's texture
        spread by the same Gaussian, normalised (Annex I.11)."""
        tris = _strip_triangles(len(dst) // 2)
        r = rasterize(dst, np.zeros(len(dst)), tris, self.w, self.h)
        if not r.covered.any():
            return
        uv = interpolate(r, tris, src).astype(np.float32)
        # the feather's weight is 0 beyond its kernel around the strip: read the key there only
        tex = self.sampler.sample(uv[..., 0], uv[..., 1], box=support_box(r.covered, blur_margin(feather)))
        covered = r.covered.astype(np.float32)
        weight = cv2.GaussianBlur(covered, (0, 0), feather)
        if continue_texture:
            spread = cv2.GaussianBlur(tex * covered[..., None], (0, 0), feather)
            tex = np.where(r.covered[..., None], tex, spread / np.maximum(weight, 1e-6)[..., None])
        a = weight * opacity
        out += a[..., None] * (tex - out)

    # -- per frame -------------------------------------------------------------------------------
    def apply(self, out: np.ndarray, tg: TargetGeometry, lids: LidStyle = GEOMETRIC_3_LIDS,
              mouth: MouthStyle = GEOMETRIC_3_MOUTH) -> None:
        """Draws the mouth interior and the eyelids of the target geometry into out (float32),
        the lid cover laid as ``lids`` says (Annex H.5; Annex H.9 lays it as I.11), the mouth
        toned as ``mouth`` says."""
        self._mouth(out, tg, mouth)
        self.draw_eyelids(out, tg, lids)

    def draw_eyelids(self, out: np.ndarray, tg: TargetGeometry, style: LidStyle) -> None:
        """The eyelid cover of both eyes of the target geometry, laid as ``style`` says."""
        for eye, gain in zip((EYE_LEFT, EYE_RIGHT), tg.eye_gain):
            self._eyelid(out, tg.landmarks, eye, gain, style)

    def _mouth(self, out: np.ndarray, tg: TargetGeometry, style: MouthStyle) -> None:
        if tg.mouth_gap_target <= tg.mouth_gap_key:
            return
        up, lo = self._lip_rows(tg.landmarks)
        gaps = np.linalg.norm(up - lo, axis=1)
        gap_px = float(gaps.max())
        if gap_px < MOUTH_MIN_GAP_PX:
            return
        opacity = float(np.clip(1.0 - tg.mouth_gap_key / tg.mouth_gap_target, 0.0, 1.0))
        opacity *= float(np.clip((gap_px - MOUTH_MIN_GAP_PX) / 1.5, 0.0, 1.0))
        ring = tg.landmarks[_idx(INNER_LIP_RING)]
        x0 = int(max(np.floor(ring[:, 0].min()) - 3, 0))
        y0 = int(max(np.floor(ring[:, 1].min()) - 3, 0))
        x1 = int(min(np.ceil(ring[:, 0].max()) + 4, self.w))
        y1 = int(min(np.ceil(ring[:, 1].max()) + 4, self.h))
        if x1 <= x0 or y1 <= y0 or opacity <= 0:
            return
        shape = (y1 - y0, x1 - x0)
        poly = ring - [x0, y0]
        hard = _polygon_mask(poly, shape, 0)
        # cavity: dark lip tone at the lips, darker inside, a tongue tone towards the lower lip
        inside = (hard > 0.5).astype(np.uint8)
        dist = cv2.distanceTransform(inside, cv2.DIST_L2, 3) if inside.any() else np.zeros(shape, np.float32)
        depth = np.clip(dist / max(float(dist.max()), 1.0), 0.0, 1.0)
        if style.depth_sigma > 0:
            depth = cv2.GaussianBlur(depth, (0, 0), style.depth_sigma)
        depth = depth[..., None]
        edge = self.lip * np.array(style.edge, np.float32)
        deep = self.lip * np.array(style.deep, np.float32) + np.array(style.deep_offset, np.float32)
        cavity = edge + (deep - edge) * np.sqrt(depth)
        yy = np.arange(shape[0], dtype=np.float32)[:, None] + y0
        top = float(up[:, 1].mean())
        bottom = float(lo[:, 1].mean())
        lower = np.clip((yy - (top + 0.6 * (bottom - top))) / max(0.4 * (bottom - top), 1.0), 0.0, 1.0)
        tongue = self.lip * np.array(style.tongue, np.float32)
        cavity = cavity + (lower[..., None] * style.tongue_weight) * (tongue - cavity)
        a = (_polygon_mask(poly, shape, style.feather) * opacity)[..., None]
        roi = out[y0:y1, x0:x1]
        roi += a * (cavity - roi)
        self._teeth(out, up, lo, opacity, style)

    def _teeth(self, out: np.ndarray, up: np.ndarray, lo: np.ndarray, opacity: float,
               style: MouthStyle) -> None:
        """The upper teeth band under the target's upper inner lip."""
        width = float(np.linalg.norm(up[-1] - up[0]))
        gaps = np.linalg.norm(lo - up, axis=1)
        if float(gaps.max()) < 3.0:
            return
        down = (lo - up) / np.maximum(gaps, 1e-6)[:, None]
        band = np.minimum(style.teeth_band * gaps, style.teeth_max_band * width)
        dst = np.vstack([up, up + down * band[:, None]])
        if self.key_has_teeth:
            kup, klo = self._lip_rows(self.lm)
            kgaps = np.linalg.norm(klo - kup, axis=1)
            kdown = (klo - kup) / np.maximum(kgaps, 1e-6)[:, None]
            kband = np.minimum(0.6 * kgaps, style.teeth_max_band * float(np.linalg.norm(kup[-1] - kup[0])))
            src = np.vstack([kup, kup + kdown * kband[:, None]])
            self._map_strip(out, dst, src, opacity)
            return
        k = style.neutral_teeth_lip
        neutral = np.clip(k * self.lip + (1.0 - k) * np.array(style.neutral_teeth, np.float32), 0, 255)
        tris = _strip_triangles(len(up))
        r = rasterize(dst, np.zeros(len(dst)), tris, self.w, self.h)
        a = cv2.GaussianBlur(r.covered.astype(np.float32), (0, 0), style.teeth_feather)
        a = a * opacity * style.neutral_teeth_opacity
        out += a[..., None] * (neutral - out)

    def _eyelid(self, out: np.ndarray, lm: np.ndarray, eye: dict, gain: float, style: LidStyle) -> None:
        opacity = float(np.clip((EYE_FILL_START - gain) / (EYE_FILL_START - EYE_FILL_FULL), 0.0, 1.0))
        if opacity <= 0:
            return
        a, b = eye["corners"]
        up_ids = [a] + [u for u, _ in eye["pairs"]] + [b]
        lo_ids = [a] + [d for _, d in eye["pairs"]] + [b]
        t_up, t_lo = lm[_idx(up_ids)], lm[_idx(lo_ids)]
        k_up = self.lm[_idx(up_ids)]
        kw = float(np.linalg.norm(k_up[-1] - k_up[0]))
        tw = float(np.linalg.norm(t_up[-1] - t_up[0]))
        if kw < 1.0 or tw < 1.0:
            return
        k_n = self._up_normal(k_up)
        t_n = self._up_normal(t_up)
        # the lid skin between the lash line and the crease, stretched over the opening
        src = np.vstack([k_up + k_n * (LID_BAND_FAR * kw), k_up + k_n * (LID_BAND_NEAR * kw)])
        dst = np.vstack([t_up + t_n * (style.overlap * tw), t_lo - t_n * (style.above_lower * tw)])
        self._map_strip(out, dst, src, opacity, style.feather, style.continue_texture)
        # a soft lash line where the lids meet
        line = 0.25 * t_up + 0.75 * t_lo
        mask = np.zeros((self.h, self.w), np.float32)
        cv2.polylines(mask, [np.round(line * 16).astype(np.int32)], False, 1.0,
                      thickness=max(1, int(round(0.05 * tw))), lineType=cv2.LINE_AA, shift=4)
        mask = cv2.GaussianBlur(mask, (0, 0), 0.5) * (0.6 * opacity)
        lash = self._lash_colour(k_up)
        out += mask[..., None] * (lash - out)

    @staticmethod
    def _up_normal(row: np.ndarray) -> np.ndarray:
        """Per-point unit normals of a lid row, pointing up in the picture (towards the brow)."""
        axis = row[-1] - row[0]
        axis = axis / max(float(np.hypot(axis[0], axis[1])), 1e-6)
        n = np.array([axis[1], -axis[0]])
        return np.tile(-n if n[1] > 0 else n, (len(row), 1))

    def _lash_colour(self, k_up: np.ndarray) -> np.ndarray:
        """The darkest colour along the key frame's upper lash line (3x3 means)."""
        blur = cv2.blur(self.key, (3, 3))
        xi = np.clip(np.round(k_up[:, 0]).astype(int), 0, self.w - 1)
        yi = np.clip(np.round(k_up[:, 1]).astype(int), 0, self.h - 1)
        px = blur[yi, xi]
        return px[int(np.argmin(px.sum(axis=1)))]
