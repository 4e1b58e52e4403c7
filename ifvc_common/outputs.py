"""Every output of a run is written to a temporary file beside its target and renamed only when
all of them were written; on any failure (an exception, SIGINT, SIGTERM: see ``interrupts``) the
temporary files are removed, so a failed run leaves no output, and no half-written file ever
carries an output's name."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from .paths import PathLike

TEMP_MARK = ".part"         # temporary names: .<target name>.<random>.part<target suffix>


def new_file_mode() -> int:
    """Mode of a new output file: what open() would give (mkstemp makes files private)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


class OutputTransaction:
    """``with OutputTransaction() as tx:`` then ``tx.write_bytes(target, data)``,
    ``tx.write_text(...)`` or ``tmp = tx.reserve(target)`` (write ``tmp`` yourself; its name keeps
    the target's suffix, for tools that choose a format by it). Leaving the block normally renames
    every temporary file onto its target; leaving it by any exception removes them all.

    A rename that fails part-way (a full or read-only file system between two renames) removes
    the files not yet renamed and re-raises; the outputs renamed before it stay."""

    def __init__(self) -> None:
        self._pending: list[tuple[Path, Path]] = []     # (temporary file, target)
        self._cleanups: list[Callable[[], None]] = []

    def reserve(self, target: PathLike) -> Path:
        target = Path(target)
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f"{TEMP_MARK}{target.suffix}",
                                       dir=target.parent)
        except OSError as exc:      # name the output, not the temporary file
            raise OSError(exc.errno, f"cannot write here ({exc.strerror})", str(target)) from None
        os.close(fd)
        self._pending.append((Path(tmp), target))
        return Path(tmp)

    def adopt(self, written: PathLike, target: PathLike) -> None:
        """Takes a file already written elsewhere on the target's file system (e.g. by an
        external tool in a work folder) as the temporary file of ``target``."""
        self._pending.append((Path(written), Path(target)))

    def write_bytes(self, target: PathLike, data: bytes) -> None:
        self.reserve(target).write_bytes(data)

    def write_text(self, target: PathLike, text: str) -> None:
        self.reserve(target).write_text(text)

    def on_abort(self, cleanup: Callable[[], None]) -> None:
        """Runs ``cleanup`` (e.g. stop a writer process) before the temporary files are removed."""
        self._cleanups.append(cleanup)

    def commit(self) -> None:
        mode = new_file_mode()
        while self._pending:
            tmp, target = self._pending[0]
            os.chmod(tmp, mode)
            os.replace(tmp, target)
            self._pending.pop(0)
        self._cleanups.clear()

    def abort(self) -> None:
        for cleanup in self._cleanups:
            try:
                cleanup()
            except Exception:       # cleaning up must not hide the error that got us here
                pass
        self._cleanups.clear()
        for tmp, _ in self._pending:
            tmp.unlink(missing_ok=True)
        self._pending.clear()

    def __enter__(self) -> "OutputTransaction":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is not None:
            self.abort()
            return
        try:
            self.commit()
        except BaseException:
            self.abort()
            raise
