"""The learned generator "ifvc-refine-1": RefineNet, weights files, the generator protocol and
the training pipeline (tools/train_generator.py) on synthetic data (no prepared sequences)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open

from bitstream.semantic_elements import SEMANTIC_ELEMENTS
from ifvc_synthesis.generators import Generator, GeometricGenerator, known_generators
from ifvc_synthesis.generators.layered import LayeredGenerator
from ifvc_synthesis.generators.learned import (NAME, WEIGHTS_FILE, LearnedGenerator, WeightsError, build_model,
                                            geometric_pass, load_weights, network_inputs)
from ifvc_synthesis.generators.refine_net import IN_CHANNELS, RefineConfig, RefineNet, parameter_count
from tools.train_generator import (LPIPSLoss, PerceptualLoss, Sample, TrainConfig, Trainer, augment, build_parser,
                                   load_model_file, make_perceptual, save_weights)
from tools.train_generator import main as train_main

N = len(SEMANTIC_ELEMENTS)
I = {e.name: i for i, e in enumerate(SEMANTIC_ELEMENTS)}
SMALL = RefineConfig(widths=(8, 8, 16, 16), res_blocks=1)


def _values(yaw: float = 0.0, mouth: float = 0.0) -> np.ndarray:
    v = np.zeros(N)
    v[I["eye_blink_left"]] = v[I["eye_blink_right"]] = 1.0
    v[0] = yaw
    v[I["mouth_open"]] = mouth
    return v


def _key_picture() -> np.ndarray:
    rng = np.random.default_rng(5)
    y, x = np.mgrid[0:256, 0:256]
    pic = np.stack([x, y, (x + y) // 2], axis=2).astype(np.float64)
    return np.clip(pic + rng.normal(0, 8, pic.shape), 0, 255).astype(np.uint8)


def _randomised(model: RefineNet, seed: int = 0) -> RefineNet:
    """A model whose output layer is not zero (a trained-like network, not the identity)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.05)
    return model.eval()


def _learned(model: RefineNet) -> LearnedGenerator:
    gen = LearnedGenerator(model=model, num_threads=1)
    gen.set_keyframe(_key_picture(), _values(), b"", 0)     # canonical geometry (version 0)
    return gen


# -- the network -------------------------------------------------------------------------------
def test_forward_shapes_and_identity_start() -> None:
    model = RefineNet().eval()
    assert 300_000 < parameter_count(model) < 1_000_000
    x = torch.rand(2, IN_CHANNELS, 64, 96) * 2 - 1
    with torch.no_grad():
        y = model(x)
    assert y.shape == (2, 3, 64, 96)
    # the zero-initialised output layer makes an untrained network pass the warp through
    assert torch.equal(y, x[:, :3])
    with pytest.raises(ValueError, match="multiples of 8"):
        model(torch.zeros(1, IN_CHANNELS, 60, 64))
    with pytest.raises(ValueError, match="10"):
        model(torch.zeros(1, 3, 64, 64))


def test_zero_mean_residual() -> None:
    cfg = RefineConfig(widths=(8, 8, 16, 16), res_blocks=1, zero_mean_residual=True)
    assert RefineConfig.from_json_dict(json.loads(json.dumps(cfg.to_json_dict()))) == cfg
    # configs written before the option existed load as the plain residual
    old = {"widths": [16, 32, 64, 96], "res_blocks": 2}
    assert RefineConfig.from_json_dict(old) == RefineConfig()
    x = torch.rand(2, IN_CHANNELS, 32, 48) * 2 - 1
    x[:, :3] *= 0.1                        # keep the output away from the clamp
    with torch.no_grad():
        assert torch.equal(RefineNet(cfg).eval()(x), x[:, :3])     # zero-initialised: the identity
        model = _randomised(RefineNet(cfg))
        for p in model.out.parameters():
            p.mul_(0.1)
        residual = model(x) - x[:, :3]
    assert residual.abs().max() > 1e-4
    # no global colour shift: the residual's mean over the picture is zero per channel
    assert residual.mean(dim=(2, 3)).abs().max() < 1e-5


# -- weights files -------------------------------------------------------------------------------
def test_safetensors_round_trip_and_hash_check(tmp_path: Path) -> None:
    model = _randomised(RefineNet(SMALL))
    path = tmp_path / "w.safetensors"
    save_weights(model, path)
    head = path.read_bytes()
    assert head[0] != 0x80 and json.loads(head[8:8 + int.from_bytes(head[:8], "little")])  # JSON header, no pickle
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    config, tensors = load_weights(path, digest)
    assert config == SMALL
    loaded = build_model(config, tensors)
    for k, v in model.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k]), k
    gen = LearnedGenerator(path, digest, num_threads=1)
    assert gen.weights_sha256 == bytes.fromhex(digest)

    data = bytearray(path.read_bytes())
    data[-3] ^= 0x01                                                    # one bit of one weight
    tampered = tmp_path / "tampered.safetensors"
    tampered.write_bytes(bytes(data))
    with pytest.raises(WeightsError) as exc:
        LearnedGenerator(tampered, digest, num_threads=1)
    assert str(tampered) in str(exc.value) and digest in str(exc.value)
    missing = tmp_path / "missing.safetensors"
    with pytest.raises(WeightsError) as exc:
        load_weights(missing, digest)
    assert str(missing) in str(exc.value) and digest in str(exc.value) and "not found" in str(exc.value)
    with pytest.raises(WeightsError, match="no SHA-256 is pinned"):
        load_weights(path, "")


def test_weights_of_another_shape_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    save_weights(RefineNet(SMALL), path)
    _, tensors = load_weights(path, hashlib.sha256(path.read_bytes()).hexdigest())
    with pytest.raises(WeightsError, match="do not fit"):
        build_model(RefineConfig(), tensors)


# -- the generator -------------------------------------------------------------------------------
def test_generator_protocol_and_geometric_pass() -> None:
    gen = _learned(_randomised(RefineNet(SMALL)))
    assert isinstance(gen, Generator)
    assert gen.name == NAME and len(gen.weights_sha256) == 32
    target = _values(yaw=12.0, mouth=0.6)
    out = gen.synthesize(target)
    assert out.shape == (256, 256, 3) and out.dtype == np.uint8
    # the geometric pass that feeds the network is exactly the geometric generator
    geo = GeometricGenerator()
    geo.set_keyframe(_key_picture(), _values(), b"", 0)
    assert np.array_equal(geometric_pass(geo, target).image, geo.synthesize(target))
    x, warp = network_inputs(geo, target)
    assert x.shape == (IN_CHANNELS, 256, 256) and np.array_equal(warp, geo.synthesize(target))
    assert np.abs(x[6:8]).max() > 0.01                    # a head turn moves pixels: flow is not zero
    assert 0.0 <= x[8:10].min() and x[8:10].max() <= 1.0 and x[9].sum() > 10   # eyes are drawn
    # an untrained network gives the geometric generator's frames
    assert np.array_equal(_learned(RefineNet(SMALL)).synthesize(target), geo.synthesize(target))
    with pytest.raises(RuntimeError, match="set_keyframe"):
        LearnedGenerator(model=RefineNet(SMALL), num_threads=1).synthesize(target)


def test_the_layered_pass_can_feed_the_network() -> None:
    """tools/train_generator.py --base ifvc-geometric-2: the network refines the layered pass,
    whose picture, motion field and target geometry have geometric-1's form."""
    target = _values(yaw=12.0, mouth=0.6)
    layered = LayeredGenerator()
    layered.set_keyframe(_key_picture(), _values(), b"", 0)
    x, warp = network_inputs(layered, target)
    assert x.shape == (IN_CHANNELS, 256, 256) and np.array_equal(warp, layered.synthesize(target))
    geo = GeometricGenerator()
    geo.set_keyframe(_key_picture(), _values(), b"", 0)
    assert not np.array_equal(warp, geo.synthesize(target))
    # an untrained network on the layered pass gives the layered generator's frames
    gen = LearnedGenerator(model=RefineNet(SMALL), num_threads=1, geometric=LayeredGenerator())
    gen.set_keyframe(_key_picture(), _values(), b"", 0)
    assert np.array_equal(gen.synthesize(target), warp)


def test_inference_is_deterministic() -> None:
    model = _randomised(RefineNet(SMALL), seed=3)
    target = _values(yaw=-8.0, mouth=0.3)
    a = _learned(model).synthesize(target)
    b = _learned(model).synthesize(target)
    gen = _learned(model)
    c, d = gen.synthesize(target), gen.synthesize(target)
    assert np.array_equal(a, b) and np.array_equal(a, c) and np.array_equal(c, d)
    assert not np.array_equal(a, _learned(RefineNet(SMALL)).synthesize(target))   # the network acts


def test_registration_follows_the_weights_file() -> None:
    if WEIGHTS_FILE.is_file():
        from ifvc_synthesis.generators import get_generator
        gen = get_generator(NAME)
        assert gen.weights_sha256 == hashlib.sha256(WEIGHTS_FILE.read_bytes()).digest()
        assert WEIGHTS_FILE.stat().st_size < 8 * 2**20
    else:
        assert NAME not in known_generators()
    assert "ifvc-geometric-1" in known_generators()


# -- training ------------------------------------------------------------------------------------
def test_augment_flips_consistently() -> None:
    rng = np.random.default_rng(0)
    h = w = 32
    pic = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    flow = np.stack([np.full((h, w), 0.5), np.full((h, w), -0.25)]).astype(np.float16)
    s = Sample(pic, pic, flow, np.zeros((2, h, w), np.uint8), pic)
    flips = 0
    for seed in range(8):
        x, y = augment(s, 16, np.random.default_rng(seed))
        assert x.shape == (IN_CHANNELS, 16, 16) and y.shape == (3, 16, 16)
        assert np.allclose(x[0:3], y) and np.allclose(x[3:6], y)        # one jitter for all pictures
        assert np.allclose(x[7], -0.25)
        flips += bool(np.allclose(x[6], -0.5))
        assert np.allclose(np.abs(x[6]), 0.5)
    assert 0 < flips < 8


def test_perceptual_loss_with_the_metrics_vgg() -> None:
    loss = PerceptualLoss()
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    assert float(loss(x, x)) == pytest.approx(0.0, abs=1e-6)
    assert float(loss(x, x.flip(-1))) > 0.05
    assert not any(p.requires_grad for p in loss.parameters())


def test_lpips_loss_is_a_differentiable_frozen_metric() -> None:
    loss = LPIPSLoss("vgg", pretrained=False)
    assert not any(p.requires_grad for p in loss.parameters())
    x = (torch.rand(2, 3, 32, 32) * 2 - 1).requires_grad_(True)
    y = torch.rand(2, 3, 32, 32) * 2 - 1
    assert float(loss(y, y)) == pytest.approx(0.0, abs=1e-6)
    value = loss(x, y)
    value.backward()
    assert value.ndim == 0 and x.grad is not None and x.grad.abs().sum() > 0
    assert isinstance(make_perceptual("vgg3"), PerceptualLoss)
    with pytest.raises(ValueError):
        make_perceptual("ssim")


def _batch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = rng.uniform(-1, 1, (2, IN_CHANNELS, 32, 32)).astype(np.float32)
    y = np.clip(x[:, :3] + rng.normal(0, 0.1, (2, 3, 32, 32)), -1, 1).astype(np.float32)
    return x, y


def test_two_training_steps_checkpoint_and_resume(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    cfg = TrainConfig(crop=32, batch=2, seed=7)
    perceptual = PerceptualLoss(pretrained=False)
    a = Trainer(tmp_path / "run", cfg, model_config=SMALL, perceptual=perceptual)
    for _ in range(2):
        losses = a.train_step(*_batch(a.rng))
        assert all(np.isfinite(v) for v in losses.values()) and losses["loss"] > 0
    assert a.step == 2
    a.save()
    state = json.loads((tmp_path / "run" / "state.json").read_text())
    assert state["step"] == 2
    assert load_model_file(tmp_path / "run" / "model.safetensors").config == SMALL

    b = Trainer(tmp_path / "run", cfg, model_config=SMALL, perceptual=perceptual)
    assert b.resume() and b.step == 2
    for k, v in a.model.state_dict().items():
        assert torch.equal(v, b.model.state_dict()[k]), k
    # the resumed run draws the same batch and takes the same step as the uninterrupted one
    la = a.train_step(*_batch(a.rng))
    lb = b.train_step(*_batch(b.rng))
    assert la == lb
    for k, v in a.model.state_dict().items():
        assert torch.equal(v, b.model.state_dict()[k]), k
    assert not Trainer(tmp_path / "fresh", cfg, model_config=SMALL, perceptual=perceptual).resume()
    # a run keeps the geometric pass it started with
    other = TrainConfig(crop=32, batch=2, seed=7, base="ifvc-geometric-2")
    with pytest.raises(ValueError, match="refines ifvc-geometric-1, not ifvc-geometric-2"):
        Trainer(tmp_path / "run", other, model_config=SMALL, perceptual=perceptual).resume()


def test_cuda_without_a_cuda_device_is_a_clear_error() -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    with pytest.raises(ValueError, match="no CUDA device is available"):
        LearnedGenerator(model=RefineNet(SMALL), device="cuda")


def test_training_defaults_are_the_shipped_recipe() -> None:
    """Annex F.4: `train` without options reproduces the recipe of ifvc-refine-1, whose
    weights file records the config it was trained with."""
    args = build_parser().parse_args(["train"])
    assert (args.perceptual_loss, args.l1, args.lr, args.batch, args.crop, args.seed) == \
        ("lpips-vgg", 0.05, 1e-4, 4, 128, 1234)
    assert args.zero_mean_residual and args.steps is None
    shipped = json.loads(safe_open(str(WEIGHTS_FILE), "pt").metadata()["config"])
    assert shipped["zero_mean_residual"] is True
    assert not build_parser().parse_args(["train", "--no-zero-mean-residual"]).zero_mean_residual
    with pytest.raises(SystemExit) as exit_info:                # a bad option: usage error, exit 2
        train_main(["train", "--steps", "0"])
    assert exit_info.value.code == 2
