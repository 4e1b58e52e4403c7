"""The layered geometric generator "ifvc-geometric-2" (spec Annex G, informative).

Picture = static background + moving person:
- the person layer is the key frame warped by a motion field like ifvc-geometric-1's (IDI,
  ifvc_synthesis/idi.py: face landmarks, head rings, neck points), except that the picture
  border anchors that pin geometric-1's field are replaced by a grid of body points that
  follow the head's 2D similarity motion with a smooth falloff below the chin (hair and ears
  move with the head, the neck partly, the shoulders a little);
- the person's alpha is the key frame's person mask (person_mask.py, derived at the decoder)
  warped by the same field;
- the background plate is the key frame outside the person and, inside it, a push-pull fill
  of the surrounding background with the background's texture mirrored in from beside the
  person (background_fill.py); it moves only as a whole, by the background displacement that
  the stream signals (bg_tx, bg_ty of Table 3, spec 1.2; Annex G.5a: a camera pan or tilt),
  and not at all in a stream without it.
Output = alpha * person + (1 - alpha) * plate, then geometric-1's mouth and eyelid fills.
Every output sample is a blend of key-frame samples (edge-replicated outside the picture)
and fill colours, so no pixel is ever left black; pixels the person covers in neither the
key frame nor the target frame show the key frame unchanged.
"""
from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from bitstream.generator_registry import GENERATOR_BY_NAME
from bitstream.semantic_elements import BG_TX_ID, BG_TY_ID

from ..idi import CONTOUR_IDS, KeyFrameModel, TargetGeometry, _idx
from .background_fill import textured_fill
from .geometric import GeometricGenerator
from ..key_sampling import KeySampler, support_box
from .multi_reference import MultiReferenceGenerator
from .person_mask import derive_person_mask, face_frame
from .registry import builtin_generator

NAME = "ifvc-geometric-2"
GRID_STEP = 32             # body grid spacing (pixels)
GRID_MARGIN = 64           # the grid extends this far beyond the picture
GRID_CLEARANCE = 10.0      # grid points closer than this to the head's control points are left out
SHOULDER_WEIGHT = 0.2      # share of the head's motion that the shoulders follow
FALLOFF_LENGTH = 0.9       # face heights below the chin over which the share falls to it
ALPHA_SIGMA = 1.0          # feathering of the person mask (pixels)
PLATE_GUARD = 3            # person mask dilation (pixels) whose samples do not feed the fill (halo)
DETAIL_SIGMA = 3.0         # the fill's texture: the background minus its local mean at this scale (pixels)
PLATE_BORDER = cv2.BORDER_REPLICATE   # samples of the moved plate outside the picture (G.5a)
DETAIL_FADE = 48.0         # ... continued this far (pixels) into the hole, fading to the smooth fill


def plate_guard(person_mask: np.ndarray) -> np.ndarray:
    """The person mask dilated by PLATE_GUARD pixels (Annex G.4's guard G, HxW uint8): its
    samples carry the person's fringe, so they never feed the fill."""
    return cv2.dilate(person_mask, np.ones((2 * PLATE_GUARD + 1,) * 2, np.uint8))


def similarity_2d(src: np.ndarray, dst: np.ndarray) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Least-squares 2D similarity dst ~ [[a, -b], [b, a]] (src - mu_s) + mu_d, closed form
    (no LAPACK): (a, b, mu_s, mu_d)."""
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    s, d = src - mu_s, dst - mu_d
    norm = float((s[:, 0] ** 2).sum() + (s[:, 1] ** 2).sum())
    if norm <= 1e-9:
        return 1.0, 0.0, mu_s, mu_d
    a = float((s[:, 0] * d[:, 0]).sum() + (s[:, 1] * d[:, 1]).sum()) / norm
    b = float((s[:, 0] * d[:, 1]).sum() - (s[:, 1] * d[:, 0]).sum()) / norm
    return a, b, mu_s, mu_d


def body_weight(y: np.ndarray, chin: float, face_height: float) -> np.ndarray:
    """Share of the head's motion at picture row y: 1 down to the chin, then a smoothstep
    falloff to SHOULDER_WEIGHT over FALLOFF_LENGTH face heights."""
    t = np.clip((y - chin) / (FALLOFF_LENGTH * face_height), 0.0, 1.0)
    return 1.0 - (1.0 - SHOULDER_WEIGHT) * (t * t * (3.0 - 2.0 * t))


class LayeredKeyFrameModel(KeyFrameModel):
    """IDI of geometric-1 with the border anchors replaced by the body grid (Annex G.2)."""

    key_background = np.zeros(2)    # the reference's (bg_tx, bg_ty); set by LayeredGenerator

    def _build_outer_points(self) -> None:
        super()._build_outer_points()
        w, h = self.width, self.height
        _, _, _, fh, _, chin = face_frame(self.key_landmarks)
        self.chin_y, self.face_height = chin, fh
        head = np.vstack([self.key_landmarks, self.outer_key_px[:, :2]]).astype(np.float32)
        hull = cv2.convexHull(head)
        xs = np.arange(-GRID_MARGIN, w + GRID_MARGIN + 1, GRID_STEP, dtype=np.float64) - 0.5
        ys = np.arange(-GRID_MARGIN, h + GRID_MARGIN + 1, GRID_STEP, dtype=np.float64) - 0.5
        grid = [(x, y) for y in ys for x in xs
                if cv2.pointPolygonTest(hull, (float(x), float(y)), True) < -GRID_CLEARANCE]
        self.border_px = np.array(grid, np.float64).reshape(-1, 2)     # the base class meshes these
        self.grid_weight = body_weight(self.border_px[:, 1], chin, fh)

    def target_geometry(self, values: np.ndarray) -> TargetGeometry:
        tg = super().target_geometry(values)
        contour = _idx(CONTOUR_IDS)
        a, b, mu_s, mu_d = similarity_2d(self.key_landmarks[contour], tg.landmarks[contour])
        g = self.border_px - mu_s
        moved = np.stack([a * g[:, 0] - b * g[:, 1], b * g[:, 0] + a * g[:, 1]], axis=1) + mu_d
        n = len(self.border_px)
        body = self.border_px + self.grid_weight[:, None] * (moved - self.border_px)
        # the share of the body that does not follow the head stays with the background, which
        # the camera may move (bg_tx, bg_ty: Annex G.5a)
        shift = (np.asarray(values, np.float64)[[BG_TX_ID, BG_TY_ID]] - self.key_background) * (self.width, self.height)
        if shift[0] != 0.0 or shift[1] != 0.0:
            body = body + (1.0 - self.grid_weight)[:, None] * shift
        tg.points[len(tg.points) - n:] = body
        return tg


class LayeredGenerator(GeometricGenerator):
    """Generator protocol (base.py), one reference; geometric-1's key-frame colours and mouth /
    eye fills. The registered ifvc-geometric-2 is this class over several references
    (multi_reference.py, Annex G.6): with one key frame, byte for byte this class's output."""

    name = NAME
    weights_sha256 = GENERATOR_BY_NAME[NAME].weights_sha256      # all zero: no weights
    model_class = LayeredKeyFrameModel
    plate_border: int = PLATE_BORDER     # samples of the moved plate outside the picture (G.5a)
    mask_learnt_above_chin: bool = False  # G.3 steps 3-4 from the rows above the chin (Annex H.11)

    def __init__(self, mask_source: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        """mask_source (studies only, tools/generator_compare.py): a function of the key frame
        that returns its person mask (HxW, nonzero = person) in place of the derived one, to
        measure what a mask sent by the encoder would give (not in the syntax)."""
        super().__init__()
        self.mask_source = mask_source

    def set_keyframe(self, key_rgb: np.ndarray, key_values: np.ndarray, geometry: bytes,
                     geometry_version: int) -> None:
        super().set_keyframe(key_rgb, key_values, geometry, geometry_version)
        assert self.model is not None and self.key_rgb is not None
        self._key_sampler = KeySampler(self._key_float, self.sampling)
        if self.mask_source is None:
            self.person_mask = derive_person_mask(self.key_rgb, self.model.key_landmarks,
                                                  learn_above_chin=self.mask_learnt_above_chin)
        else:
            self.person_mask = (np.asarray(self.mask_source(self.key_rgb)) > 0).astype(np.uint8)
        # alpha is 1 on the person layer and feathered outside it only, where the plate is the
        # key frame: at the key pose the output is the key frame
        self.person_layer = self._person_layer()
        layer = self.person_layer.astype(np.float32)
        self._alpha_key = np.maximum(layer, cv2.GaussianBlur(layer, (0, 0), ALPHA_SIGMA,
                                                             borderType=cv2.BORDER_REPLICATE))
        self.plate = self._make_plate()
        # made here, not when the plate first moves: the encoder draws pictures on several
        # threads at once (ref_encoder/draw_ahead.py), so synthesis only reads the generator
        self._plate_sampler = KeySampler(self.plate, self.sampling)
        self.model.key_background = self._values(key_values)[[BG_TX_ID, BG_TY_ID]]

    def _person_layer(self) -> np.ndarray:
        """Where the key alpha A_K is 1 (HxW uint8): the person mask M (Annex G.4)."""
        return self.person_mask

    def _make_plate(self) -> np.ndarray:
        """The background plate (Annex G.4): TexturedFill of the background outside the guard
        inside the mask, the key frame elsewhere."""
        guard = plate_guard(self.person_mask)
        fill = textured_fill(self._key_float, (1 - guard).astype(np.float32), DETAIL_SIGMA, DETAIL_FADE)
        return np.where(self.person_mask[..., None] > 0, fill, self._key_float)

    def background_shift(self, target_values: np.ndarray) -> tuple[float, float]:
        """(dx, dy) in pixels that the plate moves by in the target frame (Annex G.5a): the
        target's background displacement minus the key frame's, in picture widths / heights."""
        assert self.key_rgb is not None and self.model is not None
        h, w = self.key_rgb.shape[:2]
        d = self._values(target_values)[[BG_TX_ID, BG_TY_ID]] - self.model.key_background
        return float(d[0] * w), float(d[1] * h)

    def shifted_plate(self, target_values: np.ndarray) -> np.ndarray:
        """The plate of the target frame (Annex G.5a): the key frame's plate sampled bilinearly
        (Annex E.4) at (x - dx, y - dy), edge samples replicated (plate_border; Annex H.8
        reflects them); the plate itself when the shift is zero (every stream without bg_tx
        and bg_ty)."""
        dx, dy = self.background_shift(target_values)
        if dx == 0.0 and dy == 0.0:
            return self.plate
        h, w = self.plate.shape[:2]
        map_x = np.broadcast_to(np.arange(w, dtype=np.float32)[None, :] - np.float32(dx), (h, w))
        map_y = np.broadcast_to(np.arange(h, dtype=np.float32)[:, None] - np.float32(dy), (h, w))
        return self._plate_sampler.sample(np.ascontiguousarray(map_x), np.ascontiguousarray(map_y),
                                          self.plate_border)

    def _layered_float(self, target_values: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, TargetGeometry]:
        """The layered picture (G.5) before rounding and before the mouth and eye fills (which
        the mesh generator of Annex H replaces with its own), with the motion field."""
        out, map_x, map_y, _, tg = self._layers(target_values)
        return out, map_x, map_y, tg

    def _layers(self, target_values: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, TargetGeometry]:
        """_layered_float() with the target person alpha (HxWx1 float32) it composited with."""
        tg = self.target_geometry(target_values)
        assert self.model is not None
        map_x, map_y, covered = self.model.motion_field_with_coverage(tg)
        alpha = self.person_alpha_at(map_x, map_y, covered)
        # where alpha is 0 the plate shows as it is: read the key frame inside alpha's box only
        person = self._key_sampler.sample(map_x, map_y, box=support_box(alpha > 0, 0))
        alpha = alpha[..., None]
        plate = self.shifted_plate(target_values)
        return plate + alpha * (person - plate), map_x, map_y, alpha, tg

    def synthesize_with_field(self, target_values: np.ndarray
                              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, TargetGeometry]:
        out, map_x, map_y, tg = self._layered_float(target_values)
        self._fill_mouth(out, tg)
        self._fill_eyes(out, tg)
        return np.clip(np.floor(out + 0.5), 0, 255).astype(np.uint8), map_x, map_y, tg

    def person_alpha(self, target_values: np.ndarray) -> np.ndarray:
        """The target frame's person alpha (HxW float32 in [0, 1]): for studies and tests."""
        assert self.model is not None
        map_x, map_y, covered = self.model.motion_field_with_coverage(self.target_geometry(target_values))
        return self.person_alpha_at(map_x, map_y, covered)

    def person_alpha_at(self, map_x: np.ndarray, map_y: np.ndarray, covered: np.ndarray) -> np.ndarray:
        """The person layer's alpha for IDI's field (map_x, map_y) and its coverage (Annex G.5
        step 2): the key alpha there, on covered and uncovered pixels alike."""
        return self.key_alpha_at(map_x, map_y)

    def key_alpha_at(self, map_x: np.ndarray, map_y: np.ndarray) -> np.ndarray:
        """The key alpha A_K sampled at the key-frame positions (map_x, map_y) (Annex G.5 step 2):
        bilinear, edge samples replicated (HxW float32)."""
        return cv2.remap(self._alpha_key, map_x, map_y, interpolation=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)


@builtin_generator(NAME)
def layered_multi_reference() -> MultiReferenceGenerator:
    """ifvc-geometric-2 as the decoder and the encoder make it: the layered generator over
    the reference store (Annex G.6)."""
    return MultiReferenceGenerator(LayeredGenerator, NAME, LayeredGenerator.weights_sha256)
