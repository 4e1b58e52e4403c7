"""Conformance streams of semantic-unit syntax 2 (Compact profile, spec 1.2 draft 7.3.5a):
compact_sem_* (decode) and neg_compact_sem_* (error). Until the compact sequence header lands,
they carry the full sequence header with sh_profile_idc 2.

- synthetic edge cases (need nothing outside the checkout): every new flag both ways, in CABAC
  and Exp-Golomb;
- real RDOQ-produced streams: the reference encoder (Compact profile defaults) on the first
  frames of the suite's face clip, CABAC and Exp-Golomb, 1 and 8 frames per unit (need
  ../shared/data and VVenC, like face_real_cabac);
- negatives for syntax 2's constraints.
"""
from __future__ import annotations

from fractions import Fraction

from bitstream.profiles import PROFILE_COMPACT
from bitstream.structures import (ENTROPY_CABAC, ENTROPY_EXP_GOLOMB, SemanticFrame, SemanticUnit,
                                  SequenceHeader, code_semantic_unit)
from bitstream.units import UnitType, frame_unit, iter_units

from .stream_kit import GENERATOR, Assembler, Built, coded_unit, header, raw_keyframe_md5, raw_picture, trajectory_levels
from .suite_format import DECODE, ERROR

EG, CABAC = ENTROPY_EXP_GOLOMB, ENTROPY_CABAC
MODE = {EG: "eg", CABAC: "cabac"}
HEAD, EYES, MOUTH = range(0, 7), (7, 8), range(9, 14)
REAL_FRAMES = 17          # the key frame and 16 semantic frames
REAL_STREAMS = [f"compact_sem_{MODE[m]}_fpu{f}_rdoq" for m in (CABAC, EG) for f in (8, 1)]


def _sh(entropy: int, **kw: object) -> SequenceHeader:
    return header(entropy=entropy, sh_profile_idc=PROFILE_COMPACT, **kw)  # type: ignore[arg-type]


def _edge_levels(sh: SequenceHeader) -> list[list[int]]:
    """Frames that exercise each syntax-2 path: a synthetic trajectory, then frames that move
    one group only, only the last element of a group (inferred sig flag / sem_res_nz), large
    residuals (parity, gt3 and remainder bins in CABAC mode), and held frames (skipped frames, a
    whole skipped unit)."""
    base = trajectory_levels(sh, 9, 21)
    out = [list(r) for r in base]
    last = list(out[-1])

    def step(elements: list[int], delta: int) -> None:
        nonlocal last
        row = list(last)
        for e in elements:
            lo, hi = sh.level_bounds(e)
            row[e] = min(max(row[e] + delta, lo), hi)
        out.append(row)
        last = row

    step([0, 1], 1)           # head only
    step([7], -3)             # eyes only
    step([13], 1)             # mouth: only its last element (inferred)
    step([8], 2)              # eyes: only the last element
    step([9, 12], 5)          # mouth: an odd magnitude above 3 (par 1, gt3 1, remainder 0)
    step([6], 1)              # head: only head_loc, the group's last element
    step([], 0)               # skipped
    step([3, 9, 8], -40)      # three groups, large residuals (remainder bins)
    step([0, 11], 200)        # very large
    for _ in range(5):        # a held stretch: skipped frames, one whole unit
        step([], 0)
    step([2, 7, 10], 1)
    return out


def _edges(mode: int, carry: int = 1) -> Built:
    sh = _sh(mode, sh_cabac_context_carry_flag=carry)
    levels = _edge_levels(sh)
    sh.sh_num_frames = len(levels) + 1 + 2 + 1 + 1   # + refresh key frame, deltas 2 and 1, last unit
    a = Assembler(sh)
    pic0, pic1 = raw_picture(sh, 0), raw_picture(sh, 1)
    a.keyframe(pic0, levels[0])
    a.hash(keyframe_md5={0: raw_keyframe_md5(sh, pic0)})
    cuts = [4, 4, 1, 3, 3, 5]             # frame counts: predicted (4, 3) and coded (4, 1, 3, 5)
    pos = 1
    for k, size in enumerate(cuts):
        if k == 4:                         # refresh: PrevNumFrames starts again (9.3.2.1)
            a.keyframe(pic1, levels[pos - 1])
        a.semantic(levels[pos:pos + size], delta=2 if k == 2 else 0)
        pos += size
    a.semantic(levels[pos:])
    a.hash()
    a.semantic([levels[-1]], delta=1)
    a.end()
    name = f"compact_sem_{MODE[mode]}_edges" + ("" if carry else "_nocarry")
    exercises = ["sh_profile_idc=2 (semantic-unit syntax 2)", "sf_group_flag=0 and 1",
                 "sf_group_flag inferred (last changed group)", "sf_skip_flag=1 (a held stretch of 5 frames)",
                 "su_frame_idx_delta=2 and 1", "key-frame refresh"]
    if mode == CABAC:
        exercises += ["su_frame_idx_delta_flag=0 and 1", "su_num_frames_pred_flag=0 and 1",
                      "su_num_frames_minus1 after initialisation", "sem_res_sig_flag inferred",
                      "sem_res_par_flag=0 and 1", "sem_res_gt3_flag=0 and 1", "sem_res_abs_rem",
                      "shortest flush (9.3.5)",
                      "sh_cabac_context_carry_flag=" + str(carry)]
    else:
        exercises += ["frame count from the payload end (more_payload_data)", "sem_res_nz"]
    return Built(name, a.getvalue(), sh,
                 f"{MODE[mode]}, Compact profile: every path of semantic-unit syntax 2 "
                 "(groups, inferred flags, frame counts, gaps, refresh)"
                 + ("; parsing state initialised at every unit" if not carry else ""),
                 exercises,
                 "conformance.streams_compact_sem._edge_levels (synthetic_trajectories(seed=21), then "
                 "frames moving one group, one group's last element, large residuals, held frames); "
                 "units of 4, 4, 1, 3, 3, 5, 3 and 1 frames; raw 32x32 key frames", DECODE)


def _groups_subset(mode: int) -> Built:
    """Element sets with fewer groups: the mouth only (one group: its flag is always inferred)."""
    sh = _sh(mode, ids=[9, 10, 11])
    levels = trajectory_levels(sh, 13, 22)
    levels[5] = list(levels[4])
    sh.sh_num_frames = len(levels)
    a = Assembler(sh)
    a.keyframe(raw_picture(sh), levels[0])
    a.semantics_in_units(levels[1:], 4, hash_every_unit=True)
    a.end()
    return Built(f"compact_sem_{MODE[mode]}_one_group", a.getvalue(), sh,
                 f"{MODE[mode]}, Compact profile, three mouth elements only: one element group, whose "
                 "sf_group_flag is never coded", ["sh_profile_idc=2", "one group present",
                                                  "sf_group_flag inferred"],
                 "trajectory_levels(seed=22) of mouth_open, mouth_width, mouth_shape_1; frame 5 held",
                 DECODE)


def synthetic_streams() -> list[Built]:
    return [_edges(CABAC), _edges(EG), _edges(CABAC, carry=0), _groups_subset(CABAC), _groups_subset(EG)]


def real_streams() -> list[Built]:
    """The reference encoder with the Compact profile's defaults (RDOQ at lambda auto, error
    bound 3) on the suite's face clip: CABAC and Exp-Golomb, 8 and 1 frames per unit."""
    from ref_encoder.encoder import Encoder, EncoderConfig

    from .streams_vvc import FACE_CLIP, KEY_QP, _clip_frames
    frames = _clip_frames(FACE_CLIP, REAL_FRAMES)
    source = f"{FACE_CLIP.name}, frames 0..{len(frames) - 1}"
    out = []
    for mode in (CABAC, EG):
        for fpu in (8, 1):
            cfg = EncoderConfig(keyframe_qp=KEY_QP, entropy_coding_mode=mode, frames_per_unit=fpu,
                                vvc_preset="faster", keyframe_filters="vvenc", profile_idc=PROFILE_COMPACT,
                                generator_name=GENERATOR)
            enc = Encoder(cfg, 256, 256, Fraction(25), num_frames=len(frames))
            data = enc.encode(frames).stream
            out.append(Built(f"compact_sem_{MODE[mode]}_fpu{fpu}_rdoq", data, enc.sh,
                             f"a real face, Compact profile: the reference encoder's RDOQ output (lambda auto, "
                             f"error bound 3) in semantic-unit syntax 2, {MODE[mode]}, {fpu} frame(s) per unit",
                             ["sh_profile_idc=2", "semantic-unit syntax 2", "RDOQ-produced semantics",
                              "real semantics", f"{fpu} frame(s) per unit"],
                             f"ref_encoder.encoder.Encoder(profile_idc=2) on the first {len(frames)} frames of "
                             f"{FACE_CLIP.name} (face-cropped by conformance.sequence_preparation): one VVC key "
                             f"frame at QP {KEY_QP}, analysed semantics, {MODE[mode]}, {fpu} frame(s) per unit",
                             DECODE, needs_shared=True, needs_vvenc=True, source=source))
    return out


def _replace_unit(data: bytes, unit_type: int, nth: int, payload: bytes) -> bytes:
    k = 0
    for u in iter_units(data):
        if u.unit_type == unit_type:
            if k == nth:
                return data[:u.offset] + frame_unit(unit_type, payload) + data[u.offset + u.size:]
            k += 1
    raise ValueError("unit not found")


def _semantic_payload(data: bytes, nth: int) -> bytes:
    return [u.payload for u in iter_units(data) if u.unit_type == UnitType.SEMANTIC][nth]


def negative_streams() -> list[Built]:
    out = []
    sh = _sh(CABAC, num_frames=9)
    levels = trajectory_levels(sh, 9, 23)
    a = Assembler(sh)
    a.keyframe(raw_picture(sh), levels[0])
    a.semantic(levels[1:5])
    a.semantic(levels[5:9])
    a.end()
    good = a.getvalue()
    bad = _replace_unit(good, UnitType.SEMANTIC, 0, _semantic_payload(good, 0) + b"\x80\x80\x80")
    out.append(Built("neg_compact_sem_data_after_ae", bad, sh,
                     "CABAC, Compact profile: a byte after the byte that holds the last bit the arithmetic "
                     "decoding engine reads in a semantic unit",
                     ["end of the arithmetic-coded data (7.4.4a)"],
                     "compact CABAC stream (trajectory_levels(seed=23), 4 frames per unit) with 0x80 0x80 0x80 "
                     "appended "
                     "to the first semantic unit's payload", ERROR, error_substring="after the arithmetic-coded data"))
    for mode in (CABAC, EG):
        sh = _sh(mode, num_frames=18)
        levels = trajectory_levels(sh, 18, 24)
        a = Assembler(sh)
        a.keyframe(raw_picture(sh), levels[0])
        head = a.getvalue()
        prev = levels[0]
        frames = []
        for lv in levels[1:]:
            res = [x - y for x, y in zip(lv, prev)]
            frames.append(SemanticFrame(int(not any(res)), res))
            prev = lv
        su = coded_unit(UnitType.SEMANTIC, lambda c, m=mode: code_semantic_unit(
            c, SemanticUnit(0, frames), sh, sh.new_context_state() if m == CABAC else None))
        out.append(Built(f"neg_compact_sem_{MODE[mode]}_frames_over_level", head + su, sh,
                         f"{MODE[mode]}, Compact profile: a semantic unit of 17 frames at level 1.0 (at most 16)",
                         ["frames per unit (Annex A)"
                          + (", su_num_frames_minus1" if mode == CABAC else ", frame count from the payload end")],
                         "a SEMANTIC unit of 17 frames (trajectory_levels(seed=24)) written by the syntax coder "
                         "after a valid key frame", ERROR, error_substring="exceed level limit"))
    return out


__all__ = ["REAL_STREAMS", "negative_streams", "real_streams", "synthetic_streams"]
