"""Symmetric syntax coding: a syntax structure is written once as a function of a coder,
and the same function reads (SyntaxReader) or writes (SyntaxWriter) it.

Each call names the element by its spec name, codes it with its descriptor, checks its range
(an error names element, unit and bit position) and records a trace entry when tracing.
In reading mode the value argument is ignored and the parsed value is returned; in writing
mode the value is checked, written and returned, so structure code reads the same both ways:
``sh.sh_level_idc = c.u("sh_level_idc", 8, sh.sh_level_idc)``.
"""
from __future__ import annotations

from .bitio import BitReader, BitWriter, ZeroPaddedBitReader, read_leb128, write_leb128
from .cabac_engine import ArithmeticDecoder, ArithmeticEncoder, ContextModel
from .errors import BitstreamError
from .trace import TraceEntry

# EGk prefixes (CABAC bypass) longer than this are corrupt data (spec 9.3.3.3).
MAX_EGK_PREFIX = 32


def _check_range(name: str, value: int, lo: int | None, hi: int | None) -> str | None:
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        if hi is None:
            return f"{name} = {value} out of range (shall be at least {lo})"
        if lo is None:
            return f"{name} = {value} out of range (shall be at most {hi})"
        return f"{name} = {value} out of range [{lo}, {hi}]"
    return None


class SyntaxWriter:
    """Writes syntax structures (spec 7.1: descriptors of 5.2 and 9.2, ae(v) of 9.3.5)."""
    reading = False

    def __init__(self, trace: list[TraceEntry] | None = None) -> None:
        self.bw = BitWriter()
        self.trace = trace
        self._ae: ArithmeticEncoder | None = None

    # -- helpers -------------------------------------------------------------------------
    def _rec(self, start: int, name: str, desc: str, value: int | str) -> None:
        if self.trace is not None:
            self.trace.append(TraceEntry(start, name, desc, value, self.bw.bit_pos - start))

    def _check(self, name: str, value: int, lo: int | None, hi: int | None) -> None:
        problem = _check_range(name, value, lo, hi)
        if problem:
            raise BitstreamError(f"cannot write: {problem}", element=name, bit_pos=self.bw.bit_pos)

    @property
    def bit_pos(self) -> int:
        return self.bw.bit_pos

    def error(self, message: str, name: str | None = None, bit_pos: int | None = None) -> BitstreamError:
        """A constraint the caller's values break while writing (same interface as the reader)."""
        return BitstreamError(f"cannot write: {message}", element=name,
                              bit_pos=self.bw.bit_pos if bit_pos is None else bit_pos)

    # -- fixed and variable length codes -------------------------------------------------
    def u(self, name: str, n: int, value: int, lo: int | None = None, hi: int | None = None) -> int:
        """u(n): n-bit unsigned integer, most significant bit first (spec 5.2)."""
        self._check(name, value, 0 if lo is None else lo, (1 << n) - 1 if hi is None else hi)
        start = self.bw.bit_pos
        self.bw.write_bits(value, n)
        self._rec(start, name, f"u({n})", value)
        return value

    def f(self, name: str, n: int, expected: int, problem: str | None = None) -> int:
        """A fixed-pattern element (problem: the reader's message when it differs)."""
        start = self.bw.bit_pos
        self.bw.write_bits(expected, n)
        self._rec(start, name, f"f({n})", expected)
        return expected

    def leb128(self, name: str, value: int, max_bytes: int) -> int:
        """leb128( ) (spec 7.3.1): value in its shortest form of at most max_bytes bytes."""
        self._check(name, value, 0, (1 << (7 * max_bytes)) - 1)
        start = self.bw.bit_pos
        self.bw.write_bytes(write_leb128(value, max_bytes))
        self._rec(start, name, "leb128()", value)
        return value

    def ue(self, name: str, value: int, lo: int = 0, hi: int | None = None) -> int:
        """ue(v): unsigned Exp-Golomb code (spec 9.2)."""
        self._check(name, value, lo, hi)
        start = self.bw.bit_pos
        self.bw.write_ue(value)
        self._rec(start, name, "ue(v)", value)
        return value

    def se(self, name: str, value: int, lo: int | None = None, hi: int | None = None) -> int:
        """se(v): signed Exp-Golomb code (spec 9.2)."""
        self._check(name, value, lo, hi)
        start = self.bw.bit_pos
        self.bw.write_se(value)
        self._rec(start, name, "se(v)", value)
        return value

    def b8_string(self, name: str, value: bytes, n: int) -> bytes:
        """n bytes, b(8) each; the writer checks that value has exactly n bytes."""
        if len(value) != n:
            raise BitstreamError(f"cannot write: {name} has {len(value)} bytes, expected {n}",
                                 element=name, bit_pos=self.bw.bit_pos)
        start = self.bw.bit_pos
        self.bw.write_bytes(value)
        self._rec(start, name, "b(8)", f"<{len(value)} bytes>")
        return value

    def more_payload_data(self, present: bool) -> bool:
        """more_payload_data( ) (spec 5.2): the writer decides whether extension data follows."""
        return bool(present)

    def byte_alignment(self) -> None:
        """byte_alignment( ) (spec 7.3.2)."""
        while not self.bw.byte_aligned():
            self.f("alignment_zero_bit", 1, 0)

    def trailing_bits(self) -> None:
        """unit_trailing_bits(): a one, then zeros to the byte boundary."""
        self.f("unit_stop_one_bit", 1, 1)
        self.byte_alignment()

    # -- CABAC ---------------------------------------------------------------------------
    def start_ae(self) -> None:
        """Starts the arithmetic-coded section of a semantic unit (spec 9.3.5, informative)."""
        self._ae = ArithmeticEncoder(self.bw)

    @property
    def ae_engine(self) -> ArithmeticEncoder:
        if self._ae is None:
            raise RuntimeError("ae(v) element outside an arithmetic-coded section")
        return self._ae

    def ae_decision(self, name: str, ctx: ContextModel, value: int) -> int:
        """A context-coded bin (spec 9.3.5; decoding 9.3.4.3)."""
        start = self.bw.bit_pos
        self.ae_engine.encode_decision(ctx, value)
        self._rec(start, name, "ae(v)", value)
        return value

    def ae_bypass_egk(self, name: str, value: int, k: int, hi: int | None = None) -> int:
        """A non-negative value as k-th order Exp-Golomb in bypass bins (spec 9.3.3.3)."""
        self._check(name, value, 0, hi)
        start = self.bw.bit_pos
        eng = self.ae_engine
        abs_v = value
        while abs_v >= (1 << k):
            eng.encode_bypass(1)
            abs_v -= 1 << k
            k += 1
        eng.encode_bypass(0)
        eng.encode_bypass_bits(abs_v, k)
        self._rec(start, name, "ae(v)", value)
        return value

    def ae_bypass_flag(self, name: str, value: int) -> int:
        """A bypass bin (spec 9.3.5; decoding 9.3.4.4)."""
        start = self.bw.bit_pos
        self.ae_engine.encode_bypass(value)
        self._rec(start, name, "ae(v)", value)
        return value

    def ae_terminate(self, name: str, value: int) -> int:
        """A terminate bin (spec 9.3.5; decoding 9.3.4.5)."""
        start = self.bw.bit_pos
        self.ae_engine.encode_terminate(value)
        self._rec(start, name, "ae(v)", value)
        if value:
            self._ae = None
        return value

    def ae_trailing_bits(self) -> None:
        """After a terminate bin of one, the flush has written unit_stop_one_bit; align."""
        self.byte_alignment()

    def start_ae_padded(self) -> None:
        """Starts the arithmetic-coded data of semantic-unit syntax 2 (spec 1.2 draft, 9.3.2.5),
        which runs to the end of the payload."""
        self._ae_start_byte = self.bw.bit_pos >> 3
        self.start_ae()

    def ae_end_padded(self) -> None:
        """Ends syntax 2's arithmetic-coded data (9.3.5, informative): the shortest flush, zero
        bits to the byte boundary, and no trailing zero bytes (a decoder infers them), keeping a
        payload of at least one byte (7.4.1)."""
        self.ae_engine.flush_minimal()
        self._ae = None
        while not self.bw.byte_aligned():
            self.bw.write_bit(0)
        self.bw.drop_trailing_zero_bytes(max(self._ae_start_byte, 1))
        if self.bw.bit_pos == 0:
            self.bw.write_bits(0, 8)

    def getvalue(self) -> bytes:
        return self.bw.getvalue()


class SyntaxReader:
    """Reads syntax structures: the parsing process of spec 7.1 with the descriptors of 5.2,
    Exp-Golomb codes (9.2) and CABAC (9.3)."""
    reading = True

    def __init__(self, data: bytes, *, trace: list[TraceEntry] | None = None,
                 unit: str | None = None, bit_offset: int = 0) -> None:
        self.br = BitReader(data)
        self.trace = trace
        self.unit = unit
        self.bit_offset = bit_offset  # where this payload starts in the whole stream
        self._ad: ArithmeticDecoder | None = None

    def _rec(self, start: int, name: str, desc: str, value: int | str) -> None:
        if self.trace is not None:
            self.trace.append(TraceEntry(start + self.bit_offset, name, desc, value,
                                         self.br.bit_pos - start))

    def error(self, message: str, name: str | None = None, bit_pos: int | None = None) -> BitstreamError:
        pos = self.br.bit_pos if bit_pos is None else bit_pos
        return BitstreamError(message, element=name, unit=self.unit, bit_pos=pos + self.bit_offset)

    def _guard(self, name: str, start: int, read):  # type: ignore[no-untyped-def]
        try:
            return read()
        except BitstreamError as exc:
            raise self.error(exc.reason, name, start) from None

    def _check(self, name: str, value: int, lo: int | None, hi: int | None, start: int) -> None:
        problem = _check_range(name, value, lo, hi)
        if problem:
            raise self.error(problem, name, start)

    @property
    def bit_pos(self) -> int:
        return self.br.bit_pos

    @property
    def bits_left(self) -> int:
        return self.br.bits_left

    def u(self, name: str, n: int, value: int | None = None, lo: int | None = None,
          hi: int | None = None) -> int:
        """u(n): n-bit unsigned integer, most significant bit first (spec 5.2)."""
        start = self.br.bit_pos
        v = self._guard(name, start, lambda: self.br.read_bits(n))
        self._check(name, v, lo, hi, start)
        self._rec(start, name, f"u({n})", v)
        return v

    def f(self, name: str, n: int, expected: int, problem: str | None = None) -> int:
        """A fixed-pattern element; problem: the message when it differs (default: both values)."""
        start = self.br.bit_pos
        v = self._guard(name, start, lambda: self.br.read_bits(n))
        if v != expected:
            raise self.error(problem or f"{name} = {v:#x}, expected {expected:#x}", name, start)
        self._rec(start, name, f"f({n})", v)
        return v

    def leb128(self, name: str, value: int | None, max_bytes: int) -> int:
        """leb128( ) (spec 7.3.1): at most max_bytes bytes, in the shortest form; byte-aligned."""
        start = self.br.bit_pos
        if start & 7:
            raise self.error(f"{name} is not byte-aligned", name, start)
        try:
            v, used = read_leb128(self.br._data, start >> 3, max_bytes)
        except BitstreamError as exc:
            raise self.error(exc.reason, name, exc.bit_pos) from None
        self.br.read_bytes(used)
        self._rec(start, name, "leb128()", v)
        return v

    def ue(self, name: str, value: int | None = None, lo: int = 0, hi: int | None = None) -> int:
        """ue(v): unsigned Exp-Golomb code (spec 9.2)."""
        start = self.br.bit_pos
        v = self._guard(name, start, self.br.read_ue)
        self._check(name, v, lo, hi, start)
        self._rec(start, name, "ue(v)", v)
        return v

    def se(self, name: str, value: int | None = None, lo: int | None = None,
           hi: int | None = None) -> int:
        """se(v): signed Exp-Golomb code (spec 9.2)."""
        start = self.br.bit_pos
        v = self._guard(name, start, self.br.read_se)
        self._check(name, v, lo, hi, start)
        self._rec(start, name, "se(v)", v)
        return v

    def b8_string(self, name: str, value: bytes | None, n: int) -> bytes:
        """n bytes, b(8) each (spec 5.2)."""
        start = self.br.bit_pos
        v = self._guard(name, start, lambda: self.br.read_bytes(n))
        self._rec(start, name, "b(8)", f"<{n} bytes>")
        return v

    def more_payload_data(self, present: bool | None = None) -> bool:
        """more_payload_data( ) (spec 5.2): TRUE when a bit equal to 1 follows the next bit equal
        to 1 in the payload, that is when more syntax precedes unit_trailing_bits( )."""
        data, pos = self.br._data, self.br.bit_pos
        for byte_idx in range((self.br._end >> 3) - 1, (pos >> 3) - 1, -1):
            b = data[byte_idx]
            if b:   # the last bit equal to 1 of the payload (the unit_stop_one_bit)
                return 8 * byte_idx + 8 - (b & -b).bit_length() > pos
        return False

    def byte_alignment(self) -> None:
        """byte_alignment( ) (spec 7.3.2)."""
        while not self.br.byte_aligned():
            self.f("alignment_zero_bit", 1, 0)

    def trailing_bits(self) -> None:
        """unit_trailing_bits( ) (spec 7.3.2); the payload ends there (7.4.1)."""
        self.f("unit_stop_one_bit", 1, 1)
        self.byte_alignment()
        self.expect_end()

    def expect_end(self) -> None:
        """The payload ends with the syntax structure (spec 7.4.1)."""
        if self.br.bits_left:
            raise self.error(f"{self.br.bits_left} bit(s) of unexpected data after the end of the "
                             "syntax structure (wrong unit_payload_size or corrupt unit)")

    # -- CABAC ---------------------------------------------------------------------------
    def start_ae(self) -> None:
        """Initialises the arithmetic decoding engine at the current bit (spec 9.3.2.5)."""
        start = self.br.bit_pos
        self._ad = self._guard("ae(v)", start, lambda: ArithmeticDecoder(self.br))

    @property
    def ae_engine(self) -> ArithmeticDecoder:
        if self._ad is None:
            raise RuntimeError("ae(v) element outside an arithmetic-coded section")
        return self._ad

    def ae_decision(self, name: str, ctx: ContextModel, value: int | None = None) -> int:
        """A context-coded bin (spec 9.3.4.3)."""
        start = self.br.bit_pos
        v = self._guard(name, start, lambda: self.ae_engine.decode_decision(ctx))
        self._rec(start, name, "ae(v)", v)
        return v

    def ae_bypass_egk(self, name: str, value: int | None, k: int, hi: int | None = None) -> int:
        """A non-negative value as k-th order Exp-Golomb in bypass bins (spec 9.3.3.3, 9.3.4.4)."""
        start = self.br.bit_pos
        eng = self.ae_engine

        def read() -> int:
            kk = k
            abs_v = 0
            prefix = 0
            while eng.decode_bypass():
                abs_v += 1 << kk
                kk += 1
                prefix += 1
                if prefix > MAX_EGK_PREFIX:
                    raise BitstreamError(f"EG{k} prefix longer than {MAX_EGK_PREFIX} bins")
            return abs_v + eng.decode_bypass_bits(kk)

        v = self._guard(name, start, read)
        self._check(name, v, 0, hi, start)
        self._rec(start, name, "ae(v)", v)
        return v

    def ae_bypass_flag(self, name: str, value: int | None = None) -> int:
        """A bypass bin (spec 9.3.4.4)."""
        start = self.br.bit_pos
        v = self._guard(name, start, self.ae_engine.decode_bypass)
        self._rec(start, name, "ae(v)", v)
        return v

    def ae_terminate(self, name: str, value: int | None = None) -> int:
        """A terminate bin (spec 9.3.4.5)."""
        start = self.br.bit_pos
        v = self._guard(name, start, self.ae_engine.decode_terminate)
        self._rec(start, name, "ae(v)", v)
        if v:
            self._ad = None
        return v

    def start_ae_padded(self) -> None:
        """Initialises the arithmetic decoding engine of semantic-unit syntax 2 (spec 1.2 draft,
        9.3.2.5): it reads the payload from the current bit to its end, then bits equal to 0.
        Until ae_end_padded( ) the coder reads (and traces positions) through that reader."""
        self._main_br = self.br
        self.br = ZeroPaddedBitReader(self.br._data, self.br.bit_pos, self.br._end)
        self._ad = ArithmeticDecoder(self.br)

    def ae_end_padded(self) -> None:
        """The end of syntax 2's arithmetic-coded data (7.4.4a): the payload shall not extend
        past the byte holding the last bit the arithmetic decoding engine read."""
        read_to = self.br.bit_pos
        self.br = self._main_br
        self._ad = None
        end = self.br._end
        if 8 * ((read_to + 7) >> 3) < end:
            raise self.error(f"{(end - 8 * ((read_to + 7) >> 3)) >> 3} byte(s) of data after the "
                             "arithmetic-coded data of the semantic unit (spec 7.4.4a)", None, read_to)
        self.br._pos = end

    def ae_trailing_bits(self) -> None:
        """The arithmetic decoder has consumed unit_stop_one_bit: check it, then align."""
        pos = self.br.bit_pos
        if pos == 0 or (self.br._data[(pos - 1) >> 3] >> (7 - ((pos - 1) & 7))) & 1 != 1:
            raise self.error("unit_stop_one_bit after the arithmetic-coded data is not one",
                             "unit_stop_one_bit", pos - 1)
        self.byte_alignment()
        self.expect_end()
