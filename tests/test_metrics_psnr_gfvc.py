"""The GFVC PSNR (psnr_gfvc): the mean of the R, G and B PSNRs, as the GFVC common software's
evaluate/multiMetric_rgb444.py computes `psnr`, beside our psnr_rgb (PSNR of the mean MSE)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from conformance.metrics import (METRICS, PSNR_CAP_DB, frame_scores, psnr_gfvc, psnr_gfvc_frames,
                                 psnr_rgb, psnr_rgb_frames, sequence_mean)

frame_pairs = st.tuples(st.integers(1, 6), st.integers(1, 6)).flatmap(
    lambda hw: st.tuples(arrays(np.uint8, (hw[0], hw[1], 3)), arrays(np.uint8, (hw[0], hw[1], 3))))


def _one_channel_pattern() -> tuple[np.ndarray, np.ndarray]:
    """4x4 frames: R off by 1 everywhere (MSE 1), G off by 2 everywhere (MSE 4), B equal."""
    ref = np.full((4, 4, 3), 100, np.uint8)
    dis = ref.copy()
    dis[..., 0] = 101
    dis[..., 1] = 98
    return ref, dis


def test_hand_computed_frame() -> None:
    """By hand: PSNR_R = 10 log10(255^2 / 1) = 48.1308 dB, PSNR_G = 10 log10(255^2 / 4) =
    42.1102 dB, PSNR_B = 100 dB (identical: GFVC's cacl_psnr returns 100), mean 63.4137 dB.
    Our psnr_rgb of the same frame: mean MSE 5/3, 10 log10(3 * 255^2 / 5) = 45.9123 dB."""
    ref, dis = _one_channel_pattern()
    expected_gfvc = (10 * math.log10(255 ** 2) + 10 * math.log10(255 ** 2 / 4) + 100.0) / 3
    assert expected_gfvc == pytest.approx(63.41367, abs=1e-5)       # the value worked by hand
    assert psnr_gfvc(ref, dis) == pytest.approx(expected_gfvc, abs=1e-12)
    expected_rgb = 10 * math.log10(3 * 255 ** 2 / 5)
    assert expected_rgb == pytest.approx(45.91231, abs=1e-5)
    assert psnr_rgb(ref, dis) == pytest.approx(expected_rgb, abs=1e-12)


def test_sequence_mean_is_over_frames_of_the_per_frame_mean() -> None:
    """Two frames: the hand-computed frame above and a frame off by 3 in every channel
    (each PSNR 20 log10(255 / 3) = 38.5884 dB); the sequence value is their plain mean, as
    GFVC's sum_PSNR / frames."""
    ref1, dis1 = _one_channel_pattern()
    ref2 = np.full((4, 4, 3), 50, np.uint8)
    dis2 = np.full((4, 4, 3), 53, np.uint8)
    per_frame = psnr_gfvc_frames(np.stack([ref1, ref2]), np.stack([dis1, dis2]))
    first = (10 * math.log10(255 ** 2) + 10 * math.log10(255 ** 2 / 4) + 100.0) / 3
    second = 20 * math.log10(255 / 3)
    assert per_frame == pytest.approx([first, second], abs=1e-12)
    scores = frame_scores(np.stack([ref1, ref2]), np.stack([dis1, dis2]), ("psnr_gfvc",))
    assert sequence_mean(scores)["psnr_gfvc"] == pytest.approx((first + second) / 2, abs=1e-12)


@given(frame_pairs)
def test_never_below_psnr_rgb_and_capped(pair: tuple[np.ndarray, np.ndarray]) -> None:
    """Mean of -log(MSE) >= -log(mean MSE) (Jensen); the cap keeps both finite."""
    a, b = pair
    gfvc, ours = psnr_gfvc(a, b), psnr_rgb(a, b)
    assert math.isfinite(gfvc) and gfvc <= PSNR_CAP_DB
    assert gfvc >= ours - 1e-9


@given(arrays(np.uint8, (3, 5, 3)), st.integers(1, 20))
def test_equal_channel_errors_match_psnr_rgb(frame: np.ndarray, offset: int) -> None:
    """When R, G and B have the same MSE the two definitions agree."""
    shifted = ((frame.astype(np.int16) + offset) % 256).astype(np.uint8)
    # the same per-pixel error in every channel: the channels of the difference are equal
    same = np.repeat(shifted[..., :1], 3, axis=2)
    base = np.repeat(frame[..., :1], 3, axis=2)
    assert psnr_gfvc(base, same) == pytest.approx(psnr_rgb(base, same), abs=1e-9)


def test_identical_frames_give_exactly_the_cap() -> None:
    frames = np.random.default_rng(3).integers(0, 256, (4, 8, 8, 3), dtype=np.uint8)
    assert np.all(psnr_gfvc_frames(frames, frames) == PSNR_CAP_DB)


def test_registered_beside_ours() -> None:
    assert "psnr_gfvc" in METRICS and "psnr_rgb" in METRICS
    frames = np.random.default_rng(4).integers(0, 256, (3, 8, 8, 3), dtype=np.uint8)
    other = np.random.default_rng(5).integers(0, 256, (3, 8, 8, 3), dtype=np.uint8)
    scores = frame_scores(frames, other, ("psnr_gfvc", "psnr_rgb"))
    assert np.array_equal(scores["psnr_rgb"], psnr_rgb_frames(frames, other))
    assert np.array_equal(scores["psnr_gfvc"], psnr_gfvc_frames(frames, other))


@pytest.mark.parametrize("bad", [np.zeros((4, 4, 3), np.float32), np.zeros((4, 4), np.uint8)])
def test_bad_inputs_raise_value_error(bad: np.ndarray) -> None:
    with pytest.raises(ValueError):
        psnr_gfvc(bad, bad)
