"""The generator interface (spec 8.6, Annex E): what the decoder calls to synthesise frames.

A generator is identified in the sequence header by sh_generator_name (its ``name``) and
sh_generator_sha256_byte (its ``weights_sha256``; all zero for a generator without weights).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from bitstream.structures import KEYFRAME_CODEC_VVC


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


@dataclass(frozen=True)
class Reference:
    """One entry of the reference store (spec A.5) as a generator sees it: a decoded key frame
    with its FrameIdx, picture (HxWx3 uint8), reference semantic values (float64, 14, table
    order; kf_ref_sem_level dequantised) and geometry payload."""
    frame_idx: int
    rgb: np.ndarray
    values: np.ndarray
    geometry: bytes
    geometry_version: int
    # the size of kf_picture_payload in bits when the picture is VVC-coded (Annex H.12 reads
    # it); None for a raw key picture or one that was never coded (a character)
    picture_bits: int | None = None


def coded_picture_bits(kf_codec_id: int, kf_picture_payload: bytes) -> int | None:
    """Reference.picture_bits of a key frame: 8 x the payload's bytes when the picture is
    VVC-coded (kf_codec_id 1), None for a raw picture (decoder, encoder and studies alike)."""
    return 8 * len(kf_picture_payload) if kf_codec_id == KEYFRAME_CODEC_VVC else None


@runtime_checkable
class MultiReferenceCapable(Protocol):
    """A generator that synthesises from several references (e.g. ifvc-geometric-2, Annex G.6).
    The decoder calls set_references( ) with the whole reference store after every key frame
    (oldest first) instead of set_keyframe( ); set_keyframe( ) keeps its single-reference
    meaning (the given key frame becomes the only reference)."""
    name: str
    weights_sha256: bytes

    def set_keyframe(self, key_rgb: np.ndarray, key_values: np.ndarray, geometry: bytes,
                     geometry_version: int) -> None: ...

    def set_references(self, references: Sequence[Reference]) -> None: ...

    def synthesize(self, target_values: np.ndarray) -> np.ndarray: ...


def use_references(generator: Generator, references: Sequence[Reference]) -> None:
    """Hands the reference store (oldest first) to a generator: the whole store to a
    multi-reference generator, the newest key frame to the others. The decoder and the
    encoder's adaptive refresh both call this, so both draw from the same references."""
    if not references:
        raise ValueError("no reference given")
    if isinstance(generator, MultiReferenceCapable):
        generator.set_references(references)
    else:
        r = references[-1]
        generator.set_keyframe(r.rgb, r.values, r.geometry, r.geometry_version)
