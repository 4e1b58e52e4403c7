"""The 14 semantic elements from pose-normalised landmarks (definitions: spec Annex B).

All eye and mouth measures are taken in model space (the landmarks mapped back onto the
canonical face by the inverse of the fitted similarity), in canonical centimetres, so they
do not depend on picture size, head scale or head rotation (to first order).
"""
from __future__ import annotations

import numpy as np

from bitstream.semantic_elements import SEMANTIC_ELEMENTS

from .canonical_face import CanonicalFace
from .pose import PoseFit, rotation_to_euler

ELEMENT_NAMES: tuple[str, ...] = tuple(e.name for e in SEMANTIC_ELEMENTS)
NUM_ELEMENTS = len(ELEMENT_NAMES)
INDEX = {name: i for i, name in enumerate(ELEMENT_NAMES)}
LOWER = np.array([e.min_value for e in SEMANTIC_ELEMENTS], dtype=np.float64)
UPPER = np.array([e.max_value for e in SEMANTIC_ELEMENTS], dtype=np.float64)

# --- landmark indices (MediaPipe face mesh; "left"/"right" are the subject's) -----------------
RIGHT_EYE_CORNERS = (33, 133)                     # outer, inner
RIGHT_EYE_LIDS = ((160, 144), (159, 145), (158, 153))   # (upper, lower) pairs
LEFT_EYE_CORNERS = (263, 362)
LEFT_EYE_LIDS = ((387, 373), (386, 374), (385, 380))
INNER_LIP_PAIRS = ((82, 87), (13, 14), (312, 317))      # (upper, lower) inner-lip pairs
MOUTH_CORNER_RIGHT, MOUTH_CORNER_LEFT = 61, 291
UPPER_LIP_TOP, LOWER_LIP_BOTTOM = 0, 17                 # outer lip midline points

# --- reference constants (Annex B.3) ---------------------------------------------------------
REFERENCE_FACE_WIDTH = 0.5      # head_tz = 0 when the face width is half the picture width
EYE_RATIO_CLOSED = 0.05         # eyelid gap / eye width of a closed eye     (openness 0)
EYE_RATIO_OPEN = 0.30           # eyelid gap / eye width of the reference open eye (openness 1)
MOUTH_SHAPE_UNIT = 1.0 / 32.0   # one mouth-shape coefficient unit, in face widths


def eye_ratio(m: np.ndarray, corners: tuple[int, int], lids: tuple[tuple[int, int], ...]) -> float:
    """Mean eyelid gap over eye width, both measured in model space."""
    width = np.linalg.norm(m[corners[0]] - m[corners[1]])
    gap = np.mean([np.linalg.norm(m[u] - m[d]) for u, d in lids])
    return float(gap / width)


def mouth_measures(m: np.ndarray) -> tuple[float, float, float, float, float]:
    """(open, width, corner_raise, protrusion, asymmetry) in canonical cm, before reference offsets."""
    gap = float(np.mean([np.linalg.norm(m[u] - m[d]) for u, d in INNER_LIP_PAIRS]))
    cr, cl = m[MOUTH_CORNER_RIGHT], m[MOUTH_CORNER_LEFT]
    width = float(np.linalg.norm(cl - cr))
    mid = (m[UPPER_LIP_TOP] + m[LOWER_LIP_BOTTOM]) / 2
    corner_raise = float((cr[1] + cl[1]) / 2 - mid[1])
    protrusion = float(mid[2] - (cr[2] + cl[2]) / 2)
    asymmetry = float(cl[1] - cr[1])
    return gap, width, corner_raise, protrusion, asymmetry


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
    span = EYE_RATIO_OPEN - EYE_RATIO_CLOSED
    eye_l = (eye_ratio(model_pts, LEFT_EYE_CORNERS, LEFT_EYE_LIDS) - EYE_RATIO_CLOSED) / span
    eye_r = (eye_ratio(model_pts, RIGHT_EYE_CORNERS, RIGHT_EYE_LIDS) - EYE_RATIO_CLOSED) / span
    gap, mw, corner_raise, protrusion, asym = mouth_measures(model_pts)
    raise0, protrusion0 = neutral_mouth(face)
    fw = face.face_width
    values = np.array([
        yaw, pitch, roll, tx, ty, tz, 4 * row + col, eye_l, eye_r,
        gap / fw, mw / fw,
        (corner_raise - raise0) / fw / MOUTH_SHAPE_UNIT,
        (protrusion - protrusion0) / fw / MOUTH_SHAPE_UNIT,
        asym / fw / MOUTH_SHAPE_UNIT,
    ])
    return np.clip(values, LOWER, UPPER)


