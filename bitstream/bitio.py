"""Bit-exact writer and reader: fixed-length codes, Exp-Golomb codes and leb128.

Exp-Golomb convention (spec 9.2): the VLC zero-prefix form of H.264/H.265/H.266. ue(v) of
value v writes leadingZeroBits = floor(log2(v + 1)) zeros, a one, then the leadingZeroBits
low bits of v + 1 - 2**leadingZeroBits. se(v) maps k > 0 to 2k - 1 and k <= 0 to -2k.
The k-th order code EGk (used for bypass bins in CABAC) is written by the CABAC layer.
"""
from __future__ import annotations

from .errors import BitstreamError

# A ue(v) prefix longer than this is a corrupt stream, not a value: the largest legal value
# of any element fits in 32 bits (spec 9.2), which bounds the work spent on garbage input.
MAX_UE_LEADING_ZEROS = 32


class BitWriter:
    """Appends bits MSB first; whole bytes go to a bytearray as soon as they are complete."""

    __slots__ = ("_buf", "_acc", "_nacc")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._acc = 0
        self._nacc = 0

    @property
    def bit_pos(self) -> int:
        return 8 * len(self._buf) + self._nacc

    def byte_aligned(self) -> bool:
        return self._nacc == 0

    def write_bit(self, bit: int) -> None:
        self._acc = (self._acc << 1) | (bit & 1)
        self._nacc += 1
        if self._nacc == 8:
            self._buf.append(self._acc)
            self._acc = 0
            self._nacc = 0

    def write_bits(self, value: int, n: int) -> None:
        if n < 0 or (n < 64 and value >> n) or value < 0:
            raise ValueError(f"value {value} does not fit in {n} bits")
        acc = (self._acc << n) | value
        nacc = self._nacc + n
        while nacc >= 8:
            nacc -= 8
            self._buf.append((acc >> nacc) & 0xFF)
        self._acc = acc & ((1 << nacc) - 1)
        self._nacc = nacc

    def write_bytes(self, data: bytes) -> None:
        if self._nacc:
            raise ValueError("write_bytes needs a byte-aligned position")
        self._buf += data

    def write_ue(self, value: int) -> None:
        if value < 0:
            raise ValueError(f"ue(v) cannot code negative value {value}")
        code = value + 1
        length = code.bit_length()
        self.write_bits(code, 2 * length - 1)  # length-1 zeros, then code (its MSB is the one)

    def write_se(self, value: int) -> None:
        self.write_ue(2 * value - 1 if value > 0 else -2 * value)

    def drop_trailing_zero_bytes(self, keep: int) -> None:
        """Removes whole zero bytes from the end, keeping at least keep bytes (byte-aligned
        only): the zero bits a reader of syntax 2's arithmetic-coded data infers (9.3.2.5)."""
        if self._nacc:
            raise ValueError("drop_trailing_zero_bytes needs a byte-aligned position")
        while len(self._buf) > keep and self._buf[-1] == 0:
            self._buf.pop()

    def getvalue(self) -> bytes:
        if self._nacc:
            raise ValueError("stream is not byte-aligned")
        return bytes(self._buf)


class BitReader:
    """Reads bits MSB first from a bytes object, within [start, end) bits, with bounds checks."""

    __slots__ = ("_data", "_pos", "_end")

    def __init__(self, data: bytes, start_bit: int = 0, end_bit: int | None = None) -> None:
        self._data = data
        self._pos = start_bit
        self._end = 8 * len(data) if end_bit is None else end_bit

    @property
    def bit_pos(self) -> int:
        return self._pos

    @property
    def bits_left(self) -> int:
        return self._end - self._pos

    def byte_aligned(self) -> bool:
        return self._pos & 7 == 0

    def _underrun(self, n: int) -> BitstreamError:
        return BitstreamError(f"unexpected end of data: {n} more bit(s) needed, "
                              f"{self._end - self._pos} left", bit_pos=self._pos)

    def read_bit(self) -> int:
        p = self._pos
        if p >= self._end:
            raise self._underrun(1)
        self._pos = p + 1
        return (self._data[p >> 3] >> (7 - (p & 7))) & 1

    def read_bits(self, n: int) -> int:
        if n == 0:
            return 0
        p = self._pos
        if p + n > self._end:
            raise self._underrun(n)
        first = p >> 3
        last = (p + n - 1) >> 3
        chunk = int.from_bytes(self._data[first:last + 1], "big")
        shift = 8 * (last + 1) - (p + n)
        self._pos = p + n
        return (chunk >> shift) & ((1 << n) - 1)

    def peek_bits(self, n: int) -> int:
        pos = self._pos
        value = self.read_bits(n)
        self._pos = pos
        return value

    def read_bytes(self, n: int) -> bytes:
        if self._pos & 7:
            raise BitstreamError("byte string is not byte-aligned", bit_pos=self._pos)
        if self._pos + 8 * n > self._end:
            raise self._underrun(8 * n)
        first = self._pos >> 3
        self._pos += 8 * n
        return bytes(self._data[first:first + n])

    def read_ue(self) -> int:
        start = self._pos
        zeros = 0
        while self.read_bit() == 0:
            zeros += 1
            if zeros > MAX_UE_LEADING_ZEROS:
                raise BitstreamError(f"Exp-Golomb prefix longer than {MAX_UE_LEADING_ZEROS} zeros",
                                     bit_pos=start)
        return (1 << zeros) - 1 + self.read_bits(zeros)

    def read_se(self) -> int:
        k = self.read_ue()
        return (k + 1) >> 1 if k & 1 else -(k >> 1)


class ZeroPaddedBitReader(BitReader):
    """A BitReader that reads bits equal to 0 past its end instead of failing: the arithmetic-
    coded data of semantic-unit syntax 2 (spec 1.2 draft, 9.3.2.5), whose encoder leaves out
    the trailing zero bits. bit_pos may pass the end; furthest_byte( ) is where reading got."""

    __slots__ = ()

    def read_bit(self) -> int:
        p = self._pos
        self._pos = p + 1
        if p >= self._end:
            return 0
        return (self._data[p >> 3] >> (7 - (p & 7))) & 1

    def read_bits(self, n: int) -> int:
        value = 0
        for _ in range(n):
            value = (value << 1) | self.read_bit()
        return value


def write_leb128(value: int, max_bytes: int = 4) -> bytes:
    """Little-endian base-128 (as AV1's leb128()), minimal length."""
    if value < 0 or value >= 1 << (7 * max_bytes):
        raise ValueError(f"leb128 value {value} out of range")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def read_leb128(data: bytes, offset: int, max_bytes: int = 4) -> tuple[int, int]:
    """Returns (value, bytes used). Errors on truncation or on more than max_bytes bytes."""
    value = 0
    for i in range(max_bytes):
        if offset + i >= len(data):
            raise BitstreamError("unit_payload_size truncated", element="unit_payload_size",
                                 bit_pos=8 * (offset + i))
        byte = data[offset + i]
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            if i and byte == 0:
                raise BitstreamError("unit_payload_size is not in its shortest leb128 form",
                                     element="unit_payload_size", bit_pos=8 * offset)
            return value, i + 1
    raise BitstreamError(f"unit_payload_size longer than {max_bytes} bytes",
                         element="unit_payload_size", bit_pos=8 * offset)
