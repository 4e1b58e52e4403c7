"""Synthetic facial-semantic trajectories with realistic dynamics, for bitstream
measurements and demos when no analysed video is at hand, and their coding into a stream
(used by the conformance suite, the bitstream demo and benchmark, and the rate study).

Head pose drifts smoothly (an AR(2) process, a damped oscillator driven by noise), eyes blink
every few seconds, the mouth opens and closes at speech rates, and every element carries
measurement noise of the size seen in landmark-based analysis.
"""
from __future__ import annotations

import numpy as np

from bitstream.semantic_elements import BASELINE_ELEMENT_IDS, ELEMENT_BY_ID
from bitstream.semantic_reconstruction import quantize
from bitstream.stream import StreamWriter
from bitstream.structures import KEYFRAME_CODEC_RAW, SequenceHeader
from bitstream.units import UnitType

# element name -> (mean, slow-motion std, measurement-noise std), in the element's unit
_DYNAMICS: dict[str, tuple[float, float, float]] = {
    "head_yaw": (0.0, 6.0, 0.25), "head_pitch": (-3.0, 4.0, 0.25), "head_roll": (0.0, 3.0, 0.15),
    "head_tx": (0.0, 0.03, 0.0015), "head_ty": (0.05, 0.02, 0.0015), "head_tz": (0.0, 0.05, 0.004),
    "mouth_width": (0.38, 0.02, 0.004), "mouth_shape_1": (0.0, 0.3, 0.03),
    "mouth_shape_2": (0.0, 0.2, 0.03), "mouth_shape_3": (0.0, 0.15, 0.03),
}


def _smooth_walk(rng: np.random.Generator, n: int, std: float, pole: float = 0.97) -> np.ndarray:
    """AR(2) with a double pole: smooth, bounded motion whose stationary std is about std."""
    x = np.zeros(n)
    e = rng.normal(0.0, 1.0, n)
    for t in range(2, n):
        x[t] = 2 * pole * x[t - 1] - pole * pole * x[t - 2] + e[t]
    return x * (std / max(x.std(), 1e-9))


# The face's elements (ids 0..13, the table of versions 1.0 and 1.1): the trajectories and the
# streams made from them have no background displacement.
_FACE = tuple(ELEMENT_BY_ID[i] for i in BASELINE_ELEMENT_IDS)


def synthetic_trajectories(num_frames: int = 250, fps: float = 25.0, seed: int = 0) -> np.ndarray:
    """num_frames x 14 array of the face's element values (ids 0..13, element-table order)."""
    rng = np.random.default_rng(seed)
    out = np.zeros((num_frames, len(_FACE)))
    t = np.arange(num_frames) / fps
    for j, el in enumerate(_FACE):
        if el.name in _DYNAMICS:
            mean, slow, noise = _DYNAMICS[el.name]
            out[:, j] = mean + _smooth_walk(rng, num_frames, slow) + rng.normal(0, noise, num_frames)
    blink = np.ones(num_frames)
    for start in np.cumsum(rng.uniform(2.0, 5.0, 20) * fps).astype(int):
        for k, v in enumerate((0.6, 0.1, 0.05, 0.4, 0.85)):
            if start + k < num_frames:
                blink[start + k] = v
    for name in ("eye_blink_left", "eye_blink_right"):
        j = next(i for i, e in enumerate(_FACE) if e.name == name)
        out[:, j] = blink + rng.normal(0, 0.02, num_frames)
    j_mouth = next(i for i, e in enumerate(_FACE) if e.name == "mouth_open")
    syllables = np.abs(np.sin(2 * np.pi * 2.5 * t + _smooth_walk(rng, num_frames, 1.0)))
    talking = (_smooth_walk(rng, num_frames, 1.0) > -0.5).astype(float)
    out[:, j_mouth] = 0.02 + 0.18 * syllables * talking + rng.normal(0, 0.005, num_frames)
    j_tx = next(i for i, e in enumerate(_FACE) if e.name == "head_tx")
    j_ty = j_tx + 1
    j_loc = next(i for i, e in enumerate(_FACE) if e.name == "head_loc")
    cx = np.clip(np.floor((out[:, j_tx] + 0.5) * 4), 0, 3)
    cy = np.clip(np.floor((out[:, j_ty] + 0.5) * 4), 0, 3)
    out[:, j_loc] = cy * 4 + cx
    for j, el in enumerate(_FACE):
        out[:, j] = np.clip(out[:, j], el.min_value, el.max_value)
    return out


def quantize_trajectories(values: np.ndarray, precisions: list[int]) -> list[list[int]]:
    return [[quantize(float(v), p) for v, p in zip(row, precisions)] for row in values]


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
