"""CABAC: VVC's arithmetic coding engine and two-rate probability estimator (spec 9.3).

The decoder follows H.266 9.3.4.3 exactly: a 9-bit range initialised to 510, a 9-bit offset,
bit-by-bit renormalisation, bypass and terminate bins. The encoder is the informative
encoder of H.266 9.3.5 (H.264 9.3.4): 10-bit low register, outstanding bits for carry
propagation, and the flush whose last written bit is the unit_stop_one_bit.
"""
from __future__ import annotations

from .bitio import BitReader, BitWriter
from .errors import BitstreamError


def init_context_state(init_value: int, init_qp: int) -> tuple[int, int]:
    """H.266 9.3.2.2: (pStateIdx0, pStateIdx1) from a 6-bit initValue and a QP-like value."""
    if not 0 <= init_value <= 63:
        raise ValueError(f"initValue {init_value} out of 0..63")
    slope_idx = init_value >> 3
    offset_idx = init_value & 7
    m = slope_idx - 4
    n = offset_idx * 18 + 1
    qp = min(max(init_qp, 0), 63)
    pre_ctx_state = min(max(((m * (qp - 16)) >> 1) + n, 1), 127)
    return pre_ctx_state << 3, pre_ctx_state << 7


class ContextModel:
    """One context variable: two probability estimates of a one, at two adaptation rates."""

    __slots__ = ("p0", "p1", "shift0", "shift1", "init_value", "shift_idx")

    def __init__(self, init_value: int, shift_idx: int, init_qp: int) -> None:
        if not 0 <= shift_idx <= 15:
            raise ValueError(f"shiftIdx {shift_idx} out of 0..15")
        self.init_value = init_value
        self.shift_idx = shift_idx
        self.shift0 = (shift_idx >> 2) + 2
        self.shift1 = (shift_idx & 3) + 3 + self.shift0
        self.p0, self.p1 = init_context_state(init_value, init_qp)

    @property
    def p_state(self) -> int:
        """15-bit probability of a one: pStateIdx1 + 16 * pStateIdx0."""
        return self.p1 + 16 * self.p0

    def update(self, bin_val: int) -> None:
        """H.266 9.3.4.3.2.2 (state transition)."""
        s0, s1 = self.shift0, self.shift1
        self.p0 = self.p0 - (self.p0 >> s0) + ((1023 * bin_val) >> s0)
        self.p1 = self.p1 - (self.p1 >> s1) + ((16383 * bin_val) >> s1)

    def copy_state_from(self, other: "ContextModel") -> None:
        self.p0, self.p1 = other.p0, other.p1

    def clone(self) -> "ContextModel":
        """An independent copy (what copy.deepcopy gives, without its bookkeeping)."""
        c = ContextModel.__new__(ContextModel)
        c.p0, c.p1, c.shift0, c.shift1 = self.p0, self.p1, self.shift0, self.shift1
        c.init_value, c.shift_idx = self.init_value, self.shift_idx
        return c


def _lps_range(ivl_curr_range: int, p_state: int) -> tuple[int, int]:
    """(valMps, ivlLpsRange) for the current range and 15-bit state (H.266 9.3.4.3.2.1)."""
    val_mps = p_state >> 14
    q_range_idx = ivl_curr_range >> 5
    p = 32767 - p_state if val_mps else p_state
    return val_mps, ((q_range_idx * (p >> 9)) >> 1) + 4


class ArithmeticDecoder:
    """Decodes bins from a BitReader positioned at the start of the arithmetic-coded data."""

    __slots__ = ("_reader", "_range", "_offset", "bins_decoded")

    def __init__(self, reader: BitReader) -> None:
        self._reader = reader
        self._range = 510
        self._offset = reader.read_bits(9)
        self.bins_decoded = 0
        if self._offset >= 510:
            # H.266 9.3.2.5: ivlOffset equal to 510 or 511 is not allowed in a conforming stream.
            raise BitstreamError("arithmetic decoder initialised with ivlOffset >= 510",
                                 bit_pos=reader.bit_pos - 9)

    @property
    def bit_pos(self) -> int:
        return self._reader.bit_pos

    def decode_decision(self, ctx: ContextModel) -> int:
        """Decoding a context-coded bin (spec 9.3.4.3)."""
        self.bins_decoded += 1
        val_mps, lps = _lps_range(self._range, ctx.p1 + 16 * ctx.p0)
        rng = self._range - lps
        if self._offset >= rng:
            bin_val = 1 - val_mps
            self._offset -= rng
            rng = lps
        else:
            bin_val = val_mps
        ctx.update(bin_val)
        read_bit = self._reader.read_bit
        offset = self._offset
        while rng < 256:
            rng <<= 1
            offset = (offset << 1) | read_bit()
        self._range = rng
        self._offset = offset
        return bin_val

    def decode_bypass(self) -> int:
        """Decoding a bypass bin (spec 9.3.4.4)."""
        self.bins_decoded += 1
        self._offset = (self._offset << 1) | self._reader.read_bit()
        if self._offset >= self._range:
            self._offset -= self._range
            return 1
        return 0

    def decode_bypass_bits(self, n: int) -> int:
        """n bypass bins, most significant first (spec 9.3.4.4)."""
        value = 0
        for _ in range(n):
            value = (value << 1) | self.decode_bypass()
        return value

    def decode_terminate(self) -> int:
        """A terminate bin; after a one the last bit read is the unit_stop_one_bit."""
        self.bins_decoded += 1
        self._range -= 2
        if self._offset >= self._range:
            return 1
        while self._range < 256:
            self._range <<= 1
            self._offset = (self._offset << 1) | self._reader.read_bit()
        return 0


class ArithmeticEncoder:
    """The informative CABAC encoder; writes into a BitWriter and must be finished by
    encode_terminate(1), which flushes."""

    __slots__ = ("_writer", "_low", "_range", "_first_bit", "_outstanding", "bins_encoded",
                 "finished")

    def __init__(self, writer: BitWriter) -> None:
        self._writer = writer
        self._low = 0
        self._range = 510
        self._first_bit = True
        self._outstanding = 0
        self.bins_encoded = 0
        self.finished = False

    def _put_bit(self, b: int) -> None:
        if self._first_bit:
            self._first_bit = False
        else:
            self._writer.write_bit(b)
        if self._outstanding:
            nb = 1 - b
            for _ in range(self._outstanding):
                self._writer.write_bit(nb)
            self._outstanding = 0

    def _renorm(self) -> None:
        while self._range < 256:
            if self._low < 256:
                self._put_bit(0)
            elif self._low >= 512:
                self._low -= 512
                self._put_bit(1)
            else:
                self._low -= 256
                self._outstanding += 1
            self._range <<= 1
            self._low <<= 1

    def encode_decision(self, ctx: ContextModel, bin_val: int) -> None:
        """Encoding a context-coded bin (spec 9.3.5, informative)."""
        self.bins_encoded += 1
        val_mps, lps = _lps_range(self._range, ctx.p1 + 16 * ctx.p0)
        self._range -= lps
        if bin_val != val_mps:
            self._low += self._range
            self._range = lps
        ctx.update(bin_val)
        self._renorm()

    def encode_bypass(self, bin_val: int) -> None:
        """Encoding a bypass bin (spec 9.3.5, informative)."""
        self.bins_encoded += 1
        self._low <<= 1
        if bin_val:
            self._low += self._range
        if self._low >= 1024:
            self._put_bit(1)
            self._low -= 1024
        elif self._low < 512:
            self._put_bit(0)
        else:
            self._low -= 512
            self._outstanding += 1

    def encode_bypass_bits(self, value: int, n: int) -> None:
        """n bypass bins, most significant first (spec 9.3.5, informative)."""
        for i in range(n - 1, -1, -1):
            self.encode_bypass((value >> i) & 1)

    def encode_terminate(self, bin_val: int) -> None:
        """Encoding a terminate bin and, after a one, the flush (spec 9.3.5, informative)."""
        self.bins_encoded += 1
        self._range -= 2
        if bin_val:
            self._low += self._range
            self._flush()
        else:
            self._renorm()

    def flush_minimal(self) -> int:
        """The termination of semantic-unit syntax 2 (spec 1.2 draft, 9.3.5, informative): writes
        the fewest bits that make a decoder which reads zeros past them (9.3.2.5) decode every
        bin so far: the code value of [ivlLow, ivlLow + ivlRange) with the most trailing zero
        bits, from its first bit down to its last one. Returns how many bits that was (1..10,
        without outstanding bits)."""
        low = self._low
        end = min(low + self._range, 1024)          # no carry out of the 10-bit register
        s = 9
        while s > 0 and ((low + (1 << s) - 1) >> s) << s >= end:
            s -= 1
        value = ((low + (1 << s) - 1) >> s) << s
        self._put_bit((value >> 9) & 1)
        if s < 9:
            self._writer.write_bits((value >> s) & ((1 << (9 - s)) - 1), 9 - s)
        self.finished = True
        return 10 - s

    def _flush(self) -> None:
        """EncodeFlush: the last of the three bits written is one, the unit_stop_one_bit."""
        self._range = 2
        self._renorm()
        self._put_bit((self._low >> 9) & 1)
        self._writer.write_bits(((self._low >> 7) & 3) | 1, 2)
        self.finished = True
