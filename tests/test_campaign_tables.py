"""Campaign tables, BD-rate tables, report files and the compare command, on synthetic
cell results (no coding)."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from conformance.campaign.__main__ import main
from conformance.campaign.compare import compare_tables, parse_tolerances, read_table
from conformance.campaign.config import DEFAULT_CONFIG, load_config
from conformance.campaign.errors import CampaignError
from conformance.campaign.report import write_report
from conformance.campaign.tables import bd_tables, markdown_table, results_table, summary_table

CONFIG = load_config(DEFAULT_CONFIG)
SEQUENCES = ("seq_a", "seq_b")
METRICS = CONFIG.metrics


def fake_result(codec: str, sequence: str, point: int, index: int,
                rate_factor: float) -> dict[str, Any]:
    """A cell whose quality depends only on the rate index; the rate scales per codec."""
    kbps = 10.0 * 2 ** (3 - index) * rate_factor * (1.5 if sequence == "seq_b" else 1.0)
    metrics = {"psnr_rgb": 28.0 + 2 * (3 - index), "psnr_y": 29.0 + 2 * (3 - index),
               "lpips_alex": 0.1 + 0.05 * index, "lpips_vgg": 0.2 + 0.05 * index,
               "dists": 0.1 + 0.04 * index}
    return {"codec": codec, "sequence": sequence, "point": point, "frames": 10,
            "bits": int(kbps * 1000 * 10 / 25), "kbps": kbps, "metrics": metrics,
            "metric_frames": {m: (1 if m in ("lpips_vgg", "dists") else 10) for m in METRICS},
            "vgg_stride": 10, "strided_metrics": ["lpips_vgg", "dists"], "encoder": codec,
            "encoder_version": "1", "generator_name": None, "generator_sha256": None,
            "cell_hash": f"{codec}{sequence}{point}"}


def fake_results() -> list[dict[str, Any]]:
    results = []
    for sequence in SEQUENCES:
        for index, point in enumerate(CONFIG.codecs["vvc"].points):
            results.append(fake_result("vvc", sequence, point, index, 1.0))
        for index, point in enumerate(CONFIG.codecs["ifvc"].points):
            results.append(fake_result("ifvc", sequence, point, index, 0.5))
        for index, point in enumerate(CONFIG.codecs["hevc"].points):
            results.append(fake_result("hevc", sequence, point, index, 1.25))
    return results


def test_results_and_summary_shapes() -> None:
    table = results_table(fake_results(), CONFIG)
    assert len(table) == 3 * 2 * 4                       # codecs x sequences x points
    assert list(table["codec"].drop_duplicates()) == ["ifvc", "vvc", "hevc"]   # config order
    for column in ("kbps", "bits", "frames", "vgg_stride", "lpips_vgg_frames", *METRICS):
        assert column in table.columns
    summary = summary_table(table, CONFIG)
    assert len(summary) == 3 * 4                         # codecs x points
    assert set(summary["sequences"]) == {2}
    row = summary[(summary["codec"] == "vvc") & (summary["point"] == 37)].iloc[0]
    assert row["kbps"] == pytest.approx((80.0 + 120.0) / 2)   # mean over the two sequences
    assert row["psnr_rgb"] == pytest.approx(34.0)


def test_bd_tables_known_answers() -> None:
    table = results_table(fake_results(), CONFIG)
    per_sequence, overall, warnings = bd_tables(table, summary_table(table, CONFIG), CONFIG)
    assert len(per_sequence) == 2 * 2 * len(CONFIG.bd_metrics)   # 2 test codecs x 2 seqs x metrics
    assert set(overall["codec"]) == {"ifvc", "hevc"}
    ifvc = overall[overall["codec"] == "ifvc"]
    assert ifvc["bd_rate_mean_of_sequences"].to_numpy() == pytest.approx(-50.0)
    assert ifvc["bd_rate_of_mean_curves"].to_numpy() == pytest.approx(-50.0)
    hevc = overall[overall["codec"] == "hevc"]
    assert hevc["bd_rate_mean_of_sequences"].to_numpy() == pytest.approx(25.0)
    assert set(overall["sequences_valid"]) == {2}
    assert warnings == []


def test_bd_incomplete_curve_is_reported() -> None:
    results = [r for r in fake_results() if not (r["codec"] == "ifvc" and r["point"] == 52
                                                 and r["sequence"] == "seq_b")]
    table = results_table(results, CONFIG)
    _per_sequence, overall, warnings = bd_tables(table, summary_table(table, CONFIG), CONFIG)
    row = overall[(overall["codec"] == "ifvc") & (overall["metric"] == "psnr_rgb")].iloc[0]
    assert row["sequences_valid"] == 1 and row["sequences"] == 2
    assert any("incomplete curve" in w and "seq_b" in w for w in warnings)


def test_markdown_table_lines() -> None:
    table = summary_table(results_table(fake_results(), CONFIG), CONFIG)
    text = markdown_table(table)
    lines = text.strip().splitlines()
    assert len(lines) == 2 + len(table)
    assert lines[0].startswith("| codec | point | sequences")
    assert lines[1].startswith("|---|---:|")             # text left, numbers right


def test_report_files(tmp_path: Path) -> None:
    report = write_report(fake_results(), CONFIG, tmp_path, {"git": {"revision": None}})
    for key in ("results", "summary_csv", "summary_md", "bd_rate", "bd_rate_per_sequence",
                "provenance", *(f"rd_{m}" for m in METRICS)):
        assert report.files[key].is_file(), key
    png = report.files["rd_psnr_rgb"].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    markdown = report.files["summary_md"].read_text()
    assert "BD-rate against vvc" in markdown and "-50.0%" in markdown
    assert len(pd.read_csv(report.files["results"])) == 24


def _tables(tmp_path: Path) -> tuple[Path, Path, pd.DataFrame]:
    table = results_table(fake_results(), CONFIG)
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    table.to_csv(a, index=False)
    return a, b, table


def test_compare_identical_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b, table = _tables(tmp_path)
    table.to_csv(b, index=False)
    assert main(["compare", str(a), str(b)]) == 0
    assert "OK: 0 value(s) beyond tolerance" in capsys.readouterr().out


def test_compare_flags_a_changed_cell(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b, table = _tables(tmp_path)
    changed = table.copy()
    mask = (changed["codec"] == "ifvc") & (changed["point"] == 42) & (changed["sequence"] == "seq_a")
    changed.loc[mask, "psnr_rgb"] += 0.2
    changed.loc[mask, "kbps"] *= 1.0005                  # within the 0.1 % kbps tolerance
    changed.to_csv(b, index=False)
    assert main(["compare", str(a), str(b)]) == 1
    out = capsys.readouterr().out
    assert "BEYOND ifvc QP42 seq_a: psnr_rgb" in out
    assert "within ifvc QP42 seq_a: kbps" in out
    comparison = compare_tables(read_table(a), read_table(b))
    assert len(comparison.beyond) == 1
    # A looser tolerance accepts the change.
    assert main(["compare", str(a), str(b), "--tolerance", "psnr_rgb=0.5"]) == 0


def test_compare_flags_missing_cells(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b, table = _tables(tmp_path)
    table.iloc[1:].to_csv(b, index=False)
    assert main(["compare", str(a), str(b)]) == 1
    first = table.iloc[0]
    assert f"MISSING in {b}: {first['codec']} QP{first['point']} {first['sequence']}" in capsys.readouterr().out


def test_compare_bad_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, _, _ = _tables(tmp_path)
    assert main(["compare", str(a), str(tmp_path / "nope.csv")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not found" in err and "Traceback" not in err
    other = tmp_path / "other.csv"
    other.write_text("x,y\n1,2\n")
    assert main(["compare", str(a), str(other)]) == 2
    assert "not a campaign results table" in capsys.readouterr().err
    with pytest.raises(CampaignError):
        parse_tolerances(["psnr_rgb=abc"])
    assert parse_tolerances(["kbps=0.5%"])["kbps"] == pytest.approx(0.005)
    assert math.isclose(parse_tolerances([])["psnr_rgb"], 0.01)


def test_ifvc_log_bits_by_unit_type(tmp_path: Path) -> None:
    from conformance.campaign.coding import _bits_by_unit_type
    log = tmp_path / "log.csv"
    log.write_text("frame_idx,kind,face_found\n0,key,1\n1,semantic,1\n\n"
                   "unit_index,unit_type,bytes,first_frame_idx,num_frames\n"
                   "0,SEQUENCE_HEADER,97,,0\n1,KEYFRAME,900,0,1\n2,SEMANTIC,40,1,8\n"
                   "3,SEMANTIC,45,9,8\n4,HASH,52,,0\n")
    assert _bits_by_unit_type(log) == {"SEQUENCE_HEADER": 776, "KEYFRAME": 7200,
                                       "SEMANTIC": 680, "HASH": 416}
