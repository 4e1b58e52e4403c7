"""Streams with VVC key frames (kf_codec_id 1). Picture-size streams use synthetic pictures
(they need VVenC only); the face streams take their key frames from a real clip of
../shared/data/faces/raw (face-cropped to 256x256 as tools/prepare_sequences does) and need
that folder, VVenC and the face analysis of the reference encoder to be regenerated.

VVenC through the project's ffmpeg gives identical bytes run after run (checked when the
suite was made: three runs of each QP, and --check regenerates and compares), so the
streams are regenerated rather than stored as a VVC payload."""
from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np

from bitstream.keyframe_vvc import decode_vvc_rgb
from bitstream.picture_format import frame_to_rgb_planar
from bitstream.profiles import PROFILE_COMPACT, PROFILE_MAIN
from bitstream.semantic_elements import DEFAULT_ELEMENT_IDS, ELEMENT_BY_ID, ELEMENT_BY_NAME
from bitstream.semantic_reconstruction import dequantize, quantize
from bitstream.stream import ParsedKeyframe, ParsedSequenceHeader, StreamParser
from bitstream.structures import ENTROPY_CABAC, ENTROPY_EXP_GOLOMB, KEYFRAME_CODEC_VVC, KeyframeUnit, SequenceHeader
from bitstream.units import iter_units

from .stream_kit import GENERATOR, Assembler, Built, header, test_rgb, trajectory_levels
from .suite_format import DECODE, ERROR

REPO = Path(__file__).resolve().parents[1]
FACE_CLIP = REPO.parent / "shared" / "data" / "faces" / "raw" / "fomm_demo_old_08.mp4"
FACE_FRAMES = 16
KEY_QP = 47
SYNTH_QP = 51


def _vvc(rgb: np.ndarray, qp: int) -> tuple[bytes, np.ndarray]:
    from ref_encoder.keyframe_coding import encode_vvc_intra
    coded = encode_vvc_intra(rgb, qp, preset="faster")
    return coded.payload, coded.decoded


def picture_size_streams() -> list[Built]:
    """The largest picture of each level (max of width and height), with VVC key frames of
    a synthetic picture at QP 51 (a few hundred bytes)."""
    out = []
    for level, (w, h), chroma, entropy in ((10, (256, 256), 3, ENTROPY_CABAC), (20, (512, 512), 1, ENTROPY_EXP_GOLOMB),
                                           (30, (1024, 512), 3, ENTROPY_CABAC)):
        sh = header(entropy=entropy, width=w, height=h, chroma=chroma, codec=KEYFRAME_CODEC_VVC,
                    level=level, num_frames=4)
        lv = trajectory_levels(sh, 4, 40 + level)
        payload, decoded = _vvc(test_rgb(w, h, level // 10), SYNTH_QP)
        a = Assembler(sh)
        a.keyframe(payload, lv[0])
        a.semantic(lv[1:4])
        key_md5 = {0: hashlib.md5(frame_to_rgb_planar(decoded)).digest()} if chroma == 3 else None
        a.hash(keyframe_md5=key_md5)
        a.end()
        out.append(Built(f"vvc_level{level}_{w}x{h}", a.getvalue(), sh,
                         f"VVC key frame at the largest picture size of level {level / 10:.1f} "
                         f"({w}x{h}, 4:{'4:4' if chroma == 3 else '2:0'} output)",
                         ["kf_codec_id=1 (VVC)", f"sh_level_idc={level}", "max picture size of the level",
                          f"sh_chroma_format_idc={chroma}", "spec 8.4.2 / 8.4.3"],
                         f"test_rgb({w}, {h}, {level // 10}) coded by ref_encoder.keyframe_coding."
                         f"encode_vvc_intra (VVenC, preset faster, QP {SYNTH_QP}); "
                         f"synthetic_trajectories(seed={40 + level})", DECODE, needs_vvenc=True))
    return out


def compact_default_streams() -> list[Built]:
    """The compact sequence header of a default stream (spec 7.3.8; Compact profile, A.4):
    256x256 (csh_pic_size_idx 1), 25 fps (csh_frame_rate_idx 1), 4:4:4 8-bit, the default element
    set at its default precisions, default CABAC initialisation, the registered generator 0,
    with a VVC key frame of a synthetic picture; CABAC and Exp-Golomb."""
    from bitstream.profiles import PROFILE_COMPACT
    out = []
    payload, decoded = _vvc(test_rgb(256, 256, 4), SYNTH_QP)
    for entropy, mode in ((ENTROPY_CABAC, "cabac"), (ENTROPY_EXP_GOLOMB, "eg")):
        sh = header(entropy=entropy, width=256, height=256, codec=KEYFRAME_CODEC_VVC, num_frames=9,
                    ids=list(DEFAULT_ELEMENT_IDS), sh_profile_idc=PROFILE_COMPACT, compact_form=1)
        lv = trajectory_levels(sh, 9, 61 + entropy)
        a = Assembler(sh)
        a.keyframe(payload, lv[0])
        a.hash(keyframe_md5={0: hashlib.md5(frame_to_rgb_planar(decoded)).digest()})
        a.semantics_in_units(lv[1:], 4, hash_every_unit=True)
        a.end()
        data = a.getvalue()
        header_bytes = len(next(iter_units(data)).payload)
        out.append(Built(f"{mode}_compact_header_default", data, sh,
                         f"{mode}: a default Compact-profile stream, whose COMPACT_SEQUENCE_HEADER codes every "
                         f"value by its default flag or table index (a {header_bytes}-byte payload)",
                         ["unit_type=6 (COMPACT_SEQUENCE_HEADER)", "sh_profile_idc=2", "csh_pic_size_idx=1",
                          "csh_frame_rate_idx=1", "csh_default_format_flag=1",
                          "csh_default_sem_elements_flag=1", "csh_generator_registered_flag=1",
                          "csh_generator_id=0", *(["csh_cabac_default_init_flag=1"] if entropy else [])],
                         f"test_rgb(256, 256, 4) coded by ref_encoder.keyframe_coding.encode_vvc_intra "
                         f"(VVenC, preset faster, QP {SYNTH_QP}); synthetic_trajectories(seed={61 + entropy}); "
                         "4 frames per semantic unit", DECODE, needs_vvenc=True))
    return out


def _ue_bits(value: int) -> str:
    code = bin(value + 1)[2:]
    return "0" * (len(code) - 1) + code


def _with_emulation_prevention(rbsp: bytes) -> bytes:
    out = bytearray()
    zeros = 0
    for byte in rbsp:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


def with_sps_bitdepth(payload: bytes, bitdepth_minus8: int) -> bytes:
    """The payload with sps_bitdepth_minus8 of its SPS rewritten (the rest of the SPS moved,
    its trailing bits and emulation prevention redone); the slices are left as they are."""
    from bitstream.vvc_headers import NUT_SPS, nal_rbsp, nal_unit_header, parse_sps, split_nal_units
    nal = next(n for n in split_nal_units(payload) if nal_unit_header(n).nal_unit_type == NUT_SPS)
    rbsp = nal_rbsp(nal)
    sps = parse_sps(rbsp)
    bits = "".join(f"{b:08b}" for b in rbsp).rstrip("0")[:-1]          # without rbsp_trailing_bits
    pos = sps.bitdepth_bit_pos
    old = _ue_bits(sps.sps_bitdepth_minus8)
    assert bits[pos:pos + len(old)] == old
    bits = bits[:pos] + _ue_bits(bitdepth_minus8) + bits[pos + len(old):] + "1"
    bits += "0" * (-len(bits) % 8)
    new_rbsp = int(bits, 2).to_bytes(len(bits) // 8, "big")
    new_nal = nal[:2] + _with_emulation_prevention(new_rbsp)
    assert payload.count(nal) == 1
    return payload.replace(nal, new_nal)


def wrong_format_streams() -> list[Built]:
    """VVC key frames whose picture is not the one the sequence header describes (spec
    8.4.2): the same number of samples at another size, and a bit depth of 12 in the SPS."""
    out = []
    sh = header(entropy=ENTROPY_CABAC, width=256, height=256, chroma=3, codec=KEYFRAME_CODEC_VVC,
                num_frames=4)
    lv = trajectory_levels(sh, 4, 50)
    for name, payload, purpose, how, needle in (
            ("neg_vvc_wrong_size", _vvc(test_rgb(128, 512, 1), SYNTH_QP)[0],
             "a 128x512 VVC key frame (the same number of samples as 256x256) in a 256x256 stream",
             f"test_rgb(128, 512, 1) coded by encode_vvc_intra (VVenC, preset faster, QP {SYNTH_QP})",
             "128x512 picture"),
            ("neg_vvc_bit_depth_12", with_sps_bitdepth(_vvc(test_rgb(256, 256, 1), SYNTH_QP)[0], 4),
             "a VVC key frame whose SPS says 12 bits (sps_bitdepth_minus8 4): only 8 and 10 are allowed",
             f"test_rgb(256, 256, 1) coded by encode_vvc_intra (QP {SYNTH_QP}), then sps_bitdepth_minus8 "
             "rewritten from 2 to 4 (conformance.streams_vvc.with_sps_bitdepth)", "bit depth 12")):
        a = Assembler(sh)
        a.keyframe(payload, lv[0])
        a.semantic(lv[1:4])
        a.end()
        out.append(Built(name, a.getvalue(), sh, purpose,
                         ["kf_codec_id=1 (VVC)", "VVC picture format checked against the sequence header "
                          "(spec 8.4.2)"], how + f"; synthetic_trajectories(seed=50)", ERROR,
                         error_substring=needle, needs_vvenc=True))
    return out


def _clip_frames(clip: Path, n: int) -> list[np.ndarray]:
    """The first n frames of the clip, face-cropped to 256x256 at 25 fps (prepare_sequences)."""
    from conformance.sequence_preparation import prepare_clip
    from ifvc_common.files import sha256_file
    with tempfile.TemporaryDirectory() as tmp:
        prepare_clip(clip, Path(tmp), n, "[conformance]", sha256_file(clip))
        data = (Path(tmp) / f"{clip.stem}_256x256_25_8bit_444.rgb").read_bytes()
    size = 3 * 256 * 256
    return [np.frombuffer(data[i:i + size], np.uint8).reshape(3, 256, 256).transpose(1, 2, 0).copy()
            for i in range(0, len(data), size)]


def face_streams(clip: Path = FACE_CLIP) -> list[Built]:
    from ref_encoder.encoder import Encoder, EncoderConfig
    frames = _clip_frames(clip, FACE_FRAMES)
    # The face streams stay Main-profile streams (decodable by 1.1 decoders), whatever the
    # encoder's default profile.
    cfg = EncoderConfig(profile_idc=PROFILE_MAIN, keyframe_qp=KEY_QP, entropy_coding_mode=ENTROPY_CABAC, frames_per_unit=4,
                        keyframe_period=8, vvc_preset="faster", keyframe_filters="vvenc",
                        generator_name=GENERATOR)
    enc = Encoder(cfg, 256, 256, Fraction(25), num_frames=len(frames))
    real = enc.encode(frames).stream
    source = f"{clip.name}, frames 0..{len(frames) - 1}"
    how = (f"ref_encoder.encoder.Encoder on the first {len(frames)} frames of {clip.name} (face-cropped "
           f"by conformance.sequence_preparation): VVC key frames at QP {KEY_QP} every 8 frames with geometry "
           "payload v1 measured on the decoded key frame, analysed semantics, CABAC, 4 frames per unit")
    face_real = Built("face_real_cabac", real, enc.sh,
                      "a real face: the reference encoder's output for 16 frames of a talking-head clip "
                      "(two VVC key frames, analysed semantics); the geometric generator warps a real face",
                      ["kf_codec_id=1 (VVC)", "kf_geometry_version=1 (measured landmarks)",
                       "real semantics", "key-frame refresh", "hash units with key-frame entries",
                       "256x256 (level 1.0 max picture size)"],
                      how, DECODE, needs_shared=True, needs_vvenc=True, source=source)
    out = [face_real, _face_synthetic(real, source), _face_geometry2(frames, source),
           _face_background_motion(real, source), _face_head_move_geometric4(real, source),
           _face_head_down_geometric5(real, source), _face_blink_geometric6(real, source),
           _face_mouth_geometric7(real, source), _face_correction_geometric7(real, source),
           _face_head_move_geometric8(real, source), _face_head_move_geometric9(real, source),
           _face_head_move_geometric10(real, source)]
    for name, digest, stream_name in _learned_generator_ids():
        out.append(_face_synthetic(real, source, (name, digest), stream_name))
    return out


def _face_geometry2(frames: list[np.ndarray], source: str) -> Built:
    """face_real_cabac in the Compact profile: the reference encoder writes geometry payload v2
    (Annex E.2.4) on both real key frames."""
    from bitstream.profiles import PROFILE_COMPACT
    from ref_encoder.encoder import Encoder, EncoderConfig
    cfg = EncoderConfig(keyframe_qp=KEY_QP, entropy_coding_mode=ENTROPY_CABAC, frames_per_unit=4,
                        keyframe_period=8, vvc_preset="faster", keyframe_filters="vvenc", profile_idc=PROFILE_COMPACT,
                        generator_name=GENERATOR)
    enc = Encoder(cfg, 256, 256, Fraction(25), num_frames=len(frames))
    stream = enc.encode(frames).stream
    sizes = [len(u.kf.kf_geometry_payload) for u in StreamParser().parse(stream) if isinstance(u, ParsedKeyframe)]
    return Built("face_geometry2_compact_cabac", stream, enc.sh,
                 "face_real_cabac in the Compact profile: geometry payload v2 measured on two real decoded "
                 f"key frames ({' and '.join(map(str, sizes))} bytes)",
                 ["sh_profile_idc=2 (Compact)", "kf_geometry_version=2 (measured landmarks)",
                  "gp2_ring_interp_flag=1", "kf_codec_id=1 (VVC)", "real semantics", "key-frame refresh"],
                 "ref_encoder.encoder.Encoder as for face_real_cabac with profile_idc 2 (Compact): default "
                 "geometry payload v2 steps (coarse 4, fine 3 half pixels)",
                 DECODE, needs_shared=True, needs_vvenc=True, source=source)


REFRESH_FRAMES = 32
REFRESH_STREAMS = ["face_refresh_period_cabac", "face_refresh_pose_eg"]


def refresh_streams(clip: Path = FACE_CLIP) -> list[Built]:
    """The reference encoder's key-frame refresh at 8 frames per unit, where semantic units
    are cut short by a key frame: every REFRESH_PERIOD frames (CABAC) and wherever the head
    turns POSE_THRESHOLD degrees away from the key frame (Exp-Golomb)."""
    from ref_encoder.encoder import Encoder, EncoderConfig
    frames = _clip_frames(clip, REFRESH_FRAMES)
    source = f"{clip.name}, frames 0..{len(frames) - 1}"
    out = []
    for name, entropy, policy, cfg_policy in (
            ("face_refresh_period_cabac", ENTROPY_CABAC, "a key frame every 10 frames (--keyframe-period 10)",
             {"keyframe_period": 10}),
            ("face_refresh_pose_eg", ENTROPY_EXP_GOLOMB,
             "a key frame when yaw, pitch or roll move more than 4 degrees from the key frame's "
             "reference semantics (--keyframe-pose-threshold 4)", {"keyframe_pose_threshold": 4.0})):
        cfg = EncoderConfig(profile_idc=PROFILE_MAIN, keyframe_qp=KEY_QP, entropy_coding_mode=entropy, frames_per_unit=8,
                            vvc_preset="faster", keyframe_filters="vvenc", generator_name=GENERATOR,
                            **cfg_policy)
        enc = Encoder(cfg, 256, 256, Fraction(25), num_frames=len(frames))
        result = enc.encode(frames)
        keys = [f.frame_idx for f in result.frames if f.kind == "key"]
        how = (f"ref_encoder.encoder.Encoder on the first {len(frames)} frames of {clip.name} (face-cropped "
               f"by conformance.sequence_preparation): VVC key frames at QP {KEY_QP}, {policy}, analysed semantics, "
               f"{'CABAC' if entropy == ENTROPY_CABAC else 'Exp-Golomb'}, 8 frames per unit")
        out.append(Built(name, result.stream, enc.sh,
                         f"key-frame refresh by the reference encoder at 8 frames per unit: key frames at "
                         f"{', '.join(map(str, keys))}, semantic units shortened before each key frame, "
                         "a hash unit closing each key-frame period",
                         ["kf_codec_id=1 (VVC)", "key-frame refresh", "semantic units of 1..8 frames",
                          "hash units with key-frame entries", "real semantics",
                          "CABAC context re-initialisation after a key frame" if entropy == ENTROPY_CABAC
                          else "Exp-Golomb residuals after a key frame"],
                         how, DECODE, needs_shared=True, needs_vvenc=True, source=source))
    return out


def _first_keyframe(real: bytes, which: int = 0) -> tuple[SequenceHeader, KeyframeUnit]:
    """The sequence header and a key-frame unit of a stream: the first, or with ``which`` = n
    the one after n others."""
    sh = kf = None
    for unit in StreamParser().parse(real):
        if isinstance(unit, ParsedSequenceHeader):
            sh = unit.sh
        elif isinstance(unit, ParsedKeyframe):
            if which == 0:
                kf = unit.kf
                break
            which -= 1
    assert sh is not None and kf is not None
    return sh, kf


def _first_keyframe_for(real: bytes, generator_name: str, num_frames: int = 25, which: int = 0
                        ) -> tuple[SequenceHeader, KeyframeUnit]:
    """_first_keyframe(real, which) with the header naming the registered generator
    ``generator_name`` (its digest from Table 3a) for a stream of ``num_frames`` frames."""
    from bitstream.generator_registry import GENERATOR_BY_NAME
    sh, kf = _first_keyframe(real, which)
    generator = GENERATOR_BY_NAME[generator_name]
    sh.sh_generator_name, sh.sh_generator_sha256 = generator.name, generator.weights_sha256
    sh.sh_num_frames = num_frames
    return sh, kf


Motion = Callable[[int, float], tuple[tuple[str, float], ...]]


def _on_first_key(sh: SequenceHeader, kf: KeyframeUnit, key: list[int], motion: Motion,
                  frames_per_unit: int) -> bytes:
    """The key frame kf (levels key) and 24 frames of closed-form motion after it: frame n at
    t = n / 24 adds motion(n, t)'s (element name, value) offsets to the key values."""
    frames = []
    for n in range(1, 25):
        lv = list(key)
        for name, amp in motion(n, n / 24):
            i = sh.sh_sem_element_id.index(ELEMENT_BY_NAME[name].element_id)
            lo, hi = sh.level_bounds(i)
            p = sh.sh_sem_precision[i]
            lv[i] = min(max(quantize(dequantize(key[i], p) + round(float(amp), 6), p), lo), hi)
        frames.append(lv)
    a = Assembler(sh)
    a.keyframe(kf.kf_picture_payload, key, geometry_version=kf.kf_geometry_version,
               geometry_payload=kf.kf_geometry_payload)
    rgb = decode_vvc_rgb(kf.kf_picture_payload, sh.sh_pic_width, sh.sh_pic_height)
    a.hash(keyframe_md5={0: hashlib.md5(frame_to_rgb_planar(rgb)).digest()})
    a.semantics_in_units(frames, frames_per_unit, hash_every_unit=True)
    a.end()
    return a.getvalue()


def _real_key_motion(real: bytes, source: str, name: str, generator: str, motion: Motion, description: str,
                     exercises: list[str], how: str, background: bool = False, which: int = 0,
                     correction: bool = False) -> Built:
    """The first key frame of face_real_cabac (which = 1: its second) and 24 frames of
    closed-form motion after it (_on_first_key, 4 frames per semantic unit), the header naming
    the registered generator; background: the Compact profile's default set with bg_tx and
    bg_ty (key levels 0); correction: followed by the correction elements of Table 3e (key
    levels 0)."""
    from bitstream.semantic_elements import BACKGROUND_ELEMENT_IDS, CORRECTION_ELEMENT_IDS
    sh, kf = _first_keyframe_for(real, generator, which=which)
    key = list(kf.kf_ref_sem_level)
    added = [*(BACKGROUND_ELEMENT_IDS if background else ()), *(CORRECTION_ELEMENT_IDS if correction else ())]
    if added:
        sh.sh_profile_idc = PROFILE_COMPACT          # Compact-profile elements (A.4)
        sh.compact_form = 1                          # the default set + csh_background/correction_elements_flag
        sh.sh_sem_element_id = [*sh.sh_sem_element_id, *added]
        sh.sh_sem_precision = [*sh.sh_sem_precision, *(ELEMENT_BY_ID[e].default_precision for e in added)]
        key += [0] * len(added)
    data = _on_first_key(sh, kf, key, motion, 4)
    return Built(name, data, sh, description, exercises, how, DECODE, needs_shared=True, needs_vvenc=True,
                 source=source)


def _face_background_motion(real: bytes, source: str) -> Built:
    """A synthetic camera pan and tilt (bg_tx, bg_ty, spec 1.2) and a moderate head turn,
    decoded by ifvc-geometric-3 (Annex G.5a: the background plate moves by the signalled
    displacement)."""
    return _real_key_motion(
        real, source, "face_background_motion_geometric3_cabac", "ifvc-geometric-3",
        lambda n, t: (("bg_tx", 0.08 * np.sin(2 * np.pi * t)), ("bg_ty", -0.05 * t),
                      ("head_yaw", 12 * np.sin(2 * np.pi * t))),
        "the first key frame of face_real_cabac with a synthetic camera pan and tilt (bg_tx up to "
        "+-0.08 picture widths, bg_ty to -0.05 picture heights) and a head turn (yaw +-12 degrees), "
        "decoded by ifvc-geometric-3: the background plate moves by the signalled displacement",
        ["unit_type=6 (COMPACT_SEQUENCE_HEADER)", "csh_default_sem_elements_flag=1",
         "csh_background_elements_flag=1", "Annex G.5a plate shift", "sh_profile_idc=2 (Compact)",
         "sh_generator_name=ifvc-geometric-3", "kf_codec_id=1 (VVC)", "sh_entropy_coding_mode=1"],
        "key-frame unit copied from face_real_cabac, header switched to the Compact profile (compact "
        "form) and its element set extended by bg_tx and bg_ty at precision 8 (key levels 0); levels = key levels + closed-form motion "
        "(conformance.streams_vvc._face_background_motion)", background=True)


def _face_head_move_geometric4(real: bytes, source: str) -> Built:
    """The head moved sideways and up and turned, decoded by ifvc-geometric-4 (Annex H.7): the
    person's guard band and the harmonic fill of the background plate show where the head was."""
    return _real_key_motion(
        real, source, "face_head_move_geometric4_cabac", "ifvc-geometric-4",
        lambda n, t: (("head_tx", 0.18 * np.sin(2 * np.pi * t)), ("head_ty", -0.08 * t),
                      ("head_yaw", 15 * np.sin(4 * np.pi * t))),
        "the first key frame of face_real_cabac with the head moved sideways (head_tx up to +-0.18 "
        "picture widths), up (head_ty to -0.08) and turned (yaw +-15 degrees), decoded by "
        "ifvc-geometric-4: the harmonic fill of the background plate shows where the head was",
        ["sh_generator_name=ifvc-geometric-4", "Annex H.7 seamless plate", "kf_codec_id=1 (VVC)",
         "sh_entropy_coding_mode=1"],
        "key-frame unit copied from face_real_cabac, generator switched to ifvc-geometric-4; levels = "
        "key levels + closed-form motion (conformance.streams_vvc._face_head_move_geometric4)")


def _face_head_move_geometric8(real: bytes, source: str) -> Built:
    """The head moved sideways and turned, decoded by ifvc-geometric-8 (Annex H.11): its person
    mask, learnt from the background above the chin, holds more of the jacket below the chin
    than Annex G.3's (the key frame's masks differ on 1,332 pixels), and the person layer carries
    it across the background."""
    return _real_key_motion(
        real, source, "face_head_move_geometric8_cabac", "ifvc-geometric-8",
        lambda n, t: (("head_tx", 0.15 * np.sin(2 * np.pi * t)), ("head_yaw", 20 * np.sin(2 * np.pi * t)),
                      ("head_roll", 8 * np.sin(4 * np.pi * t))),
        "the first key frame of face_real_cabac with the head moved sideways (head_tx up to +-0.15 "
        "picture widths), turned (yaw +-20 degrees) and rolled (+-8 degrees), decoded by "
        "ifvc-geometric-8: the person mask learnt from the background above the chin",
        ["sh_generator_name=ifvc-geometric-8", "Annex H.11 person mask", "kf_codec_id=1 (VVC)",
         "sh_entropy_coding_mode=1"],
        "key-frame unit copied from face_real_cabac, generator switched to ifvc-geometric-8; levels = "
        "key levels + closed-form motion (conformance.streams_vvc._face_head_move_geometric8)")


def _face_head_move_geometric9(real: bytes, source: str) -> Built:
    """The head moved sideways and turned, decoded by ifvc-geometric-9 (Annex H.12): every
    synthesised frame draws from the key picture as KeyRestoreNet restores it; the key frame is
    output as VVC decodes it."""
    return _face_head_move_restored(real, source, 9, "Annex H.12 key-picture restoration")


def _face_head_move_geometric10(real: bytes, source: str) -> Built:
    """The same motion decoded by ifvc-geometric-10 (Annex H.13): KeyRestoreNet at half
    resolution (2 x 2 blocks of samples), with its own weights file."""
    return _face_head_move_restored(real, source, 10, "Annex H.13 key-picture restoration at half resolution")


def _face_head_move_restored(real: bytes, source: str, version: int, feature: str) -> Built:
    """face_head_move_geometric{version}_cabac: the key frame of face_real_cabac, the head moved
    sideways, turned and rolled, decoded by a generator that restores the key picture."""
    generator = f"ifvc-geometric-{version}"
    return _real_key_motion(
        real, source, f"face_head_move_geometric{version}_cabac", generator,
        lambda n, t: (("head_tx", 0.15 * np.sin(2 * np.pi * t)), ("head_yaw", 20 * np.sin(2 * np.pi * t)),
                      ("head_roll", 8 * np.sin(4 * np.pi * t))),
        "the first key frame of face_real_cabac with the head moved sideways (head_tx up to +-0.15 "
        "picture widths), turned (yaw +-20 degrees) and rolled (+-8 degrees), decoded by "
        f"{generator}: the synthesised frames draw from the key picture restored by its network",
        [f"sh_generator_name={generator}", "sh_generator_sha256_byte (weights file)",
         feature, "kf_codec_id=1 (VVC)", "sh_entropy_coding_mode=1"],
        f"key-frame unit copied from face_real_cabac, generator switched to {generator}; levels = "
        f"key levels + closed-form motion (conformance.streams_vvc._face_head_move_geometric{version})")


def _face_head_down_geometric5(real: bytes, source: str) -> Built:
    """The head moved down and sideways and rolled under a camera pan, decoded by
    ifvc-geometric-5 (Annex H.8): the bicubic face texture, the person faded out where the warp
    reaches above the key frame (its hair touches the top edge), the moved plate reflected."""
    return _real_key_motion(
        real, source, "face_head_down_geometric5_cabac", "ifvc-geometric-5",
        lambda n, t: (("head_ty", 0.22 * t), ("head_tx", -0.12 * np.sin(2 * np.pi * t)),
                      ("head_roll", 10 * np.sin(2 * np.pi * t)), ("bg_tx", 0.06 * t)),
        "the first key frame of face_real_cabac with the head moved down (head_ty to +0.22 picture "
        "heights) and sideways (head_tx +-0.12), rolled (+-10 degrees) under a camera pan (bg_tx to "
        "+0.06), decoded by ifvc-geometric-5: the person fades out above the key frame's top edge and "
        "the moved plate is reflected at the picture's edge",
        ["unit_type=6 (COMPACT_SEQUENCE_HEADER)", "csh_background_elements_flag=1", "sh_profile_idc=2 (Compact)",
         "sh_generator_name=ifvc-geometric-5", "Annex H.8 bicubic samples, edge fade, reflected plate",
         "kf_codec_id=1 (VVC)", "sh_entropy_coding_mode=1"],
        "key-frame unit copied from face_real_cabac, header switched to the Compact profile (compact form) "
        "with bg_tx and bg_ty (key levels 0), generator ifvc-geometric-5; levels = key levels + "
        "closed-form motion (conformance.streams_vvc._face_head_down_geometric5)", background=True)


def _blink(t: float) -> float:
    """0 (open) .. 1 (shut) .. 0: shut from t = 0.375 to 0.625, a quarter of the clip to close and
    to open again (the lid cover of H.5 starts at gain 0.6 and is opaque from 0.25)."""
    return float(np.clip(min(t - 0.125, 0.875 - t) / 0.25, 0.0, 1.0))


def _face_blink_geometric6(real: bytes, source: str) -> Built:
    """Both eyes closing and opening again while the head turns a little, decoded by
    ifvc-geometric-6 (Annex H.9): H.5's eyelid cover laid as Annex I.11 lays it. The second key
    frame of face_real_cabac: in the first the left eye is almost shut already (eye_blink_left
    0.125), so its gain could not fall below H.5's 0.6 and only the right lid would be drawn."""
    return _real_key_motion(
        real, source, "face_blink_geometric6_cabac", "ifvc-geometric-6",
        lambda n, t: (("eye_blink_left", -2.0 * _blink(t)), ("eye_blink_right", -2.0 * _blink(t)),
                      ("head_yaw", 8 * np.sin(2 * np.pi * t))),
        "the second key frame of face_real_cabac (eye_blink_left 0.75, eye_blink_right 0.5) with both "
        "eyes closing (eye_blink_left and eye_blink_right to 0 over frames 4 to 9, shut to frame 15, "
        "open again by frame 21) while the head turns (yaw +-8 degrees), decoded by ifvc-geometric-6: "
        "the lid cover reaches 0.15 eye widths above the upper lid and down to the lower lid, its "
        "feather continues the lid's texture",
        ["sh_generator_name=ifvc-geometric-6", "Annex H.9 eyelid cover (Annex I.11's)", "kf_codec_id=1 (VVC)",
         "sh_entropy_coding_mode=1"],
        "the second key-frame unit copied from face_real_cabac, generator switched to ifvc-geometric-6; "
        "levels = key levels + closed-form motion (conformance.streams_vvc._face_blink_geometric6)",
        which=1)


def _face_mouth_geometric7(real: bytes, source: str) -> Built:
    """The mouth opening wide and closing again while the head turns a little, decoded by
    ifvc-geometric-7 (Annex H.10): H.5's mouth interior with H.10's tones, smoothed depth,
    softer edges and a fainter neutral teeth band (the key frame's mouth is closed, so the
    band is the neutral one). The opening follows _blink's profile: wide from frame 9 to 15."""
    return _real_key_motion(
        real, source, "face_mouth_geometric7_cabac", "ifvc-geometric-7",
        lambda n, t: (("mouth_open", 0.25 * _blink(t)), ("mouth_width", -0.05 * _blink(t)),
                      ("head_yaw", 8 * np.sin(2 * np.pi * t))),
        "the first key frame of face_real_cabac with the mouth opening (mouth_open up to +0.25 face "
        "sizes, mouth_width -0.05, frames 4 to 9, wide to frame 15, closed again by frame 21) while "
        "the head turns (yaw +-8 degrees), decoded by ifvc-geometric-7: the cavity lighter and greyer, "
        "its depth smoothed, its edge and the neutral teeth band feathered with sigma 1.0",
        ["sh_generator_name=ifvc-geometric-7", "Annex H.10 mouth interior", "kf_codec_id=1 (VVC)",
         "sh_entropy_coding_mode=1"],
        "key-frame unit copied from face_real_cabac, generator switched to ifvc-geometric-7; levels = "
        "key levels + closed-form motion (conformance.streams_vvc._face_mouth_geometric7)")


def _face_correction_geometric7(real: bytes, source: str) -> Built:
    """The head turning and the correction grid (Table 3e, clause 8.6.2) moving the generator's
    picture by a smooth field of up to about 3 pixels that changes from cell to cell, decoded by
    ifvc-geometric-7: every semantic frame resampled by its grid, the key frame not."""
    def motion(n: int, t: float) -> tuple[tuple[str, float], ...]:
        grid = tuple((f"corr_{axis}_{k}", 0.012 * np.sin(2 * np.pi * t + 0.4 * k + (1.3 if axis == "dy" else 0.0)))
                     for axis in ("dx", "dy") for k in range(16))
        return (("head_yaw", 10 * np.sin(2 * np.pi * t)),) + grid
    return _real_key_motion(
        real, source, "face_correction_geometric7_cabac", "ifvc-geometric-7", motion,
        "the first key frame of face_real_cabac while the head turns (yaw +-10 degrees), with the 32 "
        "correction elements following a smooth field (corr_dx_k, corr_dy_k = 0.012 sin(2 pi t + 0.4 k "
        "(+ 1.3 for dy)) picture sizes, about 3 pixels), decoded by ifvc-geometric-7 and corrected by "
        "clause 8.6.2",
        ["unit_type=6 (COMPACT_SEQUENCE_HEADER)", "csh_correction_elements_flag=1", "sh_profile_idc=2 (Compact)",
         "group correction (Table 3d)", "clause 8.6.2 correction", "sh_generator_name=ifvc-geometric-7",
         "kf_codec_id=1 (VVC)", "sh_entropy_coding_mode=1"],
        "key-frame unit copied from face_real_cabac, header switched to the Compact profile (compact form) "
        "with the correction elements (key levels 0), generator ifvc-geometric-7; levels = key levels + "
        "closed-form motion (conformance.streams_vvc._face_correction_geometric7)", correction=True)


# The learned generators' streams: the same motion as face_synthetic_motion_eg, CABAC.
LEARNED_STREAMS = {"ifvc-refine-1": "face_synthetic_motion_refine_cabac",
                   "ifvc-flow-1": "face_synthetic_motion_flow_cabac",
                   "ifvc-flow-2": "face_synthetic_motion_flow2_cabac",
                   "ifvc-flow-3": "face_synthetic_motion_flow3_cabac",
                   "ifvc-flow-4": "face_synthetic_motion_flow4_cabac",
                   "ifvc-flow-5": "face_synthetic_motion_flow5_cabac"}


def _learned_generator_ids() -> list[tuple[str, bytes, str]]:
    """(name, weights SHA-256, stream name) of each shipped learned generator."""
    from ifvc_synthesis.generators.learned import LEARNED_NETWORKS
    return [(name, bytes.fromhex(LEARNED_NETWORKS[name].weights_sha256_hex), stream)
            for name, stream in LEARNED_STREAMS.items() if LEARNED_NETWORKS[name].shipped()]


def _face_synthetic(real: bytes, source: str, generator: tuple[str, bytes] | None = None,
                    stream_name: str = "face_synthetic_motion_refine_cabac") -> Built:
    """The first key frame of face_real_cabac with large synthetic motion after it: with the
    stream's geometric generator and Exp-Golomb, or with ``generator`` (a learned one) and
    CABAC, as ``stream_name``."""
    sh, kf = _first_keyframe(real)
    sh.sh_entropy_coding_mode = ENTROPY_EXP_GOLOMB if generator is None else ENTROPY_CABAC
    sh.sh_num_frames = 25
    if generator is not None:
        sh.sh_generator_name, sh.sh_generator_sha256 = generator
    data = _on_first_key(sh, kf, list(kf.kf_ref_sem_level), lambda n, t: (
        ("head_yaw", 30 * np.sin(2 * np.pi * t)), ("head_pitch", 10 * np.sin(4 * np.pi * t)),
        ("head_roll", -8 * t), ("head_tz", 0.25 * np.sin(2 * np.pi * t)),
        ("mouth_open", 0.3 * max(0.0, np.sin(3 * np.pi * t))),
        ("eye_blink_left", -1.0 if 10 <= n <= 12 else 0.0),
        ("eye_blink_right", -1.0 if 10 <= n <= 12 else 0.0)), 2)
    motion = ("large synthetic motion (yaw +-30 degrees, pitch, roll, depth, mouth opening to 0.3, a "
              "blink)")
    how = ("key-frame unit copied from face_real_cabac; levels = key levels + closed-form motion "
           "(conformance.streams_vvc._face_synthetic)")
    if generator is None:
        return Built("face_synthetic_motion_eg", data, sh,
                     f"the first key frame of face_real_cabac with {motion}, Exp-Golomb, 2 frames per unit",
                     ["kf_codec_id=1 (VVC)", "kf_geometry_version=1", "large pose changes", "mouth cavity fill",
                      "eyelid fill", "sh_entropy_coding_mode=0"],
                     how, DECODE, needs_shared=True, needs_vvenc=True, source=source)
    return Built(stream_name, data, sh,
                 f"face_synthetic_motion_eg for the learned generator {generator[0]}: {motion}, CABAC, "
                 "2 frames per unit; its output tolerance is the learned generator's (C.3)",
                 [f"sh_generator_name={generator[0]}", "sh_generator_sha256_byte (weights check)",
                  "kf_codec_id=1 (VVC)", "kf_geometry_version=1", "large pose changes",
                  "sh_entropy_coding_mode=1"],
                 how + f"; sh_generator_name {generator[0]}, sh_generator_sha256 {generator[1].hex()}",
                 DECODE, needs_shared=True, needs_vvenc=True, source=source)
