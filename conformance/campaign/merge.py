"""Merge the results of several campaign output folders (machines, labs) into one set of
tables, keeping where every cell came from.

An input is a folder written by ``run``: its results.csv names the cells it reports (by
cell_hash), cells/ holds each cell's result JSON (with its provenance: git revision, code
SHA-256, machine) and files, provenance.json the config it ran. The merge refuses, before
writing anything, to combine results that do not belong in one table:

* a cell (codec, sequence, point) present in several inputs with another cell_hash, input
  SHA-256, code revision or code SHA-256, or another stream (same inputs and code must give
  the same bytes);
* cells made by different code (git revision, or code SHA-256 where recorded), from different
  frames of one sequence, or by different encoders for one codec;
* configs that differ where the tables depend on them (picture size and rate, frames, metrics
  and their stride, anchor, BD-rate settings, a codec's entry).

The merged tables are made by the campaign's own table code (report.write_report), plus
cells_provenance.csv: one row per cell with the folder it came from.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .cells import finished_result, load_result
from .compare import read_table
from .config import CampaignConfig, canonical_json, parse_config
from .errors import CampaignError
from .report import Report, write_report

# Config keys the merged tables depend on (names, folders and splits may differ).
CONFIG_KEYS_THAT_MATTER = ("width", "height", "fps", "frames", "metrics", "strided_metrics",
                           "vgg_stride", "anchor", "bd_rate")
ENCODER_IDENTITY = ("encoder", "encoder_version", "tool_version", "generator_name",
                    "generator_sha256")


@dataclass
class SourcedCell:
    result: dict[str, Any]
    folder: Path                       # the input folder it came from
    result_path: Path
    also_in: list[Path] = field(default_factory=list)   # identical copies in other inputs

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.result["codec"], self.result["sequence"], int(self.result["point"]))

    @property
    def label(self) -> str:
        codec, sequence, point = self.key
        return f"{codec} QP{point} {sequence} (from {self.folder})"

    @property
    def git(self) -> dict[str, Any]:
        return self.result.get("provenance", {}).get("git", {}) or {}

    @property
    def code_sha256(self) -> str | None:
        return self.result.get("provenance", {}).get("code_sha256")


@dataclass
class CampaignInput:
    folder: Path
    config: dict[str, Any]
    provenance: dict[str, Any]
    cells: list[SourcedCell]


@dataclass
class Merged:
    config: CampaignConfig
    report: Report
    cells: int
    duplicates: int
    provenance_csv: Path


def merge_campaigns(inputs: list[Path], out_dir: Path) -> Merged:
    out_dir = Path(out_dir)
    folders = [Path(folder) for folder in inputs]
    resolved = [folder.resolve() for folder in folders]
    if len(set(resolved)) != len(resolved):
        raise CampaignError("an input folder is named twice")
    if out_dir.resolve() in resolved:
        raise CampaignError(f"--out {out_dir} is one of the inputs; merge into a new folder")
    campaigns = [load_input(folder) for folder in folders]
    config = merged_config(campaigns, out_dir)
    cells, duplicates = _unique_cells(campaigns)
    _check_one_code(cells)
    _check_sequences(cells)
    _check_encoders(cells)
    # Nothing is written before every check has passed.
    results = [cell.result for cell in cells]
    meta = _provenance(campaigns, cells, duplicates)
    report = write_report(results, config, out_dir, meta)
    provenance_csv = out_dir / "cells_provenance.csv"
    _cells_table(cells).to_csv(provenance_csv, index=False)
    report.files["cells_provenance"] = provenance_csv
    return Merged(config, report, len(cells), duplicates, provenance_csv)


def load_input(folder: Path) -> CampaignInput:
    """An input folder's config and the cells its results.csv reports, each checked against
    its result JSON (current hash, files with their recorded SHA-256)."""
    provenance_path = folder / "provenance.json"
    provenance = load_result(provenance_path)
    if provenance is None or not isinstance(provenance.get("config"), dict):
        raise CampaignError(f"{folder} is not a campaign output folder (no readable "
                            f"provenance.json with its config)")
    table = read_table(folder / "results.csv")
    if "cell_hash" not in table.columns:
        raise CampaignError(f"{folder / 'results.csv'} has no cell_hash column")
    found: dict[tuple[str, str, int], Path] = {}
    for path in sorted((folder / "cells").glob("*/*/*.result.json")):
        data = load_result(path)
        if data is not None and {"codec", "sequence", "point"} <= data.keys():
            found.setdefault((data["codec"], data["sequence"], int(data["point"])), path)
    cells = []
    for row in table.itertuples(index=False):
        key = (str(row.codec), str(row.sequence), int(row.point))
        where = f"cell {key[0]} QP{key[2]} {key[1]} of {folder}"
        path = found.get(key)
        if path is None:
            raise CampaignError(f"{where}: no result JSON under {folder / 'cells'}")
        result = finished_result(path, str(row.cell_hash))
        if result is None:
            raise CampaignError(f"{where}: its result JSON is not the one results.csv names, or "
                                f"its files changed since (re-run that campaign)")
        cells.append(SourcedCell(result, folder, path))
    return CampaignInput(folder, provenance["config"], provenance, cells)


def merged_config(campaigns: list[CampaignInput], out_dir: Path) -> CampaignConfig:
    """The first input's config with every input's codecs; the inputs must agree on what the
    tables depend on."""
    first = campaigns[0]
    data = json.loads(canonical_json(first.config))
    codecs: dict[str, Any] = {}
    for campaign in campaigns:
        for key in CONFIG_KEYS_THAT_MATTER:
            mine, theirs = campaign.config.get(key), first.config.get(key)
            if canonical_json(mine) != canonical_json(theirs):
                raise CampaignError(f"configs differ in {key!r}: {first.folder} has "
                                    f"{canonical_json(theirs)}, {campaign.folder} "
                                    f"{canonical_json(mine)}")
        for name, entry in campaign.config.get("codecs", {}).items():
            if name in codecs and canonical_json(codecs[name][0]) != canonical_json(entry):
                raise CampaignError(f"codec {name!r} differs: {codecs[name][1]} has "
                                    f"{canonical_json(codecs[name][0])}, {campaign.folder} "
                                    f"{canonical_json(entry)}")
            codecs.setdefault(name, (entry, campaign.folder))
    data["codecs"] = {name: entry for name, (entry, _) in codecs.items()}
    data["name"] = f"merge of {', '.join(str(c.folder) for c in campaigns)}"
    return parse_config(data, out_dir / "provenance.json")


def _unique_cells(campaigns: list[CampaignInput]) -> tuple[list[SourcedCell], int]:
    """One cell per (codec, sequence, point); a cell in several inputs must be the same
    computation with the same outcome."""
    cells: dict[tuple[str, str, int], SourcedCell] = {}
    duplicates = 0
    for campaign in campaigns:
        for cell in campaign.cells:
            kept = cells.get(cell.key)
            if kept is None:
                cells[cell.key] = cell
                continue
            _check_same_cell(kept, cell)
            kept.also_in.append(cell.folder)
            duplicates += 1
    return list(cells.values()), duplicates


def _check_same_cell(a: SourcedCell, b: SourcedCell) -> None:
    codec, sequence, point = a.key
    what = f"cell {codec} QP{point} {sequence} is in {a.folder} and {b.folder}"
    checks = [("cell_hash", a.result.get("cell_hash"), b.result.get("cell_hash")),
              ("input SHA-256", a.result.get("input_sha256"), b.result.get("input_sha256")),
              ("code revision", a.git.get("revision"), b.git.get("revision"))]
    if a.code_sha256 and b.code_sha256:
        checks.append(("code SHA-256", a.code_sha256, b.code_sha256))
    for name, value_a, value_b in checks:
        if value_a != value_b:
            raise CampaignError(f"{what} with different {name} ({_short(value_a)} vs "
                                f"{_short(value_b)}); refusing to merge")
    stream_a = a.result["files"]["stream"]["sha256"]
    stream_b = b.result["files"]["stream"]["sha256"]
    if stream_a != stream_b or a.result["bits"] != b.result["bits"]:
        raise CampaignError(f"{what}: same inputs and code but different streams "
                            f"({_short(stream_a)} vs {_short(stream_b)}): a non-deterministic "
                            f"encoder? refusing to merge")


def _check_one_code(cells: list[SourcedCell]) -> None:
    for name, value in (("code revision", lambda c: c.git.get("revision")),
                        ("code SHA-256", lambda c: c.code_sha256)):
        seen: dict[Any, SourcedCell] = {}
        for cell in cells:
            current = value(cell)
            if current is None and name == "code SHA-256":
                continue                   # results made before it was recorded
            seen.setdefault(current, cell)
        if len(seen) > 1:
            (va, ca), (vb, cb) = list(seen.items())[:2]
            raise CampaignError(f"cells made by different code: {ca.label} has {name} "
                                f"{_short(va)}, {cb.label} {_short(vb)}; refusing to merge")


def _check_sequences(cells: list[SourcedCell]) -> None:
    seen: dict[str, SourcedCell] = {}
    for cell in cells:
        first = seen.setdefault(cell.result["sequence"], cell)
        for key in ("input_sha256", "frames"):
            if first.result.get(key) != cell.result.get(key):
                raise CampaignError(f"sequence {cell.result['sequence']}: {first.label} has "
                                    f"{key} {_short(first.result.get(key))}, {cell.label} "
                                    f"{_short(cell.result.get(key))}; refusing to merge")


def _check_encoders(cells: list[SourcedCell]) -> None:
    seen: dict[str, SourcedCell] = {}
    for cell in cells:
        first = seen.setdefault(cell.result["codec"], cell)
        ours = [cell.result.get(key) for key in ENCODER_IDENTITY]
        theirs = [first.result.get(key) for key in ENCODER_IDENTITY]
        if ours != theirs:
            raise CampaignError(f"codec {cell.result['codec']}: {first.label} was made by "
                                f"{_identity(theirs)}, {cell.label} by {_identity(ours)}; "
                                f"refusing to merge")


def _identity(values: list[Any]) -> str:
    return ", ".join(str(v) for v in values if v) or "an unnamed encoder"


def _short(value: Any) -> str:
    text = str(value)
    return text[:16] if len(text) == 64 else text     # a SHA-256: its first 16 digits


def _provenance(campaigns: list[CampaignInput], cells: list[SourcedCell],
                duplicates: int) -> dict[str, Any]:
    gits = [cell.git for cell in cells]
    return {
        "merged_from": [{"folder": str(c.folder.resolve()), "cells": len(c.cells),
                         "git": c.provenance.get("git"), "machine": c.provenance.get("machine"),
                         "executor": c.provenance.get("executor"),
                         "config_sha256": c.provenance.get("config_sha256")}
                        for c in campaigns],
        "git": {"revision": gits[0].get("revision") if gits else None,
                "dirty": any(bool(g.get("dirty")) for g in gits)},
        "code_sha256": next((c.code_sha256 for c in cells if c.code_sha256), None),
        "cells_merged": len(cells), "cells_in_several_inputs": duplicates,
    }


def _cells_table(cells: list[SourcedCell]) -> pd.DataFrame:
    rows = []
    for cell in cells:
        machine = cell.result.get("provenance", {}).get("machine", {}) or {}
        codec, sequence, point = cell.key
        rows.append({"codec": codec, "sequence": sequence, "point": point,
                     "source": str(cell.folder.resolve()),
                     "result_json": str(cell.result_path.resolve()),
                     "also_in": ";".join(str(f.resolve()) for f in cell.also_in),
                     "cell_hash": cell.result.get("cell_hash"),
                     "input_sha256": cell.result.get("input_sha256"),
                     "git_revision": cell.git.get("revision"), "git_dirty": cell.git.get("dirty"),
                     "code_sha256": cell.code_sha256, "hostname": machine.get("hostname"),
                     "created_utc": cell.result.get("created_utc")})
    return pd.DataFrame(rows).sort_values(["codec", "sequence", "point"]).reset_index(drop=True)
