"""Which VVenC preset should the GFVC CTC anchor use, and how far is each from VTM 22.2?

Runs the VVC anchor (anchors.runner, the campaign's own path) at every QP with every preset
on a few prepared sequences, and, when a VTM build is given (--vtm-encoder/--vtm-decoder, or
$IFVC_VTM_ENCODER/$IFVC_VTM_DECODER as for the campaign), the `vtm` anchor (VTM low-delay B,
encoder_lowdelay_vtm.cfg unless --vtm-cfg) at the same QPs. Every anchor codes the same
BT.709 4:2:0 8-bit conversion of the RGB 4:4:4 source (anchors/colour.py).

Metrics (conformance.metrics, the campaign's definitions; --metrics): PSNR-RGB, PSNR (GFVC)
and PSNR-Y on every frame by default; the network metrics (lpips_alex, lpips_vgg, dists)
when asked, LPIPS-VGG and DISTS on every --network-stride-th frame (the campaign's strided
frames). All decoded versions of a sequence are measured in one pass (source features once:
conformance.campaign.cell_metrics.frames_metrics_many); means are cached in
OUT/metric_cache.json by decoded file SHA-256, so a re-run measures only what is new.

Prints, per codec (VVenC preset or VTM): encode wall time per cell and per frame, CPU time
(user + system of the anchor's child processes: encoder and decoder; a busy machine disturbs
it far less than wall time; a cell found up to date has none: --force to measure again), and
the BD-rate (PCHIP, conformance.campaign's wrapper) of that codec against `faster`, against
the slowest preset run and against VTM, per sequence and as their mean. --report DIR writes
report.md and results.json (rows, BD-rates, the tools' versions, the VTM cfg's settings).

    .venv/bin/python -m tools.anchor_preset_study --sequences work/seqs/NAME_256x256_25_8bit_444.rgb \\
        --out work/preset_study [--frames 100] [--presets faster medium slow slower] \\
        [--vtm-encoder VTM/bin/EncoderAppStatic --vtm-decoder VTM/bin/DecoderAppStatic] \\
        [--metrics psnr_rgb psnr_gfvc psnr_y lpips_alex lpips_vgg dists --network-stride 10] \\
        [--report docs/results/NAME [--strip-qp 52 --strip-frames 8 24]]
"""
from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import platform
import resource
import sys
from pathlib import Path
from typing import Any

import numpy as np

from anchors.configs import load_config
from anchors.errors import AnchorError
from anchors.runner import AnchorJob, AnchorResult, run_anchor
from bitstream.raw_video import read_rgb444
from conformance.campaign.bd_rate import bd_rate
from conformance.campaign.cell_metrics import frames_metrics_many
from conformance.campaign.config import LOWER_IS_BETTER, VTM_ENVIRONMENT
from conformance.metrics import METRICS as ALL_METRICS

CHEAP_METRICS = ("psnr_rgb", "psnr_gfvc", "psnr_y")
STRIDED_METRICS = ("lpips_vgg", "dists")      # ~1 s a pair on one core: a stride of frames
VTM = "vtm"
METRIC_CACHE_VERSION = 1


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
    parser.add_argument("--metrics", nargs="+", default=list(CHEAP_METRICS),
                        choices=sorted(ALL_METRICS), help="default: the PSNRs")
    parser.add_argument("--network-stride", type=int, default=10, metavar="K",
                        help="LPIPS-VGG and DISTS on every K-th frame (the campaign's frames "
                             "K//2, K//2+K, ...); 1: every frame")
    for key, variable in VTM_ENVIRONMENT.items():
        parser.add_argument(f"--{key.replace('_', '-')}", type=Path,
                            default=os.environ.get(variable) or None,
                            help=f"VTM {key.split('_')[1]} (default ${variable}); with "
                                 "encoder and decoder, VTM joins the study")
    parser.add_argument("--no-vtm", action="store_true", help="ignore a VTM build")
    parser.add_argument("--report", type=Path, help="write report.md and results.json here")
    parser.add_argument("--strip-qp", type=int, help="with --report: PNG strips (source, then "
                        "every codec) of --strip-frames at this QP, one per sequence")
    parser.add_argument("--strip-frames", nargs="+", type=int, default=[8, 24])
    parser.add_argument("--force", action="store_true", help="re-encode cells that are up to date")
    args = parser.parse_args(argv)
    if args.frames < 1 or args.network_stride < 1:
        parser.error("--frames and --network-stride must be positive")
    with_vtm = bool(args.vtm_encoder and args.vtm_decoder) and not args.no_vtm
    codecs = [*args.presets, *([VTM] if with_vtm else [])]
    rows, results = [], {}
    try:
        for sequence in args.sequences:
            for codec in codecs:
                for qp in args.qps:
                    before = _children_cpu_seconds()
                    result = run_anchor(_job(args, codec, qp, sequence), progress=None)
                    cpu = None if result.reused else round(_children_cpu_seconds() - before, 2)
                    row = {"sequence": sequence.stem, "codec": codec, "qp": qp,
                           "kbps": result.kbps, "bits": result.bits, "frames": result.frames,
                           "encode_seconds": result.encode_seconds,
                           "encode_seconds_per_frame": round(result.encode_seconds / result.frames, 4),
                           "cpu_seconds": cpu, "reused": result.reused,
                           "encoder": result.encoder, "encoder_version": result.encoder_version,
                           "output_sha256": result.output_sha256,
                           "encode_command": result.commands["encode"]}
                    rows.append(row)
                    results[(sequence.stem, codec, qp)] = result
                    print(f"{sequence.stem} {codec} QP{qp}: {row['kbps']:.2f} kbps, encode "
                          f"{row['encode_seconds']:.1f} s, CPU {cpu} s"
                          f"{' (reused)' if result.reused else ''}", file=sys.stderr, flush=True)
            _measure_sequence(sequence, [r for r in rows if r["sequence"] == sequence.stem],
                              results, args)
    except AnchorError as error:
        print(f"anchor_preset_study: error: {error}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "preset_study.json").write_text(json.dumps(rows, indent=2) + "\n")
    text = report(rows, codecs, args.frames, args.metrics, args.presets)
    print(text)
    if args.report:
        _write_report(args, rows, codecs, results, text)
    return 0


def _job(args: argparse.Namespace, codec: str, qp: int, sequence: Path) -> AnchorJob:
    if codec == VTM:
        return AnchorJob(VTM, qp, sequence, args.out / VTM, frames=args.frames,
                         vtm_encoder=args.vtm_encoder, vtm_decoder=args.vtm_decoder,
                         vtm_cfg=args.vtm_cfg, force=args.force)
    return AnchorJob("vvc", qp, sequence, args.out / codec, frames=args.frames, preset=codec,
                     force=args.force)


def _measure_sequence(sequence: Path, rows: list[dict[str, Any]],
                      results: dict[tuple[str, str, int], AnchorResult],
                      args: argparse.Namespace) -> None:
    """Fill each row's metric means; what the cache lacks is measured in one pass."""
    cache_path = args.out / "metric_cache.json"
    cache: dict[str, float] = json.loads(cache_path.read_text()) if cache_path.is_file() else {}
    strided = tuple(m for m in args.metrics if m in STRIDED_METRICS and args.network_stride > 1)

    def key(row: dict[str, Any], metric: str) -> str:
        stride = args.network_stride if metric in strided else 1
        return f"v{METRIC_CACHE_VERSION}:{row['output_sha256']}:{row['frames']}:{metric}:{stride}"

    missing = [row for row in rows if any(key(row, m) not in cache for m in args.metrics)]
    if missing:
        source = read_rgb444(sequence, 256, 256, max_frames=args.frames)
        decoded = [read_rgb444(Path(results[(r["sequence"], r["codec"], r["qp"])].output_path),
                               256, 256) for r in missing]
        print(f"{sequence.stem}: measuring {len(missing)} decoded versions "
              f"({', '.join(args.metrics)})", file=sys.stderr, flush=True)
        tables = frames_metrics_many(source, decoded, tuple(args.metrics), strided,
                                     args.network_stride, cache=None)
        for row, table in zip(missing, tables):
            for metric in args.metrics:
                cache[key(row, metric)] = float(table[metric].dropna().mean())
        args.out.mkdir(parents=True, exist_ok=True)
        # Merged with what another run wrote meanwhile (two sequences measured at once).
        on_disk = json.loads(cache_path.read_text()) if cache_path.is_file() else {}
        cache = {**on_disk, **cache}
        tmp = cache_path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(cache, indent=1, sort_keys=True) + "\n")
        tmp.replace(cache_path)
    for row in rows:
        row.update({metric: cache[key(row, metric)] for metric in args.metrics})


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _quality(metric: str, values: list[float]) -> list[float]:
    return [1.0 - v for v in values] if metric in LOWER_IS_BETTER else values


def bd_table(rows: list[dict[str, Any]], codecs: list[str], metrics: list[str],
             reference: str) -> dict[str, dict[str, dict[str, float]]]:
    """codec -> metric -> {sequence: BD-rate %, "mean": mean over sequences} of each codec
    against ``reference`` (NaN where undefined)."""
    sequences = sorted({row["sequence"] for row in rows})

    def curve(sequence: str, codec: str, metric: str) -> tuple[list[float], list[float]]:
        points = sorted((r for r in rows if r["sequence"] == sequence and r["codec"] == codec),
                        key=lambda r: r["qp"])
        return [r["kbps"] for r in points], _quality(metric, [r[metric] for r in points])

    table: dict[str, dict[str, dict[str, float]]] = {}
    for codec in codecs:
        table[codec] = {}
        for metric in metrics:
            values = {s: bd_rate(*curve(s, reference, metric), *curve(s, codec, metric)).value
                      for s in sequences}
            finite = [v for v in values.values() if np.isfinite(v)]
            values["mean"] = float(np.mean(finite)) if finite else float("nan")
            table[codec][metric] = values
    return table


def report(rows: list[dict[str, Any]], codecs: list[str], frames: int, metrics: list[str],
           presets: list[str]) -> str:
    """Markdown: encode time per cell and per frame, and BD-rates against `faster` (the first
    preset), the slowest preset and VTM (when run)."""
    sequences = sorted({row["sequence"] for row in rows})
    references = [presets[0], presets[-1]] + ([VTM] if VTM in codecs else [])
    lines = [f"{len(sequences)} sequence(s), {frames} frames, QPs "
             f"{'/'.join(str(q) for q in sorted({r['qp'] for r in rows}))}", "",
             "| codec | encode wall s/cell (mean) | encode wall s/frame (mean) | CPU s/cell (mean) |",
             "|---|---:|---:|---:|"]
    for codec in codecs:
        times = [r["encode_seconds"] for r in rows if r["codec"] == codec]
        per_frame = [r["encode_seconds_per_frame"] for r in rows if r["codec"] == codec]
        cpu = [r["cpu_seconds"] for r in rows if r["codec"] == codec and r.get("cpu_seconds")]
        cpu_text = f"{np.mean(cpu):.1f}" if cpu else "-"
        lines.append(f"| {codec} | {np.mean(times):.1f} | {np.mean(per_frame):.3f} | {cpu_text} |")
    for reference in references:
        table = bd_table(rows, codecs, metrics, reference)
        lines += ["", f"BD-rate against {reference} (mean over sequences; per sequence in "
                  f"brackets: {', '.join(sequences)}); negative: fewer bits than {reference}", "",
                  "| codec | " + " | ".join(metrics) + " |", "|---|" + "---:|" * len(metrics)]
        for codec in codecs:
            cells = []
            for metric in metrics:
                values = table[codec][metric]
                cells.append(f"{values['mean']:+.1f}% ("
                             + ", ".join(f"{values[s]:+.1f}" for s in sequences) + ")")
            lines.append(f"| {codec} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _cfg_settings(path: Path) -> dict[str, str]:
    """The key: value lines of a VTM cfg (comments dropped), to record what was run."""
    settings = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if ":" in line:
            name, value = (part.strip() for part in line.split(":", 1))
            settings[name] = value
    return settings


def _write_report(args: argparse.Namespace, rows: list[dict[str, Any]], codecs: list[str],
                  results: dict[tuple[str, str, int], AnchorResult], text: str) -> None:
    meta: dict[str, Any] = {
        "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "command": "python -m tools.anchor_preset_study " + " ".join(sys.argv[1:]),
        "host": {"cpus": os.cpu_count(), "machine": platform.machine()},
        "frames": args.frames, "qps": args.qps, "metrics": args.metrics,
        "network_stride": args.network_stride, "strided_metrics": [
            m for m in args.metrics if m in STRIDED_METRICS and args.network_stride > 1],
        "sequences": {p.stem: hashlib.sha256(p.read_bytes()[:args.frames * 3 * 256 * 256]).hexdigest()
                      for p in args.sequences},
        "tools": sorted({f"{r.encoder} {r.encoder_version} ({r.tool_version})"
                         for r in results.values()}),
    }
    vtm = [r for (_s, codec, _q), r in results.items() if codec == VTM]
    if vtm:
        from anchors.commands import resolve_vtm_cfg
        cfg = resolve_vtm_cfg(args.vtm_cfg or str(load_config(VTM).data["default_cfg"]),
                              Path(args.vtm_encoder))
        meta["vtm"] = {"encoder_version": sorted({r.encoder_version or "?" for r in vtm}),
                       "cfg": cfg.name, "cfg_sha256": hashlib.sha256(cfg.read_bytes()).hexdigest(),
                       "cfg_settings": _cfg_settings(cfg),
                       "encode_command_example": vtm[0].commands["encode"],
                       "decode_command_example": vtm[0].commands["decode"]}
    references = [args.presets[0], args.presets[-1]] + ([VTM] if VTM in codecs else [])
    bd = {reference: bd_table(rows, codecs, args.metrics, reference) for reference in references}
    args.report.mkdir(parents=True, exist_ok=True)
    (args.report / "results.json").write_text(json.dumps(
        _no_nan({"meta": meta, "rows": rows, "bd_rate_percent": bd}), indent=1) + "\n")
    (args.report / "report.md").write_text(text)
    if args.strip_qp is not None:
        for sequence in args.sequences:
            _write_strip(args, sequence, codecs, results)


def _write_strip(args: argparse.Namespace, sequence: Path, codecs: list[str],
                 results: dict[tuple[str, str, int], AnchorResult]) -> None:
    """Rows: the --strip-frames; columns: source, then each codec at --strip-qp (kbps)."""
    import cv2
    source = read_rgb444(sequence, 256, 256, max_frames=args.frames)
    columns = [("source", source)]
    for codec in codecs:
        result = results.get((sequence.stem, codec, args.strip_qp))
        if result is not None:
            label = f"{codec} QP{args.strip_qp} {result.kbps:.1f} kbps"
            columns.append((label, read_rgb444(Path(result.output_path), 256, 256)))
    rows = []
    for frame in args.strip_frames:
        if frame >= source.shape[0]:
            continue
        tiles = []
        for label, frames in columns:
            bar = np.full((18, 256, 3), 255, np.uint8)
            cv2.putText(bar, f"{label} f{frame}", (3, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.38,
                        (0, 0, 0), 1, cv2.LINE_AA)
            tiles += [np.vstack([bar, frames[frame]]), np.full((274, 4, 3), 255, np.uint8)]
        rows.append(np.hstack(tiles[:-1]))
    name = args.report / f"strip_{sequence.stem.split('_256x256')[0]}_qp{args.strip_qp}.png"
    cv2.imwrite(str(name), cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR))


def _no_nan(value: Any) -> Any:
    """NaN (an undefined BD-rate) as null: strict JSON has no NaN."""
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_nan(v) for v in value]
    return value


if __name__ == "__main__":
    sys.exit(main())
