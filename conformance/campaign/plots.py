"""RD plots: one PNG per metric, every codec, mean over sequences, rate on a log axis."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")   # files only; no display on a build machine
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib import ticker

from .config import LOWER_IS_BETTER, RATE_COLUMNS, CampaignConfig

LABELS = {"psnr_rgb": "PSNR RGB (dB)", "psnr_gfvc": "PSNR GFVC, mean of R, G, B PSNRs (dB)",
          "psnr_y": "PSNR Y BT.709 (dB)",
          "ssim_rgb": "SSIM RGB", "ssim_y": "SSIM Y",
          "lpips_alex": "LPIPS AlexNet", "lpips_vgg": "LPIPS VGG", "dists": "DISTS"}
RATE_AXIS = {"kbps": "rate (kbit/s, all bits of the stream)",
             "kbps_payload": "rate (kbit/s, payload only, GFVC CTC count)"}
MARKERS = "osD^vP*X"


def rd_plots(summary: pd.DataFrame, config: CampaignConfig, out_dir: Path,
             subtitle: str = "") -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    codecs = [name for name in config.codecs if name in set(summary["codec"])]
    rate = RATE_COLUMNS[config.rate_primary]
    if rate not in summary or summary[rate].isna().any():
        rate = "kbps"           # results made before the payload count
    for metric in config.metrics:
        figure, axes = plt.subplots(figsize=(6.4, 4.8), dpi=120)
        for index, codec in enumerate(codecs):
            curve = summary[summary["codec"] == codec].sort_values(rate)
            points = "/".join(map(str, sorted(curve["point"])))
            role = "anchor, " if codec == config.anchor else ""
            if config.codecs[codec].preset:
                role += f"{config.codecs[codec].preset}, "
            label = f"{codec} ({role}QP {points})"
            axes.plot(curve[rate], curve[metric], marker=MARKERS[index % len(MARKERS)],
                      label=label)
            for _, row in curve.iterrows():
                axes.annotate(str(row["point"]), (row[rate], row[metric]), fontsize=7,
                              textcoords="offset points", xytext=(3, 3))
        axes.set_xscale("log")
        # Plain kbit/s numbers on the log axis, not 2x10^1.
        axes.xaxis.set_major_formatter(ticker.FuncFormatter(lambda x, _pos: f"{x:g}"))
        axes.xaxis.set_minor_formatter(ticker.FuncFormatter(
            lambda x, _pos: f"{x:g}" if f"{x:g}"[0] in "25" else ""))
        axes.set_xlabel(RATE_AXIS[rate])
        direction = "lower is better" if metric in LOWER_IS_BETTER else "higher is better"
        axes.set_ylabel(f"{LABELS.get(metric, metric)} ({direction})")
        axes.set_title(f"{LABELS.get(metric, metric)}: mean over sequences"
                       + (f"\n{subtitle}" if subtitle else ""), fontsize=9)
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize=8)
        figure.tight_layout()
        path = out_dir / f"rd_{metric}.png"
        figure.savefig(path)
        plt.close(figure)
        paths.append(path)
    return paths
