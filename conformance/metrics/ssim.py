"""SSIM (Wang et al. 2004) through scikit-image, on BT.709 luma or per RGB channel.

Settings follow the original paper rather than scikit-image's defaults: an 11x11
Gaussian window with sigma 1.5, population (not sample) covariance, K1 0.01, K2 0.03,
data range 255. ``ssim_y`` works on float BT.709 luma (as PSNR-Y; the GFVC default),
``ssim_rgb`` averages the SSIM of R, G and B.
"""
from __future__ import annotations

import numpy as np
from skimage.metrics import structural_similarity

from .frames import Frames, check_pair, check_sequences
from .psnr import rgb_to_y_bt709

_SETTINGS = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255.0)


def _check_size(frame: np.ndarray) -> None:
    if min(frame.shape[:2]) < 11:
        raise ValueError(f"SSIM needs frames of at least 11 x 11 pixels, got {frame.shape[:2]}")


def ssim_y(reference: np.ndarray, distorted: np.ndarray) -> float:
    """SSIM of the BT.709 luma of one pair of uint8 RGB frames."""
    ref, dis = check_pair(reference, distorted)
    _check_size(ref)
    return float(structural_similarity(rgb_to_y_bt709(ref), rgb_to_y_bt709(dis), **_SETTINGS))


def ssim_rgb(reference: np.ndarray, distorted: np.ndarray) -> float:
    """Mean SSIM over R, G, B of one pair of uint8 RGB frames."""
    ref, dis = check_pair(reference, distorted)
    _check_size(ref)
    return float(structural_similarity(ref.astype(np.float64), dis.astype(np.float64),
                                       channel_axis=-1, **_SETTINGS))


def ssim_y_frames(reference: Frames, distorted: Frames) -> np.ndarray:
    """Per-frame luma SSIM of two sequences."""
    ref, dis = check_sequences(reference, distorted)
    return np.array([ssim_y(r, d) for r, d in zip(ref, dis)])


def ssim_rgb_frames(reference: Frames, distorted: Frames) -> np.ndarray:
    """Per-frame RGB SSIM of two sequences."""
    ref, dis = check_sequences(reference, distorted)
    return np.array([ssim_rgb(r, d) for r, d in zip(ref, dis)])
