"""Checkpoint selection by LPIPS-VGG (tools/train_generator.py --val-metric) and the generator
so trained, "ifvc-flow-4" (Annex I.10): ifvc-flow-3's network and inputs with its own
registered weights and conformance stream."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ifvc_synthesis.generators.flow_occlusion_net import FlowOcclusionNet
from ifvc_synthesis.generators.learned import FLOW_3, FLOW_4, _metadata
from ifvc_synthesis.generators.refine_net import IN_CHANNELS
from ref_encoder.adaptive_refresh import resolve_check_every
from tests.test_flow_generator import SMALL, check_suite_stream_on_1_and_2_threads, randomised, write_run_folder
from tests.test_train_coded_keys import check_same_layered_network_other_weights
from tools import train_generator
from tools.train_generator import VAL_METRICS, PerceptualLoss, TrainConfig, Trainer


def _write_run(run: Path, model: torch.nn.Module, history: list[dict], metric: str) -> None:
    """A run folder as train leaves it with ``--val-metric metric``: the best (by that metric)
    entry of ``history`` is the kept one."""
    key = VAL_METRICS[metric]
    write_run_folder(run, model, {"best_val_lpips": min(h[key] for h in history), "config": {"val_metric": metric},
                                  "history": history})


def _entry(step: int, alex: float, vgg: float) -> dict:
    return {"step": step, "minutes": 1.0, "lpips_alex": alex, "geo_lpips_alex": 0.15,
            "lpips_vgg": vgg, "geo_lpips_vgg": 0.26}


def test_export_takes_the_step_the_validation_metric_chose(tmp_path: Path) -> None:
    """With --val-metric lpips-vgg the exported step is the one with the lowest LPIPS-VGG (step
    200), not the lowest LPIPS-Alex (step 100); its metadata names the metric."""
    history = [_entry(0, 0.140, 0.270), _entry(100, 0.139, 0.262), _entry(200, 0.145, 0.250)]
    run = tmp_path / "run"
    _write_run(run, randomised(FlowOcclusionNet(SMALL)), history, "lpips-vgg")
    out = tmp_path / "w.safetensors"
    assert train_generator.main(["export", "--run", str(run), "--generator", "ifvc-flow-1", "--out", str(out)]) == 0
    assert isinstance(train_generator.load_model_file(out), FlowOcclusionNet)
    m = _metadata(out.read_bytes())
    assert (m["step"], m["val_lpips_vgg"], m["val_geo_lpips_vgg"]) == ("200", "0.25000", "0.26000")
    assert "val_lpips_alex" not in m


def test_export_refuses_a_run_whose_best_lpips_vgg_does_not_beat_the_geometric_pass(tmp_path: Path) -> None:
    run = tmp_path / "worse"
    _write_run(run, FlowOcclusionNet(SMALL), [_entry(0, 0.10, 0.27), _entry(100, 0.09, 0.265)], "lpips-vgg")
    out = tmp_path / "w.safetensors"
    assert train_generator.main(["export", "--run", str(run), "--generator", "ifvc-flow-1", "--out", str(out)]) == 1
    assert not out.exists()


def test_a_run_resumes_only_with_the_metric_that_kept_its_best(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    perceptual = PerceptualLoss(pretrained=False)
    vgg = TrainConfig(crop=32, batch=2, seed=7, model="flow-occlusion", val_metric="lpips-vgg")
    a = Trainer(tmp_path / "run", vgg, model_config=SMALL, perceptual=perceptual)
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (2, IN_CHANNELS, 32, 32)).astype(np.float32)
    a.train_step(x, np.clip(x[:, 3:6], -1, 1))
    a.save()
    assert Trainer(tmp_path / "run", vgg, model_config=SMALL, perceptual=perceptual).resume()
    alex = TrainConfig(crop=32, batch=2, seed=7, model="flow-occlusion")
    with pytest.raises(ValueError, match="keeps its best checkpoint by lpips-vgg: resume it with --val-metric lpips-vgg"):
        Trainer(tmp_path / "run", alex, model_config=SMALL, perceptual=perceptual).resume()


def test_an_unknown_validation_metric_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        train_generator.build_parser().parse_args(["train", "--val-metric", "dists"])
    assert exc.value.code == 2
    assert "--val-metric" in capsys.readouterr().err


def test_flow_4_is_flow_3s_network_with_its_own_registered_weights() -> None:
    check_same_layered_network_other_weights(FLOW_4, FLOW_3, 7, "Annex I.10")
    assert resolve_check_every("auto", "ifvc-flow-4") == resolve_check_every("auto", "ifvc-flow-3")


def test_the_suites_flow_4_stream_decodes_to_its_listed_frames_on_1_and_2_threads() -> None:
    """face_synthetic_motion_flow4_cabac (large synthetic motion, a blink, an opening mouth)
    decodes with ifvc-flow-4 to the frames its description lists, on 1 and 2 threads."""
    if not FLOW_4.shipped():
        pytest.skip("ifvc-flow-4's weights are not shipped")
    check_suite_stream_on_1_and_2_threads("face_synthetic_motion_flow4_cabac", "ifvc-flow-4")
