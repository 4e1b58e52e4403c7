"""Every command-line entry point starts as a real process (not only through main() in the
test process): catches import-order and module-level mistakes that in-process tests miss."""
from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]


def _run(*args: str, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_entry_point_help(name: str) -> None:
    module, func = SCRIPTS[name].split(":")
    proc = _run("-c", f"import sys; from {module} import {func}; sys.exit({func}(['--help']))")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "usage:" in proc.stdout


def test_encode_and_decode_as_modules(shared_data: Path, tmp_path: Path) -> None:
    import cv2
    import numpy as np
    cap = cv2.VideoCapture(str(shared_data / "faces" / "raw" / "fomm_demo_old_08.mp4"))
    frames = []
    for _ in range(3):
        ok, bgr = cap.read()
        assert ok
        frames.append(bgr[:, :, ::-1].transpose(2, 0, 1))
    cap.release()
    seq = tmp_path / "s_256x256.rgb"
    seq.write_bytes(np.ascontiguousarray(np.stack(frames)).tobytes())
    stream = tmp_path / "s.ifvc"
    enc = _run("-m", "ref_encoder.cli", str(seq), "--width", "256", "--height", "256", "-o", str(stream),
               "--quiet")
    assert enc.returncode == 0, enc.stderr[-2000:]
    assert "kbit/s" in enc.stdout and stream.stat().st_size > 100
    dec = _run("-m", "ref_decoder.cli", str(stream), "-o", str(tmp_path / "d.rgb"), "--quiet")
    assert dec.returncode == 0, dec.stderr[-2000:]
    assert (tmp_path / "d.rgb").stat().st_size == seq.stat().st_size
    bad = _run("-m", "ref_decoder.cli", str(tmp_path / "missing.ifvc"), "-o", str(tmp_path / "x.rgb"))
    assert bad.returncode == 1 and "Traceback" not in bad.stderr and "not found" in bad.stderr
