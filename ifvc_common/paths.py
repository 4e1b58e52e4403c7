"""Checks a command makes before it reads or writes anything: no output may be the same file as an
input (or as another output), and the folder of every output file must exist (codec tools refuse
rather than create folders a typo named)."""
from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from .errors import CommandError, UsageError

PathLike = str | os.PathLike[str]


def _identity(path: PathLike) -> tuple[int, int] | None:
    """(device, inode) of what the path names after following links, or None if nothing is there."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def refuse_same_file(inputs: Iterable[PathLike | None], outputs: Iterable[PathLike | None]) -> None:
    """UsageError when an output names an input file (by any path: ``./``, ``..``, a symbolic or
    a hard link: files are compared by device and inode) or two outputs name the same file."""
    ins = [(p, _identity(p)) for p in inputs if p is not None]
    outs = [p for p in outputs if p is not None]
    for out in outs:
        ident = _identity(out)
        for inp, in_ident in ins:
            if ident is not None and ident == in_ident:
                raise UsageError(f"output {out} is the same file as input {inp}; "
                                 "choose another output name")
    for i, out in enumerate(outs):
        for other in outs[:i]:
            ident = _identity(out)
            if os.path.realpath(out) == os.path.realpath(other) or (ident is not None and ident == _identity(other)):
                raise UsageError(f"outputs {other} and {out} are the same file")

def require_output_folders(outputs: Iterable[PathLike | None]) -> None:
    """UsageError naming the missing folder when an output file's folder does not exist, or when an
    output names an existing folder."""
    for out in outputs:
        if out is None:
            continue
        path = Path(out)
        if path.is_dir():
            raise UsageError(f"output {out} is a folder; give a file name")
        folder = path.parent
        if not folder.is_dir():
            raise UsageError(f"output folder {folder} does not exist (create it first)")


def check_outputs(inputs: Iterable[PathLike | None], outputs: Iterable[PathLike | None]) -> None:
    """Both checks above, in the order a user wants to hear about them."""
    outputs = list(outputs)
    refuse_same_file(inputs, outputs)
    require_output_folders(outputs)


def read_input_file(path: PathLike, what: str = "input") -> bytes:
    """The bytes of an input file, or a one-line CommandError (exit status 1)."""
    p = Path(path)
    if not p.exists():
        raise CommandError(f"{what} file not found: {p}")
    if not p.is_file():
        raise CommandError(f"{what} is not a file: {p}")
    try:
        return p.read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {what} file {p}: {exc.strerror}") from None
