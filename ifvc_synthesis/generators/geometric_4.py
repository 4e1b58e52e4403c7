"""The mesh generator "ifvc-geometric-4" (spec Annex H.7, informative): ifvc-geometric-3
(Annex H) with a seamless background plate.

ifvc-geometric-3's plate (Annex G.4) is the key frame up to the person mask's edge and, inside
it, a push-pull fill with the background's rows mirrored in. Where an edit or the picture's
own motion uncovers it, the person's fringe left in the key frame just outside the mask
(a faint ring where the head was), the fill's jagged outline and the streaks of the mirrored
rows show. Here the guard band (the mask dilated by 3 pixels, whose samples carry the fringe)
belongs to the person layer, so the fringe moves with the person, and the plate under the
whole guard is a harmonic membrane (background_fill.harmonic_fill: Laplace's equation relaxed
coarse to fine) that meets the background colours at the guard's edge without a seam. At the
key pose the output is still the key frame. Everything else, the face mesh included, is
ifvc-geometric-3's.
"""
from __future__ import annotations

import numpy as np

from bitstream.generator_registry import GENERATOR_BY_NAME

from .background_fill import harmonic_fill
from .geometric_3 import MeshGenerator
from .layered import plate_guard
from .registry import builtin_generator

NAME = "ifvc-geometric-4"


@builtin_generator(NAME)
class SeamlessPlateMeshGenerator(MeshGenerator):
    """Generator protocol (base.py): ifvc-geometric-3 with Annex H.7's person layer and plate."""

    name = NAME
    weights_sha256 = GENERATOR_BY_NAME[NAME].weights_sha256      # all zero: no weights

    def _person_layer(self) -> np.ndarray:
        """Annex H.7: the key alpha is 1 on the guard G (the person mask dilated by PLATE_GUARD)."""
        return plate_guard(self.person_mask)

    def _make_plate(self) -> np.ndarray:
        """Annex H.7: HarmonicFill of the background outside G inside G, the key frame outside G."""
        guard = self.person_layer
        fill = harmonic_fill(self._key_float, (1 - guard).astype(np.float32))
        return np.where(guard[..., None] > 0, fill, self._key_float)
