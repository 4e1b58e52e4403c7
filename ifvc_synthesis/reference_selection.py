"""Which reference draws which part of a frame (spec Annex G.6, informative): a deterministic
rule on decoded data only (the frame's semantic values and each reference's reference
semantics), in integers so that every decoder picks the same reference.

- Values are compared in fixed point: q(v) = Floor(v * 2^12 + 1/2). A decoded value is
  level * 2^-p with p <= 12 (Table 3's largest precision), so q is exact for unedited frames;
  edited values are rounded once, the same way everywhere.
- Pose distance D(r) = 2|dyaw| + 2|dpitch| + |droll| + 16(|dtx| + |dty|) + 8|dtz| (in q units):
  yaw and pitch uncover or hide parts of the head, roll and translation are 2D motion that
  warping does well. The primary reference minimises D; ties go to the newest (largest
  FrameIdx).
- Mouth: among the references whose D is at most D(primary) + POSE_SLACK, the one whose
  mouth_open is closest to the frame's (ties: smaller D, then the newest) draws the mouth, when
  it is closer than the primary's by more than MOUTH_MARGIN. Eyes likewise with
  |deye_blink_left| + |deye_blink_right| and EYE_MARGIN.
With one reference every rule picks it, so a one-key-frame stream is drawn exactly as by a
single-reference generator.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bitstream.semantic_elements import SEMANTIC_ELEMENTS

Q_SHIFT = 12
_INDEX = {e.name: i for i, e in enumerate(SEMANTIC_ELEMENTS)}
# (element, weight) of the pose distance
POSE_WEIGHTS: tuple[tuple[str, int], ...] = (("head_yaw", 2), ("head_pitch", 2), ("head_roll", 1),
                                            ("head_tx", 16), ("head_ty", 16), ("head_tz", 8))
POSE_SLACK = 2 * 8 << Q_SHIFT          # 8 degrees of yaw: how much worse a region's pose may be
MOUTH_MARGIN = 1 << (Q_SHIFT - 4)      # 1/16 face size of mouth_open
EYE_MARGIN = 1 << (Q_SHIFT - 2)        # 1/4 of the openness scale, both eyes together
MOUTH_ELEMENTS = ("mouth_open",)
EYE_ELEMENTS = ("eye_blink_left", "eye_blink_right")


def fixed_point(values: np.ndarray) -> list[int]:
    """q(v) = Floor(v * 2^12 + 1/2) of every element (table order), as Python integers."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    return [int(x) for x in np.floor(v * (1 << Q_SHIFT) + 0.5)]


def pose_distance(target_q: Sequence[int], ref_q: Sequence[int]) -> int:
    return sum(w * abs(target_q[_INDEX[name]] - ref_q[_INDEX[name]]) for name, w in POSE_WEIGHTS)


def state_distance(target_q: Sequence[int], ref_q: Sequence[int], names: Sequence[str]) -> int:
    return sum(abs(target_q[_INDEX[name]] - ref_q[_INDEX[name]]) for name in names)


@dataclass(frozen=True)
class Selection:
    """Positions (in the order given, oldest first) of the references that draw the frame,
    and the mouth and the eyes (equal to primary when the primary draws them)."""
    primary: int
    mouth: int
    eyes: int


def _region(target_q: Sequence[int], refs_q: Sequence[Sequence[int]], dist: Sequence[int], primary: int,
            names: Sequence[str], margin: int) -> int:
    state = [state_distance(target_q, r, names) for r in refs_q]
    candidates = [i for i in range(len(refs_q)) if dist[i] <= dist[primary] + POSE_SLACK]
    best = min(candidates, key=lambda i: (state[i], dist[i], -i))
    return best if state[best] + margin < state[primary] else primary


def select_references(target_values: np.ndarray, ref_values: Sequence[np.ndarray]) -> Selection:
    """The rule of Annex G.6 for one frame; ref_values are the references' reference semantic
    values, oldest first (a later position is a newer key frame)."""
    if not ref_values:
        raise ValueError("no reference to synthesise from")
    target_q = fixed_point(target_values)
    refs_q = [fixed_point(v) for v in ref_values]
    dist = [pose_distance(target_q, r) for r in refs_q]
    primary = min(range(len(refs_q)), key=lambda i: (dist[i], -i))
    return Selection(primary,
                     _region(target_q, refs_q, dist, primary, MOUTH_ELEMENTS, MOUTH_MARGIN),
                     _region(target_q, refs_q, dist, primary, EYE_ELEMENTS, EYE_MARGIN))
