"""The JVET-style summary: per test codec, anchor and rate definition, one row per sequence
(grouped by class), each class's average, and Overall, with the BD-rate of every metric;
CSV (long, one row per table row) and Markdown (one table per test codec, anchor and rate).

Averages follow the JVET spreadsheets: a class average and Overall are the plain means of
the per-sequence BD-rates of the sequences whose BD-rate is defined (the count is shown when
some are not). Every Markdown file opens with the conditions that made it (conditions_lines):
config, rate definitions, hash-unit treatment, anchors and presets, differences from the CTC.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .config import RATE_COLUMNS, CampaignConfig
from .rates import ALL_BITS_DEFINITION, PAYLOAD_DEFINITION

# Our metric name -> the GFVC common software's (evaluate/multiMetric_rgb444.py result files
# <dataset>_result_<name>.txt). psnr and ssim there are means over R, G and B of per-channel
# values; see GFVC_NOTES. GFVC's psnr is psnr_gfvc; our psnr_rgb has no GFVC name.
GFVC_METRIC_NAMES = {"psnr_gfvc": "psnr", "ssim_rgb": "ssim", "lpips_vgg": "lpips", "dists": "dists"}
GFVC_NOTES = {
    "psnr_gfvc": ("GFVC `psnr` (psnr_gfvc) is the mean of the R, G and B PSNRs of a frame, "
                  "then the mean over frames; our psnr_rgb is the PSNR of the mean of the "
                  "three MSEs, never higher than psnr_gfvc (equal when the three MSEs are "
                  "equal)"),
    "ssim_rgb": ("GFVC `ssim` is the mean of the R, G and B SSIMs (11x11 Gaussian window, "
                 "sigma 1.5, valid region); ours is the same through scikit-image"),
}
RATE_NAMES = {"kbps": "all bits", "kbps_payload": "payload-only"}


def metric_label(metric: str) -> str:
    """A column name that gives the GFVC name first when there is one: 'lpips (lpips_vgg)'."""
    gfvc = GFVC_METRIC_NAMES.get(metric)
    return f"{gfvc} ({metric})" if gfvc and gfvc != metric else metric


def rate_description(config: CampaignConfig, rate: str) -> str:
    if rate == "kbps":
        return ALL_BITS_DEFINITION
    hashes = "included" if config.payload_hash_units else "excluded"
    return (f"{PAYLOAD_DEFINITION}; hash units (IFVC HASH, decoded picture hash SEI) {hashes} "
            "(rate.payload_hash_units)")


def rate_order(config: CampaignConfig) -> list[str]:
    """Rate columns, the config's primary rate first."""
    primary = RATE_COLUMNS[config.rate_primary]
    return [primary, *[r for r in RATE_COLUMNS.values() if r != primary]]


def jvet_table(per_sequence: pd.DataFrame, config: CampaignConfig) -> pd.DataFrame:
    """Long table: one row per (test codec, anchor, rate) x (sequence | class | overall), a
    column per BD-rate metric, `n` = sequences averaged (for class and overall rows)."""
    if per_sequence.empty:
        return pd.DataFrame()
    rows: list[dict[str, Any]] = []
    class_names = [name for name, _members in config.classes] + ["unclassified"]
    groups = per_sequence.groupby(["codec", "anchor", "rate"], sort=False)
    for (codec, anchor, rate), frame in groups:
        # One row per sequence that has BD-rates (a pivot_table would add every class x
        # sequence pair), undefined BD-rates kept as NaN.
        wide = frame.set_index(["class", "sequence", "metric"])["bd_rate_percent"].unstack("metric")
        metrics = [m for m in config.bd_metrics if m in wide.columns]
        base = {"config": config.config_id, "test": codec, "anchor": anchor, "rate": rate}

        def summary_row(kind: str, klass: str, label: str, block: pd.DataFrame) -> dict[str, Any]:
            row = dict(base, row=kind, **{"class": klass}, sequence=label)
            for metric in metrics:
                values = block[metric].dropna().to_numpy(dtype=np.float64)
                row[metric] = float(values.mean()) if values.size else math.nan
                row[f"{metric}_n"] = f"{values.size}/{len(block)}"
            return row

        for klass in class_names:
            if klass not in wide.index.get_level_values("class"):
                continue
            block = wide.xs(klass, level="class")
            for sequence, values in block.iterrows():
                rows.append(dict(base, row="sequence", **{"class": klass}, sequence=sequence,
                                 **{m: values[m] for m in metrics}))
            rows.append(summary_row("class", klass, f"{klass} average", block))
        rows.append(summary_row("overall", "", "Overall", wide))
    return pd.DataFrame(rows)


def hash_unit_line(results: pd.DataFrame, config: CampaignConfig) -> str:
    """The hash units' share per codec, and the rate without them (kbps_no_hash), measured."""
    parts = []
    for codec, frame in results.groupby("codec", sort=False):
        if "hash_unit_bytes" not in frame or frame["hash_unit_bytes"].isna().all():
            continue
        mean_bytes = float(frame["hash_unit_bytes"].mean())
        if mean_bytes == 0:
            kind = config.codecs[codec].kind if codec in config.codecs else ""
            parts.append(f"{codec} 0 bytes" + (" (this anchor writes no decoded picture hash SEI)"
                                               if kind == "anchor" else ""))
        else:
            parts.append(f"{codec} {mean_bytes:.1f} bytes per stream "
                         f"({float((frame['kbps'] - frame['kbps_no_hash']).mean()):.3f} kbit/s)")
    return ("Rate without hash units (`kbps_no_hash`, all bits minus whole hash units, framing "
            "included) is in the results and summary tables; mean hash units per stream: "
            + ("; ".join(parts) or "not measured") + ".")


def conditions_lines(config: CampaignConfig, results: pd.DataFrame,
                     tools: dict[str, list[str]]) -> list[str]:
    """The conditions every table states: config, rates, hash units, anchors, CTC differences."""
    lines = [f"- Config: `{config.config_id}` ({config.path.name}): {config.name}."]
    for rate in rate_order(config):
        role = "primary" if rate == RATE_COLUMNS[config.rate_primary] else "also reported"
        lines.append(f"- Rate `{rate}` ({role}): {rate_description(config, rate)}; "
                     "kbps = bits / 1000 / (frames / fps).")
    if "hash_bits" in results and results["hash_bits"].notna().any():
        with_hash = results[results["hash_bits"] > 0]
        codecs = ", ".join(sorted(set(with_hash["codec"]))) or "none"
        lines.append(f"- Hash units: in all-bits rates always (they are in the stream); in "
                     f"payload-only rates {'yes' if config.payload_hash_units else 'no'} "
                     f"(rate.payload_hash_units). Streams with hash data: {codecs}.")
        lines.append("- " + hash_unit_line(results, config))
    for anchor in config.anchors:
        if anchor not in config.codecs:
            continue
        spec = config.codecs[anchor]
        presets = sorted({str(p) for p in results.loc[results["codec"] == anchor, "preset"]
                          if isinstance(p, str)}) if "preset" in results else []
        preset = ", ".join(presets) or spec.preset or "the anchor config's default"
        role = "BD-rate anchor" if anchor == config.anchor else "second BD-rate anchor"
        identity = "; ".join(tools.get(anchor, [])) or "no results"
        if spec.on_request and anchor not in tools:
            lines.append(f"- {role} `{anchor}` ({spec.anchor_codec}): not run (on request: "
                         f"--codecs ...,{anchor}).")
            continue
        lines.append(f"- {role} `{anchor}`: {spec.anchor_codec} preset {preset} "
                     f"(QPs {'/'.join(map(str, spec.points))}); encoder: {identity}.")
    if config.ctc_differences:
        lines.append("- Differences from the GFVC CTC (JVET AhG16 common test conditions):")
        lines += [f"  - {difference}" for difference in config.ctc_differences]
    named = [m for m in config.metrics if m in GFVC_METRIC_NAMES]
    if named:
        lines.append("- Metric names: GFVC name (ours): "
                     + ", ".join(metric_label(m) for m in named)
                     + "; ours only: " + (", ".join(m for m in config.metrics
                                                    if m not in GFVC_METRIC_NAMES) or "none")
                     + ".")
        lines += [f"  - {GFVC_NOTES[m]}." for m in named if m in GFVC_NOTES]
    return lines


def jvet_markdown(table: pd.DataFrame, config: CampaignConfig, conditions: list[str]) -> str:
    lines = [f"# JVET-style BD-rate summary: {config.config_id}", "", *conditions, "",
             (f"BD-rate ({config.bd_method.upper()}; quality PSNR, SSIM, 1-LPIPS, 1-DISTS) of "
              "each test codec against each anchor, per sequence; class averages and Overall "
              "are means of the per-sequence BD-rates (n/N: defined/sequences where some are "
              "undefined). Negative: fewer bits than the anchor for the same quality."), ""]
    if table.empty:
        return "\n".join(lines + ["No BD-rates: no anchor results."]) + "\n"
    metrics = [m for m in config.bd_metrics if m in table.columns]
    for (codec, anchor, rate), block in table.groupby(["test", "anchor", "rate"], sort=False):
        lines += [f"## {codec} against {anchor}, rate {RATE_NAMES.get(rate, rate)} (`{rate}`)", "",
                  "| class | sequence | " + " | ".join(metric_label(m) for m in metrics) + " |",
                  "|---|---|" + "---:|" * len(metrics)]
        for _, row in block.iterrows():
            cells = []
            for metric in metrics:
                value = row[metric]
                text = "-" if pd.isna(value) else f"{value:+.1f}%"
                count = row.get(f"{metric}_n")
                if isinstance(count, str) and not pd.isna(value):
                    defined, total = count.split("/")
                    if defined != total:
                        text += f" ({count})"
                cells.append(text)
            name = f"**{row['sequence']}**" if row["row"] != "sequence" else row["sequence"]
            lines.append(f"| {row['class']} | {name} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines) + "\n"
