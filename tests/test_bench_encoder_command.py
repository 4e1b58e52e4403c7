"""tools/bench_encoder_command.py: whole ifvc-encode commands on a prepared clip, one line per run
with the stream's bytes and SHA-256, the summary says whether every run wrote the same stream,
and a run that fails ends the benchmark with exit 1 and the encoder's message (no timing is
asserted: speed lives in the numbers the tool prints)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tools.bench_encoder_command import main


@pytest.fixture(scope="module")
def sequences(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from conformance.streams_vvc import _clip_frames
    from bitstream.picture_format import frame_to_rgb_planar
    folder = tmp_path_factory.mktemp("sequences")
    frames = _clip_frames(shared_data / "faces" / "raw" / "liveportrait_driving_d20.mp4", 4)
    (folder / "d20_256x256_25_8bit_444.rgb").write_bytes(b"".join(frame_to_rgb_planar(f) for f in frames))
    return folder


def test_two_rounds_write_the_same_stream_and_the_lines(sequences: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench.txt"
    assert main(["--sequences", str(sequences), "--clips", "d20", "--rounds", "2", "--frames", "3",
                 "--out", str(out), "--", "--qp", "42", "--keyframe-preset", "faster"]) == 0
    lines = out.read_text().splitlines()
    runs = [line for line in lines if line.startswith("round ")]
    assert len(runs) == 2 and all("frames/s (whole command)" in line and "SHA-256" in line for line in runs)
    assert runs[0].split("SHA-256 ")[1] == runs[1].split("SHA-256 ")[1]
    assert lines[-1].startswith("d20: ") and lines[-1].endswith("(same stream in every run)")
    assert lines[0] == "encoder options: --qp 42 --keyframe-preset faster; 3 frames; trees: " + \
        Path(__file__).resolve().parents[1].name
    assert capsys.readouterr().out.splitlines() == lines


def test_a_failing_run_ends_it_with_the_encoders_message(sequences: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--sequences", str(sequences), "--clips", "d20", "--rounds", "1", "--frames", "2",
                 "--", "--qp", "99"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("bench_encoder_command: ") and "exit 2" in err[0]


def test_a_missing_clip_is_named(sequences: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--sequences", str(sequences), "--clips", "d21"])
    assert stop.value.code == 2 and "d21_256x256_25_8bit_444.rgb" in capsys.readouterr().err
