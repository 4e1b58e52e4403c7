"""LPIPS and DISTS reproduce the values published with the reference implementations.

Sources: ../shared/data/metrics/SOURCES.md. Each value is checked to the precision it was
printed with (half a unit of the last printed digit).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conformance.metrics import DISTS, dists, lpips, lpips_frames


pytestmark = pytest.mark.usefixtures("one_torch_thread")      # tests/conftest.py


def load_rgb(folder: Path, name: str) -> np.ndarray:
    # DISTS' images are RGBA; the reference code converts them to RGB (alpha dropped).
    return np.asarray(Image.open(folder / "metrics" / name).convert("RGB"))


def assert_printed(value: float, published: float, decimals: int) -> None:
    assert abs(value - published) <= 0.5 * 10.0 ** -decimals, (value, published)


def test_lpips_vgg_published_pairs(shared_data: Path) -> None:
    ref = load_rgb(shared_data, "lpips_ex_ref.png")
    p0 = load_rgb(shared_data, "lpips_ex_p0.png")
    p1 = load_rgb(shared_data, "lpips_ex_p1.png")
    assert_printed(lpips(ref, p0, "vgg", device="cpu"), 0.569, 3)
    assert_printed(lpips(ref, p1, "vgg", device="cpu"), 0.422, 3)


def test_lpips_sequence_matches_single_pairs(shared_data: Path) -> None:
    """Batched per-frame helper gives the single-pair values, for both backbones."""
    ref = load_rgb(shared_data, "lpips_ex_ref.png")
    distorted = np.stack([load_rgb(shared_data, "lpips_ex_p0.png"), load_rgb(shared_data, "lpips_ex_p1.png")])
    for net in ("alex", "vgg"):
        single = [lpips(ref, frame, net, device="cpu") for frame in distorted]
        batched = lpips_frames(np.stack([ref, ref]), distorted, net, batch_size=2, device="cpu")
        np.testing.assert_allclose(batched, single, atol=1e-5)
        # p1 is the less distorted patch (the human judgement in the lpips repo).
        assert single[1] < single[0]


def test_lpips_alex_regression(shared_data: Path) -> None:
    """Not a published value: pinned from this implementation to catch regressions."""
    ref = load_rgb(shared_data, "lpips_ex_ref.png")
    assert lpips(ref, load_rgb(shared_data, "lpips_ex_p0.png"), "alex", device="cpu") == pytest.approx(0.72188, abs=5e-5)
    assert lpips(ref, load_rgb(shared_data, "lpips_ex_p1.png"), "alex", device="cpu") == pytest.approx(0.13757, abs=5e-5)


def test_dists_published_pair(shared_data: Path) -> None:
    r0 = load_rgb(shared_data, "dists_r0.png")
    r1 = load_rgb(shared_data, "dists_r1.png")
    assert r0.shape == (256, 256, 3)
    assert_printed(dists(r0, r1, device="cpu"), 0.3347, 4)


def test_dists_torchmetrics_random_images() -> None:
    """torchmetrics 1.9.0 DISTS docstring: seed 42, preds then target, per-image scores."""
    torch.manual_seed(42)
    preds = torch.rand(5, 3, 256, 256)
    target = torch.rand(5, 3, 256, 256)
    model = DISTS()
    with torch.inference_mode():
        scores = torch.cat([model(preds[i:i + 1], target[i:i + 1]) for i in range(5)])
    for value, published in zip(scores.tolist(), [0.1285, 0.1344, 0.1356, 0.1277, 0.1276]):
        assert_printed(value, published, 4)
