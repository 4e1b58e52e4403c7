"""Reading a picture's colours at backward-map positions: OpenCV's bilinear remap (Annex E.4,
G.5, H.4), or the clamped bicubic one of Annex H.8, which the correction stage (clause 8.6.2
step 3) uses too: the generators and the correction stage share this module.

The cubic convolution kernel (a = -0.75) has negative lobes, so near a sharp edge it
overshoots the samples around it: on a dark background next to a bright face it can reach 0,
a black pixel that no layer put there. The clamped kernel limits each cubic sample to
[lo, hi], the picture's 5x5 minimum and maximum (cv2.erode / cv2.dilate) at the pixel nearest
to the position (INTER_NEAREST remaps, a third of a bilinear one's cost): that window holds
the cubic kernel's 4x4 taps whichever way the position rounds, so the result stays within the
range of samples next to it and keeps the kernel's sharpness everywhere else.
"""
from __future__ import annotations

import cv2
import numpy as np

_WINDOW = np.ones((5, 5), np.uint8)     # holds the 4x4 cubic taps around the nearest pixel

Box = tuple[int, int, int, int]          # rows y0:y1, columns x0:x1


def support_box(mask: np.ndarray, margin: int) -> Box | None:
    """The bounding box of mask's nonzero pixels grown by margin pixels (clipped to the
    picture): where a sampled picture can still matter to a blend whose weight is mask blurred
    by a kernel of radius <= margin. None when mask is empty (KeySampler.sample then reads the
    whole picture, which nothing uses: correct, and rare)."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    h, w = mask.shape
    return (max(int(rows[0]) - margin, 0), min(int(rows[-1]) + 1 + margin, h),
            max(int(cols[0]) - margin, 0), min(int(cols[-1]) + 1 + margin, w))


def blur_margin(sigma: float) -> int:
    """More than the radius of cv2.GaussianBlur's kernel for sigma (float pictures: size
    round(8 sigma + 1) | 1, so radius <= 4 sigma + 1)."""
    return int(np.ceil(4.0 * sigma)) + 2


class KeySampler:
    """cv2.remap of one float32 picture (H x W x C) with a fixed kernel; INTER_CUBIC is clamped
    (Annex H.8 step 1), INTER_LINEAR is the plain remap."""

    def __init__(self, image: np.ndarray, interpolation: int = cv2.INTER_LINEAR) -> None:
        if interpolation not in (cv2.INTER_LINEAR, cv2.INTER_CUBIC):
            raise ValueError(f"KeySampler supports INTER_LINEAR and INTER_CUBIC, not {interpolation}")
        self.image = image
        self.interpolation = interpolation
        if interpolation == cv2.INTER_CUBIC:
            # default border: erode / dilate ignore the outside of the picture
            self._lo = cv2.erode(image, _WINDOW)
            self._hi = cv2.dilate(image, _WINDOW)

    def sample(self, map_x: np.ndarray, map_y: np.ndarray, border: int = cv2.BORDER_REPLICATE,
               box: Box | None = None) -> np.ndarray:
        """The picture read at (map_x, map_y) (float32 maps), taps outside it by ``border``.
        With box, only the pixels inside it are read (the same values: remap works pixel by
        pixel) and the rest are 0: for a caller that blends the result with weight 0 there."""
        if box is not None:
            y0, y1, x0, x1 = box
            out = np.zeros(map_x.shape + self.image.shape[2:], self.image.dtype)
            out[y0:y1, x0:x1] = self.sample(np.ascontiguousarray(map_x[y0:y1, x0:x1]),
                                            np.ascontiguousarray(map_y[y0:y1, x0:x1]), border)
            return out
        out = cv2.remap(self.image, map_x, map_y, self.interpolation, borderMode=border)
        if self.interpolation == cv2.INTER_LINEAR:
            return out
        lo = cv2.remap(self._lo, map_x, map_y, cv2.INTER_NEAREST, borderMode=border)
        hi = cv2.remap(self._hi, map_x, map_y, cv2.INTER_NEAREST, borderMode=border)
        np.maximum(out, lo, out=out)          # min(max(out, lo), hi), in place (no temporaries)
        np.minimum(out, hi, out=out)
        return out
