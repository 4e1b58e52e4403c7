"""The geometric generator "ifvc-geometric-1" (spec Annex E.4, informative).

Warps the key frame with the IDI motion field (ifvc_synthesis/idi.py; cv2.remap, bilinear,
border replicate) and fills what warping cannot show: the inside of the mouth when it opens
more than in the key frame (dark cavity with a hint of upper teeth), and the eyelids when the
eyes close more than in the key frame (lid-coloured skin sampled above the eye, and a lash
line). No weights, no training data, CPU only, deterministic.
"""
from __future__ import annotations

import cv2
import numpy as np

from bitstream.fixed_order import norm2
from bitstream.generator_registry import GENERATOR_BY_NAME
from bitstream.key_geometry import decode_key_geometry
from bitstream.semantic_elements import BASELINE_ELEMENT_IDS, NEUTRAL_VALUES, SEMANTIC_ELEMENTS

from ..idi import (EYE_LEFT, EYE_RIGHT, INNER_LIP_PAIRS, INNER_LIP_RING, OUTER_LOWER_LIP,
                   OUTER_UPPER_LIP, KeyFrameModel, TargetGeometry, _idx)
from .registry import builtin_generator

NAME = "ifvc-geometric-1"
NUM_ELEMENTS = len(SEMANTIC_ELEMENTS)        # Table 3 (spec 1.2: 16)
NUM_FACE_ELEMENTS = len(BASELINE_ELEMENT_IDS)  # the face's 14 (spec 1.0 and 1.1)
MOUTH_MIN_GAP_PX = 0.8        # below this opening (target pixels) no cavity is drawn
EYE_FILL_START, EYE_FILL_FULL = 0.6, 0.25   # lid-gap gain where the lid fill starts / is opaque
FEATHER_SIGMA = 0.8


@builtin_generator(NAME)
class GeometricGenerator:
    name = NAME
    weights_sha256 = GENERATOR_BY_NAME[name].weights_sha256      # all zero: no weights
    model_class: type[KeyFrameModel] = KeyFrameModel   # IDI of the key frame (a subclass may extend it)
    sampling: int = cv2.INTER_LINEAR   # Annex E.4: bilinear; other kernels only in studies (sampling_study.py)

    def __init__(self) -> None:
        self.model: KeyFrameModel | None = None
        self.key_rgb: np.ndarray | None = None

    # -- key frame -------------------------------------------------------------------------------
    def set_keyframe(self, key_rgb: np.ndarray, key_values: np.ndarray, geometry: bytes,
                     geometry_version: int) -> None:
        rgb = np.ascontiguousarray(key_rgb)
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"key frame must be HxWx3 uint8, got {rgb.dtype} {rgb.shape}")
        values = self._values(key_values)
        h, w = rgb.shape[:2]
        # version 0: no landmarks, the posed canonical face; 1, 2: Annex E.2 (the decoder has
        # checked that the stream's profile defines the version: bitstream/key_geometry.py)
        geom = decode_key_geometry(geometry_version, bytes(geometry), width=w, height=h,
                                   ref_values=values)
        self.key_rgb = rgb.copy()
        self.model = self.model_class(geom)
        self._key_float = self.key_rgb.astype(np.float32)
        self._lid_colour = [self._sample_lid_colour(eye) for eye in (EYE_LEFT, EYE_RIGHT)]
        self._cavity, self._teeth = self._mouth_colours()

    @staticmethod
    def _values(values: np.ndarray) -> np.ndarray:
        """The values of Table 3 in id order; the face's 14 alone (training packs written before
        spec 1.2) take the background elements' neutral values."""
        v = np.asarray(values, dtype=np.float64).reshape(-1)
        if v.shape not in ((NUM_ELEMENTS,), (NUM_FACE_ELEMENTS,)) or not np.all(np.isfinite(v)):
            raise ValueError(f"expected {NUM_ELEMENTS} (or the face's {NUM_FACE_ELEMENTS}) finite "
                             f"semantic values, got {v.shape}")
        if v.shape[0] == NUM_FACE_ELEMENTS:
            v = np.concatenate([v, np.asarray(NEUTRAL_VALUES[NUM_FACE_ELEMENTS:], np.float64)])
        return v

    def _sample(self, pts: np.ndarray) -> np.ndarray:
        """Median colour of 3x3 neighbourhoods of the key frame around pts (N, 2)."""
        assert self.key_rgb is not None
        h, w = self.key_rgb.shape[:2]
        blur = cv2.blur(self.key_rgb, (3, 3))
        xi = np.clip(np.round(pts[:, 0]).astype(int), 0, w - 1)
        yi = np.clip(np.round(pts[:, 1]).astype(int), 0, h - 1)
        return np.median(blur[yi, xi].astype(np.float32), axis=0)

    def _sample_lid_colour(self, eye: dict) -> np.ndarray:
        m = self.model
        assert m is not None
        lm = m.key_landmarks
        up = lm[_idx([u for u, _ in eye["pairs"][1:-1]])]
        lo = lm[_idx([d for _, d in eye["pairs"][1:-1]])]
        a, b = lm[_idx(eye["corners"])]
        width = norm2(a - b)
        axis = (a - b) / max(width, 1e-6)
        normal = np.array([axis[1], -axis[0]])
        if normal[1] > 0:
            normal = -normal                          # pointing up in the picture
        gap = np.linalg.norm(up - lo, axis=1).mean()
        return self._sample(up + normal * (0.6 * gap + 0.12 * width))

    def _mouth_colours(self) -> tuple[np.ndarray, np.ndarray]:
        m = self.model
        assert m is not None
        lips = m.key_landmarks[_idx(OUTER_UPPER_LIP + OUTER_LOWER_LIP)]
        lip = self._sample(lips)
        cavity = 0.28 * lip + np.array([4.0, 0.0, 0.0], np.float32)
        teeth = np.clip(0.35 * lip + 0.65 * np.array([215.0, 205.0, 190.0], np.float32), 0, 255)
        return cavity.astype(np.float32), teeth.astype(np.float32)

    # -- synthesis -------------------------------------------------------------------------------
    def target_geometry(self, target_values: np.ndarray) -> TargetGeometry:
        if self.model is None:
            raise RuntimeError("set_keyframe() must come before synthesize()")
        return self.model.target_geometry(self._values(target_values))

    def synthesize(self, target_values: np.ndarray) -> np.ndarray:
        return self.synthesize_with_field(target_values)[0]

    def synthesize_with_field(self, target_values: np.ndarray
                              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, TargetGeometry]:
        """The synthesised frame with what produced it: (image, map_x, map_y, target geometry),
        so that a refining generator runs IDI once per frame."""
        tg = self.target_geometry(target_values)
        assert self.model is not None and self.key_rgb is not None
        map_x, map_y = self.model.motion_field(tg)
        out = cv2.remap(self._key_float, map_x, map_y, interpolation=self.sampling,
                        borderMode=cv2.BORDER_REPLICATE)
        self._fill_mouth(out, tg)
        self._fill_eyes(out, tg)
        return np.clip(np.floor(out + 0.5), 0, 255).astype(np.uint8), map_x, map_y, tg

    @staticmethod
    def _blend_polygon(out: np.ndarray, poly: np.ndarray, colour: np.ndarray | np.ndarray,
                       alpha: float, sigma: float = FEATHER_SIGMA) -> None:
        """Blend colour (3,) or an HxWx3 picture into out inside poly, feathered."""
        h, w = out.shape[:2]
        x0 = int(max(np.floor(poly[:, 0].min()) - 4, 0))
        y0 = int(max(np.floor(poly[:, 1].min()) - 4, 0))
        x1 = int(min(np.ceil(poly[:, 0].max()) + 5, w))
        y1 = int(min(np.ceil(poly[:, 1].max()) + 5, h))
        if x1 <= x0 or y1 <= y0 or alpha <= 0:
            return
        mask = np.zeros((y1 - y0, x1 - x0), np.float32)
        p16 = np.round((poly - [x0, y0]) * 16).astype(np.int32)
        cv2.fillPoly(mask, [p16], 1.0, lineType=cv2.LINE_AA, shift=4)
        if sigma > 0:
            mask = cv2.GaussianBlur(mask, (0, 0), sigma)
        a = (alpha * mask)[..., None]
        roi = out[y0:y1, x0:x1]
        col = colour if np.ndim(colour) == 1 else colour[y0:y1, x0:x1]
        roi[...] = roi * (1 - a) + a * col

    def _fill_mouth(self, out: np.ndarray, tg: TargetGeometry) -> None:
        if tg.mouth_gap_target <= tg.mouth_gap_key:
            return
        lm = tg.landmarks
        ring = lm[_idx(INNER_LIP_RING)]
        up = lm[_idx([u for u, _ in INNER_LIP_PAIRS])]
        lo = lm[_idx([d for _, d in INNER_LIP_PAIRS])]
        gap_px = float(np.linalg.norm(up - lo, axis=1).max())
        if gap_px < MOUTH_MIN_GAP_PX:
            return
        alpha = float(np.clip(1.0 - tg.mouth_gap_key / tg.mouth_gap_target, 0.0, 1.0))
        alpha = alpha * float(np.clip((gap_px - MOUTH_MIN_GAP_PX) / 1.5, 0.0, 1.0))
        self._blend_polygon(out, ring, self._cavity, alpha)
        # a hint of the upper teeth: a band under the middle of the upper inner lip
        mid = up[1:-1]
        band = np.clip(0.28 * np.linalg.norm(up - lo, axis=1)[1:-1], 0.0, 6.0)
        down = (lo[1:-1] - mid) / np.maximum(np.linalg.norm(lo[1:-1] - mid, axis=1, keepdims=True), 1e-6)
        teeth = np.vstack([mid, (mid + down * band[:, None])[::-1]])
        if gap_px > 3.0:
            self._blend_polygon(out, teeth, self._teeth, 0.55 * alpha, sigma=0.7)

    def _fill_eyes(self, out: np.ndarray, tg: TargetGeometry) -> None:
        lm = tg.landmarks
        for eye, gain, colour in zip((EYE_LEFT, EYE_RIGHT), tg.eye_gain, self._lid_colour):
            alpha = float(np.clip((EYE_FILL_START - gain) / (EYE_FILL_START - EYE_FILL_FULL), 0.0, 1.0))
            if alpha <= 0:
                continue
            ring = lm[_idx(eye["ring"])]
            centre = ring.mean(axis=0)
            self._blend_polygon(out, centre + (ring - centre) * 1.08, colour, alpha)
            a, b = eye["corners"]
            lid = lm[_idx([a] + [d for _, d in eye["pairs"]] + [b])]   # the lower lid: where the lid closes
            upper = lm[_idx([a] + [u for u, _ in eye["pairs"]] + [b])]
            line = 0.5 * (lid + upper) if gain > EYE_FILL_FULL else 0.3 * upper + 0.7 * lid
            self._draw_lash(out, line, colour * 0.35, 0.8 * alpha)

    @staticmethod
    def _draw_lash(out: np.ndarray, line: np.ndarray, colour: np.ndarray, alpha: float) -> None:
        h, w = out.shape[:2]
        mask = np.zeros((h, w), np.float32)
        cv2.polylines(mask, [np.round(line * 16).astype(np.int32)], False, 1.0, thickness=1,
                      lineType=cv2.LINE_AA, shift=4)
        a = (alpha * mask)[..., None]
        ys, xs = np.nonzero(mask)
        if len(ys) == 0:
            return
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        roi = out[y0:y1, x0:x1]
        aa = a[y0:y1, x0:x1]
        roi[...] = roi * (1 - aa) + aa * colour
