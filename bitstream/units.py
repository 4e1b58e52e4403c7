"""Unit framing (spec 7.3.1, 7.4.1): a stream is a sequence of byte-aligned, typed units, each
a one-byte header followed by leb128 unit_payload_size and the payload. The header is coded
by the shared syntax coder, like every other syntax structure."""
from __future__ import annotations

from dataclasses import dataclass, replace
from enum import IntEnum
from typing import Iterator

from .syntax_coder import SyntaxReader, SyntaxWriter
from .trace import TraceEntry

MAX_PAYLOAD_SIZE_BYTES = 4  # leb128 bytes of unit_payload_size: payloads below 2**28 bytes


class UnitType(IntEnum):
    """unit_type values (spec 7.4.1, Table 1)."""
    SEQUENCE_HEADER = 0
    KEYFRAME = 1
    SEMANTIC = 2
    HASH = 3
    END_OF_SEQUENCE = 4
    # 5: reserved (the 1.1 conformance stream cabac_reserved_units carries one, so 1.2 takes 6)
    COMPACT_SEQUENCE_HEADER = 6   # spec 1.2: only as the first unit of a stream (Compact profile)
    # 5, 7..31: reserved; decoders skip them (spec 7.4.1)


UNIT_NAMES = {
    UnitType.SEQUENCE_HEADER: "SEQUENCE_HEADER",
    UnitType.KEYFRAME: "KEYFRAME",
    UnitType.SEMANTIC: "SEMANTIC",
    UnitType.HASH: "HASH",
    UnitType.END_OF_SEQUENCE: "END_OF_SEQUENCE",
    UnitType.COMPACT_SEQUENCE_HEADER: "COMPACT_SEQUENCE_HEADER",
}
# Both unit types that carry a sequence header (spec 6.2): either one starts a stream.
SEQUENCE_HEADER_TYPES = (UnitType.SEQUENCE_HEADER, UnitType.COMPACT_SEQUENCE_HEADER)


def unit_name(unit_type: int) -> str:
    return UNIT_NAMES.get(unit_type, f"RESERVED_{unit_type}")  # type: ignore[call-overload]


@dataclass(frozen=True)
class RawUnit:
    """One unit as split from the stream (spec 7.3.1): its type, position, header and payload."""
    unit_type: int
    offset: int           # byte offset of the unit header in the stream
    header_size: int      # bytes of header + unit_payload_size
    payload: bytes

    @property
    def payload_bit_offset(self) -> int:
        return 8 * (self.offset + self.header_size)

    @property
    def size(self) -> int:
        return self.header_size + len(self.payload)


@dataclass
class UnitHeader:
    """The elements of a unit that precede its payload (spec 7.3.1)."""
    unit_type: int = 0
    unit_payload_size: int = 0


def code_unit_header(c: SyntaxReader | SyntaxWriter, uh: UnitHeader) -> UnitHeader:
    """unit( ) up to the payload (spec 7.3.1; semantics 7.4.1): forbidden_zero_bit f(1),
    unit_type u(5), unit_reserved_zero_2bits u(2), unit_payload_size leb128( )."""
    c.f("forbidden_zero_bit", 1, 0, "forbidden_zero_bit is 1 (not an IFVC unit)")
    uh.unit_type = c.u("unit_type", 5, uh.unit_type)
    start = c.bit_pos
    if c.u("unit_reserved_zero_2bits", 2, 0):
        raise c.error("unit_reserved_zero_2bits is not 0", "unit_reserved_zero_2bits", start)
    uh.unit_payload_size = c.leb128("unit_payload_size", uh.unit_payload_size, MAX_PAYLOAD_SIZE_BYTES)
    return uh


def frame_unit(unit_type: int, payload: bytes) -> bytes:
    """A whole unit (spec 7.3.1): its header, coded by code_unit_header, then the payload."""
    if not 0 <= unit_type <= 31:
        raise ValueError(f"unit_type {unit_type} out of range")
    if not payload:
        raise ValueError("a unit payload holds at least its trailing bits")
    c = SyntaxWriter()
    code_unit_header(c, UnitHeader(unit_type, len(payload)))
    return c.getvalue() + payload


def iter_units(data: bytes) -> Iterator[RawUnit]:
    """Splits a stream into units (spec 7.3.1, 7.4.1); a truncated or malformed header is an
    error."""
    pos = 0
    n = len(data)
    while pos < n:
        c = SyntaxReader(data[pos:pos + 1 + MAX_PAYLOAD_SIZE_BYTES], bit_offset=8 * pos)
        uh = code_unit_header(c, UnitHeader())
        size = uh.unit_payload_size
        header_size = c.bit_pos >> 3
        start = pos + header_size
        c.unit = unit_name(uh.unit_type)
        if size == 0:
            raise c.error("unit_payload_size is 0", "unit_payload_size", 8)
        if start + size > n:
            raise c.error(f"unit truncated: unit_payload_size {size} but only {n - start} byte(s) "
                          "left", "unit_payload_size", 8)
        yield RawUnit(uh.unit_type, pos, header_size, data[start:start + size])
        pos = start + size


def header_trace(unit_type: int, offset: int, header_size: int, payload_size: int) -> list[TraceEntry]:
    """Trace entries of a unit header at byte offset (the same for writer and parser)."""
    trace: list[TraceEntry] = []
    c = SyntaxWriter(trace)
    code_unit_header(c, UnitHeader(unit_type, payload_size))
    assert c.bit_pos == 8 * header_size, "unit_payload_size is coded in its shortest form"
    return [replace(t, bit_pos=t.bit_pos + 8 * offset) for t in trace]
