"""Test-sequence preparation: colour conversion, resampling, crop, CLI, manifest, split."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bitstream.picture_format import frame_to_rgb_planar, rgb_to_yuv420
from bitstream.raw_video import read_rgb444
from conformance import sequence_preparation as ps
from ifvc_common.files import sha256_file
from tools.prepare_sequences import main as prepare_main

SPLIT = Path(__file__).resolve().parents[1] / "tools" / "test_split.json"


@pytest.mark.parametrize("rgb,yuv", [((255, 255, 255), (235, 128, 128)), ((0, 0, 0), (16, 128, 128)),
                                     ((255, 0, 0), (63, 102, 240)), ((0, 0, 255), (32, 240, 118))])
def test_bt709_limited_range(rgb, yuv):
    img = np.broadcast_to(np.array(rgb, np.uint8), (4, 4, 3))
    y, cb, cr = rgb_to_yuv420(img)
    assert y.shape == (4, 4) and cb.shape == (2, 2)
    assert (int(y[0, 0]), int(cb[0, 0]), int(cr[0, 0])) == yuv


def test_chroma_is_2x2_mean():
    img = np.zeros((2, 2, 3), np.uint8)
    img[0, 0] = (255, 0, 0)
    _, cb, cr = rgb_to_yuv420(img)
    _, _, cr_red = rgb_to_yuv420(np.broadcast_to(np.array((255, 0, 0), np.uint8), (2, 2, 3)))
    assert int(cr[0, 0]) == round(128 + (int(cr_red[0, 0]) - 128) / 4)


def test_planar_layout_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(3, 8, 6, 3), dtype=np.uint8)
    path = tmp_path / "x.rgb"
    path.write_bytes(b"".join(frame_to_rgb_planar(f) for f in frames))
    assert path.read_bytes()[:48] == frames[0, :, :, 0].tobytes()       # the R plane first
    assert np.array_equal(read_rgb444(path, width=6, height=8), frames)


@pytest.mark.parametrize("fps,expect", [(25.0, [0, 1, 2, 3, 4, 5]), (30.0, [0, 1, 2, 4, 5, 6]),
                                        (22.13, [0, 1, 2, 3, 4, 4])])
def test_resampling_by_timestamp(fps, expect):
    assert [ps.source_index(k, fps) for k in range(6)] == expect


def test_crop_is_square_inside_frame_and_holds_the_faces():
    boxes = [np.array([300.0, 200, 400, 320]), np.array([340.0, 210, 440, 330])]
    x0, y0, side, wanted, face = ps.choose_crop(boxes, 1280, 720)
    assert 0 <= x0 and 0 <= y0 and x0 + side <= 1280 and y0 + side <= 720
    assert x0 <= 300 and x0 + side >= 440 and y0 <= 200 and y0 + side >= 330
    assert side == round(wanted) and side >= 1.7 * face
    x0, y0, side, wanted, _ = ps.choose_crop([np.array([10.0, 10, 200, 215])], 224, 224)
    assert (x0, y0, side) == (0, 0, 224) and wanted > 224      # tight source: limited by the frame


def test_split_is_by_person_and_complete(shared_data):
    split = json.loads(SPLIT.read_text())
    sides = {n: side for side in ("train", "validation", "test") for n in split[side]}
    assert sum(len(split[s]) for s in ("train", "validation", "test")) == len(sides)
    raw = {p.stem for p in (shared_data / "faces" / "raw").glob("*.mp4")}
    assert set(sides) == raw
    for a, b in [("sadtalker_WDA_AlexandriaOcasioCortez_000", "videoretalking_face_3"),
                 ("pcavs_Input_00002", "pcavs_Pose_Source_517600055"),
                 ("pcavs_Pose_Source_741400163", "pcavs_Audio_Source_741400104")]:
        assert sides[a] == sides[b]
    assert 5 <= len(split["test"]) <= 9 and len(split["validation"]) >= 2


def test_cli_prepares_manifest_and_skips(shared_data, tmp_path, capsys):
    raw = shared_data / "faces" / "raw"
    out = tmp_path / "seq"
    args = ["--raw", str(raw), "--out", str(out), "--only", "videoretalking_face_1", "--max-frames", "12"]
    assert prepare_main(args) == 0
    names = ps.output_names("videoretalking_face_1")
    assert (out / names["rgb"]).stat().st_size == 12 * 3 * 256 * 256
    assert (out / names["yuv"]).stat().st_size == 12 * 256 * 256 * 3 // 2
    assert not list(out.glob("*.tmp*"))
    entry = json.loads((out / "manifest.json").read_text())["sequences"][0]
    assert entry["frames"] == 12 and entry["no_face_frames"] == 0
    assert entry["source_fps"] == pytest.approx(22.13, abs=0.05)
    assert entry["outputs"][names["rgb"]] == sha256_file(out / names["rgb"])
    x0, y0, side = entry["crop_box"]
    assert side < 700 and x0 > 0                              # upper-body clip: a real face crop
    frames = read_rgb444(out / names["rgb"])
    assert frames.shape == (12, 256, 256, 3) and frames.std() > 10
    capsys.readouterr()
    assert prepare_main(args) == 0
    assert "up to date" in capsys.readouterr().err
    (out / names["rgb"]).write_bytes(b"corrupt")              # a changed output is redone
    assert prepare_main(args) == 0
    assert (out / names["rgb"]).stat().st_size == 12 * 3 * 256 * 256


def test_cli_user_errors(tmp_path, capsys):
    assert prepare_main(["--raw", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "broken.mp4").write_bytes(b"not a video")
    assert prepare_main(["--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "o"), "--only", "other"]) == 2
    assert "not found" in capsys.readouterr().err
    assert prepare_main(["--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "o")]) == 1
    assert "broken" in capsys.readouterr().err
    assert not [p for p in (tmp_path / "o").iterdir() if p.suffix in (".rgb", ".yuv", ".png")]


def test_portrait_clip_gets_a_face_crop(shared_data, tmp_path):
    out = tmp_path / "seq"
    assert prepare_main(["--raw", str(shared_data / "faces" / "raw"), "--out", str(out),
                    "--only", "liveportrait_driving_d13", "--max-frames", "8"]) == 0
    entry = json.loads((out / "manifest.json").read_text())["sequences"][0]
    x0, y0, side = entry["crop_box"]
    assert (entry["source_width"], entry["source_height"]) == (720, 1280)
    assert side <= 720 and 0 < y0 < 1280 - side                 # a square cut out of the tall frame
    assert entry["frames"] == 8 and entry["no_face_frames"] == 0


def test_second_face_and_lost_tracking_are_reported(shared_data, tmp_path):
    """A made-up clip: two faces side by side, then frames with no face at all."""
    import cv2
    from tools.synthetic_pose import read_frames
    a = read_frames(str(shared_data / "faces" / "raw" / "liveportrait_driving_d8.mp4"), [0], size=240)[0]
    b = read_frames(str(shared_data / "faces" / "raw" / "sadtalker_RD_Radio2_000.mp4"), [0], size=240)[0]
    two = np.concatenate([a, b], axis=1)
    raw = tmp_path / "raw"
    raw.mkdir()
    writer = cv2.VideoWriter(str(raw / "two.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (480, 240))
    assert writer.isOpened()
    for n in range(14):
        frame = two if n < 8 else np.full_like(two, 90)
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    (raw / "two.avi").rename(raw / "two.mp4")       # the tool looks for .mp4; cv2 reads by content
    out = tmp_path / "seq"
    assert prepare_main(["--raw", str(raw), "--out", str(out)]) == 0
    entry = json.loads((out / "manifest.json").read_text())["sequences"][0]
    assert entry["frames"] == 14
    assert entry["second_face_frames"] >= 6
    assert entry["no_face_frames"] == 6
    text = " ".join(entry["warnings"])
    assert "second face" in text and "no face in 6 of 14" in text
