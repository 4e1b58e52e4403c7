"""Background displacement bg_tx, bg_ty (Table 3, spec 1.2; measurement: Annex B.3a; informative).

A camera that pans or tilts, or a source that was cropped around a moving face, moves the
whole background; the layered generators (Annex G.5a) then move their still plate by what the
stream signals. The encoder measures it on the source pictures:

- reference: the source picture of the newest key frame (the first one at first), with its
  own signalled displacement; every estimate is relative to it, so the estimate never drifts
  further than one key-frame interval;
- background: the pixels that are person in neither picture: the reference's possible person
  region (the prior P of Annex G.3: face shell, neck and body, before the refinement that may
  drop a dark suit on a dark background) and the same region moved by the face centre's
  displacement (landmark centroids), both grown by MASK_GROWTH pixels;
- displacement: a translation found by enhanced-correlation alignment (ecc_translation.py:
  OpenCV's findTransformECC, step for step) of the grey pictures over that background, started
  from the previous frame's estimate, coarse to fine (at a quarter and at half the picture size
  for 256 x 256); where alignment fails, or too little background is left, the previous
  estimate is kept;
- the result moves only when it differs from the last one by more than HOLD_PX pixels, so
  measurement noise on a still background codes as zero residuals, and only when most
  background tiles fit it better than the last one (a person part that the mask misses, such
  as hair at the top of the picture, moves one region, not the background).
"""
from __future__ import annotations

import cv2
import numpy as np

from bitstream.semantic_elements import BG_TX_ID, BG_TY_ID
from ifvc_synthesis.generators.person_mask import derive_person_mask

from .ecc_translation import AlignmentError, find_translation

MASK_GROWTH = 8              # pixels added around both person masks
MIN_BACKGROUND_SHARE = 0.08  # less background than this share of the picture: keep the last estimate
HOLD_PX = 0.75               # a new estimate within this many pixels of the last one is not taken
ECC_ITERATIONS = 60
ECC_EPS = 1e-4
ECC_BLUR = 3                 # Gaussian pre-filter of the alignment (pixels of the reduced picture)
ALIGN_SIZE = 128             # the alignment runs on pictures reduced to at most this many pixels a side
TILE = 16                    # tiles (pixels of the alignment picture) that vote on a new shift
TILE_BACKGROUND = 0.75       # a tile votes when at least this share of it is background
TILE_MAJORITY = 2 / 3        # share of the voting tiles that must fit the new shift better
MIN_TILES = 4                # fewer voting tiles: keep the last estimate


class BackgroundMotion:
    """Per-frame bg_tx, bg_ty (picture widths / heights) of a sequence, in coding order."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        scale = min(1.0, ALIGN_SIZE / max(width, height))
        # the alignment levels, coarse to fine: (size, kx, ky) at half the alignment size and at it
        self._levels = []
        for k in (scale / 2, scale):
            size = (max(int(round(width * k)), 8), max(int(round(height * k)), 8))
            self._levels.append((size, size[0] / width, size[1] / height))
        self._ref_levels: list[np.ndarray] | None = None   # the reference's grey picture per level
        self._ref_mask: np.ndarray | None = None
        self._ref_centre: np.ndarray | None = None
        self._ref_value = np.zeros(2)            # the reference's signalled (bg_tx, bg_ty)
        self._shift = np.zeros(2)                # last estimate, pixels (reference -> frame)
        self._grow = np.ones((2 * MASK_GROWTH + 1,) * 2, np.uint8)
        self.failures = 0                        # frames whose alignment failed (held)
        self.rejected = 0                        # new shifts that the tiles did not agree with (held)

    def set_reference(self, rgb: np.ndarray, landmarks: np.ndarray | None, value: np.ndarray) -> None:
        """The newest key frame's source picture, its landmarks (N x 2+, pixels; None: no face)
        and the displacement its key-frame unit signals."""
        grey = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
        self._ref_levels = [cv2.resize(grey, size, interpolation=cv2.INTER_AREA).astype(np.float32)
                            for size, _, _ in self._levels]
        if landmarks is None:
            self._ref_mask = np.zeros((self.height, self.width), np.uint8)
            self._ref_centre = None
        else:
            pts = np.asarray(landmarks, np.float64)[:, :2]
            # the prior P of Annex G.3 (face shell, neck and body), not the refined mask: the
            # refinement drops a dark suit on a dark background, which then moves with the person
            self._ref_mask = cv2.dilate(derive_person_mask(np.ascontiguousarray(rgb), pts, refine=False), self._grow)
            self._ref_centre = pts.mean(axis=0)
        self._ref_value = np.asarray(value, np.float64).copy()
        self._shift = np.zeros(2)

    def estimate(self, rgb: np.ndarray, landmarks: np.ndarray | None) -> np.ndarray:
        """(bg_tx, bg_ty) of this frame."""
        if self._ref_levels is None or self._ref_mask is None:
            raise RuntimeError("BackgroundMotion.estimate before set_reference")
        person = self._ref_mask
        if landmarks is not None and self._ref_centre is not None:
            d = np.asarray(landmarks, np.float64)[:, :2].mean(axis=0) - self._ref_centre
            moved = cv2.warpAffine(self._ref_mask, np.float32([[1, 0, d[0]], [0, 1, d[1]]]),
                                   (self.width, self.height), flags=cv2.INTER_NEAREST)
            person = np.maximum(person, moved)
        background = (person == 0).astype(np.uint8)
        if background.mean() >= MIN_BACKGROUND_SHARE:
            aligned = self._align(rgb, background)
            if aligned is None:
                self.failures += 1
            else:
                shift, pictures = aligned
                if np.max(np.abs(shift - self._shift)) > HOLD_PX:
                    if self._tiles_agree(shift, *pictures):
                        self._shift = shift
                    else:
                        self.rejected += 1
        return self._ref_value + self._shift / np.array([self.width, self.height], np.float64)

    def _tiles_agree(self, shift: np.ndarray, frame: np.ndarray, ref: np.ndarray, mask: np.ndarray,
                     kx: float, ky: float) -> bool:
        """Whether the new shift fits the background better than the last one on at least
        TILE_MAJORITY of the tiles (TILE pixels of the alignment picture) that are mostly
        background: a person part that the mask misses (hair at the top of the picture, a
        dark suit) moves one region only, and must not move the whole background."""
        h, w = frame.shape

        def residual(s: np.ndarray) -> np.ndarray:
            m = np.float32([[1, 0, s[0] * kx], [0, 1, s[1] * ky]])
            return np.abs(cv2.warpAffine(ref, m, (w, h), flags=cv2.INTER_LINEAR,
                                         borderMode=cv2.BORDER_REPLICATE) - frame)

        new, old = residual(shift), residual(self._shift)
        wins = votes = 0
        for y in range(0, h - TILE + 1, TILE):
            for x in range(0, w - TILE + 1, TILE):
                m = mask[y:y + TILE, x:x + TILE] > 0
                if m.mean() < TILE_BACKGROUND:
                    continue
                votes += 1
                wins += int(new[y:y + TILE, x:x + TILE][m].mean() < old[y:y + TILE, x:x + TILE][m].mean())
        return votes >= MIN_TILES and wins >= TILE_MAJORITY * votes

    def _align(self, rgb: np.ndarray, background: np.ndarray
               ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray, float, float]] | None:
        """The background's translation from the reference to rgb (pixels), coarse to fine:
        at half the alignment size, then at the alignment size, with the pictures of the last
        level (frame, reference, mask, kx, ky); None where it fails."""
        assert self._ref_levels is not None
        shift = self._shift.copy()
        grey = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
        for (size, kx, ky), b in zip(self._levels, self._ref_levels):
            mask = cv2.resize(background, size, interpolation=cv2.INTER_NEAREST) * 255
            a = cv2.resize(grey, size, interpolation=cv2.INTER_AREA).astype(np.float32)
            warp = np.float32([[1, 0, -shift[0] * kx], [0, 1, -shift[1] * ky]])
            try:
                warp = find_translation(a, b, warp, ECC_ITERATIONS, ECC_EPS, mask, ECC_BLUR)
            except AlignmentError:
                return None
            # ECC: reference(x + w) ~ frame(x), so the background moved by -w
            shift = -np.array([warp[0, 2] / kx, warp[1, 2] / ky], np.float64)
        return (shift, (a, b, mask, kx, ky)) if np.all(np.isfinite(shift)) else None


def signals_background(element_ids: list[int]) -> bool:
    """Whether an element set carries the background displacement (both elements)."""
    return BG_TX_ID in element_ids and BG_TY_ID in element_ids
