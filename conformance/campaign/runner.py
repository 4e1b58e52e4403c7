"""Run the cells of a campaign (in order, in parallel worker processes, or on a Dask cluster:
executors.py), skipping the finished ones, and collect their results. Progress goes to
stderr: each cell's start and end with the counts done/running/failed and the throughput."""
from __future__ import annotations

import datetime as _dt
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ifvc_common.files import sha256_file
from ifvc_common.outputs import OutputTransaction

from .cell_metrics import cell_frame_metrics, means_and_counts
from .cells import CELL_PIPELINE_VERSION, Cell, cell_hash, finished_result, strided_indices, write_json_atomic
from .coding import CellError, code_cell
from .config import CampaignConfig
from .executors import CellTask, Executor, LocalExecutor
from .progress import CellProgress
from .sequences import input_sha256

Progress = Callable[[str], None]


def print_progress(message: str) -> None:
    print(f"[campaign] {message}", file=sys.stderr, flush=True)


@dataclass
class CampaignRun:
    results: list[dict[str, Any]] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    ran: int = 0
    skipped: int = 0
    seconds: float = 0.0
    executor: str = ""


def run_cells(config: CampaignConfig, cells: list[Cell], out_dir: Path, *, jobs: int = 1,
              threads: int = 1, force: bool = False, provenance: dict[str, Any] | None = None,
              progress: Progress | None = print_progress,
              executor: Executor | None = None) -> CampaignRun:
    """Run the unfinished cells on `executor` (default: the local one, `jobs` processes)."""
    say = progress or (lambda _message: None)
    executor = executor or LocalExecutor(jobs=jobs, threads=threads)
    run = CampaignRun(executor=executor.description)
    start = time.perf_counter()
    frame_bytes = 3 * config.width * config.height
    input_hashes = {cell.sequence.name: input_sha256(cell.sequence, frame_bytes) for cell in cells}
    todo: list[CellTask] = []
    for cell in cells:
        expected = cell_hash(config, cell, input_hashes[cell.sequence.name])
        previous = None if force else finished_result(cell.result_path(out_dir), expected)
        if previous is not None:
            run.results.append(previous)
            run.skipped += 1
        else:
            todo.append(CellTask(config, cell, Path(out_dir), expected,
                                 input_hashes[cell.sequence.name], provenance or {}, force))
    say(f"{len(cells)} cells: {run.skipped} finished before, {len(todo)} to run "
        f"({executor.description})")
    tracker = CellProgress(len(todo), say)

    def started(task: CellTask, where: str) -> None:
        tracker.started(task.label, where)

    def finished(task: CellTask, result: dict[str, Any] | None, error: str | None) -> None:
        if error is not None:
            run.failures.append((task.label, error))
            tracker.finished(task.label, error)
            return
        assert result is not None
        run.results.append(result)
        run.ran += 1
        metrics = ", ".join(f"{name} {value:.4g}" for name, value in result["metrics"].items())
        tracker.finished(task.label, None, f"{result['kbps']:.2f} kbps, {metrics} "
                                           f"({result['cell_seconds']:.0f} s)")

    # run_cell is looked up here, at call time (tests replace it to prove nothing runs).
    if todo:                           # nothing to run: no pool, no cluster
        executor.run(todo, run_cell, started, finished)
    run.seconds = time.perf_counter() - start
    return run


def run_cell(config: CampaignConfig, cell: Cell, out_dir: Path, expected_hash: str,
             input_hash: str, provenance: dict[str, Any]) -> dict[str, Any]:
    """Code, decode and measure one cell; its result JSON is written last."""
    start = time.perf_counter()
    coded = code_cell(config, cell, out_dir)
    metric_start = time.perf_counter()
    strided = tuple(name for name in config.metrics if name in config.strided_metrics)
    try:
        table = cell_frame_metrics(cell.sequence.path, coded.decoded_path, cell.sequence.frames,
                                   config.width, config.height, config.metrics, strided,
                                   config.vgg_stride)
    except ValueError as error:
        raise CellError(f"metrics: {error}") from None
    means, counts = means_and_counts(table, config.metrics)
    metrics_seconds = time.perf_counter() - metric_start
    frames_csv = cell.frames_csv_path(out_dir)
    frames_csv.parent.mkdir(parents=True, exist_ok=True)
    with OutputTransaction() as outputs:
        table.to_csv(outputs.reserve(frames_csv), index=False, float_format="%.6f")
    folder = cell.folder(out_dir)

    def entry(path: Path) -> dict[str, str]:
        # Names relative to the cell folder: the output folder can be moved or shared.
        return {"name": str(Path(path).resolve().relative_to(folder.resolve())),
                "sha256": sha256_file(Path(path))}

    stride = config.vgg_stride if strided else 1
    result: dict[str, Any] = {
        "status": "ok",
        "cell_hash": expected_hash,
        "config_sha256": config.sha256(),
        "config_name": config.name,
        "cell_pipeline_version": CELL_PIPELINE_VERSION,
        "codec": cell.codec.name,
        "kind": cell.codec.kind,
        "point": cell.point,
        "sequence": cell.sequence.name,
        "frames": cell.sequence.frames,
        "width": config.width, "height": config.height, "fps": config.fps,
        "bits": coded.bits,
        "kbps": coded.kbps,
        "rate": coded.rate.as_dict(),     # all bits and the GFVC payload-only count (rates.py)
        "bits_by_unit_type": coded.bits_by_unit_type,
        "metrics": means,
        "metric_frames": counts,
        "vgg_stride": stride,
        "strided_metrics": list(strided),
        "strided_frames": strided_indices(cell.sequence.frames, stride) if strided else None,
        "encoder": coded.encoder,
        "encoder_version": coded.encoder_version,
        "tool_version": coded.tool_version,
        "generator_name": coded.generator_name,
        "generator_sha256": coded.generator_sha256,
        "encode_seconds": coded.encode_seconds,
        "decode_seconds": coded.decode_seconds,
        "metrics_seconds": round(metrics_seconds, 3),
        "cell_seconds": round(time.perf_counter() - start, 3),
        "input_path": str(cell.sequence.path),
        "input_sha256": input_hash,
        "files": {"stream": entry(coded.stream_path), "decoded": entry(coded.decoded_path),
                  "frames_csv": entry(frames_csv)},
        "details": coded.extra,
        "provenance": provenance,
        "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    write_json_atomic(cell.result_path(out_dir), result)
    return result
