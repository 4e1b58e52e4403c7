"""More than one face in the input (Annex B.2): the analysis codes one face, so the encoder
tells the user when the video shows another.

The landmark tracker (LandmarkDetector, max_num_faces=1) follows one face and never reports a
second, so faces are counted by MediaPipe's short-range face detector (BlazeFace, the
detector FaceMesh itself starts from), which does not change which face is analysed nor any
landmark. Counting every frame would cost about half as much again as the landmarks, so
MultiFaceMonitor counts every STRIDE-th frame and, when one shows several faces, the frames
since the previous count (kept for that purpose), which gives the exact first frame; from
then on it counts every frame. A second face seen in fewer than STRIDE consecutive frames
before that may be missed.
"""
from __future__ import annotations

from collections import deque

import numpy as np

from .landmarks import WARM_UP_CALLS
from .mediapipe_import import solution
from .native_log_filter import filtered_native_stderr

STRIDE = 4


class FaceCounter:
    """The number of faces BlazeFace (short range) detects in an RGB picture."""

    def __init__(self, min_detection_confidence: float = 0.5) -> None:
        with filtered_native_stderr():
            face_detection = solution("face_detection")   # heavy import, only when used

            self._detector = face_detection.FaceDetection(
                model_selection=0, min_detection_confidence=min_detection_confidence)
        self._calls = 0

    def count(self, rgb: np.ndarray) -> int:
        self._calls += 1
        if self._calls > WARM_UP_CALLS:
            result = self._detector.process(np.ascontiguousarray(rgb))
        else:   # the first calls build the graph: start-up chatter on stderr
            with filtered_native_stderr():
                result = self._detector.process(np.ascontiguousarray(rgb))
        return len(result.detections or [])

    def close(self) -> None:
        self._detector.close()


class MultiFaceMonitor:
    """Watches a clip frame by frame: first_frame (the first input frame index that shows more
    than one face, None while there is none) and frames (how many frames do)."""

    def __init__(self, counter: FaceCounter | None = None, stride: int = STRIDE) -> None:
        self.counter = counter or FaceCounter()
        self.stride = stride
        self.first_frame: int | None = None
        self.frames = 0
        self._seen = 0
        self._since_count: deque[tuple[int, np.ndarray]] = deque(maxlen=stride - 1)

    def observe(self, frame_idx: int, rgb: np.ndarray) -> bool:
        """Count faces in the frame (or keep it for later); True exactly once: when the first
        frame with more than one face has been found (first_frame)."""
        self._seen += 1
        if self.first_frame is not None:
            self.frames += self.counter.count(rgb) > 1
            return False
        if (self._seen - 1) % self.stride:           # counted: the 1st, the (1 + STRIDE)th, ...
            self._since_count.append((frame_idx, rgb.copy()))
            return False
        if self.counter.count(rgb) <= 1:
            self._since_count.clear()
            return False
        several = [idx for idx, kept in self._since_count if self.counter.count(kept) > 1]
        self._since_count.clear()
        self.first_frame = several[0] if several else frame_idx
        self.frames = len(several) + 1
        return True

    def warning(self) -> str:
        return (f"input frame {self.first_frame} shows more than one face; only one face is coded: the "
                "one the analysis found first and tracks (Annex B.2); the other faces are not coded and "
                "stay as in the key frame (frames with several faces are counted in the summary)")

    def close(self) -> None:
        self.counter.close()

    def __enter__(self) -> "MultiFaceMonitor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
