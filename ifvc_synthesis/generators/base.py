"""The generator interface (spec 8.6, Annex E): what the decoder calls to synthesise frames.

A generator is identified in the sequence header by sh_generator_name (its ``name``) and
sh_generator_sha256_byte (its ``weights_sha256``; all zero for a generator without weights).
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Generator(Protocol):
    name: str               # goes into sh_generator_name, e.g. "ifvc-geometric-1"
    weights_sha256: bytes   # 32 bytes; all zero for a generator without weights

    def set_keyframe(self, key_rgb: np.ndarray, key_values: np.ndarray, geometry: bytes,
                     geometry_version: int) -> None:
        """A new key frame: its decoded picture (HxWx3 uint8), reference semantic values
        (float64, 14, table order), and geometry payload (kf_geometry_byte) with its
        kf_geometry_version."""
        ...

    def synthesize(self, target_values: np.ndarray) -> np.ndarray:
        """The frame with the given semantic values (float64, 14, table order): HxWx3 uint8."""
        ...
