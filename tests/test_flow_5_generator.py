"""The registered generator "ifvc-flow-5" (Annex I.11): ifvc-flow-4's network and weights with
the eyelid cover drawn over the network's output, the lid style whose feather continues the
lid texture (not Annex H.5's key-frame sample at (0, 0)), and the conformance stream."""
from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import cv2
import numpy as np
import pytest

from bitstream.generator_registry import GENERATOR_BY_NAME
from ifvc_synthesis.generators import MeshGenerator, get_generator
from ifvc_synthesis.generators.learned import FLOW_4, FLOW_5
from ifvc_synthesis.generators.mesh_features import EYE_FILL_START, FLOW_5_LIDS, GEOMETRIC_3_LIDS
from ifvc_synthesis.idi import EYE_LEFT, EYE_RIGHT, TargetGeometry, _idx
from tests.test_flow_generator import SUITE, check_suite_stream_on_1_and_2_threads
from tests.test_mesh_generator import SKIN, I, skin_face_with_dark_left_eye

FLOW_5_STREAM = "face_synthetic_motion_flow5_cabac"


def test_flow_5_is_flow_4s_network_and_weights_with_eyelids() -> None:
    entry, flow_4 = GENERATOR_BY_NAME["ifvc-flow-5"], GENERATOR_BY_NAME["ifvc-flow-4"]
    assert (entry.generator_id, entry.clause, entry.background_plate) == (8, "Annex I.11", True)
    assert entry.weights_sha256 == flow_4.weights_sha256
    assert FLOW_5.weights_file == FLOW_4.weights_file
    assert (FLOW_5.weights_format, FLOW_5.network, FLOW_5.config, FLOW_5.layered) == \
        (FLOW_4.weights_format, FLOW_4.network, FLOW_4.config, FLOW_4.layered)
    assert FLOW_4.lids is None and FLOW_5.lids == FLOW_5_LIDS
    if not FLOW_5.shipped():
        pytest.skip("ifvc-flow-4's weights are not shipped")
    gen = get_generator("ifvc-flow-5")
    assert gen.name == "ifvc-flow-5" and gen.weights_sha256 == entry.weights_sha256


def _closed_left_eye() -> tuple[MeshGenerator, np.ndarray, TargetGeometry]:
    """tests/test_mesh_generator.py's skin face with a dark left eye and sample (0, 0) pure
    blue: its generator, the skin picture as float levels, the target geometry with the left
    eye shut."""
    gen, key, values = skin_face_with_dark_left_eye(corner=(0, 0, 255))
    v = values.copy()
    v[I["eye_blink_left"]] = 0.0
    tg = gen.target_geometry(v)
    assert tg.eye_gain[0] < EYE_FILL_START <= tg.eye_gain[1]
    return gen, np.broadcast_to(np.array(SKIN, np.float32), key.shape).copy(), tg


def test_the_lid_edge_continues_the_lid_not_the_key_frames_corner_sample() -> None:
    """Every colour in the picture is skin, the dark eye opening or the lash line (R > B), but
    for the key's sample (0, 0), pure blue. H.5's feather blends that sample in around the lid
    (the outline seen on real clips); FLOW_5_LIDS's does not."""
    gen, skin, tg = _closed_left_eye()
    h5 = skin.copy()
    gen.features.draw_eyelids(h5, tg, GEOMETRIC_3_LIDS)
    assert (h5[..., 2] > h5[..., 0] + 1.0).any()
    i11 = skin.copy()
    gen.features.draw_eyelids(i11, tg, FLOW_5_LIDS)
    assert not np.array_equal(i11, skin)                            # a lid was drawn
    assert (i11[..., 2] <= i11[..., 0] + 1e-3).all()


def test_flow_5s_lid_covers_more_of_the_eye_than_h5s() -> None:
    """The wider cover (0.15 eye widths above the upper lid, down to the lower lid): over a
    dark picture, more of the shut eye's ring turns to skin than with H.5's cover."""
    gen, skin, tg = _closed_left_eye()
    ring = np.zeros(skin.shape[:2], np.uint8)
    cv2.fillPoly(ring, [np.round(tg.landmarks[_idx(EYE_LEFT["ring"])]).astype(np.int32)], 1)
    grown = cv2.dilate(ring, np.ones((5, 5), np.uint8)) > 0
    lit = {}
    for label, style in (("h5", GEOMETRIC_3_LIDS), ("i11", FLOW_5_LIDS)):
        out = np.full_like(skin, 40.0)
        gen.features.draw_eyelids(out, tg, style)
        lit[label] = float((out[grown].mean(axis=1) > 120).mean())
    assert lit["i11"] > lit["h5"] + 0.1


def ring_neighbourhood(tg: TargetGeometry, ring: Sequence[int], shape: tuple[int, ...],
                       near: np.ndarray | None = None) -> np.ndarray:
    """The box of a landmark ring of the target geometry grown by half the ring's width, marked
    in near (bool, shape[:2]; a new one when None), which is returned (shared with
    tests/test_geometric_7_generator.py)."""
    near = np.zeros(shape[:2], bool) if near is None else near
    pts = tg.landmarks[_idx(ring)]
    margin = 0.5 * float(np.ptp(pts[:, 0]))
    x0, y0 = np.floor(pts.min(axis=0) - margin).astype(int)
    x1, y1 = np.ceil(pts.max(axis=0) + margin).astype(int)
    near[max(y0, 0):y1 + 1, max(x0, 0):x1 + 1] = True
    return near


def eye_neighbourhood(tg: TargetGeometry, shape: tuple[int, ...]) -> np.ndarray:
    """Half an eye width around each eye's ring of the target geometry (bool, shape[:2])."""
    near = np.zeros(shape[:2], bool)
    for eye in (EYE_LEFT, EYE_RIGHT):
        ring_neighbourhood(tg, eye["ring"], shape, near)
    return near


def check_only_closing_eyes_differ(before: list, after: list,
                                   target_geometry: Callable[[np.ndarray], TargetGeometry]) -> tuple[int, int]:
    """Two decodes of one stream (DecodedFrame lists) that differ only in the eyelid cover: equal
    wherever both eyes are open at least EYE_FILL_START of their key gap, elsewhere changed, and
    only near the eyes. Returns (frames with an eye closing, frames with both closing); shared
    with tests/test_geometric_6_generator.py."""
    closing = both = 0
    for a, b in zip(before, after, strict=True):
        tg = target_geometry(np.asarray(a.values))
        both += max(tg.eye_gain) < EYE_FILL_START
        if min(tg.eye_gain) >= EYE_FILL_START:
            assert np.array_equal(a.rgb, b.rgb)
            continue
        closing += 1
        changed = (a.rgb != b.rgb).any(axis=2)
        assert changed.any() and not (changed & ~eye_neighbourhood(tg, changed.shape)).any()
    return closing, both


def test_flow_5_is_flow_4_except_over_eyes_that_close() -> None:
    """On the suite's flow-4 stream (a blink at frames 10 to 12) ifvc-flow-5 gives flow-4's
    frames wherever both eyes are open at least EYE_FILL_START of their key gap, and elsewhere
    changes only pixels near the eyes."""
    pytest.importorskip("imageio_ffmpeg")                   # its VVC key frame
    if not FLOW_5.shipped():
        pytest.skip("ifvc-flow-4's weights are not shipped")
    from ref_decoder.decoder import Decoder
    data = (SUITE / "face_synthetic_motion_flow4_cabac.ifvc").read_bytes()
    flow_4 = list(Decoder(generator=get_generator("ifvc-flow-4")).decode(data))
    gen5 = get_generator("ifvc-flow-5")
    flow_5 = list(Decoder(generator=gen5).decode(data))
    closing, _ = check_only_closing_eyes_differ(flow_4, flow_5, gen5.geometric.target_geometry)
    assert closing >= 3


def test_the_suites_flow_5_stream_decodes_to_its_listed_frames_on_1_and_2_threads() -> None:
    if not FLOW_5.shipped():
        pytest.skip("ifvc-flow-4's weights are not shipped")
    description = json.loads((SUITE / f"{FLOW_5_STREAM}.json").read_text())
    assert description["generator"]["sha256"] == GENERATOR_BY_NAME["ifvc-flow-5"].weights_sha256.hex()
    check_suite_stream_on_1_and_2_threads(FLOW_5_STREAM, "ifvc-flow-5")
