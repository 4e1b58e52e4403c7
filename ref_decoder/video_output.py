"""Decoder output: raw .rgb (planar 4:4:4), .yuv (4:2:0, the spec's integer conversion) or an
.mp4 for viewing (H.264 through ffmpeg). The writer writes the file it is given; the decoder
CLI gives it a temporary file of an ifvc_common.outputs.OutputTransaction, renamed onto the
output only when the whole decode succeeded, so a failed or interrupted decode never leaves a
partial file that looks complete."""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from bitstream.keyframe_vvc import find_ffmpeg
from bitstream.picture_format import frame_to_rgb_planar
from bitstream.raw_video import rgb_frame_to_yuv420_bytes

FORMATS = ("rgb", "yuv", "mp4")


def output_format(path: str | Path) -> str:
    """The format an output name asks for ("rgb", "yuv" or "mp4"), or ValueError."""
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"output format .{fmt} not supported; use .rgb, .yuv or .mp4")
    return fmt


class VideoWriter:
    """Writes frames (height x width x 3 uint8 RGB) to ``path`` in the format its suffix names."""

    def __init__(self, path: str | Path, width: int, height: int, fps: float) -> None:
        self.path = Path(path)
        self.fmt = output_format(self.path)
        self.frames = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._fh = None
        if self.fmt == "mp4":
            cmd = [find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo",
                   "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", f"{fps:g}", "-i", "pipe:0",
                   "-c:v", "libx264", "-crf", "12", "-pix_fmt", "yuv420p", str(self.path)]
            # its own process group: a Ctrl-C in the terminal reaches the decoder only, which
            # then stops ffmpeg itself (abort) instead of racing a dying pipe
            self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE, process_group=0)
        else:
            self._fh = open(self.path, "wb")

    def write(self, rgb: np.ndarray) -> None:
        if self._proc is not None:
            assert self._proc.stdin is not None
            self._proc.stdin.write(np.ascontiguousarray(rgb).tobytes())
        elif self.fmt == "rgb":
            self._fh.write(frame_to_rgb_planar(rgb))  # type: ignore[union-attr]
        else:
            self._fh.write(rgb_frame_to_yuv420_bytes(rgb))  # type: ignore[union-attr]
        self.frames += 1

    def close(self) -> None:
        if self._proc is not None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
            if self._proc.wait() != 0:
                self.abort()
                raise RuntimeError(f"ffmpeg failed to write {self.path}: {err.strip()[-300:]}")
        else:
            self._fh.close()  # type: ignore[union-attr]

    def abort(self) -> None:
        """Stops writing and removes the file (after an error or an interrupt)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        elif self._fh is not None and not self._fh.closed:
            self._fh.close()
        self.path.unlink(missing_ok=True)
