"""ifvc-geometric-6 (spec Annex H.9): ifvc-geometric-5 with the eyelid cover of Annex I.11 (wider,
feathered with sigma 1.2, the feather continuing the lid's texture instead of H.5's key-frame
sample at (0, 0)); ifvc-geometric-5's output wherever no eye closes; the conformance stream."""
from __future__ import annotations

import json

import numpy as np
import pytest

from ifvc_synthesis.generators import CleanLidMeshGenerator, SharpEdgeMeshGenerator
from ifvc_synthesis.generators.mesh_features import EYE_FILL_START, FLOW_5_LIDS, GEOMETRIC_3_LIDS
from ifvc_synthesis.idi import EYE_LEFT, _idx
from tests.test_flow_5_generator import check_only_closing_eyes_differ, eye_neighbourhood
from tests.test_flow_generator import SUITE, check_suite_stream_on_1_and_2_threads
from tests.test_geometric_4_generator import check_registered_without_weights
from tests.test_layered_generator import key_values, textured_picture
from tests.test_mesh_generator import EXTREME_EDITS, SKIN, I, skin_face_with_dark_left_eye

STREAM = "face_blink_geometric6_cabac"
BLUE = (0, 0, 255)


def test_registered_as_id_11_without_weights() -> None:
    check_registered_without_weights("ifvc-geometric-6", CleanLidMeshGenerator, 11, "Annex H.9")
    assert SharpEdgeMeshGenerator.lids == GEOMETRIC_3_LIDS and CleanLidMeshGenerator.lids == FLOW_5_LIDS


def test_it_is_geometric_5_wherever_no_eye_closes() -> None:
    """On a textured key frame, at the key pose and under every extreme edit (both eyes open),
    the outputs are identical; with the left eye shut they differ, and only near the eyes."""
    g5, g6 = SharpEdgeMeshGenerator(), CleanLidMeshGenerator()
    for gen in (g5, g6):
        gen.set_keyframe(textured_picture(), key_values(), b"", 0)
    for element, offset in [("head_yaw", 0.0), *EXTREME_EDITS, ("mouth_open", 0.25)]:
        v = key_values()
        v[I[element]] += offset
        assert min(g6.target_geometry(v).eye_gain) >= EYE_FILL_START
        assert np.array_equal(g5.synthesize(v), g6.synthesize(v)), element
    v = key_values()
    v[I["eye_blink_left"]] = 0.0
    tg = g6.target_geometry(v)
    changed = (g5.synthesize(v) != g6.synthesize(v)).any(axis=2)
    near = eye_neighbourhood(tg, changed.shape)
    assert changed.any() and not (changed & ~near).any()


def test_a_shut_eye_shows_no_colour_of_the_key_frames_corner() -> None:
    """A uniform skin face whose left eye opening is dark and whose sample (0, 0) is pure blue:
    shut, geometric-5's lid is ringed by the blue (H.5 NOTE), geometric-6's is skin, the dark
    opening and the lash line only (no pixel bluer than it is red), and covers the opening."""
    out = {}
    for cls in (SharpEdgeMeshGenerator, CleanLidMeshGenerator):
        gen, key, values = skin_face_with_dark_left_eye(corner=BLUE, cls=cls)
        v = values.copy()
        v[I["eye_blink_left"]] = 0.0
        tg = gen.target_geometry(v)
        assert tg.eye_gain[0] < EYE_FILL_START <= tg.eye_gain[1]
        image = gen.synthesize(v).astype(np.int32)
        image[0, 0] = SKIN                          # the key's own corner sample is not a lid
        out[cls.name] = image, tg
    g5, _ = out["ifvc-geometric-5"]
    g6, tg = out["ifvc-geometric-6"]
    assert (g5[..., 2] > g5[..., 0] + 1).any()
    assert (g6[..., 2] <= g6[..., 0] + 1).all()
    ring = tg.landmarks[_idx(EYE_LEFT["ring"])]
    x0, y0 = np.floor(ring.min(axis=0)).astype(int)
    x1, y1 = np.ceil(ring.max(axis=0)).astype(int)
    opening = g6[y0:y1 + 1, x0:x1 + 1].mean(axis=2)
    assert float(np.median(opening)) > 0.6 * float(np.mean(SKIN))       # lid skin, not the dark opening


def test_the_suites_blink_stream_decodes_to_its_listed_frames_on_1_and_2_threads() -> None:
    description = json.loads((SUITE / f"{STREAM}.json").read_text())
    assert description["generator"]["sha256"] == "00" * 32
    check_suite_stream_on_1_and_2_threads(STREAM, "ifvc-geometric-6")


def test_the_suites_blink_stream_shuts_both_eyes_and_differs_from_geometric_5_only_there() -> None:
    """face_blink_geometric6_cabac: frames with both eyes open decode as with ifvc-geometric-5;
    the frames whose eyes close (at least 6 of them with both lids drawn) differ, near the eyes
    only."""
    pytest.importorskip("imageio_ffmpeg")                   # its VVC key frame
    from ifvc_synthesis.generators import get_generator
    from ref_decoder.decoder import Decoder
    data = (SUITE / f"{STREAM}.ifvc").read_bytes()
    g5 = list(Decoder(generator=get_generator("ifvc-geometric-5")).decode(data))
    gen6 = get_generator("ifvc-geometric-6")
    g6 = list(Decoder(generator=gen6).decode(data))
    closing, both = check_only_closing_eyes_differ(g5, g6, gen6.target_geometry)
    assert closing >= 6 and both >= 6
