"""Head-pose fitting by synthesis (ref_encoder/pose_fit.py; issue 14 item 4): the descent finds
a pose that the proxy drew, starts from the key frame's own pose where that is drawn closer,
never moves further than MAX_STEPS levels from its start, touches only the head elements, and
in the encoder fits the head anchors of a real clip into a stream that decodes."""
from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from bitstream.key_geometry import GEOMETRY_VERSION_NONE, GEOMETRY_VERSION_V2, decode_key_geometry
from bitstream.raw_video import read_rgb444
from bitstream.semantic_elements import ELEMENT_BY_NAME
from conformance.sequence_preparation import prepare_clip
from ifvc_common.files import sha256_file
from ref_decoder.decoder import Decoder
from ref_encoder.cli import summary
from ref_encoder.encoder import Encoder, EncoderConfig
from ref_encoder.pose_fit import (FIT_ELEMENT_IDS, FIT_SIDE, HEAD_FIT_SIDE, MAX_STEPS, REFERENCE_START_LEVELS, PoseFit,
                                  fit_proxy, fit_size, reduced_reference)

SUITE = Path(__file__).resolve().parents[1] / "conformance" / "streams"
STREAM = "face_background_motion_geometric3_cabac"    # a real key frame, ifvc-geometric-3
TX, TY = ELEMENT_BY_NAME["head_tx"].element_id, ELEMENT_BY_NAME["head_ty"].element_id
YAW = ELEMENT_BY_NAME["head_yaw"].element_id
STEP = 2.0 ** -7                                          # one level of head_tx / head_ty at p = 7


@pytest.fixture(scope="module")
def fitter_and_values() -> tuple[PoseFit, np.ndarray]:
    dec = Decoder()
    frames = list(dec.decode((SUITE / f"{STREAM}.ifvc").read_bytes()))
    fitter = PoseFit("ifvc-geometric-3", 1, {i: STEP for i in FIT_ELEMENT_IDS})
    for _, ref in dec.references:
        fitter.add_keyframe(ref)
    return fitter, np.asarray(frames[5].values, np.float64)


def test_fit_finds_the_pose_the_proxy_drew(fitter_and_values: tuple[PoseFit, np.ndarray]) -> None:
    fitter, values = fitter_and_values
    drawn = values.copy()
    drawn[TX] += 2 * STEP
    drawn[TY] -= STEP
    source = fitter.proxy_picture(drawn)
    fitted = fitter.fit(values, source)
    assert fitted[TX] == values[TX] + 2 * STEP and fitted[TY] == values[TY] - STEP
    others = [i for i in range(len(values)) if i not in (TX, TY)]
    np.testing.assert_array_equal(fitted[others], values[others])
    assert np.array_equal(fitter.proxy_picture(fitted), source)


def test_fit_stays_within_max_steps(fitter_and_values: tuple[PoseFit, np.ndarray]) -> None:
    fitter, values = fitter_and_values
    values = values.copy()
    values[TY] += 8 * STEP        # 16 pixels from the key frame's pose: the descent starts from the analysis
    drawn = values.copy()
    drawn[TX] -= (MAX_STEPS + 2) * STEP
    from_reference = fitter.stats.from_reference
    fitted = fitter.fit(values, fitter.proxy_picture(drawn))
    assert fitter.stats.from_reference == from_reference
    assert fitted[TX] == values[TX] - MAX_STEPS * STEP


def _key_pose_source(fitter: PoseFit, values: np.ndarray, levels: int) -> tuple[np.ndarray, np.ndarray]:
    """Values at the key frame's own pose, and an analysis that is `levels` levels of head_tx
    and of head_yaw away from it."""
    (_, ref), = list(fitter.references)
    drawn = values.copy()
    drawn[list(FIT_ELEMENT_IDS)] = ref.values[list(FIT_ELEMENT_IDS)]
    analysed = drawn.copy()
    analysed[TX] += levels * STEP
    analysed[YAW] -= levels * STEP
    return drawn, analysed


def test_fit_starts_from_the_key_frames_pose(fitter_and_values: tuple[PoseFit, np.ndarray]) -> None:
    """A source drawn at the key frame's own pose, further from the analysis than the descent
    reaches but within REFERENCE_START_LEVELS (a still head whose measurement wanders): the fit
    returns that pose exactly."""
    fitter, values = fitter_and_values
    drawn, analysed = _key_pose_source(fitter, values, REFERENCE_START_LEVELS)
    assert REFERENCE_START_LEVELS > MAX_STEPS
    from_reference = fitter.stats.from_reference
    fitted = fitter.fit(analysed, fitter.proxy_picture(drawn))
    assert fitter.stats.from_reference == from_reference + 1
    np.testing.assert_array_equal(fitted, drawn)


def test_a_key_frame_pose_far_from_the_analysis_is_no_start(fitter_and_values: tuple[PoseFit, np.ndarray]) -> None:
    """A head that has moved (one element beyond REFERENCE_START_LEVELS) is fitted from its
    analysis, even where the key frame's pose would draw the source exactly."""
    fitter, values = fitter_and_values
    drawn, analysed = _key_pose_source(fitter, values, REFERENCE_START_LEVELS + 1)
    from_reference = fitter.stats.from_reference
    fitted = fitter.fit(analysed, fitter.proxy_picture(drawn))
    assert fitter.stats.from_reference == from_reference
    assert abs(fitted[TX] - analysed[TX]) <= MAX_STEPS * STEP
    assert abs(fitted[YAW] - analysed[YAW]) <= MAX_STEPS * STEP


def test_fit_of_the_drawn_pose_keeps_it(fitter_and_values: tuple[PoseFit, np.ndarray]) -> None:
    fitter, values = fitter_and_values
    moved_before = fitter.stats.moved
    fitted = fitter.fit(values, fitter.proxy_picture(values))
    np.testing.assert_array_equal(fitted, values)
    assert fitter.stats.moved == moved_before


def test_fit_size_keeps_the_aspect_within_fit_side() -> None:
    assert fit_size(256, 256) == (FIT_SIDE, FIT_SIDE)
    assert fit_size(512, 288) == (FIT_SIDE, round(288 * FIT_SIDE / 512))
    assert fit_size(FIT_SIDE // 2, FIT_SIDE) == (FIT_SIDE // 2, FIT_SIDE)      # small pictures stay
    assert fit_size(256, 256, HEAD_FIT_SIDE) == (HEAD_FIT_SIDE, HEAD_FIT_SIDE)
    assert fit_size(512, 288, HEAD_FIT_SIDE) == (HEAD_FIT_SIDE, round(288 * HEAD_FIT_SIDE / 512))


def test_mesh_proxy_draws_the_head_layer_over_the_unmoved_key_picture(
        fitter_and_values: tuple[PoseFit, np.ndarray]) -> None:
    """A mesh generator's proxy (HEAD_FIT_SIDE a side): its head layer composited over the key
    picture, which shows unchanged wherever the layer is transparent, even where the whole
    picture moves the person (head_tx two levels over); within the layer it follows the pose."""
    fitter, values = fitter_and_values
    assert fitter.head_layer and fitter.side == HEAD_FIT_SIDE
    gen = fitter.generator
    moved = values.copy()
    moved[TX] += 2 * STEP
    picture = fitter.proxy_picture(moved)
    assert picture.shape == gen.key_rgb.shape == (HEAD_FIT_SIDE, HEAD_FIT_SIDE, 3) and picture.dtype == np.uint8
    colour, opacity = gen.render_mesh(moved)
    clear = opacity == 0
    assert clear.any() and (~clear).any()
    np.testing.assert_array_equal(picture[clear], gen.key_rgb[clear])
    expected = np.clip(np.floor(gen.key_rgb + opacity[..., None] * (colour - gen.key_rgb.astype(np.float32)) + 0.5), 0, 255)
    np.testing.assert_array_equal(picture, expected.astype(np.uint8))
    assert not np.array_equal(picture, fitter.proxy_picture(values))
    whole = gen.synthesize(moved)
    assert not np.array_equal(whole[clear], gen.key_rgb[clear])     # the whole picture moves more than the layer


def test_other_proxies_draw_the_whole_picture_at_fit_side() -> None:
    """A generator without a head mesh layer (ifvc-geometric-2): the proxy is its whole picture,
    at FIT_SIDE a side."""
    dec = Decoder()
    frames = list(dec.decode((SUITE / f"{STREAM}.ifvc").read_bytes()))
    fitter = PoseFit("ifvc-geometric-2", 1, {i: STEP for i in FIT_ELEMENT_IDS})
    for _, ref in dec.references:
        fitter.add_keyframe(ref)
    assert not fitter.head_layer and fitter.side == FIT_SIDE
    values = np.asarray(frames[5].values, np.float64)
    picture = fitter.proxy_picture(values)
    assert picture.shape == (FIT_SIDE, FIT_SIDE, 3)
    np.testing.assert_array_equal(picture, fitter.generator.synthesize(values))


def test_reduced_reference_scales_picture_and_key_geometry() -> None:
    """The proxy's reference: the picture reduced by area averaging, the landmarks of its key
    geometry (Annex E.2) where the full picture's are, scaled, within the reduced payload's
    precision (half a pixel steps: a quarter pixel at most); at its own size it is kept."""
    dec = Decoder()
    list(dec.decode((SUITE / f"{STREAM}.ifvc").read_bytes()))
    (_, ref), = list(dec.references)
    h, w = ref.rgb.shape[:2]
    size = (w // 4, h // 4)
    small = reduced_reference(ref, size)
    assert small.rgb.shape == (h // 4, w // 4, 3) and small.geometry_version == GEOMETRY_VERSION_V2
    np.testing.assert_array_equal(small.rgb, cv2.resize(ref.rgb, size, interpolation=cv2.INTER_AREA))
    values = np.asarray(ref.values, np.float64)
    full = decode_key_geometry(ref.geometry_version, ref.geometry, width=w, height=h, ref_values=values)
    scaled = decode_key_geometry(small.geometry_version, small.geometry, width=size[0], height=size[1],
                                 ref_values=values)
    assert np.abs(scaled.points - full.points / 4).max() <= 0.25
    assert reduced_reference(small, size) is small
    canonical = replace(ref, geometry=b"", geometry_version=GEOMETRY_VERSION_NONE)
    assert reduced_reference(canonical, size).geometry_version == GEOMETRY_VERSION_NONE


def test_learned_generators_are_fitted_through_their_geometric_pass() -> None:
    assert fit_proxy("ifvc-flow-5") == "ifvc-geometric-3"
    assert fit_proxy("ifvc-refine-1") == "ifvc-geometric-1"
    assert fit_proxy("ifvc-geometric-2") == "ifvc-geometric-2"


def test_pose_fit_needs_a_generator_the_encoder_can_run() -> None:
    cfg = EncoderConfig(generator_name="my-own-generator", generator_sha256=bytes(range(32)), pose_fit=True)
    with pytest.raises(ValueError, match="--pose-fit needs a generator"):
        Encoder(cfg, 256, 256, Fraction(25), warn=lambda _msg: None)


CLIP = "fomm_demo_old_08.mp4"     # test split
FRAMES = 24


@pytest.fixture(scope="module")
def sequence(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    work = tmp_path_factory.mktemp("pose_fit")
    clip = shared_data / "faces" / "raw" / CLIP
    prepare_clip(clip, work, FRAMES, "[test]", sha256_file(clip))
    return read_rgb444(work / f"{clip.stem}_256x256_25_8bit_444.rgb")


def test_encoder_fits_the_head_anchors(sequence: np.ndarray) -> None:
    """Default Compact profile (head group at every third frame of an 8-frame unit): the
    frames at unit positions 2, 5 and 7 are fitted, only their head elements move, each at most
    MAX_STEPS levels from the analysis or from the key frame's pose (itself near the analysis),
    the analysis is the same as without the fit, and the stream decodes."""
    def encode(fit: bool):  # type: ignore[no-untyped-def]
        cfg = EncoderConfig(keyframe_qp=42, generator_name="ifvc-geometric-3", pose_fit=fit)
        return Encoder(cfg, 256, 256, Fraction(25), num_frames=FRAMES).encode(sequence)
    plain, fitted = encode(False), encode(True)
    assert plain.pose_fit is None and fitted.pose_fit is not None
    anchors = [f.frame_idx for f in fitted.frames if f.kind == "semantic" and (f.frame_idx - 1) % 8 in (2, 5, 7)]
    assert fitted.pose_fit.fitted == len(anchors) == 8
    assert fitted.pose_fit.moved > 0
    assert f"({fitted.pose_fit.from_reference} from a key frame's pose;" in summary(fitted, 25.0)
    head = list(FIT_ELEMENT_IDS)
    steps = {3: 2.0 ** -7, 4: 2.0 ** -7, 5: 2.0 ** -6, 0: 0.5, 1: 0.5, 2: 0.5}
    dec = Decoder()
    out = list(dec.decode(fitted.stream))
    assert len(out) == FRAMES
    (_, key), = list(dec.references)          # one key frame: no refresh
    for a, b in zip(plain.frames, fitted.frames):
        np.testing.assert_array_equal(a.analysed, b.analysed)
        if b.kind != "semantic":
            continue
        moved = np.asarray(b.values) - np.asarray(b.analysed)
        rest = [i for i in range(len(moved)) if i not in head]
        assert not moved[rest].any()
        if b.frame_idx not in anchors:
            assert not moved.any()
        from_key = np.asarray(b.values) - key.values
        for i in head:
            assert abs(moved[i]) <= (MAX_STEPS + REFERENCE_START_LEVELS) * steps[i] + 1e-12
            assert min(abs(moved[i]), abs(from_key[i])) <= MAX_STEPS * steps[i] + 1e-12
