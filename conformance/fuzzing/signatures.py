"""Crash signatures: the exception type, the innermost frame inside the project's packages and
the message with its numbers taken out, so that one bug found many times counts once."""
from __future__ import annotations

import hashlib
import re
import traceback
from pathlib import Path
from types import TracebackType

REPO = Path(__file__).resolve().parents[2]
PROJECT_PACKAGES = ("bitstream", "ref_decoder", "ref_encoder", "ifvc_synthesis", "conformance", "anchors")
_FUZZING = Path(__file__).resolve().parent
# Where a hang or memory exhaustion is signed: the stream-level code that was running (the
# unit being parsed or the frame being synthesised). The innermost frame would split one
# cause over every helper the timer happens to hit.
STREAM_LEVEL_MODULES = ("bitstream/stream.py", "ref_decoder/decoder.py")


def innermost_project_frame(tb: TracebackType | None, modules: tuple[str, ...] | None = None) -> str:
    """'package/module.py:function' of the innermost frame in the project's packages (the
    fuzzer's own frames excluded; only the given modules, if any), or '?' when none."""
    found = "?"
    for fs in traceback.extract_tb(tb):
        path = Path(fs.filename).resolve()
        try:
            rel = path.relative_to(REPO)
        except ValueError:
            continue
        if modules is not None and rel.as_posix() not in modules:
            continue
        if rel.parts and rel.parts[0] in PROJECT_PACKAGES and _FUZZING not in path.parents:
            found = f"{rel.as_posix()}:{fs.name}"
    return found


def normalise_message(message: str, limit: int = 120) -> str:
    """Numbers, hex digests and quoted values out, so that messages differing only in
    positions or values compare equal."""
    text = re.sub(r"0x[0-9a-fA-F]+|\b[0-9a-f]{16,}\b", "H", message)
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'S'", text)
    text = re.sub(r"-?\d+(\.\d+)?", "N", text)
    text = " ".join(text.split())
    return text[:limit]


def signature(kind: str, exc_type: str, frame: str, message: str = "") -> str:
    """e.g. 'crash: KeyError at bitstream/stream.py:_hash: N'."""
    text = f"{kind}: {exc_type} at {frame}"
    norm = normalise_message(message)
    return f"{text}: {norm}" if norm else text


def signature_id(sig: str) -> str:
    """A short, file-name-safe name for a signature."""
    return hashlib.sha256(sig.encode()).hexdigest()[:12]
