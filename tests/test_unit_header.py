"""The unit header (spec 7.3.1) is one description, code_unit_header, for writing, reading
and tracing."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from bitstream.errors import BitstreamError
from bitstream.syntax_coder import SyntaxReader, SyntaxWriter
from bitstream.trace import TraceEntry
from bitstream.units import UnitHeader, code_unit_header, frame_unit, header_trace, iter_units


@given(st.integers(0, 31), st.integers(1, (1 << 28) - 1))
def test_unit_header_round_trip_and_trace(unit_type: int, size: int) -> None:
    wt: list[TraceEntry] = []
    w = SyntaxWriter(wt)
    code_unit_header(w, UnitHeader(unit_type, size))
    data = w.getvalue()
    rt: list[TraceEntry] = []
    back = code_unit_header(SyntaxReader(data, trace=rt), UnitHeader())
    assert (back.unit_type, back.unit_payload_size) == (unit_type, size)
    assert rt == wt == header_trace(unit_type, 0, len(data), size)
    assert [t.name for t in rt] == ["forbidden_zero_bit", "unit_type", "unit_reserved_zero_2bits",
                                    "unit_payload_size"]


@given(st.integers(0, 31), st.binary(min_size=1, max_size=300))
def test_iter_units_reads_what_frame_unit_writes(unit_type: int, payload: bytes) -> None:
    (raw,) = list(iter_units(frame_unit(unit_type, payload)))
    assert (raw.unit_type, raw.payload, raw.offset) == (unit_type, payload, 0)


@pytest.mark.parametrize("header, element", [(b"\x80\x01\x80", "forbidden_zero_bit"),
                                             (b"\x01\x01\x80", "unit_reserved_zero_2bits"),
                                             (b"\x00\x81\x00\x80", "unit_payload_size"),
                                             (b"\x00\x00", "unit_payload_size")])
def test_bad_unit_headers_name_the_element(header: bytes, element: str) -> None:
    with pytest.raises(BitstreamError) as exc:
        list(iter_units(header))
    assert exc.value.element == element
