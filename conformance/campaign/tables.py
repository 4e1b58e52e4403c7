"""The campaign's tables: the tidy results (one row per codec x sequence x rate point), the
summary per codec and rate point (mean over sequences, as JVET contributions tabulate it) and
the BD-rate against each anchor, per sequence and overall, for either rate definition
(kbps: all bits of the stream; kbps_payload: the GFVC payload-only count, rates.py). Results and
summary also give the rate without hash units (kbps_no_hash: all bits minus whole hash units),
the hash units' bytes per stream, and whether the payload-only count includes hash units."""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from .bd_rate import bd_rate
from .config import LOWER_IS_BETTER, RATE_COLUMNS, CampaignConfig
from .rates import kbps as to_kbps

KEY = ["codec", "sequence", "point"]


def results_table(results: Iterable[dict[str, Any]], config: CampaignConfig) -> pd.DataFrame:
    rows = []
    for result in results:
        row: dict[str, Any] = {key: result[key] for key in KEY}
        row["class"] = config.class_of(result["sequence"])
        row.update(frames=result["frames"], bits=result["bits"], kbps=result["kbps"])
        rate = result.get("rate")       # absent in results made before the payload count
        if rate:
            fps = result.get("fps", config.fps)
            payload = rate["payload_bits"] + (rate["hash_bits"] if config.payload_hash_units else 0)
            # whole hash units (results made before this count: the hash payloads, unit framing
            # left in; rates.py)
            hash_units = rate.get("hash_unit_bits", rate["hash_bits"])
            row.update(payload_bits=payload, hash_bits=rate["hash_bits"],
                       kbps_payload=to_kbps(payload, result["frames"], fps),
                       payload_counts_hash=config.payload_hash_units, hash_unit_bytes=hash_units / 8,
                       kbps_no_hash=to_kbps(result["bits"] - hash_units, result["frames"], fps))
        else:
            row.update(payload_bits=math.nan, hash_bits=math.nan, kbps_payload=math.nan,
                       payload_counts_hash=config.payload_hash_units, hash_unit_bytes=math.nan,
                       kbps_no_hash=math.nan)
        for name in config.metrics:
            row[name] = result["metrics"].get(name, math.nan)
        row["vgg_stride"] = result.get("vgg_stride", 1)
        for name in result.get("strided_metrics", []):
            row[f"{name}_frames"] = result["metric_frames"].get(name)
        row["preset"] = (result.get("details") or {}).get("anchor_preset")
        for key in ("encoder", "encoder_version", "generator_name", "generator_sha256",
                    "encode_seconds", "decode_seconds", "metrics_seconds", "cell_hash"):
            row[key] = result.get(key)
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    codec_order = {name: index for index, name in enumerate(config.codecs)}
    table["_order"] = table["codec"].map(codec_order)
    table = table.sort_values(["_order", "sequence", "point"]).drop(columns="_order")
    return table.reset_index(drop=True)


def summary_table(results: pd.DataFrame, config: CampaignConfig) -> pd.DataFrame:
    """Per codec and rate point: the mean over sequences of the rate and of every metric."""
    columns = ["kbps", "kbps_payload", "kbps_no_hash", "hash_unit_bytes", "bits", *config.metrics]
    grouped = results.groupby(["codec", "point"], sort=False)
    summary = grouped[columns].mean()
    summary.insert(0, "sequences", grouped["sequence"].nunique())
    summary.insert(1, "frames_total", grouped["frames"].sum())
    return summary.reset_index()


def quality_for_bd(metric: str, values: Iterable[float]) -> np.ndarray:
    """Higher-is-better quality: PSNR as it is, 1 - LPIPS, 1 - DISTS."""
    array = np.asarray(list(values), dtype=np.float64)
    return 1.0 - array if metric in LOWER_IS_BETTER else array


def _curve(frame: pd.DataFrame, metric: str, rate: str = "kbps") -> tuple[np.ndarray, np.ndarray]:
    frame = frame.sort_values("point")
    return frame[rate].to_numpy(dtype=np.float64), quality_for_bd(metric, frame[metric])


def bd_tables(results: pd.DataFrame, summary: pd.DataFrame, config: CampaignConfig,
              anchor: str | None = None,
              rate: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """(per-sequence BD-rates, overall BD-rates, warnings) of every other codec against
    `anchor` (default: the config's) on the rate column `rate` (default: the config's
    primary rate; "kbps" all bits, "kbps_payload" payload-only). Anchors are compared with
    each other too (e.g. VVenC faster against slower).

    Overall, two numbers: the mean of the per-sequence BD-rates (the JVET spreadsheet's
    "Overall" row) and the BD-rate between the mean-over-sequences curves (what the RD plots
    show). Both use `config.bd_method` (PCHIP in the CTC)."""
    anchor = anchor or config.anchor
    rate = rate or RATE_COLUMNS[config.rate_primary]
    label = f"{anchor}, {rate}" if rate != "kbps" else anchor
    warnings: list[str] = []
    per_sequence: list[dict[str, Any]] = []
    overall: list[dict[str, Any]] = []
    if results.empty or anchor not in set(results["codec"]):
        warnings.append(f"no results of the anchor {anchor}: no BD-rate")
        return pd.DataFrame(), pd.DataFrame(), warnings
    anchor_points = len(config.codecs[anchor].points)
    tests = [name for name in config.codecs if name != anchor and name in set(results["codec"])]
    for codec in tests:
        test_points = len(config.codecs[codec].points)
        for metric in config.bd_metrics:
            values = []
            for sequence in sorted(set(results.loc[results["codec"] == codec, "sequence"])):
                a = results[(results["codec"] == anchor) & (results["sequence"] == sequence)]
                t = results[(results["codec"] == codec) & (results["sequence"] == sequence)]
                if len(a) < anchor_points or len(t) < test_points:
                    note = (f"incomplete curve ({len(a)}/{anchor_points} anchor, "
                            f"{len(t)}/{test_points} test points)")
                    outcome = None
                else:
                    outcome = bd_rate(*_curve(a, metric, rate), *_curve(t, metric, rate),
                                      method=config.bd_method, min_overlap=config.bd_min_overlap)
                    note = "; ".join(outcome.warnings)
                value = math.nan if outcome is None else outcome.value
                values.append(value)
                per_sequence.append({
                    "codec": codec, "anchor": anchor, "rate": rate, "metric": metric,
                    "class": config.class_of(sequence), "sequence": sequence,
                    "bd_rate_percent": value,
                    "quality_overlap": None if outcome is None else outcome.quality_overlap,
                    "rate_overlap": None if outcome is None else outcome.rate_overlap,
                    "warning": note})
                if note:
                    warnings.append(f"{codec} vs {label}, {metric}, {sequence}: {note}")
            valid = [v for v in values if not math.isnan(v)]
            a = summary[summary["codec"] == anchor]
            t = summary[summary["codec"] == codec]
            mean_curve = bd_rate(*_curve(a, metric, rate), *_curve(t, metric, rate),
                                 method=config.bd_method, min_overlap=config.bd_min_overlap)
            note = "; ".join(mean_curve.warnings)
            if note:
                warnings.append(f"{codec} vs {label}, {metric}, mean curves: {note}")
            overall.append({
                "codec": codec, "anchor": anchor, "rate": rate, "metric": metric,
                "bd_rate_mean_of_sequences": float(np.mean(valid)) if valid else math.nan,
                "sequences_valid": len(valid), "sequences": len(values),
                "bd_rate_of_mean_curves": mean_curve.value,
                "mean_curves_quality_overlap": mean_curve.quality_overlap,
                "mean_curves_rate_overlap": mean_curve.rate_overlap,
                "mean_curves_warning": note})
    return pd.DataFrame(per_sequence), pd.DataFrame(overall), warnings


def _format(value: Any, column: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, (float, np.floating)):
        if column.startswith(("lpips", "dists", "ssim")):
            return f"{value:.4f}"
        if "overlap" in column:
            return f"{100 * value:.0f}%"
        if "bd_rate" in column:
            return f"{value:+.1f}%"
        return f"{value:.2f}"
    return str(value)


def markdown_table(table: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table (no `tabulate` dependency)."""
    header = "| " + " | ".join(table.columns) + " |"
    rule = "|" + "|".join("---:" if pd.api.types.is_numeric_dtype(table[c]) else "---" for c in table.columns) + "|"
    lines = [header, rule]
    for _, row in table.iterrows():
        lines.append("| " + " | ".join(_format(row[c], c) for c in table.columns) + " |")
    return "\n".join(lines) + "\n"


def bd_matrix(overall: pd.DataFrame, column: str) -> pd.DataFrame:
    """Codec rows x metric columns of one overall BD-rate column (the JVET summary view), as
    text; a mean over fewer sequences than the campaign's says how many, e.g. "+24.7% (2/7)"."""
    rows: dict[str, dict[str, str]] = {}
    for _, row in overall.iterrows():
        value = row[column]
        text = "-" if pd.isna(value) else f"{value:+.1f}%"
        if column == "bd_rate_mean_of_sequences" and not pd.isna(value) \
                and row["sequences_valid"] < row["sequences"]:
            text += f" ({row['sequences_valid']}/{row['sequences']})"
        rows.setdefault(row["codec"], {})[f"bd_rate {row['metric']}"] = text
    return pd.DataFrame([{"codec": codec, **values} for codec, values in rows.items()])
