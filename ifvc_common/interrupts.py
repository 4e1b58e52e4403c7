"""SIGINT and SIGTERM end a command through one clean exit path: SIGINT raises KeyboardInterrupt
(Python's own handler) and SIGTERM raises ``Terminated``, a KeyboardInterrupt, so the same
``except``/``finally`` blocks and ``OutputTransaction`` remove partial outputs; the command
then prints one line and exits with 130 (SIGINT) or 143 (SIGTERM)."""
from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from .exit_codes import EXIT_SIGINT, EXIT_SIGTERM


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when the process receives SIGTERM."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises Terminated (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def interrupt_exit_code(exc: KeyboardInterrupt) -> int:
    return EXIT_SIGTERM if isinstance(exc, Terminated) else EXIT_SIGINT


def interrupt_name(exc: KeyboardInterrupt) -> str:
    return "SIGTERM" if isinstance(exc, Terminated) else "SIGINT"
