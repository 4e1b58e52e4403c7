"""The background displacement bg_tx, bg_ty (Table 3 ids 14 and 15, spec 1.2): the layered
generators' moved plate (Annex G.5a), the encoder's measurement (Annex B.3a, informative)
and the element set the encoder signals with it.

Synthetic tests use the posed canonical face (kf_geometry_version 0) on a textured picture and
seeded random textures; nothing here reads ../shared/data."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitstream.generator_registry import GENERATOR_BY_NAME, REGISTERED_GENERATORS
from bitstream.profiles import PROFILE_MAIN
from bitstream.semantic_elements import (BACKGROUND_ELEMENT_IDS, BASELINE_ELEMENT_IDS, BG_TX_ID, BG_TY_ID,
                                         DEFAULT_BACKGROUND_ELEMENT_IDS, DEFAULT_ELEMENT_IDS, ELEMENT_BY_ID, NEUTRAL_VALUES, SEMANTIC_ELEMENTS)
from ifvc_synthesis.generators import LayeredGenerator
from ifvc_synthesis.generators.geometric_3 import MeshGenerator
from ref_encoder.background_motion import BackgroundMotion, signals_background
from ref_encoder.encoder import Encoder, EncoderConfig

from tests.test_layered_generator import key_values, textured_picture

W = H = 128


def test_table3_rows() -> None:
    assert [e.name for e in SEMANTIC_ELEMENTS][14:] == ["bg_tx", "bg_ty"]
    assert (BG_TX_ID, BG_TY_ID) == BACKGROUND_ELEMENT_IDS == (14, 15)
    for eid in BACKGROUND_ELEMENT_IDS:
        e = ELEMENT_BY_ID[eid]
        assert (e.min_value, e.max_value, e.default_precision, e.max_precision, e.neutral_value) == (-1, 1, 8, 12, 0)
    assert NEUTRAL_VALUES[14:] == (0, 0)
    # the elements of 1.0/1.1 and the default set do not change
    assert BASELINE_ELEMENT_IDS == tuple(range(14))
    assert not set(BACKGROUND_ELEMENT_IDS) & set(DEFAULT_ELEMENT_IDS)


def _generator(cls: type = LayeredGenerator) -> LayeredGenerator:
    gen = cls()
    gen.set_keyframe(textured_picture(), key_values(), b"", 0)
    return gen


def _with_background(v: np.ndarray, dx_px: float, dy_px: float) -> np.ndarray:
    out = np.array(v, np.float64)
    out[BG_TX_ID], out[BG_TY_ID] = dx_px / W, dy_px / H
    return out


@pytest.mark.parametrize("cls", [LayeredGenerator, MeshGenerator])
def test_no_displacement_is_the_output_without_the_elements(cls: type) -> None:
    gen = _generator(cls)
    v = key_values()
    v[0] = 12.0                                   # a head turn
    assert np.array_equal(gen.synthesize(v), gen.synthesize(v[:14]))      # 14 values: neutral background
    assert gen.background_shift(v) == (0.0, 0.0)


@pytest.mark.parametrize("cls", [LayeredGenerator, MeshGenerator])
@pytest.mark.parametrize("dx,dy", [(5, 0), (0, -3), (-7, 4)])
def test_integer_displacement_moves_the_background_exactly(cls: type, dx: int, dy: int) -> None:
    """Away from the person and the picture border, the output is the unshifted output moved by
    (dx, dy) pixels, sample for sample (a bilinear sample at an integer offset is the sample)."""
    gen = _generator(cls)
    v = key_values()
    still = gen.synthesize(v)
    moved = gen.synthesize(_with_background(v, dx, dy))
    assert gen.background_shift(_with_background(v, dx, dy)) == pytest.approx((dx, dy))
    person = gen.person_alpha(v) > 0
    grown = np.zeros_like(person)
    for sy in range(-abs(dy) - 2, abs(dy) + 3):          # the person, moved plates' person area and a margin
        for sx in range(-abs(dx) - 2, abs(dx) + 3):
            grown |= np.roll(person, (sy, sx), axis=(0, 1))
    m = 12
    region = np.zeros_like(person)
    region[m:H - m, m:W - m] = True
    region &= ~grown
    assert region.sum() > 800
    ys, xs = np.nonzero(region)
    assert np.array_equal(moved[ys, xs], still[ys - dy, xs - dx])


def test_displacement_is_relative_to_the_reference() -> None:
    """A reference whose own displacement equals the frame's shows its plate unmoved."""
    key = _with_background(key_values(), 6, -2)
    gen = LayeredGenerator()
    gen.set_keyframe(textured_picture(), key, b"", 0)
    plain = _generator()
    assert np.array_equal(gen.synthesize(key), plain.synthesize(key_values()))
    assert gen.background_shift(_with_background(key_values(), 9, -2)) == pytest.approx((3.0, 0.0))


def test_extreme_displacement_leaves_no_black_pixel() -> None:
    gen = _generator(MeshGenerator)
    for dx, dy in ((W, 0), (-W, H), (0, -H)):
        out = gen.synthesize(_with_background(key_values(), dx, dy))
        assert (out.max(axis=2) > 8).all()


def test_mesh_backward_map_moves_with_the_plate() -> None:
    gen = _generator(MeshGenerator)
    v = _with_background(key_values(), 4, -3)
    _, map_x, map_y, layers, _ = gen.synthesize_with_layers(v)
    assert layers.plate_shift == pytest.approx((4.0, -3.0))
    bx, by = layers.backward_map(map_x, map_y)
    still = (layers.coverage() == 0)
    assert still.any()
    ys, xs = np.nonzero(still)
    assert np.allclose(bx[ys, xs], xs - 4.0) and np.allclose(by[ys, xs], ys + 3.0)


def _texture(seed: int, size: int = 256) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (size // 16, size // 16, 3), dtype=np.uint8)
    import cv2
    return cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)


@settings(derandomize=True, max_examples=12, deadline=None)
@given(st.integers(0, 2 ** 31 - 1), st.integers(-9, 9), st.integers(-9, 9))
def test_measurement_finds_a_pan(seed: int, dx: int, dy: int) -> None:
    """A picture moved by up to 9 whole pixels each way (no face: the whole picture is background; a
    random texture of 16-pixel cells) is
    measured within a quarter pixel; an unmoved one exactly as 0 (the hold)."""
    big = _texture(seed, 320)
    ref = big[32:288, 32:288]
    moved = big[32 - dy:288 - dy, 32 - dx:288 - dx]
    bm = BackgroundMotion(256, 256)
    bm.set_reference(ref, None, np.zeros(2))
    assert np.array_equal(bm.estimate(ref, None), np.zeros(2))
    est = bm.estimate(moved, None) * 256
    assert abs(est[0] - dx) < 0.25 and abs(est[1] - dy) < 0.25


def test_measurement_is_relative_to_the_reference_value() -> None:
    ref = _texture(5)
    bm = BackgroundMotion(256, 256)
    bm.set_reference(ref, None, np.array([0.125, -0.0625]))
    assert np.array_equal(bm.estimate(ref, None), np.array([0.125, -0.0625]))
    with pytest.raises(RuntimeError, match="before set_reference"):
        BackgroundMotion(256, 256).estimate(ref, None)


def test_encoder_signals_the_elements_only_when_asked() -> None:
    # a generator without a background plate: "auto" leaves the elements out (the default
    # generator, ifvc-geometric-3, moves its plate: test_auto_signals_... below)
    plain = Encoder(EncoderConfig(keyframe_codec="raw", generator_name="ifvc-geometric-1"), 64, 64, Fraction(25))
    assert plain.sh.sh_sem_element_id == list(DEFAULT_ELEMENT_IDS) and not signals_background(plain.element_ids)
    with_bg = Encoder(EncoderConfig(keyframe_codec="raw", background_motion=True), 64, 64, Fraction(25))
    assert with_bg.sh.sh_sem_element_id == [*DEFAULT_ELEMENT_IDS, BG_TX_ID, BG_TY_ID]
    assert with_bg.sh.sh_sem_precision[-2:] == [8, 8] and signals_background(with_bg.element_ids)


@pytest.mark.parametrize("generator", [g.name for g in REGISTERED_GENERATORS])
def test_auto_signals_the_elements_for_the_generators_that_move_their_plate(generator: str) -> None:
    """background_motion "auto" (the default): the Compact profile and a generator of Table 3a
    that moves its plate (Annex G.5a) get DEFAULT_BACKGROUND_ELEMENT_IDS, which the compact
    header names with one bit; the Main profile, other generators, a given element list and
    "off" do not."""
    def ids(**kw) -> list[int]:  # type: ignore[no-untyped-def]
        return Encoder(EncoderConfig(keyframe_codec="raw", generator_name=generator, **kw), 64, 64,
                       Fraction(25)).element_ids
    moves = GENERATOR_BY_NAME[generator].background_plate
    assert ids() == list(DEFAULT_BACKGROUND_ELEMENT_IDS if moves else DEFAULT_ELEMENT_IDS)
    assert ids(profile_idc=PROFILE_MAIN) == list(DEFAULT_ELEMENT_IDS)
    assert ids(background_motion="off") == list(DEFAULT_ELEMENT_IDS)
    assert ids(background_motion="on") == list(DEFAULT_BACKGROUND_ELEMENT_IDS)
    assert ids(element_ids=[0, 1, 2]) == [0, 1, 2]
    with pytest.raises(ValueError, match="auto, on or off"):
        ids(background_motion="sometimes")


def test_background_plate_column_of_table_3a_is_what_the_generators_do() -> None:
    """Table 3a's background_plate: a shift of 4 pixels in bg_tx changes the picture of exactly
    the generators that list it (each synthesised from the same key frame and values)."""
    from ifvc_synthesis.generators import get_generator
    rgb = textured_picture()
    v = key_values()
    for g in REGISTERED_GENERATORS:
        gen = get_generator(g.name)
        gen.set_keyframe(rgb, v, b"", 0)
        still, moved = gen.synthesize(v), gen.synthesize(_with_background(v, 4, 0))
        assert (not np.array_equal(still, moved)) == g.background_plate, g.name


def _pan(frames: list[np.ndarray], step_px: float) -> list[np.ndarray]:
    """A camera pan: each picture moved right by step_px more than the last (whole picture)."""
    import cv2
    return [cv2.warpAffine(f, np.float32([[1, 0, k * step_px], [0, 1, 0]]), (f.shape[1], f.shape[0]),
                           flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT) for k, f in enumerate(frames)]


def test_real_clip_still_background_codes_zero_and_a_pan_is_followed(shared_data) -> None:  # type: ignore[no-untyped-def]
    """liveportrait_driving_d13 (an office behind a talking head, a still camera): the
    background codes 0 in every frame, although the hair at the top of the picture moves; the
    same frames with a synthetic pan of 0.5 pixels per frame code the pan within a pixel."""
    from conformance.streams_vvc import _clip_frames
    from ref_decoder.decoder import Decoder
    frames = _clip_frames(shared_data / "faces" / "raw" / "liveportrait_driving_d13.mp4", 24)

    def coded_bg(pictures: list[np.ndarray]) -> np.ndarray:
        # rounding, not RDOQ (which may code a level up to its error bound away): the measurement
        enc = Encoder(EncoderConfig(keyframe_codec="raw", background_motion=True, semantic_lambda="off"),
                      256, 256, Fraction(25))
        stream = enc.encode(pictures).stream
        return np.array([np.asarray(f.values)[[BG_TX_ID, BG_TY_ID]] for f in Decoder().decode(stream)]) * 256

    still = coded_bg(frames)
    assert np.array_equal(still, np.zeros_like(still))
    panned = coded_bg(_pan(frames, 0.5))
    expected = 0.5 * np.arange(len(frames))
    assert np.max(np.abs(panned[:, 0] - expected)) <= 1.0 and np.max(np.abs(panned[:, 1])) <= 1.0
    assert panned[-1, 0] >= 10.0


def test_cli_refuses_background_motion_in_the_main_profile(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.test_cli_hardening import _error_lines, _run
    src = tmp_path / "in.rgb"
    src.write_bytes(bytes(3 * 64 * 64 * 2))
    out = tmp_path / "out.ifvc"
    r = _run("-m", "ref_encoder.cli", src, "--width", "64", "--height", "64", "--background-motion",
             "--profile", "main", "-o", out)
    lines = _error_lines(r)
    assert r.returncode != 0 and len(lines) == 1 and "Compact profile" in lines[0], r.stderr
    assert not out.exists()


def test_body_grid_follows_the_background_by_the_share_that_does_not_follow_the_head() -> None:
    """Annex G.2 step 4: a grid point moves by w (head similarity) + (1 - w) (dx, dy)."""
    gen = _generator()
    model = gen.model
    v = key_values()
    v[0] = 10.0
    plain = model.target_geometry(gen._values(v)).points
    moved = model.target_geometry(gen._values(_with_background(v, 6, -4))).points
    n = len(model.border_px)
    w = model.grid_weight
    assert 0.0 < w.min() < 1.0
    assert np.allclose(moved[-n:] - plain[-n:], (1.0 - w)[:, None] * np.array([6.0, -4.0]))
    assert np.array_equal(moved[:-n], plain[:-n])            # the head's points do not move


def test_the_suites_background_stream_decodes_to_its_listed_frames_on_1_and_2_threads() -> None:
    """face_background_motion_geometric3_cabac (a pan and tilt, a head turn) decodes with
    ifvc-geometric-3 to the frames its description lists, on 1 and 2 threads."""
    from tests.test_flow_generator import check_suite_stream_on_1_and_2_threads
    check_suite_stream_on_1_and_2_threads("face_background_motion_geometric3_cabac", "ifvc-geometric-3")
