"""Decoding process for semantic values (spec 8.3): dequantisation and the semantics MD5.

Levels are integers; a frame's level is the previous frame's level plus sem_res (the first
frame after a key frame predicts from kf_ref_sem_level; the prediction, with the interpolation
of sub-sampled groups, is semantic_temporal.unit_levels). Frames skipped by a frame index
delta are inferred: their levels equal the previous frame's. Values are level * 2**-p,
exact in binary floating point, so two conforming decoders agree bit for bit.
"""
from __future__ import annotations

import hashlib
import struct

import numpy as np

from .head_location import head_loc_cell
from .semantic_elements import ELEMENT_BY_NAME, NEUTRAL_VALUES
from .structures import SequenceHeader


def dequantize(level: int, precision: int) -> float:
    """SemValue = SemLevel / 2**SemPrecision (spec 8.3.5), exact in binary floating point."""
    return level / (1 << precision)


def values_from_levels(sh: SequenceHeader, levels: list[int], base: np.ndarray | None = None) -> np.ndarray:
    """The values of all elements of Table 3, indexed by element id (spec 8.3.5): signalled
    elements dequantised, the others taken from base (default: each element's neutral value,
    Table 3). Signalled ids beyond Table 3 are ignored. head_loc, when not signalled while
    head_tx and head_ty are, takes the cell derived from them (Annex B.3; spec 1.2), so a stream
    without it has the same values as one that carries it."""
    out = (np.array(NEUTRAL_VALUES, dtype=np.float64) if base is None
           else np.array(base, dtype=np.float64))
    for i, (eid, p) in enumerate(zip(sh.sh_sem_element_id, sh.sh_sem_precision)):
        if eid < len(out):
            out[eid] = dequantize(levels[i], p)
    ids = sh.sh_sem_element_id
    if _LOC not in ids and _TX in ids and _TY in ids:
        out[_LOC] = float(head_loc_cell(out[_TX], out[_TY]))
    return out


_TX, _TY, _LOC = (ELEMENT_BY_NAME[n].element_id for n in ("head_tx", "head_ty", "head_loc"))


def quantize(value: float, precision: int) -> int:
    """Encoder-side: nearest level, ties away from zero (informative)."""
    scaled = value * (1 << precision)
    return int(scaled + 0.5) if scaled >= 0 else -int(-scaled + 0.5)


def pack_levels(levels: list[int]) -> bytes:
    """One frame's contribution to the semantics MD5: per element in header order, a 32-bit
    little-endian two's-complement integer (spec 7.4.6)."""
    return struct.pack(f"<{len(levels)}i", *levels)


def semantics_md5(frames_levels: list[list[int]]) -> bytes:
    """MD5 over the levels of consecutive frames (spec 7.4.6)."""
    return md5_of_packed([pack_levels(levels) for levels in frames_levels])


def md5_of_packed(packed_frames: list[bytes]) -> bytes:
    """MD5 of packed frames in order (spec 7.4.6)."""
    md5 = hashlib.md5()
    for chunk in packed_frames:
        md5.update(chunk)
    return md5.digest()
