"""The decoder rules and the bit accounting of the temporal-resolution study
(tools/temporal_resolution_study.py): anchors, hold, integer linear interpolation, and the
simulated syntax of the proposal (decodable, and identical to the real writer when no group is
left out)."""
from __future__ import annotations

import copy
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitstream.semantic_unit_compact import GROUP_EYES, GROUP_HEAD, GROUP_MOUTH, group_layout
from bitstream.stream import StreamWriter
from bitstream.syntax_coder import SyntaxReader
from bitstream.units import UnitType, iter_units
from conformance.synthetic_semantics import demo_keyframe
from ref_encoder.semantic_rdoq import lambda_for_qp
from tools import temporal_resolution_study as trs

levels = st.integers(-200, 200)


def _round_half_away(x: Fraction) -> int:
    q = int(abs(x) + Fraction(1, 2))      # floor(|x| + 1/2)
    return q if x >= 0 else -q


@settings(max_examples=300, derandomize=True, deadline=None)
@given(a=levels, b=levels, d=st.integers(2, 9), data=st.data())
def test_interpolate_level_is_the_rounded_line(a: int, b: int, d: int, data: st.DataObject) -> None:
    k = data.draw(st.integers(1, d - 1))
    got = trs.interpolate_level(a, b, k, d)
    exact = a + Fraction(k * (b - a), d)
    assert got == a + _round_half_away(exact - a)
    assert min(a, b) <= got <= max(a, b)
    assert trs.interpolate_level(-a, -b, k, d) == -got         # no bias toward + or -


def test_interpolate_level_examples_and_range() -> None:
    assert [trs.interpolate_level(0, 3, k, 3) for k in (1, 2)] == [1, 2]
    assert [trs.interpolate_level(0, 1, k, 2) for k in (1,)] == [1]          # half rounds away from 0
    assert [trs.interpolate_level(0, -1, k, 2) for k in (1,)] == [-1]
    assert [trs.interpolate_level(5, 5, k, 4) for k in (1, 2, 3)] == [5, 5, 5]
    with pytest.raises(ValueError):
        trs.interpolate_level(0, 4, 0, 2)
    with pytest.raises(ValueError):
        trs.interpolate_level(0, 4, 2, 2)


def test_anchor_masks() -> None:
    assert trs.anchor_mask(8, 2) == [False, True] * 4
    assert trs.anchor_mask(8, 3) == [False, False, True, False, False, True, False, True]
    assert trs.anchor_mask(5, 1) == [True] * 5
    assert trs.sequence_anchor_mask(11, 8, 3) == trs.anchor_mask(8, 3) + trs.anchor_mask(3, 3)
    with pytest.raises(ValueError):
        trs.anchor_mask(8, 0)


@settings(max_examples=100, derandomize=True, deadline=None)
@given(track=st.lists(levels, min_size=1, max_size=30), factor=st.integers(1, 4), fpu=st.integers(1, 9))
def test_fill_track_keeps_anchors_and_fills_between(track: list[int], factor: int, fpu: int) -> None:
    anchors = [True] + trs.sequence_anchor_mask(len(track) - 1, fpu, factor)
    hold = trs.fill_track(track, anchors, "hold")
    interp = trs.fill_track(track, anchors, "interp")
    idx = [n for n, a in enumerate(anchors) if a]
    for n in idx:
        assert hold[n] == interp[n] == track[n]
    for n in range(len(track)):
        prev_a = max(i for i in idx if i <= n)
        nxt = [i for i in idx if i >= n]
        assert hold[n] == track[prev_a]
        if nxt:       # the last frame is always an anchor here
            lo, hi = sorted((track[prev_a], track[nxt[0]]))
            assert lo <= interp[n] <= hi


def test_fill_track_example() -> None:
    anchors = [True, False, False, True, False, True]
    assert trs.fill_track([0, 9, 9, 6, 9, 2], anchors, "hold") == [0, 0, 0, 6, 6, 2]
    assert trs.fill_track([0, 9, 9, 6, 9, 2], anchors, "interp") == [0, 2, 4, 6, 4, 2]
    assert trs.fill_track([0, 9, 7], [True, True, False], "interp") == [0, 9, 9]     # hold after the last anchor


def _trajectory(seed: int, frames: int) -> np.ndarray:
    """Smooth head motion, blinks and mouth motion in header order (study_header)."""
    rng = np.random.default_rng(seed)
    sh = trs.study_header(frames)
    t = np.arange(frames)[:, None]
    n = sh.num_sem_elements
    v = 0.3 * np.sin(t / (5 + 10 * rng.random(n)) + rng.random(n) * 6) + 0.02 * rng.standard_normal((frames, n))
    names = [trs.NAMES[e] for e in sh.sh_sem_element_id]
    for i, name in enumerate(names):
        if name.startswith("head_"):
            v[:, i] *= 10                                 # degrees / cm
        elif name.startswith("eye_blink"):
            v[:, i] = 0.3 + 0.6 * ((t[:, 0] % 23) < 3)     # a blink every 23 frames
        elif name == "mouth_open":
            v[:, i] = np.abs(v[:, i])
    return v


@pytest.mark.parametrize("seed", [0, 1])
def test_full_method_is_the_real_writer(seed: int) -> None:
    v = _trajectory(seed, 41)
    sh = trs.study_header(len(v))
    clip = trs.code_clip(v, "full", (), 1, lambda_for_qp(42), 3.0, sh=sh)
    w = StreamWriter(sh)
    w.keyframe(demo_keyframe(), clip.levels[0])
    for s in range(1, len(v), trs.DEFAULT_FPU):
        w.semantic_unit(clip.levels[s:s + trs.DEFAULT_FPU])
    assert b"".join(clip.units) in w.getvalue()
    assert clip.bits == sum(8 * r.num_bytes for r in w.records if r.unit_type == UnitType.SEMANTIC)


@pytest.mark.parametrize("groups", [(GROUP_HEAD,), (GROUP_EYES,), (GROUP_MOUTH,),
                                    (GROUP_HEAD, GROUP_EYES, GROUP_MOUTH)])
def test_hold_is_legal_today_and_interp_decodes(groups: tuple[int, ...]) -> None:
    v = _trajectory(3, 35)
    sh = trs.study_header(len(v))
    members = [i for i, g in enumerate(group_layout(sh).group) if g in groups]
    hold = trs.code_clip(v, "hold", groups, 2, lambda_for_qp(42), 3.0, sh=sh)
    # hold: the sub-sampled elements change only at anchors, and the stream writer codes the
    # same levels into the same units (legal syntax 2)
    arr = np.array(hold.levels)
    for n, anchor in enumerate(hold.anchors):
        if not anchor:
            assert (arr[n, members] == arr[n - 1, members]).all()
    w = StreamWriter(sh)
    w.keyframe(demo_keyframe(), hold.levels[0])
    for s in range(1, len(v), trs.DEFAULT_FPU):
        w.semantic_unit(hold.levels[s:s + trs.DEFAULT_FPU])
    assert b"".join(hold.units) in w.getvalue()
    # interp: each unit parses back with the proposal's layouts to the coded residuals, and the
    # output levels are the interpolation of the coded anchors
    interp = trs.code_clip(v, "interp", groups, 2, lambda_for_qp(42), 3.0, sh=sh)
    absent = trs.reduced_layout(sh, groups)
    ctx = sh.new_context_state()
    coded = [list(interp.levels[0])]
    for k, unit in enumerate(interp.units):
        first = 1 + k * trs.DEFAULT_FPU
        mask = interp.anchors[first:first + trs.DEFAULT_FPU]
        (raw,) = list(iter_units(unit))
        assert raw.unit_type == UnitType.SEMANTIC
        reader = SyntaxReader(raw.payload)
        res = trs.code_unit_subsampled(reader, [], lambda num: [group_layout(sh) if a else absent
                                                                 for a in mask[:num]], sh, ctx)
        assert len(res) == len(mask)
        for r in res:
            coded.append([p + x for p, x in zip(coded[-1], r)])
    out = np.array(coded)
    for i in members:
        out[:, i] = trs.fill_track(out[:, i].tolist(), interp.anchors, "interp")
    assert out.tolist() == interp.levels


def test_reduced_layout_leaves_the_elements_in_place() -> None:
    sh = trs.study_header(10)
    full = group_layout(sh)
    red = trs.reduced_layout(sh, (GROUP_EYES,))
    assert red is not None and GROUP_EYES not in red.groups and red.group == full.group
    assert full.groups == copy.copy(group_layout(sh)).groups       # the cached layout is untouched
    assert trs.reduced_layout(sh, (GROUP_HEAD, GROUP_EYES, GROUP_MOUTH)) is None


@pytest.mark.parametrize("groups,periods", [((GROUP_HEAD,), [3, 1, 1, 1, 1]),
                                            ((GROUP_HEAD, GROUP_MOUTH), [3, 1, 3, 1, 1])])
def test_adopted_syntax_is_what_the_study_measured(groups: tuple[int, ...], periods: list[int]) -> None:
    """The spec's temporal resolution (7.2a, 8.3.4) and the encoder's unit chooser give the
    study's "interp" levels and semantic-unit bytes exactly: the study's savings are the adopted
    tool's (only the sequence header differs: sh_sem_temporal_flag and the periods)."""
    from dataclasses import replace

    from ref_encoder.semantic_rdoq import SemanticQuantiser, choose_unit_levels
    from ref_encoder.semantic_visual_weights import VISUAL_WEIGHTS
    v = _trajectory(5, 45)
    sh = trs.study_header(len(v))
    study = trs.code_clip(v, "interp", groups, 3, lambda_for_qp(42), 3.0, sh=sh)
    adopted = replace(sh, sh_sem_temporal_flag=1, sh_sem_group_period_minus1=[p - 1 for p in periods])
    q = SemanticQuantiser(adopted, lambda_for_qp(42), VISUAL_WEIGHTS, max_level_error=3.0)
    w = StreamWriter(adopted)
    w.keyframe(demo_keyframe(), study.levels[0])
    levels = [study.levels[0]]
    units = []
    for s in range(1, len(v), trs.DEFAULT_FPU):
        levels += choose_unit_levels(q, v[s:s + trs.DEFAULT_FPU], w)
        units.append(w.semantic_unit(levels[s:]))
    assert levels == study.levels
    assert units == study.units
