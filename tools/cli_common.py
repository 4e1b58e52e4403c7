"""What every command-line tool shares: one-line errors and atomic output files."""
from __future__ import annotations

import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, NoReturn


def _umask_mode() -> int:
    """Mode for a new output file: what open() would give (mkstemp makes files private)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def fail(message: str, code: int = 1) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(code)


def read_input_file(path: str | Path, what: str = "input") -> bytes:
    p = Path(path)
    if not p.exists():
        fail(f"{what} file not found: {p}")
    if not p.is_file():
        fail(f"{what} is not a file: {p}")
    try:
        return p.read_bytes()
    except OSError as exc:
        fail(f"cannot read {what} file {p}: {exc.strerror}")


@contextmanager
def atomic_output(path: str | Path, mode: str = "wb") -> Iterator[object]:
    """Writes to a temporary file beside the target and renames it on success, so a failed
    run never leaves a partial file that looks valid."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
