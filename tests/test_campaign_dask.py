"""Campaign cells on Dask (conformance/campaign/executors.py): a tiny campaign (one synthetic
sequence, the VVC and HEVC anchors at two QPs) runs once with the local executor and once on a
2-worker local Dask cluster (loopback only, closed at the end of the run) in which one cell
kills its own worker the first time it runs. Streams, decoded output and rates must be the
same bytes and numbers, metrics within 1e-6, and only the killed cell may run twice."""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import pytest

from conformance.campaign import run_campaign
from conformance.campaign.campaign import CampaignOutcome
from conformance.campaign.cells import Cell, cell_hash, plan_cells
from conformance.campaign.coding import CellError
from conformance.campaign.compare import compare_tables, read_table
from conformance.campaign.config import load_config
from conformance.campaign.executors import (DIE_ONCE_ENV, CellTask, DaskExecutor,
                                            LocalExecutor, run_on_worker)
from conformance.campaign.progress import CellProgress
from conformance.campaign.sequences import input_sha256, resolve_sequences
from tests.test_campaign_run import SIZE, write_sequence

KILLED = "vvc QP47 synth"
RUN_TIMEOUT_S = 900          # a bound on the Dask run, not a speed requirement
TOLERANCE = 1e-6


def write_tiny_config(folder: Path) -> Path:
    write_sequence(folder / "sequences", "synth")
    (folder / "split.json").write_text(json.dumps({"test": ["synth"]}))
    config = {
        "name": "tiny-dask", "sequences_dir": str(folder / "sequences"),
        "split_file": str(folder / "split.json"), "split": "test",
        "width": SIZE, "height": SIZE, "fps": 25, "frames": None,
        "codecs": {"vvc": {"kind": "anchor", "anchor_codec": "vvc", "points": [42, 47]},
                   "hevc": {"kind": "anchor", "anchor_codec": "hevc", "points": [42, 47]}},
        "anchor": "vvc", "metrics": ["psnr_rgb", "psnr_y", "lpips_alex"],
        "strided_metrics": ["lpips_alex"], "vgg_stride": 3,
        "bd_rate": {"method": "pchip", "metrics": ["psnr_rgb"], "min_overlap": 0.5}}
    path = folder / "tiny.json"
    path.write_text(json.dumps(config))
    return path


@dataclass
class Runs:
    local: CampaignOutcome
    dask: CampaignOutcome
    local_out: Path
    dask_out: Path
    dask_messages: list[str]
    local_messages: list[str]
    marker: Path


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    folder = tmp_path_factory.mktemp("dask_campaign")
    config = load_config(write_tiny_config(folder))
    local_out, dask_out = folder / "local", folder / "dask"
    local_messages: list[str] = []
    local = run_campaign(config, local_out, executor=LocalExecutor(jobs=1),
                         progress=local_messages.append)
    marker = folder / "die-once"
    marker.write_text(KILLED)
    messages: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(DIE_ONCE_ENV, str(marker))     # the cluster's workers inherit it
        dask = run_campaign(config, dask_out, progress=messages.append,
                            executor=DaskExecutor(workers=2, timeout_s=RUN_TIMEOUT_S))
    return Runs(local, dask, local_out, dask_out, messages, local_messages, marker)


def _results(out: Path) -> dict[str, dict]:
    return {f"{p.parent.parent.name}/{p.name}": json.loads(p.read_text())
            for p in sorted((out / "cells").glob("*/*/*.result.json"))}


def test_dask_and_local_executor_give_identical_results(runs: Runs) -> None:
    assert runs.local.run.failures == [] and runs.dask.run.failures == []
    assert runs.local.run.ran == runs.dask.run.ran == 4
    local, dask = _results(runs.local_out), _results(runs.dask_out)
    assert sorted(local) == sorted(dask) and len(local) == 4
    for name, a in local.items():
        b = dask[name]
        for key in ("stream", "decoded"):          # the same bytes
            assert a["files"][key]["sha256"] == b["files"][key]["sha256"], (name, key)
        assert (a["bits"], a["kbps"], a["cell_hash"]) == (b["bits"], b["kbps"], b["cell_hash"])
        assert a["metrics"].keys() == b["metrics"].keys()
        for metric, value in a["metrics"].items():
            assert abs(value - b["metrics"][metric]) <= TOLERANCE, (name, metric)
        frames_a = pd.read_csv(runs.local_out / "cells" / a["codec"] / a["sequence"]
                               / a["files"]["frames_csv"]["name"])
        frames_b = pd.read_csv(runs.dask_out / "cells" / b["codec"] / b["sequence"]
                               / b["files"]["frames_csv"]["name"])
        pd.testing.assert_frame_equal(frames_a, frames_b, check_exact=False, rtol=0, atol=TOLERANCE)
    tight = {column: TOLERANCE for column in ("psnr_rgb", "psnr_y", "lpips_alex")}
    tight["kbps"] = 0.0
    comparison = compare_tables(read_table(runs.local_out / "results.csv"),
                                read_table(runs.dask_out / "results.csv"), tight)
    assert comparison.ok and comparison.cells == 4
    provenance = json.loads((runs.dask_out / "provenance.json").read_text())
    assert provenance["executor"] == "local Dask cluster, 2 workers"


def test_a_worker_that_dies_loses_only_its_own_cell(runs: Runs) -> None:
    """The killed cell ran twice (its first worker died), every other cell once, and the
    campaign completed. A start is announced by an event that a worker dying at once may not
    get out, so the killed cell's first start may not be in the messages."""
    assert not runs.marker.exists() and runs.marker.with_name("die-once.fired").exists()
    labels = [f"{codec} QP{qp} synth" for codec in ("vvc", "hevc") for qp in (42, 47)]
    starts = Counter(label for message in runs.dask_messages for label in labels
                     if re.match(re.escape(label) + r": (started|restarted) on ", message))
    assert {label: count for label, count in starts.items() if label != KILLED} == \
        {label: 1 for label in labels if label != KILLED}
    assert starts[KILLED] in (1, 2)
    assert runs.dask.run.failures == [] and runs.dask.run.ran == 4
    assert (runs.dask_out / "cells" / "vvc" / "synth" / "vvc_qp47.result.json").is_file()


@pytest.mark.parametrize("executor", ["local", "dask"])
def test_progress_lines_count_cells_and_throughput(runs: Runs, executor: str) -> None:
    messages = runs.local_messages if executor == "local" else runs.dask_messages
    ends = [m for m in messages if " kbps, " in m]
    assert len(ends) == 4
    assert re.search(r"done 4/4, running 0, coded 0, failed 0, queued 0; \d+\.\d\d cells/min$", ends[-1])
    assert re.search(r"done 1/4, running \d, coded \d, failed 0, queued \d; \d+\.\d\d cells/min$", ends[0])
    first = "local, 1 job" if executor == "local" else "local Dask cluster, 2 workers"
    assert messages[0] == f"4 cells: 0 finished before, 4 to run ({first})"


def test_resumed_campaign_on_dask_computes_nothing(runs: Runs, monkeypatch: pytest.MonkeyPatch) -> None:
    """Finished cells are found before anything is sent to a cluster."""
    def no_work(*args: object, **kwargs: object) -> None:
        raise AssertionError("a finished cell was run again")
    for name in ("run_cell", "code_cell_task", "measure_sequence"):   # either metric pass
        monkeypatch.setattr(f"conformance.campaign.runner.{name}", no_work)
    config = load_config(runs.dask_out.parent / "tiny.json")
    again = run_campaign(config, runs.dask_out, progress=None,
                         executor=DaskExecutor(scheduler="tcp://127.0.0.1:1"))   # never contacted
    assert (again.run.ran, again.run.skipped, again.run.failures) == (0, 4, [])


def _task(folder: Path, provenance: dict) -> CellTask:
    config = load_config(folder / "tiny.json")
    cell: Cell = plan_cells(config, ["vvc"], resolve_sequences(config))[0]
    input_hash = input_sha256(cell.sequence, 3 * SIZE * SIZE)
    return CellTask(config, cell, folder / "dask", cell_hash(config, cell, input_hash),
                    input_hash, provenance)


def test_a_rescheduled_cell_that_finished_is_not_computed_again(runs: Runs) -> None:
    """A worker that died after writing a cell's result: the retry returns that result."""
    def must_not_run(*args: object) -> dict:
        raise AssertionError("the finished cell was computed again")
    task = _task(runs.dask_out.parent, {})
    result = run_on_worker(must_not_run, task, 1, str(Path.cwd()))
    assert result["cell_hash"] == task.expected_hash and result["status"] == "ok"
    forced = replace(task, force=True)             # --force: computed again, as asked
    assert run_on_worker(lambda *args: {"forced": True}, forced, 1, str(Path.cwd())) == {"forced": True}


def test_a_worker_with_other_code_refuses_the_cell(runs: Runs) -> None:
    task = _task(runs.dask_out.parent, {"code_sha256": "0" * 64})
    with pytest.raises(CellError, match="runs other code than the campaign"):
        run_on_worker(lambda *args: {}, task, 1, str(Path.cwd()))


def test_unreachable_scheduler_is_a_one_line_error(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from conformance.campaign.__main__ import main
    config = write_tiny_config(tmp_path)
    status = main(["run", "--config", str(config), "--out", str(tmp_path / "out"), "--quiet",
                   "--scheduler", "tcp://127.0.0.1:1", "--connect-timeout", "2"])
    err = capsys.readouterr().err
    assert status == 2 and "cannot connect to the Dask scheduler at tcp://127.0.0.1:1" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "out" / "cells").exists()


def test_progress_counts_with_a_fake_clock() -> None:
    now = [0.0]
    lines: list[str] = []
    progress = CellProgress(3, lines.append, clock=lambda: now[0])
    progress.started("a", "w1")
    progress.started("b", "w2")
    assert lines[-1] == "b: started on w2; done 0/3, running 2, coded 0, failed 0, queued 1; 0.00 cells/min"
    now[0] = 60.0
    progress.finished("a", None, "1.00 kbps")
    progress.started("b", "w3")                   # its worker died: a restart counts once
    assert lines[-1] == "b: restarted on w3; done 1/3, running 1, coded 0, failed 0, queued 1; 1.00 cells/min"
    now[0] = 120.0
    progress.finished("b", "encoder failed")
    progress.started("a", "w1")                   # a late event of an ended cell: ignored
    assert lines[-1] == ("b: FAILED: encoder failed; done 1/3, running 0, coded 0, failed 1, queued 1; "
                         "1.00 cells/min")
    progress.started("c", "w1")
    progress.coded_cell("c", "coded, 100 bits")   # waits for its sequence's metric pass
    assert lines[-1] == ("c: coded, 100 bits; done 1/3, running 0, coded 1, failed 1, queued 0; "
                         "1.00 cells/min")
    progress.measuring(["c"], "seq (1 cells): started on w2")
    assert lines[-1] == ("seq (1 cells): started on w2; done 1/3, running 1, coded 0, failed 1, "
                         "queued 0; 1.00 cells/min")
    progress.finished("c", None, "2.00 kbps")
    assert lines[-1] == "c: 2.00 kbps; done 2/3, running 0, coded 0, failed 1, queued 0; 1.50 cells/min"
