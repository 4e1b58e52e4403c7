"""The measures that define the eye and mouth elements (spec Annex B.3), written once for the
encoder's analysis and the decoder's IDI (Annex E.3).

Landmark ids are those of the MediaPipe face mesh ("left"/"right" are the subject's). The
measures take model-space points (Annex B.2): either an array indexed by landmark id (all
mesh points) or a subset with a map from landmark id to row (the key-frame geometry of
Annex E.2). Lengths use fixed_order.norm3, so the result does not depend on the BLAS kernel.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from .fixed_order import norm3

# --- reference constants (Annex B.3) ---------------------------------------------------------
REFERENCE_FACE_WIDTH = 0.5      # head_tz = 0 when the face width is half the picture width
EYE_RATIO_CLOSED = 0.05         # eyelid gap / eye width of a closed eye     (openness 0)
EYE_RATIO_OPEN = 0.30           # eyelid gap / eye width of the reference open eye (openness 1)
MOUTH_SHAPE_UNIT = 1.0 / 32.0   # one mouth-shape coefficient unit, in face widths

# --- landmark ids of the measures (Annex B.3) ------------------------------------------------
RIGHT_EYE_CORNERS = (33, 133)                           # outer, inner
RIGHT_EYE_LIDS = ((160, 144), (159, 145), (158, 153))   # (upper, lower) pairs
LEFT_EYE_CORNERS = (263, 362)
LEFT_EYE_LIDS = ((387, 373), (386, 374), (385, 380))
INNER_LIP_PAIRS = ((82, 87), (13, 14), (312, 317))      # (upper, lower) inner-lip pairs
MOUTH_CORNER_RIGHT, MOUTH_CORNER_LEFT = 61, 291
UPPER_LIP_TOP, LOWER_LIP_BOTTOM = 0, 17                 # outer lip midline points


class _ById:
    """Landmark id -> row: the identity, for an array of all mesh points."""

    def __getitem__(self, landmark_id: int) -> int:
        return landmark_id


_BY_ID = _ById()


def eye_ratio(m: np.ndarray, corners: tuple[int, int], lids: tuple[tuple[int, int], ...],
              rows: Mapping[int, int] | None = None) -> float:
    """r of Annex B.3 (elements 7 and 8): the mean eyelid gap of the lid pairs over the eye
    width (outer to inner corner), in model space."""
    g = _BY_ID if rows is None else rows
    width = norm3(m[g[corners[0]]] - m[g[corners[1]]])
    gap = np.mean([norm3(m[g[u]] - m[g[d]]) for u, d in lids])
    return float(gap / width)


def openness_from_ratio(ratio: float) -> float:
    """eye_blink value of an eye ratio r (Annex B.3): (r - 0.05) / (0.30 - 0.05)."""
    return (ratio - EYE_RATIO_CLOSED) / (EYE_RATIO_OPEN - EYE_RATIO_CLOSED)


def ratio_from_openness(openness: float) -> float:
    """The eye ratio r of an eye_blink value (the inverse of openness_from_ratio; negative
    openness counts as a closed eye)."""
    return EYE_RATIO_CLOSED + (EYE_RATIO_OPEN - EYE_RATIO_CLOSED) * max(float(openness), 0.0)


def mouth_measures(m: np.ndarray, rows: Mapping[int, int] | None = None
                   ) -> tuple[float, float, float, float, float]:
    """The mouth measures of Annex B.3 in model space (canonical cm), before the division by
    the face width and the canonical offsets: (inner-lip gap, corner distance, corner raise
    rho, protrusion pi, corner asymmetry) for elements 9 to 13."""
    g = _BY_ID if rows is None else rows
    gap = float(np.mean([norm3(m[g[u]] - m[g[d]]) for u, d in INNER_LIP_PAIRS]))
    cr, cl = m[g[MOUTH_CORNER_RIGHT]], m[g[MOUTH_CORNER_LEFT]]
    mid = (m[g[UPPER_LIP_TOP]] + m[g[LOWER_LIP_BOTTOM]]) / 2
    return (gap, norm3(cl - cr), float((cr[1] + cl[1]) / 2 - mid[1]),
            float(mid[2] - (cr[2] + cl[2]) / 2), float(cl[1] - cr[1]))
