"""Shared by the bitstream demo and benchmark: code synthetic trajectories into a stream."""
from __future__ import annotations

import numpy as np

from bitstream.semantic_elements import BASELINE_ELEMENT_IDS, ELEMENT_BY_ID
from bitstream.stream import StreamWriter
from bitstream.structures import KEYFRAME_CODEC_RAW, SequenceHeader
from bitstream.units import UnitType

from conformance.synthetic_semantics import quantize_trajectories


def demo_keyframe(width: int = 256, height: int = 256) -> bytes:
    """A smooth synthetic RGB planar picture (the raw key-frame codec)."""
    y, x = np.mgrid[0:height, 0:width]
    planes = [(x * 255 // max(width - 1, 1)), (y * 255 // max(height - 1, 1)), ((x + y) * 127 // max(width + height - 2, 1))]
    return np.stack(planes).astype(np.uint8).tobytes()


def baseline_header(entropy_mode: int, num_frames: int) -> SequenceHeader:
    ids = list(BASELINE_ELEMENT_IDS)
    return SequenceHeader(sh_entropy_coding_mode=entropy_mode, sh_keyframe_codec_id=KEYFRAME_CODEC_RAW,
                          sh_num_frames=num_frames, sh_sem_element_id=ids,
                          sh_sem_precision=[ELEMENT_BY_ID[e].default_precision for e in ids],
                          sh_generator_name="none")


def code_trajectories(values: np.ndarray, entropy_mode: int, frames_per_unit: int,
                      with_hash: bool = True) -> tuple[bytes, StreamWriter, list[list[int]]]:
    """Frame 0 is the key frame (its levels are the reference semantics); the others go into
    semantic units of frames_per_unit frames."""
    sh = baseline_header(entropy_mode, len(values))
    levels = quantize_trajectories(values, sh.sh_sem_precision)
    w = StreamWriter(sh)
    w.keyframe(demo_keyframe(), levels[0])
    for start in range(1, len(levels), frames_per_unit):
        w.semantic_unit(levels[start:start + frames_per_unit])
        if with_hash:
            w.hash_unit()
    w.end_of_sequence()
    return w.getvalue(), w, levels


def semantic_bits(writer: StreamWriter) -> int:
    """All bits of the semantic units, framing included."""
    return sum(8 * r.num_bytes for r in writer.records if r.unit_type == UnitType.SEMANTIC)
