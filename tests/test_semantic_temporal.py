"""Temporal resolution of the semantics (bitstream/semantic_temporal.py; spec 1.2 draft 7.2a,
7.3.3, 7.3.5a, 7.3.8, 8.3.4): the integer interpolation against an exact rational reference,
anchors, the header fields in both forms, and streams with sub-sampled groups that the writer
writes and the parser reads back to the same levels (CABAC and Exp-Golomb, every period, unit
sizes off the period, frames that code nothing, gaps, key frames, carry on and off)."""
from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import pytest
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bitstream.errors import BitstreamError
from bitstream.profiles import PROFILE_COMPACT, PROFILE_MAIN
from bitstream.semantic_groups import GROUP_EYES, GROUP_HEAD, GROUP_MOUTH, GROUP_OTHER, NUM_SEM_GROUPS, group_list
from bitstream.semantic_temporal import (frame_group_list, interpolate_level, interpolate_unit,
                                         is_anchor, sem_periods, unit_levels)
from bitstream.stream import StreamParser, StreamWriter
from bitstream.structures import (ENTROPY_CABAC, ENTROPY_EXP_GOLOMB, SequenceHeader,
                                  code_compact_sequence_header, code_sequence_header)
from bitstream.syntax_coder import SyntaxReader, SyntaxWriter
from bitstream.trace import TraceEntry
from conformance.synthetic_semantics import baseline_header, demo_keyframe, synthetic_trajectories
from tests.test_semantic_unit_compact import _decoded   # levels of the carried frames

MODES = (ENTROPY_EXP_GOLOMB, ENTROPY_CABAC)
PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _header(mode: int, periods: dict[int, int], ids: list[int] | None = None, **kw: int) -> SequenceHeader:
    sh = baseline_header(mode, 0)
    sh.sh_profile_idc = PROFILE_COMPACT
    if ids is not None:
        from bitstream.semantic_elements import ELEMENT_BY_ID
        sh.sh_sem_element_id = list(ids)
        sh.sh_sem_precision = [ELEMENT_BY_ID[e].default_precision for e in ids]
    minus1 = [0] * NUM_SEM_GROUPS
    for g, p in periods.items():
        if g in group_list(sh.sh_sem_element_id) or g == GROUP_OTHER:   # (other: the refusal test)
            minus1[g] = p - 1
    sh.sh_sem_temporal_flag = int(any(minus1))
    sh.sh_sem_group_period_minus1 = minus1
    for k, v in kw.items():
        setattr(sh, k, v)
    return sh


# -- the interpolation rule ------------------------------------------------------------------
@given(a=st.integers(-3000, 3000), b=st.integers(-3000, 3000), d=st.integers(2, 64), data=st.data())
def test_interpolation_is_the_nearest_level_halves_away_from_a(a: int, b: int, d: int, data: st.DataObject) -> None:
    k = data.draw(st.integers(1, d - 1))
    exact = a + Fraction(k * (b - a), d)
    got = interpolate_level(a, b, k, d)
    assert abs(got - exact) <= Fraction(1, 2)
    if abs(got - exact) == Fraction(1, 2):            # a tie: away from a
        assert abs(got - a) > abs(exact - a)
    assert min(a, b) <= got <= max(a, b)
    assert interpolate_level(-a, -b, k, d) == -got     # odd symmetry


def test_interpolation_examples() -> None:
    assert [interpolate_level(0, 3, k, 3) for k in (1, 2)] == [1, 2]
    assert [interpolate_level(0, 1, k, 3) for k in (1, 2)] == [0, 1]      # 1/3 -> 0, 2/3 -> 1
    assert interpolate_level(0, 1, 1, 2) == 1 and interpolate_level(0, -1, 1, 2) == -1   # halves away from a
    assert interpolate_level(5, 5, 1, 4) == 5
    with pytest.raises(ValueError):
        interpolate_level(0, 1, 0, 2)


def test_anchors_and_frame_group_lists() -> None:
    assert [is_anchor(f, 8, 3) for f in range(8)] == [False, False, True, False, False, True, False, True]
    assert [is_anchor(f, 1, 4) for f in range(1)] == [True]
    periods = [3, 1, 2, 1]
    groups = [GROUP_HEAD, GROUP_EYES, GROUP_MOUTH]
    assert [frame_group_list(groups, periods, f, 5) for f in range(5)] == [
        [GROUP_EYES], [GROUP_EYES, GROUP_MOUTH], [GROUP_HEAD, GROUP_EYES], [GROUP_EYES, GROUP_MOUTH],
        [GROUP_HEAD, GROUP_EYES, GROUP_MOUTH]]
    assert frame_group_list([GROUP_HEAD], [2, 1, 1, 1], 0, 4) == []       # a frame that codes nothing


def test_unit_levels_interpolates_between_anchors_and_keeps_prev_level() -> None:
    sh = _header(ENTROPY_CABAC, {GROUP_HEAD: 3}, ids=[0, 7])
    prev = [10, 4]
    res = [[0, 1], [0, 1], [6, 1], [0, 0], [-3, 0]]       # head anchors at f = 2 and 4 (the last)
    levels = unit_levels(sh, prev, res)
    assert [lv[0] for lv in levels] == [12, 14, 16, 14, 13]   # 10 -> 16 over 3; 16 -> 13 over 2: 14.5 -> 14 (away from 16)
    assert [lv[1] for lv in levels] == [5, 6, 7, 7, 7]


# -- the sequence header ---------------------------------------------------------------------
@pytest.mark.parametrize("compact_form", [0, 1])
@pytest.mark.parametrize("periods", [{}, {GROUP_HEAD: 3}, {GROUP_HEAD: 4, GROUP_EYES: 2, GROUP_MOUTH: 3}])
def test_header_fields_round_trip(compact_form: int, periods: dict[int, int]) -> None:
    sh = _header(ENTROPY_CABAC, periods, compact_form=compact_form)
    code = code_compact_sequence_header if compact_form else code_sequence_header
    trace: list[TraceEntry] = []
    w = SyntaxWriter(trace)
    code(w, replace(sh))
    back = code(SyntaxReader(w.getvalue()), SequenceHeader())
    assert (back.sh_sem_temporal_flag, back.sh_sem_group_period_minus1) == (
        sh.sh_sem_temporal_flag, sh.sh_sem_group_period_minus1)
    names = [t.name for t in trace]
    assert "sh_sem_temporal_flag" in names
    assert sum(n.startswith("sh_sem_group_period_minus1") for n in names) == (3 if periods else 0)


def test_header_rejects_periods_it_cannot_code() -> None:
    w = SyntaxWriter()
    with pytest.raises(ValueError, match="GroupList"):      # the other group is not signalled
        code_sequence_header(w, _header(ENTROPY_CABAC, {GROUP_OTHER: 2}))
    main = _header(ENTROPY_CABAC, {GROUP_HEAD: 2}, sh_profile_idc=PROFILE_MAIN)
    with pytest.raises(ValueError, match="Compact profile"):
        code_sequence_header(SyntaxWriter(), main)


def test_main_profile_header_has_no_temporal_fields() -> None:
    sh = baseline_header(ENTROPY_CABAC, 0)
    trace: list[TraceEntry] = []
    code_sequence_header(SyntaxWriter(trace), sh)
    assert not any(t.name.startswith("sh_sem_") and "temporal" in t.name for t in trace)
    assert sem_periods(sh) == [1] * NUM_SEM_GROUPS


# -- streams -----------------------------------------------------------------------------------
def _trajectory(n: int, seed: int, sh: SequenceHeader) -> list[list[int]]:
    values = synthetic_trajectories(n, seed=seed)
    out = []
    for row in values:
        levels = []
        for i, (e, p) in enumerate(zip(sh.sh_sem_element_id, sh.sh_sem_precision)):
            lo, hi = sh.level_bounds(i)
            levels.append(min(max(int(round(row[e] * (1 << p))), lo), hi))
        out.append(levels)
    return out


def _write(sh: SequenceHeader, wanted: list[list[int]], cuts: list[int], deltas: list[int],
           refresh: set[int]) -> tuple[bytes, list[list[int]]]:
    """wanted[0] is a key frame; the others go into units of the sizes in cuts (cycled); every
    unit's frames between anchors get the interpolated levels. Returns the stream and the levels
    the writer was given (which a decoder must give back)."""
    w = StreamWriter(sh)
    w.keyframe(demo_keyframe(), wanted[0])
    written: list[list[int]] = []
    pos, k = 1, 0
    while pos < len(wanted):
        size = cuts[k % len(cuts)]
        if k in refresh:
            w.keyframe(demo_keyframe(), written[-1] if written else wanted[0])
        prev = w.state.prev_levels
        assert prev is not None
        unit = interpolate_unit(sh, prev, wanted[pos:pos + size])
        w.semantic_unit(unit, frame_idx_delta=deltas[k % len(deltas)])
        written += unit
        pos += size
        k += 1
    return w.getvalue(), written


PERIOD_SETS = ({GROUP_HEAD: 3}, {GROUP_HEAD: 2}, {GROUP_HEAD: 3, GROUP_MOUTH: 3},
               {GROUP_HEAD: 4, GROUP_EYES: 2, GROUP_MOUTH: 3}, {GROUP_HEAD: 2, GROUP_EYES: 2, GROUP_MOUTH: 2},
               {GROUP_MOUTH: 4})
ID_SETS = (None, [0, 7], [9, 10, 11], [0, 3, 7, 9, 13], [13, 3, 8, 1])


@PROPERTY
@given(seed=st.integers(0, 10_000), n=st.integers(2, 40), mode=st.sampled_from(MODES),
       periods=st.sampled_from(PERIOD_SETS), ids=st.sampled_from(ID_SETS),
       cuts=st.lists(st.integers(1, 12), min_size=1, max_size=4),
       deltas=st.lists(st.sampled_from([0, 0, 0, 1, 5]), min_size=1, max_size=3),
       carry=st.integers(0, 1), refresh=st.sets(st.integers(1, 6), max_size=2))
def test_streams_round_trip(seed: int, n: int, mode: int, periods: dict[int, int], ids: list[int] | None,
                            cuts: list[int], deltas: list[int], carry: int, refresh: set[int]) -> None:
    sh = _header(mode, periods, ids, sh_cabac_context_carry_flag=carry)
    data, written = _write(sh, _trajectory(n, seed, sh), cuts, deltas, refresh)
    assert _decoded(data) == written


@pytest.mark.parametrize("mode", MODES)
def test_subsampled_head_costs_fewer_bits_and_codes_nothing_in_some_frames(mode: int) -> None:
    """Only the head signalled, period 2, units of 8 frames: frames 0, 2, 4, 6 code nothing."""
    n = 97
    full = _header(mode, {}, ids=[0, 1, 2, 3, 4, 5])
    sub = _header(mode, {GROUP_HEAD: 2}, ids=[0, 1, 2, 3, 4, 5])
    wanted = _trajectory(n, 3, full)
    data_full, _ = _write(full, wanted, [8], [0], set())
    data_sub, written = _write(sub, wanted, [8], [0], set())
    assert _decoded(data_sub) == written
    assert len(data_sub) < len(data_full)
    trace: list[TraceEntry] = []
    list(StreamParser(trace=trace).parse(data_sub))
    skips = [t.name for t in trace if t.name.startswith("sf_skip_flag")]
    assert len(skips) == 4 * 12                       # 12 units of 8 frames, anchors 1, 3, 5, 7
    if mode == ENTROPY_EXP_GOLOMB:
        assert sum(t.name == "su_num_frames_minus1" for t in trace) == 12


def test_writer_refuses_levels_that_are_not_interpolated() -> None:
    sh = _header(ENTROPY_CABAC, {GROUP_HEAD: 3}, ids=[0, 7])
    w = StreamWriter(sh)
    w.keyframe(demo_keyframe(), [0, 0])
    with pytest.raises(BitstreamError, match="interpolated level"):
        w.semantic_unit([[5, 0], [0, 0], [6, 0]])
    w.semantic_unit([[2, 0], [4, 0], [6, 0]])           # 0 -> 6 over 3 frames
    assert _decoded(w.getvalue() + b"")[-1] == [6, 0]


def test_anchor_level_out_of_range_is_an_error_naming_the_frame() -> None:
    sh = _header(ENTROPY_EXP_GOLOMB, {GROUP_HEAD: 2}, ids=[0])
    lo, hi = sh.level_bounds(0)
    with pytest.raises(BitstreamError, match=r"frame 3 is outside"):
        unit_levels(sh, [hi], [[0], [1]], first_frame_idx=2)


# -- head_loc: a cell index, derived between anchors ------------------------------------------
@given(ltx=st.integers(-4000, 4000), lty=st.integers(-4000, 4000), ptx=st.integers(0, 10), pty=st.integers(0, 10))
def test_integer_head_loc_cell_equals_the_cell_of_the_values(ltx: int, lty: int, ptx: int, pty: int) -> None:
    from bitstream.head_location import head_loc_cell, head_loc_cell_from_levels
    assert head_loc_cell_from_levels(ltx, ptx, lty, pty) == head_loc_cell(ltx / (1 << ptx), lty / (1 << pty))


def test_head_loc_between_anchors_is_derived_or_held() -> None:
    from bitstream.head_location import head_loc_cell_from_levels
    ids = [3, 4, 6]                                   # head_tx, head_ty, head_loc
    sh = _header(ENTROPY_CABAC, {GROUP_HEAD: 3}, ids=ids)
    p = sh.sh_sem_precision
    prev = [0, 0, head_loc_cell_from_levels(0, p[0], 0, p[1])]
    far = 1 << p[0]                                   # head_tx 1.0: the rightmost column
    res = [[0, 0, 0], [0, 0, 0], [far, 0, head_loc_cell_from_levels(far, p[0], 0, p[1]) - prev[2]]]
    levels = unit_levels(sh, prev, res)
    for lv in levels:
        assert lv[2] == head_loc_cell_from_levels(lv[0], p[0], lv[1], p[1])
    assert levels[0][2] != prev[2]                     # moved with the interpolated head_tx, not held
    held = _header(ENTROPY_CABAC, {GROUP_HEAD: 3}, ids=[0, 6])   # no head_tx / head_ty: held
    assert [lv[1] for lv in unit_levels(held, [0, 5], [[0, 0], [0, 0], [3, 9]])] == [5, 5, 14]


@pytest.mark.parametrize("mode", MODES)
def test_rate_study_prices_the_adopted_syntax(mode: int) -> None:
    """tools.rdoq_study's head-period rows: head levels between anchors interpolated as a
    decoder does, and fewer head bits than every frame coded."""
    from bitstream.profiles import PROFILE_COMPACT
    from ref_encoder.semantic_rdoq import lambda_for_qp
    from tools import rdoq_study
    values = synthetic_trajectories(30, seed=4)
    plain = rdoq_study.code_clip(values, mode, 8, lambda_for_qp(42), None, PROFILE_COMPACT)
    sub = rdoq_study.code_clip(values, mode, 8, lambda_for_qp(42), None, PROFILE_COMPACT, head_period=3)
    assert sub["per_element"][1:7].sum() < plain["per_element"][1:7].sum()   # type: ignore[index]
    head = [e for e in range(7)]
    levels = np.array(sub["levels"])
    # head frames between anchors (unit positions 0, 1, 3, 4, 6) are interpolated, not chosen
    for start in range(1, 30, 8):
        for f in range(min(8, 30 - start)):
            n = min(8, 30 - start)
            if not is_anchor(f, n, 3):
                prev_anchor = start + f - 1
                while prev_anchor >= start and not is_anchor(prev_anchor - start, n, 3):
                    prev_anchor -= 1
                nxt = start + f + 1
                while not is_anchor(nxt - start, n, 3):
                    nxt += 1
                for i in head[:6]:
                    a = levels[prev_anchor if prev_anchor >= start else start - 1, i]
                    assert levels[start + f, i] == interpolate_level(int(a), int(levels[nxt, i]),
                                                                     start + f - max(prev_anchor, start - 1), nxt - max(prev_anchor, start - 1))
    assert sub["frames"] == plain["frames"] == 29
