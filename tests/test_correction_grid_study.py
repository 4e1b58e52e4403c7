"""tools/correction_grid_study.py: the pieces the study's numbers rest on."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from tools.correction_grid_study import (AdaptiveBits, Variant, anchor_frames, apply_field, correction_levels,
                                         deadzone_levels, dense_flow, field, hold_levels, interpolated, main,
                                         residual_bits, se_bits, study_cell, vvc_lambda)


def textured(h: int = 96, w: int = 96) -> np.ndarray:
    """A smooth, structured picture (no randomness): optical flow locks onto it."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    grey = 128 + 60 * np.sin(x / 5.0) * np.cos(y / 7.0) + 40 * np.sin((x + 2 * y) / 11.0)
    return np.repeat(np.clip(grey, 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def test_variant_names() -> None:
    assert Variant.parse("g4q1") == Variant("g4q1", 4, 1.0, 1)
    assert Variant.parse("g8q0.5p3") == Variant("g8q0.5p3", 8, 0.5, 3)
    assert Variant.parse("g4q1h") == Variant("g4q1h", 4, 1.0, 1, True)
    with pytest.raises(ValueError, match="period 1 only"):
        Variant.parse("g4q1p3h")
    with pytest.raises(ValueError, match="expected gGqQ"):
        Variant.parse("grid4")


def test_se_bits_matches_exp_golomb_lengths() -> None:
    # se(v): 0 -> '1', 1 -> '010', -1 -> '011', 2 and -2 -> 5 bits, 4 -> 7 bits
    assert [se_bits(v) for v in (0, 1, -1, 2, -2, 3, 4)] == [1, 3, 3, 5, 5, 5, 7]


def test_anchors_every_period_and_last_of_each_run() -> None:
    coded = [1, 2, 3, 4, 5, 6, 7, 9, 10, 11]          # frame 8 is a key frame
    assert anchor_frames(coded, 1) == set(coded)
    assert anchor_frames(coded, 3) == {3, 6, 7, 11}


def test_interpolation_starts_from_zero_after_a_key_frame() -> None:
    coded = [1, 2, 3, 4, 5, 6, 7, 9, 10, 11]
    levels = {t: np.array([3 * t]) for t in coded}
    out = interpolated(levels, coded, anchor_frames(coded, 3))
    # between anchors 3 (9) and 6 (18); frames 1, 2 from zero at the key frame 0 to 9
    assert [int(out[t][0]) for t in coded] == [3, 6, 9, 12, 15, 18, 21, 11, 22, 33]


def test_a_shifted_picture_gives_the_shift_and_the_field_undoes_it() -> None:
    source = textured()
    decoded = np.ascontiguousarray(np.roll(source, 2, axis=1))    # content 2 pixels to the right
    flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    levels = correction_levels(dense_flow(source, decoded, flow), 2, 1.0)
    assert levels.shape == (2, 2, 2)
    assert np.all(levels[..., 0] == 2) and np.all(levels[..., 1] == 0)
    corrected = apply_field(decoded, field(levels, 1.0, 96, 96))
    inner = (slice(8, -8), slice(8, -8))
    assert np.array_equal(corrected[inner], source[inner])


def test_zero_field_is_the_identity() -> None:
    picture = textured()
    assert np.array_equal(apply_field(picture, field(np.zeros((4, 4, 2), np.int64), 1.0, 96, 96)), picture)


def test_residual_bits_code_the_temporal_differences() -> None:
    still = {t: np.ones((2, 2, 2), np.int64) for t in range(1, 9)}
    eg, adaptive = residual_bits(still, set(still))
    # the first frame codes eight 1s (3 bits each), the seven others eight zeros (1 bit each)
    assert eg == 8 * 3 + 7 * 8
    assert 0 < adaptive < eg
    # residuals of growing size and alternating sign
    moving = {t: np.full((2, 2, 2), (-1) ** t * t, np.int64) for t in range(1, 9)}
    assert residual_bits(moving, set(moving))[1] > adaptive


def test_adaptive_bits_learn_a_constant_source() -> None:
    model = AdaptiveBits()
    for _ in range(1000):
        model.code(0, 0)
    assert model.bits < 12          # a KT estimate of 1000 equal bins costs about log2(1000) / 2 + 1


def test_hold_keeps_levels_that_do_not_repay_their_bits() -> None:
    source = textured()
    decoded = np.ascontiguousarray(np.roll(source, 2, axis=1))
    frames_src, frames_dec = np.stack([source] * 3), np.stack([decoded] * 3)
    new = np.zeros((2, 2, 2), np.int64)
    new[..., 0] = 2
    levels = {t: new for t in (1, 2)}
    kept = hold_levels(levels, [1, 2], frames_src, frames_dec, 1.0, lam=1e12)
    assert all(not kept[t].any() for t in (1, 2))              # too dear: zero levels throughout
    taken = hold_levels(levels, [1, 2], frames_src, frames_dec, 1.0, lam=vvc_lambda(32))
    assert all(np.array_equal(taken[t], new) for t in (1, 2))  # the shift is worth its 24 bits


def test_a_folder_without_a_campaign_is_one_line_and_exit_2(tmp_path, capsys) -> None:
    assert main(["--campaign", str(tmp_path), "--codec", "g7", "--variants", "g4q1", "--out", str(tmp_path / "o")]) == 2
    assert "results.csv is not a file" in capsys.readouterr().err
    assert main(["--campaign", str(tmp_path), "--codec", "g7", "--variants", "grid", "--out", str(tmp_path / "o")]) == 2
    assert not (tmp_path / "o").exists()


def test_a_cell_of_key_frames_only_codes_nothing() -> None:
    frames = np.stack([textured()] * 3)
    rows = study_cell(frames, frames, {0, 1, 2}, [Variant.parse("g4q1h"), Variant.parse("g4q1p3")], 2, 25.0, 32)
    assert [r["variant"] for r in rows] == ["none", "g4q1h", "g4q1p3"]
    assert all(r["extra_kbps"] == 0.0 and r["extra_kbps_eg"] == 0.0 for r in rows)
    assert len({round(r["psnr_rgb"], 6) for r in rows}) == 1


def test_deadzone_keeps_a_level_until_the_flow_leaves_it_by_more_than_a_step() -> None:
    steps = {t: np.array([x]) for t, x in zip(range(1, 6), (0.4, 1.2, 0.6, 2.6, 1.7))}
    assert [int(v[0]) for v in deadzone_levels(steps, list(steps)).values()] == [0, 1, 1, 3, 2]
    assert Variant.parse("g4q1d") == Variant("g4q1d", 4, 1.0, 1, False, True)
