"""IDI, geometry payload v1 and the geometric generator (spec Annex E).

Real-data tests read clips straight from ../shared/data/faces/raw (shared_data fixture) and
resize them to 256x256 here, so they do not depend on prepared sequences in work/.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitstream.errors import BitstreamError
from bitstream.geometry_payload import (GP_LANDMARK_IDS, GP_PRED_CANONICAL, GP_PRED_DELTA,
                                        NUM_GP_LANDMARKS, GeometryPayloadV1, KeyGeometry, decode,
                                        encode, parse_payload, posed_canonical, positions_from_payload,
                                        write_payload)
from bitstream.semantic_elements import SEMANTIC_ELEMENTS
from ifvc_synthesis.generators import Generator, GeometricGenerator, get_generator

N = len(SEMANTIC_ELEMENTS)
W = H = 256
NAMES = [e.name for e in SEMANTIC_ELEMENTS]
I = {n: i for i, n in enumerate(NAMES)}


def read_clip(path: Path, frames: list[int]) -> dict[int, np.ndarray]:
    """Selected frames of a raw clip as 256x256 RGB (centre square crop, INTER_AREA)."""
    cap = cv2.VideoCapture(str(path))
    out: dict[int, np.ndarray] = {}
    n = 0
    try:
        while n <= max(frames):
            ok, bgr = cap.read()
            if not ok:
                break
            if n in frames:
                h, w = bgr.shape[:2]
                s = min(h, w)
                y0, x0 = (h - s) // 2, (w - s) // 2
                sq = bgr[y0:y0 + s, x0:x0 + s]
                out[n] = cv2.cvtColor(cv2.resize(sq, (W, H), interpolation=cv2.INTER_AREA),
                                      cv2.COLOR_BGR2RGB)
            n += 1
    finally:
        cap.release()
    if len(out) != len(frames):
        pytest.skip(f"{path.name}: could not read frames {frames}")
    return out


def ref_values_strategy():
    return st.tuples(st.floats(-40, 40), st.floats(-30, 30), st.floats(-30, 30),
                     st.floats(-0.15, 0.15), st.floats(-0.15, 0.15), st.floats(-0.5, 0.3))


def _values(pose) -> np.ndarray:
    v = np.zeros(N)
    v[:6] = pose
    v[I["eye_blink_left"]] = v[I["eye_blink_right"]] = 1.0
    v[I["mouth_width"]] = 0.32
    return v


# --- geometry payload -------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(pose=ref_values_strategy(), shift=st.integers(0, 2), mode=st.sampled_from([GP_PRED_DELTA, GP_PRED_CANONICAL]),
       noise=st.integers(0, 2**32 - 1))
def test_payload_round_trip(pose, shift, mode, noise):
    ref = _values(pose)
    rng = np.random.default_rng(noise)
    base = posed_canonical(ref, W, H)[list(GP_LANDMARK_IDS)]
    pts = base[:, :2] + rng.normal(0, 4, (NUM_GP_LANDMARKS, 2))
    geom = KeyGeometry(W, H, ref, pts, base[:, 2], shift)
    data = encode(geom, pred_mode=mode)
    gp = parse_payload(data)
    assert gp.gp_pred_mode == mode and gp.gp_precision_shift == shift
    assert write_payload(gp) == data                                   # syntax round trip
    back = decode(data, width=W, height=H, ref_values=ref)
    assert np.max(np.abs(back.points - pts)) <= 0.5 / (1 << shift) + 1e-9
    np.testing.assert_allclose(back.depth, base[:, 2])
    assert len(encode(geom)) == min(len(encode(geom, pred_mode=m)) for m in (0, 1))


def test_payload_truncated_and_trailing_data():
    ref = _values((5, -3, 2, 0.02, 0.05, 0.0))
    base = posed_canonical(ref, W, H)[list(GP_LANDMARK_IDS)]
    data = encode(KeyGeometry(W, H, ref, base[:, :2] + 1.3, base[:, 2], 1))
    for cut in (0, 1, len(data) // 2, len(data) - 1):
        with pytest.raises(BitstreamError):
            decode(data[:cut], width=W, height=H, ref_values=ref)
    with pytest.raises(BitstreamError):
        decode(data + b"\x00", width=W, height=H, ref_values=ref)
    far = GeometryPayloadV1(gp_precision_shift=0, gp_pred_mode=GP_PRED_DELTA)
    far.gp_delta_x[0] = 5000                      # far outside the picture: clipped, not an error
    assert decode(write_payload(far), width=W, height=H, ref_values=ref).points[0, 0] == 2 * W
    with pytest.raises(BitstreamError, match="gp_precision_shift"):
        parse_payload(bytes([0xC0]) + data[1:])                        # shift 3 is reserved


def _payload_from_positions(pos: np.ndarray, pred: np.ndarray, shift: int) -> GeometryPayloadV1:
    """The gp_pred_mode 1 payload whose Pos[ k ] are pos (integers) given PredPos pred."""
    d = np.diff(np.vstack([np.zeros((1, 2), np.int64), pos - pred]), axis=0)
    return GeometryPayloadV1(shift, GP_PRED_CANONICAL, 0, [int(v) for v in d[:, 0]],
                             [int(v) for v in d[:, 1]])


@settings(max_examples=60, deadline=None)
@given(shift=st.integers(0, 2), seed=st.integers(0, 2**32 - 1),
       offset=st.tuples(st.integers(-2, 2), st.integers(-2, 2)))
def test_acceptance_does_not_depend_on_prediction_rounding(shift, seed, offset):
    """Annex E.2.3 step 3: landmarks at and one unit beyond the range bounds are clipped, not
    rejected, so a decoder whose PredPos differs by a rounding step (offset) accepts the same
    payloads; positions stay in range and move by at most the offset."""
    rng = np.random.default_rng(seed)
    x0, x1, y0, y1 = -W << shift, 2 * W << shift, -H << shift, 2 * H << shift
    edge_x = np.array([x0 - 1, x0, x0 + 1, x1 - 1, x1, x1 + 1])
    edge_y = np.array([y0 - 1, y0, y0 + 1, y1 - 1, y1, y1 + 1])
    pos = np.stack([rng.choice(edge_x, NUM_GP_LANDMARKS), rng.choice(edge_y, NUM_GP_LANDMARKS)], axis=1)
    pred = rng.integers(-(W << shift), 2 * W << shift, (NUM_GP_LANDMARKS, 2))
    data = write_payload(_payload_from_positions(pos, pred, shift))
    gp = parse_payload(data)                                   # the only accept/reject decision
    exact = positions_from_payload(gp, pred, W, H)
    shifted = positions_from_payload(gp, pred + np.asarray(offset), W, H)
    for q in (exact, shifted):
        assert ((q[:, 0] >= x0) & (q[:, 0] <= x1) & (q[:, 1] >= y0) & (q[:, 1] <= y1)).all()
    np.testing.assert_array_equal(exact, np.clip(pos, [x0, y0], [x1, y1]))
    assert np.abs(shifted - exact).max() <= max(abs(o) for o in offset)


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=300), pose=ref_values_strategy())
def test_payload_accepted_exactly_when_its_syntax_is(data, pose):
    """No decision after parsing: decode( ) rejects exactly the payloads that parsing rejects,
    whatever the reference values (and so the floating-point prediction)."""
    try:
        parse_payload(data)
        syntax_ok = True
    except BitstreamError:
        syntax_ok = False
    try:
        decode(data, width=W, height=H, ref_values=_values(pose))
        decoded = True
    except BitstreamError:
        decoded = False
    assert decoded == syntax_ok


# --- generator registry and interface ---------------------------------------------------------
def test_registry_and_interface():
    gen = get_generator("ifvc-geometric-1")
    assert isinstance(gen, GeometricGenerator) and isinstance(gen, Generator)
    assert gen.name == "ifvc-geometric-1" and gen.weights_sha256 == bytes(32)
    with pytest.raises(ValueError, match="ifvc-geometric-1"):
        get_generator("no-such-generator")
    assert get_generator("ifvc-geometric-1") is not gen


def test_synthetic_keyframe_without_geometry():
    """kf_geometry_version 0: the posed canonical face stands in for the landmarks."""
    rng = np.random.default_rng(1)
    key = cv2.GaussianBlur(rng.integers(0, 256, (H, W, 3), dtype=np.uint8), (0, 0), 3)
    ref = _values((0, 0, 0, 0, 0, 0))
    gen = get_generator("ifvc-geometric-1")
    gen.set_keyframe(key, ref, b"", 0)
    assert cv2.PSNR(gen.synthesize(ref), key) > 40
    t = ref.copy()
    t[I["head_roll"]] = 10
    out = gen.synthesize(t)
    assert out.shape == key.shape and out.dtype == np.uint8
    with pytest.raises(ValueError, match="kf_geometry_version"):
        gen.set_keyframe(key, ref, b"", 7)
    with pytest.raises(ValueError):
        gen.synthesize(np.zeros(3))


# --- real key frames --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def analyzer():
    from ref_encoder.analysis import FaceAnalyzer
    fa = FaceAnalyzer(tracking=False)
    yield fa
    fa.close()


@pytest.fixture(scope="module")
def frontal(shared_data, analyzer):
    """A frontal key frame (open eyes, closed mouth) with its generator."""
    from ref_encoder.keyframe_geometry import compute_keyframe_geometry
    path = shared_data / "faces" / "raw" / "liveportrait_driving_d0.mp4"
    if not path.exists():
        pytest.skip(f"{path} missing")
    key = read_clip(path, [0])[0]
    values, payload = compute_keyframe_geometry(key, analyzer=analyzer)
    gen = get_generator("ifvc-geometric-1")
    gen.set_keyframe(key, values, payload, 1)
    return key, values, payload, gen


def test_payload_size_real(frontal, shared_data, analyzer):
    from ref_encoder.keyframe_geometry import compute_keyframe_geometry
    _, _, payload, _ = frontal
    sizes = [len(payload)]
    for name in ("fomm_demo_old_08.mp4", "pcavs_Input_00002.mp4"):
        path = shared_data / "faces" / "raw" / name
        if path.exists():
            sizes.append(len(compute_keyframe_geometry(read_clip(path, [0])[0], analyzer=analyzer)[1]))
    assert max(sizes) < 160, sizes


def test_identity_and_determinism(frontal):
    key, values, payload, gen = frontal
    out = gen.synthesize(values)
    assert cv2.PSNR(out, key) > 35
    t = values.copy()
    t[I["head_yaw"]] += 12
    t[I["mouth_open"]] += 0.08
    t[I["eye_blink_left"]] = 0.2
    a = gen.synthesize(t)
    b = gen.synthesize(t)
    other = get_generator("ifvc-geometric-1")
    other.set_keyframe(key.copy(), values.copy(), payload, 1)
    assert a.tobytes() == b.tobytes() == other.synthesize(t).tobytes()


# requested edit -> (element, change, tolerance on the measured change)
EDITS = [
    ("yaw+15", {"head_yaw": 15.0}, "head_yaw", 15.0, 5.0),
    ("yaw-15", {"head_yaw": -15.0}, "head_yaw", -15.0, 5.0),
    ("pitch+15", {"head_pitch": 15.0}, "head_pitch", 15.0, 5.0),
    ("pitch-12", {"head_pitch": -12.0}, "head_pitch", -12.0, 5.0),
    ("roll+10", {"head_roll": 10.0}, "head_roll", 10.0, 3.0),
    ("tx+0.05", {"head_tx": 0.05}, "head_tx", 0.05, 0.015),
    ("ty+0.05", {"head_ty": 0.05}, "head_ty", 0.05, 0.015),
    ("tz+0.2", {"head_tz": 0.2}, "head_tz", 0.2, 0.06),
]
# tolerated change of the elements that were not edited (analysis noise + warp side effects)
OTHER_TOL = {"head_yaw": 4.0, "head_pitch": 4.0, "head_roll": 3.0, "head_tx": 0.012, "head_ty": 0.012,
             "head_tz": 0.06, "eye_blink_left": 0.3, "eye_blink_right": 0.3, "mouth_open": 0.04,
             "mouth_width": 0.04, "mouth_shape_1": 0.8, "mouth_shape_2": 0.8, "mouth_shape_3": 0.8}


def _measure(analyzer, rgb):
    fa = analyzer.analyze_frame(rgb)
    assert fa.face_found
    return fa.semantics


def _check_others(base, got, edited):
    for name, tol in OTHER_TOL.items():
        if name in edited:
            continue
        assert abs(got[I[name]] - base[I[name]]) <= tol, (name, got[I[name]] - base[I[name]])


@pytest.mark.parametrize("label,edit,element,change,tol", EDITS, ids=[e[0] for e in EDITS])
def test_pose_edits_are_measured(frontal, analyzer, label, edit, element, change, tol):
    _, values, _, gen = frontal
    base = _measure(analyzer, gen.synthesize(values))
    t = values.copy()
    for name, d in edit.items():
        t[I[name]] += d
    got = _measure(analyzer, gen.synthesize(t))
    measured = got[I[element]] - base[I[element]]
    assert abs(measured - change) <= tol, (label, measured)
    _check_others(base, got, set(edit) | ({"head_tx", "head_ty"} if element == "head_tz" else set()))


def test_eyes_closed(frontal, analyzer):
    _, values, _, gen = frontal
    base = _measure(analyzer, gen.synthesize(values))
    t = values.copy()
    t[I["eye_blink_left"]] = t[I["eye_blink_right"]] = 0.1
    got = _measure(analyzer, gen.synthesize(t))
    assert got[I["eye_blink_left"]] < 0.4 and got[I["eye_blink_right"]] < 0.4
    _check_others(base, got, {"eye_blink_left", "eye_blink_right"})


def test_mouth_open(frontal, analyzer):
    _, values, _, gen = frontal
    base = _measure(analyzer, gen.synthesize(values))
    t = values.copy()
    t[I["mouth_open"]] += 0.1
    got = _measure(analyzer, gen.synthesize(t))
    assert got[I["mouth_open"]] - base[I["mouth_open"]] > 0.05
    _check_others(base, got, {"mouth_open", "head_pitch", "mouth_shape_1", "mouth_shape_2"})


def test_real_pair_closer_than_key(shared_data, analyzer):
    """Key frame 0 of a clip driven by later frames' analysed values beats the still key frame."""
    from ref_encoder.keyframe_geometry import compute_keyframe_geometry
    path = shared_data / "faces" / "raw" / "fomm_demo_old_08.mp4"
    if not path.exists():
        pytest.skip(f"{path} missing")
    idx = [0, 30, 50, 70, 90, 110]
    frames = read_clip(path, idx)
    key = frames[0]
    values, payload = compute_keyframe_geometry(key, analyzer=analyzer)
    gen = get_generator("ifvc-geometric-1")
    gen.set_keyframe(key, values, payload, 1)
    p_gen, p_key = [], []
    for n in idx[1:]:
        real = frames[n]
        out = gen.synthesize(_measure(analyzer, real))
        p_gen.append(cv2.PSNR(out, real))
        p_key.append(cv2.PSNR(key, real))
    assert np.mean(p_gen) > np.mean(p_key) + 1.0, (p_gen, p_key)
    assert sum(g > k for g, k in zip(p_gen, p_key)) >= len(p_gen) - 1


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), scale=st.sampled_from([0, 1, 8, 200]),
       pose=ref_values_strategy())
def test_any_valid_payload_synthesises(seed, scale, pose):
    """Nonsense (but valid) geometry must still give a picture, never a crash."""
    rng = np.random.default_rng(seed)
    gp = GeometryPayloadV1(gp_precision_shift=int(rng.integers(0, 3)), gp_pred_mode=int(rng.integers(0, 2)))
    gp.gp_delta_x = [int(x) for x in rng.integers(-scale, scale + 1, NUM_GP_LANDMARKS)]
    gp.gp_delta_y = [int(x) for x in rng.integers(-scale, scale + 1, NUM_GP_LANDMARKS)]
    ref = _values(pose)
    key = np.full((H, W, 3), 128, np.uint8)
    gen = get_generator("ifvc-geometric-1")
    gen.set_keyframe(key, ref, write_payload(gp), 1)     # valid syntax: always accepted
    t = ref.copy()
    t[:6] += rng.normal(0, [10, 10, 10, 0.05, 0.05, 0.2])
    t[7:10] = rng.uniform(0, 1.5, 3)
    out = gen.synthesize(t)
    assert out.shape == (H, W, 3) and out.dtype == np.uint8
