"""tools.campaign_strips: the strip is the source and each cell's decoded frames side by side,
row by row; missing files and malformed arguments are one-line errors with exit 2."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from bitstream.picture_format import frame_to_rgb_planar
from tools import campaign_strips


def write_rgb444(path: Path, frames: np.ndarray) -> None:
    path.write_bytes(b"".join(frame_to_rgb_planar(f) for f in frames))


def _frames(seed: int, n: int = 4) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 256, 256, 3), dtype=np.uint8)


def _layout(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    clip = "clipA"
    seqs = tmp_path / "seq"
    seqs.mkdir()
    pics = {"source": _frames(1)}
    write_rgb444(seqs / f"{clip}_256x256_25_8bit_444.rgb", pics["source"])
    for name, seed in (("before", 2), ("after", 3)):
        cell = tmp_path / f"camp_{name}" / "cells" / f"c_{name}" / clip
        cell.mkdir(parents=True)
        pics[name] = _frames(seed)
        write_rgb444(cell / f"{clip}_c_{name}_qp22.rgb", pics[name])
    return seqs, pics


def test_strip_rows_are_source_and_cells_side_by_side(tmp_path: Path) -> None:
    seqs, pics = _layout(tmp_path)
    rc = campaign_strips.main(["--qp", "22", "--sequences", str(seqs), "--out", str(tmp_path),
                               "--column", f"{tmp_path / 'camp_before'}:c_before",
                               "--column", f"{tmp_path / 'camp_after'}:c_after", "--clip", "clipA:3,1"])
    assert rc == 0
    png = cv2.imread(str(tmp_path / "strip_clipA_qp22.png"))[..., ::-1]
    assert png.shape == (512, 768, 3)
    for row, t in enumerate((3, 1)):
        for col, name in enumerate(("source", "before", "after")):
            assert np.array_equal(png[row * 256:(row + 1) * 256, col * 256:(col + 1) * 256], pics[name][t])


def test_missing_cell_short_file_and_bad_arguments_are_one_line_errors(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    seqs, _ = _layout(tmp_path)
    base = ["--qp", "22", "--sequences", str(seqs), "--out", str(tmp_path)]
    assert campaign_strips.main(base + ["--column", f"{tmp_path / 'camp_before'}:nope", "--clip", "clipA:1"]) == 2
    assert campaign_strips.main(base + ["--column", f"{tmp_path / 'camp_before'}:c_before", "--clip", "clipA:9"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "not found" in err[0] and "fewer than 10 frames" in err[1]
    for bad in (["--column", "nocolon", "--clip", "clipA:1"], ["--column", "a:b", "--clip", "clipA:x"]):
        with pytest.raises(SystemExit) as exit_info:
            campaign_strips.main(base + bad)
        assert exit_info.value.code == 2
    assert not list(tmp_path.glob("*.png"))


def test_crop_shows_the_box_enlarged(tmp_path: Path) -> None:
    seqs, pics = _layout(tmp_path)
    rc = campaign_strips.main(["--qp", "22", "--sequences", str(seqs), "--out", str(tmp_path),
                               "--column", f"{tmp_path / 'camp_after'}:c_after", "--clip", "clipA:2",
                               "--crop", "10,20,30,40", "--zoom", "3"])
    assert rc == 0
    png = cv2.imread(str(tmp_path / "strip_clipA_qp22_crop10_20_30_40.png"))[..., ::-1]
    assert png.shape == (120, 180, 3)
    for col, name in enumerate(("source", "after")):
        part = pics[name][2, 20:60, 10:40]
        assert np.array_equal(png[::3, col * 90:(col + 1) * 90:3], part)
        assert np.array_equal(png[2::3, col * 90 + 2:(col + 1) * 90:3], part)
    for bad in ("1,2,3", "250,0,10,10", "0,0,0,5"):
        with pytest.raises(SystemExit) as exit_info:
            campaign_strips.main(["--qp", "22", "--sequences", str(seqs), "--out", str(tmp_path), "--column",
                                  f"{tmp_path / 'camp_after'}:c_after", "--clip", "clipA:2", "--crop", bad])
        assert exit_info.value.code == 2
