"""When the encoder's thread starts and ends its serial steps in one whole `ifvc-encode` run:
imports, MediaPipe's set-up (FaceAnalyzer), each key frame's VVenC call as the encoder's thread
sees it (with the early first key frame: only the wait for its result), the end of encode( );
then the CPU of this process and of its children (the drawing process, ffmpeg). The arguments
are ifvc-encode's.

    python docs/results/encoder_startup_2026-12-07/startup_timeline.py work/sequences/CLIP_256x256_25_8bit_444.rgb \
        --width 256 --height 256 --frames 100 --qp 32 --pose-fit --refresh auto --correction-grid auto -o OUT.ifvc --quiet
"""
from __future__ import annotations

import resource
import sys
import time
from pathlib import Path
from typing import Any

T0 = time.perf_counter()
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

import ref_encoder.analysis.analyzer as analyzer  # noqa: E402
import ref_encoder.cli as cli  # noqa: E402
import ref_encoder.encoder as encoder  # noqa: E402


def mark(what: str) -> None:
    print(f"{time.perf_counter() - T0:6.3f} s  {what}", file=sys.stderr)


def timed(owner: Any, name: str, before: str, after: str) -> None:
    """Wraps owner.name so that its start and end are marked."""
    plain = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        mark(before)
        try:
            return plain(*args, **kwargs)
        finally:
            mark(after)
    setattr(owner, name, wrapper)


def main() -> None:
    mark("imported")
    timed(analyzer.FaceAnalyzer, "__init__", "MediaPipe set-up starts", "MediaPipe ready")
    timed(encoder.Encoder, "_code_picture", "key picture asked for", "key picture coded and decoded")
    timed(encoder.Encoder, "encode", "encode starts", "encode ends")
    sys.argv = ["ifvc-encode"] + sys.argv[1:]
    try:
        cli.main()
    except SystemExit:
        pass
    mark("exit")
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"CPU: this process {own.ru_utime + own.ru_stime:.2f} s, its children "
          f"{children.ru_utime + children.ru_stime:.2f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
