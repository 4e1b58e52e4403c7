"""The console scripts' entry points (pyproject.toml [project.scripts]): each imports its command's
module inside the interrupt handling of ``interrupts``, then runs its ``main``. Loading a command
(numpy, OpenCV, PyTorch, MediaPipe) takes up to a few tenths of a second; a Ctrl-C or SIGTERM in
that time ends the command with its one line and 130 or 143, as it does later, not with a traceback.
"""
from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence

from .interrupts import interrupt_exit_code, interrupt_name, sigterm_as_interrupt

# console script: the module whose main(argv=None) -> int runs it
COMMANDS = {
    "ifvc-encode": "ref_encoder.cli",
    "ifvc-decode": "ref_decoder.cli",
    "ifvc-dump": "tools.dump",
    "ifvc-bitstream-demo": "tools.roundtrip_demo",
    "ifvc-demo": "tools.e2e_demo",
    "ifvc-prepare-sequences": "tools.prepare_sequences",
    "ifvc-anchor": "anchors.run",
    "ifvc-edit": "tools.bitstream_editor",
    "ifvc-character": "tools.make_character",
    "ifvc-conformance": "conformance.checker",
    "ifvc-campaign": "conformance.campaign.__main__",
    "ifvc-studio": "studio.cli",
}


def launch(prog: str, argv: Sequence[str] | None = None) -> int:
    """Imports COMMANDS[prog] and returns main(argv)'s exit status; an interrupt while it loads
    prints ``prog: interrupted by SIGINT; no output written`` and returns 130 (SIGTERM: 143)."""
    try:
        with sigterm_as_interrupt():
            main: Callable[[Sequence[str] | None], int] = importlib.import_module(COMMANDS[prog]).main
    except KeyboardInterrupt as exc:
        print(f"\n{prog}: interrupted by {interrupt_name(exc)}; no output written", file=sys.stderr)
        return interrupt_exit_code(exc)
    return main(argv)


def _entry(prog: str) -> Callable[[Sequence[str] | None], int]:
    def run(argv: Sequence[str] | None = None) -> int:
        return launch(prog, argv)
    run.__name__ = run.__qualname__ = prog.removeprefix("ifvc-").replace("-", "_")
    run.__doc__ = f"The {prog} console script."
    return run


encode = _entry("ifvc-encode")
decode = _entry("ifvc-decode")
dump = _entry("ifvc-dump")
bitstream_demo = _entry("ifvc-bitstream-demo")
demo = _entry("ifvc-demo")
prepare_sequences = _entry("ifvc-prepare-sequences")
anchor = _entry("ifvc-anchor")
edit = _entry("ifvc-edit")
character = _entry("ifvc-character")
conformance = _entry("ifvc-conformance")
campaign = _entry("ifvc-campaign")
studio = _entry("ifvc-studio")
