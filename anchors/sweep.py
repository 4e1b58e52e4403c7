"""Run anchors over QPs and print rate, quick PSNR and speed: ``python -m anchors.sweep``.

A convenience for checking the anchors; the evaluation campaign's metrics (conformance/)
are the official ones. PSNR here is per frame, then averaged over frames:
RGB (MSE over the three planes), Y from RGB (BT.709 luma of both RGB pictures, 0-255 scale)
and Y coded (the limited-range 8-bit Y plane the codec saw versus the one it returned).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from anchors import colour
from anchors.configs import CODECS, load_config
from anchors.errors import AnchorError
from anchors.rawio import Geometry, read_rgb_chunks
from anchors.runner import AnchorJob, AnchorResult, print_progress, run_anchor


def frame_psnr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """PSNR (peak 255) of each frame of two (F, ...) arrays."""
    axes = tuple(range(1, a.ndim))
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2, axis=axes)
    return 10 * np.log10(255.0 ** 2 / np.maximum(mse, 1e-10))


def quality(result: AnchorResult) -> dict[str, float]:
    geometry = Geometry(result.width, result.height)
    rgb, y_rgb, y_coded = [], [], []
    pairs = zip(read_rgb_chunks(Path(result.input_path), geometry, result.frames),
                read_rgb_chunks(Path(result.output_path), geometry, result.frames))
    for source, decoded in pairs:
        rgb.append(frame_psnr(source, decoded))
        y_rgb.append(frame_psnr(colour.rgb_to_luma(source), colour.rgb_to_luma(decoded)))
        # The coded Y is recomputed from the input (the conversion is deterministic); the
        # decoded Y is recomputed from the output RGB, which loses a little to RGB rounding.
        y_coded.append(frame_psnr(colour.rgb_to_yuv420(source)[0],
                                  colour.rgb_to_yuv420(decoded)[0]))
    return {"psnr_rgb": float(np.concatenate(rgb).mean()),
            "psnr_y_from_rgb": float(np.concatenate(y_rgb).mean()),
            "psnr_y_coded": float(np.concatenate(y_coded).mean())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m anchors.sweep", description=__doc__)
    parser.add_argument("--codecs", nargs="+", default=["vvc", "hevc"], choices=CODECS)
    parser.add_argument("--qps", nargs="+", type=int, default=None,
                        help="default: each config's QPs (37 42 47 52; HEVC 37 42 47 51)")
    parser.add_argument("--input", required=True, type=Path)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--height", type=int, default=256)
    parser.add_argument("--fps", type=float, default=25.0)
    parser.add_argument("--frames", type=int, default=None)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--force", action="store_true", help="redo runs that are up to date")
    parser.add_argument("--vtm-encoder", type=Path)
    parser.add_argument("--vtm-decoder", type=Path)
    parser.add_argument("--vtm-cfg", type=Path)
    args = parser.parse_args(argv)
    rows = []
    try:
        for codec in args.codecs:
            for qp in args.qps or load_config(codec).qps:
                result = run_anchor(AnchorJob(
                    codec, qp, args.input, args.out, args.width, args.height, args.fps,
                    args.frames, vtm_encoder=args.vtm_encoder, vtm_decoder=args.vtm_decoder,
                    vtm_cfg=args.vtm_cfg, force=args.force), progress=print_progress)
                rows.append({"codec": codec, "qp": qp, "kbps": result.kbps,
                             **quality(result), "encode_fps": result.encode_fps,
                             "decode_fps": result.decode_fps,
                             "encoder_version": result.encoder_version})
    except AnchorError as error:
        print(f"anchors.sweep: error: {error}", file=sys.stderr)
        return 2
    (args.out / f"{args.input.stem}_sweep.json").write_text(json.dumps(rows, indent=2) + "\n")
    print("| codec | QP | kbps | PSNR RGB | PSNR Y (from RGB) | PSNR Y (coded) "
          "| enc fps | dec fps |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['codec']} | {row['qp']} | {row['kbps']:.2f} | {row['psnr_rgb']:.2f} "
              f"| {row['psnr_y_from_rgb']:.2f} | {row['psnr_y_coded']:.2f} "
              f"| {row['encode_fps']:.1f} | {row['decode_fps']:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
