"""Key-frame geometry payload, version 2 (kf_geometry_version = 2; spec Annex E.2.4 to E.2.7).

Version 2 (spec 1.2, Compact profile only: see geometry_version_allowed) carries the same
128 landmarks of Table E.1 as version 1, predicted from the canonical face posed with the key
frame's reference semantics (version 1's gp_pred_mode 1), but:

- the residuals are quantised with a step per landmark class, in half pixels: a coarse class
  (face contour, brows, nose) and a fine class (eyes, lips), so that precision goes where
  the generator's expression fills use it;
- in the closed rings of Table E.1 (face contour, eyes, outer and inner lips) only the
  even-numbered landmarks of the ring are coded when gp2_ring_interp_flag is 1; an odd one
  takes the mean of its two ring neighbours' levels (the residual field is smooth along a
  ring: 0.24-0.39 px mean interpolation error on the test clips, below the step);
- the level differences along each group (the chain restarts at every group) are coded with
  the arithmetic coder of clause 9.3 and adaptive contexts (Table E.2), instead of se(v).

The syntax structure is written once (code_geometry_v2) for SyntaxReader and SyntaxWriter.
Acceptance is decided by the integer syntax alone; decoded positions are clipped, never
rejected (as in E.2.3 step 3).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .cabac_engine import ContextModel
from .geometry_payload import (GP_GROUPS, GP_LANDMARK_IDS, NUM_GP_LANDMARKS, KeyGeometry,
                               _position_bounds, _prediction, posed_canonical)
from .syntax_coder import SyntaxReader, SyntaxWriter

Coder = SyntaxReader | SyntaxWriter

GEOMETRY_VERSION_V2 = 2
GP2_PRECISION_SHIFT = 1               # PredPos and Pos are in half pixels (S = 2)
GP2_MAX_ABS_DIFF = (1 << 15) - 1      # bounds each difference (parsing bound on any input)
GP2_MAX_STEP = 4                      # gp2_step_*_minus1 is u(2): steps 1..4 half pixels

# Landmark classes (Table E.1 groups): 0 coarse, 1 fine.
GP2_CLASS_COARSE = 0
GP2_CLASS_FINE = 1
_FINE_GROUPS = frozenset({"eye_right", "eye_left", "lips_outer", "lips_inner"})
# GpClass[ k ] and GpGroupStart[ k ] (1 at the first landmark of a group) in Table E.1 order.
GP2_CLASS: tuple[int, ...] = tuple(GP2_CLASS_FINE if name in _FINE_GROUPS else GP2_CLASS_COARSE
                                   for name, ids in GP_GROUPS for _ in ids)
GP2_GROUP_START: tuple[int, ...] = tuple(int(j == 0) for _, ids in GP_GROUPS for j in range(len(ids)))
# Closed rings of Table E.1: with gp2_ring_interp_flag 1 their odd-numbered landmarks are not
# coded (GpInterp[ k ] = 1) but interpolated from their ring neighbours.
_RING_GROUPS = frozenset({"contour", "eye_right", "eye_left", "lips_outer", "lips_inner"})
GP2_INTERP: tuple[int, ...] = tuple(int(name in _RING_GROUPS and j % 2 == 1)
                                    for name, ids in GP_GROUPS for j in range(len(ids)))
# For each landmark: (index of the first landmark of its group, size of the group).
_GROUP_SPAN: tuple[tuple[int, int], ...] = tuple(
    (sum(len(g) for _, g in GP_GROUPS[:gi]), len(ids)) for gi, (_, ids) in enumerate(GP_GROUPS)
    for _ in ids)

# Default steps of the reference encoder (half pixels): coarse 2 px, fine 1.5 px; measured in
# docs/results/geometry2_2026-12-03 (sizes and quality through both geometric generators).
DEFAULT_STEP_COARSE = 4
DEFAULT_STEP_FINE = 3

# Table E.2: (initValue, shiftIdx) of the context variables, initialised with the QP-like
# value 0 of clause 9.3.2.2 at the start of every payload. The initValues are trained (JVET
# practice) on the first and sixth frames of the 26 train-split clips at the default steps:
# each gives the nearest initial probability of a one that 9.3.2.2 offers at QP 0 to the
# measured share (sig 0.42/0.59/0.49/0.59 coarse, 0.61/0.62/0.57/0.58 fine; gt1 0.21/0.27
# coarse, 0.24/0.24 fine). shiftIdx 4: fast adaptation, a payload has at most 256 bins a kind.
#   gp2_sig_flag  ctxIdx = 4 * GpClass[ k ] + 2 * c + ( PrevDiff[ c ] != 0 )   (8)
#   gp2_gt1_flag  ctxIdx = 2 * GpClass[ k ] + c                                (4)
# with c = 0 for x, 1 for y, and PrevDiff[ c ] the previous landmark's difference of the same
# component in the same group (0 at a group start).
GP2_SIG_CTX_INIT: tuple[tuple[int, int], ...] = ((35, 4), (36, 4), (27, 4), (36, 4),
                                                  (28, 4), (28, 4), (36, 4), (36, 4))
GP2_GT1_CTX_INIT: tuple[tuple[int, int], ...] = ((25, 4), (34, 4), (42, 4), (42, 4))
GP2_CTX_INIT_QP = 0


@dataclass
class GeometryPayloadV2:
    """The syntax elements of geometry_payload_v2( ) (spec Annex E.2.4)."""
    gp2_step_coarse_minus1: int = DEFAULT_STEP_COARSE - 1
    gp2_step_fine_minus1: int = DEFAULT_STEP_FINE - 1
    gp2_ring_interp_flag: int = 1
    gp2_reserved_zero_3bits: int = 0
    gp2_diff_x: list[int] = field(default_factory=lambda: [0] * NUM_GP_LANDMARKS)
    gp2_diff_y: list[int] = field(default_factory=lambda: [0] * NUM_GP_LANDMARKS)

    def steps(self) -> tuple[int, int]:
        """(coarse, fine) quantisation steps in half pixels."""
        return self.gp2_step_coarse_minus1 + 1, self.gp2_step_fine_minus1 + 1


class GeometryV2Contexts:
    """The context variables of geometry_payload_v2( ) (Table E.2), freshly initialised."""
    __slots__ = ("sig", "gt1")

    def __init__(self) -> None:
        self.sig = [ContextModel(v, s, GP2_CTX_INIT_QP) for v, s in GP2_SIG_CTX_INIT]
        self.gt1 = [ContextModel(v, s, GP2_CTX_INIT_QP) for v, s in GP2_GT1_CTX_INIT]


def _code_diff(c: Coder, name: str, value: int, cls: int, comp: int, prev: int,
               ctx: GeometryV2Contexts) -> int:
    """One gp2_diff_x/y[ k ] (Annex E.2.4, binarization and contexts E.2.6)."""
    a = abs(value)
    if not c.ae_decision(f"{name}.gp2_sig_flag", ctx.sig[4 * cls + 2 * comp + (prev != 0)], int(a > 0)):
        return 0
    a_dec = 1
    if c.ae_decision(f"{name}.gp2_gt1_flag", ctx.gt1[2 * cls + comp], int(a > 1)):
        a_dec = 2 + c.ae_bypass_egk(f"{name}.gp2_abs_minus2", a - 2, 0, hi=GP2_MAX_ABS_DIFF - 2)
    neg = c.ae_bypass_flag(f"{name}.gp2_sign_flag", int(value < 0))
    return -a_dec if neg else a_dec


def code_geometry_v2(c: Coder, gp: GeometryPayloadV2) -> GeometryPayloadV2:
    """geometry_payload_v2( ) (spec Annex E.2.4; semantics E.2.5)."""
    gp.gp2_step_coarse_minus1 = c.u("gp2_step_coarse_minus1", 2, gp.gp2_step_coarse_minus1)
    gp.gp2_step_fine_minus1 = c.u("gp2_step_fine_minus1", 2, gp.gp2_step_fine_minus1)
    gp.gp2_ring_interp_flag = c.u("gp2_ring_interp_flag", 1, gp.gp2_ring_interp_flag)
    gp.gp2_reserved_zero_3bits = c.u("gp2_reserved_zero_3bits", 3, gp.gp2_reserved_zero_3bits, hi=0)
    if c.reading:
        gp.gp2_diff_x = [0] * NUM_GP_LANDMARKS
        gp.gp2_diff_y = [0] * NUM_GP_LANDMARKS
    c.start_ae()
    ctx = GeometryV2Contexts()
    prev = [0, 0]
    for k in range(NUM_GP_LANDMARKS):
        if GP2_GROUP_START[k]:
            prev = [0, 0]
        if gp.gp2_ring_interp_flag and GP2_INTERP[k]:
            gp.gp2_diff_x[k] = gp.gp2_diff_y[k] = 0      # not coded
            continue
        cls = GP2_CLASS[k]
        dx = _code_diff(c, f"gp2_diff_x[{k}]", gp.gp2_diff_x[k], cls, 0, prev[0], ctx)
        dy = _code_diff(c, f"gp2_diff_y[{k}]", gp.gp2_diff_y[k], cls, 1, prev[1], ctx)
        gp.gp2_diff_x[k], gp.gp2_diff_y[k] = dx, dy
        prev = [dx, dy]
    if c.ae_terminate("end_of_payload_one_bit", 1) != 1:
        raise c.error("end_of_payload_one_bit is not 1", "end_of_payload_one_bit")
    c.ae_trailing_bits()
    return gp


def _step_per_landmark(gp: GeometryPayloadV2) -> np.ndarray:
    """Step[ k ] of Annex E.2.5 (half pixels)."""
    coarse, fine = gp.steps()
    return np.array([fine if cls == GP2_CLASS_FINE else coarse for cls in GP2_CLASS], np.int64)


def coded_landmarks(ring_interp_flag: int) -> list[int]:
    """The k of Table E.1 whose differences the payload carries, in coding order."""
    return [k for k in range(NUM_GP_LANDMARKS) if not (ring_interp_flag and GP2_INTERP[k])]


def levels_from_diffs(gp: GeometryPayloadV2) -> np.ndarray:
    """Lev[ k ] (steps 2 and 3 of E.2.7), (128, 2) int64: the differences accumulated along the
    coded landmarks of each group, then the odd ring landmarks interpolated (integers)."""
    d = np.stack([np.asarray(gp.gp2_diff_x, np.int64), np.asarray(gp.gp2_diff_y, np.int64)], axis=1)
    lev = np.zeros_like(d)
    prev = np.zeros(2, np.int64)
    for k in coded_landmarks(gp.gp2_ring_interp_flag):
        if GP2_GROUP_START[k]:
            prev = np.zeros(2, np.int64)
        prev = prev + d[k]
        lev[k] = prev
    if gp.gp2_ring_interp_flag:
        for k in range(NUM_GP_LANDMARKS):
            if GP2_INTERP[k]:
                first, size = _GROUP_SPAN[k]
                nxt = first + (k - first + 1) % size      # ring neighbour after k (wraps)
                lev[k] = (lev[k - 1] + lev[nxt] + 1) >> 1
    return lev


def positions_from_payload_v2(gp: GeometryPayloadV2, pred_pos: np.ndarray, width: int,
                              height: int) -> np.ndarray:
    """Steps 2 and 3 of Annex E.2.7 in integers: Pos[ k ] in half pixels, clipped (never rejected)."""
    q = np.asarray(pred_pos, np.int64) + _step_per_landmark(gp)[:, None] * levels_from_diffs(gp)
    x0, x1, y0, y1 = _position_bounds(width, height, GP2_PRECISION_SHIFT)
    q[:, 0] = np.clip(q[:, 0], x0, x1)
    q[:, 1] = np.clip(q[:, 1], y0, y1)
    return q


def payload_from_points_v2(points: np.ndarray, ref_values: np.ndarray, width: int, height: int,
                           step_coarse: int = DEFAULT_STEP_COARSE,
                           step_fine: int = DEFAULT_STEP_FINE,
                           ring_interp: bool = True) -> GeometryPayloadV2:
    """Encoder side (informative): quantise the residuals against PredPos with the class steps
    (rounding to the nearest level; positions first clipped into the decodable range)."""
    for name, step in (("step_coarse", step_coarse), ("step_fine", step_fine)):
        if not 1 <= step <= GP2_MAX_STEP:
            raise ValueError(f"{name} {step} is not in 1..{GP2_MAX_STEP} half pixels")
    gp = GeometryPayloadV2(step_coarse - 1, step_fine - 1, int(ring_interp))
    q = np.floor(np.asarray(points, np.float64) * (1 << GP2_PRECISION_SHIFT) + 0.5).astype(np.int64)
    x0, x1, y0, y1 = _position_bounds(width, height, GP2_PRECISION_SHIFT)
    q[:, 0] = np.clip(q[:, 0], x0, x1)
    q[:, 1] = np.clip(q[:, 1], y0, y1)
    res = q - _prediction(ref_values, width, height, GP2_PRECISION_SHIFT)
    step = _step_per_landmark(gp)[:, None]
    lev = np.floor_divide(2 * res + step, 2 * step)          # nearest level, halves up
    d = np.zeros_like(lev)
    prev = np.zeros(2, np.int64)
    for k in coded_landmarks(gp.gp2_ring_interp_flag):
        if GP2_GROUP_START[k]:
            prev = np.zeros(2, np.int64)
        d[k] = lev[k] - prev
        prev = lev[k]
    if np.abs(d).max(initial=0) > GP2_MAX_ABS_DIFF:
        raise ValueError("a landmark difference exceeds the range of gp2_diff_x/y")
    gp.gp2_diff_x = [int(v) for v in d[:, 0]]
    gp.gp2_diff_y = [int(v) for v in d[:, 1]]
    return gp


def write_payload_v2(gp: GeometryPayloadV2, trace: list | None = None) -> bytes:
    """Writes geometry_payload_v2( ) (spec Annex E.2.4)."""
    w = SyntaxWriter(trace)
    code_geometry_v2(w, gp)
    return w.getvalue()


def parse_payload_v2(data: bytes, trace: list | None = None) -> GeometryPayloadV2:
    """Parses geometry_payload_v2( ) (spec Annex E.2.4, E.2.5); BitstreamError when malformed."""
    r = SyntaxReader(bytes(data), trace=trace, unit="geometry_payload_v2")
    return code_geometry_v2(r, GeometryPayloadV2())


def encode_v2(geom: KeyGeometry, step_coarse: int = DEFAULT_STEP_COARSE,
              step_fine: int = DEFAULT_STEP_FINE, ring_interp: bool = True) -> bytes:
    """KeyGeometry -> geometry_payload_v2( ) bytes."""
    return write_payload_v2(payload_from_points_v2(geom.points, geom.ref_values, geom.width,
                                                   geom.height, step_coarse, step_fine, ring_interp))


def decode_v2(data: bytes, *, width: int, height: int, ref_values: np.ndarray) -> KeyGeometry:
    """Payload bytes (kf_geometry_version 2) -> KeyGeometry (decoding process E.2.7)."""
    gp = parse_payload_v2(data)
    ref = np.asarray(ref_values, np.float64)
    pos = positions_from_payload_v2(gp, _prediction(ref, width, height, GP2_PRECISION_SHIFT),
                                    width, height)
    depth = posed_canonical(ref, width, height)[list(GP_LANDMARK_IDS), 2]
    return KeyGeometry(width, height, ref.copy(), pos.astype(np.float64) / (1 << GP2_PRECISION_SHIFT),
                       depth, GP2_PRECISION_SHIFT)
