"""Per-frame scores, per-sequence means and the mean over sequences."""
from __future__ import annotations

import numpy as np
import pytest

from conformance.metrics import (DEFAULT_METRICS, PSNR_CAP_DB, frame_scores, mean_over_sequences,
                                 psnr_rgb, sequence_mean)


def sequence(seed: int, frames: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (frames, 16, 16, 3), dtype=np.uint8)


def test_frame_scores_per_metric() -> None:
    ref, dis = sequence(0, 3), sequence(1, 3)
    dis[1] = ref[1]  # one perfect frame
    scores = frame_scores(ref, dis, ["psnr_rgb", "psnr_y", "psnr_yuv420", "ssim_y"])
    assert set(scores) == {"psnr_rgb", "psnr_y", "psnr_yuv420", "ssim_y"}
    assert all(values.shape == (3,) for values in scores.values())
    assert scores["psnr_rgb"][1] == PSNR_CAP_DB and scores["ssim_y"][1] == pytest.approx(1.0)
    assert scores["psnr_rgb"][0] == pytest.approx(psnr_rgb(ref[0], dis[0]))
    assert set(DEFAULT_METRICS) >= {"psnr_rgb", "psnr_y", "lpips_alex", "lpips_vgg", "dists"}


def test_means_weight_sequences_equally() -> None:
    short = sequence_mean({"psnr_rgb": np.array([30.0])})
    long = sequence_mean({"psnr_rgb": np.array([40.0, 42.0, 44.0])})
    assert long == {"psnr_rgb": 42.0}
    assert mean_over_sequences([short, long]) == {"psnr_rgb": 36.0}  # not the frame mean 39


def test_aggregation_errors() -> None:
    with pytest.raises(ValueError, match="unknown metrics"):
        frame_scores(sequence(0, 1), sequence(1, 1), ["vmaf"])
    with pytest.raises(ValueError, match="frame counts differ"):
        frame_scores(sequence(0, 2), sequence(1, 3), ["psnr_y"])
    with pytest.raises(ValueError, match="has metrics"):
        mean_over_sequences([{"psnr_y": 1.0}, {"dists": 0.1}])
    with pytest.raises(ValueError, match="no sequences"):
        mean_over_sequences([])
    with pytest.raises(ValueError, match="mixes frame sizes"):
        frame_scores([sequence(0, 1)[0], sequence(0, 1)[0][:8]], sequence(1, 2), ["psnr_y"])
