"""tools.ctc_vs_quick (why quick and CTC-aligned BD-rates differ) and tools.rate_split."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conformance.campaign.cells import strided_indices
from tools import ctc_vs_quick

FRAMES = 30
POINTS = {"ifvc": (22, 32, 42, 52), "vvc": (37, 42, 47, 52), "vvc_faster": (37, 42, 47, 52)}


def _campaign(root: Path, codecs: tuple[str, ...], stride: int, payload_share: float) -> Path:
    """A campaign folder of two sequences: per-frame metrics falling with the rate, results
    averaged as a run with `stride` for LPIPS-VGG and DISTS would average them."""
    rows = []
    for s_index, sequence in enumerate(("seq_a", "seq_b")):
        for c_index, codec in enumerate(codecs):
            for p_index, point in enumerate(POINTS[codec]):
                kbps = (40.0 / 2 ** p_index) * (1 + 0.3 * c_index) * (1 + 0.1 * s_index)
                frame = np.arange(FRAMES)
                base = 0.1 + 0.1 * p_index + 0.01 * s_index
                per_frame = pd.DataFrame({
                    "frame": frame, "psnr_rgb": 35 - 3 * p_index - 0.01 * frame,
                    "lpips_alex": base + 0.001 * frame, "lpips_vgg": base + 0.004 * (frame % 7) * (1 + p_index + c_index),
                    "dists": base / 2 + 0.001 * (frame % 5)})
                folder = root / "cells" / codec / sequence
                folder.mkdir(parents=True, exist_ok=True)
                per_frame.to_csv(folder / f"{codec}_qp{point}.frames.csv", index=False)
                picked = strided_indices(FRAMES, stride)
                row = {"codec": codec, "sequence": sequence, "point": point, "frames": FRAMES,
                       "kbps": kbps, "kbps_payload": kbps * payload_share,
                       "psnr_rgb": per_frame["psnr_rgb"].mean(), "lpips_alex": per_frame["lpips_alex"].mean()}
                for metric in ("lpips_vgg", "dists"):
                    row[metric] = per_frame.loc[picked, metric].mean()
                rows.append(row)
    pd.DataFrame(rows).to_csv(root / "results.csv", index=False)
    return root


def test_resampling_reproduces_the_quick_run_and_each_step_changes_one_condition(tmp_path: Path) -> None:
    quick = _campaign(tmp_path / "quick", ("ifvc", "vvc"), stride=10, payload_share=1.0)
    ctc = _campaign(tmp_path / "ctc", ("ifvc", "vvc", "vvc_faster"), stride=1, payload_share=0.8)
    table = ctc_vs_quick.steps(ctc, quick, ["ifvc"], stride=10).set_index("step")
    # Same frames and per-frame values in both folders: the CTC cells resampled at the quick
    # stride give exactly the quick run's strided means.
    sampled = ctc_vs_quick.resampled(pd.read_csv(ctc / "results.csv"), ctc, 10)
    quick_results = pd.read_csv(quick / "results.csv")
    for metric in ("lpips_vgg", "dists"):
        for codec in ("ifvc", "vvc"):
            a = sampled[sampled["codec"] == codec].sort_values(["sequence", "point"])[metric].to_numpy()
            b = quick_results[quick_results["codec"] == codec].sort_values(["sequence", "point"])[metric].to_numpy()
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    rows = table.to_dict("index")
    steps = list(rows)
    # every frame changes the strided metrics only
    assert rows[steps[1]]["lpips_alex"] == rows[steps[2]]["lpips_alex"]
    assert rows[steps[1]]["lpips_vgg"] != rows[steps[2]]["lpips_vgg"]
    # payload-only scales every rate by the same factor: the BD-rate does not move
    assert rows[steps[2]]["lpips_alex"] == rows[steps[3]]["lpips_alex"]
    # the anchor changes every metric's BD-rate
    assert rows[steps[3]]["psnr_rgb"] != rows[steps[4]]["psnr_rgb"]
    assert rows[steps[0]]["psnr_gfvc"] == ""          # not a metric of these results


def test_missing_anchor_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    quick = _campaign(tmp_path / "quick", ("ifvc", "vvc"), stride=10, payload_share=1.0)
    ctc = _campaign(tmp_path / "ctc", ("ifvc", "vvc"), stride=1, payload_share=0.8)
    assert ctc_vs_quick.main(["--ctc", str(ctc), "--quick", str(quick), "--codecs", "ifvc"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "vvc_faster" in err[0]


def test_missing_per_frame_metrics_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    quick = _campaign(tmp_path / "quick", ("ifvc", "vvc"), stride=10, payload_share=1.0)
    ctc = _campaign(tmp_path / "ctc", ("ifvc", "vvc", "vvc_faster"), stride=1, payload_share=0.8)
    (ctc / "cells" / "ifvc" / "seq_a" / "ifvc_qp32.frames.csv").unlink()
    assert ctc_vs_quick.main(["--ctc", str(ctc), "--quick", str(quick), "--codecs", "ifvc"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "ifvc_qp32.frames.csv is missing" in err[0]
