"""The flow-and-occlusion network (issue 14 item 5) and what trains it on another machine: the
network's geometry and start, its weights files and resume in tools/train_generator.py, and
the training-data pack of tools/generator_pack.py (written from real clips, read back without
the face analysis)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ifvc_synthesis.generators.flow_occlusion_net import (OCCLUSION_INIT_LOGIT, FlowOcclusionConfig,
                                                          FlowOcclusionNet)
from ifvc_synthesis.generators.refine_net import FLOW_SCALE, IN_CHANNELS
from tools.train_generator import (MODELS, PerceptualLoss, Sample, TrainConfig, Trainer, augment, augment_on_device,
                                   build_parser, load_model_file, load_pack_clips, model_kind, save_weights,
                                   validation_pairs)
from tools.train_generator import main as train_main

SMALL = FlowOcclusionConfig(motion_widths=(8, 8, 16, 16), feature_widths=(8, 8, 16), res_blocks=1)


def _inputs(shift_x: float, size: int = 32, seed: int = 3) -> torch.Tensor:
    """Inputs whose IDI flow is a uniform shift of the key frame by shift_x pixels."""
    rng = np.random.default_rng(seed)
    x = np.zeros((1, IN_CHANNELS, size, size), np.float32)
    x[0, 3:6] = rng.uniform(-1, 1, (3, size, size))
    x[0, 6] = shift_x / FLOW_SCALE
    return torch.from_numpy(x)


def test_an_untrained_network_is_the_warp_of_the_key_frame() -> None:
    torch.manual_seed(0)
    net = FlowOcclusionNet(SMALL).eval()
    x = _inputs(2.0)
    with torch.no_grad():
        grid, occ = net.motion_and_occlusion(x)
        y = net(x)
    # zero correction: output pixel (i, j) samples the key frame at (i + 2, j)
    assert torch.allclose(occ, torch.full_like(occ, float(torch.sigmoid(torch.tensor(OCCLUSION_INIT_LOGIT)))))
    key = x[0, 3:6]
    shifted = key[:, :, 2:]
    assert torch.allclose(grid[0, :, :, 0], (torch.arange(32.0) + 2) * 2 / 31 - 1, atol=1e-6)
    # 98 % the shifted key frame, 2 % the decoder's tanh output: within 0.04 of the shift
    assert float((y[0, :, :, :-2] - shifted).abs().max()) < 0.04
    assert y.shape == (1, 3, 32, 32) and float(y.abs().max()) <= 1.0


def test_every_parameter_learns_after_one_step() -> None:
    torch.manual_seed(0)
    net = FlowOcclusionNet(SMALL)
    x = _inputs(1.5)
    target = torch.roll(x[:, 3:6], shifts=-1, dims=3)
    loss = (net(x) - target).abs().mean()
    loss.backward()
    # the heads start at zero weights; the rest gets gradients through them only after a step,
    # so the heads must get theirs now
    assert float(net.motion.head.weight.grad.abs().sum()) > 0
    assert float(net.out.weight.grad.abs().sum()) > 0


def test_bad_input_shapes_are_refused() -> None:
    net = FlowOcclusionNet(SMALL)
    with pytest.raises(ValueError, match="multiples of 8"):
        net(torch.zeros(1, IN_CHANNELS, 30, 32))
    with pytest.raises(ValueError, match="N x 10"):
        net(torch.zeros(1, 9, 32, 32))


def test_config_and_weights_file_roundtrip(tmp_path: Path) -> None:
    assert FlowOcclusionConfig.from_json_dict(SMALL.to_json_dict()) == SMALL
    net = FlowOcclusionNet(SMALL)
    path = tmp_path / "flow.safetensors"
    save_weights(net, path)
    back = load_model_file(path)
    assert model_kind(back) == "flow-occlusion" and back.config == SMALL
    for k, v in net.state_dict().items():
        assert torch.equal(v, back.state_dict()[k]), k
    assert set(MODELS) == {"refine", "flow-occlusion", "flow-occlusion-layered"}


def test_training_steps_and_resume_keep_the_model_kind(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    cfg = TrainConfig(crop=32, batch=2, seed=7, model="flow-occlusion")
    perceptual = PerceptualLoss(pretrained=False)
    a = Trainer(tmp_path / "run", cfg, model_config=SMALL, perceptual=perceptual)
    assert isinstance(a.model, FlowOcclusionNet)
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (2, IN_CHANNELS, 32, 32)).astype(np.float32)
    x[:, 6:8] *= 0.1
    y = np.clip(x[:, 3:6] + rng.normal(0, 0.05, (2, 3, 32, 32)), -1, 1).astype(np.float32)
    first = a.train_step(x, y)
    second = a.train_step(x, y)
    assert all(np.isfinite(v) for v in (*first.values(), *second.values()))
    a.save()
    b = Trainer(tmp_path / "run", cfg, model_config=SMALL, perceptual=perceptual)
    assert b.resume() and b.step == 2
    refine = TrainConfig(crop=32, batch=2, seed=7)
    with pytest.raises(ValueError, match="trains the flow-occlusion network, not refine"):
        Trainer(tmp_path / "run", refine, perceptual=perceptual).resume()
    coded = TrainConfig(crop=32, batch=2, seed=7, model="flow-occlusion", key_qps=(22, 42), val_key_qp=32)
    with pytest.raises(ValueError, match="trained with --key-qps none, --val-key-qp None and --key-preset medium"):
        Trainer(tmp_path / "run", coded, model_config=SMALL, perceptual=perceptual).resume()


@pytest.mark.parametrize("crop", [16, 32])
def test_augmentation_on_the_device_equals_the_numpy_one(crop: int) -> None:
    """The GPU run's batch (augment_on_device) is augment()'s: same draws, same arithmetic."""
    rng = np.random.default_rng(11)
    samples = [Sample(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), rng.integers(0, 256, (32, 32, 3), dtype=np.uint8),
                      rng.normal(0, 0.3, (2, 32, 32)).astype(np.float16), rng.integers(0, 256, (2, 32, 32), dtype=np.uint8),
                      rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)) for _ in range(6)]
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    expected = [augment(s, crop, a) for s in samples]
    x, y = augment_on_device(samples, crop, b, torch.device("cpu"))
    assert a.random() == b.random()                    # the same number of draws
    np.testing.assert_allclose(x.numpy(), np.stack([e[0] for e in expected]), atol=2e-6)
    np.testing.assert_allclose(y.numpy(), np.stack([e[1] for e in expected]), atol=2e-6)


def test_command_line_knows_the_model_and_the_pack() -> None:
    args = build_parser().parse_args(["train", "--model", "flow-occlusion", "--pack", "P", "--crop", "256"])
    assert args.model == "flow-occlusion" and args.pack == Path("P") and args.crop == 256
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--model", "gan"])


def test_compare_devices_without_cuda_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    with pytest.raises(SystemExit) as exc:
        train_main(["compare-devices", "--pack", "P"])
    assert exc.value.code == 2
    assert "no CUDA device available" in capsys.readouterr().err


# -- the pack, from real clips ------------------------------------------------------------------
@pytest.fixture(scope="module")
def pack(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pack of the first train and validation clip (prepared and analysed here)."""
    import os
    from tools import semantics_cache
    from tools.generator_pack import main as pack_main
    from tools.prepare_sequences import main as prepare_main
    work = tmp_path_factory.mktemp("pack")
    split = semantics_cache.load_split()
    names = [split["train"][0], split["validation"][0]]
    assert prepare_main(["--raw", str(shared_data / "faces" / "raw"), "--out", str(work / "work" / "sequences"),
                         "--only", *names, "--max-frames", "40"]) == 0
    cwd = os.getcwd()
    os.chdir(work)                      # the semantics cache and key frames live under ./work
    try:
        assert pack_main(["write", "--out", str(work / "pack"), "--stride", "10", "--limit-clips", "1"]) == 0
    finally:
        os.chdir(cwd)
    return work / "pack"


def test_pack_holds_what_training_needs(pack: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tools.generator_pack import main as pack_main
    manifest = json.loads((pack / "manifest.json").read_text())
    train, val = manifest["clips"]
    assert (train["split"], val["split"]) == ("train", "validation")
    assert train["frames"] >= 4 and val["frames"] == 9          # frame 0 and 8 validation drives
    assert pack_main(["check", "--pack", str(pack)]) == 0
    clips = load_pack_clips(pack, "train")
    assert len(clips) == 1 and clips[0].drive_stride == 1
    c = clips[0]
    assert c.frames.shape[1:] == (256, 256, 3) and len(c.values) == len(c.frames)
    assert all(0 <= k.frame < len(c.frames) for k in c.keys) and c.keys
    val_clip = load_pack_clips(pack, "validation")[0]
    assert val_clip.validation_drives is not None and len(validation_pairs([val_clip])) == 8


def test_compare_devices_on_one_device_gives_identical_outputs(pack: Path, tmp_path: Path) -> None:
    """The comparison's code path on a machine without CUDA: CPU against CPU must agree exactly."""
    weights = tmp_path / "w.safetensors"
    torch.manual_seed(0)
    save_weights(FlowOcclusionNet(SMALL), weights)
    out = tmp_path / "cmp.json"
    assert train_main(["compare-devices", "--weights", str(weights), "--pack", str(pack),
                       "--devices", "cpu", "cpu", "--threads", "1", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["pairs"] == 8 and res["max_abs_diff"] == 0 and res["devices"] == ["cpu", "cpu"]


def test_a_failed_pack_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No prepared sequences here: one-line error, exit 2, neither the pack nor its staging folder."""
    from tools.generator_pack import main as pack_main
    monkeypatch.chdir(tmp_path)
    assert pack_main(["write", "--out", str(tmp_path / "pack"), "--limit-clips", "1"]) == 2
    assert not (tmp_path / "pack").exists() and not (tmp_path / "pack.partial").exists()


def test_an_altered_pack_is_refused(pack: Path, tmp_path: Path) -> None:
    import shutil
    from tools.generator_pack import PackError, main as pack_main
    copy = tmp_path / "pack"
    shutil.copytree(pack, copy)
    victim = next(copy.glob("*.npz"))
    data = bytearray(victim.read_bytes())
    data[-10] ^= 0xFF
    victim.write_bytes(bytes(data))
    assert pack_main(["check", "--pack", str(copy)]) == 2
    split = next(e["split"] for e in json.loads((copy / "manifest.json").read_text())["clips"]
                 if e["file"] == victim.name)
    with pytest.raises(PackError, match="SHA-256"):
        load_pack_clips(copy, split)
    (copy / "manifest.json").unlink()
    assert pack_main(["check", "--pack", str(copy)]) == 2


def test_prefilled_pairs_are_the_pairs_computed_on_first_use(pack: Path) -> None:
    """--prefill-workers computes the training pairs in forked processes before the first step;
    each must be the sample that PairPool.get computes when a batch first draws it."""
    from tools.train_generator import PairPool
    clips = load_pack_clips(pack, "train")
    prefilled, lazy = PairPool(clips), PairPool(clips)
    prefilled.prefill(2)
    assert sorted(prefilled.cache) == list(range(len(prefilled))) and len(prefilled) > 2
    for i in range(len(lazy)):
        a, b = prefilled.get(i), lazy.get(i)
        for name in ("warp", "key", "flow", "masks", "target"):
            assert np.array_equal(getattr(a, name), getattr(b, name)), (i, name)


def test_prefill_workers_must_not_be_negative(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        train_main(["train", "--prefill-workers", "-1"])
    assert exc.value.code == 2
    assert "--prefill-workers must be 0 or more" in capsys.readouterr().err
