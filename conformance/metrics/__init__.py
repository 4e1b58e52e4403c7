"""Quality metrics of the IFVC conformance suite (DESIGN.md section 4).

Frame-level functions take uint8 RGB H x W x 3 arrays; ``*_frames`` functions take two
sequences (N x H x W x 3 arrays or lists of frames) and return per-frame scores;
aggregate.py averages per sequence and over sequences. LPIPS and DISTS run in plain
torch on CUDA when present (``device=`` overrides), with weights loaded offline and
checked by SHA-256 (weights.py). ``frame_scores_many`` scores several decoded versions of
one source sequence, computing the source's network features once (pairwise.py,
source_cache.py).
"""
from .aggregate import (DEFAULT_METRICS, METRICS, frame_scores, frame_scores_many, mean_over_sequences,
                        sequence_mean)
from .dists import DISTS, dists, dists_frames
from .lpips import LPIPS, lpips, lpips_frames
from .psnr import (PSNR_CAP_DB, psnr_from_mse, psnr_gfvc, psnr_gfvc_frames, psnr_rgb, psnr_rgb_frames, psnr_y, psnr_y_frames,
                   psnr_yuv420, psnr_yuv420_frames, psnr_yuv420_planes_frames, rgb_to_y_bt709,
                   rgb_to_yuv420_bt709)
from .source_cache import SourceFeatureCache
from .ssim import ssim_rgb, ssim_rgb_frames, ssim_y, ssim_y_frames
from .weights import WeightFileError

__all__ = [
    "DEFAULT_METRICS", "DISTS", "LPIPS", "METRICS", "PSNR_CAP_DB", "SourceFeatureCache",
    "WeightFileError", "dists", "dists_frames", "frame_scores", "frame_scores_many", "lpips",
    "lpips_frames", "mean_over_sequences", "psnr_from_mse", "psnr_gfvc", "psnr_gfvc_frames",
    "psnr_rgb", "psnr_rgb_frames", "psnr_y", "psnr_y_frames", "psnr_yuv420", "psnr_yuv420_frames",
    "psnr_yuv420_planes_frames", "rgb_to_y_bt709", "rgb_to_yuv420_bt709", "sequence_mean",
    "ssim_rgb", "ssim_rgb_frames", "ssim_y", "ssim_y_frames",
]
