"""Pose maths, element definitions, smoothing and sequence handling (no real data needed)."""
from __future__ import annotations

import numpy as np
import pytest

from bitstream.semantic_elements import SEMANTIC_ELEMENTS
from ref_encoder.analysis.canonical_face import load_canonical_face
from ref_encoder.analysis.pose import (euler_to_rotation, fit_pose, rotation_to_euler, to_model_space,
                                       weighted_similarity_fit)
from ref_encoder.analysis.semantics import ELEMENT_NAMES, compute_semantics
from ref_encoder.analysis.smoothing import OneEuroFilter
from ref_encoder.analysis.stability import jitter, lag_frames, still_mask


def synthetic_observation(yaw, pitch, roll, scale, t):
    """The canonical face posed exactly, in fit space (picture widths, y up)."""
    face = load_canonical_face()
    r = euler_to_rotation(yaw, pitch, roll)
    return face, scale * (face.vertices - face.basis_centroid) @ r.T + np.asarray(t)


def test_element_order_matches_table():
    assert ELEMENT_NAMES == tuple(e.name for e in SEMANTIC_ELEMENTS)
    assert len(ELEMENT_NAMES) == 16 and ELEMENT_NAMES[14:] == ("bg_tx", "bg_ty")


def test_canonical_face_data():
    face = load_canonical_face()
    assert face.vertices.shape == (478, 3)
    assert len(face.basis_ids) == 33 and face.basis_weights.sum() == pytest.approx(1.0)
    assert face.face_width == pytest.approx(15.328364, abs=1e-5)
    assert face.vertices[4, 2] > 7 and face.vertices[10, 1] > 8    # nose towards viewer, forehead up


@pytest.mark.parametrize("angles", [(0, 0, 0), (30, 0, 0), (0, -20, 0), (0, 0, 45), (-35, 15, -20), (60, 40, 170)])
def test_euler_round_trip(angles):
    r = euler_to_rotation(*angles)
    assert np.allclose(r @ r.T, np.eye(3)) and np.linalg.det(r) == pytest.approx(1.0)
    assert np.allclose(rotation_to_euler(r), angles, atol=1e-9)


def test_sign_conventions():
    face, obs = synthetic_observation(20, 0, 0, 0.02, (0.5, -0.5, 0))
    assert obs[4, 0] < obs[168, 0]          # yaw > 0: nose tip to the picture's left of the nose bridge
    face, obs = synthetic_observation(0, 20, 0, 0.02, (0.5, -0.5, 0))
    assert obs[4, 1] < face.vertices[4, 1] * 0.02 - 0.5   # pitch > 0: nose moves down (y up here)
    face, obs = synthetic_observation(0, 0, 20, 0.02, (0.5, -0.5, 0))
    # roll > 0 is clockwise in the picture: the forehead (y up) moves to the picture's right
    assert obs[10, 0] > 0.5


def test_fit_recovers_exact_pose_and_semantics():
    face, obs = synthetic_observation(-25, 10, 7, 0.5 / face_width(), (0.6, -0.45, 0.1))
    pose = fit_pose(obs, face)
    assert pose.rms_error < 1e-9
    assert np.allclose(rotation_to_euler(pose.rotation), (-25, 10, 7), atol=1e-6)
    model = to_model_space(obs, pose, face)
    assert np.allclose(model, face.vertices, atol=1e-9)
    s = compute_semantics(pose, model, face, 256, 256)
    assert s[3] == pytest.approx(0.1) and s[4] == pytest.approx(-0.05)
    assert s[5] == pytest.approx(0.0, abs=1e-9)       # face width = half the picture width
    assert s[6] == 4 * 1 + 2                           # centre (0.6, 0.45): column 2, row 1
    assert np.allclose(s[11:13], 0.0, atol=1e-9)       # canonical mouth is the zero of shapes 1, 2
    assert s[13] == pytest.approx(0.0, abs=1e-9)       # the canonical face is symmetric


def face_width() -> float:
    return load_canonical_face().face_width


def test_expression_measures_do_not_depend_on_pose():
    face = load_canonical_face()
    rng = np.random.default_rng(1)
    expr = face.vertices.copy()
    expr[[14, 87, 317]] += [0, -1.0, 0]                 # open the mouth
    expr[[61, 291]] += [0, 0.4, 0]                       # raise the corners
    expr[[145, 153, 144]] += [0, 0.3, 0]                  # half-close the right eye
    results = []
    for yaw, pitch, roll in [(0, 0, 0), (30, 0, 0), (-20, 15, 10), (10, -20, -30)]:
        r = euler_to_rotation(yaw, pitch, roll)
        obs = 0.03 * (expr - face.basis_centroid) @ r.T + [0.5, -0.5, 0]
        obs += rng.normal(scale=1e-6, size=obs.shape)
        pose = fit_pose(obs, face)
        results.append(compute_semantics(pose, to_model_space(obs, pose, face), face, 256, 256)[7:])
    results = np.array(results)
    assert np.ptp(results, axis=0).max() < 1e-3
    s = results[0]
    assert s[1] < s[0] - 0.3          # right eye less open than left
    assert s[2] > 0.05 and s[4] > 0.5  # mouth open, corners raised (shape 1 positive)


def test_weighted_fit_ignores_zero_weight_points():
    rng = np.random.default_rng(0)
    src = rng.normal(size=(10, 3))
    r = euler_to_rotation(10, 20, 30)
    dst = 2.0 * src @ r.T + [1, 2, 3]
    dst[9] += 100.0
    w = np.r_[np.full(9, 1 / 9), 0.0]
    rot, s, t = weighted_similarity_fit(src, dst, w)
    assert np.allclose(rot, r) and s == pytest.approx(2.0)


def test_one_euro_reduces_jitter_and_is_causal():
    from ref_encoder.analysis import DEFAULT_ONE_EURO, apply_smoothing
    rng = np.random.default_rng(2)
    x = np.zeros((200, len(DEFAULT_ONE_EURO.beta)))
    x[:, 0] = 5.0 + rng.normal(scale=0.5, size=200)
    y = apply_smoothing(x, "one_euro")
    assert np.std(np.diff(y[50:, 0])) < 0.5 * np.std(np.diff(x[50:, 0]))
    x2 = x.copy()
    x2[150:, 0] += 30.0
    y2 = apply_smoothing(x2, "one_euro")
    assert np.array_equal(y2[:150], y[:150])           # no look-ahead
    assert abs(y2[160, 0] - x2[160, 0]) < 3.0          # and it follows a big step within 10 frames
    f = OneEuroFilter(DEFAULT_ONE_EURO)
    n = len(DEFAULT_ONE_EURO.beta)
    assert n == 16 and np.array_equal(f(np.arange(float(n))), np.arange(float(n)))   # first frame passes through


def test_lag_and_jitter_measures():
    t = np.arange(300, dtype=float)
    raw = np.sin(t / 20.0)
    delayed = np.interp(t - 3.0, t, raw)
    assert lag_frames(raw, delayed) == pytest.approx(3.0, abs=0.25)
    v = np.zeros((100, 14))
    v[:, 0] = np.random.default_rng(3).normal(scale=0.2, size=100)
    assert still_mask(v).all()
    assert jitter(v)[0] == pytest.approx(0.2 * np.sqrt(2), rel=0.35)
    v[:, 3] = np.linspace(0, 0.5, 100)                   # head moving across the picture
    assert not still_mask(v).any()


def test_no_face_raises_and_missing_frames_carry_forward(monkeypatch):
    from ref_encoder.analysis import analyzer as A

    class FakeAnalyzer:
        def __init__(self, hits):
            self.hits = iter(hits)

        def analyze_frame(self, rgb):
            v = next(self.hits)
            if v is None:
                return A.FrameAnalysis(np.full(14, np.nan), None, False)
            pose = type("P", (), {"rms_error": 0.0})()
            return A.FrameAnalysis(np.full(14, float(v)), np.zeros((478, 3)), True, pose, 1)

    frames = [np.zeros((8, 8, 3), np.uint8)] * 5
    with pytest.raises(A.NoFaceError, match="no face found in any of the 5 frames"):
        A.analyze_sequence(frames, analyzer=FakeAnalyzer([None] * 5))
    values, rep = A.analyze_sequence(frames, analyzer=FakeAnalyzer([None, 1, None, 3, None]))
    assert rep.no_face_frames == 3 and rep.no_face_indices == [0, 2, 4]
    assert values[:, 0].tolist() == [1, 1, 1, 3, 3]
