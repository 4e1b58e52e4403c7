"""An interrupt (SIGTERM, Ctrl-C) stops a pooled campaign at once: the queued cells are
cancelled and the running ones stopped, instead of the pool finishing its whole queue."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance.campaign.executors import LocalExecutor


@dataclass(frozen=True)
class SlowTask:
    """A stand-in cell: sleeps, then leaves a marker file (what a finished cell writes)."""
    marker: str
    seconds: float

    def call(self, function):  # type: ignore[no-untyped-def]
        return function(self)


def sleep_then_mark(task: SlowTask) -> str:
    time.sleep(task.seconds)
    Path(task.marker).write_text("done")
    return task.marker


def test_interrupt_cancels_the_queue_and_stops_running_cells(tmp_path: Path) -> None:
    # The first cell ends quickly and the interrupt arrives when its end is reported; the
    # others take long. Before the fix, leaving the pool waited for all eight.
    tasks = [SlowTask(str(tmp_path / "cell0"), 0.0)]
    tasks += [SlowTask(str(tmp_path / f"cell{i}"), 30.0) for i in range(1, 8)]
    finished: list[str] = []

    def on_finished(task: SlowTask, result: object, error: str | None) -> None:
        finished.append(task.marker)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        LocalExecutor(jobs=2).run(tasks, sleep_then_mark, lambda task, where: None, on_finished)
    assert finished == [tasks[0].marker]
    marked = sorted(p.name for p in tmp_path.iterdir())
    assert marked == ["cell0"], f"cells that ran to the end after the interrupt: {marked}"
