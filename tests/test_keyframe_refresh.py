"""Key-frame refresh end to end, for each refresh policy at 1, 8 and 16 frames per unit: the
stream decodes with a matching hash, key frames stand exactly where the policy puts them, and
the encoder's log and API number the frames 0, 1, 2, ... Reads a real clip of the test split
through the shared_data fixture (skips without it)."""
from __future__ import annotations

import csv
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from ref_decoder import cli as decode_cli
from ref_encoder import cli as encode_cli
from ref_encoder.encoder import EncodeResult, Encoder, EncoderConfig
from conformance.sequence_preparation import prepare_clip
from ifvc_common.files import sha256_file
from bitstream.raw_video import read_rgb444

CLIP = "fomm_demo_old_08.mp4"     # test split; yaw moves about 10 degrees in the first 48 frames
FRAMES = 48
PERIOD = 10
POSE_THRESHOLD = 4.0              # degrees; the clip crosses it several times
POLICIES = {"period": ["--keyframe-period", str(PERIOD)],
            "pose": ["--keyframe-pose-threshold", str(POSE_THRESHOLD)]}


@pytest.fixture(scope="module")
def sequence(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("refresh")
    clip = shared_data / "faces" / "raw" / CLIP
    prepare_clip(clip, work, FRAMES, "[test]", sha256_file(clip))
    return work / f"{clip.stem}_256x256_25_8bit_444.rgb"


def _api_encode(seq: Path, policy: str, fpu: int, element_ids: list[int] | None = None) -> EncodeResult:
    cfg = EncoderConfig(keyframe_qp=47, frames_per_unit=fpu, element_ids=element_ids,
                        keyframe_period=PERIOD if policy == "period" else 0,
                        keyframe_pose_threshold=POSE_THRESHOLD if policy == "pose" else 0.0)
    return Encoder(cfg, 256, 256, Fraction(25), num_frames=FRAMES).encode(read_rgb444(seq))


def _expected_keys_pose(result: EncodeResult) -> list[int]:
    """Replays the pose rule (a key frame when yaw, pitch or roll of the analysed frame move
    more than the threshold from the current key frame's reference semantics) on the log."""
    keys, ref = [], None
    for f in result.frames:
        pose = np.asarray(f.analysed[:3])
        if ref is None or np.max(np.abs(pose - ref)) > POSE_THRESHOLD:
            keys.append(f.frame_idx)
            ref = np.asarray(f.values[:3])    # the key frame's reference semantics
    return keys


def _read_log(path: Path) -> list[dict[str, str]]:
    frames_table = path.read_text().split("\n\n")[0]
    return list(csv.DictReader(frames_table.splitlines()))


@pytest.mark.parametrize("fpu", [1, 8, 16])
@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_refresh_policy(sequence: Path, tmp_path: Path, policy: str, fpu: int) -> None:
    stream, log, levels = tmp_path / "s.ifvc", tmp_path / "log.csv", tmp_path / "levels.csv"
    assert encode_cli.main([str(sequence), "--width", "256", "--height", "256", "--qp", "47",
                            "--frames-per-unit", str(fpu), *POLICIES[policy], "-o", str(stream),
                            "--log", str(log), "--quiet"]) == 0
    rows = _read_log(log)
    assert [int(r["frame_idx"]) for r in rows] == list(range(FRAMES))
    logged_keys = [int(r["frame_idx"]) for r in rows if r["kind"] == "key"]

    result = _api_encode(sequence, policy, fpu)
    assert result.stream == stream.read_bytes()
    assert [f.frame_idx for f in result.frames] == list(range(FRAMES))
    expected = (list(range(0, FRAMES, PERIOD)) if policy == "period" else _expected_keys_pose(result))
    assert len(expected) >= 3, "the clip must refresh more than once for the test to mean anything"
    assert logged_keys == expected

    # The decoder finds the key frames at the same places and every hash entry matches (exit 0).
    assert decode_cli.main([str(stream), "-o", str(tmp_path / "d.rgb"), "--levels", str(levels),
                            "--quiet"]) == 0
    decoded = list(csv.DictReader(levels.read_text().splitlines()))
    assert [int(r["frame_idx"]) for r in decoded] == list(range(FRAMES))
    assert [int(r["frame_idx"]) for r in decoded if r["kind"] == "key"] == expected
    assert read_rgb444(tmp_path / "d.rgb").shape == (FRAMES, 256, 256, 3)


def test_refresh_does_not_depend_on_frames_per_unit(sequence: Path) -> None:
    """Grouping frames into units is a delay/rate choice: it must not move key frames."""
    keys = {fpu: [f.frame_idx for f in _api_encode(sequence, "pose", fpu).frames if f.kind == "key"]
            for fpu in (1, 16)}
    assert keys[1] == keys[16]


def test_head_loc_is_derived_from_the_coded_translation(sequence: Path) -> None:
    """Annex B.3: the coded head_loc is the cell of the reconstructed head_tx/head_ty, for key
    frames and semantic frames alike (it is never smoothed or quantised on its own)."""
    from bitstream.head_location import head_loc_cell
    from bitstream.semantic_elements import SEMANTIC_ELEMENTS
    from bitstream.semantic_reconstruction import dequantize
    idx = {e.name: i for i, e in enumerate(SEMANTIC_ELEMENTS)}
    # all 14 elements: head_loc is not in the default set (DEFAULT_ELEMENT_IDS) but stays codable
    result = _api_encode(sequence, "period", 8, [e.element_id for e in SEMANTIC_ELEMENTS])
    prec = result.writer.sh.sh_sem_precision
    cells = set()
    for f in result.frames:
        tx, ty = (dequantize(f.levels[idx[n]], prec[idx[n]]) for n in ("head_tx", "head_ty"))
        assert f.levels[idx["head_loc"]] == head_loc_cell(tx, ty), f.frame_idx
        cells.add(f.levels[idx["head_loc"]])
    assert cells, "no frames"


def test_refresh_qp_offset_codes_later_key_frames_coarser(sequence: Path, tmp_path: Path) -> None:
    """--refresh-qp-offset: the first key frame keeps --qp, later key frames use --qp + D; the
    key frames stay where they were, and the decoder's hash check passes."""
    streams, decoded = {}, {}
    for offset in (0, 10):
        stream, out = tmp_path / f"o{offset}.ifvc", tmp_path / f"o{offset}.rgb"
        assert encode_cli.main([str(sequence), "--width", "256", "--height", "256", "--qp", "37",
                                *POLICIES["period"], "--refresh-qp-offset", str(offset),
                                "-o", str(stream), "--quiet"]) == 0
        assert decode_cli.main([str(stream), "-o", str(out), "--quiet"]) == 0
        streams[offset], decoded[offset] = stream.read_bytes(), read_rgb444(out)
    assert np.array_equal(decoded[0][0], decoded[10][0])          # the first key frame: same QP
    for key in range(PERIOD, FRAMES, PERIOD):                     # later key frames: coarser
        assert not np.array_equal(decoded[0][key], decoded[10][key]), key
    assert len(streams[10]) < len(streams[0]) - 1000              # four refreshes at QP 47 instead of 37


def test_refresh_qp_offset_is_clipped_to_the_qp_range() -> None:
    enc = Encoder(EncoderConfig(keyframe_qp=60, refresh_qp_offset=8), 256, 256, Fraction(25))
    assert (enc.keyframe_qp_of(first=True), enc.keyframe_qp_of(first=False)) == (60, 63)
    enc = Encoder(EncoderConfig(keyframe_qp=4, refresh_qp_offset=-8), 256, 256, Fraction(25))
    assert (enc.keyframe_qp_of(first=True), enc.keyframe_qp_of(first=False)) == (4, 0)
