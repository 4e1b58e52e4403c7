"""Building blocks of the conformance streams: sequence headers, deterministic synthetic key
pictures, level trajectories, and a writer wrapper that also lets bad or reserved units be
spliced in. Everything here is integer arithmetic or seeded, so streams regenerate exactly."""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from bitstream.picture_format import rgb_to_yuv420, yuv420_planar_bytes
from bitstream.semantic_elements import BASELINE_ELEMENT_IDS, ELEMENT_BY_ID, SEMANTIC_ELEMENTS
from bitstream.semantic_reconstruction import quantize
from bitstream.stream import StreamWriter
from bitstream.structures import (
    ENTROPY_CABAC,
    ENTROPY_EXP_GOLOMB,
    KEYFRAME_CODEC_RAW,
    KEYFRAME_CODEC_VVC,
    SequenceHeader,
)
from bitstream.syntax_coder import SyntaxWriter
from bitstream.units import frame_unit
from conformance.synthetic_semantics import synthetic_trajectories

# The generator the suite's streams name unless a builder names another: the encoder's default
# when the suite was made, pinned here so that a new default does not change the committed streams.
GENERATOR = "ifvc-geometric-1"
ALL_IDS = list(BASELINE_ELEMENT_IDS)   # the 1.0 table (the suite's streams predate bg_tx, bg_ty)
# Precisions of the suite's streams when a builder gives none: Table 3's default precisions
# when the suite was made, pinned here because those defaults are informative and may change
# (a change must not silently change the committed streams).
DEFAULT_P = [1, 1, 1, 7, 7, 6, 0, 4, 4, 7, 6, 3, 3, 3]
MAX_P = [e.max_precision for e in SEMANTIC_ELEMENTS]
ENTROPY_NAMES = {ENTROPY_EXP_GOLOMB: "exp-golomb", ENTROPY_CABAC: "cabac"}


@dataclass
class Built:
    """One conformance stream and what its description file says about how it was made."""
    name: str
    data: bytes
    sh: SequenceHeader              # the header as written (may be deliberately invalid)
    purpose: str
    exercises: list[str]
    how_made: str
    outcome: str                    # suite_format.OUTCOMES
    error_substring: str | None = None
    skipped_unit_types: list[int] = field(default_factory=list)
    needs_shared: bool = False      # regenerating it needs ../shared/data (a real face clip)
    needs_vvenc: bool = False       # regenerating it needs ffmpeg with libvvenc
    source: str | None = None       # the clip a real key frame was taken from


def header(*, entropy: int = ENTROPY_CABAC, ids: list[int] | None = None,
           precisions: list[int] | None = None, width: int = 32, height: int = 32,
           chroma: int = 3, codec: int = KEYFRAME_CODEC_RAW, level: int = 10,
           fps: tuple[int, int] = (25, 1), num_frames: int = 0, **kw: object) -> SequenceHeader:
    ids = list(ALL_IDS if ids is None else ids)
    if precisions is None:
        precisions = [DEFAULT_P[e] for e in ids]
    sh = SequenceHeader(sh_level_idc=level, sh_pic_width=width, sh_pic_height=height,
                        sh_frame_rate_num=fps[0], sh_frame_rate_den=fps[1], sh_num_frames=num_frames,
                        sh_chroma_format_idc=chroma, sh_entropy_coding_mode=entropy,
                        sh_keyframe_codec_id=codec, sh_sem_element_id=ids,
                        sh_sem_precision=list(precisions), sh_generator_name=GENERATOR)
    for k, v in kw.items():
        if not hasattr(sh, k):
            raise AttributeError(k)
        setattr(sh, k, v)
    return sh


def test_rgb(width: int, height: int, variant: int = 0) -> np.ndarray:
    """A smooth, slightly textured RGB picture from integer formulas only (no RNG)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.int64)
    r = (x * 200 // max(width - 1, 1) + 30 + 17 * variant) % 256
    g = (y * 180 // max(height - 1, 1) + 40 + 29 * variant) % 256
    b = (((x // 4) ^ (y // 4)) * 23 + 60 + 41 * variant) % 256
    return np.stack([r, g, b], axis=-1).astype(np.uint8)


def raw_picture(sh: SequenceHeader, variant: int = 0) -> bytes:
    """kf_picture_byte of a raw key frame in the stream's output format (spec 8.4.1)."""
    rgb = test_rgb(sh.sh_pic_width, sh.sh_pic_height, variant)
    if sh.sh_chroma_format_idc == 3:
        return np.ascontiguousarray(rgb.transpose(2, 0, 1)).tobytes()
    return yuv420_planar_bytes(*rgb_to_yuv420(rgb))


def raw_keyframe_md5(sh: SequenceHeader, picture: bytes) -> bytes:
    """Spec 7.4.6 hu_entry_type 1 of a raw key frame: its samples in the output format."""
    return hashlib.md5(picture).digest()


def trajectory_levels(sh: SequenceHeader, num_frames: int, seed: int) -> list[list[int]]:
    """Synthetic talking-head trajectories (tools/synthetic_semantics), quantised at the
    stream's precisions for its signalled elements and clipped to their level ranges; the
    background displacement (bg_tx, bg_ty), which the face trajectories lack, as a slow pan
    and tilt of up to 3 % of the picture."""
    values = synthetic_trajectories(num_frames, fps=sh.frame_rate, seed=seed)
    out = []
    for k, row in enumerate(values):
        levels = []
        for i, (eid, p) in enumerate(zip(sh.sh_sem_element_id, sh.sh_sem_precision)):
            lo, hi = sh.level_bounds(i)
            value = float(row[eid]) if eid < len(row) else 0.03 * np.sin(2 * np.pi * k / max(num_frames, 1) + eid)
            levels.append(min(max(quantize(value, p), lo), hi))
        out.append(levels)
    return out


def neutral_levels(sh: SequenceHeader) -> list[int]:
    """Levels of a neutral face (eyes open, head straight and centred)."""
    out = []
    for eid, p in zip(sh.sh_sem_element_id, sh.sh_sem_precision):
        name = ELEMENT_BY_ID[eid].name
        value = {"eye_blink_left": 1.0, "eye_blink_right": 1.0, "mouth_width": 0.38,
                 "head_loc": 5.0}.get(name, 0.0)
        out.append(quantize(value, p))
    return out


class Assembler:
    """A StreamWriter whose units are collected in order, so that reserved or deliberately
    broken units can be put between them."""

    def __init__(self, sh: SequenceHeader) -> None:
        self.writer = StreamWriter(sh)
        self.sh = sh
        self.units: list[bytes] = [self.writer.getvalue()]

    def keyframe(self, picture: bytes, levels: list[int], **kw: object) -> int:
        idx_before = self.writer.next_frame_idx + int(kw.get("frame_idx_delta", 0))  # type: ignore[call-overload]
        self.units.append(self.writer.keyframe(picture, levels, **kw))  # type: ignore[arg-type]
        return idx_before

    def semantic(self, frames: list[list[int]], delta: int = 0, extension_data: bytes = b"") -> None:
        self.units.append(self.writer.semantic_unit(frames, frame_idx_delta=delta,
                                                    extension_data=extension_data))

    def semantics_in_units(self, frames: list[list[int]], per_unit: int, *,
                           hash_every_unit: bool = False, per_frame_hash: bool = False,
                           extension_data: Callable[[int], bytes] | None = None) -> None:
        """extension_data(k): the su_extension_data_byte of the k-th unit (spec 7.3.5)."""
        for k, start in enumerate(range(0, len(frames), per_unit)):
            self.semantic(frames[start:start + per_unit],
                          extension_data=extension_data(k) if extension_data else b"")
            if hash_every_unit:
                self.hash(per_frame=per_frame_hash)

    def hash(self, keyframe_md5: dict[int, bytes] | None = None, per_frame: bool = False) -> None:
        self.units.append(self.writer.hash_unit(keyframe_md5=keyframe_md5, per_frame=per_frame))

    def end(self) -> None:
        self.units.append(self.writer.end_of_sequence())

    def raw_unit(self, unit_type: int, payload: bytes) -> None:
        self.units.append(frame_unit(unit_type, payload))

    def getvalue(self) -> bytes:
        return b"".join(self.units)


class UncheckedWriter(SyntaxWriter):
    """Writes values outside their ranges, to build non-conforming streams."""

    def _check(self, name, value, lo, hi):  # type: ignore[no-untyped-def, override]
        return None


def coded_unit(unit_type: int, code: Callable[[SyntaxWriter], object],
               writer: type[SyntaxWriter] = UncheckedWriter) -> bytes:
    c = writer()
    code(c)
    return frame_unit(unit_type, c.getvalue())


def codec_name(codec: int) -> str:
    return {KEYFRAME_CODEC_RAW: "raw", KEYFRAME_CODEC_VVC: "vvc"}.get(codec, f"reserved {codec}")
