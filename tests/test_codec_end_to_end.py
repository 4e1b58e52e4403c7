"""End to end on a short real clip: encode, dump, decode (twice), edits, virtual character,
bad inputs. Reads ../shared/data through the shared_data fixture (skips without it)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conformance.metrics import lpips, psnr_rgb
from ref_decoder import cli as decode_cli
from ref_encoder import cli as encode_cli
from ref_encoder.analysis import FaceAnalyzer
from tools import dump
from tools.make_character import main as character_main
from conformance.sequence_preparation import prepare_clip
from ifvc_common.files import sha256_file
from bitstream.raw_video import read_rgb444

FRAMES = 24
CLIP = "fomm_demo_old_08.mp4"          # test split, a tight face crop
CHARACTER_CLIP = "liveportrait_driving_d7.mp4"


@pytest.fixture(scope="module")
def coded(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("e2e")
    clip = shared_data / "faces" / "raw" / CLIP
    prepare_clip(clip, work, FRAMES, "[test]", sha256_file(clip))
    seq = work / f"{clip.stem}_256x256_25_8bit_444.rgb"
    paths = {"seq": seq, "work": work}
    for name, extra in (("cabac", []), ("eg", ["--entropy", "exp-golomb"])):
        stream = work / f"{name}.ifvc"
        rc = encode_cli.main([str(seq), "--width", "256", "--height", "256", "--qp", "47",
                              "--frames-per-unit", "4", "--keyframe-period", "12", "-o", str(stream),
                              "--log", str(work / f"{name}.csv"), "--quiet", *extra])
        assert rc == 0
        paths[name] = stream
    return paths


def _decode(stream: Path, out: Path, *extra: str) -> int:
    return decode_cli.main([str(stream), "-o", str(out), "--quiet", *extra])


def test_stream_dumps_cleanly(coded: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert dump.main([str(coded["cabac"]), "--json"]) == 0
    units = json.loads(capsys.readouterr().out)["units"]
    names = [u["unit_name"] for u in units]
    assert names[0] == "COMPACT_SEQUENCE_HEADER" and names[-1] == "END_OF_SEQUENCE"   # Compact profile: the default
    assert names.count("KEYFRAME") == 2                      # refresh every 12 frames
    assert sum(len(u.get("frames", [])) for u in units) + 2 == FRAMES
    assert all(c["matches"] is not False for u in units for c in u.get("checks", []))


def test_decoding_is_deterministic_and_sane(coded: dict[str, Path]) -> None:
    work = coded["work"]
    levels = [work / "l1.csv", work / "l2.csv"]
    for i in (0, 1):
        assert _decode(coded["cabac"], work / f"d{i}.rgb", "--levels", str(levels[i])) == 0
    assert (work / "d0.rgb").read_bytes() == (work / "d1.rgb").read_bytes()
    assert levels[0].read_text() == levels[1].read_text()
    src, out = read_rgb444(coded["seq"]), read_rgb444(work / "d0.rgb")
    assert out.shape == src.shape == (FRAMES, 256, 256, 3)
    kbps = 8 * coded["cabac"].stat().st_size / 1000 / (FRAMES / 25)
    assert 1.0 < kbps < 30.0
    psnr = np.mean([psnr_rgb(a, b) for a, b in zip(src, out)])
    lp = np.mean([lpips(a, b, "alex") for a, b in zip(src[::6], out[::6])])
    assert psnr > 17.0 and lp < 0.45, (psnr, lp)


def test_exp_golomb_and_cabac_carry_the_same_levels(coded: dict[str, Path]) -> None:
    """With rounding (--semantic-lambda off) both entropy coders carry the same levels. The
    default RDOQ prices each coder's own bits, so its levels may differ between them, each
    within --semantic-max-error (2 levels) of the same analysis: at most 4 levels apart."""
    work = coded["work"]
    for name in ("cabac", "eg"):
        off = work / f"{name}_off.ifvc"
        extra = ["--entropy", "exp-golomb"] if name == "eg" else []
        assert encode_cli.main([str(coded["seq"]), "--width", "256", "--height", "256", "--qp", "47",
                                "--frames-per-unit", "4", "--keyframe-period", "12", "-o", str(off),
                                "--quiet", "--semantic-lambda", "off", *extra]) == 0
        for stream, tag in ((off, "off"), (coded[name], "rdoq")):
            assert decode_cli.main([str(stream), "--levels", str(work / f"lv_{name}_{tag}.csv"), "--quiet"]) == 0
    assert (work / "lv_cabac_off.csv").read_text() == (work / "lv_eg_off.csv").read_text()
    def levels(name: str) -> np.ndarray:     # the signalled elements' columns (13 by default)
        path = work / f"lv_{name}_rdoq.csv"
        columns = len(path.read_text().splitlines()[0].split(","))
        return np.loadtxt(path, delimiter=",", skiprows=1, usecols=range(2, columns))
    rows = [levels(name) for name in ("cabac", "eg")]
    assert rows[0].shape == rows[1].shape and np.abs(rows[0] - rows[1]).max() <= 4
    assert coded["eg"].read_bytes() != coded["cabac"].read_bytes()     # two entropy codings of them


def test_edit_shows_in_the_analysed_output(coded: dict[str, Path]) -> None:
    work = coded["work"]
    assert _decode(coded["cabac"], work / "plain.rgb") == 0
    assert _decode(coded["cabac"], work / "edited.rgb", "--edit", "head_yaw:offset=15@4-10",
                   "--edit", "mouth_open:offset=0.1@6") == 0
    plain, edited = read_rgb444(work / "plain.rgb"), read_rgb444(work / "edited.rgb")
    assert np.array_equal(plain[:4], edited[:4]) and np.array_equal(plain[11:], edited[11:])
    with FaceAnalyzer(tracking=False) as fa:
        p, e = fa.analyze_frame(plain[8]).semantics, fa.analyze_frame(edited[8]).semantics
        assert 9.0 < e[0] - p[0] < 21.0, (p[0], e[0])            # yaw moved by about 15 degrees
        assert abs(e[1] - p[1]) < 5.0                              # pitch stayed
        pe, ee = fa.analyze_frame(plain[6]).semantics, fa.analyze_frame(edited[6]).semantics
        assert ee[9] - pe[9] > 0.05, (pe[9], ee[9])                # the mouth opened


def test_virtual_character(coded: dict[str, Path], shared_data: Path) -> None:
    import cv2
    work = coded["work"]
    cap = cv2.VideoCapture(str(shared_data / "faces" / "raw" / CHARACTER_CLIP))
    ok, frame = cap.read()
    cap.release()
    assert ok
    cv2.imwrite(str(work / "char.png"), frame)
    assert character_main([str(work / "char.png"), "-o", str(work / "char.ifvc")]) == 0
    assert _decode(coded["cabac"], work / "char_out.rgb", "--character", str(work / "char.ifvc")) == 0
    out = read_rgb444(work / "char_out.rgb")
    own = read_rgb444(work / "plain.rgb") if (work / "plain.rgb").exists() else None
    from ref_decoder.cli import load_character
    char = load_character(work / "char.ifvc")
    assert psnr_rgb(char.rgb, out[0]) > 30.0                       # frame 0: the character itself
    assert psnr_rgb(out[0], out[FRAMES - 1]) < 45.0                 # ... and it moves
    if own is not None:
        assert psnr_rgb(own[5], out[5]) < 15.0                      # not the speaker's face


def test_bitstream_editor_keeps_key_frames(coded: dict[str, Path]) -> None:
    from tools.bitstream_editor import main as edit_main
    work = coded["work"]
    assert edit_main([str(coded["cabac"]), "-o", str(work / "e.ifvc"), "--edit", "mouth_open:set=0.3@5-8"]) == 0
    assert _decode(work / "e.ifvc", work / "e.rgb", "--levels", str(work / "e.csv")) == 0
    assert _decode(coded["cabac"], work / "o.rgb", "--levels", str(work / "o.csv")) == 0
    a, b = read_rgb444(work / "o.rgb"), read_rgb444(work / "e.rgb")
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[12], b[12])   # key frames unchanged
    assert not np.array_equal(a[6], b[6])


def test_encoder_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.ifvc"
    assert encode_cli.main([str(tmp_path / "none.rgb"), "--width", "64", "--height", "64", "-o", str(out)]) == 1
    assert "not found" in capsys.readouterr().err
    bad = tmp_path / "bad.rgb"
    bad.write_bytes(bytes(1000))
    assert encode_cli.main([str(bad), "--width", "64", "--height", "64", "-o", str(out)]) == 1
    assert "whole number" in capsys.readouterr().err
    noise = tmp_path / "noise_64x64.rgb"
    noise.write_bytes(np.random.default_rng(0).integers(0, 256, 3 * 64 * 64 * 3, dtype=np.uint8).tobytes())
    assert encode_cli.main([str(noise), "--width", "64", "--height", "64", "-o", str(out), "--quiet"]) == 1
    assert "no face" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:            # a usage error, before the input is read
        encode_cli.main([str(noise), "--width", "64", "--height", "64", "-o", str(out),
                         "--precision", "nose=3"])
    assert usage.value.code == 2 and "unknown semantic element" in capsys.readouterr().err
    assert not out.exists()


def test_decoder_errors_leave_no_output(coded: dict[str, Path], tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    data = coded["cabac"].read_bytes()
    cut = tmp_path / "cut.ifvc"
    cut.write_bytes(data[: len(data) - 7])
    out = tmp_path / "o.rgb"
    assert _decode(cut, out) == 1
    assert "truncated" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.glob(".o.rgb*"))
    assert _decode(tmp_path / "missing.ifvc", out) == 1
    assert _decode(coded["cabac"], out, "--edit", "head_yaw:spin=1@0") == 1
    assert "unknown edit operation" in capsys.readouterr().err


def test_encoder_tool_and_video_errors(coded: dict[str, Path], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.ifvc"
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 100)
    assert encode_cli.main([str(junk), "-o", str(out)]) == 1
    assert "cannot read" in capsys.readouterr().err
    monkeypatch.setenv("IFVC_FFMPEG", str(tmp_path / "no-ffmpeg"))
    assert encode_cli.main([str(coded["seq"]), "--width", "256", "--height", "256", "--frames", "3",
                            "-o", str(out), "--quiet"]) == 1
    assert "IFVC_FFMPEG" in capsys.readouterr().err
    assert not out.exists()


def test_generator_identity_in_the_header_and_decoder_override(coded: dict[str, Path], tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    import hashlib
    from bitstream.stream import ParsedSequenceHeader, StreamParser
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"weights of a future generator")
    stream = tmp_path / "g.ifvc"
    assert encode_cli.main([str(coded["seq"]), "--width", "256", "--height", "256", "--frames", "3",
                            "--generator", "lab-gen-2", "--generator-weights", str(weights),
                            "-o", str(stream), "--quiet"]) == 0
    sh = next(u.sh for u in StreamParser().parse(stream.read_bytes()) if isinstance(u, ParsedSequenceHeader))
    assert sh.sh_generator_name == "lab-gen-2"
    assert sh.sh_generator_sha256 == hashlib.sha256(weights.read_bytes()).digest()
    capsys.readouterr()
    assert _decode(stream, tmp_path / "x.rgb") == 1                       # not a known generator
    assert "unknown generator 'lab-gen-2'" in capsys.readouterr().err
    assert _decode(stream, tmp_path / "x.rgb", "--generator", "ifvc-geometric-1") == 0
    assert "synthesising with ifvc-geometric-1" in capsys.readouterr().err
    assert encode_cli.main([str(coded["seq"]), "--width", "256", "--height", "256", "-o", str(stream),
                            "--generator-weights", str(tmp_path / "none.bin")]) == 1
    assert "weights not found" in capsys.readouterr().err


def test_learned_generator_changes_only_the_header_and_the_synthesis(coded: dict[str, Path], tmp_path: Path) -> None:
    """The generator id is the only difference in the stream (sequence header); the learned
    generator decodes the same key frames and semantics into different, close frames."""
    from bitstream.units import SEQUENCE_HEADER_TYPES, iter_units
    from ifvc_synthesis.generators.learned import WEIGHTS_FILE
    streams = {}
    for name, extra in (("geo", ["--generator", "ifvc-geometric-1"]), ("refine", ["--generator", "ifvc-refine-1",
                                                 "--generator-weights", str(WEIGHTS_FILE)])):
        streams[name] = tmp_path / f"{name}.ifvc"
        assert encode_cli.main([str(coded["seq"]), "--width", "256", "--height", "256", "--frames", "8",
                                "--qp", "47", "-o", str(streams[name]), "--quiet", *extra]) == 0
    units = {k: list(iter_units(p.read_bytes())) for k, p in streams.items()}
    assert [u.unit_type for u in units["geo"]] == [u.unit_type for u in units["refine"]]
    assert units["geo"][0].unit_type in SEQUENCE_HEADER_TYPES
    assert units["geo"][0].payload != units["refine"][0].payload
    assert [u.payload for u in units["geo"][1:]] == [u.payload for u in units["refine"][1:]]

    outs = {k: tmp_path / f"{k}.rgb" for k in streams}
    for k in streams:
        assert _decode(streams[k], outs[k]) == 0
    geo, refine = (read_rgb444(outs[k], 256, 256) for k in ("geo", "refine"))
    assert np.array_equal(geo[0], refine[0])                      # the key frame: no synthesis
    for g, r in zip(geo[1:], refine[1:]):
        assert not np.array_equal(g, r)
        assert psnr_rgb(g, r) > 30.0                              # a residual, not another picture
