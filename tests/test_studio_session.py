"""The studio's random-access preview (studio/session.py) against the reference decoder: every
frame, for any edit list, in any order, is the frame ifvc-decode outputs, byte for byte; the
export is ifvc-edit's rewrite; bad streams and edits are one-line StudioError / EditError."""
from __future__ import annotations

import random
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitstream.semantic_elements import SEMANTIC_ELEMENTS
from ref_decoder.decoder import Decoder
from ref_decoder.edits import EditApplier, EditError, parse_edit
from ref_decoder.stream_editing import edit_stream
from studio.session import StudioError, StudioSession, png_bytes

STREAMS = Path(__file__).resolve().parents[1] / "conformance" / "streams"
ONE_KEY = "face_synthetic_motion_eg.ifvc"          # 25 frames, 256x256, one VVC key frame
FOUR_KEYS = "face_refresh_period_cabac.ifvc"       # 32 frames, a key frame every 8
LATE_START = "cabac_frame_idx_delta.ifvc"          # its first frame is frame_idx 3


def _data(name: str) -> bytes:
    return (STREAMS / name).read_bytes()


@lru_cache(maxsize=4)
def _session(name: str) -> StudioSession:
    return StudioSession(_data(name), name)


def _reference(name: str, edits: list[str]) -> list[np.ndarray]:
    dec = Decoder(edits=EditApplier([parse_edit(e) for e in edits], warn=lambda m: None))
    return [f.rgb for f in dec.decode(_data(name))]


def _assert_same_frames(session: StudioSession, name: str, edits: list[str], seed: int) -> None:
    ref = _reference(name, edits)
    assert len(ref) == session.num_frames
    order = list(range(session.num_frames))
    random.Random(seed).shuffle(order)          # random access: key-frame states switch back and forth
    for i in order:
        got = session.frame(session.first + i, edits)       # frames are named by frame_idx
        assert got.dtype == np.uint8 and np.array_equal(got, ref[i]), f"frame {i} differs for {edits}"


@pytest.mark.parametrize("name", [ONE_KEY, FOUR_KEYS])
@pytest.mark.parametrize("edits", [
    [],
    ["head_yaw:offset=20@3-12"],
    ["head_roll:hold@2-20", "mouth_open:set=0.8@0-", "head_loc:set=5@4-6"],
    ["eye_blink_left:scale=0@0-", "eye_blink_right:set=0@8-9", "head_pitch:offset=-15@8"],
])
def test_preview_frames_are_the_decoders(name: str, edits: list[str]) -> None:
    _assert_same_frames(_session(name), name, edits, seed=len(edits))


_ELEMENTS = [e for e in SEMANTIC_ELEMENTS if e.name != "head_loc"]


@st.composite
def edit_texts(draw: st.DrawFn) -> str:
    el = draw(st.sampled_from(_ELEMENTS))
    op = draw(st.sampled_from(["set", "offset", "scale", "hold"]))
    first = draw(st.integers(0, 31))
    last = draw(st.integers(first, 40))
    span = el.max_value - el.min_value
    value = {"set": draw(st.floats(el.min_value - span / 4, el.max_value + span / 4)),
             "offset": draw(st.floats(-span / 2, span / 2)), "scale": draw(st.floats(0, 3))}.get(op, 0.0)
    return f"{el.name}:hold@{first}-{last}" if op == "hold" else f"{el.name}:{op}={value:.4g}@{first}-{last}"


@settings(max_examples=8)
@given(edits=st.lists(edit_texts(), min_size=1, max_size=4), seed=st.integers(0, 1000))
def test_preview_matches_the_decoder_for_any_edits(edits: list[str], seed: int) -> None:
    _assert_same_frames(_session(FOUR_KEYS), FOUR_KEYS, edits, seed)


@pytest.mark.parametrize("edits", [[], ["head_yaw:offset=20@3-6", "mouth_open:hold@5-"]])
def test_a_stream_that_starts_after_frame_0(edits: list[str]) -> None:
    s = _session(LATE_START)
    assert s.first == 3 and s.info()["first_frame"] == 3
    _assert_same_frames(s, LATE_START, edits, seed=3)
    with pytest.raises(StudioError, match="frame 2 is not in the stream"):
        s.frame(2, [])


def test_replay_gives_the_edited_curves_and_warnings() -> None:
    s = _session(ONE_KEY)
    r = s.replay(["head_yaw:set=500@4-6"])               # clamped to 90 degrees, with a warning
    yaw = [e.name for e in SEMANTIC_ELEMENTS].index("head_yaw")
    assert r.values[4:7, yaw].tolist() == [90.0, 90.0, 90.0]
    assert np.array_equal(np.delete(r.values, [4, 5, 6], axis=0), np.delete(s.base, [4, 5, 6], axis=0))
    assert r.touched.tolist() == [4 <= i <= 6 for i in range(s.num_frames)]
    assert len(r.warnings) == 1 and "clamped to 90" in r.warnings[0]


def test_export_is_the_bitstream_editors_rewrite() -> None:
    s = _session(ONE_KEY)
    edits = ["head_yaw:offset=20@3-12", "mouth_open:set=0.5@5-"]
    out, changed, warnings = s.export_stream(edits)
    expected, expected_changed = edit_stream(_data(ONE_KEY), EditApplier([parse_edit(e) for e in edits]))
    assert out == expected and changed == expected_changed and changed > 0 and warnings == []


def test_png_is_lossless() -> None:
    import cv2
    rgb = _session(ONE_KEY).frame(7, ["head_yaw:offset=20@3-12"])
    back = cv2.imdecode(np.frombuffer(png_bytes(rgb), np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1]
    assert np.array_equal(back, rgb)


@pytest.mark.parametrize("cut, message", [(0, "empty stream: no sequence header"), (10, "not a valid IFVC stream"),
                                         (200, "not a valid IFVC stream")])
def test_truncated_streams_are_refused(cut: int, message: str) -> None:
    data = _data(ONE_KEY)[:cut] if cut else b""
    with pytest.raises(StudioError, match=message) as err:
        StudioSession(data, "cut.ifvc")
    assert "\n" not in str(err.value)


def test_garbage_is_refused() -> None:
    with pytest.raises(StudioError, match="garbage.ifvc is not a valid IFVC stream"):
        StudioSession(bytes(range(256)) * 4, "garbage.ifvc")


def test_edits_outside_the_stream_and_bad_frames_are_errors() -> None:
    s = _session(ONE_KEY)
    with pytest.raises(EditError, match="covers no frame: the stream has 25 frames"):
        s.frame(0, ["head_yaw:set=10@30-40"])
    with pytest.raises(EditError, match="cannot read edit"):
        s.frame(0, ["head_yaw=10"])
    with pytest.raises(StudioError, match="frame 25 is not in the stream"):
        s.frame(25, [])
