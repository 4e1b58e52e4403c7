"""Translation by enhanced-correlation alignment (informative; the measurement of the background
displacement, Annex B.3a): the ECC algorithm of Evangelidis and Psarakis (IEEE TPAMI 30(10),
2008) for a pure translation, step for step as OpenCV's findTransformECC runs it with
MOTION_TRANSLATION, so that it finds the same translations (background_motion.py used OpenCV's
until 2026-12-06; on 35 clips of 100 frames every estimate agreed to 1e-4 pixels).

Why not OpenCV's own: on the encoder's 64- and 128-pixel alignment pictures this one takes
about a third of its time (the whole estimator: 14-18 ms a frame before, 6 after;
docs/results/encoder_speed_2026-12-06).

Steps (OpenCV's, in its order):
1. Both pictures are smoothed by a blur x blur Gaussian. The mask becomes 0/1, is smoothed by the
   same Gaussian, scaled by 0.5/0.95 and rounded, so only samples whose neighbourhood lies in
   the mask stay (an erosion).
2. The gradients of the moving picture (central differences) are taken once and masked.
3. Each iteration, while the correlation changed by eps or more and at most ``iterations``
   times: the picture, its gradients (bilinear) and the mask (nearest) are sampled at x + t;
   the zero-mean correlation rho over the sampled mask is formed; the Gauss-Newton update of t
   with ECC's illumination factor lambda is added to t.
Sums are float64 in einsum (no BLAS: the same result on any thread count).
"""
from __future__ import annotations

import cv2
import numpy as np


class AlignmentError(ValueError):
    """The alignment cannot go on (no texture, no overlap, or it would minimise the correlation)."""


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.einsum("i,i->", a, b))


def find_translation(template: np.ndarray, image: np.ndarray, start: np.ndarray, iterations: int, eps: float,
                     mask: np.ndarray, blur: int) -> np.ndarray:
    """The 2 x 3 float32 warp [[1, 0, tx], [0, 1, ty]] with image(x + t) ~ template(x) over the
    mask (template's geometry; non-zero: use), from ``start`` (2 x 3): what
    cv2.findTransformECC(template, image, start, cv2.MOTION_TRANSLATION,
    (EPS | COUNT, iterations, eps), mask, blur) returns. AlignmentError where OpenCV's raises."""
    h, w = template.shape
    tmpl = cv2.GaussianBlur(template.astype(np.float32), (blur, blur), 0, 0).astype(np.float64).ravel()
    pre = np.rint(cv2.GaussianBlur((mask > 0).astype(np.float32), (blur, blur), 0, 0)
                  * np.float32(0.5 / 0.95)).astype(np.uint8)
    img = cv2.GaussianBlur(image.astype(np.float32), (blur, blur), 0, 0)
    central = np.array([[-0.5, 0.0, 0.5]], np.float32)
    gx = cv2.filter2D(img, -1, central) * pre
    gy = cv2.filter2D(img, -1, central.T) * pre
    warp = np.asarray(start, np.float32).copy()
    rho, last = -1.0, -eps
    linear, nearest = cv2.INTER_LINEAR + cv2.WARP_INVERSE_MAP, cv2.INTER_NEAREST + cv2.WARP_INVERSE_MAP
    for _ in range(iterations):
        if abs(rho - last) < eps:
            break
        warped = cv2.warpAffine(img, warp, (w, h), flags=linear).astype(np.float64).ravel()
        jx = cv2.warpAffine(gx, warp, (w, h), flags=linear).astype(np.float64).ravel()
        jy = cv2.warpAffine(gy, warp, (w, h), flags=linear).astype(np.float64).ravel()
        m = cv2.warpAffine(pre, warp, (w, h), flags=nearest).ravel().astype(np.float64)
        n = _dot(m, m)
        if n == 0:
            raise AlignmentError("ECC: the mask leaves no sample")
        # zero-mean inside the mask; outside it the template is 0 and the picture keeps its value
        # (OpenCV's masked subtract), which only the projections on the gradients see
        zi = warped - _dot(warped, m) / n * m
        zt = (tmpl - _dot(tmpl, m) / n) * m
        img_norm = np.sqrt(_dot(zi * m, zi))
        tmp_norm = np.sqrt(_dot(zt, zt))
        hxx, hxy, hyy = _dot(jx, jx), _dot(jx, jy), _dot(jy, jy)
        det = hxx * hyy - hxy * hxy
        if not det > 0:
            raise AlignmentError("ECC: no gradient to align on")
        inverse = np.array([[hyy, -hxy], [-hxy, hxx]]) / det
        correlation = _dot(zt, zi)
        last, rho = rho, correlation / (img_norm * tmp_norm)
        if np.isnan(rho):
            raise AlignmentError("ECC: NaN encountered")
        image_proj = np.array([_dot(jx, zi), _dot(jy, zi)])
        template_proj = np.array([_dot(jx, zt), _dot(jy, zt)])
        weighted = inverse @ image_proj
        lambda_d = correlation - template_proj @ weighted
        if lambda_d <= 0.0:
            raise AlignmentError("ECC: the correlation would be minimised (pictures uncorrelated)")
        error = (img_norm * img_norm - image_proj @ weighted) / lambda_d * zt - zi
        step = inverse @ np.array([_dot(jx, error), _dot(jy, error)])
        warp[0, 2] += np.float32(step[0])
        warp[1, 2] += np.float32(step[1])
    return warp
