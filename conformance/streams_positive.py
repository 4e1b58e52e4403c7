"""Conforming streams built from synthetic semantics (no ../shared needed): entropy modes,
CABAC initialisation and context carry, frames per unit, skip frames, frame index deltas,
key-frame refresh, hash units, geometry payloads, chroma formats, every element at the ends
of its range, editor output, reserved units and level limits."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bitstream.cabac_contexts import ElementContextInit
from bitstream.geometry_payload import (
    GP_LANDMARK_IDS,
    payload_from_points,
    posed_canonical,
    write_payload,
)
from bitstream.geometry_payload_v2 import payload_from_points_v2, write_payload_v2
from bitstream.profiles import PROFILE_COMPACT, level_limits
from bitstream.semantic_elements import (DEFAULT_BACKGROUND_ELEMENT_IDS, DEFAULT_ELEMENT_IDS, ELEMENT_BY_ID,
                                        SEMANTIC_ELEMENTS)
from bitstream.semantic_reconstruction import values_from_levels
from bitstream.structures import (
    ENTROPY_CABAC,
    ENTROPY_EXP_GOLOMB,
    SequenceHeader,
    with_explicit_init,
)
from ref_decoder.edits import EditApplier, parse_edit
from ref_decoder.stream_editing import edit_stream

from .stream_kit import (
    ALL_IDS,
    MAX_P,
    Assembler,
    Built,
    header,
    raw_keyframe_md5,
    raw_picture,
    trajectory_levels,
)
from .suite_format import DECODE, DECODE_SKIPPING

EG, CABAC = ENTROPY_EXP_GOLOMB, ENTROPY_CABAC
MODE = {EG: "eg", CABAC: "cabac"}


def _basic(name: str, entropy: int, *, per_unit: int = 4, frames: int = 16, seed: int = 1,
           hash_mode: str = "range", eos: bool = True, purpose: str, exercises: list[str],
           **sh_kw: object) -> Built:
    """One raw key frame, then `frames` synthetic frames in units of per_unit frames."""
    sh = header(entropy=entropy, num_frames=frames + 1 if eos else 0, **sh_kw)  # type: ignore[arg-type]
    levels = trajectory_levels(sh, frames + 1, seed)
    a = Assembler(sh)
    pic = raw_picture(sh)
    a.keyframe(pic, levels[0])
    if hash_mode != "none":
        a.hash(keyframe_md5={0: raw_keyframe_md5(sh, pic)})
    a.semantics_in_units(levels[1:], per_unit, hash_every_unit=hash_mode != "none",
                         per_frame_hash=hash_mode == "frame")
    if eos:
        a.end()
    return Built(name, a.getvalue(), sh, purpose, exercises,
                 f"conformance.streams_positive: synthetic_trajectories(seed={seed}) quantised at the "
                 f"default precisions; raw {sh.sh_pic_width}x{sh.sh_pic_height} key frame; "
                 f"{per_unit} frame(s) per semantic unit; hash units: {hash_mode}", DECODE)


def entropy_streams() -> list[Built]:
    out = []
    for mode in (EG, CABAC):
        out.append(_basic(f"{MODE[mode]}_all_fpu4_hashrange", mode, purpose=(
            f"baseline: all 14 elements, {MODE[mode]} entropy coding, 4 frames per unit, one hash "
            "unit (range entry) after every semantic unit"),
            exercises=[f"sh_entropy_coding_mode={mode}", "all 14 elements", "su_num_frames_minus1=3",
                       "hash unit: semantics range entry", "hash unit: key-frame entry",
                       "end_of_sequence_unit", "sh_num_frames"]))
        out.append(_basic(f"{MODE[mode]}_fpu1_hashframe", mode, per_unit=1, frames=12, seed=2,
                          hash_mode="frame", purpose=f"{MODE[mode]}, one frame per semantic unit "
                          "(lowest delay) with per-frame hash entries",
                          exercises=[f"sh_entropy_coding_mode={mode}", "su_num_frames_minus1=0",
                                     "hash unit: one entry per frame",
                                     *(["CABAC context carry across 1-frame units"] if mode else [])]))
    out.append(_basic("cabac_nocarry", CABAC, seed=3, sh_cabac_context_carry_flag=0,
                      purpose="CABAC with the parsing state initialised at every semantic unit",
                      exercises=["sh_cabac_context_carry_flag=0"]))
    out.append(_basic("cabac_init_qp0", CABAC, seed=4, sh_cabac_init_qp=0,
                      purpose="CABAC default tables with sh_cabac_init_qp 0 (preCtxState clipping)",
                      exercises=["sh_cabac_init_qp=0", "Clip3 of preCtxState"]))
    out.append(_explicit_init())
    # Non-default tables at low init QPs: a decoder that clamps sh_cabac_init_qp (e.g. to at
    # least 16) derives other context states and fails these (the default tables hide it).
    out += [_explicit_init(qp) for qp in (0, 8)]
    out.append(_basic("cabac_fpu16", CABAC, per_unit=16, frames=32, seed=5,
                      purpose="16 frames per semantic unit, the level 1.0 maximum",
                      exercises=["su_num_frames_minus1=15", "level 1.0 max frames per unit"]))
    out.append(_basic("cabac_no_hash_no_eos", CABAC, seed=6, hash_mode="none", eos=False,
                      purpose="no hash units and no end-of-sequence unit; sh_num_frames 0 (live)",
                      exercises=["hash units absent", "END_OF_SEQUENCE absent", "sh_num_frames=0"]))
    out.append(_basic("eg_version_minor0_framerate", EG, seed=7, fps=(30000, 1001),
                      sh_version_minor=0, purpose="a version 1.0 stream (sh_version_minor 0: its "
                      "syntax is a subset of 1.1, so decoders of 1.1 decode it) and a fractional "
                      "frame rate 30000/1001 (just under the level 1.0 maximum)",
                      exercises=["sh_version_minor=0", "sh_frame_rate 30000/1001"]))
    return out


def _explicit_init(init_qp: int = 63) -> Built:
    sh = header(entropy=CABAC, sh_cabac_init_qp=init_qp, num_frames=17)
    inits = [ElementContextInit(tuple((7 * i + 3 * j + 5) % 64 for j in range(9)),
                                tuple((i + 2 * j) % 16 for j in range(9)), (5 * i) % 48)
             for i in range(sh.num_sem_elements)]
    with_explicit_init(sh, inits, [(10, 0), (63, 15)])
    levels = trajectory_levels(sh, 17, 8)
    a = Assembler(sh)
    a.keyframe(raw_picture(sh), levels[0])
    a.semantics_in_units(levels[1:], 4, hash_every_unit=True)
    a.end()
    name = "cabac_explicit_init" if init_qp == 63 else f"cabac_explicit_init_qp{init_qp}"
    return Built(name, a.getvalue(), sh,
                 "CABAC with explicit context initialisation in the sequence header (every init "
                 f"value, shift index and RiceStat init different) at sh_cabac_init_qp {init_qp}",
                 ["sh_cabac_explicit_init_flag=1", "sh_skip_ctx_init_value/shift_idx",
                  "sh_ctx_init_value/shift_idx", "sh_rice_stat_init", f"sh_cabac_init_qp={init_qp}"],
                 "conformance.streams_positive._explicit_init: init values (7i+3j+5)%64, shift "
                 "(i+2j)%16, RiceStat (5i)%48; synthetic_trajectories(seed=8)", DECODE)


def _with_holds(levels: list[list[int]]) -> list[list[int]]:
    """Frames 3..6 and 12..19 repeat their predecessor (sf_skip_flag 1); 22, 24, 26 too
    (skip / non-skip alternation exercises the PrevSkip context)."""
    out = [list(levels[0])]
    for n in range(1, len(levels)):
        hold = 3 <= n <= 6 or 12 <= n <= 19 or n in (22, 24, 26)
        out.append(list(out[-1]) if hold else list(levels[n]))
    return out


def skip_and_delta_streams() -> list[Built]:
    out = []
    for mode in (EG, CABAC):
        sh = header(entropy=mode, num_frames=29)
        levels = _with_holds(trajectory_levels(sh, 29, 9))
        a = Assembler(sh)
        a.keyframe(raw_picture(sh), levels[0])
        a.semantics_in_units(levels[1:], 4, hash_every_unit=True)
        a.end()
        out.append(Built(f"{MODE[mode]}_skip_frames", a.getvalue(), sh,
                         f"{MODE[mode]}: frames whose semantics repeat are coded with sf_skip_flag 1, "
                         "including a whole unit of skipped frames and skip/non-skip alternation",
                         ["sf_skip_flag=1", "unit of skipped frames", "PrevSkip context (CABAC)"],
                         "synthetic_trajectories(seed=9) with frames 3-6, 12-19, 22, 24, 26 held",
                         DECODE))
        out.append(_deltas(mode))
    return out


def _deltas(mode: int) -> Built:
    """Frame index deltas in key-frame and semantic units. The first key frame has delta 3:
    those frames have no levels and are not output (spec 8.3.3)."""
    sh = header(entropy=mode, num_frames=3 + 1 + 4 + 2 + 4 + 5 + 1 + 2 + 1 + 1 + 1)
    lv = trajectory_levels(sh, 12, 10)
    a = Assembler(sh)
    pic0, pic1 = raw_picture(sh, 0), raw_picture(sh, 1)
    k0 = a.keyframe(pic0, lv[0], frame_idx_delta=3)
    a.semantic(lv[1:5])
    a.semantic(lv[5:9], delta=2)
    a.hash(keyframe_md5={k0: raw_keyframe_md5(sh, pic0)})
    a.semantic(lv[9:10], delta=5)
    k1 = a.keyframe(pic1, lv[10], frame_idx_delta=2)
    a.semantic(lv[11:12], delta=1)
    a.hash(keyframe_md5={k1: raw_keyframe_md5(sh, pic1)})
    a.end()
    return Built(f"{MODE[mode]}_frame_idx_delta", a.getvalue(), sh,
                 f"{MODE[mode]}: inferred frames from kf_frame_idx_delta (3 before the first key frame, "
                 "not output; 2 before the second) and su_frame_idx_delta (2, 5, 1), covered by hash units",
                 ["kf_frame_idx_delta>0 before the first key frame", "kf_frame_idx_delta>0",
                  "su_frame_idx_delta>0", "hash entries covering inferred frames", "key-frame refresh"],
                 "synthetic_trajectories(seed=10); deltas written by StreamWriter", DECODE)


def refresh_streams() -> list[Built]:
    out = []
    for mode in (EG, CABAC):
        sh = header(entropy=mode, num_frames=30)
        lv = trajectory_levels(sh, 30, 11)
        a = Assembler(sh)
        for k, start in enumerate((0, 10, 20)):
            pic = raw_picture(sh, k)
            idx = a.keyframe(pic, lv[start])
            a.semantics_in_units(lv[start + 1:start + 10], 3)
            a.hash(keyframe_md5={idx: raw_keyframe_md5(sh, pic)})
        a.end()
        out.append(Built(f"{MODE[mode]}_keyframe_refresh", a.getvalue(), sh,
                         f"{MODE[mode]}: three key frames with different pictures; CABAC contexts are "
                         "re-initialised after each key frame (carry on between)",
                         ["key-frame refresh", "generator set_keyframe per key frame",
                          "context re-initialisation after a key-frame unit",
                          "hash units with key-frame entries"],
                         "synthetic_trajectories(seed=11); key pictures test_rgb variants 0, 1, 2",
                         DECODE))
    return out


def hash_and_reserved_streams() -> list[Built]:
    sh = header(entropy=CABAC, num_frames=13)
    lv = trajectory_levels(sh, 13, 12)
    a = Assembler(sh)
    a.hash()                                    # right after the header: covers nothing
    pic = raw_picture(sh)
    a.keyframe(pic, lv[0])
    a.semantic(lv[1:5])
    a.hash(keyframe_md5={0: raw_keyframe_md5(sh, pic)})
    a.hash()                                    # nothing decoded since the previous one
    a.semantic(lv[5:9])
    a.semantic(lv[9:13])
    a.hash(per_frame=True)
    a.end()
    hashes = Built("cabac_hash_edge_cases", a.getvalue(), sh,
                   "hash units with no entries (after the sequence header, and twice in a row), a "
                   "hash unit mixing semantics and key-frame entries, and per-frame entries over "
                   "two semantic units", ["hu_num_entries=0", "HASH directly after SEQUENCE_HEADER",
                                          "mixed hu_entry_type", "hash covering two units"],
                   "synthetic_trajectories(seed=12)", DECODE)

    sh = header(entropy=CABAC, num_frames=9)
    lv = trajectory_levels(sh, 9, 13)
    a = Assembler(sh)
    a.raw_unit(5, b"\x00")
    a.keyframe(raw_picture(sh), lv[0])
    a.raw_unit(17, a.units[0][2:])               # looks like a sequence header payload
    a.semantic(lv[1:5])
    a.raw_unit(30, bytes(range(256)) * 2)        # 512 bytes: a two-byte unit_payload_size
    a.semantic(lv[5:9])
    a.hash()
    a.raw_unit(31, b"\xff")
    a.end()
    reserved = Built("cabac_reserved_units", a.getvalue(), sh,
                     "units of reserved types 5, 17, 30 and 31 between the units of a conforming "
                     "stream: decoders skip them without changing any state",
                     ["reserved unit_type 5, 17, 30, 31", "unit_reserved_byte",
                      "reserved unit before the first key frame", "reserved unit before EOS",
                      "two-byte leb128 unit_payload_size"],
                     "synthetic_trajectories(seed=13); reserved units spliced between the writer's units",
                     DECODE_SKIPPING, skipped_unit_types=[5, 17, 30, 31])
    return [hashes, reserved]


def _person_points(sh: SequenceHeader, levels: list[int]) -> np.ndarray:
    """The posed canonical face moved by a fixed, smooth offset (a person whose face is a
    little wider and whose mouth is a little lower): the landmarks of the synthetic streams."""
    values = values_from_levels(sh, levels)
    w, h = sh.sh_pic_width, sh.sh_pic_height
    pts = posed_canonical(values, w, h)[list(GP_LANDMARK_IDS), :2]
    centre = pts.mean(axis=0)
    return centre + (pts - centre) * np.array([1.08, 1.0]) + np.array([0.0, 0.02 * h])


def _geometry(points_shift: int, pred_mode: int, sh: SequenceHeader, levels: list[int]) -> bytes:
    """A geometry payload v1 of _person_points."""
    values = values_from_levels(sh, levels)
    return write_payload(payload_from_points(_person_points(sh, levels), values, sh.sh_pic_width,
                                             sh.sh_pic_height, points_shift, pred_mode))


def _geometry_v2(step_coarse: int, step_fine: int, ring_interp: bool, sh: SequenceHeader,
                 levels: list[int]) -> bytes:
    """A geometry payload v2 of _person_points."""
    values = values_from_levels(sh, levels)
    return write_payload_v2(payload_from_points_v2(_person_points(sh, levels), values, sh.sh_pic_width,
                                                   sh.sh_pic_height, step_coarse, step_fine, ring_interp))


def geometry2_streams() -> list[Built]:
    """Geometry payload v2 (spec 1.2, Annex E.2.4; Compact profile): the default steps with the
    odd ring landmarks interpolated, and every landmark coded at the extreme steps."""
    out = []
    for name, mode, coarse, fine, interp in (("cabac_geometry2_interp_steps4_3", CABAC, 4, 3, True),
                                             ("eg_geometry2_all_points_steps1_4", EG, 1, 4, False)):
        sh = header(entropy=mode, width=64, height=64, num_frames=9, sh_profile_idc=PROFILE_COMPACT)
        lv = trajectory_levels(sh, 9, 20)
        a = Assembler(sh)
        a.keyframe(raw_picture(sh), lv[0], geometry_version=2,
                   geometry_payload=_geometry_v2(coarse, fine, interp, sh, lv[0]))
        a.semantics_in_units(lv[1:], 4, hash_every_unit=True)
        a.end()
        out.append(Built(name, a.getvalue(), sh,
                         f"key-frame geometry payload v2 (Annex E.2.4) in the Compact profile: steps "
                         f"{coarse} (coarse) and {fine} (fine) half pixels, gp2_ring_interp_flag {int(interp)}",
                         ["sh_profile_idc=2 (Compact)", "kf_geometry_version=2",
                          f"gp2_step_coarse_minus1={coarse - 1}", f"gp2_step_fine_minus1={fine - 1}",
                          f"gp2_ring_interp_flag={int(interp)}", "ae(v) geometry differences (Table E.2)"],
                         "posed canonical face (Annex E.1) widened by 8 % and moved down 2 %, coded "
                         "with bitstream.geometry_payload_v2.payload_from_points_v2; synthetic_trajectories(seed=20)",
                         DECODE))
    return out


def geometry_streams() -> list[Built]:
    out = []
    for name, mode, shift, pred in (("geometry_v1_pred1_shift2", CABAC, 2, 1),
                                     ("geometry_v1_pred0_shift0", EG, 0, 0)):
        sh = header(entropy=mode, width=64, height=64, num_frames=9)
        lv = trajectory_levels(sh, 9, 14)
        a = Assembler(sh)
        geom = _geometry(shift, pred, sh, lv[0])
        a.keyframe(raw_picture(sh), lv[0], geometry_version=1, geometry_payload=geom)
        a.semantics_in_units(lv[1:], 4, hash_every_unit=True)
        a.end()
        out.append(Built(name, a.getvalue(), sh,
                         f"key-frame geometry payload v1 (Annex E.2), gp_pred_mode {pred}, "
                         f"gp_precision_shift {shift}", ["kf_geometry_version=1",
                                                         f"gp_pred_mode={pred}", f"gp_precision_shift={shift}"],
                         "posed canonical face (Annex E.1) widened by 8 % and moved down 2 %, coded "
                         "with bitstream.geometry_payload.payload_from_points; synthetic_trajectories(seed=14)",
                         DECODE))
    sh = header(entropy=EG, num_frames=5)
    lv = trajectory_levels(sh, 5, 15)
    a = Assembler(sh)
    a.keyframe(raw_picture(sh), lv[0], geometry_version=0, geometry_payload=b"\x01\x02\x03\x04\x05")
    a.semantic(lv[1:5])
    a.end()
    out.append(Built("geometry_v0_ignored_bytes", a.getvalue(), sh,
                     "kf_geometry_version 0 with 5 geometry bytes, which decoders ignore (spec 7.4.3)",
                     ["kf_geometry_version=0", "kf_geometry_size>0 ignored"],
                     "synthetic_trajectories(seed=15)", DECODE))
    return out


def layered_generator_streams() -> list[Built]:
    """A stream that names ifvc-geometric-2 (Annex G): geometry payload v1, the head turning
    and moving sideways far enough that the person layer uncovers the background plate and
    samples outside the key frame."""
    from bitstream.semantic_reconstruction import quantize
    sh = header(entropy=CABAC, width=96, height=96, num_frames=17, sh_generator_name="ifvc-geometric-2")
    lv = trajectory_levels(sh, 17, 19)
    yaw_p, tx_p = sh.sh_sem_precision[0], sh.sh_sem_precision[3]
    for k in range(1, 17):
        ramp = np.sin(np.pi * k / 8.0)                 # one full swing left and right
        for i, change in ((0, quantize(24.0 * ramp, yaw_p)), (3, quantize(0.18 * ramp, tx_p))):
            lo, hi = sh.level_bounds(i)
            lv[k][i] = min(max(lv[0][i] + change, lo), hi)
    a = Assembler(sh)
    a.keyframe(raw_picture(sh, 1), lv[0], geometry_version=1, geometry_payload=_geometry(2, 1, sh, lv[0]))
    a.semantics_in_units(lv[1:], 4, hash_every_unit=True)
    a.end()
    return [Built("cabac_geometric2_layered", a.getvalue(), sh,
                  "generator output of the layered generator ifvc-geometric-2 (Annex G): person mask "
                  "derived at the decoder, background plate, body grid; head_yaw swings +-24 degrees and "
                  "head_tx +-0.18 so the plate is uncovered and the warp samples outside the key frame",
                  ["sh_generator_name=ifvc-geometric-2", "kf_geometry_version=1", "generator output (C.2.2)"],
                  "raw key picture test_rgb variant 1, geometry as geometry_v1_pred1_shift2; "
                  "synthetic_trajectories(seed=19) with head_yaw and head_tx levels of the key frame plus "
                  "quantize(24 sin(pi k/8)) and quantize(0.18 sin(pi k/8)) in frame k, clipped to the level bounds",
                  DECODE)]


# Key frames of cabac_multiref_eviction: (head_yaw, mouth_open, eye_blink) of each key frame,
# and for each of the four frames after it, the key frames whose pose, mouth and eye state it takes.
MULTIREF_KEYS = ((0.0, 0.05, 1.0), (20.0, 0.05, 1.0), (-20.0, 0.05, 1.0), (0.0, 0.40, 1.0),
                 (5.0, 0.05, 0.15), (-5.0, 0.05, 1.0))
MULTIREF_FOLLOW = (((0, 0, 0),) * 4,
                   ((0, 0, 0), (1, 1, 1), (0, 0, 0), (1, 1, 1)),
                   ((1, 1, 1), (2, 2, 2), (0, 0, 0), (2, 2, 2)),
                   ((3, 3, 3), (0, 3, 0), (1, 1, 1), (3, 3, 3)),
                   ((4, 4, 4), (4, 4, 0), (1, 3, 1), (0, 0, 0)),
                   ((4, 3, 0), (2, 2, 2), (3, 3, 3), (4, 4, 4)))


def multiref_streams() -> list[Built]:
    """ifvc-geometric-2 over several references (Annex A.5, G.6): six key frames at level 1.0
    (MaxRefFrames 4), so the store evicts key frames 0 and 5 when key frames 20 and 25 arrive;
    the frames in between take the pose, mouth and eye state of earlier key frames, so the
    selection rule picks older references, blends the open mouth of key frame 15 and the open
    eyes of another reference over key frame 20's closed ones, and after an eviction must do
    without the evicted reference."""
    from bitstream.semantic_reconstruction import quantize
    n = 5 * len(MULTIREF_KEYS)
    sh = header(entropy=CABAC, width=96, height=96, num_frames=n, sh_generator_name="ifvc-geometric-2")
    assert level_limits(sh.sh_level_idc).max_ref_frames < len(MULTIREF_KEYS)
    base = trajectory_levels(sh, n, 23)
    pos = {ELEMENT_BY_ID[eid].name: i for i, eid in enumerate(sh.sh_sem_element_id)}

    def levels(frame: int, yaw: float, mouth: float, blink: float) -> list[int]:
        """The trajectory's levels of the frame with its yaw, mouth opening and eyes set."""
        lv = list(base[frame])
        for name, value in (("head_yaw", yaw), ("mouth_open", mouth), ("eye_blink_left", blink),
                            ("eye_blink_right", blink)):
            i = pos[name]
            lo, hi = sh.level_bounds(i)
            lv[i] = min(max(quantize(value, sh.sh_sem_precision[i]), lo), hi)
        return lv

    a = Assembler(sh)
    for k, (key, follow) in enumerate(zip(MULTIREF_KEYS, MULTIREF_FOLLOW)):
        start = 5 * k
        lv = levels(start, *key)
        a.keyframe(raw_picture(sh, k), lv, geometry_version=1, geometry_payload=_geometry(2, 1, sh, lv))
        frames = [levels(start + 1 + j, MULTIREF_KEYS[fp][0], MULTIREF_KEYS[fm][1], MULTIREF_KEYS[fe][2])
                  for j, (fp, fm, fe) in enumerate(follow)]
        a.semantics_in_units(frames, 4, hash_every_unit=True)
    a.end()
    return [Built("cabac_multiref_eviction", a.getvalue(), sh,
                  "generator output of ifvc-geometric-2 over several references (Annex G.6) and the "
                  "reference store of Annex A.5: six key frames at level 1.0 (MaxRefFrames 4), the oldest "
                  "evicted; frames take the pose, mouth and eye state of earlier key frames",
                  ["sh_generator_name=ifvc-geometric-2", "reference store (A.5)", "MaxRefFrames eviction",
                   "kf_geometry_version=1", "generator output (C.2.2)"],
                  "raw key pictures test_rgb variants 0..5, geometry as geometry_v1_pred1_shift2; "
                  "synthetic_trajectories(seed=23) with head_yaw, mouth_open and eye_blink_left/right set "
                  "per conformance/streams_positive.py MULTIREF_KEYS / MULTIREF_FOLLOW",
                  DECODE)]


def mesh_generator_streams() -> list[Built]:
    """A stream that names ifvc-geometric-3 (Annex H): geometry payload v1, the head turning
    far enough (yaw +-36 degrees, pitch +-18) that the z-buffer hides the far cheek and the
    mirrored texture fills it, the mouth opening wider than in the key frame (mouth interior)
    and the eyes closing (eyelids)."""
    from bitstream.semantic_reconstruction import quantize
    sh = header(entropy=CABAC, width=96, height=96, num_frames=17, sh_generator_name="ifvc-geometric-3")
    lv = trajectory_levels(sh, 17, 21)
    p = sh.sh_sem_precision
    for k in range(1, 17):
        ramp = np.sin(np.pi * k / 8.0)                 # one full swing left and right
        close = 1.0 - abs(np.sin(np.pi * k / 16.0))    # eyes closed in the middle of the stream
        changes = ((0, quantize(36.0 * ramp, p[0])), (1, quantize(18.0 * np.sin(np.pi * k / 16.0), p[1])),
                   (7, quantize(-0.9 * (1.0 - close), p[7])), (8, quantize(-0.9 * (1.0 - close), p[8])),
                   (9, quantize(0.12 * abs(ramp), p[9])))
        for i, change in changes:
            lo, hi = sh.level_bounds(i)
            lv[k][i] = min(max(lv[0][i] + change, lo), hi)
    a = Assembler(sh)
    a.keyframe(raw_picture(sh, 2), lv[0], geometry_version=1, geometry_payload=_geometry(2, 1, sh, lv[0]))
    a.semantics_in_units(lv[1:], 4, hash_every_unit=True)
    a.end()
    return [Built("cabac_geometric3_mesh", a.getvalue(), sh,
                  "generator output of the mesh generator ifvc-geometric-3 (Annex H): face mesh and head "
                  "shell with the integer z-buffer, mirrored texture for the far cheek, mouth interior and "
                  "eyelids; head_yaw swings +-36 degrees, head_pitch rises to 18, the eyes close and the "
                  "mouth opens further than in the key frame",
                  ["sh_generator_name=ifvc-geometric-3", "kf_geometry_version=1", "generator output (C.2.2)"],
                  "raw key picture test_rgb variant 2, geometry as geometry_v1_pred1_shift2; "
                  "synthetic_trajectories(seed=21) with the key frame's levels plus, in frame k, "
                  "quantize(36 sin(pi k/8)) head_yaw, quantize(18 sin(pi k/16)) head_pitch, "
                  "quantize(-0.9 sin(pi k/16)) eye_blink_left and right, quantize(0.12 |sin(pi k/8)|) "
                  "mouth_open, clipped to the level bounds",
                  DECODE)]


def chroma420_streams() -> list[Built]:
    out = []
    for mode in (EG, CABAC):
        sh = header(entropy=mode, chroma=1, num_frames=14)
        lv = trajectory_levels(sh, 14, 16)
        a = Assembler(sh)
        for k, start in enumerate((0, 7)):
            pic = raw_picture(sh, k)
            a.keyframe(pic, lv[start])
            a.semantics_in_units(lv[start + 1:start + 7], 3)
            a.hash(keyframe_md5={start: raw_keyframe_md5(sh, pic)})   # over the Y, Cb, Cr planes
        a.end()
        out.append(Built(f"{MODE[mode]}_raw420", a.getvalue(), sh,
                         f"{MODE[mode]}: raw key frames in 4:2:0 (Y, Cb, Cr planes); output RGB by the "
                         "integer conversion of spec 8.4.3", ["sh_chroma_format_idc=1",
                                                              "raw 4:2:0 key frames", "spec 8.4.3",
                                                              "4:2:0 key-frame MD5 (spec 7.4.6)"],
                         "test_rgb converted by bitstream.picture_format.rgb_to_yuv420; "
                         "synthetic_trajectories(seed=16)", DECODE))
    return out


def odd_size_420_streams() -> list[Built]:
    """Raw 4:2:0 key frames of odd width and/or height: chroma planes of half the size
    rounded up (spec 8.4.1), the upsampled chroma cropped to the picture (8.4.3)."""
    out = []
    for mode, (w, h) in ((EG, (33, 17)), (CABAC, (31, 32)), (CABAC, (32, 19))):
        sh = header(entropy=mode, chroma=1, width=w, height=h, num_frames=10)
        lv = trajectory_levels(sh, 10, 17)
        a = Assembler(sh)
        pic = raw_picture(sh)
        a.keyframe(pic, lv[0])
        a.semantics_in_units(lv[1:10], 3)
        a.hash(keyframe_md5={0: raw_keyframe_md5(sh, pic)})
        a.end()
        odd = " and ".join(n for n, v in (("width", w), ("height", h)) if v % 2)
        out.append(Built(f"{MODE[mode]}_raw420_odd_{w}x{h}", a.getvalue(), sh,
                         f"{MODE[mode]}: a raw 4:2:0 key frame of {w}x{h} (odd {odd}): chroma planes "
                         f"of {(w + 1) // 2}x{(h + 1) // 2}; the upsampled chroma is cropped to the picture",
                         ["sh_chroma_format_idc=1", "raw 4:2:0 key frames", f"odd {odd}",
                          "spec 8.4.1 (chroma size rounded up)", "spec 8.4.3 (cropping after upsampling)"],
                         "test_rgb converted by bitstream.picture_format.rgb_to_yuv420 (last row/column "
                         "repeated for the chroma); synthetic_trajectories(seed=17)", DECODE))
    return out


def hash_span_stream() -> list[Built]:
    """One hash unit whose entries reach back exactly MaxHashSpan frames (level 1.0: 1024):
    a key-frame entry for frame 0 and a semantics entry over frames 0..1023."""
    sh = header(entropy=CABAC, ids=[0, 9], precisions=[2, 6], width=16, height=16, num_frames=1024)
    span = level_limits(sh.sh_level_idc).max_hash_span
    lv = trajectory_levels(sh, span, 18)
    a = Assembler(sh)
    pic = raw_picture(sh)
    a.keyframe(pic, lv[0])
    a.semantics_in_units(lv[1:], 16)
    a.hash(keyframe_md5={0: raw_keyframe_md5(sh, pic)})
    a.end()
    return [Built("cabac_hash_span_limit", a.getvalue(), sh,
                  f"a hash unit after {span} frames covers all of them: its entries reach back exactly "
                  f"MaxHashSpan ({span}) frames, the key frame 0 included",
                  ["MaxHashSpan (Annex A, spec 7.4.6)", "hash entry over the whole window",
                   "key-frame hash entry at the oldest frame of the window"],
                  f"key frame + {span - 1} frames in units of 16, then one hash unit; "
                  "synthetic_trajectories(seed=18)", DECODE)]


def _extreme_sequence(lo: int, hi: int) -> list[int]:
    """Levels that jump across the whole range (residuals of +-ResMax) and step next to the ends."""
    mid = (lo + hi) // 2
    return [hi, lo, hi, hi - 1, lo + 1, lo, mid, hi, hi, lo, mid + 1, 0 if lo <= 0 <= hi else mid]


def element_streams() -> list[Built]:
    """Each element alone at its max precision, with levels at both ends of its range."""
    out = []
    for e in SEMANTIC_ELEMENTS:
        mode = CABAC if e.element_id % 2 == 0 else EG
        p = e.max_precision
        # bg_tx and bg_ty (version 1.2) are Compact-profile elements (Annex A.4): full header form
        profile = {"sh_profile_idc": PROFILE_COMPACT} if e.element_id not in ALL_IDS else {}
        sh = header(entropy=mode, ids=[e.element_id], precisions=[p], num_frames=26, **profile)
        lo, hi = sh.level_bounds(0)
        # head_tz at its maximum as a KEY level makes the reference generator fail (see the
        # report); the key frames use the minimum and 3.0 for it.
        key_hi = (3 << p) if e.name == "head_tz" else hi
        seq = _extreme_sequence(lo, hi)
        a = Assembler(sh)
        a.keyframe(raw_picture(sh, 0), [lo])
        a.semantics_in_units([[v] for v in seq], 4 if mode == EG else 6, hash_every_unit=True)
        a.keyframe(raw_picture(sh, 1), [key_hi])
        a.semantics_in_units([[v] for v in reversed(seq)], 12, hash_every_unit=True)
        a.end()
        out.append(Built(f"element_{e.element_id:02d}_{e.name}", a.getvalue(), sh,
                         f"{e.name} alone at its max precision {p}: key levels at the ends of "
                         f"[{lo}, {hi}], residuals of +-{hi - lo}", [f"sh_sem_element_id={e.element_id}",
                                                                     f"sh_sem_precision={p}",
                                                                     "LevelMin/LevelMax", "sem_res=+-ResMax",
                                                                     f"sh_entropy_coding_mode={mode}"],
                         "hand-written level sequence (conformance.streams_positive._extreme_sequence)",
                         DECODE))
    for mode in (EG, CABAC):
        sh = header(entropy=mode, precisions=[MAX_P[i] for i in ALL_IDS], num_frames=27)
        out.append(Built(f"{MODE[mode]}_all_elements_extreme", _extreme_scatter(sh, back_to_zero=False), sh,
                         f"{MODE[mode]}: all 14 elements at max precision, every level jumping "
                         "between the ends of its range at once, then scattered over the range",
                         ["all elements at max precision", "sem_res=+-ResMax for all elements",
                          "sem_res_abs_minus3 with large EGk (CABAC)", "RiceStat adaptation (CABAC)"],
                         "levels lo + (n*2654435761 + 97 i) mod (range)", DECODE))
    out.extend(_correction_extreme_streams())
    return out


def _extreme_scatter(sh: SequenceHeader, back_to_zero: bool, gap: int = 0) -> bytes:
    """A raw key frame at every element's LevelMin, then 26 frames: every level at its maximum,
    minimum, maximum, then minimum again (back_to_zero: 0), then a deterministic scatter over
    each range; 13 frames in one unit, then units of one frame, hash units. gap: inferred
    frames (su_frame_idx_delta) before the first one-frame unit."""
    bounds = [sh.level_bounds(i) for i in range(sh.num_sem_elements)]
    lows = [lo for lo, _ in bounds]
    highs = [hi for _, hi in bounds]
    frames = [highs, lows, highs, [0] * len(lows) if back_to_zero else lows]
    for n in range(22):    # a deterministic scatter over each range
        frames.append([lo + ((n * 2654435761 + 97 * i) % (hi - lo + 1)) for i, (lo, hi) in enumerate(bounds)])
    a = Assembler(sh)
    a.keyframe(raw_picture(sh), lows)
    a.semantics_in_units(frames[:13], 13, hash_every_unit=True)
    if gap:
        a.semantic(frames[13:14], delta=gap)
    a.semantics_in_units(frames[13 + bool(gap):], 1)
    a.hash()
    a.end()
    return a.getvalue()


def _correction_extreme_streams() -> list[Built]:
    """The 32 correction elements of Table 3e (version 1.2, Compact profile) with head_yaw, at
    their max precision 12, levels jumping between the ends of the range (displacements of a
    whole picture, clause 8.6.2) and scattered over it."""
    from bitstream.semantic_elements import CORRECTION_ELEMENT_IDS
    out = []
    for mode in (EG, CABAC):
        ids = [0, *CORRECTION_ELEMENT_IDS]
        sh = header(entropy=mode, ids=ids, precisions=[1, *(ELEMENT_BY_ID[e].max_precision for e in ids[1:])],
                    num_frames=29, sh_profile_idc=PROFILE_COMPACT)
        out.append(Built(f"{MODE[mode]}_correction_elements_extreme", _extreme_scatter(sh, True, gap=2), sh,
                         f"{MODE[mode]}, Compact profile: head_yaw and the 32 correction elements (Table 3e) at "
                         "max precision 12, every level jumping between the ends of its range at once (the "
                         "generator's picture sampled a whole picture away, edges replicated), then scattered; "
                         "two inferred frames (su_frame_idx_delta 2) corrected by the levels they repeat",
                         ["sh_sem_element_id=16..47 (Table 3e)", "sh_sem_precision=12", "group correction (Table 3d)",
                          "sem_res=+-ResMax", "clause 8.6.2 correction", "inferred frames corrected",
                          f"sh_entropy_coding_mode={mode}"],
                         "levels lo + (n*2654435761 + 97 i) mod (range) "
                         "(conformance.streams_positive._correction_extreme_streams)", DECODE))
    return out


def edited_stream(base: Built) -> Built:
    edits = EditApplier([parse_edit(t) for t in ("head_yaw:offset=25@3-9", "mouth_open:set=0.4@5-12",
                                                  "eye_blink_left:scale=0.2@8-10", "head_roll:hold@12-")])
    data, changed = edit_stream(base.data, edits)
    return Built(f"{base.name}_edited", data, base.sh,
                 f"{base.name} rewritten by the bitstream editor (ref_decoder.stream_editing, the library of ifvc-edit): "
                 f"{changed} frames changed, hash units recomputed, key-frame payload unchanged",
                 ["output of ref_decoder.stream_editing.edit_stream", "recomputed hash units"],
                 f"edit_stream({base.name}, head_yaw:offset=25@3-9, mouth_open:set=0.4@5-12, "
                 "eye_blink_left:scale=0.2@8-10, head_roll:hold@12-)", DECODE)


def level_streams() -> list[Built]:
    """Each level's frames-per-unit and frame-index-delta limits (small pictures)."""
    out = []
    for level, fps, fpu, delta in ((10, (30, 1), 16, 300), (20, (60, 1), 32, 600), (30, (60, 1), 64, 600)):
        sh = header(entropy=CABAC if level != 20 else EG, level=level, fps=fps, width=16, height=16,
                    num_frames=0)
        lv = trajectory_levels(sh, 2 * fpu + 2, 17 + level)
        a = Assembler(sh)
        a.keyframe(raw_picture(sh, 0), lv[0])
        a.semantic(lv[1:fpu + 1], delta=delta)
        a.keyframe(raw_picture(sh, 1), lv[fpu + 1], frame_idx_delta=delta)
        a.semantic(lv[fpu + 2:2 * fpu + 2])
        a.hash()
        a.end()
        out.append(Built(f"level{level}_limits", a.getvalue(), sh,
                         f"level {level / 10:.1f} at its limits: {fps[0]} fps, {fpu} frames per "
                         f"semantic unit, kf_frame_idx_delta and su_frame_idx_delta {delta}",
                         [f"sh_level_idc={level}", f"max frame rate {fps[0]}",
                          f"su_num_frames_minus1={fpu - 1}", f"frame index delta {delta}",
                          "picture 16x16 (the smallest allowed)"],
                         f"synthetic_trajectories(seed={17 + level})", DECODE))
    return out


def extension_streams() -> list[Built]:
    """Extension data (spec 7.3.3-7.3.5, 7.4.2): a decoder skips it and decodes the same
    levels and pictures as without it."""
    out = []
    for mode in (EG, CABAC):
        sh = header(entropy=mode, num_frames=13, sh_version_minor=2, sh_su_extension_flag=1,
                    sh_extension_data=b"IFVC-ext\x00\xff")
        lv = trajectory_levels(sh, 13, 12)
        a = Assembler(sh)
        pic = raw_picture(sh)
        a.keyframe(pic, lv[0], extension_data=bytes(range(5)))
        a.hash(keyframe_md5={0: raw_keyframe_md5(sh, pic)})
        # unit k carries k bytes: 0 (a length of zero), 1, 2, then 200 (a 2-byte leb128 length)
        a.semantics_in_units(lv[1:], 3, hash_every_unit=True,
                             extension_data=lambda k: bytes((7 * k + j) & 0xFF
                                                            for j in (range(200) if k == 3 else range(k))))
        a.end()
        out.append(Built(f"{MODE[mode]}_extension_data", a.getvalue(), sh,
                         f"{MODE[mode]}: sh_version_minor 2 (a later minor version than 1.1) with extension data in the sequence "
                         "header, the key-frame unit and (sh_su_extension_flag 1) every semantic unit; "
                         "a decoder skips it and decodes as without it",
                         ["sh_version_minor=2", "sh_su_extension_flag=1", "sh_extension_data_byte",
                          "kf_extension_data_byte", "su_extension_length=0",
                          "su_extension_length leb128 2 bytes"],
                         "synthetic_trajectories(seed=12); raw 32x32 key frame; 3 frames per semantic "
                         "unit with 0, 1, 2 and 200 extension bytes", DECODE))
    return out


def compact_header_streams() -> list[Built]:
    """The compact sequence header's explicit paths and the Compact profile with a full header
    (spec 7.3.8, 7.4.7, Annex A.4); the all-default header is in streams_vvc (256x256 key frame)."""
    from bitstream.profiles import PROFILE_COMPACT
    out = []
    # explicit picture size, frame rate and format; the default element set at other precisions;
    # CABAC initialisation coded (sh_cabac_init_qp 8); the registered generator by its id
    fine = [min(ELEMENT_BY_ID[i].default_precision + 1, ELEMENT_BY_ID[i].max_precision) for i in DEFAULT_ELEMENT_IDS]
    sh = header(entropy=CABAC, num_frames=13, width=48, height=32, chroma=1, fps=(15, 1),
                ids=list(DEFAULT_ELEMENT_IDS), precisions=fine,
                sh_profile_idc=PROFILE_COMPACT, compact_form=1, sh_cabac_init_qp=8)
    out.append(_compact(sh, "cabac_compact_header_explicit", 21,
                        "compact header with every value coded explicitly except the generator: 48x32, 15 fps, "
                        "4:2:0, the default element set at precisions one above the defaults, sh_cabac_init_qp 8",
                        ["unit_type=6 (COMPACT_SEQUENCE_HEADER)", "csh_pic_size_idx=0", "csh_frame_rate_idx=0",
                         "csh_default_format_flag=0", "csh_default_sem_elements_flag=0",
                         "csh_default_sem_set_flag=1", "csh_cabac_default_init_flag=0",
                         "csh_generator_id=0"]))
    # the default set with the background displacement (spec 1.2) at other precisions
    bg_fine = [min(ELEMENT_BY_ID[i].default_precision + 1, ELEMENT_BY_ID[i].max_precision)
               for i in DEFAULT_BACKGROUND_ELEMENT_IDS]
    sh = header(entropy=CABAC, ids=list(DEFAULT_BACKGROUND_ELEMENT_IDS), precisions=bg_fine, num_frames=13,
                sh_profile_idc=PROFILE_COMPACT, compact_form=1)
    out.append(_compact(sh, "cabac_compact_header_background_set", 25,
                        "compact header naming the default element set followed by bg_tx and bg_ty "
                        "(csh_background_elements_flag 1) at precisions one above the defaults",
                        ["unit_type=6 (COMPACT_SEQUENCE_HEADER)", "csh_default_sem_elements_flag=0",
                         "csh_default_sem_set_flag=1", "csh_background_elements_flag=1",
                         "sh_sem_precision[13..14] (bg_tx, bg_ty)"]))
    # the default set with the background displacement and the correction elements (spec 1.2),
    # every precision the default: three flags name the 47 elements
    from bitstream.structures import named_sem_set
    ids = list(named_sem_set(1, 1))
    sh = header(entropy=CABAC, ids=ids, precisions=[ELEMENT_BY_ID[i].default_precision for i in ids],
                num_frames=13, width=64, height=64, sh_profile_idc=PROFILE_COMPACT, compact_form=1)
    out.append(_compact(sh, "cabac_compact_header_correction_set", 26,
                        "compact header naming the default element set followed by bg_tx, bg_ty and the 32 "
                        "correction elements (csh_background_elements_flag 1, csh_correction_elements_flag 1) "
                        "at their default precisions; the correction grid moves each synthesised frame by up "
                        "to 0.03 picture widths (clause 8.6.2)",
                        ["unit_type=6 (COMPACT_SEQUENCE_HEADER)", "csh_default_sem_elements_flag=1",
                         "csh_background_elements_flag=1", "csh_correction_elements_flag=1",
                         "group correction (Table 3d)", "clause 8.6.2 correction"]))
    # a table frame rate, an explicit element list, and the generator in full form
    ids = [0, 1, 2, 7, 8, 9]
    sh = header(entropy=EG, ids=ids, num_frames=13, fps=(30000, 1001), sh_profile_idc=PROFILE_COMPACT,
                compact_form=1, csh_coded_explicitly=frozenset({"csh_generator_registered_flag"}))
    out.append(_compact(sh, "eg_compact_header_elements_full_generator", 22,
                        "compact header, Exp-Golomb: 30000/1001 fps by table index, an explicit list of six "
                        "elements, and the generator by name and SHA-256 (the full form any generator may use)",
                        ["unit_type=6 (COMPACT_SEQUENCE_HEADER)", "csh_frame_rate_idx=6",
                         "csh_default_sem_set_flag=0", "sh_num_sem_elements=6",
                         "csh_generator_registered_flag=0", "sh_generator_name_byte"]))
    # extension data after a compact header, and in every semantic unit
    sh = header(entropy=CABAC, num_frames=13, sh_profile_idc=PROFILE_COMPACT, compact_form=1,
                sh_su_extension_flag=1, sh_extension_data=b"IFVC-1.2-ext")
    out.append(_compact(sh, "cabac_compact_header_extension_data", 23,
                        "compact header with extension data (sh_su_extension_flag 1, 12 bytes), and 1 to 3 "
                        "extension bytes in every semantic unit; a decoder skips them",
                        ["unit_type=6 (COMPACT_SEQUENCE_HEADER)", "sh_su_extension_flag=1",
                         "sh_extension_data_byte", "su_extension_data_byte"],
                        extension=lambda k: bytes(range(1 + k % 3))))
    # the Compact profile with the full header
    sh = header(entropy=CABAC, num_frames=13, sh_profile_idc=PROFILE_COMPACT)
    out.append(_compact(sh, "cabac_compact_profile_full_header", 24,
                        "a Compact-profile stream that starts with the full sequence header (unit type 0, "
                        "sh_profile_idc 2)", ["unit_type=0 (SEQUENCE_HEADER)", "sh_profile_idc=2"]))
    return out


def _compact(sh: SequenceHeader, name: str, seed: int, purpose: str, exercises: list[str],
             extension: Callable[[int], bytes] | None = None) -> Built:
    """One raw key frame and 12 synthetic frames in units of 4, a hash unit after each unit."""
    lv = trajectory_levels(sh, 13, seed)
    a = Assembler(sh)
    pic = raw_picture(sh)
    a.keyframe(pic, lv[0])
    a.hash(keyframe_md5={0: raw_keyframe_md5(sh, pic)})
    a.semantics_in_units(lv[1:], 4, hash_every_unit=True, extension_data=extension)
    a.end()
    return Built(name, a.getvalue(), sh, purpose, exercises,
                 f"conformance.streams_positive.compact_header_streams: synthetic_trajectories(seed={seed}); "
                 f"raw {sh.sh_pic_width}x{sh.sh_pic_height} key frame; 4 frames per semantic unit", DECODE)


def all_streams() -> list[Built]:
    builders: list[Callable[[], list[Built]]] = [entropy_streams, skip_and_delta_streams,
                                                  refresh_streams, hash_and_reserved_streams,
                                                  geometry_streams, geometry2_streams,
                                                  layered_generator_streams, multiref_streams,
                                                  mesh_generator_streams,
                                                  chroma420_streams,
                                                  odd_size_420_streams, hash_span_stream,
                                                  element_streams, level_streams,
                                                  extension_streams, compact_header_streams]
    out = [b for build in builders for b in build()]
    out.append(edited_stream(next(b for b in out if b.name == "eg_all_fpu4_hashrange")))
    return out


__all__ = ["all_streams", "edited_stream"]
