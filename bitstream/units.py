"""Unit framing (spec 7.3.1): a stream is a sequence of byte-aligned, typed units, each
a one-byte header followed by leb128 unit_payload_size and the payload."""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Iterator

from .bitio import read_leb128, write_leb128
from .errors import BitstreamError
from .trace import TraceEntry

MAX_PAYLOAD_SIZE_BYTES = 4  # leb128 bytes of unit_payload_size: payloads below 2**28 bytes


class UnitType(IntEnum):
    SEQUENCE_HEADER = 0
    KEYFRAME = 1
    SEMANTIC = 2
    HASH = 3
    END_OF_SEQUENCE = 4
    # 5..31: reserved; decoders skip them (spec 7.4.1)


UNIT_NAMES = {
    UnitType.SEQUENCE_HEADER: "SEQUENCE_HEADER",
    UnitType.KEYFRAME: "KEYFRAME",
    UnitType.SEMANTIC: "SEMANTIC",
    UnitType.HASH: "HASH",
    UnitType.END_OF_SEQUENCE: "END_OF_SEQUENCE",
}


def unit_name(unit_type: int) -> str:
    return UNIT_NAMES.get(unit_type, f"RESERVED_{unit_type}")  # type: ignore[call-overload]


@dataclass(frozen=True)
class RawUnit:
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


def frame_unit(unit_type: int, payload: bytes) -> bytes:
    """unit_header( ): forbidden_zero_bit f(1), unit_type u(5), unit_reserved_zero_2bits u(2),
    then unit_payload_size leb128( ), then the payload."""
    if not 0 <= unit_type <= 31:
        raise ValueError(f"unit_type {unit_type} out of range")
    if not payload:
        raise ValueError("a unit payload holds at least its trailing bits")
    return bytes([unit_type << 2]) + write_leb128(len(payload), MAX_PAYLOAD_SIZE_BYTES) + payload


def iter_units(data: bytes) -> Iterator[RawUnit]:
    """Splits a stream into units; a truncated or malformed header is an error."""
    pos = 0
    n = len(data)
    while pos < n:
        header = data[pos]
        if header & 0x80:
            raise BitstreamError("forbidden_zero_bit is 1 (not an IFVC unit)",
                                 element="forbidden_zero_bit", bit_pos=8 * pos)
        unit_type = (header >> 2) & 0x1F
        if header & 0x03:
            raise BitstreamError("unit_reserved_zero_2bits is not 0",
                                 element="unit_reserved_zero_2bits", bit_pos=8 * pos + 6)
        size, used = read_leb128(data, pos + 1, MAX_PAYLOAD_SIZE_BYTES)
        start = pos + 1 + used
        if size == 0:
            raise BitstreamError("unit_payload_size is 0", element="unit_payload_size",
                                 unit=unit_name(unit_type), bit_pos=8 * (pos + 1))
        if start + size > n:
            raise BitstreamError(f"unit truncated: unit_payload_size {size} but only "
                                 f"{n - start} byte(s) left", element="unit_payload_size",
                                 unit=unit_name(unit_type), bit_pos=8 * (pos + 1))
        yield RawUnit(unit_type, pos, 1 + used, data[start:start + size])
        pos = start + size


def header_trace(unit_type: int, offset: int, header_size: int, payload_size: int) -> list[TraceEntry]:
    """Trace entries of a unit header at byte offset (the same for writer and parser)."""
    pos = 8 * offset
    return [TraceEntry(pos, "forbidden_zero_bit", "f(1)", 0, 1),
            TraceEntry(pos + 1, "unit_type", "u(5)", unit_type, 5),
            TraceEntry(pos + 6, "unit_reserved_zero_2bits", "u(2)", 0, 2),
            TraceEntry(pos + 8, "unit_payload_size", "leb128()", payload_size, 8 * (header_size - 1))]
