"""The `vtm` anchor end to end with a real VTM build (anchors/README.md), and through the
campaign's `vtm` entry. CI has no VTM: these tests skip unless IFVC_VTM_ENCODER and
IFVC_VTM_DECODER name VTM's EncoderApp and DecoderApp (built outside the repository), e.g.

    IFVC_VTM_ENCODER=VTM_BUILD/bin/EncoderAppStatic IFVC_VTM_DECODER=VTM_BUILD/bin/DecoderAppStatic \\
        .venv/bin/python -m pytest -q tests/test_anchors_vtm.py
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from anchors.runner import AnchorJob, run_anchor
from conformance.campaign import run_campaign
from conformance.campaign.config import load_config
from tests.test_campaign_run import FRAMES, SIZE, write_sequence

ENCODER = os.environ.get("IFVC_VTM_ENCODER")
DECODER = os.environ.get("IFVC_VTM_DECODER")
pytestmark = pytest.mark.skipif(
    not (ENCODER and DECODER),
    reason="no VTM build given: set IFVC_VTM_ENCODER and IFVC_VTM_DECODER to VTM's "
           "EncoderApp and DecoderApp to run the VTM anchor tests")


@pytest.fixture(scope="module")
def sequence(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sequence(tmp_path_factory.mktemp("vtm_seq"), "synth")


def test_vtm_anchor_round_trip(sequence: Path, tmp_path: Path) -> None:
    assert ENCODER and DECODER
    job = AnchorJob("vtm", 47, sequence, tmp_path, width=SIZE, height=SIZE,
                    vtm_encoder=Path(ENCODER), vtm_decoder=Path(DECODER))
    result = run_anchor(job, progress=None)
    # The runner checked DecoderApp's output against EncoderApp's reconstruction, byte for
    # byte, and the stream's structure: one intra picture, then inter pictures.
    assert result.frames == FRAMES and result.encoder == "VTM EncoderApp"
    assert result.encoder_version and result.encoder_version[0].isdigit()
    assert result.stream_structure["pictures"] == FRAMES
    assert result.stream_structure["intra_pictures"] == 1
    assert "VTM EncoderApp sha256" in result.tool_version and "encoder_lowdelay_vtm.cfg" in result.tool_version
    assert "--Level=2.1" in result.commands["encode"]           # the GFVC anchor's level
    source = np.fromfile(sequence, np.uint8).astype(np.float64)
    decoded = np.fromfile(result.output_path, np.uint8).astype(np.float64)
    psnr = 10 * np.log10(255.0 ** 2 / np.mean((source - decoded) ** 2))
    assert 25 < psnr < 50
    again = run_anchor(job, progress=None)                      # idempotent: nothing re-run
    assert again.reused and again.stream_sha256 == result.stream_sha256


def test_vtm_entry_of_a_campaign(sequence: Path, tmp_path: Path) -> None:
    """The campaign's `vtm` codec takes the binaries from $IFVC_VTM_*, as gfvc_ctc.json's does."""
    (tmp_path / "split.json").write_text(json.dumps({"test": ["synth"]}))
    config_path = tmp_path / "vtm.json"
    config_path.write_text(json.dumps({
        "name": "tiny-vtm", "sequences_dir": str(sequence.parent),
        "split_file": str(tmp_path / "split.json"), "split": "test",
        "width": SIZE, "height": SIZE, "fps": 25, "frames": None,
        "codecs": {"vtm": {"kind": "anchor", "anchor_codec": "vtm", "points": [52],
                           "on_request": True}},
        "anchor": "vtm", "metrics": ["psnr_rgb", "psnr_gfvc"], "strided_metrics": [],
        "vgg_stride": 1,
        "bd_rate": {"method": "pchip", "metrics": ["psnr_rgb"], "min_overlap": 0.5}}))
    outcome = run_campaign(load_config(config_path), tmp_path / "out", codecs=["vtm"],
                           progress=None)
    assert outcome.run.failures == [] and outcome.run.ran == 1
    result = outcome.run.results[0]
    assert result["encoder"] == "VTM EncoderApp" and result["encoder_version"]
    assert result["metrics"]["psnr_gfvc"] >= result["metrics"]["psnr_rgb"]
