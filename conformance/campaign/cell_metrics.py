"""Per-frame quality of one cell, with the slow network metrics on a stride of frames.

LPIPS-vgg and DISTS cost about a second a frame each on a CPU; the campaign evaluates them on
every K-th frame (cells.strided_indices) and records K, PSNR and LPIPS-alex on every frame.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from conformance.metrics import frame_scores, sequence_mean
from bitstream.raw_video import read_rgb444

from .cells import strided_indices

NETWORK_BATCH = 4   # pairs per network call: a little faster than 1 on a CPU, little memory


def frame_metrics(reference: np.ndarray, decoded: np.ndarray, metrics: tuple[str, ...],
                  strided: tuple[str, ...], stride: int) -> pd.DataFrame:
    """One row per frame; a strided metric is NaN on the frames it skips."""
    if reference.shape != decoded.shape:
        raise ValueError(f"decoded {decoded.shape} and reference {reference.shape} differ")
    frames = reference.shape[0]
    table = pd.DataFrame({"frame": np.arange(frames)})
    every = [name for name in metrics if name not in strided or stride == 1]
    sparse = [name for name in metrics if name in strided and stride > 1]
    scores = frame_scores(reference, decoded, every, batch_size=NETWORK_BATCH)
    for name in every:
        table[name] = scores[name]
    if sparse:
        picked = strided_indices(frames, stride)
        sparse_scores = frame_scores(reference[picked], decoded[picked], sparse,
                                     batch_size=NETWORK_BATCH)
        for name in sparse:
            column = np.full(frames, np.nan)
            column[picked] = sparse_scores[name]
            table[name] = column
    return table[["frame", *metrics]]


def cell_frame_metrics(reference_path: Path, decoded_path: Path, frames: int, width: int,
                       height: int, metrics: tuple[str, ...], strided: tuple[str, ...],
                       stride: int) -> pd.DataFrame:
    reference = read_rgb444(reference_path, width, height, max_frames=frames)
    decoded = read_rgb444(decoded_path, width, height)
    if decoded.shape[0] != frames:
        raise ValueError(f"{decoded_path} has {decoded.shape[0]} frames, {frames} were coded")
    return frame_metrics(reference, decoded, metrics, strided, stride)


def means_and_counts(table: pd.DataFrame, metrics: tuple[str, ...]) -> tuple[dict[str, float], dict[str, int]]:
    """Sequence mean of each metric over the frames where it was evaluated, and their count."""
    per_frame = {name: table[name].dropna().to_numpy() for name in metrics}
    return sequence_mean(per_frame), {name: int(values.size) for name, values in per_frame.items()}
