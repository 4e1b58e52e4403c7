"""Analyse prepared sequences (work/sequences) into semantics, cached under work/semantics.

The cache key is the sequence's SHA-256 plus a hash of the analysis source, so a change in
the analysis code or data invalidates it.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from ifvc_common.outputs import OutputTransaction

REPO = Path(__file__).resolve().parents[1]
# Work folders are relative to the working directory (the repository's own files: REPO).
SEQ_DIR = Path("work") / "sequences"
CACHE_DIR = Path("work") / "semantics"
SPLIT_FILE = REPO / "tools" / "test_split.json"
ANALYSIS_DIR = REPO / "ref_encoder" / "analysis"


def load_split() -> dict[str, list[str]]:
    data = json.loads(SPLIT_FILE.read_text())
    return {k: data[k] for k in ("train", "validation", "test")}


def sequence_path(name: str, seq_dir: Path = SEQ_DIR) -> Path:
    return seq_dir / f"{name}_256x256_25_8bit_444.rgb"


def analysis_hash() -> str:
    h = hashlib.sha256()
    for p in sorted(ANALYSIS_DIR.glob("*.py")) + [REPO / "bitstream" / "data" / "canonical_face.json"]:
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def raw_semantics(name: str, seq_dir: Path = SEQ_DIR) -> tuple[np.ndarray, dict]:
    """Unsmoothed semantics (N x 14) of a prepared sequence, and its report (tracking mode)."""
    from ref_encoder.analysis import analyze_sequence
    from bitstream.raw_video import iter_rgb444

    path = sequence_path(name, seq_dir)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run python -m tools.prepare_sequences first")
    key = f"{file_hash(path)}_{analysis_hash()}"
    cache = CACHE_DIR / f"{name}.npz"
    if cache.is_file():
        with np.load(cache) as z:
            if str(z["key"]) == key:
                return z["values"], json.loads(str(z["report"]))
    values, report = analyze_sequence(iter_rgb444(path), smoothing=None)
    rep = {"frames": report.frames, "no_face_frames": report.no_face_frames,
           "multi_face_frames": report.multi_face_frames, "mean_fit_rms_cm": report.mean_fit_rms_cm}
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with OutputTransaction() as outputs:
        np.savez(outputs.reserve(cache), values=values, key=key, report=json.dumps(rep))
    return values, rep
