"""A video with more than one face (Annex B.2): one face is coded (the one the analysis found
first and tracks), the encoder warns once with the first frame that shows another and
counts such frames. Real faces are read from ../shared/data (skips without it)."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from bitstream.semantic_elements import ELEMENT_BY_NAME
from ref_encoder.analysis.face_count import STRIDE, MultiFaceMonitor
from ref_encoder.encoder import Encoder, EncoderConfig

SIZE, FRAMES, SECOND_FROM = 256, 14, 6


class ScriptedCounter:
    """Stands in for FaceCounter: faces per frame from a script, keyed by the frame's value."""

    def __init__(self, faces: list[int]) -> None:
        self.faces = faces
        self.calls = 0

    def count(self, rgb: np.ndarray) -> int:
        self.calls += 1
        return self.faces[int(rgb[0, 0, 0])]

    def close(self) -> None:
        pass


def _run(faces: list[int]) -> tuple[MultiFaceMonitor, ScriptedCounter, list[int]]:
    counter = ScriptedCounter(faces)
    monitor = MultiFaceMonitor(counter, stride=STRIDE)    # type: ignore[arg-type]
    fired = [idx for idx in range(len(faces)) if monitor.observe(idx, np.full((2, 2, 3), idx, np.uint8))]
    return monitor, counter, fired


@pytest.mark.parametrize("first", range(0, 2 * STRIDE + 1))
def test_monitor_finds_the_first_frame_exactly_and_counts_every_frame_after(first: int) -> None:
    """A second face from frame `first` on (every phase against the counting stride), leaving
    for a while later: reported once, at `first`, and every such frame counted."""
    faces = [1] * first + [2] * STRIDE + [1, 1, 1] + [2] * 5 + [0, 1]
    monitor, _, fired = _run(faces)
    assert monitor.first_frame == first
    assert len(fired) == 1 and first <= fired[0] < first + STRIDE     # reported within STRIDE frames
    assert monitor.frames == sum(n > 1 for n in faces)


def test_monitor_counts_one_frame_in_stride_while_there_is_one_face() -> None:
    faces = [1] * 10 + [0] * 5 + [1] * 6
    monitor, counter, fired = _run(faces)
    assert fired == [] and monitor.first_frame is None and monitor.frames == 0
    assert counter.calls == len(range(0, len(faces), STRIDE))


def test_monitor_may_miss_only_a_face_shorter_than_the_stride() -> None:
    faces = [1, 1, 2, 2, 1, 2, 1, 1, 1]                  # never STRIDE frames in a row: not seen
    monitor, _, fired = _run(faces)
    assert fired == [] and monitor.first_frame is None


def _face_frames(path: Path, n: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    out = []
    while len(out) < n:
        ok, bgr = cap.read()
        if not ok:
            break
        h, w = bgr.shape[:2]
        s = min(h, w)
        sq = bgr[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
        out.append(cv2.cvtColor(cv2.resize(sq, (SIZE, SIZE), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB))
    cap.release()
    if len(out) < n:
        pytest.skip(f"{path.name}: fewer than {n} frames")
    return out


def test_encoder_warns_once_and_codes_the_first_face(shared_data: Path) -> None:
    raw = shared_data / "faces" / "raw"
    left = _face_frames(raw / "fomm_demo_old_08.mp4", FRAMES)
    right = _face_frames(raw / "liveportrait_driving_d7.mp4", FRAMES)
    grey = np.full_like(right[0], 128)
    frames = [np.concatenate([a, b if k >= SECOND_FROM else grey], axis=1) for k, (a, b) in enumerate(zip(left, right))]
    warned: list[str] = []
    enc = Encoder(EncoderConfig(keyframe_codec="raw", frames_per_unit=4), 2 * SIZE, SIZE, Fraction(25),
                  warn=warned.append)
    result = enc.encode(frames)
    assert len(warned) == 1 and warned[0].startswith(f"input frame {SECOND_FROM} shows more than one face")
    assert result.multi_face_frames == FRAMES - SECOND_FROM
    tx = ELEMENT_BY_NAME["head_tx"].element_id
    assert all(f.values[tx] < -0.1 for f in result.frames)        # the left face, tracked throughout
