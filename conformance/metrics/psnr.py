"""PSNR of 8-bit RGB frames: RGB, Y (BT.709) and YUV 4:2:0 (BT.709), GFVC conventions.

Conventions (as in the JVET AhG16 GFVC evaluation):

* Peak 255; PSNR = 10 log10(255^2 / MSE).
* PSNR-RGB: the MSE of each of R, G, B over the frame, the three MSEs averaged, then one
  PSNR (equal to the PSNR of the MSE over all 3*H*W samples). Not the mean of three PSNRs.
* PSNR (GFVC), ``psnr_gfvc``: the GFVC common software's ``psnr``
  (evaluate/multiMetric_rgb444.py, cacl_psnr per plane): the PSNR of R, of G and of B, each
  from its own MSE, then their mean; per frame, then the mean over frames like every metric.
  By Jensen's inequality it is never below PSNR-RGB, equal when the three MSEs are equal;
  a frame with one near-perfect channel scores far higher (a capped 100 dB channel lifts
  the mean by up to a third of the gap), so the two are never interchangeable.
* PSNR-Y: luma Y = 0.2126 R + 0.7152 G + 0.0722 B (BT.709 weights, full range, no offset)
  on the 8-bit values, kept in float64 (no rounding to 8 bits), peak 255.
* PSNR-YUV 4:2:0: full-range BT.709 Y as above, Cb = (B - Y) / 1.8556 + 128,
  Cr = (R - Y) / 1.5748 + 128, chroma subsampled by the mean of each 2x2 block (frame
  height and width must be even); then (4 PSNR_Y + PSNR_U + PSNR_V) / 6, each plane's
  PSNR computed separately (JVET weighting for 4:2:0).
* Identical planes (MSE 0) give PSNR_CAP_DB, and every PSNR is clipped to it, so that
  per-sequence and per-test means stay finite.

Weighted sums (luma, the 4:2:0 weighting) are written out term by term in a fixed order
rather than as matrix products: a matrix product goes through BLAS, whose rounding depends
on the kernel chosen for the processor (OPENBLAS_CORETYPE), so identical frames gave
99.99999999999997 instead of the cap on some machines.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .frames import Frames, check_pair, check_sequences

PSNR_CAP_DB = 100.0
CHUNK_FRAMES = 8
PEAK = 255.0
BT709_LUMA = (0.2126, 0.7152, 0.0722)
_CB_SCALE = 2 * (1 - BT709_LUMA[2])  # 1.8556
_CR_SCALE = 2 * (1 - BT709_LUMA[0])  # 1.5748
YUV420_WEIGHTS = (4.0, 1.0, 1.0)  # Y, U, V; divided by their sum, 6


def psnr_from_mse(mse: np.ndarray | float, peak: float = PEAK) -> np.ndarray:
    """PSNR in dB for MSE values, capped at PSNR_CAP_DB (MSE 0 gives the cap)."""
    mse = np.asarray(mse, dtype=np.float64)
    if np.any(mse < 0):
        raise ValueError("MSE must be non-negative")
    with np.errstate(divide="ignore"):
        psnr = 10.0 * np.log10(peak * peak / mse)
    return np.minimum(psnr, PSNR_CAP_DB)


def _plane_mse(ref: np.ndarray, dis: np.ndarray) -> np.ndarray:
    """MSE per frame of N x H x W planes."""
    diff = ref.astype(np.float64) - dis.astype(np.float64)
    return np.mean(diff * diff, axis=(1, 2))


def _luma(rgb: np.ndarray) -> np.ndarray:
    """Kr R + Kg G + Kb B of float64 RGB (... x 3), summed left to right (no BLAS)."""
    kr, kg, kb = BT709_LUMA
    return kr * rgb[..., 0] + kg * rgb[..., 1] + kb * rgb[..., 2]


def rgb_to_y_bt709(frames: np.ndarray) -> np.ndarray:
    """Float64 luma (... x H x W) of uint8 RGB (... x H x W x 3), BT.709 full range."""
    return _luma(frames.astype(np.float64))


def rgb_to_yuv420_bt709(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Float64 (Y, Cb, Cr) planes of uint8 RGB N x H x W x 3, chroma 2x2-averaged."""
    n, height, width, _ = frames.shape
    if height % 2 or width % 2:
        raise ValueError(f"4:2:0 needs even frame height and width, got {height} x {width}")
    rgb = frames.astype(np.float64)
    y = _luma(rgb)
    cb = (rgb[..., 2] - y) / _CB_SCALE + 128.0
    cr = (rgb[..., 0] - y) / _CR_SCALE + 128.0

    def subsample(plane: np.ndarray) -> np.ndarray:
        return plane.reshape(n, height // 2, 2, width // 2, 2).mean(axis=(2, 4))

    return y, subsample(cb), subsample(cr)


def _chunked(reference: Frames, distorted: Frames,
             per_chunk: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    """Apply per_chunk to CHUNK_FRAMES frames at a time: float64 copies of a whole clip
    would need gigabytes, a chunk needs a few MB."""
    ref, dis = check_sequences(reference, distorted)
    return np.concatenate([per_chunk(ref[i:i + CHUNK_FRAMES], dis[i:i + CHUNK_FRAMES])
                           for i in range(0, ref.shape[0], CHUNK_FRAMES)])


def _rgb_channel_mse(ref: np.ndarray, dis: np.ndarray) -> np.ndarray:
    diff = ref.astype(np.float64) - dis.astype(np.float64)
    return np.mean(diff * diff, axis=(1, 2))  # N x 3: MSE of R, G, B


def _rgb_mse(ref: np.ndarray, dis: np.ndarray) -> np.ndarray:
    return _rgb_channel_mse(ref, dis).mean(axis=1)


def psnr_gfvc_frames(reference: Frames, distorted: Frames) -> np.ndarray:
    """Per-frame GFVC PSNR: (PSNR_R + PSNR_G + PSNR_B) / 3, each channel capped at
    PSNR_CAP_DB as GFVC's cacl_psnr returns 100 for an MSE below 1e-10 (an 8-bit channel's
    smallest non-zero MSE, 1 / (H W), gives at most 96.3 dB at 256x256, so the cap only
    ever replaces an infinite value). The sum is formed left to right and divided once, so
    identical frames give exactly the cap."""
    channels = psnr_from_mse(_chunked(reference, distorted, _rgb_channel_mse))
    return (channels[:, 0] + channels[:, 1] + channels[:, 2]) / 3.0


def psnr_rgb_frames(reference: Frames, distorted: Frames) -> np.ndarray:
    """Per-frame PSNR-RGB (mean of the R, G, B MSEs, then PSNR) of two sequences."""
    return psnr_from_mse(_chunked(reference, distorted, _rgb_mse))


def psnr_y_frames(reference: Frames, distorted: Frames) -> np.ndarray:
    """Per-frame PSNR of BT.709 luma of two sequences."""
    return psnr_from_mse(_chunked(reference, distorted,
                                  lambda r, d: _plane_mse(rgb_to_y_bt709(r), rgb_to_y_bt709(d))))


def _yuv420_mse(ref: np.ndarray, dis: np.ndarray) -> np.ndarray:
    planes = zip(rgb_to_yuv420_bt709(ref), rgb_to_yuv420_bt709(dis))
    return np.stack([_plane_mse(r, d) for r, d in planes], axis=1)


def psnr_yuv420_planes_frames(reference: Frames, distorted: Frames) -> np.ndarray:
    """Per-frame (PSNR_Y, PSNR_U, PSNR_V) on BT.709 4:2:0 conversions, shape N x 3."""
    return psnr_from_mse(_chunked(reference, distorted, _yuv420_mse))


def psnr_yuv420_frames(reference: Frames, distorted: Frames) -> np.ndarray:
    """Per-frame (4 PSNR_Y + PSNR_U + PSNR_V) / 6 on BT.709 4:2:0 conversions.

    The weighted sum is formed first and divided once: exact for identical frames
    (4 * 100 + 100 + 100 = 600, / 6 = 100), never above the cap (rounding is monotonic).
    """
    planes = psnr_yuv420_planes_frames(reference, distorted)
    wy, wu, wv = YUV420_WEIGHTS
    return (wy * planes[:, 0] + wu * planes[:, 1] + wv * planes[:, 2]) / (wy + wu + wv)


def psnr_rgb(reference: np.ndarray, distorted: np.ndarray) -> float:
    """PSNR-RGB of one pair of uint8 RGB frames (see the module docstring)."""
    ref, dis = check_pair(reference, distorted)
    return float(psnr_rgb_frames(ref[None], dis[None])[0])


def psnr_gfvc(reference: np.ndarray, distorted: np.ndarray) -> float:
    """GFVC PSNR of one pair of uint8 RGB frames: the mean of the R, G, B PSNRs."""
    ref, dis = check_pair(reference, distorted)
    return float(psnr_gfvc_frames(ref[None], dis[None])[0])


def psnr_y(reference: np.ndarray, distorted: np.ndarray) -> float:
    """PSNR of BT.709 luma of one pair of uint8 RGB frames."""
    ref, dis = check_pair(reference, distorted)
    return float(psnr_y_frames(ref[None], dis[None])[0])


def psnr_yuv420(reference: np.ndarray, distorted: np.ndarray) -> float:
    """(4 PSNR_Y + PSNR_U + PSNR_V) / 6 of one pair of uint8 RGB frames."""
    ref, dis = check_pair(reference, distorted)
    return float(psnr_yuv420_frames(ref[None], dis[None])[0])
