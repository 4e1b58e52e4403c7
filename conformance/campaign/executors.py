"""Where the cells of a campaign run: in this process, in a local pool of processes, or on a
Dask cluster (an existing one named by its scheduler address, or a local one started for the
run). Every executor runs the same cell function on the same tasks, so the results do not
depend on the executor (streams, decoded output and rates exactly; tests/test_campaign_dask.py).

A cell is content-addressed (cells.cell_hash): its Dask key is derived from its hash and output
folder, so two clients asking for the same cell share one computation, and a cell that Dask
re-schedules after its worker died first looks for its finished result (the worker may have
died after writing it) before computing anything.

Two kinds of task run here: a CellTask (one cell: coded, or coded and measured) and a
SequenceTask (the metric pass over the coded cells of one sequence, runner.py). Each knows how
to call its function (``call``) and what finished result makes it unnecessary (``previous``),
so the executors treat them alike.
"""
from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import platform
import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from ifvc_synthesis.cpu_threads import prefer_passive_openmp_wait, set_synthesis_threads

from .cells import Cell, finished_result
from .coding import CellError
from .config import CampaignConfig
from .errors import CampaignError

CellFunction = Callable[[CampaignConfig, Cell, Path, str, str, dict[str, Any]], dict[str, Any]]
# A SequenceTask's function: the task in, one (label, result or None, error or None) per cell out.
SequenceFunction = Callable[["SequenceTask"], list[tuple[str, "dict[str, Any] | None", "str | None"]]]
Started = Callable[[Any, str], None]                                 # (task, where)
Finished = Callable[[Any, Any, "str | None"], None]                  # (task, result, error)

EVENT_TOPIC = "ifvc-campaign-cell"
# Test only: a marker file naming one cell label. The first worker that runs that cell renames
# the marker (atomically: exactly one worker does) and exits at once, as a crashed worker would;
# the retry finds no marker and computes the cell. See tests/test_campaign_dask.py.
DIE_ONCE_ENV = "IFVC_CAMPAIGN_TEST_DIE_ONCE"
DIE_ONCE_EXIT = 70
POLL_S = 0.5                           # how often the client looks for starts and ends


@dataclass(frozen=True)
class CellTask:
    """One cell to compute, with everything its worker needs (picklable)."""

    config: CampaignConfig
    cell: Cell
    out_dir: Path
    expected_hash: str
    input_hash: str
    provenance: dict[str, Any]
    force: bool = False                # --force: redo it even where a current result exists

    @property
    def label(self) -> str:
        return self.cell.label

    def dask_key(self) -> str:
        # The cell's hash and where it writes: equal keys are the same computation.
        where = Path(self.out_dir).resolve()
        digest = hashlib.sha256(f"{self.expected_hash}\n{where}".encode()).hexdigest()
        return (f"ifvc-cell-{self.cell.codec.name}-qp{self.cell.point}-{self.cell.sequence.name}"
                f"-{digest[:16]}")

    def call(self, function: CellFunction) -> dict[str, Any]:
        return function(self.config, self.cell, self.out_dir, self.expected_hash,
                        self.input_hash, self.provenance)

    def previous(self) -> dict[str, Any] | None:
        """The cell's finished, current result (nothing to compute), unless --force."""
        if self.force:
            return None
        return finished_result(self.cell.result_path(self.out_dir), self.expected_hash)


@dataclass(frozen=True)
class SequenceTask:
    """The metric pass of one sequence: every cell in ``cells`` (coded, not yet measured) is
    measured against the sequence's source in one pass (runner.measure_sequence)."""

    cells: tuple[CellTask, ...]

    def __post_init__(self) -> None:
        if not self.cells or len({task.cell.sequence.name for task in self.cells}) != 1:
            raise ValueError("a SequenceTask holds the cells of one sequence, at least one")

    @property
    def sequence(self) -> str:
        return self.cells[0].cell.sequence.name

    @property
    def label(self) -> str:
        return f"metrics {self.sequence}"

    @property
    def provenance(self) -> dict[str, Any]:
        return self.cells[0].provenance

    @property
    def force(self) -> bool:
        return any(task.force for task in self.cells)

    def dask_key(self) -> str:
        where = Path(self.cells[0].out_dir).resolve()
        hashes = "\n".join(sorted(task.expected_hash for task in self.cells))
        digest = hashlib.sha256(f"{hashes}\n{where}".encode()).hexdigest()
        return f"ifvc-metrics-{self.sequence}-{digest[:16]}"

    def call(self, function: SequenceFunction) -> list[tuple[str, dict[str, Any] | None, str | None]]:
        return function(self)

    def previous(self) -> list[tuple[str, dict[str, Any] | None, str | None]] | None:
        """Every cell already finished (a re-scheduled pass whose worker died after writing)."""
        found = [task.previous() for task in self.cells]
        if any(result is None for result in found):
            return None
        return [(task.label, result, None) for task, result in zip(self.cells, found)]


class Executor(Protocol):
    description: str

    def run(self, tasks: list[Any], function: Any, started: Started,
            finished: Finished) -> None:
        """Run every task; report each start and each end (result or one-line error)."""


def describe_error(error: BaseException) -> str:
    if isinstance(error, CellError):
        return str(error)
    if type(error).__name__ == "KilledWorker":
        return ("its worker died while computing it, more often than the scheduler allows "
                "(distributed.scheduler.allowed-failures)")
    return f"{type(error).__name__}: {error}"


def set_torch_threads(threads: int) -> None:
    """A worker's threads (--threads): PyTorch's (metrics, learned generator) and OpenCV's
    (generators). The decoder's output does not depend on them (ifvc_synthesis/cpu_threads.py)."""
    import torch
    torch.set_num_threads(max(1, threads))
    set_synthesis_threads(max(1, threads))


def _call(function: Any, task: CellTask | SequenceTask) -> Any:
    return task.call(function)


class LocalExecutor:
    """Today's executor: the cells in this process (jobs=1), or in a pool of spawned processes
    (no fork of a process holding torch). The pool runs its queue in order, so the cells it
    reports as running are the first `jobs` unfinished ones."""

    def __init__(self, jobs: int = 1, threads: int = 1) -> None:
        self.jobs = jobs
        self.threads = threads
        self.description = f"local, {jobs} job{'s' if jobs > 1 else ''}"

    def run(self, tasks: list[Any], function: Any, started: Started,
            finished: Finished) -> None:
        if self.jobs <= 1 or len(tasks) <= 1:
            set_torch_threads(self.threads)
            for task in tasks:
                started(task, "this process")
                try:
                    result = _call(function, task)
                except Exception as error:  # noqa: BLE001 - one failed cell must not stop the rest
                    finished(task, None, describe_error(error))
                else:
                    finished(task, result, None)
            return
        prefer_passive_openmp_wait()       # the workers' OpenMP threads sleep when idle, not spin
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=context,
                                   initializer=set_torch_threads, initargs=(self.threads,))
        try:
            self._run_pool(pool, tasks, function, started, finished)
        except BaseException:
            _stop_pool(pool)       # an interrupt (or a bug) must not wait for the whole queue
            raise
        pool.shutdown(wait=True)

    def _run_pool(self, pool: ProcessPoolExecutor, tasks: list[Any], function: Any,
                  started: Started, finished: Finished) -> None:
        futures = {pool.submit(_call, function, task): task for task in tasks}
        waiting = iter(tasks)
        for task in _take(waiting, self.jobs):
            started(task, "a local process")
        for future in as_completed(futures):
            task = futures[future]
            try:
                result = future.result()
            except Exception as error:  # noqa: BLE001
                finished(task, None, describe_error(error))
            else:
                finished(task, result, None)
            for upcoming in _take(waiting, 1):
                started(upcoming, "a local process")


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancels the queued cells and stops the running ones at once: leaving the pool's `with`
    block would wait for every queued cell, so SIGTERM or Ctrl-C kept the campaign running.
    A stopped cell has written nothing final (its outputs are transactions) and is computed
    again on resume."""
    workers = list((getattr(pool, "_processes", None) or {}).values())  # no public handle
    pool.shutdown(wait=False, cancel_futures=True)
    for process in workers:
        process.terminate()
    for process in workers:
        process.join(timeout=10)


def _take(iterator: Iterator[Any], count: int) -> list[Any]:
    return [task for _, task in zip(range(count), iterator)]


class DaskExecutor:
    """The cells on a Dask cluster: the one at `scheduler` (tcp://HOST:PORT), or else a local
    cluster of `workers` processes with one thread each, on the loopback interface only.

    A worker of an existing cluster must run the same code as this client (checked per cell,
    provenance.code_sha256) and see `--out` and the sequences under the same paths (a shared
    filesystem); it runs each cell in this client's working directory when that exists there,
    since relative paths in a config are relative to it."""

    def __init__(self, scheduler: str | None = None, workers: int = 1, threads: int = 1,
                 timeout_s: float | None = None, connect_timeout_s: float = 30.0) -> None:
        self.scheduler = scheduler
        self.connect_timeout_s = connect_timeout_s
        self.timeout_s = timeout_s          # for the whole run; None: no limit (tests bound it)
        self.workers = workers
        self.threads = threads
        self.description = (f"Dask scheduler {scheduler}" if scheduler else
                            f"local Dask cluster, {workers} worker{'s' if workers > 1 else ''}")

    @contextmanager
    def client(self) -> Iterator[Any]:
        from distributed import Client, LocalCluster
        if self.scheduler:
            try:
                client = Client(self.scheduler, timeout=self.connect_timeout_s,
                                set_as_default=False)
            except (OSError, TimeoutError, ValueError) as error:
                raise CampaignError(f"cannot connect to the Dask scheduler at {self.scheduler}: "
                                    f"{error}") from None
            with client:
                yield client
            return
        import dask
        prefer_passive_openmp_wait()       # the workers' OpenMP threads sleep when idle, not spin
        # The workers get this process's environment, as the local pool's processes do (Dask's
        # nanny would set OMP/MKL/OpenBLAS threads to 1 in them: other speeds than the pool's).
        with dask.config.set({"distributed.nanny.pre-spawn-environ": {}}), \
                LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                             host="127.0.0.1", dashboard_address=None,
                             silence_logs=logging.ERROR) as cluster, \
                Client(cluster, set_as_default=False) as client:
            yield client

    def run(self, tasks: list[Any], function: Any, started: Started,
            finished: Finished) -> None:
        from distributed import as_completed as dask_completed
        by_key = {task.dask_key(): task for task in tasks}
        # Workers announce starts as events, handled in the client's network thread, and may
        # announce a cell's successor before this thread sees the cell's end. So a start is
        # reported from this thread, once it is a poll old (the ends before it are seen by
        # then), or with the end of its own cell when that came within the same poll.
        starts: queue.SimpleQueue[tuple[CellTask, str, float]] = queue.SimpleQueue()

        def on_event(event: tuple[float, Any]) -> None:
            message = event[1]
            task = by_key.get(message.get("key")) if isinstance(message, dict) else None
            if task is not None:                   # another client's cells are not ours
                starts.put((task, str(message.get("worker", "a worker")), time.monotonic()))

        announced: list[tuple[CellTask, str, float]] = []

        def report_starts(ended: set[str] | None = None) -> None:
            """The starts of the cells in `ended`, or else those a poll old."""
            while not starts.empty():
                announced.append(starts.get())
            now = time.monotonic()
            for item in [a for a in announced if (a[0].label in ended if ended is not None
                                                  else now - a[2] >= POLL_S)]:
                announced.remove(item)
                started(item[0], item[1])

        deadline = None if self.timeout_s is None else time.monotonic() + self.timeout_s
        with self.client() as client:
            client.subscribe_topic(EVENT_TOPIC, on_event)
            try:
                futures = {client.submit(run_on_worker, function, task, self.threads, os.getcwd(),
                                         key=key, pure=False, retries=0): task
                           for key, task in by_key.items()}
                completed = dask_completed(futures, loop=client.loop)
                while not completed.is_empty():
                    if deadline is not None and time.monotonic() > deadline:
                        raise CampaignError(f"the Dask cells did not all end within "
                                            f"{self.timeout_s:g} s")
                    done = completed.next_batch(block=False)
                    if not done:
                        time.sleep(POLL_S)
                    report_starts({futures[future].label for future in done})
                    for future in done:
                        task = futures[future]
                        try:
                            result = future.result()
                        except Exception as error:  # noqa: BLE001 - the others go on
                            finished(task, None, describe_error(error))
                        else:
                            finished(task, result, None)
                        future.release()
                    report_starts()
            finally:
                client.unsubscribe_topic(EVENT_TOPIC)


_directory_lock = threading.Lock()


def run_on_worker(function: Any, task: CellTask | SequenceTask, threads: int, cwd: str) -> Any:
    """A cell on a Dask worker: same threads and working directory as the local pool, same
    code as the client, and no second computation of a cell that finished already."""
    set_torch_threads(threads)
    with _directory_lock:              # the working directory is the process's, not the thread's
        if os.path.isdir(cwd) and os.getcwd() != cwd:
            os.chdir(cwd)
    expected_code = task.provenance.get("code_sha256")
    if expected_code and worker_code_sha256() != expected_code:
        raise CellError(f"worker {platform.node()} runs other code than the campaign (code "
                        f"sha256 {worker_code_sha256()[:12]}, campaign {expected_code[:12]}): "
                        f"install the same revision on every worker")
    _announce(task)
    previous = task.previous()
    if previous is not None:           # re-scheduled after its worker died having written it
        return previous
    _die_once_for_tests(task.label)
    return _call(function, task)


@lru_cache(maxsize=1)
def worker_code_sha256() -> str:
    from .provenance import code_sha256
    return code_sha256()


def _announce(task: CellTask | SequenceTask) -> None:
    from distributed import get_worker
    try:
        worker = get_worker()
    except ValueError:                 # not on a worker (called directly): nobody to tell
        return
    where = " ".join(filter(None, [platform.node(), str(worker.address)]))
    worker.log_event(EVENT_TOPIC, {"key": task.dask_key(), "label": task.label, "worker": where})


def _die_once_for_tests(label: str) -> None:
    marker = os.environ.get(DIE_ONCE_ENV)
    if not marker:
        return
    path = Path(marker)
    try:
        if path.read_text().strip() != label:
            return
        path.rename(path.with_name(path.name + ".fired"))
    except OSError:                    # no marker, or another worker fired it first
        return
    os._exit(DIE_ONCE_EXIT)
