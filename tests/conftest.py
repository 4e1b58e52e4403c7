"""Shared test set-up: hypothesis profiles, an opt-in thread count, and where the real data lives.

Hypothesis profiles (HYPOTHESIS_PROFILE; the default is "deterministic", on every machine and
in CI):
- deterministic: derandomized, so every run of a commit tries the same examples and a
  submission never fails by chance; no example database (no failure is saved or replayed;
  hypothesis still caches source constants in .hypothesis/); no deadline (speed is never a
  pass criterion). Each test's own max_examples applies.
- explore: random search with the example database in .hypothesis/ (git-ignored, replays
  what failed before) and EXPLORE_FACTOR times each test's examples, for local bug hunting.

IFVC_TEST_THREADS=N runs the suite with N threads everywhere: OpenMP, OpenBLAS, MKL and
OpenCV in this process and in the commands the tests start, and torch.set_num_threads(N)
here (no generator changes it; the decoded bytes do not depend on it, Annex F.6).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"

EXPLORE_FACTOR = 10
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                     "OPENCV_FOR_THREADS_NUM")

settings.register_profile("deterministic", derandomize=True, database=None, deadline=None,
                          print_blob=True, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("explore", derandomize=False, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "deterministic")
settings.load_profile(PROFILE)


TEST_THREADS: int | None = None


def _test_threads() -> int | None:
    text = os.environ.get("IFVC_TEST_THREADS", "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise pytest.UsageError(f"IFVC_TEST_THREADS must be a positive integer, got {text!r}")
    return int(text)


def pytest_configure(config: pytest.Config) -> None:
    global PROFILE, TEST_THREADS
    PROFILE = config.getoption("hypothesis_profile", None) or PROFILE   # hypothesis' own option
    TEST_THREADS = _test_threads()
    if TEST_THREADS is None:
        return
    # OpenBLAS reads its variable when numpy loads it, which happens when the test modules are
    # collected, after this; commands the tests start inherit all of them.
    if "numpy" in sys.modules:
        raise pytest.UsageError("IFVC_TEST_THREADS: numpy was imported before the tests were "
                                "configured, so OpenBLAS's thread count can no longer be set")
    for name in _THREAD_VARIABLES:
        os.environ[name] = str(TEST_THREADS)
    import cv2
    import torch
    torch.set_num_threads(TEST_THREADS)
    cv2.setNumThreads(TEST_THREADS)


def pytest_report_header(config: pytest.Config) -> list[str]:
    threads = "default" if TEST_THREADS is None else str(TEST_THREADS)
    blas = os.environ.get("OPENBLAS_CORETYPE", "auto")
    return [f"hypothesis profile: {PROFILE}; threads: {threads}; OPENBLAS_CORETYPE: {blas}"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """explore: EXPLORE_FACTOR times every property's own max_examples (settings given in a
    test's decorator take precedence over the profile, so they are scaled here)."""
    if PROFILE != "explore":
        return
    scaled: set[int] = set()
    for item in items:
        test = getattr(item, "obj", None)
        own = getattr(test, "_hypothesis_internal_use_settings", None)   # set by @given/@settings
        if own is None or id(test) in scaled:
            continue
        scaled.add(id(test))
        test._hypothesis_internal_use_settings = settings(own, max_examples=own.max_examples * EXPLORE_FACTOR)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data beside the checkout; tests that need real clips skip without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (../shared/data beside the checkout)")
    return SHARED_DATA


@pytest.fixture
def one_torch_thread():  # type: ignore[no-untyped-def]
    """The metric networks on one torch thread (faster than two on 2 shared cores); the setting
    is restored afterwards. Modules use it with pytestmark = pytest.mark.usefixtures(...)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
