"""Key-frame geometry payload, version 1 (kf_geometry_version = 1; spec Annex E.2).

The payload carries what the geometric generator needs from the key frame and the decoder
cannot compute without analysing the picture: the 2-D positions of a fixed subset of the
478 face-mesh landmarks (GP_LANDMARK_IDS: face contour, brows, eyes with lids, nose, outer
and inner lips) in key-frame pixels, at 2^-gp_precision_shift pixel precision. They are coded
as se(v) differences along the subset order, either of the positions themselves
(gp_pred_mode 0) or of their residuals against the canonical face posed with the key
frame's reference semantics (gp_pred_mode 1). Depth is not coded: it comes from the posed
canonical face.

The syntax structure is written once (code_geometry_v1) for SyntaxReader and SyntaxWriter.
encode()/decode() are the byte-level helpers; decoding raises BitstreamError on any
malformed payload. Whether a payload is accepted is decided by its syntax alone (integers):
decoded positions are clipped into range, never rejected (Annex E.2.3 step 3).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .canonical_face import load_canonical_face, model_to_pixels, pose_from_values
from .errors import BitstreamError
from .syntax_coder import SyntaxReader, SyntaxWriter

Coder = SyntaxReader | SyntaxWriter

GEOMETRY_VERSION_NONE = 0
GEOMETRY_VERSION_V1 = 1

GP_PRED_DELTA = 0        # differences of the positions along the subset order
GP_PRED_CANONICAL = 1    # differences of the residuals against the posed canonical face
GP_MAX_PRECISION_SHIFT = 2
GP_MAX_ABS_DELTA = (1 << 22) - 1   # bounds parsing on any input (positions are checked too)
DEFAULT_PRECISION_SHIFT = 1

# --- the landmark subset (Annex E, Table E.1), in coding order: chains of neighbours -------
GP_CONTOUR = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378,
              400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21,
              54, 103, 67, 109)
GP_BROW_RIGHT = (70, 63, 105, 66, 107)
GP_BROW_LEFT = (336, 296, 334, 293, 300)
GP_EYE_RIGHT = (33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7)
GP_EYE_LEFT = (362, 398, 384, 385, 386, 387, 388, 466, 263, 249, 390, 373, 374, 380, 381, 382)
GP_NOSE = (168, 6, 197, 195, 5, 4, 1, 2, 98, 327)
GP_LIPS_OUTER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84,
                 181, 91, 146)
GP_LIPS_INNER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87,
                 178, 88, 95)
GP_GROUPS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("contour", GP_CONTOUR), ("brow_right", GP_BROW_RIGHT), ("brow_left", GP_BROW_LEFT),
    ("eye_right", GP_EYE_RIGHT), ("eye_left", GP_EYE_LEFT), ("nose", GP_NOSE),
    ("lips_outer", GP_LIPS_OUTER), ("lips_inner", GP_LIPS_INNER))
GP_LANDMARK_IDS: tuple[int, ...] = tuple(i for _, g in GP_GROUPS for i in g)
NUM_GP_LANDMARKS = len(GP_LANDMARK_IDS)   # 128
GP_INDEX = {lm: k for k, lm in enumerate(GP_LANDMARK_IDS)}


@dataclass
class GeometryPayloadV1:
    """The syntax elements of geometry_payload_v1() (spec Annex E.2.1)."""
    gp_precision_shift: int = DEFAULT_PRECISION_SHIFT
    gp_pred_mode: int = GP_PRED_CANONICAL
    gp_reserved_zero_5bits: int = 0
    gp_delta_x: list[int] = field(default_factory=lambda: [0] * NUM_GP_LANDMARKS)
    gp_delta_y: list[int] = field(default_factory=lambda: [0] * NUM_GP_LANDMARKS)


def code_geometry_v1(c: Coder, gp: GeometryPayloadV1) -> GeometryPayloadV1:
    """geometry_payload_v1( ) (spec Annex E.2.1; semantics E.2.2)."""
    gp.gp_precision_shift = c.u("gp_precision_shift", 2, gp.gp_precision_shift,
                                hi=GP_MAX_PRECISION_SHIFT)
    gp.gp_pred_mode = c.u("gp_pred_mode", 1, gp.gp_pred_mode)
    gp.gp_reserved_zero_5bits = c.u("gp_reserved_zero_5bits", 5, gp.gp_reserved_zero_5bits, hi=0)
    if c.reading:
        gp.gp_delta_x = [0] * NUM_GP_LANDMARKS
        gp.gp_delta_y = [0] * NUM_GP_LANDMARKS
    for k in range(NUM_GP_LANDMARKS):
        gp.gp_delta_x[k] = c.se("gp_delta_x", gp.gp_delta_x[k], -GP_MAX_ABS_DELTA, GP_MAX_ABS_DELTA)
        gp.gp_delta_y[k] = c.se("gp_delta_y", gp.gp_delta_y[k], -GP_MAX_ABS_DELTA, GP_MAX_ABS_DELTA)
    c.trailing_bits()
    return gp


@dataclass
class KeyGeometry:
    """Decoded key-frame geometry: the subset's landmark positions (Annex E.2.3)."""
    width: int
    height: int
    ref_values: np.ndarray          # (14,) the key frame's reference semantic values
    points: np.ndarray              # (NUM_GP_LANDMARKS, 2) key-frame pixels (u right, v down)
    depth: np.ndarray               # (NUM_GP_LANDMARKS,) fit-space z of the posed canonical face
    precision_shift: int = DEFAULT_PRECISION_SHIFT
    landmark_ids: tuple[int, ...] = GP_LANDMARK_IDS


def posed_canonical(ref_values: np.ndarray, width: int, height: int) -> np.ndarray:
    """(478, 3): the canonical face posed with elements 0..5 of ref_values: pixels u, v and z."""
    face = load_canonical_face()
    return model_to_pixels(face.vertices, pose_from_values(np.asarray(ref_values, np.float64),
                                                           width, height, face), width, face)


def _prediction(ref_values: np.ndarray, width: int, height: int, shift: int) -> np.ndarray:
    """PredPos[k] of Annex E.2.3: posed canonical subset positions in 2^-shift pixel units."""
    p = posed_canonical(ref_values, width, height)[list(GP_LANDMARK_IDS), :2]
    return np.floor(p * (1 << shift) + 0.5).astype(np.int64)


def _position_bounds(width: int, height: int, shift: int) -> tuple[int, int, int, int]:
    """Range of decoded positions (clipped into it): one picture size around the picture, in units."""
    return -width << shift, (2 * width) << shift, -height << shift, (2 * height) << shift


def payload_from_points(points: np.ndarray, ref_values: np.ndarray, width: int, height: int,
                        shift: int, pred_mode: int) -> GeometryPayloadV1:
    q = np.floor(np.asarray(points, np.float64) * (1 << shift) + 0.5).astype(np.int64)
    x0, x1, y0, y1 = _position_bounds(width, height, shift)
    q[:, 0] = np.clip(q[:, 0], x0, x1)
    q[:, 1] = np.clip(q[:, 1], y0, y1)
    if pred_mode == GP_PRED_CANONICAL:
        r = q - _prediction(ref_values, width, height, shift)
        prev = np.zeros(2, np.int64)
    else:
        r = q
        prev = np.array([width << shift >> 1, height << shift >> 1], np.int64)
    d = np.diff(np.vstack([prev, r]), axis=0)
    return GeometryPayloadV1(shift, pred_mode, 0, [int(v) for v in d[:, 0]], [int(v) for v in d[:, 1]])


def positions_from_payload(gp: GeometryPayloadV1, pred_pos: np.ndarray | None, width: int,
                           height: int) -> np.ndarray:
    """Steps 2 and 3 of Annex E.2.3, in integers: Pos[k] in units of 2^-shift pixels.

    pred_pos: PredPos (step 1), needed by gp_pred_mode 1 only. Positions are clipped into the
    range of one picture size around the picture, never rejected: PredPos comes from floating
    point, so a range check on Pos would let rounding decide whether a stream is accepted.
    """
    s = gp.gp_precision_shift
    d = np.stack([np.asarray(gp.gp_delta_x, np.int64), np.asarray(gp.gp_delta_y, np.int64)], axis=1)
    if gp.gp_pred_mode == GP_PRED_CANONICAL:
        if pred_pos is None:
            raise ValueError("gp_pred_mode 1 needs PredPos")
        q = np.cumsum(d, axis=0) + np.asarray(pred_pos, np.int64)
    else:
        q = np.cumsum(d, axis=0) + np.array([width << s >> 1, height << s >> 1], np.int64)
    x0, x1, y0, y1 = _position_bounds(width, height, s)
    q[:, 0] = np.clip(q[:, 0], x0, x1)
    q[:, 1] = np.clip(q[:, 1], y0, y1)
    return q


def points_from_payload(gp: GeometryPayloadV1, ref_values: np.ndarray, width: int, height: int
                        ) -> np.ndarray:
    """Decoding process of Annex E.2.3: positions in units of 2^-shift pixels -> pixels."""
    s = gp.gp_precision_shift
    pred = _prediction(ref_values, width, height, s) if gp.gp_pred_mode == GP_PRED_CANONICAL else None
    q = positions_from_payload(gp, pred, width, height)
    return q.astype(np.float64) / (1 << s)


def write_payload(gp: GeometryPayloadV1, trace: list | None = None) -> bytes:
    """Writes geometry_payload_v1( ) (spec Annex E.2.1)."""
    w = SyntaxWriter(trace)
    code_geometry_v1(w, gp)
    return w.getvalue()


def parse_payload(data: bytes, trace: list | None = None) -> GeometryPayloadV1:
    """Parses geometry_payload_v1( ) (spec Annex E.2.1, E.2.2)."""
    r = SyntaxReader(bytes(data), trace=trace, unit="geometry_payload_v1")
    return code_geometry_v1(r, GeometryPayloadV1())


def encode(geom: KeyGeometry, pred_mode: int | None = None) -> bytes:
    """KeyGeometry -> payload bytes. pred_mode None: the smaller of the two modes."""
    modes = (GP_PRED_CANONICAL, GP_PRED_DELTA) if pred_mode is None else (pred_mode,)
    best: bytes | None = None
    for m in modes:
        data = write_payload(payload_from_points(geom.points, geom.ref_values, geom.width,
                                                 geom.height, geom.precision_shift, m))
        if best is None or len(data) < len(best):
            best = data
    assert best is not None
    return best


def decode(data: bytes, *, width: int, height: int, ref_values: np.ndarray) -> KeyGeometry:
    """Payload bytes (kf_geometry_version 1) -> KeyGeometry; BitstreamError when malformed.

    width, height: the picture size (sh_pic_width, sh_pic_height); ref_values: the key
    frame's reference semantic values (dequantised kf_ref_sem_level, table order; elements
    not carried take 0).
    """
    gp = parse_payload(data)
    ref = np.asarray(ref_values, np.float64)
    pts = points_from_payload(gp, ref, width, height)
    depth = posed_canonical(ref, width, height)[list(GP_LANDMARK_IDS), 2]
    return KeyGeometry(width, height, ref.copy(), pts, depth, gp.gp_precision_shift)


def canonical_geometry(ref_values: np.ndarray, width: int, height: int) -> KeyGeometry:
    """Stand-in geometry when a key frame has none (kf_geometry_version 0): the posed canonical face."""
    ref = np.asarray(ref_values, np.float64)
    p = posed_canonical(ref, width, height)[list(GP_LANDMARK_IDS)]
    return KeyGeometry(width, height, ref.copy(), p[:, :2].copy(), p[:, 2].copy(), 0)
