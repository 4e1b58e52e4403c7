"""Geometry payload version 2 (spec 1.2, Annex E.2.4 to E.2.7): syntax round trips, the
decoding process in integers, the quantisation error bound, malformed payloads as one-line
errors, and the profile rule (Compact only)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitstream.errors import BitstreamError
from bitstream.geometry_payload import GP_GROUPS, GP_LANDMARK_IDS, NUM_GP_LANDMARKS, _prediction
from bitstream.geometry_payload_v2 import (GP2_CLASS, GP2_CLASS_FINE, GP2_GROUP_START, GP2_INTERP,
                                           GP2_MAX_ABS_DIFF, GP2_PRECISION_SHIFT, GeometryPayloadV2,
                                           coded_landmarks, decode_v2, levels_from_diffs,
                                           parse_payload_v2, payload_from_points_v2,
                                           positions_from_payload_v2, write_payload_v2)
from bitstream.key_geometry import check_geometry_version, decode_key_geometry
from bitstream.profiles import PROFILE_COMPACT, PROFILE_MAIN
from bitstream.structures import SequenceHeader

W = H = 256
REF = np.array([6.5, -4.0, 3.0, 0.03, -0.02, 0.1, 5, 1, 1, 0.05, 0.4, 0.2, -0.1, 0.0])


def _landmarks(seed: int, spread: float) -> np.ndarray:
    """The posed canonical subset plus a smooth, person-like offset and a little noise."""
    pred = _prediction(REF, W, H, 0).astype(np.float64)
    rng = np.random.default_rng(seed)
    centre = pred.mean(axis=0)
    return centre + (pred - centre) * (1 + 0.05 * rng.standard_normal(2)) + rng.normal(0, spread, pred.shape)


def _payloads() -> st.SearchStrategy[GeometryPayloadV2]:
    diffs = st.lists(st.integers(-GP2_MAX_ABS_DIFF, GP2_MAX_ABS_DIFF) | st.integers(-3, 3),
                     min_size=NUM_GP_LANDMARKS, max_size=NUM_GP_LANDMARKS)
    return st.builds(GeometryPayloadV2, st.integers(0, 3), st.integers(0, 3), st.integers(0, 1),
                     st.just(0), diffs, diffs)


def _normalised(gp: GeometryPayloadV2) -> GeometryPayloadV2:
    """What a parser returns: the differences of landmarks that are not coded are 0."""
    for k in range(NUM_GP_LANDMARKS):
        if gp.gp2_ring_interp_flag and GP2_INTERP[k]:
            gp.gp2_diff_x[k] = gp.gp2_diff_y[k] = 0
    return gp


@settings(max_examples=60)
@given(_payloads())
def test_syntax_round_trip(gp: GeometryPayloadV2) -> None:
    data = write_payload_v2(gp)
    assert parse_payload_v2(data) == _normalised(gp)


@settings(max_examples=40)
@given(st.integers(0, 10_000), st.floats(0.0, 6.0), st.integers(1, 4), st.integers(1, 4), st.booleans())
def test_quantisation_error_bound(seed: int, spread: float, coarse: int, fine: int, interp: bool) -> None:
    """Coded landmarks decode within half a step of the measured position (plus the half-pixel
    rounding of the position); interpolated ones are the integer mean of their ring neighbours."""
    pts = _landmarks(seed, spread)
    data = write_payload_v2(payload_from_points_v2(pts, REF, W, H, coarse, fine, interp))
    geom = decode_v2(data, width=W, height=H, ref_values=REF)
    step_px = np.array([(fine if c == GP2_CLASS_FINE else coarse) / 2 for c in GP2_CLASS])
    err = np.abs(geom.points - pts).max(axis=1)
    coded = np.array([not (interp and GP2_INTERP[k]) for k in range(NUM_GP_LANDMARKS)])
    assert np.all(err[coded] <= step_px[coded] / 2 + 0.25 + 1e-9)
    assert geom.precision_shift == GP2_PRECISION_SHIFT
    assert geom.points.shape == (NUM_GP_LANDMARKS, 2)


def test_interpolation_is_integer_ring_mean() -> None:
    """E.2.7 step 3: Lev[ k ] = ( Lev[ k - 1 ] + Lev[ next ] + 1 ) >> 1, the ring wrapping round."""
    gp = GeometryPayloadV2(3, 2, 1, 0, [0] * NUM_GP_LANDMARKS, [0] * NUM_GP_LANDMARKS)
    for k in coded_landmarks(1):
        gp.gp2_diff_x[k] = 1 + k % 3
        gp.gp2_diff_y[k] = -(k % 2) - 1
    lev = levels_from_diffs(gp)
    start = 0
    for name, ids in GP_GROUPS:
        for j in range(len(ids)):
            k = start + j
            if GP2_INTERP[k]:
                nxt = start + (j + 1) % len(ids)
                assert np.array_equal(lev[k], (lev[k - 1] + lev[nxt] + 1) >> 1)
        start += len(ids)
    # and the positions are PredPos + Step * Lev (no clipping needed here)
    pred = _prediction(REF, W, H, GP2_PRECISION_SHIFT)
    pos = positions_from_payload_v2(gp, pred, W, H)
    step = np.array([3 if c == GP2_CLASS_FINE else 4 for c in GP2_CLASS])
    assert np.array_equal(pos, pred + step[:, None] * lev)


def test_group_structure_matches_table_e1() -> None:
    assert sum(GP2_GROUP_START) == len(GP_GROUPS)
    assert len(GP2_INTERP) == len(GP_LANDMARK_IDS) == NUM_GP_LANDMARKS
    # corners and ring starts are coded: eye corners 33/133/263/362, mouth corners 61/291/78/308
    index = {lm: k for k, lm in enumerate(GP_LANDMARK_IDS)}
    for lm in (33, 133, 263, 362, 61, 291, 78, 308, 152, 10):
        assert not GP2_INTERP[index[lm]], lm
    assert len(coded_landmarks(1)) == 74 and len(coded_landmarks(0)) == 128


def test_positions_are_clipped_not_rejected() -> None:
    gp = GeometryPayloadV2(3, 3, 0, 0, [GP2_MAX_ABS_DIFF] * NUM_GP_LANDMARKS,
                           [-GP2_MAX_ABS_DIFF] * NUM_GP_LANDMARKS)
    geom = decode_v2(write_payload_v2(gp), width=W, height=H, ref_values=REF)
    assert geom.points[:, 0].max() <= 2 * W and geom.points[:, 1].min() >= -H


@pytest.mark.parametrize("data, needle", [
    (b"", "unexpected end of data"),
    (b"\x01\x80", "gp2_reserved_zero_3bits"),
    (b"\x08", "unexpected end of data"),
])
def test_malformed_payloads_are_one_line_errors(data: bytes, needle: str) -> None:
    with pytest.raises(BitstreamError) as info:
        parse_payload_v2(data)
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_truncated_and_padded_payloads_are_errors() -> None:
    data = write_payload_v2(payload_from_points_v2(_landmarks(3, 2.0), REF, W, H))
    for bad in (data[:-1], data[: len(data) // 2], data + b"\x00", data + b"\x80"):
        with pytest.raises(BitstreamError):
            parse_payload_v2(bad)


@settings(max_examples=200)
@given(st.binary(max_size=64))
def test_any_bytes_parse_or_fail_cleanly(data: bytes) -> None:
    try:
        gp = parse_payload_v2(data)
    except BitstreamError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert write_payload_v2(gp) == data or len(write_payload_v2(gp)) <= len(data)


def test_version_2_needs_the_compact_profile() -> None:
    main = SequenceHeader(sh_profile_idc=PROFILE_MAIN)
    compact = SequenceHeader(sh_profile_idc=PROFILE_COMPACT)
    for version in (0, 1):
        check_geometry_version(main, version)
        check_geometry_version(compact, version)
    check_geometry_version(compact, 2)
    with pytest.raises(ValueError, match="kf_geometry_version 2 is reserved"):
        check_geometry_version(main, 2)
    with pytest.raises(ValueError, match="kf_geometry_version 3"):
        check_geometry_version(compact, 3)


def test_dispatch_decodes_each_version() -> None:
    pts = _landmarks(5, 1.5)
    data = write_payload_v2(payload_from_points_v2(pts, REF, W, H))
    geom = decode_key_geometry(2, data, width=W, height=H, ref_values=REF)
    coded = coded_landmarks(1)
    assert np.abs(geom.points[coded] - pts[coded]).max() <= 1.25     # half the coarse step + rounding
    assert decode_key_geometry(0, b"", width=W, height=H, ref_values=REF).precision_shift == 0
    with pytest.raises(ValueError, match="not supported"):
        decode_key_geometry(7, data, width=W, height=H, ref_values=REF)


def test_smaller_than_version_1_on_person_like_faces() -> None:
    """Same landmarks, default settings of each version (sizes on real faces: docs/results)."""
    from bitstream.geometry_payload import KeyGeometry, encode
    from bitstream.geometry_payload_v2 import encode_v2
    pts = _landmarks(11, 1.0)
    geom = KeyGeometry(W, H, REF, pts, np.zeros(NUM_GP_LANDMARKS), 1)
    assert len(encode_v2(geom)) < len(encode(geom))
