"""Head pose: weighted similarity (Procrustes) fit of the canonical face to the landmarks.

Like MediaPipe's face geometry pipeline, the fit uses only the procrustes_landmark_basis
points with their weights. Unlike it, the camera is weak-perspective (orthographic plus
scale): that is exact for in-plane motion and zoom, and adequate for 256x256 face crops.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .canonical_face import CanonicalFace


@dataclass(frozen=True)
class PoseFit:
    """observed = scale * rotation @ (canonical - basis_centroid) + translation.

    Observed points are in picture-width units, x right, y UP, z towards the viewer.
    """
    rotation: np.ndarray      # (3, 3), det +1
    scale: float              # picture widths per canonical cm
    translation: np.ndarray   # (3,) observed position of the basis centroid
    rms_error: float          # weighted RMS fit residual, in canonical cm


def landmarks_to_fit_space(pts_px: np.ndarray, width: int) -> np.ndarray:
    """MediaPipe pixels (x right, y down, z away = z*W) -> picture widths, x right, y up, z to viewer."""
    return pts_px * np.array([1.0, -1.0, -1.0]) / float(width)


def weighted_similarity_fit(src: np.ndarray, dst: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """Weighted Umeyama: (R, s, t) minimising sum w |dst - (s R src + t)|^2; w sums to 1."""
    mu_s, mu_d = w @ src, w @ dst
    a, b = src - mu_s, dst - mu_d
    cov = (b * w[:, None]).T @ a
    u, sv, vt = np.linalg.svd(cov)
    d = np.ones(3)
    d[2] = np.sign(np.linalg.det(u @ vt)) or 1.0
    rot = (u * d) @ vt
    var_s = float(w @ np.sum(a * a, axis=1))
    s = float(np.sum(sv * d) / var_s)
    return rot, s, mu_d - s * rot @ mu_s


def fit_pose(observed: np.ndarray, face: CanonicalFace) -> PoseFit:
    """Fit the canonical face to (478, 3) landmarks already in fit space."""
    src = face.vertices[face.basis_ids] - face.basis_centroid
    dst = observed[face.basis_ids]
    rot, s, t = weighted_similarity_fit(src, dst, face.basis_weights)
    resid = (dst - (s * src @ rot.T + t)) / s
    rms = float(np.sqrt(face.basis_weights @ np.sum(resid * resid, axis=1)))
    return PoseFit(rotation=rot, scale=s, translation=t, rms_error=rms)


def to_model_space(observed: np.ndarray, pose: PoseFit, face: CanonicalFace) -> np.ndarray:
    """Undo the fitted pose: landmarks in canonical cm (the pose-normalised face)."""
    return (observed - pose.translation) @ pose.rotation / pose.scale + face.basis_centroid


def rotation_to_euler(rot: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees, Annex B sign conventions.

    rot = Rz(c) @ Rx(b) @ Ry(a) (right-handed, x right, y up, z to the viewer): the head turns
    about its own vertical axis (a), then nods (b), then rolls in the picture plane (c).
    yaw = -a (positive: the face turns to the picture's left), pitch = b (positive: face
    tilts down), roll = -c (positive: clockwise in the picture).
    """
    a = np.arctan2(-rot[2, 0], rot[2, 2])
    b = np.arcsin(np.clip(rot[2, 1], -1.0, 1.0))
    c = np.arctan2(-rot[0, 1], rot[1, 1])
    return float(-np.degrees(a)), float(np.degrees(b)), float(-np.degrees(c))


def euler_to_rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Inverse of rotation_to_euler (for tests and synthetic poses)."""
    a, b, c = np.radians(-yaw), np.radians(pitch), np.radians(-roll)
    ry = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return rz @ rx @ ry
