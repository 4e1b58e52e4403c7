"""A whole campaign: plan the cells, run the unfinished ones, write the report."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import provenance as provenance_module
from .cells import cell_hash, finished_result, plan_cells
from .config import CampaignConfig
from .errors import CampaignError
from .executors import Executor
from .report import Report, write_report
from .runner import CampaignRun, Progress, print_progress, run_cells
from .sequences import input_sha256, resolve_sequences


@dataclass
class CampaignOutcome:
    run: CampaignRun
    report: Report
    wall_seconds: float


def select_codecs(config: CampaignConfig, names: list[str] | None) -> list[str]:
    """The codecs to run: those named (config order), else every codec not on_request."""
    if not names:
        return [name for name, codec in config.codecs.items() if not codec.on_request]
    unknown = [name for name in names if name not in config.codecs]
    if unknown:
        raise CampaignError(f"unknown codec(s) {', '.join(unknown)}; this config has "
                            f"{', '.join(config.codecs)}")
    return [name for name in config.codecs if name in names]   # config order


def run_campaign(config: CampaignConfig, out_dir: Path, *, sequences: list[str] | None = None,
                 codecs: list[str] | None = None, jobs: int = 1, threads: int = 1,
                 force: bool = False, progress: Progress | None = print_progress,
                 executor: Executor | None = None, metric_pass: str = "sequence") -> CampaignOutcome:
    """Plan, run (on `executor`, default the local pool of `jobs` processes) and report."""
    start = time.perf_counter()
    if jobs < 1:
        raise CampaignError(f"--jobs must be at least 1, got {jobs}")
    codec_names = select_codecs(config, codecs)
    chosen = resolve_sequences(config, sequences)
    snapshot = provenance_module.snapshot()
    cells = plan_cells(config, codec_names, chosen)
    run = run_cells(config, cells, Path(out_dir), jobs=jobs, threads=threads, force=force,
                    provenance=snapshot, progress=progress, executor=executor,
                    metric_pass=metric_pass)
    results = list(run.results)
    for anchor in config.anchors:
        if anchor not in codec_names:
            # BD-rates need the anchors: use their finished cells from an earlier run, if any.
            results += _finished(config, plan_cells(config, [anchor], chosen), Path(out_dir))
    meta: dict[str, Any] = dict(snapshot, codecs_run=codec_names,
                                sequences=[s.name for s in chosen],
                                cells_ran=run.ran, cells_skipped=run.skipped,
                                cells_failed=[f"{label}: {error}" for label, error in run.failures],
                                cells_seconds=round(run.seconds, 1), executor=run.executor,
                                metric_pass=run.metric_pass)
    report = write_report(results, config, Path(out_dir), meta)
    return CampaignOutcome(run, report, time.perf_counter() - start)


def _finished(config: CampaignConfig, cells: list, out_dir: Path) -> list[dict[str, Any]]:
    frame_bytes = 3 * config.width * config.height
    hashes: dict[str, str] = {}
    found = []
    for cell in cells:
        name = cell.sequence.name
        hashes.setdefault(name, input_sha256(cell.sequence, frame_bytes))
        result = finished_result(cell.result_path(out_dir), cell_hash(config, cell, hashes[name]))
        if result is not None:
            found.append(result)
    return found
