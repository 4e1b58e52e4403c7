"""Unit tests of the anchors package that need no encoder: colour, NAL parsing, commands."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anchors import colour
from anchors.commands import (ffmpeg_decode_command, ffmpeg_encode_command, fps_text,
                              resolve_vtm_cfg, vtm_decode_command, vtm_encode_command)
from anchors.configs import GFVC_QPS, load_config
from anchors.errors import AnchorError
from anchors.nal_units import analyse, split_nal_units, starts_with_start_code
from anchors.rawio import Geometry

REPO = Path(__file__).resolve().parents[1]


# --- colour -------------------------------------------------------------------------------

def _flat(r: int, g: int, b: int, size: int = 4) -> np.ndarray:
    frame = np.empty((1, 3, size, size), np.uint8)
    frame[0, 0], frame[0, 1], frame[0, 2] = r, g, b
    return frame


@pytest.mark.parametrize("rgb, yuv", [
    ((0, 0, 0), (16, 128, 128)),
    ((255, 255, 255), (235, 128, 128)),
    ((255, 0, 0), (63, 102, 240)),     # BT.709 limited-range red
    ((0, 255, 0), (173, 42, 26)),
    ((0, 0, 255), (32, 240, 118)),
])
def test_bt709_limited_range_values(rgb: tuple[int, int, int], yuv: tuple[int, int, int]) -> None:
    y, cb, cr = colour.rgb_to_yuv420(_flat(*rgb))
    assert (int(y[0, 0, 0]), int(cb[0, 0, 0]), int(cr[0, 0, 0])) == yuv
    assert y.shape == (1, 4, 4) and cb.shape == cr.shape == (1, 2, 2)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255))
def test_flat_colour_round_trip_within_two_levels(r: int, g: int, b: int) -> None:
    back = colour.yuv420_to_rgb(*colour.rgb_to_yuv420(_flat(r, g, b)))
    assert np.abs(back.astype(int) - np.array([r, g, b])[None, :, None, None]).max() <= 2


def test_chroma_subsampling_is_2x2_mean_and_upsampling_keeps_flat_areas() -> None:
    rgb = np.zeros((1, 3, 4, 4), np.uint8)
    rgb[0, 2, :2, :2] = 255            # a blue 2x2 block: one chroma sample, all blue
    _, cb, _ = colour.rgb_to_yuv420(rgb)
    assert cb[0, 0, 0] == 240 and cb[0, 1, 1] == 128
    # Flat chroma stays flat through the upsampling: a flat YCbCr picture gives a flat RGB one.
    y = np.full((1, 4, 4), 120, np.uint8)
    c = np.full((1, 2, 2), 150, np.uint8)
    back = colour.yuv420_to_rgb(y, c, c)
    assert (back == back[:, :, :1, :1]).all()


def test_10_bit_shift_round_trip_is_exact_and_rounds() -> None:
    values = np.arange(256, dtype=np.uint8)
    assert np.array_equal(colour.from_10bit(colour.to_10bit(values)), values)
    assert colour.from_10bit(np.array([1, 2, 1021, 1022, 1023], np.uint16)).tolist() == \
        [0, 1, 255, 255, 255]


def test_real_picture_round_trip_psnr_is_high() -> None:
    # Smooth content survives 4:4:4 -> 4:2:0 -> 4:4:4 with little loss.
    yy, xx = np.mgrid[0:64, 0:64].astype(np.float64)
    rgb = np.stack([128 + 100 * np.sin(xx / 9), 128 + 90 * np.cos(yy / 7),
                    128 + 80 * np.sin((xx + yy) / 11)])[None].round().astype(np.uint8)
    back = colour.yuv420_to_rgb(*colour.rgb_to_yuv420(rgb))
    mse = np.mean((back.astype(float) - rgb) ** 2)
    assert 10 * np.log10(255 ** 2 / mse) > 40


# --- NAL units ----------------------------------------------------------------------------

def _vvc_nal(nut: int, payload: bytes) -> bytes:
    return b"\x00\x00\x00\x01" + bytes([0, (nut << 3) | 1]) + payload


def _hevc_nal(nut: int, payload: bytes) -> bytes:
    return b"\x00\x00\x01" + bytes([nut << 1, 1]) + payload


# VVC slice starts: sh_picture_header_in_slice_header_flag=1, then the picture header.
VVC_IDR = bytes([0b11000000, 0x12])      # irap=1, non_ref=0, gdr=0, inter_allowed=0
VVC_TRAIL = bytes([0b10010000, 0x34])    # irap=0, non_ref=0, inter_allowed=1


def test_vvc_one_intra_then_inter() -> None:
    stream = (_vvc_nal(15, b"\x01\x02") + _vvc_nal(16, b"\x03")
              + _vvc_nal(8, VVC_IDR) + _vvc_nal(0, VVC_TRAIL) + _vvc_nal(0, VVC_TRAIL))
    structure = analyse(stream, "vvc")
    assert structure.picture_types == ["I", "inter", "inter"]
    assert structure.has_parameter_sets and structure.is_one_intra_then_inter()
    assert structure.nal_counts == {"SPS": 1, "PPS": 1, "IDR_N_LP": 1, "TRAIL": 2}


def test_vvc_second_idr_breaks_low_delay_structure() -> None:
    stream = (_vvc_nal(15, b"\x01") + _vvc_nal(16, b"\x01")
              + _vvc_nal(8, VVC_IDR) + _vvc_nal(0, VVC_TRAIL) + _vvc_nal(8, VVC_IDR))
    structure = analyse(stream, "vvc")
    assert structure.irap_pictures == 2 and not structure.is_one_intra_then_inter()


def test_hevc_slice_types_read_through_pps() -> None:
    pps = bytes([0b11000000])            # pps_id=0, sps_id=0, flags 0, extra bits 0
    idr = bytes([0b10101100])            # first_slice=1, no_output=0, pps_id=0, slice_type=2
    trail = bytes([0b11010000])          # first_slice=1, pps_id=0, slice_type=1 (P)
    stream = (_hevc_nal(32, b"\x0c") + _hevc_nal(33, b"\x01") + _hevc_nal(34, pps)
              + _hevc_nal(20, idr) + _hevc_nal(1, trail))
    structure = analyse(stream, "hevc")
    assert structure.picture_types == ["I", "inter"] and structure.is_one_intra_then_inter()
    pps_extra = bytes([0b11000010, 0b00000000])  # num_extra_slice_header_bits = 1
    # first_slice=1, pps_id=0, one reserved bit, then slice_type ue "1" = 0 (B)
    stream = _hevc_nal(34, pps_extra) + _hevc_nal(1, bytes([0b11001000]))
    assert analyse(stream, "hevc").picture_types == ["inter"]


def test_emulation_prevention_and_start_codes() -> None:
    units = split_nal_units(b"\x00\x00\x00\x01\x40\x01\x00\x00\x03\x01\x00\x00\x01\x42\x01\xff")
    assert units == [b"\x40\x01\x00\x00\x03\x01", b"\x42\x01\xff"]
    assert starts_with_start_code(b"\x00\x00\x00\x01\x40")
    assert starts_with_start_code(b"\x00\x00\x01\x40")
    assert not starts_with_start_code(b"\x00\x00\x00\x20ftyp")


# --- configs and commands -----------------------------------------------------------------

def test_configs_hold_the_test_conditions() -> None:
    vvc, hevc, vtm = load_config("vvc"), load_config("hevc"), load_config("vtm")
    assert vvc.qps == vtm.qps == GFVC_QPS == (37, 42, 47, 52)
    assert hevc.qps == (37, 42, 47, 51) and hevc.qp_range == (0, 51)  # HEVC stops at 51
    vvenc = " ".join(vvc.args("ffmpeg_encoder_args", qp=42))
    assert "-c:v libvvenc -preset faster -qp 42 -qpa 0" in vvenc
    assert "PicReordering=0:DecodingRefreshType=none:GOPSize=8:IntraPeriod=-1" in vvenc
    assert vvc.coded_bit_depth == 10 and vvc.stream_extension == ".266"
    assert "qp=42:bframes=0:keyint=-1:scenecut=0:aq-mode=0" in " ".join(
        hevc.args("ffmpeg_encoder_args", qp=42))
    assert hevc.coded_bit_depth == 8 and hevc.stream_extension == ".265"
    assert vtm.data["default_cfg"] == "encoder_lowdelay_vtm.cfg"


def test_unknown_codec_is_an_error() -> None:
    with pytest.raises(AnchorError, match="unknown codec"):
        load_config("av1")


def test_ffmpeg_commands() -> None:
    config = load_config("vvc")
    enc = ffmpeg_encode_command(Path("/x/ffmpeg"), config, 52, Geometry(256, 256), 25.0, 10,
                                Path("in.yuv"), Path("out.266"))
    assert enc[0] == "/x/ffmpeg"
    text = " ".join(enc)
    assert "-f rawvideo -pix_fmt yuv420p10le -s 256x256 -framerate 25 -i in.yuv" in text
    assert "-frames:v 10" in text and "-qp 52" in text and text.endswith("-f vvc out.266")
    dec = ffmpeg_decode_command(Path("ffmpeg"), load_config("hevc"), Path("s.265"),
                                Path("d.yuv"))
    assert " ".join(dec).endswith("-c:v hevc -f hevc -i s.265 -an -fps_mode passthrough "
                                  "-f rawvideo -pix_fmt yuv420p d.yuv")
    assert fps_text(25.0) == "25" and fps_text(30000 / 1001) == "30000/1001"


def test_vtm_command_construction() -> None:
    config = load_config("vtm")
    enc = vtm_encode_command(Path("/vtm/bin/EncoderAppStatic"), config,
                             Path("/vtm/cfg/encoder_lowdelay_vtm.cfg"), 37, Geometry(256, 256),
                             25.0, 16, Path("in.yuv"), Path("rec.yuv"), Path("s.266"))
    assert enc == ["/vtm/bin/EncoderAppStatic", "-c", "/vtm/cfg/encoder_lowdelay_vtm.cfg",
                   "-i", "in.yuv", "-o", "rec.yuv", "-b", "s.266", "-q", "37",
                   "-wdt", "256", "-hgt", "256", "-fr", "25", "-f", "16",
                   "--InputBitDepth=8", "--OutputBitDepth=8", "--InputChromaFormat=420",
                   "--Level=2.1"]
    dec = vtm_decode_command(Path("/vtm/bin/DecoderAppStatic"), config, Path("s.266"),
                             Path("d.yuv"))
    assert dec == ["/vtm/bin/DecoderAppStatic", "-b", "s.266", "-o", "d.yuv", "-d", "8"]
    with pytest.raises(AnchorError, match="whole frame rates"):
        vtm_encode_command(Path("e"), config, Path("c"), 37, Geometry(256, 256), 29.97, 1,
                           Path("i"), Path("r"), Path("s"))


def test_vtm_cfg_found_in_the_vtm_tree(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "cfg").mkdir()
    encoder = tmp_path / "bin" / "EncoderAppStatic"
    encoder.write_text("")
    cfg = tmp_path / "cfg" / "encoder_lowdelay_vtm.cfg"
    cfg.write_text("GOPSize : 8\n")
    assert resolve_vtm_cfg("encoder_lowdelay_vtm.cfg", encoder) == cfg
    with pytest.raises(AnchorError, match="VTM cfg not found"):
        resolve_vtm_cfg("nope.cfg", encoder)


# --- CLI errors that need no encoding -----------------------------------------------------

def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "anchors.run", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def _assert_clean_error(proc: subprocess.CompletedProcess[str], words: str) -> None:
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("anchors.run: error")]
    assert len(lines) == 1 and words in lines[0], proc.stderr


@pytest.fixture()
def small_rgb(tmp_path: Path) -> Path:
    path = tmp_path / "tiny_16x16_25_8bit_444.rgb"
    np.random.default_rng(1).integers(0, 256, 2 * 3 * 16 * 16, np.uint8).tofile(path)
    return path


def test_cli_missing_input(tmp_path: Path) -> None:
    proc = _cli("--codec", "vvc", "--qp", "37", "--input", tmp_path / "none.rgb",
                "--out", tmp_path / "out")
    _assert_clean_error(proc, "input not found")
    assert not (tmp_path / "out").exists()


def test_cli_wrong_file_size(small_rgb: Path, tmp_path: Path) -> None:
    proc = _cli("--codec", "hevc", "--qp", "37", "--input", small_rgb, "--width", "256",
                "--out", tmp_path / "out")
    _assert_clean_error(proc, "not a whole number of 256x256 RGB 4:4:4 frames")


def test_cli_too_many_frames(small_rgb: Path, tmp_path: Path) -> None:
    proc = _cli("--codec", "hevc", "--qp", "37", "--input", small_rgb, "--width", "16",
                "--height", "16", "--frames", "5", "--out", tmp_path / "out")
    _assert_clean_error(proc, "has only 2 frames")


def test_cli_missing_ffmpeg(small_rgb: Path, tmp_path: Path) -> None:
    proc = _cli("--codec", "vvc", "--qp", "37", "--input", small_rgb, "--width", "16",
                "--height", "16", "--ffmpeg", tmp_path / "no-ffmpeg", "--out", tmp_path / "o")
    _assert_clean_error(proc, "ffmpeg not found")


def test_cli_missing_vtm_binary(small_rgb: Path, tmp_path: Path) -> None:
    proc = _cli("--codec", "vtm", "--qp", "37", "--input", small_rgb, "--width", "16",
                "--height", "16", "--vtm-encoder", tmp_path / "EncoderApp",
                "--vtm-decoder", tmp_path / "DecoderApp", "--out", tmp_path / "o")
    _assert_clean_error(proc, "VTM encoder not found")
    proc = _cli("--codec", "vtm", "--qp", "37", "--input", small_rgb, "--width", "16",
                "--height", "16", "--out", tmp_path / "o")
    _assert_clean_error(proc, "needs --vtm-encoder PATH and --vtm-decoder PATH")


def test_cli_hevc_qp_52_is_refused(small_rgb: Path, tmp_path: Path) -> None:
    proc = _cli("--codec", "hevc", "--qp", "52", "--input", small_rgb, "--width", "16",
                "--height", "16", "--out", tmp_path / "o")
    _assert_clean_error(proc, "QP 52 out of range 0..51 for hevc")


def test_cli_bad_config(small_rgb: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "x"}))
    proc = _cli("--codec", "vvc", "--qp", "37", "--input", small_rgb, "--width", "16",
                "--height", "16", "--config", bad, "--out", tmp_path / "o")
    _assert_clean_error(proc, "lacks")


def test_vtm_paths_are_relative_to_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """VTM runs with its working directory in the job's temporary folder: the binaries and
    the cfg a user names relative to the working directory reach it as absolute paths."""
    from anchors.runner import AnchorJob, _Tools
    (tmp_path / "bin").mkdir()
    for name in ("Enc", "Dec"):
        (tmp_path / "bin" / name).write_text("#!/bin/sh\n")
        (tmp_path / "bin" / name).chmod(0o755)
    (tmp_path / "my.cfg").write_text("# cfg\n")
    monkeypatch.chdir(tmp_path)
    job = AnchorJob(codec="vtm", qp=37, input_path=Path("in.rgb"), out_dir=Path("out"),
                    vtm_encoder=Path("bin/Enc"), vtm_decoder=Path("bin/Dec"), vtm_cfg=Path("my.cfg"))
    tools = _Tools.prepare(job, load_config("vtm"))
    got = (tools.vtm_encoder, tools.vtm_decoder, tools.vtm_cfg)
    assert all(p is not None and p.is_absolute() for p in got)
    assert [p.resolve() for p in got] == [(tmp_path / n).resolve() for n in ("bin/Enc", "bin/Dec", "my.cfg")]
