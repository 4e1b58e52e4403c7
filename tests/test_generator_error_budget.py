"""tools/generator_error_budget.py: the definitions its measures rest on (the five regions,
the pooled PSNR, the camera fit)."""
from __future__ import annotations

import cv2
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bitstream.geometry_payload import GP_LANDMARK_IDS
from bitstream.semantic_elements import SEMANTIC_ELEMENTS
from ifvc_synthesis.generators import get_generator
from tools.generator_error_budget import REGIONS, Accumulator, camera_similarity, regions


def _face_landmarks(shift: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """The canonical key geometry's landmark subset of a synthetic key frame (pixels)."""
    gen = get_generator("ifvc-geometric-1")
    v = np.zeros(len(SEMANTIC_ELEMENTS))
    gen.set_keyframe(np.full((128, 128, 3), 128, np.uint8), v, b"", 0)
    single = getattr(gen, "newest", gen)
    return single.model.key_landmarks + np.asarray(shift)


@settings(derandomize=True, max_examples=25, deadline=None)
@given(st.floats(-20, 20), st.floats(-20, 20), st.integers(0, 2 ** 16))
def test_regions_are_disjoint_and_cover_the_picture(dx: float, dy: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    person = rng.random((128, 128)) < 0.3
    reg = regions(_face_landmarks((dx, dy)), person, 128)
    assert set(reg) == set(REGIONS)
    count = sum(m.astype(int) for m in reg.values())
    assert (count == 1).all()
    assert reg["mouth"].any() and reg["eyes"].any()
    assert not (reg["background"] & person).any()


def test_pooled_psnr_weights_frames_by_their_samples() -> None:
    a = np.zeros((4, 4, 3), np.uint8)
    acc = Accumulator()
    acc.add(a, a + 10)                       # MSE 100
    acc.add(a, a)                            # MSE 0: pooled MSE 50
    assert abs(acc.psnr - 10 * np.log10(255 ** 2 / 50)) < 1e-9
    half = np.zeros((4, 4), bool)
    half[:2] = True
    masked = Accumulator()
    masked.add(a, a + np.where(half[..., None], 2, 40).astype(np.uint8), half)
    assert abs(masked.psnr - 10 * np.log10(255 ** 2 / 4)) < 1e-9


def test_camera_fit_recovers_a_known_shift() -> None:
    rng = np.random.default_rng(7)
    texture = cv2.GaussianBlur(rng.integers(0, 255, (160, 160, 3)).astype(np.uint8), (0, 0), 1.5)
    first = np.ascontiguousarray(texture[16:144, 16:144])
    moved = np.ascontiguousarray(texture[13:141, 20:148])    # the camera moved: content 4 px left, 3 px down
    sim = camera_similarity(first, moved, np.ones((128, 128), bool))
    assert sim is not None
    # frame t's pixel (x, y) shows the first frame's (x + 4, y - 3)
    assert np.allclose(sim[:, :2], np.eye(2), atol=0.02)
    assert np.allclose(sim[:, 2], (4.0, -3.0), atol=0.3)
    assert camera_similarity(first, moved, np.zeros((128, 128), bool)) is None


def test_coded_sequences_skips_missing_clips_and_reuses_cached_streams(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from tools.generator_compare import coded_sequences
    seqs, work = tmp_path / "seqs", tmp_path / "work"
    seqs.mkdir()
    (seqs / "a_256x256_25_8bit_444.rgb").write_bytes(b"\0" * 10)
    work.mkdir()
    cached = work / "a_qp32_f5.ifvc"
    cached.write_bytes(b"cached")                     # present: the encoder is not run
    got = list(coded_sequences(["a", "b"], seqs, work, 32, 5))
    assert got == [("a", seqs / "a_256x256_25_8bit_444.rgb", cached)]
    assert cached.read_bytes() == b"cached"
    assert "skip b:" in capsys.readouterr().err
