"""The key frame's person mask of "ifvc-geometric-2" (Annex G.3), derived at the decoder.

The decoder has the decoded key frame and the key-frame geometry (landmark subset, Annex
E.2); from them it derives, deterministically, which pixels show the person (head, hair,
ears, neck, shoulders) and which the static background:

1. sure person S: the face contour scaled by SURE_FACE_SCALE about its centre, and a neck
   column under the chin;
2. possible person P: the contour scaled by SHELL_SCALE (hair, ears), and a body region
   that widens from the neck to the shoulders and runs to the bottom of the picture;
3. a smooth background model B: the key frame (3x3 box blur) outside P, filled inside P by
   push-pull (background_fill.py) from the level BACKGROUND_LEVEL pyramid (coarse, so that
   background texture does not follow into P);
4. in P minus S a pixel is person where its colour differs from B by more than the
   threshold T (max over R, G, B of |blur - B|; T from the background's own roughness);
5. clean-up: 5x5 opening, 5x5 closing, outline smoothing (Gaussian, sigma 2, threshold 1/2),
   only the connected parts that touch S, holes filled.

ifvc-geometric-8 (Annex H.11) learns steps 3 and 4 from the rows above the key frame's chin
only (learn_above_chin): below it a dark jacket that reaches the picture's sides would carry its
colour into B beside the head, and a lit wall there would become person.

Everything is OpenCV integer morphology and float32 arithmetic in a fixed order, with no
random numbers and no threads. tools/person_mask_study.py compares the result with
MediaPipe's selfie segmentation (the encoder-side alternative, Annex G.3 note).
"""
from __future__ import annotations

import cv2
import numpy as np

from ..idi import CONTOUR_IDS, _idx
from .background_fill import _halve, push_pull_fill

SURE_FACE_SCALE = 1.05       # the face oval itself is person
SHELL_SCALE = (1.75, 1.85)   # hair and ears: contour scale (x, up); below the eyes it is x only
NECK_HALF_WIDTH = 0.32       # of the face width
NECK_LENGTH = 0.35           # of the face height, below the chin
BODY_TOP = 0.25              # the body region starts this far (face heights) below the chin ...
BODY_HALF_WIDTH = (0.5, 1.9)  # ... with this half width (face widths), widening to the second
BODY_WIDEN = 0.8             # ... over this many face heights
BACKGROUND_LEVEL = 3         # pyramid level of the background model (1/8 resolution)
THRESHOLD_MIN, THRESHOLD_MAX = 14.0, 40.0   # colour difference threshold bounds (levels)
OPEN_SIZE, CLOSE_SIZE = 5, 5  # clean-up kernels (pixels)
SMOOTH_SIGMA = 2.0           # outline smoothing before the final threshold at 1/2
THRESHOLD_GAIN = 2.5         # T = gain x the mean difference just outside P (the roughness)


def face_frame(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float, float, float]:
    """(contour (36, 2), its centre, face width, face height, forehead y, chin y) in key pixels."""
    contour = landmarks[_idx(CONTOUR_IDS)].astype(np.float64)
    centre = contour.mean(axis=0)
    width = float(contour[:, 0].max() - contour[:, 0].min())
    top, chin = float(contour[:, 1].min()), float(contour[:, 1].max())
    return contour, centre, max(width, 1.0), max(chin - top, 1.0), top, chin


def chin_row(landmarks: np.ndarray, height: int) -> int:
    """Annex H.11's cut: the row that holds the key frame's chin, floor(v_chin) clipped to 0..H
    (H: nothing is left out). Below it a person's shirt or suit may reach the picture's sides, where
    Annex G.3 would take it for background (ifvc-geometric-8 learns the background above it)."""
    chin = face_frame(landmarks)[5]
    return int(np.clip(np.floor(chin), 0, height))


def _fill(mask: np.ndarray, poly: np.ndarray) -> None:
    cv2.fillPoly(mask, [np.round(poly * 16).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=4)


def prior_masks(landmarks: np.ndarray, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(S, P): the sure and the possible person regions (HxW uint8, 0/1), steps 1 and 2."""
    contour, c, fw, fh, _, chin = face_frame(landmarks)
    sure = np.zeros((height, width), np.uint8)
    possible = np.zeros((height, width), np.uint8)
    _fill(sure, c + (contour - c) * SURE_FACE_SCALE)
    neck = np.array([[c[0] - NECK_HALF_WIDTH * fw, chin - 0.15 * fh], [c[0] + NECK_HALF_WIDTH * fw, chin - 0.15 * fh],
                     [c[0] + NECK_HALF_WIDTH * fw, chin + NECK_LENGTH * fh],
                     [c[0] - NECK_HALF_WIDTH * fw, chin + NECK_LENGTH * fh]])
    _fill(sure, neck)
    rel = contour - c
    shell = c + rel * np.where(rel[:, 1:2] < 0, np.array(SHELL_SCALE), np.array([SHELL_SCALE[0], 1.1]))
    _fill(possible, shell)
    y0, y1 = chin + BODY_TOP * fh, chin + (BODY_TOP + BODY_WIDEN) * fh
    bottom = max(float(height) + 1.0, y1 + 1.0)
    body = np.array([[c[0] - 0.5 * fw, chin - 0.2 * fh], [c[0] + 0.5 * fw, chin - 0.2 * fh],
                     [c[0] + BODY_HALF_WIDTH[0] * fw, y0], [c[0] + BODY_HALF_WIDTH[1] * fw, y1],
                     [c[0] + BODY_HALF_WIDTH[1] * fw, bottom], [c[0] - BODY_HALF_WIDTH[1] * fw, bottom],
                     [c[0] - BODY_HALF_WIDTH[1] * fw, y1], [c[0] - BODY_HALF_WIDTH[0] * fw, y0]])
    _fill(possible, body)
    possible |= sure
    return sure, possible


def _coarse_background(blur: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Step 3: push-pull fill of the background, then its level BACKGROUND_LEVEL detail only."""
    filled = push_pull_fill(blur, known)
    small = filled
    for _ in range(BACKGROUND_LEVEL):
        if min(small.shape[:2]) <= 2:
            break
        small = _halve(small)
    h, w = blur.shape[:2]
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR).reshape(h, w, 3)


def derive_person_mask(key_rgb: np.ndarray, landmarks: np.ndarray, *, refine: bool = True,
                       learn_above_chin: bool = False) -> np.ndarray:
    """The key frame's person mask, HxW uint8 (1 = person). refine=False: the prior P alone.
    learn_above_chin=True: steps 3 and 4 as Annex H.11 has them (ifvc-geometric-8): the
    background model and the roughness are learnt from the rows above the key frame's chin."""
    h, w = key_rgb.shape[:2]
    sure, possible = prior_masks(landmarks, h, w)
    if not refine:
        return possible
    blur = cv2.blur(key_rgb.astype(np.float32), (3, 3), borderType=cv2.BORDER_REPLICATE)
    known = (1 - possible).astype(np.float32)
    cut = chin_row(landmarks, h) if learn_above_chin else h
    if cut < h:
        above = known.copy()
        above[cut:] = 0
        if above.sum() >= 16:
            known = above
    if known.sum() < 16:                       # no background to learn from: the prior
        return possible
    bg = _coarse_background(blur, known)
    diff = np.abs(blur - bg).max(axis=2)
    ring = cv2.dilate(possible, np.ones((9, 9), np.uint8)) & (1 - possible)
    if cut < h and ring[:cut].any():
        ring[cut:] = 0
    rough = float(diff[ring > 0].mean()) if ring.any() else 0.0
    threshold = float(np.clip(THRESHOLD_GAIN * rough, THRESHOLD_MIN, THRESHOLD_MAX))
    return clean_up(possible & (diff > threshold).astype(np.uint8), sure, possible)


def clean_up(candidate: np.ndarray, sure: np.ndarray, possible: np.ndarray) -> np.ndarray:
    """Step 5 on the pixels of P that step 4 takes as person (HxW uint8 0/1 each): with S added,
    5x5 opening, 5x5 closing, the outline smoothed, kept within P, only the connected parts
    that touch S, holes filled."""
    mask = (sure | candidate).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((OPEN_SIZE,) * 2, np.uint8))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((CLOSE_SIZE,) * 2, np.uint8))
    # a smooth outline: ragged bits of a textured background would move with the head
    smooth = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), SMOOTH_SIGMA, borderType=cv2.BORDER_REPLICATE)
    mask = (smooth >= 0.5).astype(np.uint8)
    mask = (mask | sure) & possible
    n, labels = cv2.connectedComponents(mask, connectivity=8)
    keep = np.zeros(n, bool)
    keep[np.unique(labels[(sure > 0) & (mask > 0)])] = True
    keep[0] = False
    mask = keep[labels].astype(np.uint8)
    return _fill_holes(mask)


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """Background pixels not connected (4-connected) to the picture border become person."""
    h, w = mask.shape
    padded = np.zeros((h + 2, w + 2), np.uint8)
    padded[1:-1, 1:-1] = mask
    flood = padded.copy()
    cv2.floodFill(flood, np.zeros((h + 4, w + 4), np.uint8), (0, 0), 1, flags=4)
    holes = (flood == 0)[1:-1, 1:-1]
    return (mask | holes.astype(np.uint8)).astype(np.uint8)
