"""A cell of the campaign: one codec at one rate point on one sequence.

Each cell writes its own result JSON, last, after its stream, decoded .rgb and per-frame
metric CSV are in place; the JSON carries a hash of everything the cell's result depends on.
A cell whose JSON has the current hash and whose files still have their recorded SHA-256 is
finished: a re-run skips it, and a killed run resumes at the first unfinished cell.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ifvc_common.files import sha256_file
from ifvc_common.outputs import OutputTransaction

from .config import CampaignConfig, CodecSpec, canonical_json
from .sequences import Sequence

# Bump when a cell's result for the same inputs changes (metric sampling, rate definition).
# 2: results carry the payload-only rate beside all bits (rates.py).
CELL_PIPELINE_VERSION = 2


@dataclass(frozen=True)
class Cell:
    codec: CodecSpec
    point: int
    sequence: Sequence

    @property
    def label(self) -> str:
        return f"{self.codec.name} QP{self.point} {self.sequence.name}"

    def folder(self, out_dir: Path) -> Path:
        return Path(out_dir) / "cells" / self.codec.name / self.sequence.name

    def result_path(self, out_dir: Path) -> Path:
        return self.folder(out_dir) / f"{self.codec.name}_qp{self.point}.result.json"

    def frames_csv_path(self, out_dir: Path) -> Path:
        return self.folder(out_dir) / f"{self.codec.name}_qp{self.point}.frames.csv"

    def coded_path(self, out_dir: Path) -> Path:
        """The coded record: the cell's stream and decoded file are in place, its metrics not
        yet measured (runner.py, per-sequence metric pass)."""
        return self.folder(out_dir) / f"{self.codec.name}_qp{self.point}.coded.json"


def plan_cells(config: CampaignConfig, codec_names: list[str],
               sequences: list[Sequence]) -> list[Cell]:
    """Cells in a stable order: sequence, then codec as in the config, then rate point."""
    return [Cell(config.codecs[name], point, sequence)
            for sequence in sequences
            for name in codec_names
            for point in config.codecs[name].points]


def strided_indices(frames: int, stride: int) -> list[int]:
    """Frames the slow metrics evaluate: every stride-th frame from the middle of the first
    stride, so that a sparse sample does not keep landing on key frame 0."""
    offset = min(stride // 2, frames - 1)
    return list(range(offset, frames, stride))


REPO = Path(__file__).resolve().parents[2]
# The IFVC codec is this repository's code: its cells depend on these sources, so a change
# in the encoder, decoder, generator or syntax redoes them on the next run.
IFVC_SOURCES = ("bitstream", "ref_encoder", "ref_decoder", "ifvc_synthesis")


def ifvc_source_hash() -> str:
    h = hashlib.sha256()
    for folder in IFVC_SOURCES:
        for path in sorted((REPO / folder).rglob("*")):
            if path.suffix in (".py", ".json", ".safetensors") and path.is_file():
                h.update(str(path.relative_to(REPO)).encode())
                h.update(path.read_bytes())
    return h.hexdigest()


def _coding_basis(config: CampaignConfig, cell: Cell, input_sha256: str) -> dict[str, Any]:
    basis: dict[str, Any] = {
        "pipeline": CELL_PIPELINE_VERSION,
        "codec": cell.codec.name, "spec": cell.codec.as_dict(), "point": cell.point,
        "sequence": cell.sequence.name, "frames": cell.sequence.frames,
        "input_sha256": input_sha256,
        "width": config.width, "height": config.height, "fps": config.fps,
    }
    if cell.codec.anchor_codec is None:        # an IFVC cell: this repository's codec
        basis["ifvc_source_sha256"] = ifvc_source_hash()
    return basis


def cell_hash(config: CampaignConfig, cell: Cell, input_sha256: str) -> str:
    """Everything the cell's result depends on that the campaign controls (for IFVC cells
    also the codec's source, ifvc_source_hash)."""
    strided = [m for m in config.metrics if m in config.strided_metrics]
    basis = _coding_basis(config, cell, input_sha256)
    basis.update({"metrics": list(config.metrics), "strided_metrics": strided,
                  "stride": config.vgg_stride if strided else 1})
    return hashlib.sha256(canonical_json(basis).encode()).hexdigest()


def coding_hash(config: CampaignConfig, cell: Cell, input_sha256: str) -> str:
    """What the cell's stream and decoded output depend on: cell_hash without the metric
    settings, so that measuring other metrics reuses the coded cell (its coded record)."""
    basis = _coding_basis(config, cell, input_sha256)
    basis["coded_record"] = 1
    return hashlib.sha256(canonical_json(basis).encode()).hexdigest()


def load_result(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def finished_result(path: Path, expected_hash: str, verify_files: bool = True,
                    keys: tuple[str, ...] = ("stream", "decoded", "frames_csv"),
                    status: str = "ok") -> dict[str, Any] | None:
    """The cell's result when it is complete and current, else None (``keys``, ``status``:
    the files and status a coded record has instead)."""
    data = load_result(path)
    if data is None or data.get("cell_hash") != expected_hash or data.get("status") != status:
        return None
    if verify_files:
        for key in keys:
            entry = data.get("files", {}).get(key)
            if not entry:
                return None
            file_path = Path(path).parent / entry["name"]
            if not file_path.is_file() or sha256_file(file_path) != entry["sha256"]:
                return None
    return data


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)      # cell folders inside the campaign's --out
    with OutputTransaction() as outputs:
        outputs.write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")
