"""BD-rate wrapper of the evaluation campaign: known answers on synthetic RD curves."""
from __future__ import annotations

import math

import numpy as np
import pytest

from conformance.campaign.bd_rate import bd_rate
from conformance.campaign.tables import quality_for_bd

RATES = [10.0, 20.0, 40.0, 80.0]
PSNR = [28.0, 31.0, 33.5, 35.0]


def test_identical_curves_give_zero() -> None:
    result = bd_rate(RATES, PSNR, RATES, PSNR)
    assert result.value == pytest.approx(0.0, abs=1e-9)
    assert result.quality_overlap == pytest.approx(1.0)
    assert result.warnings == []


@pytest.mark.parametrize("factor, expected", [(0.5, -50.0), (2.0, 100.0), (0.8, -20.0)])
def test_constant_rate_factor_at_every_quality(factor: float, expected: float) -> None:
    result = bd_rate(RATES, PSNR, [r * factor for r in RATES], PSNR)
    assert result.value == pytest.approx(expected, abs=1e-9)


def test_point_order_does_not_matter() -> None:
    shuffled = [2, 0, 3, 1]
    half = [RATES[i] / 2 for i in shuffled]
    result = bd_rate(RATES[::-1], PSNR[::-1], half, [PSNR[i] for i in shuffled])
    assert result.value == pytest.approx(-50.0, abs=1e-9)


def test_lpips_as_one_minus_lpips() -> None:
    lpips = np.array([0.40, 0.30, 0.22, 0.15])          # falls with rate: lower is better
    quality = quality_for_bd("lpips_alex", lpips)
    assert np.allclose(quality, 1 - lpips)
    assert np.array_equal(quality_for_bd("psnr_rgb", PSNR), np.array(PSNR))
    result = bd_rate(RATES, quality, [r / 2 for r in RATES], quality)
    assert result.value == pytest.approx(-50.0, abs=1e-9)


def test_better_quality_at_same_rate_is_negative() -> None:
    result = bd_rate(RATES, PSNR, RATES, [q + 0.5 for q in PSNR])
    assert result.value < 0
    assert not result.warnings


def test_no_quality_overlap_is_nan_with_warning() -> None:
    result = bd_rate(RATES, PSNR, RATES, [q - 10 for q in PSNR])
    assert math.isnan(result.value)
    assert result.quality_overlap == 0
    assert any("no quality overlap" in w for w in result.warnings)


def test_small_overlap_warns_but_computes() -> None:
    # Test curve shares only 28..29.5 dB of the anchor's 28..35 dB: about 21 %.
    result = bd_rate(RATES, PSNR, [5.0, 8.0, 12.0, 18.0], [24.0, 26.0, 28.0, 29.5])
    assert not math.isnan(result.value)
    assert result.quality_overlap == pytest.approx(1.5 / 7.0)
    assert any("quality ranges overlap on 21%" in w for w in result.warnings)


def test_rate_overlap_warning() -> None:
    # Same quality range, rates 100x lower: the log-rate ranges do not meet at all.
    result = bd_rate(RATES, PSNR, [r / 100 for r in RATES], PSNR)
    assert result.value == pytest.approx(-99.0, abs=1e-9)
    assert result.rate_overlap == 0
    assert any("log-rate ranges overlap" in w for w in result.warnings)


def test_equal_quality_points_cannot_be_interpolated() -> None:
    result = bd_rate(RATES, [28.0, 31.0, 31.0, 35.0], RATES, PSNR)
    assert math.isnan(result.value)
    assert "equal quality" in result.warnings[0]


def test_non_monotonic_curve_is_flagged() -> None:
    result = bd_rate(RATES, PSNR, [10.0, 25.0, 20.0, 80.0], PSNR)
    assert any("not monotonic" in w for w in result.warnings)


def test_missing_point_is_nan() -> None:
    result = bd_rate(RATES, PSNR, RATES, [28.0, math.nan, 33.5, 35.0])
    assert math.isnan(result.value)
