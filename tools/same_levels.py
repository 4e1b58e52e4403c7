"""Decoding a campaign's streams again with other decoder variants, the levels as coded: what a
change to synthesis would give before any stream is coded again (the studies'
docs/results/*/same_levels.py use it).

    for cell in campaign_cells(Path("work/camp_g7k_test"), "g7k", 32, Path("work/sequences")):
        versions = {"before": ..., "after": ...}        # each the cell's stream decoded, N x H x W x 3
        check_reproduces(cell, versions["before"], "before")
        row = score_versions(cell.source, versions)

The scores are the campaign's own (conformance/campaign): LPIPS-Alex, LPIPS-VGG and DISTS on the
strided frames (every 10th from frame 5), and PSNR-RGB of the mean MSE over every frame.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from bitstream.raw_video import read_rgb444
from conformance.campaign.cells import strided_indices
from conformance.metrics.aggregate import frame_scores_many
from conformance.metrics.psnr import psnr_from_mse

METRICS = ("lpips_alex", "lpips_vgg", "dists")
STRIDE = 10


def study_arguments(argv: Sequence[str]) -> tuple[Path, str, int, Path]:
    """A study script's CAMPAIGN CODEC QP OUT; pins torch to 2 threads and OpenCV to 1, as the
    study scripts have always run."""
    if len(argv) != 4:
        raise SystemExit("usage: CAMPAIGN CODEC QP OUT.json")
    torch.set_num_threads(2)
    cv2.setNumThreads(1)
    return Path(argv[0]), argv[1], int(argv[2]), Path(argv[3])


@dataclass(frozen=True)
class Cell:
    """One campaign cell at one key-frame QP: its stream, its decoded video and the source."""
    clip: str
    stream: bytes
    decoded: np.ndarray       # N x H x W x 3 uint8, what the campaign decoded
    source: np.ndarray        # the source's first N frames


def campaign_cells(campaign: Path, codec: str, qp: int, sequences: Path,
                   width: int = 256, height: int = 256) -> Iterator[Cell]:
    """The cells of CAMPAIGN/cells/CODEC/CLIP (what `conformance.campaign run` writes) at qp, in
    clip order, with the sources SEQUENCES/CLIP_WxH_25_8bit_444.rgb; SystemExit naming the first
    folder or file that is missing."""
    cells = campaign / "cells" / codec
    if not cells.is_dir():
        raise SystemExit(f"no campaign cells of codec {codec!r}: {cells} is not a folder")
    for cell in sorted(cells.iterdir()):
        clip = cell.name
        stream = cell / f"{clip}_{codec}_qp{qp}.ifvc"
        video = cell / f"{clip}_{codec}_qp{qp}.rgb"
        src = sequences / f"{clip}_{width}x{height}_25_8bit_444.rgb"
        for path in (stream, video, src):
            if not path.is_file():
                raise SystemExit(f"{clip}: {path} is missing")
        decoded = read_rgb444(video, width, height)
        yield Cell(clip, stream.read_bytes(), decoded, read_rgb444(src, width, height, len(decoded)))


def check_reproduces(cell: Cell, video: np.ndarray, name: str) -> None:
    """SystemExit unless ``video`` is the campaign's decoded video byte for byte (the variant
    that should be the campaign's decoder is)."""
    if not np.array_equal(video, cell.decoded):
        raise SystemExit(f"{cell.clip}: the {name} decode does not reproduce the campaign's decoded video")


def score_versions(source: np.ndarray, versions: Mapping[str, np.ndarray],
                   metrics: Sequence[str] = METRICS, stride: int = STRIDE) -> dict[str, dict[str, float]]:
    """Per version: PSNR-RGB of the mean MSE over every frame, and the mean of each metric over
    the strided frames (the campaign's); the reference features are computed once for all."""
    idx = strided_indices(len(source), stride)
    scored = frame_scores_many(source[idx], [v[idx] for v in versions.values()], list(metrics))
    out: dict[str, dict[str, float]] = {}
    for (name, video), s in zip(versions.items(), scored):
        mse = float(np.mean((video.astype(np.float64) - source) ** 2))
        out[name] = {"psnr_rgb": float(psnr_from_mse(mse)), **{m: float(s[m].mean()) for m in metrics}}
    return out


def row_line(clip: str, row: Mapping[str, Mapping[str, float]], metrics: Sequence[str] = METRICS) -> str:
    """One printed line: the clip, then per version PSNR-RGB and the metrics to 4 digits."""
    return clip + " " + " | ".join(f"{n}: " + " ".join(f"{r[m]:.4f}" for m in ("psnr_rgb", *metrics))
                                   for n, r in row.items())


def compare_generators(campaign: Path, codec: str, qp: int, out: Path,
                       generators: Mapping[str, Callable[[], object]], plain: str,
                       sequences: Path = Path("work/sequences"), metrics: Sequence[str] = METRICS,
                       size: tuple[int, int] = (256, 256)) -> dict[str, dict]:
    """Every cell decoded again with each generator (a factory per version name); the version
    ``plain`` must reproduce the campaign's decoded video (checked); one printed line per clip
    and the means; {"clips", "mean"} written to OUT as JSON and returned. ``size``: width, height."""
    from ref_decoder.decoder import Decoder
    result: dict[str, dict] = {}
    for cell in campaign_cells(campaign, codec, qp, sequences, *size):
        versions = {name: np.stack([f.rgb for f in Decoder(generator=make()).decode(cell.stream)])
                    for name, make in generators.items()}
        check_reproduces(cell, versions[plain], plain)
        result[cell.clip] = score_versions(cell.source, versions, metrics)
        print(row_line(cell.clip, result[cell.clip], metrics), flush=True)
    means = {n: {m: float(np.mean([r[n][m] for r in result.values()])) for m in ("psnr_rgb", *metrics)}
             for n in generators}
    for n, r in means.items():
        print(f"mean {n}: " + " ".join(f"{m} {v:.4f}" for m, v in r.items()))
    summary = {"clips": result, "mean": means}
    out.write_text(json.dumps(summary, indent=1) + "\n")
    return summary
