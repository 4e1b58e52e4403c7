"""Round trips through the real encoders (ffmpeg's libvvenc/vvc and libx265/hevc).

A 12-frame synthetic 256x256 sequence at QPs 37 and 47 for both codecs (four encodes, shared
by the tests through a module fixture), plus one short real clip when ../shared/data exists.
"""
from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from anchors.runner import AnchorJob, AnchorResult, run_anchor
from anchors.toolchain import find_ffmpeg

REPO = Path(__file__).resolve().parents[1]
SIZE, FRAMES = 256, 12
CODECS = {"vvc": ".266", "hevc": ".265"}


def _synthetic_sequence(frames: int) -> np.ndarray:
    """Smooth background, a textured disc moving right, noise: (F, 3, 256, 256) uint8."""
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    texture = rng.normal(0, 1, (SIZE, SIZE))
    out = np.empty((frames, 3, SIZE, SIZE), np.uint8)
    for f in range(frames):
        cx, cy = 90 + 4 * f, 128 + 2 * np.sin(f / 2)
        disc = ((xx - cx) ** 2 + (yy - cy) ** 2) < 60 ** 2
        shade = 40 * np.sin((xx - 4 * f) / 6) * np.cos(yy / 8)
        base = [60 + 0.5 * xx, 80 + 0.4 * yy, 140 - 0.2 * xx]
        face = [200 + shade, 150 + shade, 120 + 0.5 * shade]
        for c in range(3):
            plane = np.where(disc, face[c], base[c]) + 3 * texture
            out[f, c] = np.clip(np.rint(plane), 0, 255)
    return out


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / mse))


def _read_rgb(path: Path) -> np.ndarray:
    return np.fromfile(path, np.uint8).reshape(-1, 3, SIZE, SIZE)


@pytest.fixture(scope="module")
def sequence(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("seq") / "synth_256x256_25_8bit_444.rgb"
    _synthetic_sequence(FRAMES).tofile(path)
    return path


@pytest.fixture(scope="module")
def results(sequence: Path, tmp_path_factory: pytest.TempPathFactory
            ) -> dict[tuple[str, int], AnchorResult]:
    out = tmp_path_factory.mktemp("anchors")
    return {(codec, qp): run_anchor(AnchorJob(codec, qp, sequence, out), progress=None)
            for codec in CODECS for qp in (37, 47)}


@pytest.mark.parametrize("codec", CODECS)
def test_decoded_output_size_and_psnr(codec: str, sequence: Path,
                                      results: dict[tuple[str, int], AnchorResult]) -> None:
    source = _read_rgb(sequence)
    for qp, (low, high) in ((37, (28.0, 45.0)), (47, (22.0, 38.0))):
        result = results[(codec, qp)]
        output = Path(result.output_path)
        assert output.stat().st_size == sequence.stat().st_size
        decoded = _read_rgb(output)
        assert low < _psnr(source, decoded) < high, (codec, qp, _psnr(source, decoded))
        # Every frame is a real picture of the sequence, not a repeat or a blank.
        per_frame = [_psnr(source[i], decoded[i]) for i in range(FRAMES)]
        assert min(per_frame) > low - 3
    assert _psnr(source, _read_rgb(Path(results[(codec, 37)].output_path))) > \
        _psnr(source, _read_rgb(Path(results[(codec, 47)].output_path)))


@pytest.mark.parametrize("codec", CODECS)
def test_rate_grows_as_qp_falls(codec: str,
                                results: dict[tuple[str, int], AnchorResult]) -> None:
    assert results[(codec, 37)].bits > 1.3 * results[(codec, 47)].bits > 0


@pytest.mark.parametrize("codec", CODECS)
def test_result_json_is_consistent(codec: str, sequence: Path,
                                   results: dict[tuple[str, int], AnchorResult]) -> None:
    result = results[(codec, 37)]
    stream, output = Path(result.stream_path), Path(result.output_path)
    data = json.loads(stream.with_suffix(".json").read_text())
    assert data["codec"] == codec and data["qp"] == 37 and data["frames"] == FRAMES
    assert data["bits"] == 8 * stream.stat().st_size
    assert data["kbps"] == pytest.approx(data["bits"] / 1000 / (FRAMES / 25))
    assert data["stream_sha256"] == hashlib.sha256(stream.read_bytes()).hexdigest()
    assert data["output_sha256"] == hashlib.sha256(output.read_bytes()).hexdigest()
    assert data["input_sha256"] == hashlib.sha256(sequence.read_bytes()).hexdigest()
    assert data["encode_seconds"] > 0 and data["decode_seconds"] > 0
    assert data["tool_version"].startswith("ffmpeg version")
    assert data["encoder_version"], "libvvenc/x265 version string not found in the log"
    assert ("-qp 37" if codec == "vvc" else "qp=37") in data["commands"]["encode"]
    assert data["stream_structure"]["intra_pictures"] == 1
    assert not list(stream.parent.glob(".anchor-tmp-*"))


@pytest.mark.parametrize("codec", CODECS)
def test_stream_is_annex_b_with_parameter_sets(codec: str,
                                               results: dict[tuple[str, int], AnchorResult]
                                               ) -> None:
    stream = Path(results[(codec, 47)].stream_path)
    assert stream.suffix == CODECS[codec]
    data = stream.read_bytes()
    assert data[:4] == b"\x00\x00\x00\x01" or data[:3] == b"\x00\x00\x01"
    # NAL unit types right after each start code, read here independently of anchors.
    headers = [data[m.end():m.end() + 2] for m in re.finditer(b"\x00\x00\x01", data)]
    if codec == "vvc":
        types = [h[1] >> 3 for h in headers]
        assert {15, 16} <= set(types)          # SPS, PPS
        assert types.count(7) + types.count(8) == 1  # one IDR
    else:
        types = [(h[0] >> 1) & 63 for h in headers]
        assert {32, 33, 34} <= set(types)      # VPS, SPS, PPS
        assert types.count(19) + types.count(20) == 1
        assert 39 not in types                 # no x265 info SEI


@pytest.mark.parametrize("codec", CODECS)
def test_decoder_sees_one_intra_then_inter_pictures(
        codec: str, results: dict[tuple[str, int], AnchorResult]) -> None:
    stream = Path(results[(codec, 47)].stream_path)
    log = subprocess.run([str(find_ffmpeg()), "-hide_banner", "-nostdin", "-i", str(stream),
                          "-vf", "showinfo", "-f", "null", "-"],
                         capture_output=True, text=True, check=True).stderr
    types = re.findall(r"iskey:\d type:([IPB])", log)
    assert len(types) == FRAMES
    assert types[0] == "I" and set(types[1:]) <= {"P", "B"}


def test_rerun_is_idempotent_and_encoding_deterministic(
        sequence: Path, results: dict[tuple[str, int], AnchorResult]) -> None:
    first = results[("vvc", 47)]
    stream = Path(first.stream_path)
    mtime = stream.stat().st_mtime_ns
    again = run_anchor(AnchorJob("vvc", 47, sequence, stream.parent), progress=None)
    assert again.reused and again.job_hash == first.job_hash
    assert stream.stat().st_mtime_ns == mtime
    forced = run_anchor(AnchorJob("vvc", 47, sequence, stream.parent, force=True),
                        progress=None)
    assert not forced.reused and forced.stream_sha256 == first.stream_sha256
    assert forced.output_sha256 == first.output_sha256


def test_rerun_after_output_damage_redoes_the_work(
        sequence: Path, results: dict[tuple[str, int], AnchorResult]) -> None:
    first = results[("hevc", 47)]
    Path(first.output_path).write_bytes(b"damaged")
    again = run_anchor(AnchorJob("hevc", 47, sequence, Path(first.stream_path).parent),
                       progress=None)
    assert not again.reused and again.output_sha256 == first.output_sha256


def test_cli_rerun_says_skipped(sequence: Path,
                                results: dict[tuple[str, int], AnchorResult]) -> None:
    out = Path(results[("hevc", 37)].stream_path).parent
    proc = subprocess.run([sys.executable, "-m", "anchors.run", "--codec", "hevc", "--qp", "37",
                           "--input", str(sequence), "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "skipped" in proc.stderr
    assert proc.stdout.strip().endswith("_hevc_qp37.json")


def test_encoder_failure_is_one_line_and_leaves_nothing(sequence: Path, tmp_path: Path) -> None:
    config = json.loads((REPO / "anchors/configs/vvc_vvenc_lowdelay.json").read_text())
    config["ffmpeg_encoder_args"][-1] += ":NoSuchOption=1"
    bad = tmp_path / "bad_vvc.json"
    bad.write_text(json.dumps(config))
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "anchors.run", "--codec", "vvc", "--qp", "37",
                           "--input", str(sequence), "--frames", "2", "--config", str(bad),
                           "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    error = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert len(error) == 1
    assert "libvvenc encoding failed" in error[0] and "NoSuchOption" in error[0]
    assert list(out.iterdir()) == []           # no stream, rgb, json or temp folder


@pytest.mark.slow
def test_real_clip_round_trip(shared_data: Path, tmp_path: Path) -> None:
    clip = shared_data / "faces" / "raw" / "sadtalker_WDA_AlexandriaOcasioCortez_000.mp4"
    if not clip.is_file():
        pytest.skip(f"{clip} absent")
    gbrp = subprocess.run([str(find_ffmpeg()), "-nostdin", "-loglevel", "error", "-i", str(clip),
                           "-an", "-frames:v", "10", "-vf", "scale=256:256:flags=area",
                           "-pix_fmt", "gbrp", "-f", "rawvideo", "-"],
                          capture_output=True, check=True).stdout
    frames = np.frombuffer(gbrp, np.uint8).reshape(-1, 3, SIZE, SIZE)[:, [2, 0, 1]]  # G,B,R
    seq = tmp_path / "aoc_256x256_25_8bit_444.rgb"
    frames.tofile(seq)
    result = run_anchor(AnchorJob("vvc", 42, seq, tmp_path / "out"), progress=None)
    assert result.frames == 10
    assert 24.0 < _psnr(frames, _read_rgb(Path(result.output_path))) < 40.0
    assert 2.0 < result.kbps < 200.0
