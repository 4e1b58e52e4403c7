"""ifvc-geometric-5 (spec Annex H.8): ifvc-geometric-4 with clamped bicubic samples, the key
alpha faded out beyond the key frame's top edge (and its sides above the chin), no person where
IDI's field covers no pixel, and the moved plate reflected at the picture's edge."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitstream.semantic_elements import BG_TX_ID
from ifvc_synthesis.generators import SeamlessPlateMeshGenerator, SharpEdgeMeshGenerator
from ifvc_synthesis.generators.geometric_5 import FADE_PX
from ifvc_synthesis.key_sampling import KeySampler
from tests.test_geometric_4_generator import check_registered_without_weights
from tests.test_layered_generator import key_values, textured_picture
from tests.test_mesh_generator import EXTREME_EDITS, I


class Geometric5AsGeometric4(SharpEdgeMeshGenerator):
    """geometric-5 with its four changes taken back: must be geometric-4 byte for byte."""
    texture_sampling = cv2.INTER_LINEAR
    plate_border = cv2.BORDER_REPLICATE

    def edge_fade(self, map_x: np.ndarray, map_y: np.ndarray) -> np.ndarray:
        return np.ones_like(map_x)

    def person_alpha_at(self, map_x: np.ndarray, map_y: np.ndarray, covered: np.ndarray) -> np.ndarray:
        return self.key_alpha_at(map_x, map_y)


def made(cls: type[SeamlessPlateMeshGenerator]) -> SeamlessPlateMeshGenerator:
    gen = cls()
    gen.set_keyframe(textured_picture(), key_values(), b"", 0)
    return gen


@pytest.fixture(scope="module")
def generators() -> tuple[SeamlessPlateMeshGenerator, SharpEdgeMeshGenerator]:
    return made(SeamlessPlateMeshGenerator), made(SharpEdgeMeshGenerator)   # type: ignore[return-value]


def moved(element: str, offset: float) -> np.ndarray:
    v = key_values()
    v[I[element]] += offset
    return v


def test_registered_as_id_10_without_weights() -> None:
    check_registered_without_weights("ifvc-geometric-5", SharpEdgeMeshGenerator, 10, "Annex H.8")


@settings(derandomize=True, max_examples=200, deadline=None)
@given(st.floats(-40, 170, width=32), st.floats(-40, 170, width=32))
def test_edge_fade_is_as_specified(generators: tuple[SeamlessPlateMeshGenerator, SharpEdgeMeshGenerator],
                                   x: float, y: float) -> None:
    """Annex H.8's F, restated: 1 inside; linear to 0 over FADE_PX above the top edge and, above
    the chin row, beside the left or right edge; below the chin row the sides do not fade."""
    _, g5 = generators
    w = g5.key_rgb.shape[1]
    f = float(g5.edge_fade(np.array([[x]], np.float32), np.array([[y]], np.float32))[0, 0])
    above = max(-y, 0.0)
    beside = max(-x, x - (w - 1), 0.0) if y < g5.model.chin_y else 0.0
    assert f == pytest.approx(min(max(1.0 - max(above, beside) / FADE_PX, 0.0), 1.0), abs=1e-6)


def test_without_its_four_changes_it_is_geometric_4(
        generators: tuple[SeamlessPlateMeshGenerator, SharpEdgeMeshGenerator]) -> None:
    """Everything but the kernel, the edge fade, the coverage rule and the plate's border is
    geometric-4's: with those taken back the outputs are identical, under every edit and a
    background shift."""
    g4, _ = generators
    back = made(Geometric5AsGeometric4)
    shifted = key_values()
    shifted[BG_TX_ID] = 0.05
    for v in [key_values(), shifted, *(moved(e, o) for e, o in EXTREME_EDITS), moved("head_ty", 0.3)]:
        assert np.array_equal(back.synthesize(v), g4.synthesize(v))


def test_above_the_key_frame_the_plate_shows(
        generators: tuple[SeamlessPlateMeshGenerator, SharpEdgeMeshGenerator]) -> None:
    """The head moved down from a key frame whose person mask touches the top edge: geometric-4
    replicates the top row of the person there (alpha 1); geometric-5's alpha is 0 where the
    warp reaches FADE_PX above the picture, so the plate shows."""
    g4, g5 = generators
    assert g5.person_mask[0].any()
    v = moved("head_ty", 0.3)
    image, map_x, map_y, layers, _ = g5.synthesize_with_layers(v)
    far = (map_y <= -FADE_PX) & (layers.mesh_opacity == 0)
    assert far[:8].all()
    assert (g4.person_alpha(v)[far] > 0.5).any()          # what geometric-4 draws there
    assert (layers.person_alpha[far] == 0).all()
    plate = np.clip(np.floor(g5.plate + 0.5), 0, 255).astype(np.uint8)
    assert np.array_equal(image[far], plate[far])


def test_key_alpha_is_geometric_4s_times_the_fade(
        generators: tuple[SeamlessPlateMeshGenerator, SharpEdgeMeshGenerator]) -> None:
    g4, g5 = generators
    v = moved("head_ty", 0.3)
    tg = g5.target_geometry(v)
    map_x, map_y = g5.model.motion_field(tg)
    expected = g4.key_alpha_at(map_x, map_y) * g5.edge_fade(map_x, map_y)
    assert np.array_equal(g5.key_alpha_at(map_x, map_y), expected)


def test_moved_plate_is_reflected_at_the_edge(
        generators: tuple[SeamlessPlateMeshGenerator, SharpEdgeMeshGenerator]) -> None:
    """A whole-pixel shift right: the plate moves by 4 columns and the 4 uncovered columns are
    the first ones mirrored (BORDER_REFLECT: d c b a | a b c d), not the edge column repeated;
    the bicubic kernel reads whole-pixel positions exactly."""
    _, g5 = generators
    w = g5.key_rgb.shape[1]
    v = key_values()
    v[BG_TX_ID] = 4 / w
    assert g5.background_shift(v) == (4.0, 0.0)
    out = g5.shifted_plate(v)
    assert np.array_equal(out[:, 4:], g5.plate[:, :-4])
    assert np.array_equal(out[:, :4], g5.plate[:, 3::-1])


def test_face_texture_is_bicubic_and_the_person_layer_bilinear(
        generators: tuple[SeamlessPlateMeshGenerator, SharpEdgeMeshGenerator]) -> None:
    """A half-pixel move of the head on a striped key frame: the face mesh's texture (where the
    mesh is opaque) keeps more of the stripes' contrast than geometric-4's bilinear one; the
    person layer under it is geometric-4's."""
    g4, g5 = generators
    v = moved("head_tx", 0.5 / g5.key_rgb.shape[1])
    (a, _), (b, opacity) = g4.render_mesh(v), g5.render_mesh(v)
    face = opacity == 1
    grad = lambda img: np.abs(np.diff(img, axis=1))[face[:, 1:] & face[:, :-1]].mean()   # noqa: E731
    assert face.sum() > 500 and grad(b) > grad(a) * 1.02
    assert np.array_equal(g4._layers(v)[0], g5._layers(v)[0])      # the head stays inside the key frame


@pytest.mark.parametrize("element,offset", [*EXTREME_EDITS, ("head_loc", 2.0), ("head_ty", 0.3)])
def test_no_black_pixel_under_extreme_edits(
        generators: tuple[SeamlessPlateMeshGenerator, SharpEdgeMeshGenerator], element: str, offset: float) -> None:
    _, g5 = generators
    assert (g5.synthesize(moved(element, offset)).max(axis=2) > 0).all()


def test_key_pose_is_the_key_frame(generators: tuple[SeamlessPlateMeshGenerator, SharpEdgeMeshGenerator]) -> None:
    """At the key pose only the face mesh samples between pixels (its texture coordinates are
    interpolated): the output is the key frame within a few levels, at least as close as
    geometric-4's."""
    g4, g5 = generators
    key = textured_picture()
    a, b = g4.synthesize(key_values()), g5.synthesize(key_values())
    assert np.abs(b.astype(int) - key).max() <= np.abs(a.astype(int) - key).max() <= 12
    assert cv2.PSNR(b, key) >= cv2.PSNR(a, key) > 55


def test_deterministic_across_instances_and_opencv_threads() -> None:
    v = moved("head_ty", 0.2)
    v[I["head_yaw"]] -= 20.0
    v[BG_TX_ID] = 0.037
    before = cv2.getNumThreads()
    outputs = []
    try:
        for threads in (1, 2, 4):
            cv2.setNumThreads(threads)
            outputs.append(made(SharpEdgeMeshGenerator).synthesize(v).tobytes())
    finally:
        cv2.setNumThreads(before)
    assert outputs[0] == outputs[1] == outputs[2]


def test_the_suites_stream_decodes_to_its_listed_frames_on_1_and_2_threads() -> None:
    """face_head_down_geometric5_cabac (a real key frame whose hair touches the top edge, the
    head moved down under a camera pan) decodes with ifvc-geometric-5 to its listed frames."""
    from tests.test_flow_generator import check_suite_stream_on_1_and_2_threads
    check_suite_stream_on_1_and_2_threads("face_head_down_geometric5_cabac", "ifvc-geometric-5")


def test_no_person_where_no_triangle_covers_the_pixel(
        generators: tuple[SeamlessPlateMeshGenerator, SharpEdgeMeshGenerator]) -> None:
    """Annex H.8 step 3: uncovered pixels (identity map) have alpha 0; geometric-4 shows the key
    frame's person there, unmoved."""
    g4, g5 = generators
    h, w = g5.person_mask.shape
    map_x, map_y = (m.astype(np.float32) for m in np.meshgrid(np.arange(w), np.arange(h)))
    covered = np.zeros((h, w), bool)
    covered[:, : w // 2] = True
    a4, a5 = g4.person_alpha_at(map_x, map_y, covered), g5.person_alpha_at(map_x, map_y, covered)
    assert (a4[~covered] == 1).any()
    assert (a5[~covered] == 0).all()
    assert np.array_equal(a5[covered], g5.key_alpha_at(map_x, map_y)[covered])


# -- the clamped bicubic kernel (key_sampling.py) ---------------------------------------------------
def window_range(image: np.ndarray, x: float, y: float) -> tuple[np.ndarray, np.ndarray]:
    """Per channel min and max of the cubic kernel's 4x4 taps around OpenCV's 1/32-pixel position
    (edge samples replicated)."""
    h, w = image.shape[:2]
    x0, y0 = int(np.floor(np.round(32 * x) / 32)), int(np.floor(np.round(32 * y) / 32))
    ys = np.clip(np.arange(y0 - 1, y0 + 3), 0, h - 1)
    xs = np.clip(np.arange(x0 - 1, x0 + 3), 0, w - 1)
    window = image[np.ix_(ys, xs)].reshape(-1, image.shape[2])
    return window.min(axis=0), window.max(axis=0)


@settings(derandomize=True, max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_clamped_cubic_stays_within_the_taps_it_reads(seed: int) -> None:
    """On a picture of hard random edges the plain cubic kernel overshoots; the clamped one
    never leaves the range of its 4x4 taps, and some samples still differ from bilinear."""
    rng = np.random.default_rng(seed)
    image = (rng.integers(0, 2, (24, 20, 3)) * 255).astype(np.float32)
    map_x = rng.uniform(-3, 22, (16, 16)).astype(np.float32)
    map_y = rng.uniform(-3, 26, (16, 16)).astype(np.float32)
    out = KeySampler(image, cv2.INTER_CUBIC).sample(map_x, map_y)
    for i, j in np.ndindex(map_x.shape):
        lo, hi = window_range(image, float(map_x[i, j]), float(map_y[i, j]))
        assert (out[i, j] >= lo - 1e-3).all() and (out[i, j] <= hi + 1e-3).all()
    plain = cv2.remap(image, map_x, map_y, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    assert (plain < -1).any() or (plain > 256).any()      # the picture does make it overshoot


def test_clamped_cubic_is_the_cubic_kernel_where_it_does_not_overshoot() -> None:
    """Planar ramps (which the cubic kernel reproduces, so it never overshoots them): the clamp
    changes nothing, the result is OpenCV's cubic remap; the bilinear sampler is exactly
    cv2.remap with INTER_LINEAR."""
    y, x = np.mgrid[0:32, 0:40].astype(np.float32)
    image = np.stack([100 + 2 * x - y, 90 + 3 * y, 60 + x + y], axis=-1).astype(np.float32)
    rng = np.random.default_rng(3)
    map_x = rng.uniform(2, 37, (20, 20)).astype(np.float32)
    map_y = rng.uniform(2, 29, (20, 20)).astype(np.float32)
    cubic = cv2.remap(image, map_x, map_y, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    assert np.array_equal(KeySampler(image, cv2.INTER_CUBIC).sample(map_x, map_y), cubic)
    linear = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    assert np.array_equal(KeySampler(image).sample(map_x, map_y), linear)
    with pytest.raises(ValueError, match="INTER_LINEAR and INTER_CUBIC"):
        KeySampler(image, cv2.INTER_LANCZOS4)
