"""Per-frame quality of one cell (or of every cell of one sequence), with the slow network
metrics on every frame or on a stride of frames.

Source features: a cell compares its decoded frames with the source frames, and every codec x
rate point compares with the same source frames. The network metrics (LPIPS, DISTS) therefore
keep the source frames' backbone features in SOURCE_CACHE, an in-process cache bounded by
SOURCE_CACHE_MIB (source_cache.py says why in memory, not on disk): the cells of a sequence
that a worker runs one after the other skip the source pass for the frames that fit.
``cells_frame_metrics`` measures all the cells of one sequence in one streaming pass, which
reuses every source frame's features at any sequence length (N cells: N + 1 backbone passes a
frame instead of 2N); the runner's default metric pass (runner.measure_sequence) calls it
once per sequence, after coding the sequence's cells.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from bitstream.raw_video import read_rgb444
from conformance.metrics import SourceFeatureCache, frame_scores_many, sequence_mean
from conformance.metrics.source_cache import frames_sha256

from .cells import strided_indices

# Pairs per network call. On a CPU one pair is the fastest per pair (measured with
# tools/bench_metrics.py --mode compare: larger batches only grow the working set); a
# GPU wants many.
NETWORK_BATCH = 1
NETWORK_BATCH_CUDA = 16
# Memory for the source features kept between the cells of a worker (MiB). The float32 source
# features of a 256x256 frame: LPIPS-vgg 30.5 MiB, DISTS 31.3 MiB, LPIPS-alex 2.4 MiB; 3 GiB
# holds the CTC's strided sample (25 frames of 250) of all three for one sequence (2.1 GiB).
# Results never depend on it: a miss recomputes the same features.
SOURCE_CACHE_MIB = 3072
SOURCE_CACHE = SourceFeatureCache(SOURCE_CACHE_MIB * 2**20)


def _network_batch() -> int:
    import torch
    return NETWORK_BATCH_CUDA if torch.cuda.is_available() else NETWORK_BATCH


def frame_metrics(reference: np.ndarray, decoded: np.ndarray, metrics: tuple[str, ...],
                  strided: tuple[str, ...], stride: int,
                  cache: SourceFeatureCache | None = SOURCE_CACHE) -> pd.DataFrame:
    """One row per frame; a strided metric is NaN on the frames it skips."""
    return frames_metrics_many(reference, [decoded], metrics, strided, stride, cache)[0]


def frames_metrics_many(reference: np.ndarray, decoded: Sequence[np.ndarray],
                        metrics: tuple[str, ...], strided: tuple[str, ...], stride: int,
                        cache: SourceFeatureCache | None = SOURCE_CACHE) -> list[pd.DataFrame]:
    """frame_metrics of several decoded versions of one reference, the reference's network
    features computed once per frame for all of them."""
    for version in decoded:
        if reference.shape != version.shape:
            raise ValueError(f"decoded {version.shape} and reference {reference.shape} differ")
    frames = reference.shape[0]
    every = [name for name in metrics if name not in strided or stride == 1]
    sparse = [name for name in metrics if name in strided and stride > 1]
    batch = _network_batch()
    # One cache group for the whole source, its strided subset included (source_cache.py).
    source_id = frames_sha256(reference) if cache is not None else None
    tables = [pd.DataFrame({"frame": np.arange(frames)}) for _ in decoded]
    if every:
        for table, scores in zip(tables, frame_scores_many(reference, decoded, every,
                                                           batch_size=batch, cache=cache,
                                                           source_id=source_id)):
            for name in every:
                table[name] = scores[name]
    if sparse:
        picked = strided_indices(frames, stride)
        sparse_scores = frame_scores_many(reference[picked], [version[picked] for version in decoded],
                                          sparse, batch_size=batch, cache=cache,
                                          source_id=source_id)
        for table, scores in zip(tables, sparse_scores):
            for name in sparse:
                column = np.full(frames, np.nan)
                column[picked] = scores[name]
                table[name] = column
    return [table[["frame", *metrics]] for table in tables]


def _read_decoded(decoded_path: Path, frames: int, width: int, height: int) -> np.ndarray:
    decoded = read_rgb444(decoded_path, width, height)
    if decoded.shape[0] != frames:
        raise ValueError(f"{decoded_path} has {decoded.shape[0]} frames, {frames} were coded")
    return decoded


def cell_frame_metrics(reference_path: Path, decoded_path: Path, frames: int, width: int,
                       height: int, metrics: tuple[str, ...], strided: tuple[str, ...],
                       stride: int) -> pd.DataFrame:
    reference = read_rgb444(reference_path, width, height, max_frames=frames)
    return frame_metrics(reference, _read_decoded(decoded_path, frames, width, height),
                         metrics, strided, stride)


def cells_frame_metrics(reference_path: Path, decoded_paths: Sequence[Path], frames: int,
                        width: int, height: int, metrics: tuple[str, ...],
                        strided: tuple[str, ...], stride: int) -> list[pd.DataFrame]:
    """cell_frame_metrics of every decoded file of one sequence (same order), in one pass.

    Network features are held one batch of frames at a time, so their memory does not grow
    with the sequence; the uint8 frames themselves (196 KB a 256x256 frame and file) are read
    whole."""
    reference = read_rgb444(reference_path, width, height, max_frames=frames)
    decoded = [_read_decoded(path, frames, width, height) for path in decoded_paths]
    return frames_metrics_many(reference, decoded, metrics, strided, stride, cache=None)


def means_and_counts(table: pd.DataFrame, metrics: tuple[str, ...]) -> tuple[dict[str, float], dict[str, int]]:
    """Sequence mean of each metric over the frames where it was evaluated, and their count."""
    per_frame = {name: table[name].dropna().to_numpy() for name in metrics}
    return sequence_mean(per_frame), {name: int(values.size) for name, values in per_frame.items()}
