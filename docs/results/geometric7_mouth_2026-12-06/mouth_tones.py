"""Study: tones of H.5's mouth interior on the mouth-opening frames of a split (issue 14 item 3).

    python docs/results/geometric7_mouth_2026-12-06/mouth_tones.py --split train [--styles base glt_d15]

Run from the repository root after `python -m tools.feature_fidelity --split SPLIT --qp 32 ...
--work work/ffcmp` (its cached QP 32 streams, one key frame each, are read from work/ffcmp).
Each stream is decoded with ifvc-geometric-6 whose mouth is drawn with the MouthStyle under
test (ifvc_synthesis/generators/mesh_features.py); on the frames that tools/feature_fidelity.py
classes "mouth opening" it pools the squared error over the same mouth region (PSNR-RGB, as
feature_fidelity's) and scores LPIPS-Alex and LPIPS-VGG on 64 x 64 crops around the mouth
(bicubic to 128 x 128). Prints one line per style.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from conformance.metrics.lpips import lpips_frames  # noqa: E402
from ifvc_synthesis.generators import CleanLidMeshGenerator  # noqa: E402
from ifvc_synthesis.generators.mesh_features import GEOMETRIC_3_MOUTH, GEOMETRIC_7_MOUTH  # noqa: E402
from ref_decoder.decoder import Decoder  # noqa: E402
from tools.feature_fidelity import frame_class, frame_regions  # noqa: E402
from tools.generator_compare import SPLIT_FILE  # noqa: E402

G3 = GEOMETRIC_3_MOUTH
GREY = dict(edge=(0.8, 0.72, 0.76), deep=(0.45, 0.4, 0.42), tongue=(0.8, 0.62, 0.66))
BRIGHT = dict(edge=(0.75, 0.62, 0.62), deep=(0.35, 0.25, 0.25))
BIG_TEETH = dict(teeth_band=0.5, teeth_max_band=0.14, neutral_teeth=(235.0, 228.0, 215.0), neutral_teeth_lip=0.2,
                 neutral_teeth_opacity=0.9)
STYLES = {                       # the candidates tried, in the order tried
    "base": G3,
    "bright": replace(G3, **BRIGHT),
    "teeth": replace(G3, **BIG_TEETH),
    "bright_teeth": replace(G3, **BRIGHT, **BIG_TEETH),
    "brighter": replace(G3, edge=(0.85, 0.75, 0.75), deep=(0.5, 0.4, 0.4)),
    "grey": replace(G3, **GREY),
    "bright_lowteeth": replace(G3, **BRIGHT, neutral_teeth_opacity=0.5),
    "bright_noteeth": replace(G3, **BRIGHT, neutral_teeth_opacity=0.0),
    "grey_lowteeth": replace(G3, **GREY, neutral_teeth_opacity=0.5),
    "bright_lowteeth_soft": replace(G3, **BRIGHT, neutral_teeth_opacity=0.5, teeth_feather=1.2),
    "glt_d1": replace(G3, **GREY, neutral_teeth_opacity=0.5, depth_sigma=1.0, teeth_feather=1.0),
    "glt_d15": GEOMETRIC_7_MOUTH,  # the one chosen: ifvc-geometric-7 (Annex H.10)
}


def score(style_name: str, split: str) -> tuple[int, float, float, float]:
    """(frames, mouth-region PSNR-RGB, crop LPIPS-Alex, crop LPIPS-VGG) of one style."""
    gen_class = type("StudyMouth", (CleanLidMeshGenerator,), {"mouth": STYLES[style_name]})
    se_sum = w_sum = 0.0
    frames_counted = 0
    crops_src: list[np.ndarray] = []
    crops_dec: list[np.ndarray] = []
    for name in json.loads(SPLIT_FILE.read_text())[split]:
        data = Path(f"work/ffcmp/{name}_qp32_f100.ifvc").read_bytes()
        raw = np.fromfile(f"work/sequences/{name}_256x256_25_8bit_444.rgb", np.uint8)
        src = raw.reshape(-1, 3, 256, 256)[:100].transpose(0, 2, 3, 1)
        gen = gen_class()
        frames = list(Decoder(generator=gen).decode(data))
        for i in range(1, min(len(src), len(frames))):
            tg = gen.target_geometry(np.asarray(frames[i].values))
            if "mouth opening" not in frame_class(tg):
                continue
            _, mouth = frame_regions(tg, 256, 256)
            se = ((frames[i].rgb.astype(np.float64) - src[i]) ** 2).mean(axis=2)
            se_sum += float((se * mouth).sum())
            w_sum += float(mouth.sum())
            frames_counted += 1
            ys, xs = np.nonzero(mouth > 0.5)
            y0, x0 = int(np.clip(ys.mean() - 32, 0, 192)), int(np.clip(xs.mean() - 32, 0, 192))
            for out, rgb in ((crops_src, src[i]), (crops_dec, frames[i].rgb)):
                out.append(cv2.resize(rgb[y0:y0 + 64, x0:x0 + 64], (128, 128), interpolation=cv2.INTER_CUBIC))
    s, d = np.stack(crops_src), np.stack(crops_dec)
    alex = float(np.mean(lpips_frames(s, d, "alex", device="cpu")))
    vgg = float(np.mean(lpips_frames(s, d, "vgg", device="cpu")))
    return frames_counted, 10 * np.log10(255.0 ** 2 / (se_sum / w_sum)), alex, vgg


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", default="train", choices=["train", "validation", "test"])
    ap.add_argument("--styles", nargs="+", default=list(STYLES), choices=list(STYLES))
    args = ap.parse_args()
    import torch
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    for style in args.styles:
        n, psnr, alex, vgg = score(style, args.split)
        print(f"{style} {args.split}: {n} frames, mouth region PSNR-RGB {psnr:.3f} dB, "
              f"crop LPIPS-Alex {alex:.4f}, LPIPS-VGG {vgg:.4f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
