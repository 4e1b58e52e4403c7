"""tools.rate_split: the rate split of IFVC streams adds up to the file, unit by unit."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bitstream.units import iter_units
from tools import rate_split

STREAMS = Path(__file__).resolve().parents[1] / "conformance" / "streams"


@pytest.mark.parametrize("name", ["cabac_multiref_eviction", "cabac_compact_header_default"])
def test_split_adds_up_and_counts_frames_and_key_frames(name: str) -> None:
    data = (STREAMS / f"{name}.ifvc").read_bytes()
    expected = json.loads((STREAMS / f"{name}.json").read_text())["frames"]
    split = rate_split.stream_split(data)
    assert sum(split["bytes"].values()) == len(data) == split["total_bytes"]
    assert split["keyframes"] == expected["num_keyframes"]
    assert split["frames"] == expected["first_output_frame_idx"] + expected["num_output_frames"]
    units = list(iter_units(data))
    assert split["bytes"]["header"] == units[0].header_size + len(units[0].payload)
    assert split["bytes"]["kf_picture"] > 0 and split["bytes"]["semantic"] > 0
    rates = rate_split.kbps(split, 25.0)
    assert rates["total"] == pytest.approx(sum(v for k, v in rates.items() if k != "total"))


def test_corrupt_stream_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.ifvc"
    bad.write_bytes((STREAMS / "cabac_multiref_eviction.ifvc").read_bytes()[:-7])
    assert rate_split.main([str(bad)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "truncated" in err[0]
