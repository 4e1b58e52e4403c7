"""The table of facial semantic elements (spec clause 7.4.2, Table 3).

Each element has an identifier that is fixed for all versions of the specification, a name
used in code, spec and trace, a unit, a value range, and a neutral value: the value an element
that a stream does not signal takes (clause 8.3.5; a neutral face: straight head, open eyes). A stream carries an element as an
integer level; its value is level * 2**-p, where p is the element's precision signalled in
the sequence header. The value range is given in integers so that the level range
[min_value * 2**p, max_value * 2**p] is exact.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SemanticElement:
    element_id: int
    name: str
    unit: str
    min_value: int
    max_value: int
    default_precision: int
    max_precision: int
    neutral_value: int
    description: str

    def level_range(self, precision: int) -> tuple[int, int]:
        """Inclusive range of levels allowed at the given precision."""
        return self.min_value << precision, self.max_value << precision


SEMANTIC_ELEMENTS: tuple[SemanticElement, ...] = (
    SemanticElement(0, "head_yaw", "degree", -90, 90, 1, 8, 0,
                    "rotation about the vertical axis; positive turns the face to the picture's left"),
    SemanticElement(1, "head_pitch", "degree", -90, 90, 1, 8, 0,
                    "rotation about the horizontal axis; positive tilts the face down"),
    SemanticElement(2, "head_roll", "degree", -180, 180, 1, 8, 0,
                    "in-plane rotation; positive is clockwise in the picture"),
    SemanticElement(3, "head_tx", "picture width", -1, 1, 7, 12, 0,
                    "horizontal position of the face centre relative to the picture centre"),
    SemanticElement(4, "head_ty", "picture height", -1, 1, 7, 12, 0,
                    "vertical position of the face centre relative to the picture centre, down positive"),
    SemanticElement(5, "head_tz", "log2 scale", -4, 4, 6, 12, 0,
                    "depth as log2 of the face size relative to the reference face size"),
    SemanticElement(6, "head_loc", "cell index", 0, 15, 0, 0, 0,
                    "coarse position cell of the face centre in a 4x4 grid, raster order"),
    SemanticElement(7, "eye_blink_left", "openness", 0, 2, 4, 10, 1,
                    "openness of the subject's left eye; 0 closed, 1 the reference open eye"),
    SemanticElement(8, "eye_blink_right", "openness", 0, 2, 4, 10, 1,
                    "openness of the subject's right eye; 0 closed, 1 the reference open eye"),
    SemanticElement(9, "mouth_open", "face size", 0, 2, 7, 10, 0,
                    "vertical inner-lip gap relative to the face size"),
    SemanticElement(10, "mouth_width", "face size", 0, 2, 6, 10, 0,
                    "mouth corner distance relative to the face size"),
    SemanticElement(11, "mouth_shape_1", "coefficient", -4, 4, 3, 10, 0,
                    "first mouth-shape coefficient (defined in Annex B)"),
    SemanticElement(12, "mouth_shape_2", "coefficient", -4, 4, 3, 10, 0,
                    "second mouth-shape coefficient (defined in Annex B)"),
    SemanticElement(13, "mouth_shape_3", "coefficient", -4, 4, 3, 10, 0,
                    "third mouth-shape coefficient (defined in Annex B)"),
    SemanticElement(14, "bg_tx", "picture width", -1, 1, 8, 12, 0,
                    "horizontal displacement of the still background (camera pan) relative to the "
                    "sequence's first picture, right positive (spec 1.2)"),
    SemanticElement(15, "bg_ty", "picture height", -1, 1, 8, 12, 0,
                    "vertical displacement of the still background (camera tilt) relative to the "
                    "sequence's first picture, down positive (spec 1.2)"),
)

# Table 3e (spec 1.2 draft, Compact profile): the correction elements, a 4 x 4 grid of
# displacements that the decoder applies to the generator's picture (clause 8.6.2). They are
# signalled, predicted and coded like the elements of Table 3, but they are not facial
# semantics: they have no value in clause 8.3.5's vector (SEMANTIC_ELEMENTS stays the face and
# the background), cannot be edited, and the synthesis reads their levels. corr_dx[ k ] (ids
# 16..31) and corr_dy[ k ] (ids 32..47) of cell k = 4 * row + column, in picture widths and
# heights; default precision 8 is a pixel at 256 x 256.
CORRECTION_GRID_SIZE = 4
CORRECTION_DX_FIRST_ID = 16
CORRECTION_DY_FIRST_ID = CORRECTION_DX_FIRST_ID + CORRECTION_GRID_SIZE ** 2
CORRECTION_ELEMENTS: tuple[SemanticElement, ...] = tuple(
    SemanticElement(first + k, f"corr_{axis}_{k}", unit, -1, 1, 8, 12, 0,
                    f"{'horizontal' if axis == 'dx' else 'vertical'} displacement at the centre of "
                    f"correction cell {k} (row {k // CORRECTION_GRID_SIZE}, column "
                    f"{k % CORRECTION_GRID_SIZE}) at which the decoder samples the generator's "
                    f"picture, {'right' if axis == 'dx' else 'down'} positive (clause 8.6.2)")
    for axis, first, unit in (("dx", CORRECTION_DX_FIRST_ID, "picture width"),
                              ("dy", CORRECTION_DY_FIRST_ID, "picture height"))
    for k in range(CORRECTION_GRID_SIZE ** 2))
CORRECTION_ELEMENT_IDS: tuple[int, ...] = tuple(e.element_id for e in CORRECTION_ELEMENTS)

# Every element a header may name (Tables 3 and 3e).
ELEMENT_BY_ID: dict[int, SemanticElement] = {e.element_id: e for e in SEMANTIC_ELEMENTS + CORRECTION_ELEMENTS}
ELEMENT_BY_NAME: dict[str, SemanticElement] = {e.name: e for e in SEMANTIC_ELEMENTS + CORRECTION_ELEMENTS}
# The elements of versions 1.0 and 1.1 (ids 0..13): the face. Spec 1.2 adds the background's
# displacement (bg_tx, bg_ty), which only an image-based estimate gives, not the landmarks.
BG_TX_ID, BG_TY_ID = 14, 15
BACKGROUND_ELEMENT_IDS: tuple[int, ...] = (BG_TX_ID, BG_TY_ID)
BASELINE_ELEMENT_IDS: tuple[int, ...] = tuple(e.element_id for e in SEMANTIC_ELEMENTS
                                              if e.element_id not in BACKGROUND_ELEMENT_IDS)
FACE_ELEMENTS: tuple[SemanticElement, ...] = tuple(e for e in SEMANTIC_ELEMENTS
                                                   if e.element_id in BASELINE_ELEMENT_IDS)
# The element set the reference encoder signals by default, in this order; the compact sequence
# header (spec 1.2) codes "this set at the default precisions" as one flag. head_loc (6) is not
# in it: it is a function of head_tx/head_ty (Annex B.3), no generator reads it, and decoded
# streams never disagree with the derived cell, so it only cost bits (0.35 bit/frame with CABAC,
# 0.9 with Exp-Golomb on the test clips: docs/results/geometry2_2026-12-03). It stays decodable,
# and a head_loc edit moves the head through head_tx/head_ty whether or not it is signalled.
HEAD_LOC_ID = 6
DEFAULT_ELEMENT_IDS: tuple[int, ...] = tuple(i for i in BASELINE_ELEMENT_IDS if i != HEAD_LOC_ID)
# The default set followed by the background displacement: the compact sequence header's
# csh_background_elements_flag (spec 7.4.7) names it with one bit; what the reference encoder
# signals for a generator that moves its background plate (Annex G.5a).
DEFAULT_BACKGROUND_ELEMENT_IDS: tuple[int, ...] = DEFAULT_ELEMENT_IDS + BACKGROUND_ELEMENT_IDS
# The neutral value of every element of Table 3, indexed by element id (clause 8.3.5).
NEUTRAL_VALUES: tuple[int, ...] = tuple(e.neutral_value for e in SEMANTIC_ELEMENTS)
