"""The semantic elements (the face's 14; the background's two are neutral here) from pose-normalised landmarks (definitions: spec Annex B; the
measures and constants of Annex B.3 are in bitstream/face_measures.py, shared with the decoder).

All eye and mouth measures are taken in model space (the landmarks mapped back onto the
canonical face by the inverse of the fitted similarity), in canonical centimetres, so they
do not depend on picture size, head scale or head rotation (to first order).
"""
from __future__ import annotations

import numpy as np

from bitstream.face_measures import (LEFT_EYE_CORNERS, LEFT_EYE_LIDS, MOUTH_SHAPE_UNIT,
                                     REFERENCE_FACE_WIDTH, RIGHT_EYE_CORNERS, RIGHT_EYE_LIDS,
                                     eye_ratio, mouth_measures, openness_from_ratio)
from bitstream.semantic_elements import SEMANTIC_ELEMENTS

from .canonical_face import CanonicalFace
from .pose import PoseFit, rotation_to_euler

ELEMENT_NAMES: tuple[str, ...] = tuple(e.name for e in SEMANTIC_ELEMENTS)
NUM_ELEMENTS = len(ELEMENT_NAMES)
INDEX = {name: i for i, name in enumerate(ELEMENT_NAMES)}
LOWER = np.array([e.min_value for e in SEMANTIC_ELEMENTS], dtype=np.float64)
UPPER = np.array([e.max_value for e in SEMANTIC_ELEMENTS], dtype=np.float64)

def neutral_mouth(face: CanonicalFace) -> tuple[float, float]:
    """Corner raise and protrusion of the canonical face: the zero of mouth_shape_1 and _2."""
    _, _, raise0, protrusion0, _ = mouth_measures(face.vertices)
    return raise0, protrusion0


def compute_semantics(pose: PoseFit, model_pts: np.ndarray, face: CanonicalFace,
                      width: int, height: int) -> np.ndarray:
    """Element values (table order, clamped to the element ranges) for one frame."""
    yaw, pitch, roll = rotation_to_euler(pose.rotation)
    # face centre = weighted centroid of the Procrustes landmarks, back to picture coordinates
    cx = pose.translation[0]                           # picture widths from the left edge
    cy = -pose.translation[1] * width / height         # picture heights from the top edge
    tx, ty = cx - 0.5, cy - 0.5
    tz = np.log2(pose.scale * face.face_width / REFERENCE_FACE_WIDTH)
    col = int(np.clip(np.floor(4 * cx), 0, 3))
    row = int(np.clip(np.floor(4 * cy), 0, 3))
    eye_l = openness_from_ratio(eye_ratio(model_pts, LEFT_EYE_CORNERS, LEFT_EYE_LIDS))
    eye_r = openness_from_ratio(eye_ratio(model_pts, RIGHT_EYE_CORNERS, RIGHT_EYE_LIDS))
    gap, mw, corner_raise, protrusion, asym = mouth_measures(model_pts)
    raise0, protrusion0 = neutral_mouth(face)
    fw = face.face_width
    values = np.array([
        yaw, pitch, roll, tx, ty, tz, 4 * row + col, eye_l, eye_r,
        gap / fw, mw / fw,
        (corner_raise - raise0) / fw / MOUTH_SHAPE_UNIT,
        (protrusion - protrusion0) / fw / MOUTH_SHAPE_UNIT,
        asym / fw / MOUTH_SHAPE_UNIT,
        0.0, 0.0,              # bg_tx, bg_ty: not from landmarks (ref_encoder/background_motion.py)
    ])
    return np.clip(values, LOWER, UPPER)


