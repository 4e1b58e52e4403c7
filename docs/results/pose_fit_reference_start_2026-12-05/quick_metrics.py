"""Quick metrics of decoded .rgb files against their source, for the train-split decision:
PSNR-RGB over all 100 frames; LPIPS-Alex, LPIPS-VGG and DISTS over frames 10, 30, 50, 70 and 90
(the project's metric code; the source's features kept in its SourceFeatureCache); kbit/s from the
stream's size (all bits, 100 frames at 25 frames/s). Results are cached in a JSON file.

    python docs/results/pose_fit_reference_start_2026-12-05/quick_metrics.py OUT.json \
        --sequences work/sequences 'CODEC|CLIP|QP|STREAM|RGB' ...
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from conformance.metrics.dists import dists_frames
from conformance.metrics.lpips import lpips_frames
from conformance.metrics.source_cache import SourceFeatureCache

H = W = 256
FRAMES = list(range(10, 100, 20))


def load(path: Path) -> np.ndarray:
    return np.fromfile(path, np.uint8).reshape(-1, 3, H, W)[:100].transpose(0, 2, 3, 1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("items", nargs="+", help="CODEC|CLIP|QP|STREAM|RGB")
    ap.add_argument("--sequences", type=Path, default=Path("work/sequences"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    cache = json.loads(args.out.read_text()) if args.out.exists() else {}
    by_clip: dict[str, list[list[str]]] = defaultdict(list)
    for item in args.items:
        codec, clip, qp, stream, rgb = item.split("|")
        if f"{codec}|{clip}|{qp}" not in cache:
            by_clip[clip].append([codec, clip, qp, stream, rgb])
    features = SourceFeatureCache(max_bytes=2 << 30)      # the 5 source frames of a clip, all metrics
    metrics = {"lpips_alex": lambda r, d: lpips_frames(r, d, "alex", device="cpu", cache=features),
               "lpips_vgg": lambda r, d: lpips_frames(r, d, "vgg", device="cpu", cache=features),
               "dists": lambda r, d: dists_frames(r, d, device="cpu", cache=features)}
    for clip, items in by_clip.items():
        src = load(args.sequences / f"{clip}_256x256_25_8bit_444.rgb")
        for codec, _, qp, stream, rgb in items:
            dec = load(Path(rgb))
            mse = float(((dec.astype(np.float64) - src) ** 2).mean())
            row = {"codec": codec, "sequence": clip, "point": int(qp),
                   "kbps": Path(stream).stat().st_size * 8 / 1000 / 4, "psnr_rgb": 10 * np.log10(255 ** 2 / mse)}
            for name, score in metrics.items():
                row[name] = float(np.mean(score(src[FRAMES], dec[FRAMES])))
            cache[f"{codec}|{clip}|{qp}"] = row
            args.out.write_text(json.dumps(cache, indent=0))
            print(codec, clip, qp, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
