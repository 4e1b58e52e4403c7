"""ref_encoder/ecc_translation.py: the ECC translation that measures the background displacement
(Annex B.3a) finds what OpenCV's findTransformECC finds, step for step."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ref_encoder.ecc_translation import AlignmentError, find_translation

CRITERIA = cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT


def _pictures(seed: int, size: int, shift: tuple[float, float], hole: bool) -> tuple[np.ndarray, ...]:
    """A smooth texture, the same texture moved by shift (plus noise), and a mask with a hole
    where a 'person' would be."""
    rng = np.random.default_rng(seed)
    texture = cv2.GaussianBlur(rng.random((size + 16, size + 16)).astype(np.float32) * 255, (0, 0), 2.5)
    moved = cv2.warpAffine(texture, np.float32([[1, 0, shift[0]], [0, 1, shift[1]]]), texture.shape[::-1],
                           flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    template = (moved[8:-8, 8:-8] + rng.normal(0, 1.5, (size, size))).astype(np.float32)
    mask = np.full((size, size), 255, np.uint8)
    if hole:
        mask[size // 4: 3 * size // 4, size // 3: 2 * size // 3] = 0
    return template, texture[8:-8, 8:-8].copy(), mask


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), size=st.sampled_from([32, 64, 128]),
       dx=st.floats(-3, 3), dy=st.floats(-3, 3), hole=st.booleans(),
       start=st.tuples(st.floats(-1, 1), st.floats(-1, 1)), iterations=st.sampled_from([1, 5, 60]),
       eps=st.sampled_from([1e-4, 1e-3]), blur=st.sampled_from([1, 3, 5]))
def test_the_translation_is_opencvs(seed: int, size: int, dx: float, dy: float, hole: bool,
                                    start: tuple[float, float], iterations: int, eps: float, blur: int) -> None:
    template, image, mask = _pictures(seed, size, (dx, dy), hole)
    warp = np.float32([[1, 0, start[0]], [0, 1, start[1]]])
    try:
        _, expected = cv2.findTransformECC(template, image, warp.copy(), cv2.MOTION_TRANSLATION,
                                           (CRITERIA, iterations, eps), mask, blur)
    except cv2.error:
        with pytest.raises(AlignmentError):
            find_translation(template, image, warp, iterations, eps, mask, blur)
        return
    found = find_translation(template, image, warp, iterations, eps, mask, blur)
    assert found.dtype == np.float32 and np.array_equal(found[:, :2], np.eye(2, dtype=np.float32))
    assert np.abs(found - expected).max() < 1e-3
    assert np.array_equal(warp, np.float32([[1, 0, start[0]], [0, 1, start[1]]]))    # start untouched


def test_it_finds_a_known_shift_and_refuses_what_it_cannot_align() -> None:
    template, image, mask = _pictures(7, 64, (1.75, -0.5), hole=True)
    found = find_translation(template, image, np.eye(2, 3, dtype=np.float32), 60, 1e-4, mask, 3)
    # image(x + t) ~ template(x) = texture(x - shift): t = -shift
    assert found[:, 2] == pytest.approx([-1.75, 0.5], abs=0.1)
    with pytest.raises(AlignmentError, match="no sample"):
        find_translation(template, image, np.eye(2, 3, dtype=np.float32), 5, 1e-4, np.zeros_like(mask), 3)
    flat = np.full_like(image, 100.0)
    with pytest.raises(AlignmentError):
        find_translation(template, flat, np.eye(2, 3, dtype=np.float32), 5, 1e-4, mask, 3)
