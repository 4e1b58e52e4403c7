"""Non-conforming streams of the suite, each with the error a decoder must report (or, for the
hash-mismatch stream, the mismatch it must report while decoding). They are tiny: 16x16 raw
key frames and two semantic elements, built from a conforming stream by one change."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from bitstream.errors import BitstreamError
from bitstream.profiles import level_limits
from bitstream.semantic_reconstruction import semantics_md5
from bitstream.structures import (
    ENTROPY_CABAC,
    ENTROPY_EXP_GOLOMB,
    HASH_ENTRY_KEYFRAME,
    HASH_ENTRY_SEMANTICS,
    HashEntry,
    HashUnit,
    KeyframeUnit,
    SemanticFrame,
    SemanticUnit,
    SequenceHeader,
    code_hash_unit,
    code_keyframe_unit,
    code_semantic_unit,
    code_sequence_header,
)
from bitstream.syntax_coder import SyntaxWriter
from bitstream.units import UnitType, frame_unit, iter_units
from ref_decoder.decoder import Decoder, DecodingError

from .stream_kit import Assembler, Built, coded_unit, header, raw_keyframe_md5, raw_picture, trajectory_levels
from .suite_format import ERROR, HASH_MISMATCH

EG, CABAC = ENTROPY_EXP_GOLOMB, ENTROPY_CABAC
IDS, PREC = [0, 9], [2, 8]      # head_yaw (levels -360..360), mouth_open (levels 0..512)
LEVELS = [[0, 20], [4, 30], [8, 60], [12, 90], [8, 120], [4, 100], [0, 60], [-4, 20], [-8, 0]]


def _sh(entropy: int = CABAC, **kw: object) -> SequenceHeader:
    return header(entropy=entropy, ids=IDS, precisions=PREC, width=16, height=16, **kw)  # type: ignore[arg-type]


def _valid(entropy: int = CABAC, **kw: object) -> tuple[Assembler, bytes]:
    """The conforming base stream: key frame, two semantic units of 4 frames, hash, EOS."""
    sh = _sh(entropy, **kw)
    a = Assembler(sh)
    pic = raw_picture(sh)
    a.keyframe(pic, LEVELS[0])
    a.semantic(LEVELS[1:5])
    a.semantic(LEVELS[5:9])
    a.hash()
    a.end()
    return a, a.getvalue()


def _unit_spans(data: bytes) -> list[tuple[int, int, int]]:
    """(unit_type, start of payload, end of payload) of every unit."""
    return [(u.unit_type, u.offset + u.header_size, u.offset + u.size) for u in iter_units(data)]


def _first(data: bytes, unit_type: int, nth: int = 0) -> tuple[int, int]:
    spans = [(s, e) for t, s, e in _unit_spans(data) if t == unit_type]
    return spans[nth]


def _unit_offset(data: bytes, unit_type: int) -> int:
    """Byte offset of the header of the first unit of unit_type."""
    return next(u.offset for u in iter_units(data) if u.unit_type == unit_type)


def _reference_error(data: bytes) -> str | None:
    """The reference decoder's error message (full decode: geometry payloads are parsed by
    the generator), or None when it decodes the stream."""
    try:
        for _ in Decoder().decode(data):
            pass
    except (BitstreamError, DecodingError, ValueError) as exc:
        return str(exc)
    return None


def _sh_unit(sh: SequenceHeader) -> bytes:
    """A sequence header written without range or profile checks."""
    return coded_unit(UnitType.SEQUENCE_HEADER, lambda c: _code_sh_unchecked(c, sh))


def _code_sh_unchecked(c: SyntaxWriter, sh: SequenceHeader) -> None:
    code_sequence_header(c, replace(sh))


def _neg(name: str, data: bytes, sh: SequenceHeader, purpose: str, exercises: list[str],
         how: str, substring: str) -> Built:
    return Built(name, data, sh, purpose, exercises, how, ERROR, error_substring=substring)


def truncation_and_framing() -> list[Built]:
    a, data = _valid()
    sh = a.sh
    out = []
    ks, ke = _first(data, UnitType.KEYFRAME)
    out.append(_neg("neg_truncated_mid_keyframe", data[:(ks + ke) // 2], sh,
                    "the stream ends in the middle of the key-frame unit's payload",
                    ["truncation", "unit_payload_size beyond the end of the stream"],
                    "the base stream cut at the middle of the KEYFRAME payload", "unit truncated"))
    ss, se = _first(data, UnitType.SEMANTIC, 1)
    out.append(_neg("neg_truncated_mid_semantic", data[:ss + (se - ss) // 2], sh,
                    "the stream ends in the middle of the second semantic unit",
                    ["truncation"], "the base stream cut at the middle of the second SEMANTIC payload",
                    "unit truncated"))
    # unit_payload_size of the first semantic unit one too large / one too small
    for delta, label in ((1, "plus1"), (-1, "minus1")):
        size_at = _first(data, UnitType.SEMANTIC)[0] - 1      # a one-byte leb128
        bad = bytearray(data)
        bad[size_at] += delta
        out.append(_neg(f"neg_payload_size_{label}", bytes(bad), sh,
                        f"unit_payload_size of the first semantic unit is {'one too large' if delta > 0 else 'one too small'}",
                        ["unit_payload_size", "payload must end exactly with its syntax"],
                        f"the one-byte leb128 unit_payload_size of the first SEMANTIC unit {delta:+d}",
                        ""))
    bad = bytearray(data)
    bad[ke] |= 0x80                 # the unit after the key frame: forbidden_zero_bit
    out.append(_neg("neg_forbidden_zero_bit", bytes(bad), sh, "forbidden_zero_bit equal to 1",
                    ["forbidden_zero_bit"], "bit 7 of the header byte of the unit after the key frame set",
                    "forbidden_zero_bit"))
    bad = bytearray(data)
    bad[ke] |= 0x01
    out.append(_neg("neg_unit_reserved_bits", bytes(bad), sh, "unit_reserved_zero_2bits not 0",
                    ["unit_reserved_zero_2bits"], "bit 0 of the header byte of the unit after the key frame set",
                    "unit_reserved_zero_2bits"))
    bad = bytearray(data)
    bad[_first(data, UnitType.SEQUENCE_HEADER)[0]] ^= 0x01
    out.append(_neg("neg_signature", bytes(bad), sh, "sh_signature 0x48465643 instead of \"IFVC\"",
                    ["sh_signature (7.4.2)"], "bit 0 of the first byte of sh_signature flipped",
                    "sh_signature"))
    size_at = _first(data, UnitType.SEMANTIC)[0] - 1      # a one-byte leb128
    bad = data[:size_at] + bytes([data[size_at] | 0x80, 0x00]) + data[size_at + 1:]
    out.append(_neg("neg_leb128_not_shortest", bad, sh,
                    "unit_payload_size of the first semantic unit written in two leb128 bytes",
                    ["leb128( ) in its shortest form (7.3.1)"],
                    "the one-byte unit_payload_size N of the first SEMANTIC unit replaced by N|0x80, 0x00",
                    "shortest leb128"))
    bad = data[:size_at] + bytes([data[size_at] | 0x80, 0x80, 0x80, 0x80]) + data[size_at + 1:]
    out.append(_neg("neg_leb128_fourth_byte_msb", bad, sh,
                    "unit_payload_size of the first semantic unit in leb128 bytes whose fourth byte "
                    "has its MSB set (a fifth byte would follow)",
                    ["leb128( ) of at most 4 bytes: the fourth byte's MSB is 0 (7.3.1)"],
                    "the one-byte unit_payload_size N of the first SEMANTIC unit replaced by "
                    "N|0x80, 0x80, 0x80, 0x80", "longer than 4 bytes"))
    bad = data[:ke] + bytes([9 << 2, 0x00]) + data[ke:]
    out.append(_neg("neg_payload_size_zero", bad, sh,
                    "a unit (of reserved type 9) with unit_payload_size 0",
                    ["unit_payload_size > 0 (7.4.1)"],
                    "the bytes 0x24 0x00 inserted after the key-frame unit", "unit_payload_size is 0"))
    return out


def corruption() -> list[Built]:
    """One byte of a semantic payload changed, at the first position (scanning from the end)
    where the change makes the stream non-conforming; the reference parser decides."""
    out = []
    for entropy, name in ((EG, "neg_corrupt_payload_eg"), (CABAC, "neg_corrupt_payload_cabac")):
        a, data = _valid(entropy)
        s, e = _first(data, UnitType.SEMANTIC)
        for pos in range(e - 1, s - 1, -1):
            bad = bytearray(data)
            bad[pos] ^= 0x5A
            err = _reference_error(bytes(bad))
            if err:
                break
        else:
            raise RuntimeError("no corrupting byte found")
        out.append(_neg(name, bytes(bad), a.sh,
                        f"a corrupted byte in a semantic unit ({'Exp-Golomb' if entropy == EG else 'CABAC'})",
                        ["corrupted payload", "payload must end exactly with its syntax"],
                        f"byte {pos} (payload byte {pos - s} of the first SEMANTIC unit) XOR 0x5A",
                        ""))
    return out


def values_and_order() -> list[Built]:
    out = []
    a, data = _valid(EG)
    sh = a.sh
    head = data[:_unit_offset(data, UnitType.KEYFRAME)]   # the sequence header unit
    kf_end = _first(data, UnitType.KEYFRAME)[1]
    kf_unit = data[len(head):kf_end]
    eos = frame_unit(UnitType.END_OF_SEQUENCE, b"\x80")
    # reconstructed level out of range: mouth_open 20 + 500 > 512; residual above ResMax
    for name, res, purpose, exercise, needle in (
            ("neg_level_out_of_range", 500, ("a semantic residual makes mouth_open's level 520, above "
              "LevelMax 512"), "SemLevel range (spec 8.3.4)", "outside"),
            ("neg_residual_out_of_range", 600, "sem_res 600 for mouth_open, above ResMax 512",
             "sem_res range (spec 7.4.4)", "out of range")):
        su = coded_unit(UnitType.SEMANTIC, lambda c, r=res: code_semantic_unit(
            c, SemanticUnit(0, [SemanticFrame(0, [0, r])]), sh, None))
        out.append(_neg(name, head + kf_unit + su + eos, sh, purpose, [exercise],
                        f"UncheckedWriter SEMANTIC unit with sem_res [0, {res}]", needle))
    kf = KeyframeUnit(0, 0, [400, 20], 0, b"", raw_picture(sh))
    out.append(_neg("neg_kf_ref_level_out_of_range",
                    head + coded_unit(UnitType.KEYFRAME, lambda c: code_keyframe_unit(c, kf, sh)) + eos, sh,
                    "kf_ref_sem_level of head_yaw 400, above LevelMax 360",
                    ["kf_ref_sem_level range"], "UncheckedWriter KEYFRAME unit", "kf_ref_sem_level"))
    out.append(_neg("neg_semantic_before_keyframe",
                    head + coded_unit(UnitType.SEMANTIC, lambda c: code_semantic_unit(
                        c, SemanticUnit(0, [SemanticFrame(0, [1, 1])]), sh, None)) + kf_unit + eos, sh,
                    "a semantic unit before the first key-frame unit", ["unit order (spec 6.2, 8.3.1)"],
                    "a SEMANTIC unit inserted before the KEYFRAME unit", "before the first key-frame unit"))
    out.append(_neg("neg_data_after_eos", data + data[kf_end:_first(data, UnitType.SEMANTIC)[1]], sh,
                    "a semantic unit after the end-of-sequence unit", ["END_OF_SEQUENCE is last (7.4.5)"],
                    "the first SEMANTIC unit appended after END_OF_SEQUENCE", "after END_OF_SEQUENCE"))
    out.append(_neg("neg_reserved_after_eos", data + frame_unit(9, b"\x00"), sh,
                    "a reserved unit after the end-of-sequence unit (no unit may follow it)",
                    ["END_OF_SEQUENCE is last (7.4.5)"], "a type-9 unit appended", "after END_OF_SEQUENCE"))
    out.append(_neg("neg_reserved_before_sequence_header", frame_unit(9, b"\x00") + data, sh,
                    "a reserved unit before the sequence header (the first unit shall be the sequence "
                    "header)", ["unit order (6.2)"], "a type-9 unit prepended",
                    "does not start with a sequence header"))
    out.append(_neg("neg_num_frames_mismatch", _sh_unit(replace(sh, sh_num_frames=12)) + data[len(head):], sh,
                    "sh_num_frames 12 but the stream carries 9 frames", ["sh_num_frames (spec 6.3)"],
                    "the base stream with sh_num_frames 12", "sh_num_frames"))
    out.append(_neg("neg_second_sequence_header", head + kf_unit + head + data[kf_end:], sh,
                    "a second sequence header", ["one SEQUENCE_HEADER per stream (6.2)"],
                    "the sequence header repeated after the key frame", "second sequence header"))
    kf = KeyframeUnit(0, 0, [0, 20], 0, b"", raw_picture(sh)[:-1])
    out.append(_neg("neg_raw_picture_size", head + coded_unit(UnitType.KEYFRAME, lambda c: code_keyframe_unit(c, kf, sh))
                    + data[kf_end:], sh, "a raw key frame one byte short of the picture size",
                    ["kf_picture_size of raw pictures (8.4.1)"], "KEYFRAME unit with 767 picture bytes",
                    "kf_picture_size"))
    kf = KeyframeUnit(0, 1, [0, 20], 0, b"", raw_picture(sh))
    out.append(_neg("neg_kf_codec_mismatch", head + coded_unit(UnitType.KEYFRAME, lambda c: code_keyframe_unit(c, kf, sh))
                    + data[kf_end:], sh, "kf_codec_id 1 in a stream whose sh_keyframe_codec_id is 0",
                    ["kf_codec_id = sh_keyframe_codec_id (A.2)"], "KEYFRAME unit with kf_codec_id 1",
                    "kf_codec_id"))
    kf = KeyframeUnit(0, 0, [0, 20], 1, b"\x01\x80", raw_picture(sh))   # gp_reserved_zero_5bits != 0
    out.append(_neg("neg_geometry_v1_malformed", head + coded_unit(UnitType.KEYFRAME, lambda c: code_keyframe_unit(c, kf, sh))
                    + data[kf_end:], sh, "a geometry payload v1 with gp_reserved_zero_5bits not 0 and "
                    "no landmarks (Annex E.2)", ["geometry_payload_v1 errors"],
                    "KEYFRAME unit with kf_geometry_version 1 and payload 0x01 0x80", "gp_reserved_zero_5bits"))
    kf = KeyframeUnit(0, 0, [0, 20], 0, b"", b"")
    out.append(_neg("neg_kf_picture_size_zero", head + coded_unit(UnitType.KEYFRAME, lambda c: code_keyframe_unit(c, kf, sh))
                    + data[kf_end:], sh, "a key-frame unit with kf_picture_size 0 (no picture)",
                    ["kf_picture_size > 0 (7.4.3)"], "UncheckedWriter KEYFRAME unit with no picture bytes",
                    "kf_picture_size = 0 out of range"))
    kf = KeyframeUnit(0, 0, [0, 20], 0, b"", raw_picture(sh))
    out.append(_neg("neg_kf_sizes_beyond_payload", head + coded_unit(UnitType.KEYFRAME, lambda c: code_keyframe_unit(c, kf, sh),
                                                                     writer=_LongPictureWriter)
                    + data[kf_end:], sh, "kf_picture_size 770 with 768 picture bytes and the "
                    "1-byte trailing bits left in the key-frame unit",
                    ["kf_geometry_size + kf_picture_size within the payload (7.4.3)"],
                    "KEYFRAME unit with kf_picture_size written 2 larger than its 768 picture bytes",
                    "exceed the unit payload"))
    out.append(_end_of_unit_zero(head, kf_unit, eos))
    out.append(_hash_mismatch())
    return out


class _LongPictureWriter(SyntaxWriter):
    """Writes kf_picture_size 2 larger than the picture bytes that follow: beyond the payload
    even counting the trailing-bits byte."""

    def ue(self, name: str, value: int, lo: int = 0, hi: int | None = None) -> int:
        if name == "kf_picture_size":
            super().ue(name, value + 2, lo, hi)
            return value
        return super().ue(name, value, lo, hi)


class _ZeroEndOfUnitWriter(SyntaxWriter):
    """Codes end_of_unit_one_bit as 0 (then the flushing 1, so the payload still ends cleanly)."""

    def ae_terminate(self, name, value):  # type: ignore[no-untyped-def, override]
        if name == "end_of_unit_one_bit":
            super().ae_terminate(name, 0)
        return super().ae_terminate(name, value)


def _cabac_unit_with(writer: type) -> tuple[SequenceHeader, bytes, int, bytes]:
    """A valid CABAC stream, the end of its key-frame unit, and a one-frame semantic unit
    coded by a deliberately wrong syntax writer (to be inserted after the key frame)."""
    a, data = _valid(CABAC)
    sh = a.sh
    kf_end = _first(data, UnitType.KEYFRAME)[1]
    su = coded_unit(UnitType.SEMANTIC, lambda c: code_semantic_unit(
        c, SemanticUnit(0, [SemanticFrame(0, [4, 10])]), sh, sh.new_context_state()),
        writer=writer)
    return sh, data, kf_end, su


def _end_of_unit_zero(_head: bytes, _kf: bytes, eos: bytes) -> Built:
    sh, data, kf_end, su = _cabac_unit_with(_ZeroEndOfUnitWriter)
    return _neg("neg_end_of_unit_one_bit_zero", data[:kf_end] + su + eos, sh,
                "a CABAC semantic unit whose end_of_unit_one_bit decodes as 0",
                ["end_of_unit_one_bit (7.4.4)", "terminate bin"],
                "terminate bin 0 coded before the flushing terminate bin 1", "end_of_unit_one_bit")


def _hash_mismatch() -> Built:
    a, data = _valid(CABAC)
    s, _ = _first(data, UnitType.HASH)
    bad = bytearray(data)
    bad[s + 3 + 1 + 4 + 2] ^= 0x01     # first byte of hu_md5[0]
    return Built("neg_hash_mismatch", bytes(bad), a.sh,
                 "a conforming stream except for one bit of a semantics MD5 in its hash unit: it "
                 "decodes, and a decoder that verifies hashes reports the mismatch (ifvc-decode: exit 2)",
                 ["hash verification (8.5)"], "bit 0 of hu_md5[0][0] flipped", HASH_MISMATCH,
                 error_substring="MISMATCH")


def header_errors() -> list[Built]:
    a, data = _valid(EG)
    sh = a.sh
    rest = data[_unit_offset(data, UnitType.KEYFRAME):]
    out = []
    cases: list[tuple[str, dict[str, object], str, list[str], str]] = [
        ("neg_unknown_profile", {"sh_profile_idc": 3}, "sh_profile_idc 3 (not a defined profile)",
         ["sh_profile_idc"], "sh_profile_idc"),
        ("neg_unknown_level", {"sh_level_idc": 15}, "sh_level_idc 15 (not a defined level)",
         ["sh_level_idc"], "sh_level_idc"),
        ("neg_version_major2", {"sh_version_major": 2}, "sh_version_major 2 (this is version 1)",
         ["sh_version_major"], "sh_version_major"),
        ("neg_element_not_main", {"sh_sem_element_id": [0, 60]}, ("element id 60, in neither Table 3 nor "
                                                            "Table 3e, is not allowed in the Main profile"), ["sh_sem_element_id (A.2)"], "sh_sem_element_id"),
        ("neg_correction_element_in_main", {"sh_sem_element_id": [0, 16]}, ("element id 16 (corr_dx_0, Table 3e, "
                                                                      "version 1.2), an element of the Compact profile only, "
                                                                      "in a Main-profile stream"),
         ["sh_sem_element_id (A.2, A.4)"], "sh_sem_element_id"),
        ("neg_bg_element_in_main", {"sh_sem_element_id": [0, 14]}, ("element id 14 (bg_tx, version 1.2), "
                                                              "an element of the Compact profile only, in a Main-profile stream"),
         ["sh_sem_element_id (A.2, A.4)"], "sh_sem_element_id"),
        ("neg_level10_picture_too_big", {"sh_pic_width": 272}, ("a 272x16 picture at level 1.0 "
                                                                "(max 256)"), ["level limit: picture size"], "exceeds level"),
        ("neg_level10_frame_rate", {"sh_frame_rate_num": 31}, "31 fps at level 1.0 (max 30)",
         ["level limit: frame rate"], "frame rate"),
        ("neg_bit_depth_10", {"sh_bit_depth_minus8": 2}, "10-bit output in the Main profile",
         ["sh_bit_depth_minus8 (A.2)"], "sh_bit_depth_minus8"),
        ("neg_chroma_format_422", {"sh_chroma_format_idc": 2}, "4:2:2 output in the Main profile",
         ["sh_chroma_format_idc (A.2)"], "sh_chroma_format_idc"),
        ("neg_entropy_mode_reserved", {"sh_entropy_coding_mode": 2},
         "sh_entropy_coding_mode 2 (reserved)", ["reserved sh_entropy_coding_mode (7.4.2)"],
         "sh_entropy_coding_mode"),
        ("neg_keyframe_codec_reserved", {"sh_keyframe_codec_id": 2},
         "sh_keyframe_codec_id 2 (reserved, Table 2)", ["reserved sh_keyframe_codec_id (A.2)"],
         "sh_keyframe_codec_id"),
        ("neg_precision_above_max", {"sh_sem_precision": [9, 8]},
         "sh_sem_precision 9 for head_yaw, above its max precision 8 (Table 3)",
         ["sh_sem_precision range (7.4.2)"], "sh_sem_precision"),
        ("neg_frame_rate_den_zero", {"sh_frame_rate_den": 0}, "sh_frame_rate_den 0",
         ["sh_frame_rate_den > 0 (7.4.2)"], "sh_frame_rate_den"),
        ("neg_pic_width_15", {"sh_pic_width": 15}, "sh_pic_width 15, below the minimum 16",
         ["sh_pic_width range (7.4.2)"], "sh_pic_width"),
        ("neg_generator_name_not_printable", {"sh_generator_name": "ifvc\x01"},
         "a generator name with the byte 0x01 (not printable ASCII)",
         ["sh_generator_name_byte range (7.4.2)"], "sh_generator_name_byte"),
    ]
    for name, change, purpose, exercises, needle in cases:
        bad_sh = replace(sh, **change)  # type: ignore[arg-type]
        out.append(_neg(name, _sh_unit(bad_sh) + rest, bad_sh, purpose, exercises,
                        f"the base stream with {change} in the sequence header", needle))
    # Byte-level edits of the valid header (the reference writer refuses these values).
    # Payload bytes 0..21 are fixed-length; sh_num_sem_elements is byte 22, sh_sem_element_id[0]
    # byte 23, sh_sem_precision[0] the high nibble of byte 24, sh_sem_element_id[1] its low
    # nibble and the high nibble of byte 25.
    hs = _first(data, UnitType.SEQUENCE_HEADER)[0]
    bad = bytearray(data)
    bad[hs + 25] &= 0x0F            # sh_sem_element_id[1]: 9 -> 0, equal to sh_sem_element_id[0]
    out.append(_neg("neg_sem_element_id_twice", bytes(bad), sh,
                    "sh_sem_element_id[1] 0, equal to sh_sem_element_id[0]",
                    ["no two equal sh_sem_element_id (7.4.2)"],
                    "the high nibble of header payload byte 25 (low 4 bits of sh_sem_element_id[1]) "
                    "cleared; nothing else recomputed", "appears twice"))
    bad = bytearray(data)
    bad[hs + 22] = 0
    out.append(_neg("neg_num_sem_elements_zero", bytes(bad), sh, "sh_num_sem_elements 0",
                    ["sh_num_sem_elements >= 1 (7.4.2)"],
                    "header payload byte 22 (sh_num_sem_elements) set to 0; nothing else recomputed",
                    "sh_num_sem_elements = 0 out of range"))
    # level limits in later units
    sh = _sh(CABAC)
    a = Assembler(sh)
    a.keyframe(raw_picture(sh), LEVELS[0])
    frames = [LEVELS[1 + n % 8] for n in range(17)]
    su = coded_unit(UnitType.SEMANTIC, lambda c: code_semantic_unit(
        c, SemanticUnit(0, [SemanticFrame(0, [b - p for b, p in zip(f, q)])
                            for f, q in zip(frames, [LEVELS[0]] + frames[:-1])]), sh, sh.new_context_state()))
    out.append(_neg("neg_level10_frames_per_unit", a.getvalue() + su, sh,
                    "17 frames in one semantic unit at level 1.0 (max 16)",
                    ["level limit: frames per semantic unit"], "UncheckedWriter SEMANTIC unit of 17 frames",
                    "exceed level limit"))
    su = coded_unit(UnitType.SEMANTIC, lambda c: code_semantic_unit(
        c, SemanticUnit(301, [SemanticFrame(1, [0, 0])]), sh, sh.new_context_state()))
    out.append(_neg("neg_level10_frame_idx_delta", a.getvalue() + su, sh,
                    "su_frame_idx_delta 301 at level 1.0 (max 300)", ["level limit: frame index delta"],
                    "SEMANTIC unit with su_frame_idx_delta 301", "exceeds the level limit"))
    out.append(_neg("neg_empty_stream", b"", sh, "an empty file", ["no sequence header"],
                    "zero bytes", "empty"))
    return out


def resource_limits() -> list[Built]:
    """The level limits that bound a decoder's memory and work whatever the stream's length
    (Annex A): the hash window and the inferred-frame budget."""
    out = []
    # A hash unit reaching back MaxHashSpan + 1 frames (cabac_hash_span_limit plus one frame).
    sh = header(entropy=CABAC, ids=IDS, precisions=PREC, width=16, height=16)
    span = level_limits(sh.sh_level_idc).max_hash_span
    lv = trajectory_levels(sh, span + 1, 18)
    a = Assembler(sh)
    pic = raw_picture(sh)
    a.keyframe(pic, lv[0])
    a.semantics_in_units(lv[1:], 16)
    hu = HashUnit(entries=[HashEntry(HASH_ENTRY_SEMANTICS, 0, span, semantics_md5(lv)),
                           HashEntry(HASH_ENTRY_KEYFRAME, 0, 0, raw_keyframe_md5(sh, pic))])
    data = a.getvalue() + coded_unit(UnitType.HASH, lambda c: code_hash_unit(c, hu))
    out.append(_neg("neg_hash_span_exceeded", data + frame_unit(UnitType.END_OF_SEQUENCE, b"\x80"), sh,
                    f"a hash entry over frames 0..{span}, reaching back MaxHashSpan + 1 = {span + 1} frames "
                    "(level 1.0); otherwise correct (its MD5s match)",
                    ["MaxHashSpan (Annex A, spec 7.4.6)"],
                    f"key frame + {span} frames in units of 16, then a HASH unit with a semantics entry "
                    f"over frames 0..{span} and a key-frame entry for frame 0", "MaxHashSpan"))
    # Inferred frames beyond MaxInferredPerByte x the bytes of the stream so far: units with
    # the level's largest frame index delta and one coded frame, until the budget is exceeded.
    sh = _sh(EG)
    limits = level_limits(sh.sh_level_idc)
    a = Assembler(sh)
    a.keyframe(raw_picture(sh), LEVELS[0])
    data = a.getvalue()
    inferred = 0
    units = 0
    while inferred <= limits.max_inferred_per_byte * len(data):
        su = coded_unit(UnitType.SEMANTIC, lambda c: code_semantic_unit(
            c, SemanticUnit(limits.max_frame_idx_delta, [SemanticFrame(1, [0, 0])]), sh, None))
        data += su
        inferred += limits.max_frame_idx_delta
        units += 1
    out.append(_neg("neg_inferred_frames_per_byte", data, sh,
                    f"{inferred} inferred frames in the first {len(data)} bytes of the stream, above "
                    f"MaxInferredPerByte ({limits.max_inferred_per_byte}) at level 1.0; every unit within "
                    "the frame index delta limit",
                    ["MaxInferredPerByte (Annex A)", "work amplification by frame index deltas"],
                    f"key frame, then {units} SEMANTIC units each with su_frame_idx_delta "
                    f"{limits.max_frame_idx_delta} and one skipped frame", "per byte"))
    return out


def hash_entries() -> list[Built]:
    """Hash units that break a rule of clause 7.4.6 other than the MD5 itself: overlapping
    entries of the same hu_entry_type, frames that a hash cannot cover, reserved values.
    Every MD5 that is present is correct, so only the named rule is broken."""
    out = []
    sh = _sh(CABAC)
    pic = raw_picture(sh)
    a = Assembler(sh)
    a.keyframe(pic, LEVELS[0])
    a.semantic(LEVELS[1:5])
    a.semantic(LEVELS[5:9])
    body = a.getvalue()
    eos = frame_unit(UnitType.END_OF_SEQUENCE, b"\x80")
    kf_md5 = raw_keyframe_md5(sh, pic)

    def hashed(hu: HashUnit) -> bytes:
        return body + coded_unit(UnitType.HASH, lambda c: code_hash_unit(c, hu)) + eos

    cases: list[tuple[str, HashUnit, str, list[str], str, str]] = [
        ("neg_hash_semantics_overlap",
         HashUnit(entries=[HashEntry(HASH_ENTRY_SEMANTICS, 0, 4, semantics_md5(LEVELS[0:5])),
                           HashEntry(HASH_ENTRY_SEMANTICS, 4, 4, semantics_md5(LEVELS[4:9]))]),
         "two semantics hash entries of one hash unit both cover frame 4 (their MD5s match)",
         ["no overlap among hash entries of the same hu_entry_type (7.4.6)"],
         "HASH unit with semantics entries over frames 0..4 and 4..8", "overlap"),
        ("neg_hash_keyframe_twice",
         HashUnit(entries=[HashEntry(HASH_ENTRY_SEMANTICS, 0, 8, semantics_md5(LEVELS)),
                           HashEntry(HASH_ENTRY_KEYFRAME, 0, 0, kf_md5),
                           HashEntry(HASH_ENTRY_KEYFRAME, 0, 0, kf_md5)]),
         "two key-frame hash entries of one hash unit name frame 0 (their MD5s match)",
         ["no overlap among hash entries of the same hu_entry_type (7.4.6)"],
         "HASH unit with a semantics entry over frames 0..8 and two key-frame entries for frame 0",
         "overlap"),
        ("neg_hash_type_reserved",
         HashUnit(hu_hash_type=1, entries=[HashEntry(HASH_ENTRY_SEMANTICS, 0, 8, semantics_md5(LEVELS))]),
         "hu_hash_type 1 (reserved)", ["reserved hu_hash_type (7.4.6)"],
         "HASH unit with hu_hash_type 1", "hu_hash_type"),
        ("neg_hash_entry_type_reserved",
         HashUnit(entries=[HashEntry(2, 0, 8, semantics_md5(LEVELS))]),
         "hu_entry_type 2 (reserved)", ["reserved hu_entry_type (7.4.6)"],
         "HASH unit with one entry of hu_entry_type 2 over frames 0..8", "hu_entry_type"),
        ("neg_hash_keyframe_entry_not_keyframe",
         HashUnit(entries=[HashEntry(HASH_ENTRY_KEYFRAME, 3, 0, kf_md5)]),
         "a key-frame hash entry names frame 3, a semantic frame",
         ["hu_entry_type 1 names a key frame (7.4.6)"],
         "HASH unit with one key-frame entry for frame 3", "not a key frame"),
        ("neg_hash_keyframe_entry_two_frames",
         HashUnit(entries=[HashEntry(HASH_ENTRY_KEYFRAME, 0, 1, kf_md5)]),
         "a key-frame hash entry with hu_num_frames_minus1 1",
         ["hu_num_frames_minus1 of hu_entry_type 1 is 0 (7.4.6)"],
         "HASH unit with one key-frame entry for frames 0..1", "hu_num_frames_minus1"),
        ("neg_hash_future_frame",
         HashUnit(entries=[HashEntry(HASH_ENTRY_SEMANTICS, 0, 9, semantics_md5(LEVELS + [LEVELS[-1]]))]),
         "a semantics hash entry over frames 0..9 when only frames 0..8 are decoded",
         ["frames a hash entry may cover (7.4.6)"],
         "HASH unit with a semantics entry over frames 0..9", "not a frame decoded"),
    ]
    for name, hu, purpose, exercises, how, needle in cases:
        out.append(_neg(name, hashed(hu), sh, purpose, exercises, how, needle))
    # A frame already covered by an earlier hash unit.
    first = HashUnit(entries=[HashEntry(HASH_ENTRY_SEMANTICS, 0, 8, semantics_md5(LEVELS))])
    again = HashUnit(entries=[HashEntry(HASH_ENTRY_SEMANTICS, 8, 0, semantics_md5(LEVELS[8:]))])
    out.append(_neg("neg_hash_frame_before_previous_hash",
                    body + coded_unit(UnitType.HASH, lambda c: code_hash_unit(c, first))
                    + coded_unit(UnitType.HASH, lambda c: code_hash_unit(c, again)) + eos, sh,
                    "a second hash unit covers frame 8, decoded before the previous hash unit",
                    ["frames a hash entry may cover (7.4.6)"],
                    "two HASH units in a row, the second with a semantics entry for frame 8",
                    "not a frame decoded"))
    # Frames inferred before the first key frame have no levels: a hash entry cannot cover them.
    a = Assembler(sh)
    kf = KeyframeUnit(2, 0, LEVELS[0], 0, b"", pic)
    head = a.getvalue()
    data = (head + coded_unit(UnitType.KEYFRAME, lambda c: code_keyframe_unit(c, kf, sh))
            + coded_unit(UnitType.HASH, lambda c: code_hash_unit(c, HashUnit(entries=[
                HashEntry(HASH_ENTRY_SEMANTICS, 0, 2, semantics_md5([LEVELS[0]] * 3))])))
            + eos)
    out.append(_neg("neg_hash_inferred_before_keyframe", data, sh,
                    "a semantics hash entry covers frames 0 and 1, inferred before the first key frame "
                    "(kf_frame_idx_delta 2), which have no levels",
                    ["frames a hash entry may cover (7.4.6, 8.3.3)"],
                    "KEYFRAME unit with kf_frame_idx_delta 2, then a HASH unit with a semantics entry "
                    "over frames 0..2 (MD5 of the key frame's levels three times)", "not a frame decoded"))
    return out


class _LongExtensionWriter(SyntaxWriter):
    """Writes every *_extension_length 100 larger than the extension data that follows it."""

    def ue(self, name: str, value: int, lo: int = 0, hi: int | None = None) -> int:
        return super().ue(name, value + 100 if name.endswith("_extension_length") else value, lo, hi)


def extension_errors() -> list[Built]:
    """A malformed extension (spec 7.4.2): sh_extension_length beyond the payload."""
    sh = _sh(sh_version_minor=1, sh_extension_data=b"\x01\x02")
    _, data = _valid()
    head_len = _unit_offset(data, UnitType.KEYFRAME)
    bad_head = coded_unit(UnitType.SEQUENCE_HEADER, lambda c: code_sequence_header(c, replace(sh)),
                          writer=_LongExtensionWriter)
    return [_neg("neg_extension_length_beyond_payload", bad_head + data[head_len:], sh,
                 "sh_extension_length 102 with 2 bytes of extension data left in the sequence header",
                 ["sh_extension_length", "more_payload_data()"],
                 "the valid base stream with its sequence header carrying extension data whose "
                 "length is written 100 too large", "sh_extension_length")]


class _ZeroStopBitWriter(SyntaxWriter):
    """Writes unit_stop_one_bit as 0."""

    def f(self, name: str, n: int, expected: int, problem: str | None = None) -> int:
        return super().f(name, n, 0 if name == "unit_stop_one_bit" else expected, problem)


class _OneAlignmentBitWriter(SyntaxWriter):
    """Writes every alignment_zero_bit as 1."""

    def f(self, name: str, n: int, expected: int, problem: str | None = None) -> int:
        return super().f(name, n, 1 if name == "alignment_zero_bit" else expected, problem)


def trailing_bit_errors() -> list[Built]:
    """unit_trailing_bits( ) of an Exp-Golomb semantic unit broken (spec 7.3.2)."""
    out = []
    a, data = _valid(EG)
    sh = a.sh
    kf_end = _first(data, UnitType.KEYFRAME)[1]
    for name, writer, purpose, needle in (
            ("neg_unit_stop_one_bit_zero", _ZeroStopBitWriter, "unit_stop_one_bit 0", "unit_stop_one_bit"),
            ("neg_alignment_zero_bit_one", _OneAlignmentBitWriter, "alignment_zero_bit 1",
             "alignment_zero_bit")):
        su = coded_unit(UnitType.SEMANTIC, lambda c: code_semantic_unit(
            c, SemanticUnit(0, [SemanticFrame(0, [4, 10])]), sh, None), writer=writer)
        out.append(_neg(name, data[:kf_end] + su + data[kf_end:], sh,
                        f"an Exp-Golomb semantic unit with {purpose} in its unit_trailing_bits( )",
                        [f"{needle} (7.3.2)"],
                        f"a SEMANTIC unit of one frame written with {purpose}, inserted after the "
                        "key-frame unit", needle))
    return out


class _LongPrefixWriter(SyntaxWriter):
    """Codes su_frame_idx_delta as 40 bypass bins equal to 1: an EG0 prefix of more than 32
    one bins (then the rest of the unit as usual)."""

    def ae_bypass_egk(self, name: str, value: int, k: int, hi: int | None = None) -> int:
        if name == "su_frame_idx_delta":
            for _ in range(40):
                self.ae_engine.encode_bypass(1)
            return value
        return super().ae_bypass_egk(name, value, k, hi)


def entropy_coding_limits() -> list[Built]:
    """The limits of the entropy decoding processes (spec 9.2, 9.3): Exp-Golomb prefixes of at
    most 32 leading zero bits, EGk prefixes of at most 32 one bins, ivlOffset below 510."""
    out = []
    a, data = _valid(EG)
    kf_end = _first(data, UnitType.KEYFRAME)[1]
    su = frame_unit(UnitType.SEMANTIC, bytes(5) + b"\x80")
    out.append(_neg("neg_exp_golomb_33_zeros", data[:kf_end] + su + data[kf_end:], a.sh,
                    "an Exp-Golomb semantic unit whose su_frame_idx_delta starts with 40 zero bits",
                    ["leadingZeroBits <= 32 (9.2)"],
                    "a SEMANTIC unit with payload 0x00 x5, 0x80 inserted after the key-frame unit",
                    "longer than 32 zeros"))
    sh, data, kf_end, su = _cabac_unit_with(_LongPrefixWriter)
    out.append(_neg("neg_egk_prefix_33_ones", data[:kf_end] + su + data[kf_end:], sh,
                    "a CABAC semantic unit whose su_frame_idx_delta has an EG0 prefix of 40 one bins",
                    ["at most 32 leading one bins in an EGk prefix (9.3.3.3)"],
                    "a SEMANTIC unit whose su_frame_idx_delta is coded as 40 bypass bins 1, "
                    "inserted after the key-frame unit", "prefix longer than 32 bins"))
    s, _ = _first(data, UnitType.SEMANTIC)
    bad = bytearray(data)
    bad[s:s + 2] = b"\xff\xff"      # the first 9 bits: ivlOffset 511
    out.append(_neg("neg_ivl_offset_511", bytes(bad), sh,
                    "a CABAC semantic unit whose first 9 bits are all 1: ivlOffset 511 at initialisation",
                    ["ivlOffset not 510 or 511 at initialisation (9.3.2.5)"],
                    "the first two payload bytes of the first SEMANTIC unit set to 0xFF",
                    "ivlOffset >= 510"))
    return out


def compact_header_errors() -> list[Built]:
    """The compact sequence header's rules (spec 6.2, 7.4.7, Annex A.4)."""
    from bitstream.profiles import PROFILE_COMPACT, PROFILE_MAIN
    from bitstream.structures import code_compact_sequence_header
    out = []
    a, data = _valid(sh_profile_idc=PROFILE_COMPACT, compact_form=1)
    sh = a.sh
    head_end = _first(data, UnitType.COMPACT_SEQUENCE_HEADER)[1]
    compact_head, body = data[:head_end], data[head_end:]
    full_head = _sh_unit(replace(sh, compact_form=0))

    def compact_unit(bad_sh: SequenceHeader) -> bytes:
        return coded_unit(UnitType.COMPACT_SEQUENCE_HEADER,
                          lambda c: code_compact_sequence_header(c, replace(bad_sh)))

    out.append(_neg("neg_compact_header_not_first", full_head + compact_head + body, sh,
                    "a Compact-profile stream whose full sequence header is followed by a "
                    "COMPACT_SEQUENCE_HEADER unit", ["COMPACT_SEQUENCE_HEADER only as the first unit (6.2)"],
                    "the base stream's full header, then its compact header", "only as the first unit"))
    main_head = _sh_unit(replace(sh, compact_form=0, sh_profile_idc=PROFILE_MAIN))
    out.append(_neg("neg_compact_header_in_main_stream", main_head + compact_head + body, sh,
                    "a COMPACT_SEQUENCE_HEADER unit after the sequence header of a Main-profile stream",
                    ["COMPACT_SEQUENCE_HEADER only as the first unit (6.2)", "Main profile (A.2)"],
                    "a Main-profile full header, then the compact header", "Main profile"))
    main_sh = replace(sh, sh_profile_idc=PROFILE_MAIN)
    out.append(_neg("neg_compact_header_main_profile", compact_unit(main_sh) + body, main_sh,
                    "a COMPACT_SEQUENCE_HEADER whose sh_profile_idc is 1 (Main streams start with the full "
                    "header)", ["sh_profile_idc in compact_sequence_header( ) (A.2, A.4)"],
                    "the compact header coded with sh_profile_idc 1", "not COMPACT_SEQUENCE_HEADER"))
    payload = compact_head[2:]
    # csh_generator_id (ue(v) "1", id 0) is the last element before the trailing bits: rewrite
    # it as ue(v) "000011111" (id 30, far above the registered ids of Table 3a)
    bits = "".join(f"{b:08b}" for b in payload).rstrip("0")[:-1]
    assert bits.endswith("11"), "generator flag 1 and csh_generator_id 0 end the payload"
    bits = bits[:-1] + "000011111" + "1"
    bits += "0" * (-len(bits) % 8)
    bad = bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))
    out.append(_neg("neg_compact_generator_id_unknown", frame_unit(UnitType.COMPACT_SEQUENCE_HEADER, bad) + body,
                    sh, "csh_generator_id 30, which Table 3a does not register",
                    ["csh_generator_id (7.4.7, Table 3a)"], "csh_generator_id 0 of the base stream rewritten as 30",
                    "csh_generator_id 30"))
    out.append(_neg("neg_compact_header_truncated",
                    frame_unit(UnitType.COMPACT_SEQUENCE_HEADER, payload[:len(payload) - 2]) + body, sh,
                    "a compact sequence header whose payload ends before its last elements",
                    ["payload ends within the syntax (7.4.1)"], "the compact header's last two bytes removed",
                    ""))
    old = bytearray(payload)
    old[5] = 1                                      # sh_version_minor
    out.append(_neg("neg_compact_header_version_1_1", frame_unit(UnitType.COMPACT_SEQUENCE_HEADER, bytes(old))
                    + body, sh, "a compact sequence header with sh_version_minor 1 (the form is defined from 1.2)",
                    ["sh_version_minor >= 2 in compact_sequence_header( ) (7.4.7)"],
                    "sh_version_minor of the base stream's compact header set to 1", "sh_version_minor"))
    out.append(_neg("neg_compact_header_twice", compact_head + compact_head + body, sh,
                    "two COMPACT_SEQUENCE_HEADER units", ["COMPACT_SEQUENCE_HEADER only as the first unit (6.2)"],
                    "the compact header repeated", "only as the first unit"))
    return out


def _geometry2_payload(sh: SequenceHeader, levels: list[int]) -> bytes:
    """A valid geometry payload v2 (default steps) of the posed canonical face, slightly widened."""
    from bitstream.geometry_payload import GP_LANDMARK_IDS, posed_canonical
    from bitstream.geometry_payload_v2 import payload_from_points_v2, write_payload_v2
    from bitstream.semantic_reconstruction import values_from_levels
    values = values_from_levels(sh, levels)
    pts = posed_canonical(values, sh.sh_pic_width, sh.sh_pic_height)[list(GP_LANDMARK_IDS), :2]
    pts = pts.mean(axis=0) + (pts - pts.mean(axis=0)) * [1.1, 1.0]
    return write_payload_v2(payload_from_points_v2(pts, values, sh.sh_pic_width, sh.sh_pic_height))


def geometry2_errors() -> list[Built]:
    """Malformed geometry payloads v2 (Annex E.2.4, E.2.5) in Compact-profile streams, and a
    v2 payload in a Main-profile stream, where kf_geometry_version 2 is reserved (7.4.3)."""
    from bitstream.profiles import PROFILE_COMPACT
    out = []
    a, data = _valid(CABAC, sh_profile_idc=PROFILE_COMPACT)
    sh = a.sh
    head = data[:_unit_offset(data, UnitType.KEYFRAME)]
    kf_end = _first(data, UnitType.KEYFRAME)[1]
    good = _geometry2_payload(sh, LEVELS[0])

    def with_geometry(version: int, payload: bytes, header_unit: bytes = head) -> bytes:
        kf = KeyframeUnit(0, 0, list(LEVELS[0]), version, payload, raw_picture(sh))
        return header_unit + coded_unit(UnitType.KEYFRAME, lambda c: code_keyframe_unit(c, kf, sh)) + data[kf_end:]

    out.append(_neg("neg_geometry2_reserved_bits", with_geometry(2, b"\x01\x80"), sh,
                    "a geometry payload v2 with gp2_reserved_zero_3bits equal to 1 (Annex E.2.5)",
                    ["gp2_reserved_zero_3bits = 0"], "KEYFRAME unit with kf_geometry_version 2 and payload "
                    "0x01 0x80 in a Compact-profile stream", "gp2_reserved_zero_3bits"))
    out.append(_neg("neg_geometry2_truncated", with_geometry(2, good[:len(good) // 2]), sh,
                    f"a geometry payload v2 cut to {len(good) // 2} of its {len(good)} bytes: the "
                    "arithmetic-coded differences run past kf_geometry_size",
                    ["geometry_payload_v2 ends within kf_geometry_size (E.2.5)"],
                    "the first half of a valid payload (conformance.streams_negative._geometry2_payload)",
                    "unexpected end of data"))
    out.append(_neg("neg_geometry2_trailing_byte", with_geometry(2, good + b"\x00"), sh,
                    "a valid geometry payload v2 followed by one more byte inside kf_geometry_size",
                    ["geometry_payload_v2 ends exactly at kf_geometry_size (E.2.5)"],
                    "a valid payload with 0x00 appended", "unexpected data"))
    main_sh = replace(sh, sh_profile_idc=1)
    out.append(_neg("neg_geometry2_in_main_profile", with_geometry(2, good, _sh_unit(main_sh)), main_sh,
                    "a valid geometry payload v2 in a Main-profile stream, where kf_geometry_version 2 is "
                    "reserved: parsing succeeds, a generator reports the key frame (7.4.3, Annex E.2)",
                    ["kf_geometry_version 2 only with compact_tools( ) (Annex A)"],
                    "the Compact stream's key frame after a Main-profile sequence header",
                    "kf_geometry_version 2 is reserved"))
    return out


def all_streams() -> list[Built]:
    builders: list[Callable[[], list[Built]]] = [truncation_and_framing, corruption, values_and_order, hash_entries,
                                                  header_errors, resource_limits, extension_errors,
                                                  entropy_coding_limits, trailing_bit_errors,
                                                  compact_header_errors, geometry2_errors]
    out = [b for build in builders for b in build()]
    for b in out:        # the reference parser decides the exact message of a corrupted stream
        if b.outcome == ERROR:
            err = _reference_error(b.data)
            if err is None:
                raise RuntimeError(f"{b.name}: the reference parser accepts it")
            if not b.error_substring:
                b.error_substring = err.split(" (")[0]
            elif b.error_substring not in err:
                raise RuntimeError(f"{b.name}: expected {b.error_substring!r} in {err!r}")
    return out
