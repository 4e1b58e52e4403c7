"""The mesh generator "ifvc-geometric-6" (spec Annex H.9, informative): ifvc-geometric-5
(Annex H.8) with the eyelid cover laid as Annex I.11 lays it for ifvc-flow-5.

H.5's cover of a closing eye runs from 0.05 eye widths above the target's upper lid to 0.03
above its lower lid, feathered with sigma 0.7, and where its rasterised strip does not cover a
pixel the feather blends in the key frame's sample at (0, 0): around every closed eye of a real
clip that draws a jagged outline in the colour of the picture's top-left corner, and the sliver
left open above the lower lid shows the eye white. I.11's cover reaches 0.15 eye widths above
the upper lid and down to the lower lid, is feathered with sigma 1.2, and continues the strip's
own texture into its feather (tests/test_flow_5_generator.py). Only frames where an eye's gain
is below EYE_FILL_START change; elsewhere the output is ifvc-geometric-5's, sample for sample.
No syntax change.
"""
from __future__ import annotations

from bitstream.generator_registry import GENERATOR_BY_NAME

from .geometric_5 import SharpEdgeMeshGenerator
from .mesh_features import FLOW_5_LIDS, LidStyle
from .registry import builtin_generator

NAME = "ifvc-geometric-6"


@builtin_generator(NAME)
class CleanLidMeshGenerator(SharpEdgeMeshGenerator):
    """Generator protocol (base.py): ifvc-geometric-5 with Annex I.11's eyelid cover (H.9)."""

    name = NAME
    weights_sha256 = GENERATOR_BY_NAME[NAME].weights_sha256      # all zero: no weights
    lids: LidStyle = FLOW_5_LIDS
