"""The mesh generator "ifvc-geometric-5" (spec Annex H.8, informative): ifvc-geometric-4
(Annex H.7) with a sharper kernel and a person that ends at the picture's edge.

Four changes, each to a place where ifvc-geometric-4 reads the key frame or its plate:
1. the face mesh's texture (own and mirrored) and the mouth and eyelid strips read the key
   frame with the clamped bicubic kernel (key_sampling.KeySampler: OpenCV's cubic convolution,
   a = -0.75, held within the range of the samples next to it) instead of the bilinear one:
   the VVC-coded key frame is already soft, and bilinear sampling at fractional positions
   softens the face once more. The person layer and the moved plate stay bilinear (bicubic
   there cost 1.5 ms a frame for 0.0004 of LPIPS);
2. the key alpha fades out over FADE_PX pixels beyond the key frame's top edge, and beyond its
   left and right edges above the key frame's chin: where the warp reaches past the picture
   there, geometric-4 replicated the edge row of hair into vertical streaks (the head moved
   down from a key frame that cuts the hair); below the chin the body still continues;
3. the person layer is absent where no triangle of IDI's field covers a pixel (the body grid
   turned away from a picture corner): its identity map showed the key frame's hair unmoved;
4. the plate moved by the background displacement (Annex G.5a) reflects the picture at its
   edges instead of replicating the edge samples (streaks on a camera pan).
At the key pose the output is still the key frame. No syntax change.
"""
from __future__ import annotations

import cv2
import numpy as np

from bitstream.generator_registry import GENERATOR_BY_NAME

from .geometric_4 import SeamlessPlateMeshGenerator
from .registry import builtin_generator

NAME = "ifvc-geometric-5"
FADE_PX = 6.0      # the key alpha falls linearly to 0 over this distance outside the key frame


@builtin_generator(NAME)
class SharpEdgeMeshGenerator(SeamlessPlateMeshGenerator):
    """Generator protocol (base.py): ifvc-geometric-4 with Annex H.8's kernel and edges."""

    name = NAME
    weights_sha256 = GENERATOR_BY_NAME[NAME].weights_sha256      # all zero: no weights
    texture_sampling = cv2.INTER_CUBIC
    plate_border = cv2.BORDER_REFLECT

    def key_alpha_at(self, map_x: np.ndarray, map_y: np.ndarray) -> np.ndarray:
        """Annex H.8 step 2: A_K sampled at (map_x, map_y) as in Annex G.5, times the edge fade
        (skipped when every position is inside the key frame, where F is 1)."""
        alpha = super().key_alpha_at(map_x, map_y)
        w = self._alpha_key.shape[1]
        if float(map_y.min()) >= 0.0 and float(map_x.min()) >= 0.0 and float(map_x.max()) <= w - 1:
            return alpha
        return alpha * self.edge_fade(map_x, map_y)

    def person_alpha_at(self, map_x: np.ndarray, map_y: np.ndarray, covered: np.ndarray) -> np.ndarray:
        """Annex H.8 step 3: 0 where no triangle of IDI's field covers the pixel (its identity
        map would show the key frame's person where it was)."""
        alpha = self.key_alpha_at(map_x, map_y)
        return alpha if covered.all() else np.where(covered, alpha, np.float32(0.0))

    def edge_fade(self, map_x: np.ndarray, map_y: np.ndarray) -> np.ndarray:
        """Annex H.8's F (HxW float32): 1 inside the key frame and below its chin row beside it,
        falling linearly to 0 at FADE_PX pixels above the top edge or, above the chin row,
        beside the left or right edge."""
        assert self.model is not None and self.key_rgb is not None
        w = self.key_rgb.shape[1]
        zero = np.float32(0.0)
        above = np.maximum(-map_y, zero)
        beside = np.maximum(np.maximum(-map_x, map_x - np.float32(w - 1)), zero)
        beside = np.where(map_y < np.float32(self.model.chin_y), beside, zero)
        return np.clip(np.float32(1.0) - np.maximum(above, beside) / np.float32(FADE_PX), zero, np.float32(1.0))
