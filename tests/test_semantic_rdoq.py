"""Rate-distortion optimised quantisation of the semantics (ref_encoder/semantic_rdoq.py) and
the rate estimate it prices candidates with (ref_encoder/rate_estimation.py): 'off' is the
rounding encoder bit for bit, RDOQ streams parse back to the chosen levels, the optimiser never
costs more than rounding, still input codes nothing, and the error bound holds."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bitstream.semantic_elements import SEMANTIC_ELEMENTS
from bitstream.semantic_reconstruction import dequantize
from bitstream.stream import ParsedHash, ParsedKeyframe, ParsedSemanticUnit, StreamParser, StreamWriter
from bitstream.structures import ENTROPY_CABAC, ENTROPY_EXP_GOLOMB
from bitstream.units import UnitType
from conformance.synthetic_semantics import (baseline_header, code_trajectories, demo_keyframe,
                                             synthetic_trajectories)
from ref_encoder import cli as encode_cli
from ref_encoder.rate_estimation import BitCounter, SemanticRateModel
from ref_encoder.semantic_rdoq import (ClosedLoopChooser, SemanticQuantiser, lambda_for_qp,
                                       resolve_lambda)
from ref_encoder.semantic_visual_weights import VISUAL_WEIGHTS

NAMES = [e.name for e in SEMANTIC_ELEMENTS]
TX, TY, LOC = NAMES.index("head_tx"), NAMES.index("head_ty"), NAMES.index("head_loc")
MODES = (ENTROPY_EXP_GOLOMB, ENTROPY_CABAC)
PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _code(values: np.ndarray, mode: int, fpu: int, lam: float | None, max_level_error: float = 1.0,
          check_optimal: bool = False, precisions: list[int] | None = None
          ) -> tuple[bytes, list[list[int]], SemanticQuantiser]:
    """Frame 0 is the key frame; the others go through the encoder's closed-loop chooser into
    units of fpu frames. check_optimal: every frame's J is at most rounding's J from the same
    state (prediction and CABAC contexts). precisions: instead of Table 3's defaults."""
    sh = baseline_header(mode, len(values))
    if precisions is not None:
        sh.sh_sem_precision = list(precisions)
    q = SemanticQuantiser(sh, lam, max_level_error=max_level_error)
    chooser = ClosedLoopChooser(q)
    w = StreamWriter(sh)
    levels = [q.round_levels(values[0])]
    w.keyframe(demo_keyframe(), levels[0])
    pending: list[list[int]] = []
    for v in values[1:]:
        if check_optimal:
            prev = pending[-1] if pending else w.state.prev_levels
            rate = SemanticRateModel(sh, chooser.rate.ctx if pending and chooser.rate else
                                     w.state.carry.trial_state())
            j_round = q.cost(v, q.round_levels(v), prev, rate)[0]
            decision = q.choose(v, prev, rate)
            j_rdoq = q.cost(v, decision.levels, prev, rate)[0]
            assert j_rdoq <= j_round + 1e-9
        decision, _ = chooser.next_frame(v, w, pending)
        pending.append(decision.levels)
        levels.append(decision.levels)
        if len(pending) == fpu:
            w.semantic_unit(pending)
            w.hash_unit()
            pending = []
    if pending:
        w.semantic_unit(pending)
        w.hash_unit()
    w.end_of_sequence()
    return w.getvalue(), levels, q


def _parsed_levels(stream: bytes) -> list[list[int]]:
    parser = StreamParser()
    out = []
    for unit in parser.parse(stream):
        if isinstance(unit, ParsedKeyframe):
            out.append(list(unit.levels))
        elif isinstance(unit, ParsedSemanticUnit):
            out.extend(list(f.levels) for f in unit.frames)
        elif isinstance(unit, ParsedHash):
            assert all(c.matches is not False for c in unit.checks)
    return out


def _with_derived_loc(values: np.ndarray) -> np.ndarray:
    """head_loc as Annex B.3 derives it from the rounded head_tx/head_ty (what the encoder codes)."""
    q = SemanticQuantiser(baseline_header(ENTROPY_CABAC, 1), None)
    out = values.copy()
    for row in out:
        row[LOC] = q.round_levels(row)[LOC]
    return out


trajectories = st.builds(lambda seed, n, still: _trajectory(seed, n, still),
                         st.integers(0, 10_000), st.integers(2, 40), st.floats(0.0, 1.0))


def _trajectory(seed: int, n: int, still: float) -> np.ndarray:
    """Realistic motion (synthetic_trajectories) with a random share of frozen frames."""
    values = synthetic_trajectories(n, seed=seed)
    rng = np.random.default_rng(seed)
    for t in range(1, n):
        if rng.random() < still:
            values[t] = values[t - 1]
    return values


# ---------------------------------------------------------------------------------------------
def test_off_is_todays_rounding_bit_for_bit() -> None:
    """lambda off: the same bytes as the rounding path the conformance suite and the rate study
    used before RDOQ (conformance.synthetic_semantics.code_trajectories)."""
    for seed in range(3):
        values = _with_derived_loc(synthetic_trajectories(120, seed=seed))
        for mode in MODES:
            for fpu in (1, 8, 16):
                today, _, _ = code_trajectories(values, mode, fpu, with_hash=True)
                ours, _, _ = _code(values, mode, fpu, None)
                assert ours == today


@PROPERTY
@given(trajectories, st.sampled_from(MODES), st.sampled_from([1, 3, 8]), st.sampled_from([22, 42, 52]))
def test_rdoq_streams_parse_back_to_the_chosen_levels(values: np.ndarray, mode: int, fpu: int, qp: int) -> None:
    stream, levels, _ = _code(values, mode, fpu, lambda_for_qp(qp))
    assert _parsed_levels(stream) == levels


@pytest.mark.parametrize("preset", ["fine", "low"])
def test_rdoq_with_other_precisions(preset: str) -> None:
    """--semantic-precision presets and per-element precisions keep working under RDOQ."""
    from ref_encoder.encoder import PRECISION_PRESETS
    precisions = list(PRECISION_PRESETS[preset])
    precisions[NAMES.index("mouth_open")] = 9                   # a per-element override
    values = synthetic_trajectories(60, seed=4)
    for mode in MODES:
        stream, levels, q = _code(values, mode, 8, lambda_for_qp(42), precisions=precisions,
                                  check_optimal=True)
        assert q.sh.sh_sem_precision == precisions
        assert _parsed_levels(stream) == levels


@PROPERTY
@given(trajectories, st.sampled_from(MODES), st.sampled_from([1, 8]), st.sampled_from([0.0, 1.0, 10.0, 1000.0]))
def test_rdoq_never_costs_more_than_rounding(values: np.ndarray, mode: int, fpu: int, lam: float) -> None:
    _code(values, mode, fpu, lam, check_optimal=True)


@PROPERTY
@given(trajectories, st.sampled_from(MODES), st.sampled_from([0.5, 1.0, 2.5]), st.sampled_from([1.0, 1e6]))
def test_error_bound_is_respected(values: np.ndarray, mode: int, bound: float, lam: float) -> None:
    _, levels, q = _code(values, mode, 8, lam, max_level_error=bound)
    for row, lv in zip(values[1:], levels[1:]):
        rounded = q.round_levels(row)
        for i, (v, level) in enumerate(zip(row, lv)):
            if i == LOC:     # derived from the coded translation (Annex B.3)
                assert level == q.round_levels([dequantize(lv[k], q.sh.sh_sem_precision[k]) if k in (TX, TY)
                                                 else x for k, x in enumerate(row)])[LOC]
            else:
                assert level == rounded[i] or abs(level - v * q.scale[i]) <= bound + 1e-9


@pytest.mark.parametrize("mode", MODES)
def test_still_face_codes_skipped_frames(mode: int) -> None:
    """A still face whose analysis jitters across a rounding boundary: rounding codes residuals
    in most frames, RDOQ at the default lambda skips every frame."""
    base = synthetic_trajectories(1, seed=5)[0]
    sh = baseline_header(mode, 2)
    steps = np.array([2.0 ** -p for p in sh.sh_sem_precision])
    base = (np.floor(base / steps) + 0.5) * steps                 # halfway between two levels
    base[LOC] = SemanticQuantiser(sh, None).round_levels(base)[LOC]
    rng = np.random.default_rng(1)
    values = np.array([base + rng.uniform(-0.3, 0.3, base.shape) * steps for _ in range(60)])
    values[:, LOC] = base[LOC]
    for k in range(values.shape[1]):                               # keep within the value range
        values[:, k] = np.clip(values[:, k], SEMANTIC_ELEMENTS[k].min_value, SEMANTIC_ELEMENTS[k].max_value)
    _, rounded, _ = _code(values, mode, 8, None)
    _, rdoq, _ = _code(values, mode, 8, lambda_for_qp(42))
    moved = sum(a != b for a, b in zip(rounded[1:], rounded[2:]))
    assert moved > len(values) // 2                                 # the input does jitter
    assert all(lv == rdoq[1] for lv in rdoq[1:])                    # RDOQ: one level set from frame 1 on
    parser = StreamParser()
    skipped = [f.sf_skip_flag for u in parser.parse(_code(values, mode, 8, lambda_for_qp(42))[0])
               if isinstance(u, ParsedSemanticUnit) for f in u.su.frames]
    assert all(skipped[1:])


def test_exp_golomb_estimate_is_exact() -> None:
    """In Exp-Golomb mode the rate model's frame bits are the coded bits of each frame."""
    values = synthetic_trajectories(17, seed=2)          # a key frame and a unit of 16 (level 1.0's most)
    sh = baseline_header(ENTROPY_EXP_GOLOMB, len(values))
    q = SemanticQuantiser(sh, None)
    levels = [q.round_levels(v) for v in values]
    rate = SemanticRateModel(sh, None)
    estimate = sum(rate.frame_bits([a - b for a, b in zip(cur, prev)]) for prev, cur in zip(levels, levels[1:]))
    w = StreamWriter(sh)
    w.keyframe(demo_keyframe(), levels[0])
    w.semantic_unit(levels[1:])
    payload_bits = 8 * w.records[-1].num_bytes
    # unit header (2 bytes here), su_frame_idx_delta ue(0) and su_num_frames_minus1 ue(15): 1 + 9
    # bits, then 1 to 8 bits of trailing bits: the frames are the rest.
    overhead = payload_bits - estimate
    assert 16 + 10 + 1 <= overhead <= 16 + 10 + 8


def test_cabac_estimate_tracks_the_coded_bits() -> None:
    """Ideal CABAC bits (rate model, closed loop) against the bytes the writer produces."""
    values = synthetic_trajectories(17, seed=3)
    stream, levels, q = _code(values, ENTROPY_CABAC, 16, lambda_for_qp(32))
    sh = q.sh
    w = StreamWriter(sh)
    w.keyframe(demo_keyframe(), levels[0])
    rate = SemanticRateModel(sh, w.state.carry.trial_state())
    estimate = sum(rate.commit([a - b for a, b in zip(cur, prev)]) for prev, cur in zip(levels, levels[1:]))
    w.semantic_unit(levels[1:])
    coded = 8 * w.records[-1].num_bytes
    assert estimate <= coded <= estimate + 64          # unit header, unit fields, flush, alignment


def test_bit_counter_counts_fixed_codes_exactly() -> None:
    c = BitCounter()
    c.u("x", 5, 3)
    c.se("y", -7)
    assert c.bits == 5 + 7


def test_lambda_settings() -> None:
    assert resolve_lambda("off", 42) is None
    assert resolve_lambda("auto", 42) == lambda_for_qp(42)
    assert lambda_for_qp(45) == pytest.approx(2 * lambda_for_qp(42))
    assert resolve_lambda(3.5, 42) == 3.5
    with pytest.raises(ValueError):
        resolve_lambda(-1.0, 42)
    assert set(VISUAL_WEIGHTS) == set(NAMES) and VISUAL_WEIGHTS["head_loc"] == 0.0
    assert all(w > 0 for n, w in VISUAL_WEIGHTS.items() if n != "head_loc")


@pytest.mark.parametrize("bad", [["--semantic-lambda", "-1"], ["--semantic-lambda", "fast"],
                                 ["--semantic-lambda", "nan"], ["--semantic-max-error", "0.2"]])
def test_cli_refuses_bad_lambda(bad: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.rgb"
    src.write_bytes(bytes(3 * 64 * 64))
    with pytest.raises(SystemExit) as exc:
        encode_cli.main([str(src), "--width", "64", "--height", "64", "-o", str(tmp_path / "o.ifvc"), *bad])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) >= 1 and "semantic" in err[-1] and "Traceback" not in "".join(err)
    assert not (tmp_path / "o.ifvc").exists()


# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def face_frames(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> list[np.ndarray]:
    from bitstream.raw_video import read_rgb444
    from conformance.sequence_preparation import prepare_clip
    from ifvc_common.files import sha256_file
    work = tmp_path_factory.mktemp("rdoq")
    clip = shared_data / "faces" / "raw" / "videoretalking_face_2.mp4"
    prepare_clip(clip, work, 40, "[test]", sha256_file(clip))
    return list(read_rgb444(work / f"{clip.stem}_256x256_25_8bit_444.rgb"))


def test_encoder_off_rounds_and_auto_round_trips(face_frames: list[np.ndarray]) -> None:
    """On a real clip: with lambda off every semantic frame carries the rounded analysis; with
    the default (auto) the stream parses back to the encoder's levels and its hashes match, and
    it spends fewer semantic bits."""
    from ref_encoder.encoder import Encoder, EncoderConfig
    results = {}
    for setting in ("off", "auto"):
        # every group at every frame: with the default temporal sub-sampling the head's frames
        # between anchors carry interpolated levels (tests/test_semantic_temporal.py)
        cfg = EncoderConfig(keyframe_codec="raw", semantic_lambda=setting, semantic_periods={})
        enc = Encoder(cfg, 256, 256, Fraction(25), num_frames=len(face_frames))
        results[setting] = (enc, enc.encode(face_frames))
    enc, off = results["off"]
    for f in off.frames:
        if f.kind == "semantic":
            # f.values: the 14 of table order; the quantiser takes the signalled ones (header order)
            assert f.levels == enc.quantiser.round_levels([f.values[i] for i in enc.element_ids])
    for setting, (_, res) in results.items():
        assert _parsed_levels(res.stream) == [f.levels for f in res.frames]

    def sem_bits(res) -> int:  # type: ignore[no-untyped-def]
        return sum(8 * r.num_bytes for r in res.writer.records if r.unit_type == UnitType.SEMANTIC)
    assert sem_bits(results["auto"][1]) < sem_bits(off)


@pytest.mark.parametrize("lam", ["off", "auto"])
def test_encoder_default_codes_the_head_at_every_third_frame(face_frames: list[np.ndarray], lam: str) -> None:
    """The Compact profile's default (spec 7.2a): the head group at SemPeriod 3, eyes and mouth
    at 1; the stream parses back to the encoder's levels (frames between head anchors carry the
    interpolated levels, 8.3.4) and the anchors of the head carry the chosen levels."""
    from bitstream.semantic_temporal import interpolate_level, is_anchor
    from bitstream.semantic_unit_compact import GROUP_HEAD, group_layout
    from ref_encoder.encoder import Encoder, EncoderConfig
    cfg = EncoderConfig(keyframe_codec="raw", semantic_lambda=lam, frames_per_unit=8)
    enc = Encoder(cfg, 256, 256, Fraction(25), num_frames=len(face_frames))
    res = enc.encode(face_frames)
    sh = res.writer.sh
    assert sh.sh_sem_temporal_flag == 1 and sh.sh_sem_group_period_minus1[GROUP_HEAD] == 2
    assert _parsed_levels(res.stream) == [f.levels for f in res.frames]
    layout = group_layout(sh)
    yaw = layout.members[GROUP_HEAD][0]
    track = [f.levels[yaw] for f in res.frames]        # key frame, then units of 8 frames
    for start in range(1, len(track), 8):
        unit = track[start:start + 8]
        anchors = [-1] + [f for f in range(len(unit)) if is_anchor(f, len(unit), 3)]
        for fa, fb in zip(anchors, anchors[1:]):
            a = track[start - 1] if fa < 0 else unit[fa]
            for k in range(1, fb - fa):
                assert unit[fa + k] == interpolate_level(a, unit[fb], k, fb - fa)
    if lam == "off":      # anchors carry the rounded analysis
        for f in res.frames[1:]:
            pos = (f.frame_idx - 1) % 8
            n = min(8, len(res.frames) - 1 - (f.frame_idx - 1) // 8 * 8)
            if is_anchor(pos, n, 3):
                assert f.levels == enc.quantiser.round_levels([f.values[i] for i in enc.element_ids])
