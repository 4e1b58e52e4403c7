"""tools/same_levels.py: a campaign's cells read back, the reproduction check, and the scores as
the campaign computes them (PSNR-RGB of the mean MSE over every frame; the metrics on the
strided frames)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conformance.metrics.psnr import PSNR_CAP_DB
from tools.same_levels import (campaign_cells, check_reproduces, compare_generators, row_line, score_versions,
                               study_arguments)

W = H = 32


def write_cell(root: Path, codec: str, clip: str, qp: int, decoded: np.ndarray, source: np.ndarray) -> None:
    cell = root / "camp" / "cells" / codec / clip
    cell.mkdir(parents=True)
    (cell / f"{clip}_{codec}_qp{qp}.ifvc").write_bytes(b"stream " + clip.encode())
    (cell / f"{clip}_{codec}_qp{qp}.rgb").write_bytes(decoded.transpose(0, 3, 1, 2).tobytes())
    seq = root / "seq"
    seq.mkdir(exist_ok=True)
    (seq / f"{clip}_{W}x{H}_25_8bit_444.rgb").write_bytes(source.transpose(0, 3, 1, 2).tobytes())


def test_cells_are_read_back_in_clip_order_with_as_many_source_frames(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    videos = {}
    for clip in ("b_clip", "a_clip"):
        decoded = rng.integers(0, 256, (3, H, W, 3), dtype=np.uint8)
        source = rng.integers(0, 256, (5, H, W, 3), dtype=np.uint8)   # longer than the decode
        write_cell(tmp_path, "g8", clip, 32, decoded, source)
        videos[clip] = (decoded, source)
    cells = list(campaign_cells(tmp_path / "camp", "g8", 32, tmp_path / "seq", W, H))
    assert [c.clip for c in cells] == ["a_clip", "b_clip"]
    for c in cells:
        decoded, source = videos[c.clip]
        assert c.stream == b"stream " + c.clip.encode()
        assert np.array_equal(c.decoded, decoded) and np.array_equal(c.source, source[:3])
    with pytest.raises(SystemExit, match="no campaign cells of codec 'g7'"):
        list(campaign_cells(tmp_path / "camp", "g7", 32, tmp_path / "seq", W, H))
    with pytest.raises(SystemExit, match="a_clip: .*a_clip_g8_qp22.ifvc is missing"):
        list(campaign_cells(tmp_path / "camp", "g8", 22, tmp_path / "seq", W, H))
    check_reproduces(cells[0], videos["a_clip"][0], "plain")
    with pytest.raises(SystemExit, match="a_clip: the plain decode does not reproduce"):
        check_reproduces(cells[0], videos["b_clip"][0], "plain")


def test_psnr_is_that_of_the_mean_mse_over_every_frame() -> None:
    source = np.full((4, H, W, 3), 100, np.uint8)
    off = source.copy()
    off[1] += 10                                      # one frame of four off by 10: MSE 25
    scores = score_versions(source, {"same": source, "off": off}, metrics=())
    assert scores["same"] == {"psnr_rgb": PSNR_CAP_DB}
    assert scores["off"]["psnr_rgb"] == pytest.approx(10 * np.log10(255 ** 2 / 25.0))
    assert row_line("clip", scores, metrics=()).startswith("clip same: ")


def test_study_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    """CAMPAIGN CODEC QP OUT parsed, the thread counts pinned (setters stubbed: the settings of
    the rest of the test run stay as they are)."""
    import tools.same_levels as same_levels
    pinned: list[tuple[str, int]] = []
    monkeypatch.setattr(same_levels.torch, "set_num_threads", lambda n: pinned.append(("torch", n)))
    monkeypatch.setattr(same_levels.cv2, "setNumThreads", lambda n: pinned.append(("cv2", n)))
    assert study_arguments(["work/camp", "g8", "32", "out.json"]) == (Path("work/camp"), "g8", 32, Path("out.json"))
    assert pinned == [("torch", 2), ("cv2", 1)]
    with pytest.raises(SystemExit, match="usage: CAMPAIGN CODEC QP OUT.json"):
        study_arguments(["work/camp", "g8", "32"])


def test_compare_generators_decodes_every_cell_again_and_checks_the_plain_version(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A suite stream (4 frames, VVC key frame) as a campaign cell: decoded again with the plain
    generator it must reproduce the cell's video; the means go to OUT; a cell whose video another
    decoder made is refused."""
    pytest.importorskip("imageio_ffmpeg")
    import json
    from functools import partial

    from ifvc_synthesis.generators import get_generator
    from ref_decoder.decoder import Decoder
    stream = (Path(__file__).resolve().parents[1] / "conformance" / "streams" / "vvc_level10_256x256.ifvc").read_bytes()
    video = np.stack([f.rgb for f in Decoder(generator=get_generator("ifvc-geometric-1")).decode(stream)])
    source = np.clip(video.astype(int) + 5, 0, 255).astype(np.uint8)       # MSE 25 where not clipped
    cell = tmp_path / "camp" / "cells" / "g1" / "clip"
    cell.mkdir(parents=True)
    (cell / "clip_g1_qp32.ifvc").write_bytes(stream)
    (cell / "clip_g1_qp32.rgb").write_bytes(video.transpose(0, 3, 1, 2).tobytes())
    (tmp_path / "seq").mkdir()
    (tmp_path / "seq" / "clip_256x256_25_8bit_444.rgb").write_bytes(source.transpose(0, 3, 1, 2).tobytes())
    make = partial(get_generator, "ifvc-geometric-1")
    out = tmp_path / "out.json"
    summary = compare_generators(tmp_path / "camp", "g1", 32, out, {"plain": make, "again": make}, "plain",
                                 sequences=tmp_path / "seq", metrics=())
    assert json.loads(out.read_text()) == summary
    assert summary["mean"]["plain"] == summary["mean"]["again"] == summary["clips"]["clip"]["plain"]
    expected = 10 * np.log10(255 ** 2 / np.mean((video.astype(float) - source) ** 2))
    assert summary["mean"]["plain"]["psnr_rgb"] == pytest.approx(expected)
    assert "mean plain: psnr_rgb" in capsys.readouterr().out
    (cell / "clip_g1_qp32.rgb").write_bytes(source.transpose(0, 3, 1, 2).tobytes())
    out.unlink()
    with pytest.raises(SystemExit, match="clip: the plain decode does not reproduce"):
        compare_generators(tmp_path / "camp", "g1", 32, out, {"plain": make}, "plain",
                           sequences=tmp_path / "seq", metrics=())
    assert not out.exists()
