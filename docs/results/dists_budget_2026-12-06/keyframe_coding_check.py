"""Key pictures alone: can VVenC's own options buy DISTS or LPIPS-VGG at the same bytes?

The first frame of each clip is coded as one intra picture, as ref_encoder.keyframe_coding does
(preset medium, -qpa 0: "med0"), against perceptual QP adaptation ("-qpa 1": med1), the
slower preset ("slower0") and chroma 4 QP steps finer (CbQpOffset=CrQpOffset=-4: chroma-4),
at QPs 27, 32, 37 and 42. Printed: each variant's mean bytes and scores at QP 32, and its
BD-rate against med0 over the four points (PCHIP on log-rate against quality, the mean of the
per-clip values) for PSNR-RGB, DISTS and LPIPS-VGG of the picture.

    python docs/results/dists_budget_2026-12-06/keyframe_coding_check.py --sequences work/sequences \
        --split-file tools/test_split.json --split train --count 10
"""
import argparse
import json
import subprocess
from pathlib import Path

import numpy as np
import torch
from scipy.interpolate import PchipInterpolator

from bitstream.keyframe_vvc import decode_vvc_rgb, find_ffmpeg
from bitstream.picture_format import rgb_to_yuv420
from bitstream.raw_video import read_rgb444
from conformance.metrics.dists import DISTS
from conformance.metrics.lpips import LPIPS
from conformance.metrics.psnr import psnr_from_mse

VARIANTS = {"med0": ("medium", "0", ""), "med1": ("medium", "1", ""), "slower0": ("slower", "0", ""),
            "chroma-4": ("medium", "0", "CbQpOffset=-4:CrQpOffset=-4")}
QPS = (27, 32, 37, 42)


def intra(frame: np.ndarray, qp: int, preset: str, qpa: str, params: str) -> bytes:
    raw = b"".join((p.astype("<u2") << 2).tobytes() for p in rgb_to_yuv420(frame))
    h, w = frame.shape[:2]
    cmd = [find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p10le",
           "-s", f"{w}x{h}", "-i", "pipe:0", "-frames:v", "1", "-c:v", "libvvenc", "-preset", preset,
           "-qp", str(qp), "-qpa", qpa, "-g", "1", *(["-vvenc-params", params] if params else []), "-f", "vvc", "pipe:1"]
    return subprocess.run(cmd, input=raw, capture_output=True, check=True).stdout


def bd_rate(r1, q1, r2, q2, lower_better: bool) -> float:
    q1, q2 = np.asarray(q1, float), np.asarray(q2, float)
    if lower_better:
        q1, q2 = -q1, -q2
    lo, hi = max(q1.min(), q2.min()), min(q1.max(), q2.max())
    if hi <= lo:
        return float("nan")
    o1, o2 = np.argsort(q1), np.argsort(q2)
    f1 = PchipInterpolator(q1[o1], np.log(np.asarray(r1, float))[o1])
    f2 = PchipInterpolator(q2[o2], np.log(np.asarray(r2, float))[o2])
    x = np.linspace(lo, hi, 200)
    return float((np.exp(np.mean(f2(x) - f1(x))) - 1) * 100)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sequences", type=Path, default=Path("work/sequences"))
    ap.add_argument("--split-file", type=Path, default=Path("tools/test_split.json"))
    ap.add_argument("--split", default="train")
    ap.add_argument("--count", type=int, default=10)
    args = ap.parse_args()
    torch.set_num_threads(2)
    dists, vgg = DISTS(), LPIPS("vgg")
    clips = json.loads(args.split_file.read_text())[args.split][:args.count]
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None].float() / 255
    rows = []
    for clip in clips:
        src = read_rgb444(args.sequences / f"{clip}_256x256_25_8bit_444.rgb", 256, 256, 1)[0]
        for qp in QPS:
            for name, (preset, qpa, params) in VARIANTS.items():
                payload = intra(src, qp, preset, qpa, params)
                dec = decode_vvc_rgb(payload, 256, 256)
                with torch.no_grad():
                    rows.append({"clip": clip, "qp": qp, "variant": name, "bytes": len(payload),
                                 "psnr": psnr_from_mse(float(np.mean((dec.astype(float) - src) ** 2))),
                                 "dists": float(dists(t(src), t(dec))),
                                 "vgg": float(vgg(t(src) * 2 - 1, t(dec) * 2 - 1))})
    for name in VARIANTS:
        print(name, "bytes / PSNR / DISTS / LPIPS-VGG at QP 32:",
              " / ".join(f"{np.mean([r[k] for r in rows if r['variant'] == name and r['qp'] == 32]):.4g}"
                         for k in ("bytes", "psnr", "dists", "vgg")))
    for name in list(VARIANTS)[1:]:
        out = {}
        for key in ("psnr", "dists", "vgg"):
            vals = []
            for clip in clips:
                a = [r for r in rows if r["clip"] == clip and r["variant"] == "med0"]
                b = [r for r in rows if r["clip"] == clip and r["variant"] == name]
                vals.append(bd_rate([r["bytes"] for r in a], [r[key] for r in a],
                                    [r["bytes"] for r in b], [r[key] for r in b], key != "psnr"))
            out[key] = f"{np.nanmean(vals):+.1f} %"
        print(f"{name} against med0 ({len(clips)} clips): BD-rate PSNR-RGB {out['psnr']}, DISTS {out['dists']}, "
              f"LPIPS-VGG {out['vgg']}")


if __name__ == "__main__":
    main()
