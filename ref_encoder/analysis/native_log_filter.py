"""MediaPipe's C++ core and TensorFlow Lite write start-up chatter straight to file
descriptor 2 ("Created TensorFlow Lite XNNPACK delegate", "Feedback manager requires...")
before any logging configuration applies. These are benign; the filter captures fd 2 around
MediaPipe's calls and passes on every line except those known ones, so real errors still
reach the user."""
from __future__ import annotations

import os
import re
import sys
import tempfile
from contextlib import contextmanager
from typing import Iterator

_BENIGN = re.compile(
    r"(^INFO: Created TensorFlow Lite XNNPACK delegate for CPU\.$)"
    r"|(^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$)"
    r"|(^W0000 .*(inference_feedback_manager\.cc|landmark_projection_calculator\.cc).*$)")


@contextmanager
def filtered_native_stderr() -> Iterator[None]:
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, ValueError, OSError):   # no real stderr (e.g. captured): do nothing
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), fd)
        try:
            yield
        finally:
            os.dup2(saved, fd)
            os.close(saved)
            capture.seek(0)
            for line in capture.read().decode(errors="replace").splitlines():
                if line and not _BENIGN.match(line):
                    print(line, file=sys.stderr)
