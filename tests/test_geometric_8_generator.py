"""ifvc-geometric-8 (spec Annex H.11): ifvc-geometric-7 whose person mask (Annex G.3) learns the
background model and the threshold's roughness from the rows above the key frame's chin; the
wall beside the head stays background where a dark jacket reaches the picture's sides below the
chin; ifvc-geometric-7's output wherever the two masks agree; the conformance stream."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from ifvc_synthesis.generators import ChinMaskMeshGenerator, ToneMouthMeshGenerator
from ifvc_synthesis.generators.person_mask import chin_row, derive_person_mask, face_frame, prior_masks
from tests.test_flow_generator import SUITE, check_suite_stream_on_1_and_2_threads
from tests.test_geometric_4_generator import check_registered_without_weights
from tests.test_layered_generator import H, W, key_values, textured_picture
from tests.test_mesh_generator import EXTREME_EDITS, I

STREAM = "face_head_move_geometric8_cabac"


def key_landmarks() -> np.ndarray:
    """The key positions (pixels) of the test key frame (geometry version 0: the posed canonical face)."""
    gen = ToneMouthMeshGenerator()
    gen.set_keyframe(textured_picture(), key_values(), b"", 0)
    assert gen.model is not None
    return gen.model.key_landmarks


def lit_wall_and_jacket(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A pale wall lit from behind the head (brighter towards it), a brown face filling the
    contour and a dark jacket across the whole picture from two rows below the chin: the
    picture, the wall beside the head above the chin (bool) and the jacket (bool)."""
    contour, c, fw, _, _, chin = face_frame(landmarks)
    y, x = np.mgrid[0:H, 0:W].astype(np.float64)
    light = 70.0 * np.exp(-((x - c[0]) ** 2 + (y - c[1]) ** 2) / (2 * (0.8 * fw) ** 2))
    rgb = np.stack([140 + light, 140 + light, 190 + 0.5 * light], axis=-1)
    face = np.zeros((H, W), np.uint8)
    cv2.fillPoly(face, [np.round(contour).astype(np.int32)], 1)
    rgb[face > 0] = (110, 75, 60)
    jacket = y >= chin + 2
    rgb[jacket] = (20, 20, 25)
    wall = (y < chin) & (cv2.dilate(face, np.ones((7, 7), np.uint8)) == 0)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8), wall, jacket


def test_registered_as_id_13_without_weights() -> None:
    check_registered_without_weights("ifvc-geometric-8", ChinMaskMeshGenerator, 13, "Annex H.11")
    assert ChinMaskMeshGenerator.mask_learnt_above_chin and not ToneMouthMeshGenerator.mask_learnt_above_chin
    assert ChinMaskMeshGenerator.mouth == ToneMouthMeshGenerator.mouth
    assert ChinMaskMeshGenerator.lids == ToneMouthMeshGenerator.lids


def test_the_wall_beside_the_head_stays_background_above_a_dark_jacket() -> None:
    """G.3 learns its background from the jacket as well, and takes most of the lit wall beside
    the head for person; H.11 learns it above the chin and leaves most of the wall background.
    The jacket that the possible person P holds is person in both."""
    lm = key_landmarks()
    picture, wall, jacket = lit_wall_and_jacket(lm)
    g3 = derive_person_mask(picture, lm).astype(bool)
    h11 = derive_person_mask(picture, lm, learn_above_chin=True).astype(bool)
    assert (g3 & wall).sum() > 0.4 * wall.sum()              # the defect is there
    assert (h11 & wall).sum() < 0.5 * (g3 & wall).sum()      # and mostly gone
    possible = prior_masks(lm, H, W)[1].astype(bool)
    in_p = possible & jacket
    assert in_p.sum() > 100
    assert (h11 & in_p).sum() >= 0.95 * in_p.sum() and (g3 & in_p).sum() >= 0.95 * in_p.sum()


def test_the_mask_is_g3s_when_nothing_is_below_the_chin() -> None:
    """A chin at or below the picture's last row cuts nothing, and a chin above the picture
    (cut 0) leaves no row to learn from, so B and the ring both fall back to G.3's: in both
    cases the two masks are equal."""
    lm = key_landmarks()
    picture = textured_picture()
    low = lm.copy()
    low[:, 1] += H - face_frame(lm)[5]                        # the chin on the bottom edge
    assert chin_row(low, H) == H
    assert np.array_equal(derive_person_mask(picture, low), derive_person_mask(picture, low, learn_above_chin=True))
    high = lm.copy()
    high[:, 1] -= face_frame(lm)[5] + 1.0                     # the whole face above row 0
    assert chin_row(high, H) == 0
    assert np.array_equal(derive_person_mask(picture, high), derive_person_mask(picture, high, learn_above_chin=True))


def flat_picture() -> np.ndarray:
    """An even grey background and a bright face disc (textured_picture's): every background
    model is the same grey, so the two masks are equal."""
    picture = textured_picture()
    picture[~(picture == (220, 170, 140)).all(axis=2)] = (90, 100, 110)
    return picture


def test_it_is_geometric_7_wherever_the_masks_agree() -> None:
    """With a key frame whose two masks are equal the outputs are equal under every extreme
    edit; with the lit wall they differ once the head moves, and never show a black pixel."""
    g7, g8 = ToneMouthMeshGenerator(), ChinMaskMeshGenerator()
    for gen in (g7, g8):
        gen.set_keyframe(flat_picture(), key_values(), b"", 0)
    assert np.array_equal(g7.person_mask, g8.person_mask)
    for element, offset in [("head_yaw", 0.0), *EXTREME_EDITS]:
        v = key_values()
        v[I[element]] += offset
        assert np.array_equal(g7.synthesize(v), g8.synthesize(v)), element
    picture = lit_wall_and_jacket(key_landmarks())[0]
    for gen in (g7, g8):
        gen.set_keyframe(picture, key_values(), b"", 0)
    assert not np.array_equal(g7.person_mask, g8.person_mask)
    assert cv2.PSNR(g8.synthesize(key_values()), picture) > 40    # at the key pose: the key frame
    v = key_values()
    v[I["head_tx"]] += 0.15
    a, b = g7.synthesize(v), g8.synthesize(v)
    assert (a != b).any()
    assert (b.max(axis=2) > 0).all()                               # no black pixel


def test_the_suites_head_move_stream_decodes_to_its_listed_frames_on_1_and_2_threads() -> None:
    description = json.loads((SUITE / f"{STREAM}.json").read_text())
    assert description["generator"]["sha256"] == "00" * 32
    check_suite_stream_on_1_and_2_threads(STREAM, "ifvc-geometric-8")


def test_the_suites_head_move_stream_differs_from_geometric_7_once_the_head_moves() -> None:
    """face_head_move_geometric8_cabac: the key frame's two masks differ, so once the person
    layer moves the outputs differ; the key picture itself is the same."""
    pytest.importorskip("imageio_ffmpeg")                   # its VVC key frame
    from ifvc_synthesis.generators import get_generator
    from ref_decoder.decoder import Decoder
    data = (SUITE / f"{STREAM}.ifvc").read_bytes()
    g7 = list(Decoder(generator=get_generator("ifvc-geometric-7")).decode(data))
    g8 = list(Decoder(generator=get_generator("ifvc-geometric-8")).decode(data))
    assert np.array_equal(g7[0].rgb, g8[0].rgb)
    assert sum(int((a.rgb != b.rgb).any()) for a, b in zip(g7, g8, strict=True)) >= 10
