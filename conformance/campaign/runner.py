"""Run the cells of a campaign (in order, in parallel worker processes, or on a Dask cluster:
executors.py), skipping the finished ones, and collect their results. Progress goes to
stderr: each cell's start and end with the counts done/running/failed and the throughput.

Two metric passes (``metric_pass``), with the same results (within 1e-6; the cell hash does
not depend on the pass, so each reuses the other's finished cells):

* ``sequence`` (the default): every unfinished cell is coded first (one task a cell; each
  writes a coded record, ``<codec>_qp<P>.coded.json``, so a coded cell is never coded again),
  then one task per sequence measures all its coded cells in one pass
  (cell_metrics.cells_frame_metrics): every source frame's backbone features are computed
  once for all codecs and rate points. Each cell still gets its own frames CSV and result
  JSON (written last), so cells stay content-addressed and resumable one by one; a worker
  that dies in a metric pass loses that pass, not the coding.
* ``cell``: code (or take its coded record) and measure one cell per task (the source
  features shared only through the worker's in-process cache, cell_metrics.SOURCE_CACHE).

A cell counts as running from the start of its coding to the end of its metrics.
"""
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

from .cell_metrics import cell_frame_metrics, cells_frame_metrics, means_and_counts
from .cells import (CELL_PIPELINE_VERSION, Cell, cell_hash, coding_hash, finished_result,
                    strided_indices, write_json_atomic)
from .coding import CellError, CodingOutcome, code_cell
from .config import CampaignConfig
from .executors import CellTask, Executor, LocalExecutor, SequenceTask
from .progress import CellProgress
from .sequences import input_sha256

Progress = Callable[[str], None]
METRIC_PASSES = ("sequence", "cell")
CODED_STATUS = "coded"


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
    metric_pass: str = "sequence"


def run_cells(config: CampaignConfig, cells: list[Cell], out_dir: Path, *, jobs: int = 1,
              threads: int = 1, force: bool = False, provenance: dict[str, Any] | None = None,
              progress: Progress | None = print_progress,
              executor: Executor | None = None, metric_pass: str = "sequence") -> CampaignRun:
    """Run the unfinished cells on `executor` (default: the local one, `jobs` processes)."""
    if metric_pass not in METRIC_PASSES:
        raise ValueError(f"metric_pass must be one of {METRIC_PASSES}, got {metric_pass!r}")
    say = progress or (lambda _message: None)
    executor = executor or LocalExecutor(jobs=jobs, threads=threads)
    run = CampaignRun(executor=executor.description, metric_pass=metric_pass)
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

    def started(task: CellTask | SequenceTask, where: str) -> None:
        if isinstance(task, SequenceTask):     # not a cell: the metric pass of coded cells
            tracker.measuring([cell.label for cell in task.cells],
                              f"{task.label} ({len(task.cells)} cells): started on {where}")
        else:
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

    if not todo:                       # nothing to run: no pool, no cluster
        run.seconds = time.perf_counter() - start
        return run
    if force:                          # --force recodes: an earlier coded record must not count
        for task in todo:
            task.cell.coded_path(task.out_dir).unlink(missing_ok=True)
    if metric_pass == "cell":
        # run_cell is looked up here, at call time (tests replace it to prove nothing runs).
        executor.run(todo, run_cell, started, finished)
    else:
        coded: list[CellTask] = []

        def coding_finished(task: CellTask, result: dict[str, Any] | None,
                            error: str | None) -> None:
            if error is not None or (result is not None and result.get("status") == "ok"):
                finished(task, result, error)   # failed, or finished meanwhile (re-scheduled)
                return
            assert result is not None
            tracker.coded_cell(task.label, f"coded, {result['bits']} bits"
                               f"{' (coded before)' if result.get('reused') else ''}")
            coded.append(task)

        executor.run(todo, code_cell_task, started, coding_finished)
        labels = {task.label for task in coded}     # in plan order, not in order of completion
        passes = sequence_tasks([task for task in todo if task.label in labels])

        def pass_finished(task: SequenceTask, outcomes: Any, error: str | None) -> None:
            if error is not None:
                for cell_task in task.cells:
                    finished(cell_task, None, f"metrics pass of {task.sequence}: {error}")
                return
            by_label = {label: (result, cell_error) for label, result, cell_error in outcomes}
            for cell_task in task.cells:
                result, cell_error = by_label.get(cell_task.label,
                                                  (None, "missing from its metric pass"))
                finished(cell_task, result, cell_error)

        if passes:
            executor.run(passes, measure_sequence, started, pass_finished)
    run.seconds = time.perf_counter() - start
    return run


def sequence_tasks(tasks: list[CellTask]) -> list[SequenceTask]:
    """One metric pass per sequence, sequences and cells in plan order."""
    groups: dict[str, list[CellTask]] = {}
    for task in tasks:
        groups.setdefault(task.cell.sequence.name, []).append(task)
    return [SequenceTask(tuple(group)) for group in groups.values()]


def run_cell(config: CampaignConfig, cell: Cell, out_dir: Path, expected_hash: str,
             input_hash: str, provenance: dict[str, Any]) -> dict[str, Any]:
    """Code and decode one cell (or reuse its coded record), then measure it (metric_pass
    "cell"); its result JSON is written last."""
    record = code_cell_task(config, cell, out_dir, expected_hash, input_hash, provenance)
    metric_start = time.perf_counter()
    try:
        table = cell_frame_metrics(cell.sequence.path, _decoded_path(cell, out_dir, record),
                                   cell.sequence.frames, config.width, config.height,
                                   config.metrics, _strided(config), config.vgg_stride)
    except ValueError as error:
        raise CellError(f"metrics: {error}") from None
    seconds = time.perf_counter() - metric_start
    return _finish_cell(config, cell, out_dir, record, table,
                        {"kind": "cell", "cells": 1, "seconds": round(seconds, 3)}, seconds)


def code_cell_task(config: CampaignConfig, cell: Cell, out_dir: Path, expected_hash: str,
                   input_hash: str, provenance: dict[str, Any]) -> dict[str, Any]:
    """Code and decode one cell (metric_pass "sequence") and write its coded record; a current
    coded record (same coding hash, stream and decoded file intact) is returned as it is."""
    current = coding_hash(config, cell, input_hash)
    previous = finished_result(cell.coded_path(out_dir), current, keys=("stream", "decoded"),
                               status=CODED_STATUS)
    if previous is not None:
        # The coded record is what this run would code; its provenance and cell hash are this
        # run's (the metric settings may be new).
        return dict(previous, cell_hash=expected_hash, provenance=provenance, reused=True)
    start = time.perf_counter()
    coded = code_cell(config, cell, out_dir)
    record = _coded_record(config, cell, out_dir, coded, expected_hash, input_hash, provenance,
                           time.perf_counter() - start)
    write_json_atomic(cell.coded_path(out_dir), dict(record, cell_hash=current))
    return record


def measure_sequence(task: SequenceTask) -> list[tuple[str, dict[str, Any] | None, str | None]]:
    """The metrics of every coded cell of one sequence in one pass; each cell's frames CSV and
    result JSON are written as the per-cell path writes them. A cell whose coded record or
    decoded file is missing or wrong fails alone; the others are measured."""
    first = task.cells[0]
    config, sequence = first.config, first.cell.sequence
    outcomes: list[tuple[str, dict[str, Any] | None, str | None]] = []
    ready: list[tuple[CellTask, dict[str, Any], Path]] = []
    frame_bytes = 3 * config.width * config.height
    for cell_task in task.cells:
        cell, out_dir = cell_task.cell, cell_task.out_dir
        record = finished_result(cell.coded_path(out_dir),
                                 coding_hash(config, cell, cell_task.input_hash),
                                 keys=("stream", "decoded"), status=CODED_STATUS)
        if record is None:
            outcomes.append((cell_task.label, None, "metrics: its coded record is missing or "
                             "out of date (run the campaign again to code it)"))
            continue
        decoded = _decoded_path(cell, out_dir, record)
        size = decoded.stat().st_size
        if size != sequence.frames * frame_bytes:
            outcomes.append((cell_task.label, None, f"metrics: {decoded} has {size // frame_bytes} "
                             f"frames, {sequence.frames} were coded"))
            continue
        record = dict(record, cell_hash=cell_task.expected_hash, provenance=cell_task.provenance)
        ready.append((cell_task, record, decoded))
    if not ready:
        return outcomes
    start = time.perf_counter()
    try:
        tables = cells_frame_metrics(sequence.path, [decoded for _, _, decoded in ready],
                                     sequence.frames, config.width, config.height,
                                     config.metrics, _strided(config), config.vgg_stride)
    except ValueError as error:
        return outcomes + [(cell_task.label, None, f"metrics: {error}") for cell_task, _, _ in ready]
    seconds = time.perf_counter() - start
    metric_pass = {"kind": "sequence", "cells": len(ready), "seconds": round(seconds, 3)}
    for (cell_task, record, _), table in zip(ready, tables):
        result = _finish_cell(config, cell_task.cell, cell_task.out_dir, record, table,
                              metric_pass, seconds / len(ready))
        outcomes.append((cell_task.label, result, None))
    return outcomes


def _strided(config: CampaignConfig) -> tuple[str, ...]:
    return tuple(name for name in config.metrics if name in config.strided_metrics)


def _decoded_path(cell: Cell, out_dir: Path, record: dict[str, Any]) -> Path:
    return cell.folder(out_dir) / record["files"]["decoded"]["name"]


def _coded_record(config: CampaignConfig, cell: Cell, out_dir: Path, coded: CodingOutcome,
                  expected_hash: str, input_hash: str, provenance: dict[str, Any],
                  coding_seconds: float) -> dict[str, Any]:
    """Everything of a cell's result that coding determines (its metrics come later)."""
    folder = cell.folder(out_dir)

    def entry(path: Path) -> dict[str, str]:
        # Names relative to the cell folder: the output folder can be moved or shared.
        return {"name": str(Path(path).resolve().relative_to(folder.resolve())),
                "sha256": sha256_file(Path(path))}

    return {
        "status": CODED_STATUS,
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
        "encoder": coded.encoder,
        "encoder_version": coded.encoder_version,
        "tool_version": coded.tool_version,
        "generator_name": coded.generator_name,
        "generator_sha256": coded.generator_sha256,
        "encode_seconds": coded.encode_seconds,
        "decode_seconds": coded.decode_seconds,
        "coding_seconds": round(coding_seconds, 3),
        "input_path": str(cell.sequence.path),
        "input_sha256": input_hash,
        "files": {"stream": entry(coded.stream_path), "decoded": entry(coded.decoded_path)},
        "details": coded.extra,
        "provenance": provenance,
    }


def _finish_cell(config: CampaignConfig, cell: Cell, out_dir: Path, record: dict[str, Any],
                 table: Any, metric_pass: dict[str, Any], metrics_seconds: float) -> dict[str, Any]:
    """Write the cell's frames CSV, then its result JSON (last: it marks the cell finished)."""
    means, counts = means_and_counts(table, config.metrics)
    frames_csv = cell.frames_csv_path(out_dir)
    frames_csv.parent.mkdir(parents=True, exist_ok=True)
    with OutputTransaction() as outputs:
        table.to_csv(outputs.reserve(frames_csv), index=False, float_format="%.6f")
    strided = _strided(config)
    stride = config.vgg_stride if strided else 1
    details = {key: value for key, value in record.items() if key != "reused"}
    result: dict[str, Any] = dict(
        details,
        status="ok",
        metrics=means,
        metric_frames=counts,
        vgg_stride=stride,
        strided_metrics=list(strided),
        strided_frames=strided_indices(cell.sequence.frames, stride) if strided else None,
        # A sequence pass's time is shared equally by its cells (metric_pass has the whole).
        metrics_seconds=round(metrics_seconds, 3),
        metric_pass=metric_pass,
        cell_seconds=round(record["coding_seconds"] + metrics_seconds, 3),
        created_utc=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))
    folder = cell.folder(out_dir)
    result["files"] = dict(record["files"], frames_csv={
        "name": str(frames_csv.resolve().relative_to(folder.resolve())),
        "sha256": sha256_file(frames_csv)})
    write_json_atomic(cell.result_path(out_dir), result)
    return result
