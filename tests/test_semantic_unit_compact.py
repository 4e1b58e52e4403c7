"""Semantic-unit syntax 2 of the Compact profile (bitstream/semantic_unit_compact.py, spec 1.2
draft 7.3.5a): every syntax path round-trips through the stream writer and parser (CABAC and
Exp-Golomb, frame counts predicted or coded, frame index deltas, element groups and inferred
flags, carry on and off, key-frame refresh), the shortest arithmetic-coder flush decodes with
zero bits read past it, the encoder's rate estimate agrees with the bits written, RDOQ with
syntax 2 never costs more than rounding, Main-profile streams are unchanged, and a payload
with data after the arithmetic-coded data is rejected."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bitstream.bitio import BitWriter, ZeroPaddedBitReader
from bitstream.cabac_engine import ArithmeticDecoder, ArithmeticEncoder, ContextModel
from bitstream.errors import BitstreamError
from bitstream.profiles import PROFILE_COMPACT, PROFILE_MAIN
from bitstream.semantic_unit_compact import GROUP_EYES, GROUP_HEAD, GROUP_MOUTH, group_layout
from bitstream.stream import ParsedSemanticUnit, StreamParser, StreamWriter
from bitstream.structures import (ENTROPY_CABAC, ENTROPY_EXP_GOLOMB, SemanticUnit, SequenceHeader,
                                  code_semantic_unit)
from bitstream.syntax_coder import SyntaxReader, SyntaxWriter
from bitstream.units import UnitType, frame_unit, iter_units
from conformance.synthetic_semantics import (baseline_header, code_trajectories, demo_keyframe,
                                             synthetic_trajectories)
from ref_encoder.rate_estimation import SemanticRateModel
from ref_encoder.semantic_rdoq import ClosedLoopChooser, SemanticQuantiser, lambda_for_qp

MODES = (ENTROPY_EXP_GOLOMB, ENTROPY_CABAC)
PROPERTY = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _compact_header(mode: int, frames: int, ids: list[int] | None = None, **kw: int) -> SequenceHeader:
    sh = baseline_header(mode, frames)
    sh.sh_profile_idc = PROFILE_COMPACT
    if ids is not None:
        from bitstream.semantic_elements import ELEMENT_BY_ID
        sh.sh_sem_element_id = list(ids)
        sh.sh_sem_precision = [ELEMENT_BY_ID[e].default_precision for e in ids]
    for k, v in kw.items():
        setattr(sh, k, v)
    return sh


def _write(sh: SequenceHeader, levels: list[list[int]], cuts: list[int], deltas: list[int],
           refresh: set[int]) -> bytes:
    """levels[0] is a key frame; the others go into units of the sizes in cuts (cycled), each
    after deltas[k] inferred frames; a key frame again before every unit index in refresh."""
    w = StreamWriter(sh)
    w.keyframe(demo_keyframe(), levels[0])
    pos, k = 1, 0
    while pos < len(levels):
        size = cuts[k % len(cuts)]
        if k in refresh:
            w.keyframe(demo_keyframe(), levels[pos - 1])
        w.semantic_unit(levels[pos:pos + size], frame_idx_delta=deltas[k % len(deltas)])
        pos += size
        k += 1
    return w.getvalue()


def _decoded(data: bytes) -> list[list[int]]:
    """Levels of the carried (not inferred) semantic frames."""
    out = []
    for unit in StreamParser().parse(data):
        if isinstance(unit, ParsedSemanticUnit):
            out += [f.levels for f in unit.frames if not f.inferred]
    return out


def _moves(seed: int, n: int, ids: list[int], precisions: list[int], still: float,
           groups_only: float) -> list[list[int]]:
    """Levels that move element groups separately: some frames still, some change one group."""
    rng = np.random.default_rng(seed)
    layout_groups = {GROUP_HEAD: range(0, 7), GROUP_EYES: (7, 8), GROUP_MOUTH: range(9, 14)}
    values = synthetic_trajectories(n, seed=seed)
    from bitstream.semantic_elements import ELEMENT_BY_ID
    levels = [[int(round(values[0][e] * (1 << p))) for e, p in zip(ids, precisions)]]
    for t in range(1, n):
        row = list(levels[-1])
        r = rng.random()
        if r >= still:
            move = [e for e in ids]
            if rng.random() < groups_only:
                g = int(rng.integers(0, 3))
                move = [e for e in ids if e in layout_groups[g]]
            for e in move:
                i = ids.index(e)
                el = ELEMENT_BY_ID[e]
                lo, hi = el.level_range(precisions[i])
                step = int(rng.choice([-40, -3, -2, -1, 0, 0, 1, 2, 3, 40]))
                row[i] = min(max(row[i] + step, lo), hi)
        levels.append(row)
    return levels


ID_SETS = (list(range(14)), [7, 8], [9, 10, 11], [0, 7, 9], [13, 3, 8, 1])


@PROPERTY
@given(seed=st.integers(0, 10_000), n=st.integers(2, 30), mode=st.sampled_from(MODES),
       ids=st.sampled_from(ID_SETS), still=st.floats(0, 0.9), groups_only=st.floats(0, 1),
       cuts=st.lists(st.integers(1, 16), min_size=1, max_size=4),
       deltas=st.lists(st.sampled_from([0, 0, 0, 1, 7]), min_size=1, max_size=3),
       carry=st.integers(0, 1), refresh=st.sets(st.integers(1, 6), max_size=2))
def test_round_trip_every_path(seed: int, n: int, mode: int, ids: list[int], still: float,
                               groups_only: float, cuts: list[int], deltas: list[int], carry: int,
                               refresh: set[int]) -> None:
    """Writer then parser give back the levels, whatever the units, gaps, groups and state."""
    sh = _compact_header(mode, 0, ids, sh_cabac_context_carry_flag=carry)
    levels = _moves(seed, n, ids, sh.sh_sem_precision, still, groups_only)
    data = _write(sh, levels, cuts, deltas, refresh)
    assert _decoded(data) == levels[1:]


def test_trace_names_the_new_elements() -> None:
    """Writer and parser trace the same syntax-2 elements, values and order."""
    for mode in MODES:
        sh = _compact_header(mode, 0)
        levels = _moves(5, 30, list(range(14)), sh.sh_sem_precision, 0.3, 0.6)
        wt: list = []
        w = StreamWriter(sh, trace=wt)
        w.keyframe(demo_keyframe(), levels[0])
        for s in (1, 9, 17, 25):
            w.semantic_unit(levels[s:s + 8], frame_idx_delta=1 if s == 17 else 0)
        pt: list = []
        list(StreamParser(trace=pt).parse(w.getvalue()))
        assert [(t.name, t.value) for t in wt] == [(t.name, t.value) for t in pt]
        names = {t.name.split("[")[0] for t in pt}
        assert "sf_group_flag" in names
        if mode == ENTROPY_CABAC:
            assert {"su_frame_idx_delta_flag", "su_num_frames_pred_flag", "su_num_frames_minus1",
                    "su_frame_idx_delta_minus1", "sem_res_par_flag", "sem_res_gt3_flag",
                    "sem_res_abs_rem"} <= names
            assert not {"sem_res_gt2_flag", "sem_res_abs_minus3"} & names     # syntax 1's bins
        else:
            assert "su_num_frames_minus1" not in names


@PROPERTY
@given(bins=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 1)), min_size=0, max_size=200),
       init=st.integers(0, 63))
def test_shortest_flush_decodes_with_zero_padding(bins: list[tuple[int, int]], init: int) -> None:
    """Context-coded (kind 0, 1) and bypass (kind 2) bins, then flush_minimal: a decoder that
    reads zeros past the written bits decodes every bin; the flush writes at most 2 bits beyond
    the outstanding ones."""
    bw = BitWriter()
    enc = ArithmeticEncoder(bw)
    ctx_e = [ContextModel(init, 5, 32), ContextModel(63 - init, 2, 32)]
    for kind, b in bins:
        if kind == 2:
            enc.encode_bypass(b)
        else:
            enc.encode_decision(ctx_e[kind], b)
    assert enc.flush_minimal() <= 2
    while not bw.byte_aligned():
        bw.write_bit(0)
    data = bw.getvalue()
    dec = ArithmeticDecoder(ZeroPaddedBitReader(data))
    ctx_d = [ContextModel(init, 5, 32), ContextModel(63 - init, 2, 32)]
    got = [dec.decode_bypass() if kind == 2 else dec.decode_decision(ctx_d[kind]) for kind, _ in bins]
    assert got == [b for _, b in bins]


def _unit_payloads(data: bytes) -> list[bytes]:
    return [u.payload for u in iter_units(data) if u.unit_type == UnitType.SEMANTIC]


@pytest.mark.parametrize("mode", MODES)
def test_estimated_bits_agree_with_written_bits(mode: int) -> None:
    """The rate model's bits of each frame (what RDOQ prices), summed over a unit, match the
    unit's payload: exactly in Exp-Golomb mode (plus su_frame_idx_delta, the stop bit and the
    alignment), within the unit framing, flush and arithmetic coder's overhead in CABAC mode."""
    sh = _compact_header(mode, 0)
    levels = _moves(11, 81, list(range(14)), sh.sh_sem_precision, 0.3, 0.5)
    w = StreamWriter(sh)
    w.keyframe(demo_keyframe(), levels[0])
    estimates = []
    for s in range(1, 81, 8):
        rate = SemanticRateModel(sh, w.state.carry.trial_state())
        prev = w.state.prev_levels
        est = 0.0
        for lv in levels[s:s + 8]:
            est += rate.commit([a - b for a, b in zip(lv, prev)])
            prev = lv
        estimates.append(est)
        w.semantic_unit(levels[s:s + 8])
    total_est = total_real = 0.0
    for k, (est, payload) in enumerate(zip(estimates, _unit_payloads(w.getvalue()))):
        bits = 8 * len(payload)
        if mode == ENTROPY_EXP_GOLOMB:
            assert est + 2 <= bits < est + 2 + 8      # ue(0) and unit_stop_one_bit, then alignment
        else:
            # framing flags (about 0.3 bits; the first unit after initialisation codes its frame
            # count, EG0 of 7: 7 bits), flush (at most 2 bits), alignment (under 8); the engine's
            # cost of a bin depends on the range when it is coded, which the estimate averages
            # (a skewed trained context's LPS costs 6 to 7 bits): a few bits either way a unit
            assert est - 3 <= bits <= est + 12 + (7 if k == 0 else 0)
        total_est += est
        total_real += bits
    assert abs(total_real - total_est) / total_real < 0.12


@pytest.mark.parametrize("mode", MODES)
def test_rdoq_never_costs_more_than_rounding(mode: int) -> None:
    """With syntax 2's rate model (groups, neighbour contexts), each frame's J is at most
    rounding's J from the same state, and the stream decodes to the chosen levels."""
    values = synthetic_trajectories(60, seed=4)
    values[20:35] = values[20]
    sh = _compact_header(mode, len(values))
    q = SemanticQuantiser(sh, lambda_for_qp(42), max_level_error=2.0)
    chooser = ClosedLoopChooser(q)
    w = StreamWriter(sh)
    chosen = [q.round_levels(values[0])]
    w.keyframe(demo_keyframe(), chosen[0])
    pending: list[list[int]] = []
    skipped = 0
    for v in values[1:]:
        prev = pending[-1] if pending else w.state.prev_levels
        rate = SemanticRateModel(sh, chooser.rate.ctx if pending and chooser.rate else w.state.carry.trial_state())
        j_round = q.cost(v, q.round_levels(v), prev, rate)[0]
        decision = q.choose(v, prev, rate)
        assert q.cost(v, decision.levels, prev, rate)[0] <= j_round + 1e-9
        decision, _ = chooser.next_frame(v, w, pending)
        skipped += decision.levels == prev
        pending.append(decision.levels)
        chosen.append(decision.levels)
        if len(pending) == 8:
            w.semantic_unit(pending)
            pending = []
    if pending:
        w.semantic_unit(pending)
    assert _decoded(w.getvalue()) == chosen[1:]
    assert skipped >= 14          # the still stretch codes skipped frames


def test_main_profile_streams_unchanged() -> None:
    """The Main profile still codes syntax 1: the same bytes as conformance.synthetic_semantics
    (the suite's reference path), and different bytes from the Compact profile's syntax 2."""
    values = synthetic_trajectories(40, seed=2)
    for mode in MODES:
        main, _, levels = code_trajectories(values, mode, 8, with_hash=False)
        sh = baseline_header(mode, len(values))
        assert sh.sh_profile_idc == PROFILE_MAIN
        w = StreamWriter(sh)
        w.keyframe(demo_keyframe(), levels[0])
        for s in range(1, len(levels), 8):
            w.semantic_unit(levels[s:s + 8])
        w.end_of_sequence()
        assert w.getvalue() == main
        compact = _write(_compact_header(mode, len(values)), levels, [8], [0], set())
        assert _unit_payloads(compact) != _unit_payloads(main)


def test_group_layout_of_table_3a() -> None:
    """The groups of the baseline set, and each element's preceding element in its group."""
    layout = group_layout(_compact_header(ENTROPY_CABAC, 0))
    assert layout.groups == [GROUP_HEAD, GROUP_EYES, GROUP_MOUTH]
    assert layout.members[GROUP_EYES] == [7, 8]
    assert layout.prev_in_group[0] == -1 and layout.prev_in_group[6] == 5 and layout.prev_in_group[7] == -1
    mixed = group_layout(_compact_header(ENTROPY_CABAC, 0, [13, 3, 8, 1]))
    assert mixed.groups == [GROUP_HEAD, GROUP_EYES, GROUP_MOUTH]
    assert mixed.prev_in_group == [-1, -1, -1, 1]


@pytest.mark.parametrize("mode", MODES)
def test_data_after_the_unit_is_an_error(mode: int) -> None:
    """7.4.4a: in CABAC mode nothing may follow the byte holding the last bit the arithmetic
    decoder read; in Exp-Golomb mode extra data is parsed as frames and fails, or leaves bits."""
    sh = _compact_header(mode, 0)
    levels = _moves(3, 9, list(range(14)), sh.sh_sem_precision, 0.5, 0.5)
    frames_levels = levels[1:]
    w = StreamWriter(sh)
    w.keyframe(demo_keyframe(), levels[0])
    w.semantic_unit(frames_levels)
    payload = _unit_payloads(w.getvalue())[0]
    bad = payload + b"\x80\x00\x00\x01"
    with pytest.raises(BitstreamError):
        reader_ctx = sh.new_context_state() if mode == ENTROPY_CABAC else None
        su = code_semantic_unit(SyntaxReader(bad), SemanticUnit(), sh, reader_ctx)
        if mode == ENTROPY_EXP_GOLOMB and len(su.frames) == len(frames_levels):
            raise AssertionError("extra data went unnoticed")


def test_empty_looking_unit_keeps_one_byte() -> None:
    """A CABAC unit of one skipped frame right after initialisation: the flush may leave no
    bit, and the payload still has one byte (7.4.1)."""
    sh = _compact_header(ENTROPY_CABAC, 0)
    c = SyntaxWriter()
    su = SemanticUnit(0, [])
    from bitstream.structures import SemanticFrame
    su.frames = [SemanticFrame(1, [0] * 14)]
    code_semantic_unit(c, su, sh, sh.new_context_state())
    payload = c.getvalue()
    assert len(payload) >= 1
    back = code_semantic_unit(SyntaxReader(payload), SemanticUnit(), sh, sh.new_context_state())
    assert [f.sf_skip_flag for f in back.frames] == [1]
    assert len(frame_unit(UnitType.SEMANTIC, payload)) <= 3


def test_encoder_defaults_per_profile() -> None:
    """Lambda stops growing at LAMBDA_MAX_QP (QP 52 uses QP 47's), the Compact profile's default
    error bound is 3 levels and Main's stays 2 (its streams unchanged)."""
    from ref_encoder.semantic_rdoq import (DEFAULT_MAX_LEVEL_ERROR, LAMBDA_MAX_QP, default_max_level_error)
    assert lambda_for_qp(52) == lambda_for_qp(LAMBDA_MAX_QP) < 2 * lambda_for_qp(LAMBDA_MAX_QP - 1)
    assert lambda_for_qp(45) == 2 * lambda_for_qp(42)
    assert default_max_level_error(PROFILE_MAIN) == DEFAULT_MAX_LEVEL_ERROR == 2.0
    assert default_max_level_error(PROFILE_COMPACT) == 3.0


@pytest.mark.parametrize("mode", MODES)
def test_frame_count_checked_while_parsing(mode: int) -> None:
    """A unit with more frames than the level allows is rejected when its frame count is known:
    the zero padding of 9.3.6.1 would otherwise let a few bytes claim 65536 frames."""
    sh = _compact_header(mode, 0)
    from bitstream.structures import SemanticFrame
    su = SemanticUnit(0, [SemanticFrame(1, [0] * 14) for _ in range(17)])
    c = SyntaxWriter()
    code_semantic_unit(c, su, sh, sh.new_context_state() if mode == ENTROPY_CABAC else None)
    with pytest.raises(BitstreamError, match="exceed level limit 16"):
        code_semantic_unit(SyntaxReader(c.getvalue()), SemanticUnit(), sh,
                           sh.new_context_state() if mode == ENTROPY_CABAC else None)


@PROPERTY
@given(seed=st.integers(0, 10_000), n=st.integers(2, 40), element=st.sampled_from([0, 3, 7, 9, 13]),
       explicit=st.booleans(), carry=st.integers(0, 1))
def test_every_magnitude_round_trips_through_parity_binarization(seed: int, n: int, element: int,
                                                                 explicit: bool, carry: int) -> None:
    """CABAC residuals of syntax 2 (7.3.5a, 7.4.4a): any residual in -ResMax..ResMax (both ends
    included) round-trips, and the traced bins rebuild it as 1 + gt1 + par + 2 * (gt3 + rem),
    with the trained tables (Table 10b) or explicit initial values (j = 2, 3, 6..8)."""
    from bitstream.structures import residual_bound, with_explicit_init
    sh = _compact_header(ENTROPY_CABAC, 0, [element], sh_cabac_context_carry_flag=carry)
    if explicit:
        with_explicit_init(sh)
    lo, hi = sh.level_bounds(0)
    bound = residual_bound(sh, 0)
    rng = np.random.default_rng(seed)
    levels = [[lo]]
    for _ in range(n):
        prev = levels[-1][0]
        pick = rng.choice([lo, hi, prev, prev + 2, prev - 3, prev + 4, prev - 5, int(rng.integers(lo, hi + 1))])
        levels.append([int(min(max(pick, lo), hi))])
    levels.append([hi])                   # the largest residual: ResMax
    wt: list = []
    w = StreamWriter(sh, trace=wt)
    w.keyframe(demo_keyframe(), levels[0])
    for s in range(1, len(levels), 8):
        w.semantic_unit(levels[s:s + 8])
    assert _decoded(w.getvalue()) == levels[1:]
    assert levels[-1][0] - levels[-2][0] <= bound
    bins: dict[tuple[int, str], dict[str, int]] = {}     # per (unit, "[f][i]"), in order
    unit = -1
    for t in wt:
        name, _, idx = t.name.partition("[")
        unit += name == "su_frame_idx_delta_flag"
        if name.startswith("sem_res_"):
            bins.setdefault((unit, idx), {})[name] = t.value
    res = [b[0] - a[0] for a, b in zip(levels[:-1], levels[1:])]
    got = []
    for f_idx, b in bins.items():
        if not b.get("sem_res_sig_flag", 1):
            continue
        a = 1 + b.get("sem_res_gt1_flag", 0) + b.get("sem_res_par_flag", 0) + 2 * (
            b.get("sem_res_gt3_flag", 0) + b.get("sem_res_abs_rem", 0))
        got.append(-a if b["sem_res_sign_flag"] else a)
    assert got == [r for r in res if r != 0]
