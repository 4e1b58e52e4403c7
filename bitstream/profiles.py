"""Profiles and levels (spec Annex A)."""
from __future__ import annotations

from dataclasses import dataclass

from .errors import BitstreamError
from .semantic_elements import BASELINE_ELEMENT_IDS, ELEMENT_BY_ID
from .structures import KEYFRAME_CODEC_RAW, KEYFRAME_CODEC_VVC, SequenceHeader

PROFILE_MAIN = 1
# Spec 1.2 (draft): the Compact profile carries the low-overhead tools of version 1.2 (compact
# sequence header, semantic-unit syntax 2, geometry payload 2). Its streams start with a unit
# type reserved in 1.1 (COMPACT_SEQUENCE_HEADER) or with a full header naming profile 2, so a
# 1.1 decoder rejects them instead of misreading them (spec 7.4.2).
PROFILE_COMPACT = 2
# The profiles whose streams may start with compact_sequence_header( ) (Annex A.2, A.4).
COMPACT_HEADER_PROFILES = frozenset({PROFILE_COMPACT})
PROFILE_NAMES = {PROFILE_MAIN: "Main", PROFILE_COMPACT: "Compact"}


def compact_tools(sh: SequenceHeader) -> bool:
    """True when the version 1.2 tools of the Compact profile apply to the stream (Annex A.4)."""
    return sh.sh_profile_idc == PROFILE_COMPACT


@dataclass(frozen=True)
class LevelLimits:
    level_idc: int
    max_pic_size: int            # max of sh_pic_width and sh_pic_height
    max_frame_rate: float        # frames per second
    max_frames_per_unit: int     # su_num_frames_minus1 + 1 (bounds the decoding delay)
    max_picture_payload: int     # bytes of kf_picture_byte
    max_geometry_payload: int    # bytes of kf_geometry_byte
    max_frame_idx_delta: int     # kf_frame_idx_delta, su_frame_idx_delta (inferred frames at once)
    max_hash_span: int           # MaxHashSpan: how far back (frames) a hash entry may reach
    max_inferred_per_byte: int   # MaxInferredPerByte: inferred frames per byte of stream so far
    max_ref_frames: int = 4      # MaxRefFrames: decoded key frames a decoder keeps (A.5, reference store)


LEVELS: dict[int, LevelLimits] = {
    10: LevelLimits(10, 256, 30.0, 16, 1 << 18, 1 << 14, 300, 1024, 1, 4),
    20: LevelLimits(20, 512, 60.0, 32, 1 << 20, 1 << 16, 600, 2048, 1, 4),
    30: LevelLimits(30, 1024, 60.0, 64, 1 << 22, 1 << 18, 600, 2048, 1, 4),
}
# The parser's bound on the hash window when it does not check the level (check_profile off).
MAX_HASH_SPAN_ANY_LEVEL = max(limits.max_hash_span for limits in LEVELS.values())


def level_limits(level_idc: int, unit: str = "SEQUENCE_HEADER") -> LevelLimits:
    limits = LEVELS.get(level_idc)
    if limits is None:
        raise BitstreamError(f"sh_level_idc {level_idc} is not a defined level "
                             f"(defined: {sorted(LEVELS)})", element="sh_level_idc", unit=unit)
    return limits


def max_ref_frames(level_idc: int) -> int:
    """MaxRefFrames of the level (Table A.1, A.5). A decoder that does not check the level
    (check_profile off) keeps as many as the smallest level allows."""
    limits = LEVELS.get(level_idc)
    return limits.max_ref_frames if limits else min(lim.max_ref_frames for lim in LEVELS.values())


def allowed_element_ids(profile_idc: int) -> frozenset[int]:
    """The sh_sem_element_id values a profile allows: Main the elements of version 1.1, ids
    0..13 (A.2); Compact all of Table 3, bg_tx and bg_ty too (A.4)."""
    return frozenset(ELEMENT_BY_ID) if profile_idc == PROFILE_COMPACT else frozenset(BASELINE_ELEMENT_IDS)


def check_sequence_header(sh: SequenceHeader) -> LevelLimits:
    """Profile and level constraints on the sequence header (spec A.3, A.4).
    Returns the level's limits for the checks made while parsing later units."""
    unit = "COMPACT_SEQUENCE_HEADER" if sh.compact_form else "SEQUENCE_HEADER"

    def fail(msg: str, element: str) -> BitstreamError:
        return BitstreamError(msg, element=element, unit=unit)

    if sh.sh_profile_idc not in PROFILE_NAMES:
        known = ", ".join(f"{name} = {idc}" for idc, name in PROFILE_NAMES.items())
        raise fail(f"sh_profile_idc {sh.sh_profile_idc} is not supported ({known})", "sh_profile_idc")
    profile = f"{PROFILE_NAMES[sh.sh_profile_idc]} profile"
    if sh.compact_form and sh.sh_profile_idc not in COMPACT_HEADER_PROFILES:
        raise fail(f"a {profile} stream starts with a SEQUENCE_HEADER unit, not "
                   "COMPACT_SEQUENCE_HEADER (compact_sequence_header( ) is the Compact profile's)",
                   "sh_profile_idc")
    # The Compact profile has the picture formats, key-frame codecs and elements of Main (A.4).
    if sh.sh_chroma_format_idc not in (1, 3):
        raise fail(f"{profile} needs sh_chroma_format_idc 1 (4:2:0) or 3 (4:4:4), got "
                   f"{sh.sh_chroma_format_idc}", "sh_chroma_format_idc")
    if sh.sh_bit_depth_minus8 != 0:
        raise fail(f"{profile} needs 8-bit output (sh_bit_depth_minus8 = 0)", "sh_bit_depth_minus8")
    if sh.sh_keyframe_codec_id not in (KEYFRAME_CODEC_RAW, KEYFRAME_CODEC_VVC):
        raise fail(f"sh_keyframe_codec_id {sh.sh_keyframe_codec_id} is not allowed in {profile}",
                   "sh_keyframe_codec_id")
    allowed = allowed_element_ids(sh.sh_profile_idc)
    for i, eid in enumerate(sh.sh_sem_element_id):
        if eid not in allowed:
            raise fail(f"sh_sem_element_id[{i}] = {eid} is not a {profile} element",
                       f"sh_sem_element_id[{i}]")
    limits = level_limits(sh.sh_level_idc, unit)
    if max(sh.sh_pic_width, sh.sh_pic_height) > limits.max_pic_size:
        raise fail(f"picture {sh.sh_pic_width}x{sh.sh_pic_height} exceeds level {sh.sh_level_idc} "
                   f"(max {limits.max_pic_size})", "sh_pic_width")
    if sh.frame_rate > limits.max_frame_rate:
        raise fail(f"frame rate {sh.frame_rate:g} exceeds level {sh.sh_level_idc} "
                   f"(max {limits.max_frame_rate:g})", "sh_frame_rate_num")
    return limits
