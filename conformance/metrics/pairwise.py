"""Per-frame scores of one source sequence against one or several distorted sequences.

The network metrics (LPIPS, DISTS) split a pair into the source frame's features
(``model.source_features``) and the comparison of a distorted frame with them
(``model.score_against``). The source features of each batch of frames are computed once
(or found in a SourceFeatureCache) and reused against every distorted sequence, so N
decoded versions cost N + 1 backbone passes per frame instead of 2N. Frames go through in
batches of ``batch_size``: memory is bounded by the batch, not by the sequence length.
The results agree with the one-pair ``model(x, y)`` within 1e-6 (tests/test_metrics_fast.py).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import torch

from .source_cache import SourceFeatureCache, frames_sha256, source_key


class PairwiseModel(Protocol):
    metric_name: str
    weights_sha256: str

    def source_features(self, x: torch.Tensor) -> object: ...

    def score_against(self, source: object, y: torch.Tensor) -> torch.Tensor: ...

    @staticmethod
    def to_input(frames: np.ndarray, device: torch.device) -> torch.Tensor: ...


def _source(model: PairwiseModel, frames: np.ndarray, device: torch.device,
            cache: SourceFeatureCache | None, sequence: str) -> object:
    if cache is None:
        return model.source_features(model.to_input(frames, device))
    key = source_key(model.metric_name, model.weights_sha256, device, frames)
    features = cache.get(sequence, key)
    if features is None:
        features = model.source_features(model.to_input(frames, device))
        cache.put(sequence, key, features)
    return features


def score_frames(model: PairwiseModel, reference: np.ndarray, distorted: Sequence[np.ndarray], *,
                 batch_size: int, device: torch.device,
                 cache: SourceFeatureCache | None = None,
                 source_id: str | None = None) -> list[np.ndarray]:
    """Per-frame scores (float64) of each distorted sequence against ``reference``; all are
    uint8 N x H x W x 3 arrays of the same shape (checked by the callers' frames.py).

    ``source_id`` names the source sequence in the cache (default: SHA-256 of ``reference``);
    give the whole sequence's id when ``reference`` is a subset of its frames, so that the
    subset and the whole share one group and do not push each other out."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    for index, frames in enumerate(distorted):
        if frames.shape != reference.shape:
            raise ValueError(f"distorted sequence {index} has shape {frames.shape}, "
                             f"reference {reference.shape}")
    sequence = ""
    if cache is not None:
        sequence = source_id if source_id is not None else frames_sha256(reference)
    scores: list[list[np.ndarray]] = [[] for _ in distorted]
    with torch.inference_mode():
        for start in range(0, reference.shape[0], batch_size):
            stop = start + batch_size
            source = _source(model, reference[start:stop], device, cache, sequence)
            for out, frames in zip(scores, distorted):
                y = model.to_input(frames[start:stop], device)
                out.append(model.score_against(source, y).double().cpu().numpy())
    return [np.concatenate(parts) for parts in scores]
