"""One-line errors: ``prog: error: message`` on stderr, never a traceback for a user's mistake."""
from __future__ import annotations

import sys
from typing import NoReturn

from .exit_codes import EXIT_ERROR, EXIT_USAGE


class CommandError(Exception):
    """An error that ends a command with a one-line message and ``exit_code``."""
    exit_code = EXIT_ERROR

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(CommandError):
    """The command line cannot be run as given (exit status 2)."""
    exit_code = EXIT_USAGE


def print_error(prog: str, message: str) -> None:
    print(f"{prog}: error: {message}", file=sys.stderr)


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Ends the command: the ``ifvc_common.parser.command`` wrapper of its main prints the
    one-line error and returns ``code`` (an exception, so outputs in flight are removed)."""
    raise CommandError(message, code)


def describe_os_error(exc: OSError) -> str:
    """``path: reason`` for an OSError, without errno numbers or a traceback."""
    if exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return str(exc)
