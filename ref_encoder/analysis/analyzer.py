"""Per-frame facial semantic analysis: landmarks -> pose fit -> the 14 semantic elements."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from bitstream.head_location import head_loc_from_position

from .canonical_face import load_canonical_face
from .face_count import MultiFaceMonitor
from .landmarks import LandmarkDetector
from .pose import PoseFit, fit_pose, landmarks_to_fit_space, to_model_space
from .semantics import INDEX, NUM_ELEMENTS, compute_semantics
from .smoothing import OneEuroParams, smooth_sequence


class NoFaceError(ValueError):
    """No face was found in any frame of the input."""


@dataclass
class FrameAnalysis:
    semantics: np.ndarray            # (14,) element values in table order; NaN when no face
    landmarks: np.ndarray | None     # (478, 3) MediaPipe landmarks in pixels (x, y, z*W)
    face_found: bool
    pose: PoseFit | None = None
    num_faces: int = 0


@dataclass
class SequenceReport:
    frames: int
    no_face_frames: int
    no_face_indices: list[int] = field(default_factory=list)
    multi_face_frames: int = 0                    # frames that show more than one face (face_count.py)
    first_multi_face_frame: int | None = None
    smoothing: str = "none"
    mean_fit_rms_cm: float = 0.0


class FaceAnalyzer:
    """Analyse RGB frames into semantic element vectors.

    tracking=True (default) lets MediaPipe track from frame to frame (steadier, faster);
    tracking=False analyses every frame on its own (what the synthetic tests need).
    """

    def __init__(self, tracking: bool = True, max_num_faces: int = 1) -> None:
        self.face = load_canonical_face()
        self.detector = LandmarkDetector(static_image_mode=not tracking, max_num_faces=max_num_faces)

    def analyze_frame(self, rgb: np.ndarray) -> FrameAnalysis:
        h, w = rgb.shape[:2]
        faces = self.detector.detect(rgb)
        if not faces:
            return FrameAnalysis(np.full(NUM_ELEMENTS, np.nan), None, False)
        pts = faces[0]
        obs = landmarks_to_fit_space(pts, w)
        pose = fit_pose(obs, self.face)
        model = to_model_space(obs, pose, self.face)
        return FrameAnalysis(compute_semantics(pose, model, self.face, w, h), pts, True, pose, len(faces))

    def close(self) -> None:
        self.detector.close()

    def __enter__(self) -> "FaceAnalyzer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# Default causal smoothing, tuned on the train split (tools/residual_stats.py, Annex B.5):
# cut-off at rest per element (Hz) and speed coefficient beta (per element unit per second).
DEFAULT_ONE_EURO = OneEuroParams(
    min_cutoff=np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.5, 2.5, 2.0, 1.5, 1.5, 1.5, 1.5, 1.0, 1.0]),
    beta=np.array([0.1, 0.1, 0.1, 20.0, 20.0, 4.0, 0.0, 4.0, 4.0, 40.0, 20.0, 1.0, 1.0, 1.0, 20.0, 20.0]),
    d_cutoff=2.0)


def apply_smoothing(values: np.ndarray, smoothing: str | OneEuroParams | None, rate_hz: float = 25.0) -> np.ndarray:
    """Causal smoothing of an N x 14 trajectory; head_loc is re-derived from the smoothed position."""
    if smoothing in (None, "none"):
        return values.copy()
    params = DEFAULT_ONE_EURO if smoothing == "one_euro" else smoothing
    if not isinstance(params, OneEuroParams):
        raise ValueError(f"unknown smoothing {smoothing!r}; use None, 'none', 'one_euro' or OneEuroParams")
    out = smooth_sequence(values, params, rate_hz)
    out[:, INDEX["head_loc"]] = head_loc_from_position(out[:, INDEX["head_tx"]], out[:, INDEX["head_ty"]])
    return out


def analyze_sequence(frames: Iterable[np.ndarray], smoothing: str | OneEuroParams | None = None,
                     analyzer: FaceAnalyzer | None = None, rate_hz: float = 25.0
                     ) -> tuple[np.ndarray, SequenceReport]:
    """Analyse a clip: (N x 14 element values, report).

    A frame without a face repeats the previous frame's values (frames before the first
    face take the first face's values) and is counted in the report, as are frames that show
    more than one face (one is analysed, Annex B.2). No face at all raises NoFaceError.
    """
    own = analyzer is None
    analyzer = analyzer or FaceAnalyzer(tracking=True)
    rows: list[np.ndarray] = []
    missing: list[int] = []
    faces = MultiFaceMonitor()
    rms: list[float] = []
    try:
        for n, rgb in enumerate(frames):
            fa = analyzer.analyze_frame(rgb)
            faces.observe(n, rgb)
            if fa.face_found:
                rows.append(fa.semantics)
                rms.append(fa.pose.rms_error)
            else:
                missing.append(n)
                rows.append(rows[-1] if rows and not np.isnan(rows[-1]).any() else fa.semantics)
    finally:
        faces.close()
        if own:
            analyzer.close()
    if not rows:
        raise NoFaceError("analyze_sequence: the sequence has no frames")
    values = np.stack(rows)
    found = ~np.isnan(values).any(axis=1)
    if not found.any():
        raise NoFaceError(f"no face found in any of the {len(values)} frames of the sequence")
    first = int(np.argmax(found))
    values[:first] = values[first]
    report = SequenceReport(frames=len(values), no_face_frames=len(missing), no_face_indices=missing,
                            multi_face_frames=faces.frames, first_multi_face_frame=faces.first_frame,
                            smoothing="none" if smoothing in (None, "none") else str(smoothing if isinstance(smoothing, str) else "custom"),
                            mean_fit_rms_cm=float(np.mean(rms)))
    return apply_smoothing(values, smoothing, rate_hz), report
