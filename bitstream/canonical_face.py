"""The canonical 3D face (MediaPipe, Apache-2.0): the shared definition of spec Annex B.1.

Both the encoder (analysis, Annex B) and the decoder (IDI and the geometric generator,
Annex C; prediction of the key-frame geometry payload) use it, so it lives in bitstream/
(numpy only). The data file is bitstream/data/canonical_face.json; regenerate it with
tools/extract_canonical_face.py. Nothing here reads ../shared.

The posed face predicts the geometry payload's positions (Annex E.2.3), which decide whether
a payload is accepted, so its products are evaluated in a fixed order (bitstream/fixed_order.py)
and its trigonometry by the C library (math), never by BLAS or numpy's SIMD kernels.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .face_measures import REFERENCE_FACE_WIDTH
from .fixed_order import matmul3, norm3, rows_times

DATA_FILE = Path(__file__).with_name("data") / "canonical_face.json"
CHEEK_RIGHT, CHEEK_LEFT = 234, 454   # face width landmarks (subject's right / left)
NUM_VERTICES = 478


@dataclass(frozen=True)
class CanonicalFace:
    vertices: np.ndarray          # (478, 3) cm; x right, y up, z towards the viewer
    basis_ids: np.ndarray         # (33,) landmark ids of the Procrustes basis
    basis_weights: np.ndarray     # (33,) weights normalised to sum 1
    basis_centroid: np.ndarray    # (3,) weighted centroid of the basis landmarks (cm)
    face_width: float             # |v234 - v454| in cm: the "face size" unit of Annex B


@lru_cache(maxsize=1)
def load_canonical_face() -> CanonicalFace:
    data = json.loads(DATA_FILE.read_text())
    v = np.asarray(data["vertices"], dtype=np.float64)
    ids = np.asarray(data["procrustes_landmark_ids"], dtype=np.int64)
    w = np.asarray(data["procrustes_landmark_weights"], dtype=np.float64)
    w = w / w.sum()
    v.setflags(write=False)
    return CanonicalFace(vertices=v, basis_ids=ids, basis_weights=w,
                         basis_centroid=(w[:, None] * v[ids]).sum(axis=0),
                         face_width=float(norm3(v[CHEEK_RIGHT] - v[CHEEK_LEFT])))


def euler_to_rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Rotation matrix of Annex B.3 from (head_yaw, head_pitch, head_roll) in degrees.

    R = Rz(c) Rx(b) Ry(a) with a = -yaw, b = pitch, c = -roll (right-handed rotations about
    the fit-space axes x right, y up, z towards the viewer).
    """
    a, b, c = math.radians(-yaw), math.radians(pitch), math.radians(-roll)
    ry = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    rx = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    rz = np.array([[math.cos(c), -math.sin(c), 0], [math.sin(c), math.cos(c), 0], [0, 0, 1]])
    return matmul3(matmul3(rz, rx), ry)




@dataclass(frozen=True)
class HeadPose:
    """observed (fit space) = scale * rotation @ (model - basis_centroid) + translation."""
    rotation: np.ndarray      # (3, 3)
    scale: float              # picture widths per canonical cm
    translation: np.ndarray   # (3,) fit space; z = 0 (weak perspective has no absolute depth)


def pose_from_values(values: np.ndarray, width: int, height: int,
                     face: CanonicalFace | None = None) -> HeadPose:
    """The similarity pose that Annex B.3 elements 0..5 describe (inverse of the definitions)."""
    face = face or load_canonical_face()
    yaw, pitch, roll, tx, ty, tz = (float(x) for x in values[:6])
    scale = REFERENCE_FACE_WIDTH * 2.0 ** tz / face.face_width
    t = np.array([tx + 0.5, -(ty + 0.5) * height / width, 0.0])
    return HeadPose(euler_to_rotation(yaw, pitch, roll), scale, t)


def model_to_pixels(model: np.ndarray, pose: HeadPose, width: int, face: CanonicalFace | None = None
                    ) -> np.ndarray:
    """Model-space points (N, 3) in cm -> (N, 3) picture pixels (u, v) and fit-space depth z."""
    face = face or load_canonical_face()
    fit = rows_times(pose.scale * (model - face.basis_centroid), pose.rotation.T) + pose.translation
    return np.stack([fit[:, 0] * width, -fit[:, 1] * width, fit[:, 2]], axis=1)


def pixels_to_model(pix: np.ndarray, pose: HeadPose, width: int, face: CanonicalFace | None = None
                    ) -> np.ndarray:
    """Inverse of model_to_pixels: (N, 3) (u, v, fit-space z) -> model space (cm)."""
    face = face or load_canonical_face()
    fit = np.stack([pix[:, 0] / width, -pix[:, 1] / width, pix[:, 2]], axis=1)
    return rows_times(fit - pose.translation, pose.rotation) / pose.scale + face.basis_centroid
