"""The mesh generator "ifvc-geometric-8" (spec Annex H.11, informative): ifvc-geometric-7
(Annex H.10) with a person mask whose background is learnt beside the head.

Annex G.3 learns its background model B from every pixel outside the possible person P. Where
the person's shirt or jacket reaches the picture's sides below the chin, those pixels are
outside P, and the push-pull fill carries their colour into P: beside the head B is then far
from the real wall (a dark suit under a pale wall), the wall next to the head differs from B by
more than the threshold and becomes person, and it moves with the head (a pale band beside the
head, a ghost of the ear on the wall). ifvc-geometric-8 learns B, and the roughness that sets
the threshold, from the rows above the key frame's chin only, where what lies outside P is
background; below the chin the fill continues the background from above, so the shirt that P's
body region holds is person. Everything else is ifvc-geometric-7's. Where fewer than 16 pixels
outside P lie above the chin, B is learnt from all of them as in G.3 (the roughness's ring is
still cut at the chin while it has a pixel above it). No syntax change.
"""
from __future__ import annotations

from bitstream.generator_registry import GENERATOR_BY_NAME

from .geometric_7 import ToneMouthMeshGenerator
from .registry import builtin_generator

NAME = "ifvc-geometric-8"


@builtin_generator(NAME)
class ChinMaskMeshGenerator(ToneMouthMeshGenerator):
    """Generator protocol (base.py): ifvc-geometric-7 with Annex H.11's person mask."""

    name = NAME
    weights_sha256 = GENERATOR_BY_NAME[NAME].weights_sha256      # all zero: no weights
    mask_learnt_above_chin = True
