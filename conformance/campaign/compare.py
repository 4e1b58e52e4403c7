"""Compare two results tables (say from two labs), cell by cell.

A cell is (codec, sequence, point). kbps is compared relatively, each metric absolutely;
frames and the metric stride must match exactly (a different stride samples other frames).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import CampaignError
from .tables import KEY

# kbps: relative (0.001 = 0.1 %); metrics: absolute, in their own units.
DEFAULT_TOLERANCES: dict[str, float] = {
    "kbps": 0.001, "kbps_payload": 0.001, "psnr_rgb": 0.01, "psnr_gfvc": 0.01, "psnr_y": 0.01,
    "psnr_yuv420": 0.01,
    "ssim_y": 0.0005, "ssim_rgb": 0.0005, "lpips_alex": 0.001, "lpips_vgg": 0.001, "dists": 0.001,
}
EXACT_COLUMNS = ("frames", "vgg_stride")
RELATIVE_COLUMNS = ("kbps", "kbps_payload")   # rates: compared relatively


@dataclass
class Comparison:
    columns: list[str]
    differences: pd.DataFrame                # one row per cell and column that differ at all
    missing_in_a: list[tuple[str, str, int]] = field(default_factory=list)
    missing_in_b: list[tuple[str, str, int]] = field(default_factory=list)
    cells: int = 0

    @property
    def beyond(self) -> pd.DataFrame:
        if self.differences.empty:
            return self.differences
        return self.differences[self.differences["beyond_tolerance"]]

    @property
    def ok(self) -> bool:
        return self.beyond.empty and not self.missing_in_a and not self.missing_in_b


def parse_tolerances(items: list[str]) -> dict[str, float]:
    """NAME=VALUE items; kbps may be given in percent ('kbps=0.5%')."""
    tolerances = dict(DEFAULT_TOLERANCES)
    for item in items:
        name, _, text = item.partition("=")
        scale = 1.0
        if text.endswith("%"):
            text, scale = text[:-1], 0.01
        try:
            value = float(text) * scale
        except ValueError:
            raise CampaignError(f"--tolerance {item!r}: expected NAME=VALUE, e.g. psnr_rgb=0.05 "
                                f"or kbps=0.5%") from None
        if not name or value < 0 or math.isnan(value):
            raise CampaignError(f"--tolerance {item!r}: expected NAME=VALUE with VALUE >= 0")
        tolerances[name] = value
    return tolerances


def read_table(path: Path) -> pd.DataFrame:
    try:
        table = pd.read_csv(path)
    except FileNotFoundError:
        raise CampaignError(f"results table not found: {path}") from None
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise CampaignError(f"cannot read results table {path}: {error}") from None
    missing = [c for c in (*KEY, "kbps") if c not in table.columns]
    if missing:
        raise CampaignError(f"{path} is not a campaign results table (no column "
                            f"{', '.join(missing)})")
    if table.duplicated(KEY).any():
        raise CampaignError(f"{path} has more than one row for a cell (codec, sequence, point)")
    return table


def compare_tables(a: pd.DataFrame, b: pd.DataFrame,
                   tolerances: dict[str, float] | None = None) -> Comparison:
    tolerances = tolerances or DEFAULT_TOLERANCES
    columns = [c for c in a.columns if c in b.columns and c in tolerances]
    exact = [c for c in EXACT_COLUMNS if c in a.columns and c in b.columns]
    merged = a.merge(b, on=KEY, how="outer", suffixes=("_a", "_b"), indicator=True)

    def keys(frame: pd.DataFrame) -> list[tuple[str, str, int]]:
        return [(r.codec, r.sequence, int(r.point)) for r in frame.itertuples()]

    comparison = Comparison(columns=columns + exact, differences=pd.DataFrame(),
                            missing_in_a=keys(merged[merged["_merge"] == "right_only"]),
                            missing_in_b=keys(merged[merged["_merge"] == "left_only"]))
    both = merged[merged["_merge"] == "both"]
    comparison.cells = len(both)
    rows = []
    for _, row in both.iterrows():
        for column in columns + exact:
            value_a, value_b = row[f"{column}_a"], row[f"{column}_b"]
            if pd.isna(value_a) and pd.isna(value_b):
                continue
            if pd.isna(value_a) or pd.isna(value_b):
                difference, beyond = math.nan, True
            else:
                difference = float(value_b) - float(value_a)
                if column in exact:
                    beyond = difference != 0
                elif column in RELATIVE_COLUMNS:
                    relative = abs(difference) / max(abs(float(value_a)), 1e-12)
                    beyond = relative > tolerances[column]
                else:
                    beyond = abs(difference) > tolerances[column]
            if difference == 0:
                continue
            rows.append({"codec": row["codec"], "sequence": row["sequence"],
                         "point": int(row["point"]), "column": column, "a": value_a,
                         "b": value_b, "difference": difference,
                         "tolerance": None if column in exact else tolerances[column],
                         "beyond_tolerance": beyond})
    comparison.differences = pd.DataFrame(rows)
    return comparison


def format_comparison(comparison: Comparison, name_a: str, name_b: str) -> str:
    lines = [(f"compared {comparison.cells} cells present in both tables, columns "
             f"{', '.join(comparison.columns)} (kbps relative, metrics absolute)")]
    for side, missing in ((name_a, comparison.missing_in_a), (name_b, comparison.missing_in_b)):
        for codec, sequence, point in missing:
            lines.append(f"MISSING in {side}: {codec} QP{point} {sequence}")
    differences = comparison.differences
    if not differences.empty:
        for _, d in differences.iterrows():
            flag = "BEYOND" if d["beyond_tolerance"] else "within"
            tolerance = "" if d["tolerance"] is None or pd.isna(d["tolerance"]) else (
                f" (tolerance {100 * d['tolerance']:g}% relative)" if d["column"] in RELATIVE_COLUMNS
                else f" (tolerance {d['tolerance']:g})")
            lines.append(f"{flag:6} {d['codec']} QP{d['point']} {d['sequence']}: {d['column']} "
                         f"{d['a']} -> {d['b']} (diff {d['difference']:+.6g}){tolerance}")
    beyond = len(comparison.beyond)
    lines.append(f"{'OK' if comparison.ok else 'DIFFERENT'}: {beyond} value(s) beyond tolerance, "
                 f"{len(comparison.missing_in_a)} cell(s) missing in {name_a}, "
                 f"{len(comparison.missing_in_b)} missing in {name_b}")
    return "\n".join(lines)
