"""Face landmarks: MediaPipe's legacy FaceMesh (478 points with iris refinement).

The landmark model is the informative front end of the analysis (Annex B.2). Points are
returned in picture pixels: x right, y down, and MediaPipe's relative depth z scaled by the
picture width (as MediaPipe defines it), smaller z = nearer the camera.
"""
from __future__ import annotations

import numpy as np

from .mediapipe_import import solution
from .native_log_filter import filtered_native_stderr

NUM_LANDMARKS = 478
WARM_UP_CALLS = 4   # calls during which MediaPipe's native start-up messages are filtered


class LandmarkDetector:
    """Thin wrapper around mediapipe.solutions.face_mesh.FaceMesh.

    static_image_mode=False runs the detector once and then tracks (faster, temporally
    steadier, results depend on the previous frames); True detects on every frame
    (each frame analysed independently, used for the synthetic-ground-truth tests).
    """

    def __init__(self, static_image_mode: bool = False, max_num_faces: int = 1,
                 min_detection_confidence: float = 0.5, min_tracking_confidence: float = 0.5) -> None:
        with filtered_native_stderr():
            face_mesh = solution("face_mesh")   # heavy import, only when used

            self._mesh = face_mesh.FaceMesh(
                static_image_mode=static_image_mode, max_num_faces=max_num_faces, refine_landmarks=True,
                min_detection_confidence=min_detection_confidence,
                min_tracking_confidence=min_tracking_confidence)
        self._calls = 0

    def detect(self, rgb: np.ndarray) -> list[np.ndarray]:
        """HxWx3 uint8 RGB -> list of (478, 3) float64 arrays in pixels (x, y, z*W), one per face."""
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected an HxWx3 uint8 RGB picture, got {rgb.dtype} {rgb.shape}")
        h, w, _ = rgb.shape
        self._calls += 1
        if self._calls > WARM_UP_CALLS:
            result = self._mesh.process(np.ascontiguousarray(rgb))
        else:   # the first calls build the detector and tracker graphs: start-up chatter
            with filtered_native_stderr():
                result = self._mesh.process(np.ascontiguousarray(rgb))
        faces = []
        for face in result.multi_face_landmarks or []:
            pts = np.array([(p.x, p.y, p.z) for p in face.landmark], dtype=np.float64)
            pts *= np.array([w, h, w], dtype=np.float64)
            faces.append(pts)
        return faces

    def close(self) -> None:
        self._mesh.close()

    def __enter__(self) -> "LandmarkDetector":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
