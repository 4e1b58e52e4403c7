"""The extension mechanism (spec 5.2 more_payload_data( ), 7.3.3-7.3.5, 7.4.2-7.4.4): extension
data round-trips, a decoder skips it, and a stream without it is coded as in version 1.0."""
from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_structures import SLOW, sequence_headers

from bitstream.errors import BitstreamError
from bitstream.semantic_elements import FACE_ELEMENTS
from bitstream.stream import ParsedKeyframe, ParsedSemanticUnit, StreamParser, StreamWriter
from bitstream.structures import (ENTROPY_CABAC, ENTROPY_EXP_GOLOMB, KEYFRAME_CODEC_RAW, KeyframeUnit,
                                  SequenceHeader, code_keyframe_unit, code_sequence_header,
                                  raw_picture_size)
from bitstream.syntax_coder import SyntaxReader, SyntaxWriter
from bitstream.trace import TraceEntry
from bitstream.units import UnitType, iter_units
from ref_decoder.edits import EditApplier
from ref_decoder.stream_editing import edit_stream

MODES = [ENTROPY_EXP_GOLOMB, ENTROPY_CABAC]
extension_bytes = st.binary(max_size=300)   # lengths above 127 need a 2-byte leb128


def _header(mode: int, **kw: object) -> SequenceHeader:
    ids = [e.element_id for e in FACE_ELEMENTS]          # the Main profile's (ids 0..13)
    return SequenceHeader(sh_entropy_coding_mode=mode, sh_keyframe_codec_id=KEYFRAME_CODEC_RAW,
                          sh_pic_width=16, sh_pic_height=16, sh_sem_element_id=ids,
                          sh_sem_precision=[e.default_precision for e in FACE_ELEMENTS],
                          sh_generator_name="g", **kw)  # type: ignore[arg-type]


def _stream(sh: SequenceHeader, kf_ext: bytes = b"", su_ext: list[bytes] | None = None,
            trace: list[TraceEntry] | None = None) -> bytes:
    """A key frame and three semantic units (one with a skip frame, one after inferred frames)."""
    w = StreamWriter(sh, trace)
    base = [max(0, lo) for lo, _ in (sh.level_bounds(i) for i in range(sh.num_sem_elements))]
    w.keyframe(bytes(raw_picture_size(sh)), base, extension_data=kf_ext)
    su_ext = su_ext or [b"", b"", b""]
    w.semantic_unit([[b + 5 for b in base], [b + 5 for b in base]], extension_data=su_ext[0])
    w.semantic_unit([[b + 1 for b in base]], frame_idx_delta=2, extension_data=su_ext[1])
    w.semantic_unit([[b + 2 for b in base]], extension_data=su_ext[2])
    w.end_of_sequence()
    return w.getvalue()


def _decoded(data: bytes) -> list[tuple[object, ...]]:
    """What decoding yields: key-frame levels and pictures, every frame's levels."""
    out: list[tuple[object, ...]] = []
    for unit in StreamParser().parse(data):
        if isinstance(unit, ParsedKeyframe):
            out.append((unit.frame_idx, unit.levels, unit.kf.kf_picture_payload))
        elif isinstance(unit, ParsedSemanticUnit):
            out.extend((f.frame_idx, f.levels, f.skip, f.inferred) for f in unit.frames)
    return out


@given(sequence_headers(num_frames=None), st.integers(0, 1), extension_bytes)
def test_sequence_header_extension_round_trip(sh, su_flag, data):
    sh = replace(sh, sh_extension_present=1, sh_su_extension_flag=su_flag, sh_extension_data=data)
    sw = SyntaxWriter()
    code_sequence_header(sw, sh)
    assert code_sequence_header(SyntaxReader(sw.getvalue()), SequenceHeader()) == sh


@given(st.sampled_from(MODES), st.binary(max_size=40), extension_bytes)
def test_keyframe_extension_round_trip(mode, geometry, data):
    sh = _header(mode)
    kf = KeyframeUnit(3, KEYFRAME_CODEC_RAW, [0] * sh.num_sem_elements, 1, geometry,
                      bytes(raw_picture_size(sh)), kf_extension_present=1, kf_extension_data=data)
    sw = SyntaxWriter()
    code_keyframe_unit(sw, kf, sh)
    assert code_keyframe_unit(SyntaxReader(sw.getvalue()), KeyframeUnit(), sh) == kf


@SLOW
@given(st.sampled_from(MODES), extension_bytes, extension_bytes,
       st.lists(extension_bytes, min_size=3, max_size=3))
def test_extension_data_is_skipped(mode, sh_ext, kf_ext, su_ext):
    """A stream with extension data everywhere decodes exactly as the same stream without it,
    and its units carry the extension data the writer gave them."""
    plain = _stream(_header(mode))
    extended_sh = _header(mode, sh_version_minor=1, sh_su_extension_flag=1, sh_extension_data=sh_ext)
    extended = _stream(extended_sh, kf_ext, su_ext)
    assert _decoded(extended) == _decoded(plain)
    units = list(StreamParser().parse(extended))
    assert units[0].sh.sh_extension_data == sh_ext                # type: ignore[union-attr]
    assert [u.kf.kf_extension_data for u in units if isinstance(u, ParsedKeyframe)] == [kf_ext]
    assert [u.su.su_extension_data for u in units if isinstance(u, ParsedSemanticUnit)] == su_ext


def _payloads(data: bytes, unit_type: int) -> list[bytes]:
    return [data[u.offset + u.header_size:u.offset + u.size] for u in iter_units(data)
            if u.unit_type == unit_type]


@pytest.mark.parametrize("mode", MODES)
def test_default_stream_pays_nothing_per_semantic_unit(mode):
    trace: list[TraceEntry] = []
    default = _stream(_header(mode), trace=trace)
    assert not [t.name for t in trace if "extension" in t.name]
    # extension data in the sequence header and key frame only: semantic units unchanged, bit for bit
    header_only = _stream(_header(mode, sh_extension_data=b"\x01\x02\x03"), kf_ext=b"\x04")
    assert _payloads(header_only, UnitType.SEMANTIC) == _payloads(default, UnitType.SEMANTIC)
    # behind sh_su_extension_flag, an empty extension costs one byte (su_extension_length 0)
    # and leaves the arithmetic- or Exp-Golomb-coded rest of the unit unchanged
    flagged = _stream(_header(mode, sh_su_extension_flag=1))
    assert _payloads(flagged, UnitType.SEMANTIC) == [b"\x00" + p for p in
                                                    _payloads(default, UnitType.SEMANTIC)]
    # without extension data the sequence header and key frame are those of version 1.0: the
    # extension block adds exactly its own bits
    sh_default = _payloads(default, UnitType.SEQUENCE_HEADER)[0]
    assert len(_payloads(header_only, UnitType.SEQUENCE_HEADER)[0]) > len(sh_default)
    assert _payloads(flagged, UnitType.KEYFRAME) == _payloads(default, UnitType.KEYFRAME)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("element", ["sh_extension_length", "kf_extension_length",
                                     "su_extension_length"])
def test_extension_length_beyond_payload_is_an_error(mode, element, monkeypatch):
    class LongLength(SyntaxWriter):
        """Writes the extension length 50 larger than the data that follows it."""

        def ue(self, name, value, lo=0, hi=None):  # type: ignore[no-untyped-def, override]
            return super().ue(name, value + 50 if name == element else value, lo, hi)

        def leb128(self, name, value, max_bytes):  # type: ignore[no-untyped-def, override]
            return super().leb128(name, value + 50 if name == element else value, max_bytes)

    sh = _header(mode, sh_su_extension_flag=1, sh_extension_data=b"\x07")
    good = _stream(sh, kf_ext=b"\x08", su_ext=[b"\x09", b"", b""])
    unit_type = {"sh": UnitType.SEQUENCE_HEADER, "kf": UnitType.KEYFRAME,
                 "su": UnitType.SEMANTIC}[element[:2]]
    monkeypatch.setattr("bitstream.stream.SyntaxWriter", LongLength)  # the stream writer's coder
    bad = _stream(sh, kf_ext=b"\x08", su_ext=[b"\x09", b"", b""])
    assert bad != good
    with pytest.raises(BitstreamError, match=f"{element} = \\d+ bytes exceeds the unit payload"):
        list(StreamParser().parse(bad))
    with pytest.raises(BitstreamError) as info:
        list(StreamParser().parse(bad))
    assert info.value.unit == {UnitType.SEQUENCE_HEADER: "SEQUENCE_HEADER", UnitType.KEYFRAME: "KEYFRAME",
                               UnitType.SEMANTIC: "SEMANTIC"}[unit_type]


@pytest.mark.parametrize("mode", MODES)
def test_stream_editing_carries_extension_data(mode):
    """An edit rewrites levels; the extension data it does not understand goes along unchanged."""
    sh = _header(mode, sh_su_extension_flag=1, sh_extension_data=b"\x01")
    data = _stream(sh, kf_ext=b"\x02\x03", su_ext=[b"\x04", b"", b"\x05" * 130])
    rewritten, changed = edit_stream(data, EditApplier([]))
    assert changed == 0
    assert rewritten == data
