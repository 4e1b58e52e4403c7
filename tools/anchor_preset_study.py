"""Which VVenC preset should the GFVC CTC anchor use? Encode time per cell and BD-rate.

Runs the VVC anchor (anchors.runner, the campaign's own path) at every QP with every preset
on a few prepared sequences, measures PSNR-RGB and PSNR-Y (conformance.metrics, the
campaign's definitions; PSNR is cheap, so every frame) and prints, per preset: the encode
wall time per cell (one sequence at one QP), and the BD-rate (PCHIP, conformance.campaign's
wrapper) of that preset against `faster` and against the slowest preset run, per sequence
and as their mean. Times: the encoder's wall time (anchors' encode_seconds) and the CPU time
(user + system) of the anchor's child processes (ffmpeg encode and decode; decoding is a
small part), which a busy machine disturbs far less than wall time. A cell found up to date
is not re-encoded and has no CPU time: --force to measure again.

    .venv/bin/python -m tools.anchor_preset_study --sequences /tmp/seqs/NAME_256x256_25_8bit_444.rgb \
        --out /tmp/preset_study [--frames 100] [--presets faster medium slow slower]
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
from pathlib import Path

import numpy as np

from anchors.configs import load_config
from anchors.errors import AnchorError
from anchors.runner import AnchorJob, run_anchor
from bitstream.raw_video import read_rgb444
from conformance.campaign.bd_rate import bd_rate
from conformance.metrics import psnr_rgb_frames, psnr_y_frames

METRICS = {"psnr_rgb": psnr_rgb_frames, "psnr_y": psnr_y_frames}


def measure(input_path: Path, output_path: Path, frames: int) -> dict[str, float]:
    """Mean over frames of each metric (frames as N x H x W x 3, as the campaign reads them)."""
    source = read_rgb444(input_path, 256, 256, max_frames=frames)
    decoded = read_rgb444(output_path, 256, 256)
    return {name: float(function(source, decoded).mean()) for name, function in METRICS.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.anchor_preset_study",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sequences", nargs="+", type=Path, required=True,
                        help="prepared 256x256 RGB 4:4:4 .rgb files")
    parser.add_argument("--out", type=Path, required=True, help="scratch folder (reused: resumable)")
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--presets", nargs="+", default=["faster", "medium", "slow", "slower"])
    parser.add_argument("--qps", nargs="+", type=int, default=list(load_config("vvc").qps))
    parser.add_argument("--force", action="store_true", help="re-encode cells that are up to date")
    args = parser.parse_args(argv)
    rows = []
    try:
        for sequence in args.sequences:
            for preset in args.presets:
                for qp in args.qps:
                    before = _children_cpu_seconds()
                    result = run_anchor(AnchorJob("vvc", qp, sequence, args.out / preset,
                                                  frames=args.frames, preset=preset,
                                                  force=args.force), progress=None)
                    cpu = None if result.reused else round(_children_cpu_seconds() - before, 2)
                    row = {"sequence": sequence.stem, "preset": preset, "qp": qp,
                           "kbps": result.kbps, "encode_seconds": result.encode_seconds,
                           "cpu_seconds": cpu, "reused": result.reused,
                           **measure(sequence, Path(result.output_path), args.frames)}
                    rows.append(row)
                    print(f"{sequence.stem} {preset} QP{qp}: {row['kbps']:.2f} kbps, PSNR-RGB "
                          f"{row['psnr_rgb']:.2f} dB, encode {row['encode_seconds']:.1f} s, "
                          f"CPU {cpu} s"
                          f"{' (reused)' if result.reused else ''}", file=sys.stderr, flush=True)
    except AnchorError as error:
        print(f"anchor_preset_study: error: {error}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "preset_study.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(report(rows, args.presets, args.frames))
    return 0


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def report(rows: list[dict], presets: list[str], frames: int) -> str:
    """Markdown: encode seconds per cell and BD-rates against the fastest and slowest preset."""
    sequences = sorted({row["sequence"] for row in rows})
    references = [presets[0], presets[-1]]

    def curve(sequence: str, preset: str, metric: str) -> tuple[list[float], list[float]]:
        points = sorted((r for r in rows if r["sequence"] == sequence and r["preset"] == preset),
                        key=lambda r: r["qp"])
        return [r["kbps"] for r in points], [r[metric] for r in points]

    lines = [f"{len(sequences)} sequence(s), {frames} frames, QPs "
             f"{'/'.join(str(q) for q in sorted({r['qp'] for r in rows}))}", "",
             "| preset | encode wall s/cell (mean) | CPU s/cell (mean) | "
             + " | ".join(f"BD {m} vs {ref}" for ref in references for m in METRICS) + " |",
             "|---|---:|---:|" + "---:|" * (len(references) * len(METRICS))]
    for preset in presets:
        times = [r["encode_seconds"] for r in rows if r["preset"] == preset]
        cpu = [r["cpu_seconds"] for r in rows if r["preset"] == preset and r.get("cpu_seconds")]
        cells = []
        for reference in references:
            for metric in METRICS:
                values = [bd_rate(*curve(s, reference, metric), *curve(s, preset, metric)).value
                          for s in sequences]
                cells.append(f"{np.mean(values):+.1f}% ("
                             + ", ".join(f"{v:+.1f}" for v in values) + ")")
        cpu_text = f"{np.mean(cpu):.1f}" if cpu else "-"
        lines.append(f"| {preset} | {np.mean(times):.1f} | {cpu_text} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
