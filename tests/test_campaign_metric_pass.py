"""The runner's two metric passes (conformance/campaign/runner.py): measuring every coded cell
of a sequence in one pass gives the per-cell results within 1e-6, and cells stay
content-addressed and resumable one by one (coded records, result JSONs per cell)."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from conformance.campaign import run_campaign
from conformance.campaign.cells import cell_hash, plan_cells
from conformance.campaign.config import load_config
from conformance.campaign.executors import CellTask, SequenceTask
from conformance.campaign.runner import measure_sequence
from conformance.campaign.sequences import input_sha256, resolve_sequences
from tests.test_campaign_run import SIZE, write_sequence

TOLERANCE = 1e-6
METRICS = ["psnr_rgb", "psnr_gfvc", "psnr_y", "lpips_alex"]


def write_config(folder: Path) -> Path:
    write_sequence(folder / "sequences", "synth")
    write_sequence(folder / "sequences", "synth2")
    (folder / "split.json").write_text(json.dumps({"test": ["synth", "synth2"]}))
    config = {
        "name": "tiny-pass", "sequences_dir": str(folder / "sequences"),
        "split_file": str(folder / "split.json"), "split": "test",
        "width": SIZE, "height": SIZE, "fps": 25, "frames": None,
        "codecs": {"vvc": {"kind": "anchor", "anchor_codec": "vvc", "points": [42, 47]},
                   "hevc": {"kind": "anchor", "anchor_codec": "hevc", "points": [42]}},
        "anchor": "vvc", "metrics": METRICS,
        "strided_metrics": ["lpips_alex"], "vgg_stride": 2,
        "bd_rate": {"method": "pchip", "metrics": ["psnr_rgb"], "min_overlap": 0.5}}
    path = folder / "tiny.json"
    path.write_text(json.dumps(config))
    return path


def _results(out: Path) -> dict[str, dict]:
    return {f"{p.parent.parent.name}/{p.parent.name}/{p.name}": json.loads(p.read_text())
            for p in sorted((out / "cells").glob("*/*/*.result.json"))}


@pytest.fixture(scope="module")
def campaigns(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    folder = tmp_path_factory.mktemp("metric_pass")
    config = load_config(write_config(folder))
    for mode in ("cell", "sequence"):
        outcome = run_campaign(config, folder / mode, progress=None, metric_pass=mode)
        assert outcome.run.failures == [] and outcome.run.ran == 6
    return folder, folder / "cell", folder / "sequence"


def test_sequence_pass_matches_the_per_cell_pass(campaigns: tuple[Path, Path, Path]) -> None:
    _, per_cell, per_sequence = campaigns
    a, b = _results(per_cell), _results(per_sequence)
    assert sorted(a) == sorted(b) and len(a) == 6
    for name, left in a.items():
        right = b[name]
        assert left["cell_hash"] == right["cell_hash"]          # the pass is not in the hash
        for key in ("stream", "decoded"):
            assert left["files"][key]["sha256"] == right["files"][key]["sha256"], (name, key)
        assert (left["bits"], left["rate"]) == (right["bits"], right["rate"])
        assert left["metrics"].keys() == right["metrics"].keys() == set(METRICS)
        for metric, value in left["metrics"].items():
            assert abs(value - right["metrics"][metric]) <= TOLERANCE, (name, metric)
        assert left["metric_frames"] == right["metric_frames"]
        assert left["metric_pass"]["kind"] == "cell" and left["metric_pass"]["cells"] == 1
        assert right["metric_pass"]["kind"] == "sequence" and right["metric_pass"]["cells"] == 3
        frames_a = pd.read_csv(per_cell / "cells" / left["codec"] / left["sequence"]
                               / left["files"]["frames_csv"]["name"])
        frames_b = pd.read_csv(per_sequence / "cells" / right["codec"] / right["sequence"]
                               / right["files"]["frames_csv"]["name"])
        pd.testing.assert_frame_equal(frames_a, frames_b, check_exact=False, rtol=0,
                                      atol=TOLERANCE)


def test_each_pass_reuses_the_other_finished_cells(campaigns: tuple[Path, Path, Path],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    folder, per_cell, _ = campaigns
    def no_work(*args: object, **kwargs: object) -> None:
        raise AssertionError("a finished cell was run again")
    for name in ("run_cell", "code_cell_task", "measure_sequence"):
        monkeypatch.setattr(f"conformance.campaign.runner.{name}", no_work)
    config = load_config(folder / "tiny.json")
    again = run_campaign(config, per_cell, progress=None, metric_pass="sequence")
    assert (again.run.ran, again.run.skipped, again.run.failures) == (0, 6, [])


def test_a_lost_result_is_measured_again_without_coding(campaigns: tuple[Path, Path, Path],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A run killed in a metric pass: the coded records stand, only the metrics are redone
    (any coding fails the test), and the cell's result is the same."""
    folder, _, per_sequence = campaigns
    lost = per_sequence / "cells" / "vvc" / "synth2" / "vvc_qp47.result.json"
    before = json.loads(lost.read_text())
    lost.unlink()
    def no_coding(*args: object, **kwargs: object) -> None:
        raise AssertionError("a coded cell was coded again")
    monkeypatch.setattr("conformance.campaign.runner.code_cell", no_coding)
    messages: list[str] = []
    config = load_config(folder / "tiny.json")
    again = run_campaign(config, per_sequence, progress=messages.append)
    assert (again.run.ran, again.run.skipped, again.run.failures) == (1, 5, [])
    assert any(m.startswith("vvc QP47 synth2: coded, ") and "(coded before)" in m
               for m in messages)
    assert any(m.startswith("metrics synth2 (1 cells): started on ") for m in messages)
    after = json.loads(lost.read_text())
    assert after["metrics"] == before["metrics"] and after["files"] == before["files"]


def test_other_metric_settings_reuse_the_coded_cells(campaigns: tuple[Path, Path, Path],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Another stride is another cell hash (the cells are measured again) but the same coding
    hash: nothing is coded again."""
    folder, _, per_sequence = campaigns
    monkeypatch.setattr("conformance.campaign.runner.code_cell",
                        lambda *args: (_ for _ in ()).throw(AssertionError("coded again")))
    config = load_config(folder / "tiny.json").with_overrides(vgg_stride=3)
    again = run_campaign(config, per_sequence, progress=None)
    assert again.run.failures == [] and again.run.ran == 6
    result = json.loads((per_sequence / "cells" / "hevc" / "synth" /
                         "hevc_qp42.result.json").read_text())
    assert result["strided_frames"] == [1, 4] and result["metric_frames"]["lpips_alex"] == 2


def test_a_broken_decoded_file_fails_only_its_cell(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path))
    out = tmp_path / "out"
    first = run_campaign(config, out, progress=None, sequences=["synth"], codecs=["vvc"])
    assert first.run.ran == 2
    for result in (out / "cells" / "vvc" / "synth").glob("*.result.json"):
        result.unlink()
    # The coded record of QP 42 now points at a file of the wrong length.
    decoded = next((out / "cells" / "vvc" / "synth").glob("*_qp42.rgb"))
    record = json.loads((out / "cells" / "vvc" / "synth" / "vvc_qp42.coded.json").read_text())
    decoded.write_bytes(decoded.read_bytes()[: 3 * SIZE * SIZE])
    sequences = resolve_sequences(config, ["synth"])
    input_hash = input_sha256(sequences[0], 3 * SIZE * SIZE)
    tasks = tuple(CellTask(config, cell, out, cell_hash(config, cell, input_hash), input_hash, {})
                  for cell in plan_cells(config, ["vvc"], sequences))
    outcomes = {label: (result, error) for label, result, error in
                measure_sequence(SequenceTask(tasks))}
    assert record["files"]["decoded"]["name"] == decoded.name
    # the changed file no longer matches its record: that cell alone is refused
    assert outcomes["vvc QP42 synth"][0] is None
    assert "coded record is missing or out of date" in outcomes["vvc QP42 synth"][1]
    assert outcomes["vvc QP47 synth"][1] is None and outcomes["vvc QP47 synth"][0]["status"] == "ok"


def test_a_sequence_task_holds_one_sequence() -> None:
    with pytest.raises(ValueError, match="one sequence"):
        SequenceTask(())


@pytest.mark.parametrize("mode", ["cell", "sequence"])
def test_force_codes_again_in_either_pass(campaigns: tuple[Path, Path, Path], mode: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """--force must not take an earlier coded record: the cell is coded again."""
    from conformance.campaign import runner
    folder, per_cell, _ = campaigns
    calls: list[str] = []
    original = runner.code_cell

    def counting(config, cell, out_dir):  # type: ignore[no-untyped-def]
        calls.append(cell.label)
        return original(config, cell, out_dir)
    monkeypatch.setattr("conformance.campaign.runner.code_cell", counting)
    config = load_config(folder / "tiny.json")
    again = run_campaign(config, per_cell, progress=None, force=True, codecs=["hevc"],
                         sequences=["synth"], metric_pass=mode)
    assert again.run.failures == [] and again.run.ran == 1 and calls == ["hevc QP42 synth"]
