"""The compact sequence header (spec 7.3.8, 7.4.7; unit type COMPACT_SEQUENCE_HEADER) and its
stream rules (6.2, Annex A.4): round trips of every flag path, the default stream's size, the
parser's rules, malformed headers, and the encoder's --profile / --full-header options."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitstream.errors import BitstreamError
from bitstream.generator_registry import GENERATOR_BY_ID, REGISTERED_GENERATORS
from bitstream.profiles import PROFILE_COMPACT, PROFILE_MAIN
from bitstream.semantic_elements import (DEFAULT_BACKGROUND_ELEMENT_IDS, DEFAULT_ELEMENT_IDS, ELEMENT_BY_ID,
                                        SEMANTIC_ELEMENTS)
from bitstream.stream import ParsedSequenceHeader, StreamParser, StreamWriter
from bitstream.structures import (CSH_FRAME_RATES, CSH_PIC_SIZES, ENTROPY_CABAC, ENTROPY_EXP_GOLOMB,
                                  KEYFRAME_CODEC_RAW, SequenceHeader, code_compact_sequence_header,
                                  code_sequence_header, named_sem_set, raw_picture_size,
                                  with_explicit_init)
from bitstream.syntax_coder import SyntaxReader, SyntaxWriter
from bitstream.trace import TraceEntry
from bitstream.units import UnitType, frame_unit, iter_units

EOS = frame_unit(UnitType.END_OF_SEQUENCE, b"\x80")
DEFAULT_PRECISIONS = [ELEMENT_BY_ID[e].default_precision for e in DEFAULT_ELEMENT_IDS]
BG_PRECISIONS = [ELEMENT_BY_ID[e].default_precision for e in DEFAULT_BACKGROUND_ELEMENT_IDS]


def default_sh(**kw) -> SequenceHeader:  # type: ignore[no-untyped-def]
    """What the reference encoder writes for a 256x256, 25 fps clip of unknown length in the
    Compact profile (the registered default generator, the default element set)."""
    fields = dict(sh_profile_idc=PROFILE_COMPACT, sh_sem_element_id=list(DEFAULT_ELEMENT_IDS),
                  sh_sem_precision=list(DEFAULT_PRECISIONS), sh_generator_name=REGISTERED_GENERATORS[0].name,
                  sh_generator_sha256=REGISTERED_GENERATORS[0].weights_sha256, compact_form=1)
    fields.update(kw)
    return SequenceHeader(**fields)


def write(sh: SequenceHeader, trace: list[TraceEntry] | None = None) -> bytes:
    c = SyntaxWriter(trace)
    code_compact_sequence_header(c, replace(sh))
    return c.getvalue()


def coded_bits(sh: SequenceHeader) -> int:
    """The bits of the header's syntax elements, before the trailing bits."""
    trace: list[TraceEntry] = []
    write(sh, trace)
    return sum(t.num_bits for t in trace if t.name not in ("unit_stop_one_bit", "alignment_zero_bit"))


def read(payload: bytes, trace: list[TraceEntry] | None = None) -> SequenceHeader:
    c = SyntaxReader(payload, trace=trace, unit="COMPACT_SEQUENCE_HEADER")
    sh = code_compact_sequence_header(c, SequenceHeader())
    c.expect_end()
    return sh


def names(sh: SequenceHeader) -> set[str]:
    trace: list[TraceEntry] = []
    write(sh, trace)
    return {t.name.split("[")[0] for t in trace}


def parse(data: bytes, **kw) -> list:  # type: ignore[no-untyped-def]
    return list(StreamParser(**kw).parse(data))


def unit(sh: SequenceHeader) -> bytes:
    return StreamWriter(sh).getvalue()


# --- round trips -------------------------------------------------------------------------

@st.composite
def compact_headers(draw: st.DrawFn) -> SequenceHeader:
    """Any header the compact form can carry (syntax ranges; profile constraints not applied)."""
    sh = default_sh(sh_level_idc=draw(st.integers(0, 255)), sh_num_frames=draw(st.integers(0, (1 << 32) - 1)),
                    sh_version_minor=draw(st.integers(2, 255)),
                    sh_profile_idc=draw(st.integers(0, 255)),
                    sh_entropy_coding_mode=draw(st.integers(0, 1)),
                    sh_keyframe_codec_id=draw(st.integers(0, 3)))
    if draw(st.booleans()):
        sh.sh_pic_width, sh.sh_pic_height = draw(st.sampled_from(sorted(CSH_PIC_SIZES.values())))
    else:
        sh.sh_pic_width, sh.sh_pic_height = draw(st.integers(16, 65535)), draw(st.integers(16, 65535))
    if draw(st.booleans()):
        sh.sh_frame_rate_num, sh.sh_frame_rate_den = draw(st.sampled_from(sorted(CSH_FRAME_RATES.values())))
    else:
        sh.sh_frame_rate_num, sh.sh_frame_rate_den = draw(st.integers(1, 65535)), draw(st.integers(1, 65535))
    if draw(st.booleans()):
        sh.sh_chroma_format_idc, sh.sh_bit_depth_minus8 = draw(st.integers(0, 3)), draw(st.integers(0, 8))
    kind = draw(st.sampled_from(["default", "default_set", "explicit"]))
    # a named set: the default one, with the background (csh_background_elements_flag) and/or the
    # correction elements (csh_correction_elements_flag)
    ids = named_sem_set(draw(st.integers(0, 1)), draw(st.integers(0, 1)))
    sh.sh_sem_element_id, sh.sh_sem_precision = list(ids), [ELEMENT_BY_ID[e].default_precision for e in ids]
    if kind == "default_set":
        sh.sh_sem_precision = [draw(st.integers(0, ELEMENT_BY_ID[e].max_precision)) for e in sh.sh_sem_element_id]
    elif kind == "explicit":
        ids = draw(st.lists(st.integers(0, 255), min_size=1, max_size=20, unique=True))
        sh.sh_sem_element_id = ids
        sh.sh_sem_precision = [draw(st.integers(0, ELEMENT_BY_ID[e].max_precision if e in ELEMENT_BY_ID else 15))
                               for e in ids]
    if sh.sh_entropy_coding_mode == ENTROPY_CABAC and draw(st.booleans()):
        sh.sh_cabac_init_qp = draw(st.integers(0, 63))
        sh.sh_cabac_context_carry_flag = draw(st.integers(0, 1))
        if draw(st.booleans()):
            with_explicit_init(sh)
    generator = draw(st.sampled_from(["registered", "registered_other_weights", "own"]))
    if generator == "registered":
        g = draw(st.sampled_from(REGISTERED_GENERATORS))
        sh.sh_generator_name, sh.sh_generator_sha256 = g.name, g.weights_sha256
    else:
        sh.sh_generator_name = (REGISTERED_GENERATORS[0].name if generator == "registered_other_weights" else
                                draw(st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)))
        sh.sh_generator_sha256 = draw(st.binary(min_size=32, max_size=32).filter(lambda b: any(b)))
    if draw(st.booleans()):
        sh.sh_su_extension_flag = draw(st.integers(0, 1))
        sh.sh_extension_data = draw(st.binary(max_size=20))
        sh.sh_extension_present = 1
    sh.csh_coded_explicitly = frozenset(draw(st.sets(st.sampled_from(CHOICES))))
    return sh


CHOICES = ("csh_pic_size_idx", "csh_frame_rate_idx", "csh_default_format_flag", "csh_default_sem_elements_flag",
           "csh_default_sem_set_flag", "csh_cabac_default_init_flag", "csh_generator_registered_flag")


@settings(max_examples=300, deadline=None)
@given(compact_headers())
def test_compact_header_round_trips(sh: SequenceHeader) -> None:
    written = replace(sh)
    c = SyntaxWriter()
    code_compact_sequence_header(c, written)
    payload = c.getvalue()
    # the writer keeps the explicit choices that mattered (a value the default would have given)
    assert written.csh_coded_explicitly <= sh.csh_coded_explicitly
    back = read(payload)
    assert back == written
    assert write(back) == payload               # a parsed header is written to the same bytes


@pytest.mark.parametrize("choice", CHOICES)
def test_explicit_branch_for_a_default_value(choice: str) -> None:
    """A writer may code a default value explicitly; the parser reads the same header."""
    sh = default_sh(sh_entropy_coding_mode=ENTROPY_CABAC, csh_coded_explicitly=frozenset({choice}))
    if choice == "csh_default_sem_set_flag":        # reached only when the elements flag is 0
        sh.csh_coded_explicitly = frozenset({choice, "csh_default_sem_elements_flag"})
    payload = write(sh)
    assert coded_bits(sh) > coded_bits(default_sh())      # (the bytes may round to the same count)
    back = read(payload)
    assert back == sh and replace(back, csh_coded_explicitly=frozenset()) == default_sh()


@pytest.mark.parametrize("change,present,absent", [
    ({}, {"csh_pic_size_idx", "csh_frame_rate_idx", "csh_default_format_flag",
          "csh_default_sem_elements_flag", "csh_cabac_default_init_flag", "csh_generator_registered_flag",
          "csh_generator_id"},
     {"sh_pic_width", "sh_frame_rate_num", "sh_chroma_format_idc", "csh_default_sem_set_flag",
      "sh_sem_precision", "sh_cabac_init_qp", "sh_generator_name_length", "sh_su_extension_flag"}),
    (dict(sh_pic_width=320, sh_pic_height=240), {"sh_pic_width", "sh_pic_height"}, set()),
    (dict(sh_frame_rate_num=15), {"sh_frame_rate_num", "sh_frame_rate_den"}, set()),
    (dict(sh_chroma_format_idc=1), {"sh_chroma_format_idc", "sh_bit_depth_minus8"}, set()),
    (dict(sh_sem_precision=[p + (p < ELEMENT_BY_ID[e].max_precision) for e, p in zip(DEFAULT_ELEMENT_IDS,
                                                                                  DEFAULT_PRECISIONS)]),
     {"csh_default_sem_set_flag", "sh_sem_precision"}, {"sh_num_sem_elements", "sh_sem_element_id"}),
    (dict(sh_sem_element_id=[0, 1, 2], sh_sem_precision=[1, 1, 1]),
     {"csh_default_sem_set_flag", "sh_num_sem_elements", "sh_sem_element_id", "sh_sem_precision"},
     {"csh_background_elements_flag"}),
    (dict(sh_sem_element_id=list(DEFAULT_BACKGROUND_ELEMENT_IDS), sh_sem_precision=list(BG_PRECISIONS)),
     {"csh_default_sem_elements_flag", "csh_background_elements_flag"},
     {"csh_default_sem_set_flag", "sh_sem_precision", "sh_num_sem_elements"}),
    (dict(sh_sem_element_id=list(DEFAULT_BACKGROUND_ELEMENT_IDS), sh_sem_precision=[*DEFAULT_PRECISIONS, 9, 10]),
     {"csh_default_sem_set_flag", "csh_background_elements_flag", "sh_sem_precision"},
     {"sh_num_sem_elements", "sh_sem_element_id"}),
    (dict(sh_cabac_init_qp=8), {"sh_cabac_init_qp", "sh_cabac_context_carry_flag"}, {"sh_skip_ctx_init_value"}),
    (dict(sh_cabac_explicit_init_flag=1), {"sh_cabac_explicit_init_flag", "sh_skip_ctx_init_value",
                                           "sh_ctx_init_value", "sh_rice_stat_init"}, set()),
    (dict(sh_entropy_coding_mode=ENTROPY_EXP_GOLOMB), set(), {"csh_cabac_default_init_flag"}),
    (dict(sh_generator_name="my-generator", sh_generator_sha256=bytes(range(32))),
     {"sh_generator_name_length", "sh_generator_name_byte", "sh_generator_sha256_byte"}, {"csh_generator_id"}),
    (dict(sh_generator_name=REGISTERED_GENERATORS[1].name), {"sh_generator_name_length"}, {"csh_generator_id"}),
    (dict(sh_extension_data=b"\x01\x02", sh_su_extension_flag=1, sh_extension_present=1),
     {"sh_su_extension_flag", "sh_extension_length", "sh_extension_data_byte"}, set()),
])
def test_every_flag_path(change: dict, present: set[str], absent: set[str]) -> None:
    sh = default_sh(**change)
    if sh.sh_cabac_explicit_init_flag:
        with_explicit_init(sh)
    coded = names(sh)
    assert present <= coded and not absent & coded, (present - coded, absent & coded)
    assert read(write(sh)) == sh


def test_background_set_costs_one_bit() -> None:
    """csh_background_elements_flag (spec 7.4.7): the default set followed by bg_tx and bg_ty at
    the default precisions is one bit, as the default set is; the flag is 1 only for that set."""
    plain = default_sh()
    with_bg = default_sh(sh_sem_element_id=list(DEFAULT_BACKGROUND_ELEMENT_IDS), sh_sem_precision=list(BG_PRECISIONS))
    assert coded_bits(with_bg) == coded_bits(plain)
    for sh, flag in ((plain, 0), (with_bg, 1)):
        trace: list[TraceEntry] = []
        write(sh, trace)
        assert [t.value for t in trace if t.name == "csh_background_elements_flag"] == [flag]
        assert read(write(sh)).sh_sem_element_id == sh.sh_sem_element_id
    # the two background elements in another order are not the default set: listed explicitly
    swapped = default_sh(sh_sem_element_id=[*DEFAULT_ELEMENT_IDS, 15, 14], sh_sem_precision=list(BG_PRECISIONS))
    assert "sh_num_sem_elements" in names(swapped) and read(write(swapped)) == swapped


def test_registered_generator_ids_round_trip() -> None:
    for gid, g in GENERATOR_BY_ID.items():
        trace: list[TraceEntry] = []
        write(default_sh(sh_generator_name=g.name, sh_generator_sha256=g.weights_sha256), trace)
        assert [t.value for t in trace if t.name == "csh_generator_id"] == [gid]


@pytest.mark.parametrize("entropy", [ENTROPY_CABAC, ENTROPY_EXP_GOLOMB])
def test_default_compact_header_meets_the_16_byte_target(entropy: int) -> None:
    """Spec 1.2 target (issue 13): a default stream's header payload is at most 16 bytes."""
    compact = write(default_sh(sh_entropy_coding_mode=entropy, sh_num_frames=100))
    full = SyntaxWriter()
    code_sequence_header(full, default_sh(sh_entropy_coding_mode=entropy, sh_num_frames=100, compact_form=0))
    assert len(compact) <= 16 < len(full.getvalue())
    assert compact[:4] == b"IFVC"               # the file signature is kept


# --- the stream rules (6.2, A.4) ---------------------------------------------------------

def _body(sh: SequenceHeader) -> bytes:
    """A key frame, one semantic unit and the end unit after sh's header."""
    w = StreamWriter(sh)
    base = [max(0, lo) for lo, _ in (sh.level_bounds(i) for i in range(sh.num_sem_elements))]
    w.keyframe(bytes(raw_picture_size(sh)), base)
    w.semantic_unit([base])
    w.end_of_sequence()
    return w.getvalue()


def test_compact_stream_parses_to_the_same_header_as_the_full_form() -> None:
    sh = default_sh(sh_keyframe_codec_id=KEYFRAME_CODEC_RAW, sh_num_frames=2, sh_pic_width=32, sh_pic_height=32)
    compact, full = _body(sh), _body(replace(sh, compact_form=0))
    assert next(iter_units(compact)).unit_type == UnitType.COMPACT_SEQUENCE_HEADER
    assert next(iter_units(full)).unit_type == UnitType.SEQUENCE_HEADER
    a, b = parse(compact), parse(full)
    assert isinstance(a[0], ParsedSequenceHeader) and replace(a[0].sh, compact_form=0) == b[0].sh
    assert [getattr(u, "levels", None) for u in a[1:]] == [getattr(u, "levels", None) for u in b[1:]]


def test_full_header_in_compact_profile_is_allowed() -> None:
    units = parse(unit(default_sh(compact_form=0)) + EOS, check_profile=True)
    assert units[0].sh.sh_profile_idc == PROFILE_COMPACT and not units[0].sh.compact_form


def _error(data: bytes, needle: str, **kw) -> BitstreamError:  # type: ignore[no-untyped-def]
    with pytest.raises(BitstreamError) as info:
        parse(data, **kw)
    assert needle in str(info.value), str(info.value)
    assert "\n" not in str(info.value)
    return info.value


def test_compact_header_not_first_is_an_error() -> None:
    compact = unit(default_sh())
    exc = _error(unit(default_sh(compact_form=0)) + compact + EOS, "only as the first unit")
    assert exc.unit == "COMPACT_SEQUENCE_HEADER"
    _error(compact + compact + EOS, "only as the first unit")
    _error(frame_unit(UnitType.HASH, b"\x00\x00\x00\x80") + compact + EOS, "does not start with a sequence header")


def test_compact_header_in_a_main_profile_stream_is_an_error() -> None:
    exc = _error(unit(default_sh(compact_form=0, sh_profile_idc=PROFILE_MAIN)) + unit(default_sh()) + EOS,
                 "Main profile")
    assert exc.unit == "COMPACT_SEQUENCE_HEADER"
    payload = write(default_sh(sh_profile_idc=PROFILE_MAIN))
    exc = _error(frame_unit(UnitType.COMPACT_SEQUENCE_HEADER, payload) + EOS, "not COMPACT_SEQUENCE_HEADER")
    assert exc.element == "sh_profile_idc"
    # the syntax itself is fine: only the profile constraints reject it
    assert parse(frame_unit(UnitType.COMPACT_SEQUENCE_HEADER, payload) + EOS, check_profile=False)
    with pytest.raises(BitstreamError, match="Main profile"):
        StreamWriter(default_sh(sh_profile_idc=PROFILE_MAIN))


def test_unknown_generator_id_is_an_error() -> None:
    c = SyntaxWriter()
    code_compact_sequence_header(c, default_sh())
    payload = bytearray(c.getvalue())
    # csh_generator_id ue(v) "1" (id 0) is followed by the stop bit: rewrite the tail as
    # csh_generator_id = len(registry) and the stop bit.
    bits = "".join(f"{b:08b}" for b in payload).rstrip("0")[:-1]       # without trailing bits
    assert bits.endswith("11")                                       # flag 1, ue "1"
    unknown = len(GENERATOR_BY_ID)
    code = f"{unknown + 1:b}"
    bits = bits[:-1] + "0" * (len(code) - 1) + code + "1"
    bits += "0" * (-len(bits) % 8)
    bad = bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))
    exc = _error(frame_unit(UnitType.COMPACT_SEQUENCE_HEADER, bad) + EOS, f"csh_generator_id {unknown}")
    assert exc.element == "csh_generator_id"


def test_truncated_compact_header_is_an_error() -> None:
    for sh in (default_sh(), default_sh(sh_generator_name="own", sh_generator_sha256=bytes(range(32)))):
        payload = write(sh)
        for cut in range(1, len(payload)):
            with pytest.raises(BitstreamError):
                parse(frame_unit(UnitType.COMPACT_SEQUENCE_HEADER, payload[:cut]) + EOS)


def test_compact_header_needs_version_1_2() -> None:
    payload = bytearray(write(default_sh()))
    payload[5] = 1                                # sh_version_minor
    exc = _error(frame_unit(UnitType.COMPACT_SEQUENCE_HEADER, bytes(payload)) + EOS, "sh_version_minor")
    assert exc.element == "sh_version_minor"


def test_signature_is_checked() -> None:
    payload = bytearray(write(default_sh()))
    payload[0] ^= 1
    _error(frame_unit(UnitType.COMPACT_SEQUENCE_HEADER, bytes(payload)) + EOS, "sh_signature")


# --- the encoder's options ---------------------------------------------------------------

def test_encoder_config_writes_the_requested_form() -> None:
    from fractions import Fraction

    from ref_encoder.encoder import Encoder, EncoderConfig
    assert EncoderConfig().profile_idc == PROFILE_COMPACT and not EncoderConfig().full_header
    for profile, full, unit_type in ((PROFILE_MAIN, False, UnitType.SEQUENCE_HEADER),
                                     (PROFILE_MAIN, True, UnitType.SEQUENCE_HEADER),
                                     (PROFILE_COMPACT, False, UnitType.COMPACT_SEQUENCE_HEADER),
                                     (PROFILE_COMPACT, True, UnitType.SEQUENCE_HEADER)):
        enc = Encoder(EncoderConfig(profile_idc=profile, full_header=full), 256, 256, Fraction(25), 100)
        assert enc.sh.sh_profile_idc == profile
        data = StreamWriter(enc.sh).getvalue()
        assert next(iter_units(data)).unit_type == unit_type
    with pytest.raises(ValueError, match="profile_idc 3"):
        Encoder(EncoderConfig(profile_idc=3), 256, 256, Fraction(25))


def test_cli_rejects_an_unknown_profile(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from ref_encoder import cli as encode_cli
    out = tmp_path / "o.ifvc"
    with pytest.raises(SystemExit) as info:
        encode_cli.main([str(tmp_path / "a.rgb"), "-o", str(out), "--profile", "high"])
    err = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert info.value.code == 2 and len(err) == 1 and "--profile" in err[0] and not out.exists()


@pytest.mark.parametrize("extra,unit_name,profile", [
    ([], "COMPACT_SEQUENCE_HEADER", PROFILE_COMPACT),                    # the default profile
    (["--profile", "compact"], "COMPACT_SEQUENCE_HEADER", PROFILE_COMPACT),
    (["--profile", "compact", "--full-header"], "SEQUENCE_HEADER", PROFILE_COMPACT),
    (["--profile", "main"], "SEQUENCE_HEADER", PROFILE_MAIN),
])
def test_cli_profile_options_on_a_real_clip(shared_data: Path, tmp_path: Path, extra: list[str],
                                            unit_name: str, profile: int) -> None:
    import cv2
    import numpy as np

    from ref_decoder import cli as decode_cli
    from ref_encoder import cli as encode_cli
    cap = cv2.VideoCapture(str(shared_data / "faces" / "raw" / "fomm_demo_old_08.mp4"))
    frames = []
    for _ in range(3):
        ok, bgr = cap.read()
        assert ok
        frames.append(np.ascontiguousarray(bgr[:256, :256, ::-1].transpose(2, 0, 1)).tobytes())
    cap.release()
    seq = tmp_path / "s.rgb"
    seq.write_bytes(b"".join(frames))
    stream = tmp_path / "s.ifvc"
    assert encode_cli.main([str(seq), "--width", "256", "--height", "256", "--keyframe-codec", "raw",
                            "-o", str(stream), "--quiet", *extra]) == 0
    data = stream.read_bytes()
    units = parse(data)
    assert units[0].raw.unit_type == UnitType[unit_name] and units[0].sh.sh_profile_idc == profile
    assert decode_cli.main([str(stream), "-o", str(tmp_path / "out.rgb"), "--quiet"]) == 0
    assert (tmp_path / "out.rgb").stat().st_size == len(frames) * 3 * 256 * 256


def test_the_default_set_is_a_subset_of_table_3() -> None:
    """DEFAULT_ELEMENT_IDS is a subset of Table 3 without repeats (what the flag may stand for)."""
    assert len(set(DEFAULT_ELEMENT_IDS)) == len(DEFAULT_ELEMENT_IDS)
    assert set(DEFAULT_ELEMENT_IDS) <= {e.element_id for e in SEMANTIC_ELEMENTS}


def test_the_bitstream_editor_keeps_the_compact_header() -> None:
    """ifvc-edit rewrites semantic units; the header it writes is the parsed one, in its form."""
    from ref_decoder.edits import EditApplier, parse_edit
    from ref_decoder.stream_editing import edit_stream
    sh = default_sh(sh_keyframe_codec_id=KEYFRAME_CODEC_RAW, sh_num_frames=2, sh_pic_width=32, sh_pic_height=32,
                    csh_coded_explicitly=frozenset({"csh_generator_registered_flag"}))
    data = _body(sh)
    edited, changed = edit_stream(data, EditApplier([parse_edit("head_yaw:offset=5@1-1")]))
    assert changed == 1
    first, first_edited = next(iter_units(data)), next(iter_units(edited))
    assert first_edited.unit_type == UnitType.COMPACT_SEQUENCE_HEADER and first_edited.payload == first.payload
