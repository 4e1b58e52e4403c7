"""Write the campaign's outputs: tables (CSV, Markdown, .xlsx when openpyxl is there),
BD-rates against every anchor for both rate definitions, the JVET-style summary, RD plots
and the provenance. Every Markdown table states the conditions that made it."""
from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .config import RATE_COLUMNS, CampaignConfig
from .jvet_summary import conditions_lines, jvet_markdown, jvet_table, rate_order
from .plots import rd_plots
from .tables import bd_matrix, bd_tables, markdown_table, results_table, summary_table


@dataclass
class Report:
    results: pd.DataFrame
    summary: pd.DataFrame
    bd_per_sequence: pd.DataFrame      # every anchor and rate definition
    bd_overall: pd.DataFrame           # the main anchor on the primary rate (what the CLI prints)
    warnings: list[str]
    files: dict[str, Path]
    bd_overall_all: pd.DataFrame = field(default_factory=pd.DataFrame)   # every anchor and rate
    jvet: pd.DataFrame = field(default_factory=pd.DataFrame)


def tool_versions(results: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Per codec, every distinct encoder identity its cells recorded."""
    seen: dict[str, set[str]] = {}
    for result in results:
        parts = [result.get("encoder"), result.get("encoder_version"), result.get("tool_version")]
        if result.get("generator_name"):
            parts.append(f"generator {result['generator_name']} weights sha256 "
                         f"{result['generator_sha256']}")
        identity = ", ".join(str(p) for p in parts if p)
        seen.setdefault(result["codec"], set()).add(identity)
    return {codec: sorted(values) for codec, values in seen.items()}


def write_report(results: list[dict[str, Any]], config: CampaignConfig, out_dir: Path,
                 provenance: dict[str, Any]) -> Report:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    table = results_table(results, config)
    if table.empty:
        return Report(table, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(),
                      ["no finished cells: nothing to tabulate"], files)
    summary = summary_table(table, config)
    per_sequence, overall_all, warnings = _all_bd_tables(table, summary, config)
    primary = RATE_COLUMNS[config.rate_primary]
    overall = overall_all
    if not overall_all.empty:
        overall = overall_all[(overall_all["anchor"] == config.anchor)
                              & (overall_all["rate"] == primary)].reset_index(drop=True)
    jvet = jvet_table(per_sequence, config)

    files["results"] = out_dir / "results.csv"
    table.to_csv(files["results"], index=False, float_format="%.6f")
    files["summary_csv"] = out_dir / "summary.csv"
    summary.to_csv(files["summary_csv"], index=False, float_format="%.6f")
    if not overall_all.empty:
        files["bd_rate"] = out_dir / "bd_rate.csv"
        overall_all.to_csv(files["bd_rate"], index=False, float_format="%.4f")
        files["bd_rate_per_sequence"] = out_dir / "bd_rate_per_sequence.csv"
        per_sequence.to_csv(files["bd_rate_per_sequence"], index=False, float_format="%.4f")
    stride = int(table["vgg_stride"].max())
    frames = sorted(set(table["frames"]))
    subtitle = (f"{table['sequence'].nunique()} sequences, {'/'.join(map(str, frames))} frames"
                + (f", LPIPS-vgg/DISTS on 1 frame in {stride}" if stride > 1 else ""))
    subtitle = f"config {config.config_id}: {subtitle}"
    plots = rd_plots(summary, config, out_dir / "plots", subtitle)
    for path in plots:
        files[path.stem] = path

    provenance = dict(provenance, tools=tool_versions(results), vgg_stride=stride,
                      frames_per_sequence={r["sequence"]: r["frames"] for r in results},
                      config=config.data, config_sha256=config.sha256(),
                      config_path=str(config.path))
    files["provenance"] = out_dir / "provenance.json"
    files["provenance"].write_text(json.dumps(provenance, indent=2, default=str) + "\n")

    conditions = conditions_lines(config, table, provenance["tools"])
    files["summary_md"] = out_dir / "summary.md"
    files["summary_md"].write_text(_markdown(config, summary, overall_all, warnings, provenance,
                                             subtitle, conditions))
    if not jvet.empty:
        files["jvet_summary_csv"] = out_dir / "jvet_summary.csv"
        jvet.to_csv(files["jvet_summary_csv"], index=False, float_format="%.4f")
    files["jvet_summary_md"] = out_dir / "jvet_summary.md"
    files["jvet_summary_md"].write_text(jvet_markdown(jvet, config, conditions))
    if importlib.util.find_spec("openpyxl") is not None:
        files["summary_xlsx"] = out_dir / "summary.xlsx"
        with pd.ExcelWriter(files["summary_xlsx"]) as writer:
            summary.to_excel(writer, sheet_name="summary", index=False)
            table.to_excel(writer, sheet_name="results", index=False)
            if not overall_all.empty:
                overall_all.to_excel(writer, sheet_name="bd_rate", index=False)
                per_sequence.to_excel(writer, sheet_name="bd_rate_per_sequence", index=False)
            if not jvet.empty:
                jvet.to_excel(writer, sheet_name="jvet_summary", index=False)
    return Report(table, summary, per_sequence, overall, warnings, files, overall_all, jvet)


def _all_bd_tables(table: pd.DataFrame, summary: pd.DataFrame,
                   config: CampaignConfig) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """BD-rates against every anchor (config.anchors) on both rates, primary rate first."""
    per_sequence, overall, warnings = [], [], []
    for anchor in config.anchors:
        if anchor != config.anchor and anchor not in set(table["codec"]):
            continue            # a further anchor not run (VTM on request): nothing to say
        for rate in rate_order(config):
            if rate not in table or table[rate].isna().all():
                continue            # results made before the payload count: no such rate
            seq, over, notes = bd_tables(table, summary, config, anchor=anchor, rate=rate)
            per_sequence.append(seq)
            overall.append(over)
            warnings += [n for n in notes if n not in warnings]
    frames = [f for f in per_sequence if not f.empty]
    overall_frames = [f for f in overall if not f.empty]
    return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(),
            pd.concat(overall_frames, ignore_index=True) if overall_frames else pd.DataFrame(),
            warnings)


def _markdown(config: CampaignConfig, summary: pd.DataFrame, overall_all: pd.DataFrame,
              warnings: list[str], provenance: dict[str, Any], subtitle: str,
              conditions: list[str]) -> str:
    git = provenance.get("git", {})
    lines = [f"# {config.name}", "", subtitle + ".", "", *conditions, "",
             (f"Source revision {git.get('revision') or 'none (no commit)'}"
             f"{' (working tree modified)' if git.get('dirty') else ''}; "
             f"config {config.path} (sha256 {config.sha256()[:16]})."), "",
             "## Mean over sequences per codec and rate point", "",
             markdown_table(summary.drop(columns=["bits"]))]
    if not overall_all.empty:
        for (anchor, rate), overall in overall_all.groupby(["anchor", "rate"], sort=False):
            lines += [(f"## BD-rate against {anchor}, rate `{rate}` ({config.bd_method.upper()}; "
                      "PSNR, SSIM, 1-LPIPS, 1-DISTS)"), "",
                      "Mean of the per-sequence BD-rates (JVET 'Overall'):", "",
                      markdown_table(bd_matrix(overall, "bd_rate_mean_of_sequences")),
                      "BD-rate of the mean-over-sequences curves (as plotted):", "",
                      markdown_table(bd_matrix(overall, "bd_rate_of_mean_curves"))]
        lines += [("Negative: fewer bits than the anchor for the same quality. '-': undefined "
                  "(the curves share no quality interval). Per sequence and class: "
                  "jvet_summary.md."), ""]
    lines += ["## Encoders", ""]
    lines += [f"- {codec}: {'; '.join(ids)}" for codec, ids in provenance["tools"].items()]
    if warnings:
        lines += ["", "## Warnings", ""] + [f"- {w}" for w in warnings]
    return "\n".join(lines) + "\n"
