"""tools/anchor_preset_study.py's BD-rate tables on hand-made curves (no encoding)."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from tools.anchor_preset_study import bd_table, report, _cfg_settings

KBPS = [10.0, 20.0, 40.0, 80.0]
PSNR = [30.0, 33.0, 36.0, 39.0]
LPIPS = [0.30, 0.25, 0.20, 0.15]


def _rows(codec: str, sequence: str, rate_factor: float) -> list[dict]:
    return [{"sequence": sequence, "codec": codec, "qp": qp, "kbps": kbps * rate_factor,
             "psnr_rgb": psnr, "lpips_vgg": lpips, "encode_seconds": 10.0,
             "encode_seconds_per_frame": 0.1, "cpu_seconds": 5.0}
            for qp, kbps, psnr, lpips in zip((37, 42, 47, 52), KBPS, PSNR, LPIPS)]


def test_half_the_bits_at_the_same_quality_is_minus_50_percent() -> None:
    """Same quality at every point with half (or twice) the rate: the log-rate curves are a
    constant log10(2) apart, so BD-rate is exactly -50 % (or +100 %), on a higher-is-better
    metric and on a lower-is-better one (1 - LPIPS) alike."""
    rows = (_rows("vtm", "a", 1.0) + _rows("faster", "a", 2.0) + _rows("slower", "a", 0.5)
            + _rows("vtm", "b", 1.0) + _rows("faster", "b", 2.0) + _rows("slower", "b", 0.5))
    table = bd_table(rows, ["faster", "slower", "vtm"], ["psnr_rgb", "lpips_vgg"], "vtm")
    for metric in ("psnr_rgb", "lpips_vgg"):
        assert table["faster"][metric]["mean"] == pytest.approx(100.0, abs=1e-6)
        assert table["slower"][metric]["a"] == pytest.approx(-50.0, abs=1e-6)
        assert table["vtm"][metric]["mean"] == pytest.approx(0.0, abs=1e-9)
    text = report(rows, ["faster", "slower", "vtm"], 100, ["psnr_rgb", "lpips_vgg"],
                  ["faster", "slower"])
    assert "BD-rate against vtm" in text and "BD-rate against faster" in text
    assert "| faster | +100.0% (+100.0, +100.0) |" in text


def test_an_undefined_bd_rate_is_nan_and_left_out_of_the_mean() -> None:
    """Curves that share no quality interval have no BD-rate."""
    rows = _rows("vtm", "a", 1.0) + _rows("faster", "a", 1.0)
    for row in rows:
        if row["codec"] == "faster":
            row["psnr_rgb"] += 20.0
    table = bd_table(rows, ["faster"], ["psnr_rgb"], "vtm")
    assert math.isnan(table["faster"]["psnr_rgb"]["a"])
    assert math.isnan(table["faster"]["psnr_rgb"]["mean"])


def test_cfg_settings_drop_comments(tmp_path: Path) -> None:
    cfg = tmp_path / "x.cfg"
    cfg.write_text("#======== Coding Structure =====\nIntraPeriod : -1   # one intra\n"
                   "GOPSize                       : 8\nFrame1: B   1   5  -6.5\n\n")
    assert _cfg_settings(cfg) == {"IntraPeriod": "-1", "GOPSize": "8", "Frame1": "B   1   5  -6.5"}
