"""Finding and running the external tools (ffmpeg, VTM), with one-line errors."""
from __future__ import annotations

import functools
import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from anchors.errors import AnchorError
from bitstream import keyframe_vvc
from bitstream.keyframe_vvc import ToolMissingError

STDERR_TAIL_LINES = 6
STDERR_TAIL_CHARS = 800


@dataclass(frozen=True)
class ToolRun:
    """A finished external command."""

    argv: list[str]
    stdout: str
    stderr: str
    seconds: float


def find_ffmpeg(explicit: str | Path | None = None) -> Path:
    """ffmpeg to use (bitstream.keyframe_vvc.find_ffmpeg's search), an AnchorError when none is found."""
    try:
        return Path(keyframe_vvc.find_ffmpeg(explicit))
    except ToolMissingError as exc:
        raise AnchorError(str(exc)) from None


def require_executable(path: Path, what: str) -> Path:
    """``path`` if it is an executable file, else an AnchorError naming ``what``."""
    if not path.is_file():
        raise AnchorError(f"{what} not found: {path}")
    if not os.access(path, os.X_OK):
        raise AnchorError(f"{what} is not executable: {path}")
    return path


@functools.lru_cache(maxsize=8)
def ffmpeg_version(ffmpeg: Path) -> str:
    """First line of ``ffmpeg -version`` (it names the exact build)."""
    run = run_tool([str(ffmpeg), "-hide_banner", "-version"], "ffmpeg -version")
    return run.stdout.strip().splitlines()[0] if run.stdout.strip() else "unknown"


@functools.lru_cache(maxsize=8)
def ffmpeg_codecs(ffmpeg: Path, kind: str) -> frozenset[str]:
    """Names of the encoders (kind "encoders") or decoders ("decoders") ffmpeg was built with."""
    run = run_tool([str(ffmpeg), "-hide_banner", f"-{kind}"], f"ffmpeg -{kind}")
    names = set()
    for line in run.stdout.splitlines():
        parts = line.split()
        # Codec lines are " V....D name  description"; the flags column is 6 characters.
        if len(parts) >= 2 and len(parts[0]) == 6 and parts[0][0] in "VAS":
            names.add(parts[1])
    return frozenset(names)


def require_ffmpeg_codec(ffmpeg: Path, kind: str, name: str) -> None:
    if name not in ffmpeg_codecs(ffmpeg, kind):
        raise AnchorError(f"{ffmpeg} has no {name} {kind[:-1]}; use an ffmpeg built with it "
                          "(the one of imageio-ffmpeg 0.8.1 has libvvenc, libx265, vvc, hevc)")


def encoder_version_from_log(log: str) -> str | None:
    """The encoder library's own version string, as ffmpeg or VTM print it while encoding."""
    patterns = (r"libvvenc version: (\S+)",
                r"HEVC encoder version (\S+)",
                r"VTM Encoder Version (\S+)")
    for pattern in patterns:
        match = re.search(pattern, log)
        if match:
            return match.group(1)
    return None


def run_tool(argv: list[str], what: str, cwd: Path | None = None) -> ToolRun:
    """Run ``argv``; an AnchorError with the tail of its stderr if it fails."""
    start = time.perf_counter()
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, errors="replace",
                              cwd=cwd, stdin=subprocess.DEVNULL, check=False)
    except FileNotFoundError:
        raise AnchorError(f"{what}: program not found: {argv[0]}") from None
    except PermissionError:
        raise AnchorError(f"{what}: program not executable: {argv[0]}") from None
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        tail = stderr_tail(proc.stderr or proc.stdout)
        raise AnchorError(f"{what} failed (exit {proc.returncode}): {tail}")
    return ToolRun(argv, proc.stdout, proc.stderr, seconds)


def stderr_tail(text: str) -> str:
    """One line from a tool's log: the first line that names a cause, then the last lines.

    ffmpeg states the cause early ("Unknown vvenc option: X") and ends with generic lines
    ("Conversion failed!"), so the tail alone would hide it.
    """
    lines = [_ADDRESS.sub("", line.strip())
             for line in text.replace("\r", "\n").splitlines() if line.strip()]
    tail = lines[-STDERR_TAIL_LINES:]
    cause = next((line for line in lines if _CAUSE.search(line)), None)
    if cause is not None and cause not in tail:
        tail = [cause, "..."] + tail[-(STDERR_TAIL_LINES - 2):]
    joined = " | ".join(tail) or "(no output)"
    return joined if len(joined) <= STDERR_TAIL_CHARS else joined[:STDERR_TAIL_CHARS] + "..."


_ADDRESS = re.compile(r" @ 0x[0-9a-f]+")
_CAUSE = re.compile(r"(?i)error|unknown|invalid|cannot|could not|no such|not found|failed")
