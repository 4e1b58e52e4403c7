"""Per-frame scores of a decoded sequence, its mean, and the mean over sequences.

The GFVC practice: each metric is computed per frame, averaged per sequence, and the
per-sequence means are averaged with equal weight per sequence (not per frame).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import torch

from . import dists as dists_module
from . import lpips as lpips_module
from . import psnr, ssim
from .frames import Frames, as_sequence, check_sequences, resolve_device
from .pairwise import score_frames
from .source_cache import SourceFeatureCache

FrameMetric = Callable[..., np.ndarray]

# name -> (function over two sequences, does it run a network)
METRICS: dict[str, tuple[FrameMetric, bool]] = {
    "psnr_rgb": (psnr.psnr_rgb_frames, False),
    # The GFVC common software's psnr: mean of the R, G, B PSNRs (psnr.py says how it differs).
    "psnr_gfvc": (psnr.psnr_gfvc_frames, False),
    "psnr_y": (psnr.psnr_y_frames, False),
    "psnr_yuv420": (psnr.psnr_yuv420_frames, False),
    "ssim_y": (ssim.ssim_y_frames, False),
    "ssim_rgb": (ssim.ssim_rgb_frames, False),
    "lpips_alex": (lambda r, d, **kw: lpips_module.lpips_frames(r, d, "alex", **kw), True),
    "lpips_vgg": (lambda r, d, **kw: lpips_module.lpips_frames(r, d, "vgg", **kw), True),
    "dists": (dists_module.dists_frames, True),
}
# The metrics of the GFVC test conditions (DESIGN.md section 4).
DEFAULT_METRICS = ("psnr_rgb", "psnr_y", "lpips_alex", "lpips_vgg", "dists")


def _check_names(metrics: Sequence[str]) -> None:
    unknown = [name for name in metrics if name not in METRICS]
    if unknown:
        raise ValueError(f"unknown metrics {unknown}; known: {sorted(METRICS)}")


def network_model(name: str, device: torch.device) -> torch.nn.Module:
    """The shared model behind a network metric (source_features / score_against)."""
    if name == "dists":
        return dists_module.dists_model(str(device))
    return lpips_module.lpips_model(name.removeprefix("lpips_"), str(device))


def frame_scores(reference: Frames, distorted: Frames, metrics: Sequence[str] = DEFAULT_METRICS, *,
                 device: str | torch.device | None = None, batch_size: int = 1,
                 cache: SourceFeatureCache | None = None) -> dict[str, np.ndarray]:
    """Per-frame scores, metric name -> array of N values. With a cache, the network metrics
    reuse the reference's backbone features stored there (source_cache.py)."""
    return frame_scores_many(reference, [distorted], metrics, device=device,
                             batch_size=batch_size, cache=cache)[0]


def frame_scores_many(reference: Frames, distorted: Sequence[Frames],
                      metrics: Sequence[str] = DEFAULT_METRICS, *,
                      device: str | torch.device | None = None, batch_size: int = 1,
                      cache: SourceFeatureCache | None = None,
                      source_id: str | None = None) -> list[dict[str, np.ndarray]]:
    """Per-frame scores of several distorted versions of one reference sequence, one dict per
    version. The network metrics compute each batch of reference features once for all the
    versions (pairwise.score_frames): N versions cost N + 1 backbone passes a frame, not 2N.
    ``cache`` and ``source_id``: see pairwise.score_frames."""
    _check_names(metrics)
    if not distorted:
        raise ValueError("no distorted sequences to score")
    ref = as_sequence(reference, "reference sequence")
    versions = [check_sequences(ref, frames)[1] for frames in distorted]
    dev = resolve_device(device)
    scores: list[dict[str, np.ndarray]] = [{} for _ in versions]
    for name in metrics:
        function, is_network = METRICS[name]
        if is_network:
            columns = score_frames(network_model(name, dev), ref, versions,
                                   batch_size=batch_size, device=dev, cache=cache,
                                   source_id=source_id)
        else:
            columns = [function(ref, frames) for frames in versions]
        for table, column in zip(scores, columns):
            table[name] = column
    return scores


def sequence_mean(per_frame: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Mean of each metric over the frames of one sequence."""
    means = {}
    for name, values in per_frame.items():
        values = np.asarray(values, dtype=np.float64)
        if values.size == 0:
            raise ValueError(f"no frame scores for {name}")
        means[name] = float(values.mean())
    return means


def mean_over_sequences(sequence_means: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """Equal-weight mean of per-sequence means; every sequence must have the same metrics."""
    rows = list(sequence_means)
    if not rows:
        raise ValueError("no sequences to average")
    names = set(rows[0])
    for index, row in enumerate(rows[1:], start=1):
        if set(row) != names:
            raise ValueError(f"sequence {index} has metrics {sorted(row)}, sequence 0 has {sorted(names)}")
    return {name: float(np.mean([row[name] for row in rows])) for name in rows[0]}
