"""The argument parser of every IFVC command and the wrapper of its ``main``."""
from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from typing import Any

from .errors import CommandError, print_error
from .exit_codes import EXIT_CODES_EPILOG, EXIT_USAGE
from .interrupts import interrupt_exit_code, interrupt_name, sigterm_as_interrupt
from .version import version_text


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and the epilog as written; every option with a meaningful default shows it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if ("%(default)" in text or text == argparse.SUPPRESS or default in (None, False, argparse.SUPPRESS)
                or default == [] or not (action.option_strings or action.nargs in ("?", "*"))):
            return text
        return f"{text} (default: %(default)s)" if text else "default: %(default)s"

    def _split_lines(self, text: str, width: int) -> list[str]:
        # never split a name such as ifvc-geometric-1 at its hyphens
        import textwrap
        return textwrap.wrap(self._whitespace_matcher.sub(" ", text).strip(), width, break_on_hyphens=False)


class VersionAction(argparse.Action):
    """--version: computed only when asked (it may run git)."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS,
                 default: Any = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=default,
                         help=help or "print the package, specification and git versions and exit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        name = getattr(parser, "command_name", None) or parser.prog.removeprefix("python -m ").split()[0]
        print(version_text(name))
        parser.exit(0)


class CommandParser(argparse.ArgumentParser):
    """argparse with the project's conventions: defaults shown in --help, the exit codes as
    epilog, --version, and a usage error printed as one line (exit status 2)."""

    def __init__(self, *args: Any, version: bool = True, exit_codes_note: str = "",
                 command_name: str | None = None, **kwargs: Any) -> None:
        self.command_name = command_name        # the console script's name, for --version
        kwargs.setdefault("formatter_class", HelpFormatter)
        kwargs.setdefault("epilog", EXIT_CODES_EPILOG + (f"\n{exit_codes_note}" if exit_codes_note else ""))
        super().__init__(*args, **kwargs)
        if version:
            self.add_argument("--version", action=VersionAction)

    def add_subparsers(self, **kwargs: Any) -> Any:
        # sub-commands share the conventions, without a --version of their own
        kwargs.setdefault("parser_class", functools.partial(type(self), version=False))
        return super().add_subparsers(**kwargs)

    def error(self, message: str) -> Any:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def command(prog: str, interrupted: str = "no output written") -> Callable[[Callable[..., int]], Callable[..., int]]:
    """Wraps a command's ``main(argv)``: SIGTERM is handled like SIGINT while it runs, an
    interrupt ends it with one line (``prog: interrupted by SIGINT; <interrupted>``) and 130 or
    143, and a CommandError with its one-line error and exit status."""
    def wrap(main: Callable[..., int]) -> Callable[..., int]:
        @functools.wraps(main)
        def run(*args: Any, **kwargs: Any) -> int:
            try:
                with sigterm_as_interrupt():
                    return main(*args, **kwargs)
            except KeyboardInterrupt as exc:
                print(f"\n{prog}: interrupted by {interrupt_name(exc)}; {interrupted}", file=sys.stderr)
                return interrupt_exit_code(exc)
            except CommandError as exc:
                print_error(prog, str(exc))
                return exc.exit_code
        return run
    return wrap
