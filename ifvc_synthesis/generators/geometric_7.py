"""The mesh generator "ifvc-geometric-7" (spec Annex H.10, informative): ifvc-geometric-6
(Annex H.9) with a mouth interior toned after what real open mouths show.

H.5's cavity runs from lip · (0.45, 0.3, 0.3) at the lips to lip · (0.14, 0.07, 0.07) + (8, 2, 2)
at its centre, a dark maroon hole, with a grey teeth band at 0.8 of the fill's opacity. On the
train split's mouth-opening frames the source inside the decoder's inner-lip polygon is on
average much lighter and greyer than that (teeth, tongue and shadow mixed), and the hole scores
15.49 dB PSNR-RGB over the mouth region at key-frame QP 32 (16.97 with the tones below).
geometric-7's cavity is lighter and greyer (MouthStyle GEOMETRIC_7_MOUTH in mesh_features.py),
its depth ramp is smoothed (no staircase along the pixelised polygon), its edge and the neutral
teeth band are feathered with sigma 1.0, and the neutral band is drawn at half the fill's
opacity. Only frames where the mouth opens wider
than the key frame's change; elsewhere the output is ifvc-geometric-6's, sample for sample.
No syntax change.
"""
from __future__ import annotations

from bitstream.generator_registry import GENERATOR_BY_NAME

from .geometric_6 import CleanLidMeshGenerator
from .mesh_features import GEOMETRIC_7_MOUTH, MouthStyle
from .registry import builtin_generator

NAME = "ifvc-geometric-7"


@builtin_generator(NAME)
class ToneMouthMeshGenerator(CleanLidMeshGenerator):
    """Generator protocol (base.py): ifvc-geometric-6 with Annex H.10's mouth interior."""

    name = NAME
    weights_sha256 = GENERATOR_BY_NAME[NAME].weights_sha256      # all zero: no weights
    mouth: MouthStyle = GEOMETRIC_7_MOUTH
