"""The README's main job (ifvc-demo) on a short piece of the default clip, with a geometric, a
learned and the default (layered mesh) generator."""
from __future__ import annotations

from pathlib import Path

import pytest

from bitstream.generator_registry import DEFAULT_GENERATOR_NAME, GENERATOR_BY_NAME
from bitstream.stream import ParsedSequenceHeader, StreamParser
from tools.e2e_demo import main as demo_main


@pytest.mark.parametrize("generator", ["ifvc-geometric-1", "ifvc-refine-1", DEFAULT_GENERATOR_NAME])
def test_demo_codes_and_reports(shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                generator: str) -> None:
    assert demo_main(["--frames", "6", "--out", str(tmp_path), "--generator", generator]) == 0
    out = capsys.readouterr().out
    assert "6 frames decoded; hash check: OK" in out
    assert f"quality over 6 frames ({generator}): PSNR-RGB" in out
    stream = next(tmp_path.glob("*.ifvc"))
    sh = next(u.sh for u in StreamParser().parse(stream.read_bytes()) if isinstance(u, ParsedSequenceHeader))
    assert sh.sh_generator_name == generator
    # the generators that move their background plate get bg_tx, bg_ty by default (Table 3a)
    assert (14 in sh.sh_sem_element_id) == GENERATOR_BY_NAME[generator].background_plate


def test_demo_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert demo_main(["--input", str(tmp_path / "none.mp4"), "--out", str(tmp_path / "o")]) == 1
    assert "input video not found" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
