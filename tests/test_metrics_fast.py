"""The fast paths of LPIPS and DISTS (batches, source features computed once and reused,
the source-feature cache) agree with the one-pair definition ``model(x, y)`` within 1e-6."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.campaign.cell_metrics import cell_frame_metrics, cells_frame_metrics, frame_metrics
from conformance.metrics import DISTS, LPIPS, SourceFeatureCache, dists_frames, frame_scores_many, lpips_frames
from conformance.metrics.aggregate import network_model
from conformance.metrics.source_cache import SOURCE_FEATURES_VERSION, frames_sha256, source_key

TOLERANCE = 1e-6
NETWORK = ("lpips_alex", "lpips_vgg", "dists")
CPU = torch.device("cpu")


pytestmark = pytest.mark.usefixtures("one_torch_thread")      # tests/conftest.py


@pytest.fixture(scope="module")
def definitions() -> dict[str, torch.nn.Module]:
    """Freshly built models in their default layout: the one-pair reference computation."""
    return {"lpips_alex": LPIPS("alex"), "lpips_vgg": LPIPS("vgg"), "dists": DISTS()}


def clip(frames: int, size: int, seed: int) -> np.ndarray:
    """Smooth moving gradients with a disc and mild noise: image-like small frames."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(float)
    out = []
    for t in range(frames):
        disc = ((yy - size / 2 - t) ** 2 + (xx - size / 2) ** 2 < (size / 4) ** 2) * 90
        base = np.stack([xx * 200 / size, yy * 200 / size + disc, 180 - disc], axis=-1)
        out.append(np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8))
    return np.stack(out)


def distort(frames: np.ndarray, amplitude: int, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).integers(-amplitude, amplitude + 1, frames.shape)
    return np.clip(frames.astype(int) + noise, 0, 255).astype(np.uint8)


def one_pair_scores(model: torch.nn.Module, reference: np.ndarray, distorted: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return np.array([float(model(model.to_input(reference[i:i + 1], CPU),
                                     model.to_input(distorted[i:i + 1], CPU))[0])
                         for i in range(reference.shape[0])])


@settings(max_examples=4)
@given(seed=st.integers(0, 2**16), batch=st.integers(1, 3), size=st.sampled_from([32, 48]))
def test_batched_and_cached_match_one_pair(definitions: dict[str, torch.nn.Module], seed: int,
                                           batch: int, size: int) -> None:
    reference = clip(3, size, seed)
    versions = [distort(reference, amplitude, seed + k) for k, amplitude in enumerate((4, 20, 50))]
    cache = SourceFeatureCache(2**30)
    for name in NETWORK:
        expected = [one_pair_scores(definitions[name], reference, version) for version in versions]
        fast = frame_scores_many(reference, versions, [name], batch_size=batch, device="cpu", cache=cache)
        again = frame_scores_many(reference, versions, [name], batch_size=batch, device="cpu", cache=cache)
        for want, got, got_again in zip(expected, fast, again):
            np.testing.assert_allclose(got[name], want, rtol=0, atol=TOLERANCE)
            np.testing.assert_allclose(got_again[name], want, rtol=0, atol=TOLERANCE)
    assert cache.hits > 0  # the second pass read the source features from the cache


def test_frames_functions_match_one_pair(definitions: dict[str, torch.nn.Module]) -> None:
    reference = clip(4, 40, 7)
    distorted = distort(reference, 30, 8)
    for batch in (1, 4):
        np.testing.assert_allclose(lpips_frames(reference, distorted, "alex", batch_size=batch, device="cpu"),
                                   one_pair_scores(definitions["lpips_alex"], reference, distorted),
                                   rtol=0, atol=TOLERANCE)
        np.testing.assert_allclose(lpips_frames(reference, distorted, "vgg", batch_size=batch, device="cpu"),
                                   one_pair_scores(definitions["lpips_vgg"], reference, distorted),
                                   rtol=0, atol=TOLERANCE)
        np.testing.assert_allclose(dists_frames(reference, distorted, batch_size=batch, device="cpu"),
                                   one_pair_scores(definitions["dists"], reference, distorted),
                                   rtol=0, atol=TOLERANCE)


def test_source_key_changes_with_what_features_depend_on() -> None:
    frames = clip(2, 32, 1)
    other = frames.copy()
    other[1, 5, 5, 0] ^= 1  # one bit of one sample
    key = source_key("lpips_vgg", "a" * 64, CPU, frames)
    assert key == source_key("lpips_vgg", "a" * 64, CPU, frames.copy())
    assert key != source_key("lpips_vgg", "a" * 64, CPU, other)
    assert key != source_key("dists", "a" * 64, CPU, frames)
    assert key != source_key("lpips_vgg", "b" * 64, CPU, frames)
    assert key != source_key("lpips_vgg", "a" * 64, CPU, frames[:1])
    # Same bytes, other shape: a different source.
    assert frames_sha256(frames) != frames_sha256(frames.reshape(2, 16, 64, 3))
    assert SOURCE_FEATURES_VERSION >= 1


def test_cache_reuses_only_the_same_source(definitions: dict[str, torch.nn.Module]) -> None:
    """A cache filled with one source never answers for another: the scores of a second
    source through the same cache are that source's own."""
    first, second = clip(2, 32, 3), clip(2, 32, 4)
    distorted = distort(second, 25, 5)
    cache = SourceFeatureCache(2**30)
    lpips_frames(first, distort(first, 25, 6), "alex", device="cpu", cache=cache)
    hits = cache.hits
    got = lpips_frames(second, distorted, "alex", device="cpu", cache=cache)
    assert cache.hits == hits
    np.testing.assert_allclose(got, one_pair_scores(definitions["lpips_alex"], second, distorted),
                               rtol=0, atol=TOLERANCE)


def test_cache_memory_is_bounded() -> None:
    one_mib = torch.zeros(2**18)  # 1 MiB of float32
    cache = SourceFeatureCache(3 * 2**20)
    assert all(cache.put("seq-a", f"a{i}", [one_mib]) for i in range(3))
    assert not cache.put("seq-a", "a3", [one_mib])   # full: the frames that fit stay
    assert cache.bytes == 3 * 2**20
    assert cache.get("seq-a", "a0") is not None and cache.get("seq-a", "a3") is None
    assert cache.put("seq-b", "b0", [one_mib])       # a new sequence pushes the older one out
    assert cache.sequences() == ("seq-b",)
    assert cache.bytes == 2**20
    with pytest.raises(ValueError, match="max_bytes"):
        SourceFeatureCache(-1)


def test_source_features_are_not_changed_by_scoring() -> None:
    """Reused features must stay as computed: scoring never writes into them."""
    reference = clip(2, 32, 9)
    for name in NETWORK:
        model = network_model(name, CPU)
        with torch.inference_mode():
            source = model.source_features(model.to_input(reference, CPU))
            before = [t.clone() for t in _tensors(source)]
            model.score_against(source, model.to_input(distort(reference, 30, 10), CPU))
            assert all(torch.equal(a, b) for a, b in zip(before, _tensors(source)))


def _tensors(features: object) -> list[torch.Tensor]:
    if torch.is_tensor(features):
        return [features]
    return [t for item in features for t in _tensors(item)]


def write_rgb(path: Path, frames: np.ndarray) -> Path:
    frames.transpose(0, 3, 1, 2).tofile(path)  # RGB 4:4:4 planar
    return path


def test_cells_of_a_sequence_in_one_pass(tmp_path: Path) -> None:
    reference = clip(5, 32, 11)
    versions = [distort(reference, amplitude, 12 + k) for k, amplitude in enumerate((6, 30))]
    ref_path = write_rgb(tmp_path / "ref.rgb", reference)
    paths = [write_rgb(tmp_path / f"dec{k}.rgb", v) for k, v in enumerate(versions)]
    metrics = ("psnr_rgb", "lpips_alex", "lpips_vgg", "dists")
    together = cells_frame_metrics(ref_path, paths, 5, 32, 32, metrics, ("lpips_vgg", "dists"), 2)
    for path, version, table in zip(paths, versions, together):
        alone = cell_frame_metrics(ref_path, path, 5, 32, 32, metrics, ("lpips_vgg", "dists"), 2)
        uncached = frame_metrics(reference, version, metrics, ("lpips_vgg", "dists"), 2, cache=None)
        for other in (alone, uncached):
            assert list(other.columns) == list(table.columns)
            np.testing.assert_allclose(table.to_numpy(), other.to_numpy(), rtol=0, atol=TOLERANCE)
        assert table["lpips_vgg"].isna().sum() == 3 and table["lpips_alex"].notna().all()
    with pytest.raises(ValueError, match="frames"):
        cells_frame_metrics(ref_path, paths, 4, 32, 32, metrics, (), 1)


def test_cells_after_the_first_reuse_the_source(tmp_path: Path) -> None:
    """Two cells of one source through one cache: the second computes no source features,
    and the strided subset shares the whole source's cache group."""
    reference = clip(4, 32, 13)
    cache = SourceFeatureCache(2**30)
    metrics = ("lpips_alex", "lpips_vgg")
    first = frame_metrics(reference, distort(reference, 10, 14), metrics, ("lpips_vgg",), 2, cache=cache)
    misses = cache.misses
    second = frame_metrics(reference, distort(reference, 40, 15), metrics, ("lpips_vgg",), 2, cache=cache)
    assert cache.misses == misses and cache.hits == misses
    assert len(cache.sequences()) == 1
    assert (second["lpips_alex"] > first["lpips_alex"]).all()  # more noise, larger distance
