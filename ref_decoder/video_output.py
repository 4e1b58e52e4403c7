"""Decoder output: raw .rgb (planar 4:4:4), .yuv (4:2:0, the spec's integer conversion) or an
.mp4 for viewing (H.264 through ffmpeg). Written to a temporary file and renamed on close(),
so a failed decode never leaves a partial file that looks complete."""
from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from bitstream.keyframe_vvc import find_ffmpeg
from bitstream.picture_format import frame_to_rgb_planar, rgb_to_yuv420, yuv420_planar_bytes

FORMATS = ("rgb", "yuv", "mp4")


class VideoWriter:
    def __init__(self, path: str | Path, width: int, height: int, fps: float) -> None:
        self.path = Path(path)
        self.fmt = self.path.suffix.lower().lstrip(".")
        if self.fmt not in FORMATS:
            raise ValueError(f"output format .{self.fmt} not supported; use .rgb, .yuv or .mp4")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=f".part.{self.fmt}",
                                   dir=self.path.parent)
        self.tmp = Path(tmp)
        self.frames = 0
        self._proc: subprocess.Popen[bytes] | None = None
        if self.fmt == "mp4":
            os.close(fd)
            cmd = [find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo",
                   "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", f"{fps:g}", "-i", "pipe:0",
                   "-c:v", "libx264", "-crf", "12", "-pix_fmt", "yuv420p", str(self.tmp)]
            self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
            self._fh = None
        else:
            self._fh = os.fdopen(fd, "wb")

    def write(self, rgb: np.ndarray) -> None:
        if self._proc is not None:
            assert self._proc.stdin is not None
            self._proc.stdin.write(np.ascontiguousarray(rgb).tobytes())
        elif self.fmt == "rgb":
            self._fh.write(frame_to_rgb_planar(rgb))  # type: ignore[union-attr]
        else:
            self._fh.write(yuv420_planar_bytes(*rgb_to_yuv420(rgb)))  # type: ignore[union-attr]
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
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(self.tmp, 0o666 & ~mask)     # mkstemp makes files private; outputs are not
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        elif self._fh is not None and not self._fh.closed:
            self._fh.close()
        self.tmp.unlink(missing_ok=True)
