"""Properties of PSNR (RGB, Y, YUV 4:2:0) and SSIM on uint8 RGB frames."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from conformance.metrics import (PSNR_CAP_DB, psnr_from_mse, psnr_rgb, psnr_rgb_frames, psnr_y,
                                 psnr_yuv420, psnr_yuv420_planes_frames, rgb_to_y_bt709,
                                 rgb_to_yuv420_bt709, ssim_rgb, ssim_y)

frames_8 = arrays(np.uint8, (8, 8, 3))
frame_pairs = st.tuples(st.integers(2, 6), st.integers(2, 6)).flatmap(
    lambda hw: st.tuples(arrays(np.uint8, (2 * hw[0], 2 * hw[1], 3)),
                         arrays(np.uint8, (2 * hw[0], 2 * hw[1], 3))))


def rng_frame(seed: int, shape: tuple[int, int, int] = (32, 32, 3)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


@given(frames_8)
def test_identical_frames_give_the_cap(frame: np.ndarray) -> None:
    assert psnr_rgb(frame, frame) == PSNR_CAP_DB
    assert psnr_y(frame, frame) == PSNR_CAP_DB
    assert psnr_yuv420(frame, frame) == PSNR_CAP_DB


@given(frame_pairs)
def test_psnr_is_symmetric_and_capped(pair: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = pair
    for metric in (psnr_rgb, psnr_y, psnr_yuv420):
        forward, backward = metric(a, b), metric(b, a)
        assert forward == pytest.approx(backward, abs=1e-12)
        assert math.isfinite(forward) and forward <= PSNR_CAP_DB


@settings(max_examples=50)
@given(st.integers(0, 255), st.integers(1, 255))
def test_uniform_offset_gives_known_psnr(base: int, offset: int) -> None:
    """Every sample off by d: MSE = d^2, PSNR-RGB = 20 log10(255 / d)."""
    value = min(base + offset, 255)
    offset = value - base
    ref = np.full((4, 6, 3), base, np.uint8)
    dis = np.full((4, 6, 3), value, np.uint8)
    expected = PSNR_CAP_DB if offset == 0 else 20 * math.log10(255 / offset)
    assert psnr_rgb(ref, dis) == pytest.approx(expected, abs=1e-9)
    # A grey offset is an equal offset of Y (weights sum to 1) and no chroma change.
    assert psnr_y(ref, dis) == pytest.approx(expected, abs=1e-9)


def test_rgb_psnr_averages_mse_not_psnr() -> None:
    """Only R differs (MSE 9 on R, 0 on G, B): mean MSE 3 -> PSNR 10 log10(255^2 / 3)."""
    ref = np.zeros((4, 4, 3), np.uint8)
    dis = ref.copy()
    dis[..., 0] = 3
    assert psnr_rgb(ref, dis) == pytest.approx(10 * math.log10(255**2 / 3), abs=1e-9)


def test_psnr_y_uses_bt709_weights() -> None:
    ref = np.zeros((2, 2, 3), np.uint8)
    dis = ref.copy()
    dis[..., 1] = 10  # green only: Y changes by 7.152
    assert psnr_y(ref, dis) == pytest.approx(20 * math.log10(255 / 7.152), abs=1e-9)
    assert rgb_to_y_bt709(np.array([[[255, 255, 255]]], np.uint8))[0, 0] == pytest.approx(255.0)


def test_yuv420_conversion_and_weighting() -> None:
    white = np.full((1, 2, 2, 3), 255, np.uint8)
    y, u, v = rgb_to_yuv420_bt709(white)
    assert y.shape == (1, 2, 2) and u.shape == v.shape == (1, 1, 1)
    np.testing.assert_allclose([y[0, 0, 0], u[0, 0, 0], v[0, 0, 0]], [255, 128, 128], atol=1e-9)
    red = np.zeros((1, 2, 2, 3), np.uint8)
    red[..., 0] = 255
    y, u, v = rgb_to_yuv420_bt709(red)  # Cr of pure red: 127.5 + 128 (float planes, not clipped)
    np.testing.assert_allclose([y[0, 0, 0], v[0, 0, 0]], [0.2126 * 255, 255.5], atol=1e-9)

    a, b = rng_frame(1, (16, 16, 3)), rng_frame(2, (16, 16, 3))
    per_plane = psnr_yuv420_planes_frames(a[None], b[None])[0]
    assert psnr_yuv420(a, b) == pytest.approx((4 * per_plane[0] + per_plane[1] + per_plane[2]) / 6)
    assert per_plane[0] == pytest.approx(psnr_y(a, b))


def test_psnr_from_mse_values() -> None:
    np.testing.assert_allclose(psnr_from_mse([255.0**2, 1.0, 0.0, 1e-30]), [0.0, 48.1308036, 100.0, 100.0], atol=1e-6)
    with pytest.raises(ValueError):
        psnr_from_mse(-1.0)


def test_sequence_helper_matches_single_frames() -> None:
    ref = np.stack([rng_frame(i) for i in range(3)])
    dis = np.stack([rng_frame(10 + i) for i in range(3)])
    np.testing.assert_allclose(psnr_rgb_frames(ref, list(dis)), [psnr_rgb(r, d) for r, d in zip(ref, dis)])


@pytest.mark.parametrize("metric", [psnr_rgb, psnr_y, psnr_yuv420, ssim_y, ssim_rgb])
def test_bad_inputs_raise_value_error(metric) -> None:
    good = rng_frame(0)
    with pytest.raises(ValueError, match="shapes differ"):
        metric(good, rng_frame(1, (32, 30, 3)))
    with pytest.raises(ValueError, match="uint8"):
        metric(good, good.astype(np.float32))
    with pytest.raises(ValueError, match="H x W x 3"):
        metric(good[..., 0], good[..., 0])


def test_yuv420_needs_even_size() -> None:
    with pytest.raises(ValueError, match="even"):
        psnr_yuv420(rng_frame(0, (15, 16, 3)), rng_frame(1, (15, 16, 3)))


def test_ssim_properties() -> None:
    a, b = rng_frame(3), rng_frame(4)
    assert ssim_y(a, a) == pytest.approx(1.0, abs=1e-12)
    assert ssim_rgb(a, a) == pytest.approx(1.0, abs=1e-12)
    assert ssim_y(a, b) == pytest.approx(ssim_y(b, a), abs=1e-12)
    noisy = np.clip(a.astype(int) + np.random.default_rng(5).integers(-8, 9, a.shape), 0, 255).astype(np.uint8)
    # Mild noise keeps SSIM high; unrelated noise images are far apart.
    assert 0.9 < ssim_y(a, noisy) < 1.0
    assert ssim_y(a, b) < 0.1
    with pytest.raises(ValueError, match="11 x 11"):
        ssim_y(rng_frame(0, (8, 8, 3)), rng_frame(0, (8, 8, 3)))
