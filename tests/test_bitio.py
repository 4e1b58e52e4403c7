"""Bit I/O: u(n), ue(v), se(v), leb128 and the reader's error behaviour (spec 9.2, 7.3.1)."""
from __future__ import annotations


import bitstring
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitstream.bitio import (MAX_UE_LEADING_ZEROS, BitReader, BitWriter, read_leb128,
                             write_leb128)
from bitstream.errors import BitstreamError

FAST = settings(max_examples=150, deadline=None)


def bits_written(write) -> str:  # type: ignore[no-untyped-def]
    """The bits a writer callback produces, as a '0'/'1' string (padding removed)."""
    bw = BitWriter()
    write(bw)
    n = bw.bit_pos
    while not bw.byte_aligned():
        bw.write_bit(0)
    data = bw.getvalue()
    return "".join(f"{b:08b}" for b in data)[:n]


@st.composite
def u_fields(draw):  # type: ignore[no-untyped-def]
    n = draw(st.integers(1, 32))
    value = draw(st.one_of(st.just(0), st.just((1 << n) - 1), st.integers(0, (1 << n) - 1)))
    return n, value


# ---------------------------------------------------------------------------------------
# u(n)
# ---------------------------------------------------------------------------------------
@FAST
@given(st.lists(u_fields(), min_size=1, max_size=40), st.integers(0, 7))
def test_u_round_trip(fields, lead):
    bw = BitWriter()
    bw.write_bits(0, lead)
    for n, v in fields:
        bw.write_bits(v, n)
    total = lead + sum(n for n, _ in fields)
    assert bw.bit_pos == total
    while not bw.byte_aligned():
        bw.write_bit(0)
    data = bw.getvalue()
    assert len(data) == (total + 7) // 8
    br = BitReader(data)
    assert br.read_bits(lead) == 0
    for n, v in fields:
        assert br.read_bits(n) == v
    assert br.bit_pos == total
    assert br.bits_left == 8 * len(data) - total


@pytest.mark.parametrize("n", range(1, 33))
def test_u_extremes_every_width(n):
    values = [0, (1 << n) - 1, 1, 1 << (n - 1), int("10" * 16, 2) & ((1 << n) - 1)]
    for lead in (0, 3, 7):
        bw = BitWriter()
        bw.write_bits((1 << lead) - 1, lead)   # ones before, so misplaced bits show
        for v in values:
            bw.write_bits(v, n)
        while not bw.byte_aligned():
            bw.write_bit(1)
        br = BitReader(bw.getvalue())
        assert br.read_bits(lead) == (1 << lead) - 1
        assert [br.read_bits(n) for _ in values] == values
        # and the bits are MSB first, exactly as bitstring lays them out
        expected = "1" * lead + "".join(bitstring.BitArray(uint=v, length=n).bin for v in values)
        got = "".join(f"{b:08b}" for b in bw.getvalue())
        assert got.startswith(expected)


def test_u_writer_rejects_values_that_do_not_fit():
    bw = BitWriter()
    with pytest.raises(ValueError):
        bw.write_bits(2, 1)
    with pytest.raises(ValueError):
        bw.write_bits(1 << 32, 32)
    with pytest.raises(ValueError):
        bw.write_bits(-1, 8)
    assert bw.bit_pos == 0


def test_peek_does_not_advance_and_read_bytes_needs_alignment():
    br = BitReader(bytes([0b10110000, 0xAB]))
    assert br.peek_bits(4) == 0b1011
    assert br.bit_pos == 0
    assert br.read_bits(8) == 0b10110000
    assert br.read_bytes(1) == b"\xab"
    br = BitReader(bytes([0xFF, 0xFF]))
    br.read_bit()
    with pytest.raises(BitstreamError, match="byte-aligned"):
        br.read_bytes(1)


def test_writer_getvalue_requires_alignment():
    bw = BitWriter()
    bw.write_bits(5, 3)
    assert not bw.byte_aligned()
    with pytest.raises(ValueError):
        bw.getvalue()
    with pytest.raises(ValueError):
        bw.write_bytes(b"x")
    bw.write_bits(0, 5)
    bw.write_bytes(b"xy")
    assert bw.getvalue() == bytes([0b10100000]) + b"xy"


# ---------------------------------------------------------------------------------------
# ue(v) / se(v)
# ---------------------------------------------------------------------------------------
UE_VALUES = st.one_of(st.integers(0, 300), st.integers(0, 1 << 31),
                      st.sampled_from([0, 1, 2, (1 << 31) - 1, 1 << 31, (1 << 32) - 2]))
SE_VALUES = st.one_of(st.integers(-300, 300), st.integers(-(1 << 31), 1 << 31),
                      st.sampled_from([0, 1, -1, (1 << 31), -(1 << 31), (1 << 31) - 1]))


@FAST
@given(st.lists(st.tuples(UE_VALUES, SE_VALUES), min_size=1, max_size=30), st.integers(0, 7))
def test_ue_se_round_trip(pairs, lead):
    bw = BitWriter()
    bw.write_bits(0, lead)
    for u, s in pairs:
        bw.write_ue(u)
        bw.write_se(s)
    end = bw.bit_pos
    while not bw.byte_aligned():
        bw.write_bit(0)
    br = BitReader(bw.getvalue())
    br.read_bits(lead)
    for u, s in pairs:
        assert br.read_ue() == u
        assert br.read_se() == s
    assert br.bit_pos == end


@FAST
@given(UE_VALUES)
def test_ue_bits_equal_bitstring(v):
    if v > (1 << 31):
        v = v % ((1 << 31) + 1)
    expected = bitstring.BitArray(ue=v).bin
    assert bits_written(lambda bw: bw.write_ue(v)) == expected
    # length: 2 * floor(log2(v + 1)) + 1
    assert len(expected) == 2 * ((v + 1).bit_length() - 1) + 1
    # and the reader decodes bitstring's code
    data = (bitstring.BitArray(ue=v) + bitstring.BitArray(uint=0, length=(-len(expected)) % 8)).bytes
    br = BitReader(data)
    assert br.read_ue() == v
    assert br.bit_pos == len(expected)


@FAST
@given(SE_VALUES)
def test_se_bits_equal_bitstring(v):
    expected = bitstring.BitArray(se=v).bin
    assert bits_written(lambda bw: bw.write_se(v)) == expected
    data = (bitstring.BitArray(se=v) + bitstring.BitArray(uint=0, length=(-len(expected)) % 8)).bytes
    br = BitReader(data)
    assert br.read_se() == v
    assert br.bit_pos == len(expected)


@pytest.mark.parametrize("v,code", [(0, "1"), (1, "010"), (2, "011"), (3, "00100"), (6, "00111"),
                                    (7, "0001000"), (14, "0001111"), (15, "000010000")])
def test_ue_table(v, code):
    """Table 9-2 of H.264/H.266 (the VLC zero-prefix form)."""
    assert bits_written(lambda bw: bw.write_ue(v)) == code


@pytest.mark.parametrize("k,v", [(0, 0), (1, 1), (2, -1), (3, 2), (4, -2), (5, 3), (6, -3)])
def test_se_mapping(k, v):
    """se(v): codeNum k maps to (-1)**(k+1) * Ceil(k / 2)."""
    assert bits_written(lambda bw: bw.write_se(v)) == bits_written(lambda bw: bw.write_ue(k))


def test_ue_rejects_negative():
    with pytest.raises(ValueError):
        BitWriter().write_ue(-1)


def test_ue_largest_prefix_accepted():
    """32 leading zeros is the longest legal prefix: value 2**32 - 1 + suffix."""
    bw = BitWriter()
    bw.write_ue((1 << 32) - 1)
    bw.write_ue((1 << 33) - 2)
    while not bw.byte_aligned():
        bw.write_bit(0)
    br = BitReader(bw.getvalue())
    assert br.read_ue() == (1 << 32) - 1
    assert br.read_ue() == (1 << 33) - 2


@pytest.mark.parametrize("zeros", [MAX_UE_LEADING_ZEROS + 1, 40, 64, 8 * 100_000])
def test_ue_prefix_too_long_raises_quickly(zeros):
    bw = BitWriter()
    bw.write_bits(0, zeros)
    bw.write_bit(1)
    bw.write_bits(0, 64)
    while not bw.byte_aligned():
        bw.write_bit(0)
    data = bw.getvalue()
    reader = BitReader(data)
    with pytest.raises(BitstreamError, match="Exp-Golomb prefix") as exc:
        reader.read_ue()
    # Bounded work, whatever the input's length: the reader stops after the longest prefix.
    assert reader.bit_pos == MAX_UE_LEADING_ZEROS + 1
    assert exc.value.bit_pos == 0
    with pytest.raises(BitstreamError, match="Exp-Golomb prefix"):
        BitReader(data).read_se()


def test_ue_all_zero_megabyte_raises_quickly():
    data = bytes(1 << 20)
    reader = BitReader(data)
    with pytest.raises(BitstreamError):
        reader.read_ue()
    assert reader.bit_pos == MAX_UE_LEADING_ZEROS + 1     # 33 bits read of the 8 Mbit


# ---------------------------------------------------------------------------------------
# leb128
# ---------------------------------------------------------------------------------------
LEB_VALUES = st.one_of(st.integers(0, (1 << 28) - 1),
                       st.sampled_from([0, 127, 128, (1 << 14) - 1, 1 << 14, (1 << 21) - 1,
                                        1 << 21, (1 << 28) - 1]))


@FAST
@given(LEB_VALUES, st.binary(max_size=4), st.binary(max_size=4))
def test_leb128_round_trip(v, before, after):
    enc = write_leb128(v)
    assert len(enc) == max(1, (v.bit_length() + 6) // 7)        # minimal length
    assert all(b & 0x80 for b in enc[:-1]) and not enc[-1] & 0x80
    assert sum((b & 0x7F) << (7 * i) for i, b in enumerate(enc)) == v   # little endian
    value, used = read_leb128(before + enc + after, len(before))
    assert (value, used) == (v, len(enc))


@pytest.mark.parametrize("v", [1 << 28, (1 << 35) - 1, -1])
def test_leb128_writer_rejects_more_than_4_bytes(v):
    with pytest.raises(ValueError):
        write_leb128(v)


@pytest.mark.parametrize("data", [b"\x80\x80\x80\x80\x00", b"\xff\xff\xff\xff\x01",
                                  b"\x80\x80\x80\x80\x80\x80\x80\x80\x00"])
def test_leb128_reader_rejects_more_than_4_bytes(data):
    with pytest.raises(BitstreamError, match="unit_payload_size") as exc:
        read_leb128(data, 0)
    assert exc.value.element == "unit_payload_size"


@pytest.mark.parametrize("data,offset", [(b"", 0), (b"\x80", 0), (b"\x05\xff\xff", 1),
                                         (b"\x80\x80\x80", 0), (b"\x01", 5)])
def test_leb128_reader_truncated(data, offset):
    with pytest.raises(BitstreamError, match="truncated"):
        read_leb128(data, offset)


# ---------------------------------------------------------------------------------------
# Reading past the end: BitstreamError, never IndexError
# ---------------------------------------------------------------------------------------
@FAST
@given(st.binary(max_size=12), st.lists(st.sampled_from(["bit", "bits", "ue", "se", "bytes"]),
                                         min_size=1, max_size=60),
       st.integers(1, 40))
def test_reader_past_end_raises_bitstream_error(data, ops, n):
    br = BitReader(data)
    try:
        for op in ops:
            before = br.bit_pos
            if op == "bit":
                br.read_bit()
            elif op == "bits":
                br.read_bits(n)
            elif op == "ue":
                br.read_ue()
            elif op == "se":
                br.read_se()
            else:
                while not br.byte_aligned():
                    br.read_bit()
                br.read_bytes(n % 5)
            assert br.bit_pos <= 8 * len(data)
            assert br.bit_pos >= before
    except BitstreamError as exc:
        assert str(exc)
        assert exc.bit_pos is not None and 0 <= exc.bit_pos <= 8 * len(data)


@pytest.mark.parametrize("n", [1, 7, 8, 9, 32, 33])
def test_read_bits_past_end(n):
    br = BitReader(b"\xaa\xbb\xcc\xdd")
    br.read_bits(8 * 4 - (n - 1) if n <= 32 else 0)
    with pytest.raises(BitstreamError, match="unexpected end of data"):
        br.read_bits(n)
    with pytest.raises(BitstreamError):
        BitReader(b"").read_bit()
    with pytest.raises(BitstreamError):
        BitReader(b"").read_bytes(1)


def test_reader_honours_end_bit():
    br = BitReader(b"\xff\xff", start_bit=3, end_bit=10)
    assert br.bits_left == 7
    assert br.read_bits(7) == 0x7F
    with pytest.raises(BitstreamError):
        br.read_bit()


@pytest.mark.parametrize("data", [b"\x00", b"\x00\x01", b"\x01", b"\x00\x00\x00\x01\x80",
                                  b"\x02"])
def test_truncated_ue_suffix(data):
    """A complete prefix whose suffix runs past the end."""
    with pytest.raises(BitstreamError):
        BitReader(data).read_ue()
    with pytest.raises(BitstreamError):
        BitReader(data).read_se()
