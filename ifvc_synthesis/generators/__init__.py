"""Generators of the reference decoder (spec 8.6, Annex E) and their registry (registry.py).

    gen = get_generator("ifvc-geometric-1")
    gen.set_keyframe(key_rgb, key_values, geometry_bytes, geometry_version)
    frame = gen.synthesize(target_values)

Importing this package registers the built-in generators: each module registers itself.
"""
from __future__ import annotations

from . import learned_registration  # noqa: F401 - registers ifvc-refine-1 and ifvc-flow-1 (weights shipped)
from .base import Generator, MultiReferenceCapable, Reference, coded_picture_bits, use_references
from .geometric import GeometricGenerator
from .geometric_3 import MeshGenerator
from .geometric_4 import SeamlessPlateMeshGenerator
from .geometric_5 import SharpEdgeMeshGenerator
from .geometric_6 import CleanLidMeshGenerator
from .geometric_7 import ToneMouthMeshGenerator
from .geometric_8 import ChinMaskMeshGenerator
from .geometric_9 import RestoredKeyMeshGenerator
from .geometric_10 import TextureRestoredKeyMeshGenerator
from .layered import LayeredGenerator
from .multi_reference import MultiReferenceGenerator
from .registry import get_generator, known_generators, register_generator, shipped_weights

__all__ = ["ChinMaskMeshGenerator", "CleanLidMeshGenerator", "GeometricGenerator", "Generator", "LayeredGenerator",
           "MeshGenerator", "MultiReferenceCapable", "MultiReferenceGenerator", "Reference", "RestoredKeyMeshGenerator",
           "SeamlessPlateMeshGenerator",
           "SharpEdgeMeshGenerator", "TextureRestoredKeyMeshGenerator", "ToneMouthMeshGenerator", "coded_picture_bits", "get_generator", "known_generators",
           "register_generator", "shipped_weights", "use_references"]
