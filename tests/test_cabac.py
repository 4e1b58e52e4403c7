"""CABAC engine and probability estimator (spec 9.3, H.266 9.3.2.2 / 9.3.4.3).

Expected values come from an independent re-implementation of the H.266 formulas in this
file (ref_*), never from the module under test.
"""
from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitstream.bitio import BitReader, BitWriter
from bitstream.cabac_engine import (ArithmeticDecoder, ArithmeticEncoder, ContextModel,
                                    init_context_state)
from bitstream.errors import BitstreamError
from bitstream.syntax_coder import SyntaxReader, SyntaxWriter


# ---------------------------------------------------------------------------------------
# Independent reference model (H.266 9.3.2.2, 9.3.4.3.2)
# ---------------------------------------------------------------------------------------
def clip3(lo: int, hi: int, x: int) -> int:
    return lo if x < lo else hi if x > hi else x


def ref_init(init_value: int, qp: int) -> tuple[int, int]:
    slope_idx = init_value >> 3
    offset_idx = init_value & 7
    m = slope_idx - 4
    n = offset_idx * 18 + 1
    pre = clip3(1, 127, ((m * (clip3(0, 63, qp) - 16)) >> 1) + n)
    return pre << 3, pre << 7


def ref_shifts(shift_idx: int) -> tuple[int, int]:
    shift0 = (shift_idx >> 2) + 2
    return shift0, (shift_idx & 3) + 3 + shift0


def ref_update(p0: int, p1: int, shift_idx: int, b: int) -> tuple[int, int]:
    s0, s1 = ref_shifts(shift_idx)
    p0 += -(p0 >> s0) + ((1023 * b) >> s0)
    p1 += -(p1 >> s1) + ((16383 * b) >> s1)
    return p0, p1


def ref_lps(rng: int, p0: int, p1: int) -> tuple[int, int]:
    p_state = p1 + 16 * p0
    val_mps = p_state >> 14
    q = rng >> 5
    return val_mps, ((q * ((32767 - p_state if val_mps else p_state) >> 9)) >> 1) + 4


class RefDecoder:
    """H.266 9.3.4.3 decoding written from the spec text, over a list of bits."""

    def __init__(self, bits: list[int], pos: int) -> None:
        self.bits = bits
        self.pos = pos
        self.rng = 510
        self.off = self.read(9)

    def read(self, n: int) -> int:
        v = 0
        for _ in range(n):
            v = (v << 1) | self.bits[self.pos]
            self.pos += 1
        return v

    def decision(self, state: list[int], shift_idx: int) -> int:
        val_mps, lps = ref_lps(self.rng, state[0], state[1])
        self.rng -= lps
        if self.off >= self.rng:
            b = 1 - val_mps
            self.off -= self.rng
            self.rng = lps
        else:
            b = val_mps
        state[0], state[1] = ref_update(state[0], state[1], shift_idx, b)
        while self.rng < 256:
            self.rng <<= 1
            self.off = (self.off << 1) | self.read(1)
        return b

    def bypass(self) -> int:
        self.off = (self.off << 1) | self.read(1)
        if self.off >= self.rng:
            self.off -= self.rng
            return 1
        return 0

    def terminate(self) -> int:
        self.rng -= 2
        if self.off >= self.rng:
            return 1
        while self.rng < 256:
            self.rng <<= 1
            self.off = (self.off << 1) | self.read(1)
        return 0

    def egk(self, k: int) -> int:
        value = 0
        while self.bypass():
            value += 1 << k
            k += 1
        suffix = 0
        for _ in range(k):
            suffix = (suffix << 1) | self.bypass()
        return value + suffix


def to_bits(data: bytes) -> list[int]:
    return [(b >> (7 - i)) & 1 for b in data for i in range(8)]


# ---------------------------------------------------------------------------------------
# Strategies: contexts and mixed bin sequences
# ---------------------------------------------------------------------------------------
CTX = st.tuples(st.integers(0, 63), st.integers(0, 15), st.integers(0, 63))


@st.composite
def bin_programs(draw):  # type: ignore[no-untyped-def]
    ctxs = draw(st.lists(CTX, min_size=1, max_size=6))
    skew = draw(st.sampled_from([0.5, 0.1, 0.02, 0.9]))
    rnd = random.Random(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(0, 300))
    ops = []
    for _ in range(n):
        kind = draw(st.sampled_from(["dec", "dec", "dec", "byp", "egk", "term0"]))
        if kind == "dec":
            ops.append(("dec", rnd.randrange(len(ctxs)), int(rnd.random() < skew)))
        elif kind == "byp":
            ops.append(("byp", rnd.randrange(2)))
        elif kind == "egk":
            k = rnd.randrange(0, 6)
            value = rnd.choice([0, 1, 2, rnd.randrange(1 << 12), rnd.randrange(1 << 30)])
            ops.append(("egk", value, k))
        else:
            ops.append(("term0",))
    lead = draw(st.integers(0, 15))
    return ctxs, ops, lead


def make_contexts(ctxs):  # type: ignore[no-untyped-def]
    return [ContextModel(v, s, qp) for v, s, qp in ctxs]


def encode_program(ctxs, ops, lead):  # type: ignore[no-untyped-def]
    """Encodes with SyntaxWriter (which drives ArithmeticEncoder + BitWriter); returns
    (bytes, bit position right after the flush, per-decision-bin encoder states)."""
    sw = SyntaxWriter()
    if lead:
        sw.u("lead", lead, (1 << lead) - 1 if lead % 2 else 0)
    sw.start_ae()
    contexts = make_contexts(ctxs)
    states = []
    for op in ops:
        if op[0] == "dec":
            ctx = contexts[op[1]]
            sw.ae_decision("d", ctx, op[2])
            states.append((ctx.p0, ctx.p1))
        elif op[0] == "byp":
            sw.ae_bypass_flag("b", op[1])
        elif op[0] == "egk":
            sw.ae_bypass_egk("e", op[1], op[2])
        else:
            sw.ae_terminate("t", 0)
    sw.ae_terminate("end", 1)
    end = sw.bit_pos
    sw.ae_trailing_bits()
    return sw.getvalue(), end, states


def decode_egk(dec: ArithmeticDecoder, k: int) -> int:
    value = 0
    while dec.decode_bypass():
        value += 1 << k
        k += 1
    return value + dec.decode_bypass_bits(k)


# ---------------------------------------------------------------------------------------
# Round trips
# ---------------------------------------------------------------------------------------
@settings(max_examples=120, deadline=None)
@given(bin_programs())
def test_random_bins_round_trip(program):
    ctxs, ops, lead = program
    data, end, enc_states = encode_program(ctxs, ops, lead)
    assert len(data) == (end + 7) // 8
    # alignment bits after the stop bit are zero
    bits = to_bits(data)
    assert bits[end - 1] == 1
    assert not any(bits[end:])

    br = BitReader(data)
    br.read_bits(lead)
    dec = ArithmeticDecoder(br)
    contexts = make_contexts(ctxs)
    ref_states = [list(ref_init(v, qp)) for v, _, qp in ctxs]
    dec_states = []
    for op in ops:
        if op[0] == "dec":
            ctx = contexts[op[1]]
            assert dec.decode_decision(ctx) == op[2]
            dec_states.append((ctx.p0, ctx.p1))
            st_ = ref_states[op[1]]
            st_[0], st_[1] = ref_update(st_[0], st_[1], ctxs[op[1]][1], op[2])
            assert (ctx.p0, ctx.p1) == tuple(st_)
        elif op[0] == "byp":
            assert dec.decode_bypass() == op[1]
        elif op[0] == "egk":
            assert decode_egk(dec, op[2]) == op[1]
        else:
            assert dec.decode_terminate() == 0
    assert dec.decode_terminate() == 1
    assert dec_states == enc_states
    # the decoder stops exactly after the stop bit: encoded length minus alignment zeros
    assert dec.bit_pos == end
    assert bits[dec.bit_pos - 1] == 1
    assert 8 * len(data) - dec.bit_pos == (-end) % 8


@settings(max_examples=60, deadline=None)
@given(bin_programs())
def test_encoder_output_decodes_with_reference_decoder(program):
    """The encoder's bits decode with a decoder written from the spec text."""
    ctxs, ops, lead = program
    data, end, _ = encode_program(ctxs, ops, lead)
    ref = RefDecoder(to_bits(data), lead)
    states = [list(ref_init(v, qp)) for v, _, qp in ctxs]
    for op in ops:
        if op[0] == "dec":
            assert ref.decision(states[op[1]], ctxs[op[1]][1]) == op[2]
        elif op[0] == "byp":
            assert ref.bypass() == op[1]
        elif op[0] == "egk":
            assert ref.egk(op[2]) == op[1]
        else:
            assert ref.terminate() == 0
    assert ref.terminate() == 1
    assert ref.pos == end


@settings(max_examples=60, deadline=None)
@given(bin_programs())
def test_syntax_reader_round_trip_and_traces(program):
    """SyntaxWriter -> SyntaxReader; both traces name the same elements with the same values."""
    ctxs, ops, lead = program
    wtrace: list = []
    sw = SyntaxWriter(wtrace)
    if lead:
        sw.u("lead", lead, 0)
    sw.start_ae()
    wctx = make_contexts(ctxs)
    for op in ops:
        if op[0] == "dec":
            sw.ae_decision("d", wctx[op[1]], op[2])
        elif op[0] == "byp":
            sw.ae_bypass_flag("b", op[1])
        elif op[0] == "egk":
            sw.ae_bypass_egk("e", op[1], op[2])
        else:
            sw.ae_terminate("t", 0)
    sw.ae_terminate("end", 1)
    sw.ae_trailing_bits()
    data = sw.getvalue()

    rtrace: list = []
    sr = SyntaxReader(data, trace=rtrace)
    if lead:
        assert sr.u("lead", lead) == 0
    sr.start_ae()
    rctx = make_contexts(ctxs)
    for op in ops:
        if op[0] == "dec":
            assert sr.ae_decision("d", rctx[op[1]]) == op[2]
        elif op[0] == "byp":
            assert sr.ae_bypass_flag("b") == op[1]
        elif op[0] == "egk":
            assert sr.ae_bypass_egk("e", None, op[2]) == op[1]
        else:
            assert sr.ae_terminate("t") == 0
    assert sr.ae_terminate("end") == 1
    sr.ae_trailing_bits()      # checks the stop bit, the alignment and the end of data
    assert [(e.name, e.value) for e in wtrace] == [(e.name, e.value) for e in rtrace]
    assert [e.format().split()[1:] for e in wtrace] == [e.format().split()[1:] for e in rtrace]
    assert [(c.p0, c.p1) for c in wctx] == [(c.p0, c.p1) for c in rctx]


def test_terminate_only_stream():
    bw = BitWriter()
    enc = ArithmeticEncoder(bw)
    enc.encode_terminate(1)
    assert enc.finished
    end = bw.bit_pos
    assert end == 9           # 7 renormalisation bits + 3 flush bits - the suppressed first bit
    while not bw.byte_aligned():
        bw.write_bit(0)
    br = BitReader(bw.getvalue())
    dec = ArithmeticDecoder(br)
    assert dec.decode_terminate() == 1
    assert dec.bit_pos == end


def test_many_terminate_zero_bins_then_one():
    bw = BitWriter()
    enc = ArithmeticEncoder(bw)
    ctx_e = ContextModel(20, 4, 30)
    pattern = [i % 3 == 0 for i in range(500)]
    for b in pattern:
        enc.encode_terminate(0)
        enc.encode_decision(ctx_e, int(b))
    enc.encode_terminate(1)
    end = bw.bit_pos
    while not bw.byte_aligned():
        bw.write_bit(0)
    dec = ArithmeticDecoder(BitReader(bw.getvalue()))
    ctx_d = ContextModel(20, 4, 30)
    for b in pattern:
        assert dec.decode_terminate() == 0
        assert dec.decode_decision(ctx_d) == int(b)
    assert dec.decode_terminate() == 1
    assert dec.bit_pos == end


# ---------------------------------------------------------------------------------------
# Estimator
# ---------------------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(st.integers(0, 63), st.integers(0, 15), st.integers(-10, 80),
       st.lists(st.integers(0, 1), max_size=200))
def test_estimator_trajectory(init_value, shift_idx, qp, bins):
    ctx = ContextModel(init_value, shift_idx, qp)
    p0, p1 = ref_init(init_value, qp)
    assert (ctx.p0, ctx.p1) == (p0, p1)
    assert init_context_state(init_value, qp) == (p0, p1)
    assert ctx.p_state == p1 + 16 * p0
    for b in bins:
        ctx.update(b)
        p0, p1 = ref_update(p0, p1, shift_idx, b)
        assert (ctx.p0, ctx.p1) == (p0, p1)
        assert 0 <= p0 < 1024 and 0 <= p1 < 16384


@pytest.mark.parametrize("init_value,qp,pre", [
    (35, 32, 55),    # slopeIdx 4 (m = 0), offsetIdx 3: n = 55, independent of qp
    (35, 0, 55),
    (0, 0, 33),      # m = -4, n = 1: ((-4 * -16) >> 1) + 1
    (0, 63, 1),      # ((-4 * 47) >> 1) + 1 = -93 -> clipped to 1
    (63, 63, 127),   # ((3 * 47) >> 1) + 127 = 197 -> clipped to 127
    (7, 20, 119),    # m = -4, n = 127: ((-4 * 4) >> 1) + 127
    (20, 37, 52),    # m = -2, n = 73: ((-2 * 21) >> 1) + 73
    (45, 5, 85),     # m = 1, n = 91: ((1 * -11) >> 1) = -6 (floor) + 91
    (10, 100, 1),    # qp clipped to 63: m = -3, n = 37: -71 + 37 -> 1
    (10, -10, 61),   # qp clipped to 0: ((-3 * -16) >> 1) + 37
    (26, 16, 37),    # qp 16: the slope has no effect
])
def test_init_table_spot_checks(init_value, qp, pre):
    assert init_context_state(init_value, qp) == (pre << 3, pre << 7)
    ctx = ContextModel(init_value, 0, qp)
    assert (ctx.p0, ctx.p1) == (pre << 3, pre << 7)


def test_init_35_at_qp_32_state_and_first_lps():
    ctx = ContextModel(35, 5, 32)
    assert (ctx.p0, ctx.p1) == (440, 7040)
    assert ctx.p_state == 14080           # below 16384: valMps = 0
    assert (ctx.shift0, ctx.shift1) == (3, 7)
    assert ref_lps(510, ctx.p0, ctx.p1) == (0, ((15 * (14080 >> 9)) >> 1) + 4)   # 206
    ctx.update(1)
    assert (ctx.p0, ctx.p1) == (440 - 55 + 127, 7040 - 55 + 127)


@pytest.mark.parametrize("shift_idx,shifts", [(0, (2, 5)), (5, (3, 7)), (10, (4, 9)), (15, (5, 11)),
                                              (3, (2, 8)), (12, (5, 8))])
def test_shift_derivation(shift_idx, shifts):
    ctx = ContextModel(35, shift_idx, 32)
    assert (ctx.shift0, ctx.shift1) == shifts == ref_shifts(shift_idx)


def test_context_argument_checks():
    with pytest.raises(ValueError):
        ContextModel(64, 0, 32)
    with pytest.raises(ValueError):
        ContextModel(0, 16, 32)


# ---------------------------------------------------------------------------------------
# Compression efficiency
# ---------------------------------------------------------------------------------------
def entropy(p: float) -> float:
    return -(p * math.log2(p) + (1 - p) * math.log2(1 - p))


@pytest.mark.parametrize("p", [0.05, 0.1, 0.2, 0.35])
def test_skewed_source_costs_close_to_entropy(p):
    n = 100_000
    rnd = random.Random(int(p * 1000))
    bins = [int(rnd.random() < p) for _ in range(n)]
    bw = BitWriter()
    enc = ArithmeticEncoder(bw)
    ctx = ContextModel(35, 10, 32)   # shiftIdx 10: window shifts 4 and 9, as typical in VVC
    for b in bins:
        enc.encode_decision(ctx, b)
    enc.encode_terminate(1)
    bits = bw.bit_pos
    ideal = n * entropy(p)
    assert bits <= 1.03 * ideal, (bits, ideal)
    k = sum(bins)
    assert bits >= 0.99 * n * entropy(k / n)
    if p == 0.2:   # and the stream decodes
        while not bw.byte_aligned():
            bw.write_bit(0)
        dec = ArithmeticDecoder(BitReader(bw.getvalue()))
        ctx_d = ContextModel(35, 10, 32)
        assert [dec.decode_decision(ctx_d) for _ in range(n)] == bins
        assert dec.decode_terminate() == 1


def test_bypass_costs_one_bit_per_bin():
    n = 10_000
    rnd = random.Random(7)
    bins = [rnd.randrange(2) for _ in range(n)]
    bw = BitWriter()
    enc = ArithmeticEncoder(bw)
    for b in bins:
        enc.encode_bypass(b)
    enc.encode_terminate(1)
    assert n <= bw.bit_pos <= n + 12
    while not bw.byte_aligned():
        bw.write_bit(0)
    dec = ArithmeticDecoder(BitReader(bw.getvalue()))
    assert [dec.decode_bypass() for _ in range(n)] == bins
    assert dec.decode_terminate() == 1


# ---------------------------------------------------------------------------------------
# Decoder error behaviour
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("data", [b"\xff\x00", b"\xff\x80", b"\xff\xff\xff"])
def test_decoder_rejects_initial_offset_510_or_511(data):
    with pytest.raises(BitstreamError, match="ivlOffset"):
        ArithmeticDecoder(BitReader(data))


def test_decoder_init_on_short_data():
    with pytest.raises(BitstreamError, match="unexpected end of data"):
        ArithmeticDecoder(BitReader(b"\x00"))


@settings(max_examples=100)
@given(st.binary(min_size=2, max_size=24), st.lists(st.sampled_from(["dec", "byp", "term"]),
                                                     min_size=1, max_size=400))
def test_decoder_on_garbage_only_raises_bitstream_error(data, ops):
    try:
        dec = ArithmeticDecoder(BitReader(data))
        ctx = ContextModel(35, 5, 32)
        for op in ops:
            if op == "dec":
                assert dec.decode_decision(ctx) in (0, 1)
            elif op == "byp":
                assert dec.decode_bypass() in (0, 1)
            elif dec.decode_terminate():
                break
            assert dec.bit_pos <= 8 * len(data)
    except BitstreamError as exc:
        assert str(exc)


def _state_fields(o: object) -> object:
    """Every field of a parsing-state object, recursively, for comparison by value."""
    if hasattr(o, "__slots__") or hasattr(o, "__dict__"):
        names = getattr(o, "__slots__", None) or sorted(vars(o))
        return type(o).__name__, tuple((n, _state_fields(getattr(o, n))) for n in names)
    if isinstance(o, (list, tuple)):
        return tuple(_state_fields(x) for x in o)
    return o


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000))
def test_semantic_state_clone_is_an_independent_deep_copy(seed):
    """SemanticContextState.clone (what the encoder codes a unit on the side with, spec 9.3.1)
    copies every context, counter and list of a state that has adapted, like copy.deepcopy,
    and nothing it shares changes the original."""
    import copy

    from bitstream.cabac_contexts import SemanticContextState, default_element_init
    ids = [0, 1, 2, 7, 9, 14, 16, 40]
    state = SemanticContextState([default_element_init(i) for i in ids], 32, element_ids=ids)
    rng = random.Random(seed)
    models = [*state.skip, *(m for e in state.elements for m in e.all()),
              *(m for rows in (state.compact.group_flag, state.compact.sig, state.compact.par,
                               state.compact.gt3) for row in rows for m in row),
              state.compact.frame_idx_delta_flag, state.compact.num_frames_pred_flag]
    for m in models:
        for _ in range(rng.randrange(6)):
            m.update(rng.randrange(2))
    state.prev_skip, state.prev_res[2], state.elements[1].rice_stat = 1, -3, 9
    state.compact.last_abs[3], state.compact.last_sign[3], state.compact.prev_group[1] = 2, 2, 1
    state.compact.prev_num_frames = 5
    before = _state_fields(state)
    twin = state.clone()
    assert _state_fields(twin) == before == _state_fields(copy.deepcopy(state))
    for m in [*twin.skip, *(m for e in twin.elements for m in e.all()), *twin.compact.sig[0],
              twin.compact.num_frames_pred_flag]:
        m.update(1 - (m.p0 >> 9))
    twin.prev_res[0] = 7
    twin.compact.last_abs[0] = twin.compact.prev_group[0] = 4
    twin.elements[0].rice_stat = 3
    assert _state_fields(state) == before != _state_fields(twin)
