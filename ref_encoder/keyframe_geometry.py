"""Key-frame geometry payload (kf_geometry_byte, kf_geometry_version 1 or 2; spec Annex E.2).

The encoder analyses the DECODED key-frame picture (what the decoder will warp), so that
the landmarks match the pixels the generator sees:

    values, payload = compute_keyframe_geometry(decoded_rgb, ref_values=dequantised_ref)

ref_values must be the values the decoder reconstructs from kf_ref_sem_level (dequantised
levels): gp_pred_mode 1 predicts the landmarks from the canonical face posed with them.
Without ref_values the analysed values of the decoded picture are used (then code exactly
those, quantised, as kf_ref_sem_level, and pass the dequantised ones here).
"""
from __future__ import annotations

import numpy as np

from bitstream.geometry_payload import (DEFAULT_PRECISION_SHIFT, GEOMETRY_VERSION_V1,
                                        GP_LANDMARK_IDS, KeyGeometry, encode, posed_canonical)
from bitstream.geometry_payload_v2 import GEOMETRY_VERSION_V2, encode_v2

from .analysis import FaceAnalyzer, NoFaceError

__all__ = ["GEOMETRY_VERSION_V1", "GEOMETRY_VERSION_V2", "compute_keyframe_geometry",
           "geometry_from_landmarks"]


def geometry_from_landmarks(landmarks: np.ndarray, ref_values: np.ndarray, width: int, height: int,
                            precision_shift: int = DEFAULT_PRECISION_SHIFT,
                            version: int = GEOMETRY_VERSION_V1) -> bytes:
    """(478, 3) MediaPipe landmarks in pixels -> geometry payload bytes: version 1 (the smaller
    pred mode, at precision_shift) or version 2 (the default steps of Annex E.2.4; the Compact
    profile only: the caller checks the profile)."""
    ref = np.asarray(ref_values, np.float64)
    pts = np.asarray(landmarks, np.float64)[list(GP_LANDMARK_IDS), :2]
    depth = posed_canonical(ref, width, height)[list(GP_LANDMARK_IDS), 2]
    geom = KeyGeometry(width, height, ref, pts, depth, precision_shift)
    if version == GEOMETRY_VERSION_V2:
        return _encode_v2_within_budget(geom)
    if version != GEOMETRY_VERSION_V1:
        raise ValueError(f"geometry payload version {version} cannot be written (1 or 2)")
    return encode(geom)


# Geometry payload v2 (informative encoder choice): the default steps (coarse 2 px, fine 1.5 px),
# and a coarser fine step (2 px) when a payload would exceed the 48-byte budget of DESIGN.md
# (5 of 39 measured key frames of the test clips); the quality of both is in
# docs/results/geometry2_2026-12-03.
GEOMETRY_V2_BUDGET_BYTES = 48
GEOMETRY_V2_STEP_LADDER: tuple[tuple[int, int], ...] = ((4, 3), (4, 4))


def _encode_v2_within_budget(geom: KeyGeometry) -> bytes:
    """The first payload of the step ladder within the budget, else the last (smallest) one."""
    data = b""
    for coarse, fine in GEOMETRY_V2_STEP_LADDER:
        data = encode_v2(geom, coarse, fine)
        if len(data) <= GEOMETRY_V2_BUDGET_BYTES:
            break
    return data


def compute_keyframe_geometry(decoded_rgb: np.ndarray, ref_values: np.ndarray | None = None,
                              analyzer: FaceAnalyzer | None = None,
                              precision_shift: int = DEFAULT_PRECISION_SHIFT
                              ) -> tuple[np.ndarray, bytes]:
    """Analyse the decoded key frame: (its 14 semantic values, geometry payload v1 bytes).

    Raises NoFaceError when no face is found (the encoder may then send
    kf_geometry_version 0 with an empty payload; the geometric generator then uses the
    posed canonical face).
    """
    own = analyzer is None
    analyzer = analyzer or FaceAnalyzer(tracking=False)
    try:
        fa = analyzer.analyze_frame(np.ascontiguousarray(decoded_rgb))
    finally:
        if own:
            analyzer.close()
    if not fa.face_found:
        raise NoFaceError("no face found in the decoded key frame")
    h, w = decoded_rgb.shape[:2]
    ref = fa.semantics if ref_values is None else np.asarray(ref_values, np.float64)
    return fa.semantics.copy(), geometry_from_landmarks(fa.landmarks, ref, w, h, precision_shift)
