"""Analysis against synthetic ground truth on real frames (each frame analysed on its own)."""
from __future__ import annotations

import numpy as np
import pytest

from tools.synthetic_pose import face_centre_px, flip, read_frames, warp

ROLL, PITCH, YAW, TX, TY, TZ, EYE_L, EYE_R = 2, 1, 0, 3, 4, 5, 7, 8


@pytest.fixture(scope="module")
def analyzer():
    from ref_encoder.analysis import FaceAnalyzer
    with FaceAnalyzer(tracking=False) as fa:
        yield fa


@pytest.fixture(scope="module")
def frames(shared_data):
    raw = shared_data / "faces" / "raw"
    return (read_frames(str(raw / "liveportrait_driving_d8.mp4"), [0])
            + read_frames(str(raw / "sadtalker_RD_Radio2_000.mp4"), [120]))


@pytest.mark.parametrize("angle", [-25.0, -10.0, 10.0, 25.0])
def test_in_plane_rotation_moves_roll_only(analyzer, frames, angle):
    for img in frames:
        s0 = analyzer.analyze_frame(img).semantics
        s = analyzer.analyze_frame(warp(img, face_centre_px(s0, 256, 256), angle_cw_deg=angle)).semantics
        assert s[ROLL] - s0[ROLL] == pytest.approx(angle, abs=1.0)
        assert abs(s[YAW] - s0[YAW]) < 2.0 and abs(s[PITCH] - s0[PITCH]) < 2.5
        # pose normalisation: eye and mouth measures hardly change with roll
        assert np.abs(s[7:] - s0[7:]).max() < 0.25


@pytest.mark.parametrize("zoom", [0.5, 0.7071, 1.4142])
def test_zoom_adds_log2_to_head_tz(analyzer, frames, zoom):
    for img in frames:
        s0 = analyzer.analyze_frame(img).semantics
        s = analyzer.analyze_frame(warp(img, face_centre_px(s0, 256, 256), zoom=zoom)).semantics
        assert s[TZ] - s0[TZ] == pytest.approx(np.log2(zoom), abs=0.04)
        assert abs(s[9] - s0[9]) < 0.02      # mouth_open is relative to face size


def test_twice_the_size_is_one_more_tz(analyzer, frames):
    img = frames[0]
    s0 = analyzer.analyze_frame(warp(img, (128.0, 128.0), zoom=0.5)).semantics
    s = analyzer.analyze_frame(img).semantics
    assert s[TZ] - s0[TZ] == pytest.approx(1.0, abs=0.04)


@pytest.mark.parametrize("dx,dy", [(24.0, 0.0), (0.0, -20.0), (-16.0, 16.0)])
def test_shift_moves_head_tx_ty(analyzer, frames, dx, dy):
    for img in frames:
        s0 = analyzer.analyze_frame(img).semantics
        s = analyzer.analyze_frame(warp(img, (128.0, 128.0), shift=(dx, dy))).semantics
        assert s[TX] - s0[TX] == pytest.approx(dx / 256, abs=0.004)
        assert s[TY] - s0[TY] == pytest.approx(dy / 256, abs=0.004)


def test_horizontal_flip_negates_yaw_and_roll_and_swaps_eyes(analyzer, frames):
    # rotate each frame so its roll is about 12 degrees: a sign error could not hide near zero
    for img in frames:
        roll0 = analyzer.analyze_frame(img).semantics[ROLL]
        img = warp(img, (128.0, 128.0), angle_cw_deg=12.0 - roll0)
        s0 = analyzer.analyze_frame(img).semantics
        s = analyzer.analyze_frame(flip(img)).semantics
        assert abs(s0[ROLL]) > 8.0
        assert s[ROLL] == pytest.approx(-s0[ROLL], abs=1.0)
        # MediaPipe is not exactly mirror-symmetric; its error grows with the turn
        assert s[YAW] == pytest.approx(-s0[YAW], abs=2.0 + 0.1 * abs(s0[YAW]))
        assert s[TX] == pytest.approx(-s0[TX], abs=0.01)
        assert s[EYE_L] == pytest.approx(s0[EYE_R], abs=0.15)
        assert s[EYE_R] == pytest.approx(s0[EYE_L], abs=0.15)


def test_pose_agrees_with_solvepnp(analyzer, shared_data):
    """An independent estimate: perspective PnP of the canonical face on the 2D landmarks."""
    import cv2
    from ref_encoder.analysis.canonical_face import load_canonical_face
    from ref_encoder.analysis.pose import rotation_to_euler
    face = load_canonical_face()
    ids = face.basis_ids
    imgs = read_frames(str(shared_data / "faces" / "raw" / "pcavs_Pose_Source_620900105.mp4"), [0, 30, 60, 90])
    imgs += read_frames(str(shared_data / "faces" / "raw" / "pcavs_Input_00002.mp4"), [0, 60])
    errs = []
    yaws = []
    for img in imgs:
        fa = analyzer.analyze_frame(img)
        assert fa.face_found
        cam = np.array([[256.0 * 2, 0, 128], [0, 256.0 * 2, 128], [0, 0, 1]])   # ~28 degree field of view
        ok, rvec, _ = cv2.solvePnP(face.vertices[ids], fa.landmarks[ids, :2], cam, None, flags=cv2.SOLVEPNP_ITERATIVE)
        assert ok
        r_cv, _ = cv2.Rodrigues(rvec)
        r_ours = np.diag([1.0, -1.0, -1.0]) @ r_cv      # OpenCV camera (y down, z forward) -> ours
        errs.append(np.abs(np.array(rotation_to_euler(r_ours)) - fa.semantics[:3]))
        yaws.append(fa.semantics[YAW])
    errs = np.array(errs)
    assert np.ptp(yaws) > 10.0                     # the frames do cover different poses
    assert errs.mean(axis=0).max() < 5.0, errs
