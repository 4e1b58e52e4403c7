"""The eyes-and-mouth loss of tools/train_generator.py (--feature-weight: feature_region,
feature_l1, feature_region_psnr) and the study that measures what it is for,
tools/feature_fidelity.py."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from ifvc_synthesis.generators.flow_occlusion_net import FlowOcclusionNet
from ifvc_synthesis.generators.refine_net import IN_CHANNELS
from tests.test_flow_generator import SMALL, randomised
from tools import feature_fidelity, train_generator
from tools.train_generator import (FEATURE_RADIUS, PerceptualLoss, TrainConfig, Trainer, feature_l1, feature_region,
                                   feature_region_psnr)

SUITE = Path(__file__).resolve().parents[1] / "conformance" / "streams"


def test_the_feature_region_is_both_masks_grown_by_the_radius() -> None:
    masks = torch.zeros(1, 2, 40, 40)
    masks[0, 1, 20, 10:20] = 1.0            # an eye closed to a line
    masks[0, 0, 2, 38] = 0.5                # a mouth pixel near the corner, half covered
    region = feature_region(masks)[0, 0]
    r = FEATURE_RADIUS
    assert region.shape == (40, 40)
    assert torch.all(region[20 - r:21 + r, 10 - r:20 + r] == 1.0)
    assert region[20 - r - 1, 15] == 0 and region[20, 10 - r - 1] == 0 and region[20, 20 + r] == 0
    assert torch.all(region[0:3 + r, 38 - r:40] == 0.5)     # clipped at the border, weight kept
    assert float(region.sum()) == (2 * r + 1) * (10 + 2 * r) + 0.5 * (3 + r) * (2 + r)


def test_the_feature_l1_is_the_mean_error_inside_the_region_only() -> None:
    target = torch.zeros(2, 3, 16, 16)
    pred = torch.zeros(2, 3, 16, 16, requires_grad=True)
    weight = torch.zeros(2, 1, 16, 16)
    weight[0, 0, 4:8, 4:8] = 1.0
    with torch.no_grad():
        pred[0, :, 4:8, 4:8] = 0.3           # inside
        pred[1] = 1.0                        # all of the second picture, outside its (empty) region
    loss = feature_l1(pred, target, weight)
    assert loss.item() == pytest.approx(0.3)
    loss.backward()
    assert pred.grad is not None and torch.all(pred.grad[1] == 0) and torch.all(pred.grad[0, :, 0:4] == 0)
    assert feature_l1(pred, target, torch.zeros_like(weight)).item() == 0.0


def test_the_trainer_adds_the_weighted_feature_term_to_the_loss() -> None:
    torch.set_num_threads(1)
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (2, IN_CHANNELS, 32, 32)).astype(np.float32)
    x[:, 8:10] = 0.0
    x[:, 9, 12:14, 8:24] = 1.0               # the eyes of the target
    y = np.clip(x[:, 3:6] * 0.5, -1, 1)
    losses = {}
    perceptual = PerceptualLoss(pretrained=False)        # one network: the same perceptual term in both
    for w in (0.0, 2.0):
        cfg = TrainConfig(crop=32, batch=2, seed=7, model="flow-occlusion", l1_weight=0.5, feature_weight=w)
        trainer = Trainer(Path("unused"), cfg, model_config=SMALL, perceptual=perceptual)
        trainer.model.load_state_dict(randomised(FlowOcclusionNet(SMALL)).state_dict())
        with torch.no_grad():
            pred = trainer.model(torch.from_numpy(x))
            expected_feature = feature_l1(pred, torch.from_numpy(y), feature_region(torch.from_numpy(x[:, 8:10])))
        losses[w] = trainer.train_step(x, y)
        if w == 0.0:
            assert "feature" not in losses[w]
        else:
            assert losses[w]["feature"] == pytest.approx(expected_feature.item(), rel=1e-5)
    for part in ("l1", "perceptual"):                    # same weights, same batch
        assert losses[0.0][part] == pytest.approx(losses[2.0][part], rel=1e-6)
    assert losses[2.0]["loss"] == pytest.approx(losses[0.0]["loss"] + 2.0 * losses[2.0]["feature"], rel=1e-5)


def test_feature_region_psnr_pools_the_weighted_squared_errors() -> None:
    ref = np.zeros((2, 16, 16, 3), np.uint8)
    out = ref.copy()
    out[0, 5, 5] = 255                       # one wrong pixel (all channels) inside the region
    out[1, 0, 0] = 255                       # one outside it: does not count
    region = torch.zeros(2, 1, 16, 16)
    region[:, 0, 4:14, 4:14] = 1.0           # 100 pixels in each frame
    assert feature_region_psnr(ref, out, region) == pytest.approx(10 * np.log10(200.0))
    assert feature_region_psnr(ref, ref, region) == pytest.approx(100.0)    # the error floor, not inf


@pytest.mark.parametrize("value", ["-1", "nan", "inf"])
def test_a_bad_feature_weight_is_a_usage_error(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        train_generator.main(["train", "--feature-weight", value])
    assert exc.value.code == 2
    assert "--feature-weight must be a finite number, 0 or more" in capsys.readouterr().err


def _geometry(eye_gain: tuple[float, float], key_gap: float, target_gap: float) -> SimpleNamespace:
    return SimpleNamespace(eye_gain=eye_gain, mouth_gap_key=key_gap, mouth_gap_target=target_gap)


def test_frames_are_classed_by_what_the_semantics_ask_against_the_key_frame() -> None:
    cls = feature_fidelity.frame_class
    assert cls(_geometry((1.0, 1.0), 0.5, 0.5)) == ["all"]
    assert cls(_geometry((0.59, 1.0), 0.5, 0.5)) == ["eyes closing", "all"]
    assert cls(_geometry((0.6, 0.6), 0.5, 0.81)) == ["mouth opening", "all"]         # over 0.3 cm wider
    assert cls(_geometry((0.6, 0.6), 0.5, 0.79)) == ["all"]
    assert cls(_geometry((0.2, 0.1), 0.0, 1.5)) == ["eyes closing", "mouth opening", "all"]


def test_the_study_scores_each_generator_against_the_source_in_the_feature_regions(tmp_path: Path) -> None:
    """On the suite's mesh stream (its eyes close and its mouth opens beyond the key frame's),
    with geometric-3's own output as the source: geometric-3 scores the error floor, geometric-1
    less, in every class, and each class gets its strip."""
    from ref_decoder.decoder import Decoder
    from ifvc_synthesis.generators import get_generator
    data = (SUITE / "cabac_geometric3_mesh.ifvc").read_bytes()
    source = np.stack([f.rgb for f in Decoder(generator=get_generator("ifvc-geometric-3")).decode(data)])
    gens = feature_fidelity.make_generators(["ifvc-geometric-3", "ifvc-geometric-1"], [])
    pool = feature_fidelity.Pool()
    feature_fidelity.study_clip("mesh", source, data, gens, pool, tmp_path)
    for cls in feature_fidelity.CLASSES:
        same, n = pool.psnr(cls, "ifvc-geometric-3", "region")
        other, m = pool.psnr(cls, "ifvc-geometric-1", "region")
        assert n == m > 0, cls
        assert same == pytest.approx(100.0) and other < 60.0, cls
    assert pool.psnr("all", "ifvc-geometric-3", "region")[1] == len(source) - 1
    strips = sorted(p.name.split("_mesh_")[0] for p in tmp_path.glob("strip_*.png"))
    assert strips == ["strip_eyes_closing", "strip_mouth_opening"]
    text = feature_fidelity.report(pool, list(gens), "cmd")
    assert "| eyes closing | ifvc-geometric-3 |" in text and "| all | ifvc-geometric-1 |" in text


def test_the_study_refuses_unknown_generators_and_missing_candidates(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--sequences", str(tmp_path), "--work", str(tmp_path / "w"), "--out", str(tmp_path / "o")]
    with pytest.raises(SystemExit) as exc:
        feature_fidelity.main(base + ["--generators", "ifvc-nonesuch"])
    assert exc.value.code == 2 and "unknown generator 'ifvc-nonesuch'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        feature_fidelity.main(base + ["--candidate", f"new={tmp_path / 'missing.safetensors'}"])
    assert exc.value.code == 2 and "give LABEL=WEIGHTS with an existing weights file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        feature_fidelity.main(base + ["--candidate", f"ifvc-flow-4={SUITE / 'cabac_geometric3_mesh.ifvc'}"])
    assert exc.value.code == 2 and "the label 'ifvc-flow-4' is already taken" in capsys.readouterr().err
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"not a weights file")
    assert feature_fidelity.main(base + ["--candidate", f"new={garbage}"]) == 1
    assert capsys.readouterr().err.startswith("feature_fidelity: error: ")
    with pytest.raises(SystemExit) as exc:
        feature_fidelity.main(base + ["--qp", "64"])
    assert exc.value.code == 2 and "--qp" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    # no clip of the split in --sequences: one line, exit 1 (nothing is encoded)
    assert feature_fidelity.main(base + ["--generators", "ifvc-geometric-1"]) == 1
    assert "no clip of the test split was found in" in capsys.readouterr().err.splitlines()[-1]
    assert not (tmp_path / "o").exists()
