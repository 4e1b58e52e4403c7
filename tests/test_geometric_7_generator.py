"""ifvc-geometric-7 (spec Annex H.10): ifvc-geometric-6 with H.5's mouth interior toned lighter
and greyer, its depth smoothed, its edges and the neutral teeth band feathered with sigma 1.0,
the neutral band at half the fill's opacity; ifvc-geometric-6's output wherever the mouth does
not open wider than the key frame's; the conformance stream."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from ifvc_synthesis.generators import CleanLidMeshGenerator, ToneMouthMeshGenerator
from ifvc_synthesis.generators.mesh_features import GEOMETRIC_3_MOUTH, GEOMETRIC_7_MOUTH, MouthStyle
from ifvc_synthesis.idi import INNER_LIP_RING, TargetGeometry, _idx
from tests.test_flow_5_generator import ring_neighbourhood
from tests.test_flow_generator import SUITE, check_suite_stream_on_1_and_2_threads
from tests.test_geometric_4_generator import check_registered_without_weights
from tests.test_layered_generator import key_values, textured_picture
from tests.test_mesh_generator import EXTREME_EDITS, I

STREAM = "face_mouth_geometric7_cabac"


def mouth_neighbourhood(tg: TargetGeometry, shape: tuple[int, ...]) -> np.ndarray:
    """The target inner-lip ring's box grown by half the mouth's width (bool, shape[:2])."""
    return ring_neighbourhood(tg, INNER_LIP_RING, shape)


def ring_mean(image: np.ndarray, tg: TargetGeometry) -> np.ndarray:
    """Mean RGB over the pixels whose centres lie inside the target inner-lip ring."""
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(tg.landmarks[_idx(INNER_LIP_RING)]).astype(np.int32)], 1)
    return image[mask > 0].reshape(-1, 3).mean(axis=0)


def test_registered_as_id_12_without_weights() -> None:
    check_registered_without_weights("ifvc-geometric-7", ToneMouthMeshGenerator, 12, "Annex H.10")
    assert CleanLidMeshGenerator.mouth == GEOMETRIC_3_MOUTH == MouthStyle()
    assert ToneMouthMeshGenerator.mouth == GEOMETRIC_7_MOUTH != GEOMETRIC_3_MOUTH
    assert ToneMouthMeshGenerator.lids == CleanLidMeshGenerator.lids


def test_it_is_geometric_6_wherever_the_mouth_does_not_open() -> None:
    """On a textured key frame, at the key pose, under every extreme edit and with an eye shut
    (the mouth as in the key frame) the outputs are identical; with the mouth opened they differ,
    only near the mouth, and the cavity is lighter and less red than geometric-6's."""
    g6, g7 = CleanLidMeshGenerator(), ToneMouthMeshGenerator()
    for gen in (g6, g7):
        gen.set_keyframe(textured_picture(), key_values(), b"", 0)
    for element, offset in [("head_yaw", 0.0), *EXTREME_EDITS, ("eye_blink_left", -1.0)]:
        v = key_values()
        v[I[element]] += offset
        assert g7.target_geometry(v).mouth_gap_target <= g7.target_geometry(v).mouth_gap_key
        assert np.array_equal(g6.synthesize(v), g7.synthesize(v)), element
    v = key_values()
    v[I["mouth_open"]] += 0.25
    tg = g7.target_geometry(v)
    a, b = g6.synthesize(v), g7.synthesize(v)
    changed = (a != b).any(axis=2)
    assert changed.any() and not (changed & ~mouth_neighbourhood(tg, changed.shape)).any()
    m6, m7 = ring_mean(a.astype(np.float64), tg), ring_mean(b.astype(np.float64), tg)
    assert m7.mean() > m6.mean() + 10                         # lighter
    assert (m7[0] - m7[1:].mean()) / m7.mean() < (m6[0] - m6[1:].mean()) / m6.mean()   # and greyer


def test_the_suites_mouth_stream_decodes_to_its_listed_frames_on_1_and_2_threads() -> None:
    description = json.loads((SUITE / f"{STREAM}.json").read_text())
    assert description["generator"]["sha256"] == "00" * 32
    check_suite_stream_on_1_and_2_threads(STREAM, "ifvc-geometric-7")


def test_the_suites_mouth_stream_opens_the_mouth_and_differs_from_geometric_6_only_there() -> None:
    """face_mouth_geometric7_cabac: the frames whose mouth is no wider than the key frame's decode
    as with ifvc-geometric-6; at least 10 frames open it, and they differ near the mouth only."""
    pytest.importorskip("imageio_ffmpeg")                   # its VVC key frame
    from ifvc_synthesis.generators import get_generator
    from ref_decoder.decoder import Decoder
    data = (SUITE / f"{STREAM}.ifvc").read_bytes()
    g6 = list(Decoder(generator=get_generator("ifvc-geometric-6")).decode(data))
    gen7 = get_generator("ifvc-geometric-7")
    g7 = list(Decoder(generator=gen7).decode(data))
    opened = 0
    for a, b in zip(g6, g7, strict=True):
        tg = gen7.target_geometry(np.asarray(a.values))
        changed = (a.rgb != b.rgb).any(axis=2)
        if tg.mouth_gap_target <= tg.mouth_gap_key:
            assert not changed.any()
            continue
        opened += int(changed.any())
        assert not (changed & ~mouth_neighbourhood(tg, changed.shape)).any()
    assert opened >= 10
