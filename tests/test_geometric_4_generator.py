"""ifvc-geometric-4 (spec Annex H.7): ifvc-geometric-3 over a seamless background plate, the
guard band filled by HarmonicFill."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitstream.generator_registry import GENERATOR_BY_ID, GENERATOR_BY_NAME, NO_WEIGHTS_SHA256
from ifvc_synthesis.generators import MeshGenerator, SeamlessPlateMeshGenerator, get_generator
from ifvc_synthesis.generators.background_fill import harmonic_fill
from ifvc_synthesis.generators.layered import PLATE_GUARD
from tests.test_layered_generator import key_values, textured_picture
from tests.test_mesh_generator import EXTREME_EDITS, I


def pair() -> tuple[MeshGenerator, SeamlessPlateMeshGenerator]:
    g3, g4 = MeshGenerator(), SeamlessPlateMeshGenerator()
    for g in (g3, g4):
        g.set_keyframe(textured_picture(), key_values(), b"", 0)
    return g3, g4


@pytest.fixture(scope="module")
def generators() -> tuple[MeshGenerator, SeamlessPlateMeshGenerator]:
    return pair()


def guard_of(gen: MeshGenerator) -> np.ndarray:
    """G as Annex H.7 states it (restated here, not layered.plate_guard, so the test checks the code)."""
    return cv2.dilate(gen.person_mask, np.ones((2 * PLATE_GUARD + 1,) * 2, np.uint8)).astype(bool)


def check_registered_without_weights(name: str, cls: type, generator_id: int, clause: str) -> None:
    """get_generator(name) makes a cls; Table 3a lists it under generator_id and clause, without
    weights, moving its background plate (shared with tests/test_geometric_5_generator.py)."""
    gen = get_generator(name)
    assert isinstance(gen, cls) and gen.name == name
    reg = GENERATOR_BY_NAME[name]
    assert reg.generator_id == generator_id and GENERATOR_BY_ID[generator_id] is reg
    assert reg.weights_sha256 == NO_WEIGHTS_SHA256 == gen.weights_sha256
    assert reg.clause == clause and reg.background_plate


def test_registered_as_id_9_without_weights() -> None:
    check_registered_without_weights("ifvc-geometric-4", SeamlessPlateMeshGenerator, 9, "Annex H.7")


# -- HarmonicFill (Annex H.7) --------------------------------------------------------------------
@settings(derandomize=True, max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(5, 70), st.integers(5, 70))
def test_fill_keeps_known_pixels_and_stays_between_known_colours(seed: int, h: int, w: int) -> None:
    """Known pixels keep their value exactly; every filled value is a weighted mean of known
    colours (push-pull, bilinear resize and Jacobi sweeps are convex), so it lies within the
    known range per channel."""
    rng = np.random.default_rng(seed)
    img = (rng.random((h, w, 3)) * 255).astype(np.float32)
    known = (rng.random((h, w)) < rng.uniform(0.05, 0.9)).astype(np.float32)
    y0, x0 = rng.integers(0, h), rng.integers(0, w)
    known[y0:y0 + rng.integers(1, h + 1), x0:x0 + rng.integers(1, w + 1)] = 0    # a solid hole too
    out = harmonic_fill(img, known)
    assert out.dtype == np.float32 and out.shape == img.shape
    k = known > 0
    assert np.array_equal(out[k], img[k])
    if k.any():
        lo, hi = img[k].min(axis=0), img[k].max(axis=0)
        assert (out >= lo - 1e-3).all() and (out <= hi + 1e-3).all()


def test_fill_without_background_is_mid_grey() -> None:
    out = harmonic_fill(np.full((20, 30, 3), 77, np.float32), np.zeros((20, 30), np.float32))
    assert (out == 128).all()


def test_fill_continues_a_gradient_without_a_seam() -> None:
    """A background ramping from 40 to 200 across the picture, a large hole in the middle: the
    membrane continues the ramp (a linear function is harmonic), where push-pull's mean does
    not; at the hole's edge the fill meets its neighbours."""
    h, w = 96, 128
    ramp = np.broadcast_to(np.linspace(40, 200, w, dtype=np.float32)[None, :, None], (h, w, 3)).copy()
    known = np.ones((h, w), np.float32)
    known[20:76, 30:98] = 0
    out = harmonic_fill(ramp, known)
    err = np.abs(out - ramp)[known == 0]
    assert err.max() < 3.0
    # the jump across the hole's left and right edges is no larger than the ramp's own step
    step = float(ramp[0, 1, 0] - ramp[0, 0, 0])
    assert np.abs(out[20:76, 30] - out[20:76, 29]).max() < 2 * step
    assert np.abs(out[20:76, 98] - out[20:76, 97]).max() < 2 * step


def test_fill_is_deterministic_across_opencv_threads() -> None:
    rng = np.random.default_rng(5)
    img = (rng.random((64, 80, 3)) * 255).astype(np.float32)
    known = np.ones((64, 80), np.float32)
    known[10:50, 20:60] = 0
    before = cv2.getNumThreads()
    try:
        outs = []
        for threads in (1, 2, 4):
            cv2.setNumThreads(threads)
            outs.append(harmonic_fill(img, known).tobytes())
    finally:
        cv2.setNumThreads(before)
    assert outs[0] == outs[1] == outs[2]


# -- the generator -------------------------------------------------------------------------------
def test_plate_is_the_key_frame_outside_the_guard_and_the_fill_inside(
        generators: tuple[MeshGenerator, SeamlessPlateMeshGenerator]) -> None:
    g3, g4 = generators
    guard = guard_of(g4)
    key = textured_picture().astype(np.float32)
    assert np.array_equal(g4.plate[~guard], key[~guard])
    expected = harmonic_fill(key, (~guard).astype(np.float32))
    assert np.array_equal(g4.plate[guard], expected[guard])
    assert np.array_equal(g3.person_mask, g4.person_mask)     # the same layers otherwise


def test_person_layer_is_the_guard_with_alpha_one(
        generators: tuple[MeshGenerator, SeamlessPlateMeshGenerator]) -> None:
    """The guard band belongs to the person layer (the fringe moves with the person): A_K is 1
    on G and feathered outside it; geometric-3's layer is the mask itself."""
    g3, g4 = generators
    guard = guard_of(g4)
    assert np.array_equal(g4.person_layer.astype(bool), guard)
    assert np.array_equal(g3.person_layer, g3.person_mask)
    assert (g4._alpha_key[guard] == 1).all()
    assert (g3._alpha_key[guard & ~g3.person_mask.astype(bool)] < 1).any()


@pytest.mark.parametrize("element,offset", [*EXTREME_EDITS, ("head_loc", 2.0)])
def test_differs_from_geometric_3_only_through_the_plate_and_the_band(
        generators: tuple[MeshGenerator, SeamlessPlateMeshGenerator], element: str, offset: float) -> None:
    """Everything else is ifvc-geometric-3's: the outputs differ only inside the guard (the
    plate; it does not move in a stream without bg_tx, bg_ty) or where the band, moved with
    the person, changes the person alpha or the mesh opacity; and no pixel is black."""
    g3, g4 = generators
    v = key_values()
    v[I[element]] += offset
    a, b = g3.synthesize(v), g4.synthesize(v)
    differs = (a != b).any(axis=2)
    assert differs.any()
    layers = (g3.person_alpha(v) != g4.person_alpha(v)) | (g3.render_mesh(v)[1] != g4.render_mesh(v)[1])
    assert not (differs & ~guard_of(g4) & ~layers).any()
    assert (b.max(axis=2) > 0).all()


def test_key_pose_is_geometric_3s_picture(
        generators: tuple[MeshGenerator, SeamlessPlateMeshGenerator]) -> None:
    """At the key pose the person layer covers the guard with the key frame itself, so the
    fill never shows: the output is geometric-3's within a few levels of resampling."""
    g3, g4 = generators
    a, b = g3.synthesize(key_values()), g4.synthesize(key_values())
    assert np.abs(a.astype(int) - b).max() <= 6
    assert cv2.PSNR(b, textured_picture()) > 35


def test_deterministic_across_instances_and_opencv_threads() -> None:
    v = key_values()
    v[I["head_tx"]] += 0.2
    v[I["head_yaw"]] -= 20.0
    before = cv2.getNumThreads()
    outputs = []
    try:
        for threads in (1, 2, 4):
            cv2.setNumThreads(threads)
            _, g4 = pair()
            outputs.append(g4.synthesize(v).tobytes())
    finally:
        cv2.setNumThreads(before)
    assert outputs[0] == outputs[1] == outputs[2]


def test_the_suites_stream_decodes_to_its_listed_frames_on_1_and_2_threads() -> None:
    """face_head_move_geometric4_cabac (a real key frame, the head moved sideways, up and turned)
    decodes with ifvc-geometric-4 to the frames its description lists, on 1 and 2 threads."""
    from tests.test_flow_generator import check_suite_stream_on_1_and_2_threads
    check_suite_stream_on_1_and_2_threads("face_head_move_geometric4_cabac", "ifvc-geometric-4")
