"""File digests (standard library only)."""
from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_file(path: str | Path, limit: int | None = None) -> str:
    """SHA-256 (hex) of a file, or of its first ``limit`` bytes; read in 1 MiB blocks."""
    digest = hashlib.sha256()
    remaining = limit
    with open(path, "rb") as handle:
        while remaining is None or remaining > 0:
            block = handle.read(1 << 20 if remaining is None else min(1 << 20, remaining))
            if not block:
                break
            digest.update(block)
            if remaining is not None:
                remaining -= len(block)
    return digest.hexdigest()
