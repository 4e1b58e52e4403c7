"""CPU threads of the synthesis (informative; spec Annex F.6): OpenCV's and PyTorch's.

The generators' output does not depend on the thread count (the geometric generators are
per-sample OpenCV and numpy operations; the learned generator runs its network in a
thread-invariant layout, learned.py), so the thread count is the caller's choice: the
campaign's pool workers take one thread each, `ifvc-decode --threads N` sets N. A generator
never changes it behind the caller's back (the learned generator used to set 2 threads
process-wide when it was made, which put two threads in every one-thread campaign worker).

PyTorch's OpenMP runtime (libgomp) keeps idle threads spinning between parallel regions by
default. On a shared machine whose cores are busy with other processes, the spinning thread
takes the core the working one needs: measured (docs/results/decoder_speed_2026-12-03), a
RefineNet forward on 2 threads took 4 to 5 times the CPU time of 1 thread. With
OMP_WAIT_POLICY=PASSIVE the idle threads sleep, and 2 threads cost about what 1 does.
"""
from __future__ import annotations

import os
import sys
from types import ModuleType

OMP_WAIT_POLICY = "OMP_WAIT_POLICY"
_requested_threads: int | None = None      # set_synthesis_threads() before torch was loaded


def prefer_passive_openmp_wait() -> bool:
    """OMP_WAIT_POLICY=PASSIVE unless the user set a policy. libgomp reads it when it loads, so
    it takes effect in this process only if torch is not imported yet (returns True then), and
    in every process started afterwards (campaign workers, child commands)."""
    os.environ.setdefault(OMP_WAIT_POLICY, "PASSIVE")
    return "torch" not in sys.modules


def set_synthesis_threads(threads: int) -> None:
    """Threads of OpenCV and, when it is loaded, PyTorch, for this process. A learned generator
    made later takes PyTorch's setting as it is (it never sets its own)."""
    global _requested_threads
    if threads < 1:
        raise ValueError(f"thread count must be at least 1, got {threads}")
    import cv2
    cv2.setNumThreads(threads)
    _requested_threads = threads
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)


def apply_requested_threads(torch: ModuleType) -> None:
    """Called where torch is imported for synthesis (learned.py): the count asked for before
    torch was loaded (a geometric decode never pays for importing torch)."""
    if _requested_threads is not None:
        torch.set_num_threads(_requested_threads)
