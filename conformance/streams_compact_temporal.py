"""Conformance streams of the temporal resolution of the semantics (Compact profile, spec 1.2
draft 7.2a, 7.3.5a, 8.3.4): compact_temporal_* (decode) and neg_compact_temporal_* (error).

- every group at its own period (head 3, eyes 2, mouth 4), units whose frame count is and is not
  a multiple of the period, a unit of 1 frame, frame index deltas, a key-frame refresh, hash
  units over interpolated levels; CABAC (compact header) and Exp-Golomb (full header);
- the head alone at period 2: frames that code nothing (no sf_skip_flag), CABAC with the
  parsing state initialised at every unit and Exp-Golomb;
- a negative: Exp-Golomb su_num_frames_minus1 above the level's frames per unit.
The real streams of the reference encoder (compact_sem_*_rdoq, face_geometry2_compact_cabac)
carry the encoder's default, the head at period 3.
"""
from __future__ import annotations

from bitstream.head_location import head_loc_cell_from_levels
from bitstream.profiles import PROFILE_COMPACT
from bitstream.semantic_groups import GROUP_EYES, GROUP_HEAD, GROUP_MOUTH, NUM_SEM_GROUPS
from bitstream.semantic_temporal import interpolate_unit, unit_residuals
from bitstream.structures import (ENTROPY_CABAC, ENTROPY_EXP_GOLOMB, SemanticFrame, SemanticUnit,
                                  SequenceHeader, code_semantic_unit)
from bitstream.units import UnitType

from .stream_kit import Assembler, Built, coded_unit, header, raw_keyframe_md5, raw_picture, trajectory_levels
from .suite_format import DECODE, ERROR

EG, CABAC = ENTROPY_EXP_GOLOMB, ENTROPY_CABAC
MODE = {EG: "eg", CABAC: "cabac"}


def _sh(entropy: int, periods: dict[int, int], **kw: object) -> SequenceHeader:
    minus1 = [0] * NUM_SEM_GROUPS
    for g, p in periods.items():
        minus1[g] = p - 1
    return header(entropy=entropy, sh_profile_idc=PROFILE_COMPACT, sh_sem_temporal_flag=1,  # type: ignore[arg-type]
                  sh_sem_group_period_minus1=minus1, **kw)


def _unit(a: Assembler, wanted: list[list[int]], delta: int = 0) -> list[list[int]]:
    """Writes a unit whose anchors carry the wanted levels (the frames between: interpolated)."""
    prev = a.writer.state.prev_levels
    assert prev is not None
    levels = interpolate_unit(a.sh, prev, wanted)
    a.semantic(levels, delta=delta)
    return levels


def _periods(mode: int) -> Built:
    sh = _sh(mode, {GROUP_HEAD: 3, GROUP_EYES: 2, GROUP_MOUTH: 4}, compact_form=int(mode == CABAC))
    wanted = trajectory_levels(sh, 40, 31)
    for row in wanted[20:24]:              # a large head turn between two anchors
        row[0] = min(row[0] + 300, sh.level_bounds(0)[1])
    ptx = sh.sh_sem_precision[3]
    for t, row in enumerate(wanted):       # head_tx sweeps across the 4x4 grid: head_loc between
        row[3] = ((t * 2 - 40) << ptx) // 45           # anchors is derived from it (8.3.4)
        row[6] = head_loc_cell_from_levels(row[3], ptx, row[4], sh.sh_sem_precision[4])
    cuts = [8, 8, 1, 5, 12, 5]             # 40 semantic frames; off the periods and on them
    sh.sh_num_frames = 1 + 39 + 1 + 2 + 1 + 1   # key frame, 39 frames, refresh key frame, deltas 2 and 1, last unit
    a = Assembler(sh)
    pic0, pic1 = raw_picture(sh, 0), raw_picture(sh, 1)
    a.keyframe(pic0, wanted[0])
    a.hash(keyframe_md5={0: raw_keyframe_md5(sh, pic0)})
    pos, last = 1, wanted[0]
    for k, size in enumerate(cuts):
        if k == 3:                         # refresh: the next unit predicts from the key frame
            a.keyframe(pic1, last)
        chunk = wanted[pos:pos + size]
        if not chunk:
            break
        last = _unit(a, chunk, delta=2 if k == 4 else 0)[-1]
        pos += size
        if k == 1:
            a.hash()                       # covers interpolated levels
    a.hash()
    _unit(a, [wanted[-1]], delta=1)
    a.end()
    form = "compact sequence header" if mode == CABAC else "full sequence header"
    exercises = ["sh_sem_temporal_flag=1", "sh_sem_group_period_minus1 = 2, 1, 3 (head, eyes, mouth)",
                 "IsAnchor: every SemPeriod-th frame and the unit's last frame",
                 "FrameGroupList with 1, 2 and 3 groups", "interpolated levels (8.3.4), rising and falling",
                 "head_loc between anchors: the cell of the interpolated head_tx / head_ty",
                 "units of 8, 1, 5 and 12 frames", "su_frame_idx_delta=2 and 1", "key-frame refresh",
                 "hash units over interpolated levels", form]
    if mode == EG:
        exercises.append("su_num_frames_minus1 in Exp-Golomb mode")
    return Built(f"compact_temporal_{MODE[mode]}_periods", a.getvalue(), sh,
                 f"{MODE[mode]}, Compact profile: head, eyes and mouth at periods 3, 2 and 4; units on and "
                 "off the periods, gaps, a refresh, hashes over interpolated levels",
                 exercises,
                 "conformance.streams_compact_temporal._periods: trajectory_levels(seed=31) of every "
                 "element, head_yaw +300 levels in frames 20..23, head_tx sweeping from -0.89 to +0.87 "
                 "with head_loc its cell; units of 8, 8, 1, 5, 12, 5 and 1 "
                 "frames with the levels between anchors interpolated; raw 32x32 key frames", DECODE)


def _head_only(mode: int) -> Built:
    """The head alone at period 2: frames 0, 2, 4, ... of a unit code nothing."""
    sh = _sh(mode, {GROUP_HEAD: 2}, ids=[0, 1, 2, 3, 4, 5], sh_cabac_context_carry_flag=0)
    wanted = trajectory_levels(sh, 26, 32)
    for row in wanted[9:14]:               # held: anchors with all residuals 0 (sf_skip_flag 1)
        row[:] = wanted[8]
    sh.sh_num_frames = len(wanted)
    a = Assembler(sh)
    a.keyframe(raw_picture(sh), wanted[0])
    for start, size in ((1, 8), (9, 7), (16, 3), (19, 1), (20, 6)):
        _unit(a, wanted[start:start + size])
    a.hash()
    a.end()
    exercises = ["sh_sem_temporal_flag=1", "one group at SemPeriod 2",
                 "NumFrameGroups( f ) = 0: nothing coded for the frame (no sf_skip_flag)",
                 "sf_skip_flag=1 at an anchor", "units of 8, 7, 3, 1 and 6 frames"]
    if mode == CABAC:
        exercises.append("sh_cabac_context_carry_flag=0 (initialised at every unit)")
    else:
        exercises.append("su_num_frames_minus1 in Exp-Golomb mode")
    return Built(f"compact_temporal_{MODE[mode]}_head_only", a.getvalue(), sh,
                 f"{MODE[mode]}, Compact profile: the six head elements only, at period 2, so that every "
                 "other frame of a unit codes nothing",
                 exercises,
                 "conformance.streams_compact_temporal._head_only: trajectory_levels(seed=32) of head_yaw.."
                 "head_tz, frames 9..13 held; units of 8, 7, 3, 1 and 6 frames, levels between anchors "
                 "interpolated; raw 32x32 key frame", DECODE)


def synthetic_streams() -> list[Built]:
    return [_periods(CABAC), _periods(EG), _head_only(CABAC), _head_only(EG)]


def negative_streams() -> list[Built]:
    """Exp-Golomb mode with sh_sem_temporal_flag 1: su_num_frames_minus1 of 17 frames at level 1.0."""
    sh = _sh(EG, {GROUP_HEAD: 3}, num_frames=18)
    levels = trajectory_levels(sh, 18, 33)
    a = Assembler(sh)
    a.keyframe(raw_picture(sh), levels[0])
    head = a.getvalue()
    unit = interpolate_unit(sh, levels[0], levels[1:])
    res = unit_residuals(sh, levels[0], unit)
    frames = [SemanticFrame(int(not any(r)), r) for r in res]
    su = coded_unit(UnitType.SEMANTIC, lambda c: code_semantic_unit(c, SemanticUnit(0, frames), sh, None))
    return [Built("neg_compact_temporal_eg_frames_over_level", head + su, sh,
                  "eg, Compact profile, head at period 3: su_num_frames_minus1 gives 17 frames at level "
                  "1.0 (at most 16)", ["frames per unit (Annex A)", "su_num_frames_minus1 in Exp-Golomb mode"],
                  "a SEMANTIC unit of 17 frames (trajectory_levels(seed=33), levels between anchors "
                  "interpolated) written by the syntax coder after a valid key frame", ERROR,
                  error_substring="exceed level limit")]


__all__ = ["negative_streams", "synthetic_streams"]
