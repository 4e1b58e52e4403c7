"""Malformed streams: every failure is a BitstreamError with a message that names the element
or unit, never another exception, never a hang (spec 7.3, 7.4, Annex A)."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bitstream.bitio import BitWriter, write_leb128
from bitstream.cabac_engine import ArithmeticEncoder
from bitstream.errors import BitstreamError
from bitstream.stream import (ParsedEndOfSequence, ParsedKeyframe, ParsedSemanticUnit,
                              ParsedSequenceHeader, SkippedUnit, StreamParser, StreamWriter)
from bitstream.structures import (ENTROPY_CABAC, ENTROPY_EXP_GOLOMB, HASH_ENTRY_KEYFRAME,
                                  HASH_ENTRY_SEMANTICS, HashEntry, HashUnit, KeyframeUnit,
                                  SemanticFrame, SemanticUnit, SequenceHeader, code_hash_unit,
                                  code_keyframe_unit, code_semantic_unit, code_sequence_header,
                                  with_explicit_init, VERSION_MINOR)
from bitstream.syntax_coder import SyntaxWriter
from bitstream.units import UnitType, frame_unit, iter_units, unit_name

REPO = Path(__file__).resolve().parents[1]
FUZZ = settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------
def parse_all(data: bytes, **kw) -> list:  # type: ignore[no-untyped-def]
    return list(StreamParser(**kw).parse(data))


def parse_until_error(data: bytes, **kw) -> tuple[list, BitstreamError | None]:  # type: ignore[no-untyped-def]
    """Units parsed before the first error, and that error (only BitstreamError may escape)."""
    units: list = []
    try:
        for u in StreamParser(**kw).parse(data):
            units.append(u)
    except BitstreamError as exc:
        assert str(exc), "an error has a message"
        return units, exc
    return units, None


def expect_error(data: bytes, *needles: str, **kw) -> BitstreamError:  # type: ignore[no-untyped-def]
    _, exc = parse_until_error(data, **kw)
    assert exc is not None, "the stream must be rejected"
    for needle in needles:
        assert needle in str(exc), (needle, str(exc))
    return exc


class UncheckedWriter(SyntaxWriter):
    """A SyntaxWriter that writes values outside their ranges (to build bad streams)."""

    def _check(self, name, value, lo, hi):  # type: ignore[no-untyped-def, override]
        return None


def unit(unit_type: int, code) -> bytes:  # type: ignore[no-untyped-def]
    c = UncheckedWriter()
    code(c)
    return frame_unit(unit_type, c.getvalue())


ELEMENTS = [(0, 2), (9, 6)]      # head_yaw (levels -360..360), mouth_open (levels 0..128)


def sh_object(entropy: int = ENTROPY_EXP_GOLOMB, **kw) -> SequenceHeader:  # type: ignore[no-untyped-def]
    sh = SequenceHeader(sh_pic_width=64, sh_pic_height=64, sh_entropy_coding_mode=entropy,
                        sh_sem_element_id=[e for e, _ in ELEMENTS],
                        sh_sem_precision=[p for _, p in ELEMENTS])
    for k, v in kw.items():
        setattr(sh, k, v)
    return sh


def sh_payload(**kw) -> bytes:  # type: ignore[no-untyped-def]
    """The sequence header written bit by bit from the syntax table (no range checks)."""
    f = dict(signature=0x49465643, major=1, minor=VERSION_MINOR, profile=1, level=10, width=64, height=64,
             rate_num=25, rate_den=1, num_frames=0, chroma=3, bit_depth=0, entropy=0, kf_codec=1,
             elements=ELEMENTS, num_elements=None, init_qp=32, carry=1, name=b"",
             sha=bytes(32))
    f.update(kw)
    bw = BitWriter()
    for key, n in [("signature", 32), ("major", 8), ("minor", 8), ("profile", 8), ("level", 8),
                   ("width", 16), ("height", 16), ("rate_num", 16), ("rate_den", 16),
                   ("num_frames", 32), ("chroma", 2), ("bit_depth", 4), ("entropy", 2),
                   ("kf_codec", 8)]:
        bw.write_bits(f[key], n)
    elements = f["elements"]
    bw.write_bits(len(elements) if f["num_elements"] is None else f["num_elements"], 8)
    for eid, p in elements:
        bw.write_bits(eid, 8)
        bw.write_bits(p, 4)
    if f["entropy"] == ENTROPY_CABAC:
        bw.write_bits(f["init_qp"], 6)
        bw.write_bits(f["carry"], 1)
        bw.write_bits(0, 1)                # sh_cabac_explicit_init_flag
    bw.write_bits(len(f["name"]), 8)
    for b in f["name"]:
        bw.write_bits(b, 8)
    for b in f["sha"]:
        bw.write_bits(b, 8)
    bw.write_bit(1)
    while not bw.byte_aligned():
        bw.write_bit(0)
    return bw.getvalue()


def sh_unit(**kw) -> bytes:  # type: ignore[no-untyped-def]
    return frame_unit(UnitType.SEQUENCE_HEADER, sh_payload(**kw))


def kf_unit(sh: SequenceHeader, levels=(0, 0), picture=b"pic", delta=0, codec=None) -> bytes:  # type: ignore[no-untyped-def]
    kf = KeyframeUnit(delta, sh.sh_keyframe_codec_id if codec is None else codec, list(levels), 0,
                      b"", picture)
    return unit(UnitType.KEYFRAME, lambda c: code_keyframe_unit(c, kf, sh))


def su_unit(sh: SequenceHeader, residuals, delta=0) -> bytes:  # type: ignore[no-untyped-def]
    su = SemanticUnit(delta, [SemanticFrame(int(not any(r)), list(r)) for r in residuals])
    ctx = sh.new_context_state() if sh.sh_entropy_coding_mode == ENTROPY_CABAC else None
    return unit(UnitType.SEMANTIC, lambda c: code_semantic_unit(c, su, sh, ctx))


EOS = frame_unit(UnitType.END_OF_SEQUENCE, b"\x80")


def small_stream(entropy: int, explicit: bool = False) -> bytes:
    sh = SequenceHeader(sh_sem_element_id=[0, 6, 11], sh_sem_precision=[2, 0, 5],
                        sh_entropy_coding_mode=entropy, sh_generator_name="t")
    if explicit:
        with_explicit_init(sh)
    w = StreamWriter(sh)
    w.keyframe(b"picture", [4, 3, -7], geometry_payload=b"geo")
    w.semantic_unit([[5, 3, -7], [5, 3, -7], [-360, 15, 128]])
    w.semantic_unit([[-359, 14, 100]], frame_idx_delta=1)
    w.hash_unit(per_frame=True)
    w.keyframe(b"p2", [0, 0, 0])
    w.semantic_unit([[1, 1, 1]])
    w.hash_unit(keyframe_md5={6: bytes(16)})
    w.end_of_sequence()
    return w.getvalue()


STREAMS = {
    "eg": small_stream(ENTROPY_EXP_GOLOMB),
    "cabac": small_stream(ENTROPY_CABAC),
    "cabac_explicit": small_stream(ENTROPY_CABAC, explicit=True),
}


def unit_bounds(data: bytes) -> list[int]:
    return [raw.offset + raw.size for raw in iter_units(data)]


# ---------------------------------------------------------------------------------------
# Sanity: the building blocks are valid
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(STREAMS))
def test_small_streams_are_valid(name):
    units = parse_all(STREAMS[name])
    assert [type(u).__name__ for u in units] == [
        "ParsedSequenceHeader", "ParsedKeyframe", "ParsedSemanticUnit", "ParsedSemanticUnit",
        "ParsedHash", "ParsedKeyframe", "ParsedSemanticUnit", "ParsedHash", "ParsedEndOfSequence"]
    assert all(c.matches in (True, None) for u in units if hasattr(u, "checks") for c in u.checks)


@pytest.mark.parametrize("entropy", [ENTROPY_EXP_GOLOMB, ENTROPY_CABAC])
def test_hand_built_header_matches_the_structure_code(entropy):
    sw = SyntaxWriter()
    code_sequence_header(sw, sh_object(entropy))
    assert sh_payload(entropy=entropy) == sw.getvalue()
    sh = sh_object(entropy)
    units = parse_all(sh_unit(entropy=entropy) + kf_unit(sh) + su_unit(sh, [[1, 2]]) + EOS)
    assert units[2].frames[0].levels == [1, 2]


# ---------------------------------------------------------------------------------------
# Truncation and framing
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(STREAMS))
def test_every_truncation(name):
    data = STREAMS[name]
    bounds = unit_bounds(data)
    for length in range(len(data) + 1):
        units, exc = parse_until_error(data[:length])
        complete = sum(1 for b in bounds if b <= length)
        if length == 0:
            assert exc is not None and "empty stream" in str(exc)
        elif length in bounds:
            assert exc is None, (length, str(exc))
            assert len(units) == complete
        else:
            assert exc is not None, length
            assert len(units) == complete
            assert "unit_payload_size" in str(exc) or "truncated" in str(exc)


@pytest.mark.parametrize("name", sorted(STREAMS))
@pytest.mark.parametrize("delta", [-2, -1, 1, 2, 100])
def test_wrong_unit_payload_size(name, delta):
    data = STREAMS[name]
    raws = list(iter_units(data))
    for k, raw in enumerate(raws):
        size = len(raw.payload) + delta
        if size < 0:
            continue
        bad = b"".join(data[r.offset:r.offset + r.size] for r in raws[:k])
        bad += bytes([raw.unit_type << 2]) + write_leb128(size) + raw.payload
        bad += b"".join(data[r.offset:r.offset + r.size] for r in raws[k + 1:])
        units, exc = parse_until_error(bad)
        assert exc is not None, (k, delta)
        assert len(units) == k, (k, delta, str(exc))
        assert exc.unit == unit_name(raw.unit_type) or exc.element == "unit_payload_size", str(exc)


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_forbidden_zero_bit(name):
    data = STREAMS[name]
    for k, raw in enumerate(iter_units(data)):
        bad = bytearray(data)
        bad[raw.offset] |= 0x80
        units, exc = parse_until_error(bytes(bad))
        assert exc is not None and "forbidden_zero_bit" in str(exc)
        assert exc.element == "forbidden_zero_bit"
        assert exc.bit_pos == 8 * raw.offset
        assert len(units) == k


@pytest.mark.parametrize("bits", [1, 2, 3])
def test_unit_reserved_zero_2bits(bits):
    data = bytearray(STREAMS["eg"])
    data[0] |= bits
    expect_error(bytes(data), "unit_reserved_zero_2bits")


def test_zero_and_oversized_unit_payload_size():
    expect_error(sh_unit() + bytes([UnitType.KEYFRAME << 2, 0]), "unit_payload_size is 0")
    expect_error(sh_unit() + bytes([UnitType.KEYFRAME << 2]) + b"\x80\x80\x80\x80\x01" + bytes(40),
                 "unit_payload_size longer than 4 bytes")
    expect_error(sh_unit() + bytes([UnitType.KEYFRAME << 2]) + b"\x80\x80",
                 "unit_payload_size truncated")


@pytest.mark.parametrize("payload,needle", [(b"\x00", "unit_stop_one_bit"),
                                            (b"\x81", "alignment_zero_bit"),
                                            (b"\x80\x00", "unexpected data"),
                                            (b"\xc0", "alignment_zero_bit")])
def test_end_of_sequence_trailing_bits(payload, needle):
    data = STREAMS["eg"]
    prefix = data[:unit_bounds(data)[-2]]
    exc = expect_error(prefix + frame_unit(UnitType.END_OF_SEQUENCE, payload), needle)
    assert exc.unit == "END_OF_SEQUENCE"


# ---------------------------------------------------------------------------------------
# Sequence header values
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("kw,needle", [
    (dict(signature=0x49465644), "sh_signature"),
    (dict(major=2), "sh_version_major"),
    (dict(width=15), "sh_pic_width"),
    (dict(height=0), "sh_pic_height"),
    (dict(rate_num=0), "sh_frame_rate_num"),
    (dict(rate_den=0), "sh_frame_rate_den"),
    (dict(bit_depth=9), "sh_bit_depth_minus8"),
    (dict(entropy=2), "sh_entropy_coding_mode"),
    (dict(entropy=3), "sh_entropy_coding_mode"),
    (dict(num_elements=0, elements=[]), "sh_num_sem_elements"),
    (dict(elements=[(0, 9)]), "sh_sem_precision[0]"),            # head_yaw: max precision 8
    (dict(elements=[(0, 2), (6, 1)]), "sh_sem_precision[1]"),    # head_loc: max precision 0
    (dict(elements=[(3, 13)]), "sh_sem_precision[0]"),           # head_tx: max precision 12
    (dict(elements=[(0, 2), (9, 6), (0, 2)]), "sh_sem_element_id[2]"),
    (dict(elements=[(5, 1), (5, 1)]), "appears twice"),
    (dict(name=b"ab\x7f"), "sh_generator_name_byte[2]"),
    (dict(name=b"\x1f"), "sh_generator_name_byte[0]"),
])
def test_sequence_header_out_of_range(kw, needle):
    exc = expect_error(sh_unit(**kw) + EOS, needle)
    assert exc.unit == "SEQUENCE_HEADER"


def test_explicit_init_rice_stat_out_of_range():
    from bitstream.cabac_contexts import MAX_RICE_STAT
    sh = with_explicit_init(sh_object(ENTROPY_CABAC))
    assert sh.sh_rice_stat_init[1] <= MAX_RICE_STAT
    data = unit(UnitType.SEQUENCE_HEADER, lambda c: code_sequence_header(c, sh)) + EOS
    assert len(parse_all(data)) == 2
    sh.sh_rice_stat_init[1] = MAX_RICE_STAT + 1
    data = unit(UnitType.SEQUENCE_HEADER, lambda c: code_sequence_header(c, sh)) + EOS
    exc = expect_error(data, "sh_rice_stat_init[1]")
    assert exc.unit == "SEQUENCE_HEADER"


def test_duplicated_element_ids_names_the_element():
    exc = expect_error(sh_unit(elements=[(4, 3), (7, 2), (4, 3)]) + EOS, "appears twice")
    assert exc.element == "sh_sem_element_id[2]"
    assert exc.unit == "SEQUENCE_HEADER"


@pytest.mark.parametrize("profile", [0, 3, 255])
def test_unknown_profile(profile):
    exc = expect_error(sh_unit(profile=profile) + EOS, "sh_profile_idc")
    assert exc.element == "sh_profile_idc"


@pytest.mark.parametrize("level", [0, 9, 11, 21, 31, 255])
def test_unknown_level(level):
    exc = expect_error(sh_unit(level=level) + EOS, "sh_level_idc")
    assert exc.element == "sh_level_idc"


@pytest.mark.parametrize("kw,needle", [
    (dict(chroma=0), "sh_chroma_format_idc"),
    (dict(chroma=2), "sh_chroma_format_idc"),
    (dict(bit_depth=2), "sh_bit_depth_minus8"),
    (dict(kf_codec=2), "sh_keyframe_codec_id"),
    (dict(elements=[(0, 2), (14, 0)]), "sh_sem_element_id[1]"),
    (dict(width=257), "sh_pic_width"),
    (dict(level=20, height=513), "sh_pic"),
    (dict(rate_num=31), "sh_frame_rate_num"),
    (dict(rate_num=61, rate_den=2), ""),     # 30.5 fps at level 10
])
def test_profile_and_level_constraints(kw, needle):
    data = sh_unit(**kw) + EOS
    exc = expect_error(data, needle)
    assert exc.unit == "SEQUENCE_HEADER"
    # without the profile checks the syntax itself is fine
    assert isinstance(parse_all(data, check_profile=False)[0], ParsedSequenceHeader)


def test_second_sequence_header():
    exc = expect_error(sh_unit() + sh_unit() + EOS, "second sequence header")
    assert exc.unit == "SEQUENCE_HEADER"


@pytest.mark.parametrize("first", [UnitType.KEYFRAME, UnitType.SEMANTIC, UnitType.HASH,
                                   UnitType.END_OF_SEQUENCE, 5, 31])
def test_stream_must_start_with_a_sequence_header(first):
    exc = expect_error(frame_unit(first, b"\x80") + sh_unit(), "sequence header")
    assert exc.unit == unit_name(first)


def test_sh_num_frames_mismatch():
    sh = sh_object()
    body = kf_unit(sh) + su_unit(sh, [[1, 1]])
    assert len(parse_all(sh_unit(num_frames=2) + body + EOS)) == 4
    expect_error(sh_unit(num_frames=3) + body + EOS, "sh_num_frames")
    expect_error(sh_unit(num_frames=1) + body + EOS, "sh_num_frames")
    expect_error(sh_unit(num_frames=3) + body, "sh_num_frames")      # no EOS: at the end


# ---------------------------------------------------------------------------------------
# Key-frame, semantic and hash units
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("entropy", [ENTROPY_EXP_GOLOMB, ENTROPY_CABAC])
@pytest.mark.parametrize("levels,needle", [((361, 0), "kf_ref_sem_level[0]"),
                                           ((-361, 0), "kf_ref_sem_level[0]"),
                                           ((0, -1), "kf_ref_sem_level[1]"),
                                           ((0, 129), "kf_ref_sem_level[1]")])
def test_keyframe_level_out_of_range(entropy, levels, needle):
    sh = sh_object(entropy)
    exc = expect_error(sh_unit(entropy=entropy) + kf_unit(sh, levels) + EOS, needle)
    assert exc.unit == "KEYFRAME"


def test_keyframe_sizes():
    sh = sh_object()
    expect_error(sh_unit() + kf_unit(sh, picture=b"") + EOS, "kf_picture_size")

    def oversized(c):  # type: ignore[no-untyped-def]
        c.ue("kf_frame_idx_delta", 0)
        c.u("kf_codec_id", 8, 1)
        c.se("kf_ref_sem_level[0]", 0)
        c.se("kf_ref_sem_level[1]", 0)
        c.u("kf_geometry_version", 8, 0)
        c.ue("kf_geometry_size", 1000)
        c.ue("kf_picture_size", 1)
        c.byte_alignment()
        c.b8_string("kf_picture_byte", b"xy", 2)
        c.trailing_bits()
    exc = expect_error(sh_unit() + unit(UnitType.KEYFRAME, oversized) + EOS, "exceed the unit payload")
    assert exc.element == "kf_picture_size"
    expect_error(sh_unit() + kf_unit(sh, codec=0) + EOS, "kf_codec_id")
    # a raw key frame must hold exactly one picture
    sh_raw = sh_object(sh_keyframe_codec_id=0)
    expect_error(sh_unit(kf_codec=0) + kf_unit(sh_raw, picture=b"x" * 100) + EOS, "kf_picture_size")


@pytest.mark.parametrize("entropy", [ENTROPY_EXP_GOLOMB, ENTROPY_CABAC])
def test_semantic_residual_out_of_range(entropy):
    sh = sh_object(entropy)
    base = sh_unit(entropy=entropy) + kf_unit(sh, (0, 0))
    # |sem_res| above the largest possible residual (720 for head_yaw at precision 2)
    exc = expect_error(base + su_unit(sh, [[721, 0]]) + EOS, "sem_res")
    assert exc.unit == "SEMANTIC"
    # a residual within its bound whose reconstructed level leaves the range
    exc = expect_error(base + su_unit(sh, [[0, 0], [361, 0]]) + EOS, "reconstructed level")
    assert exc.unit == "SEMANTIC" and exc.element == "sem_res[0]"
    exc = expect_error(base + su_unit(sh, [[0, -1]]) + EOS, "reconstructed level")
    assert exc.element == "sem_res[1]"
    # and the legal extremes are fine
    units = parse_all(base + su_unit(sh, [[360, 128], [-720, -128]]) + EOS)
    assert [f.levels for f in units[2].frames] == [[360, 128], [-360, 0]]


@pytest.mark.parametrize("entropy", [ENTROPY_EXP_GOLOMB, ENTROPY_CABAC])
def test_too_many_frames_per_semantic_unit(entropy):
    sh = sh_object(entropy)
    base = sh_unit(entropy=entropy) + kf_unit(sh)
    assert len(parse_all(base + su_unit(sh, [[0, 0]] * 16) + EOS)) == 4
    exc = expect_error(base + su_unit(sh, [[0, 0]] * 17) + EOS, "su_num_frames_minus1")
    assert exc.unit == "SEMANTIC"


@pytest.mark.parametrize("entropy", [ENTROPY_EXP_GOLOMB, ENTROPY_CABAC])
def test_semantic_unit_before_keyframe(entropy):
    sh = sh_object(entropy)
    exc = expect_error(sh_unit(entropy=entropy) + su_unit(sh, [[1, 1]]) + kf_unit(sh) + EOS,
                       "semantic unit before the first key-frame unit")
    assert exc.unit == "SEMANTIC"


def test_cabac_exp_golomb_prefix_too_long():
    sh = sh_object(ENTROPY_CABAC)
    bw = BitWriter()
    enc = ArithmeticEncoder(bw)
    for _ in range(40):
        enc.encode_bypass(1)
    enc.encode_terminate(1)
    while not bw.byte_aligned():
        bw.write_bit(0)
    data = sh_unit(entropy=1) + kf_unit(sh) + frame_unit(UnitType.SEMANTIC, bw.getvalue()) + EOS
    exc = expect_error(data, "prefix")
    assert exc.element == "su_frame_idx_delta" and exc.unit == "SEMANTIC"


class ZeroEndOfUnitWriter(SyntaxWriter):
    """Codes end_of_unit_one_bit as a terminate bin of 0 (then the flushing 1): the
    arithmetic decoder reads end_of_unit_one_bit = 0 and stops exactly at the stop bit."""

    def ae_terminate(self, name, value):  # type: ignore[no-untyped-def, override]
        if name == "end_of_unit_one_bit":
            super().ae_terminate(name, 0)
        return super().ae_terminate(name, value)


@pytest.mark.parametrize("residuals", [[1, 2], [0, 0], [100, 7]])
def test_end_of_unit_one_bit_equal_to_zero_is_rejected(residuals):
    """end_of_unit_one_bit shall be 1; a semantic unit in which it decodes as 0 is not
    conforming and must be rejected, naming the element."""
    sh = sh_object(ENTROPY_CABAC)
    c = ZeroEndOfUnitWriter()
    su = SemanticUnit(0, [SemanticFrame(int(not any(residuals)), residuals)])
    code_semantic_unit(c, su, sh, sh.new_context_state())
    data = sh_unit(entropy=1) + kf_unit(sh) + frame_unit(UnitType.SEMANTIC, c.getvalue()) + EOS
    trace: list = []
    units, exc = parse_until_error(data, trace=trace)
    decoded = [e.value for e in trace if e.name == "end_of_unit_one_bit"]
    assert decoded == [0]          # the stream really carries end_of_unit_one_bit = 0
    assert exc is not None, "a semantic unit with end_of_unit_one_bit = 0 was accepted"
    assert "end_of_unit_one_bit" in str(exc)
    assert exc.unit == "SEMANTIC"


def test_ue_prefix_too_long_in_a_unit():
    payload = bytes(8) + b"\x80"       # 64 zeros: kf_frame_idx_delta
    exc = expect_error(sh_unit() + frame_unit(UnitType.KEYFRAME, payload) + EOS, "Exp-Golomb prefix")
    assert exc.element == "kf_frame_idx_delta" and exc.unit == "KEYFRAME"


def test_cabac_stop_bit_and_initial_offset():
    sh = sh_object(ENTROPY_CABAC)
    base = sh_unit(entropy=1) + kf_unit(sh)
    expect_error(base + frame_unit(UnitType.SEMANTIC, b"\xff\xff\xff") + EOS, "ivlOffset")
    good = su_unit(sh, [[3, 4]])
    (raw,) = list(iter_units(good))
    # extra byte after the aligned end of the arithmetic-coded data
    expect_error(base + frame_unit(UnitType.SEMANTIC, raw.payload + b"\x00") + EOS, "unexpected data")


def test_hash_unit_errors():
    sh = sh_object()
    base = sh_unit() + kf_unit(sh) + su_unit(sh, [[1, 1]])

    def hash_unit(entries, hash_type=0):  # type: ignore[no-untyped-def]
        return unit(UnitType.HASH, lambda c: code_hash_unit(c, HashUnit(hash_type, entries)))
    md5 = bytes(16)
    expect_error(base + hash_unit([], hash_type=1) + EOS, "hu_hash_type")
    expect_error(base + hash_unit([HashEntry(2, 0, 0, md5)]) + EOS, "hu_entry_type[0]")
    expect_error(base + hash_unit([HashEntry(HASH_ENTRY_KEYFRAME, 0, 1, md5)]) + EOS,
                 "hu_num_frames_minus1[0]")
    expect_error(base + hash_unit([HashEntry(HASH_ENTRY_SEMANTICS, 0, 2, md5)]) + EOS,
                 "frame 2", "hu_num_frames_minus1")
    # entries of one hash unit do not overlap
    expect_error(base + hash_unit([HashEntry(HASH_ENTRY_SEMANTICS, 0, 1, md5),
                                   HashEntry(HASH_ENTRY_SEMANTICS, 1, 0, md5)]) + EOS, "overlap")
    expect_error(base + hash_unit([HashEntry(HASH_ENTRY_KEYFRAME, 1, 0, md5)]) + EOS,
                 "hu_first_frame_idx")
    # frames covered by an earlier hash unit are not covered again
    first = hash_unit([HashEntry(HASH_ENTRY_SEMANTICS, 0, 0, md5)])
    expect_error(base + first + hash_unit([HashEntry(HASH_ENTRY_SEMANTICS, 0, 0, md5)]) + EOS,
                 "hu_first_frame_idx")
    # a wrong md5 is not a syntax error: the check reports it
    units = parse_all(base + hash_unit([HashEntry(HASH_ENTRY_SEMANTICS, 0, 1, md5)]) + EOS)
    assert units[3].checks[0].matches is False


# ---------------------------------------------------------------------------------------
# End of sequence and reserved unit types
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(STREAMS))
def test_data_after_end_of_sequence(name):
    data = STREAMS[name]
    sh = sh_object()
    n = len(parse_all(data))
    for extra in (EOS, kf_unit(sh), frame_unit(7, b"\x80"), sh_unit()):
        units, exc = parse_until_error(data + extra)
        assert exc is not None and "after END_OF_SEQUENCE" in str(exc)
        assert len(units) == n
        assert isinstance(units[-1], ParsedEndOfSequence)
    for garbage in (b"\x00", b"\xff", b"\x00\x00\x00", b"IFVC"):
        units, exc = parse_until_error(data + garbage)
        assert exc is not None
        assert len(units) == n


@pytest.mark.parametrize("unit_type", [t for t in range(5, 32) if t not in set(UnitType)])
def test_reserved_unit_types_are_skipped(unit_type):
    sh = sh_object()
    reserved = frame_unit(unit_type, bytes(range(37)))
    data = sh_unit() + reserved + kf_unit(sh, (5, 6)) + reserved + su_unit(sh, [[1, 1]]) + reserved + EOS
    units = parse_all(data)
    kinds = [type(u) for u in units]
    assert kinds == [ParsedSequenceHeader, SkippedUnit, ParsedKeyframe, SkippedUnit,
                     ParsedSemanticUnit, SkippedUnit, ParsedEndOfSequence]
    assert units[1].raw.unit_type == unit_type and units[1].raw.payload == bytes(range(37))
    assert units[4].frames[0].levels == [6, 7]


# ---------------------------------------------------------------------------------------
# Huge frame index deltas must not make the parser hang or exhaust memory
# ---------------------------------------------------------------------------------------
def run_isolated(code: str, timeout: float = 20.0) -> subprocess.CompletedProcess:
    """Runs code in a child with 2 GB of address space; the child prints its outcome."""
    prog = textwrap.dedent("""
        import resource, sys, time
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
        sys.path.insert(0, %r)
    """ % str(REPO)) + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True,
                          timeout=timeout)


HUGE_DELTA_PROLOGUE = """
    from bitstream.errors import BitstreamError
    from bitstream.stream import StreamParser
    from bitstream.structures import *
    from bitstream.syntax_coder import SyntaxWriter
    from bitstream.units import frame_unit

    def framed(t, code):
        c = SyntaxWriter(); code(c); return frame_unit(t, c.getvalue())

    def outcome(data):
        t0 = time.perf_counter()
        try:
            n = sum(1 for _ in StreamParser().parse(data))
            result = "parsed %d units" % n
        except BitstreamError as exc:
            result = "BitstreamError: %s" % exc
        print("%.2f %s" % (time.perf_counter() - t0, result))
"""


@pytest.mark.parametrize("which", ["keyframe", "semantic"])
def test_huge_frame_index_delta_does_not_hang(which):
    """kf_frame_idx_delta / su_frame_idx_delta accept up to 2**31 - 1: parsing such a unit must
    either be rejected with a BitstreamError or succeed, quickly and in bounded memory."""
    code = HUGE_DELTA_PROLOGUE + f"""
    import bitstream.structures as S
    S.MAX_FRAME_IDX_DELTA = (1 << 31) - 1      # let the writer produce what the syntax forbids
    sh = SequenceHeader(sh_sem_element_id=[0, 9], sh_sem_precision=[2, 6])
    head = framed(0, lambda c: code_sequence_header(c, sh))
    big = (1 << 31) - 1
    if {which!r} == "keyframe":
        kf = KeyframeUnit(big, 1, [0, 0], 0, b"", b"p")
        data = head + framed(1, lambda c: code_keyframe_unit(c, kf, sh))
    else:
        kf = KeyframeUnit(0, 1, [0, 0], 0, b"", b"p")
        su = SemanticUnit(big, [SemanticFrame(0, [1, 1])])
        data = (head + framed(1, lambda c: code_keyframe_unit(c, kf, sh))
                + framed(2, lambda c: code_semantic_unit(c, su, sh, sh.new_context_state())))
    S.MAX_FRAME_IDX_DELTA = (1 << 16) - 1      # the parser checks the real bound
    outcome(data)
    """
    try:    # a hang guard only (a generous limit): the bound itself is checked below
        proc = run_isolated(code, timeout=60)
    except subprocess.TimeoutExpired:
        proc = None
    if proc is None:
        pytest.fail(f"parsing a {which} unit with frame index delta 2**31-1 did not finish in 60 s")
    assert proc.returncode == 0, proc.stderr[-2000:]
    _seconds, result = proc.stdout.split(" ", 1)
    # The syntax's range (0..65535) rejects the unit before any frame is inferred.
    assert result.startswith("BitstreamError") and "frame_idx_delta = 2147483647 out of range" in result, result


def test_hash_unit_parse_time_is_linear_in_its_size(monkeypatch):
    """Overlapping hash entries: each entry covering all 4096 decoded frames, 2500 entries
    (a 70 kB stream). Parsing must stay proportional to the stream size, not to
    entries x frames (that product grows to ~30 minutes for a 1.8 MB stream): the frames
    the parser hashes are counted (work, not wall time, so a busy machine cannot fail it)."""
    import bitstream.stream as stream_module
    hashed = [0]
    real_md5 = stream_module.md5_of_packed

    def counting_md5(packed):  # type: ignore[no-untyped-def]
        packed = list(packed)
        hashed[0] += len(packed)
        return real_md5(packed)

    monkeypatch.setattr(stream_module, "md5_of_packed", counting_md5)
    sh = sh_object()
    w = StreamWriter(sh)
    w.keyframe(b"p", [0, 0])
    for _ in range(255):
        w.semantic_unit([[0, 0]] * 16)
    frames = 1 + 255 * 16
    c = SyntaxWriter()
    code_hash_unit(c, HashUnit(entries=[HashEntry(HASH_ENTRY_SEMANTICS, 0, frames - 1, bytes(16))] * 2500))
    data = w.getvalue() + frame_unit(UnitType.HASH, c.getvalue())
    assert len(data) < 120_000
    units, exc = parse_until_error(data)
    assert hashed[0] <= frames, f"{hashed[0]} frames hashed for a stream of {frames} frames"
    if exc is None:
        assert all(ck.matches is False for ck in units[-1].checks)


# ---------------------------------------------------------------------------------------
# Fuzzing: random bytes and random mutations of valid streams
# ---------------------------------------------------------------------------------------
def fuzz_parse(data: bytes) -> None:
    """Consumes the whole iterator: anything but BitstreamError (with a message) fails."""
    for check_profile in (True, False):
        try:
            for _ in StreamParser(check_profile=check_profile).parse(data):
                pass
        except BitstreamError as exc:
            assert str(exc)
            assert exc.reason


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes(data):
    fuzz_parse(data)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(STREAMS)), st.binary(max_size=200),
       st.sampled_from(list(UnitType)))
def test_random_payloads_after_a_valid_prefix(name, payload, unit_type):
    """A valid sequence header (and key frame), then a unit of random payload."""
    data = STREAMS[name]
    bounds = unit_bounds(data)
    prefix = data[:bounds[1]]
    fuzz_parse(prefix + bytes([unit_type << 2]) + write_leb128(len(payload)) + payload)
    fuzz_parse(prefix + bytes([unit_type << 2]) + write_leb128(len(payload)) + payload + data[bounds[1]:])


MUTATION = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 1 << 16), st.integers(0, 7)),
    st.tuples(st.just("insert"), st.integers(0, 1 << 16), st.integers(0, 255)),
    st.tuples(st.just("delete"), st.integers(0, 1 << 16), st.integers(1, 4)),
    st.tuples(st.just("set"), st.integers(0, 1 << 16), st.integers(0, 255)),
    st.tuples(st.just("truncate"), st.integers(0, 1 << 16), st.just(0)),
)


def mutate(data: bytes, mutations) -> bytes:  # type: ignore[no-untyped-def]
    buf = bytearray(data)
    for kind, pos, arg in mutations:
        if not buf:
            break
        p = pos % len(buf)
        if kind == "flip":
            buf[p] ^= 1 << arg
        elif kind == "insert":
            buf.insert(p, arg)
        elif kind == "delete":
            del buf[p:p + arg]
        elif kind == "set":
            buf[p] = arg
        else:
            del buf[p:]
    return bytes(buf)


@FUZZ
@given(st.sampled_from(sorted(STREAMS)), st.lists(MUTATION, min_size=1, max_size=6))
def test_mutated_streams(name, mutations):
    fuzz_parse(mutate(STREAMS[name], mutations))


@FUZZ
@given(st.sampled_from(sorted(STREAMS)), st.lists(st.tuples(st.just("flip"), st.integers(0, 1 << 16),
                                                             st.integers(0, 7)), min_size=1, max_size=3))
def test_bit_flipped_streams(name, flips):
    """Single bit errors: parsing either succeeds (a hash may then fail) or raises BitstreamError."""
    fuzz_parse(mutate(STREAMS[name], flips))


@FUZZ
@given(st.sampled_from(sorted(STREAMS)), st.integers(0, 8), st.lists(MUTATION, min_size=1, max_size=4))
def test_mutated_unit_payloads_with_consistent_framing(name, which, mutations):
    """Mutations inside one unit's payload, re-framed with the right unit_payload_size, so
    that the structure parsers (not the framing) meet the corrupt data."""
    raws = list(iter_units(STREAMS[name]))
    k = which % len(raws)
    out = b""
    for i, raw in enumerate(raws):
        payload = mutate(raw.payload, mutations) if i == k else raw.payload
        if payload:
            out += frame_unit(raw.unit_type, payload)
    fuzz_parse(out)
