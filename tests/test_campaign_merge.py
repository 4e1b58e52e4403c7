"""`merge` of campaign output folders (conformance/campaign/merge.py): two "labs" run parts of
one tiny campaign (lab A the VVC anchor, lab B both anchors, so the VVC cells are in both);
the merge keeps each cell once with where it came from, recomputes the tables, and refuses,
with a one-line error and no output, cells that differ in inputs, code or conditions."""
from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from conformance.campaign import run_campaign
from conformance.campaign.__main__ import main
from conformance.campaign.compare import compare_tables, read_table
from conformance.campaign.config import load_config
from tests.test_campaign_dask import write_tiny_config


@pytest.fixture(scope="module")
def labs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("merge")
    config = load_config(write_tiny_config(folder))
    first = run_campaign(config, folder / "lab_a", codecs=["vvc"], progress=None)
    second = run_campaign(config, folder / "lab_b", progress=None)
    assert (first.run.ran, second.run.ran) == (2, 4) and not first.run.failures + second.run.failures
    return folder


def _merge_ok(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(["merge", *argv]) == 0
    return capsys.readouterr().out


def test_merge_keeps_each_cell_once_with_its_source(labs: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "merged"
    text = _merge_ok(capsys, [str(labs / "lab_a"), str(labs / "lab_b"), "--out", str(out)])
    assert "merged 4 cells from 2 folders (2 present in more than one, identical)" in text
    merged = read_table(out / "results.csv")
    comparison = compare_tables(read_table(labs / "lab_b" / "results.csv"), merged,
                                {name: 0.0 for name in ("kbps", "psnr_rgb", "psnr_y", "lpips_alex")})
    assert comparison.ok and comparison.cells == 4
    cells = pd.read_csv(out / "cells_provenance.csv", keep_default_na=False)
    sources = {(r.codec, r.point): (Path(r.source).name, Path(r.also_in).name if r.also_in else "")
               for r in cells.itertuples()}
    assert sources == {("vvc", 42): ("lab_a", "lab_b"), ("vvc", 47): ("lab_a", "lab_b"),
                       ("hevc", 42): ("lab_b", ""), ("hevc", 47): ("lab_b", "")}
    assert all(Path(p).is_file() for p in cells["result_json"])
    assert set(cells["cell_hash"]) == set(merged["cell_hash"])
    # The tables are the campaign's own, recomputed on the merged set.
    bd = pd.read_csv(out / "bd_rate.csv")
    expected = pd.read_csv(labs / "lab_b" / "bd_rate.csv")
    assert bd["bd_rate_mean_of_sequences"].tolist() == expected["bd_rate_mean_of_sequences"].tolist()
    provenance = json.loads((out / "provenance.json").read_text())
    assert [Path(p["folder"]).name for p in provenance["merged_from"]] == ["lab_a", "lab_b"]
    assert provenance["cells_merged"] == 4 and provenance["cells_in_several_inputs"] == 2


def _copy(labs: Path, name: str, to: Path) -> Path:
    target = to / name
    shutil.copytree(labs / name, target)
    return target


def _edit_result(folder: Path, codec: str, point: int, edit: Callable[[dict], None]) -> None:
    path = folder / "cells" / codec / "synth" / f"{codec}_qp{point}.result.json"
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def _refused(capsys: pytest.CaptureFixture[str], inputs: list[Path], out: Path) -> str:
    status = main(["merge", *map(str, inputs), "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert not out.exists()                             # nothing written
    return err


def test_merge_refuses_a_cell_with_other_code_revision(labs: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    other = _copy(labs, "lab_a", tmp_path)
    _edit_result(other, "vvc", 42, lambda d: d["provenance"]["git"].update(revision="f" * 40))
    err = _refused(capsys, [other, labs / "lab_b"], tmp_path / "out")
    assert "cell vvc QP42 synth is in" in err and "different code revision" in err


def test_merge_refuses_a_cell_from_other_input_frames(labs: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    other = _copy(labs, "lab_a", tmp_path)
    _edit_result(other, "vvc", 47, lambda d: d.update(input_sha256="0" * 64))
    err = _refused(capsys, [labs / "lab_b", other], tmp_path / "out")
    assert "different input SHA-256" in err


def test_merge_refuses_a_cell_with_another_cell_hash(labs: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    other = _copy(labs, "lab_a", tmp_path)
    _edit_result(other, "vvc", 42, lambda d: d.update(cell_hash="1" * 64))
    table = pd.read_csv(other / "results.csv")
    table.loc[(table["codec"] == "vvc") & (table["point"] == 42), "cell_hash"] = "1" * 64
    table.to_csv(other / "results.csv", index=False)
    err = _refused(capsys, [other, labs / "lab_b"], tmp_path / "out")
    assert "different cell_hash" in err


def test_merge_refuses_cells_of_different_code_across_cells(labs: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Lab A's VVC cells and lab B's HEVC cells only, but from another code revision."""
    hevc_only = _copy(labs, "lab_b", tmp_path)
    shutil.rmtree(hevc_only / "cells" / "vvc")
    table = pd.read_csv(hevc_only / "results.csv")
    table[table["codec"] == "hevc"].to_csv(hevc_only / "results.csv", index=False)
    for point in (42, 47):
        _edit_result(hevc_only, "hevc", point, lambda d: d["provenance"].update(code_sha256="2" * 64))
    err = _refused(capsys, [labs / "lab_a", hevc_only], tmp_path / "out")
    assert "cells made by different code" in err and "code SHA-256" in err


def test_merge_refuses_configs_that_differ_where_it_matters(labs: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    other = _copy(labs, "lab_a", tmp_path)
    provenance = json.loads((other / "provenance.json").read_text())
    provenance["config"]["vgg_stride"] = 5
    (other / "provenance.json").write_text(json.dumps(provenance))
    err = _refused(capsys, [other, labs / "lab_b"], tmp_path / "out")
    assert "configs differ in 'vgg_stride'" in err


def test_merge_refuses_changed_files_and_bad_folders(labs: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    other = _copy(labs, "lab_a", tmp_path)
    stream = next((other / "cells" / "vvc" / "synth").glob("*.266"))
    stream.write_bytes(stream.read_bytes() + b"\0")
    assert "its files changed since" in _refused(capsys, [other, labs / "lab_b"], tmp_path / "out")
    assert "not a campaign output folder" in _refused(capsys, [tmp_path / "nowhere"],
                                                      tmp_path / "out")
    status = main(["merge", str(labs / "lab_b"), "--out", str(labs / "lab_b")])
    err = capsys.readouterr().err
    assert status == 2 and "is one of the inputs" in err
