"""Findings of the hand-built fuzzing streams (issue 11, part 5), each fixed and kept fixed:
VVC key frames whose picture format differs from the sequence header, parser memory that grew
with the stream, work amplification by frame index deltas, and odd-size raw 4:2:0 pictures
that the parser accepted and the picture decoder rejected (spec 7.4.6, 8.4, Annex A)."""
from __future__ import annotations

import gc
import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bitstream.bitio import BitWriter
from bitstream.errors import BitstreamError
from bitstream.picture_format import rgb_to_yuv420, yuv420_from_bytes, yuv420_planar_bytes, yuv420_to_rgb
from bitstream.profiles import LEVELS, level_limits
from bitstream.semantic_reconstruction import semantics_md5
from bitstream.stream import ParsedHash, StreamParser, StreamWriter
from bitstream.structures import (ENTROPY_CABAC, ENTROPY_EXP_GOLOMB, HASH_ENTRY_KEYFRAME,
                                  HASH_ENTRY_SEMANTICS, KEYFRAME_CODEC_RAW, HashEntry, HashUnit,
                                  KeyframeUnit, SemanticFrame, SemanticUnit, SequenceHeader,
                                  code_hash_unit, code_keyframe_unit, code_semantic_unit,
                                  code_sequence_header, raw_picture_size)
from bitstream.syntax_coder import SyntaxWriter
from bitstream.units import UnitType, frame_unit
from bitstream.vvc_headers import nal_rbsp, parse_pps, parse_sps, picture_format

REPO = Path(__file__).resolve().parents[1]
SUITE = REPO / "conformance" / "streams"


def _sh(entropy: int = ENTROPY_CABAC, level: int = 10, **kw: object) -> SequenceHeader:
    sh = SequenceHeader(sh_level_idc=level, sh_pic_width=16, sh_pic_height=16,
                        sh_entropy_coding_mode=entropy, sh_keyframe_codec_id=KEYFRAME_CODEC_RAW,
                        sh_sem_element_id=[0, 9], sh_sem_precision=[2, 6], sh_generator_name="ifvc-geometric-1")
    for k, v in kw.items():
        setattr(sh, k, v)
    return sh


def _framed(unit_type: int, code) -> bytes:  # type: ignore[no-untyped-def]
    c = SyntaxWriter()
    code(c)
    return frame_unit(unit_type, c.getvalue())


# ---------------------------------------------------------------------------------------
# VVC key frames: the picture format comes from the SPS / PPS (spec 8.4.2)
# ---------------------------------------------------------------------------------------
def _vvc(width: int, height: int) -> bytes:
    pytest.importorskip("imageio_ffmpeg")
    from conformance.stream_kit import test_rgb
    from ref_encoder.keyframe_coding import encode_vvc_intra
    return encode_vvc_intra(test_rgb(width, height), 51, preset="faster").payload


@pytest.mark.parametrize("size", [(64, 64), (128, 512), (40, 24), (250, 138)])
def test_vvc_picture_format_is_read_from_the_parameter_sets(size):
    """Sizes that are not multiples of the CTU or of 8 use the conformance window."""
    fmt = picture_format(_vvc(*size))
    assert (fmt.width, fmt.height, fmt.chroma_format_idc, fmt.num_pictures) == (*size, 1, 1)
    assert fmt.bit_depth == 10      # VVenC codes the 10-bit input the encoder gives it


def test_vvc_key_frame_of_another_size_is_rejected():
    """A 128x512 picture has as many samples as a 256x256 one: it was decoded, scrambled."""
    from bitstream.keyframe_vvc import decode_vvc_yuv420
    with pytest.raises(BitstreamError, match="a 128x512 picture, but the sequence header says 256x256"):
        decode_vvc_yuv420(_vvc(128, 512), 256, 256)
    # 10-bit 256x128: the byte count of an 8-bit 256x256 picture (read as 8-bit garbage before)
    with pytest.raises(BitstreamError, match="a 256x128 picture"):
        decode_vvc_yuv420(_vvc(256, 128), 256, 256)


def test_vvc_key_frame_of_another_bit_depth_is_rejected():
    from bitstream.keyframe_vvc import decode_vvc_yuv420
    from conformance.streams_vvc import with_sps_bitdepth
    payload = _vvc(64, 64)
    assert picture_format(with_sps_bitdepth(payload, 2)) == picture_format(payload)   # the rewrite is exact
    for minus8, depth in ((4, 12), (1, 9), (8, 16)):
        bad = with_sps_bitdepth(payload, minus8)
        assert picture_format(bad).bit_depth == depth
        with pytest.raises(BitstreamError, match=f"bit depth {depth}"):
            decode_vvc_yuv420(bad, 64, 64)


def test_vvc_payload_without_a_picture_or_with_two():
    from bitstream.vvc_headers import check_keyframe_format, split_nal_units
    payload = _vvc(64, 64)
    nals = split_nal_units(payload)
    params = b"".join(b"\x00\x00\x01" + n for n in nals if (n[1] >> 3) in (15, 16))
    with pytest.raises(BitstreamError, match="no coded picture"):
        check_keyframe_format(params, 64, 64)
    with pytest.raises(BitstreamError, match="2 coded pictures"):
        check_keyframe_format(payload + payload, 64, 64)
    with pytest.raises(BitstreamError, match="VVC key frame"):
        check_keyframe_format(b"\x00\x00\x01\x78\x01" + bytes(8), 64, 64)   # an SPS cut short


def test_emulation_prevention_is_removed_only_after_two_zero_bytes():
    assert nal_rbsp(b"\x40\x01" + b"\x00\x00\x03\x01\x00\x03\x00\x00\x03") == b"\x00\x00\x01\x00\x03\x00\x00"
    assert nal_rbsp(b"\x40\x01" + b"\x00\x00\x03\x00\x00\x03\x00") == b"\x00\x00\x00\x00\x00"


def _ue(bw: BitWriter, v: int) -> None:
    bw.write_ue(v)


def _align(bw: BitWriter) -> None:
    while not bw.byte_aligned():
        bw.write_bit(0)


def test_sps_with_profile_tier_level_constraints_and_subpictures():
    """Every optional part before sps_bitdepth_minus8, written from the H.266 syntax."""
    bw = BitWriter()
    bw.write_bits(3, 4)                   # sps_seq_parameter_set_id
    bw.write_bits(0, 4)                   # sps_video_parameter_set_id
    bw.write_bits(2, 3)                   # sps_max_sublayers_minus1
    bw.write_bits(1, 2)                   # sps_chroma_format_idc
    bw.write_bits(2, 2)                   # sps_log2_ctu_size_minus5: CtbSizeY 128
    bw.write_bit(1)                       # sps_ptl_dpb_hrd_params_present_flag
    bw.write_bits(1, 7); bw.write_bit(0); bw.write_bits(51, 8); bw.write_bit(1); bw.write_bit(0)
    bw.write_bit(1)                       # gci_present_flag
    bw.write_bits((1 << 71) - 1, 71)      # the constraint fields
    bw.write_bits(6, 8)                   # gci_num_additional_bits
    bw.write_bits(0b101010, 6)
    _align(bw)                            # gci_alignment_zero_bit
    bw.write_bit(1); bw.write_bit(0)      # ptl_sublayer_level_present_flag[ 1 ], [ 0 ]
    _align(bw)                            # ptl_reserved_zero_bit
    bw.write_bits(48, 8)                  # sublayer_level_idc[ 1 ]
    bw.write_bits(1, 8); bw.write_bits(0xDEADBEEF, 32)   # one general_sub_profile_idc
    bw.write_bit(0)                       # sps_gdr_enabled_flag
    bw.write_bit(1); bw.write_bit(0)      # sps_ref_pic_resampling_enabled_flag, res_change
    _ue(bw, 1000); _ue(bw, 600)           # max width and height: 8 x 5 CTUs
    bw.write_bit(1)
    for v in (0, 4, 0, 4):                # sps_conf_win_*_offset
        _ue(bw, v)
    bw.write_bit(1)                       # sps_subpic_info_present_flag
    _ue(bw, 1)                            # sps_num_subpics_minus1
    bw.write_bit(0); bw.write_bit(0)      # independent, same size
    bw.write_bits(3, 3); bw.write_bits(4, 3); bw.write_bits(0b11, 2)   # subpic 0: w, h, flags
    bw.write_bits(4, 3); bw.write_bits(0, 3); bw.write_bits(0b01, 2)   # subpic 1: x, y, flags
    _ue(bw, 3)                            # sps_subpic_id_len_minus1
    bw.write_bit(1); bw.write_bit(1)      # explicitly signalled, present
    bw.write_bits(0x5A, 8)                # two 4-bit ids
    _ue(bw, 2)                            # sps_bitdepth_minus8
    bw.write_bits(0b1011, 4)              # whatever follows
    _align(bw)
    sps = parse_sps(bw.getvalue())
    assert (sps.sps_seq_parameter_set_id, sps.sps_chroma_format_idc, sps.sps_pic_width_max_in_luma_samples,
            sps.sps_pic_height_max_in_luma_samples, sps.conf_win, sps.sps_bitdepth_minus8) == (
        3, 1, 1000, 600, (0, 4, 0, 4), 2)


def test_pps_conformance_window():
    bw = BitWriter()
    bw.write_bits(5, 6); bw.write_bits(3, 4); bw.write_bit(0)
    _ue(bw, 1000); _ue(bw, 600)
    bw.write_bit(1)
    for v in (1, 2, 3, 4):
        _ue(bw, v)
    _align(bw)
    pps = parse_pps(bw.getvalue())
    assert (pps.pps_pic_parameter_set_id, pps.pps_seq_parameter_set_id, pps.conf_win) == (5, 3, (1, 2, 3, 4))


# ---------------------------------------------------------------------------------------
# Odd-size raw 4:2:0 key frames (spec 8.4.1, 8.4.3)
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [(33, 17), (31, 32), (32, 19), (17, 17)])
def test_odd_size_raw_420_pictures_decode(size):
    from ref_decoder.decoder import decode_keyframe_picture
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.stack([xx * 7 % 256, yy * 13 % 256, (xx + yy) * 5 % 256], -1).astype(np.uint8)
    planes = rgb_to_yuv420(rgb)
    assert planes[1].shape == planes[2].shape == ((h + 1) // 2, (w + 1) // 2)
    payload = yuv420_planar_bytes(*planes)
    sh = _sh(sh_pic_width=w, sh_pic_height=h, sh_chroma_format_idc=1)
    assert len(payload) == raw_picture_size(sh)         # what the parser checks
    out, _ = decode_keyframe_picture(sh, KEYFRAME_CODEC_RAW, payload)
    assert out.shape == (h, w, 3)
    assert all(np.array_equal(a, b) for a, b in zip(yuv420_from_bytes(payload, w, h), planes))


def test_even_size_420_conversion_is_unchanged_by_the_cropping():
    """For even sizes the cropped upsampling is the whole upsampling: the first rows and
    columns of an odd-size picture equal those of the even picture it was cut from."""
    rng = np.random.default_rng(7)
    y = rng.integers(16, 236, (18, 34), dtype=np.uint8)
    cb, cr = (rng.integers(16, 241, (9, 17), dtype=np.uint8) for _ in range(2))
    full = yuv420_to_rgb(y, cb, cr)
    assert np.array_equal(yuv420_to_rgb(y[:17, :33], cb, cr), full[:17, :33])


def test_odd_size_streams_are_in_the_suite():
    names = {v["name"] for v in json.loads((SUITE / "index.json").read_text())["test_vectors"]}
    assert {"eg_raw420_odd_33x17", "cabac_raw420_odd_31x32", "cabac_raw420_odd_32x19"} <= names


# ---------------------------------------------------------------------------------------
# Memory: the hash window (MaxHashSpan, spec 7.4.6 and Annex A)
# ---------------------------------------------------------------------------------------
def _long_stream(units: int, delta: int = 0, level: int = 10) -> bytes:
    """A key frame, then units that each carry one skipped frame after `delta` inferred
    frames, and no hash unit (written without the level checks)."""
    sh = _sh(ENTROPY_EXP_GOLOMB, level=level)
    head = _framed(UnitType.SEQUENCE_HEADER, lambda c: code_sequence_header(c, sh))
    kf = KeyframeUnit(0, KEYFRAME_CODEC_RAW, [0, 0], 0, b"", bytes(raw_picture_size(sh)))
    su = _framed(UnitType.SEMANTIC, lambda c: code_semantic_unit(
        c, SemanticUnit(delta, [SemanticFrame(1, [0, 0])]), sh, None))
    return head + _framed(UnitType.KEYFRAME, lambda c: code_keyframe_unit(c, kf, sh)) + su * units


def _parse_peak(data: bytes, **kw: object) -> tuple[int, int]:
    """(frames parsed, tracemalloc peak in bytes) of parsing data, keeping no parsed unit."""
    gc.collect()
    tracemalloc.start()
    parser = StreamParser(**kw)  # type: ignore[arg-type]
    for _ in parser.parse(data):
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return parser.next_frame_idx, peak - len(data)


def test_parser_memory_does_not_grow_with_the_stream():
    """Frames without a hash unit: 2,000 or 8,000 frames take the same memory (a window of
    MaxHashSpan frames); before, every frame since the last hash unit was kept (about 140
    bytes a frame: 0.8 MB more for the longer stream)."""
    short, long = _long_stream(2000), _long_stream(8000)
    n_short, peak_short = _parse_peak(short)
    n_long, peak_long = _parse_peak(long)
    assert (n_short, n_long) == (2001, 8001)
    assert peak_long < peak_short + 16 * 1024, (peak_short, peak_long)
    assert peak_long < 512 * 1024


def test_parser_memory_is_bounded_for_the_fuzzing_stream_without_level_checks():
    """The fuzzing stream (five-byte units, each adding 600 inferred frames, no hash unit),
    scaled down: without the level checks (check_profile off) nothing limits the frames, and
    the memory still stays that of the largest hash window."""
    n_short, peak_short = _parse_peak(_long_stream(10, delta=600, level=20), check_profile=False)
    n_long, peak_long = _parse_peak(_long_stream(40, delta=600, level=20), check_profile=False)
    assert (n_short, n_long) == (1 + 10 * 601, 1 + 40 * 601)
    assert peak_long < peak_short + 16 * 1024, (peak_short, peak_long)


def test_the_fuzzing_stream_is_rejected_by_the_level_limits():
    """The 83 KB stream of the finding: 16,000 five-byte units, each with su_frame_idx_delta
    600 (the level 2.0 limit). It now ends at its first unit, on MaxInferredPerByte."""
    data = _long_stream(16000, delta=600, level=20)
    assert 80_000 < len(data) < 90_000
    with pytest.raises(BitstreamError, match="per byte") as exc:
        for _ in StreamParser().parse(data):
            pass
    assert exc.value.element == "su_frame_idx_delta"


def _hash_unit(entries: list[HashEntry]) -> bytes:
    return _framed(UnitType.HASH, lambda c: code_hash_unit(c, HashUnit(entries=entries)))


@pytest.mark.parametrize("level", sorted(LEVELS))
def test_hash_entries_reach_back_at_most_max_hash_span(level):
    span = level_limits(level).max_hash_span
    sh = _sh(level=level, sh_frame_rate_num=25)
    w = StreamWriter(sh)
    pic = bytes(raw_picture_size(sh))
    w.keyframe(pic, [0, 0])
    levels = [[0, 0]] + [[n % 50, n % 7] for n in range(1, span + 1)]
    for start in range(1, span + 1, 8):
        w.semantic_unit(levels[start:start + 8])
    base = w.getvalue()
    # the window: frames 1..span; frame 0 fell out of it
    ok = _hash_unit([HashEntry(HASH_ENTRY_SEMANTICS, 1, span - 1, semantics_md5(levels[1:]))])
    units = list(StreamParser().parse(base + ok))
    assert isinstance(units[-1], ParsedHash) and units[-1].checks[0].matches is True
    for entry in (HashEntry(HASH_ENTRY_SEMANTICS, 0, span, semantics_md5(levels)),
                  HashEntry(HASH_ENTRY_KEYFRAME, 0, 0, bytes(16))):
        with pytest.raises(BitstreamError, match=f"MaxHashSpan \\({span}\\)"):
            list(StreamParser().parse(base + _hash_unit([entry])))


def test_writer_hash_due_keeps_every_frame_covered():
    """One key frame, 3,000 frames, hash units only when hash_due says so: every hash unit
    conforms and every frame is covered exactly once."""
    sh = _sh()
    w = StreamWriter(sh)
    pic = bytes(raw_picture_size(sh))
    w.keyframe(pic, [0, 0])
    for n in range(1, 3000, 8):
        w.semantic_unit([[(n + k) % 40, (n + k) % 9] for k in range(8)])
        if w.hash_due(8):
            w.hash_unit(keyframe_md5={0: bytes(16)} if n == 1 else None)
    w.hash_unit()
    covered: list[int] = []
    hash_units = 0
    for unit in StreamParser().parse(w.getvalue()):
        if isinstance(unit, ParsedHash):
            hash_units += 1
            for check in unit.checks:
                e = check.entry
                if e.hu_entry_type == HASH_ENTRY_SEMANTICS:
                    assert check.matches is True
                    covered += range(e.hu_first_frame_idx, e.hu_first_frame_idx + e.hu_num_frames_minus1 + 1)
    assert covered == list(range(w.next_frame_idx))
    assert hash_units >= w.next_frame_idx // level_limits(10).max_hash_span + 1


def test_writer_without_hash_due_still_writes_conforming_hash_units():
    sh = _sh()
    w = StreamWriter(sh)
    w.keyframe(bytes(raw_picture_size(sh)), [0, 0])
    for _ in range(100):
        w.semantic_unit([[1, 1]] * 16)
    with pytest.raises(BitstreamError, match="not a key frame in the hash window"):
        w.hash_unit(keyframe_md5={0: bytes(16)})
    w.hash_unit()
    hashes = [u for u in StreamParser().parse(w.getvalue()) if isinstance(u, ParsedHash)]
    (entry,) = [c.entry for c in hashes[0].checks]
    span = level_limits(10).max_hash_span
    assert (entry.hu_first_frame_idx, entry.hu_num_frames_minus1) == (1601 - span, span - 1)


def test_encoder_asks_for_hash_units_in_a_long_stream_with_one_key_frame():
    """The encoder's call: after each full semantic unit, a hash unit when hash_due()."""
    src = (REPO / "ref_encoder" / "encoder.py").read_text()
    assert "writer.hash_due(" in src


# ---------------------------------------------------------------------------------------
# Work amplification: MaxInferredPerByte (Annex A) and --max-frames
# ---------------------------------------------------------------------------------------
def test_inferred_frames_are_bounded_by_the_bytes_of_the_stream():
    """The 1,568-byte stream of the finding asked for 12,021 frames; the budget allows at most
    MaxInferredPerByte inferred frames per byte of the stream so far."""
    data = _long_stream(300, delta=300)[:1568]
    with pytest.raises(BitstreamError, match="per byte"):
        for _ in StreamParser().parse(data):
            pass
    rate = level_limits(10).max_inferred_per_byte
    parser = StreamParser()
    try:
        for _ in parser.parse(_long_stream(300, delta=300)):
            pass
    except BitstreamError:
        pass
    assert parser.next_frame_idx - 1 <= rate * len(data) + 300


def test_writer_refuses_inferred_frames_beyond_the_budget_and_keeps_its_state():
    sh = _sh(ENTROPY_EXP_GOLOMB)
    w = StreamWriter(sh)
    w.keyframe(bytes(raw_picture_size(sh)), [0, 0])
    written = 0
    with pytest.raises(BitstreamError, match="per byte"):
        while True:
            w.semantic_unit([[1, 1]], frame_idx_delta=300)
            written += 1
    before = (w.next_frame_idx, len(w.getvalue()))
    with pytest.raises(BitstreamError, match="per byte"):
        w.semantic_unit([[1, 1]], frame_idx_delta=300)
    assert (w.next_frame_idx, len(w.getvalue())) == before
    assert written >= 1
    list(StreamParser().parse(w.getvalue()))           # what it wrote conforms


def test_decoder_max_frames_refuses_before_synthesising_the_unit():
    from ref_decoder.decoder import Decoder, DecodingError
    data = (SUITE / "cabac_skip_frames.ifvc").read_bytes()
    total = sum(1 for _ in Decoder().decode(data))
    assert sum(1 for _ in Decoder(max_frames=total).decode(data)) == total
    frames = []
    with pytest.raises(DecodingError, match="more than 3 frames"):
        for f in Decoder(max_frames=3).decode(data):
            frames.append(f)
    assert len(frames) <= 3
    # sh_num_frames asks for more: refused at the sequence header, before any frame
    sh = _sh(sh_num_frames=10)
    head = _framed(UnitType.SEQUENCE_HEADER, lambda c: code_sequence_header(c, sh))
    with pytest.raises(DecodingError, match="more than 5 frames"):
        next(iter(Decoder(max_frames=5).decode(head)))


def test_decoder_cli_max_frames(tmp_path, capsys):
    from ref_decoder import cli
    stream = SUITE / "cabac_skip_frames.ifvc"
    out = tmp_path / "out.rgb"
    levels = tmp_path / "levels.csv"
    assert cli.main([str(stream), "-o", str(out), "--levels", str(levels), "--quiet", "--max-frames", "3"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("ifvc-decode: error:") and "--max-frames" in err and "\n" not in err
    assert not out.exists() and not levels.exists() and list(tmp_path.iterdir()) == []
    with pytest.raises(SystemExit) as usage:      # a usage error: argparse's exit status 2
        cli.main([str(stream), "-o", str(out), "--quiet", "--max-frames", "0"])
    assert usage.value.code == 2
    assert cli.main([str(stream), "-o", str(out), "--quiet", "--max-frames", "100000"]) == 0
    assert out.stat().st_size > 0


def test_hash_mismatch_writes_the_output_and_exits_2(tmp_path):
    from ref_decoder import cli
    out = tmp_path / "out.rgb"
    assert cli.main([str(SUITE / "neg_hash_mismatch.ifvc"), "-o", str(out), "--quiet"]) == 2
    d = json.loads((SUITE / "neg_hash_mismatch.json").read_text())
    assert out.stat().st_size == 3 * d["picture"]["width"] * d["picture"]["height"] * d["frames"]["num_output_frames"]


# ---------------------------------------------------------------------------------------
# Writer and parser agree on both limits, whatever the unit sequence
# ---------------------------------------------------------------------------------------
_OPS = st.lists(st.one_of(
    st.tuples(st.just("semantic"), st.integers(1, 16), st.integers(0, 300)),
    st.tuples(st.just("keyframe"), st.just(1), st.integers(0, 300)),
    st.tuples(st.just("hash"), st.just(0), st.just(0))), min_size=1, max_size=40)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=_OPS, entropy=st.sampled_from([ENTROPY_EXP_GOLOMB, ENTROPY_CABAC]), use_hash_due=st.booleans())
def test_what_the_writer_accepts_the_parser_accepts(ops, entropy, use_hash_due):
    """The writer refuses the units that would break MaxInferredPerByte (counting the
    unit's own bytes), leaving no trace of them, and never writes a hash entry outside the
    window: the parser accepts every stream it writes, and every hash entry matches."""
    sh = _sh(entropy)
    w = StreamWriter(sh)
    pic = bytes(raw_picture_size(sh))
    w.keyframe(pic, [0, 0])
    for n, (op, frames, delta) in enumerate(ops):
        if use_hash_due and w.hash_due(frames + delta):
            w.hash_unit()
        before = (w.next_frame_idx, len(w.getvalue()))
        try:
            if op == "semantic":
                w.semantic_unit([[(n + k) % 50, k] for k in range(frames)], frame_idx_delta=delta)
            elif op == "keyframe":
                w.keyframe(pic, [n % 50, 1], frame_idx_delta=delta)
            else:
                w.hash_unit()
        except BitstreamError as exc:
            assert "per byte" in str(exc)
            assert (w.next_frame_idx, len(w.getvalue())) == before
    w.end_of_sequence()
    parser = StreamParser()
    hashes = [u for u in parser.parse(w.getvalue()) if isinstance(u, ParsedHash)]
    assert parser.next_frame_idx == w.next_frame_idx
    assert all(c.matches is not False for h in hashes for c in h.checks)


class _StubGenerator:
    """Synthesis is not under test here: a generator that returns the key picture."""
    name = "ifvc-geometric-1"

    def set_keyframe(self, rgb, values, geometry, version):  # type: ignore[no-untyped-def]
        self.rgb = rgb

    def synthesize(self, values):  # type: ignore[no-untyped-def]
        return self.rgb


def test_decoder_forgets_key_frame_digests_outside_the_hash_window():
    """1,200 key frames and no hash unit: the decoder keeps the picture digests of at most
    MaxHashSpan of them (a hash unit can name no older one)."""
    from ref_decoder.decoder import Decoder
    sh = _sh()
    w = StreamWriter(sh)
    pic = bytes(raw_picture_size(sh))
    for n in range(1200):
        w.keyframe(pic, [n % 50, 0])
    dec = Decoder(generator=_StubGenerator())  # type: ignore[arg-type]
    assert sum(1 for _ in dec.decode(w.getvalue())) == 1200
    assert sorted(dec._key_md5) == list(range(1200 - level_limits(10).max_hash_span, 1200))
