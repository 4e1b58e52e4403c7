"""The campaign end to end on a tiny synthetic sequence with the VVC anchor: one real cell,
resume (a second run does no work; a killed cell is redone alone), and one-line errors."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bitstream.generator_registry import DEFAULT_GENERATOR_NAME
from conformance.campaign import run_campaign
from conformance.campaign.__main__ import main
from conformance.campaign.config import DEFAULT_CONFIG, load_config

SIZE, FRAMES = 128, 6


def write_sequence(folder: Path, name: str) -> Path:
    """A smooth gradient with a moving bright disc: easy to code, not constant."""
    folder.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    frames = []
    for t in range(FRAMES):
        disc = ((xx - 40 - 6 * t) ** 2 + (yy - 64) ** 2 < 20 ** 2) * 90.0
        rgb = np.stack([xx * 1.5 + disc, yy * 1.5, 255 - xx - yy / 2 + disc / 2])
        frames.append(np.clip(rgb, 0, 255).astype(np.uint8))          # planar R, G, B
    path = folder / f"{name}_{SIZE}x{SIZE}_25_8bit_444.rgb"
    path.write_bytes(b"".join(f.tobytes() for f in frames))
    return path


@pytest.fixture
def setup(tmp_path: Path) -> Path:
    write_sequence(tmp_path / "sequences", "synth")
    (tmp_path / "split.json").write_text(json.dumps({"test": ["synth"]}))
    config = {
        "name": "tiny", "sequences_dir": str(tmp_path / "sequences"),
        "split_file": str(tmp_path / "split.json"), "split": "test",
        "width": SIZE, "height": SIZE, "fps": 25, "frames": None,
        "codecs": {"vvc": {"kind": "anchor", "anchor_codec": "vvc", "points": [42, 47]}},
        "anchor": "vvc", "metrics": ["psnr_rgb", "psnr_y", "lpips_alex"],
        "strided_metrics": ["lpips_alex"], "vgg_stride": 3,
        "bd_rate": {"method": "pchip", "metrics": ["psnr_rgb"], "min_overlap": 0.5}}
    (tmp_path / "tiny.json").write_text(json.dumps(config))
    return tmp_path


def test_tiny_campaign_runs_and_resumes(setup: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(setup / "tiny.json")
    out = setup / "out"
    first = run_campaign(config, out, progress=None)
    assert (first.run.ran, first.run.skipped, first.run.failures) == (2, 0, [])

    result_path = out / "cells" / "vvc" / "synth" / "vvc_qp42.result.json"
    result = json.loads(result_path.read_text())
    stream = result_path.parent / result["files"]["stream"]["name"]
    decoded = result_path.parent / result["files"]["decoded"]["name"]
    assert stream.read_bytes()[:4] in (b"\x00\x00\x00\x01", b"\x00\x00\x01\x00")   # Annex B
    assert result["bits"] == 8 * stream.stat().st_size
    assert result["kbps"] == pytest.approx(result["bits"] / 1000 / (FRAMES / 25))
    assert decoded.stat().st_size == FRAMES * SIZE * SIZE * 3
    assert 25 < result["metrics"]["psnr_rgb"] < 60
    assert 0 <= result["metrics"]["lpips_alex"] < 0.5
    assert result["vgg_stride"] == 3 and result["strided_frames"] == [1, 4]
    assert result["metric_frames"] == {"psnr_rgb": 6, "psnr_y": 6, "lpips_alex": 2}
    assert result["encoder"] == "libvvenc" and result["encoder_version"]
    assert result["provenance"]["machine"]["cpu_count"]
    frames_csv = (result_path.parent / result["files"]["frames_csv"]["name"]).read_text()
    assert len(frames_csv.strip().splitlines()) == 1 + FRAMES
    qp47 = json.loads((result_path.parent / "vvc_qp47.result.json").read_text())
    assert qp47["bits"] < result["bits"]                  # coarser QP, fewer bits
    assert len(first.report.results) == 2 and len(first.report.summary) == 2
    assert first.report.files["rd_psnr_rgb"].is_file()
    provenance = json.loads(first.report.files["provenance"].read_text())
    assert provenance["vgg_stride"] == 3 and provenance["frames_per_sequence"] == {"synth": 6}
    assert "libvvenc" in provenance["tools"]["vvc"][0]

    # A second run does no work at all: any attempt to run a cell fails the test.
    def no_work(*args: object, **kwargs: object) -> None:
        raise AssertionError("a finished cell was run again")
    for name in ("run_cell", "code_cell_task", "measure_sequence"):   # either metric pass
        monkeypatch.setattr(f"conformance.campaign.runner.{name}", no_work)
    mtime = result_path.stat().st_mtime_ns
    second = run_campaign(config, out, progress=None)
    assert (second.run.ran, second.run.skipped, second.run.failures) == (0, 2, [])
    assert result_path.stat().st_mtime_ns == mtime
    monkeypatch.undo()

    # A run killed before the QP 47 cell wrote its result JSON: only that cell is redone.
    (result_path.parent / "vvc_qp47.result.json").unlink()
    third = run_campaign(config, out, progress=None)
    assert (third.run.ran, third.run.skipped) == (1, 1)
    assert json.loads((result_path.parent / "vvc_qp47.result.json").read_text())["bits"] == qp47["bits"]

    # Another metric stride is another result: the cells are redone, not reused.
    fourth = run_campaign(config.with_overrides(vgg_stride=2), out, progress=None)
    assert fourth.run.ran == 2
    assert json.loads(result_path.read_text())["strided_frames"] == [1, 3, 5]


def _one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_bad_inputs_are_one_line_errors(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(setup / "out")
    config = str(setup / "tiny.json")
    err = _one_line_error(capsys, ["run", "--config", config, "--out", out,
                                   "--sequences", "nobody"])
    assert "'nobody' not found" in err and "tools.prepare_sequences" in err
    err = _one_line_error(capsys, ["run", "--config", str(setup / "none.json"), "--out", out])
    assert "config not found" in err
    (setup / "broken.json").write_text("{ not json")
    assert "not valid JSON" in _one_line_error(capsys, ["run", "--config",
                                                        str(setup / "broken.json"), "--out", out])
    data = json.loads((setup / "tiny.json").read_text())
    data["anchor"] = "vtm"
    (setup / "bad_anchor.json").write_text(json.dumps(data))
    assert "anchor 'vtm' is not one of the codecs" in _one_line_error(
        capsys, ["run", "--config", str(setup / "bad_anchor.json"), "--out", out])
    del data["codecs"]
    (setup / "no_codecs.json").write_text(json.dumps(data))
    assert "missing key 'codecs'" in _one_line_error(
        capsys, ["run", "--config", str(setup / "no_codecs.json"), "--out", out])
    assert "unknown codec(s) av1" in _one_line_error(
        capsys, ["run", "--config", config, "--out", out, "--codecs", "av1"])
    assert "only 6" in _one_line_error(capsys, ["run", "--config", config, "--out", out,
                                                "--frames", "50"])
    with pytest.raises(SystemExit) as usage:        # a range checked by the parser: usage error
        main(["run", "--config", config, "--out", out, "--vgg-stride", "0"])
    err = capsys.readouterr().err
    assert usage.value.code == 2 and err.count("\n") == 1 and "--vgg-stride: must be an integer >= 1" in err
    data = json.loads((setup / "tiny.json").read_text())
    data["sequences_dir"] = str(setup / "nowhere")
    (setup / "no_dir.json").write_text(json.dumps(data))
    assert "tools.prepare_sequences" in _one_line_error(
        capsys, ["run", "--config", str(setup / "no_dir.json"), "--out", out])


def test_quick_config_keeps_the_development_conditions() -> None:
    config = load_config(DEFAULT_CONFIG)
    assert config.codecs["ifvc"].points == (22, 32, 42, 52)
    assert config.codecs["vvc"].points == (37, 42, 47, 52)
    assert config.codecs["hevc"].points == (37, 42, 47, 51)
    assert config.anchor == "vvc" and config.bd_method == "pchip"
    assert set(config.strided_metrics) == {"lpips_vgg", "dists"}


def test_shipped_config_finds_the_repository_split_from_any_folder(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance.campaign.sequences import SHIPPED_SPLIT_FILE, split_names
    monkeypatch.chdir(tmp_path)
    config = load_config(DEFAULT_CONFIG)
    assert config.split_file is None and config.sequences_dir == Path("work/sequences")
    assert split_names(config) == json.loads(SHIPPED_SPLIT_FILE.read_text())["test"]


def test_ifvc_cell_from_outside_the_repository_writes_only_there(shared_data: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Relative --out, sequences_dir and split_file are relative to the working directory
    (a folder outside the repository); the IFVC encoder runs there too."""
    from conformance.campaign.sequences import REPO_ROOT
    from conformance.sequence_preparation import prepare_clip
    from ifvc_common.files import sha256_file
    clip = shared_data / "faces" / "raw" / "fomm_demo_old_08.mp4"
    (tmp_path / "seqs").mkdir()
    prepare_clip(clip, tmp_path / "seqs", 3, "[test]", sha256_file(clip))
    (tmp_path / "split.json").write_text(json.dumps({"test": [clip.stem]}))
    (tmp_path / "tiny.json").write_text(json.dumps({
        "name": "tiny-ifvc", "sequences_dir": "seqs", "split_file": "split.json", "split": "test",
        "width": 256, "height": 256, "fps": 25, "frames": None,
        "codecs": {"ifvc": {"kind": "ifvc", "points": [47], "encoder_args": ["--keyframe-codec", "raw"]}},
        "anchor": "ifvc", "metrics": ["psnr_rgb"], "strided_metrics": [], "vgg_stride": 1,
        "bd_rate": {"method": "pchip", "metrics": ["psnr_rgb"], "min_overlap": 0.5}}))
    before = sorted(p.name for p in REPO_ROOT.iterdir())
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--config", "tiny.json", "--out", "camp1", "--quiet"]) == 0
    result = json.loads((tmp_path / "camp1" / "cells" / "ifvc" / clip.stem / "ifvc_qp47.result.json").read_text())
    assert result["status"] == "ok" and result["generator_name"] == DEFAULT_GENERATOR_NAME
    assert sorted(p.name for p in REPO_ROOT.iterdir()) == before
